//! Commands for a run's owner. A cancel, an impact analysis or an edit of a run that another
//! instance drives is stored (`run_commands`), signalled to every instance through Redis (the
//! owner also looks every [`BACKSTOP`] in case the signal is lost or Redis is down), executed by
//! the owner exactly as it would execute its own request, and answered through the store: the
//! client gets the same status and body from any instance (impact, 422 codes, cooldown, the
//! edit limit, which the owner alone enforces).

use crate::server::error::ApiError;
use crate::server::orchestrator::Orchestrator;
use crate::server::state::AppState;
use crate::server::store::commands::StoredCommand;
use crate::server::store::runs::RunRef;
use crate::server::store::Store;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How often an owner looks for commands without a signal.
pub const BACKSTOP: Duration = Duration::from_millis(500);
/// How long a request waits for the owner's answer (an edit waits up to 30 s for the run).
const ANSWER_WAIT: Duration = Duration::from_secs(40);
/// How often the requester looks for the answer.
const ANSWER_POLL: Duration = Duration::from_millis(15);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RunCommand {
    Cancel,
    #[serde(rename_all = "camelCase")]
    Impact {
        task_id: String,
        prompt: String,
    },
    #[serde(rename_all = "camelCase")]
    Modify {
        task_id: String,
        prompt: String,
        confirm_token: String,
    },
}

/// An answer as stored: the status and JSON body the owner would have sent.
#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    status: u16,
    body: Value,
}

