//! The shared store: PostgreSQL through sqlx, for running any number of instances on one
//! database (docs/DEPLOY.md). Same semantics as the SQLite store, proven by one conformance
//! suite (tests/store_conformance.rs); the schema lives in migrations/postgres and is applied
//! at start with `sqlx::migrate!`. One file per area, like the traits.

mod commands;
mod events;
mod leases;
mod projects;
mod runs;
mod users;

use super::group::GroupCommit;
use super::lease::HeldLeases;
use super::{Store, StoreError};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The schema, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a connection before the database counts as unavailable
/// (the API then answers 503 with `Retry-After` instead of hanging).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) commits: Arc<GroupCommit>,
    pub(crate) leases: Arc<HeldLeases>,
}

impl PgStore {
    /// Connects (failing at once with a one-line reason when the server is unreachable or
    /// refuses us), applies the migrations and returns the store.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_with(url, 16).await
    }

    pub async fn open_with(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let shown = crate::server::config::url_for_messages(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("invalid PostgreSQL URL {shown}: {e}"))?
            .application_name("youmeyou")
            // A paused or partitioned owner must not hold a run's row lock open: PostgreSQL
            // ends a transaction idle this long, so the sweepers (SKIP LOCKED) can take the
            // run once its lease lapses. Our transactions take milliseconds.
            .options([("idle_in_transaction_session_timeout", "2s")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL at {shown}: {e}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("cannot migrate the PostgreSQL database {shown}: {e}"))?;
        Ok(Self {
            pool,
            commits: Default::default(),
            leases: Default::default(),
        })
    }

    /// The connection pool, for tests that seed fixtures and for admin tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn shared(&self) -> bool {
        true
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// The outcome of a fenced single-row write: no row under a fence means the lease was lost.
pub(super) fn fenced(rows: u64, fence: Option<i64>, run_id: &str) -> Result<(), StoreError> {
    match (rows, fence) {
        (0, Some(_)) => Err(StoreError::LeaseLost(run_id.to_string())),
        _ => Ok(()),
    }
}

/// Inside a transaction: holds the run's row against an epoch change (a takeover) until the
/// commit, and fails with `LeaseLost` when the epoch is no longer ours.
pub(super) async fn hold_fence(
    tx: &mut sqlx::PgConnection,
    run_id: &str,
    fence: Option<i64>,
) -> Result<(), StoreError> {
    if let Some(epoch) = fence {
        let held: Option<i64> = sqlx::query_scalar(
            "SELECT 1::BIGINT FROM runs WHERE id = $1 AND lease_epoch = $2 FOR SHARE",
        )
        .bind(run_id)
        .bind(epoch)
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_none() {
            return Err(StoreError::LeaseLost(run_id.to_string()));
        }
    }
    Ok(())
}
