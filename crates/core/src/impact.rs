//! Impact analysis of editing one task while its run goes on (design Example 3): which
//! dependents must regenerate (major/minor), which keep their results, and what the edit costs
//! in time and money. Owns artefact-key matching; the domain catalogue is passed in.
//!
//! Artefact keys are `"<kind>.<domain-or-service>"` ("schema.users", "api.catalog"). A task's
//! `inputs` are patterns: an exact key, `"<kind>.*"` (any key of that kind), `"*"` (anything),
//! or `"<kind>.@<service>"` (keys of that kind whose domain's home service is `<service>`;
//! a service is its own home, so "api.@catalog" matches "api.catalog"). Empty `inputs` mean
//! "everything my dependencies produce"; empty `outputs` mean "unknown": both are read
//! conservatively, so a plan without them regenerates every dependent.

use crate::dag::Dag;
use crate::model::{ImpactLevel, ImpactReport, Plan, TaskImpact, TaskStatus};
use crate::plan::PlanError;
use std::collections::{BTreeMap, HashMap};
use thiserror::Error;

/// The domain catalogue: which service a domain lives in ("recommendations" → "catalog").
/// Owned by another module; any closure `Fn(&str) -> Option<String>` or a map will do.
pub trait DomainHomes {
    fn home_of(&self, domain: &str) -> Option<String>;
}

impl<F> DomainHomes for F
where
    F: Fn(&str) -> Option<String>,
{
    fn home_of(&self, domain: &str) -> Option<String> {
        self(domain)
    }
}

impl DomainHomes for BTreeMap<String, String> {
    fn home_of(&self, domain: &str) -> Option<String> {
        self.get(domain).cloned()
    }
}

impl DomainHomes for HashMap<String, String> {
    fn home_of(&self, domain: &str) -> Option<String> {
        self.get(domain).cloned()
    }
}

/// A catalogue that knows no domains: `@service` patterns then match only keys named after
/// the service itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHomes;

impl DomainHomes for NoHomes {
    fn home_of(&self, _domain: &str) -> Option<String> {
        None
    }
}

/// What regenerating work costs.
///
/// `costIncrease = extra task-seconds × usd_per_task_second + regenerated tasks ×
/// usd_per_regenerated_task`, rounded to cents. Extra task-seconds is agent time that would
/// not have been spent without the edit (see [`analyse`]); each regenerated task (the edited
/// one and every affected one) also costs one re-prompting call. The defaults are the built-in
/// engine's estimate for a hosted model, and put design Example 3 at its quoted $0.05.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    pub usd_per_task_second: f64,
    pub usd_per_regenerated_task: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            usd_per_task_second: 0.0005,
            usd_per_regenerated_task: 0.01,
        }
    }
}

/// Run-time facts the plan does not hold, supplied by the orchestrator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImpactContext {
    /// Passed through to the report unchanged (the modification rules live with the run).
    pub modifications_left: u32,
    /// Seconds each running task has been running, by task id; missing means 0. The core has
    /// no clock, so the caller measures this.
    pub elapsed_secs: BTreeMap<String, u32>,
    /// The edited task's estimate with its new prompt, if it differs from `estimatedTime`.
    pub edited_estimated_time: Option<u32>,
    pub cost: CostModel,
}

/// Why an edit could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImpactError {
    #[error("no task `{id}` in this run's plan; edit one of its tasks")]
    UnknownTask { id: String },
    #[error("the run's plan cannot be analysed: {0}")]
    InvalidPlan(#[from] PlanError),
}

impl ImpactError {
    /// The contract's error code (`unknown_task` is one of the impact route's codes).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTask { .. } => "unknown_task",
            Self::InvalidPlan(error) => error.code(),
        }
    }
}

/// Whether input `pattern` matches artefact `key` (see the module doc for the forms).
pub fn matches(pattern: &str, key: &str, homes: &dyn DomainHomes) -> bool {
    Key::parse(key, homes).matched_by(pattern)
}

