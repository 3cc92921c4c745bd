//! The orchestrator: turns a prompt into a run — intent analysis → context extraction → route →
//! plan → parallel execution → summary — streams every step as persisted events, applies
//! mid-run step edits, and resumes unfinished runs after a restart. It owns no HTTP: routes
//! call it; it calls the store, the bus, the planner and the agents.

pub mod agents;
pub mod builtin;
pub mod cpu;
pub mod editing;
pub mod emitter;
pub mod leases;
pub mod pipeline;
pub mod planning;
pub mod queue;
pub mod scheduler;
pub mod settings;
pub mod snapshot;
pub mod testing;

use crate::server::error::ApiError;
use crate::server::realtime::bus::EventBus;
use crate::server::store::Store;
use agents::Agents;
use emitter::Emitter;
use planning::Planner;
use queue::RunQueue;
use scheduler::Control;
use settings::Settings;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// A run that is being driven by this process.
struct ActiveRun {
    control: mpsc::Sender<Control>,
    emitter: Arc<Emitter>,
    /// Serialises edits of one run (validation and application must not interleave).
    edits: Arc<tokio::sync::Mutex<()>>,
}

pub struct Orchestrator {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) bus: Arc<dyn EventBus>,
    pub(crate) settings: Settings,
    pub(crate) planner: Arc<dyn Planner>,
    pub(crate) agents: Arc<dyn Agents>,
    pub(crate) queue: Arc<RunQueue>,
    active: Mutex<HashMap<String, ActiveRun>>,
    tracker: TaskTracker,
    pub(crate) confirmations: editing::Confirmations,
    /// Cancelled when shutdown begins: the lease keeper stops sweeping.
    pub(crate) stopping: tokio_util::sync::CancellationToken,
    /// This orchestrator, for tasks that start runs from `&self`.
    me: std::sync::Weak<Orchestrator>,
    /// Wakes the shared queue's dispatcher (orchestrator/leases.rs): a run was queued, one
    /// ended here, or (through Redis) another instance queued one.
    pub(crate) queue_wakeups: Arc<tokio::sync::Notify>,
}

/// How this instance came to drive a run, for its lease (shared store only).
#[derive(Debug, Clone)]
pub enum Lease {
    /// A run this instance created or resumes: take its lease first, or leave it to the
    /// instance that holds it.
    Acquire,
    /// A queued run this instance took from the shared queue (the lease is held).
    Claimed,
    /// A run this instance's sweeper took over (the lease is held): tell its watchers.
    TakenOver {
        previous_owner: Option<String>,
        completed_tasks: usize,
    },
}

/// How a new run enters the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Premium,
    Free,
}

