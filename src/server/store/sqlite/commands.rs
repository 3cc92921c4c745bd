//! Owner commands in SQLite (one instance executes its own; the table keeps both stores alike).

use super::SqliteStore;
use crate::server::store::commands::{CommandStore, StoredCommand};
use crate::server::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl CommandStore for SqliteStore {
    async fn enqueue_command(&self, command: &StoredCommand, at: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO run_commands (id, run_id, body, status, created_at) VALUES (?, ?, ?, 'pending', ?)",
        )
        .bind(&command.id)
        .bind(&command.run_id)
        .bind(&command.body)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_commands(
        &self,
        run_ids: &[String],
        instance: &str,
    ) -> Result<Vec<StoredCommand>, StoreError> {
        let mut taken = Vec::new();
        for run_id in run_ids {
            let rows = sqlx::query(
                "UPDATE run_commands SET status = 'taken', taken_by = ?1
                 WHERE run_id = ?2 AND status = 'pending' RETURNING id, run_id, body, created_at",
            )
            .bind(instance)
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
            let mut these = rows
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String, _>("created_at")?,
                        StoredCommand {
                            id: r.try_get("id")?,
                            run_id: r.try_get("run_id")?,
                            body: r.try_get("body")?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            these.sort_by(|a, b| a.0.cmp(&b.0));
            taken.extend(these.into_iter().map(|(_, c)| c));
        }
        Ok(taken)
    }

    async fn finish_command(&self, id: &str, result: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE run_commands SET status = 'done', result = ? WHERE id = ?")
            .bind(result)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_command_result(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "DELETE FROM run_commands WHERE id = ? AND status = 'done' RETURNING result",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    async fn withdraw_command(&self, id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM run_commands WHERE id = ? AND status = 'pending'")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}
