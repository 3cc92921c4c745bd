//! Helpers for tests that run the real `youmeyou` binary as child processes: a free port, a
//! readiness wait, and a long poll of a run's events.
#![allow(dead_code)]

use serde_json::Value;
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Waits until `base` answers `/ready` with 200 (at most 60 s).
pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{base}/ready")).send().await {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{base} did not become ready");
        // Polling readiness of a starting process: there is no event to wait for.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Long-polls the run's events after `after`, holding up to 10 s for new ones.
pub async fn events_after(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    run: &str,
    after: u64,
) -> Vec<Value> {
    let r = http
        .get(format!(
            "{base}/api/runs/{run}/events?after={after}&wait=10"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("poll");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "polling {run}: {body}");
    body["events"].as_array().cloned().unwrap_or_default()
}
