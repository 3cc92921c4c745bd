//! The Anthropic client against a real local server speaking the Messages SSE protocol
//! (`event:`/`data:` pairs): assembly and usage, rate limits, bad keys and cut streams.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::*;
use serde_json::json;
use youmeyou_llm::{
    AnthropicProvider, CompletionRequest, FinishReason, LlmConfig, LlmError, Provider,
    ProviderKind, ResilientProvider, Role, Usage,
};

fn anthropic(server: &FakeProvider) -> LlmConfig {
    config(ProviderKind::Anthropic, &server.url(""))
}

/// A retrying client whose sleeps are recorded and shortened to 1 ms.
fn resilient(config: &LlmConfig) -> (ResilientProvider, Arc<Mutex<Vec<Duration>>>) {
    let slept = Arc::new(Mutex::new(Vec::new()));
    let record = slept.clone();
    let wire = Arc::new(AnthropicProvider::new(config).unwrap());
    let provider = ResilientProvider::new(wire, config.retry, config.breaker)
        .with_rng_seed(3)
        .with_sleeper(Arc::new(move |d| {
            record.lock().unwrap().push(d);
            Box::pin(tokio::time::sleep(Duration::from_millis(1)))
        }));
    (provider, slept)
}

fn intent_request() -> CompletionRequest {
    CompletionRequest::new(Role::Intent, "Classify.", "Scale auth to 5000 RPS").json(true)
}

fn assert_anthropic_request(got: &Received, model: &str) {
    assert_eq!(got.path, "/v1/messages");
    assert_eq!(got.header("x-api-key"), Some(KEY));
    assert_eq!(got.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(
        got.header("authorization"),
        None,
        "Anthropic takes no bearer header"
    );
    assert_eq!(got.body["model"], model);
    assert_eq!(got.body["stream"], true);
    assert!(
        got.body["max_tokens"].as_u64().unwrap() > 0,
        "max_tokens is required"
    );
}

/// Every request the server saw was well formed, and the key never reached the logs.
fn assert_wire(server: &FakeProvider, logs: &Logs, model: &str) {
    let received = server.received();
    assert!(!received.is_empty(), "the server saw no request");
    for got in &received {
        assert_anthropic_request(got, model);
    }
    let logs = logs.text();
    assert!(!logs.contains(KEY), "the key leaked into the logs: {logs}");
}

#[tokio::test]
async fn streamed_answer_is_assembled_with_usage_from_start_and_delta() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![Reply::stream(anthropic_answer(
        &["{\"intent\":", " \"SCALE_COMPONENT\"}"],
        25,
        9,
    ))])
    .await;
    let (provider, _) = resilient(&anthropic(&server));
    let mut seen = Seen::default();
    let completion = provider
        .complete(&intent_request(), &mut seen.sink())
        .await
        .unwrap();
    assert_eq!(completion.text, "{\"intent\": \"SCALE_COMPONENT\"}");
    assert_eq!(seen.deltas.len(), 2);
    assert_eq!(
        completion.usage,
        Usage {
            input_tokens: 25,
            output_tokens: 9,
            estimated: false
        },
        "input from message_start, output from message_delta"
    );
    assert_eq!(completion.model, "claude-test-2025");
    assert_eq!(completion.finish_reason, FinishReason::Stop);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_anthropic_request(&received[0], "model-intent");
    let system = received[0].body["system"].as_str().unwrap();
    assert!(system.starts_with("Classify."));
    assert!(
        system.contains("single JSON object"),
        "JSON mode asked for: {system}"
    );
    assert_eq!(received[0].body["messages"][0]["role"], "user");
    assert_eq!(
        received[0].body["messages"][0]["content"],
        "Scale auth to 5000 RPS"
    );
    assert_wire(&server, &logs, "model-intent");
}

