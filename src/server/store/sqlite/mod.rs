//! The embedded store: SQLite in WAL mode through sqlx. One pool; writes serialise inside
//! SQLite (busy timeout), reads run concurrently. One file per area, like the traits.

mod commands;
mod events;
mod leases;
mod projects;
mod runs;
mod users;

use super::{Store, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// The event log's group commit (events.rs).
    pub(crate) commits: std::sync::Arc<crate::server::store::group::GroupCommit>,
    /// The run leases this instance holds (leases.rs); writes of those runs are fenced.
    pub(crate) leases: std::sync::Arc<crate::server::store::lease::HeldLeases>,
}

impl SqliteStore {
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        crate::server::datadir::private_database_file(url)
            .map_err(|e| anyhow::anyhow!("cannot create the database file of {url}: {e}"))?;
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("invalid SQLite URL {url}: {e}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a committed transaction survives a process crash (SIGKILL); only a
            // power cut can lose the last few, which is the usual trade for sub-ms commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Checkpoints run in the background (below), not inside whichever commit crosses
            // the WAL threshold: that commit (and every event queued behind it) would wait
            // for the copy and its fsync.
            .pragma("wal_autocheckpoint", "0");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database {url}: {e}"))?;
        super::migrate::run(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("cannot migrate the database {url}: {e}"))?;
        spawn_checkpointer(pool.clone());
        Ok(Self {
            pool,
            commits: Default::default(),
            leases: Default::default(),
        })
    }

    /// The connection pool, for tests that seed fixtures and for admin tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Copies the WAL back into the database once a second without blocking readers or writers
/// (`PASSIVE`), until the pool is closed.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::debug!(error = %e, "WAL checkpoint skipped");
            }
        }
    });
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn shared(&self) -> bool {
        false
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
