//! The one way a run's events leave the orchestrator: persisted first (gap-free `seq`), then
//! published on the bus, in the order they were emitted.
//!
//! Emits of one run go through a FIFO queue drained by one writer task at a time. The writer
//! takes everything queued, appends it in one call (one commit) and publishes it in order, so
//! events that pile up while a commit is under way (progress of parallel tasks, a burst) share
//! the next commit and reach each watcher as one burst (one socket write), while a lone event
//! is written at once. The writer is a spawned task: a caller that goes away (a cancelled task)
//! cannot strand the events queued behind its own.

use crate::server::realtime::bus::EventBus;
use crate::server::store::runs::TaskRecord;
use crate::server::store::{RunEnd, Store, StoreError};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;
use youmeyou_core::model::{Event, EventType, NewEvent};

/// Events one append may carry (a commit group stays a bounded transaction).
const MAX_EVENTS_PER_APPEND: usize = 512;
/// Detached events waiting beyond this are dropped (and logged): if the store stalls, progress
/// reports must not grow memory without bound. Awaited emits are never dropped.
const MAX_DETACHED_WAITING: usize = 10_000;

type Reply = oneshot::Sender<Result<Vec<Event>, StoreError>>;

pub struct Emitter {
    inner: Arc<Inner>,
}

struct Inner {
    run_id: String,
    project_id: String,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    pending: Mutex<Pending>,
    /// Append calls made (each one commit), for tests and benchmarks.
    appends: AtomicU64,
}

#[derive(Default)]
struct Pending {
    queue: VecDeque<Queued>,
    /// Events in `queue` (all kinds).
    events: usize,
    /// A writer task is draining the queue.
    writing: bool,
    /// Detached events dropped since the queue was last below its bound (logged once then).
    dropped: usize,
}

struct Queued {
    events: Vec<NewEvent>,
    /// `None`: detached, nobody waits for the result.
    reply: Option<Reply>,
    /// What is stored with these events, in their transaction (they close their batch).
    with: With,
}

/// What an emit stores besides its events, in the same transaction.
#[derive(Default, Clone)]
struct With {
    /// The run's terminal status.
    end: Option<RunEnd>,
    /// A task's new state (its completion or failure, with the events that report it).
    task: Option<TaskRecord>,
}

impl With {
    fn closes_batch(&self) -> bool {
        self.end.is_some() || self.task.is_some()
    }
}

/// ISO-8601 UTC with milliseconds, the contract's time format.
pub fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Emitter {
    pub fn new(
        run_id: &str,
        project_id: &str,
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                run_id: run_id.to_string(),
                project_id: project_id.to_string(),
                store,
                bus,
                pending: Mutex::new(Pending::default()),
                appends: AtomicU64::new(0),
            }),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// Append calls (commits) made so far.
    pub fn appends(&self) -> u64 {
        self.inner.appends.load(Ordering::Relaxed)
    }

    pub async fn emit(&self, kind: EventType, data: Value) -> Result<Event, StoreError> {
        let mut events = self.emit_all(vec![NewEvent::new(kind, data)]).await?;
        events
            .pop()
            .ok_or(StoreError::Corrupt("append returned no event".into()))
    }

    /// Several events in one transaction (one durable write), published in order; returns once
    /// they are stored and published.
    pub async fn emit_all(&self, events: Vec<NewEvent>) -> Result<Vec<Event>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (tx, rx) = oneshot::channel();
        self.inner.enqueue(events, Some(tx), With::default());
        rx.await
            .map_err(|_| StoreError::Corrupt("the event writer stopped".into()))?
    }

    /// Events and the task state they report, in one transaction: a task is never completed
    /// (or failed) in the store without its events, nor the other way round.
    pub async fn emit_with_task(
        &self,
        events: Vec<NewEvent>,
        task: TaskRecord,
    ) -> Result<Vec<Event>, StoreError> {
        let (tx, rx) = oneshot::channel();
        let with = With {
            end: None,
            task: Some(task),
        };
        self.inner.enqueue(events, Some(tx), with);
        rx.await
            .map_err(|_| StoreError::Corrupt("the event writer stopped".into()))?
    }

    /// The run's last event, stored in one transaction with its terminal status (`end`,
    /// written after the event): whoever reads the run finished can read this event too.
    pub async fn emit_final(
        &self,
        kind: EventType,
        data: Value,
        end: RunEnd,
    ) -> Result<Event, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner.enqueue(
            vec![NewEvent::new(kind, data)],
            Some(tx),
            With {
                end: Some(end),
                task: None,
            },
        );
        rx.await
            .map_err(|_| StoreError::Corrupt("the event writer stopped".into()))??
            .pop()
            .ok_or(StoreError::Corrupt("append returned no event".into()))
    }

    /// Queues an event behind everything emitted before it and returns at once: for reports
    /// (progress) whose caller has nothing to do with the stored event. A failure to store it
    /// is logged; a store that fails will fail the next awaited emit too.
    pub fn emit_detached(&self, kind: EventType, data: Value) {
        self.inner
            .enqueue(vec![NewEvent::new(kind, data)], None, With::default());
    }

    /// Resolves once everything emitted before the call is stored and published.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        self.inner.enqueue(Vec::new(), Some(tx), With::default());
        let _ = rx.await;
    }
}