/// Executes a command on this instance (which drives the run, or nobody does).
pub async fn execute(orch: &Orchestrator, run: &RunRef, command: &RunCommand) -> Response {
    let outcome: Result<(StatusCode, Value), ApiError> = async {
        match command {
            RunCommand::Cancel => {
                orch.cancel(&run.id).await?;
                Ok((StatusCode::ACCEPTED, json!({"status": "cancelling"})))
            }
            RunCommand::Impact { task_id, prompt } => {
                Ok((StatusCode::OK, orch.impact(run, task_id, prompt).await?))
            }
            RunCommand::Modify {
                task_id,
                prompt,
                confirm_token,
            } => {
                let m = orch.modify(run, task_id, prompt, confirm_token).await?;
                Ok((StatusCode::ACCEPTED, json!({ "modification": m })))
            }
        }
    }
    .await;
    match outcome {
        Ok((status, body)) => (status, Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Answers a command on a run: here when this instance drives it (or the store is not shared),
/// else through the run's owner.
pub async fn dispatch(state: &AppState, run: &RunRef, command: RunCommand) -> Response {
    if !state.store.shared() || state.orchestrator.is_active(&run.id) || is_final(&run.status) {
        return execute(&state.orchestrator, run, &command).await;
    }
    if run.status == "queued" {
        if let Some(answer) = queued(state, run, &command).await {
            return answer;
        }
    }
    match forward(state, run, &command).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// A command about a run still in the shared queue, which no instance drives yet: answered
/// here, as its owner would. `None` when an instance took the run meanwhile.
async fn queued(state: &AppState, run: &RunRef, command: &RunCommand) -> Option<Response> {
    match command {
        RunCommand::Cancel => {
            let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            match state.store.cancel_queued(&run.id, &ts).await {
                Ok(Some(events)) => {
                    for event in events {
                        state.bus.publish(&run.project_id, Arc::new(event));
                    }
                    // Positions of the runs behind it move up.
                    state.orchestrator.queued();
                    Some(
                        (StatusCode::ACCEPTED, Json(json!({"status": "cancelling"})))
                            .into_response(),
                    )
                }
                Ok(None) => None,
                Err(e) => Some(ApiError::from(e).into_response()),
            }
        }
        RunCommand::Impact { .. } | RunCommand::Modify { .. } => Some(
            ApiError::Rule {
                code: "unknown_task",
                message: "The run has no plan yet; wait for planGenerated, then edit a step."
                    .into(),
                retry_after: None,
            }
            .into_response(),
        ),
    }
}

fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled")
}

async fn forward(
    state: &AppState,
    run: &RunRef,
    command: &RunCommand,
) -> Result<Response, ApiError> {
    let stored = StoredCommand {
        id: uuid::Uuid::new_v4().simple().to_string(),
        run_id: run.id.clone(),
        body: serde_json::to_string(command).map_err(|e| ApiError::Internal(e.into()))?,
    };
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    state.store.enqueue_command(&stored, &at).await?;
    wake(state).await;
    let started = Instant::now();
    let mut checked_run = Instant::now();
    loop {
        if let Some(text) = state.store.take_command_result(&stored.id).await? {
            let answer: Answer =
                serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.into()))?;
            return Ok(respond(answer));
        }
        // The run ended (or this instance took it over) while the command waited: answer here.
        if checked_run.elapsed() >= Duration::from_millis(500) {
            checked_run = Instant::now();
            let now_local = state.orchestrator.is_active(&run.id);
            let ended = state
                .store
                .run_ref(&run.id)
                .await?
                .is_none_or(|r| is_final(&r.status));
            if (now_local || ended) && state.store.withdraw_command(&stored.id).await? {
                let current = state.store.run_ref(&run.id).await?.unwrap_or(run.clone());
                return Ok(execute(&state.orchestrator, &current, command).await);
            }
        }
        if started.elapsed() >= ANSWER_WAIT {
            if state.store.withdraw_command(&stored.id).await? {
                return Err(ApiError::Unavailable(
                    "The server running this run did not answer; nothing was changed. Try again in a few seconds.".into(),
                ));
            }
            // Taken but not answered yet: the owner is executing it; wait for its answer.
            if started.elapsed() >= ANSWER_WAIT * 2 {
                return Err(ApiError::Unavailable(
                    "The server running this run took too long to answer; check the run's events before trying again.".into(),
                ));
            }
        }
        // Waiting for another process's answer in the shared store: nothing here to await.
        tokio::time::sleep(ANSWER_POLL).await;
    }
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry = answer.body["error"]["retryAfter"].as_u64();
    let mut response = (status, Json(answer.body)).into_response();
    let says_when =
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
    if let (Some(secs), true) = (retry, says_when) {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    response
}

/// Tells every instance that a command waits (the owner takes it; the others find nothing).
async fn wake(state: &AppState) {
    wake_all(state, COMMANDS_CHANNEL).await;
}

/// Publishes a wake-up on `{prefix}{channel}` (no-op without Redis or while it is down: the
/// listeners also look on their own every fraction of a second).
pub async fn wake_all(state: &AppState, channel: &str) {
    let Some(link) = &state.redis else { return };
    if !link.is_up() {
        return;
    }
    let mut conn = link.conn();
    let sent = tokio::time::timeout(
        super::link::COMMAND_TIMEOUT,
        redis::cmd("PUBLISH")
            .arg(link.key(channel))
            .arg("1")
            .query_async::<i64>(&mut conn),
    )
    .await;
    link.mark(matches!(sent, Ok(Ok(_))));
}

/// The channel (after the prefix) that wakes owners.
pub const COMMANDS_CHANNEL: &str = "commands";

/// The owner's side: takes the commands of the runs this instance drives, when woken and every
/// [`BACKSTOP`], executes each in its own task and stores the answer.
pub fn start_worker(orch: Arc<Orchestrator>, store: Arc<dyn Store>, wakeups: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = wakeups.notified() => {}
                () = tokio::time::sleep(BACKSTOP) => {}
                () = orch.stopping.cancelled() => return,
            }
            let runs = orch.active_run_ids();
            if runs.is_empty() {
                continue;
            }
            let taken = match store
                .take_commands(&runs, &orch.settings().instance_id)
                .await
            {
                Ok(taken) => taken,
                Err(e) => {
                    tracing::debug!(error = %e, "could not read run commands");
                    continue;
                }
            };
            for command in taken {
                let (orch, store) = (orch.clone(), store.clone());
                tokio::spawn(async move { answer(&orch, store.as_ref(), command).await });
            }
        }
    });
}

async fn answer(orch: &Orchestrator, store: &dyn Store, stored: StoredCommand) {
    let response = match (
        serde_json::from_str::<RunCommand>(&stored.body),
        store.run_ref(&stored.run_id).await,
    ) {
        (Ok(command), Ok(Some(run))) => execute(orch, &run, &command).await,
        (Err(e), _) => ApiError::bad_request("invalid_command", e.to_string()).into_response(),
        (_, Ok(None)) => ApiError::NotFound("run").into_response(),
        (_, Err(e)) => ApiError::from(e).into_response(),
    };
    let status = response.status().as_u16();
    let body = match axum::body::to_bytes(response.into_body(), 1 << 20).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let text = json!({"status": status, "body": body}).to_string();
    if let Err(e) = store.finish_command(&stored.id, &text).await {
        tracing::warn!(command = %stored.id, error = %e, "could not store a command's answer");
    }
}
