//! Owner commands in PostgreSQL: `FOR UPDATE SKIP LOCKED` hands each pending command to one
//! taker.

use super::PgStore;
use crate::server::store::commands::{CommandStore, StoredCommand};
use crate::server::store::StoreError;
use async_trait::async_trait;
use sqlx::Row;

#[async_trait]
impl CommandStore for PgStore {
    async fn enqueue_command(&self, command: &StoredCommand, at: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO run_commands (id, run_id, body, status, created_at) VALUES ($1, $2, $3, 'pending', $4)",
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
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "WITH c AS (SELECT id FROM run_commands WHERE status = 'pending' AND run_id = ANY($1)
                        ORDER BY created_at, id FOR UPDATE SKIP LOCKED)
             UPDATE run_commands SET status = 'taken', taken_by = $2 FROM c WHERE run_commands.id = c.id
             RETURNING run_commands.id, run_commands.run_id, run_commands.body, run_commands.created_at",
        )
        .bind(run_ids)
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        let mut taken = rows
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
        taken.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(taken.into_iter().map(|(_, c)| c).collect())
    }

    async fn finish_command(&self, id: &str, result: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE run_commands SET status = 'done', result = $1 WHERE id = $2")
            .bind(result)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_command_result(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "DELETE FROM run_commands WHERE id = $1 AND status = 'done' RETURNING result",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .flatten())
    }

    async fn withdraw_command(&self, id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM run_commands WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}
