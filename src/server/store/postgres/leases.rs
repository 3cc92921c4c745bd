//! Leases in PostgreSQL: the database's clock times them, `FOR UPDATE SKIP LOCKED` keeps two
//! sweepers from taking the same run, and renewals are one statement for all held runs.

use super::runs::{run_from_row, RUN_COLUMNS};
use super::PgStore;
use crate::server::store::lease::queue_event_data;
use crate::server::store::lease::{millis, HeldLeases, LeaseStore, TakenRun};
use crate::server::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;
use std::collections::HashSet;
use std::time::Duration;
use youmeyou_core::model::{Event, EventType};

fn qualified_run_columns() -> String {
    RUN_COLUMNS
        .split(", ")
        .map(|c| format!("runs.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The database's clock in milliseconds since the epoch.
const NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

#[async_trait]
impl LeaseStore for PgStore {
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
            "UPDATE runs SET lease_owner = $1, lease_epoch = lease_epoch + 1, lease_until = {NOW_MS} + $2
             WHERE id = $3 AND status NOT IN ('completed', 'failed', 'cancelled')
               AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until IS NULL OR lease_until < {NOW_MS})
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
        let held = self.leases.held();
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = held.iter().map(|(id, _)| id.as_str()).collect();
        let epochs: Vec<i64> = held.iter().map(|(_, e)| *e).collect();
        let kept: Vec<String> = sqlx::query_scalar(&format!(
            "UPDATE runs SET lease_until = {NOW_MS} + $1
             FROM unnest($2::TEXT[], $3::BIGINT[]) AS h(id, epoch)
             WHERE runs.id = h.id AND runs.lease_epoch = h.epoch AND runs.lease_owner = $4
             RETURNING runs.id"
        ))
        .bind(millis(ttl))
        .bind(&ids)
        .bind(&epochs)
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        let kept: HashSet<String> = kept.into_iter().collect();
        let mut lost = Vec::new();
        for (id, epoch) in held {
            // A lease taken again while this renewal ran is not lost.
            if !kept.contains(&id) && self.leases.fence(&id) == Some(epoch) {
                self.leases.forget(&id);
                lost.push(id);
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
        let rows = sqlx::query(&format!(
            "WITH c AS (
                 SELECT id, lease_owner AS previous_owner FROM runs
                 WHERE status NOT IN ('queued', 'completed', 'failed', 'cancelled')
                   AND ($3 OR lease_until IS NULL OR lease_until < {NOW_MS})
                 ORDER BY created_at, ord LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             UPDATE runs SET lease_owner = $1, lease_epoch = runs.lease_epoch + 1, lease_until = {NOW_MS} + $2
             FROM c WHERE runs.id = c.id
             RETURNING c.previous_owner, runs.lease_epoch, {}",
            qualified_run_columns()
        ))
        .bind(instance)
        .bind(millis(ttl))
        .bind(force)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::with_capacity(rows.len());
        for row in rows {
            let t = TakenRun {
                epoch: row.try_get("lease_epoch")?,
                previous_owner: row.try_get("previous_owner")?,
                run: run_from_row(&row)?,
            };
            self.leases.hold(&t.run.id, t.epoch);
            taken.push(t);
        }
        taken.sort_by(|a, b| a.run.created_at.cmp(&b.run.created_at));
        Ok(taken)
    }

    async fn claim_queued(
        &self,
        instance: &str,
        ttl: Duration,
    ) -> Result<Option<TakenRun>, StoreError> {
        let row = sqlx::query(&format!(
            "WITH c AS (
                 SELECT r.id, r.lease_owner AS previous_owner FROM runs r JOIN users u ON u.id = r.owner_id
                 WHERE r.status = 'queued' AND (r.lease_until IS NULL OR r.lease_until < {NOW_MS})
                 ORDER BY (u.tier = 'premium') DESC, r.created_at, r.ord
                 LIMIT 1 FOR UPDATE OF r SKIP LOCKED)
             UPDATE runs SET lease_owner = $1, lease_epoch = runs.lease_epoch + 1, lease_until = {NOW_MS} + $2
             FROM c WHERE runs.id = c.id
             RETURNING c.previous_owner, runs.lease_epoch, {}",
            qualified_run_columns()
        ))
        .bind(instance)
        .bind(millis(ttl))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let taken = TakenRun {
            epoch: row.try_get("lease_epoch")?,
            previous_owner: row.try_get("previous_owner")?,
            run: run_from_row(&row)?,
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
        // One reporter at a time (across instances): positions are told in order.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.youmeyou.queue'))",
        )
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT r.id, r.project_id, r.queue_report FROM runs r JOIN users u ON u.id = r.owner_id
             WHERE r.status = 'queued' AND (r.lease_until IS NULL OR r.lease_until < {NOW_MS})
             ORDER BY (u.tier = 'premium') DESC, r.created_at, r.ord"
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
                "UPDATE runs SET last_seq = last_seq + 1, queue_report = $2 WHERE id = $1 RETURNING last_seq",
            )
            .bind(&run_id)
            .bind(&report)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO events (run_id, seq, type, ts, data) VALUES ($1, $2, $3, $4, $5)",
            )
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
            "UPDATE runs SET status = 'cancelled', finished_at = $2, last_seq = last_seq + 1
             WHERE id = $1 AND status = 'queued' AND (lease_until IS NULL OR lease_until < {NOW_MS})
             RETURNING last_seq"
        ))
        .bind(run_id)
        .bind(ts)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(seq) = seq else { return Ok(None) };
        let data = serde_json::json!({"reason": "cancelled while queued"});
        sqlx::query("INSERT INTO events (run_id, seq, type, ts, data) VALUES ($1, $2, $3, $4, $5)")
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
                "UPDATE runs SET lease_until = 0 WHERE id = $1 AND lease_epoch = $2 AND lease_owner = $3",
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