impl Orchestrator {
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        settings: Settings,
        planner: Arc<dyn Planner>,
        agents: Arc<dyn Agents>,
    ) -> Arc<Self> {
        Self::with_queue_wakeups(
            store,
            bus,
            settings,
            planner,
            agents,
            Arc::new(tokio::sync::Notify::new()),
        )
    }

    /// [`new`](Self::new), with the wake-up the Redis relay also signals when another
    /// instance queues a run.
    pub fn with_queue_wakeups(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        settings: Settings,
        planner: Arc<dyn Planner>,
        agents: Arc<dyn Agents>,
        queue_wakeups: Arc<tokio::sync::Notify>,
    ) -> Arc<Self> {
        let queue = RunQueue::new(settings.max_concurrent_runs);
        Arc::new_cyclic(|me| Self {
            store,
            bus,
            settings,
            planner,
            agents,
            queue,
            active: Mutex::new(HashMap::new()),
            tracker: TaskTracker::new(),
            confirmations: editing::Confirmations::default(),
            stopping: tokio_util::sync::CancellationToken::new(),
            me: me.clone(),
            queue_wakeups,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, ActiveRun>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts driving a stored run (new or resumed) in the background.
    /// `hold` (e.g. the owner's run-quota permit) is kept until the run ends, then dropped.
    pub fn start(
        self: &Arc<Self>,
        run_id: &str,
        project_id: &str,
        priority: Priority,
        hold: Option<Box<dyn std::any::Any + Send>>,
    ) {
        self.start_with_lease(run_id, project_id, priority, hold, Lease::Acquire);
    }

    /// [`start`](Self::start), saying how the run's lease is (or is to be) held. On a shared
    /// store the run is driven only under its lease, and the lease is handed back when the
    /// driver stops (the run's end, a shutdown), so another instance can go on at once.
    pub fn start_with_lease(
        self: &Arc<Self>,
        run_id: &str,
        project_id: &str,
        priority: Priority,
        hold: Option<Box<dyn std::any::Any + Send>>,
        lease: Lease,
    ) {
        if self.is_active(run_id) {
            return;
        }
        let (control_tx, control_rx) = mpsc::channel(16);
        let emitter = Arc::new(Emitter::new(
            run_id,
            project_id,
            self.store.clone(),
            self.bus.clone(),
        ));
        self.active().insert(
            run_id.to_string(),
            ActiveRun {
                control: control_tx,
                emitter: emitter.clone(),
                edits: Arc::new(tokio::sync::Mutex::new(())),
            },
        );
        let this = self.clone();
        let run_id = run_id.to_string();
        let span = crate::server::telemetry::run_span(&run_id, &self.settings.instance_id);
        self.tracker.spawn(crate::server::telemetry::run_traced(span, async move {
            let shared = this.store.shared();
            if shared && !this.take_lease(&run_id, &emitter, lease).await {
                this.active().remove(&run_id);
                return;
            }
            let result =
                pipeline::drive(this.clone(), &run_id, emitter, control_rx, priority).await;
            drop(hold);
            match result {
                Ok(()) => {}
                Err(crate::server::store::StoreError::LeaseLost(_)) => {
                    tracing::warn!(run = %run_id, "stopped driving the run: another instance took it over");
                }
                Err(error) => {
                    tracing::error!(run = %run_id, %error, "run stopped on an internal error")
                }
            }
            if shared {
                let instance = &this.settings.instance_id;
                if let Err(error) = this.store.release_lease(&run_id, instance).await {
                    tracing::warn!(run = %run_id, %error, "could not hand the run's lease back; it lapses instead");
                }
            }
            this.active().remove(&run_id);
            // A slot is free here: the shared queue may hand out its next run.
            this.queue_wakeups.notify_one();
        }));
    }

    /// Takes (or announces) the run's lease before driving it; false when another instance
    /// holds it or the store cannot be reached (the sweeper tries again later).
    async fn take_lease(&self, run_id: &str, emitter: &Emitter, lease: Lease) -> bool {
        let instance = &self.settings.instance_id;
        match lease {
            Lease::Acquire => match self
                .store
                .acquire_lease(run_id, instance, self.settings.lease_ttl)
                .await
            {
                Ok(Some(_)) => true,
                Ok(None) => {
                    tracing::info!(run = %run_id, "another instance drives this run");
                    false
                }
                Err(error) => {
                    tracing::warn!(run = %run_id, %error, "could not take the run's lease");
                    false
                }
            },
            Lease::Claimed => true,
            Lease::TakenOver {
                previous_owner,
                completed_tasks,
            } => {
                let data = serde_json::json!({
                    "instance": instance,
                    "previousInstance": previous_owner,
                    "completedTasks": completed_tasks,
                });
                match emitter
                    .emit(youmeyou_core::model::EventType::RunResumed, data)
                    .await
                {
                    Ok(_) => true,
                    Err(error) => {
                        tracing::warn!(run = %run_id, %error, "lost the run right after taking it over");
                        false
                    }
                }
            }
        }
    }

    /// Stops driving a run without writing anything more (its lease was lost): its tasks are
    /// stopped; the instance that took it over goes on.
    pub async fn abandon(&self, run_id: &str) {
        let sender = self.active().get(run_id).map(|a| a.control.clone());
        if let Some(tx) = sender {
            let _ = tx.send(Control::Suspend).await;
        }
    }

    /// Runs this instance drives right now.
    pub fn active_count(&self) -> usize {
        self.active().len()
    }

    pub fn active_run_ids(&self) -> Vec<String> {
        self.active().keys().cloned().collect()
    }

    /// Whether this process is driving the run.
    pub fn is_active(&self, run_id: &str) -> bool {
        self.active().contains_key(run_id)
    }

    pub(crate) fn emitter_of(&self, run_id: &str) -> Option<Arc<Emitter>> {
        self.active().get(run_id).map(|a| a.emitter.clone())
    }

    pub(crate) fn edit_lock_of(&self, run_id: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        self.active().get(run_id).map(|a| a.edits.clone())
    }

    pub(crate) async fn send(&self, run_id: &str, control: Control) -> Result<(), ApiError> {
        let sender = self.active().get(run_id).map(|a| a.control.clone());
        match sender {
            Some(tx) => tx.send(control).await.map_err(|_| ApiError::Rule {
                code: "run_finished",
                message: "The run has already finished.".into(),
                retry_after: None,
            }),
            None => Err(ApiError::Rule {
                code: "run_finished",
                message: "The run has already finished.".into(),
                retry_after: None,
            }),
        }
    }

    /// Asks a run to stop; its tasks are stopped and it ends as `cancelled`.
    pub async fn cancel(&self, run_id: &str) -> Result<(), ApiError> {
        self.send(run_id, Control::Cancel).await
    }

    /// Picks up every run a previous process left unfinished (after a crash or a restart).
    /// On a shared store only the runs whose lease lapsed or was handed back are taken (the
    /// others have a live owner); the lease keeper's sweeps take the rest as their leases lapse.
    pub async fn resume_unfinished(self: &Arc<Self>) -> Result<usize, ApiError> {
        if self.store.shared() {
            let instance = &self.settings.instance_id;
            let taken = self
                .store
                .take_orphaned_runs(instance, self.settings.lease_ttl, u32::MAX >> 1, false)
                .await?;
            let count = taken.len();
            for run in taken {
                self.take_over(run).await;
            }
            return Ok(count);
        }
        let runs = self.store.unfinished_runs().await?;
        let count = runs.len();
        for run in runs {
            tracing::info!(run = %run.id, status = %run.status, "resuming run");
            // A resumed run keeps its owner's place class in the queue.
            let premium = self
                .store
                .user_by_id(&run.owner_id)
                .await?
                .is_some_and(|u| u.tier == crate::server::limits::Tier::Premium);
            let priority = if premium {
                Priority::Premium
            } else {
                Priority::Free
            };
            self.start(&run.id, &run.project_id, priority, None);
        }
        Ok(count)
    }

    /// Suspends every run (they stay `running` in the store and resume on the next start) and
    /// waits for their drivers to checkpoint.
    pub async fn shutdown(&self) {
        self.stopping.cancel();
        let senders: Vec<mpsc::Sender<Control>> =
            self.active().values().map(|a| a.control.clone()).collect();
        for tx in senders {
            let _ = tx.send(Control::Suspend).await;
        }
        self.tracker.close();
        self.tracker.wait().await;
    }
}
