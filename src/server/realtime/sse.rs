//! The SSE transport: `GET /events/{runId}`. Each event is `id: <seq>` + `data: <envelope>`;
//! `Last-Event-ID` (or `?lastEventId=`) resumes after that seq, otherwise the whole history is
//! sent from seq 1, then live. A comment heartbeat goes out when nothing was sent for 15 s.
//!
//! The body is pull-based: nothing is produced until hyper asks for the next chunk, so a client
//! that stops reading costs at most hyper's and the kernel's bounded buffers; the bus receiver
//! lags meanwhile and the stream catches up from the store when the client reads again. Every
//! chunk carries all events ready at that moment (one write for a burst).

use super::bus::{EventReceiver, RecvError, TryRecvError};
use super::replay::{self, Page};
use super::{admit, is_fallback, query_param, Admitted, Scope, Target};
use crate::server::error::ApiError;
use crate::server::metrics::{GaugeGuard, Transport};
use crate::server::realtime::revocation::{self, Watching};
use crate::server::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use std::pin::Pin;
use tokio::time::{sleep, Sleep};
use youmeyou_core::model::Event;

/// Events gathered into one chunk at most.
const CHUNK_EVENTS: usize = 256;

pub async fn stream(
    Path(id): Path<String>,
    viewer: Result<Watching, ApiError>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let m = state.metrics.transport(Transport::Sse);
    let Watching { viewer, holder } = viewer.inspect_err(|_| m.auth_failures.inc())?;
    let header_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let last_event_id = match header_id.or_else(|| query_param(query.as_deref(), "lastEventId")) {
        None | Some("") => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| {
            ApiError::bad_request(
                "invalid_last_event_id",
                "Last-Event-ID must be the seq of an event: a whole number ≥ 0",
            )
        })?),
    };
    let admitted = admit(&state, viewer, &Target::Run(id))
        .await
        .inspect_err(|e| match e {
            ApiError::RateLimited { .. } | ApiError::Unavailable(_) => m.limited.inc(),
            _ => m.auth_failures.inc(),
        })?;
    let Scope::Run(run) = &admitted.scope else {
        return Err(ApiError::Internal(anyhow::anyhow!("run scope expected")));
    };
    if is_fallback(query.as_deref()) {
        m.fallbacks.inc();
    }
    m.replays.inc();
    // Subscribe before the first store read: nothing published from now on can be missed.
    let rx = state.bus.subscribe_run(&run.id);
    let run_id = run.id.clone();
    let heartbeat = Box::pin(sleep(state.realtime.config.sse_heartbeat));
    let shutdown = state.realtime.shutdown_signal();
    let revoked = Box::pin(revocation::ended(state.clone(), holder));
    let st = SseState {
        revoked,
        guard: state.metrics.connection_opened(Transport::Sse),
        _admitted: admitted,
        run_id,
        sent: last_event_id.unwrap_or(0),
        replaying: true,
        rx,
        first: true,
        heartbeat,
        shutdown,
        state,
    };
    let body = Body::from_stream(futures_util::stream::unfold(st, step));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

struct SseState {
    state: AppState,
    run_id: String,
    sent: u64,
    replaying: bool,
    rx: EventReceiver,
    first: bool,
    heartbeat: Pin<Box<Sleep>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    /// Resolves when the credentials are revoked: the stream ends (a reconnect gets 401).
    revoked: Pin<Box<dyn std::future::Future<Output = String> + Send>>,
    guard: GaugeGuard,
    _admitted: Admitted,
}

fn push_event(chunk: &mut String, event_json: &str, seq: u64) {
    chunk.push_str("id: ");
    chunk.push_str(&seq.to_string());
    chunk.push_str("\ndata: ");
    chunk.push_str(event_json);
    chunk.push_str("\n\n");
}

impl SseState {
    fn reset_heartbeat(&mut self) {
        let at = tokio::time::Instant::now() + self.state.realtime.config.sse_heartbeat;
        self.heartbeat.as_mut().reset(at);
    }

    fn page_chunk(&mut self, page: Page) -> String {
        let m = self.state.metrics.transport(Transport::Sse);
        let mut chunk = String::new();
        let stored: Vec<&Event> = page
            .snapshot
            .iter()
            .chain(page.events.iter().filter(|e| e.seq > self.sent))
            .collect();
        for e in stored {
            let json = serde_json::to_string(e).unwrap_or_default();
            push_event(&mut chunk, &json, e.seq);
            m.delivered(e.kind);
        }
        if page.snapshot.is_some() {
            m.snapshots.inc();
        }
        m.replayed_events.add(page.events.len() as u64);
        self.sent = page.cursor;
        if page.done {
            self.replaying = false;
        }
        chunk
    }
}

type Step = Option<(Result<Bytes, std::io::Error>, SseState)>;

async fn step(mut st: SseState) -> Step {
    let _ = &st.guard;
    if st.first {
        st.first = false;
        return Some((Ok(Bytes::from_static(b"retry: 3000\n: connected\n\n")), st));
    }
    loop {
        if st.replaying {
            let page = replay::read_page(
                st.state.store.as_ref(),
                st.state.realtime.snapshots.as_ref(),
                &st.run_id,
                st.sent,
                st.state.realtime.config.replay_page,
            )
            .await;
            match page {
                Ok(page) => {
                    let chunk = st.page_chunk(page);
                    if !chunk.is_empty() {
                        st.reset_heartbeat();
                        return Some((Ok(Bytes::from(chunk)), st));
                    }
                    continue;
                }
                Err(e) => {
                    // End the stream; EventSource reconnects with Last-Event-ID.
                    tracing::warn!(error = %e, run = %st.run_id, "sse replay failed");
                    return None;
                }
            }
        }
        let first = tokio::select! {
            biased;
            _ = st.shutdown.changed() => return None,
            why = &mut st.revoked => {
                tracing::debug!(run = %st.run_id, %why, "SSE stream closed: access revoked");
                return None;
            }
            r = st.rx.recv() => r,
            () = &mut st.heartbeat => {
                st.reset_heartbeat();
                return Some((Ok(Bytes::from_static(b": heartbeat\n\n")), st));
            }
        };
        let mut chunk = String::new();
        let mut timed = Vec::new();
        let mut next = Some(first);
        let mut n = 0;
        while let Some(r) = next.take() {
            match r {
                Ok(item) => {
                    let e = &item.event;
                    if e.seq == st.sent + 1 {
                        st.sent = e.seq;
                        push_event(&mut chunk, item.json().as_str(), e.seq);
                        timed.push((e.kind, item.at));
                    } else if e.seq > st.sent + 1 {
                        // A gap: re-read it from the store (after what this chunk holds).
                        st.replaying = true;
                        st.state.metrics.transport(Transport::Sse).replays.inc();
                        break;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    st.state.metrics.bus_lagged.inc();
                    st.replaying = true;
                    break;
                }
                Err(RecvError::Closed) => return None,
            }
            n += 1;
            if n < CHUNK_EVENTS {
                next = match st.rx.try_recv() {
                    Ok(item) => Some(Ok(item)),
                    Err(TryRecvError::Lagged(k)) => Some(Err(RecvError::Lagged(k))),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                };
            }
        }
        if !chunk.is_empty() {
            let m = st.state.metrics.transport(Transport::Sse);
            let now = std::time::Instant::now();
            for (kind, at) in timed {
                m.delivered(kind);
                m.latency.observe(now.saturating_duration_since(at));
            }
            st.reset_heartbeat();
            return Some((Ok(Bytes::from(chunk)), st));
        }
    }
}
