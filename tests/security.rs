//! The security suite. It enumerates every route FROM THE ROUTE TABLE (`routes::api_routes`)
//! and runs each through hostile credentials — none, expired, forged, `alg: none`, garbage,
//! another user's session, build tokens of other runs — with the expectation of the route's
//! access kind. A route whose access kind has no expectation here fails the suite by name.
//! Then: body limits, malformed and deep JSON, SQL-looking text stored verbatim, CSRF, CORS,
//! security headers, login throttling, request-rate headers and the run-quota race.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use support::{error_code, start, TestServer, User, PASSWORD};
use youmeyou::server::auth::tokens::{build_claims, session_claims, KeyRing, SESSION_TTL_SECS};
use youmeyou::server::limits::{LimitsConfig, Tier};
use youmeyou::server::routes::{api_routes, Access, RouteSpec};
use youmeyou::server::secrets::Secret;

// ───────────────────────────── fixtures ─────────────────────────────

/// Two users, a project and runs of each, and every kind of hostile token.
struct World {
    s: TestServer,
    a: User,
    b: User,
    /// A second session of B, spent on public routes (logout revokes the session it gets).
    b_spare: String,
    /// A's project and runs.
    project: String,
    run: String,
    other_run: String,
    /// B's project and run.
    b_project: String,
    b_run: String,
    tokens: Tokens,
}

