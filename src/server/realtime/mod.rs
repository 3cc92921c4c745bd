//! Real-time delivery of run events: the per-process event bus and, on top of it, the
//! WebSocket, SSE and long-polling transports. Transports never invent events: they replay the
//! persisted log and then forward what the bus carries, skipping what a client already has, so
//! every transport delivers the same gap-free sequence per run.
//!
//! Layout: `bus` (fan-out), `protocol` (client messages, close codes), `replay` (store pages +
//! snapshot hook), `limits` (knobs and connection counters), `ws`, `sse`, `poll` (transports).
//! [`routes`] is the HTTP surface; `/metrics` lives in `crate::server::metrics`.

pub mod bus;
pub mod limits;
pub mod poll;
pub mod protocol;
pub mod replay;
pub mod revocation;
pub mod sse;
pub mod ws;

use crate::server::auth::Viewer;
use crate::server::error::ApiError;
use crate::server::metrics;
use crate::server::routes::{Access, RouteTable};
use crate::server::state::AppState;
use crate::server::store::runs::RunRef;
use limits::{ConnectionLimits, ConnectionPermit, LimitError, RealtimeConfig};
use replay::SnapshotSource;
use std::sync::Arc;
use tokio::sync::watch;

/// The transports' shared state: limits, connection counters, the snapshot hook and the
/// shutdown signal that tells open streams to close.
pub struct Realtime {
    pub config: RealtimeConfig,
    pub limits: Arc<ConnectionLimits>,
    pub snapshots: Arc<dyn SnapshotSource>,
    /// Logouts and account deletions, told to every open stream (`revocation`).
    pub revocations: revocation::Revocations,
    shutdown: watch::Sender<bool>,
}

impl Realtime {
    pub fn new(config: RealtimeConfig) -> Self {
        Self {
            config,
            limits: Arc::default(),
            snapshots: replay::basic(),
            revocations: revocation::Revocations::default(),
            shutdown: watch::channel(false).0,
        }
    }

    /// Replaces the snapshot source (the lead's full run snapshot).
    pub fn with_snapshots(mut self, snapshots: Arc<dyn SnapshotSource>) -> Self {
        self.snapshots = snapshots;
        self
    }

    /// Tells every open WebSocket and SSE stream to close (WebSocket code 1012): call it when
    /// the server starts shutting down, or graceful shutdown would wait for SSE streams forever.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// The event-stream routes: WebSocket (run, project; authenticated by header or in-band),
/// SSE and long polling (session or build token), plus `/metrics`.
pub fn routes() -> RouteTable {
    RouteTable::new()
        .get("/api/ws/runs/{id}", Access::InBand, ws::run_socket)
        .get("/api/ws/projects/{id}", Access::InBand, ws::project_socket)
        .get("/events/{id}", Access::RunViewer, sse::stream)
        .get("/api/runs/{id}/events", Access::RunViewer, poll::events)
        .get("/metrics", Access::Ops, metrics::handler)
}

/// What a stream watches.
#[derive(Debug, Clone)]
pub enum Target {
    Run(String),
    Project(String),
}

/// What a viewer was allowed to watch.
#[derive(Debug, Clone)]
pub enum Scope {
    Run(RunRef),
    Project { project_id: String },
}

/// A viewer allowed to watch a scope, holding a connection slot.
#[derive(Debug)]
pub struct Admitted {
    pub viewer: Viewer,
    pub scope: Scope,
    pub permit: ConnectionPermit,
}

/// Checks that `viewer` may watch `target`. Another user's run or project is "not found" (its
/// existence is not revealed); a build token of another run is "forbidden".
pub async fn authorize(
    state: &AppState,
    viewer: &Viewer,
    target: &Target,
) -> Result<Scope, ApiError> {
    match target {
        Target::Run(run_id) => {
            let run = state.store.run_ref(run_id).await?;
            match run {
                Some(run) if viewer.can_read_run(&run.owner_id, &run.id) => Ok(Scope::Run(run)),
                Some(_) if matches!(viewer, Viewer::Build { .. }) => Err(ApiError::Forbidden(
                    "This build token is for another run.".into(),
                )),
                _ => Err(ApiError::NotFound("run")),
            }
        }
        Target::Project(project_id) => {
            if matches!(viewer, Viewer::Build { .. }) {
                return Err(ApiError::Forbidden(
                    "A build token can only watch its own run, not a project.".into(),
                ));
            }
            match state.store.project_owner(project_id).await? {
                Some(owner) if viewer.user_id() == Some(owner.as_str()) => Ok(Scope::Project {
                    project_id: project_id.clone(),
                }),
                _ => Err(ApiError::NotFound("project")),
            }
        }
    }
}

/// The key a viewer's connections are counted under: the user, or the run of a build token.
pub fn viewer_key(viewer: &Viewer) -> String {
    match viewer {
        Viewer::User { user_id } => format!("u:{user_id}"),
        Viewer::Build { run_id, .. } => format!("b:{run_id}"),
    }
}

/// Takes a connection slot for `viewer`.
pub fn acquire(state: &AppState, viewer: &Viewer) -> Result<ConnectionPermit, ApiError> {
    let rt = &state.realtime;
    rt.limits
        .acquire(viewer_key(viewer), &rt.config)
        .map_err(|e| match e {
            LimitError::Viewer => ApiError::RateLimited {
                message: format!(
                    "Too many open event streams for this viewer (at most {}); close some first.",
                    rt.config.max_connections_per_viewer
                ),
                retry_after: 5,
            },
            LimitError::Server => ApiError::Unavailable(
                "The server is at its connection limit; retry in a few seconds.".into(),
            ),
        })
}

/// Authorizes and takes a connection slot.
pub async fn admit(
    state: &AppState,
    viewer: Viewer,
    target: &Target,
) -> Result<Admitted, ApiError> {
    let scope = authorize(state, &viewer, target).await?;
    let permit = acquire(state, &viewer)?;
    Ok(Admitted {
        viewer,
        scope,
        permit,
    })
}

/// The value of `name` in a query string (no percent-decoding: the values used here are
/// numbers, flags and URL-safe tokens).
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// A whole-number query parameter, or a 400 naming it.
pub fn query_u64(query: Option<&str>, name: &'static str) -> Result<Option<u64>, ApiError> {
    match query_param(query, name) {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(
                "invalid_query",
                format!(
                    "{name} must be a whole number ≥ 0, got '{}'",
                    v.chars().take(40).collect::<String>()
                ),
            )
        }),
    }
}

/// Whether the client manager marked this connection as a fallback (`?fallback=1`).
pub fn is_fallback(query: Option<&str>) -> bool {
    matches!(query_param(query, "fallback"), Some("1") | Some("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params() {
        let q = Some("after=5&wait=&fallback=1&token=a.b.c");
        assert_eq!(query_param(q, "after"), Some("5"));
        assert_eq!(query_u64(q, "after").ok().flatten(), Some(5));
        assert_eq!(query_u64(q, "wait").ok().flatten(), None);
        assert!(query_u64(Some("after=-1"), "after").is_err());
        assert!(is_fallback(q));
        assert!(!is_fallback(None));
    }
}
