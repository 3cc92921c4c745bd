//! The task DAG of a plan: index-based adjacency, a topological order, and the scheduling
//! questions the orchestrator asks (what is ready now, what is critical, what runs together,
//! what depends on a task). Checks only the structure it relies on; full validation is `plan`.

use crate::model::{Plan, TaskStatus};
use crate::plan::PlanError;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use thiserror::Error;

/// Why a DAG question could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DagError {
    #[error(transparent)]
    InvalidPlan(#[from] PlanError),
    #[error("no task `{id}` in this plan; use one of the plan's task ids")]
    UnknownTask { id: String },
}

/// The longest chain of dependent tasks by `estimatedTime`: it bounds the run's duration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CriticalPath {
    /// First task to last.
    pub task_ids: Vec<String>,
    pub total_seconds: u64,
}

/// A plan's dependency graph. Tasks are numbered by their position in `plan.tasks`; every
/// method that takes statuses expects them in that order too (see [`statuses`]).
#[derive(Debug, Clone)]
pub struct Dag {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    /// Task → the tasks it depends on (declared order, duplicates dropped).
    deps: Vec<Vec<usize>>,
    /// Task → the tasks that depend on it (plan order).
    dependents: Vec<Vec<usize>>,
    topo: Vec<usize>,
    /// Task → its position in `topo`.
    topo_pos: Vec<usize>,
    durations: Vec<u64>,
}

