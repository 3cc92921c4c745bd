//! Leases in SQLite. The embedded store has one instance (the database file is its own), so
//! leases mostly document ownership and fence a driver that outlived its run; the SQL is the
//! same as PostgreSQL's so the conformance suite proves both.

use super::runs::{run_from_row, RUN_COLUMNS};
use super::SqliteStore;
use crate::server::store::lease::queue_event_data;
use crate::server::store::lease::{millis, HeldLeases, LeaseStore, TakenRun};
use crate::server::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;
use std::time::Duration;
use youmeyou_core::model::{Event, EventType};

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
             WHERE status NOT IN ('queued', 'completed', 'failed', 'cancelled')
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

    async fn claim_queued(
        &self,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<TakenRun>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE runs SET lease_epoch = lease_epoch WHERE 0")
            .execute(&mut *tx)
            .await?;
        let next = sqlx::query(&format!(
            "SELECT r.id, r.lease_owner FROM runs r JOIN users u ON u.id = r.owner_id
             WHERE r.status = 'queued' AND (r.lease_until IS NULL OR r.lease_until < {NOW_MS})
             ORDER BY (u.tier = 'premium') DESC, r.created_at, r.rowid LIMIT 1"
        ))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(next) = next else { return Ok(None) };
        let id: String = next.try_get("id")?;
        let previous_owner: Option<String> = next.try_get("lease_owner")?;
        let row = sqlx::query(&format!(
            "UPDATE runs SET lease_owner = ?, lease_epoch = lease_epoch + 1, lease_until = {NOW_MS} + ?
             WHERE id = ? RETURNING lease_epoch, {RUN_COLUMNS}"
        ))
        .bind(instance)
        .bind(millis(ttl))
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let taken = TakenRun {
            epoch: row.try_get("lease_epoch")?,
            run: run_from_row(&row)?,
            previous_owner,
        };
        self.leases.hold(&taken.run.id, taken.epoch);
        Ok(Some(taken))
    }

    async fn report_queue(
        &self,
        ts: &str,
        average_secs: f64,
        slots: usize,
    ) -> Result<Vec<(String, Event)>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE runs SET lease_epoch = lease_epoch WHERE 0")
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT r.id, r.project_id, r.queue_report FROM runs r JOIN users u ON u.id = r.owner_id
             WHERE r.status = 'queued' AND (r.lease_until IS NULL OR r.lease_until < {NOW_MS})
             ORDER BY (u.tier = 'premium') DESC, r.created_at, r.rowid"
        ))
        .fetch_all(&mut *tx)
        .await?;
        let length = rows.len();
        let mut told = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let report = format!("{}/{length}", i + 1);
            let said: Option<String> = row.try_get("queue_report")?;
            if said.as_deref() == Some(report.as_str()) {
                continue;
            }
            let run_id: String = row.try_get("id")?;
            let project_id: String = row.try_get("project_id")?;
            let data = queue_event_data(i + 1, length, average_secs, slots);
            let seq: i64 = sqlx::query_scalar(
                "UPDATE runs SET last_seq = last_seq + 1, queue_report = ?2 WHERE id = ?1 RETURNING last_seq",
            )
            .bind(&run_id)
            .bind(&report)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO events (run_id, seq, type, ts, data) VALUES (?, ?, ?, ?, ?)")
                .bind(&run_id)
                .bind(seq)
                .bind(EventType::QueuePosition.as_str())
                .bind(ts)
                .bind(data.to_string())
                .execute(&mut *tx)
                .await?;
            told.push((
                project_id,
                Event {
                    seq: seq as u64,
                    run_id,
                    kind: EventType::QueuePosition,
                    ts: ts.to_string(),
                    data,
                },
            ));
        }
        tx.commit().await?;
        Ok(told)
    }

    async fn cancel_queued(
        &self,
        run_id: &str,
        ts: &str,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let seq: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE runs SET status = 'cancelled', finished_at = ?2, last_seq = last_seq + 1
             WHERE id = ?1 AND status = 'queued' AND (lease_until IS NULL OR lease_until < {NOW_MS})
             RETURNING last_seq"
        ))
        .bind(run_id)
        .bind(ts)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else { return Ok(None) };
        let data = serde_json::json!({"reason": "cancelled while queued"});
        sqlx::query("INSERT INTO events (run_id, seq, type, ts, data) VALUES (?, ?, ?, ?, ?)")
            .bind(run_id)
            .bind(seq)
            .bind(EventType::RunCancelled.as_str())
            .bind(ts)
            .bind(data.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(vec![Event {
            seq: seq as u64,
            run_id: run_id.to_string(),
            kind: EventType::RunCancelled,
            ts: ts.to_string(),
            data,
        }]))
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
