//! The append-only event log: per run, `seq` 1, 2, 3, … without gaps. Events are written here
//! before any transport sees them.

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

    /// Events with `seq > after_seq`, in order, at most `limit`.
    async fn events_after(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;

    /// The run's last `seq` (0 when it has none).
    async fn last_seq(&self, run_id: &str) -> Result<u64, StoreError>;
}
