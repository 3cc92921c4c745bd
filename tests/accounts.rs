//! Functional account and project flows over real HTTP: register, sign in (token and cookie),
//! me, sign out, key rotation, projects CRUD with `lastRun`, canvas versioning, and the admin
//! CLI on the built binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{error_code, session_set_cookie, start, start_in, PASSWORD};
use youmeyou::server::secrets::Secret;

#[tokio::test]
async fn register_normalises_the_email_and_refuses_duplicates_and_weak_passwords() {
    let s = start(|_| {}).await;
    let r = s.register("  Ann@Example.COM ", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ann@example.com");
    assert_eq!(body["user"]["tier"], "free");
    assert!(body["user"]["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(body["user"].get("passwordHash").is_none() && !body.to_string().contains("argon2"));

    let cases = [
        (
            "ANN@example.com",
            PASSWORD,
            StatusCode::CONFLICT,
            "email_taken",
        ),
        (
            "bob@example.com",
            "short",
            StatusCode::UNPROCESSABLE_ENTITY,
            "password_too_short",
        ),
        (
            "bob@example.com",
            &"x".repeat(257),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password_too_long",
        ),
        (
            "not-an-email",
            PASSWORD,
            StatusCode::BAD_REQUEST,
            "invalid_email",
        ),
        (
            "bob@localhost",
            PASSWORD,
            StatusCode::BAD_REQUEST,
            "invalid_email",
        ),
    ];
    for (email, password, status, code) in cases {
        let r = s.register(email, password).await;
        assert_eq!(error_code(r).await, (status, code.to_string()), "{email}");
    }
    // Missing fields are a shape error, not a crash.
    let r = s
        .req(Method::POST, "/api/auth/register")
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".into())
    );
}

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_me_accepts_cookie_or_bearer() {
    let s = start(|_| {}).await;
    s.register("cara@example.com", PASSWORD).await;
    let r = s.login("CARA@example.com", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = session_set_cookie(&r).expect("Set-Cookie");
    for part in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure ({cookie})"
    );
    let body: Value = r.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(token.split('.').count(), 3, "a JWT");
    assert_eq!(body["user"]["email"], "cara@example.com");

    let by_bearer: Value = s
        .bearer(Method::GET, "/api/me", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_bearer["user"]["email"], "cara@example.com");
    assert_eq!(
        by_bearer["limits"]["concurrentRuns"], 100,
        "tier limits are reported"
    );
    let by_cookie = s
        .req(Method::GET, "/api/me")
        .header("cookie", format!("theme=dark; ymy_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);

    // Behind a TLS-terminating proxy the cookie is Secure.
    let r = s
        .req(Method::POST, "/api/auth/login")
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": "cara@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(session_set_cookie(&r).unwrap().ends_with("; Secure"));

    // Wrong password and unknown account answer alike.
    let wrong = error_code(s.login("cara@example.com", "wrong password").await).await;
    let unknown = error_code(s.login("nobody@example.com", PASSWORD).await).await;
    assert_eq!(
        wrong,
        (StatusCode::UNAUTHORIZED, "invalid_credentials".into())
    );
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn logout_clears_the_cookie_and_revokes_the_token() {
    let s = start(|_| {}).await;
    let u = s.user("dan@example.com").await;
    let other_session = s.user_login_again(&u).await;
    let r = s
        .browser(Method::POST, "/api/auth/logout", &u)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let cleared = session_set_cookie(&r).expect("cookie cleared");
    assert!(
        cleared.starts_with("ymy_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = s
        .bearer(Method::GET, "/api/me", &u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(after).await.0,
        StatusCode::UNAUTHORIZED,
        "the signed-out token is dead"
    );
    let other = s
        .bearer(Method::GET, "/api/me", &other_session)
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "other sessions of the user live on"
    );
    // Signing out again, or without a session, is fine.
    let again = s
        .req(Method::POST, "/api/auth/logout")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

trait LoginAgain {
    async fn user_login_again(&self, u: &support::User) -> String;
}

impl LoginAgain for support::TestServer {
    async fn user_login_again(&self, u: &support::User) -> String {
        let body: Value = self.login(&u.email, PASSWORD).await.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }
}

#[tokio::test]
async fn a_rotated_secret_keeps_old_sessions_valid_only_while_listed() {
    let old = "old-secret-old-secret-old-secret-0001";
    let new = "new-secret-new-secret-new-secret-0002";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let s1 = start_in(tempfile::tempdir().unwrap(), |c| {
        c.data_dir = data.clone();
        c.database = youmeyou::server::config::DatabaseTarget::Sqlite {
            url: format!("sqlite://{}", data.join("youmeyou.db").display()),
        };
        c.jwt_secret = Some(Secret::new(old.as_bytes().to_vec()));
    })
    .await;
    let u = s1.user("erin@example.com").await;
    drop(s1);

    let with_previous = |previous: Vec<Secret>| {
        let data = data.clone();
        move |c: &mut youmeyou::server::ServeConfig| {
            c.data_dir = data.clone();
            c.database = youmeyou::server::config::DatabaseTarget::Sqlite {
                url: format!("sqlite://{}", data.join("youmeyou.db").display()),
            };
            c.jwt_secret = Some(Secret::new(new.as_bytes().to_vec()));
            c.security.jwt_previous_secrets = previous;
        }
    };
    let s2 = start_in(
        tempfile::tempdir().unwrap(),
        with_previous(vec![Secret::new(old.as_bytes().to_vec())]),
    )
    .await;
    let r = s2
        .bearer(Method::GET, "/api/me", &u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "old token verifies with the previous secret"
    );
    // New sessions are signed with the new secret.
    let fresh: Value = s2.login(&u.email, PASSWORD).await.json().await.unwrap();
    let fresh = fresh["token"].as_str().unwrap().to_string();
    drop(s2);

    let s3 = start_in(tempfile::tempdir().unwrap(), with_previous(vec![])).await;
    let r = s3
        .bearer(Method::GET, "/api/me", &u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await.0,
        StatusCode::UNAUTHORIZED,
        "dropped secret: old token refused"
    );
    let r = s3
        .bearer(Method::GET, "/api/me", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "tokens of the current secret still work"
    );
}

#[tokio::test]
async fn projects_crud_with_last_run_and_isolation() {
    let s = start(|_| {}).await;
    let a = s.user("fay@example.com").await;
    let b = s.user("gus@example.com").await;

    let p = s.create_project(&a, "  Shop  ").await;
    assert_eq!(p["name"], "Shop", "names are trimmed");
    assert_eq!(p["canvas"], json!({"nodes": [], "edges": [], "version": 0}));
    assert!(p["lastRun"].is_null());
    assert!(p["createdAt"].is_string() && p["updatedAt"].is_string());
    let id = p["id"].as_str().unwrap().to_string();
    let second = s.create_project(&a, "Blog").await;

    let list: Value = s
        .bearer(Method::GET, "/api/projects", &a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["projects"].as_array().unwrap().len(), 2);
    let empty: Value = s
        .bearer(Method::GET, "/api/projects", &b.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty["projects"], json!([]), "B sees none of A's projects");

    // lastRun: the latest run's id, status and time.
    s.seed_run(&id, &a.id, "completed").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let latest = s.seed_run(&id, &a.id, "failed").await;
    let list: Value = s
        .bearer(Method::GET, "/api/projects", &a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shop = list["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .unwrap();
    assert_eq!(shop["lastRun"]["id"], latest.as_str());
    assert_eq!(shop["lastRun"]["status"], "failed");
    let one: Value = s
        .bearer(Method::GET, &format!("/api/projects/{id}"), &a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["project"]["lastRun"]["id"], latest.as_str());

    // Rename (an addition to the contract).
    let r = s
        .bearer(Method::PATCH, &format!("/api/projects/{id}"), &a.token)
        .json(&json!({"name": "Shop v2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let renamed: Value = r.json().await.unwrap();
    assert_eq!(renamed["project"]["name"], "Shop v2");
    for bad in ["", "   ", "two\nlines", &"x".repeat(101)] {
        let r = s
            .bearer(Method::PATCH, &format!("/api/projects/{id}"), &a.token)
            .json(&json!({"name": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error_code(r).await,
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_project_name".into()
            ),
            "{bad:?}"
        );
    }

    // Another user: 404 on read, rename, delete, canvas.
    let path = format!("/api/projects/{id}");
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "mine now"}))),
        (Method::DELETE, None),
        (
            Method::PUT,
            Some(json!({"nodes": [], "edges": [], "version": 0})),
        ),
    ] {
        let url = if method == Method::PUT {
            format!("{path}/canvas")
        } else {
            path.clone()
        };
        let mut req = s.bearer(method.clone(), &url, &b.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        assert_eq!(
            error_code(req.send().await.unwrap()).await,
            (StatusCode::NOT_FOUND, "not_found".into()),
            "{method} {url}"
        );
    }

    // Delete refuses while a run is active, then works.
    let active = s.seed_run(&id, &a.id, "running").await;
    let r = s
        .bearer(Method::DELETE, &path, &a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "run_in_progress".into())
    );
    let db = s.db().await;
    sqlx::query("UPDATE runs SET status = 'cancelled' WHERE id = ?")
        .bind(&active)
        .execute(db.pool())
        .await
        .unwrap();
    let r = s
        .bearer(Method::DELETE, &path, &a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = s.bearer(Method::GET, &path, &a.token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE project_id = ?")
        .bind(&id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(runs, 0, "the project's runs went with it");
    assert!(second["id"].is_string());
}

#[tokio::test]
async fn the_project_limit_of_the_tier_is_enforced() {
    let s = start(|c| c.limits.free.max_projects = 2).await;
    let a = s.user("hal@example.com").await;
    s.create_project(&a, "one").await;
    s.create_project(&a, "two").await;
    let r = s
        .bearer(Method::POST, "/api/projects", &a.token)
        .json(&json!({"name": "three"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "project_limit".into())
    );
}

fn canvas(version: u64, label: &str) -> Value {
    json!({
        "nodes": [
            {"id": "api", "type": "microservice", "label": label, "position": {"x": 10, "y": 20}, "config": {"lang": "rust"}},
            {"id": "db", "type": "database", "label": "Postgres", "position": {"x": 200, "y": 20}, "config": {}}
        ],
        "edges": [{"id": "e1", "source": "api", "target": "db", "type": "db"}],
        "version": version
    })
}

#[tokio::test]
async fn canvas_saves_bump_the_version_refuse_stale_ones_and_keep_history() {
    let s = start(|_| {}).await;
    let a = s.user("ida@example.com").await;
    let p = s.create_project(&a, "Design").await;
    let path = format!("/api/projects/{}/canvas", p["id"].as_str().unwrap());

    let r = s
        .bearer(Method::PUT, &path, &a.token)
        .json(&canvas(0, "API"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["canvas"]["version"], 1);
    assert_eq!(saved["canvas"]["nodes"][0]["label"], "API");
    assert_eq!(saved["canvas"]["edges"][0]["type"], "db");

    // A second tab still at version 0 loses.
    let r = s
        .bearer(Method::PUT, &path, &a.token)
        .json(&canvas(0, "stale"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::CONFLICT, "version_conflict".into())
    );

    // Invalid canvases are refused with the core's codes and nothing is written.
    let mut dangling = canvas(1, "API");
    dangling["edges"][0]["target"] = json!("nowhere");
    let r = s
        .bearer(Method::PUT, &path, &a.token)
        .json(&dangling)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "canvas_edge_unknown_node".into()
        )
    );
    let mut unknown_type = canvas(1, "API");
    unknown_type["nodes"][0]["type"] = json!("spaceship");
    let r = s
        .bearer(Method::PUT, &path, &a.token)
        .json(&unknown_type)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".into())
    );
    let too_many: Vec<Value> = (0..501)
        .map(|i| json!({"id": format!("n{i}"), "type": "cache", "label": "c", "config": {}}))
        .collect();
    let r = s
        .bearer(Method::PUT, &path, &a.token)
        .json(&json!({"nodes": too_many, "edges": [], "version": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(r).await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "canvas_too_many_nodes".into()
        )
    );

    let r = s
        .bearer(Method::PUT, &path, &a.token)
        .json(&canvas(1, "API v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let project: Value = s
        .bearer(Method::GET, &path.replace("/canvas", ""), &a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(project["project"]["canvas"]["version"], 2);
    assert_eq!(project["project"]["canvas"]["nodes"][0]["label"], "API v2");

    // History: 2, 1, 0 — and version 1 can be fetched for undo.
    let versions: Value = s
        .bearer(Method::GET, &format!("{path}/versions"), &a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let numbers: Vec<u64> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1, 0]);
    let v1: Value = s
        .bearer(Method::GET, &format!("{path}/versions/1"), &a.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v1["canvas"]["nodes"][0]["label"], "API");
    assert_eq!(v1["canvas"]["version"], 1);
    let r = s
        .bearer(Method::GET, &format!("{path}/versions/99"), &a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn save_canvas_is_atomic_under_concurrent_writers() {
    let s = start(|_| {}).await;
    let a = s.user("jo@example.com").await;
    let p = s.create_project(&a, "Race").await;
    let path = format!("/api/projects/{}/canvas", p["id"].as_str().unwrap());
    let mut tasks = Vec::new();
    for i in 0..10 {
        let req = s
            .bearer(Method::PUT, &path, &a.token)
            .json(&canvas(0, &format!("writer {i}")));
        tasks.push(tokio::spawn(
            async move { req.send().await.unwrap().status() },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 1, "exactly one writer of version 0 wins");
}

#[tokio::test]
async fn admin_cli_lists_users_and_changes_tiers() {
    let s = start(|_| {}).await;
    let u = s.user("kim@example.com").await;
    let bin = env!("CARGO_BIN_EXE_youmeyou");
    let data_dir = s.dir.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env_remove("DATABASE_URL")
            .env("YOUMEYOU_DATA_DIR", &data_dir)
            .output()
            .expect("run the binary")
    };
    let out = run(&["admin", "users", "list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("kim@example.com") && text.contains("free") && text.contains(&u.id),
        "{text}"
    );

    let out = run(&["admin", "users", "set-tier", "KIM@example.com", "premium"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let me: Value = s
        .bearer(Method::GET, "/api/me", &u.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["tier"], "premium");

    let out = run(&["admin", "users", "list", "--json"]);
    let line: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["tier"], "premium");

    let out = run(&[
        "admin",
        "users",
        "set-tier",
        "nobody@example.com",
        "premium",
    ]);
    assert_eq!(out.status.code(), Some(1), "unknown account");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account"));
    let out = run(&["admin", "users", "set-tier", "kim@example.com", "gold"]);
    assert_eq!(out.status.code(), Some(2), "bad tier is a usage error");
    let out = std::process::Command::new(bin)
        .args(["admin", "--data-dir", "/nonexistent/dir", "users", "list"])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
