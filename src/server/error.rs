//! The API's error type: every failure becomes the contract's body
//! `{"error": {"code", "message", "retryable"}}` with a fitting status. Internal details are
//! logged, never sent.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("not signed in: {0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    TooLarge { code: &'static str, message: String },
    #[error("{message}")]
    Rule {
        code: &'static str,
        message: String,
        retry_after: Option<u64>,
    },
    #[error("{message}")]
    RateLimited { message: String, retry_after: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    /// A refusal whose status and code the variants above do not fix (e.g. 401
    /// `invalid_credentials`, 403 `csrf_rejected`, 415-like 400 `unsupported_media_type`).
    #[error("{message}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
        /// Seconds; sent as `retryAfter` (and as `Retry-After` on a 429).
        retry_after: Option<u64>,
    },
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Rule { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Coded { status, .. } => *status,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Conflict { code, .. }
            | Self::TooLarge { code, .. }
            | Self::Rule { code, .. }
            | Self::Coded { code, .. } => code,
            Self::Unauthorized(_) => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Unavailable(_) | Self::Internal(_)
        ) || matches!(
            self,
            Self::Rule {
                retry_after: Some(_),
                ..
            } | Self::Coded {
                retry_after: Some(_),
                ..
            }
        )
    }

    fn public_message(&self) -> String {
        match self {
            Self::Unauthorized(m) => format!("Sign in first: {m}."),
            Self::NotFound(what) => format!("No {what} with that id exists, or it is not yours."),
            Self::Internal(_) => {
                "Something went wrong on our side. Try again; if it keeps failing, check the server log.".into()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(error) = &self {
            tracing::error!(error = %format!("{error:#}"), "internal error");
        }
        let status = self.status();
        let mut body = json!({"error": {
            "code": self.code(),
            "message": self.public_message(),
            "retryable": self.retryable(),
        }});
        let retry_after = match &self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_SECS),
            Self::Rule { retry_after, .. } | Self::Coded { retry_after, .. } => *retry_after,
            _ => None,
        };
        if let Some(secs) = retry_after {
            body["error"]["retryAfter"] = json!(secs);
        }
        let mut response = (status, axum::Json(body)).into_response();
        let says_when =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        if let (Some(secs), true) = (retry_after, says_when) {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// Seconds a client is told to wait when the database is unreachable.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// The message of a 503 while the database is unreachable.
pub const DATABASE_DOWN: &str =
    "The database is unreachable right now; nothing was changed. Try again in a few seconds.";

/// Whether a database error means "unreachable" (down, restarting, no connection to be had)
/// rather than a bug: such a request answers 503 with `Retry-After`, not 500.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            // SQLSTATE class 08 (connection exception), 57P01-57P03 (shutting down, cannot
            // connect now).
            c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if is_unreachable(&e) {
            tracing::warn!(error = %e, "database unreachable");
            return Self::Unavailable(DATABASE_DOWN.into());
        }
        Self::Internal(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_have_the_contract_shape() {
        let response = ApiError::RateLimited {
            message: "Too many requests; wait 7 s.".into(),
            retry_after: 7,
        }
        .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "7");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(body["error"]["code"], "rate_limited");
        assert_eq!(body["error"]["retryable"], true);
    }

    #[tokio::test]
    async fn internal_details_are_not_sent() {
        let response =
            ApiError::Internal(anyhow::anyhow!("disk /secret/path full")).into_response();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("/secret/path"), "{text}");
    }
}