/// Analyses an edit of `task_id` whose new prompt changes the artefacts `changed_outputs`.
///
/// Only the edited task's transitive dependents can be affected:
/// - **major**: one of its input patterns matches a changed output (even when it depends on
///   the edited task only through others), or its inputs are empty;
/// - **minor**: not major, but it depends (transitively) on a major task and consumes one of
///   that task's outputs (a major task with no declared outputs counts as consumed);
/// - **none**: otherwise; it keeps its result and is listed as unaffected.
///
/// Empty `changed_outputs` means the change is unknown: the edited task's declared outputs
/// are taken as changed, and if it declares none, every dependent is major.
///
/// Time model (`additionalTime`): the plan's remaining makespan from now, with unlimited
/// concurrency, after the edit minus before it. Before: completed tasks are done, a running
/// task needs `estimatedTime - elapsed`, a pending one its `estimatedTime` once its
/// dependencies finish. After: the edited task and every affected task that has already run
/// or is running start over (full estimate, once their dependencies finish); the edited task
/// uses `edited_estimated_time` when given; unaffected running and completed tasks keep going.
/// Example 3 (task_2 restarted at 15 s of 30) gives +15 s, or +30 s when the richer schema is
/// estimated at 45 s.
///
/// Cost model: see [`CostModel`]. Extra task-seconds are the edited task's wasted run
/// (elapsed, or all of it when completed) plus its estimate change, plus the wasted or
/// repeated runs of affected tasks that already started; affected pending tasks run once
/// anyway. Linear in the plan's size plus the number of distinct output keys.
pub fn analyse(
    plan: &Plan,
    task_id: &str,
    changed_outputs: &[String],
    homes: &dyn DomainHomes,
    ctx: &ImpactContext,
) -> Result<ImpactReport, ImpactError> {
    let dag = Dag::new(plan)?;
    analyse_with_dag(&dag, plan, task_id, changed_outputs, homes, ctx)
}

/// [`analyse`] with a DAG the caller already built from this same plan (the scheduler keeps
/// one per run), saving the rebuild.
pub fn analyse_with_dag(
    dag: &Dag,
    plan: &Plan,
    task_id: &str,
    changed_outputs: &[String],
    homes: &dyn DomainHomes,
    ctx: &ImpactContext,
) -> Result<ImpactReport, ImpactError> {
    if dag.len() != plan.tasks.len() {
        // Not this plan's DAG: indexes would not line up, so build the right one.
        return analyse(plan, task_id, changed_outputs, homes, ctx);
    }
    let edited = dag
        .index_of(task_id)
        .ok_or_else(|| ImpactError::UnknownTask {
            id: task_id.to_string(),
        })?;
    let levels = classify(dag, plan, edited, changed_outputs, homes);

    let mut affected_tasks = Vec::new();
    let mut unaffected_tasks = Vec::new();
    for (i, task) in plan.tasks.iter().enumerate() {
        match levels[i] {
            _ if i == edited => {}
            ImpactLevel::None => unaffected_tasks.push(task.id.clone()),
            impact => affected_tasks.push(TaskImpact {
                id: task.id.clone(),
                impact,
            }),
        }
    }

    let affected: Vec<bool> = levels.iter().map(|l| *l != ImpactLevel::None).collect();
    let timing = Timing::new(dag, plan, edited, ctx);
    let before = timing.remaining_makespan(None);
    let after = timing.remaining_makespan(Some(&affected));
    let extra_seconds = timing.extra_task_seconds(&affected);
    let regenerated = 1 + affected_tasks.len();
    let usd = extra_seconds as f64 * ctx.cost.usd_per_task_second
        + regenerated as f64 * ctx.cost.usd_per_regenerated_task;

    Ok(ImpactReport {
        task_id: task_id.to_string(),
        affected_tasks,
        unaffected_tasks,
        additional_time: u32::try_from(after.saturating_sub(before)).unwrap_or(u32::MAX),
        cost_increase: (usd.max(0.0) * 100.0).round() / 100.0,
        modifications_left: ctx.modifications_left,
        changed_outputs: changed_outputs.to_vec(),
    })
}

