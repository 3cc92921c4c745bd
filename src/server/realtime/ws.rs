//! The WebSocket transport: `GET /api/ws/runs/{id}` and `GET /api/ws/projects/{id}`.
//!
//! One task per connection drives everything with one `select!`: client frames, the bounded
//! outbound queue (written in batches: many frames fed, one flush), the bus, and one timer
//! (heartbeat, dead peer, idle, resume grace). Replay is gap-free and duplicate-free: the bus
//! is subscribed before the store is read, a per-run cursor remembers the last `seq` sent, live
//! events at or below it are skipped, and a gap (bus lag, reordering) re-reads the store.
//! It must not buffer without bound: when the queue is full the bus is left alone (it lags, and
//! the store fills the gap later), and a client whose full queue does not drain for
//! `slow_consumer_timeout` is closed with 4008.

use super::bus::{envelope_json, BusItem, EventReceiver, RecvError, TryRecvError};
use super::limits::{RateDecision, RateLimiter, RealtimeConfig};
use super::protocol::{self, close, ClientMessage, ProtocolError};
use super::replay::{self, now_iso};
use super::{admit, is_fallback, query_u64, Admitted, Scope, Target};
use crate::server::auth::{authenticate, token_from_headers, Viewer};
use crate::server::error::ApiError;
use crate::server::metrics::{Metrics, Transport};
use crate::server::realtime::revocation::{self, Holder};
use crate::server::state::AppState;
use crate::server::store::StoreError;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Poll};
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use youmeyou_core::model::EventType;

/// Slack above `max_message_size` for the outbound write buffer (outbound events may be big).
const MAX_OUTBOUND_BUFFER: usize = 8 * 1024 * 1024;
/// Events pulled from the bus per wake-up before writing (bounds one iteration's work).
const BUS_BATCH: usize = 256;

pub async fn run_socket(
    ws: WebSocketUpgrade,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    upgrade(ws, Target::Run(id), query, headers, state).await
}

pub async fn project_socket(
    ws: WebSocketUpgrade,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    upgrade(ws, Target::Project(id), query, headers, state).await
}

/// Credentials that came with the upgrade request.
enum HeaderAuth {
    /// None usable: authenticate with the first message.
    None,
    /// The viewer and whose credentials hold the connection open.
    Viewer(Viewer, Holder),
    Invalid(ApiError),
}

/// A bearer header must be valid (else 401). A session cookie counts only on a same-origin
/// upgrade (a cross-site page cannot ride the user's cookie) and, when stale, is ignored so a
/// build token can still be sent as the first message.
async fn header_auth(state: &AppState, headers: &HeaderMap) -> HeaderAuth {
    let only = |name: header::HeaderName| {
        let mut h = HeaderMap::new();
        for v in headers.get_all(&name) {
            h.append(name.clone(), v.clone());
        }
        h
    };
    if let Some(token) = token_from_headers(&only(header::AUTHORIZATION)) {
        return match authenticate(state, &token).await {
            Ok(a) => HeaderAuth::Viewer(a.viewer.clone(), Holder::new(&a, &token)),
            Err(e) => HeaderAuth::Invalid(e),
        };
    }
    if same_origin(headers) {
        if let Some(token) = token_from_headers(&only(header::COOKIE)) {
            if let Ok(a) = authenticate(state, &token).await {
                return HeaderAuth::Viewer(a.viewer.clone(), Holder::new(&a, &token));
            }
        }
    }
    HeaderAuth::None
}

/// No `Origin` (not a browser) or an `Origin` whose host:port is the request's `Host`.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
    let authority = authority.split('/').next().unwrap_or("");
    !authority.is_empty() && authority.eq_ignore_ascii_case(host)
}