impl Inner {
    fn enqueue(self: &Arc<Self>, events: Vec<NewEvent>, reply: Option<Reply>, with: With) {
        let start = {
            let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if reply.is_none() && p.events >= MAX_DETACHED_WAITING {
                p.dropped += 1;
                return;
            }
            p.events += events.len();
            p.queue.push_back(Queued {
                events,
                reply,
                with,
            });
            !std::mem::replace(&mut p.writing, true)
        };
        if start {
            tokio::spawn(self.clone().drain());
        }
    }

    /// Writes batches until the queue is empty, then steps down (under the lock, so an emit
    /// racing with the last batch either lands in it or starts a new writer).
    async fn drain(self: Arc<Self>) {
        loop {
            let batch = {
                let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
                if p.queue.is_empty() {
                    p.writing = false;
                    return;
                }
                let mut batch = Vec::new();
                let mut n = 0;
                while let Some(front) = p.queue.front() {
                    if !batch.is_empty() && n + front.events.len() > MAX_EVENTS_PER_APPEND {
                        break;
                    }
                    n += front.events.len();
                    let ends = front.with.closes_batch();
                    batch.extend(p.queue.pop_front());
                    if ends {
                        // A terminal status or a task state closes its batch: it is written
                        // with its events.
                        break;
                    }
                }
                p.events -= n;
                if p.dropped > 0 && p.events < MAX_DETACHED_WAITING {
                    // One line per episode, not one per dropped report.
                    tracing::warn!(run = %self.run_id, dropped = p.dropped, "the event log fell behind: progress reports were dropped");
                    p.dropped = 0;
                }
                batch
            };
            self.write(batch).await;
        }
    }

    /// One append for the whole batch; if it fails, each queued emit is retried alone so every
    /// caller gets its own result and one bad emit fails alone.
    async fn write(&self, mut batch: Vec<Queued>) {
        let counts: Vec<usize> = batch.iter().map(|q| q.events.len()).collect();
        let with = batch.last().map(|q| q.with.clone()).unwrap_or_default();
        let all: Vec<NewEvent> = batch
            .iter_mut()
            .flat_map(|q| std::mem::take(&mut q.events))
            .collect();
        if all.is_empty() && !with.closes_batch() {
            for q in batch {
                reply(q.reply, Ok(Vec::new()));
            }
            return;
        }
        let failure = match self.append(&all, &with).await {
            Ok(stored) => {
                let mut stored = stored.into_iter();
                for (q, n) in batch.into_iter().zip(counts) {
                    self.deliver(q.reply, stored.by_ref().take(n).collect());
                }
                return;
            }
            Err(e) => e,
        };
        // Detached reports that could not be stored: logged once for the batch.
        let mut lost = 0;
        let mut last_error = failure.to_string();
        if batch.len() == 1 {
            match batch.pop().and_then(|q| q.reply) {
                Some(tx) => {
                    let _ = tx.send(Err(failure));
                }
                None => lost = all.len(),
            }
        } else {
            let mut all = all.into_iter();
            for (q, n) in batch.into_iter().zip(counts) {
                let events: Vec<NewEvent> = all.by_ref().take(n).collect();
                if events.is_empty() {
                    reply(q.reply, Ok(Vec::new()));
                    continue;
                }
                match (self.append(&events, &q.with).await, q.reply) {
                    (Ok(stored), to) => self.deliver(to, stored),
                    (Err(e), Some(tx)) => {
                        let _ = tx.send(Err(e));
                    }
                    (Err(e), None) => {
                        lost += n;
                        last_error = e.to_string();
                    }
                }
            }
        }
        if lost > 0 {
            tracing::warn!(run = %self.run_id, events = lost, error = %last_error, "progress reports could not be stored");
        }
    }

