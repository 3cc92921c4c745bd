//! Real `youmeyou serve` processes sharing one PostgreSQL schema and one Redis key prefix: the
//! multi-instance mode as deployed, on one machine. Each instance has its own data directory,
//! port and instance id; all share the JWT secret (as docs/DEPLOY.md requires).

pub use super::process::{free_port, wait_ready};
use super::services::{redis_prefix, redis_url, PgSchema};
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
pub const SECRET: &str = "cluster-test-secret-cluster-test-secret-0123456789";
pub const PASSWORD: &str = "correct horse battery";
/// Longest wait for anything in these tests; a failure names what it waited for.
pub const WAIT: Duration = Duration::from_secs(90);

/// How the instances of a cluster are started.
#[derive(Clone)]
pub struct Options {
    pub pace: &'static str,
    pub lease_ttl: &'static str,
    pub lease_renew: &'static str,
    pub sweep: &'static str,
    pub redis_url: Option<String>,
    pub max_concurrent_runs: &'static str,
    pub extra_env: Vec<(String, String)>,
    /// A database of the test's own (e.g. a private PostgreSQL it stops); default: a fresh
    /// schema on the shared server.
    pub database_url: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            pace: "0.02",
            lease_ttl: "3",
            lease_renew: "0.5",
            sweep: "0.25",
            redis_url: Some(redis_url()),
            max_concurrent_runs: "64",
            extra_env: Vec::new(),
            database_url: None,
        }
    }
}

pub struct Instance {
    pub id: String,
    pub base: String,
    pub port: u16,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Instance {
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// `kill -9`: no shutdown, no lease handed back.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn signal(&self, sig: rustix::process::Signal) {
        if let Some(c) = &self.child {
            let pid = rustix::process::Pid::from_raw(c.id() as i32).unwrap();
            rustix::process::kill_process(pid, sig).unwrap();
        }
    }