async fn upgrade(
    ws: WebSocketUpgrade,
    target: Target,
    query: Option<String>,
    headers: HeaderMap,
    state: AppState,
) -> Response {
    let metrics = state.metrics.transport(Transport::Ws);
    let after_seq = match query_u64(query.as_deref(), "afterSeq") {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    if is_fallback(query.as_deref()) {
        metrics.fallbacks.inc();
    }
    let pre = match header_auth(&state, &headers).await {
        HeaderAuth::None => None,
        HeaderAuth::Invalid(e) => {
            metrics.auth_failures.inc();
            return e.into_response();
        }
        HeaderAuth::Viewer(viewer, holder) => match admit(&state, viewer, &target).await {
            Ok(a) => Some((a, holder)),
            Err(e) => {
                count_refusal(&state.metrics, &e);
                return e.into_response();
            }
        },
    };
    let c = &state.realtime.config;
    ws.read_buffer_size(c.ws_read_buffer)
        .write_buffer_size(c.ws_write_buffer)
        .max_write_buffer_size(c.ws_write_buffer + MAX_OUTBOUND_BUFFER)
        .max_message_size(protocol::MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(protocol::MAX_CLIENT_MESSAGE_BYTES)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| serve(socket, state, target, pre, after_seq))
}

fn count_refusal(metrics: &Metrics, e: &ApiError) {
    let m = metrics.transport(Transport::Ws);
    match e {
        ApiError::RateLimited { .. } | ApiError::Unavailable(_) => m.limited.inc(),
        _ => m.auth_failures.inc(),
    }
}

fn close_code_for(e: &ApiError) -> u16 {
    match e {
        ApiError::Unauthorized(_) => close::UNAUTHORIZED,
        ApiError::Forbidden(_) => close::FORBIDDEN,
        ApiError::NotFound(_) => close::NOT_FOUND,
        ApiError::RateLimited { .. } => close::RATE_LIMITED,
        ApiError::Unavailable(_) => close::TRY_AGAIN_LATER,
        _ => close::INTERNAL,
    }
}

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// Sends one message now (with the close grace as a time limit).
async fn send_now(sink: &mut Sink, text: String, grace: std::time::Duration) -> bool {
    matches!(
        timeout(grace, sink.send(Message::Text(Utf8Bytes::from(text)))).await,
        Ok(Ok(()))
    )
}

/// Sends a close frame, giving up after the grace period (then the TCP connection drops).
async fn send_close(sink: &mut Sink, code: u16, reason: &str, grace: std::time::Duration) {
    // A close frame's reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(reason[..end].to_string()),
    };
    let _ = timeout(grace, sink.send(Message::Close(Some(frame)))).await;
}

async fn serve(
    socket: WebSocket,
    state: AppState,
    target: Target,
    pre: Option<(Admitted, Holder)>,
    after_seq: Option<u64>,
) {
    let _active = state.metrics.connection_opened(Transport::Ws);
    let grace = state.realtime.config.close_grace;
    let (mut sink, mut stream) = socket.split();
    let client_id = uuid::Uuid::new_v4().to_string();
    let hello = protocol::connected_json(&client_id, &now_iso(), pre.is_some());
    if !send_now(&mut sink, hello, grace).await {
        return;
    }
    let (admitted, holder) = match pre {
        Some(a) => a,
        None => match Box::pin(first_message_auth(&mut sink, &mut stream, &state, &target)).await {
            Some(a) => a,
            None => return,
        },
    };
    let session = Session::new(state, admitted, after_seq, holder);
    session.run(sink, stream).await;
}

