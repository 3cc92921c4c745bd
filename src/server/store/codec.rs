//! How domain values are spelled in the database, the same for every backend.

use super::StoreError;
use serde_json::Value;
use youmeyou_core::model::{EventType, TaskStatus};

pub fn parse_kind(s: &str) -> Result<EventType, StoreError> {
    EventType::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown event type {s}")))
}

pub fn status_str(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "pending",
        TaskStatus::Running => "running",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
        TaskStatus::Cancelled => "cancelled",
        TaskStatus::Regenerating => "regenerating",
    }
}

pub fn parse_status(s: &str) -> Result<TaskStatus, StoreError> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| StoreError::Corrupt(format!("unknown task status {s}")))
}

pub fn json_text(text: Option<String>) -> Result<Option<Value>, StoreError> {
    Ok(match text {
        Some(t) => Some(serde_json::from_str(&t)?),
        None => None,
    })
}

pub fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Now, as every stored timestamp is spelled (RFC 3339, milliseconds, `Z`).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Run statuses that are not final.
pub const ACTIVE_RUN_STATUSES: &str = "('queued', 'analyzing', 'planning', 'running')";
