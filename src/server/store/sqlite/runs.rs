//! Runs in SQLite.

use super::SqliteStore;
use crate::server::store::{runs::RunRef, RunStore, StoreError};
use async_trait::async_trait;
use sqlx::Row;

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
}
