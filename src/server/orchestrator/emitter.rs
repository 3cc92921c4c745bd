//! The one way a run's events leave the orchestrator: persisted first (gap-free `seq`), then
//! published on the bus. Appends of one run are serialised by a lock held across the write and
//! the publish, so subscribers see `seq` in order.

use crate::server::realtime::bus::EventBus;
use crate::server::store::{Store, StoreError};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Mutex;
use youmeyou_core::model::{Event, EventType, NewEvent};

pub struct Emitter {
    run_id: String,
    project_id: String,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    lock: Mutex<()>,
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
            run_id: run_id.to_string(),
            project_id: project_id.to_string(),
            store,
            bus,
            lock: Mutex::new(()),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub async fn emit(&self, kind: EventType, data: Value) -> Result<Event, StoreError> {
        let mut events = self.emit_all(vec![NewEvent::new(kind, data)]).await?;
        events
            .pop()
            .ok_or(StoreError::Corrupt("append returned no event".into()))
    }

    /// Several events in one transaction (one durable write), published in order.
    pub async fn emit_all(&self, events: Vec<NewEvent>) -> Result<Vec<Event>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let _guard = self.lock.lock().await;
        let stored = self
            .store
            .append_events(&self.run_id, &events, &now_iso())
            .await?;
        for event in &stored {
            self.bus.publish(&self.project_id, Arc::new(event.clone()));
        }
        Ok(stored)
    }
}