#[tokio::test]
async fn rate_limit_with_an_http_date_retry_after_is_honoured() {
    let (logs, _guard) = capture_logs();
    let retry_at = httpdate_in(3);
    let server = FakeProvider::start(vec![
        Reply::Status {
            status: 429,
            headers: vec![("retry-after", retry_at)],
            body: json!({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}).to_string(),
        },
        Reply::stream(anthropic_answer(&["ok"], 3, 1)),
    ])
    .await;
    let (provider, slept) = resilient(&anthropic(&server));
    let mut seen = Seen::default();
    let completion = provider
        .complete(&intent_request(), &mut seen.sink())
        .await
        .unwrap();
    assert_eq!(completion.text, "ok");
    assert_eq!(server.hits(), 2);
    let slept = slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 1);
    // HTTP dates have whole-second precision, so "3 s from now" reads as 2–3 s.
    assert!(
        slept[0] >= Duration::from_secs(2),
        "expected a wait of at least the Retry-After, got {slept:?}"
    );
    assert_eq!(seen.retries[0].0, "rate_limited");
    for got in server.received() {
        assert_anthropic_request(&got, "model-intent");
    }
    assert_wire(&server, &logs, "model-intent");
}

#[tokio::test]
async fn unauthorized_is_fatal_and_not_retried() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::status(
            401,
            json!({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}).to_string(),
        ),
        Reply::stream(anthropic_answer(&["never"], 1, 1)),
    ])
    .await;
    let (provider, slept) = resilient(&anthropic(&server));
    let err = provider
        .complete(&intent_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    assert!(!err.retryable());
    assert!(err.to_string().contains("invalid x-api-key"));
    assert!(err.suggested_action().contains("YOUMEYOU_LLM_API_KEY"));
    assert_eq!(server.hits(), 1);
    assert!(
        slept.lock().unwrap().is_empty(),
        "no backoff for a fatal error"
    );
    assert_anthropic_request(&server.received()[0], "model-intent");
    assert_wire(&server, &logs, "model-intent");
}

#[tokio::test]
async fn cut_stream_is_truncated_and_retried() {
    let (logs, _guard) = capture_logs();
    // First the body stops cleanly but without message_stop, then the connection is torn
    // down mid-stream; the third attempt is whole.
    let mut half = anthropic_start(10);
    half.push(anthropic_delta("half"));
    let server = FakeProvider::start(vec![
        Reply::stream(half.clone()),
        Reply::Stream {
            chunks: half.into_iter().map(|c| (Duration::ZERO, c)).collect(),
            end: End::Abort,
        },
        Reply::stream(anthropic_answer(&["whole"], 10, 2)),
    ])
    .await;
    let config = anthropic(&server);
    let bare = AnthropicProvider::new(&config).unwrap();
    let err = bare
        .complete(&intent_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Truncated { .. }), "{err:?}");
    assert!(err.retryable());

    let (provider, slept) = resilient(&config);
    let mut seen = Seen::default();
    let completion = provider
        .complete(&intent_request(), &mut seen.sink())
        .await
        .unwrap();
    assert_eq!(completion.text, "whole");
    assert_eq!(server.hits(), 3);
    assert_eq!(seen.retries.len(), 1);
    assert_eq!(seen.retries[0].0, "stream_truncated");
    assert_eq!(slept.lock().unwrap().len(), 1);
    assert_wire(&server, &logs, "model-intent");
}

#[tokio::test]
async fn overloaded_error_event_mid_stream_is_retried() {
    let (logs, _guard) = capture_logs();
    let mut overloaded = anthropic_start(4);
    overloaded.push(anthropic_event(
        "error",
        json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
    ));
    let server = FakeProvider::start(vec![
        Reply::stream(overloaded),
        Reply::stream(anthropic_answer(&["back"], 4, 1)),
    ])
    .await;
    let (provider, _) = resilient(&anthropic(&server));
    let mut seen = Seen::default();
    let completion = provider
        .complete(&intent_request(), &mut seen.sink())
        .await
        .unwrap();
    assert_eq!(completion.text, "back");
    assert_eq!(seen.retries[0].0, "provider_unavailable");
    assert_wire(&server, &logs, "model-intent");
}

#[tokio::test]
async fn prompt_too_long_is_fatal() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![Reply::status(
        400,
        json!({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}).to_string(),
    )])
    .await;
    let (provider, _) = resilient(&anthropic(&server));
    let err = provider
        .complete(&intent_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.retryable()), ("context_too_long", false));
    assert_eq!(server.hits(), 1);
    assert_wire(&server, &logs, "model-intent");
}

fn httpdate_in(secs: u64) -> String {
    let at = SystemTime::now() + Duration::from_secs(secs);
    // RFC 7231 IMF-fixdate, as servers send it.
    httpdate::fmt_http_date(at)
}
