//! Multi-instance benchmarks (bench/cluster/README.md, BENCHMARKS.md "Multi-instance"): one
//! binary that is either
//! - `serve`: one instance of a YouMeYou cluster as `youmeyou serve` builds it from the same
//!   flags and environment (`DATABASE_URL` on PostgreSQL, `REDIS_URL`, `YOUMEYOU_REDIS_PREFIX`,
//!   `YOUMEYOU_INSTANCE_ID`, …): `AppState::open` (the PostgreSQL store, the Redis link and
//!   the `ClusterBus` relay) and the real router, plus bench-only `POST /bench/publish` (events
//!   emitted by this instance, as the owner of the runs: lease taken, every append fenced by
//!   it, stored, then published on the cluster bus and so relayed through Redis) and
//!   `GET /bench/stats`; fixtures: user `bench`, runs `r0…` each in its own project `bp0…`;
//! - `fanout`: the load client against three instances (YouMeYou's WebSocket protocol, or
//!   Socket.IO 4's over WebSocket for the Redis-adapter baseline): each run is published by
//!   its owner (run i by instance i mod 3), its watchers spread over all instances;
//! - `failover`: real `youmeyou serve` processes (three on one PostgreSQL schema and one Redis
//!   prefix), real runs; `kill -9` of an owner, then the time until each of its runs' first
//!   event from the new owner reaches watchers on the surviving instances.
//!
//! Loopback only; every loop is bounded and every phase has a time limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, Subcommand, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use sqlx::Executor;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use youmeyou::server::auth::tokens::{build_claims, KeyRing};
use youmeyou::server::config::{DatabaseTarget, ServeArgs};
use youmeyou::server::orchestrator::emitter::Emitter;
use youmeyou::server::realtime::limits::RealtimeConfig;
use youmeyou::server::realtime::Realtime;
use youmeyou::server::secrets::Secret;
use youmeyou::server::state::AppState;
use youmeyou::server::ServeConfig;
use youmeyou_core::model::EventType;

