//! The types of the external contract (`shared/docs/CONTRACT.md`): intents, plans, tasks,
//! canvases, events, run snapshots. Plain data with serde; no behaviour beyond small helpers.
//! JSON names follow the contract exactly (camelCase fields, the enums' documented spellings).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Free-form JSON configuration of a node (`instances`, `session_store`, ...). Ordered so that
/// serialisation is deterministic (tests and ETags compare bytes).
pub type Config = BTreeMap<String, serde_json::Value>;

// ───────────────────────────── Intent ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntentKind {
    BuildFromScratch,
    ScaleComponent,
    AddFeature,
    ModifyComponent,
    FixComponent,
    Explain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Requests per second.
    Rps,
    /// Concurrent users.
    Users,
    /// Latency target in milliseconds.
    LatencyMs,
    /// Availability target in percent (e.g. 99.9).
    AvailabilityPct,
}

/// A number the user asked for, e.g. "5000 RPS".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub kind: MetricKind,
    pub value: f64,
    /// The text it was read from, e.g. "5000 RPS".
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentAnalysis {
    pub intent: IntentKind,
    /// 0.0 (trivial) ..= 1.0 (a whole system).
    pub complexity: f64,
    /// The component or system the request is about, e.g. "auth-service", "e-commerce-platform".
    pub target: String,
    /// Feature/component keys mentioned, e.g. ["auth", "catalog", "cart", "payment"].
    pub components: Vec<String>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    pub estimated_tasks: u32,
}

// ───────────────────────────── Canvas ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeType {
    Microservice,
    Database,
    Cache,
    LoadBalancer,
    Queue,
    Gateway,
    Frontend,
    Monitoring,
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NodeType,
    pub label: String,
    /// `None` for nodes an agent produced without a layout; the canvas merge places them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EdgeType {
    #[serde(rename = "api-call")]
    ApiCall,
    #[serde(rename = "db")]
    Db,
    #[serde(rename = "cache")]
    Cache,
    #[serde(rename = "pubsub")]
    Pubsub,
    #[serde(rename = "replication")]
    Replication,
    #[serde(rename = "monitoring")]
    Monitoring,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub id: String,
    pub source: String,
    pub target: String,
    #[serde(rename = "type")]
    pub kind: EdgeType,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Canvas {
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Optimistic-concurrency version; bumped on every stored change.
    #[serde(default)]
    pub version: u64,
}

/// What one task wants to do to the canvas. Applied by `canvas::merge`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanvasPatch {
    /// Nodes to add, or to update in place when a node with that id exists (config merged,
    /// position kept).
    #[serde(default)]
    pub upsert_nodes: Vec<Node>,
    /// REPLACE_COMPONENT: `(old id, new node)`. Edges of the old node are re-pointed at the new
    /// one; unrelated nodes, their ids and positions are untouched.
    #[serde(default)]
    pub replace_nodes: Vec<(String, Node)>,
    #[serde(default)]
    pub add_edges: Vec<Edge>,
    #[serde(default)]
    pub remove_node_ids: Vec<String>,
}

// ───────────────────────────── Plan ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskType {
    Architecture,
    Database,
    CodeGeneration,
    Testing,
    Scaling,
    Configuration,
    Analysis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Isolation {
    Independent,
    Dependent,
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Regenerating,
}

impl TaskStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// One node of the plan DAG. The first block of fields is the plan as a planner writes it;
/// the second block is run-time state (defaulted when a plan is parsed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub kind: TaskType,
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Seconds.
    pub estimated_time: u32,
    #[serde(default = "default_isolation")]
    pub isolation: Isolation,
    /// Agent id, e.g. "arch-001", "db-001", "code-001", "test-001", "scale-001".
    pub agent: String,
    pub prompt: String,
    #[serde(default)]
    pub can_run_in_parallel: bool,
    /// Artefact keys this task reads, e.g. "schema.users", "api.@catalog", "schema.*"
    /// (see `impact`). Empty means "everything its dependencies produce".
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Artefact keys this task produces, e.g. "schema.users", "api.catalog".
    #[serde(default)]
    pub outputs: Vec<String>,

    #[serde(default)]
    pub status: TaskStatus,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    #[serde(default)]
    pub modification_count: u32,
}

fn default_isolation() -> Isolation {
    Isolation::Dependent
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub tasks: Vec<Task>,
}

