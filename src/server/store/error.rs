//! What a store call can fail with, independent of the database behind it.

use crate::server::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness or version conflict; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// Stored data that no longer parses (a bug or a manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A fenced write of a run whose lease this instance no longer holds: another instance
    /// took the run, and this one must stop working on it.
    #[error("the lease of run {0} was lost to another instance")]
    LeaseLost(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Conflict(message) => ApiError::Conflict {
                code: "conflict",
                message,
            },
            StoreError::Db(e) => ApiError::from(e),
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}
