//! The event bus: the orchestrator publishes events after persisting them; transports subscribe
//! per run or per project. A trait, so that a Redis pub/sub bus can fan out across instances in
//! the multi-instance mode; `InProcessBus` serves one process.
//!
//! What travels is a [`Published`]: the event, the instant it was published (for the delivery
//! latency metric) and its JSON envelope, serialised once and shared by every WebSocket
//! connection. Channels are bounded. A subscriber that falls behind gets `Lagged` and must
//! re-read the gap from the store, so slowness never costs memory or loses events. A channel
//! exists only while it has subscribers: the last [`EventReceiver`] to drop removes it.

use crate::server::metrics::Metrics;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Instant;
use tokio::sync::broadcast;
use youmeyou_core::model::Event;

pub use tokio::sync::broadcast::error::{RecvError, TryRecvError};

/// Capacity of one run's or project's channel (events buffered for the slowest subscriber).
/// Small on purpose: every transport drains its receiver into its own bounded queue at once, and
/// a subscriber that still lags re-reads the store. Each slot costs ~40 bytes per live channel.
pub const CHANNEL_CAPACITY: usize = 256;

/// An event as the bus carries it.
#[derive(Debug)]
pub struct Published {
    pub event: Arc<Event>,
    /// When `publish` was called: the start of the delivery-latency measurement.
    pub at: Instant,
    json: OnceLock<Utf8Bytes>,
}

impl Published {
    pub fn new(event: Arc<Event>) -> Self {
        Self {
            event,
            at: Instant::now(),
            json: OnceLock::new(),
        }
    }

    /// The envelope `{seq, runId, type, ts, data}` as JSON text, serialised on first use and
    /// then shared (cloning `Utf8Bytes` is a reference-count increment).
    pub fn json(&self) -> &Utf8Bytes {
        self.json.get_or_init(|| envelope_json(&self.event))
    }
}

/// The JSON envelope of a stored event.
pub fn envelope_json(event: &Event) -> Utf8Bytes {
    // Serialising a plain struct with a JSON value cannot fail; fall back to a valid object.
    Utf8Bytes::from(serde_json::to_string(event).unwrap_or_else(|_| "{}".to_string()))
}

pub type BusItem = Arc<Published>;

type Topics = Mutex<HashMap<String, broadcast::Sender<BusItem>>>;

/// A subscription to one run's or one project's events.
#[derive(Debug)]
pub struct EventReceiver {
    rx: Option<broadcast::Receiver<BusItem>>,
    /// Where to remove the channel from when this was its last subscriber.
    topic: Option<(Weak<Topics>, String)>,
}

impl EventReceiver {
    /// A receiver without cleanup (for other bus implementations and tests).
    pub fn new(rx: broadcast::Receiver<BusItem>) -> Self {
        Self {
            rx: Some(rx),
            topic: None,
        }
    }

    /// The next event; `Err(Lagged(n))` when `n` events were missed (re-read the store), or
    /// `Err(Closed)` when the bus is gone.
    pub async fn recv(&mut self) -> Result<BusItem, RecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => Err(RecvError::Closed),
        }
    }

    pub fn try_recv(&mut self) -> Result<BusItem, TryRecvError> {
        match self.rx.as_mut() {
            Some(rx) => rx.try_recv(),
            None => Err(TryRecvError::Closed),
        }
    }
}

impl Drop for EventReceiver {
    fn drop(&mut self) {
        let Some((topics, key)) = self.topic.take() else {
            return;
        };
        let Some(topics) = topics.upgrade() else {
            return;
        };
        let mut map = topics.lock().unwrap_or_else(|p| p.into_inner());
        // Drop our receiver under the lock, so a concurrent subscribe sees a consistent count.
        drop(self.rx.take());
        if map.get(&key).is_some_and(|s| s.receiver_count() == 0) {
            map.remove(&key);
        }
    }
}

pub trait EventBus: Send + Sync + 'static {
    /// Delivers a persisted event to the run's and the project's subscribers. Call it right
    /// after `store.append_events`, in `seq` order for each run.
    fn publish(&self, project_id: &str, event: Arc<Event>);
    fn subscribe_run(&self, run_id: &str) -> EventReceiver;
    fn subscribe_project(&self, project_id: &str) -> EventReceiver;
}

