//! The event log in SQLite: `runs.last_seq` is the counter, bumped in the same transaction as
//! the inserts, so `seq` never skips or repeats even across restarts.

use super::SqliteStore;
use crate::server::store::{EventStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use youmeyou_core::model::{Event, EventType, NewEvent};

fn parse_kind(s: &str) -> Result<EventType, StoreError> {
    EventType::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event type {s}")))
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append_events(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
    ) -> Result<Vec<Event>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let last: Option<i64> = sqlx::query_scalar(
            "UPDATE runs SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq",
        )
        .bind(events.len() as i64)
        .bind(run_id)
        .fetch_optional(&mut *tx)
        .await?;
        let last = last.ok_or(StoreError::NotFound("run"))?;
        let first = last - events.len() as i64 + 1;
        let mut stored = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let seq = first + i as i64;
            let data = serde_json::to_string(&event.data)?;
            sqlx::query("INSERT INTO events (run_id, seq, type, ts, data) VALUES (?, ?, ?, ?, ?)")
                .bind(run_id)
                .bind(seq)
                .bind(event.kind.as_str())
                .bind(ts)
                .bind(&data)
                .execute(&mut *tx)
                .await?;
            stored.push(Event {
                seq: seq as u64,
                run_id: run_id.to_string(),
                kind: event.kind,
                ts: ts.to_string(),
                data: event.data.clone(),
            });
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn events_after(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, type, ts, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(run_id)
        .bind(after_seq as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let kind: String = r.try_get("type")?;
                let data: String = r.try_get("data")?;
                Ok(Event {
                    seq: seq as u64,
                    run_id: run_id.to_string(),
                    kind: parse_kind(&kind)?,
                    ts: r.try_get("ts")?,
                    data: serde_json::from_str(&data)?,
                })
            })
            .collect()
    }

    async fn last_seq(&self, run_id: &str) -> Result<u64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM runs WHERE id = ?")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        last.map(|v| v as u64).ok_or(StoreError::NotFound("run"))
    }
}
