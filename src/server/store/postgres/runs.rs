//! Runs, tasks, modifications and files in PostgreSQL. Writes of a run this instance holds a
//! lease on are fenced by its epoch (lease.rs).

use super::{fenced, hold_fence, PgStore};
use crate::server::store::codec::{json_text, parse_status, status_str};
use crate::server::store::runs::{FileMeta, RunAdmission, RunRecord, RunRef, TaskRecord};
use crate::server::store::{RunStore, StoreError};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::Row;
use youmeyou_core::model::{GeneratedFile, Modification, Task};

pub(super) const RUN_COLUMNS: &str = "id, project_id, owner_id, prompt, status, intent, path, path_reason, context, summary, error, last_seq, created_at, started_at, finished_at";

pub(super) fn run_from_row(row: &PgRow) -> Result<RunRecord, StoreError> {
    let last_seq: i64 = row.try_get("last_seq")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        owner_id: row.try_get("owner_id")?,
        prompt: row.try_get("prompt")?,
        status: row.try_get("status")?,
        intent: json_text(row.try_get("intent")?)?,
        path: row.try_get("path")?,
        path_reason: row.try_get("path_reason")?,
        context: json_text(row.try_get("context")?)?,
        summary: json_text(row.try_get("summary")?)?,
        error: row.try_get("error")?,
        last_seq: last_seq as u64,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

/// Writes a task's state, fenced by `fence` (`None` inside a transaction that checked the
/// lease already and holds the run's row, e.g. the group commit). Returns the rows written.
pub(super) async fn write_task(
    conn: &mut sqlx::PgConnection,
    run_id: &str,
    record: &TaskRecord,
    fence: Option<i64>,
) -> Result<u64, StoreError> {
    let output = record
        .output
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    Ok(sqlx::query(
        "UPDATE tasks SET spec = $1, status = $2, started_at = $3, finished_at = $4, modification_count = $5, attempts = $6, output = $7, error = $8
         WHERE run_id = $9 AND id = $10
           AND ($11::BIGINT IS NULL OR EXISTS (SELECT 1 FROM runs WHERE id = $9 AND lease_epoch = $11))",
    )
    .bind(serde_json::to_string(&record.task)?)
    .bind(status_str(record.task.status))
    .bind(&record.task.started_at)
    .bind(&record.task.finished_at)
    .bind(i64::from(record.task.modification_count))
    .bind(i64::from(record.attempts))
    .bind(output)
    .bind(&record.error)
    .bind(run_id)
    .bind(&record.task.id)
    .bind(fence)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

fn file_from_row(row: &PgRow) -> Result<GeneratedFile, StoreError> {
    Ok(GeneratedFile {
        path: row.try_get("path")?,
        language: row.try_get("language")?,
        content: row.try_get("content")?,
        task_id: row.try_get("task_id")?,
    })
}

#[async_trait]
impl RunStore for PgStore {
    async fn admit_run(
        &self,
        run: &RunRecord,
        max_active: u32,
        max_per_day: u32,
        day: &str,
    ) -> Result<RunAdmission, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The owner's row lock serialises their admissions on every instance.
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind(&run.owner_id)
            .execute(&mut *tx)
            .await?;
        let busy: Option<String> = sqlx::query_scalar(
            "SELECT id FROM runs WHERE project_id = $1 AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT 1",
        )
        .bind(&run.project_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(run_id) = busy {
            return Ok(RunAdmission::ProjectBusy { run_id });
        }
        let (active, started): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE status NOT IN ('completed', 'failed', 'cancelled')),
                    COUNT(*) FILTER (WHERE substr(created_at, 1, 10) >= $2)
             FROM runs WHERE owner_id = $1",
        )
        .bind(&run.owner_id)
        .bind(day)
        .fetch_one(&mut *tx)
        .await?;
        if started >= i64::from(max_per_day) {
            return Ok(RunAdmission::DailyLimit {
                started: started as u64,
            });
        }
        if active >= i64::from(max_active) {
            return Ok(RunAdmission::ConcurrentLimit {
                active: active as u64,
            });
        }
        sqlx::query(
            "INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&run.id)
        .bind(&run.project_id)
        .bind(&run.owner_id)
        .bind(&run.prompt)
        .bind(&run.status)
        .bind(&run.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RunAdmission::Created)
    }

    async fn run_ref(&self, run_id: &str) -> Result<Option<RunRef>, StoreError> {
        let row = sqlx::query("SELECT id, project_id, owner_id, status FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(RunRef {
                id: r.try_get("id")?,
                project_id: r.try_get("project_id")?,
                owner_id: r.try_get("owner_id")?,
                status: r.try_get("status")?,
            })
        })
        .transpose()
    }

    async fn project_owner(&self, project_id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT owner_id FROM projects WHERE id = $1")
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn create_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&run.id)
        .bind(&run.project_id)
        .bind(&run.owner_id)
        .bind(&run.prompt)
        .bind(&run.status)
        .bind(&run.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"))
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(run_from_row).transpose()
    }

    async fn set_run_status(
        &self,
        run_id: &str,
        status: &str,
        started_at: Option<&str>,
        finished_at: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let fence = self.leases.fence(run_id);
        let done = sqlx::query(
            "UPDATE runs SET status = $1, started_at = COALESCE($2, started_at), finished_at = COALESCE($3, finished_at), error = COALESCE($4, error)
             WHERE id = $5 AND ($6::BIGINT IS NULL OR lease_epoch = $6)",
        )
        .bind(status)
        .bind(started_at)
        .bind(finished_at)
        .bind(error)
        .bind(run_id)
        .bind(fence)
        .execute(&self.pool)
        .await?
        .rows_affected();
        fenced(done, fence, run_id)
    }

    async fn set_run_analysis(
        &self,
        run_id: &str,
        intent: &Value,
        context: &Value,
    ) -> Result<(), StoreError> {
        let fence = self.leases.fence(run_id);
        let done = sqlx::query(
            "UPDATE runs SET intent = $1, context = $2 WHERE id = $3 AND ($4::BIGINT IS NULL OR lease_epoch = $4)",
        )
        .bind(serde_json::to_string(intent)?)
        .bind(serde_json::to_string(context)?)
        .bind(run_id)
        .bind(fence)
        .execute(&self.pool)
        .await?
        .rows_affected();
        fenced(done, fence, run_id)
    }

    async fn save_plan(
        &self,
        run_id: &str,
        tasks: &[Task],
        path: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::with_capacity(tasks.len());
        let mut positions = Vec::with_capacity(tasks.len());
        let mut specs = Vec::with_capacity(tasks.len());
        let mut statuses = Vec::with_capacity(tasks.len());
        for (position, task) in tasks.iter().enumerate() {
            ids.push(task.id.clone());
            positions.push(position as i64);
            specs.push(serde_json::to_string(task)?);
            statuses.push(status_str(task.status).to_string());
        }
        let mut tx = self.pool.begin().await?;
        let fence = self.leases.fence(run_id);
        let done = sqlx::query(
            "UPDATE runs SET path = $1, path_reason = $2 WHERE id = $3 AND ($4::BIGINT IS NULL OR lease_epoch = $4)",
        )
        .bind(path)
        .bind(reason)
        .bind(run_id)
        .bind(fence)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        fenced(done, fence, run_id)?;
        sqlx::query("DELETE FROM tasks WHERE run_id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tasks (run_id, id, position, spec, status, modification_count, attempts)
             SELECT $1, t.id, t.position, t.spec, t.status, 0, 0
             FROM unnest($2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[]) AS t(id, position, spec, status)",
        )
        .bind(run_id)
        .bind(&ids)
        .bind(&positions)
        .bind(&specs)
        .bind(&statuses)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_task(&self, run_id: &str, record: &TaskRecord) -> Result<(), StoreError> {
        let fence = self.leases.fence(run_id);
        let mut conn = self.pool.acquire().await?;
        let done = write_task(&mut conn, run_id, record, fence).await?;
        fenced(done, fence, run_id)
    }

    async fn load_tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT position, spec, status, started_at, finished_at, modification_count, attempts, output, error FROM tasks WHERE run_id = $1 ORDER BY position",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let spec: String = row.try_get("spec")?;
                let mut task: Task = serde_json::from_str(&spec)?;
                let status: String = row.try_get("status")?;
                task.status = parse_status(&status)?;
                task.started_at = row.try_get("started_at")?;
                task.finished_at = row.try_get("finished_at")?;
                let count: i64 = row.try_get("modification_count")?;
                task.modification_count = count as u32;
                let attempts: i64 = row.try_get("attempts")?;
                let output: Option<String> = row.try_get("output")?;
                Ok(TaskRecord {
                    task,
                    position: row.try_get("position")?,
                    attempts: attempts as u32,
                    output: output.map(|o| serde_json::from_str(&o)).transpose()?,
                    error: row.try_get("error")?,
                })
            })
            .collect()
    }

    async fn set_summary(&self, run_id: &str, summary: &Value) -> Result<(), StoreError> {
        let fence = self.leases.fence(run_id);
        let done = sqlx::query(
            "UPDATE runs SET summary = $1 WHERE id = $2 AND ($3::BIGINT IS NULL OR lease_epoch = $3)",
        )
        .bind(serde_json::to_string(summary)?)
        .bind(run_id)
        .bind(fence)
        .execute(&self.pool)
        .await?
        .rows_affected();
        fenced(done, fence, run_id)
    }

    async fn save_files(&self, run_id: &str, files: &[GeneratedFile]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        hold_fence(&mut tx, run_id, self.leases.fence(run_id)).await?;
        for file in files {
            sqlx::query(
                "INSERT INTO files (run_id, path, language, task_id, content, bytes) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (run_id, path) DO UPDATE SET language = excluded.language, task_id = excluded.task_id, content = excluded.content, bytes = excluded.bytes",
            )
            .bind(run_id)
            .bind(&file.path)
            .bind(&file.language)
            .bind(&file.task_id)
            .bind(&file.content)
            .bind(file.content.len() as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_files(&self, run_id: &str) -> Result<Vec<FileMeta>, StoreError> {
        let rows = sqlx::query(
            "SELECT path, language, bytes, task_id FROM files WHERE run_id = $1 ORDER BY path",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let bytes: i64 = r.try_get("bytes")?;
                Ok(FileMeta {
                    path: r.try_get("path")?,
                    language: r.try_get("language")?,
                    bytes: bytes as u64,
                    task_id: r.try_get("task_id")?,
                })
            })
            .collect()
    }

    async fn get_file(
        &self,
        run_id: &str,
        path: &str,
    ) -> Result<Option<GeneratedFile>, StoreError> {
        let row = sqlx::query(
            "SELECT path, language, task_id, content FROM files WHERE run_id = $1 AND path = $2",
        )
        .bind(run_id)
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn all_files(&self, run_id: &str) -> Result<Vec<GeneratedFile>, StoreError> {
        let rows = sqlx::query(
            "SELECT path, language, task_id, content FROM files WHERE run_id = $1 ORDER BY path",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn add_modification(
        &self,
        run_id: &str,
        modification: &Modification,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO modifications (id, run_id, task_id, ts, body) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&modification.id)
        .bind(run_id)
        .bind(&modification.task_id)
        .bind(&modification.timestamp)
        .bind(serde_json::to_string(modification)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_modifications(&self, run_id: &str) -> Result<Vec<Modification>, StoreError> {
        let rows = sqlx::query("SELECT body FROM modifications WHERE run_id = $1 ORDER BY ts, id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body")?;
                Ok(serde_json::from_str(&body)?)
            })
            .collect()
    }

    async fn unfinished_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at, ord"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn active_run_of_project(&self, project_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM runs WHERE project_id = $1 AND status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at DESC, ord DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn recent_run_durations(&self, limit: u32) -> Result<Vec<f64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXTRACT(EPOCH FROM (finished_at::TIMESTAMPTZ - started_at::TIMESTAMPTZ))::FLOAT8 FROM runs
             WHERE status = 'completed' AND started_at IS NOT NULL AND finished_at IS NOT NULL
             ORDER BY finished_at DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}
