//! Operations endpoints: `GET /health` (the process runs) and `GET /ready` (its database
//! answers; 503 otherwise).

use crate::server::state::AppState;
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use serde_json::{json, Value};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // Redis only signals: while it is down this instance still serves (delivery reads the
    // event log, limits use a local bound), so it stays ready and says it is degraded.
    let redis = state
        .redis
        .as_ref()
        .map(|r| if r.is_up() { "ok" } else { "degraded" });
    match tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({
                "status": "ready",
                "database": "ok",
                "backend": state.store.backend(),
                "redis": redis,
                "instance": state.orchestrator.settings().instance_id,
            })),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database error");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "unavailable", "database": "error", "message": "The database does not answer; check the data directory and the log."}),
                ),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({"status": "unavailable", "database": "timeout", "message": "The database did not answer within 2 s."}),
            ),
        ),
    }
}
