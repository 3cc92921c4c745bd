//! Projects and their canvas (with a version history).

use async_trait::async_trait;

#[async_trait]
pub trait ProjectStore: Send + Sync {}
