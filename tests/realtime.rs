//! Real-time delivery end to end: a real server on 127.0.0.1:0, real WebSocket clients
//! (tokio-tungstenite), SSE and long polling over reqwest, fixtures seeded with SQL and events
//! published the way the orchestrator does (`append_events`, then `bus.publish`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use youmeyou::server::auth::tokens::{build_claims, session_claims, KeyRing, BUILD_TTL_SECS};
use youmeyou::server::metrics::Transport;
use youmeyou::server::realtime::limits::RealtimeConfig;
use youmeyou::server::realtime::{protocol, Realtime};
use youmeyou::server::secrets::Secret;
use youmeyou::server::state::AppState;
use youmeyou::server::store::sqlite::SqliteStore;
use youmeyou::server::ServeConfig;
use youmeyou_core::model::{EventType, NewEvent};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    state: AppState,
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

fn test_config() -> RealtimeConfig {
    RealtimeConfig {
        resume_grace: Duration::from_millis(150),
        auth_timeout: Duration::from_millis(500),
        ..RealtimeConfig::default()
    }
}

async fn start() -> Server {
    start_with(test_config()).await
}

async fn start_with(rt: RealtimeConfig) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig::for_tests(dir.path().to_path_buf());
    let url = format!("sqlite://{}", dir.path().join("youmeyou.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    let mut state = AppState::with_store(config, Arc::new(store.clone()))
        .await
        .unwrap();
    state.realtime = Arc::new(Realtime::new(rt));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = youmeyou::server::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        addr,
        state,
        store,
        _dir: dir,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Server {
    fn http(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// A user row and a session token for it.
    async fn user(&self, id: &str) -> String {
        sqlx::query("INSERT INTO users (id, email, password_hash, tier, created_at) VALUES (?, ?, 'x', 'free', '2026-01-01T00:00:00Z')")
            .bind(id)
            .bind(format!("{id}@example.com"))
            .execute(self.store.pool())
            .await
            .unwrap();
        self.state
            .keys
            .issue(&session_claims(id, "free", now(), format!("jti-{id}")))
            .unwrap()
    }

    async fn project(&self, id: &str, owner: &str) {
        sqlx::query("INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES (?, ?, ?, '{}', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
            .bind(id)
            .bind(owner)
            .bind(format!("project {id}"))
            .execute(self.store.pool())
            .await
            .unwrap();
    }

    async fn run(&self, id: &str, project: &str, owner: &str) {
        sqlx::query("INSERT INTO runs (id, project_id, owner_id, prompt, status, created_at) VALUES (?, ?, ?, 'build it', 'running', '2026-01-01T00:00:00Z')")
            .bind(id)
            .bind(project)
            .bind(owner)
            .execute(self.store.pool())
            .await
            .unwrap();
    }

    fn build_token(&self, owner: &str, run: &str) -> String {
        self.state
            .keys
            .issue(&build_claims(owner, run, now(), format!("b-{run}"), None))
            .unwrap()
    }

    fn expired_build_token(&self, owner: &str, run: &str) -> String {
        self.state
            .keys
            .issue(&build_claims(
                owner,
                run,
                now() - BUILD_TTL_SECS - 600,
                "old".into(),
                None,
            ))
            .unwrap()
    }

    /// Appends `n` events to the run and publishes them, as the orchestrator does.
    async fn publish(&self, project: &str, run: &str, n: usize) -> Vec<u64> {
        self.publish_sized(project, run, n, 0).await
    }

    async fn publish_sized(&self, project: &str, run: &str, n: usize, pad: usize) -> Vec<u64> {
        let events: Vec<NewEvent> = (0..n)
            .map(|i| {
                NewEvent::new(
                    EventType::TaskProgress,
                    json!({"taskId": "t1", "progress": i, "pad": "x".repeat(pad)}),
                )
            })
            .collect();
        let stored = self
            .state
            .store
            .append_events(run, &events, "2026-01-01T00:00:00.000Z")
            .await
            .unwrap();
        let seqs = stored.iter().map(|e| e.seq).collect();
        for e in stored {
            self.state.bus.publish(project, Arc::new(e));
        }
        seqs
    }

    async fn metrics(&self) -> String {
        reqwest::get(self.http("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits until `cond` holds (a condition on server state, checked every few ms).
    async fn until(&self, what: &str, cond: impl Fn(&AppState) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !cond(&self.state) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// One user with a project and a run, the usual starting point.
async fn alice(server: &Server) -> String {
    let token = server.user("alice").await;
    server.project("pa", "alice").await;
    server.run("ra", "pa", "alice").await;
    token
}

async fn connect(
    url: &str,
    bearer: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = url.into_client_request().unwrap();
    if let Some(t) = bearer {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    connect_async_req(req).await
}

async fn connect_async_req(
    req: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// The next text message as JSON (pings and pongs skipped).
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no message within the time limit")
            .expect("stream ended")
            .expect("websocket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The close code the server sends next (text messages before it are skipped).
async fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no close within the time limit")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// Reads event envelopes (objects with a `seq`) until one has `seq == last` for `run`.
async fn events_until(ws: &mut Ws, run: &str, last: u64) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v = next_json(ws).await;
        if v.get("seq").is_none() {
            continue;
        }
        let done = v["runId"] == run && v["seq"].as_u64() == Some(last);
        out.push(v);
        if done {
            return out;
        }
    }
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

// ─────────────────────────────── WebSocket ───────────────────────────────

#[tokio::test]
async fn ws_welcome_then_full_history_from_seq_1_then_live() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 3).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), Some(&token))
        .await
        .unwrap();
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "connected");
    assert!(hello["clientId"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(hello["timestamp"].as_str().is_some());
    assert_eq!(hello["authenticated"], true);
    // No resume within the grace period: the whole history, then live.
    let history = events_until(&mut ws, "ra", 3).await;
    assert_eq!(seqs(&history), vec![1, 2, 3]);
    assert_eq!(history[0]["type"], "taskProgress");
    assert_eq!(history[0]["runId"], "ra");
    assert!(history[0]["ts"].is_string() && history[0]["data"].is_object());
    s.publish("pa", "ra", 2).await;
    assert_eq!(seqs(&events_until(&mut ws, "ra", 5).await), vec![4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_resume_replays_then_goes_live_without_gaps_or_duplicates_while_events_are_published() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 50).await;
    let publisher = {
        let state = s.state.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                let stored = state
                    .store
                    .append_events(
                        "ra",
                        &[NewEvent::new(EventType::TaskProgress, json!({"i": i}))],
                        "t",
                    )
                    .await
                    .unwrap();
                for e in stored {
                    state.bus.publish("pa", Arc::new(e));
                }
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    // Two ways to resume: the message, and `?afterSeq=` on the URL.
    let mut a = connect(&s.ws_url("/api/ws/runs/ra"), Some(&token))
        .await
        .unwrap();
    assert_eq!(next_json(&mut a).await["type"], "connected");
    send(
        &mut a,
        json!({"type": "resume", "runId": "ra", "afterSeq": 20}),
    )
    .await;
    let mut b = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=35"), Some(&token))
        .await
        .unwrap();
    assert_eq!(next_json(&mut b).await["type"], "connected");
    let got_a = seqs(&events_until(&mut a, "ra", 250).await);
    let got_b = seqs(&events_until(&mut b, "ra", 250).await);
    publisher.await.unwrap();
    assert_eq!(
        got_a,
        (21..=250).collect::<Vec<_>>(),
        "resume message: gap or duplicate"
    );
    assert_eq!(
        got_b,
        (36..=250).collect::<Vec<_>>(),
        "afterSeq query: gap or duplicate"
    );
}

#[tokio::test]
async fn ws_ping_is_answered_with_pong() {
    let s = start().await;
    let token = alice(&s).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await, json!({"type": "pong"}));
}

#[tokio::test]
async fn ws_project_stream_carries_every_run_including_ones_started_after_connecting() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 4).await;
    let mut ws = connect(&s.ws_url("/api/ws/projects/pa"), Some(&token))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "connected");
    // A run created after the connection: its events arrive from seq 1.
    s.run("rb", "pa", "alice").await;
    s.publish("pa", "rb", 3).await;
    let got = events_until(&mut ws, "rb", 3).await;
    assert_eq!(seqs(&got), vec![1, 2, 3]);
    assert!(got.iter().all(|e| e["runId"] == "rb"));
    // Live events of the older run, then its history on resume (replay is per run).
    s.publish("pa", "ra", 1).await;
    let got = events_until(&mut ws, "ra", 5).await;
    assert_eq!(seqs(&got), vec![5]);
    send(
        &mut ws,
        json!({"type": "resume", "runId": "ra", "afterSeq": 2}),
    )
    .await;
    let got = events_until(&mut ws, "ra", 5).await;
    assert_eq!(seqs(&got), vec![3, 4, 5]);
    // A run of another project cannot be resumed here.
    s.project("pz", "alice").await;
    s.run("rz", "pz", "alice").await;
    send(
        &mut ws,
        json!({"type": "resume", "runId": "rz", "afterSeq": 0}),
    )
    .await;
    let err = next_json(&mut ws).await;
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "unknown_run");
}

#[tokio::test]
async fn ws_first_message_auth_with_a_build_token() {
    let s = start().await;
    alice(&s).await;
    s.publish("pa", "ra", 2).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), None).await.unwrap();
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "connected");
    assert_eq!(hello["authenticated"], false);
    // Nothing but auth is accepted before it.
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["code"], "auth_required");
    send(
        &mut ws,
        json!({"type": "auth", "token": s.build_token("alice", "ra")}),
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "authenticated");
    send(
        &mut ws,
        json!({"type": "resume", "runId": "ra", "afterSeq": 1}),
    )
    .await;
    assert_eq!(seqs(&events_until(&mut ws, "ra", 2).await), vec![2]);
}

#[tokio::test]
async fn ws_resume_beyond_the_log_sends_a_snapshot_first_and_pruned_history_too() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 5).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    send(
        &mut ws,
        json!({"type": "resume", "runId": "ra", "afterSeq": 99}),
    )
    .await;
    let snap = next_json(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["seq"], 5);
    assert_eq!(snap["data"]["lastSeq"], 5);
    assert_eq!(snap["data"]["status"], "running");
    assert_eq!(snap["data"]["reason"], "resume_beyond_last_seq");
    s.publish("pa", "ra", 1).await;
    assert_eq!(seqs(&events_until(&mut ws, "ra", 6).await), vec![6]);
    // Pruned history: never a silent gap.
    sqlx::query("DELETE FROM events WHERE run_id = 'ra' AND seq <= 3")
        .execute(s.store.pool())
        .await
        .unwrap();
    send(
        &mut ws,
        json!({"type": "resume", "runId": "ra", "afterSeq": 0}),
    )
    .await;
    let snap = next_json(&mut ws).await;
    assert_eq!(
        (snap["type"].as_str(), snap["seq"].as_u64()),
        (Some("snapshot"), Some(3))
    );
    assert_eq!(snap["data"]["reason"], "history_pruned");
    assert_eq!(seqs(&events_until(&mut ws, "ra", 6).await), vec![4, 5, 6]);
}

