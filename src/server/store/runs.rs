//! Runs (a "build" in the design documents) and their tasks, modifications and files.

use super::StoreError;
use async_trait::async_trait;

/// The few facts every access check needs about a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRef {
    pub id: String,
    pub project_id: String,
    pub owner_id: String,
    pub status: String,
}

#[async_trait]
pub trait RunStore: Send + Sync {
    /// Who owns the run and which project it belongs to; `None` when it does not exist.
    async fn run_ref(&self, run_id: &str) -> Result<Option<RunRef>, StoreError>;

    /// The owner of a project; `None` when it does not exist. (Access checks of project streams.)
    async fn project_owner(&self, project_id: &str) -> Result<Option<String>, StoreError>;
}
