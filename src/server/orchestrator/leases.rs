//! The lease keeper of a shared store (multi-instance mode): renews the leases of the runs this
//! instance drives, stops driving a run whose lease was lost, and sweeps for runs whose owner
//! died or handed them back, taking them over from their last completed task. One task per
//! instance; it stops when the orchestrator shuts down, so an instance handing its runs back
//! never takes them again on its way out.

use super::{Lease, Orchestrator, Priority};
use crate::server::limits::Tier;
use crate::server::metrics::Metrics;
use crate::server::store::lease::TakenRun;
use std::sync::Arc;
use std::time::Instant;
use youmeyou_core::model::TaskStatus;

/// Most runs one sweep takes; the rest wait for the next sweep (or another instance).
const SWEEP_BATCH: u32 = 32;
/// How often the shared queue is looked at without a wake-up.
const DISPATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl Orchestrator {
    /// Starts the lease keeper when the store is shared; a no-op for the embedded store.
    pub fn start_lease_keeper(self: &Arc<Self>, metrics: Arc<Metrics>) {
        if !self.store.shared() {
            return;
        }
        let this = self.clone();
        let stop = self.stopping.clone();
        tokio::spawn(async move {
            let mut renew = tokio::time::interval(this.settings.lease_renew);
            let mut sweep = tokio::time::interval(this.settings.sweep_interval);
            renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut dispatch = tokio::time::interval(DISPATCH_EVERY);
            dispatch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_renewed = Instant::now();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = renew.tick() => this.renew(&metrics, &mut last_renewed).await,
                    _ = sweep.tick() => this.sweep(&metrics).await,
                    _ = dispatch.tick() => this.dispatch().await,
                    () = this.queue_wakeups.notified() => this.dispatch().await,
                }
            }
        });
    }

    async fn renew(&self, metrics: &Metrics, last_renewed: &mut Instant) {
        let instance = &self.settings.instance_id;
        match self
            .store
            .renew_leases(instance, self.settings.lease_ttl)
            .await
        {
            Ok(lost) => {
                *last_renewed = Instant::now();
                for run_id in lost {
                    metrics
                        .counter(
                            "youmeyou_leases_lost_total",
                            "Runs this instance stopped driving because another instance took them over.",
                            &[],
                        )
                        .inc();
                    tracing::warn!(run = %run_id, "lease lost: another instance took the run over");
                    self.abandon(&run_id).await;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not renew run leases");
                // Past the TTL another instance may have taken any of them: stop writing.
                if last_renewed.elapsed() >= self.settings.lease_ttl {
                    for (run_id, _) in self.store.leases().held() {
                        self.store.leases().forget(&run_id);
                        tracing::warn!(run = %run_id, "lease lapsed while the database was unreachable; stopping the run here");
                        self.abandon(&run_id).await;
                    }
                }
            }
        }
        metrics
            .gauge(
                "youmeyou_leases_held",
                "Runs whose lease this instance holds.",
                &[],
            )
            .set(self.store.leases().count() as i64);
    }

    async fn sweep(&self, metrics: &Metrics) {
        if self.stopping.is_cancelled() {
            return;
        }
        let instance = &self.settings.instance_id;
        let taken = match self
            .store
            .take_orphaned_runs(instance, self.settings.lease_ttl, SWEEP_BATCH, false)
            .await
        {
            Ok(taken) => taken,
            Err(error) => {
                tracing::debug!(%error, "lease sweep skipped");
                return;
            }
        };
        for run in taken {
            metrics
                .counter(
                    "youmeyou_run_takeovers_total",
                    "Runs this instance took over from an instance that died or handed them back.",
                    &[],
                )
                .inc();
            self.take_over(run).await;
        }
    }

    /// The shared queue (PostgreSQL): while this instance has a free run slot, it takes the
    /// next queued run in the cluster's order (premium first, then oldest) and drives it; then
    /// the runs still queued are told their places (`queuePosition`, one reporter at a time).
    pub async fn dispatch(&self) {
        if self.stopping.is_cancelled() {
            return;
        }
        let instance = &self.settings.instance_id;
        while self.active_count() < self.settings.max_concurrent_runs {
            match self
                .store
                .claim_queued(instance, self.settings.lease_ttl)
                .await
            {
                Ok(Some(taken)) => {
                    let priority = self.priority_of(&taken.run.owner_id).await;
                    let Some(this) = self.me.upgrade() else {
                        return;
                    };
                    this.start_with_lease(
                        &taken.run.id,
                        &taken.run.project_id,
                        priority,
                        None,
                        Lease::Claimed,
                    );
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%error, "could not read the shared queue");
                    return;
                }
            }
        }
        self.report_queue().await;
    }

    /// A run was added to the shared queue here: look at it now.
    pub fn queued(&self) {
        self.queue_wakeups.notify_one();
    }

    /// Tells queued runs nobody drives yet their place in the shared queue.
    pub(crate) async fn report_queue(&self) {
        let durations = self
            .store
            .recent_run_durations(20)
            .await
            .unwrap_or_default();
        let average = if durations.is_empty() {
            60.0
        } else {
            durations.iter().sum::<f64>() / durations.len() as f64
        };
        let ts = super::emitter::now_iso();
        match self
            .store
            .report_queue(&ts, average, self.settings.max_concurrent_runs)
            .await
        {
            Ok(told) => {
                for (project, event) in told {
                    self.bus.publish(&project, Arc::new(event));
                }
            }
            Err(error) => tracing::debug!(%error, "could not report the shared queue"),
        }
    }

    async fn priority_of(&self, owner_id: &str) -> Priority {
        match self.store.user_by_id(owner_id).await {
            Ok(Some(u)) if u.tier == Tier::Premium => Priority::Premium,
            _ => Priority::Free,
        }
    }

    /// Drives a run this instance just took the lease of.
    pub(crate) async fn take_over(&self, taken: TakenRun) {
        let TakenRun {
            run,
            previous_owner,
            ..
        } = taken;
        let completed_tasks = match self.store.load_tasks(&run.id).await {
            Ok(tasks) => tasks
                .iter()
                .filter(|t| t.task.status == TaskStatus::Completed)
                .count(),
            Err(_) => 0,
        };
        let priority = self.priority_of(&run.owner_id).await;
        tracing::info!(run = %run.id, previous = ?previous_owner, completed_tasks, "taking the run over");
        let Some(this) = self.me.upgrade() else {
            return;
        };
        this.start_with_lease(
            &run.id,
            &run.project_id,
            priority,
            None,
            Lease::TakenOver {
                previous_owner,
                completed_tasks,
            },
        );
    }
}