const DEFAULT_SECRET: &str = "bench-secret-bench-secret-bench-secret!";
const OWNER: &str = "bench";

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
    /// One cluster instance with bench fixtures (runs r0..r{seed_runs-1}); every `youmeyou
    /// serve` flag and variable applies.
    Serve {
        #[command(flatten)]
        args: Box<ServeArgs>,
        #[arg(long, default_value_t = 1000)]
        seed_runs: usize,
    },
    /// `runs` × `watchers` connections spread over the instances of `urls`; each run's owner
    /// (run i: instance i mod N) publishes `events_per_run` events, all owners together `rate`
    /// events/s (0 = as fast as each goes); delivered events/s and latency percentiles.
    Fanout {
        #[arg(long, value_enum)]
        target: Target,
        /// The instances, comma-separated (http://IP:PORT,…).
        #[arg(long)]
        urls: String,
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
        /// A label printed with the result (e.g. "redis-down").
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Failover of real `youmeyou serve` processes: per round, runs started on every instance,
    /// the victim killed with SIGKILL mid-run, time until each of its runs' first event from
    /// the new owner (`runResumed`) reaches watchers on both survivors.
    Failover {
        /// The `youmeyou` binary.
        #[arg(long, default_value = "target/release/youmeyou")]
        bin: String,
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
        pg: String,
        #[arg(long, default_value = "redis://127.0.0.1:6379")]
        redis: String,
        #[arg(long, default_value_t = 4)]
        rounds: usize,
        /// Runs started on each instance per round (the victim owns this many).
        #[arg(long, default_value_t = 8)]
        runs_per_instance: usize,
        /// YOUMEYOU_PACE of the instances (how long the built-in engine's tasks last).
        #[arg(long, default_value = "0.3")]
        pace: String,
        /// Lease settings; unset = the defaults of `youmeyou serve` (10 s, 3 s, 2 s).
        #[arg(long)]
        lease_ttl: Option<String>,
        #[arg(long)]
        lease_renew: Option<String>,
        #[arg(long)]
        sweep: Option<String>,
        /// Where the instances' logs go.
        #[arg(long, default_value = "bench/cluster/results")]
        logs: String,
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

fn millis_now() -> i64 {
    (micros_now() / 1000) as i64
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Serve { args, seed_runs } => serve(*args, seed_runs).await,
            Cmd::Fanout {
                target,
                urls,
                runs,
                watchers,
                events_per_run,
                rate,
                pad,
                label,
            } => {
                fanout(
                    target,
                    &urls,
                    (runs, watchers, events_per_run),
                    rate,
                    pad,
                    &label,
                )
                .await
            }
            Cmd::Failover {
                bin,
                pg,
                redis,
                rounds,
                runs_per_instance,
                pace,
                lease_ttl,
                lease_renew,
                sweep,
                logs,
            } => {
                let lease = [lease_ttl, lease_renew, sweep];
                failover(
                    &bin,
                    &pg,
                    &redis,
                    (rounds, runs_per_instance),
                    &pace,
                    lease,
                    &logs,
                )
                .await
            }
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

async fn serve(args: ServeArgs, seed_runs: usize) -> anyhow::Result<()> {
    let config = ServeConfig::from_args(args).map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    let addr = config.addr;
    let db_url = match &config.database {
        DatabaseTarget::Postgres { url } => url.clone(),
        DatabaseTarget::Sqlite { .. } => {
            anyhow::bail!("the cluster bench needs DATABASE_URL=postgres://…")
        }
    };
    // The state `youmeyou serve` builds: PostgreSQL store (migrated), Redis link, ClusterBus.
    let mut state = AppState::open(config).await?;
    anyhow::ensure!(state.store.shared(), "not a shared store");
    // Fixtures, idempotent (every instance seeds; the first one wins).
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&db_url)
        .await?;
    sqlx::query("INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ($1, 'bench@example.com', 'x', 'premium', '2026-01-01T00:00:00Z') ON CONFLICT DO NOTHING")
        .bind(OWNER)
        .execute(&pool)
        .await?;
    let ids: Vec<String> = (0..seed_runs).map(|i| format!("r{i}")).collect();
    let projects: Vec<String> = (0..seed_runs).map(|i| format!("bp{i}")).collect();
    sqlx::query("INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) SELECT p, $2, 'bench', '{}', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM unnest($1::TEXT[]) AS t(p) ON CONFLICT DO NOTHING")
        .bind(&projects)
        .bind(OWNER)
        .execute(&pool)
        .await?;
    sqlx::query("INSERT INTO runs (id, project_id, owner_id, prompt, status, created_at) SELECT r, p, $3, 'bench', 'running', '2026-01-01T00:00:00Z' FROM unnest($1::TEXT[], $2::TEXT[]) AS t(r, p) ON CONFLICT DO NOTHING")
        .bind(&ids)
        .bind(&projects)
        .bind(OWNER)
        .execute(&pool)
        .await?;
    pool.close().await;
    // The bench's connection counts, as load.rs' single-instance server allows them.
    state.realtime = Arc::new(Realtime::new(RealtimeConfig {
        max_connections: 1_000_000,
        max_connections_per_viewer: 1_000_000,
        idle_timeout: Duration::from_secs(7200),
        ..RealtimeConfig::from_env()
    }));
    let bench = Bench {
        state: state.clone(),
        published: Arc::new(AtomicU64::new(0)),
        appends: Arc::new(AtomicU64::new(0)),
    };
    let extra = Router::new()
        .route("/bench/publish", post(bench_publish))
        .route("/bench/stats", get(bench_stats))
        .with_state(bench);
    let app = youmeyou::server::router(state.clone()).merge(extra);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "youmeyou cluster bench instance {} on http://{addr} (pid {})",
        state.orchestrator.settings().instance_id,
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
        "redisUp": b.state.redis.as_ref().map(|r| r.is_up()),
    }))
}

