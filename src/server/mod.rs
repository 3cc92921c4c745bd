//! The server side: configuration, the HTTP host (UI + API on one axum router), the stores and,
//! in later modules, the orchestrator and the real-time transports. Only compiled with `ssr`.

pub mod admin;
pub mod assets;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod datadir;
pub mod error;
pub mod limits;
pub mod listener;
pub mod llm;
pub mod metrics;
pub mod orchestrator;
pub mod realtime;
pub mod routes;
pub mod secrets;
pub mod security;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod telemetry;

use crate::app::{shell, App};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use state::AppState;
use std::future::Future;
use tokio::net::TcpListener;

pub use config::ServeConfig;

/// Opens the stores, builds the state and serves until `shutdown` resolves. Tests call this
/// with a listener on port 0; `youmeyou serve` calls it with the configured address.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::open(config).await?;
    let resumed = state
        .orchestrator
        .resume_unfinished()
        .await
        .map_err(|e| anyhow::anyhow!("cannot resume runs: {e}"))?;
    if resumed > 0 {
        tracing::info!(resumed, "resumed unfinished runs");
    }
    state.orchestrator.start_lease_keeper(state.metrics.clone());
    if state.store.shared() {
        cluster::commands::start_worker(
            state.orchestrator.clone(),
            state.store.clone(),
            state.command_wakeups.clone(),
        );
    }
    tracing::info!(
        instance = %state.orchestrator.settings().instance_id,
        store = state.store.backend(),
        redis = state.redis.is_some(),
        "instance started"
    );
    let app = router(state.clone());
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening on http://{addr}");
    // Open event streams (SSE, WebSocket) end when shutdown starts, or graceful shutdown would
    // wait for them forever.
    let realtime = state.realtime.clone();
    let shutdown = async move {
        shutdown.await;
        realtime.shutdown();
    };
    // Our own accept loop: header timeouts and connection caps (docs/SECURITY.md). Peer
    // addresses feed the per-IP rate limits (login, anonymous requests).
    listener::serve(
        listener,
        app,
        &state.config.connections,
        &state.metrics,
        shutdown,
    )
    .await?;
    state.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The whole HTTP surface: operations, API, UI pages and static assets.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let app = Router::new()
        // Every API and operations route, registered (with its access kind) in the route table.
        .merge(routes::api(&state))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(assets::fallback)
        .with_state(state.clone());
    let app = security::with_security_layers(app, &state);
    telemetry::with_http_layers(app)
}

/// Leptos settings for a binary that serves its own embedded assets.
pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("youmeyou")
        .site_pkg_dir("pkg")
        .site_root("target/site")
        .build()
}