pub struct InProcessBus {
    runs: Arc<Topics>,
    projects: Arc<Topics>,
    metrics: Arc<Metrics>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    /// A bus counting into a private registry (tests).
    pub fn new() -> Self {
        Self::with_metrics(Arc::new(Metrics::new()))
    }

    /// A bus that counts published events (per type) into `metrics`.
    pub fn with_metrics(metrics: Arc<Metrics>) -> Self {
        Self {
            runs: Arc::default(),
            projects: Arc::default(),
            metrics,
        }
    }

    fn subscribe(topics: &Arc<Topics>, key: &str) -> EventReceiver {
        let mut map = topics.lock().unwrap_or_else(|p| p.into_inner());
        let rx = map
            .entry(key.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        EventReceiver {
            rx: Some(rx),
            topic: Some((Arc::downgrade(topics), key.to_string())),
        }
    }

    fn send(topics: &Topics, key: &str, item: &BusItem) {
        let map = topics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = map.get(key) {
            // An error only means nobody listens; the last receiver's drop removes the channel.
            let _ = sender.send(item.clone());
        }
    }

    /// Whether anyone on this instance watches the run (the relay drops runs nobody watches).
    pub fn has_run_channel(&self, run_id: &str) -> bool {
        self.runs
            .lock()
            .map(|m| m.contains_key(run_id))
            .unwrap_or(false)
    }

    pub fn has_project_channel(&self, project_id: &str) -> bool {
        self.projects
            .lock()
            .map(|m| m.contains_key(project_id))
            .unwrap_or(false)
    }

    /// Number of live channels (for metrics and leak tests).
    pub fn channel_count(&self) -> usize {
        let runs = self.runs.lock().map(|m| m.len()).unwrap_or(0);
        let projects = self.projects.lock().map(|m| m.len()).unwrap_or(0);
        runs + projects
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, project_id: &str, event: Arc<Event>) {
        self.metrics.published(event.kind);
        let item = Arc::new(Published::new(event));
        Self::send(&self.runs, &item.event.run_id, &item);
        Self::send(&self.projects, project_id, &item);
    }

    fn subscribe_run(&self, run_id: &str) -> EventReceiver {
        Self::subscribe(&self.runs, run_id)
    }

    fn subscribe_project(&self, project_id: &str) -> EventReceiver {
        Self::subscribe(&self.projects, project_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use youmeyou_core::model::EventType;

    fn event(run: &str, seq: u64) -> Arc<Event> {
        Arc::new(Event {
            seq,
            run_id: run.into(),
            kind: EventType::TaskProgress,
            ts: "2026-01-01T00:00:00Z".into(),
            data: serde_json::json!({}),
        })
    }

    #[tokio::test]
    async fn run_and_project_subscribers_receive_in_order() {
        let bus = InProcessBus::new();
        let mut run = bus.subscribe_run("r1");
        let mut project = bus.subscribe_project("p1");
        let mut other = bus.subscribe_run("r2");
        for seq in 1..=3 {
            bus.publish("p1", event("r1", seq));
        }
        for seq in 1..=3 {
            assert_eq!(run.recv().await.map(|e| e.event.seq).ok(), Some(seq));
            assert_eq!(project.recv().await.map(|e| e.event.seq).ok(), Some(seq));
        }
        assert!(
            other.try_recv().is_err(),
            "another run's subscriber got an event"
        );
    }

    #[tokio::test]
    async fn channels_without_subscribers_are_dropped() {
        let bus = InProcessBus::new();
        let a = bus.subscribe_run("r1");
        let b = bus.subscribe_run("r1");
        let p = bus.subscribe_project("p1");
        assert_eq!(bus.channel_count(), 2);
        drop(a);
        assert_eq!(bus.channel_count(), 2, "r1 still has a subscriber");
        drop(b);
        drop(p);
        assert_eq!(bus.channel_count(), 0);
        bus.publish("p1", event("r1", 1));
        assert_eq!(bus.channel_count(), 0);
    }

    #[test]
    fn the_envelope_is_serialised_once_with_the_contract_names() {
        let p = Published::new(event("r1", 7));
        let a = p.json().clone();
        let b = p.json().clone();
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr());
        let v: serde_json::Value = serde_json::from_str(a.as_str()).unwrap_or_default();
        assert_eq!(v["seq"], 7);
        assert_eq!(v["runId"], "r1");
        assert_eq!(v["type"], "taskProgress");
    }
}
