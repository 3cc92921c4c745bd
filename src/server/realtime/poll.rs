//! Long polling: `GET /api/runs/{id}/events?after=N&wait=S&limit=L` → `{events, lastSeq,
//! hasMore}`. Without `wait` it answers at once; with `wait` (seconds, at most 30) it holds the
//! request until at least one event after `after` exists — woken by the bus, not by sleeping —
//! or the wait ends (then `events` is empty).

use super::replay::{self, Page};
use super::{admit, is_fallback, query_param, query_u64, Scope, Target};
use crate::server::auth::RunViewer;
use crate::server::error::ApiError;
use crate::server::metrics::Transport;
use crate::server::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::{timeout_at, Instant};

/// Events per answer by default and at most.
pub const DEFAULT_LIMIT: u64 = 500;
pub const MAX_LIMIT: u64 = 1000;

fn parse_wait(query: Option<&str>, max: Duration) -> Result<Duration, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_query",
            format!(
                "wait must be a number of seconds from 0 to {}",
                max.as_secs()
            ),
        )
    };
    match query_param(query, "wait") {
        None | Some("") => Ok(Duration::ZERO),
        Some(v) => {
            let secs: f64 = v.parse().map_err(|_| bad())?;
            if !secs.is_finite() || secs < 0.0 || secs > max.as_secs_f64() {
                return Err(bad());
            }
            Ok(Duration::from_secs_f64(secs))
        }
    }
}

pub async fn events(
    Path(id): Path<String>,
    viewer: Result<RunViewer, ApiError>,
    RawQuery(query): RawQuery,
    State(state): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let m = state.metrics.transport(Transport::Poll);
    let RunViewer(viewer) = viewer.inspect_err(|_| m.auth_failures.inc())?;
    let q = query.as_deref();
    let after = query_u64(q, "after")?.unwrap_or(0);
    let wait = parse_wait(q, state.realtime.config.poll_max_wait)?;
    let limit = query_u64(q, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let admitted = admit(&state, viewer, &Target::Run(id))
        .await
        .inspect_err(|e| match e {
            ApiError::RateLimited { .. } | ApiError::Unavailable(_) => m.limited.inc(),
            _ => m.auth_failures.inc(),
        })?;
    let Scope::Run(run) = &admitted.scope else {
        return Err(ApiError::Internal(anyhow::anyhow!("run scope expected")));
    };
    if is_fallback(q) {
        m.fallbacks.inc();
    }
    let _active = state.metrics.connection_opened(Transport::Poll);
    // Subscribe before reading, so an event appended between the read and the wait wakes us.
    let mut rx = (!wait.is_zero()).then(|| state.bus.subscribe_run(&run.id));
    let mut shutdown = state.realtime.shutdown_signal();
    let deadline = Instant::now() + wait;
    let limit = u32::try_from(limit).unwrap_or(500);
    let page = loop {
        let page = replay::read_page(
            state.store.as_ref(),
            state.realtime.snapshots.as_ref(),
            &run.id,
            after,
            limit,
        )
        .await?;
        let empty = page.events.is_empty() && page.snapshot.is_none();
        let Some(rx) = rx.as_mut().filter(|_| empty && Instant::now() < deadline) else {
            break page;
        };
        tokio::select! {
            woke = timeout_at(deadline, rx.recv()) => if woke.is_err() { break page },
            _ = shutdown.changed() => break page,
        }
    };
    drop(rx);
    let last_seq = state.store.last_seq(&run.id).await?;
    Ok(Json(answer(&state, page, last_seq, after)))
}

fn answer(state: &AppState, page: Page, last_seq: u64, after: u64) -> Value {
    let m = state.metrics.transport(Transport::Poll);
    if after > 0 || !page.events.is_empty() {
        m.replays.inc();
    }
    if page.snapshot.is_some() {
        m.snapshots.inc();
    }
    let has_more = !page.done;
    let events: Vec<_> = page.snapshot.into_iter().chain(page.events).collect();
    for e in &events {
        m.delivered(e.kind);
    }
    json!({"events": events, "lastSeq": last_seq, "hasMore": has_more})
}
