//! Crash safety with a real process: SIGKILL the server in the middle of a run, start it again
//! on the same data directory, and the run resumes — completed tasks are not executed again and
//! the event log has no gap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/process.rs"]
mod process;
use process::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};

const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_youmeyou"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log",
            "warn",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env("YOUMEYOU_PACE", "0.05")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start youmeyou")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_sigkill_without_re_executing_completed_tasks_or_losing_events() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut child = spawn(dir.path(), port);
    wait_ready(&http, &base).await;

    let creds = json!({"email": "crash@example.com", "password": "correct horse battery"});
    assert_eq!(
        http.post(format!("{base}/api/auth/register"))
            .json(&creds)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&creds)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let project: Value = http
        .post(format!("{base}/api/projects"))
        .bearer_auth(&token)
        .json(&json!({"name": "Crash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project_id = project["project"]["id"].as_str().unwrap();
    let started: Value = http
        .post(format!("{base}/api/projects/{project_id}/runs"))
        .bearer_auth(&token)
        .json(&json!({"prompt": EXAMPLE_1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = started["buildId"].as_str().unwrap().to_string();

    // Watch until two tasks have completed and another is running, then kill -9.
    let mut before: Vec<Value> = Vec::new();
    loop {
        let after = before.last().map_or(0, |e| e["seq"].as_u64().unwrap());
        before.extend(events_after(&http, &base, &token, &run, after).await);
        let completed = before
            .iter()
            .filter(|e| e["type"] == "taskCompleted")
            .count();
        if completed >= 2 {
            break;
        }
        assert!(
            !before.iter().any(|e| e["type"] == "executionSummary"),
            "the run finished before the kill"
        );
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let completed_before: HashSet<String> = before
        .iter()
        .filter(|e| e["type"] == "taskCompleted")
        .map(|e| e["data"]["taskId"].as_str().unwrap().to_string())
        .collect();

    // Start again on the same data directory; the run resumes by itself.
    let mut child = spawn(dir.path(), port);
    wait_ready(&http, &base).await;
    let mut all: Vec<Value> = Vec::new();
    loop {
        let after = all.last().map_or(0, |e| e["seq"].as_u64().unwrap());
        all.extend(events_after(&http, &base, &token, &run, after).await);
        if all.iter().any(|e| e["type"] == "executionSummary") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    // No gap and no duplicate: seq runs 1..=N, and the log kept what was seen before the kill.
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e["seq"].as_u64().unwrap(), i as u64 + 1);
    }
    for (i, e) in before.iter().enumerate() {
        assert_eq!(&all[i], e, "an event seen before the crash changed");
    }
    let summary = all.last().unwrap();
    assert_eq!(summary["data"]["success"], true);
    assert_eq!(summary["data"]["tasksCompleted"], 8);
    // Completed tasks were started exactly once over the whole log.
    let mut starts: HashMap<String, usize> = HashMap::new();
    for e in all.iter().filter(|e| e["type"] == "taskStarted") {
        *starts
            .entry(e["data"]["taskId"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for task in &completed_before {
        assert_eq!(
            starts.get(task),
            Some(&1),
            "{task} was executed again after the restart"
        );
    }
    assert!(all
        .iter()
        .any(|e| e["type"] == "executionStarted" && e["data"]["resumed"] == true));
}
