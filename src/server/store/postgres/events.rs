//! The event log in PostgreSQL: `runs.last_seq` is the counter, bumped in the same transaction
//! as the inserts (the row lock orders concurrent appends of one run), so `seq` never skips or
//! repeats. A group is three statements whatever its size: one `UPDATE … FROM unnest(…)`
//! bumps every run's counter (fenced by lease epoch), one `INSERT … SELECT unnest(…)` writes
//! every event, and the terminal statuses follow.

use super::PgStore;
use crate::server::store::codec::parse_kind;
use crate::server::store::group::{missing, After, Append, GroupResults, GroupWriter};
use crate::server::store::runs::TaskRecord;
use crate::server::store::{EventStore, RunEnd, RunHead, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use std::collections::HashMap;
use youmeyou_core::model::{Event, NewEvent};

#[async_trait]
impl GroupWriter for PgStore {
    async fn write_group(&self, batch: &[Append]) -> Result<GroupResults, StoreError> {
        let mut payloads = Vec::with_capacity(batch.len());
        for append in batch {
            let data = append
                .events
                .iter()
                .map(|e| serde_json::to_string(&e.data))
                .collect::<Result<Vec<_>, _>>()?;
            payloads.push(data);
        }
        // Events per run, runs sorted by id so concurrent groups lock rows in one order.
        let mut totals: Vec<(&str, i64, Option<i64>)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
        for append in batch {
            let i = *index.entry(&append.run_id).or_insert_with(|| {
                totals.push((&append.run_id, 0, append.fence));
                totals.len() - 1
            });
            totals[i].1 += append.events.len() as i64;
        }
        let mut order: Vec<usize> = (0..totals.len()).collect();
        order.sort_by_key(|&i| totals[i].0);
        let ids: Vec<&str> = order.iter().map(|&i| totals[i].0).collect();
        let counts: Vec<i64> = order.iter().map(|&i| totals[i].1).collect();
        let fences: Vec<Option<i64>> = order.iter().map(|&i| totals[i].2).collect();

        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE runs SET last_seq = runs.last_seq + v.n
             FROM (SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[]) AS t(id, n, fence) ORDER BY id) AS v
             WHERE runs.id = v.id AND (v.fence IS NULL OR runs.lease_epoch = v.fence)
             RETURNING runs.id, runs.last_seq",
        )
        .bind(&ids)
        .bind(&counts)
        .bind(&fences)
        .fetch_all(&mut *tx)
        .await?;
        let mut next: HashMap<String, i64> = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get(0)?;
            let last: i64 = row.try_get(1)?;
            if let Some(&i) = index.get(id.as_str()) {
                next.insert(id, last - totals[i].1 + 1);
            }
        }

        let mut results = Vec::with_capacity(batch.len());
        let (mut runs, mut seqs, mut kinds, mut stamps, mut datas) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (append, data) in batch.iter().zip(&payloads) {
            let Some(seq) = next.get_mut(append.run_id.as_str()) else {
                results.push(Err(missing(append)));
                continue;
            };
            let mut stored = Vec::with_capacity(append.events.len());
            for (event, data) in append.events.iter().zip(data) {
                runs.push(append.run_id.as_str());
                seqs.push(*seq);
                kinds.push(event.kind.as_str());
                stamps.push(append.ts.as_str());
                datas.push(data.as_str());
                stored.push(Event {
                    seq: *seq as u64,
                    run_id: append.run_id.clone(),
                    kind: event.kind,
                    ts: append.ts.clone(),
                    data: event.data.clone(),
                });
                *seq += 1;
            }
            results.push(Ok(stored));
        }
        if !runs.is_empty() {
            sqlx::query(
                "INSERT INTO events (run_id, seq, type, ts, data)
                 SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[])",
            )
            .bind(&runs)
            .bind(&seqs)
            .bind(&kinds)
            .bind(&stamps)
            .bind(&datas)
            .execute(&mut *tx)
            .await?;
        }
        // Task states reported by the group's events, in the same transaction.
        for append in batch {
            if let (Some(task), true) = (&append.task, next.contains_key(append.run_id.as_str())) {
                super::runs::write_task(&mut tx, &append.run_id, task, None).await?;
            }
        }
        for append in batch {
            if let (Some(end), true) = (&append.end, next.contains_key(append.run_id.as_str())) {
                sqlx::query(
                    "UPDATE runs SET status = $1, finished_at = $2, error = COALESCE($3, error) WHERE id = $4",
                )
                .bind(&end.status)
                .bind(&end.finished_at)
                .bind(end.error.as_deref())
                .bind(&append.run_id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(results)
    }
}

#[async_trait]
impl EventStore for PgStore {
    async fn append_events(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
    ) -> Result<Vec<Event>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let fence = self.leases.fence(run_id);
        self.commits
            .append(self, run_id, events, ts, After::default(), fence)
            .await
    }

    async fn append_with_task(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
        task: &TaskRecord,
    ) -> Result<Vec<Event>, StoreError> {
        let fence = self.leases.fence(run_id);
        let after = After {
            end: None,
            task: Some(task),
        };
        self.commits
            .append(self, run_id, events, ts, after, fence)
            .await
    }

    async fn append_final(
        &self,
        run_id: &str,
        events: &[NewEvent],
        ts: &str,
        end: &RunEnd,
    ) -> Result<Vec<Event>, StoreError> {
        let fence = self.leases.fence(run_id);
        let after = After {
            end: Some(end),
            task: None,
        };
        self.commits
            .append(self, run_id, events, ts, after, fence)
            .await
    }

    async fn events_after(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, type, ts, data FROM events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
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
        let last: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        last.map(|v| v as u64).ok_or(StoreError::NotFound("run"))
    }

    async fn run_heads(
        &self,
        run_ids: &[String],
        project_ids: &[String],
    ) -> Result<Vec<RunHead>, StoreError> {
        if run_ids.is_empty() && project_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, project_id, last_seq FROM runs WHERE id = ANY($1)
             UNION
             SELECT id, project_id, last_seq FROM runs
              WHERE project_id = ANY($2) AND status NOT IN ('completed', 'failed', 'cancelled')
             UNION
             SELECT * FROM (SELECT DISTINCT ON (project_id) id, project_id, last_seq FROM runs
              WHERE project_id = ANY($2) ORDER BY project_id, created_at DESC, ord DESC) AS latest",
        )
        .bind(run_ids)
        .bind(project_ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let last: i64 = r.try_get("last_seq")?;
                Ok(RunHead {
                    run_id: r.try_get("id")?,
                    project_id: r.try_get("project_id")?,
                    last_seq: last as u64,
                })
            })
            .collect()
    }
}
