//! Shared by the HTTP-level test files (accounts, security, orchestrator, llm): a real server on
//! 127.0.0.1:0 (the same `router` as production, served with peer addresses), plus helpers to
//! register, sign in and seed runs straight into the database.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod services;
pub mod watch;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::oneshot;
use youmeyou::server::config::DatabaseTarget;
use youmeyou::server::state::{AppState, Overrides};
use youmeyou::server::store::sqlite::SqliteStore;
use youmeyou::server::ServeConfig;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub base: String,
    pub state: AppState,
    pub client: Client,
    pub db_url: String,
    pub dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
    /// `ymy_session=<token>` as a Cookie header value.
    pub cookie: String,
}

pub async fn start(configure: impl FnOnce(&mut ServeConfig)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    start_in(dir, configure).await
}

pub async fn start_in(dir: TempDir, configure: impl FnOnce(&mut ServeConfig)) -> TestServer {
    start_full(dir, Overrides::default(), configure).await
}

/// A server whose orchestrator parts (planner, agents, queue) are replaced by `overrides`.
pub async fn start_with(
    overrides: Overrides,
    configure: impl FnOnce(&mut ServeConfig),
) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    start_full(dir, overrides, configure).await
}

async fn start_full(
    dir: TempDir,
    overrides: Overrides,
    configure: impl FnOnce(&mut ServeConfig),
) -> TestServer {
    let mut config = ServeConfig::for_tests(dir.path().to_path_buf());
    configure(&mut config);
    let db_url = match &config.database {
        DatabaseTarget::Sqlite { url } | DatabaseTarget::Postgres { url } => url.clone(),
    };
    let state = AppState::open_with(config, overrides).await.expect("state");
    let app = youmeyou::server::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let (connections, metrics) = (state.config.connections.clone(), state.metrics.clone());
    tokio::spawn(async move {
        let _ = youmeyou::server::listener::serve(listener, app, &connections, &metrics, async {
            let _ = stopped.await;
        })
        .await;
    });
    TestServer {
        base: format!("http://{addr}"),
        state,
        client: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db_url,
        dir,
        stop: Some(stop),
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub fn bearer(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.req(method, path).bearer_auth(token)
    }

    /// A request carrying the session cookie and the page's own Origin (what a browser sends).
    pub fn browser(&self, method: Method, path: &str, user: &User) -> RequestBuilder {
        self.req(method, path)
            .header("cookie", &user.cookie)
            .header("origin", &self.base)
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.credentials("/api/auth/register", email, password)
            .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.credentials("/api/auth/login", email, password).await
    }

    async fn credentials(&self, path: &str, email: &str, password: &str) -> Response {
        self.req(Method::POST, path)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Registers `email` and signs in.
    pub async fn user(&self, email: &str) -> User {
        let r = self.register(email, PASSWORD).await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "register {email}: {}",
            r.text().await.unwrap_or_default()
        );
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::OK, "login {email}");
        let body: Value = r.json().await.expect("login json");
        let token = body["token"].as_str().expect("token").to_string();
        User {
            id: body["user"]["id"].as_str().expect("id").to_string(),
            email: body["user"]["email"].as_str().expect("email").to_string(),
            cookie: format!("ymy_session={token}"),
            token,
        }
    }

    pub async fn create_project(&self, user: &User, name: &str) -> Value {
        let r = self
            .bearer(Method::POST, "/api/projects", &user.token)
            .json(&json!({"name": name}))
            .send()
            .await
            .expect("create project");
        assert_eq!(r.status(), StatusCode::CREATED, "create project {name}");
        let body: Value = r.json().await.expect("json");
        body["project"].clone()
    }

    /// A second connection to the server's database, for seeding rows the API cannot make.
    pub async fn db(&self) -> SqliteStore {
        SqliteStore::open(&self.db_url).await.expect("open db")
    }

    /// Inserts a run row (the run API is the orchestrator's; these tests only need ids).
    pub async fn seed_run(&self, project_id: &str, owner_id: &str, status: &str) -> String {
        let id = format!("run-{}", uuid_like());
        let db = self.db().await;
        sqlx::query(
            "INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES (?, ?, ?, 'seeded', ?, 0, ?)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(owner_id)
        .bind(status)
        .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .execute(db.pool())
        .await
        .expect("seed run");
        db.pool().close().await;
        id
    }
}

pub fn uuid_like() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The contract's error body, or a panic naming what came instead.
pub async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: expected a JSON error body, got {text:?}"));
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{status}: no error.code in {text}"))
        .to_string();
    assert!(body["error"]["message"].is_string(), "{text}");
    assert!(body["error"]["retryable"].is_boolean(), "{text}");
    (status, code)
}

/// The `Set-Cookie` header for the session, if any.
pub fn session_set_cookie(r: &Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ymy_session="))
        .map(str::to_string)
}
