//! Runs: start one on a project, read its snapshot, cancel it, browse and download its files,
//! and edit a step while it runs (impact analysis, then the confirmed modification).

use crate::server::auth::{tokens, CurrentUser, RunViewer};
use crate::server::cluster::commands::{self, RunCommand};
use crate::server::error::ApiError;
use crate::server::limits::quotas;
use crate::server::orchestrator::{snapshot, Priority};
use crate::server::routes::{Access, RouteTable};
use crate::server::security::input;
use crate::server::security::json::ValidJson;
use crate::server::state::AppState;
use crate::server::store::runs::{RunAdmission, RunRecord, RunRef};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> RouteTable {
    RouteTable::new()
        .post("/api/projects/{id}/runs", Access::User, create_run)
        .get("/api/runs/{id}", Access::RunViewer, get_run)
        .post("/api/runs/{id}/cancel", Access::User, cancel_run)
        .get("/api/runs/{id}/files", Access::RunViewer, list_files)
        .get("/api/runs/{id}/files/{*path}", Access::RunViewer, get_file)
        .get("/api/runs/{id}/archive.zip", Access::RunViewer, archive)
        .post(
            "/api/runs/{id}/tasks/{task_id}/impact",
            Access::User,
            impact,
        )
        .post(
            "/api/runs/{id}/tasks/{task_id}/modifications",
            Access::User,
            modify,
        )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptBody {
    pub prompt: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModifyBody {
    pub prompt: String,
    pub confirm_token: String,
}

/// Scheme and host the client used, for the absolute stream URLs of the 202 answer.
fn origin(headers: &HeaderMap) -> (String, String) {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1:3000")
        .to_string();
    let tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    (if tls { "https" } else { "http" }.to_string(), host)
}

/// Room a run needs to start: what a large plan's files and canvas versions take (its files
/// are capped per task and plan; see docs/LIMITS.md).
const RUN_STORAGE_RESERVE: u64 = 1024 * 1024;

async fn create_run(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<PromptBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let prompt = input::prompt(&body.prompt)?;
    match state.store.project_owner(&project_id).await? {
        Some(owner) if owner == user.id => {}
        _ => return Err(ApiError::NotFound("project")),
    }
    // A run writes files and canvas versions: a full storage refuses it before it starts.
    state
        .quotas
        .make_room(&user.id, RUN_STORAGE_RESERVE)
        .await?;
    // Repeated fatal LLM failures (bad key, unknown model, budget) pause the user's new runs.
    if let Some(llm) = &state.llm {
        llm.check_user(&user.id)?;
    }
    let tier = state.quotas.tier_of(&user.id).await?.unwrap_or_default();
    let priority = if tier == crate::server::limits::Tier::Premium {
        Priority::Premium
    } else {
        Priority::Free
    };
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let now = chrono::Utc::now();
    let record = RunRecord {
        id: run_id.clone(),
        project_id: project_id.clone(),
        owner_id: user.id.clone(),
        prompt,
        status: "queued".into(),
        intent: None,
        path: None,
        path_reason: None,
        context: None,
        summary: None,
        error: None,
        last_seq: 0,
        created_at: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        started_at: None,
        finished_at: None,
    };
    let busy = |active: String| {
        ApiError::Conflict {
        code: "run_active",
        message: format!(
            "A run ({active}) is already queued or running on this project; wait for it to finish or cancel it."
        ),
    }
    };
    // Runs per day and concurrent runs of the owner's tier. One instance counts in memory (the
    // permit lives as long as the run); several count in the shared database, in the same
    // transaction as the insert, so two instances cannot both admit past the tier's limits.
    let permit: Option<Box<dyn std::any::Any + Send>> = if state.store.shared() {
        let limits = state.quotas.tier_limits(tier);
        let day = record.created_at[..10].to_string();
        match state
            .store
            .admit_run(&record, limits.concurrent_runs, limits.runs_per_day, &day)
            .await?
        {
            RunAdmission::Created => None,
            RunAdmission::ProjectBusy { run_id } => return Err(busy(run_id)),
            RunAdmission::DailyLimit { started } => {
                return Err(quotas::daily_limit_error(tier, started, &limits))
            }
            RunAdmission::ConcurrentLimit { active } => {
                return Err(quotas::concurrent_limit_error(tier, active, &limits))
            }
        }
    } else {
        if let Some(active) = state.store.active_run_of_project(&project_id).await? {
            return Err(busy(active));
        }
        let permit = state.quotas.begin_run(&user.id, tier).await?;
        state.store.create_run(&record).await?;
        Some(Box::new(permit))
    };
    let token = state
        .keys
        .issue(&tokens::build_claims(
            &user.id,
            &run_id,
            now.timestamp(),
            uuid::Uuid::new_v4().simple().to_string(),
            Some(&user.session),
        ))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot sign a build token: {e}")))?;
    if state.store.shared() {
        // The shared queue, in order: this instance takes the next queued run now if it has
        // a free slot (with no queue, this one), and the others are told a run waits.
        state.orchestrator.dispatch().await;
        commands::wake_all(&state, crate::server::cluster::relay::QUEUE_CHANNEL).await;
    } else {
        state
            .orchestrator
            .start(&run_id, &project_id, priority, permit);
    }
    let (scheme, host) = origin(&headers);
    let ws_scheme = if scheme == "https" { "wss" } else { "ws" };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "buildId": run_id,
            "websocketUrl": format!("{ws_scheme}://{host}/api/ws/runs/{run_id}"),
            "eventsUrl": format!("{scheme}://{host}/events/{run_id}"),
            "buildToken": token,
            "buildTokenExpiresIn": tokens::BUILD_TTL_SECS,
        })),
    ))
}