struct Tokens {
    expired: String,
    forged: String,
    alg_none: String,
    unknown_kid: String,
    garbage: String,
    /// A's build token for `run`.
    own_build: String,
    /// A's build token for `other_run`.
    sibling_build: String,
    /// B's build token for `b_run`.
    foreign_build: String,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// URL-safe base64 without padding (JWT segments).
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

async fn world() -> World {
    let s = start(|_| {}).await;
    let a = s.user("alice@example.com").await;
    let b = s.user("bob@example.com").await;
    let b_spare: Value = s.login(&b.email, PASSWORD).await.json().await.unwrap();
    let b_spare = b_spare["token"].as_str().unwrap().to_string();
    let project = s.create_project(&a, "Alice's shop").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_project = s.create_project(&b, "Bob's blog").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = s.seed_run(&project, &a.id, "completed").await;
    let other_run = s.seed_run(&project, &a.id, "completed").await;
    let b_run = s.seed_run(&b_project, &b.id, "completed").await;
    let keys = &s.state.keys;
    let jti = || support::uuid_like();
    let expired = keys
        .issue(&session_claims(
            &a.id,
            "free",
            now() - SESSION_TTL_SECS - 3600,
            jti(),
        ))
        .unwrap();
    let forger = KeyRing::new(
        &Secret::new(b"a-different-secret-a-different-secret".to_vec()),
        &[],
    );
    let forged = forger
        .issue(&session_claims(&a.id, "free", now(), jti()))
        .unwrap();
    // alg: none, with this server's key id and a valid payload.
    let kid = jsonwebtoken::decode_header(&a.token).unwrap().kid.unwrap();
    let payload = a.token.split('.').nth(1).unwrap().to_string();
    let header = b64url(format!(r#"{{"alg":"none","typ":"JWT","kid":"{kid}"}}"#).as_bytes());
    let alg_none = format!("{header}.{payload}.");
    // A correctly signed token naming a key the server does not have.
    let unknown_kid = {
        let h = b64url(br#"{"alg":"HS256","typ":"JWT","kid":"000000000000"}"#);
        let sig = a.token.split('.').nth(2).unwrap();
        format!("{h}.{payload}.{sig}")
    };
    let own_build = keys
        .issue(&build_claims(&a.id, &run, now(), jti(), None))
        .unwrap();
    let sibling_build = keys
        .issue(&build_claims(&a.id, &other_run, now(), jti(), None))
        .unwrap();
    let foreign_build = keys
        .issue(&build_claims(&b.id, &b_run, now(), jti(), None))
        .unwrap();
    World {
        tokens: Tokens {
            expired,
            forged,
            alg_none,
            unknown_kid,
            garbage: "not.a.jwt".into(),
            own_build,
            sibling_build,
            foreign_build,
        },
        s,
        a,
        b,
        b_spare,
        project,
        run,
        other_run,
        b_project,
        b_run,
    }
}

/// What a path parameter was filled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filled {
    AliceProject,
    AliceRun,
    Other,
}

impl World {
    /// A concrete URL for `spec`: parameters after `projects` are A's project, after `runs`
    /// (or `/events/`) A's run; task ids, versions and file paths get plausible values.
    fn url_for(&self, spec: &RouteSpec) -> (String, Vec<Filled>) {
        let mut filled = Vec::new();
        let mut previous = "";
        let mut out = Vec::new();
        for segment in spec.path.split('/') {
            let value = if segment.starts_with('{') && segment.ends_with('}') {
                let name = segment.trim_matches(|c| c == '{' || c == '}' || c == '*');
                let (value, kind) = match (previous, name) {
                    ("projects", _) => (self.project.clone(), Filled::AliceProject),
                    ("runs", _) | ("events", _) => (self.run.clone(), Filled::AliceRun),
                    (_, n) if n.contains("task") => ("t1".to_string(), Filled::Other),
                    (_, n) if n.contains("version") => ("0".to_string(), Filled::Other),
                    (_, n) if n.contains("path") => ("src/main.rs".to_string(), Filled::Other),
                    (_, n) if n.to_ascii_lowercase().contains("project") => {
                        (self.project.clone(), Filled::AliceProject)
                    }
                    (_, n) if n.to_ascii_lowercase().contains("run") => {
                        (self.run.clone(), Filled::AliceRun)
                    }
                    _ => ("x".to_string(), Filled::Other),
                };
                filled.push(kind);
                value
            } else {
                segment.to_string()
            };
            previous = segment;
            out.push(value);
        }
        (out.join("/"), filled)
    }

    /// Ids of A's data that must never appear in an answer to someone else.
    fn alice_secrets(&self) -> [&str; 4] {
        [&self.project, &self.run, &self.other_run, "Alice's shop"]
    }
}

/// A valid body for the routes that read one, so that an authenticated but unauthorised
/// caller reaches the ownership check (and not a 400/422 from the body). Add new body routes
/// here; the suite names any it cannot place.
fn body_for(spec: &RouteSpec) -> Option<Value> {
    let path = spec.path;
    match (spec.method.as_str(), path) {
        (_, "/api/auth/logout") => None,
        (_, p) if p.starts_with("/api/auth/") => {
            Some(json!({"email": "someone@example.com", "password": "wrong password"}))
        }
        ("POST", "/api/projects") | ("PATCH", "/api/projects/{id}") => Some(json!({"name": "x"})),
        ("PUT", p) if p.ends_with("/canvas") => {
            Some(json!({"nodes": [], "edges": [], "version": 0}))
        }
        ("POST", p) if p.ends_with("/runs") => Some(json!({"prompt": "build a shop"})),
        ("POST", p) if p.ends_with("/impact") => Some(json!({"prompt": "use redis"})),
        ("POST", p) if p.ends_with("/modifications") => {
            Some(json!({"prompt": "use redis", "confirmToken": "x"}))
        }
        _ => None,
    }
}

fn takes_body(spec: &RouteSpec) -> bool {
    matches!(spec.method, Method::POST | Method::PUT | Method::PATCH)
}

// ───────────────────────────── the route matrix ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    None,
    Expired,
    Forged,
    AlgNone,
    UnknownKid,
    Garbage,
    OtherUser,
    OwnBuild,
    SiblingBuild,
    ForeignBuild,
    ForeignBuildInQuery,
}

const CREDS: [Cred; 11] = [
    Cred::None,
    Cred::Expired,
    Cred::Forged,
    Cred::AlgNone,
    Cred::UnknownKid,
    Cred::Garbage,
    Cred::OtherUser,
    Cred::OwnBuild,
    Cred::SiblingBuild,
    Cred::ForeignBuild,
    Cred::ForeignBuildInQuery,
];

impl Cred {
    fn is_invalid_token(self) -> bool {
        matches!(
            self,
            Cred::Expired | Cred::Forged | Cred::AlgNone | Cred::UnknownKid | Cred::Garbage
        )
    }
}

struct Outcome {
    status: StatusCode,
    body: String,
}

async fn call(w: &World, spec: &RouteSpec, cred: Cred) -> Outcome {
    let (mut url, _) = w.url_for(spec);
    let token = match cred {
        Cred::None => None,
        Cred::Expired => Some(&w.tokens.expired),
        Cred::Forged => Some(&w.tokens.forged),
        Cred::AlgNone => Some(&w.tokens.alg_none),
        Cred::UnknownKid => Some(&w.tokens.unknown_kid),
        Cred::Garbage => Some(&w.tokens.garbage),
        Cred::OtherUser if spec.access == Access::Public => Some(&w.b_spare),
        Cred::OtherUser => Some(&w.b.token),
        Cred::OwnBuild => Some(&w.tokens.own_build),
        Cred::SiblingBuild => Some(&w.tokens.sibling_build),
        Cred::ForeignBuild => Some(&w.tokens.foreign_build),
        Cred::ForeignBuildInQuery => {
            url = format!("{url}?token={}", w.tokens.foreign_build);
            None
        }
    };
    let mut req = w.s.req(spec.method.clone(), &url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if takes_body(spec) {
        req = req.json(&body_for(spec).unwrap_or_else(|| json!({})));
    }
    // A route that never answers is a failure with its name, not a hung suite.
    let r = req
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{spec} with {cred:?}: {e}"));
    let status = r.status();
    // An event stream that was granted stays open: its status is the answer.
    let streaming = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let body = if streaming {
        String::new()
    } else {
        r.text().await.unwrap_or_default()
    };
    Outcome { status, body }
}

/// Checks one (route, credential) pair; `Err` describes the violation.
fn expect(w: &World, spec: &RouteSpec, cred: Cred, out: &Outcome) -> Result<(), String> {
    let (_, filled) = w.url_for(spec);
    let owned = filled.iter().any(|f| *f != Filled::Other);
    let own_run_read = spec.method == Method::GET && filled.contains(&Filled::AliceRun);
    let status = out.status;
    let fail = |want: &str| {
        Err(format!(
            "{spec} with {cred:?}: want {want}, got {status} {}",
            out.body
        ))
    };
    if status.is_server_error() {
        return fail("no 5xx");
    }
    let unauthorized = status == StatusCode::UNAUTHORIZED;
    let denied = matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    );
    let leaks = w.alice_secrets().iter().any(|s| out.body.contains(s));
    match spec.access {
        Access::Ops => {
            if spec.method == Method::GET && status != StatusCode::OK && !spec.path.ends_with("/ready") {
                return fail("200 without authentication");
            }
        }
        Access::Public => {
            if cred == Cred::None && matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                && !spec.path.ends_with("/login")
            {
                return fail("a public route answers without authentication");
            }
        }
        Access::User => match cred {
            Cred::None
            | Cred::OwnBuild
            | Cred::SiblingBuild
            | Cred::ForeignBuild
            | Cred::ForeignBuildInQuery
                if !unauthorized =>
            {
                return fail("401 (no session)")
            }
            c if c.is_invalid_token() && !unauthorized => return fail("401 (invalid token)"),
            Cred::OtherUser
                if owned && !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) =>
            {
                return fail("403/404 for another user's resource")
            }
            Cred::OtherUser if leaks => return fail("no trace of A's data"),
            _ => {}
        },
        Access::RunViewer => match cred {
            Cred::None if !unauthorized => return fail("401 (no credentials)"),
            c if c.is_invalid_token() && !unauthorized => return fail("401 (invalid token)"),
            Cred::OtherUser | Cred::SiblingBuild | Cred::ForeignBuild | Cred::ForeignBuildInQuery
                if owned && !denied =>
            {
                return fail("401/403/404 for someone else's run")
            }
            Cred::OtherUser | Cred::SiblingBuild | Cred::ForeignBuild | Cred::ForeignBuildInQuery
                if leaks =>
            {
                return fail("no trace of A's data")
            }
            Cred::OwnBuild
                if own_run_read
                    && matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) =>
            {
                return fail("access with the run's own build token")
            }
            Cred::OwnBuild if !own_run_read && !denied => {
                return fail("401/403/404: a build token only reads its own run")
            }
            _ => {}
        },
        Access::InBand => {
            // A plain GET (no WebSocket upgrade) must never be answered with data.
            if status.is_success() {
                return fail("no 2xx without a protocol upgrade");
            }
        }
        other => {
            return Err(format!(
                "{spec}: access kind {other:?} has no expectation in tests/security.rs; add one to `expect`"
            ))
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_registered_route_refuses_hostile_credentials() {
    let w = world().await;
    let (_, specs) = api_routes();
    assert!(
        specs.len() >= 14,
        "the registry lists the routes: {specs:#?}"
    );
    let mut violations = Vec::new();
    let mut checked = 0;
    for spec in &specs {
        if takes_body(spec) && body_for(spec).is_none() && spec.access != Access::Public {
            // Bodies of unknown shape would stop an authorised-but-foreign caller at a 400/422
            // before the ownership check; tell the author where to add one.
            let has_params = spec.path.contains('{');
            if has_params && !spec.path.ends_with("/cancel") {
                violations.push(format!(
                    "{spec}: add a valid body for it to `body_for` in tests/security.rs"
                ));
            }
        }
        for cred in CREDS {
            let out = call(&w, spec, cred).await;
            if let Err(v) = expect(&w, spec, cred, &out) {
                violations.push(v);
            }
            checked += 1;
        }
    }
    assert!(
        violations.is_empty(),
        "{} violation(s) in {checked} checks:\n{}",
        violations.len(),
        violations.join("\n")
    );

    // Nothing the hostile calls did changed A's data.
    let p: Value =
        w.s.bearer(
            Method::GET,
            &format!("/api/projects/{}", w.project),
            &w.a.token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["project"]["name"], "Alice's shop");
    assert_eq!(p["project"]["canvas"]["version"], 0);
    let db = w.s.db().await;
    for run in [&w.run, &w.other_run, &w.b_run] {
        let status: String = sqlx::query_scalar("SELECT status FROM runs WHERE id = ?")
            .bind(run)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(status, "completed", "run {run} untouched");
    }
    let b_projects: Value =
        w.s.bearer(Method::GET, "/api/projects", &w.b.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let b_names: Vec<&str> = b_projects["projects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(b_names.contains(&"Bob's blog"), "{b_names:?}");
    assert!(w.b_project.len() > 10);
}

#[tokio::test]
async fn the_registry_records_the_routes_the_router_serves() {
    let (_, specs) = api_routes();
    let s = start(|_| {}).await;
    // Every recorded route exists: an unauthenticated call never meets the router's 404/405.
    for spec in &specs {
        let path = spec.path.replace("{*path}", "a").replace(['{', '}'], "");
        let r = s.req(spec.method.clone(), &path).send().await.unwrap();
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{spec} is recorded but not routed"
        );
        if r.status() == StatusCode::NOT_FOUND {
            // The fallback's answer for unknown API paths names "route".
            let body = r.text().await.unwrap_or_default();
            assert!(
                !body.contains("No route"),
                "{spec} is recorded but the router does not serve it: {body}"
            );
        }
    }
    let mine = [
        ("POST", "/api/auth/register", Access::Public),
        ("POST", "/api/auth/login", Access::Public),
        ("POST", "/api/auth/logout", Access::Public),
        ("GET", "/api/me", Access::User),
        ("POST", "/api/projects", Access::User),
        ("GET", "/api/projects", Access::User),
        ("GET", "/api/projects/{id}", Access::User),
        ("PATCH", "/api/projects/{id}", Access::User),
        ("DELETE", "/api/projects/{id}", Access::User),
        ("PUT", "/api/projects/{id}/canvas", Access::User),
        ("GET", "/health", Access::Ops),
        ("GET", "/ready", Access::Ops),
    ];
    for (method, path, access) in mine {
        assert!(
            specs
                .iter()
                .any(|s| s.method.as_str() == method && s.path == path && s.access == access),
            "{method} {path} ({access:?}) missing from the registry"
        );
    }
}

// ───────────────────────────── bodies and JSON ─────────────────────────────

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_on_every_route() {
    let w = world().await;
    let (_, specs) = api_routes();
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
    for spec in specs.iter().filter(|s| takes_body(s)) {
        let (url, _) = w.url_for(spec);
        let r =
            w.s.bearer(spec.method.clone(), &url, &w.a.token)
                .header("content-type", "application/json")
                .body(big.clone())
                .send()
                .await
                .unwrap();
        assert_eq!(
            error_code(r).await,
            (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large".into()),
            "{spec}"
        );
    }
    // Without Content-Length (chunked), the extractor's limit answers the same way.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..17).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let stream = futures_util::stream::iter(chunks);
    let r =
        w.s.bearer(Method::POST, "/api/projects", &w.a.token)
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large".into())
    );
}

#[tokio::test]
async fn malformed_deep_and_mistyped_json_get_contract_errors() {
    let w = world().await;
    let (_, specs) = api_routes();
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let mut covered = 0;
    for spec in specs
        .iter()
        .filter(|s| takes_body(s) && body_for(s).is_some())
    {
        let (url, _) = w.url_for(spec);
        let send = |body: String, ct: &'static str| {
            w.s.bearer(spec.method.clone(), &url, &w.a.token)
                .header("content-type", ct)
                .body(body)
                .send()
        };
        let (status, code) =
            error_code(send("{,}".into(), "application/json").await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_json"),
            "{spec}"
        );
        let (status, code) =
            error_code(send(deep.clone(), "application/json").await.unwrap()).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "json_too_deep"),
            "{spec}"
        );
        let (status, code) = error_code(
            send("name=x".into(), "application/x-www-form-urlencoded")
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "unsupported_media_type"),
            "{spec}"
        );
        covered += 1;
    }
    assert!(covered >= 6, "JSON routes covered: {covered}");
    // The message points at the spot.
    let r =
        w.s.bearer(Method::POST, "/api/projects", &w.a.token)
            .header("content-type", "application/json")
            .body("{\n  \"name\": @\n}")
            .send()
            .await
            .unwrap();
    let body: Value = r.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("line 2 column"), "{message}");
    // Nothing was half-written by any of it.
    let list: Value =
        w.s.bearer(Method::GET, "/api/projects", &w.a.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(list["projects"].as_array().unwrap().len(), 1);
}