impl Dag {
    /// Builds the graph. Fails on what would make it meaningless: duplicate ids, unknown or
    /// self dependencies, cycles. Other rules (limits, prompts) are `plan::validate`'s.
    pub fn new(plan: &Plan) -> Result<Self, PlanError> {
        let n = plan.tasks.len();
        let mut index: HashMap<String, usize> = HashMap::with_capacity(n);
        let mut ids = Vec::with_capacity(n);
        for (i, task) in plan.tasks.iter().enumerate() {
            if let Some(&first) = index.get(task.id.as_str()) {
                return Err(PlanError::DuplicateId {
                    id: task.id.clone(),
                    first,
                    second: i,
                });
            }
            index.insert(task.id.clone(), i);
            ids.push(task.id.clone());
        }

        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
        for (i, task) in plan.tasks.iter().enumerate() {
            let mut own = Vec::with_capacity(task.dependencies.len());
            for dependency in &task.dependencies {
                let Some(&d) = index.get(dependency.as_str()) else {
                    return Err(PlanError::UnknownDependency {
                        task: task.id.clone(),
                        dependency: dependency.clone(),
                    });
                };
                if d == i {
                    return Err(PlanError::SelfDependency {
                        task: task.id.clone(),
                    });
                }
                if !own.contains(&d) {
                    own.push(d);
                }
            }
            deps.push(own);
        }

        let dependents = invert(&deps);
        let topo = kahn(&deps, &dependents);
        if topo.len() < n {
            let tasks = find_cycles(&deps)
                .into_iter()
                .next()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| ids.get(i).cloned())
                .collect();
            return Err(PlanError::Cycle { tasks });
        }
        let mut topo_pos = vec![0; n];
        for (pos, &i) in topo.iter().enumerate() {
            topo_pos[i] = pos;
        }
        let durations = plan
            .tasks
            .iter()
            .map(|t| u64::from(t.estimated_time))
            .collect();
        Ok(Self {
            ids,
            index,
            deps,
            dependents,
            topo,
            topo_pos,
            durations,
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Position of a task in the plan.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Id of the task at a plan position.
    pub fn id(&self, index: usize) -> Option<&str> {
        self.ids.get(index).map(String::as_str)
    }

    /// The tasks `index` depends on (declared order, without duplicates).
    pub fn dependencies(&self, index: usize) -> &[usize] {
        self.deps.get(index).map_or(&[], Vec::as_slice)
    }

    /// The tasks that depend directly on `index` (plan order).
    pub fn dependents(&self, index: usize) -> &[usize] {
        self.dependents.get(index).map_or(&[], Vec::as_slice)
    }

    /// Every task once, each after all of its dependencies, otherwise in plan order.
    pub fn topological_order(&self) -> &[usize] {
        &self.topo
    }

    /// `estimatedTime` of the task at `index`, in seconds.
    pub fn duration(&self, index: usize) -> u64 {
        self.durations.get(index).copied().unwrap_or(0)
    }

    /// Pending tasks whose dependencies have all completed, in plan order. A missing status
    /// counts as pending. Re-running tasks must be set back to `Pending` to be picked up.
    pub fn ready_set(&self, statuses: &[TaskStatus]) -> Vec<&str> {
        (0..self.len())
            .filter(|&i| self.is_ready(i, statuses))
            .filter_map(|i| self.id(i))
            .collect()
    }

    /// The tasks that became ready because `completed` finished: only its dependents are
    /// looked at, so the cost is its out-degree times their (bounded) in-degree, not the plan.
    /// `statuses` must already show `completed` as completed.
    pub fn newly_ready_after(
        &self,
        completed: &str,
        statuses: &[TaskStatus],
    ) -> Result<Vec<&str>, DagError> {
        let i = self.require(completed)?;
        Ok(self
            .dependents(i)
            .iter()
            .filter(|&&d| self.is_ready(d, statuses))
            .filter_map(|&d| self.id(d))
            .collect())
    }

    fn is_ready(&self, i: usize, statuses: &[TaskStatus]) -> bool {
        let status = |t: usize| statuses.get(t).copied().unwrap_or_default();
        status(i) == TaskStatus::Pending
            && self
                .dependencies(i)
                .iter()
                .all(|&d| status(d) == TaskStatus::Completed)
    }

    /// Earliest finish time of every task (plan order), in seconds from the start, when each
    /// task starts as soon as its dependencies finish and concurrency is unlimited.
    pub fn earliest_finish_times(&self) -> Vec<u64> {
        let mut finish = vec![0u64; self.len()];
        for &i in &self.topo {
            let start = self.deps[i].iter().map(|&d| finish[d]).max().unwrap_or(0);
            finish[i] = start + self.durations[i];
        }
        finish
    }

    /// The run's duration with unlimited concurrency: the latest earliest-finish time.
    pub fn makespan(&self) -> u64 {
        self.earliest_finish_times().into_iter().max().unwrap_or(0)
    }

    /// The chain of tasks that decides the makespan. Ties go to the earlier dependency in
    /// declared order, and to the earlier task in plan order, so the answer is stable.
    pub fn critical_path(&self) -> CriticalPath {
        let n = self.len();
        let mut finish = vec![0u64; n];
        let mut via: Vec<Option<usize>> = vec![None; n];
        for &i in &self.topo {
            let mut start = 0;
            for &d in &self.deps[i] {
                if via[i].is_none() || finish[d] > start {
                    start = finish[d];
                    via[i] = Some(d);
                }
            }
            finish[i] = start + self.durations[i];
        }
        let mut end = None;
        for i in 0..n {
            if end.is_none_or(|e: usize| finish[i] > finish[e]) {
                end = Some(i);
            }
        }
        let mut path = Vec::new();
        let mut cursor = end;
        while let Some(i) = cursor {
            path.push(self.ids[i].clone());
            cursor = via[i];
        }
        path.reverse();
        CriticalPath {
            task_ids: path,
            total_seconds: end.map_or(0, |e| finish[e]),
        }
    }

    /// Layers by longest-path depth: layer 0 has no dependencies, a task in layer k depends on
    /// some task of layer k-1. Tasks of one layer can run together; plan order inside.
    pub fn parallel_groups(&self) -> Vec<Vec<&str>> {
        let mut depth = vec![0usize; self.len()];
        let mut groups: Vec<Vec<&str>> = Vec::new();
        for &i in &self.topo {
            depth[i] = self.deps[i]
                .iter()
                .map(|&d| depth[d] + 1)
                .max()
                .unwrap_or(0);
        }
        for (i, id) in self.ids.iter().enumerate() {
            if groups.len() <= depth[i] {
                groups.resize_with(depth[i] + 1, Vec::new);
            }
            groups[depth[i]].push(id);
        }
        groups
    }

    /// Every task that depends on `id` directly or through others, in topological order.
    pub fn transitive_dependents(&self, id: &str) -> Result<Vec<&str>, DagError> {
        let i = self.require(id)?;
        Ok(self
            .transitive_dependents_of(i)
            .into_iter()
            .filter_map(|d| self.id(d))
            .collect())
    }

    /// [`Dag::transitive_dependents`] by plan position; empty for an out-of-range index.
    pub fn transitive_dependents_of(&self, index: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut found = Vec::new();
        let mut stack: Vec<usize> = self.dependents(index).to_vec();
        while let Some(d) = stack.pop() {
            if !seen[d] {
                seen[d] = true;
                found.push(d);
                stack.extend_from_slice(&self.dependents[d]);
            }
        }
        found.sort_unstable_by_key(|&d| self.topo_pos[d]);
        found
    }

    fn require(&self, id: &str) -> Result<usize, DagError> {
        self.index_of(id)
            .ok_or_else(|| DagError::UnknownTask { id: id.to_string() })
    }
}

/// The statuses of a plan's tasks, in plan order, as the `Dag` methods expect them.
pub fn statuses(plan: &Plan) -> Vec<TaskStatus> {
    plan.tasks.iter().map(|t| t.status).collect()
}

/// [`Dag::ready_set`] for a plan given once.
pub fn ready_set(plan: &Plan, statuses: &[TaskStatus]) -> Result<Vec<String>, DagError> {
    Ok(owned(Dag::new(plan)?.ready_set(statuses)))
}

/// [`Dag::critical_path`] for a plan given once.
pub fn critical_path(plan: &Plan) -> Result<CriticalPath, DagError> {
    Ok(Dag::new(plan)?.critical_path())
}

/// [`Dag::parallel_groups`] for a plan given once.
pub fn parallel_groups(plan: &Plan) -> Result<Vec<Vec<String>>, DagError> {
    Ok(Dag::new(plan)?
        .parallel_groups()
        .into_iter()
        .map(owned)
        .collect())
}

/// [`Dag::transitive_dependents`] for a plan given once.
pub fn transitive_dependents(plan: &Plan, id: &str) -> Result<Vec<String>, DagError> {
    Ok(owned(Dag::new(plan)?.transitive_dependents(id)?))
}

/// [`Dag::earliest_finish_times`] for a plan given once, in plan order.
pub fn earliest_finish_times(plan: &Plan) -> Result<Vec<u64>, DagError> {
    Ok(Dag::new(plan)?.earliest_finish_times())
}

/// [`Dag::makespan`] for a plan given once.
pub fn makespan(plan: &Plan) -> Result<u64, DagError> {
    Ok(Dag::new(plan)?.makespan())
}

fn owned(ids: Vec<&str>) -> Vec<String> {
    ids.into_iter().map(str::to_string).collect()
}

fn invert(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut dependents = vec![Vec::new(); deps.len()];
    for (i, own) in deps.iter().enumerate() {
        for &d in own {
            if let Some(list) = dependents.get_mut(d) {
                list.push(i);
            }
        }
    }
    dependents
}

/// Kahn's algorithm taking the lowest ready plan position first, so the order is plan order
/// wherever the dependencies allow (stable output, readable listings). O((n + e) log n).
/// Returns fewer than all tasks when some lie on or behind a cycle.
fn kahn(deps: &[Vec<usize>], dependents: &[Vec<usize>]) -> Vec<usize> {
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = (0..deps.len())
        .filter(|&i| waiting[i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    order
}

/// One cycle per tangle of the dependency graph (`deps`: task → its dependencies, no
/// duplicates, no self-loops), each as task indices where each depends on the next, starting
/// at its lowest index. Tasks Kahn cannot order all lie on or behind a cycle; following their
/// unordered dependencies from the lowest such task must close a loop. Linear time.
pub(crate) fn find_cycles(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let n = deps.len();
    let order = kahn(deps, &invert(deps));
    if order.len() == n {
        return Vec::new();
    }
    let mut ordered = vec![false; n];
    for &i in &order {
        ordered[i] = true;
    }
    let mut state = vec![UNSEEN; n];
    let mut cycles = Vec::new();
    for start in 0..n {
        if ordered[start] || state[start] != UNSEEN {
            continue;
        }
        let mut path = vec![start];
        state[start] = ON_PATH;
        let mut cursor = start;
        while let Some(&next) = deps[cursor].iter().find(|&&d| !ordered[d]) {
            match state[next] {
                ON_PATH => {
                    if let Some(pos) = path.iter().position(|&p| p == next) {
                        let mut cycle = path[pos..].to_vec();
                        if let Some(lowest) = (0..cycle.len()).min_by_key(|&k| cycle[k]) {
                            cycle.rotate_left(lowest);
                        }
                        cycles.push(cycle);
                    }
                    break;
                }
                DONE => break,
                _ => {
                    state[next] = ON_PATH;
                    path.push(next);
                    cursor = next;
                }
            }
        }
        for p in path {
            state[p] = DONE;
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{example_1, large_plan, task};
    use std::collections::VecDeque;

    fn dag(plan: &Plan) -> Dag {
        Dag::new(plan).unwrap_or_else(|e| panic!("plan should build: {e}"))
    }

    fn all(status: TaskStatus, n: usize) -> Vec<TaskStatus> {
        vec![status; n]
    }

    #[test]
    fn example_1_parallel_groups_follow_longest_path_depth() {
        assert_eq!(
            parallel_groups(&example_1()),
            Ok(vec![
                vec!["task_1".to_string(), "task_7".to_string()],
                vec!["task_2".to_string()],
                vec!["task_3".to_string(), "task_4".to_string()],
                vec!["task_5".to_string(), "task_6".to_string()],
                vec!["task_8".to_string()],
            ])
        );
    }

    #[test]
    fn the_json_literal_of_example_1_puts_task_7_after_task_1() {
        // The design's JSON gives task_7 the dependency task_1, unlike its narrative.
        let mut plan = example_1();
        plan.tasks[6].dependencies = vec!["task_1".to_string()];
        let groups = parallel_groups(&plan).unwrap_or_default();
        assert_eq!(groups[0], vec!["task_1".to_string()]);
        assert_eq!(groups[1], vec!["task_2".to_string(), "task_7".to_string()]);
    }

    #[test]
    fn topological_order_puts_every_task_after_its_dependencies() {
        let plan = large_plan(300);
        let dag = dag(&plan);
        let order = dag.topological_order();
        assert_eq!(order.len(), plan.tasks.len());
        let mut pos = vec![0; order.len()];
        for (p, &i) in order.iter().enumerate() {
            pos[i] = p;
        }
        for i in 0..dag.len() {
            for &d in dag.dependencies(i) {
                assert!(
                    pos[d] < pos[i],
                    "task {i} ordered before its dependency {d}"
                );
            }
        }
    }

    #[test]
    fn ready_set_starts_with_the_tasks_without_dependencies() {
        let plan = example_1();
        assert_eq!(
            ready_set(&plan, &statuses(&plan)),
            Ok(vec!["task_1".to_string(), "task_7".to_string()])
        );
    }

    #[test]
    fn ready_set_waits_for_all_dependencies_to_complete() {
        use TaskStatus::*;
        let plan = example_1();
        let dag = dag(&plan);
        // task_1, task_2, task_3 done; task_4 running; task_7 running.
        let s = [
            Completed, Completed, Completed, Running, Pending, Pending, Running, Pending,
        ];
        assert_eq!(
            dag.ready_set(&s),
            vec!["task_6"],
            "task_5 still waits for task_4"
        );
        let s = [
            Completed, Completed, Completed, Completed, Pending, Running, Completed, Pending,
        ];
        assert_eq!(
            dag.ready_set(&s),
            vec!["task_5"],
            "a running task is not ready"
        );
        let s = [
            Completed, Completed, Failed, Completed, Pending, Pending, Completed, Pending,
        ];
        assert!(dag.ready_set(&s).is_empty(), "a failed dependency blocks");
    }

    #[test]
    fn missing_statuses_count_as_pending() {
        let plan = example_1();
        assert_eq!(dag(&plan).ready_set(&[]), vec!["task_1", "task_7"]);
    }

    #[test]
    fn newly_ready_after_looks_only_at_the_finished_tasks_dependents() {
        use TaskStatus::*;
        let plan = example_1();
        let dag = dag(&plan);
        let s = [
            Completed, Completed, Pending, Pending, Pending, Pending, Running, Pending,
        ];
        assert_eq!(
            dag.newly_ready_after("task_2", &s),
            Ok(vec!["task_3", "task_4"])
        );
        let s = [
            Completed, Completed, Completed, Running, Pending, Pending, Running, Pending,
        ];
        assert_eq!(dag.newly_ready_after("task_3", &s), Ok(vec!["task_6"]));
        let s = [
            Completed, Completed, Completed, Completed, Pending, Pending, Running, Pending,
        ];
        assert_eq!(dag.newly_ready_after("task_4", &s), Ok(vec!["task_5"]));
        assert_eq!(dag.newly_ready_after("task_7", &s), Ok(vec![]));
        assert_eq!(
            dag.newly_ready_after("task_9", &s),
            Err(DagError::UnknownTask {
                id: "task_9".to_string()
            })
        );
    }

    #[test]
    fn scheduling_with_newly_ready_after_runs_every_task_once() {
        let plan = large_plan(500);
        let dag = dag(&plan);
        let mut statuses = all(TaskStatus::Pending, dag.len());
        let mut queue: VecDeque<String> = dag
            .ready_set(&statuses)
            .into_iter()
            .map(String::from)
            .collect();
        let mut ran = 0;
        while let Some(id) = queue.pop_front() {
            let i = dag.index_of(&id).unwrap_or(usize::MAX);
            assert_eq!(statuses[i], TaskStatus::Pending, "{id} scheduled twice");
            statuses[i] = TaskStatus::Completed;
            ran += 1;
            let next = dag.newly_ready_after(&id, &statuses).unwrap_or_default();
            queue.extend(next.into_iter().map(String::from));
        }
        assert_eq!(ran, dag.len());
    }

    #[test]
    fn example_1_critical_path_runs_through_auth_and_payment() {
        assert_eq!(
            critical_path(&example_1()),
            Ok(CriticalPath {
                task_ids: ["task_1", "task_2", "task_3", "task_6", "task_8"]
                    .map(String::from)
                    .to_vec(),
                total_seconds: 45 + 30 + 60 + 55 + 35,
            })
        );
    }

    #[test]
    fn critical_path_ties_resolve_to_declared_and_plan_order() {
        let plan = Plan {
            tasks: vec![
                task("a", &[], 10),
                task("b", &[], 10),
                task("c", &["b", "a"], 5),
                task("d", &[], 15),
            ],
        };
        assert_eq!(
            critical_path(&plan).map(|p| p.task_ids),
            Ok(vec!["b".to_string(), "c".to_string()])
        );
        assert_eq!(
            critical_path(&Plan::default()).map(|p| p.total_seconds),
            Ok(0)
        );
    }

    #[test]
    fn earliest_finish_times_and_makespan_of_example_1() {
        assert_eq!(
            earliest_finish_times(&example_1()),
            Ok(vec![45, 75, 135, 125, 175, 190, 70, 225])
        );
        assert_eq!(makespan(&example_1()), Ok(225));
    }

    #[test]
    fn transitive_dependents_are_in_topological_order() {
        let plan = example_1();
        assert_eq!(
            transitive_dependents(&plan, "task_2"),
            Ok(["task_3", "task_4", "task_5", "task_6", "task_8"]
                .map(String::from)
                .to_vec())
        );
        assert_eq!(transitive_dependents(&plan, "task_8"), Ok(vec![]));
        assert_eq!(
            transitive_dependents(&plan, "nope"),
            Err(DagError::UnknownTask {
                id: "nope".to_string()
            })
        );
    }

    #[test]
    fn building_refuses_structural_problems() {
        let cyclic = Plan {
            tasks: vec![task("a", &["b"], 1), task("b", &["a"], 1)],
        };
        assert_eq!(
            Dag::new(&cyclic).err(),
            Some(PlanError::Cycle {
                tasks: vec!["a".to_string(), "b".to_string()]
            })
        );
        let unknown = Plan {
            tasks: vec![task("a", &["zz"], 1)],
        };
        assert!(matches!(
            critical_path(&unknown),
            Err(DagError::InvalidPlan(PlanError::UnknownDependency { .. }))
        ));
        let duplicate = Plan {
            tasks: vec![task("a", &[], 1), task("a", &[], 1)],
        };
        assert!(matches!(
            Dag::new(&duplicate),
            Err(PlanError::DuplicateId { .. })
        ));
        let selfish = Plan {
            tasks: vec![task("a", &["a"], 1)],
        };
        assert!(matches!(
            Dag::new(&selfish),
            Err(PlanError::SelfDependency { .. })
        ));
    }

    #[test]
    fn duplicate_dependencies_count_once() {
        let plan = Plan {
            tasks: vec![task("a", &[], 1), task("b", &["a", "a"], 1)],
        };
        let dag = dag(&plan);
        assert_eq!(dag.dependencies(1), &[0]);
        let s = [TaskStatus::Completed, TaskStatus::Pending];
        assert_eq!(dag.newly_ready_after("a", &s), Ok(vec!["b"]));
    }

    #[test]
    fn a_long_chain_does_not_recurse() {
        let n = 20_000;
        let tasks = (0..n)
            .map(|i| {
                let dep = format!("t{}", i + 1);
                // t0 depends on t1 ... on t(n-1), which depends on t0: one huge cycle.
                let dep = if i + 1 == n { "t0".to_string() } else { dep };
                task(&format!("t{i}"), &[dep.as_str()], 1)
            })
            .collect();
        match Dag::new(&Plan { tasks }) {
            Err(PlanError::Cycle { tasks }) => assert_eq!(tasks.len(), n),
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    #[test]
    fn a_thousand_task_plan_is_analysed() {
        // Its speed is measured by `cargo bench --bench orchestrator`, not asserted here.
        let plan = large_plan(1000);
        let dag = dag(&plan);
        let pending = all(TaskStatus::Pending, dag.len());
        assert!(!dag.ready_set(&pending).is_empty());
        assert!(!dag.critical_path().task_ids.is_empty());
        assert_eq!(dag.earliest_finish_times().len(), dag.len());
        assert_eq!(dag.parallel_groups().len(), 20);
    }
}
