//! Real-time benchmarks (see bench/realtime/README.md and BENCHMARKS.md): one binary that is
//! either the YouMeYou bench server (`serve`: the real router, state and SQLite store, plus a
//! bench-only publisher endpoint) or the load client (`idle`, `fanout`, `replay`, `storm`) that
//! speaks YouMeYou's WebSocket protocol or Socket.IO 4's (Engine.IO v4 over WebSocket), so both
//! servers are measured by the same client. Loopback only; every loop is bounded and every
//! phase has a time limit.
//!
//! cargo run --release --features ssr --example realtime_bench -- serve --addr 127.0.0.1:4100
//! cargo run --release --features ssr --example realtime_bench -- fanout --target rust --url http://127.0.0.1:4100
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use youmeyou::server::auth::tokens::{build_claims, KeyRing};
use youmeyou::server::orchestrator::emitter::Emitter;
use youmeyou::server::realtime::limits::RealtimeConfig;
use youmeyou::server::realtime::Realtime;
use youmeyou::server::secrets::Secret;
use youmeyou::server::state::AppState;
use youmeyou::server::store::sqlite::SqliteStore;
use youmeyou::server::ServeConfig;
use youmeyou_core::model::{EventType, NewEvent};

const DEFAULT_SECRET: &str = "bench-secret-bench-secret-bench-secret!";
const OWNER: &str = "bench";
const PROJECT: &str = "bp";

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
enum Target {
    Rust,
    Socketio,
}

#[derive(Subcommand)]
enum Cmd {
    /// The YouMeYou server with bench fixtures: runs r0..r{runs-1} and, with --replay-events, a
    /// run "replay" holding that many events.
    Serve {
        #[arg(long, default_value = "127.0.0.1:4100")]
        addr: SocketAddr,
        #[arg(long, default_value_t = 1000)]
        runs: usize,
        #[arg(long, default_value_t = 0)]
        replay_events: usize,
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Opens `conns` authenticated WebSocket connections that stay idle; reports server RSS per
    /// connection.
    Idle {
        #[arg(long, value_enum)]
        target: Target,
        #[arg(long)]
        url: String,
        #[arg(long)]
        server_pid: u32,
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
        #[arg(long, default_value_t = 1000)]
        runs: usize,
        /// Source addresses to spread connections over (comma-separated).
        #[arg(long, default_value = "127.0.0.1")]
        sources: String,
        #[arg(long, default_value_t = 10)]
        hold_secs: u64,
    },
    /// `runs` × `watchers` connections; the server publishes `events_per_run` per run at `rate`
    /// events/s (0 = as fast as it can); reports delivered events/s and latency percentiles.
    Fanout {
        #[arg(long, value_enum)]
        target: Target,
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 100)]
        runs: usize,
        #[arg(long, default_value_t = 20)]
        watchers: usize,
        #[arg(long, default_value_t = 100)]
        events_per_run: usize,
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Bytes of padding in each event's data (the envelope ends up ~200 bytes with 60).
        #[arg(long, default_value_t = 60)]
        pad: usize,
        /// YouMeYou only: events per emit call (1 = one event per call, as the orchestrator).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// YouMeYou only: `queued` emits like the orchestrator's progress reports (queued in
        /// order, what piles up during a commit shares the next one); `awaited` waits for each
        /// emit's commit before the next (one commit per call).
        #[arg(long, value_enum, default_value_t = EmitMode::Queued)]
        emit: EmitMode,
    },
    /// A client `events` behind (the "replay" run) connects; time until it has all, in order.
    Replay {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 10_000)]
        events: u64,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// `clients` connections over `runs` runs with events flowing; all are dropped at once and
    /// resume from their last seq; reports time to resume and checks for gaps.
    Storm {
        #[arg(long)]
        url: String,
        #[arg(long, default_value_t = 5000)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        runs: usize,
        #[arg(long, default_value_t = 60)]
        events_per_run: usize,
        #[arg(long, default_value_t = 1000)]
        rate: u64,
    },
}