    async fn append(&self, events: &[NewEvent], with: &With) -> Result<Vec<Event>, StoreError> {
        self.appends.fetch_add(1, Ordering::Relaxed);
        let ts = now_iso();
        match with {
            With { end: Some(end), .. } => {
                self.store
                    .append_final(&self.run_id, events, &ts, end)
                    .await
            }
            With {
                task: Some(task), ..
            } => {
                self.store
                    .append_with_task(&self.run_id, events, &ts, task)
                    .await
            }
            _ => self.store.append_events(&self.run_id, events, &ts).await,
        }
    }

    /// Publishes one emit's stored events in order, then answers its caller. A detached emit's
    /// events go to the bus without a copy (they are the bulk of a busy run's events).
    fn deliver(&self, to: Option<Reply>, stored: Vec<Event>) {
        match to {
            None => {
                for event in stored {
                    self.bus.publish(&self.project_id, Arc::new(event));
                }
            }
            Some(tx) => {
                for event in &stored {
                    self.bus.publish(&self.project_id, Arc::new(event.clone()));
                }
                let _ = tx.send(Ok(stored));
            }
        }
    }
}

/// The caller may have gone away (a cancelled task): its events are stored all the same.
fn reply(to: Option<Reply>, result: Result<Vec<Event>, StoreError>) {
    if let Some(tx) = to {
        let _ = tx.send(result);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::server::realtime::bus::{EventReceiver, InProcessBus};
    use crate::server::store::sqlite::SqliteStore;
    use serde_json::json;
    use std::future::Future;
    use std::task::Poll;

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<dyn Store>,
        bus: Arc<InProcessBus>,
    }

    async fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
            .await
            .unwrap();
        for sql in [
            "INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ('u', 'u@x', 'x', 'free', '')",
            "INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES ('p', 'u', 'p', '{}', 0, '', '')",
            "INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES ('r', 'p', 'u', 'x', 'running', 0, '')",
        ] {
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
        Fixture {
            _dir: dir,
            store: Arc::new(store),
            bus: Arc::new(InProcessBus::new()),
        }
    }

    impl Fixture {
        fn emitter(&self, run: &str) -> Emitter {
            Emitter::new(run, "p", self.store.clone(), self.bus.clone())
        }
    }

    /// The `n` of every event published so far, in bus order, with its `seq`.
    fn published(rx: &mut EventReceiver) -> Vec<(u64, u64)> {
        let mut got = Vec::new();
        while let Ok(item) = rx.try_recv() {
            got.push((item.event.seq, item.event.data["n"].as_u64().unwrap()));
        }
        got
    }

    fn progress(n: u64) -> NewEvent {
        NewEvent::new(EventType::TaskProgress, json!({ "n": n }))
    }

    /// Detached and awaited emits interleaved: stored and published in emission order with
    /// `seq` 1, 2, 3…; everything queued while no writer ran shares one commit.
    #[tokio::test]
    async fn emits_keep_their_order_and_what_piles_up_shares_a_commit() {
        let f = fixture().await;
        let mut rx = f.bus.subscribe_run("r");
        let emitter = f.emitter("r");
        // On this one-thread runtime the writer cannot start before the test awaits.
        for n in 1..=100 {
            emitter.emit_detached(EventType::TaskProgress, json!({ "n": n }));
        }
        let stored = emitter
            .emit_all(vec![progress(101), progress(102)])
            .await
            .unwrap();
        assert_eq!(stored.iter().map(|e| e.seq).collect::<Vec<_>>(), [101, 102]);
        assert_eq!(emitter.appends(), 1, "103 queued events, one commit");
        emitter.emit_detached(EventType::TaskProgress, json!({ "n": 103 }));
        let last = emitter
            .emit(EventType::TaskProgress, json!({ "n": 104 }))
            .await
            .unwrap();
        assert_eq!(last.seq, 104);
        let expect: Vec<(u64, u64)> = (1..=104).map(|n| (n, n)).collect();
        assert_eq!(published(&mut rx), expect);
        let log = f.store.events_after("r", 0, 1000).await.unwrap();
        assert_eq!(
            log.iter()
                .map(|e| (e.seq, e.data["n"].as_u64().unwrap()))
                .collect::<Vec<_>>(),
            expect
        );
    }

    /// A lone event is written at once, not held back for company.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_event_is_written_at_once() {
        let f = fixture().await;
        let emitter = f.emitter("r");
        for n in 1..=3 {
            let e = emitter
                .emit(EventType::TaskProgress, json!({ "n": n }))
                .await
                .unwrap();
            assert_eq!(e.seq, n);
            assert_eq!(emitter.appends(), n);
        }
    }

    /// A failed batch is retried emit by emit: each awaited caller gets its own error and the
    /// writer keeps going.
    #[tokio::test]
    async fn a_failing_batch_gives_each_caller_its_own_error() {
        let f = fixture().await;
        let ghost = f.emitter("ghost");
        ghost.emit_detached(EventType::TaskProgress, json!({ "n": 1 }));
        ghost.emit_detached(EventType::TaskProgress, json!({ "n": 2 }));
        let result = ghost.emit(EventType::TaskProgress, json!({ "n": 3 })).await;
        assert!(
            matches!(result, Err(StoreError::NotFound("run"))),
            "{result:?}"
        );
        // One failed batch, then one retry per queued emit.
        assert_eq!(ghost.appends(), 4);
        // The emitter still works for its next caller (and a healthy run is unaffected).
        assert!(ghost
            .emit(EventType::TaskProgress, json!({}))
            .await
            .is_err());
        let ok = f
            .emitter("r")
            .emit(EventType::TaskProgress, json!({ "n": 1 }))
            .await
            .unwrap();
        assert_eq!(ok.seq, 1);
    }

    /// A caller that goes away after emitting (a cancelled task) strands nobody: its event is
    /// stored, and the ones queued behind it too.
    #[tokio::test]
    async fn a_caller_that_goes_away_strands_nobody() {
        let f = fixture().await;
        let emitter = f.emitter("r");
        // Polled exactly once, the emit has queued its event and waits for the database; then
        // its caller drops it. (A spawned task aborted after a yield raced with its commit.)
        let mut gone = Box::pin(emitter.emit(EventType::TaskProgress, json!({ "n": 1 })));
        let first = std::future::poll_fn(|cx| Poll::Ready(gone.as_mut().poll(cx))).await;
        assert!(
            first.is_pending(),
            "an emit waits for its commit: {first:?}"
        );
        drop(gone);
        let next = emitter
            .emit(EventType::TaskProgress, json!({ "n": 2 }))
            .await
            .unwrap();
        assert_eq!(next.seq, 2);
        let log = f.store.events_after("r", 0, 10).await.unwrap();
        assert_eq!(log.len(), 2);
    }

    /// Detached events beyond the bound are dropped, not buffered without limit; awaited emits
    /// are never dropped.
    #[tokio::test]
    async fn detached_events_beyond_the_bound_are_dropped() {
        let f = fixture().await;
        let emitter = f.emitter("r");
        for n in 0..MAX_DETACHED_WAITING as u64 + 5 {
            emitter.emit_detached(EventType::TaskProgress, json!({ "n": n }));
        }
        let last = emitter
            .emit(EventType::TaskProgress, json!({ "n": 0 }))
            .await
            .unwrap();
        assert_eq!(last.seq, MAX_DETACHED_WAITING as u64 + 1);
        emitter.flush().await;
        assert_eq!(
            f.store.last_seq("r").await.unwrap(),
            MAX_DETACHED_WAITING as u64 + 1
        );
    }
}
