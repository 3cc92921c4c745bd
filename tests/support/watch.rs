//! `Watch`: reads a run's events in order (store replay, then the bus), like a transport
//! would, so a test can wait for an event without sleeping.

use serde_json::Value;
use std::time::Duration;
use youmeyou::server::realtime::bus::EventReceiver;
use youmeyou::server::state::AppState;
use youmeyou_core::model::{Event, EventType};

/// How long a test waits for an event before it fails, naming what it saw.
const WAIT: Duration = Duration::from_secs(60);

pub struct Watch {
    state: AppState,
    run_id: String,
    rx: EventReceiver,
    pub seen: Vec<Event>,
}

impl Watch {
    /// Subscribes first, then reads the log: nothing published in between is missed.
    pub fn new(state: &AppState, run_id: &str) -> Self {
        Self {
            state: state.clone(),
            run_id: run_id.to_string(),
            rx: state.bus.subscribe_run(run_id),
            seen: Vec::new(),
        }
    }

    pub async fn catch_up(&mut self) {
        let after = self.seen.last().map_or(0, |e| e.seq);
        let events = self
            .state
            .store
            .events_after(&self.run_id, after, 100_000)
            .await
            .expect("read the event log");
        self.seen.extend(events);
    }

    /// Waits until an event matches; returns it.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            self.catch_up().await;
            if let Some(e) = self.seen.iter().find(|e| pred(e)) {
                return e.clone();
            }
            tokio::select! {
                _ = self.rx.recv() => {}
                _ = tokio::time::sleep_until(deadline) => panic!("timed out waiting for {what}; saw {:?}", self.kinds()),
            }
        }
    }

    pub async fn until_type(&mut self, kind: EventType) -> Event {
        self.until(kind.as_str(), |e| e.kind == kind).await
    }

    /// Waits for the run's end and returns its summary.
    pub async fn finished(&mut self) -> Value {
        self.until_type(EventType::ExecutionSummary).await.data
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.seen.iter().map(|e| e.kind.as_str()).collect()
    }

    pub fn of(&self, kind: EventType) -> Vec<&Event> {
        self.seen.iter().filter(|e| e.kind == kind).collect()
    }

    pub fn first(&self, kind: EventType) -> &Event {
        self.seen
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {} event; saw {:?}", kind.as_str(), self.kinds()))
    }

    pub fn index_of(&self, kind: EventType) -> usize {
        self.seen
            .iter()
            .position(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {} event; saw {:?}", kind.as_str(), self.kinds()))
    }
}