/// Waits for `{"type":"auth","token":…}`; nothing else is accepted before it.
async fn first_message_auth(
    sink: &mut Sink,
    stream: &mut Stream,
    state: &AppState,
    target: &Target,
) -> Option<(Admitted, Holder)> {
    let c = &state.realtime.config;
    let deadline = Instant::now() + c.auth_timeout;
    let mut limiter = RateLimiter::new(c, std::time::Instant::now());
    loop {
        let frame = match timeout_at(deadline, stream.next()).await {
            Err(_) => {
                state.metrics.transport(Transport::Ws).auth_failures.inc();
                send_close(
                    sink,
                    close::UNAUTHORIZED,
                    "authentication timeout: send {\"type\":\"auth\",\"token\":…} first",
                    c.close_grace,
                )
                .await;
                return None;
            }
            Ok(Some(Ok(frame))) => frame,
            Ok(_) => return None,
        };
        let text = match frame {
            Message::Text(t) => t,
            Message::Binary(_) => Utf8Bytes::from_static("\u{0}binary"),
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        match limiter.check(c, std::time::Instant::now()) {
            RateDecision::Allow => {}
            RateDecision::Refuse { notify } => {
                state.metrics.ws_rate_limited.inc();
                if notify {
                    let e = protocol::error_json("rate_limited", "too many messages; slow down");
                    send_now(sink, e, c.close_grace).await;
                }
                continue;
            }
            RateDecision::Abuse => {
                state.metrics.ws_rate_limited.inc();
                send_close(
                    sink,
                    close::RATE_LIMITED,
                    "too many messages",
                    c.close_grace,
                )
                .await;
                return None;
            }
        }
        let reply = match protocol::parse(text.as_str()) {
            Ok(ClientMessage::Auth { token }) => {
                let (viewer, holder) = match authenticate(state, &token).await {
                    Ok(a) => (a.viewer.clone(), Holder::new(&a, &token)),
                    Err(e) => {
                        state.metrics.transport(Transport::Ws).auth_failures.inc();
                        send_close(sink, close::UNAUTHORIZED, &e.to_string(), c.close_grace).await;
                        return None;
                    }
                };
                match admit(state, viewer, target).await {
                    Ok(admitted) => {
                        if !send_now(sink, protocol::authenticated_json(), c.close_grace).await {
                            return None;
                        }
                        return Some((admitted, holder));
                    }
                    Err(e) => {
                        count_refusal(&state.metrics, &e);
                        send_close(sink, close_code_for(&e), &e.to_string(), c.close_grace).await;
                        return None;
                    }
                }
            }
            Ok(_) => {
                state.metrics.ws_bad_messages.inc();
                protocol::error_json(
                    "auth_required",
                    "authenticate first: {\"type\":\"auth\",\"token\":…}",
                )
            }
            Err(e) => {
                state.metrics.ws_bad_messages.inc();
                e.to_json()
            }
        };
        if !send_now(sink, reply, c.close_grace).await {
            return None;
        }
    }
}

/// Where a connection stands with one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Run route without `?afterSeq`: waiting briefly for a `resume` before replaying from 1.
    Grace,
    /// The store must be read after `sent` (live events of this run are dropped meanwhile:
    /// they are persisted, so the next read returns them).
    Replay,
    /// Forwarding live events after `sent`.
    Live,
}

#[derive(Debug)]
struct Cursor {
    run_id: String,
    /// The last seq queued for this client.
    sent: u64,
    phase: Phase,
}

/// One message waiting for the socket.
#[derive(Debug)]
enum Item {
    Event {
        json: Utf8Bytes,
        kind: EventType,
        cursor: usize,
        /// Publish time, for live events (latency metric).
        at: Option<std::time::Instant>,
    },
    Text(Utf8Bytes),
    Ping,
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Event { json, .. } | Item::Text(json) => json.len(),
            Item::Ping => 0,
        }
    }
}

/// The bounded outbound queue plus what was written but not yet flushed.
#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Item>,
    bytes: usize,
    /// Events handed to the socket since the last completed flush.
    inflight: Vec<(EventType, Option<std::time::Instant>)>,
    dirty: bool,
}

impl Outbox {
    fn push(&mut self, item: Item) {
        self.bytes += item.len();
        self.queue.push_back(item);
    }

    fn pending(&self) -> bool {
        !self.queue.is_empty() || self.dirty
    }

    fn clear(&mut self) {
        self.queue = VecDeque::new();
        self.bytes = 0;
    }
}

/// Writes everything queued (feeding frames) and flushes once. Cancel-safe: an item leaves the
/// queue only in the same poll that hands it to the socket.
async fn write_all(sink: &mut Sink, out: &mut Outbox) -> Result<(), axum::Error> {
    poll_fn(|cx| {
        while !out.queue.is_empty() {
            ready!(sink.poll_ready_unpin(cx))?;
            let Some(item) = out.queue.pop_front() else {
                break;
            };
            out.bytes = out.bytes.saturating_sub(item.len());
            let message = match item {
                Item::Event { json, kind, at, .. } => {
                    out.inflight.push((kind, at));
                    Message::Text(json)
                }
                Item::Text(text) => Message::Text(text),
                Item::Ping => Message::Ping(Default::default()),
            };
            sink.start_send_unpin(message)?;
            out.dirty = true;
        }
        if out.dirty {
            ready!(sink.poll_flush_unpin(cx))?;
            out.dirty = false;
        }
        Poll::Ready(Ok(()))
    })
    .await
}

/// Why the loop ends.
enum Flow {
    Continue,
    /// Send this close frame, then stop.
    Close(u16, String),
    /// The peer is gone: just stop.
    Stop,
}

