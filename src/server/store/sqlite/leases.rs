//! Leases in SQLite. The embedded store has one instance (the database file is its own), so
//! leases mostly document ownership and fence a driver that outlived its run; the SQL is the
//! same as PostgreSQL's so the conformance suite proves both.

use super::runs::{run_from_row, RUN_COLUMNS};
use super::SqliteStore;
use crate::server::store::lease::{millis, HeldLeases, LeaseStore, TakenRun};
use crate::server::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;
use std::time::Duration;

/// The database's clock in milliseconds since the epoch.
pub(super) const NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

#[async_trait]
impl LeaseStore for SqliteStore {
    fn leases(&self) -> &HeldLeases {
        &self.leases
    }

    async fn acquire_lease(
        &self,
        run_id: &str,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let epoch: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE runs SET lease_owner = ?1, lease_epoch = lease_epoch + 1, lease_until = {NOW_MS} + ?2
             WHERE id = ?3 AND status NOT IN ('completed', 'failed', 'cancelled')
               AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_until IS NULL OR lease_until < {NOW_MS})
             RETURNING lease_epoch"
        ))
        .bind(instance)
        .bind(millis(ttl))
        .bind(run_id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(epoch) = epoch {
            self.leases.hold(run_id, epoch);
        }
        Ok(epoch)
    }

    async fn renew_leases(&self, instance: &str, ttl: Duration) -> Result<Vec<String>, StoreError> {
        let mut lost = Vec::new();
        for (run_id, epoch) in self.leases.held() {
            let kept = sqlx::query(&format!(
                "UPDATE runs SET lease_until = {NOW_MS} + ? WHERE id = ? AND lease_epoch = ? AND lease_owner = ?"
            ))
            .bind(millis(ttl))
            .bind(&run_id)
            .bind(epoch)
            .bind(instance)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if kept == 0 {
                self.leases.forget(&run_id);
                lost.push(run_id);
            }
        }
        Ok(lost)
    }

    async fn take_orphaned_runs(
        &self,
        instance: &str,
        ttl: Duration,
        limit: u32,
        force: bool,
    ) -> Result<Vec<TakenRun>, StoreError> {
        // SQLite has one writer at a time. A write first takes the lock for the whole
        // transaction (a read first would have to upgrade and could fail as busy), so two
        // sweepers (if there ever were two) read and take one after the other.
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE runs SET lease_epoch = lease_epoch WHERE 0")
            .execute(&mut *tx)
            .await?;
        let candidates = sqlx::query(&format!(
            "SELECT id, lease_owner FROM runs
             WHERE status NOT IN ('completed', 'failed', 'cancelled')
               AND (?1 OR lease_until IS NULL OR lease_until < {NOW_MS})
             ORDER BY created_at LIMIT ?2"
        ))
        .bind(force)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut taken = Vec::with_capacity(candidates.len());
        for row in candidates {
            let id: String = row.try_get("id")?;
            let previous_owner: Option<String> = row.try_get("lease_owner")?;
            let updated = sqlx::query(&format!(
                "UPDATE runs SET lease_owner = ?, lease_epoch = lease_epoch + 1, lease_until = {NOW_MS} + ?
                 WHERE id = ? RETURNING lease_epoch, {RUN_COLUMNS}"
            ))
            .bind(instance)
            .bind(millis(ttl))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
            taken.push(TakenRun {
                epoch: updated.try_get("lease_epoch")?,
                run: run_from_row(&updated)?,
                previous_owner,
            });
        }
        tx.commit().await?;
        for t in &taken {
            self.leases.hold(&t.run.id, t.epoch);
        }
        Ok(taken)
    }

    async fn release_lease(&self, run_id: &str, instance: &str) -> Result<(), StoreError> {
        let epoch = self.leases.fence(run_id);
        self.leases.forget(run_id);
        if let Some(epoch) = epoch {
            sqlx::query(
                "UPDATE runs SET lease_until = 0 WHERE id = ? AND lease_epoch = ? AND lease_owner = ?",
            )
            .bind(run_id)
            .bind(epoch)
            .bind(instance)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}
