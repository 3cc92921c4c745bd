//! Outages of the shared services, each on a server of the test's own: Redis down degrades
//! (delivery from the event log, `/ready` still 200 but `redis: degraded`) and recovers by
//! itself; PostgreSQL down answers 503 with `Retry-After` (no hang, no crash), and the runs go
//! on when it returns.

use super::delivery::{ws_connect, ws_to_end};
use super::harness::*;
use super::services::{PrivatePostgres, PrivateRedis};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn ready(cluster: &Cluster, on: &str) -> (u16, Value) {
    let r = cluster
        .http
        .get(format!("{}/ready", cluster.get(on).base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits until `/ready` on `on` answers as `pred` wants.
async fn until_ready(cluster: &Cluster, on: &str, what: &str, pred: impl Fn(u16, &Value) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, body) = ready(cluster, on).await;
        if pred(status, &body) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{on} never became {what}: {status} {body}"
        );
        // Another process notices an outage on its own schedule: nothing to await here.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_every_instance_serves_and_delivers_from_the_log_then_recovers() {
    let mut redis = PrivateRedis::start().await;
    let options = Options {
        pace: "0.05",
        redis_url: Some(redis.url()),
        ..Options::default()
    };
    let cluster = Cluster::start(&["A", "B"], options).await;
    let token = cluster.user("A", "redis-down@example.com").await;
    let project = cluster.project("A", &token, "No Redis").await;
    let (status, body) = ready(&cluster, "A").await;
    assert_eq!(
        (status, body["redis"].as_str()),
        (200, Some("ok")),
        "{body}"
    );

    redis.stop().await;
    until_ready(&cluster, "A", "degraded", |s, b| {
        s == 200 && b["redis"] == "degraded"
    })
    .await;
    until_ready(&cluster, "B", "degraded", |s, b| {
        s == 200 && b["redis"] == "degraded"
    })
    .await;
    // Requests are served (rate limits fall back to a local bucket), runs start and their
    // events reach another instance's watchers through the event log.
    let run = cluster.run("B", &token, &project, EXAMPLE_1).await;
    let mut ws = ws_connect(
        &cluster.get("A").ws_url(&format!("/api/ws/runs/{run}")),
        &token,
    )
    .await;
    let (watched, polled) = tokio::join!(
        ws_to_end(&mut ws, &run),
        cluster.poll_to_end("A", &token, &run)
    );
    let log = log(&cluster, "B", &token, &run).await;
    assert_eq!(seqs(&watched), (1..=log.len() as u64).collect::<Vec<_>>());
    assert_eq!(watched, log);
    assert_eq!(polled, log);

    redis.restart().await;
    until_ready(&cluster, "A", "ok again", |s, b| {
        s == 200 && b["redis"] == "ok"
    })
    .await;
    until_ready(&cluster, "B", "ok again", |s, b| {
        s == 200 && b["redis"] == "ok"
    })
    .await;
    // Back on Redis: a second run is delivered across instances again.
    let project2 = cluster.project("B", &token, "Redis back").await;
    let run2 = cluster.run("A", &token, &project2, EXAMPLE_1).await;
    let events = cluster.poll_to_end("B", &token, &run2).await;
    assert_eq!(events, log_of(&cluster, "A", &token, &run2).await);
    let metrics = cluster
        .http
        .get(format!("{}/metrics", cluster.get("B").base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("youmeyou_redis_up 1"), "{metrics}");
    assert!(
        metrics.contains("youmeyou_relay_events_total{what=\"backfilled\"}"),
        "the outage was bridged from the log"
    );
    cluster.close().await;
}

async fn log_of(cluster: &Cluster, on: &str, token: &str, run: &str) -> Vec<Value> {
    log(cluster, on, token, run).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_requests_answer_503_with_retry_after_and_runs_go_on_when_it_returns() {
    let mut pg = PrivatePostgres::start().await;
    let options = Options {
        pace: "0.1",
        database_url: Some(pg.url()),
        ..Options::default()
    };
    let cluster = Cluster::start(&["A", "B"], options).await;
    let token = cluster.user("A", "pg-down@example.com").await;
    let project = cluster.project("A", &token, "No PostgreSQL").await;
    let run = cluster.run("A", &token, &project, EXAMPLE_1).await;
    let first = cluster.poll("B", &token, &run, 0).await;
    assert!(!first.is_empty());

    pg.stop().await;
    for on in ["A", "B"] {
        let started = Instant::now();
        let (status, body) = ready(&cluster, on).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "unavailable");
        let r = cluster
            .req(on, Method::GET, "/api/projects", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "5");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable");
        assert_eq!(body["error"]["retryable"], true);
        // Bounded by the pool's acquire timeout (3 s) and /ready's (2 s): no hung request.
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
    }
    pg.resume().await;
    until_ready(&cluster, "A", "ready", |s, _| s == 200).await;
    until_ready(&cluster, "B", "ready", |s, _| s == 200).await;
    // The run ends, whichever instance finished it, without a gap or a task run twice.
    let events = cluster.poll_to_end("B", &token, &run).await;
    let log = log(&cluster, "A", &token, &run).await;
    assert_eq!(events, log);
    assert_eq!(seqs(&log), (1..=log.len() as u64).collect::<Vec<_>>());
    let last = log.last().unwrap();
    assert_eq!(last["type"], "executionSummary");
    assert_eq!(last["data"]["success"], true, "{}", kinds(&log));
    cluster.close().await;
}

/// The start stops with one line naming the service when DATABASE_URL or REDIS_URL is wrong or
/// unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_or_redis_stops_the_start_with_one_line() {
    let closed = free_port();
    let schema = super::services::PgSchema::new().await;
    let cases = [
        (
            format!("postgres://postgres@127.0.0.1:{closed}/test"),
            None,
            "cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:",
        ),
        (
            "postgres://postgres:hunter2@127.0.0.1:1/x".to_string(),
            None,
            "postgres://postgres:***@127.0.0.1:1/x",
        ),
        (
            "mysql://x".to_string(),
            None,
            "invalid value for --database-url (DATABASE_URL)",
        ),
        (
            schema.url.clone(),
            Some(format!("redis://127.0.0.1:{closed}")),
            "cannot connect to Redis at redis://127.0.0.1:",
        ),
        (
            schema.url.clone(),
            Some("http://nope".to_string()),
            "invalid value for --redis-url (REDIS_URL)",
        ),
    ];
    for (database, redis, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_youmeyou"));
        cmd.args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{}", free_port()),
            "--log",
            "error",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("DATABASE_URL", &database)
        .env_remove("REDIS_URL");
        if let Some(url) = &redis {
            cmd.env("REDIS_URL", url);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        assert!(!out.status.success(), "{database} {redis:?} started");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(expected), "{expected:?} in {stderr}");
        assert!(!stderr.contains("hunter2"), "no password in {stderr}");
    }
    schema.drop_schema().await;
}
