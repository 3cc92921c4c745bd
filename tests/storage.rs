//! Per-tier storage quota (issue 21, item 7): canvas history and generated files count against
//! the account's bytes; over the quota the oldest canvas versions are pruned first (never a
//! project's current one), and a write that still does not fit is refused with
//! `422 storage_quota` before anything is written. Runs are refused while storage is full.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::{error_code, TestServer, User};

const MIB: u64 = 1024 * 1024;

/// A canvas of about 330 KB (40 nodes with 8 KiB of config each).
fn big_canvas(version: u64, tag: &str) -> Value {
    let nodes: Vec<Value> = (0..40)
        .map(|i| {
            json!({
                "id": format!("n{i}"),
                "type": "microservice",
                "label": format!("Service {i} {tag}"),
                "position": {"x": 10.0 * i as f64, "y": 0.0},
                "config": {"notes": "x".repeat(8 * 1024)},
            })
        })
        .collect();
    json!({"nodes": nodes, "edges": [], "version": version})
}

async fn put(
    s: &TestServer,
    user: &User,
    project: &str,
    version: u64,
    tag: &str,
) -> reqwest::Response {
    s.bearer(
        Method::PUT,
        &format!("/api/projects/{project}/canvas"),
        &user.token,
    )
    .json(&big_canvas(version, tag))
    .send()
    .await
    .unwrap()
}

async fn versions(s: &TestServer, user: &User, project: &str) -> Vec<u64> {
    let r = s
        .bearer(
            Method::GET,
            &format!("/api/projects/{project}/canvas/versions"),
            &user.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn old_versions_are_pruned_first_and_a_full_account_is_refused_before_writing() {
    let s = support::start(|c| c.limits.free.storage_bytes = MIB).await;
    let user = s.user("full@example.com").await;
    let mut projects = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let p = s.create_project(&user, name).await;
        projects.push(p["id"].as_str().unwrap().to_string());
    }
    let (a, b, c, d) = (&projects[0], &projects[1], &projects[2], &projects[3]);
    // Three versions of A fit (≈ 1 MB).
    for v in 0..3 {
        assert_eq!(put(&s, &user, a, v, &format!("a{v}")).await.status(), 200);
    }
    assert_eq!(versions(&s, &user, a).await, vec![3, 2, 1, 0]);
    // B's first version fits only once A's oldest versions are pruned.
    assert_eq!(put(&s, &user, b, 0, "b").await.status(), 200);
    let left = versions(&s, &user, a).await;
    assert!(left.contains(&3), "A's current version is kept: {left:?}");
    assert!(
        !left.contains(&1),
        "A's oldest version went first: {left:?}"
    );
    // C fits after A's remaining old version goes; then only current versions are left.
    assert_eq!(put(&s, &user, c, 0, "c").await.status(), 200);
    assert_eq!(versions(&s, &user, a).await, vec![3]);
    // D does not fit: 422 storage_quota, and nothing of D was written.
    let (status, code) = error_code(put(&s, &user, d, 0, "d").await).await;
    assert_eq!((status.as_u16(), code.as_str()), (422, "storage_quota"));
    assert_eq!(
        versions(&s, &user, d).await,
        vec![0],
        "only the empty canvas of its creation"
    );
    // A full account cannot start a run (it would write files); the message says what to do.
    let r = s
        .bearer(
            Method::POST,
            &format!("/api/projects/{a}/runs"),
            &user.token,
        )
        .json(&json!({"prompt": "Add a search feature"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "storage_quota");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Delete runs or projects"));
    // Deleting a project gives its bytes back.
    let r = s
        .bearer(Method::DELETE, &format!("/api/projects/{b}"), &user.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(put(&s, &user, d, 0, "d").await.status(), 200);
    // Another account is not affected by this one's usage.
    let other = s.user("other@example.com").await;
    let p = s.create_project(&other, "o").await;
    assert_eq!(
        put(&s, &other, p["id"].as_str().unwrap(), 0, "o")
            .await
            .status(),
        200
    );
}