// One thread: the publishing loop below does not yield, so the connection cannot keep up with
// the bus and is certain to lag.
#[tokio::test]
async fn a_subscriber_that_lags_behind_the_bus_recovers_the_gap_from_the_store() {
    let s = start().await;
    let token = alice(&s).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    s.until("connection live", |st| {
        st.metrics.transport(Transport::Ws).active.get() == 1
    })
    .await;
    // 2,000 events published in one go: more than the bus channel holds (256).
    s.publish("pa", "ra", 2000).await;
    let got = seqs(&events_until(&mut ws, "ra", 2000).await);
    assert_eq!(got, (1..=2000).collect::<Vec<_>>());
    assert!(
        s.state.metrics.bus_lagged.get() > 0,
        "the test did not make the subscriber lag"
    );
}

#[tokio::test]
async fn bad_input_gets_error_messages_without_closing_and_abuse_closes() {
    let s = start().await;
    let token = alice(&s).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    for (input, code) in [
        ("{not json", "invalid_json"),
        (r#"{"type":"subscribe"}"#, "unknown_type"),
        (
            r#"{"type":"resume","runId":"ra","afterSeq":-4}"#,
            "invalid_message",
        ),
        ("[]", "invalid_message"),
    ] {
        ws.send(Message::text(input)).await.unwrap();
        let e = next_json(&mut ws).await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some(code)),
            "{input}"
        );
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(next_json(&mut ws).await["code"], "unsupported");
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(
        next_json(&mut ws).await["type"],
        "pong",
        "still open after bad input"
    );

    // Over 64 KiB: closed with 1009.
    let mut big = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut big).await;
    let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let _ = big.send(Message::text(huge)).await;
    assert_eq!(close_code(&mut big).await, Some(protocol::close::TOO_BIG));

    // A flood: refused with one rate_limited error, then closed with 4029.
    let mut flood = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut flood).await;
    for _ in 0..120 {
        if flood
            .send(Message::text(r#"{"type":"ping"}"#))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut pongs = 0;
    let mut limited = 0;
    let code = loop {
        match tokio::time::timeout(WAIT, flood.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                match v["type"].as_str() {
                    Some("pong") => pongs += 1,
                    Some("error") if v["code"] == "rate_limited" => limited += 1,
                    _ => {}
                }
            }
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            _ => break None,
        }
    };
    assert_eq!(code, Some(protocol::close::RATE_LIMITED));
    assert_eq!(pongs, 40, "the burst is allowed");
    assert_eq!(limited, 1, "one error per window, not one per message");
}

#[tokio::test]
async fn heartbeat_pings_and_a_silent_peer_is_dropped_and_idle_connections_close() {
    let s = start_with(RealtimeConfig {
        heartbeat: Duration::from_millis(100),
        dead_peer_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(900),
        ..test_config()
    })
    .await;
    let token = alice(&s).await;
    // A live client answers pings (tungstenite does) and sees them.
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    let mut pinged = false;
    let started = Instant::now();
    let code = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Ping(_))) => pinged = true,
            Some(Ok(Message::Close(f))) => break f.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            _ => break None,
        }
    };
    assert!(pinged, "no heartbeat ping");
    assert_eq!(
        code,
        Some(protocol::close::NORMAL),
        "idle timeout closes normally"
    );
    assert!(started.elapsed() >= Duration::from_millis(800));

    // A peer that never sends a frame (no pong) is dropped after the dead-peer timeout.
    let mut raw = raw_ws(&s, "/api/ws/runs/ra?afterSeq=0", &token, None).await;
    let t0 = Instant::now();
    let mut buf = vec![0u8; 4096];
    let mut closed = false;
    while let Ok(Ok(n)) = tokio::time::timeout(WAIT, raw.read(&mut buf)).await {
        if n == 0 {
            closed = true;
            break;
        }
    }
    assert!(closed, "the silent peer was not dropped");
    assert!(
        t0.elapsed() >= Duration::from_millis(350),
        "dropped too early: {:?}",
        t0.elapsed()
    );
}

