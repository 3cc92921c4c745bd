//! The one error type of the LLM layer and its classification: retryable ("soft") or fatal,
//! a stable snake_case `code()` and a `suggested_action()` for people. Turning HTTP statuses
//! and provider error bodies into these variants also lives here; nothing here does IO.

use std::time::{Duration, SystemTime};

use crate::config::ConfigError;
use crate::redact::Redactor;

/// Which wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// The TCP/TLS connection could not be made in time.
    Connect,
    /// The provider accepted the request but sent no response (headers or first event) in time.
    FirstByte,
    /// The stream had started and then went silent for longer than the idle timeout.
    Idle,
    /// The whole attempt took longer than the request timeout.
    Request,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "connecting",
            Self::FirstByte => "waiting for the first byte",
            Self::Idle => "waiting for the next chunk of the stream",
            Self::Request => "for the whole request",
        })
    }
}

/// Everything that can go wrong when asking a model.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LlmError {
    /// 429. `retry_after` is the provider's `Retry-After`, when it sent one.
    #[error("the provider is rate limiting us (HTTP 429): {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// 5xx (including Anthropic's 529 "overloaded") or an `error` event inside the stream
    /// that says the same.
    #[error("the provider failed (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("timed out {phase}")]
    Timeout { phase: TimeoutPhase },
    /// Connection refused or reset before the response started.
    #[error("could not reach the provider: {message}")]
    Connection { message: String },
    /// The stream ended (or the connection dropped) before the end-of-stream marker.
    #[error("the answer stream was cut before it finished: {message}")]
    Truncated { message: String },
    /// The answer did not pass parsing or validation; one reason per attempt.
    #[error("the model's answer was invalid: {}", reasons.join("; "))]
    InvalidOutput { reasons: Vec<String> },
    /// 401/403.
    #[error("the provider refused our credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// 404: the model (or the endpoint) does not exist.
    #[error("unknown model `{model}`: {message}")]
    ModelNotFound { model: String, message: String },
    #[error("the prompt is longer than the model's context window: {message}")]
    ContextTooLong { message: String },
    /// Any other 4xx: our request was wrong and sending it again will not help.
    #[error("the provider rejected the request (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    /// The response was not what the protocol promises (not SSE, unparseable event, ...).
    #[error("unexpected response from the provider: {message}")]
    Protocol { message: String },
    #[error("the run's LLM budget of ${limit_usd:.4} would be exceeded (spent ${spent_usd:.4}, this call needs up to ${needed_usd:.4})")]
    BudgetExceeded {
        limit_usd: f64,
        spent_usd: f64,
        needed_usd: f64,
    },
    /// The provider's circuit breaker is open after repeated failures.
    #[error(
        "calls to {provider} are paused after repeated failures; retry in {retry_after_secs} s"
    )]
    CircuitOpen {
        provider: String,
        retry_after_secs: u64,
    },
    /// The user's circuit breaker is open after repeated fatal failures.
    #[error("too many failed runs in a short time; retry in {retry_after_secs} s")]
    UserCircuitOpen { retry_after_secs: u64 },
    #[error("invalid LLM configuration: {0}")]
    Config(#[from] ConfigError),
}

