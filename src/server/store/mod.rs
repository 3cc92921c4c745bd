//! Persistence behind traits, so that the embedded SQLite store and a PostgreSQL store (for the
//! multi-instance mode) are interchangeable. One trait per area (users, projects, runs, events);
//! `Store` is all of them. Handlers and the orchestrator only see `dyn Store`.

pub mod codec;
pub mod commands;
pub mod error;
pub mod events;
pub mod group;
pub mod lease;
pub mod migrate;
pub mod postgres;
pub mod projects;
pub mod runs;
pub mod sqlite;
pub mod users;

use async_trait::async_trait;
pub use commands::CommandStore;
pub use error::StoreError;
pub use events::{EventStore, RunEnd, RunHead};
pub use lease::LeaseStore;
pub use projects::ProjectStore;
pub use runs::RunStore;
pub use users::UserStore;

#[async_trait]
pub trait Store:
    UserStore + ProjectStore + RunStore + EventStore + LeaseStore + CommandStore + Send + Sync + 'static
{
    /// The backend's name for logs, `/ready` and metrics (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
    /// Whether several instances may share this store (only then do leases expire into
    /// takeovers; the embedded store's one instance takes every unfinished run at start).
    fn shared(&self) -> bool;
    /// Answers when the database does; `GET /ready` uses it.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Waits for in-flight writes and closes connections.
    async fn close(&self);
}