/// A WebSocket handshake over a raw socket (optionally with a tiny receive buffer), returning
/// the socket right after the 101 response.
async fn raw_ws(s: &Server, path: &str, token: &str, recv_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    let mut stream = socket.connect(s.addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n",
        s.addr
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// A server whose WebSocket queue is small (64 events or 256 KiB) and which closes a client
/// whose full queue does not drain for 500 ms.
async fn slow_consumer_server() -> Server {
    start_with(RealtimeConfig {
        queue_events: 64,
        queue_bytes: 256 * 1024,
        replay_page: 32,
        slow_consumer_timeout: Duration::from_millis(500),
        ..test_config()
    })
    .await
}

/// Reads whatever was in flight on a raw socket until the server ends the connection (close
/// 4008 if that frame got through, else EOF or reset).
async fn read_until_closed(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
            Err(_) => panic!("the slow connection was not closed"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_closed_with_4008_and_others_keep_receiving() {
    let s = slow_consumer_server().await;
    let token = alice(&s).await;
    let mut good = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut good).await;
    // The slow one: a 4 KiB receive buffer and it never reads.
    let mut slow = raw_ws(&s, "/api/ws/runs/ra?afterSeq=0", &token, Some(4096)).await;
    s.until("both live", |st| {
        st.metrics.transport(Transport::Ws).active.get() == 2
    })
    .await;
    let reader = tokio::spawn(async move {
        let got = events_until(&mut good, "ra", 3000).await;
        (seqs(&got), good)
    });
    // 3,000 events of ~4 KiB (12 MB): far more than the socket buffers and the queue hold.
    for _ in 0..30 {
        s.publish_sized("pa", "ra", 100, 4000).await;
        tokio::task::yield_now().await;
    }
    s.until("slow consumer closed", |st| {
        st.metrics
            .transport(Transport::Ws)
            .slow_consumer_disconnects
            .get()
            == 1
    })
    .await;
    let (got, _good) = reader.await.unwrap();
    assert_eq!(
        got,
        (1..=3000).collect::<Vec<_>>(),
        "the reading client missed events"
    );
    read_until_closed(&mut slow).await;
    s.until("slow connection released", |st| {
        st.metrics.transport(Transport::Ws).active.get() == 1
    })
    .await;
    let m = s.metrics().await;
    assert!(
        m.contains("youmeyou_realtime_slow_consumer_disconnects_total{transport=\"ws\"} 1"),
        "{m}"
    );
    // And it can resume from where it was.
    let mut again = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=2990"), Some(&token))
        .await
        .unwrap();
    assert_eq!(
        seqs(&events_until(&mut again, "ra", 3000).await),
        (2991..=3000).collect::<Vec<_>>()
    );
}

/// A client that stops reading while it is being replayed from the log (it connected late, or
/// the bus lagged it) is a slow consumer too. A replay refills the queue only to half its bound,
/// so "the queue is full" alone never held for it and it was kept forever (a CI failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_during_replay_is_closed_with_4008() {
    let s = slow_consumer_server().await;
    let token = alice(&s).await;
    // 3,000 events of ~4 KiB already in the log: far more than the socket buffers hold.
    for _ in 0..30 {
        s.publish_sized("pa", "ra", 100, 4000).await;
    }
    let mut slow = raw_ws(&s, "/api/ws/runs/ra?afterSeq=0", &token, Some(4096)).await;
    s.until("slow consumer closed", |st| {
        st.metrics
            .transport(Transport::Ws)
            .slow_consumer_disconnects
            .get()
            == 1
    })
    .await;
    read_until_closed(&mut slow).await;
    s.until("slow connection released", |st| {
        st.metrics.transport(Transport::Ws).active.get() == 0
    })
    .await;
}

// ─────────────────────────────── Auth and isolation ───────────────────────────────

#[tokio::test]
async fn a_user_never_receives_another_users_events_on_any_transport() {
    let s = start().await;
    let alice_token = alice(&s).await;
    let bob_token = s.user("bob").await;
    s.project("pb", "bob").await;
    s.run("rb", "pb", "bob").await;
    s.publish("pa", "ra", 2).await;

    // Alice's run and project are "not found" for Bob everywhere.
    for path in ["/api/ws/runs/ra", "/api/ws/projects/pa"] {
        match connect(&s.ws_url(path), Some(&bob_token)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 404, "{path}")
            }
            other => panic!("{path}: expected 404, got {:?}", other.map(|_| ())),
        }
    }
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), None).await.unwrap();
    next_json(&mut ws).await;
    send(&mut ws, json!({"type": "auth", "token": bob_token})).await;
    assert_eq!(close_code(&mut ws).await, Some(protocol::close::NOT_FOUND));
    let http = reqwest::Client::new();
    for path in ["/events/ra", "/api/runs/ra/events"] {
        let r = http
            .get(s.http(path))
            .bearer_auth(&bob_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }

    // Bob's own streams carry only his run, while Alice's run is busy.
    let mut bob_ws = connect(&s.ws_url("/api/ws/projects/pb"), Some(&bob_token))
        .await
        .unwrap();
    next_json(&mut bob_ws).await;
    let mut bob_sse = Sse::open(&s, "/events/rb", &bob_token, None).await;
    s.publish("pa", "ra", 20).await;
    s.publish("pb", "rb", 1).await;
    let first = events_until(&mut bob_ws, "rb", 1).await;
    assert_eq!(first.len(), 1, "bob saw: {first:?}");
    let sse = bob_sse.events_until(1).await;
    assert!(sse.iter().all(|e| e["runId"] == "rb"));
    let poll: Value = http
        .get(s.http("/api/runs/rb/events?after=0"))
        .bearer_auth(&bob_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(poll["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["runId"] == "rb"));
    let _ = alice_token;
}

#[tokio::test]
async fn expired_forged_and_other_run_tokens_are_refused_on_every_transport() {
    let s = start().await;
    alice(&s).await;
    s.run("ra2", "pa", "alice").await;
    let expired = s.expired_build_token("alice", "ra");
    let forged = KeyRing::new(&Secret::new(vec![9u8; 64]), &[])
        .issue(&build_claims("alice", "ra", now(), "f".into(), None))
        .unwrap();
    let other_run = s.build_token("alice", "ra2");

    // WebSocket, first-message auth: 4401 for expired and forged, 4403 for another run's token.
    for (token, code) in [
        (&expired, protocol::close::UNAUTHORIZED),
        (&forged, protocol::close::UNAUTHORIZED),
        (&other_run, protocol::close::FORBIDDEN),
    ] {
        let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), None).await.unwrap();
        next_json(&mut ws).await;
        send(&mut ws, json!({"type": "auth", "token": token})).await;
        assert_eq!(close_code(&mut ws).await, Some(code));
    }
    // A build token cannot watch a project.
    let mut ws = connect(&s.ws_url("/api/ws/projects/pa"), None)
        .await
        .unwrap();
    next_json(&mut ws).await;
    send(
        &mut ws,
        json!({"type": "auth", "token": s.build_token("alice", "ra")}),
    )
    .await;
    assert_eq!(close_code(&mut ws).await, Some(protocol::close::FORBIDDEN));
    // No auth at all within the time allowed: 4401.
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), None).await.unwrap();
    next_json(&mut ws).await;
    assert_eq!(
        close_code(&mut ws).await,
        Some(protocol::close::UNAUTHORIZED)
    );
    // A bearer header that does not verify: refused before the upgrade.
    match connect(&s.ws_url("/api/ws/runs/ra"), Some(&forged)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }

    // SSE with ?token= and polling with a bearer header: 401, 401, 403.
    let http = reqwest::Client::new();
    for (token, status) in [(&expired, 401), (&forged, 401), (&other_run, 403)] {
        let r = http
            .get(s.http(&format!("/events/ra?token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "sse");
        let r = http
            .get(s.http("/api/runs/ra/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "poll");
    }
    // The right build token works on SSE through ?token=.
    let good = s.build_token("alice", "ra");
    s.publish("pa", "ra", 1).await;
    let r = http
        .get(s.http(&format!("/events/ra?token={good}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

// ─────────────────────────────── SSE and polling ───────────────────────────────

struct Sse {
    body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>,
    >,
    buf: String,
    pub headers: reqwest::header::HeaderMap,
    pub comments: usize,
}

impl Sse {
    async fn open(s: &Server, path: &str, token: &str, last_event_id: Option<u64>) -> Sse {
        let mut req = reqwest::Client::new().get(s.http(path)).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 200);
        let headers = r.headers().clone();
        Sse {
            body: Box::pin(r.bytes_stream()),
            buf: String::new(),
            headers,
            comments: 0,
        }
    }

    /// The next event (`id` checked against the envelope's seq).
    async fn next_event(&mut self) -> Value {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut id = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.parse::<u64>().unwrap());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(serde_json::from_str::<Value>(v).unwrap());
                    } else if line.starts_with(':') {
                        self.comments += 1;
                    }
                }
                if let Some(data) = data {
                    assert_eq!(
                        Some(data["seq"].as_u64().unwrap()),
                        id,
                        "id must be the seq"
                    );
                    return data;
                }
                continue;
            }
            let chunk = tokio::time::timeout(WAIT, self.body.next())
                .await
                .expect("no SSE data within the time limit")
                .expect("SSE stream ended")
                .unwrap();
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn events_until(&mut self, last: u64) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let e = self.next_event().await;
            let done = e["seq"].as_u64() == Some(last);
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

#[tokio::test]
async fn sse_replays_after_last_event_id_then_streams_live() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 5).await;
    let mut sse = Sse::open(&s, "/events/ra", &token, Some(2)).await;
    assert_eq!(sse.headers["content-type"], "text/event-stream");
    assert_eq!(sse.headers["cache-control"], "no-cache");
    assert_eq!(sse.headers["x-accel-buffering"], "no");
    assert_eq!(seqs(&sse.events_until(5).await), vec![3, 4, 5]);
    s.publish("pa", "ra", 2).await;
    assert_eq!(seqs(&sse.events_until(7).await), vec![6, 7]);
    // ?lastEventId= does the same for clients that cannot set the header.
    let mut q = Sse::open(&s, "/events/ra?lastEventId=6", &token, None).await;
    assert_eq!(seqs(&q.events_until(7).await), vec![7]);
    // Without either: everything from seq 1.
    let mut all = Sse::open(&s, "/events/ra", &token, None).await;
    assert_eq!(
        seqs(&all.events_until(7).await),
        (1..=7).collect::<Vec<_>>()
    );
    assert!(all.comments >= 1, "the opening comment");
}

#[tokio::test]
async fn sse_sends_comment_heartbeats() {
    let s = start_with(RealtimeConfig {
        sse_heartbeat: Duration::from_millis(100),
        ..test_config()
    })
    .await;
    let token = alice(&s).await;
    let r = reqwest::Client::new()
        .get(s.http("/events/ra"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut body = r.bytes_stream();
    let mut text = String::new();
    while text.matches(": heartbeat").count() < 2 {
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_with_wait_returns_as_soon_as_an_event_exists() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 2).await;
    let http = reqwest::Client::new();
    // Without wait: at once.
    let r: Value = http
        .get(s.http("/api/runs/ra/events?after=0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seqs(r["events"].as_array().unwrap()), vec![1, 2]);
    assert_eq!(r["lastSeq"], 2);
    // With wait: held until the next event is published, not until the 25 s are over. (The
    // bound is the wait itself, not a speed budget: only an answer that waited for the timeout
    // takes 25 s.)
    let started = Instant::now();
    let poll = {
        let url = s.http("/api/runs/ra/events?after=2&wait=25");
        let http = http.clone();
        let token = token.clone();
        tokio::spawn(async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    s.until("the poll is waiting", |st| {
        st.metrics.transport(Transport::Poll).active.get() == 1
    })
    .await;
    s.publish("pa", "ra", 1).await;
    let r = poll.await.unwrap();
    assert_eq!(seqs(r["events"].as_array().unwrap()), vec![3]);
    assert_eq!(r["lastSeq"], 3);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "held {:?}: the poll waited for its timeout, not for the event",
        started.elapsed()
    );
    // A short wait with nothing new: empty after about that long.
    let t = Instant::now();
    let r: Value = http
        .get(s.http("/api/runs/ra/events?after=3&wait=0.3"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["events"], json!([]));
    assert!(t.elapsed() >= Duration::from_millis(250));
    // Validation.
    for q in ["after=x", "wait=31", "wait=-1", "limit=0", "limit=5000"] {
        let r = http
            .get(s.http(&format!("/api/runs/ra/events?{q}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_query", "{q}");
    }
    // Beyond the log: a snapshot says so.
    let r: Value = http
        .get(s.http("/api/runs/ra/events?after=50"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["events"][0]["type"], "snapshot");
    assert_eq!(r["events"][0]["seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_three_transports_deliver_the_identical_ordered_sequence() {
    let s = start().await;
    let token = alice(&s).await;
    s.publish("pa", "ra", 10).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    let mut sse = Sse::open(&s, "/events/ra", &token, None).await;
    let publisher = {
        let state = s.state.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let kind = if i % 3 == 0 {
                    EventType::TaskStarted
                } else {
                    EventType::TaskProgress
                };
                let stored = state
                    .store
                    .append_events(
                        "ra",
                        &[NewEvent::new(
                            kind,
                            json!({"taskId": format!("t{i}"), "i": i}),
                        )],
                        "2026-01-01T00:00:00Z",
                    )
                    .await
                    .unwrap();
                for e in stored {
                    state.bus.publish("pa", Arc::new(e));
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let poll = {
        let http = reqwest::Client::new();
        let base = s.http("/api/runs/ra/events");
        let token = token.clone();
        tokio::spawn(async move {
            let mut got: Vec<Value> = Vec::new();
            let mut after = 0;
            while after < 50 {
                let r: Value = http
                    .get(format!("{base}?after={after}&wait=5&limit=7"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for e in r["events"].as_array().unwrap() {
                    after = e["seq"].as_u64().unwrap();
                    got.push(e.clone());
                }
            }
            got
        })
    };
    let by_ws = events_until(&mut ws, "ra", 50).await;
    let by_sse = sse.events_until(50).await;
    let by_poll = poll.await.unwrap();
    publisher.await.unwrap();
    assert_eq!(seqs(&by_ws), (1..=50).collect::<Vec<_>>());
    assert_eq!(by_ws, by_sse, "WebSocket and SSE differ");
    assert_eq!(by_ws, by_poll, "WebSocket and polling differ");
}

// ─────────────────────────────── Metrics and shutdown ───────────────────────────────

#[tokio::test]
async fn metrics_expose_connections_events_latency_replays_and_fallbacks() {
    let s = start().await;
    let token = alice(&s).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    let mut sse = Sse::open(&s, "/events/ra?fallback=1", &token, None).await;
    s.publish("pa", "ra", 3).await;
    events_until(&mut ws, "ra", 3).await;
    sse.events_until(3).await;
    let m = s.metrics().await;
    for series in [
        "youmeyou_realtime_connections{transport=\"ws\"} 1",
        "youmeyou_realtime_connections{transport=\"sse\"} 1",
        "youmeyou_realtime_connections{transport=\"poll\"} 0",
        "youmeyou_events_published_total{type=\"taskProgress\"} 3",
        "youmeyou_events_delivered_total{transport=\"ws\",type=\"taskProgress\"} 3",
        "youmeyou_events_delivered_total{transport=\"sse\",type=\"taskProgress\"} 3",
        "youmeyou_event_delivery_latency_seconds_count{transport=\"ws\"} 3",
        "youmeyou_event_delivery_latency_seconds_bucket{transport=\"ws\",le=\"+Inf\"} 3",
        "youmeyou_realtime_fallbacks_total{transport=\"sse\"} 1",
        "youmeyou_realtime_replays_total{transport=\"ws\"} 1",
        "youmeyou_realtime_slow_consumer_disconnects_total{transport=\"ws\"} 0",
        "# TYPE youmeyou_event_delivery_latency_seconds histogram",
    ] {
        assert!(m.contains(series), "missing {series}\n{m}");
    }
    s.state.metrics.run_started();
    s.state.metrics.task_finished("completed");
    let m = s.metrics().await;
    assert!(m.contains("youmeyou_runs_started_total 1"));
    assert!(m.contains("youmeyou_tasks_finished_total{status=\"completed\"} 1"));
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1012_and_ends_sse_streams() {
    let s = start().await;
    let token = alice(&s).await;
    let mut ws = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&token))
        .await
        .unwrap();
    next_json(&mut ws).await;
    let r = reqwest::Client::new()
        .get(s.http("/events/ra"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut body = r.bytes_stream();
    body.next().await;
    s.state.realtime.shutdown();
    assert_eq!(close_code(&mut ws).await, Some(1012));
    let end =
        tokio::time::timeout(WAIT, async { while let Some(Ok(_)) = body.next().await {} }).await;
    assert!(end.is_ok(), "the SSE stream did not end");
    let _ = CloseCode::Normal;
}

// ─────────────────────────────── The inbound parser, fuzzed ───────────────────────────────

mod parser_fuzz {
    use super::protocol::{parse, ClientMessage};
    use proptest::prelude::*;

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(serde_json::Value::from),
            ".{0,20}".prop_map(serde_json::Value::from),
            prop_oneof![
                Just("type"),
                Just("resume"),
                Just("ping"),
                Just("auth"),
                Just("runId"),
                Just("afterSeq"),
                Just("token")
            ]
            .prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("type".to_string()),
                        Just("runId".to_string()),
                        Just("afterSeq".to_string()),
                        Just("token".to_string()),
                        ".{0,8}"
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn message() -> impl Strategy<Value = ClientMessage> {
        prop_oneof![
            Just(ClientMessage::Ping),
            ("[a-zA-Z0-9_-]{1,128}", any::<u64>())
                .prop_map(|(run_id, after_seq)| ClientMessage::Resume { run_id, after_seq }),
            "[A-Za-z0-9._-]{1,2000}".prop_map(|token| ClientMessage::Auth { token }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_strings_never_panic(text in ".{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_json_never_panics_and_errors_have_codes(v in json_value()) {
            if let Err(e) = parse(&v.to_string()) {
                prop_assert!(["invalid_json", "invalid_message", "unknown_type", "too_large"].contains(&e.code));
                prop_assert!(!e.message.is_empty());
                let reply: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
                prop_assert_eq!(&reply["type"], "error");
            }
        }

        #[test]
        fn valid_messages_round_trip(m in message()) {
            prop_assert_eq!(parse(&m.to_json()), Ok(m));
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_not_a_stack_overflow() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(&deep[..60_000]).err().map(|e| e.code),
            Some("invalid_json")
        );
    }
}

/// A connection does not outlive its token: when it expires the socket closes with 4401, for
/// header and first-message authentication alike; events before that are delivered.
#[tokio::test]
async fn an_open_websocket_closes_with_4401_when_its_token_expires() {
    let s = start().await;
    alice(&s).await;
    // Valid for two more seconds.
    let short = s
        .state
        .keys
        .issue(&build_claims(
            "alice",
            "ra",
            now() - BUILD_TTL_SECS + 2,
            "short".into(),
            None,
        ))
        .unwrap();
    let mut by_header = connect(&s.ws_url("/api/ws/runs/ra?afterSeq=0"), Some(&short))
        .await
        .unwrap();
    let mut by_message = connect(&s.ws_url("/api/ws/runs/ra"), None).await.unwrap();
    next_json(&mut by_message).await;
    send(&mut by_message, json!({"type": "auth", "token": short})).await;
    s.publish("pa", "ra", 3).await;
    for ws in [&mut by_header, &mut by_message] {
        assert_eq!(seqs(&events_until(ws, "ra", 3).await), [1, 2, 3]);
        assert_eq!(close_code(ws).await, Some(protocol::close::UNAUTHORIZED));
    }
}