impl LlmError {
    /// Soft errors: the same request may succeed later. Fatal errors need a person (a key, a
    /// model name, a shorter prompt, more budget) or time to pass (an open circuit).
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Connection { .. }
                | Self::Truncated { .. }
                | Self::InvalidOutput { .. }
        )
    }

    /// Stable machine-readable code, as in the contract's `{"error": {"code": ...}}`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "provider_unavailable",
            Self::Timeout { .. } => "timeout",
            Self::Connection { .. } => "connection_failed",
            Self::Truncated { .. } => "stream_truncated",
            Self::InvalidOutput { .. } => "invalid_output",
            Self::Auth { .. } => "auth_failed",
            Self::ModelNotFound { .. } => "model_not_found",
            Self::ContextTooLong { .. } => "context_too_long",
            Self::BadRequest { .. } => "bad_request",
            Self::Protocol { .. } => "protocol_error",
            Self::BudgetExceeded { .. } => "budget_exceeded",
            Self::CircuitOpen { .. } => "circuit_open",
            Self::UserCircuitOpen { .. } => "user_circuit_open",
            Self::Config(_) => "invalid_config",
        }
    }

    /// What a person (or the orchestrator) should do about it.
    pub fn suggested_action(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "Wait for the provider's Retry-After and try again, or lower the request rate.",
            Self::Server { .. } => "The provider is having trouble; retry shortly or switch to the built-in engine.",
            Self::Timeout { .. } => "Retry; if it keeps timing out raise YOUMEYOU_LLM_TIMEOUT_SECS or check the provider's status.",
            Self::Connection { .. } => "Check that YOUMEYOU_LLM_BASE_URL is reachable from this server, then retry.",
            Self::Truncated { .. } => "The connection dropped mid-answer; retry the request.",
            Self::InvalidOutput { .. } => "Retry, or fall back to the built-in engine for this step.",
            Self::Auth { .. } => "Check YOUMEYOU_LLM_API_KEY: it is missing, wrong or lacks access to this model.",
            Self::ModelNotFound { .. } => "Check YOUMEYOU_LLM_MODEL (and the per-role model settings) against the provider's model list.",
            Self::ContextTooLong { .. } => "Shorten the prompt or the canvas context, or choose a model with a larger context window.",
            Self::BadRequest { .. } => "The provider rejected the request as malformed; check the model and settings, then report it.",
            Self::Protocol { .. } => "Check that YOUMEYOU_LLM_BASE_URL points at a compatible API and YOUMEYOU_LLM_PROVIDER matches it.",
            Self::BudgetExceeded { .. } => "Raise YOUMEYOU_LLM_BUDGET_USD or simplify the request.",
            Self::CircuitOpen { .. } => "The provider failed repeatedly; wait for the cool-down or use the built-in engine.",
            Self::UserCircuitOpen { .. } => "Several runs failed in a row; wait before starting another one.",
            Self::Config(_) => "Fix the LLM settings (YOUMEYOU_LLM_*) and restart.",
        }
    }

    /// Whether this failure says something about the provider's health and so counts towards
    /// its circuit breaker. Problems with one request (a long prompt, a bad answer, our budget)
    /// do not: they would open the circuit for every other run.
    pub fn counts_against_provider(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Connection { .. }
                | Self::Truncated { .. }
                | Self::Auth { .. }
                | Self::Protocol { .. }
        )
    }

    /// `"soft"` or `"fatal"`, the severity names of the worker communication plan's error
    /// event.
    pub fn severity(&self) -> &'static str {
        if self.retryable() {
            "soft"
        } else {
            "fatal"
        }
    }

    /// The same error with every secret `redactor` knows scrubbed from its text. Providers
    /// apply it to every error they return, whatever built the message.
    pub fn redacted(self, redactor: &Redactor) -> Self {
        let r = |text: String| redactor.redact(&text);
        match self {
            Self::RateLimited {
                retry_after,
                message,
            } => Self::RateLimited {
                retry_after,
                message: r(message),
            },
            Self::Server { status, message } => Self::Server {
                status,
                message: r(message),
            },
            Self::Connection { message } => Self::Connection {
                message: r(message),
            },
            Self::Truncated { message } => Self::Truncated {
                message: r(message),
            },
            Self::InvalidOutput { reasons } => Self::InvalidOutput {
                reasons: reasons.into_iter().map(r).collect(),
            },
            Self::Auth { status, message } => Self::Auth {
                status,
                message: r(message),
            },
            Self::ModelNotFound { model, message } => Self::ModelNotFound {
                model: r(model),
                message: r(message),
            },
            Self::ContextTooLong { message } => Self::ContextTooLong {
                message: r(message),
            },
            Self::BadRequest { status, message } => Self::BadRequest {
                status,
                message: r(message),
            },
            Self::Protocol { message } => Self::Protocol {
                message: r(message),
            },
            Self::CircuitOpen {
                provider,
                retry_after_secs,
            } => Self::CircuitOpen {
                provider: r(provider),
                retry_after_secs,
            },
            other @ (Self::Timeout { .. }
            | Self::BudgetExceeded { .. }
            | Self::UserCircuitOpen { .. }
            | Self::Config(_)) => other,
        }
    }

    /// The provider's requested minimum wait, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whole seconds a client should wait before trying again, when known: for an HTTP
    /// `Retry-After` header or a `retryAfter` field.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after, .. } => retry_after.map(crate::breaker::ceil_secs),
            Self::CircuitOpen {
                retry_after_secs, ..
            }
            | Self::UserCircuitOpen { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Longest provider message we keep: error bodies can be whole HTML pages.
const MAX_MESSAGE_CHARS: usize = 500;

/// Classifies a non-success HTTP response. `body` is the (possibly partial) response body,
/// `retry_after` the raw `Retry-After` header. Every secret `redactor` knows is scrubbed from
/// the message before it is shortened, because some providers echo (part of) a wrong key back.
pub fn from_status(
    status: u16,
    body: &str,
    retry_after: Option<&str>,
    model: &str,
    redactor: &Redactor,
    now: SystemTime,
) -> LlmError {
    let message = provider_message(body, redactor);
    let lower = body.to_ascii_lowercase();
    match status {
        429 => LlmError::RateLimited {
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
            message,
        },
        401 | 403 => LlmError::Auth { status, message },
        404 => LlmError::ModelNotFound {
            model: model.to_owned(),
            message,
        },
        408 => LlmError::Timeout {
            phase: TimeoutPhase::Request,
        },
        400 | 413 | 422 if is_context_too_long(&lower) => LlmError::ContextTooLong { message },
        500..=599 => LlmError::Server { status, message },
        _ => LlmError::BadRequest { status, message },
    }
}

/// OpenAI says `context_length_exceeded` / "maximum context length"; Anthropic says
/// "prompt is too long"; vLLM and llama.cpp use variations of both.
pub(crate) fn is_context_too_long(lower_body: &str) -> bool {
    [
        "context_length_exceeded",
        "prompt is too long",
        "maximum context length",
        "context window",
        "too many tokens",
    ]
    .iter()
    .any(|needle| lower_body.contains(needle))
}

/// Pulls `error.message` (OpenAI, Anthropic) or `message` out of a JSON body; otherwise the
/// body itself; scrubbed of every secret, then shortened (in that order: cutting first could
/// split a key so that scrubbing misses it and its first characters stay visible).
pub(crate) fn provider_message(body: &str, redactor: &Redactor) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error"))
                .and_then(|m| m.as_str().map(str::to_owned))
        });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    if text.is_empty() {
        return "(no details)".to_owned();
    }
    redactor.redact_truncated(&text, MAX_MESSAGE_CHARS)
}

