//! Run ownership by lease (multi-instance mode). Each unfinished run is owned by at most one
//! instance: `runs.lease_owner`, `runs.lease_epoch` and `runs.lease_until` (milliseconds since
//! the epoch, by the database's clock, so instances' clocks never matter). The owner renews its
//! leases; an instance that takes a run bumps the epoch, and every write the owner makes
//! afterwards is fenced by the epoch it holds: it commits only while the run's epoch is still
//! that one, so an owner that was paused or partitioned past its lease cannot write a single
//! event after another instance took the run.

use super::runs::RunRecord;
use super::StoreError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// The leases this instance holds, run id → epoch. The store adds the epoch to every fenced
/// write of that run (event appends and task, file and status updates).
#[derive(Default, Debug)]
pub struct HeldLeases(RwLock<HashMap<String, i64>>);

impl HeldLeases {
    /// The epoch to fence writes of `run_id` with; `None` when this instance holds no lease
    /// on it (a single-instance store, or a run not started under a lease).
    pub fn fence(&self, run_id: &str) -> Option<i64> {
        self.0.read().ok().and_then(|m| m.get(run_id).copied())
    }

    pub fn hold(&self, run_id: &str, epoch: i64) {
        if let Ok(mut m) = self.0.write() {
            m.insert(run_id.to_string(), epoch);
        }
    }

    pub fn forget(&self, run_id: &str) {
        if let Ok(mut m) = self.0.write() {
            m.remove(run_id);
        }
    }

    pub fn held(&self) -> Vec<(String, i64)> {
        self.0
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.0.read().map(|m| m.len()).unwrap_or(0)
    }
}

/// A run this instance took over, with the epoch it now holds.
#[derive(Debug, Clone)]
pub struct TakenRun {
    pub run: RunRecord,
    pub epoch: i64,
    /// Who held it before (`None` when nobody did: a run queued or never leased).
    pub previous_owner: Option<String>,
}

/// The `data` of a `queuePosition` event, as the single-instance queue spells it.
pub fn queue_event_data(
    position: usize,
    length: usize,
    average_secs: f64,
    slots: usize,
) -> serde_json::Value {
    let slots = slots.max(1) as f64;
    serde_json::json!({
        "position": position,
        "queueLength": length,
        "estimatedWait": ((position as f64 / slots).ceil() * average_secs).round(),
    })
}

pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// The leases this instance holds (the store fences writes with them).
    fn leases(&self) -> &HeldLeases;

    /// Takes the lease of `run_id` for `instance` if nobody holds a live one (never leased,
    /// released, expired, or already ours): bumps the epoch, sets `lease_until` to the
    /// database's now + `ttl` and remembers the epoch for fencing. `None` when another
    /// instance holds it or the run is finished.
    async fn acquire_lease(
        &self,
        run_id: &str,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<i64>, StoreError>;

    /// Extends every lease this instance holds by `ttl` from the database's now, where the
    /// epoch is still ours. Returns the runs whose lease was lost (forgotten here, so their
    /// writes are refused from now on).
    async fn renew_leases(&self, instance: &str, ttl: Duration) -> Result<Vec<String>, StoreError>;

    /// Takes up to `limit` started runs (not `queued`: the shared queue hands those out,
    /// `claim_queued`) whose lease expired or was released (`FOR UPDATE SKIP LOCKED` where the database has it, so
    /// two sweepers never take the same run), oldest first. With `force`, live leases too:
    /// the embedded store's only instance takes, at start, what a killed process still held.
    async fn take_orphaned_runs(
        &self,
        instance: &str,
        ttl: Duration,
        limit: u32,
        force: bool,
    ) -> Result<Vec<TakenRun>, StoreError>;

    /// Takes the next run of the shared queue for `instance`: the oldest `queued` run whose
    /// lease is free or lapsed, premium owners' runs first (the order of the single-instance
    /// queue). Each run is taken by one instance (`SKIP LOCKED`).
    async fn claim_queued(
        &self,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<TakenRun>, StoreError>;

    /// Reports the shared queue: for every `queued` run nobody drives yet whose place changed
    /// since it was last told, appends a `queuePosition` event (`{position, queueLength,
    /// estimatedWait}`; `estimatedWait` from `average_secs` per run over `slots` slots). One
    /// transaction under one lock, so positions are told in order whoever reports. Returns the
    /// stored events with their project, for the bus.
    async fn report_queue(
        &self,
        ts: &str,
        average_secs: f64,
        slots: usize,
    ) -> Result<Vec<(String, youmeyou_core::model::Event)>, StoreError>;

    /// Cancels a `queued` run nobody drives (a free or lapsed lease): status `cancelled` and a
    /// final `runCancelled` event in one transaction. `None` when it is not such a run (an
    /// instance drives it: ask that one).
    async fn cancel_queued(
        &self,
        run_id: &str,
        ts: &str,
    ) -> Result<Option<Vec<youmeyou_core::model::Event>>, StoreError>;

    /// Hands the lease of a run back (its end, or a graceful shutdown): `lease_until` becomes
    /// the past, so another instance may take it at once.
    async fn release_lease(&self, run_id: &str, instance: &str) -> Result<(), StoreError>;
}