/// Impact level of every task (plan order); the edited task and non-dependents are `None`.
fn classify(
    dag: &Dag,
    plan: &Plan,
    edited: usize,
    changed_outputs: &[String],
    homes: &dyn DomainHomes,
) -> Vec<ImpactLevel> {
    let n = plan.tasks.len();
    let mut levels = vec![ImpactLevel::None; n];
    let dependents = dag.transitive_dependents_of(edited);
    if dependents.is_empty() {
        return levels;
    }

    let changed_keys: &[String] = if changed_outputs.is_empty() {
        &plan.tasks[edited].outputs
    } else {
        changed_outputs
    };
    let changed: Vec<Key> = changed_keys.iter().map(|k| Key::parse(k, homes)).collect();
    for &d in &dependents {
        let inputs = &plan.tasks[d].inputs;
        let major = changed.is_empty()
            || inputs.is_empty()
            || inputs
                .iter()
                .any(|pattern| changed.iter().any(|key| key.matched_by(pattern)));
        if major {
            levels[d] = ImpactLevel::Major;
        }
    }

    // Minor: propagate, in topological order, the set of outputs of major ancestors each
    // dependent can see; bit 0 stands for "a major ancestor with unknown outputs".
    let mut universe = KeyUniverse::default();
    for &d in &dependents {
        if levels[d] == ImpactLevel::Major {
            for key in &plan.tasks[d].outputs {
                universe.intern(key, homes);
            }
        }
    }
    let words = universe.words();
    let mut slot = vec![usize::MAX; n];
    for (s, &d) in dependents.iter().enumerate() {
        slot[d] = s;
    }
    // What each dependent passes on: its major ancestors' outputs, plus its own if major.
    let mut passes: Vec<Bits> = Vec::with_capacity(dependents.len());
    let mut pattern_bits: HashMap<&str, Bits> = HashMap::new();
    for &d in &dependents {
        let mut seen = Bits::zeros(words);
        for &p in dag.dependencies(d) {
            if let Some(passed) = passes.get(slot[p]) {
                seen.or(passed);
            }
        }
        let task = &plan.tasks[d];
        if levels[d] != ImpactLevel::Major && seen.any() {
            let consumes = task.inputs.is_empty()
                || seen.get(0)
                || task.inputs.iter().any(|pattern| {
                    pattern_bits
                        .entry(pattern.as_str())
                        .or_insert_with(|| universe.matching(pattern, words))
                        .intersects(&seen)
                });
            if consumes {
                levels[d] = ImpactLevel::Minor;
            }
        }
        if levels[d] == ImpactLevel::Major {
            if task.outputs.is_empty() {
                seen.set(0);
            }
            for key in &task.outputs {
                if let Some(bit) = universe.bit_of(key) {
                    seen.set(bit);
                }
            }
        }
        passes.push(seen);
    }
    levels
}

/// An artefact key split once, with its domain's home looked up once.
struct Key<'a> {
    full: &'a str,
    kind: &'a str,
    domain: &'a str,
    home: Option<String>,
}

impl<'a> Key<'a> {
    fn parse(full: &'a str, homes: &dyn DomainHomes) -> Self {
        let (kind, domain) = full.split_once('.').unwrap_or((full, ""));
        let home = if domain.is_empty() {
            None
        } else {
            homes.home_of(domain)
        };
        Self {
            full,
            kind,
            domain,
            home,
        }
    }

    fn matched_by(&self, pattern: &str) -> bool {
        if pattern == "*" {
            return true;
        }
        match pattern.split_once('.') {
            Some((kind, "*")) => kind == self.kind,
            Some((kind, rest)) if rest.starts_with('@') => {
                let service = &rest[1..];
                kind == self.kind
                    && !service.is_empty()
                    && (self.domain == service || self.home.as_deref() == Some(service))
            }
            _ => pattern == self.full,
        }
    }
}

/// The distinct output keys of major tasks, numbered from bit 1 (bit 0 is "unknown").
#[derive(Default)]
struct KeyUniverse<'a> {
    keys: Vec<Key<'a>>,
    bits: HashMap<&'a str, usize>,
}

impl<'a> KeyUniverse<'a> {
    fn intern(&mut self, key: &'a str, homes: &dyn DomainHomes) {
        if !self.bits.contains_key(key) {
            self.bits.insert(key, self.keys.len() + 1);
            self.keys.push(Key::parse(key, homes));
        }
    }

    fn bit_of(&self, key: &str) -> Option<usize> {
        self.bits.get(key).copied()
    }

    fn words(&self) -> usize {
        (self.keys.len() + 1).div_ceil(64)
    }

    fn matching(&self, pattern: &str, words: usize) -> Bits {
        let mut bits = Bits::zeros(words);
        for (k, key) in self.keys.iter().enumerate() {
            if key.matched_by(pattern) {
                bits.set(k + 1);
            }
        }
        bits
    }
}

