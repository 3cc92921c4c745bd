//! Accounts in PostgreSQL. A unique index on `lower(email)` decides whether an email is taken.

use super::PgStore;
use crate::server::limits::Tier;
use crate::server::store::{users::UserRecord, StoreError, UserStore};
use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;

const COLUMNS: &str = "id, email, password_hash, tier, created_at";

fn user_from_row(row: &PgRow) -> Result<UserRecord, StoreError> {
    let tier: String = row.try_get("tier")?;
    Ok(UserRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        tier: tier
            .parse::<Tier>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: row.try_get("created_at")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl UserStore for PgStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.tier.as_str())
        .bind(&user.created_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
                "that email is already registered".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE lower(email) = lower($1)"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users ORDER BY created_at, email"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_tier(&self, email: &str, tier: Tier) -> Result<Option<UserRecord>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE users SET tier = $1 WHERE lower(email) = lower($2) RETURNING {COLUMNS}"
        ))
        .bind(tier.as_str())
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn runs_started_on_or_after(&self, owner_id: &str, day: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE owner_id = $1 AND substr(created_at, 1, 10) >= $2",
        )
        .bind(owner_id)
        .bind(day)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn revoke_session(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO revoked_sessions (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM revoked_sessions WHERE expires_at < $1")
            .bind(chrono::Utc::now().timestamp() - 3600)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn is_session_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM revoked_sessions WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}