// ───────────────────────────── injection ─────────────────────────────

#[tokio::test]
async fn sql_looking_text_is_stored_and_returned_verbatim() {
    let s = start(|_| {}).await;
    let hostile = [
        "'; DROP TABLE users; --",
        "\" OR 1=1 --",
        "Robert'); DELETE FROM projects;--",
        "%' OR '%'='",
    ];
    // Emails: the valid ones among SQL-ish local parts.
    for email in ["x'or'1'='1@example.com", "o'neil--@example.com"] {
        let u = s.user(email).await;
        let me: Value = s
            .bearer(Method::GET, "/api/me", &u.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["user"]["email"], email);
        // Logging in with a pattern that would match everyone in a naive query fails.
        let r = s.login("' OR '1'='1", PASSWORD).await;
        assert_ne!(r.status(), StatusCode::OK);
    }
    let u = s.user("mallory@example.com").await;
    for text in hostile {
        let p = s.create_project(&u, text).await;
        assert_eq!(p["name"], text);
        let id = p["id"].as_str().unwrap();
        let canvas = json!({
            "nodes": [{"id": "n1", "type": "database", "label": text, "position": {"x": 0, "y": 0}, "config": {"note": text}}],
            "edges": [], "version": 0
        });
        let r = s
            .bearer(Method::PUT, &format!("/api/projects/{id}/canvas"), &u.token)
            .json(&canvas)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{text}");
        let got: Value = s
            .bearer(Method::GET, &format!("/api/projects/{id}"), &u.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["project"]["name"], text);
        assert_eq!(got["project"]["canvas"]["nodes"][0]["label"], text);
        assert_eq!(got["project"]["canvas"]["nodes"][0]["config"]["note"], text);
    }
    // The tables are all still there and intact.
    let list: Value = s
        .bearer(Method::GET, "/api/projects", &u.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["projects"].as_array().unwrap().len(), hostile.len());
    assert_eq!(
        s.login("mallory@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

// ───────────────────────────── CSRF, CORS, headers ─────────────────────────────

#[tokio::test]
async fn cookie_writes_need_the_sites_own_origin_and_bearer_writes_do_not() {
    let s = start(|_| {}).await;
    let u = s.user("csrf@example.com").await;
    let create = |origin: Option<&str>, referer: Option<&str>| {
        let mut req = s
            .req(Method::POST, "/api/projects")
            .header("cookie", &u.cookie)
            .json(&json!({"name": "p"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(r) = referer {
            req = req.header("referer", r);
        }
        req.send()
    };
    let r = create(None, None).await.unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "csrf_rejected".into()),
        "cookie without Origin"
    );
    let r = create(Some("http://evil.example"), None).await.unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "csrf_rejected".into()),
        "foreign Origin"
    );
    let r = create(Some("null"), None).await.unwrap();
    assert_eq!(
        error_code(r).await,
        (StatusCode::FORBIDDEN, "csrf_rejected".into()),
        "opaque Origin"
    );
    assert_eq!(
        create(Some(&s.base), None).await.unwrap().status(),
        StatusCode::CREATED,
        "same Origin"
    );
    let referer = format!("{}/projects", s.base);
    assert_eq!(
        create(None, Some(&referer)).await.unwrap().status(),
        StatusCode::CREATED,
        "same-site Referer"
    );
    // Bearer clients (no ambient credentials) need no Origin.
    let r = s
        .bearer(Method::POST, "/api/projects", &u.token)
        .json(&json!({"name": "q"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Cookie reads are not state-changing.
    let r = s
        .req(Method::GET, "/api/projects")
        .header("cookie", &u.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Nothing was created by the refused requests.
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["projects"].as_array().unwrap().len(), 3);
    // Logging someone into an attacker's account from another site is refused too.
    let r = s
        .req(Method::POST, "/api/auth/login")
        .header("origin", "http://evil.example")
        .json(&json!({"email": "csrf@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cors_answers_only_the_configured_origins() {
    let closed = start(|_| {}).await;
    let r = closed
        .req(Method::OPTIONS, "/api/projects")
        .header("origin", "http://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "same-origin only by default"
    );

    let open = start(|c| c.security.cors_origins = vec!["http://app.example".into()]).await;
    let preflight = |origin: &'static str| {
        open.req(Method::OPTIONS, "/api/projects")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let r = preflight("http://app.example").await.unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://app.example"
    );
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
    let r = preflight("http://evil.example").await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A configured origin may also make cookie writes (CSRF allow-list = CORS list).
    let u = open.user("cors@example.com").await;
    let r = open
        .req(Method::POST, "/api/projects")
        .header("cookie", &u.cookie)
        .header("origin", "http://app.example")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let s = start(|_| {}).await;
    let responses = [
        s.req(Method::GET, "/health").send().await.unwrap(),
        s.req(Method::GET, "/").send().await.unwrap(),
        s.req(Method::GET, "/no/such/page.css")
            .send()
            .await
            .unwrap(),
        s.req(Method::GET, "/api/projects").send().await.unwrap(),
        s.req(Method::POST, "/api/auth/login")
            .body("{")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap(),
    ];
    for r in responses {
        let h = r.headers();
        let csp = h
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "frame-ancestors 'none'",
            "connect-src 'self'",
            "base-uri 'self'",
            "form-action 'self'",
        ] {
            assert!(
                csp.contains(directive),
                "{} {}: CSP {csp:?} lacks {directive}",
                r.status(),
                r.url()
            );
        }
        assert!(
            !csp.contains("script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'")
                && !csp.contains("ws:")
                && !csp.contains("wss:"),
            "{csp}"
        );
        assert!(h
            .get(youmeyou::server::security::csp::NONCE_HEADER)
            .is_none());
        assert_eq!(h["x-content-type-options"], "nosniff", "{}", r.url());
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["x-frame-options"], "DENY");
    }
}

// ───────────────────────────── throttles and quotas ─────────────────────────────

/// Attempts until the first 429 (at most `max`): how many were answered before it, and the
/// refusal.
async fn attempts_until_refused(
    s: &TestServer,
    email: impl Fn(usize) -> String,
    password: &str,
    max: usize,
) -> (usize, reqwest::Response) {
    for i in 0..max {
        let r = s.login(&email(i), password).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            return (i, r);
        }
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    panic!("no 429 within {max} attempts");
}

#[tokio::test]
async fn logins_are_throttled_per_account_and_per_ip() {
    let s = start(|c| c.limits = LimitsConfig::default()).await;
    s.register("target@example.com", PASSWORD).await;
    // Per account: 5 a minute (one more refills every 12 s, hence the time allowance).
    let t0 = std::time::Instant::now();
    let started = t0;
    let (answered, refused) =
        attempts_until_refused(&s, |_| "target@example.com".into(), "wrong password", 20).await;
    let refills = (started.elapsed().as_secs() / 12) as usize;
    assert!(
        (5..=5 + refills).contains(&answered),
        "{answered} attempts before the 429"
    );
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(error_code(refused).await.1, "rate_limited");
    // Even the right password waits now.
    assert_eq!(
        s.login("target@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Per IP: 20 a minute across accounts; the attempts above spent some.
    let spent = answered + 2;
    let (answered, _) =
        attempts_until_refused(&s, |i| format!("nobody{i}@example.com"), "whatever1", 40).await;
    // The IP bucket refills one attempt every 3 s since the first attempt.
    let refills = (t0.elapsed().as_secs() / 3) as usize + 1;
    assert!(
        (20 - spent..=20 - spent + refills).contains(&answered),
        "{answered} attempts from one IP before the 429 ({spent} spent earlier)"
    );
}

#[tokio::test]
async fn api_requests_report_and_enforce_the_tier_rate() {
    let s = start(|c| {
        c.limits.free.requests_per_minute = 5;
        c.limits.premium.requests_per_minute = 600;
    })
    .await;
    let u = s.user("rate@example.com").await;
    let mut last = None;
    for left in (0..5).rev() {
        let r = s
            .bearer(Method::GET, "/api/projects", &u.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-ratelimit-limit"], "5");
        assert_eq!(
            r.headers()["x-ratelimit-remaining"],
            left.to_string().as_str()
        );
        assert!(r.headers().contains_key("x-ratelimit-reset"));
        last = Some(r);
    }
    assert_eq!(last.unwrap().headers()["cache-control"], "no-store");
    let r = s
        .bearer(Method::GET, "/api/me", &u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    // Premium users get their own, larger bucket (the tier cache is per process).
    let db = s.db().await;
    sqlx::query("UPDATE users SET tier = 'premium' WHERE id = ?")
        .bind(&u.id)
        .execute(db.pool())
        .await
        .unwrap();
    s.state.quotas.forget_tier(&u.id);
    let r = s
        .bearer(Method::GET, "/api/me", &u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-ratelimit-limit"], "600");
}

#[tokio::test]
async fn fifty_concurrent_begin_runs_cannot_exceed_the_quota() {
    let s = start(|c| {
        c.limits.free.concurrent_runs = 3;
        c.limits.free.runs_per_day = 20;
        c.limits.premium.concurrent_runs = 100;
        c.limits.premium.runs_per_day = 20;
    })
    .await;
    let u = s.user("quota@example.com").await;
    let quotas = s.state.quotas.clone();

    // Concurrency: 3 of 50 get a permit while all are held.
    let race = |tier: Tier| {
        let mut handles = Vec::new();
        for _ in 0..50 {
            let q = quotas.clone();
            let id = u.id.clone();
            handles.push(tokio::spawn(async move { q.begin_run(&id, tier).await }));
        }
        handles
    };
    let mut permits = Vec::new();
    let mut refused = Vec::new();
    for h in race(Tier::Free) {
        match h.await.unwrap() {
            Ok(p) => permits.push(p),
            Err(e) => refused.push(e.code()),
        }
    }
    assert_eq!(permits.len(), 3, "concurrent limit");
    assert!(
        refused.iter().all(|c| *c == "concurrent_run_limit"),
        "{refused:?}"
    );
    assert_eq!(quotas.active_runs(&u.id), 3);
    assert_eq!(
        permits[0].limits().max_plan_tasks,
        quotas.tier_limits(Tier::Free).max_plan_tasks
    );
    for p in permits.drain(..) {
        p.finish();
    }
    assert_eq!(quotas.active_runs(&u.id), 0, "finishing frees the slots");

    // Per day: 3 started already; of 50 more racing, exactly 17 fit in the 20 a day.
    let results: Vec<_> = futures_util::future::join_all(race(Tier::Premium)).await;
    let ok: Vec<_> = results
        .into_iter()
        .filter_map(|r| r.unwrap().ok())
        .collect();
    assert_eq!(ok.len(), 17, "daily limit");
    drop(ok);
    assert_eq!(
        quotas.active_runs(&u.id),
        0,
        "dropping permits frees the slots"
    );
    let err = quotas.begin_run(&u.id, Tier::Premium).await.unwrap_err();
    assert_eq!(err.code(), "daily_run_limit");
    let response = axum::response::IntoResponse::into_response(err);
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_daily_quota_survives_a_restart_and_refunds_give_runs_back() {
    let s = start(|c| c.limits.free.runs_per_day = 3).await;
    let u = s.user("restart@example.com").await;
    let p = s.create_project(&u, "p").await;
    let pid = p["id"].as_str().unwrap();
    // Two runs today already in the database (as after a restart: nothing in memory).
    s.seed_run(pid, &u.id, "completed").await;
    s.seed_run(pid, &u.id, "failed").await;
    let quotas = Arc::clone(&s.state.quotas);
    let permit = quotas.begin_run(&u.id, Tier::Free).await.unwrap();
    permit.refund();
    let permit = quotas.begin_run(&u.id, Tier::Free).await.unwrap();
    permit.finish();
    let err = quotas.begin_run(&u.id, Tier::Free).await.unwrap_err();
    assert_eq!(err.code(), "daily_run_limit", "2 seeded + 1 kept = 3");
}

#[tokio::test]
async fn a_deleted_account_loses_access_even_with_a_valid_token() {
    let s = start(|_| {}).await;
    let u = s.user("gone@example.com").await;
    let db = s.db().await;
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(&u.id)
        .execute(db.pool())
        .await
        .unwrap();
    s.state.quotas.forget_tier(&u.id);
    let r = s
        .bearer(Method::GET, "/api/projects", &u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, StatusCode::UNAUTHORIZED);
}

/// Signing in without JavaScript follows `next` only to a path on this site: the reviewer's
/// `/\t/evil.example` (which browsers read as `//evil.example`) and the classic bypasses land
/// on `/`.
#[tokio::test]
async fn sign_in_never_redirects_to_another_site() {
    let s = start(|_| {}).await;
    let email = "next@example.com";
    s.register(email, PASSWORD).await;
    for (next, expected) in [
        ("/projects/abc", "/projects/abc"),
        ("/\t/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let r = s
            .req(Method::POST, "/_sf/login")
            .header("origin", s.base.clone())
            .header("accept", "text/html")
            .form(&[("email", email), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection(), "{next:?}: {}", r.status());
        let location = r.headers().get("location").unwrap().to_str().unwrap();
        assert_eq!(location, expected, "next = {next:?}");
    }
}

/// A hostile project name cannot end the page's `<title>` (leptos_meta writes it unescaped;
/// we escape it), and every inline script of a page carries the nonce its CSP allows, while
/// no other inline script would run.
#[tokio::test]
async fn a_hostile_project_name_stays_text_and_pages_allow_only_their_own_scripts() {
    let s = start(|_| {}).await;
    let user = s.user("title@example.com").await;
    let name = "</title><script>alert(document.domain)</script>";
    let project = s.create_project(&user, name).await;
    let id = project["id"].as_str().unwrap();
    let r = s
        .browser(Method::GET, &format!("/projects/{id}"), &user)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "the name became markup");
    assert!(
        html.contains("<title>&lt;/title&gt;&lt;script&gt;alert(document.domain)&lt;/script&gt;"),
        "the title is escaped text: {}",
        &html[html.find("<title>").unwrap_or(0)..][..200.min(html.len())]
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a page's CSP has a nonce");
    assert!(nonce.len() >= 16, "{nonce}");
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1, "the hydration bootstrap is inline");
    assert_eq!(
        html.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + html
                .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                .count(),
        scripts,
        "every inline script carries the nonce"
    );
    // A second page view gets another nonce.
    let again = s.browser(Method::GET, "/", &user).send().await.unwrap();
    let other = again.headers()["content-security-policy"].to_str().unwrap();
    assert!(!other.contains(nonce));
}

/// Only a build token is accepted in a URL: a 7-day session in `?token=` would end up in
/// histories, proxies and logs.
#[tokio::test]
async fn a_session_token_is_refused_in_the_url_and_a_build_token_is_not() {
    let s = start(|_| {}).await;
    let user = s.user("url@example.com").await;
    let project = s.create_project(&user, "p").await;
    let run = s
        .seed_run(project["id"].as_str().unwrap(), &user.id, "completed")
        .await;
    let (status, code) = error_code(
        s.req(
            Method::GET,
            &format!("/api/runs/{run}/events?token={}", user.token),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let r = s
        .req(Method::GET, &format!("/events/{run}?token={}", user.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // As a header the same session works.
    let r = s
        .bearer(Method::GET, &format!("/api/runs/{run}/events"), &user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// `/metrics` is public on loopback (every other test), private on a public address: a
/// bearer metrics token opens it, and `--metrics-public` makes it public on purpose.
#[tokio::test]
async fn metrics_are_private_beyond_loopback() {
    use youmeyou::server::secrets::Secret;
    let s = start(|c| {
        c.addr = "0.0.0.0:3000".parse().unwrap();
        c.security.metrics_token = Some(Secret::new(b"metrics-token-123456".to_vec()));
    })
    .await;
    let (status, code) = error_code(s.req(Method::GET, "/metrics").send().await.unwrap()).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let wrong = s
        .bearer(Method::GET, "/metrics", "metrics-token-12345")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = s
        .bearer(Method::GET, "/metrics", "metrics-token-123456")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("youmeyou_"));
    let public = start(|c| {
        c.addr = "0.0.0.0:3000".parse().unwrap();
        c.security.metrics_public = true;
    })
    .await;
    assert_eq!(
        public
            .req(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
