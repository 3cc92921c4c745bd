//! Persistence behind a trait, so that the embedded SQLite store and a PostgreSQL store (for the
//! multi-instance mode) are interchangeable. Handlers and the orchestrator only see `Store`.

pub mod migrate;
pub mod sqlite;

use async_trait::async_trait;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Answers when the database does; `GET /ready` uses it.
    async fn ping(&self) -> Result<(), sqlx::Error>;
    /// Waits for in-flight writes and closes connections.
    async fn close(&self);
}
