//! The event log in SQLite: `runs.last_seq` is the counter, bumped in the same transaction as
//! the inserts, so `seq` never skips or repeats even across restarts.

use super::SqliteStore;
use crate::server::store::codec::parse_kind;
use crate::server::store::group::{missing, After, Append, GroupResults, GroupWriter};
use crate::server::store::runs::TaskRecord;
use crate::server::store::{EventStore, RunEnd, RunHead, StoreError};
use async_trait::async_trait;
use sqlx::Row;
use std::collections::HashMap;
use youmeyou_core::model::{Event, NewEvent};

/// Rows of one multi-row `INSERT` (5 parameters each; well under SQLite's 32,766).
const INSERT_ROWS: usize = 400;

/// Writes every append in one transaction of a few statements whatever the group's size: one
/// `UPDATE … FROM (VALUES …) RETURNING` bumps every run's counter, multi-row `INSERT`s write
/// the events. Each statement is a round trip to sqlx's SQLite thread, so statements per
/// event, not the SQLite work, would bound the log's throughput. An append for an unknown run
/// gets `NotFound` (and writes nothing) without failing the others.
#[async_trait]
impl GroupWriter for SqliteStore {
    async fn write_group(&self, batch: &[Append]) -> Result<GroupResults, StoreError> {
        write_group(&self.pool, batch).await
    }
}

