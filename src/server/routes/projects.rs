//! Projects and their canvas: create, list (with each project's latest run), read, rename,
//! delete, save the canvas with an optimistic version check, and browse the canvas history.
//! Another user's project is answered exactly like a missing one (404).

use super::{Access, RouteTable};
use crate::server::auth::CurrentUser;
use crate::server::error::ApiError;
use crate::server::limits::Tier;
use crate::server::security::{input, ValidJson};
use crate::server::state::AppState;
use crate::server::store::projects::{CanvasVersionInfo, LastRun, ProjectRecord, ProjectWrite};
use crate::server::store::StoreError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use youmeyou_core::canvas::{validate_canvas, CanvasLimits};
use youmeyou_core::model::Canvas;

/// Versions listed by `GET …/canvas/versions`.
const VERSIONS_LISTED: u32 = 100;

pub fn routes() -> RouteTable {
    RouteTable::new()
        .post("/api/projects", Access::User, create)
        .get("/api/projects", Access::User, list)
        .get("/api/projects/{id}", Access::User, get_one)
        .patch("/api/projects/{id}", Access::User, rename)
        .delete("/api/projects/{id}", Access::User, delete)
        .put("/api/projects/{id}/canvas", Access::User, save_canvas)
        .get(
            "/api/projects/{id}/canvas/versions",
            Access::User,
            list_versions,
        )
        .get(
            "/api/projects/{id}/canvas/versions/{version}",
            Access::User,
            get_version,
        )
}

#[derive(Deserialize)]
pub struct NameBody {
    pub name: String,
}

/// The contract's project JSON.
pub fn project_json(project: &ProjectRecord, last_run: Option<&LastRun>) -> Value {
    json!({
        "id": project.id,
        "name": project.name,
        "canvas": project.canvas,
        "createdAt": project.created_at,
        "updatedAt": project.updated_at,
        "lastRun": last_run.map(|r| json!({"id": r.id, "status": r.status, "createdAt": r.created_at})),
    })
}

fn version_json(v: &CanvasVersionInfo) -> Value {
    json!({"version": v.version, "runId": v.run_id, "createdAt": v.created_at})
}

/// The project if it exists and belongs to `user`; 404 otherwise (never 403, so ids of other
/// users' projects cannot be probed).
pub async fn owned_project(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
) -> Result<ProjectRecord, ApiError> {
    match state.store.get_project(id).await? {
        Some(p) if p.owner_id == user.id => Ok(p),
        _ => Err(ApiError::NotFound("project")),
    }
}

async fn user_tier(state: &AppState, user: &CurrentUser) -> Result<Tier, ApiError> {
    state
        .quotas
        .tier_of(&user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("this account no longer exists".into()))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ValidJson(body): ValidJson<NameBody>,
) -> Result<Response, ApiError> {
    let name = input::project_name(&body.name)?;
    let tier = user_tier(&state, &user).await?;
    let max = state.quotas.tier_limits(tier).max_projects;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let project = ProjectRecord {
        id: uuid::Uuid::new_v4().to_string(),
        owner_id: user.id.clone(),
        name,
        canvas: Canvas::default(),
        created_at: now.clone(),
        updated_at: now,
    };
    match state.store.create_project(&project, max).await? {
        ProjectWrite::Done => Ok((
            StatusCode::CREATED,
            Json(json!({"project": project_json(&project, None)})),
        )
            .into_response()),
        _ => Err(ApiError::Rule {
            code: "project_limit",
            message: format!(
                "You have {max} projects, the most the {tier} tier allows; delete one first."
            ),
            retry_after: None,
        }),
    }
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Value>, ApiError> {
    let projects = state.store.list_projects(&user.id).await?;
    let items: Vec<Value> = projects
        .iter()
        .map(|(p, last)| project_json(p, last.as_ref()))
        .collect();
    Ok(Json(json!({"projects": items})))
}

async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = owned_project(&state, &user, &id).await?;
    let last = state.store.last_run(&project.id).await?;
    Ok(Json(
        json!({"project": project_json(&project, last.as_ref())}),
    ))
}

async fn rename(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<NameBody>,
) -> Result<Json<Value>, ApiError> {
    let name = input::project_name(&body.name)?;
    let project = state
        .store
        .rename_project(&id, &user.id, &name)
        .await?
        .ok_or(ApiError::NotFound("project"))?;
    let last = state.store.last_run(&project.id).await?;
    Ok(Json(
        json!({"project": project_json(&project, last.as_ref())}),
    ))
}

async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.store.delete_project(&id, &user.id).await? {
        ProjectWrite::Done => Ok(StatusCode::NO_CONTENT),
        ProjectWrite::RunActive => Err(ApiError::Conflict {
            code: "run_in_progress",
            message: "A run of this project is queued or running; cancel it or wait, then delete."
                .into(),
        }),
        _ => Err(ApiError::NotFound("project")),
    }
}

/// Canvas rule violations: size limits are 413, the rest 422, each with the core's code.
fn canvas_error(e: youmeyou_core::canvas::CanvasError) -> ApiError {
    let message = format!("The canvas was not saved: {e}.");
    if e.is_too_large() {
        ApiError::TooLarge {
            code: e.code(),
            message,
        }
    } else {
        ApiError::Rule {
            code: e.code(),
            message,
            retry_after: None,
        }
    }
}

async fn save_canvas(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    ValidJson(canvas): ValidJson<Canvas>,
) -> Result<Json<Value>, ApiError> {
    let project = owned_project(&state, &user, &id).await?;
    validate_canvas(&canvas, &CanvasLimits::default()).map_err(canvas_error)?;
    // The version this write stores: its serialised size counts against the quota.
    let adding = serde_json::to_vec(&canvas).map_or(0, |v| v.len() as u64);
    state.quotas.make_room(&user.id, adding).await?;
    match state
        .store
        .save_canvas(&project.id, &canvas, Some(canvas.version), None)
        .await
    {
        Ok(stored) => Ok(Json(json!({"canvas": stored}))),
        Err(StoreError::Conflict(message)) => Err(ApiError::Conflict {
            code: "version_conflict",
            message: format!("The canvas changed since you loaded it: {message}."),
        }),
        Err(e) => Err(e.into()),
    }
}

async fn list_versions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project = owned_project(&state, &user, &id).await?;
    let versions = state
        .store
        .list_canvas_versions(&project.id, VERSIONS_LISTED)
        .await?;
    Ok(Json(json!({
        "versions": versions.iter().map(version_json).collect::<Vec<_>>()
    })))
}

async fn get_version(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let project = owned_project(&state, &user, &id).await?;
    let version: u64 = version.parse().map_err(|_| {
        ApiError::bad_request("invalid_version", "The version must be a whole number.")
    })?;
    let (canvas, info) = state
        .store
        .get_canvas_version(&project.id, version)
        .await?
        .ok_or(ApiError::NotFound("canvas version"))?;
    let mut body = version_json(&info);
    body["canvas"] = json!(canvas);
    Ok(Json(body))
}