// ───────────────────────────── Runs ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Analyzing,
    Planning,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanPath {
    Static,
    Dynamic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImpactLevel {
    None,
    Minor,
    Major,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskImpact {
    pub id: String,
    pub impact: ImpactLevel,
}

/// Result of `impact::analyse`: what an edit of one task means for the rest of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImpactReport {
    pub task_id: String,
    /// Dependents that must regenerate (impact major or minor).
    pub affected_tasks: Vec<TaskImpact>,
    /// Every other task of the plan (they keep running / keep their results).
    pub unaffected_tasks: Vec<String>,
    /// Seconds.
    pub additional_time: u32,
    /// USD.
    pub cost_increase: f64,
    pub modifications_left: u32,
    /// Artefact keys the edit adds or removes, e.g. ["schema.recommendations"].
    #[serde(default)]
    pub changed_outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modification {
    pub id: String,
    pub task_id: String,
    pub timestamp: String,
    /// A short human summary, e.g. "Added recommendation engine".
    pub change: String,
    pub old_prompt: String,
    pub new_prompt: String,
    pub affected_tasks: Vec<TaskImpact>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanvasChanges {
    pub components_added: u32,
    pub connections_created: u32,
    pub nodes_generated: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeGeneration {
    pub files_generated: u32,
    pub lines_of_code: u32,
    pub services: u32,
    pub components: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionSummary {
    /// Milliseconds.
    pub total_time: u64,
    pub tasks_completed: u32,
    pub success: bool,
    pub canvas_changes: CanvasChanges,
    pub code_generation: CodeGeneration,
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedFile {
    /// Relative, forward-slash path, e.g. "auth-service/src/main.rs".
    pub path: String,
    pub language: String,
    pub content: String,
    pub task_id: String,
}

// ───────────────────────────── Events ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventType {
    IntentAnalyzed,
    ContextExtracted,
    SimilarSolutionFound,
    PlanGenerated,
    ExecutionStarted,
    TasksStarted,
    TaskStarted,
    TaskProgress,
    IterationStarted,
    IterationProgress,
    TaskCompleted,
    TaskFailed,
    CanvasUpdated,
    FileGenerated,
    BottlenecksIdentified,
    ScalingPlanGenerated,
    AnalysisCompleted,
    ConfigurationGenerated,
    ComponentReplaced,
    ScalingCompleted,
    ModificationValidated,
    ImpactAnalysis,
    RegenerationStarted,
    QueuePosition,
    RunCancelled,
    /// Another instance took the run over (its owner died or handed it back) and goes on from
    /// the last completed task: `{instance, previousInstance, completedTasks}`.
    RunResumed,
    ExecutionSummary,
    Error,
    /// Sent first when a client resumes from history that no longer exists.
    Snapshot,
}

impl EventType {
    pub const ALL: [EventType; 29] = [
        Self::IntentAnalyzed,
        Self::ContextExtracted,
        Self::SimilarSolutionFound,
        Self::PlanGenerated,
        Self::ExecutionStarted,
        Self::TasksStarted,
        Self::TaskStarted,
        Self::TaskProgress,
        Self::IterationStarted,
        Self::IterationProgress,
        Self::TaskCompleted,
        Self::TaskFailed,
        Self::CanvasUpdated,
        Self::FileGenerated,
        Self::BottlenecksIdentified,
        Self::ScalingPlanGenerated,
        Self::AnalysisCompleted,
        Self::ConfigurationGenerated,
        Self::ComponentReplaced,
        Self::ScalingCompleted,
        Self::ModificationValidated,
        Self::ImpactAnalysis,
        Self::RegenerationStarted,
        Self::QueuePosition,
        Self::RunCancelled,
        Self::RunResumed,
        Self::ExecutionSummary,
        Self::Error,
        Self::Snapshot,
    ];

    /// The contract's spelling, e.g. "taskStarted".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IntentAnalyzed => "intentAnalyzed",
            Self::ContextExtracted => "contextExtracted",
            Self::SimilarSolutionFound => "similarSolutionFound",
            Self::PlanGenerated => "planGenerated",
            Self::ExecutionStarted => "executionStarted",
            Self::TasksStarted => "tasksStarted",
            Self::TaskStarted => "taskStarted",
            Self::TaskProgress => "taskProgress",
            Self::IterationStarted => "iterationStarted",
            Self::IterationProgress => "iterationProgress",
            Self::TaskCompleted => "taskCompleted",
            Self::TaskFailed => "taskFailed",
            Self::CanvasUpdated => "canvasUpdated",
            Self::FileGenerated => "fileGenerated",
            Self::BottlenecksIdentified => "bottlenecksIdentified",
            Self::ScalingPlanGenerated => "scalingPlanGenerated",
            Self::AnalysisCompleted => "analysisCompleted",
            Self::ConfigurationGenerated => "configurationGenerated",
            Self::ComponentReplaced => "componentReplaced",
            Self::ScalingCompleted => "scalingCompleted",
            Self::ModificationValidated => "modificationValidated",
            Self::ImpactAnalysis => "impactAnalysis",
            Self::RegenerationStarted => "regenerationStarted",
            Self::QueuePosition => "queuePosition",
            Self::RunCancelled => "runCancelled",
            Self::RunResumed => "runResumed",
            Self::ExecutionSummary => "executionSummary",
            Self::Error => "error",
            Self::Snapshot => "snapshot",
        }
    }
}

/// The envelope every transport carries: `{seq, runId, type, ts, data}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// 1, 2, 3, ... per run, without gaps.
    pub seq: u64,
    pub run_id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// ISO-8601 UTC.
    pub ts: String,
    pub data: serde_json::Value,
}

/// An event before the store has given it a `seq` and a timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: EventType,
    pub data: serde_json::Value,
}

impl NewEvent {
    pub fn new(kind: EventType, data: serde_json::Value) -> Self {
        Self { kind, data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enums_use_the_contract_spellings() {
        assert_eq!(
            serde_json::to_value(IntentKind::BuildFromScratch).ok(),
            Some(json!("BUILD_FROM_SCRATCH"))
        );
        assert_eq!(
            serde_json::to_value(NodeType::LoadBalancer).ok(),
            Some(json!("load_balancer"))
        );
        assert_eq!(
            serde_json::to_value(EdgeType::ApiCall).ok(),
            Some(json!("api-call"))
        );
        assert_eq!(
            serde_json::to_value(TaskType::CodeGeneration).ok(),
            Some(json!("CODE_GENERATION"))
        );
        for kind in EventType::ALL {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(json!(kind.as_str())),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_plan_task_parses_with_runtime_fields_defaulted() {
        let task: Task = serde_json::from_value(json!({
            "id": "task_1", "name": "Architecture Design", "type": "ARCHITECTURE",
            "dependencies": [], "estimatedTime": 45, "isolation": "INDEPENDENT",
            "agent": "arch-001", "prompt": "Design it", "canRunInParallel": true
        }))
        .expect("valid task");
        assert_eq!(task.status, TaskStatus::Pending);
        assert_eq!(task.modification_count, 0);
        assert!(task.inputs.is_empty());
    }
}
