//! Projects and canvas history in SQLite. Version checks are part of the UPDATE itself
//! (`WHERE canvas_version = ?`), so two writers can never both win, and the history row is
//! written in the same transaction.

use super::SqliteStore;
use crate::server::store::projects::{
    CanvasVersionInfo, LastRun, ProjectRecord, ProjectWrite, CANVAS_HISTORY,
};
use crate::server::store::{ProjectStore, StoreError};
use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use youmeyou_core::model::Canvas;

use crate::server::store::codec::{now, to_i64, to_u64, ACTIVE_RUN_STATUSES};

fn parse_canvas(text: &str, version: i64) -> Result<Canvas, StoreError> {
    let mut canvas: Canvas = serde_json::from_str(text)?;
    canvas.version = to_u64(version);
    Ok(canvas)
}

fn project_from_row(row: &SqliteRow) -> Result<ProjectRecord, StoreError> {
    let canvas: String = row.try_get("canvas")?;
    let version: i64 = row.try_get("canvas_version")?;
    Ok(ProjectRecord {
        id: row.try_get("id")?,
        owner_id: row.try_get("owner_id")?,
        name: row.try_get("name")?,
        canvas: parse_canvas(&canvas, version)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const PROJECT_COLUMNS: &str =
    "p.id, p.owner_id, p.name, p.canvas, p.canvas_version, p.created_at, p.updated_at";

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn create_project(
        &self,
        project: &ProjectRecord,
        max_per_owner: u32,
    ) -> Result<ProjectWrite, StoreError> {
        let canvas = serde_json::to_string(&Canvas {
            version: 0,
            ..project.canvas.clone()
        })?;
        let mut tx = self.pool.begin().await?;
        // The INSERT takes SQLite's write lock before it counts, so concurrent creations by
        // one owner cannot both slip under the limit.
        let inserted = sqlx::query(
            "INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at)
             SELECT ?, ?, ?, ?, 0, ?, ?
             WHERE (SELECT COUNT(*) FROM projects WHERE owner_id = ?) < ?",
        )
        .bind(&project.id)
        .bind(&project.owner_id)
        .bind(&project.name)
        .bind(&canvas)
        .bind(&project.created_at)
        .bind(&project.updated_at)
        .bind(&project.owner_id)
        .bind(i64::from(max_per_owner))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(ProjectWrite::LimitReached);
        }
        sqlx::query(
            "INSERT INTO canvas_versions (project_id, version, run_id, canvas, created_at) VALUES (?, 0, NULL, ?, ?)",
        )
        .bind(&project.id)
        .bind(&canvas)
        .bind(&project.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ProjectWrite::Done)
    }

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn list_projects(
        &self,
        owner_id: &str,
    ) -> Result<Vec<(ProjectRecord, Option<LastRun>)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS}, r.id AS run_id, r.status AS run_status, r.created_at AS run_created_at
             FROM projects p
             LEFT JOIN runs r ON r.rowid = (
                 SELECT r2.rowid FROM runs r2 WHERE r2.project_id = p.id
                 ORDER BY r2.created_at DESC, r2.rowid DESC LIMIT 1)
             WHERE p.owner_id = ?
             ORDER BY p.updated_at DESC, p.id"
        ))
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let project = project_from_row(row)?;
                let run_id: Option<String> = row.try_get("run_id")?;
                let last = match run_id {
                    Some(id) => Some(LastRun {
                        id,
                        status: row.try_get("run_status")?,
                        created_at: row.try_get("run_created_at")?,
                    }),
                    None => None,
                };
                Ok((project, last))
            })
            .collect()
    }

    async fn last_run(&self, project_id: &str) -> Result<Option<LastRun>, StoreError> {
        let row = sqlx::query(
            "SELECT id, status, created_at FROM runs WHERE project_id = ?
             ORDER BY created_at DESC, rowid DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(LastRun {
                id: r.try_get("id")?,
                status: r.try_get("status")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .transpose()
    }

    async fn rename_project(
        &self,
        id: &str,
        owner_id: &str,
        name: &str,
    ) -> Result<Option<ProjectRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE projects SET name = ?, updated_at = ? WHERE id = ? AND owner_id = ?
             RETURNING {}",
            PROJECT_COLUMNS.replace("p.", "")
        ))
        .bind(name)
        .bind(now())
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn delete_project(&self, id: &str, owner_id: &str) -> Result<ProjectWrite, StoreError> {
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(&format!(
            "DELETE FROM projects WHERE id = ? AND owner_id = ?
             AND NOT EXISTS (SELECT 1 FROM runs WHERE project_id = ? AND status IN {ACTIVE_RUN_STATUSES})"
        ))
        .bind(id)
        .bind(owner_id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let outcome = if deleted > 0 {
            ProjectWrite::Done
        } else {
            let owner: Option<String> =
                sqlx::query_scalar("SELECT owner_id FROM projects WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match owner {
                Some(o) if o == owner_id => ProjectWrite::RunActive,
                _ => ProjectWrite::NotFound,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn save_canvas(
        &self,
        project_id: &str,
        canvas: &Canvas,
        expected_version: Option<u64>,
        run_id: Option<&str>,
    ) -> Result<Canvas, StoreError> {
        let json = serde_json::to_string(canvas)?;
        let at = now();
        let expected = expected_version.map(to_i64);
        let mut tx = self.pool.begin().await?;
        // Writing first takes the write lock at once (no read-then-upgrade deadlock) and makes
        // the version check and the bump one step.
        let stored: Option<i64> = sqlx::query_scalar(
            "UPDATE projects SET canvas = ?, canvas_version = canvas_version + 1, updated_at = ?
             WHERE id = ? AND (? IS NULL OR canvas_version = ?)
             RETURNING canvas_version",
        )
        .bind(&json)
        .bind(&at)
        .bind(project_id)
        .bind(expected)
        .bind(expected)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(version) = stored else {
            let current: Option<i64> =
                sqlx::query_scalar("SELECT canvas_version FROM projects WHERE id = ?")
                    .bind(project_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return match current {
                None => Err(StoreError::NotFound("project")),
                Some(current) => Err(StoreError::Conflict(format!(
                    "the canvas is at version {current}, not {}; reload it and apply your change again",
                    expected.unwrap_or_default()
                ))),
            };
        };
        sqlx::query(
            "INSERT INTO canvas_versions (project_id, version, run_id, canvas, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(project_id)
        .bind(version)
        .bind(run_id)
        .bind(&json)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM canvas_versions WHERE project_id = ? AND version <= ?")
            .bind(project_id)
            .bind(version - to_i64(CANVAS_HISTORY))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Canvas {
            version: to_u64(version),
            ..canvas.clone()
        })
    }

    async fn storage_used(&self, owner_id: &str) -> Result<u64, StoreError> {
        let used: i64 = sqlx::query_scalar(
            "SELECT
               (SELECT COALESCE(SUM(LENGTH(CAST(cv.canvas AS BLOB))), 0) FROM canvas_versions cv
                  JOIN projects p ON p.id = cv.project_id WHERE p.owner_id = ?1)
             + (SELECT COALESCE(SUM(f.bytes), 0) FROM files f
                  JOIN runs r ON r.id = f.run_id WHERE r.owner_id = ?1)",
        )
        .bind(owner_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(used))
    }

    async fn prune_canvas_history(&self, owner_id: &str, bytes: u64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT cv.project_id, cv.version, LENGTH(CAST(cv.canvas AS BLOB)) AS n
               FROM canvas_versions cv JOIN projects p ON p.id = cv.project_id
              WHERE p.owner_id = ? AND cv.version < p.canvas_version
              ORDER BY cv.created_at, cv.version",
        )
        .bind(owner_id)
        .fetch_all(&mut *tx)
        .await?;
        let mut freed = 0u64;
        for row in rows {
            if freed >= bytes {
                break;
            }
            let project: String = row.try_get("project_id")?;
            let version: i64 = row.try_get("version")?;
            let n: i64 = row.try_get("n")?;
            sqlx::query("DELETE FROM canvas_versions WHERE project_id = ? AND version = ?")
                .bind(&project)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            freed += to_u64(n);
        }
        tx.commit().await?;
        Ok(freed)
    }

    async fn list_canvas_versions(
        &self,
        project_id: &str,
        limit: u32,
    ) -> Result<Vec<CanvasVersionInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, run_id, created_at FROM canvas_versions WHERE project_id = ?
             ORDER BY version DESC LIMIT ?",
        )
        .bind(project_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CanvasVersionInfo {
                    version: to_u64(r.try_get("version")?),
                    run_id: r.try_get("run_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn get_canvas_version(
        &self,
        project_id: &str,
        version: u64,
    ) -> Result<Option<(Canvas, CanvasVersionInfo)>, StoreError> {
        let row = sqlx::query(
            "SELECT version, run_id, canvas, created_at FROM canvas_versions
             WHERE project_id = ? AND version = ?",
        )
        .bind(project_id)
        .bind(to_i64(version))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let v: i64 = r.try_get("version")?;
            let text: String = r.try_get("canvas")?;
            Ok((
                parse_canvas(&text, v)?,
                CanvasVersionInfo {
                    version: to_u64(v),
                    run_id: r.try_get("run_id")?,
                    created_at: r.try_get("created_at")?,
                },
            ))
        })
        .transpose()
    }
}
