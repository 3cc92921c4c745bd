//! The two stores side by side (bench/cluster/README.md, BENCHMARKS.md "Multi-instance"): the
//! embedded SQLite store and the shared PostgreSQL store, through the same `Store` trait, in
//! alternating rounds of one process so both see the same machine state.
//!
//! 1. scheduler overhead per task: a 300-task chain with instant agents (as
//!    `benches/orchestrator.rs`), i.e. per task two task-row writes, two event appends and the
//!    dispatch of the next; on PostgreSQL the run is driven under a lease, so every write is
//!    fenced by its epoch, as an instance of a cluster drives it;
//! 2. event-append throughput through the run's real `Emitter`: one run appending one event
//!    per commit (commit latency), 100 runs each awaiting one event per emit (concurrent runs
//!    share group commits), and 100 runs queueing events as the scheduler queues progress.
//!
//! cargo bench --features ssr --bench stores
//! PostgreSQL: `YOUMEYOU_BENCH_PG_URL` (default postgres://postgres@127.0.0.1:5432/test); the
//! bench works in a schema of its own, dropped at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sqlx::Executor;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use youmeyou::server::orchestrator::emitter::Emitter;
use youmeyou::server::orchestrator::scheduler::{CanvasSink, Driver, TaskState};
use youmeyou::server::orchestrator::settings::Settings;
use youmeyou::server::orchestrator::testing::TrivialAgents;
use youmeyou::server::realtime::bus::InProcessBus;
use youmeyou::server::store::postgres::PgStore;
use youmeyou::server::store::sqlite::SqliteStore;
use youmeyou::server::store::{LeaseStore, Store, StoreError};
use youmeyou_core::engine::{context::extract_context, intent::analyse_intent};
use youmeyou_core::model::{Canvas, EventType, Task};

const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
const CHAIN: usize = 300;
const RUNS: usize = 100;
const ROUNDS: usize = 7;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn task(id: usize, deps: Vec<usize>) -> Task {
    serde_json::from_value(json!({
        "id": format!("t{id}"), "name": format!("Task {id}"), "type": "CODE_GENERATION",
        "dependencies": deps.iter().map(|d| format!("t{d}")).collect::<Vec<_>>(),
        "estimatedTime": 1, "agent": "code-001", "prompt": "generate",
        "outputs": [format!("api.t{id}")]
    }))
    .unwrap()
}

struct MemoryCanvas;

#[async_trait::async_trait]
impl CanvasSink for MemoryCanvas {
    async fn load(&self) -> Result<Canvas, StoreError> {
        Ok(Canvas::default())
    }
    async fn save(&self, canvas: &Canvas) -> Result<Canvas, StoreError> {
        Ok(canvas.clone())
    }
}

/// One backend under test: the store and how to seed rows the traits do not create.
enum Backend {
    Sqlite(Arc<SqliteStore>),
    /// The label says which commit setting the connections use.
    Postgres(Arc<PgStore>, &'static str),
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_, label) => label,
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s) => s.clone(),
            Backend::Postgres(s, _) => s.clone(),
        }
    }

    async fn seed_owner(&self) {
        match self {
            Backend::Sqlite(s) => {
                for q in [
                    "INSERT OR IGNORE INTO users (id, email, password_hash, tier, created_at) VALUES ('u', 'u@x', 'x', 'free', '')",
                    "INSERT OR IGNORE INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES ('p', 'u', 'p', '{}', 0, '', '')",
                ] {
                    sqlx::query(q).execute(s.pool()).await.unwrap();
                }
            }
            Backend::Postgres(s, _) => {
                for q in [
                    "INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ('u', 'u@x', 'x', 'free', '') ON CONFLICT DO NOTHING",
                    "INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES ('p', 'u', 'p', '{}', 0, '', '') ON CONFLICT DO NOTHING",
                ] {
                    sqlx::query(q).execute(s.pool()).await.unwrap();
                }
            }
        }
    }

    /// A running run with its plan, driven as its backend's instance drives it (PostgreSQL:
    /// under a lease, every write fenced by the epoch).
    async fn seed_run(&self, run_id: &str, tasks: &[Task]) {
        match self {
            Backend::Sqlite(s) => {
                sqlx::query("INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES (?, 'p', 'u', 'x', 'running', 0, '')")
                    .bind(run_id)
                    .execute(s.pool())
                    .await
                    .unwrap();
            }
            Backend::Postgres(s, _) => {
                sqlx::query("INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES ($1, 'p', 'u', 'x', 'running', 0, '')")
                    .bind(run_id)
                    .execute(s.pool())
                    .await
                    .unwrap();
                let epoch = s
                    .acquire_lease(run_id, "bench", Duration::from_secs(3600))
                    .await
                    .unwrap();
                assert!(epoch.is_some(), "lease on a fresh run");
            }
        }
        if !tasks.is_empty() {
            self.store()
                .save_plan(run_id, tasks, "static", "bench")
                .await
                .unwrap();
        }
    }
}

