//! Group commit of event appends, shared by every backend. Every append joins a queue; whoever
//! holds the leader's place commits everything queued in one transaction (the backend's
//! [`GroupWriter`]) and answers each caller. A lone append becomes leader at once and commits
//! inline (no hand-off to another task, no waiting for company); under load, the callers
//! queued behind a commit share the next one, so N concurrent runs pay one commit (one fsync,
//! a few round trips) instead of N.

use super::runs::TaskRecord;
use super::{RunEnd, StoreError};
use async_trait::async_trait;
use std::collections::VecDeque;
use tokio::sync::oneshot;
use youmeyou_core::model::{Event, NewEvent};

/// One run's append waiting for the group commit.
pub struct Append {
    pub run_id: String,
    pub events: Vec<NewEvent>,
    pub ts: String,
    /// Written after the events, in the same transaction.
    pub end: Option<RunEnd>,
    /// A task's new state, written in the same transaction as the events that report it
    /// (a task never completes without its `taskCompleted`, nor the other way round).
    pub task: Option<TaskRecord>,
    /// The lease epoch this instance holds on the run, when it holds one: the append commits
    /// only while the run's `lease_epoch` is still this one (else `StoreError::LeaseLost`).
    pub fence: Option<i64>,
    reply: oneshot::Sender<Result<Vec<Event>, StoreError>>,
}

/// The per-append answers of one group, in the group's order.
pub type GroupResults = Vec<Result<Vec<Event>, StoreError>>;

/// Writes one group in one transaction. An append for an unknown run gets `NotFound`, a fenced
/// one whose lease was lost `LeaseLost`, without failing the others; an `Err` of the whole
/// group means nothing was written.
#[async_trait]
pub trait GroupWriter: Send + Sync {
    async fn write_group(&self, batch: &[Append]) -> Result<GroupResults, StoreError>;
}

/// What an append writes in its transaction besides the events.
#[derive(Default, Clone, Copy)]
pub struct After<'a> {
    pub end: Option<&'a RunEnd>,
    pub task: Option<&'a TaskRecord>,
}

/// Most appends one commit takes; bounds the transaction (and the wait of its last caller).
const GROUP_MAX: usize = 256;

#[derive(Default)]
pub struct GroupCommit {
    pub(crate) queue: std::sync::Mutex<VecDeque<Append>>,
    pub(crate) leader: tokio::sync::Mutex<()>,
}

impl GroupCommit {
    fn push(&self, append: Append) {
        if let Ok(mut q) = self.queue.lock() {
            q.push_back(append);
        }
    }

    /// The next group, without appends whose caller has gone (cancelled before its commit:
    /// nothing of it is written, as with a transaction never begun).
    fn take(&self) -> Vec<Append> {
        match self.queue.lock() {
            Ok(mut q) => {
                q.retain(|a| !a.reply.is_closed());
                let n = q.len().min(GROUP_MAX);
                q.drain(..n).collect()
            }
            Err(_) => Vec::new(),
        }
    }

    pub async fn append<W: GroupWriter>(
        &self,
        writer: &W,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
        after: After<'_>,
        fence: Option<i64>,
    ) -> Result<Vec<Event>, StoreError> {
        let (reply, mut answer) = oneshot::channel();
        self.push(Append {
            run_id: run_id.to_string(),
            events: events.to_vec(),
            ts: ts.to_string(),
            end: after.end.cloned(),
            task: after.task.cloned(),
            fence,
            reply,
        });
        let _leading = self.leader.lock().await;
        loop {
            // A leader answers its group before it lets go, so an append an earlier leader
            // took has its answer already; otherwise it is still queued (perhaps behind a
            // full group) and is committed here.
            match answer.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => {
                    return Err(StoreError::Corrupt("the event append was dropped".into()))
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = self.take();
            if batch.is_empty() {
                return Err(StoreError::Corrupt("the event append was lost".into()));
            }
            let mut group = Requeue {
                commit: self,
                batch: Some(batch),
            };
            commit_group(writer, &mut group).await;
        }
    }
}

/// Puts a group that was not committed back at the head of the queue (the leader was dropped).
struct Requeue<'a> {
    commit: &'a GroupCommit,
    batch: Option<Vec<Append>>,
}

impl Drop for Requeue<'_> {
    fn drop(&mut self) {
        if let (Some(batch), Ok(mut q)) = (self.batch.take(), self.commit.queue.lock()) {
            for append in batch.into_iter().rev() {
                if !append.reply.is_closed() {
                    q.push_front(append);
                }
            }
        }
    }
}

/// Commits the group; if this future is dropped mid-commit the transaction rolls back and
/// `Requeue` hands the group (minus callers that went away) to the next leader.
async fn commit_group<W: GroupWriter>(writer: &W, group: &mut Requeue<'_>) {
    let outcome = match group.batch.as_deref() {
        Some(appends) => writer.write_group(appends).await,
        None => return,
    };
    let appends = group.batch.take().unwrap_or_default();
    match outcome {
        Ok(results) => {
            for (append, result) in appends.into_iter().zip(results) {
                let _ = append.reply.send(result);
            }
        }
        // The transaction failed: retry each append on its own so one bad append does not
        // fail the others.
        Err(_) if appends.len() > 1 => {
            for append in appends {
                let result = match writer.write_group(std::slice::from_ref(&append)).await {
                    Ok(mut r) => r
                        .pop()
                        .unwrap_or(Err(StoreError::Corrupt("no result".into()))),
                    Err(e) => Err(e),
                };
                let _ = append.reply.send(result);
            }
        }
        Err(e) => {
            if let Some(append) = appends.into_iter().next() {
                let _ = append.reply.send(Err(e));
            }
        }
    }
}

/// What an append whose run the group's counter update did not find gets: the run is gone,
/// or (fenced) another instance took it.
pub fn missing(append: &Append) -> StoreError {
    match append.fence {
        Some(_) => StoreError::LeaseLost(append.run_id.clone()),
        None => StoreError::NotFound("run"),
    }
}