/// A small fixed-size bit set.
#[derive(Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn zeros(words: usize) -> Self {
        Self(vec![0; words])
    }

    fn set(&mut self, bit: usize) {
        if let Some(word) = self.0.get_mut(bit / 64) {
            *word |= 1 << (bit % 64);
        }
    }

    fn get(&self, bit: usize) -> bool {
        self.0
            .get(bit / 64)
            .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    fn or(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }

    fn any(&self) -> bool {
        self.0.iter().any(|&w| w != 0)
    }

    fn intersects(&self, other: &Bits) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
}

/// The per-task facts of the time and cost models.
struct Timing<'a> {
    dag: &'a Dag,
    edited: usize,
    status: Vec<TaskStatus>,
    elapsed: Vec<u64>,
    estimate: Vec<u64>,
    edited_estimate: u64,
}

impl<'a> Timing<'a> {
    fn new(dag: &'a Dag, plan: &Plan, edited: usize, ctx: &ImpactContext) -> Self {
        let estimate: Vec<u64> = plan
            .tasks
            .iter()
            .map(|t| u64::from(t.estimated_time))
            .collect();
        Self {
            dag,
            edited,
            status: plan.tasks.iter().map(|t| t.status).collect(),
            elapsed: plan
                .tasks
                .iter()
                .map(|t| u64::from(ctx.elapsed_secs.get(&t.id).copied().unwrap_or(0)))
                .collect(),
            edited_estimate: ctx
                .edited_estimated_time
                .map_or(estimate[edited], u64::from),
            estimate,
        }
    }

    /// Seconds from now until the last task finishes. `rerun` is `None` for the plan as it
    /// stands, or the affected tasks when the edit is applied.
    fn remaining_makespan(&self, rerun: Option<&[bool]>) -> u64 {
        let mut finish = vec![0u64; self.estimate.len()];
        for &i in self.dag.topological_order() {
            let reruns = rerun.is_some_and(|r| i == self.edited || r[i]);
            let duration = if rerun.is_some() && i == self.edited {
                self.edited_estimate
            } else {
                self.estimate[i]
            };
            finish[i] = match self.status[i] {
                _ if reruns => self.after_dependencies(i, &finish) + duration,
                TaskStatus::Pending | TaskStatus::Regenerating => {
                    self.after_dependencies(i, &finish) + duration
                }
                TaskStatus::Running => self.estimate[i].saturating_sub(self.elapsed[i]),
                TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled => 0,
            };
        }
        finish.into_iter().max().unwrap_or(0)
    }

    fn after_dependencies(&self, i: usize, finish: &[u64]) -> u64 {
        self.dag
            .dependencies(i)
            .iter()
            .map(|&d| finish[d])
            .max()
            .unwrap_or(0)
    }

