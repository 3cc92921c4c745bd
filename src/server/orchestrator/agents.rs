//! The seam between the scheduler and whatever does a task's work: the built-in engine, an LLM,
//! or a test double. An agent gets one task with everything it may read, reports progress
//! through `signals`, honours `cancel`, and returns artefacts; it never writes to the store
//! itself (the scheduler does), so stopping it at any await point is safe.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use youmeyou_core::engine::context::CanvasContext;
use youmeyou_core::model::{Canvas, CanvasPatch, EventType, GeneratedFile, IntentAnalysis, Task};

/// A domain event an agent wants on the stream (e.g. `bottlenecksIdentified`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainEvent {
    pub kind: EventType,
    pub data: Value,
}

/// What a task produced. Persisted with the task, so a resumed run can feed it to dependents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutput {
    /// The `taskCompleted` result text, e.g. "Architecture designed with 4 microservices".
    pub summary: String,
    #[serde(default)]
    pub patch: CanvasPatch,
    #[serde(default)]
    pub files: Vec<GeneratedFile>,
    #[serde(default)]
    pub events: Vec<DomainEvent>,
    /// Artefact keys produced (for impact analysis and dependents).
    #[serde(default)]
    pub produced: Vec<String>,
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cost_usd: f64,
}

/// Live reports from a running task; the scheduler turns them into events.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskSignal {
    Progress {
        message: String,
        /// 0..=100
        percent: u8,
    },
    IterationStarted {
        iteration: u32,
        focus: String,
    },
    IterationProgress {
        iteration: u32,
        progress: String,
        files_generated: u32,
    },
}

pub struct AgentJob {
    pub run_id: String,
    pub task: Task,
    pub intent: Arc<IntentAnalysis>,
    pub context: Arc<CanvasContext>,
    /// The project's canvas when the task started.
    pub canvas: Arc<Canvas>,
    /// Outputs of the task's dependencies (direct and transitive), by task id.
    pub upstream: Vec<(String, Arc<TaskOutput>)>,
    pub signals: mpsc::Sender<TaskSignal>,
    pub cancel: CancellationToken,
    /// Time scale (seconds per estimated second); 0 = as fast as possible.
    pub pace: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// Worth another attempt (timeouts, rate limits, invalid model output).
    #[error("{message}")]
    Retryable { code: String, message: String },
    /// Will fail again: the task fails with this code and suggested action.
    #[error("{message}")]
    Fatal {
        code: String,
        message: String,
        action: String,
    },
    #[error("stopped")]
    Cancelled,
}

impl AgentError {
    pub fn code(&self) -> &str {
        match self {
            AgentError::Retryable { code, .. } | AgentError::Fatal { code, .. } => code,
            AgentError::Cancelled => "cancelled",
        }
    }
}

#[async_trait]
pub trait Agents: Send + Sync + 'static {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError>;
}
