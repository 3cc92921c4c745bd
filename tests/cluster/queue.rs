//! One run queue for the whole cluster: with one slot per instance, three instances run three
//! runs and queue the rest in order; every instance reports the same positions; a queued run
//! can be cancelled through any instance; freed slots anywhere take the next run in order.

use super::harness::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

/// A run's id, start and finish as stored.
type Times = (String, Option<String>, Option<String>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_is_shared_in_order_with_the_same_positions_on_every_instance() {
    let options = Options {
        pace: "0.08",
        max_concurrent_runs: "1",
        extra_env: vec![
            ("YOUMEYOU_FREE_CONCURRENT_RUNS".into(), "10".into()),
            ("YOUMEYOU_FREE_RPM".into(), "10000".into()),
        ],
        ..Options::default()
    };
    let cluster = Cluster::start(&["A", "B", "C"], options).await;
    let db = sqlx::PgPool::connect(&cluster.db_url()).await.unwrap();
    let token = cluster.user("A", "queue@example.com").await;
    let mut runs = Vec::new();
    for (i, on) in ["A", "B", "C", "A", "B", "C"].iter().enumerate() {
        let project = cluster.project(on, &token, &format!("Queue {i}")).await;
        runs.push(cluster.run(on, &token, &project, EXAMPLE_1).await);
    }
    // Three slots in the cluster: the first three run, one per instance; three wait.
    let owners: Vec<(String, Option<String>, String)> =
        sqlx::query_as("SELECT id, lease_owner, status FROM runs ORDER BY created_at, ord")
            .fetch_all(&db)
            .await
            .unwrap();
    let started: HashSet<&str> = owners[..3]
        .iter()
        .filter_map(|(_, o, _)| o.as_deref())
        .collect();
    assert_eq!(started, HashSet::from(["A", "B", "C"]), "{owners:?}");
    for (id, owner, status) in &owners[3..] {
        assert_eq!(
            (owner.as_deref(), status.as_str()),
            (None, "queued"),
            "{id}"
        );
    }
    // The queued runs' places, read through different instances: the same events.
    let (r4, r5, r6) = (&runs[3], &runs[4], &runs[5]);
    let positions = |events: &[Value]| -> Vec<(u64, u64)> {
        events
            .iter()
            .filter(|e| e["type"] == "queuePosition")
            .map(|e| {
                (
                    e["data"]["position"].as_u64().unwrap(),
                    e["data"]["queueLength"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let r6_on_a = cluster.poll("A", &token, r6, 0).await;
    let r6_on_c = cluster.poll("C", &token, r6, 0).await;
    assert_eq!(r6_on_a, r6_on_c);
    assert_eq!(positions(&r6_on_a).last(), Some(&(3, 3)), "{r6_on_a:?}");
    let r5_log = log(&cluster, "B", &token, r5).await;
    assert_eq!(positions(&r5_log).last(), Some(&(2, 3)));
    assert!(
        r5_log.iter().all(|e| e["type"] == "queuePosition"),
        "r5 waits"
    );

    // Cancelled through C while queued (nobody drives it): it ends at once, r6 moves up.
    let r = cluster
        .req("C", Method::POST, &format!("/api/runs/{r5}/cancel"), &token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let r5_events = cluster.poll_to_end("A", &token, r5).await;
    let last = r5_events.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["data"]["reason"].as_str()),
        (Some("runCancelled"), Some("cancelled while queued"))
    );
    let mut r6_events = r6_on_a.clone();
    while positions(&r6_events).last() != Some(&(2, 2)) {
        let after = r6_events.last().map_or(0, seq);
        r6_events.extend(cluster.poll("B", &token, r6, after).await);
    }

    // Everything ends; r4 and r6 ran after a slot freed, in order, and never more than three
    // runs executed at once.
    let mut ends = Vec::new();
    for run in [&runs[0], &runs[1], &runs[2], r4, r6] {
        let events = cluster.poll_to_end("C", &token, run).await;
        assert_eq!(
            events.last().unwrap()["data"]["success"],
            true,
            "{run}: {}",
            kinds(&events)
        );
        ends.push(events);
    }
    let times: Vec<(String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT id, started_at, finished_at FROM runs WHERE status = 'completed'")
            .fetch_all(&db)
            .await
            .unwrap();
    let at = |run: &str, pick: fn(&Times) -> &Option<String>| -> String {
        pick(times.iter().find(|t| t.0 == run).unwrap())
            .clone()
            .unwrap()
    };
    assert!(
        at(r4, |t| &t.1) <= at(r6, |t| &t.1),
        "FIFO: r4 started before r6"
    );
    let first_end = [&runs[0], &runs[1], &runs[2]]
        .iter()
        .map(|r| at(r, |t| &t.2))
        .min()
        .unwrap();
    assert!(at(r4, |t| &t.1) >= first_end, "r4 waited for a free slot");
    // At every start, fewer than four runs were executing.
    for (id, start, _) in &times {
        let start = start.as_deref().unwrap();
        let executing = times
            .iter()
            .filter(|(_, s, f)| s.as_deref().unwrap() <= start && f.as_deref().unwrap() > start)
            .count();
        assert!(
            executing <= 3,
            "{executing} runs executing when {id} started"
        );
    }
    db.close().await;
    cluster.close().await;
}
