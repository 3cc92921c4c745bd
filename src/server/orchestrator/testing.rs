//! Agents for tests and benchmarks (compiled in, tiny): one that counts invocations per task,
//! and one that holds chosen tasks until the test releases them, so mid-run edits and crashes
//! can be staged deterministically without sleeps.

use super::agents::{AgentError, AgentJob, Agents, TaskOutput};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};

/// Counts how often each task id was run, then delegates.
pub struct CountingAgents {
    inner: Arc<dyn Agents>,
    counts: Mutex<HashMap<String, u32>>,
}

impl CountingAgents {
    pub fn new(inner: Arc<dyn Agents>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            counts: Mutex::new(HashMap::new()),
        })
    }

    pub fn count(&self, task_id: &str) -> u32 {
        self.counts
            .lock()
            .map(|m| m.get(task_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn counts(&self) -> HashMap<String, u32> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Agents for CountingAgents {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError> {
        if let Ok(mut map) = self.counts.lock() {
            *map.entry(job.task.id.clone()).or_insert(0) += 1;
        }
        self.inner.run(job).await
    }
}

/// Holds the tasks named in `held` at their start until `release(task_id)`; a test can wait
/// for a held task to be running with `entered(task_id)`.
pub struct GateAgents {
    inner: Arc<dyn Agents>,
    held: Mutex<HashMap<String, Arc<Notify>>>,
    entered: watch::Sender<Vec<String>>,
}

impl GateAgents {
    pub fn new(inner: Arc<dyn Agents>, held: &[&str]) -> Arc<Self> {
        Arc::new(Self {
            inner,
            held: Mutex::new(
                held.iter()
                    .map(|id| (id.to_string(), Arc::new(Notify::new())))
                    .collect(),
            ),
            entered: watch::channel(Vec::new()).0,
        })
    }

    /// Lets the held task go (now, or as soon as it arrives).
    pub fn release(&self, task_id: &str) {
        let gate = self.held.lock().ok().and_then(|mut m| m.remove(task_id));
        if let Some(gate) = gate {
            gate.notify_one();
        }
    }

    /// Resolves once `task_id` has reached its gate `times` times in total.
    pub async fn entered(&self, task_id: &str, times: usize) {
        let mut rx = self.entered.subscribe();
        let _ = rx
            .wait_for(|list| list.iter().filter(|t| *t == task_id).count() >= times)
            .await;
    }

    /// Holds `task_id` again on its next start (e.g. the restarted attempt after an edit).
    pub fn hold(&self, task_id: &str) {
        if let Ok(mut m) = self.held.lock() {
            m.insert(task_id.to_string(), Arc::new(Notify::new()));
        }
    }
}

#[async_trait]
impl Agents for GateAgents {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError> {
        let gate = self
            .held
            .lock()
            .ok()
            .and_then(|m| m.get(&job.task.id).cloned());
        self.entered
            .send_modify(|list| list.push(job.task.id.clone()));
        if let Some(gate) = gate {
            tokio::select! {
                () = gate.notified() => {}
                () = job.cancel.cancelled() => return Err(AgentError::Cancelled),
            }
        }
        self.inner.run(job).await
    }
}

/// An agent that does nothing but succeed: measures the scheduler alone.
pub struct TrivialAgents;

#[async_trait]
impl Agents for TrivialAgents {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError> {
        Ok(TaskOutput {
            summary: format!("{} done", job.task.name),
            ..Default::default()
        })
    }
}
