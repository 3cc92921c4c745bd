//! Runs (a "build" in the design documents) and their tasks, modifications and files.

use super::StoreError;
use crate::server::orchestrator::agents::TaskOutput;
use async_trait::async_trait;
use serde_json::Value;
use youmeyou_core::model::{GeneratedFile, Modification, Task};

/// The few facts every access check needs about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub id: String,
    pub project_id: String,
    pub owner_id: String,
    pub status: String,
}

/// A run as stored. JSON columns are kept as values; the orchestrator gives them types.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub project_id: String,
    pub owner_id: String,
    pub prompt: String,
    pub status: String,
    pub intent: Option<Value>,
    pub path: Option<String>,
    pub path_reason: Option<String>,
    pub context: Option<Value>,
    pub summary: Option<Value>,
    pub error: Option<String>,
    pub last_seq: u64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// One task of a run with its run-time state (status and times live inside `task`).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub task: Task,
    pub position: i64,
    pub attempts: u32,
    pub output: Option<TaskOutput>,
    pub error: Option<String>,
}

/// A generated file without its content.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileMeta {
    pub path: String,
    pub language: String,
    pub bytes: u64,
    pub task_id: String,
}

/// What [`RunStore::admit_run`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAdmission {
    Created,
    /// The project has a queued or running run already.
    ProjectBusy {
        run_id: String,
    },
    /// The owner started `started` runs on the day already.
    DailyLimit {
        started: u64,
    },
    /// The owner has `active` unfinished runs already.
    ConcurrentLimit {
        active: u64,
    },
}

#[async_trait]
pub trait RunStore: Send + Sync {
    /// Creates `run` (status as given) unless its project has an unfinished run, or its owner
    /// has `max_active` unfinished runs or started `max_per_day` runs on UTC day `day` (the
    /// date prefix of `created_at`, YYYY-MM-DD) or later. Counted in the database in one
    /// transaction serialised per owner, so the limits hold across instances.
    async fn admit_run(
        &self,
        run: &RunRecord,
        max_active: u32,
        max_per_day: u32,
        day: &str,
    ) -> Result<RunAdmission, StoreError>;

    /// Who owns the run and which project it belongs to; `None` when it does not exist.
    async fn run_ref(&self, run_id: &str) -> Result<Option<RunRef>, StoreError>;

    /// The owner of a project; `None` when it does not exist. (Access checks of project streams.)
    async fn project_owner(&self, project_id: &str) -> Result<Option<String>, StoreError>;

    /// Inserts a new run (status as given, usually `queued`).
    async fn create_run(&self, run: &RunRecord) -> Result<(), StoreError>;

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError>;

    /// Sets the status and, when given, the start/finish time and error.
    async fn set_run_status(
        &self,
        run_id: &str,
        status: &str,
        started_at: Option<&str>,
        finished_at: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Records the analysis phase's results.
    async fn set_run_analysis(
        &self,
        run_id: &str,
        intent: &Value,
        context: &Value,
    ) -> Result<(), StoreError>;

    /// Stores the validated plan (all tasks pending) and the path it took, in one transaction.
    async fn save_plan(
        &self,
        run_id: &str,
        tasks: &[Task],
        path: &str,
        reason: &str,
    ) -> Result<(), StoreError>;

    async fn update_task(&self, run_id: &str, task: &TaskRecord) -> Result<(), StoreError>;

    async fn load_tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>, StoreError>;

    async fn set_summary(&self, run_id: &str, summary: &Value) -> Result<(), StoreError>;

    /// Upserts files by path (a regenerated task overwrites its earlier version).
    async fn save_files(&self, run_id: &str, files: &[GeneratedFile]) -> Result<(), StoreError>;

    async fn list_files(&self, run_id: &str) -> Result<Vec<FileMeta>, StoreError>;

    async fn get_file(&self, run_id: &str, path: &str)
        -> Result<Option<GeneratedFile>, StoreError>;

    async fn all_files(&self, run_id: &str) -> Result<Vec<GeneratedFile>, StoreError>;

    async fn add_modification(
        &self,
        run_id: &str,
        modification: &Modification,
    ) -> Result<(), StoreError>;

    async fn list_modifications(&self, run_id: &str) -> Result<Vec<Modification>, StoreError>;

    /// Runs that were not finished (for resume after a restart), oldest first.
    async fn unfinished_runs(&self) -> Result<Vec<RunRecord>, StoreError>;

    /// The project's queued or running run, if any.
    async fn active_run_of_project(&self, project_id: &str) -> Result<Option<String>, StoreError>;

    /// Durations in seconds of the most recent finished runs (queue wait estimates).
    async fn recent_run_durations(&self, limit: u32) -> Result<Vec<f64>, StoreError>;
}
