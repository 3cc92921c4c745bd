//! Failover by lease with real processes: `kill -9` of the instance that owns the most runs
//! (twice) plus a Redis restart while 30 runs execute; a paused owner fenced out; SIGTERM
//! handing runs back without waiting for the lease to lapse.

use super::delivery::{ws_connect, ws_to_end};
use super::harness::*;
use super::services::PrivateRedis;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

const RUNS: usize = 30;

fn limits_env() -> Vec<(String, String)> {
    [
        ("YOUMEYOU_FREE_CONCURRENT_RUNS", "100"),
        ("YOUMEYOU_FREE_MAX_PROJECTS", "100"),
        ("YOUMEYOU_FREE_RUNS_PER_DAY", "1000"),
        ("YOUMEYOU_FREE_RPM", "100000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

async fn pg(cluster: &Cluster) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&cluster.db_url())
        .await
        .unwrap()
}

/// Unfinished runs per lease owner.
async fn owners(db: &sqlx::PgPool) -> HashMap<String, i64> {
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT lease_owner, COUNT(*) FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled') GROUP BY 1",
    )
    .fetch_all(db)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(o, n)| (o.unwrap_or_default(), n))
        .collect()
}

fn ms(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .timestamp_millis()
}

/// Every task completed exactly once, and never started again after it completed.
fn no_task_ran_twice(run: &str, log: &[Value]) {
    let mut completed: HashSet<String> = HashSet::new();
    for e in log {
        let task = e["data"]["taskId"].as_str().unwrap_or_default().to_string();
        match e["type"].as_str() {
            Some("taskStarted") => {
                assert!(
                    !completed.contains(&task),
                    "{run}: completed {task} started again"
                );
            }
            Some("taskCompleted") => {
                assert!(
                    completed.insert(task.clone()),
                    "{run}: {task} completed twice"
                );
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kill_the_busiest_owner_twice_and_restart_redis_and_every_run_completes_exactly_once()
{
    let mut redis = PrivateRedis::start().await;
    let options = Options {
        pace: "0.1",
        redis_url: Some(redis.url()),
        extra_env: limits_env(),
        ..Options::default()
    };
    let mut cluster = Cluster::start(&["A", "B", "C"], options).await;
    let db = pg(&cluster).await;
    let token = cluster.user("C", "chaos@example.com").await;
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let on = ["A", "B", "C"][i % 3];
        let project = cluster.project(on, &token, &format!("Chaos {i}")).await;
        runs.push(cluster.run(on, &token, &project, EXAMPLE_1).await);
    }
    // Watchers on C, which is never killed.
    let mut watchers = Vec::new();
    for run in &runs {
        let mut ws = ws_connect(
            &cluster.get("C").ws_url(&format!("/api/ws/runs/{run}")),
            &token,
        )
        .await;
        let run = run.clone();
        watchers.push(tokio::spawn(async move { ws_to_end(&mut ws, &run).await }));
    }
    // Mid-run: every run has completed a task (read from its events, on C).
    for run in &runs {
        cluster
            .until_event("C", &token, run, |e| e["type"] == "taskCompleted")
            .await;
    }
    let mut takeovers_ms: Vec<i64> = Vec::new();
    let mut killed = Vec::new();
    for round in 0..2 {
        let by_owner = owners(&db).await;
        let victim = ["A", "B"]
            .iter()
            .max_by_key(|id| by_owner.get(**id).copied().unwrap_or(0))
            .unwrap()
            .to_string();
        let orphans: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM runs WHERE lease_owner = $1 AND status NOT IN ('completed', 'failed', 'cancelled')",
        )
        .bind(&victim)
        .fetch_all(&db)
        .await
        .unwrap();
        assert!(
            !orphans.is_empty(),
            "round {round}: {victim} owns no running run: {by_owner:?}"
        );
        let killed_at = chrono::Utc::now().timestamp_millis();
        cluster.get_mut(&victim).kill();
        killed.push((victim.clone(), orphans.len()));
        // Each of its runs is taken over and says so.
        for run in &orphans {
            let seen = cluster
                .until_event("C", &token, run, |e| {
                    e["type"] == "runResumed" && e["data"]["previousInstance"] == victim.as_str()
                })
                .await;
            let resumed = seen.iter().rfind(|e| e["type"] == "runResumed").unwrap();
            takeovers_ms.push(ms(resumed["ts"].as_str().unwrap()) - killed_at);
        }
        if round == 0 {
            redis.restart().await;
            cluster.launch(&victim).await;
        }
    }
    let mut delivered = HashMap::new();
    for (run, watcher) in runs.iter().zip(watchers) {
        delivered.insert(run.clone(), watcher.await.unwrap());
    }
    for run in &runs {
        let status: String = sqlx::query_scalar("SELECT status FROM runs WHERE id = $1")
            .bind(run)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(status, "completed", "{run}");
        let log = log(&cluster, "C", &token, run).await;
        let got = &delivered[run];
        assert_eq!(
            seqs(got),
            (1..=log.len() as u64).collect::<Vec<_>>(),
            "{run}: nothing lost or repeated on the watcher"
        );
        assert_eq!(got, &log, "{run}: the watcher saw the log");
        no_task_ran_twice(run, &log);
        assert!(log
            .last()
            .is_some_and(|e| e["type"] == "executionSummary" && e["data"]["success"] == true));
    }
    takeovers_ms.sort_unstable();
    eprintln!(
        "[chaos] {RUNS} runs, killed {killed:?}; takeover after kill -9: median {} ms, max {} ms (lease TTL {} s)",
        takeovers_ms[takeovers_ms.len() / 2],
        takeovers_ms.last().unwrap(),
        cluster.options.lease_ttl
    );
    db.close().await;
    cluster.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_cannot_write_after_another_instance_took_its_run() {
    let options = Options {
        pace: "0.1",
        ..Options::default()
    };
    let cluster = Cluster::start(&["A", "B"], options).await;
    let db = pg(&cluster).await;
    let token = cluster.user("B", "fence@example.com").await;
    let project = cluster.project("A", &token, "Fencing").await;
    let run = cluster.run("A", &token, &project, EXAMPLE_1).await;
    cluster
        .until_event("B", &token, &run, |e| e["type"] == "taskCompleted")
        .await;
    cluster.get("A").signal(rustix::process::Signal::STOP);
    // B's sweeper takes the run once A's lease lapses, and says so first.
    cluster
        .until_event("B", &token, &run, |e| e["type"] == "runResumed")
        .await;
    let epoch_b: i64 = sqlx::query_scalar("SELECT lease_epoch FROM runs WHERE id = $1")
        .bind(&run)
        .fetch_one(&db)
        .await
        .unwrap();
    // A wakes up with tasks in flight and its old epoch.
    cluster.get("A").signal(rustix::process::Signal::CONT);
    let events = cluster.poll_to_end("B", &token, &run).await;
    let log = log(&cluster, "B", &token, &run).await;
    assert_eq!(seqs(&log), (1..=log.len() as u64).collect::<Vec<_>>());
    assert_eq!(events, log);
    no_task_ran_twice(&run, &log);
    let resumed: Vec<&Value> = log.iter().filter(|e| e["type"] == "runResumed").collect();
    assert_eq!(resumed.len(), 1, "one takeover");
    assert_eq!(resumed[0]["data"]["instance"], "B");
    assert_eq!(resumed[0]["data"]["previousInstance"], "A");
    // Nothing after the end; the epoch never moved back to A.
    assert!(is_final(log.last().unwrap()));
    let (owner, epoch): (Option<String>, i64) =
        sqlx::query_as("SELECT lease_owner, lease_epoch FROM runs WHERE id = $1")
            .bind(&run)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((owner.as_deref(), epoch), (Some("B"), epoch_b));
    // A is alive and serving after losing its run.
    wait_ready(&cluster.http, &cluster.get("A").base).await;
    db.close().await;
    cluster.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_runs_back_so_another_instance_goes_on_without_waiting_for_the_lease() {
    // A lease that would take ten minutes to lapse: only the hand-back lets B continue within
    // the test's time limit.
    let options = Options {
        pace: "0.1",
        lease_ttl: "600",
        lease_renew: "1",
        ..Options::default()
    };
    let mut cluster = Cluster::start(&["A", "B"], options).await;
    let db = pg(&cluster).await;
    let token = cluster.user("B", "handback@example.com").await;
    let project = cluster.project("A", &token, "Hand-back").await;
    let run = cluster.run("A", &token, &project, EXAMPLE_1).await;
    cluster
        .until_event("B", &token, &run, |e| e["type"] == "taskCompleted")
        .await;
    cluster.get_mut("A").terminate();
    let log = cluster.poll_to_end("B", &token, &run).await;
    assert!(log
        .last()
        .is_some_and(|e| e["type"] == "executionSummary" && e["data"]["success"] == true));
    let resumed = log
        .iter()
        .find(|e| e["type"] == "runResumed")
        .expect("runResumed");
    assert_eq!(resumed["data"]["previousInstance"], "A");
    assert!(resumed["data"]["completedTasks"].as_u64().unwrap() >= 1);
    no_task_ran_twice(&run, &log);
    db.close().await;
    cluster.close().await;
}
