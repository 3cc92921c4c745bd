//! The built-in agents: the core engine's rules and templates behind the `Agents` seam, paced
//! so that a task lasts `estimatedTime × pace` seconds with its progress messages spread over
//! that time (pace 0 = as fast as possible). Stops at the next message when cancelled.

use super::agents::{AgentError, AgentJob, Agents, DomainEvent, TaskOutput, TaskSignal};
use async_trait::async_trait;
use std::time::Duration;
use youmeyou_core::engine::agents::{self as engine, AgentInput, DependencyOutput};
use youmeyou_core::engine::progress;

#[derive(Debug, Default, Clone, Copy)]
pub struct BuiltinAgents;

/// Waits `pause` (unless pacing is off), or returns early when the task is stopped.
async fn beat(job: &AgentJob, pause: Duration) -> Result<(), AgentError> {
    if job.cancel.is_cancelled() {
        return Err(AgentError::Cancelled);
    }
    if pause.is_zero() {
        tokio::task::yield_now().await;
        return Ok(());
    }
    tokio::select! {
        () = tokio::time::sleep(pause) => Ok(()),
        () = job.cancel.cancelled() => Err(AgentError::Cancelled),
    }
}

async fn signal(job: &AgentJob, signal: TaskSignal) -> Result<(), AgentError> {
    job.signals
        .send(signal)
        .await
        .map_err(|_| AgentError::Cancelled)
}

#[async_trait]
impl Agents for BuiltinAgents {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError> {
        let steps = progress::progress_steps(&job.task);
        let iterations = progress::iterations(&job.task);
        let beats = steps.len() + iterations.len() * 2 + 1;
        let total =
            Duration::from_secs_f64((f64::from(job.task.estimated_time) * job.pace).max(0.0));
        let pause = total / beats as u32;
        let mut done = 0usize;
        for step in &steps {
            beat(&job, pause).await?;
            done += 1;
            let percent = (done * 100 / beats).min(99) as u8;
            signal(
                &job,
                TaskSignal::Progress {
                    message: step.clone(),
                    percent,
                },
            )
            .await?;
        }
        for (i, iteration) in iterations.iter().enumerate() {
            beat(&job, pause).await?;
            signal(
                &job,
                TaskSignal::IterationStarted {
                    iteration: i as u32 + 1,
                    focus: iteration.focus.clone(),
                },
            )
            .await?;
            beat(&job, pause).await?;
            signal(
                &job,
                TaskSignal::IterationProgress {
                    iteration: i as u32 + 1,
                    progress: iteration.progress.clone(),
                    files_generated: iteration.files_generated,
                },
            )
            .await?;
        }
        let dependencies: Vec<DependencyOutput> = job
            .upstream
            .iter()
            .map(|(task_id, output)| DependencyOutput {
                task_id: task_id.clone(),
                produced: output.produced.clone(),
                result: output.result.clone(),
                files: output.files.iter().map(|f| f.path.clone()).collect(),
            })
            .collect();
        let input = AgentInput {
            task: &job.task,
            intent: &job.intent,
            context: &job.context,
            canvas: &job.canvas,
            dependencies: &dependencies,
        };
        let output = engine::run_agent(&input).map_err(|e| AgentError::Fatal {
            code: e.code().to_string(),
            message: e.to_string(),
            action: "Edit the step's prompt to say what it should generate, then try again.".into(),
        })?;
        beat(&job, pause).await?;
        Ok(TaskOutput {
            summary: output.summary,
            patch: output.patch,
            files: output.files,
            events: output
                .events
                .into_iter()
                .map(|e| DomainEvent {
                    kind: e.kind,
                    data: e.data,
                })
                .collect(),
            produced: output.produced,
            result: output.result,
            ..Default::default()
        })
    }
}