    /// SIGTERM and wait for the process to exit (graceful shutdown).
    pub fn terminate(&mut self) {
        self.signal(rustix::process::Signal::TERM);
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Cluster {
    pub schema: Option<PgSchema>,
    pub prefix: String,
    pub options: Options,
    pub instances: Vec<Instance>,
    pub http: Client,
}

impl Cluster {
    pub async fn start(ids: &[&str], options: Options) -> Self {
        let schema = match options.database_url {
            Some(_) => None,
            None => Some(PgSchema::new().await),
        };
        let mut cluster = Cluster {
            schema,
            prefix: redis_prefix(),
            options,
            instances: Vec::new(),
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        for id in ids {
            cluster.launch(id).await;
        }
        cluster
    }

    pub fn db_url(&self) -> String {
        match (&self.options.database_url, &self.schema) {
            (Some(url), _) => url.clone(),
            (None, Some(s)) => s.url.clone(),
            (None, None) => String::new(),
        }
    }

    /// Starts one more instance (or starts `id` again after it was killed) and waits until
    /// it is ready.
    pub async fn launch(&mut self, id: &str) -> usize {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let o = &self.options;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_youmeyou"));
        cmd.args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log",
            "warn",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("DATABASE_URL", self.db_url())
        .env("YOUMEYOU_REDIS_PREFIX", &self.prefix)
        .env("YOUMEYOU_INSTANCE_ID", id)
        .env("YOUMEYOU_JWT_SECRET", SECRET)
        .env("YOUMEYOU_PACE", o.pace)
        .env("YOUMEYOU_LEASE_TTL_SECS", o.lease_ttl)
        .env("YOUMEYOU_LEASE_RENEW_SECS", o.lease_renew)
        .env("YOUMEYOU_SWEEP_SECS", o.sweep)
        .env("YOUMEYOU_MAX_CONCURRENT_RUNS", o.max_concurrent_runs)
        .env("YOUMEYOU_MAX_CONNECTIONS_PER_IP", "4096")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        if let Some(url) = &o.redis_url {
            cmd.env("REDIS_URL", url);
        }
        for (k, v) in &o.extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start youmeyou");
        let instance = Instance {
            id: id.to_string(),
            base: format!("http://127.0.0.1:{port}"),
            port,
            child: Some(child),
            _dir: dir,
        };
        wait_ready(&self.http, &instance.base).await;
        self.instances.retain(|i| i.id != id);
        self.instances.push(instance);
        self.instances.len() - 1
    }

    pub fn get(&self, id: &str) -> &Instance {
        self.instances
            .iter()
            .find(|i| i.id == id)
            .expect("instance")
    }

    pub fn get_mut(&mut self, id: &str) -> &mut Instance {
        self.instances
            .iter_mut()
            .find(|i| i.id == id)
            .expect("instance")
    }

    pub fn req(&self, on: &str, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.get(on).base))
            .bearer_auth(token)
    }

    /// Registers and signs in (on `on`), returning the session token.
    pub async fn user(&self, on: &str, email: &str) -> String {
        let base = &self.get(on).base;
        let creds = json!({"email": email, "password": PASSWORD});
        let r = self
            .http
            .post(format!("{base}/api/auth/register"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "register {email}");
        let login: Value = self
            .http
            .post(format!("{base}/api/auth/login"))
            .json(&creds)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        login["token"].as_str().unwrap().to_string()
    }

    pub async fn project(&self, on: &str, token: &str, name: &str) -> String {
        let r: Value = self
            .req(on, Method::POST, "/api/projects", token)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["project"]["id"].as_str().unwrap().to_string()
    }

    /// Starts a run through instance `on` (which then owns it); returns its id.
    pub async fn run(&self, on: &str, token: &str, project: &str, prompt: &str) -> String {
        let r = self
            .req(
                on,
                Method::POST,
                &format!("/api/projects/{project}/runs"),
                token,
            )
            .json(&json!({"prompt": prompt}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert!(status.is_success(), "start run: {status} {body}");
        body["buildId"].as_str().unwrap().to_string()
    }

    /// Long-polls the run's events after `after` on `on`, holding up to 10 s for new ones.
    pub async fn poll(&self, on: &str, token: &str, run: &str, after: u64) -> Vec<Value> {
        let r = self
            .req(
                on,
                Method::GET,
                &format!("/api/runs/{run}/events?after={after}&wait=10"),
                token,
            )
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "polling {run} on {on}: {body}");
        body["events"].as_array().cloned().unwrap_or_default()
    }

    /// Every event of the run, read by polling `on` until the run's last event.
    pub async fn poll_to_end(&self, on: &str, token: &str, run: &str) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let mut seen: Vec<Value> = Vec::new();
        loop {
            let after = seen.last().map_or(0, seq);
            seen.extend(self.poll(on, token, run, after).await);
            if seen.iter().any(is_final) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "run {run} did not end; saw {}",
                kinds(&seen)
            );
        }
    }

    /// Polls `on` until an event matches; returns every event seen so far.
    pub async fn until_event(
        &self,
        on: &str,
        token: &str,
        run: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let mut seen: Vec<Value> = Vec::new();
        loop {
            if seen.iter().any(&pred) {
                return seen;
            }
            let after = seen.last().map_or(0, seq);
            seen.extend(self.poll(on, token, run, after).await);
            assert!(
                Instant::now() < deadline,
                "no such event; saw {}",
                kinds(&seen)
            );
        }
    }

    pub async fn close(mut self) {
        for i in &mut self.instances {
            i.kill();
        }
        if let Some(schema) = self.schema.take() {
            schema.drop_schema().await;
        }
    }
}

pub fn seq(e: &Value) -> u64 {
    e["seq"].as_u64().unwrap_or(0)
}

pub fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(seq).collect()
}

/// A run's last event: its summary, or `runCancelled` for a run cancelled while queued (a run
/// cancelled while executing sends `runCancelled`, then its summary).
pub fn is_final(e: &Value) -> bool {
    e["type"] == "executionSummary"
        || (e["type"] == "runCancelled" && e["data"]["reason"] == "cancelled while queued")
}

pub fn kinds(events: &[Value]) -> String {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What the event log holds, read on `on`.
pub async fn log(cluster: &Cluster, on: &str, token: &str, run: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, seq);
        let r: Value = cluster
            .req(
                on,
                Method::GET,
                &format!("/api/runs/{run}/events?after={after}"),
                token,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = r["events"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}