async fn write_group(
    pool: &sqlx::SqlitePool,
    batch: &[Append],
) -> Result<GroupResults, StoreError> {
    // Serialise before the transaction: the write lock is held for SQL only.
    let mut payloads = Vec::with_capacity(batch.len());
    for append in batch {
        let data = append
            .events
            .iter()
            .map(|e| serde_json::to_string(&e.data))
            .collect::<Result<Vec<_>, _>>()?;
        payloads.push(data);
    }
    // Events per run in this group, runs in order of first appearance.
    // A run's appends in one group come from one instance, so they carry the same fence.
    let mut totals: Vec<(&str, i64, Option<i64>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    for append in batch {
        let i = *index.entry(&append.run_id).or_insert_with(|| {
            totals.push((&append.run_id, 0, append.fence));
            totals.len() - 1
        });
        totals[i].1 += append.events.len() as i64;
    }

    let mut tx = pool.begin().await?;
    let mut bump = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "UPDATE runs SET last_seq = last_seq + v.column2 FROM (",
    );
    bump.push_values(&totals, |mut row, (run, n, fence)| {
        row.push_bind(*run).push_bind(*n).push_bind(*fence);
    });
    bump.push(
        ") AS v WHERE runs.id = v.column1 AND (v.column3 IS NULL OR runs.lease_epoch = v.column3) \
         RETURNING runs.id, runs.last_seq",
    );
    let rows = bump.build().fetch_all(&mut *tx).await?;
    // The next `seq` of every run found: its new last_seq minus this group's events, plus one.
    let mut next: HashMap<&str, i64> = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get(0)?;
        let last: i64 = row.try_get(1)?;
        if let Some(&i) = index.get(id.as_str()) {
            let (run, n, _) = totals[i];
            next.insert(run, last - n + 1);
        }
    }

    let mut results = Vec::with_capacity(batch.len());
    let mut inserts: Vec<(&str, i64, &str, &str, &str)> = Vec::new();
    for (append, data) in batch.iter().zip(&payloads) {
        let Some(seq) = next.get_mut(append.run_id.as_str()) else {
            results.push(Err(missing(append)));
            continue;
        };
        let mut stored = Vec::with_capacity(append.events.len());
        for (event, data) in append.events.iter().zip(data) {
            inserts.push((&append.run_id, *seq, event.kind.as_str(), &append.ts, data));
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
    // The SQL text depends on the row count, so sqlx prepares (and caches) one statement per
    // size seen; preparing is a few µs, far less than the round trips this saves.
    for chunk in inserts.chunks(INSERT_ROWS) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO events (run_id, seq, type, ts, data) ",
        );
        insert.push_values(chunk, |mut row, (run, seq, kind, ts, data)| {
            row.push_bind(*run)
                .push_bind(*seq)
                .push_bind(*kind)
                .push_bind(*ts)
                .push_bind(*data);
        });
        insert.build().execute(&mut *tx).await?;
    }
    // Task states reported by the group's events, in the same transaction.
    for append in batch {
        if let (Some(task), true) = (&append.task, next.contains_key(append.run_id.as_str())) {
            super::runs::write_task(&mut tx, &append.run_id, task, None).await?;
        }
    }
    // Terminal statuses last, after every event of the group is in.
    for append in batch {
        if let (Some(end), true) = (&append.end, next.contains_key(append.run_id.as_str())) {
            sqlx::query(
                "UPDATE runs SET status = ?, finished_at = ?, error = COALESCE(?, error) WHERE id = ?",
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

    async fn run_heads(
        &self,
        run_ids: &[String],
        project_ids: &[String],
    ) -> Result<Vec<RunHead>, StoreError> {
        let mut heads: Vec<RunHead> = Vec::new();
        let mut push = |row: sqlx::sqlite::SqliteRow| -> Result<(), StoreError> {
            let last: i64 = row.try_get("last_seq")?;
            let run_id: String = row.try_get("id")?;
            if !heads.iter().any(|h| h.run_id == run_id) {
                heads.push(RunHead {
                    run_id,
                    project_id: row.try_get("project_id")?,
                    last_seq: last as u64,
                });
            }
            Ok(())
        };
        for id in run_ids {
            if let Some(row) = sqlx::query("SELECT id, project_id, last_seq FROM runs WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            {
                push(row)?;
            }
        }
        for project in project_ids {
            let rows = sqlx::query(
                "SELECT id, project_id, last_seq FROM runs WHERE project_id = ?1
                   AND (status NOT IN ('completed', 'failed', 'cancelled')
                        OR id = (SELECT id FROM runs WHERE project_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 1))",
            )
            .bind(project)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                push(row)?;
            }
        }
        Ok(heads)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use youmeyou_core::model::EventType;

    async fn store_with_runs(dir: &std::path::Path, runs: usize) -> SqliteStore {
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let t = "2026-01-01T00:00:00Z";
        sqlx::query("INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ('u', 'u@x', 'x', 'free', ?)")
            .bind(t).execute(&store.pool).await.unwrap();
        sqlx::query("INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES ('p', 'u', 'p', '{}', 0, ?, ?)")
            .bind(t).bind(t).execute(&store.pool).await.unwrap();
        for i in 0..runs {
            sqlx::query("INSERT INTO runs (id, project_id, owner_id, prompt, status, created_at) VALUES (?, 'p', 'u', 'x', 'running', ?)")
                .bind(format!("r{i}")).bind(t).execute(&store.pool).await.unwrap();
        }
        store
    }

    /// Concurrent runs share commits; each run's `seq` stays 1, 2, 3… and an append for an
    /// unknown run fails alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commits_keep_every_runs_sequence_and_isolate_failures() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_runs(dir.path(), 40).await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let run = format!("r{i}");
                let mut seqs = Vec::new();
                for n in 0..30 {
                    let events = vec![NewEvent::new(EventType::TaskProgress, json!({"n": n}))];
                    let stored = store.append_events(&run, &events, "t").await.unwrap();
                    seqs.extend(stored.iter().map(|e| e.seq));
                }
                seqs
            }));
        }
        let ghost = {
            let store = store.clone();
            tokio::spawn(async move {
                let events = vec![NewEvent::new(EventType::TaskProgress, json!({}))];
                store.append_events("ghost", &events, "t").await
            })
        };
        for task in tasks {
            assert_eq!(task.await.unwrap(), (1..=30).collect::<Vec<u64>>());
        }
        assert!(matches!(
            ghost.await.unwrap(),
            Err(StoreError::NotFound("run"))
        ));
        for i in 0..40 {
            let run = format!("r{i}");
            let events = store.events_after(&run, 0, 100).await.unwrap();
            let ns: Vec<u64> = events
                .iter()
                .map(|e| e.data["n"].as_u64().unwrap())
                .collect();
            assert_eq!(ns, (0..30).collect::<Vec<u64>>(), "{run} in order");
            assert_eq!(store.last_seq(&run).await.unwrap(), 30);
        }
    }

    /// One group holding several appends of the same run (several events each), another run
    /// and an unknown run: every append gets consecutive `seq`s, the run's log is gap-free and
    /// holds exactly what each caller was told.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_group_with_several_appends_of_one_run_numbers_them_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_runs(dir.path(), 2).await;
        let leading = store.commits.leader.lock().await;
        let mut waiting = Vec::new();
        for (run, n) in [("r0", 2), ("r1", 1), ("r0", 3), ("ghost", 1), ("r0", 1)] {
            let store = store.clone();
            waiting.push(tokio::spawn(async move {
                let events: Vec<NewEvent> = (0..n)
                    .map(|i| NewEvent::new(EventType::TaskProgress, json!({"run": run, "i": i})))
                    .collect();
                (run, store.append_events(run, &events, "t").await)
            }));
        }
        while store.commits.queue.lock().unwrap().len() < 5 {
            tokio::task::yield_now().await;
        }
        drop(leading);
        let mut told = Vec::new();
        for task in waiting {
            let (run, result) = task.await.unwrap();
            if run == "ghost" {
                assert!(matches!(result, Err(StoreError::NotFound("run"))));
                continue;
            }
            let stored = result.unwrap();
            let seqs: Vec<u64> = stored.iter().map(|e| e.seq).collect();
            let first = seqs[0];
            assert_eq!(seqs, (first..first + seqs.len() as u64).collect::<Vec<_>>());
            told.extend(stored);
        }
        for (run, last) in [("r0", 6u64), ("r1", 1)] {
            let log = store.events_after(run, 0, 100).await.unwrap();
            assert_eq!(
                log.iter().map(|e| e.seq).collect::<Vec<_>>(),
                (1..=last).collect::<Vec<_>>()
            );
            for event in &log {
                let said = told
                    .iter()
                    .find(|e| e.run_id == run && e.seq == event.seq)
                    .unwrap();
                assert_eq!(said.data, event.data, "{run} seq {}", event.seq);
            }
            assert_eq!(store.last_seq(run).await.unwrap(), last);
        }
    }

    /// An append whose caller went away while it waited for the commit writes nothing, and the
    /// run's sequence goes on without a gap.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_append_cancelled_before_its_commit_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_runs(dir.path(), 1).await;
        // Hold the leader's place so the next append has to wait in the queue.
        let leading = store.commits.leader.lock().await;
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move {
                let events = vec![NewEvent::new(EventType::TaskProgress, json!({"n": "gone"}))];
                store.append_events("r0", &events, "t").await
            })
        };
        while store.commits.queue.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        drop(leading);
        let events = vec![NewEvent::new(EventType::TaskProgress, json!({"n": "kept"}))];
        let stored = store.append_events("r0", &events, "t").await.unwrap();
        assert_eq!(stored[0].seq, 1);
        let log = store.events_after("r0", 0, 10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].data["n"], "kept");
    }
}
