//! The HTTP edge shared by both wire protocols: building the client, sending a request,
//! turning a failed response into a classified `LlmError`, and reading Server-Sent Events
//! with first-byte and idle timeouts. Knows nothing about OpenAI or Anthropic payloads.

use std::error::Error as _;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use reqwest::Url;

use crate::config::LlmConfig;
use crate::error::{self, LlmError, TimeoutPhase};
use crate::redact::Redactor;

/// Longest error body we read: enough for any JSON error, bounded against HTML error pages.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

type EventResult = Result<Event, EventStreamError<reqwest::Error>>;

/// One client per provider: it pools connections, and its connect timeout is the only
/// timeout reqwest enforces; the others are ours, per phase.
pub(crate) fn build_client(config: &LlmConfig) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("youmeyou-llm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Protocol {
            message: format!("cannot build the HTTP client: {}", describe(&e)),
        })
}

/// `base` + `path`, keeping whatever path `base` has (`http://host/v1` → `http://host/v1/x`).
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, LlmError> {
    let joined = format!("{}/{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&joined).map_err(|e| LlmError::Protocol {
        message: format!("cannot build the endpoint URL: {e}"),
    })
}

/// What one attempt needs to know to classify failures.
pub(crate) struct Exchange<'a> {
    pub idle_timeout: Duration,
    pub model: &'a str,
    /// Every known secret, scrubbed from error messages before they are shortened.
    pub redactor: &'a Redactor,
}

/// A stream of SSE events with the idle timeout applied to every read.
pub(crate) struct SseStream {
    events: Pin<Box<dyn Stream<Item = EventResult> + Send>>,
    idle_timeout: Duration,
    started: bool,
}

impl SseStream {
    /// The next event; `Ok(None)` when the server closed the stream cleanly.
    pub async fn next(&mut self) -> Result<Option<Event>, LlmError> {
        let phase = if self.started {
            TimeoutPhase::Idle
        } else {
            TimeoutPhase::FirstByte
        };
        let item = tokio::time::timeout(self.idle_timeout, self.events.next())
            .await
            .map_err(|_| LlmError::Timeout { phase })?;
        self.started = true;
        match item {
            None => Ok(None),
            Some(Ok(event)) => Ok(Some(event)),
            // The body broke off (reset, unexpected EOF, bad chunking): the answer is cut.
            Some(Err(EventStreamError::Transport(e))) => Err(LlmError::Truncated {
                message: describe(&e),
            }),
            Some(Err(e)) => Err(LlmError::Protocol {
                message: format!("malformed event stream: {e}"),
            }),
        }
    }
}

/// Sends the request and, on a 2xx `text/event-stream`, returns its events; every other
/// outcome becomes the matching `LlmError`.
pub(crate) async fn open(
    request: reqwest::RequestBuilder,
    exchange: &Exchange<'_>,
) -> Result<SseStream, LlmError> {
    let response = tokio::time::timeout(exchange.idle_timeout, request.send())
        .await
        .map_err(|_| LlmError::Timeout {
            phase: TimeoutPhase::FirstByte,
        })?
        .map_err(|e| from_send_error(&e, exchange.redactor))?;

    let status = response.status();
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_error_body(response, exchange.idle_timeout).await;
        return Err(error::from_status(
            status.as_u16(),
            &body,
            retry_after.as_deref(),
            exchange.model,
            exchange.redactor,
            SystemTime::now(),
        ));
    }

    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    // Without this check a server that ignored `stream: true` and sent one JSON document
    // would look like an empty, truncated stream, and be retried for nothing.
    if !content_type.is_empty() && !content_type.contains("event-stream") {
        let body = read_error_body(response, exchange.idle_timeout).await;
        return Err(LlmError::Protocol {
            message: format!(
                "expected a text/event-stream answer, got `{content_type}`: {}",
                exchange.redactor.redact_truncated(&body, 200)
            ),
        });
    }

    Ok(SseStream {
        events: Box::pin(response.bytes_stream().eventsource()),
        idle_timeout: exchange.idle_timeout,
        started: false,
    })
}

/// Reads at most `MAX_ERROR_BODY_BYTES` of a body, giving up quietly on errors or silence:
/// the status code alone still classifies the failure.
async fn read_error_body(response: reqwest::Response, idle_timeout: Duration) -> String {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while body.len() < MAX_ERROR_BODY_BYTES {
        match tokio::time::timeout(idle_timeout, chunks.next()).await {
            Ok(Some(Ok(chunk))) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(MAX_ERROR_BODY_BYTES);
    String::from_utf8_lossy(&body).into_owned()
}

fn from_send_error(e: &reqwest::Error, redactor: &Redactor) -> LlmError {
    if e.is_timeout() {
        // The only timeout reqwest enforces for us is the connect timeout.
        return LlmError::Timeout {
            phase: TimeoutPhase::Connect,
        };
    }
    LlmError::Connection {
        message: redactor.redact(&describe(e)),
    }
}

/// The error and its causes on one line: reqwest's own message ("error sending request")
/// hides the useful part ("connection refused") in its source chain.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    // The URL in the message is safe to show: the configuration refuses credentials in it.
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
