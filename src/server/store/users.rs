//! Accounts: users, their password hashes and tiers, plus the revoked-session list that makes
//! logout final. Emails are stored normalised (trimmed, lowercase); uniqueness is the database's.

use super::StoreError;
use crate::server::limits::Tier;
use async_trait::async_trait;

/// A user as stored. `password_hash` is a PHC string (argon2id); it never leaves the server.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub tier: Tier,
    pub created_at: String,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("tier", &self.tier)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts a user; `StoreError::Conflict` when the email is taken (case-insensitively).
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Every user, oldest first (admin CLI).
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Changes a user's tier; `None` when no user has that email.
    async fn set_tier(&self, email: &str, tier: Tier) -> Result<Option<UserRecord>, StoreError>;

    /// Runs of `owner_id` created on UTC day `day` (YYYY-MM-DD) or later: seeds the per-day
    /// quota after a restart.
    async fn runs_started_on_or_after(&self, owner_id: &str, day: &str) -> Result<u64, StoreError>;

    /// Records that the session `jti` is no longer valid (it expires at `expires_at`, unix
    /// seconds, after which the row may be purged). Purges expired rows on the way.
    async fn revoke_session(&self, jti: &str, expires_at: i64) -> Result<(), StoreError>;

    async fn is_session_revoked(&self, jti: &str) -> Result<bool, StoreError>;
}
