//! Persistence behind traits, so that the embedded SQLite store and a PostgreSQL store (for the
//! multi-instance mode) are interchangeable. One trait per area (users, projects, runs, events);
//! `Store` is all of them. Handlers and the orchestrator only see `dyn Store`.

pub mod error;
pub mod events;
pub mod migrate;
pub mod projects;
pub mod runs;
pub mod sqlite;
pub mod users;

use async_trait::async_trait;
pub use error::StoreError;
pub use events::{EventStore, RunEnd};
pub use projects::ProjectStore;
pub use runs::RunStore;
pub use users::UserStore;

#[async_trait]
pub trait Store: UserStore + ProjectStore + RunStore + EventStore + Send + Sync + 'static {
    /// Answers when the database does; `GET /ready` uses it.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Waits for in-flight writes and closes connections.
    async fn close(&self);
}