async fn chain(backend: &Backend, run_id: &str) -> Duration {
    let tasks: Vec<Task> = (0..CHAIN)
        .map(|i| task(i, if i == 0 { vec![] } else { vec![i - 1] }))
        .collect();
    backend.seed_run(run_id, &tasks).await;
    let store = backend.store();
    let emitter = Arc::new(Emitter::new(
        run_id,
        "p",
        store.clone(),
        Arc::new(InProcessBus::new()),
    ));
    let intent = analyse_intent(EXAMPLE_1, &Canvas::default()).unwrap();
    let context = extract_context(&Canvas::default(), &intent);
    let settings = Settings {
        max_parallel_tasks: 8,
        ..Settings::default()
    };
    let states = tasks
        .into_iter()
        .map(|t| TaskState::new(t, None, 0, None))
        .collect();
    let mut driver = Driver::new(
        run_id,
        settings,
        store,
        emitter,
        Arc::new(TrivialAgents),
        Arc::new(MemoryCanvas),
        Arc::new(intent),
        Arc::new(context),
        states,
    )
    .unwrap();
    let (_tx, mut rx) = mpsc::channel(1);
    let start = Instant::now();
    driver.execute(&mut rx).await.unwrap();
    start.elapsed()
}

fn progress() -> (EventType, serde_json::Value) {
    (
        EventType::TaskProgress,
        json!({"taskId": "t1", "progress": 50, "pad": "x".repeat(60)}),
    )
}

/// One run, one event per commit, each awaited: (events/s, median commit latency ms).
async fn append_single(backend: &Backend, run_id: &str, events: usize) -> (f64, f64) {
    backend.seed_run(run_id, &[]).await;
    let emitter = Emitter::new(run_id, "p", backend.store(), Arc::new(InProcessBus::new()));
    let mut latencies = Vec::with_capacity(events);
    let start = Instant::now();
    for _ in 0..events {
        let (kind, data) = progress();
        let t = Instant::now();
        emitter.emit(kind, data).await.unwrap();
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let rate = events as f64 / start.elapsed().as_secs_f64();
    (rate, median(latencies))
}

/// `RUNS` runs at once, each emitting `per_run` events: awaited one by one (`queued` false) or
/// queued without waiting (as progress reports), then flushed. (events/s, commits).
async fn append_many(backend: &Backend, tag: &str, per_run: usize, queued: bool) -> (f64, u64) {
    let ids: Vec<String> = (0..RUNS).map(|i| format!("{tag}-{i}")).collect();
    for id in &ids {
        backend.seed_run(id, &[]).await;
    }
    let store = backend.store();
    let start = Instant::now();
    let mut handles = Vec::new();
    for id in ids {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let emitter = Emitter::new(&id, "p", store, Arc::new(InProcessBus::new()));
            for _ in 0..per_run {
                let (kind, data) = progress();
                if queued {
                    emitter.emit_detached(kind, data);
                    tokio::task::yield_now().await;
                } else {
                    emitter.emit(kind, data).await.unwrap();
                }
            }
            emitter.flush().await;
            emitter.appends()
        }));
    }
    let mut commits = 0;
    for h in handles {
        commits += h.await.unwrap();
    }
    let rate = (RUNS * per_run) as f64 / start.elapsed().as_secs_f64();
    // Everything is in the log, gap-free.
    let last = store.last_seq(&format!("{tag}-0")).await.unwrap();
    assert_eq!(last, per_run as u64, "{tag}: every event stored");
    (rate, commits)
}

