//! `LlmAgents`: design and code tasks done by a model (`code.v1`), streamed as throttled
//! progress, validated and repaired at most twice, merged with the built-in agent's canvas
//! patch when the model changes nothing, priced, and charged to the run's budget. Other task
//! types (configuration, analysis) stay with the built-in agents.

use super::answer::{parse_code_answer, CodeAnswer};
use super::{canvas_summary, shorten, LlmRuntime};
use crate::server::orchestrator::agents::{
    AgentError, AgentJob, Agents, DomainEvent, TaskOutput, TaskSignal,
};
use crate::server::orchestrator::builtin::BuiltinAgents;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;
use youmeyou_core::engine::agents::{self as engine, AgentInput, AgentOutput, DependencyOutput};
use youmeyou_core::model::TaskType;
use youmeyou_llm::prompts::CODE_V1;
use youmeyou_llm::structured::DEFAULT_MAX_REPAIRS;
use youmeyou_llm::throttle::DEFAULT_PROGRESS_PER_SECOND;
use youmeyou_llm::{generate_validated_with, LlmError, Progress, ProgressSink, StreamEvent};

/// Longest description of the dependencies' outputs put into a prompt, in characters.
const MAX_UPSTREAM_CHARS: usize = 6000;

/// Task types a model does; the rest (configuration, analysis) use the built-in agents,
/// whose domain events (bottlenecks, scaling configuration) the UI relies on.
pub fn uses_llm(kind: TaskType) -> bool {
    matches!(
        kind,
        TaskType::CodeGeneration
            | TaskType::Architecture
            | TaskType::Database
            | TaskType::Testing
            | TaskType::Scaling
    )
}

pub struct LlmAgents {
    runtime: Arc<LlmRuntime>,
}

impl LlmAgents {
    pub fn new(runtime: Arc<LlmRuntime>) -> Self {
        Self { runtime }
    }
}

#[async_trait]
impl Agents for LlmAgents {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError> {
        if !uses_llm(job.task.kind) {
            return BuiltinAgents.run(job).await;
        }
        if job.cancel.is_cancelled() {
            return Err(AgentError::Cancelled);
        }
        let ledger = self.runtime.ledger(&job.run_id, None).await;
        let model = self.runtime.config().models.code.clone();
        progress(&job, format!("Asking {model}…"), 1);
        // The built-in agent (pure, milliseconds): artefact keys, a result dependents can
        // read, and a canvas patch for when the model changes nothing.
        let builtin = builtin_output(&job);
        let request = CODE_V1
            .request(
                &[
                    ("agent", job.task.agent.as_str()),
                    ("task_name", job.task.name.as_str()),
                    ("task_type", type_name(job.task.kind)),
                    ("task_description", job.task.description.as_str()),
                    ("dependency_outputs", &upstream_summary(&job)),
                    ("canvas_summary", &canvas_summary(&job.canvas)),
                ],
                job.task.prompt.as_str(),
            )
            .map_err(|e| AgentError::Fatal {
                code: "internal".into(),
                message: format!("prompt template: {e}"),
                action: "Report this; the prompt templates are out of step with the server.".into(),
            })?;

        let expected = expected_tokens(&job, self.runtime.config().max_tokens);
        let signals = job.signals.clone();
        let mut sink = ProgressSink::new(DEFAULT_PROGRESS_PER_SECOND, move |p: Progress<'_>| {
            if p.done {
                return;
            }
            let percent = (5 + p.estimated_tokens * 90 / expected).min(95) as u8;
            // Best effort: a full channel drops one report, the next carries the count.
            let _ = signals.try_send(TaskSignal::Progress {
                message: format!("Generating… ~{} tokens", p.estimated_tokens),
                percent,
            });
        });
        let mut on_event = |event: StreamEvent<'_>| {
            sink.event(event, tokio::time::Instant::now().into_std());
        };
        let task_id = job.task.id.clone();
        let call = generate_validated_with(
            ledger.provider(),
            request,
            |json| parse_code_answer(json, &task_id),
            DEFAULT_MAX_REPAIRS,
            &mut on_event,
        );
        // Dropping the call closes the HTTP stream; the budget releases its reservation.
        let answer = tokio::select! {
            answer = call => answer,
            () = job.cancel.cancelled() => return Err(AgentError::Cancelled),
        };
        let validated = match answer {
            Ok(v) => v,
            Err(error) => {
                let error = self.runtime.redact(error);
                self.runtime.record_failure(&ledger, &error);
                return Err(agent_error(&error));
            }
        };
        let usage = validated.usage;
        let cost_usd = self.runtime.pricing().cost_usd(&usage);
        progress(
            &job,
            format!(
                "Answer checked: {} file(s), {} output tokens",
                validated.value.files.len(),
                usage.output_tokens
            ),
            99,
        );
        let mut output = merge(&job, validated.value, builtin);
        output.input_tokens = usage.input_tokens;
        output.output_tokens = usage.output_tokens;
        output.cost_usd = cost_usd;
        if let Value::Object(map) = &mut output.result {
            map.insert(
                "llm".into(),
                json!({
                    "model": validated.completion.model,
                    "repairs": validated.repairs,
                    "inputTokens": usage.input_tokens,
                    "outputTokens": usage.output_tokens,
                    "costUsd": cost_usd,
                }),
            );
        }
        Ok(output)
    }
}