struct Session {
    state: AppState,
    scope: Scope,
    cursors: Vec<Cursor>,
    rx: EventReceiver,
    out: Outbox,
    limiter: RateLimiter,
    /// Last frame of any kind from the client.
    last_heard: Instant,
    /// Last event delivered or message from the client.
    last_activity: Instant,
    next_ping: Instant,
    grace_until: Option<Instant>,
    /// Since when the outbound queue has been full (the socket is not draining it).
    stalled_since: Option<Instant>,
    /// A project stream missed bus messages: runs seen for the first time are replayed from 1.
    project_lagged: bool,
    /// When the token the connection was opened with expires: the connection ends then (4401).
    token_expires: Instant,
    /// Resolves with the reason when the credentials are revoked (`revocation`).
    revoked: Pin<Box<dyn Future<Output = String> + Send>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    _admitted: Admitted,
}

impl Session {
    fn new(state: AppState, admitted: Admitted, after_seq: Option<u64>, holder: Holder) -> Self {
        let now = Instant::now();
        let expires = holder.expires;
        let revoked = Box::pin(revocation::ended(state.clone(), holder));
        // Capped at a year: an `Instant` cannot reach arbitrarily far.
        let left = expires
            .saturating_sub(chrono::Utc::now().timestamp())
            .clamp(0, 365 * 24 * 3600) as u64;
        let token_expires = now + std::time::Duration::from_secs(left);
        let c = &state.realtime.config;
        // Subscribe before anything is read from the store: nothing published from here on
        // can be missed, and anything older the replay reads.
        let (rx, cursors, grace_until) = match &admitted.scope {
            Scope::Run(run) => {
                let rx = state.bus.subscribe_run(&run.id);
                let (phase, grace) = match after_seq {
                    Some(_) => (Phase::Replay, None),
                    None => (Phase::Grace, Some(now + c.resume_grace)),
                };
                let cursor = Cursor {
                    run_id: run.id.clone(),
                    sent: after_seq.unwrap_or(0),
                    phase,
                };
                (rx, vec![cursor], grace)
            }
            Scope::Project { project_id } => {
                (state.bus.subscribe_project(project_id), Vec::new(), None)
            }
        };
        if cursors.iter().any(|c| c.phase == Phase::Replay) {
            state.metrics.transport(Transport::Ws).replays.inc();
        }
        let shutdown = state.realtime.shutdown_signal();
        Self {
            scope: admitted.scope.clone(),
            limiter: RateLimiter::new(c, std::time::Instant::now()),
            last_heard: now,
            last_activity: now,
            next_ping: now + c.heartbeat,
            grace_until,
            stalled_since: None,
            project_lagged: false,
            token_expires,
            revoked,
            cursors,
            rx,
            out: Outbox::default(),
            shutdown,
            _admitted: admitted,
            state,
        }
    }

    fn config(&self) -> &RealtimeConfig {
        &self.state.realtime.config
    }

    fn metrics(&self) -> &Arc<Metrics> {
        &self.state.metrics
    }

    fn deadline(&self) -> Instant {
        let dead = self.last_heard + self.config().dead_peer_timeout;
        let mut d = self.next_ping.min(dead).min(self.token_expires);
        if let Some(g) = self.grace_until {
            d = d.min(g);
        }
        if let Some(s) = self.stalled_since {
            d = d.min(s + self.config().slow_consumer_timeout);
        }
        d
    }

    /// The outbound queue is at its bound: stop taking events until it drains. While a replay
    /// is under way the bound is half the queue (the replay refills it only that far, leaving
    /// room for replies and pings), so a client that stops reading mid-replay counts as stalled
    /// too instead of being kept forever.
    fn full(&self) -> bool {
        let c = self.config();
        let (events, bytes) = if self.cursors.iter().any(|c| c.phase == Phase::Replay) {
            (c.queue_events / 2, c.queue_bytes / 2)
        } else {
            (c.queue_events, c.queue_bytes)
        };
        self.out.queue.len() >= events || self.out.bytes >= bytes
    }

