//! Accounts: users, their password hashes and tiers.

use async_trait::async_trait;

#[async_trait]
pub trait UserStore: Send + Sync {}
