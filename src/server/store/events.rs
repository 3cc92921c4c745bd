//! The append-only event log: per run, `seq` 1, 2, 3, … without gaps. Events are written here
//! before any transport sees them.

use super::runs::TaskRecord;
use super::StoreError;
use async_trait::async_trait;
use youmeyou_core::model::{Event, NewEvent};

/// How a run ended, written with its last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// `completed`, `failed` or `cancelled`.
    pub status: String,
    pub finished_at: String,
    /// Kept when `None` (an earlier error stays).
    pub error: Option<String>,
}

/// Where a run's log ends, for instances that follow runs driven elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunHead {
    pub run_id: String,
    pub project_id: String,
    pub last_seq: u64,
}

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends `events` to the run's log in one transaction, numbering them after the run's
    /// last `seq`, and returns them as stored. Callers serialise appends per run.
    async fn append_events(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
    ) -> Result<Vec<Event>, StoreError>;

    /// [`append_events`](Self::append_events), and in the same transaction, after the events,
    /// the run's terminal status (`end`): a reader never sees the run finished before its
    /// last event is in the log.
    async fn append_final(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
        end: &RunEnd,
    ) -> Result<Vec<Event>, StoreError>;

    /// [`append_events`](Self::append_events), and in the same transaction, after the events,
    /// the task's new state (`update_task`): a task's result and the events that report it
    /// commit together.
    async fn append_with_task(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
        task: &TaskRecord,
    ) -> Result<Vec<Event>, StoreError>;

    /// Events with `seq > after_seq`, in order, at most `limit`.
    async fn events_after(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// The run's last `seq` (0 when it has none).
    async fn last_seq(&self, run_id: &str) -> Result<u64, StoreError>;

    /// The log ends of `run_ids` and of the unfinished and latest runs of `project_ids`, in one
    /// query: what the cross-instance relay polls when Redis is down or lost a message.
    async fn run_heads(
        &self,
        run_ids: &[String],
        project_ids: &[String],
    ) -> Result<Vec<RunHead>, StoreError>;
}
