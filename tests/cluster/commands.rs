//! Requests about a run that another instance drives: edits and cancels sent to any instance
//! are executed by the owner and answered the same as on one instance; limits and the edit
//! rules hold across instances.

use super::harness::*;
use reqwest::Method;
use serde_json::{json, Value};

const EDIT: &str = "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user behavior tracking";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn post(
    cluster: &Cluster,
    on: &str,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value, Option<String>) {
    let r = cluster
        .req(on, Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body, retry)
}

/// Moves the run's stored edits ten minutes back, as if the (600 s) cooldown had passed: the
/// owner reads an edit's time from the store, so no test waits for the clock.
async fn cooldown_over(cluster: &Cluster, run: &str) {
    let db = sqlx::PgPool::connect(&cluster.db_url()).await.unwrap();
    sqlx::query(
        "UPDATE modifications SET ts = '2000-01-01T00:00:00.000Z',
           body = jsonb_set(body::jsonb, '{timestamp}', '\"2000-01-01T00:00:00.000Z\"')::text
         WHERE run_id = $1",
    )
    .bind(run)
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_a_cancel_sent_to_other_instances_are_applied_by_the_owner_with_the_same_rules() {
    let options = Options {
        pace: "0.5",
        extra_env: env(&[("YOUMEYOU_EDIT_COOLDOWN_SECS", "600")]),
        ..Options::default()
    };
    let cluster = Cluster::start(&["A", "B", "C"], options).await;
    let token = cluster.user("C", "editor@example.com").await;
    let project = cluster.project("C", &token, "Edits").await;
    let run = cluster.run("B", &token, &project, EXAMPLE_1).await;
    cluster
        .until_event("C", &token, &run, |e| {
            e["type"] == "taskStarted" && e["data"]["taskId"] == "task_2"
        })
        .await;

    let path = |what: &str| format!("/api/runs/{run}/tasks/task_2/{what}");
    let edit = |n: u32| format!("{EDIT}, variant {n}");
    // Edit 1 through C.
    let (status, impact, _) = post(
        &cluster,
        "C",
        &token,
        &path("impact"),
        json!({"prompt": edit(1)}),
    )
    .await;
    assert_eq!(status, 200, "{impact}");
    assert_eq!(impact["modificationsLeft"], 3);
    assert!(impact["affectedTasks"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    let (status, body, _) = post(
        &cluster,
        "C",
        &token,
        &path("modifications"),
        json!({"prompt": edit(1), "confirmToken": impact["confirmToken"]}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["modification"]["newPrompt"], edit(1));
    // Right after, through A: the owner's cooldown applies.
    let (status, body, _) = post(
        &cluster,
        "A",
        &token,
        &path("impact"),
        json!({"prompt": edit(2)}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "cooldown_active");
    // A confirm token from an impact on A is good on C (the owner keeps it).
    for (n, analyse_on, confirm_on) in [(2, "A", "C"), (3, "C", "A")] {
        cooldown_over(&cluster, &run).await;
        let (status, impact, _) = post(
            &cluster,
            analyse_on,
            &token,
            &path("impact"),
            json!({"prompt": edit(n)}),
        )
        .await;
        assert_eq!(status, 200, "{impact}");
        assert_eq!(impact["modificationsLeft"], 4 - n);
        let (status, body, _) = post(
            &cluster,
            confirm_on,
            &token,
            &path("modifications"),
            json!({"prompt": edit(n), "confirmToken": impact["confirmToken"]}),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    cooldown_over(&cluster, &run).await;
    let (status, body, _) = post(
        &cluster,
        "B",
        &token,
        &path("impact"),
        json!({"prompt": edit(4)}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "modification_limit");
    let (status, body, _) = post(
        &cluster,
        "A",
        &token,
        &path("modifications"),
        json!({"prompt": edit(4), "confirmToken": "made-up"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let snapshot: Value = cluster
        .req("A", Method::GET, &format!("/api/runs/{run}"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snapshot["modifications"].as_array().unwrap().len(), 3);
    let task_2 = snapshot["plan"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "task_2")
        .unwrap()
        .clone();
    assert_eq!(task_2["modificationCount"], 3);
    assert_eq!(task_2["prompt"], edit(3));

    // Cancel through A; B stops the run.
    let (status, body, _) = post(
        &cluster,
        "A",
        &token,
        &format!("/api/runs/{run}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let events = cluster.poll_to_end("C", &token, &run).await;
    assert!(
        events.iter().any(|e| e["type"] == "runCancelled"),
        "{}",
        kinds(&events)
    );
    assert_eq!(events.last().unwrap()["data"]["success"], false);
    let regenerations = events
        .iter()
        .filter(|e| e["type"] == "regenerationStarted")
        .count();
    assert_eq!(regenerations, 3, "{}", kinds(&events));
    let (status, body, _) = post(
        &cluster,
        "C",
        &token,
        &format!("/api/runs/{run}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    cluster.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_slots_and_request_limits_hold_across_instances() {
    let options = Options {
        pace: "0.5",
        extra_env: env(&[
            ("YOUMEYOU_FREE_CONCURRENT_RUNS", "2"),
            ("YOUMEYOU_FREE_RPM", "30"),
            ("YOUMEYOU_FREE_MAX_PROJECTS", "20"),
        ]),
        ..Options::default()
    };
    let cluster = Cluster::start(&["A", "B", "C"], options).await;
    let token = cluster.user("A", "slots@example.com").await;
    // The user's request bucket (30 a minute, refilling one every 2 s) starts here.
    let bucket_start = std::time::Instant::now();
    let mut projects = Vec::new();
    for i in 0..6 {
        projects.push(
            cluster
                .project(["A", "B", "C"][i % 3], &token, &format!("Slots {i}"))
                .await,
        );
    }
    // Six runs asked for at once through three instances: the tier's two slots, no more.
    let paths: Vec<String> = projects
        .iter()
        .map(|p| format!("/api/projects/{p}/runs"))
        .collect();
    let mut asks = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let on = ["A", "B", "C"][i % 3];
        asks.push(post(
            &cluster,
            on,
            &token,
            path,
            json!({"prompt": EXAMPLE_1}),
        ));
    }
    let answers = futures_util::future::join_all(asks).await;
    let accepted: Vec<&Value> = answers
        .iter()
        .filter(|(s, _, _)| *s == 202)
        .map(|(_, b, _)| b)
        .collect();
    let refused: Vec<&(u16, Value, Option<String>)> =
        answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert_eq!(accepted.len(), 2, "{answers:?}");
    assert_eq!(refused.len(), 4, "{answers:?}");
    for (_, body, retry) in refused {
        assert_eq!(body["error"]["code"], "concurrent_run_limit");
        assert!(retry.is_some(), "429 says when to retry");
    }
    // One bucket of requests per user across instances: 30 per minute in all, not per instance.
    let mut allowed = 0;
    let mut limited = 0;
    for i in 0..60 {
        let on = ["A", "B", "C"][i % 3];
        let r = cluster
            .req(on, Method::GET, "/api/projects", &token)
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => allowed += 1,
            429 => {
                limited += 1;
                assert!(r.headers().get("retry-after").is_some());
            }
            other => panic!("{other}"),
        }
    }
    // One bucket for the three instances: the 12 project and run calls plus what was allowed
    // here stay within its 30 and the tokens refilled since it started (one per 2 s). Three
    // separate buckets would have allowed all 60.
    let refilled = (bucket_start.elapsed().as_secs_f64() / 2.0).ceil() as u32;
    assert!(
        12 + allowed <= 30 + refilled,
        "allowed {allowed} of 60 after {:?}: the bucket is shared",
        bucket_start.elapsed()
    );
    assert!(limited >= 1 && allowed < 60 - 20, "limited {limited}");
    for body in accepted {
        let run = body["buildId"].as_str().unwrap();
        cluster
            .req(
                "C",
                Method::POST,
                &format!("/api/runs/{run}/cancel"),
                &token,
            )
            .send()
            .await
            .unwrap();
    }
    cluster.close().await;
}