    async fn run(mut self, mut sink: Sink, mut stream: Stream) {
        let timer = sleep_until(self.deadline());
        tokio::pin!(timer);
        let mut armed = self.deadline();
        loop {
            if self.cursors.iter().any(|c| c.phase == Phase::Replay) {
                if let Flow::Close(code, reason) = Box::pin(self.pump_replays()).await {
                    send_close(&mut sink, code, &reason, self.config().close_grace).await;
                    return;
                }
            }
            if self.full() {
                self.stalled_since.get_or_insert_with(Instant::now);
            } else {
                self.stalled_since = None;
            }
            let full = self.stalled_since.is_some();
            let deadline = self.deadline();
            if deadline != armed {
                timer.as_mut().reset(deadline);
                armed = deadline;
            }
            let flow = tokio::select! {
                biased;
                frame = stream.next() => match frame {
                    None => Flow::Stop,
                    Some(Ok(message)) => self.on_frame(message).await,
                    Some(Err(e)) => {
                        let text = e.to_string();
                        if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                            Flow::Close(close::TOO_BIG, format!("messages are limited to {} bytes", protocol::MAX_CLIENT_MESSAGE_BYTES))
                        } else {
                            Flow::Stop
                        }
                    }
                },
                res = write_all(&mut sink, &mut self.out), if self.out.pending() => match res {
                    Ok(()) => { self.flushed(); Flow::Continue }
                    Err(_) => Flow::Stop,
                },
                item = self.rx.recv(), if !full => self.on_bus(item),
                _ = self.shutdown.changed() => Flow::Close(1012, "server restarting; reconnect and resume".into()),
                why = &mut self.revoked => Flow::Close(close::UNAUTHORIZED, why),
                () = &mut timer => self.on_timer(),
            };
            match flow {
                Flow::Continue => {}
                Flow::Stop => return,
                Flow::Close(code, reason) => {
                    let grace = self.config().close_grace;
                    if code != close::SLOW_CONSUMER {
                        // Deliver what is queued (replies, events) before the close frame.
                        let _ = timeout(grace, write_all(&mut sink, &mut self.out)).await;
                    }
                    send_close(&mut sink, code, &reason, grace).await;
                    return;
                }
            }
        }
    }

    /// Accounts for events whose flush completed.
    fn flushed(&mut self) {
        let now = std::time::Instant::now();
        let m = self.state.metrics.transport(Transport::Ws);
        if !self.out.inflight.is_empty() {
            self.last_activity = Instant::now();
        }
        for (kind, at) in self.out.inflight.drain(..) {
            m.delivered(kind);
            if let Some(at) = at {
                m.latency.observe(now.saturating_duration_since(at));
            }
        }
        if self.out.inflight.capacity() > 64 {
            self.out.inflight = Vec::new();
        }
        if self.out.queue.is_empty() && self.out.queue.capacity() > 64 {
            self.out.queue = VecDeque::new();
        }
    }

    fn on_timer(&mut self) -> Flow {
        let now = Instant::now();
        let realtime = self.state.realtime.clone();
        let c = &realtime.config;
        if self
            .stalled_since
            .is_some_and(|s| now >= s + c.slow_consumer_timeout)
        {
            self.metrics()
                .transport(Transport::Ws)
                .slow_consumer_disconnects
                .inc();
            self.out.clear();
            return Flow::Close(
                close::SLOW_CONSUMER,
                "slow consumer: you did not read fast enough; reconnect and resume from your last seq".into(),
            );
        }
        if now >= self.token_expires {
            self.metrics().transport(Transport::Ws).auth_failures.inc();
            return Flow::Close(
                close::UNAUTHORIZED,
                "your token expired: get a new one and reconnect with afterSeq".into(),
            );
        }
        if now >= self.last_heard + c.dead_peer_timeout {
            return Flow::Close(
                close::GOING_AWAY,
                "no frame from the client within the heartbeat timeout".into(),
            );
        }
        if now >= self.last_activity + c.idle_timeout {
            return Flow::Close(close::NORMAL, "idle timeout; reconnect when needed".into());
        }
        if let Some(g) = self.grace_until {
            if now >= g {
                self.end_grace();
            }
        }
        if now >= self.next_ping {
            self.next_ping = now + c.heartbeat;
            self.out.push(Item::Ping);
        }
        Flow::Continue
    }

    /// No `resume` came: replay the run from its first event.
    fn end_grace(&mut self) {
        self.grace_until = None;
        let mut started = false;
        for c in &mut self.cursors {
            if c.phase == Phase::Grace {
                c.phase = Phase::Replay;
                started = true;
            }
        }
        if started {
            self.metrics().transport(Transport::Ws).replays.inc();
        }
    }

    async fn on_frame(&mut self, message: Message) -> Flow {
        let now = Instant::now();
        self.last_heard = now;
        let (text, binary) = match message {
            Message::Pong(_) => return Flow::Continue,
            Message::Close(_) => return Flow::Stop,
            Message::Text(t) => (Some(t), false),
            Message::Binary(_) => (None, true),
            // Answered by the WebSocket layer itself, but counted against the rate limit.
            Message::Ping(_) => (None, false),
        };
        match self
            .limiter
            .check(&self.state.realtime.config, now.into_std())
        {
            RateDecision::Allow => {}
            RateDecision::Refuse { notify } => {
                self.metrics().ws_rate_limited.inc();
                if notify {
                    let limit = self.config().rate_per_sec;
                    self.reply(protocol::error_json(
                        "rate_limited",
                        &format!("too many messages (at most {limit} per second); slow down or the connection closes"),
                    ));
                }
                return Flow::Continue;
            }
            RateDecision::Abuse => {
                self.metrics().ws_rate_limited.inc();
                return Flow::Close(close::RATE_LIMITED, "too many messages".into());
            }
        }
        let Some(text) = text else {
            if binary {
                self.metrics().ws_bad_messages.inc();
                self.reply(protocol::error_json(
                    "unsupported",
                    "binary messages are not supported; send JSON text",
                ));
            }
            return Flow::Continue;
        };
        self.last_activity = now;
        match protocol::parse(text.as_str()) {
            Ok(ClientMessage::Ping) => self.reply(protocol::pong_json()),
            Ok(ClientMessage::Resume { run_id, after_seq }) => {
                if let Err(e) = Box::pin(self.resume(run_id, after_seq)).await {
                    self.metrics().ws_bad_messages.inc();
                    self.reply(e.to_json());
                }
            }
            Ok(ClientMessage::Auth { .. }) => self.reply(protocol::error_json(
                "already_authenticated",
                "this connection is already authenticated",
            )),
            Err(e) => {
                self.metrics().ws_bad_messages.inc();
                self.reply(e.to_json());
            }
        }
        Flow::Continue
    }

    fn reply(&mut self, text: String) {
        self.out.push(Item::Text(Utf8Bytes::from(text)));
    }

    /// `resume`: replay `run_id` after `after_seq`, then live.
    async fn resume(&mut self, run_id: String, after_seq: u64) -> Result<(), ProtocolError> {
        let idx = match self.cursors.iter().position(|c| c.run_id == run_id) {
            Some(i) => i,
            None => {
                let Scope::Project { project_id } = &self.scope else {
                    return Err(ProtocolError::new(
                        "unknown_run",
                        "this connection watches another run; open one per run or use the project stream",
                    ));
                };
                let belongs = match self.state.store.run_ref(&run_id).await {
                    Ok(Some(run)) => &run.project_id == project_id,
                    Ok(None) => false,
                    Err(e) => {
                        tracing::warn!(error = %e, "resume: run lookup failed");
                        return Err(ProtocolError::new(
                            "internal",
                            "could not look the run up; retry",
                        ));
                    }
                };
                if !belongs {
                    return Err(ProtocolError::new(
                        "unknown_run",
                        "no such run in this project",
                    ));
                }
                self.cursors.push(Cursor {
                    run_id: run_id.clone(),
                    sent: 0,
                    phase: Phase::Replay,
                });
                self.cursors.len() - 1
            }
        };
        // What is queued for this run but not yet written is superseded by the replay.
        let before = self.out.queue.len();
        self.out
            .queue
            .retain(|item| !matches!(item, Item::Event { cursor, .. } if *cursor == idx));
        if self.out.queue.len() != before {
            self.out.bytes = self.out.queue.iter().map(Item::len).sum();
        }
        if let Some(c) = self.cursors.get_mut(idx) {
            c.sent = after_seq;
            c.phase = Phase::Replay;
        }
        if self.cursors.iter().all(|c| c.phase != Phase::Grace) {
            self.grace_until = None;
        }
        self.metrics().transport(Transport::Ws).replays.inc();
        Ok(())
    }

    fn on_bus(&mut self, first: Result<BusItem, RecvError>) -> Flow {
        let mut next = Some(first);
        let mut n = 0;
        while let Some(result) = next.take() {
            match result {
                Ok(item) => {
                    if let Some(flow) = self.on_live(item) {
                        return flow;
                    }
                }
                Err(RecvError::Lagged(_)) => self.lagged(),
                Err(RecvError::Closed) => {
                    return Flow::Close(close::TRY_AGAIN_LATER, "event bus closed".into())
                }
            }
            n += 1;
            if n < BUS_BATCH && !self.full() {
                next = match self.rx.try_recv() {
                    Ok(item) => Some(Ok(item)),
                    Err(TryRecvError::Lagged(k)) => Some(Err(RecvError::Lagged(k))),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Closed) => Some(Err(RecvError::Closed)),
                };
            }
        }
        Flow::Continue
    }

    /// The bus dropped messages for us: re-read every run from where it stands.
    fn lagged(&mut self) {
        self.metrics().bus_lagged.inc();
        let mut any = false;
        for c in &mut self.cursors {
            if c.phase == Phase::Live {
                c.phase = Phase::Replay;
                any = true;
            }
        }
        if any {
            self.metrics().transport(Transport::Ws).replays.inc();
        }
        if matches!(self.scope, Scope::Project { .. }) {
            self.project_lagged = true;
        }
    }

    fn on_live(&mut self, item: BusItem) -> Option<Flow> {
        let event = &item.event;
        let idx = match self.cursors.iter().position(|c| c.run_id == event.run_id) {
            Some(i) => i,
            None => {
                if !matches!(self.scope, Scope::Project { .. }) {
                    return None;
                }
                // A run seen for the first time on a project stream: live from here, or from
                // its first event if bus messages were lost since the connection opened.
                let (sent, phase) = if self.project_lagged {
                    (0, Phase::Replay)
                } else {
                    (event.seq.saturating_sub(1), Phase::Live)
                };
                self.cursors.push(Cursor {
                    run_id: event.run_id.clone(),
                    sent,
                    phase,
                });
                self.cursors.len() - 1
            }
        };
        let cursor = self.cursors.get_mut(idx)?;
        if cursor.phase != Phase::Live || event.seq <= cursor.sent {
            return None;
        }
        if event.seq > cursor.sent + 1 {
            // A gap: the missing events are in the store (persisted before publish).
            cursor.phase = Phase::Replay;
            self.metrics().transport(Transport::Ws).replays.inc();
            return None;
        }
        cursor.sent = event.seq;
        self.out.push(Item::Event {
            json: item.json().clone(),
            kind: event.kind,
            cursor: idx,
            at: Some(item.at),
        });
        None
    }

    /// Fills the queue from the store for runs in `Replay`, page by page, while it has room.
    async fn pump_replays(&mut self) -> Flow {
        loop {
            let page = self.config().replay_page;
            let Some(idx) = self.cursors.iter().position(|c| c.phase == Phase::Replay) else {
                return Flow::Continue;
            };
            if self.full() {
                return Flow::Continue;
            }
            let (run_id, after) = match self.cursors.get(idx) {
                Some(c) => (c.run_id.clone(), c.sent),
                None => return Flow::Continue,
            };
            let read = replay::read_page(
                self.state.store.as_ref(),
                self.state.realtime.snapshots.as_ref(),
                &run_id,
                after,
                page,
            );
            let page = match timeout(std::time::Duration::from_secs(10), read).await {
                Ok(Ok(page)) => page,
                Ok(Err(StoreError::NotFound(_))) => {
                    return Flow::Close(close::NOT_FOUND, "the run no longer exists".into())
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, run = %run_id, "replay failed");
                    return Flow::Close(
                        close::INTERNAL,
                        "could not read the event log; reconnect and resume".into(),
                    );
                }
                Err(_) => {
                    tracing::warn!(run = %run_id, "replay timed out");
                    return Flow::Close(
                        close::INTERNAL,
                        "the event log did not answer; reconnect and resume".into(),
                    );
                }
            };
            let m = self.state.metrics.transport(Transport::Ws);
            if let Some(snapshot) = page.snapshot {
                m.snapshots.inc();
                self.out.push(Item::Event {
                    json: envelope_json(&snapshot),
                    kind: snapshot.kind,
                    cursor: idx,
                    at: None,
                });
            }
            m.replayed_events.add(page.events.len() as u64);
            for event in &page.events {
                if event.seq > after {
                    self.out.push(Item::Event {
                        json: envelope_json(event),
                        kind: event.kind,
                        cursor: idx,
                        at: None,
                    });
                }
            }
            if let Some(c) = self.cursors.get_mut(idx) {
                c.sent = page.cursor;
                if page.done {
                    c.phase = Phase::Live;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origin_must_match_host_for_cookies() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h), "no Origin: not a browser");
        h.insert(header::HOST, HeaderValue::from_static("app.example:3000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://app.example:3000"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