/// The run if `viewer` may read it, else 404 (never reveal that another user's run exists).
async fn readable_run(
    state: &AppState,
    viewer: &RunViewer,
    run_id: &str,
) -> Result<RunRef, ApiError> {
    match state.store.run_ref(run_id).await? {
        Some(run) if viewer.0.can_read_run(&run.owner_id, &run.id) => Ok(run),
        _ => Err(ApiError::NotFound("run")),
    }
}

async fn owned_run(state: &AppState, user: &CurrentUser, run_id: &str) -> Result<RunRef, ApiError> {
    match state.store.run_ref(run_id).await? {
        Some(run) if run.owner_id == user.id => Ok(run),
        _ => Err(ApiError::NotFound("run")),
    }
}

async fn get_run(
    State(state): State<AppState>,
    viewer: RunViewer,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    readable_run(&state, &viewer, &run_id).await?;
    snapshot::build(state.store.as_ref(), &run_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("run"))
}

async fn cancel_run(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    let run = owned_run(&state, &user, &run_id).await?;
    if matches!(run.status.as_str(), "completed" | "failed" | "cancelled") {
        return Err(ApiError::Conflict {
            code: "run_finished",
            message: format!("The run has already ended ({}).", run.status),
        });
    }
    // On the instance that drives the run, or through it (cluster::commands).
    Ok(commands::dispatch(&state, &run, RunCommand::Cancel).await)
}

async fn list_files(
    State(state): State<AppState>,
    viewer: RunViewer,
    Path(run_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    readable_run(&state, &viewer, &run_id).await?;
    let files = state.store.list_files(&run_id).await?;
    Ok(Json(json!({ "files": files })))
}

/// A stored path: relative, forward slashes, no `..`, no empty or dot segments.
fn safe_path(path: &str) -> Result<&str, ApiError> {
    let bad = path.is_empty()
        || path.len() > 512
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(ApiError::bad_request(
            "invalid_path",
            "The file path must be relative, without '..' or empty segments.",
        ));
    }
    Ok(path)
}

fn content_type(language: &str) -> &'static str {
    match language {
        "json" => "application/json; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

async fn get_file(
    State(state): State<AppState>,
    viewer: RunViewer,
    Path((run_id, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    readable_run(&state, &viewer, &run_id).await?;
    let path = safe_path(&path)?;
    let file = state
        .store
        .get_file(&run_id, path)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                content_type(&file.language).to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        file.content,
    )
        .into_response())
}

async fn archive(
    State(state): State<AppState>,
    viewer: RunViewer,
    Path(run_id): Path<String>,
) -> Result<Response, ApiError> {
    readable_run(&state, &viewer, &run_id).await?;
    let files = state.store.all_files(&run_id).await?;
    let bytes = tokio::task::spawn_blocking(move || zip_files(&files))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let name = format!(
        "youmeyou-{}.zip",
        run_id.chars().take(8).collect::<String>()
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "application/zip")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(Body::from(bytes))
        .map_err(|e| ApiError::Internal(e.into()))
}

fn zip_files(files: &[youmeyou_core::model::GeneratedFile]) -> Result<Vec<u8>, ApiError> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for file in files {
        // Stored paths were validated when generated; skip anything that is not safe anyway.
        if safe_path(&file.path).is_err() {
            continue;
        }
        writer
            .start_file(file.path.as_str(), options)
            .map_err(|e| ApiError::Internal(e.into()))?;
        writer
            .write_all(file.content.as_bytes())
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    let cursor = writer.finish().map_err(|e| ApiError::Internal(e.into()))?;
    Ok(cursor.into_inner())
}

async fn impact(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((run_id, task_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<PromptBody>,
) -> Result<Response, ApiError> {
    let prompt = input::prompt(&body.prompt)?;
    let run = owned_run(&state, &user, &run_id).await?;
    let command = RunCommand::Impact {
        task_id,
        prompt: prompt.to_string(),
    };
    Ok(commands::dispatch(&state, &run, command).await)
}

async fn modify(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((run_id, task_id)): Path<(String, String)>,
    ValidJson(body): ValidJson<ModifyBody>,
) -> Result<Response, ApiError> {
    let prompt = input::prompt(&body.prompt)?;
    let run = owned_run(&state, &user, &run_id).await?;
    let command = RunCommand::Modify {
        task_id,
        prompt: prompt.to_string(),
        confirm_token: body.confirm_token,
    };
    Ok(commands::dispatch(&state, &run, command).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_odd_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/./b",
            "a\\b",
            "x\0y",
        ] {
            assert!(safe_path(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "docker-compose.yml",
            "auth-service/src/main.rs",
            ".env.example",
        ] {
            assert!(safe_path(good).is_ok(), "{good:?} refused");
        }
    }
}