async fn pg_settings(pool: &sqlx::PgPool) -> String {
    let mut out = Vec::new();
    for name in [
        "server_version",
        "fsync",
        "synchronous_commit",
        "wal_sync_method",
        "shared_buffers",
    ] {
        let v: String = sqlx::query_scalar(&format!("SHOW {name}"))
            .fetch_one(pool)
            .await
            .unwrap_or_default();
        out.push(format!("{name}={v}"));
    }
    out.join(", ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let base = std::env::var("YOUMEYOU_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {base}: {e}"));
    let schema = format!("yyb_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let pg_url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let sqlite_url = format!("sqlite://{}", dir.path().join("b.db").display());
    let backends = [
        Backend::Sqlite(Arc::new(SqliteStore::open(&sqlite_url).await.unwrap())),
        Backend::Postgres(Arc::new(PgStore::open(&pg_url).await.unwrap()), "postgres"),
        // The peer of SQLite's durability: WAL with synchronous=NORMAL does not wait for the
        // disk at each commit; PostgreSQL's `synchronous_commit=off` (this bench's connections
        // only) does not either.
        Backend::Postgres(
            Arc::new(
                PgStore::open(&format!("{pg_url}%20-c%20synchronous_commit%3Doff"))
                    .await
                    .unwrap(),
            ),
            "postgres-async-commit",
        ),
    ];
    for b in &backends {
        b.seed_owner().await;
    }
    println!(
        "machine: {} cores; postgres: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        pg_settings(&admin).await
    );

    // Each figure: ROUNDS rounds, the backends alternating within a round.
    type Figure = (&'static str, &'static str, Vec<Vec<f64>>);
    let mut figures: Vec<Figure> = Vec::new();
    let mut record = |name: &'static str, unit: &'static str, backend: usize, v: f64| {
        let i = match figures.iter().position(|f| f.0 == name) {
            Some(i) => i,
            None => {
                figures.push((name, unit, vec![Vec::new(); backends.len()]));
                figures.len() - 1
            }
        };
        figures[i].2[backend].push(v);
    };
    for round in 0..ROUNDS {
        for (i, b) in backends.iter().enumerate() {
            let tag = format!("{}{round}", b.name());
            if wants("scheduler_overhead") {
                let elapsed = chain(b, &format!("chain-{tag}")).await;
                let per_task = elapsed.as_secs_f64() * 1e3 / CHAIN as f64;
                println!(
                    "round {round} {}: scheduler overhead {per_task:.3} ms per task",
                    b.name()
                );
                record(
                    "scheduler overhead per task (300-task chain)",
                    "ms",
                    i,
                    per_task,
                );
            }
            if wants("append") {
                let (rate, latency) = append_single(b, &format!("one-{tag}"), 1000).await;
                println!("round {round} {}: 1 run, one event per commit: {rate:.0} events/s, median commit {latency:.3} ms", b.name());
                record(
                    "append, 1 run, one event per awaited commit",
                    "events/s",
                    i,
                    rate,
                );
                record("  its median commit latency", "ms", i, latency);
                let (rate, commits) = append_many(b, &format!("aw-{tag}"), 100, false).await;
                println!("round {round} {}: {RUNS} runs, awaited: {rate:.0} events/s ({commits} append calls)", b.name());
                record(
                    "append, 100 runs at once, each awaiting one event per emit",
                    "events/s",
                    i,
                    rate,
                );
                let (rate, commits) = append_many(b, &format!("q-{tag}"), 200, true).await;
                println!(
                    "round {round} {}: {RUNS} runs, queued: {rate:.0} events/s ({commits} append calls)",
                    b.name()
                );
                record(
                    "append, 100 runs at once, events queued (progress reports)",
                    "events/s",
                    i,
                    rate,
                );
            }
        }
    }
    println!();
    println!("| what (median of {ROUNDS} rounds) | SQLite (WAL, synchronous=NORMAL) | PostgreSQL (synchronous_commit=on) | ÷ SQLite | PostgreSQL, synchronous_commit=off | ÷ SQLite |");
    println!("|---|---|---|---|---|---|");
    for (name, unit, samples) in figures {
        let s = median(samples[0].clone());
        let p = median(samples[1].clone());
        let a = median(samples[2].clone());
        println!(
            "| {name} | {s:.3} {unit} | {p:.3} {unit} | {:.2}× | {a:.3} {unit} | {:.2}× |",
            p / s,
            a / s
        );
    }
    for b in &backends {
        b.store().close().await;
    }
    let _ = admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str())
        .await;
    drop(dir);
}
