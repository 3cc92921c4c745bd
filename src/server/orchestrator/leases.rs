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
            let mut last_renewed = Instant::now();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = renew.tick() => this.renew(&metrics, &mut last_renewed).await,
                    _ = sweep.tick() => this.sweep(&metrics).await,
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
        let priority = match self.store.user_by_id(&run.owner_id).await {
            Ok(Some(u)) if u.tier == Tier::Premium => Priority::Premium,
            _ => Priority::Free,
        };
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
