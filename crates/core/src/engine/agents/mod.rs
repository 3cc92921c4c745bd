//! The built-in agents: one run of one task → summary, canvas patch, files, domain events,
//! produced artefact keys and a structured result. Which agent runs is decided by the task's
//! output keys (see [`job_of`]), so plans from an LLM with the same keys work too.

pub mod architecture;
pub mod code;
pub mod database;
pub mod scaling;
pub mod testing;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domains::{self, Feature, HomeMap};
use crate::engine::artefacts::{self, split};
use crate::engine::context::CanvasContext;
use crate::engine::mentions::{feature_for_node, features_in, technology_for_node};
use crate::engine::technology::SqlDialect;
use crate::engine::templates::FileDraft;
use crate::model::{
    Canvas, CanvasPatch, Edge, EdgeType, GeneratedFile, IntentAnalysis, NewEvent, Node, NodeType,
    Task, TaskType,
};

/// Everything an agent may read. Borrowed: the orchestrator owns the run's state.
#[derive(Debug, Clone, Copy)]
pub struct AgentInput<'a> {
    /// The task, with its current (possibly edited) prompt.
    pub task: &'a Task,
    pub intent: &'a IntentAnalysis,
    pub context: &'a CanvasContext,
    /// The canvas as it is now (earlier tasks' patches applied).
    pub canvas: &'a Canvas,
    /// Outputs of the task's dependencies (direct ones are enough).
    pub dependencies: &'a [DependencyOutput],
}

/// What a finished dependency hands to its dependents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyOutput {
    pub task_id: String,
    pub produced: Vec<String>,
    pub result: serde_json::Value,
    /// Paths of the files it generated.
    pub files: Vec<String>,
}