/// Publishes as the owner of the given runs: takes each run's lease (so every append is fenced
/// by its epoch, as the orchestrator's are), then one publisher per run emits through the run's
/// real `Emitter` (stored, then published on the `ClusterBus`, which relays to the other
/// instances through Redis), queued as the scheduler queues progress reports.
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
    let instance = b.state.orchestrator.settings().instance_id.clone();
    let mut owned = Vec::with_capacity(runs.len());
    for run in &runs {
        let project = match b.state.store.run_ref(run).await {
            Ok(Some(r)) => r.project_id,
            other => {
                return Json(json!({"error": format!("run {run}: {other:?}")}));
            }
        };
        match b
            .state
            .store
            .acquire_lease(run, &instance, Duration::from_secs(3600))
            .await
        {
            Ok(Some(_)) => owned.push((run.clone(), project)),
            other => return Json(json!({"error": format!("lease of {run}: {other:?}")})),
        }
    }
    // Each run publishes its share of the rate, its start staggered over one interval.
    let per_run_rate = rate as f64 / owned.len().max(1) as f64;
    let started = Instant::now();
    let count = owned.len();
    for (index, (run, project)) in owned.into_iter().enumerate() {
        let (b, pad) = (b.clone(), pad.clone());
        let offset = if per_run_rate > 0.0 {
            index as f64 / count as f64 / per_run_rate
        } else {
            0.0
        };
        tokio::spawn(async move {
            let emitter = Emitter::new(&run, &project, b.state.store.clone(), b.state.bus.clone());
            for sent in 0..per_run {
                if per_run_rate > 0.0 {
                    let due =
                        started + Duration::from_secs_f64(offset + sent as f64 / per_run_rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                emitter.emit_detached(
                    EventType::TaskProgress,
                    json!({"taskId": "t1", "sentAt": micros_now(), "pad": pad}),
                );
                b.published.fetch_add(1, Ordering::Relaxed);
                // Like a scheduler between two agent reports: let others run.
                tokio::task::yield_now().await;
            }
            emitter.flush().await;
            b.appends.fetch_add(emitter.appends(), Ordering::Relaxed);
        });
    }
    Json(json!({"runs": count}))
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
        let p = 63 - us.leading_zeros() as usize;
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
    fn quantile(&self, q: f64) -> u64 {
        let total: u64 = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum();
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
    /// Events received on an instance other than the run's owner (relayed).
    relayed: AtomicU64,
    gaps: AtomicU64,
    dups: AtomicU64,
    done: AtomicUsize,
}

#[derive(Clone)]
struct Node {
    addr: SocketAddr,
    host: String,
}

fn nodes(urls: &str) -> Vec<Node> {
    urls.split(',')
        .map(|u| {
            let host = u
                .trim()
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string();
            Node {
                addr: host.parse().expect("--urls must be http://IP:PORT,…"),
                host,
            }
        })
        .collect()
}

fn build_token(keys: &KeyRing, run: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    keys.issue(&build_claims(OWNER, run, now, format!("bench-{run}"), None))
        .expect("sign")
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Connects and authenticates one watcher of `run` on `node`; returns once subscribed.
async fn open(
    target: Target,
    node: &Node,
    run: &str,
    token: &str,
    after: u64,
) -> anyhow::Result<Socket> {
    let stream = tokio::net::TcpStream::connect(node.addr).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0);
    match target {
        Target::Rust => {
            let url = format!("ws://{}/api/ws/runs/{run}?afterSeq={after}", node.host);
            let mut req = url.into_client_request()?;
            req.headers_mut()
                .insert("authorization", format!("Bearer {token}").parse()?);
            let (mut ws, _) =
                tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await?;
            match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.as_str().contains("\"connected\"") => Ok(ws),
                other => anyhow::bail!("no welcome: {other:?}"),
            }
        }
        Target::Socketio => {
            let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", node.host);
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

/// Each run's current last seq (YouMeYou: the long-poll API of any instance, the log is
/// shared; Socket.IO: the owner's `/bench/heads`).
async fn run_heads(target: Target, nodes: &[Node], keys: &KeyRing, runs: &[String]) -> Vec<u64> {
    let http = reqwest::Client::new();
    if target == Target::Socketio {
        let mut per_node = Vec::new();
        for n in nodes {
            let heads: Value = http
                .get(format!("http://{}/bench/heads", n.host))
                .send()
                .await
                .expect("heads")
                .json()
                .await
                .expect("heads json");
            per_node.push(heads);
        }
        return runs
            .iter()
            .enumerate()
            .map(|(i, r)| per_node[i % nodes.len()][r].as_u64().unwrap_or(0))
            .collect();
    }
    let mut out = Vec::with_capacity(runs.len());
    for (i, run) in runs.iter().enumerate() {
        let v: Value = http
            .get(format!(
                "http://{}/api/runs/{run}/events?after=0&limit=1",
                nodes[i % nodes.len()].host
            ))
            .bearer_auth(build_token(keys, run))
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

async fn fanout(
    target: Target,
    urls: &str,
    (runs, watchers, per_run): (usize, usize, usize),
    rate: u64,
    pad: usize,
    label: &str,
) -> anyhow::Result<()> {
    let nodes = Arc::new(nodes(urls));
    let n = nodes.len();
    let keys = Arc::new(KeyRing::new(&Secret::new(secret().into_bytes()), &[]));
    let run_ids: Vec<String> = (0..runs).map(|i| format!("r{i}")).collect();
    let stats = Arc::new(Stats::default());
    let hist = Arc::new(Hist::new());
    let hist_relayed = Arc::new(Hist::new());
    let expected_total = (runs * watchers * per_run) as u64;
    let sem = Arc::new(tokio::sync::Semaphore::new(200));
    let heads = run_heads(target, &nodes, &keys, &run_ids).await;
    let mut handles = Vec::new();
    for (r, run) in run_ids.iter().enumerate() {
        for w in 0..watchers {
            let permit = sem.clone().acquire_owned().await?;
            let (stats, hist, hist_relayed) = (stats.clone(), hist.clone(), hist_relayed.clone());
            let (run, head) = (run.clone(), heads[r]);
            let token = build_token(&keys, &run);
            // Watcher w of run r on instance (r + w) mod N; the owner is r mod N.
            let node = nodes[(r + w) % n].clone();
            let relayed = w % n != 0;
            handles.push(tokio::spawn(async move {
                let ws = open(target, &node, &run, &token, head).await;
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
                let (mut last, want) = (head, head + per_run as u64);
                while last < want {
                    let m = match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                        Ok(Some(Ok(m))) => m,
                        _ => break,
                    };
                    if let Some((seq, sent)) = event_of(target, &mut ws, m).await {
                        let now = micros_now();
                        if seq <= last {
                            stats.dups.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        if seq != last + 1 {
                            stats.gaps.fetch_add(1, Ordering::Relaxed);
                        }
                        last = seq;
                        stats.events.fetch_add(1, Ordering::Relaxed);
                        if relayed {
                            stats.relayed.fetch_add(1, Ordering::Relaxed);
                        }
                        if sent > 0 {
                            let us = now.saturating_sub(sent);
                            hist.record(us);
                            if relayed {
                                hist_relayed.record(us);
                            }
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
    // Let the relays' subscriptions settle (a watch subscribes its project's channel).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let http = reqwest::Client::new();
    let appends_before = appends(&http, &nodes).await;
    let t0 = Instant::now();
    // Every owner publishes its runs, its share of the rate, all at once.
    let mut posts = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let owned: Vec<&String> = run_ids.iter().skip(i).step_by(n).collect();
        let share = rate * owned.len() as u64 / runs.max(1) as u64;
        let body =
            json!({"runs": owned, "eventsPerRun": per_run, "rate": share, "pad": "x".repeat(pad)});
        let url = format!("http://{}/bench/publish", node.host);
        let http = http.clone();
        posts.push(tokio::spawn(async move {
            let r = http.post(url).json(&body).send().await.expect("publish");
            assert!(r.status().is_success(), "publish: {}", r.status());
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert!(v.get("error").is_none(), "publish: {v}");
        }));
    }
    for p in posts {
        p.await?;
    }
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
    let commits = match (appends_before, appends(&http, &nodes).await) {
        (Some(a), Some(b)) => json!(b - a),
        _ => Value::Null,
    };
    println!(
        "{}",
        json!({
            "bench": "cluster-fanout", "label": label, "target": format!("{target:?}"), "instances": n,
            "runs": runs, "watchers": watchers, "events_per_run": per_run, "rate": rate,
            "commits": commits, "connected": stats.connected.load(Ordering::Relaxed),
            "delivered": delivered, "expected": expected_total,
            "relayed": stats.relayed.load(Ordering::Relaxed),
            "gaps": stats.gaps.load(Ordering::Relaxed), "duplicates": stats.dups.load(Ordering::Relaxed),
            "secs": elapsed.as_secs_f64(),
            "delivered_per_sec": (delivered as f64 / elapsed.as_secs_f64()).round(),
            "latency_p50_us": hist.quantile(0.50), "latency_p99_us": hist.quantile(0.99),
            "latency_max_us": hist.quantile(1.0),
            "relayed_p50_us": hist_relayed.quantile(0.50), "relayed_p99_us": hist_relayed.quantile(0.99),
        })
    );
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}

/// Sum of the instances' emitter commits (YouMeYou only; `None` for Socket.IO).
async fn appends(http: &reqwest::Client, nodes: &[Node]) -> Option<u64> {
    let mut total = 0;
    for n in nodes {
        let v: Value = http
            .get(format!("http://{}/bench/stats", n.host))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        total += v["appends"].as_u64()?;
    }
    Some(total)
}

// ───────────────────────────── failover ─────────────────────────────

const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
const PASSWORD: &str = "correct horse battery";
const IDS: [&str; 3] = ["A", "B", "C"];

struct Proc {
    id: &'static str,
    base: String,
    port: u16,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Proc {
    /// SIGKILL and reap: no shutdown, no lease handed back.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

struct Launcher {
    bin: String,
    db_url: String,
    redis: String,
    prefix: String,
    pace: String,
    lease: [Option<String>; 3],
    logs: String,
}

impl Launcher {
    async fn launch(&self, id: &'static str, http: &reqwest::Client) -> anyhow::Result<Proc> {
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let log = std::fs::File::create(format!("{}/failover-{id}.log", self.logs))?;
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log",
            "warn",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("DATABASE_URL", &self.db_url)
        .env("REDIS_URL", &self.redis)
        .env("YOUMEYOU_REDIS_PREFIX", &self.prefix)
        .env("YOUMEYOU_INSTANCE_ID", id)
        .env("YOUMEYOU_JWT_SECRET", secret())
        .env("YOUMEYOU_PACE", &self.pace)
        .env("YOUMEYOU_MAX_CONCURRENT_RUNS", "200")
        .env("YOUMEYOU_MAX_CONNECTIONS_PER_IP", "4096")
        .env("YOUMEYOU_FREE_CONCURRENT_RUNS", "1000")
        .env("YOUMEYOU_FREE_MAX_PROJECTS", "1000")
        .env("YOUMEYOU_FREE_RUNS_PER_DAY", "10000")
        .env("YOUMEYOU_FREE_RPM", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
        for (name, value) in [
            "YOUMEYOU_LEASE_TTL_SECS",
            "YOUMEYOU_LEASE_RENEW_SECS",
            "YOUMEYOU_SWEEP_SECS",
        ]
        .iter()
        .zip(&self.lease)
        {
            match value {
                Some(v) => cmd.env(name, v),
                None => cmd.env_remove(name),
            };
        }
        let child = cmd.spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{base}/ready")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "{id} did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Proc {
            id,
            base,
            port,
            child: Some(child),
            _dir: dir,
        })
    }
}

/// What the watchers of one run saw.
#[derive(Default)]
struct RunWatch {
    /// A task completed (the run is mid-way).
    completed_task: AtomicBool,
    ended: AtomicBool,
    /// Receipt (ms since the epoch) of `runResumed` per watcher instance.
    resumed: Mutex<HashMap<&'static str, i64>>,
}

async fn watch_run(
    proc_port: u16,
    on: &'static str,
    token: String,
    run: String,
    seen: Arc<RunWatch>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let url = format!("ws://127.0.0.1:{proc_port}/api/ws/runs/{run}?afterSeq=0");
    let Ok(mut req) = url.into_client_request() else {
        return;
    };
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async(req),
    )
    .await
    else {
        eprintln!("watcher of {run} on {on}: connect failed");
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut stop = stop;
    loop {
        let msg = tokio::select! {
            _ = stop.changed() => return,
            m = tokio::time::timeout_at(deadline.into(), ws.next()) => m,
        };
        let Ok(Some(Ok(Message::Text(t)))) = msg else {
            if matches!(msg, Ok(Some(Ok(_)))) {
                continue;
            }
            return;
        };
        let received = millis_now();
        let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
            continue;
        };
        match v["type"].as_str() {
            Some("taskCompleted") => seen.completed_task.store(true, Ordering::Relaxed),
            Some("runResumed") => {
                let mut r = seen.resumed.lock().expect("lock");
                r.entry(on).or_insert(received);
            }
            Some("executionSummary") | Some("runCancelled") | Some("runFailed") => {
                seen.ended.store(true, Ordering::Relaxed);
                return;
            }
            _ => {}
        }
    }
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return -1;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[allow(clippy::too_many_lines)]
async fn failover(
    bin: &str,
    pg: &str,
    redis: &str,
    (rounds, per_instance): (usize, usize),
    pace: &str,
    lease: [Option<String>; 3],
    logs: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(logs)?;
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(pg)
        .await?;
    let schema = format!("yyc_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await?;
    let sep = if pg.contains('?') { '&' } else { '?' };
    let launcher = Launcher {
        bin: bin.to_string(),
        db_url: format!("{pg}{sep}options=-c%20search_path%3D{schema}"),
        redis: redis.to_string(),
        prefix: format!("yyc:{}:", uuid::Uuid::new_v4().simple()),
        pace: pace.to_string(),
        lease,
        logs: logs.to_string(),
    };
    let result = failover_rounds(&launcher, &admin, &schema, rounds, per_instance).await;
    let _ = admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
        .await;
    admin.close().await;
    result
}

async fn failover_rounds(
    launcher: &Launcher,
    admin: &sqlx::PgPool,
    schema: &str,
    rounds: usize,
    per_instance: usize,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut procs: Vec<Proc> = Vec::new();
    for id in IDS {
        procs.push(launcher.launch(id, &http).await?);
    }
    let base = |procs: &[Proc], id: &str| {
        procs
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.base.clone())
            .expect("instance")
    };
    // One user; its session token is valid on every instance (shared secret).
    let creds = json!({"email": "failover@example.com", "password": PASSWORD});
    let r = http
        .post(format!("{}/api/auth/register", base(&procs, "A")))
        .json(&creds)
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "register: {}", r.status());
    let login: Value = http
        .post(format!("{}/api/auth/login", base(&procs, "A")))
        .json(&creds)
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().expect("token").to_string();
    let mut from_kill_to_receipt: Vec<i64> = Vec::new();
    let mut from_kill_to_stored: Vec<i64> = Vec::new();
    let mut missing = 0usize;
    for round in 0..rounds {
        let victim = IDS[round % IDS.len()];
        // Runs on every instance: the one started on an instance is owned (leased) by it.
        let mut victim_runs: Vec<String> = Vec::new();
        for (k, id) in IDS.iter().enumerate() {
            for i in 0..per_instance {
                let b = base(&procs, id);
                let p: Value = http
                    .post(format!("{b}/api/projects"))
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("F{round}-{k}-{i}")}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let project = p["project"]["id"].as_str().expect("project").to_string();
                let r = http
                    .post(format!("{b}/api/projects/{project}/runs"))
                    .bearer_auth(&token)
                    .json(&json!({"prompt": EXAMPLE_1}))
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "start run: {}", r.status());
                let v: Value = r.json().await?;
                if *id == victim {
                    victim_runs.push(v["buildId"].as_str().expect("buildId").to_string());
                }
            }
        }
        // Watchers of the victim's runs on both survivors.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut watches: HashMap<String, Arc<RunWatch>> = HashMap::new();
        let mut tasks = Vec::new();
        for run in &victim_runs {
            let seen = Arc::new(RunWatch::default());
            watches.insert(run.clone(), seen.clone());
            for p in procs.iter().filter(|p| p.id != victim) {
                tasks.push(tokio::spawn(watch_run(
                    p.port,
                    p.id,
                    token.clone(),
                    run.clone(),
                    seen.clone(),
                    stop_rx.clone(),
                )));
            }
        }
        // Mid-run: every victim run has completed a task (60 s at most).
        let deadline = Instant::now() + Duration::from_secs(60);
        while !watches
            .values()
            .all(|w| w.completed_task.load(Ordering::Relaxed))
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The kill lands at a random point of the renewal (3 s) and sweep (2 s) periods, not at
        // the same phase of them every round.
        tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % 6000)).await;
        let orphans: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM {schema}.runs WHERE lease_owner = $1 AND status NOT IN ('completed', 'failed', 'cancelled') AND id = ANY($2)"
        ))
        .bind(victim)
        .bind(&victim_runs)
        .fetch_all(admin)
        .await?;
        let killed_at = millis_now();
        if let Some(p) = procs.iter_mut().find(|p| p.id == victim) {
            p.kill();
        }
        // Each orphan's runResumed on both survivors (30 s at most past the lease).
        let deadline = Instant::now() + Duration::from_secs(45);
        let survivors = IDS.len() - 1;
        while Instant::now() < deadline
            && !orphans.iter().all(|r| {
                watches[r].resumed.lock().expect("lock").len() >= survivors
                    || watches[r].ended.load(Ordering::Relaxed)
            })
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut round_receipts = Vec::new();
        for run in &orphans {
            let got = watches[run].resumed.lock().expect("lock").clone();
            if got.len() < survivors {
                missing += survivors - got.len();
            }
            for (_, at) in got {
                round_receipts.push(at - killed_at);
            }
            let ts: Option<String> = sqlx::query_scalar(&format!(
                "SELECT ts FROM {schema}.events WHERE run_id = $1 AND type = 'runResumed' AND data::jsonb->>'previousInstance' = $2 ORDER BY seq LIMIT 1"
            ))
            .bind(run)
            .bind(victim)
            .fetch_optional(admin)
            .await?;
            if let Some(ts) = ts {
                let at = chrono::DateTime::parse_from_rfc3339(&ts)?.timestamp_millis();
                from_kill_to_stored.push(at - killed_at);
            }
        }
        round_receipts.sort_unstable();
        println!(
            "{}",
            json!({"bench": "failover-round", "round": round, "victim": victim, "victim_runs": victim_runs.len(),
                   "orphans": orphans.len(), "receipts": round_receipts.len(),
                   "median_ms": percentile(&round_receipts, 0.5), "max_ms": round_receipts.last()})
        );
        from_kill_to_receipt.extend(round_receipts);
        // Let the round's runs finish (bounded), then stop the watchers; the victim comes back.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !watches.values().all(|w| w.ended.load(Ordering::Relaxed))
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        procs.retain(|p| p.id != victim);
        procs.push(launcher.launch(victim, &http).await?);
    }
    from_kill_to_receipt.sort_unstable();
    from_kill_to_stored.sort_unstable();
    println!(
        "{}",
        json!({
            "bench": "failover", "rounds": rounds, "runs_per_instance": per_instance,
            "pace": launcher.pace,
            "lease": {"ttl": launcher.lease[0], "renew": launcher.lease[1], "sweep": launcher.lease[2]},
            "samples": from_kill_to_receipt.len(), "missing": missing,
            "kill_to_first_event_received_ms": {
                "p50": percentile(&from_kill_to_receipt, 0.5), "p90": percentile(&from_kill_to_receipt, 0.9),
                "p99": percentile(&from_kill_to_receipt, 0.99), "max": from_kill_to_receipt.last(),
                "min": from_kill_to_receipt.first(),
            },
            "kill_to_run_resumed_stored_ms": {
                "p50": percentile(&from_kill_to_stored, 0.5), "p99": percentile(&from_kill_to_stored, 0.99),
                "max": from_kill_to_stored.last(),
            },
        })
    );
    for mut p in procs {
        p.kill();
    }
    Ok(())
}
