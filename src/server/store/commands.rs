//! Commands for a run's owner (multi-instance mode): the instance that took a request for a
//! run driven elsewhere stores it here; the owner takes it, executes it and writes the answer
//! back; the first instance reads the answer and deletes the row.

use super::StoreError;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommand {
    pub id: String,
    pub run_id: String,
    /// The command as JSON (`cluster::commands::RunCommand`).
    pub body: String,
}

#[async_trait]
pub trait CommandStore: Send + Sync {
    async fn enqueue_command(&self, command: &StoredCommand, at: &str) -> Result<(), StoreError>;

    /// Takes the pending commands of `run_ids` for `instance` (each is taken once, whatever
    /// the number of instances asking), oldest first.
    async fn take_commands(
        &self,
        run_ids: &[String],
        instance: &str,
    ) -> Result<Vec<StoredCommand>, StoreError>;

    /// Writes a taken command's answer.
    async fn finish_command(&self, id: &str, result: &str) -> Result<(), StoreError>;

    /// The answer, if the command was executed: returned once (the row is deleted).
    async fn take_command_result(&self, id: &str) -> Result<Option<String>, StoreError>;

    /// Withdraws a command nobody took yet (its requester gave up); false when it was taken.
    async fn withdraw_command(&self, id: &str) -> Result<bool, StoreError>;
}