fn progress(job: &AgentJob, message: String, percent: u8) {
    let _ = job
        .signals
        .try_send(TaskSignal::Progress { message, percent });
}

/// The model's answer over the built-in agent's output: the model's summary and files; its
/// canvas changes, or the built-in patch (and that patch's domain events) when it made none.
fn merge(job: &AgentJob, answer: CodeAnswer, builtin: Option<AgentOutput>) -> TaskOutput {
    let model_canvas = answer.has_canvas_changes();
    let CodeAnswer {
        summary,
        files,
        patch,
    } = answer;
    let mut produced = job.task.outputs.clone();
    let (patch, events, result) = match builtin {
        Some(b) => {
            for key in b.produced {
                if !produced.contains(&key) {
                    produced.push(key);
                }
            }
            let result = match b.result {
                Value::Object(map) => Value::Object(map),
                Value::Null => json!({}),
                other => json!({"builtin": other}),
            };
            if model_canvas {
                (patch, Vec::new(), result)
            } else {
                let events = b
                    .events
                    .into_iter()
                    .map(|e| DomainEvent {
                        kind: e.kind,
                        data: e.data,
                    })
                    .collect();
                (b.patch, events, result)
            }
        }
        None => (patch, Vec::new(), json!({})),
    };
    let mut result = result;
    if let Value::Object(map) = &mut result {
        map.insert("summary".into(), json!(summary));
        map.insert(
            "files".into(),
            json!(files.iter().map(|f| f.path.clone()).collect::<Vec<_>>()),
        );
    }
    TaskOutput {
        summary,
        patch,
        files,
        events,
        produced,
        result,
        ..Default::default()
    }
}

fn builtin_output(job: &AgentJob) -> Option<AgentOutput> {
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
    match engine::run_agent(&input) {
        Ok(output) => Some(output),
        Err(e) => {
            tracing::debug!(task = %job.task.id, error = %e, "no built-in output to merge");
            None
        }
    }
}

/// What the dependencies produced, one line each, for the prompt.
fn upstream_summary(job: &AgentJob) -> String {
    if job.upstream.is_empty() {
        return "(none: this task depends on no other task)".into();
    }
    let mut text = String::new();
    for (task_id, output) in &job.upstream {
        let files: Vec<&str> = output
            .files
            .iter()
            .map(|f| f.path.as_str())
            .take(20)
            .collect();
        text.push_str(&format!("- {task_id}: {}", output.summary));
        if !files.is_empty() {
            text.push_str(&format!(" Files: {}.", files.join(", ")));
        }
        if !output.produced.is_empty() {
            text.push_str(&format!(" Produced: {}.", output.produced.join(", ")));
        }
        text.push('\n');
    }
    shorten(&text, MAX_UPSTREAM_CHARS)
}

fn type_name(kind: TaskType) -> &'static str {
    match kind {
        TaskType::Architecture => "ARCHITECTURE",
        TaskType::Database => "DATABASE",
        TaskType::CodeGeneration => "CODE_GENERATION",
        TaskType::Testing => "TESTING",
        TaskType::Scaling => "SCALING",
        TaskType::Configuration => "CONFIGURATION",
        TaskType::Analysis => "ANALYSIS",
    }
}

/// Tokens the answer will probably have, for the progress percentage.
fn expected_tokens(job: &AgentJob, max_tokens: u32) -> u64 {
    (u64::from(job.task.estimated_time) * 40).clamp(256, u64::from(max_tokens).max(256))
}

/// Soft provider errors are retried by the scheduler; fatal ones fail the task with the
/// provider's code and what to do about it.
pub fn agent_error(error: &LlmError) -> AgentError {
    if error.retryable() {
        AgentError::Retryable {
            code: error.code().into(),
            message: error.to_string(),
        }
    } else {
        AgentError::Fatal {
            code: error.code().into(),
            message: error.to_string(),
            action: error.suggested_action().into(),
        }
    }
}