    /// Agent seconds spent because of the edit (never below zero in total).
    fn extra_task_seconds(&self, affected: &[bool]) -> u64 {
        let wasted = |i: usize| -> i64 {
            let secs = match self.status[i] {
                TaskStatus::Running => self.elapsed[i],
                TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled => {
                    self.estimate[i]
                }
                TaskStatus::Pending | TaskStatus::Regenerating => 0,
            };
            i64::try_from(secs).unwrap_or(i64::MAX)
        };
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut total =
            wasted(self.edited) + as_i64(self.edited_estimate) - as_i64(self.estimate[self.edited]);
        for (i, &is_affected) in affected.iter().enumerate() {
            if is_affected && i != self.edited {
                total = total.saturating_add(wasted(i));
            }
        }
        u64::try_from(total).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TaskStatus::*;
    use crate::plan::tests::{example_1, large_plan, task};

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn catalogue() -> BTreeMap<String, String> {
        [
            ("recommendations", "catalog"),
            ("products", "catalog"),
            ("users", "auth"),
            ("carts", "cart"),
            ("payments", "payment"),
            ("orders", "payment"),
        ]
        .into_iter()
        .map(|(d, h)| (d.to_string(), h.to_string()))
        .collect()
    }

    /// Example 1's plan with the inputs and outputs of the impact scenario.
    fn example_3_plan() -> Plan {
        let mut plan = example_1();
        let io: [(&str, &[&str], &[&str]); 8] = [
            ("task_1", &[], &["architecture.platform"]),
            (
                "task_2",
                &["architecture.*"],
                &[
                    "schema.users",
                    "schema.products",
                    "schema.orders",
                    "schema.carts",
                    "schema.payments",
                ],
            ),
            ("task_3", &["schema.users", "schema.@auth"], &["api.auth"]),
            ("task_4", &["schema.@catalog"], &["api.catalog"]),
            (
                "task_5",
                &["schema.@cart", "api.auth", "api.catalog"],
                &["api.cart"],
            ),
            ("task_6", &["schema.@payment", "api.auth"], &["api.payment"]),
            ("task_7", &["architecture.*"], &["ui.storefront"]),
            ("task_8", &["*"], &["tests.platform"]),
        ];
        for (task, (id, inputs, outputs)) in plan.tasks.iter_mut().zip(io) {
            assert_eq!(task.id, id);
            task.inputs = strings(inputs);
            task.outputs = strings(outputs);
        }
        plan
    }

    /// Example 3's moment: 60 s in, task_1 and task_7 done, task_2 half way (15 s of 30).
    fn at_60_seconds() -> (Plan, ImpactContext) {
        let mut plan = example_3_plan();
        plan.tasks[0].status = Completed;
        plan.tasks[6].status = Completed;
        plan.tasks[1].status = Running;
        let ctx = ImpactContext {
            modifications_left: 2,
            elapsed_secs: [("task_2".to_string(), 15)].into_iter().collect(),
            ..ImpactContext::default()
        };
        (plan, ctx)
    }

    fn levels(report: &ImpactReport) -> Vec<(&str, ImpactLevel)> {
        report
            .affected_tasks
            .iter()
            .map(|t| (t.id.as_str(), t.impact))
            .collect()
    }

    fn analysed(plan: &Plan, id: &str, changed: &[&str], ctx: &ImpactContext) -> ImpactReport {
        analyse(plan, id, &strings(changed), &catalogue(), ctx)
            .unwrap_or_else(|e| panic!("analysis of {id} failed: {e}"))
    }

    #[test]
    fn example_3_adding_recommendations_to_the_schema() {
        let (plan, ctx) = at_60_seconds();
        let report = analysed(&plan, "task_2", &["schema.recommendations"], &ctx);
        assert_eq!(
            levels(&report),
            vec![
                ("task_4", ImpactLevel::Major),
                ("task_5", ImpactLevel::Minor),
                ("task_8", ImpactLevel::Major),
            ]
        );
        assert_eq!(
            report.unaffected_tasks,
            strings(&["task_1", "task_3", "task_6", "task_7"])
        );
        assert_eq!(report.task_id, "task_2");
        assert_eq!(report.changed_outputs, strings(&["schema.recommendations"]));
        assert_eq!(report.modifications_left, 2);
        // Restarting task_2 throws away its first 15 s; nothing affected has run yet.
        assert_eq!(report.additional_time, 15);
        // 15 extra task-seconds × $0.0005 + 4 regenerated tasks × $0.01.
        assert_eq!(report.cost_increase, 0.05);
    }

    #[test]
    fn a_longer_estimate_for_the_edited_task_adds_to_the_time() {
        let (plan, mut ctx) = at_60_seconds();
        ctx.edited_estimated_time = Some(45);
        let report = analysed(&plan, "task_2", &["schema.recommendations"], &ctx);
        assert_eq!(report.additional_time, 30);
    }

    #[test]
    fn affected_tasks_that_already_ran_run_again() {
        // Later in the run: everything up to task_5 done, task_6 and task_8 waiting. Editing
        // task_4 (catalog) means task_5 (which consumes api.catalog) and task_8 rerun.
        let mut plan = example_3_plan();
        for i in [0, 1, 2, 3, 4, 6] {
            plan.tasks[i].status = Completed;
        }
        plan.tasks[5].status = Running;
        let ctx = ImpactContext {
            elapsed_secs: [("task_6".to_string(), 50)].into_iter().collect(),
            cost: CostModel {
                usd_per_task_second: 0.001,
                usd_per_regenerated_task: 0.01,
            },
            ..ImpactContext::default()
        };
        let report = analysed(&plan, "task_4", &["api.catalog"], &ctx);
        assert_eq!(
            levels(&report),
            vec![
                ("task_5", ImpactLevel::Major),
                ("task_8", ImpactLevel::Major)
            ]
        );
        // Before: task_6 needs 5 s more, then task_8 35 s = 40 s. After: task_4 50 s, task_5
        // 40 s, then task_8 35 s = 125 s.
        assert_eq!(report.additional_time, 85);
        // Extra work: task_4 and task_5 again (50 + 40 s): $0.09 + 3 × $0.01.
        assert_eq!(report.cost_increase, 0.12);
    }

    #[test]
    fn a_task_without_dependents_affects_nothing() {
        let (plan, mut ctx) = at_60_seconds();
        ctx.cost.usd_per_task_second = 0.001;
        let report = analysed(&plan, "task_8", &["tests.recommendations"], &ctx);
        assert!(report.affected_tasks.is_empty());
        assert_eq!(report.unaffected_tasks.len(), 7);
        // task_7 is off the critical path: rerunning it (70 s) does not delay the run.
        let report = analysed(&plan, "task_7", &["ui.storefront"], &ctx);
        assert!(report.affected_tasks.is_empty());
        assert_eq!(report.additional_time, 0);
        // ...but its 70 s of work is paid again: $0.07 + one regenerated task.
        assert_eq!(report.cost_increase, 0.08);
    }

    #[test]
    fn an_unknown_task_is_an_error() {
        let (plan, ctx) = at_60_seconds();
        let result = analyse(&plan, "task_42", &[], &NoHomes, &ctx);
        assert_eq!(
            result,
            Err(ImpactError::UnknownTask {
                id: "task_42".to_string()
            })
        );
        assert_eq!(result.err().map(|e| e.code()), Some("unknown_task"));
    }

    #[test]
    fn a_broken_plan_is_an_error() {
        let plan = Plan {
            tasks: vec![task("a", &["b"], 1), task("b", &["a"], 1)],
        };
        assert!(matches!(
            analyse(&plan, "a", &[], &NoHomes, &ImpactContext::default()),
            Err(ImpactError::InvalidPlan(PlanError::Cycle { .. }))
        ));
    }

    #[test]
    fn patterns_match_exactly_by_kind_by_home_and_everything() {
        let homes = catalogue();
        assert!(matches("schema.users", "schema.users", &homes));
        assert!(!matches("schema.users", "schema.user", &homes));
        assert!(matches("schema.*", "schema.recommendations", &homes));
        assert!(!matches("schema.*", "api.catalog", &homes));
        assert!(matches("*", "infra.load_balancer", &homes));
        assert!(matches("schema.@catalog", "schema.products", &homes));
        assert!(matches("schema.@catalog", "schema.recommendations", &homes));
        assert!(!matches("schema.@catalog", "schema.users", &homes));
        assert!(!matches("api.@catalog", "schema.products", &homes));
        // A service is its own home, even unknown to the catalogue.
        assert!(matches("api.@catalog", "api.catalog", &NoHomes));
        assert!(!matches("schema.@", "schema.products", &homes));
        // A closure is a catalogue too.
        let closure = |d: &str| (d == "sessions").then(|| "auth".to_string());
        assert!(matches("cache.@auth", "cache.sessions", &closure));
    }

    #[test]
    fn empty_inputs_are_read_as_everything() {
        let (mut plan, ctx) = at_60_seconds();
        plan.tasks[2].inputs.clear(); // task_3 no longer says what it reads
        let report = analysed(&plan, "task_2", &["schema.recommendations"], &ctx);
        assert_eq!(
            levels(&report),
            vec![
                ("task_3", ImpactLevel::Major),
                ("task_4", ImpactLevel::Major),
                // task_5 and task_6 read api.auth, which task_3 (now major) produces.
                ("task_5", ImpactLevel::Minor),
                ("task_6", ImpactLevel::Minor),
                ("task_8", ImpactLevel::Major),
            ]
        );
    }

    #[test]
    fn a_major_task_without_outputs_counts_as_consumed() {
        let (mut plan, ctx) = at_60_seconds();
        plan.tasks[3].outputs.clear(); // task_4's outputs unknown
        plan.tasks[4].inputs = strings(&["schema.@cart"]);
        let report = analysed(&plan, "task_2", &["schema.recommendations"], &ctx);
        assert!(levels(&report).contains(&("task_5", ImpactLevel::Minor)));
    }

    #[test]
    fn minor_needs_a_consumed_output_of_a_major_ancestor() {
        let (mut plan, ctx) = at_60_seconds();
        plan.tasks[4].inputs = strings(&["schema.@cart", "api.auth"]); // not api.catalog
        let report = analysed(&plan, "task_2", &["schema.recommendations"], &ctx);
        assert_eq!(
            levels(&report),
            vec![
                ("task_4", ImpactLevel::Major),
                ("task_8", ImpactLevel::Major)
            ]
        );
        assert!(report.unaffected_tasks.contains(&"task_5".to_string()));
    }

    #[test]
    fn minor_reaches_through_unaffected_tasks() {
        // a → b (major) → c (none) → d consumes b's output: d is minor via b.
        let mut a = task("a", &[], 10);
        a.outputs = strings(&["schema.x"]);
        let mut b = task("b", &["a"], 10);
        b.inputs = strings(&["schema.x"]);
        b.outputs = strings(&["api.b"]);
        let mut c = task("c", &["b"], 10);
        c.inputs = strings(&["ui.none"]);
        let mut d = task("d", &["c"], 10);
        d.inputs = strings(&["api.*"]);
        let plan = Plan {
            tasks: vec![a, b, c, d],
        };
        let report = analysed(&plan, "a", &["schema.x"], &ImpactContext::default());
        assert_eq!(
            levels(&report),
            vec![("b", ImpactLevel::Major), ("d", ImpactLevel::Minor)]
        );
        assert_eq!(report.unaffected_tasks, strings(&["c"]));
    }

    #[test]
    fn unknown_changes_fall_back_to_the_edited_tasks_outputs() {
        let (plan, ctx) = at_60_seconds();
        // No changed outputs given: every schema key of task_2 counts as changed.
        let report = analysed(&plan, "task_2", &[], &ctx);
        assert_eq!(
            levels(&report),
            vec![
                ("task_3", ImpactLevel::Major),
                ("task_4", ImpactLevel::Major),
                ("task_5", ImpactLevel::Major),
                ("task_6", ImpactLevel::Major),
                ("task_8", ImpactLevel::Major),
            ]
        );
        // And with no declared outputs either, everything downstream is major.
        let mut bare = example_1();
        bare.tasks[1].outputs.clear();
        let report = analysed(&bare, "task_1", &[], &ImpactContext::default());
        assert_eq!(report.affected_tasks.len(), 6);
        assert!(report
            .affected_tasks
            .iter()
            .all(|t| t.impact == ImpactLevel::Major));
    }

    #[test]
    fn the_report_serialises_with_the_contract_names() {
        let (plan, ctx) = at_60_seconds();
        let report = analysed(&plan, "task_2", &["schema.recommendations"], &ctx);
        let json = serde_json::to_value(&report).unwrap_or_default();
        assert_eq!(json["affectedTasks"][1]["impact"], "minor");
        assert_eq!(json["additionalTime"], 15);
        assert_eq!(json["costIncrease"], 0.05);
        assert_eq!(json["modificationsLeft"], 2);
    }

    #[test]
    fn a_thousand_task_plan_is_analysed() {
        // Worst case for the minor pass: half the tasks major with distinct outputs, the
        // other half reading "api.*" plus an exact key.
        let mut plan = large_plan(1000);
        for (i, task) in plan.tasks.iter_mut().enumerate() {
            task.status = if i < 100 { Completed } else { Pending };
            task.outputs = vec![format!("api.k{i}")];
            task.inputs = if i % 2 == 0 {
                strings(&["schema.*"])
            } else {
                vec!["api.*".to_string(), format!("api.k{}", i - 1)]
            };
        }
        let homes = catalogue();
        let ctx = ImpactContext::default();
        let changed = strings(&["schema.recommendations"]);
        let report = analyse(&plan, "t60", &changed, &homes, &ctx)
            .unwrap_or_else(|e| panic!("analysis failed: {e:?}"));
        let minor = report
            .affected_tasks
            .iter()
            .filter(|t| t.impact == ImpactLevel::Minor)
            .count();
        assert!(
            report.affected_tasks.len() > 500,
            "{}",
            report.affected_tasks.len()
        );
        assert!(minor > 200, "only {minor} minor");
    }
}
