//! The machine's shared PostgreSQL and Redis, isolated per test: a fresh schema in the `test`
#![allow(dead_code)]
//! database (dropped when the test ends) and a fresh Redis key prefix. `./dev test` makes sure
//! both run (installing and starting them on a fresh Debian machine); the URLs can be moved
//! with `YOUMEYOU_TEST_PG_URL` and `YOUMEYOU_TEST_REDIS_URL`.

use sqlx::Executor;

pub fn pg_base_url() -> String {
    std::env::var("YOUMEYOU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

pub fn redis_url() -> String {
    std::env::var("YOUMEYOU_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// A schema of its own in the shared database; `url` puts every connection in it.
pub struct PgSchema {
    pub name: String,
    pub url: String,
    admin: sqlx::PgPool,
}

impl PgSchema {
    pub async fn new() -> Self {
        let base = pg_base_url();
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {base} ({e}); `./dev test` starts it, or set YOUMEYOU_TEST_PG_URL")
            });
        let name = format!("yyt_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("create schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Self { name, url, admin }
    }

    /// Drops the schema with everything in it.
    pub async fn drop_schema(self) {
        let _ = self
            .admin
            .execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name).as_str())
            .await;
        self.admin.close().await;
    }
}

/// A key prefix of its own on the shared Redis.
pub fn redis_prefix() -> String {
    format!("yyt:{}:", uuid::Uuid::new_v4().simple())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn wait_port(port: u16, open: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let is_open = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok();
        if is_open == open {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} did not become {}",
            if open { "open" } else { "closed" }
        );
        // A server process starting or stopping: there is no event to wait for.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A Redis server of the test's own on a free port, which the test may stop and start again
/// (outage tests never touch the machine's shared Redis).
pub struct PrivateRedis {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let mut r = Self {
            port: free_port(),
            child: None,
        };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on the same port, empty.
    pub async fn restart(&mut self) {
        self.stop().await;
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (./dev test installs it)");
        self.child = Some(child);
        wait_port(self.port, true).await;
    }

    /// Kills it (`kill -9`, as an outage does).
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            wait_port(self.port, false).await;
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A PostgreSQL cluster of the test's own (initdb in a temporary directory, trust auth, a free
/// port), which the test may stop and start again. As root it runs as the `postgres` user.
pub struct PrivatePostgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    running: bool,
}

fn pg_bin() -> std::path::PathBuf {
    let mut candidates = vec![std::path::PathBuf::from("/usr/local/bin")];
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for e in entries.flatten() {
            candidates.push(e.path().join("bin"));
        }
    }
    candidates
        .into_iter()
        .find(|d| d.join("pg_ctl").exists() && d.join("initdb").exists())
        .expect("PostgreSQL's initdb and pg_ctl (./dev test installs them)")
}

fn as_postgres(bin: &std::path::Path, tool: &str) -> std::process::Command {
    let root = rustix::process::getuid().is_root();
    let mut cmd = if root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        std::process::Command::new(bin.join(tool))
    };
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

impl PrivatePostgres {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = pg_bin();
        if rustix::process::getuid().is_root() {
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let status = as_postgres(&bin, "initdb")
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "postgres", "-A", "trust", "--no-sync"])
            .status()
            .expect("initdb");
        assert!(status.success(), "initdb");
        let mut pg = Self {
            port: free_port(),
            dir,
            bin,
            running: false,
        };
        pg.resume().await;
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) with its data.
    pub async fn resume(&mut self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let status = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-o", &opts, "-w", "start"])
            .status()
            .expect("pg_ctl start");
        assert!(status.success(), "pg_ctl start");
        self.running = true;
        wait_port(self.port, true).await;
    }

    /// Stops it at once (`-m immediate`: connections are cut, as in a crash).
    pub async fn stop(&mut self) {
        if !self.running {
            return;
        }
        let _ = as_postgres(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .status();
        self.running = false;
        wait_port(self.port, false).await;
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let _ = as_postgres(&self.bin, "pg_ctl")
                .arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "stop"])
                .status();
        }
    }
}
