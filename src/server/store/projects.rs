//! Projects and their canvas, with a version history for undo. The canvas version is the
//! optimistic-concurrency token: every stored change bumps it by one and appends a copy to
//! `canvas_versions`, in the same transaction.

use super::StoreError;
use async_trait::async_trait;
use youmeyou_core::model::Canvas;

/// How many canvas versions a project keeps; older ones are pruned on save.
pub const CANVAS_HISTORY: u64 = 100;

/// A project as stored; `canvas.version` is the `canvas_version` column.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRecord {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub canvas: Canvas,
    pub created_at: String,
    pub updated_at: String,
}

/// The latest run of a project, for the project list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub id: String,
    pub status: String,
    pub created_at: String,
}

/// One entry of a project's canvas history (without the canvas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanvasVersionInfo {
    pub version: u64,
    /// The run whose agent made this version; `None` for the user's own edits.
    pub run_id: Option<String>,
    pub created_at: String,
}

/// Why a project could not be deleted or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectWrite {
    Done,
    /// No such project of that owner.
    NotFound,
    /// Creation: the owner already has the maximum number of projects.
    LimitReached,
    /// Deletion: a run of the project is queued or running.
    RunActive,
}

#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Inserts a project (with canvas version 0 recorded in the history) unless its owner
    /// already has `max_per_owner` projects; the count and the insert are one statement.
    async fn create_project(
        &self,
        project: &ProjectRecord,
        max_per_owner: u32,
    ) -> Result<ProjectWrite, StoreError>;

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError>;

    /// The owner's projects, most recently updated first, each with its latest run.
    async fn list_projects(
        &self,
        owner_id: &str,
    ) -> Result<Vec<(ProjectRecord, Option<LastRun>)>, StoreError>;

    /// The project's most recent run.
    async fn last_run(&self, project_id: &str) -> Result<Option<LastRun>, StoreError>;

    /// Renames a project of `owner_id`; `None` when there is no such project of that owner.
    async fn rename_project(
        &self,
        id: &str,
        owner_id: &str,
        name: &str,
    ) -> Result<Option<ProjectRecord>, StoreError>;

    /// Deletes a project of `owner_id` with everything under it, unless a run of it is active.
    async fn delete_project(&self, id: &str, owner_id: &str) -> Result<ProjectWrite, StoreError>;

    /// Stores `canvas` as the next version: checks `expected_version` against the stored one
    /// when given (`StoreError::Conflict` if stale), writes the canvas with version + 1, appends
    /// it to the history (tagged with `run_id`) and returns it as stored. One transaction.
    async fn save_canvas(
        &self,
        project_id: &str,
        canvas: &Canvas,
        expected_version: Option<u64>,
        run_id: Option<&str>,
    ) -> Result<Canvas, StoreError>;

    /// The newest `limit` versions of the project's canvas, newest first.
    async fn list_canvas_versions(
        &self,
        project_id: &str,
        limit: u32,
    ) -> Result<Vec<CanvasVersionInfo>, StoreError>;

    /// One stored version of the canvas (with its `version` set), if still kept.
    async fn get_canvas_version(
        &self,
        project_id: &str,
        version: u64,
    ) -> Result<Option<(Canvas, CanvasVersionInfo)>, StoreError>;

    /// Bytes the owner's stored canvas versions and generated files take.
    async fn storage_used(&self, owner_id: &str) -> Result<u64, StoreError>;

    /// Deletes the owner's oldest canvas versions (never a project's current one) until at
    /// least `bytes` are freed or none is left; returns the bytes freed.
    async fn prune_canvas_history(&self, owner_id: &str, bytes: u64) -> Result<u64, StoreError>;
}
