//! Runs, tasks, modifications and files in SQLite.

use super::SqliteStore;
use crate::server::store::runs::{FileMeta, RunRecord, RunRef, TaskRecord};
use crate::server::store::{RunStore, StoreError};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use youmeyou_core::model::{GeneratedFile, Modification, Task, TaskStatus};

const RUN_COLUMNS: &str = "id, project_id, owner_id, prompt, status, intent, path, path_reason, context, summary, error, last_seq, created_at, started_at, finished_at";

fn json_opt(row: &SqliteRow, column: &str) -> Result<Option<Value>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    Ok(match text {
        Some(t) => Some(serde_json::from_str(&t)?),
        None => None,
    })
}

fn run_from_row(row: &SqliteRow) -> Result<RunRecord, StoreError> {
    let last_seq: i64 = row.try_get("last_seq")?;
    Ok(RunRecord {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        owner_id: row.try_get("owner_id")?,
        prompt: row.try_get("prompt")?,
        status: row.try_get("status")?,
        intent: json_opt(row, "intent")?,
        path: row.try_get("path")?,
        path_reason: row.try_get("path_reason")?,
        context: json_opt(row, "context")?,
        summary: json_opt(row, "summary")?,
        error: row.try_get("error")?,
        last_seq: last_seq as u64,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn status_str(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "pending",
        TaskStatus::Running => "running",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
        TaskStatus::Cancelled => "cancelled",
        TaskStatus::Regenerating => "regenerating",
    }
}

fn parse_status(s: &str) -> Result<TaskStatus, StoreError> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("unknown task status {s}")))
}

fn file_from_row(row: &SqliteRow) -> Result<GeneratedFile, StoreError> {
    Ok(GeneratedFile {
        path: row.try_get("path")?,
        language: row.try_get("language")?,
        content: row.try_get("content")?,
        task_id: row.try_get("task_id")?,
    })
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn run_ref(&self, run_id: &str) -> Result<Option<RunRef>, StoreError> {
        let row = sqlx::query("SELECT id, project_id, owner_id, status FROM runs WHERE id = ?")
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
            sqlx::query_scalar("SELECT owner_id FROM projects WHERE id = ?")
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn create_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
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
        let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"))
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
        sqlx::query(
            "UPDATE runs SET status = ?, started_at = COALESCE(?, started_at), finished_at = COALESCE(?, finished_at), error = COALESCE(?, error) WHERE id = ?",
        )
        .bind(status)
        .bind(started_at)
        .bind(finished_at)
        .bind(error)
        .bind(run_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_run_analysis(
        &self,
        run_id: &str,
        intent: &Value,
        context: &Value,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET intent = ?, context = ? WHERE id = ?")
            .bind(serde_json::to_string(intent)?)
            .bind(serde_json::to_string(context)?)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_plan(
        &self,
        run_id: &str,
        tasks: &[Task],
        path: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM tasks WHERE run_id = ?")
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        for (position, task) in tasks.iter().enumerate() {
            sqlx::query(
                "INSERT INTO tasks (run_id, id, position, spec, status, modification_count, attempts) VALUES (?, ?, ?, ?, ?, 0, 0)",
            )
            .bind(run_id)
            .bind(&task.id)
            .bind(position as i64)
            .bind(serde_json::to_string(task)?)
            .bind(status_str(task.status))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE runs SET path = ?, path_reason = ? WHERE id = ?")
            .bind(path)
            .bind(reason)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_task(&self, run_id: &str, record: &TaskRecord) -> Result<(), StoreError> {
        let output = record
            .output
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        sqlx::query(
            "UPDATE tasks SET spec = ?, status = ?, started_at = ?, finished_at = ?, modification_count = ?, attempts = ?, output = ?, error = ? WHERE run_id = ? AND id = ?",
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn load_tasks(&self, run_id: &str) -> Result<Vec<TaskRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT position, spec, status, started_at, finished_at, modification_count, attempts, output, error FROM tasks WHERE run_id = ? ORDER BY position",
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
        sqlx::query("UPDATE runs SET summary = ? WHERE id = ?")
            .bind(serde_json::to_string(summary)?)
            .bind(run_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn save_files(&self, run_id: &str, files: &[GeneratedFile]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for file in files {
            sqlx::query(
                "INSERT INTO files (run_id, path, language, task_id, content, bytes) VALUES (?, ?, ?, ?, ?, ?)
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
            "SELECT path, language, bytes, task_id FROM files WHERE run_id = ? ORDER BY path",
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
            "SELECT path, language, task_id, content FROM files WHERE run_id = ? AND path = ?",
        )
        .bind(run_id)
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn all_files(&self, run_id: &str) -> Result<Vec<GeneratedFile>, StoreError> {
        let rows = sqlx::query(
            "SELECT path, language, task_id, content FROM files WHERE run_id = ? ORDER BY path",
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
            "INSERT INTO modifications (id, run_id, task_id, ts, body) VALUES (?, ?, ?, ?, ?)",
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
        let rows = sqlx::query("SELECT body FROM modifications WHERE run_id = ? ORDER BY ts, id")
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
            "SELECT {RUN_COLUMNS} FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn active_run_of_project(&self, project_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM runs WHERE project_id = ? AND status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn recent_run_durations(&self, limit: u32) -> Result<Vec<f64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT (julianday(finished_at) - julianday(started_at)) * 86400.0 FROM runs
             WHERE status = 'completed' AND started_at IS NOT NULL AND finished_at IS NOT NULL
             ORDER BY finished_at DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}
