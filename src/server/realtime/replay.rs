//! Replay from the persisted log, shared by the three transports: read the events after a
//! client's last `seq`, page by page, and say so with a `snapshot` event (never a silent gap)
//! when the asked-for history does not exist — the client is ahead of the log (`afterSeq` >
//! `lastSeq`) or the log's beginning was pruned.
//!
//! The snapshot's `data` comes from a [`SnapshotSource`]; the default one knows only what
//! `run_ref` and `last_seq` say. The lead plugs a full run snapshot in through
//! `Realtime::with_snapshots`.

use crate::server::store::{runs::RunRef, Store, StoreError};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use youmeyou_core::model::{Event, EventType};

/// Builds the `data` of a `snapshot` event: the run's state as of `last_seq`.
#[async_trait]
pub trait SnapshotSource: Send + Sync + 'static {
    async fn snapshot(
        &self,
        store: &dyn Store,
        run: &RunRef,
        last_seq: u64,
    ) -> Result<Value, StoreError>;
}

/// What is known without the run's full snapshot: id, project, status and last seq.
pub struct BasicSnapshots;

#[async_trait]
impl SnapshotSource for BasicSnapshots {
    async fn snapshot(
        &self,
        _store: &dyn Store,
        run: &RunRef,
        last_seq: u64,
    ) -> Result<Value, StoreError> {
        Ok(json!({
            "id": run.id,
            "projectId": run.project_id,
            "status": run.status,
            "lastSeq": last_seq,
        }))
    }
}

/// Why a snapshot replaces history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotReason {
    /// The client asked for events after a seq the log never reached.
    AheadOfLog,
    /// The events right after the client's seq were pruned.
    Pruned,
}

impl SnapshotReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotReason::AheadOfLog => "resume_beyond_last_seq",
            SnapshotReason::Pruned => "history_pruned",
        }
    }
}

/// One page of a replay.
#[derive(Debug, Default)]
pub struct Page {
    /// A `snapshot` event to send before `events`, when history is missing. Its `seq` is the
    /// last seq it reflects: the client continues from `seq + 1`.
    pub snapshot: Option<Event>,
    pub events: Vec<Event>,
    /// The seq the client has after this page.
    pub cursor: u64,
    /// Fewer events than asked: the replay has caught up with the log.
    pub done: bool,
}

/// Reads the events of `run_id` after `after` (at most `limit`), with a snapshot first when the
/// history after `after` does not exist.
pub async fn read_page(
    store: &dyn Store,
    snapshots: &dyn SnapshotSource,
    run_id: &str,
    after: u64,
    limit: u32,
) -> Result<Page, StoreError> {
    let events = store.events_after(run_id, after, limit).await?;
    let done = events.len() < limit as usize;
    match events.first() {
        None => {
            let last = store.last_seq(run_id).await?;
            if after > last {
                let snapshot = snapshot_event(
                    store,
                    snapshots,
                    run_id,
                    last,
                    after,
                    SnapshotReason::AheadOfLog,
                )
                .await?;
                return Ok(Page {
                    snapshot: Some(snapshot),
                    events,
                    cursor: last,
                    done: true,
                });
            }
            Ok(Page {
                snapshot: None,
                events,
                cursor: after,
                done: true,
            })
        }
        Some(first) => {
            let snapshot = if first.seq > after + 1 {
                Some(
                    snapshot_event(
                        store,
                        snapshots,
                        run_id,
                        first.seq - 1,
                        after,
                        SnapshotReason::Pruned,
                    )
                    .await?,
                )
            } else {
                None
            };
            let cursor = events.last().map(|e| e.seq).unwrap_or(after);
            Ok(Page {
                snapshot,
                events,
                cursor,
                done,
            })
        }
    }
}

async fn snapshot_event(
    store: &dyn Store,
    snapshots: &dyn SnapshotSource,
    run_id: &str,
    last_seq: u64,
    requested_after: u64,
    reason: SnapshotReason,
) -> Result<Event, StoreError> {
    let run = store
        .run_ref(run_id)
        .await?
        .ok_or(StoreError::NotFound("run"))?;
    let mut data = snapshots.snapshot(store, &run, last_seq).await?;
    if let Value::Object(map) = &mut data {
        map.insert("reason".into(), json!(reason.as_str()));
        map.insert("requestedAfterSeq".into(), json!(requested_after));
        map.insert("lastSeq".into(), json!(last_seq));
    }
    Ok(Event {
        seq: last_seq,
        run_id: run_id.to_string(),
        kind: EventType::Snapshot,
        ts: now_iso(),
        data,
    })
}

/// The current time as ISO-8601 UTC with milliseconds.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The default snapshot source, shared.
pub fn basic() -> Arc<dyn SnapshotSource> {
    Arc::new(BasicSnapshots)
}