fn secret() -> String {
    std::env::var("BENCH_SECRET").unwrap_or_else(|_| DEFAULT_SECRET.to_string())
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Serve {
                addr,
                runs,
                replay_events,
                data_dir,
            } => serve(addr, runs, replay_events, data_dir).await,
            Cmd::Idle {
                target,
                url,
                server_pid,
                conns,
                runs,
                sources,
                hold_secs,
            } => idle(target, &url, server_pid, conns, runs, &sources, hold_secs).await,
            Cmd::Fanout {
                target,
                url,
                runs,
                watchers,
                events_per_run,
                rate,
                pad,
                batch,
                emit,
            } => {
                fanout(
                    target,
                    &url,
                    runs,
                    watchers,
                    events_per_run,
                    rate,
                    pad,
                    (batch, emit),
                )
                .await
            }
            Cmd::Replay {
                url,
                events,
                rounds,
            } => replay(&url, events, rounds).await,
            Cmd::Storm {
                url,
                clients,
                runs,
                events_per_run,
                rate,
            } => storm(&url, clients, runs, events_per_run, rate).await,
        }
    })
}

// ───────────────────────────── server ─────────────────────────────

#[derive(Clone)]
struct Bench {
    state: AppState,
    published: Arc<AtomicU64>,
    /// Store appends (commits) the publishers' emitters made.
    appends: Arc<AtomicU64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EmitMode {
    Queued,
    Awaited,
}

async fn serve(
    addr: SocketAddr,
    runs: usize,
    replay_events: usize,
    data_dir: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = data_dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let mut config = ServeConfig::for_tests(dir.clone());
    config.addr = addr;
    config.jwt_secret = Some(Secret::new(secret().into_bytes()));
    let url = format!("sqlite://{}", dir.join("youmeyou.db").display());
    let store = SqliteStore::open(&url).await?;
    let pool = store.pool().clone();
    sqlx::query("INSERT OR IGNORE INTO users (id, email, password_hash, tier, created_at) VALUES (?, 'bench@example.com', 'x', 'premium', '2026-01-01T00:00:00Z')")
        .bind(OWNER)
        .execute(&pool)
        .await?;
    sqlx::query("INSERT OR IGNORE INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES (?, ?, 'bench', '{}', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')")
        .bind(PROJECT)
        .bind(OWNER)
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    for i in 0..runs {
        sqlx::query("INSERT OR IGNORE INTO runs (id, project_id, owner_id, prompt, status, created_at) VALUES (?, ?, ?, 'bench', 'running', '2026-01-01T00:00:00Z')")
            .bind(format!("r{i}"))
            .bind(PROJECT)
            .bind(OWNER)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("INSERT OR IGNORE INTO runs (id, project_id, owner_id, prompt, status, created_at) VALUES ('replay', ?, ?, 'bench', 'running', '2026-01-01T00:00:00Z')")
        .bind(PROJECT)
        .bind(OWNER)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let mut state = AppState::with_store(config, Arc::new(store)).await?;
    state.realtime = Arc::new(Realtime::new(RealtimeConfig {
        max_connections: 1_000_000,
        max_connections_per_viewer: 1_000_000,
        idle_timeout: Duration::from_secs(7200),
        ..RealtimeConfig::default()
    }));
    if replay_events > 0 {
        let mut left = replay_events;
        while left > 0 {
            let n = left.min(1000);
            let events: Vec<NewEvent> = (0..n)
                .map(|_| {
                    NewEvent::new(
                        EventType::TaskProgress,
                        json!({"taskId": "t1", "sentAt": 0, "pad": "x".repeat(60)}),
                    )
                })
                .collect();
            state
                .store
                .append_events("replay", &events, &chrono::Utc::now().to_rfc3339())
                .await?;
            left -= n;
        }
    }
    let bench = Bench {
        state: state.clone(),
        published: Arc::new(AtomicU64::new(0)),
        appends: Arc::new(AtomicU64::new(0)),
    };
    let extra = Router::new()
        .route("/bench/publish", post(bench_publish))
        .route("/bench/stats", get(bench_stats))
        .with_state(bench);
    let app = youmeyou::server::router(state).merge(extra);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "youmeyou bench server on http://{addr} (pid {})",
        std::process::id()
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

async fn bench_stats(State(b): State<Bench>) -> Json<Value> {
    Json(json!({
        "rss": youmeyou::server::metrics::resident_memory_bytes(),
        "clients": b.state.metrics.transport(youmeyou::server::metrics::Transport::Ws).active.get(),
        "published": b.published.load(Ordering::Relaxed),
        "appends": b.appends.load(Ordering::Relaxed),
    }))
}

/// Publishes like the orchestrator: every run has its own publisher (runs execute
/// concurrently) emitting through the run's real `Emitter` (persisted, then published in `seq`
/// order; the store group-commits concurrent runs' appends). `queued` emits as the scheduler
/// emits progress reports; `awaited` waits for each emit's commit (one commit per call).
async fn bench_publish(State(b): State<Bench>, Json(spec): Json<Value>) -> Json<Value> {
    let runs: Vec<String> = spec["runs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let per_run = spec["eventsPerRun"].as_u64().unwrap_or(0) as usize;
    let rate = spec["rate"].as_u64().unwrap_or(0);
    let pad = spec["pad"].as_str().unwrap_or("").to_string();
    let batch = spec["batch"].as_u64().unwrap_or(1).max(1) as usize;
    let queued = spec["emit"].as_str() != Some("awaited");
    // Each run publishes its share of the total rate, its start staggered over one interval.
    let per_run_rate = rate as f64 / runs.len().max(1) as f64;
    let started = Instant::now();
    for (index, run) in runs.iter().enumerate() {
        let (b, run, pad) = (b.clone(), run.clone(), pad.clone());
        let offset = if per_run_rate > 0.0 {
            index as f64 / runs.len() as f64 / per_run_rate
        } else {
            0.0
        };
        tokio::spawn(async move {
            let emitter = Emitter::new(&run, PROJECT, b.state.store.clone(), b.state.bus.clone());
            let event = |pad: &str| {
                NewEvent::new(
                    EventType::TaskProgress,
                    json!({"taskId": "t1", "sentAt": micros_now(), "pad": pad}),
                )
            };
            let mut sent = 0usize;
            while sent < per_run {
                let n = batch.min(per_run - sent);
                if per_run_rate > 0.0 {
                    let due =
                        started + Duration::from_secs_f64(offset + sent as f64 / per_run_rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                if queued && n == 1 {
                    let e = event(&pad);
                    emitter.emit_detached(e.kind, e.data);
                    // Like a scheduler between two agent reports: let others run.
                    tokio::task::yield_now().await;
                } else {
                    let events: Vec<NewEvent> = (0..n).map(|_| event(&pad)).collect();
                    if let Err(e) = emitter.emit_all(events).await {
                        eprintln!("append failed: {e}");
                    }
                }
                b.published.fetch_add(n as u64, Ordering::Relaxed);
                sent += n;
            }
            emitter.flush().await;
            b.appends.fetch_add(emitter.appends(), Ordering::Relaxed);
        });
    }
    Json(json!({}))
}

async fn server_appends(stats_url: &str) -> Option<u64> {
    let stats: Value = reqwest::get(stats_url).await.ok()?.json().await.ok()?;
    stats["appends"].as_u64()
}

// ───────────────────────────── client ─────────────────────────────

/// Latency histogram: 16 sub-buckets per power of two of microseconds (±3 %).
struct Hist {
    buckets: Vec<AtomicU64>,
}

impl Hist {
    fn new() -> Self {
        Self {
            buckets: (0..64 * 16).map(|_| AtomicU64::new(0)).collect(),
        }
    }
    fn index(us: u64) -> usize {
        if us < 16 {
            return us as usize;
        }
        let p = 63 - us.leading_zeros() as usize; // ≥ 4
        let sub = ((us >> (p - 4)) & 15) as usize;
        (p - 3) * 16 + sub
    }
    fn upper(i: usize) -> u64 {
        if i < 16 {
            return i as u64;
        }
        let p = i / 16 + 3;
        let sub = (i % 16) as u64;
        ((16 + sub + 1) << (p - 4)) - 1
    }
    fn record(&self, us: u64) {
        if let Some(b) = self.buckets.get(Self::index(us)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
    fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        let target = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= target {
                return Self::upper(i);
            }
        }
        0
    }
}

#[derive(Default)]
struct Stats {
    connected: AtomicUsize,
    failed: AtomicUsize,
    events: AtomicU64,
    gaps: AtomicU64,
    dups: AtomicU64,
    done: AtomicUsize,
}

struct Client {
    target: Target,
    server: SocketAddr,
    host: String,
    keys: KeyRing,
}

impl Client {
    fn new(target: Target, url: &str) -> Self {
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let server: SocketAddr = host.parse().expect("--url must be http://IP:PORT");
        Self {
            target,
            server,
            host,
            keys: KeyRing::new(&Secret::new(secret().into_bytes()), &[]),
        }
    }

    fn token(&self, run: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.keys
            .issue(&build_claims(OWNER, run, now, format!("bench-{run}"), None))
            .expect("sign")
    }

    async fn publish(
        &self,
        runs: &[String],
        per_run: usize,
        rate: u64,
        pad: usize,
        (batch, emit): (usize, EmitMode),
    ) {
        let emit = match emit {
            EmitMode::Queued => "queued",
            EmitMode::Awaited => "awaited",
        };
        let body = json!({"runs": runs, "eventsPerRun": per_run, "rate": rate, "pad": "x".repeat(pad), "batch": batch, "emit": emit});
        let r = reqwest::Client::new()
            .post(format!("http://{}/bench/publish", self.host))
            .json(&body)
            .send()
            .await
            .expect("publish");
        assert!(r.status().is_success(), "publish: {}", r.status());
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects and authenticates one client; returns once the server said it is subscribed.
async fn open(
    client: &Client,
    run: &str,
    token: &str,
    after: u64,
    source: IpAddr,
) -> anyhow::Result<Socket> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(client.server).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    match client.target {
        Target::Rust => {
            let url = format!("ws://{}/api/ws/runs/{run}?afterSeq={after}", client.host);
            let mut req = url.into_client_request()?;
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse()?);
            let (mut ws, _) =
                tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await?;
            // The welcome.
            match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"connected\"") => Ok(ws),
                other => anyhow::bail!("no welcome: {other:?}"),
            }
        }
        Target::Socketio => {
            let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", client.host);
            let req = url.into_client_request()?;
            let (mut ws, _) =
                tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await?;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let msg = tokio::time::timeout_at(deadline.into(), ws.next()).await;
                let text = match msg {
                    Ok(Some(Ok(Message::Text(t)))) => t,
                    other => anyhow::bail!("socket.io handshake: {other:?}"),
                };
                let t = text.as_str();
                if t.starts_with('0') {
                    ws.send(Message::text(format!(
                        "40{}",
                        json!({"token": token, "afterSeq": after})
                    )))
                    .await?;
                } else if t.starts_with("40") {
                    return Ok(ws);
                } else if t.starts_with("44") {
                    anyhow::bail!("socket.io refused: {t}");
                }
            }
        }
    }
}

/// An event from a frame: `(seq, sentAt µs)`; answers Engine.IO pings.
async fn event_of(target: Target, ws: &mut Socket, msg: Message) -> Option<(u64, u64)> {
    let text = match msg {
        Message::Text(t) => t,
        _ => return None,
    };
    let t = text.as_str();
    let envelope: Value = match target {
        Target::Rust => {
            if !t.starts_with("{\"seq\"") {
                return None;
            }
            serde_json::from_str(t).ok()?
        }
        Target::Socketio => {
            if t == "2" {
                let _ = ws.send(Message::text("3")).await;
                return None;
            }
            let rest = t.strip_prefix("42")?;
            let v: Value = serde_json::from_str(rest).ok()?;
            v.get(1)?.clone()
        }
    };
    Some((
        envelope["seq"].as_u64()?,
        envelope["data"]["sentAt"].as_u64().unwrap_or(0),
    ))
}

fn sources(list: &str) -> Vec<IpAddr> {
    list.split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

async fn idle(
    target: Target,
    url: &str,
    server_pid: u32,
    conns: usize,
    runs: usize,
    source_list: &str,
    hold_secs: u64,
) -> anyhow::Result<()> {
    let client = Arc::new(Client::new(target, url));
    let srcs = sources(source_list);
    let tokens: Arc<Vec<String>> =
        Arc::new((0..runs).map(|i| client.token(&format!("r{i}"))).collect());
    // Warm the server (allocator, caches) with a few connections, then measure the baseline.
    let rss_before = rss_of(server_pid);
    let stats = Arc::new(Stats::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let mut handles = Vec::with_capacity(conns);
    for i in 0..conns {
        let permit = sem.clone().acquire_owned().await?;
        let client = client.clone();
        let tokens = tokens.clone();
        let stats = stats.clone();
        let mut stop = stop_rx.clone();
        let source = srcs[i % srcs.len()];
        handles.push(tokio::spawn(async move {
            let run = format!("r{}", i % runs);
            let ws = open(&client, &run, &tokens[i % runs], 0, source).await;
            drop(permit);
            let mut ws = match ws {
                Ok(ws) => ws,
                Err(e) => {
                    if stats.failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("connect failed: {e}");
                    }
                    return;
                }
            };
            stats.connected.fetch_add(1, Ordering::Relaxed);
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    m = ws.next() => match m {
                        Some(Ok(m)) => { event_of(client.target, &mut ws, m).await; }
                        _ => return,
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    while stats.connected.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) < conns
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let rss_after = rss_of(server_pid);
    let n = stats.connected.load(Ordering::Relaxed);
    let per = (rss_after.saturating_sub(rss_before)) as f64 / n.max(1) as f64;
    println!(
        "{}",
        json!({
            "bench": "idle", "target": format!("{target:?}"), "connected": n,
            "failed": stats.failed.load(Ordering::Relaxed),
            "connect_secs": connect_time.as_secs_f64(),
            "server_rss_before_mib": rss_before as f64 / 1048576.0,
            "server_rss_after_mib": rss_after as f64 / 1048576.0,
            "server_bytes_per_connection": per.round(),
        })
    );
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn fanout(
    target: Target,
    url: &str,
    runs: usize,
    watchers: usize,
    per_run: usize,
    rate: u64,
    pad: usize,
    (batch, emit): (usize, EmitMode),
) -> anyhow::Result<()> {
    let client = Arc::new(Client::new(target, url));
    let run_ids: Vec<String> = (0..runs).map(|i| format!("r{i}")).collect();
    let stats = Arc::new(Stats::default());
    let hist = Arc::new(Hist::new());
    let expected_total = (runs * watchers * per_run) as u64;
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let mut handles = Vec::new();
    // Each watcher resumes after the run's current head, so repeated rounds on one server work.
    let heads = Arc::new(run_heads(&client, &run_ids).await);
    for r in 0..runs {
        for _ in 0..watchers {
            let permit = sem.clone().acquire_owned().await?;
            let client = client.clone();
            let stats = stats.clone();
            let hist = hist.clone();
            let run = run_ids[r].clone();
            let token = client.token(&run);
            let head = heads[r];
            handles.push(tokio::spawn(async move {
                let ws = open(&client, &run, &token, head, IpAddr::from([127, 0, 0, 1])).await;
                drop(permit);
                let mut ws = match ws {
                    Ok(ws) => ws,
                    Err(e) => {
                        eprintln!("connect failed: {e}");
                        stats.failed.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                };
                stats.connected.fetch_add(1, Ordering::Relaxed);
                let mut last = head;
                let want = head + per_run as u64;
                while last < want {
                    let m = match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
                        Ok(Some(Ok(m))) => m,
                        _ => break,
                    };
                    if let Some((seq, sent)) = event_of(client.target, &mut ws, m).await {
                        let now = micros_now();
                        if seq != last + 1 {
                            if seq <= last {
                                stats.dups.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            stats.gaps.fetch_add(1, Ordering::Relaxed);
                        }
                        last = seq;
                        stats.events.fetch_add(1, Ordering::Relaxed);
                        if sent > 0 {
                            hist.record(now.saturating_sub(sent));
                        }
                    }
                }
                stats.done.fetch_add(1, Ordering::Relaxed);
                let _ = ws.close(None).await;
            }));
        }
    }
    let conns = runs * watchers;
    let deadline = Instant::now() + Duration::from_secs(120);
    while stats.connected.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) < conns
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t0 = Instant::now();
    let stats_url = format!("http://{}/bench/stats", client.host);
    let appends_before = server_appends(&stats_url).await;
    client
        .publish(&run_ids, per_run, rate, pad, (batch, emit))
        .await;
    let mut first_all: Option<Duration> = None;
    while stats.done.load(Ordering::Relaxed) + stats.failed.load(Ordering::Relaxed) < conns
        && t0.elapsed() < Duration::from_secs(180)
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if first_all.is_none() && stats.events.load(Ordering::Relaxed) >= expected_total {
            first_all = Some(t0.elapsed());
        }
    }
    let elapsed = first_all.unwrap_or_else(|| t0.elapsed());
    let delivered = stats.events.load(Ordering::Relaxed);
    let commits = match (appends_before, server_appends(&stats_url).await) {
        (Some(a), Some(b)) => json!(b - a),
        _ => Value::Null,
    };
    println!(
        "{}",
        json!({
            "bench": "fanout", "target": format!("{target:?}"), "runs": runs, "watchers": watchers,
            "events_per_run": per_run, "rate": rate, "batch": batch,
            "emit": if target == Target::Rust { json!(format!("{emit:?}").to_lowercase()) } else { Value::Null },
            "commits": commits, "connected": stats.connected.load(Ordering::Relaxed),
            "delivered": delivered, "expected": expected_total, "gaps": stats.gaps.load(Ordering::Relaxed),
            "duplicates": stats.dups.load(Ordering::Relaxed),
            "secs": elapsed.as_secs_f64(),
            "delivered_per_sec": (delivered as f64 / elapsed.as_secs_f64()).round(),
            "latency_p50_us": hist.quantile(0.50), "latency_p99_us": hist.quantile(0.99),
            "latency_max_us": hist.quantile(1.0),
        })
    );
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}

/// The current last seq of each run (Rust: the long-poll API; Socket.IO: its `/bench/heads`).
async fn run_heads(client: &Client, runs: &[String]) -> Vec<u64> {
    let http = reqwest::Client::new();
    if client.target == Target::Socketio {
        let heads: Value = http
            .get(format!("http://{}/bench/heads", client.host))
            .send()
            .await
            .expect("heads")
            .json()
            .await
            .expect("heads json");
        return runs
            .iter()
            .map(|r| heads[r].as_u64().unwrap_or(0))
            .collect();
    }
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        let v: Value = http
            .get(format!(
                "http://{}/api/runs/{run}/events?after=0&limit=1",
                client.host
            ))
            .bearer_auth(client.token(run))
            .send()
            .await
            .expect("head")
            .json()
            .await
            .expect("head json");
        out.push(v["lastSeq"].as_u64().unwrap_or(0));
    }
    out
}

async fn replay(url: &str, events: u64, rounds: usize) -> anyhow::Result<()> {
    let client = Client::new(Target::Rust, url);
    let token = client.token("replay");
    let mut times = Vec::new();
    for round in 0..rounds {
        let t0 = Instant::now();
        let mut ws = open(&client, "replay", &token, 0, IpAddr::from([127, 0, 0, 1])).await?;
        let connected = t0.elapsed();
        let mut last = 0;
        while last < events {
            let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await?
                .ok_or_else(|| anyhow::anyhow!("closed"))??;
            if let Some((seq, _)) = event_of(Target::Rust, &mut ws, m).await {
                anyhow::ensure!(seq == last + 1, "out of order: {seq} after {last}");
                last = seq;
            }
        }
        let total = t0.elapsed();
        times.push(total.as_secs_f64() * 1000.0);
        println!(
            "{}",
            json!({"bench": "replay", "round": round, "events": events, "connect_ms": connected.as_secs_f64() * 1000.0, "total_ms": total.as_secs_f64() * 1000.0})
        );
        let _ = ws.close(None).await;
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{}",
        json!({"bench": "replay", "median_ms": times[times.len() / 2], "max_ms": times.last()})
    );
    Ok(())
}

async fn storm(
    url: &str,
    clients: usize,
    runs: usize,
    per_run: usize,
    rate: u64,
) -> anyhow::Result<()> {
    let client = Arc::new(Client::new(Target::Rust, url));
    let run_ids: Vec<String> = (0..runs).map(|i| format!("r{i}")).collect();
    let heads = Arc::new(run_heads(&client, &run_ids).await);
    let stats = Arc::new(Stats::default());
    let reconnected = Arc::new(AtomicUsize::new(0));
    let caught_up = Arc::new(AtomicUsize::new(0));
    let (drop_tx, drop_rx) = tokio::sync::watch::channel(false);
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let head_at_drop = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for i in 0..clients {
        let client = client.clone();
        let stats = stats.clone();
        let reconnected = reconnected.clone();
        let caught_up = caught_up.clone();
        let mut drop_rx = drop_rx.clone();
        let sem = sem.clone();
        let r = i % runs;
        let run = run_ids[r].clone();
        let head = heads[r];
        let head_at_drop = head_at_drop.clone();
        handles.push(tokio::spawn(async move {
            let token = client.token(&run);
            let want = head + per_run as u64;
            let mut last = head;
            let mut seen = Vec::<u64>::new();
            let mut dropped = false;
            loop {
                let permit = sem.acquire().await;
                let ws = open(&client, &run, &token, last, IpAddr::from([127, 0, 0, 1])).await;
                drop(permit);
                let mut ws = match ws {
                    Ok(ws) => ws,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if dropped {
                    reconnected.fetch_add(1, Ordering::Relaxed);
                } else {
                    stats.connected.fetch_add(1, Ordering::Relaxed);
                }
                let mut counted_catch_up = false;
                loop {
                    let m = tokio::select! {
                        _ = drop_rx.changed(), if !dropped => {
                            // Abrupt: no close handshake, the TCP connection just goes.
                            dropped = true;
                            drop(ws);
                            break;
                        }
                        m = tokio::time::timeout(Duration::from_secs(60), ws.next()) => m,
                    };
                    let Ok(Some(Ok(m))) = m else {
                        return (seen, head, want);
                    };
                    if let Some((seq, _)) = event_of(Target::Rust, &mut ws, m).await {
                        if seq <= last {
                            stats.dups.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if seq != last + 1 {
                            stats.gaps.fetch_add(1, Ordering::Relaxed);
                        }
                        last = seq;
                        seen.push(seq);
                        if dropped
                            && !counted_catch_up
                            && seq >= head + head_at_drop.load(Ordering::Relaxed)
                        {
                            counted_catch_up = true;
                            caught_up.fetch_add(1, Ordering::Relaxed);
                        }
                        if seq >= want {
                            if dropped && !counted_catch_up {
                                caught_up.fetch_add(1, Ordering::Relaxed);
                            }
                            stats.done.fetch_add(1, Ordering::Relaxed);
                            return (seen, head, want);
                        }
                    }
                }
            }
        }));
    }
    while stats.connected.load(Ordering::Relaxed) < clients {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats_url = format!("http://{}/bench/stats", client.host);
    let before: Value = reqwest::get(&stats_url).await?.json().await?;
    let base = before["published"].as_u64().unwrap_or(0);
    // Awaited: `published` then counts stored events, the heads the drop is measured against.
    client
        .publish(&run_ids, per_run, rate, 60, (1, EmitMode::Awaited))
        .await;
    // Let events flow for a third of the run, then drop everyone at once.
    let flow = Duration::from_secs_f64((runs * per_run) as f64 / rate.max(1) as f64 / 3.0);
    tokio::time::sleep(flow).await;
    let published: Value = reqwest::get(&stats_url).await?.json().await?;
    // Per-run head at the drop: events published so far / runs (round-robin publisher).
    let per_run_head = published["published"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(base)
        / runs as u64;
    head_at_drop.store(per_run_head, Ordering::Relaxed);
    let t_drop = Instant::now();
    drop_tx.send(true)?;
    let mut all_reconnected = None;
    let mut all_caught_up = None;
    while t_drop.elapsed() < Duration::from_secs(120) {
        if all_reconnected.is_none() && reconnected.load(Ordering::Relaxed) >= clients {
            all_reconnected = Some(t_drop.elapsed());
        }
        if all_caught_up.is_none() && caught_up.load(Ordering::Relaxed) >= clients {
            all_caught_up = Some(t_drop.elapsed());
        }
        if all_caught_up.is_some() && all_reconnected.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut complete = 0;
    for h in handles {
        if let Ok((seen, head, want)) = h.await {
            let expected: Vec<u64> = (head + 1..=want).collect();
            if seen == expected {
                complete += 1;
            }
        }
    }
    println!(
        "{}",
        json!({
            "bench": "storm", "clients": clients, "runs": runs, "events_per_run": per_run, "rate": rate,
            "per_run_head_at_drop": per_run_head,
            "all_reconnected_secs": all_reconnected.map(|d| d.as_secs_f64()),
            "all_caught_up_secs": all_caught_up.map(|d| d.as_secs_f64()),
            "clients_with_complete_gap_free_sequence": complete,
            "gaps": stats.gaps.load(Ordering::Relaxed), "duplicates": stats.dups.load(Ordering::Relaxed),
        })
    );
    Ok(())
}