impl DependencyOutput {
    pub fn from_output(task_id: &str, output: &AgentOutput) -> Self {
        Self {
            task_id: task_id.to_string(),
            produced: output.produced.clone(),
            result: output.result.clone(),
            files: output.files.iter().map(|f| f.path.clone()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutput {
    /// The `taskCompleted` result text, e.g. "Architecture designed with 4 microservices".
    pub summary: String,
    pub patch: CanvasPatch,
    pub files: Vec<GeneratedFile>,
    /// Domain events of the task (`bottlenecksIdentified`, ...); lifecycle events such as
    /// `taskStarted` are the orchestrator's.
    pub events: Vec<NewEvent>,
    /// Artefact keys this run produced.
    pub produced: Vec<String>,
    pub result: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AgentError {
    #[error("task {task_id} has an empty prompt; edit it to say what to generate")]
    EmptyPrompt { task_id: String },
    #[error("the built-in engine cannot run task {task_id}: {reason}")]
    Unsupported { task_id: String, reason: String },
}

impl AgentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyPrompt { .. } => "invalid_prompt",
            Self::Unsupported { .. } => "unsupported_task",
        }
    }
}

/// What a task asks for, read from its first recognised output key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Architecture,
    UsageAnalysis,
    Swap,
    Rollback,
    Review,
    Schema,
    Migration,
    /// A service; the name is a feature key or a component slug.
    Service(String),
    Frontend,
    Settings,
    /// A test suite: "integration", "migration", a feature key or a component slug.
    Tests(String),
    LoadTest,
    Bottlenecks,
    ScalingPlan,
    ScalingConfig,
    Replacement,
    Monitoring,
    Verification,
}

/// The job of `task`: from its output keys, else from its type, agent and wording (plans
/// written by an LLM may omit keys).
pub fn job_of(task: &Task) -> Job {
    for key in &task.outputs {
        if let Some((kind, name)) = split(key) {
            let job = match kind {
                artefacts::ARCH => Some(Job::Architecture),
                artefacts::SCHEMA => Some(Job::Schema),
                artefacts::API => Some(Job::Service(name.to_string())),
                artefacts::UI => Some(Job::Frontend),
                artefacts::TEST => Some(Job::Tests(name.to_string())),
                artefacts::BOTTLENECK => Some(Job::Bottlenecks),
                artefacts::SCALING => Some(Job::ScalingPlan),
                artefacts::CONFIG => Some(Job::ScalingConfig),
                artefacts::INFRA => Some(Job::Replacement),
                artefacts::MONITORING => Some(Job::Monitoring),
                artefacts::REPORT => Some(Job::Verification),
                artefacts::LOADTEST => Some(Job::LoadTest),
                artefacts::USAGE => Some(Job::UsageAnalysis),
                artefacts::SWAP => Some(Job::Swap),
                artefacts::MIGRATION => Some(Job::Migration),
                artefacts::SETTINGS => Some(Job::Settings),
                artefacts::ROLLBACK => Some(Job::Rollback),
                artefacts::REVIEW => Some(Job::Review),
                _ => None,
            };
            if let Some(job) = job {
                return job;
            }
        }
    }
    let text = format!("{} {}", task.name, task.prompt).to_lowercase();
    match task.kind {
        TaskType::Database => Job::Schema,
        TaskType::Architecture if task.agent.starts_with("db-") || text.contains("schema") => {
            Job::Schema
        }
        TaskType::Architecture => Job::Architecture,
        TaskType::CodeGeneration
            if [
                "react",
                "frontend",
                "front-end",
                " ui ",
                "component",
                "page",
            ]
            .iter()
            .any(|w| text.contains(w)) =>
        {
            Job::Frontend
        }
        TaskType::CodeGeneration => Job::Service(features_in(&task.prompt).first().map_or_else(
            || crate::engine::sanitize::slug(&task.name, "service"),
            |k| k.to_string(),
        )),
        TaskType::Testing if text.contains("load") => Job::LoadTest,
        TaskType::Testing => Job::Tests("integration".to_string()),
        TaskType::Scaling if text.contains("verif") => Job::Verification,
        TaskType::Scaling => Job::ScalingPlan,
        TaskType::Analysis => Job::Bottlenecks,
        TaskType::Configuration if text.contains("alert") || text.contains("monitor") => {
            Job::Monitoring
        }
        TaskType::Configuration => Job::ScalingConfig,
    }
}

/// Runs `input.task` with the built-in agent for its job.
pub fn run_agent(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    if input.task.prompt.trim().is_empty() {
        return Err(AgentError::EmptyPrompt {
            task_id: input.task.id.clone(),
        });
    }
    match job_of(input.task) {
        Job::Architecture => architecture::design(input),
        Job::UsageAnalysis => architecture::usage(input),
        Job::Swap => architecture::swap(input),
        Job::Rollback => architecture::rollback(input),
        Job::Review => architecture::review(input),
        Job::Schema => database::schema(input),
        Job::Migration => database::migration(input),
        Job::Service(name) => code::service(input, &name),
        Job::Frontend => code::frontend(input),
        Job::Settings => code::settings(input),
        Job::Tests(name) => testing::tests(input, &name),
        Job::LoadTest => scaling::load_test(input),
        Job::Bottlenecks => scaling::bottlenecks(input),
        Job::ScalingPlan => scaling::plan(input),
        Job::ScalingConfig => scaling::configuration(input),
        Job::Replacement => scaling::replacement(input),
        Job::Monitoring => scaling::monitoring(input),
        Job::Verification => scaling::verification(input),
    }
}

// ───────────────────────────── shared helpers ─────────────────────────────

impl AgentOutput {
    pub(crate) fn new(summary: String, result: serde_json::Value) -> Self {
        Self {
            summary,
            patch: CanvasPatch::default(),
            files: Vec::new(),
            events: Vec::new(),
            produced: Vec::new(),
            result,
        }
    }

    pub(crate) fn with_files(mut self, task: &Task, drafts: Vec<FileDraft>) -> Self {
        self.files.extend(drafts.into_iter().map(|d| GeneratedFile {
            path: d.path,
            language: d.language,
            content: d.content,
            task_id: task.id.clone(),
        }));
        self
    }