/// `text` cut to `max_chars` characters, marked with `…` when cut. Only for text that holds
/// no secret (the model's own answers); provider text goes through
/// [`Redactor::redact_truncated`].
pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `Retry-After` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the past
/// means "now". Garbage is ignored rather than trusted.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(86_400.0)));
        }
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("7", now),
            Some(Duration::from_secs(7)),
            "delay-seconds"
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn statuses_are_classified_soft_or_fatal() {
        let now = SystemTime::now();
        let cases: &[(u16, &str, &str, bool)] = &[
            (429, "{}", "rate_limited", true),
            (500, "oops", "provider_unavailable", true),
            (
                529,
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
                "provider_unavailable",
                true,
            ),
            (401, "{}", "auth_failed", false),
            (403, "{}", "auth_failed", false),
            (404, "{}", "model_not_found", false),
            (
                400,
                r#"{"error":{"code":"context_length_exceeded","message":"This model's maximum context length is 8192 tokens"}}"#,
                "context_too_long",
                false,
            ),
            (
                400,
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}"#,
                "context_too_long",
                false,
            ),
            (
                400,
                r#"{"error":{"message":"bad temperature"}}"#,
                "bad_request",
                false,
            ),
        ];
        for (status, body, code, retryable) in cases {
            let err = from_status(*status, body, None, "m", &Redactor::new(), now);
            assert_eq!(err.code(), *code, "HTTP {status} {body}");
            assert_eq!(err.retryable(), *retryable, "HTTP {status} retryable");
            assert!(!err.suggested_action().is_empty());
        }
    }

    #[test]
    fn messages_are_extracted_shortened_and_scrubbed() {
        let body = r#"{"error":{"message":"Incorrect API key provided: sk-secret-123"}}"#;
        let err = from_status(
            401,
            body,
            None,
            "m",
            &Redactor::with_secrets(["sk-secret-123"]),
            SystemTime::now(),
        );
        let shown = err.to_string();
        assert!(shown.contains("Incorrect API key provided: ***"), "{shown}");
        assert!(!shown.contains("sk-secret-123"));
        let long = "x".repeat(2000);
        assert!(provider_message(&long, &Redactor::new()).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }

    /// Issue 21 item 6: a key straddling the 500-character cut must not leak its first
    /// characters (the message used to be cut before the key was scrubbed).
    #[test]
    fn key_across_the_cut_does_not_leak_its_prefix() {
        let key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
        for json in [false, true] {
            // The key starts 15 characters before the cut.
            let text = format!(
                "{}{key} is not a valid key",
                "x".repeat(MAX_MESSAGE_CHARS - 15)
            );
            let body = if json {
                serde_json::json!({"error": {"message": text}}).to_string()
            } else {
                text
            };
            let redactor = Redactor::with_secrets([key]);
            let shown =
                from_status(401, &body, None, "m", &redactor, SystemTime::now()).to_string();
            assert!(!shown.contains(&key[..6]), "json={json}: {shown}");
            assert!(!shown.contains(&key[..15]), "json={json}: {shown}");
        }
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let err = from_status(429, "", Some("2"), "m", &Redactor::new(), SystemTime::now());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(err.retry_after_secs(), Some(2));
        assert_eq!(err.severity(), "soft");
        let open = LlmError::UserCircuitOpen {
            retry_after_secs: 42,
        };
        assert_eq!(open.retry_after_secs(), Some(42));
        assert_eq!(open.severity(), "fatal");
    }
}
