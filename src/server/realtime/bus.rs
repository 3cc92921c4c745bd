//! The event bus: the orchestrator publishes events after persisting them; transports subscribe
//! per run or per project. A trait, so that a Redis pub/sub bus can fan out across instances in
//! the multi-instance mode; `InProcessBus` serves one process.
//!
//! Channels are bounded. A subscriber that falls behind gets `Lagged` from tokio's broadcast and
//! must re-read the gap from the store, so slowness never costs memory or loses events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use youmeyou_core::model::Event;

/// Capacity of one run's or project's channel (events buffered for the slowest subscriber).
pub const CHANNEL_CAPACITY: usize = 1024;

pub type EventReceiver = broadcast::Receiver<Arc<Event>>;

pub trait EventBus: Send + Sync + 'static {
    /// Delivers a persisted event to the run's and the project's subscribers.
    fn publish(&self, project_id: &str, event: Arc<Event>);
    fn subscribe_run(&self, run_id: &str) -> EventReceiver;
    fn subscribe_project(&self, project_id: &str) -> EventReceiver;
}

#[derive(Default)]
pub struct InProcessBus {
    runs: Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>,
    projects: Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>,
}

impl InProcessBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn subscribe(map: &Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>, key: &str) -> EventReceiver {
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_string())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    fn send(map: &Mutex<HashMap<String, broadcast::Sender<Arc<Event>>>>, key: &str, event: &Arc<Event>) {
        let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = map.get(key) {
            if sender.send(event.clone()).is_err() {
                // Nobody listens any more: drop the channel so idle runs cost nothing.
                map.remove(key);
            }
        }
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
        Self::send(&self.runs, &event.run_id, &event);
        Self::send(&self.projects, project_id, &event);
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
            assert_eq!(run.recv().await.map(|e| e.seq).ok(), Some(seq));
            assert_eq!(project.recv().await.map(|e| e.seq).ok(), Some(seq));
        }
        assert!(other.try_recv().is_err(), "another run's subscriber got an event");
    }

    #[tokio::test]
    async fn channels_without_subscribers_are_dropped() {
        let bus = InProcessBus::new();
        drop(bus.subscribe_run("r1"));
        drop(bus.subscribe_project("p1"));
        bus.publish("p1", event("r1", 1));
        assert_eq!(bus.channel_count(), 0);
    }
}