    /// Produced keys: the task's declared outputs unless the agent knows better.
    pub(crate) fn producing(mut self, keys: Vec<String>) -> Self {
        self.produced = keys;
        self
    }
}

/// Features of the system the task works in: the intent's components first, then services
/// already on the canvas (add/scale/fix runs extend an existing design).
pub(crate) fn system_features(input: &AgentInput<'_>) -> Vec<&'static Feature> {
    let mut keys: Vec<&str> = input
        .intent
        .components
        .iter()
        .filter_map(|c| domains::feature(c))
        .map(|f| f.key)
        .collect();
    for node in input
        .canvas
        .nodes
        .iter()
        .filter(|n| n.kind == NodeType::Microservice)
    {
        if let Some(f) = feature_for_node(&node.id, &node.label) {
            if !keys.contains(&f.key) {
                keys.push(f.key);
            }
        }
    }
    domains::order_features(&keys)
}

pub(crate) fn home_map(input: &AgentInput<'_>) -> HomeMap {
    let keys: Vec<&str> = system_features(input).iter().map(|f| f.key).collect();
    HomeMap::new(&keys)
}

/// Data domains the dependencies' schemas produced (`schema.<domain>` keys), if any.
pub(crate) fn schema_domains_from(deps: &[DependencyOutput]) -> Option<Vec<&'static str>> {
    let domains: Vec<&'static str> = deps
        .iter()
        .flat_map(|d| d.produced.iter())
        .filter_map(|k| split(k).filter(|(kind, _)| *kind == artefacts::SCHEMA))
        .filter_map(|(_, name)| domains::data_domain(name).map(|d| d.key))
        .fold(Vec::new(), |mut acc, d| {
            if !acc.contains(&d) {
                acc.push(d);
            }
            acc
        });
    (!domains.is_empty()).then_some(domains)
}

/// The SQL dialect of this system: a dependency's schema result, else the canvas databases,
/// else MySQL (the design's default).
pub(crate) fn dialect_of(input: &AgentInput<'_>) -> SqlDialect {
    let from_deps = input
        .dependencies
        .iter()
        .filter_map(|d| d.result.get("dialect").and_then(|v| v.as_str()))
        .find_map(SqlDialect::for_technology);
    from_deps
        .or_else(|| {
            input
                .canvas
                .nodes
                .iter()
                .filter(|n| n.kind == NodeType::Database)
                .filter_map(technology_for_node)
                .find_map(|t| SqlDialect::for_technology(t.key))
        })
        .unwrap_or(SqlDialect::MySql)
}

/// Title of the system for documents: "e-commerce platform".
pub(crate) fn system_title(input: &AgentInput<'_>) -> String {
    crate::engine::intent::system_phrase(&input.task.prompt).unwrap_or_else(|| {
        input
            .intent
            .target
            .replace('-', " ")
            .replace("e commerce", "e-commerce")
    })
}

pub(crate) fn node(id: &str, kind: NodeType, label: &str, config: serde_json::Value) -> Node {
    let config = match config {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => crate::model::Config::new(),
    };
    Node {
        id: id.to_string(),
        kind,
        label: label.to_string(),
        position: None,
        config,
    }
}

pub(crate) fn edge(source: &str, target: &str, kind: EdgeType) -> Edge {
    Edge {
        id: crate::canvas::edge_id(source, target, kind),
        source: source.to_string(),
        target: target.to_string(),
        kind,
    }
}

pub(crate) fn event(kind: crate::model::EventType, data: serde_json::Value) -> NewEvent {
    NewEvent::new(kind, data)
}

/// The technologies a modification is about, as `(from, to)`: the task prompt's wording
/// when it says which way (it may have been edited), else the intent's components.
pub(crate) fn replacement_of(
    input: &AgentInput<'_>,
) -> Option<(
    &'static crate::engine::technology::Technology,
    &'static crate::engine::technology::Technology,
)> {
    crate::engine::intent::replacement_in(&input.task.prompt).or_else(|| {
        let listed: Vec<_> = input
            .intent
            .components
            .iter()
            .filter_map(|c| crate::engine::technology::technology(c))
            .collect();
        match listed.as_slice() {
            [a, b, ..] => Some((*a, *b)),
            _ => None,
        }
    })
}

pub(crate) fn unsupported(task: &Task, reason: &str) -> AgentError {
    AgentError::Unsupported {
        task_id: task.id.clone(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod harness {
    //! Runs whole plans through the agents in dependency order, applying patches with
    //! `canvas::merge`, as the orchestrator does.
    use super::*;
    use crate::engine::context::extract_context;
    use crate::engine::intent::analyse_intent;
    use crate::engine::planner::{plan, PlanDraft};
    use std::collections::BTreeMap;

    pub struct Run {
        pub intent: IntentAnalysis,
        pub context: CanvasContext,
        pub draft: PlanDraft,
        pub outputs: BTreeMap<String, AgentOutput>,
        pub canvas: Canvas,
        /// What `canvas::merge` could not apply as written, per task.
        pub merge_warnings: Vec<String>,
    }

    impl Run {
        pub fn output(&self, task_id: &str) -> &AgentOutput {
            match self.outputs.get(task_id) {
                Some(o) => o,
                None => panic!("no output for {task_id}"),
            }
        }

        pub fn all_files(&self) -> Vec<&GeneratedFile> {
            self.outputs.values().flat_map(|o| o.files.iter()).collect()
        }
    }

    pub fn run(prompt: &str, canvas: &Canvas) -> Run {
        let intent = match analyse_intent(prompt, canvas) {
            Ok(i) => i,
            Err(e) => panic!("{prompt}: {e}"),
        };
        let context = extract_context(canvas, &intent);
        let draft = plan(&intent, &context, prompt);
        run_plan(intent, context, draft, canvas.clone())
    }

    pub fn run_plan(
        intent: IntentAnalysis,
        context: CanvasContext,
        draft: PlanDraft,
        mut canvas: Canvas,
    ) -> Run {
        let mut outputs: BTreeMap<String, AgentOutput> = BTreeMap::new();
        let mut merge_warnings = Vec::new();
        while outputs.len() < draft.tasks.len() {
            let ready: Vec<&Task> = draft
                .tasks
                .iter()
                .filter(|t| !outputs.contains_key(&t.id))
                .filter(|t| t.dependencies.iter().all(|d| outputs.contains_key(d)))
                .collect();
            assert!(!ready.is_empty(), "plan is stuck");
            for task in ready {
                let deps: Vec<DependencyOutput> = task
                    .dependencies
                    .iter()
                    .filter_map(|d| outputs.get(d).map(|o| DependencyOutput::from_output(d, o)))
                    .collect();
                let input = AgentInput {
                    task,
                    intent: &intent,
                    context: &context,
                    canvas: &canvas,
                    dependencies: &deps,
                };
                let out = match run_agent(&input) {
                    Ok(o) => o,
                    Err(e) => panic!("{}: {e}", task.id),
                };
                let merged = crate::canvas::merge(&canvas, &out.patch);
                merge_warnings.extend(
                    merged
                        .warnings
                        .iter()
                        .map(|w| format!("{}: {}", task.id, w.message)),
                );
                canvas = merged.canvas;
                outputs.insert(task.id.clone(), out);
            }
        }
        Run {
            intent,
            context,
            draft,
            outputs,
            canvas,
            merge_warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::planner::new_task;

    #[test]
    fn jobs_come_from_output_keys_then_from_types() {
        let mut t = new_task(
            1,
            "x",
            "x",
            TaskType::CodeGeneration,
            "code-001",
            10,
            "Generate React components".into(),
        );
        assert_eq!(job_of(&t), Job::Frontend);
        t.prompt = "Generate the payment service".into();
        assert_eq!(job_of(&t), Job::Service("payment".into()));
        t.outputs = vec!["infra.load_balancer".into()];
        assert_eq!(job_of(&t), Job::Replacement);
        let s = new_task(
            2,
            "Database Schema Design",
            "",
            TaskType::Architecture,
            "db-001",
            10,
            "x".into(),
        );
        assert_eq!(job_of(&s), Job::Schema);
    }

    #[test]
    fn empty_prompts_are_refused() {
        let t = new_task(
            1,
            "x",
            "x",
            TaskType::Architecture,
            "arch-001",
            10,
            "  ".into(),
        );
        let intent = IntentAnalysis {
            intent: crate::model::IntentKind::BuildFromScratch,
            complexity: 0.9,
            target: "x".into(),
            components: vec![],
            metrics: vec![],
            estimated_tasks: 1,
        };
        let ctx = crate::engine::context::extract_context(&Canvas::default(), &intent);
        let canvas = Canvas::default();
        let input = AgentInput {
            task: &t,
            intent: &intent,
            context: &ctx,
            canvas: &canvas,
            dependencies: &[],
        };
        assert_eq!(
            run_agent(&input).map(|_| ()),
            Err(AgentError::EmptyPrompt {
                task_id: "task_1".into()
            })
        );
    }
}
