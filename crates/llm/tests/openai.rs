//! The OpenAI-compatible client against a real local server speaking Chat Completions SSE:
//! assembly of streamed answers, timeouts, retries, error classification and the breaker.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use youmeyou_llm::{
    BreakerConfig, BreakerState, CompletionRequest, FinishReason, LlmError, OpenAiProvider,
    Provider, ProviderKind, ResilientProvider, Role, TimeoutPhase, Usage,
};

fn openai(server: &FakeProvider) -> youmeyou_llm::LlmConfig {
    config(ProviderKind::OpenAi, &server.url("/v1"))
}

fn resilient(config: &youmeyou_llm::LlmConfig) -> ResilientProvider {
    let wire = Arc::new(OpenAiProvider::new(config).unwrap());
    ResilientProvider::new(wire, config.retry, config.breaker).with_rng_seed(7)
}

fn plan_request() -> CompletionRequest {
    CompletionRequest::new(Role::Planner, "You plan.", "Build a shop").json(true)
}

/// Asserts what every request to an OpenAI-compatible server must carry.
fn assert_openai_request(got: &Received, model: &str, json: bool) {
    assert_eq!(got.path, "/v1/chat/completions");
    assert_eq!(
        got.header("authorization"),
        Some(format!("Bearer {KEY}").as_str()),
        "bearer key sent"
    );
    assert_eq!(got.body["model"], model);
    assert_eq!(got.body["stream"], true);
    assert_eq!(got.body["stream_options"]["include_usage"], true);
    if json {
        assert_eq!(got.body["response_format"]["type"], "json_object");
    } else {
        assert!(got.body.get("response_format").is_none());
    }
}

/// Every request the server saw was well formed, and the key never reached the logs.
fn assert_wire(server: &FakeProvider, logs: &Logs, model: &str, json: bool) {
    let received = server.received();
    assert!(!received.is_empty(), "the server saw no request");
    for got in &received {
        assert_openai_request(got, model, json);
    }
    let logs = logs.text();
    assert!(!logs.contains(KEY), "the key leaked into the logs: {logs}");
}

#[tokio::test]
async fn streamed_answer_is_assembled_with_usage() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![Reply::stream(openai_answer(
        &["{\"tasks\"", ": []", "}"],
        42,
        7,
    ))])
    .await;
    let provider = resilient(&openai(&server));
    let mut seen = Seen::default();
    let completion = provider
        .complete(&plan_request(), &mut seen.sink())
        .await
        .unwrap();

    assert_eq!(completion.text, "{\"tasks\": []}");
    assert_eq!(
        seen.deltas,
        vec!["{\"tasks\"", ": []", "}"],
        "deltas in order"
    );
    assert_eq!(
        completion.usage,
        Usage {
            input_tokens: 42,
            output_tokens: 7,
            estimated: false
        }
    );
    assert_eq!(completion.model, "gpt-test-2024", "the model that answered");
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    assert_eq!(provider.breaker_state(), BreakerState::Closed);

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_openai_request(&received[0], "model-planner", true);
    assert_eq!(received[0].body["messages"][0]["role"], "system");
    assert_eq!(received[0].body["messages"][1]["content"], "Build a shop");
    let text = logs.text();
    assert!(text.contains("LLM request"), "requests are logged: {text}");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn usage_is_estimated_when_the_server_reports_none() {
    let (logs, _guard) = capture_logs();
    // Older llama.cpp/Ollama builds ignore `stream_options`.
    let server = FakeProvider::start(vec![Reply::stream(vec![
        openai_chunk("12345678"),
        openai_finish("stop"),
        OPENAI_DONE.to_owned(),
    ])])
    .await;
    let provider = resilient(&openai(&server));
    let request = CompletionRequest::new(Role::Code, "abcd", "efgh");
    let completion = provider.complete(&request, &mut |_| {}).await.unwrap();
    assert_eq!(
        completion.usage,
        Usage {
            input_tokens: 2,
            output_tokens: 2,
            estimated: true
        }
    );
    assert_openai_request(&server.received()[0], "model-code", false);
    assert_wire(&server, &logs, "model-code", false);
}

#[tokio::test]
async fn slow_stream_within_the_idle_timeout_succeeds() {
    let (logs, _guard) = capture_logs();
    let chunks: Vec<(Duration, String)> = openai_answer(&["a", "b", "c", "d"], 5, 4)
        .into_iter()
        .map(|c| (Duration::from_millis(150), c))
        .collect();
    let server = FakeProvider::start(vec![Reply::Stream {
        chunks,
        end: End::Clean,
    }])
    .await;
    let mut config = openai(&server);
    config.idle_timeout = Duration::from_millis(500);
    let provider = resilient(&config);
    let started = Instant::now();
    let completion = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(completion.text, "abcd");
    assert!(
        started.elapsed() >= Duration::from_millis(7 * 150),
        "the whole slow stream was read"
    );
    assert_eq!(server.hits(), 1, "no retry needed");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::Status {
            status: 429,
            headers: vec![("retry-after", "1".into())],
            body: r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#.into(),
        },
        Reply::stream(openai_answer(&["ok"], 1, 1)),
    ])
    .await;
    let provider = resilient(&openai(&server));
    let mut seen = Seen::default();
    let completion = provider
        .complete(&plan_request(), &mut seen.sink())
        .await
        .unwrap();
    assert_eq!(completion.text, "ok");

    let received = server.received();
    assert_eq!(received.len(), 2);
    let waited = received[1].at - received[0].at;
    assert!(
        waited >= Duration::from_secs(1),
        "expected the retry at least 1 s (Retry-After) later, came after {waited:?}"
    );
    assert_eq!(seen.retries.len(), 1);
    assert_eq!(seen.retries[0].0, "rate_limited");
    assert!(seen.retries[0].1 >= Duration::from_secs(1));
    for got in &received {
        assert_openai_request(got, "model-planner", true);
    }
    let text = logs.text();
    assert!(text.contains("rate_limited"), "the retry is logged: {text}");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn server_error_is_retried_then_succeeds() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::status(500, r#"{"error":{"message":"internal"}}"#),
        Reply::status(503, "<html>upstream down</html>"),
        Reply::stream(openai_answer(&["fine"], 3, 1)),
    ])
    .await;
    let provider = resilient(&openai(&server));
    let mut seen = Seen::default();
    let completion = provider
        .complete(&plan_request(), &mut seen.sink())
        .await
        .unwrap();
    assert_eq!(completion.text, "fine");
    assert_eq!(server.hits(), 3);
    let codes: Vec<_> = seen.retries.iter().map(|r| r.0).collect();
    assert_eq!(codes, vec!["provider_unavailable", "provider_unavailable"]);
    assert!(
        seen.retries
            .iter()
            .all(|r| r.1 <= Duration::from_millis(20)),
        "backoff stays under the configured cap: {:?}",
        seen.retries
    );
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::status(500, "a"),
        Reply::status(500, "b"),
        Reply::status(500, "c"),
        Reply::status(500, "d"),
        Reply::stream(openai_answer(&["never"], 1, 1)),
    ])
    .await;
    let mut config = openai(&server);
    config.breaker.failure_threshold = 100;
    let err = resilient(&config)
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "provider_unavailable");
    assert_eq!(server.hits(), 4, "1 attempt + 3 retries");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn cut_stream_is_a_retryable_truncation_then_succeeds() {
    let (logs, _guard) = capture_logs();
    let cut = || Reply::Stream {
        chunks: vec![
            (Duration::ZERO, openai_chunk("half an ")),
            (Duration::from_millis(20), openai_chunk("answ")),
        ],
        end: End::Abort,
    };
    let server = FakeProvider::start(vec![
        cut(),
        cut(),
        Reply::stream(openai_answer(&["whole"], 2, 1)),
    ])
    .await;
    let config = openai(&server);

    // The bare client reports the cut as a retryable truncation.
    let bare = OpenAiProvider::new(&config).unwrap();
    let err = bare
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Truncated { .. }),
        "expected stream_truncated, got {err:?}"
    );
    assert!(err.retryable());
    assert_eq!(err.code(), "stream_truncated");
    assert!(
        !err.to_string().contains("without [DONE]"),
        "the torn connection is reported as such, not as a clean end: {err}"
    );

    // The retrying client recovers, and progress restarts with the new attempt.
    let provider = resilient(&config);
    let mut reports = Vec::new();
    let completion =
        youmeyou_llm::complete_with_progress(&provider, &plan_request(), 1_000_000_000, |p| {
            reports.push((p.text.to_owned(), p.done))
        })
        .await
        .unwrap();
    assert_eq!(completion.text, "whole");
    assert_eq!(server.hits(), 3);
    assert_eq!(reports.last(), Some(&("whole".to_owned(), true)));
    assert!(
        reports.iter().any(|(text, _)| text.is_empty()),
        "the retry cleared the half answer: {reports:?}"
    );
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn stream_closed_cleanly_without_done_is_truncated() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![Reply::stream(vec![openai_chunk("partial")])]).await;
    let bare = OpenAiProvider::new(&openai(&server)).unwrap();
    let err = bare
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stream_truncated", "{err:?}");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn a_hung_connection_hits_the_idle_timeout() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![Reply::Hang]).await;
    let mut config = openai(&server);
    config.idle_timeout = Duration::from_millis(300);
    let bare = OpenAiProvider::new(&config).unwrap();
    let err = bare
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: TimeoutPhase::FirstByte
            }
        ),
        "{err:?}"
    );
    assert!(err.retryable());
    // The server never answers: only the idle timeout can have ended the call, and the
    // error's kind says it was that one (no clock is read).
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn a_stream_that_never_ends_hits_the_request_timeout() {
    let (logs, _guard) = capture_logs();
    let trickle: Vec<(Duration, String)> = (0..100)
        .map(|_| (Duration::from_millis(50), openai_chunk("x")))
        .collect();
    let server = FakeProvider::start(vec![Reply::Stream {
        chunks: trickle,
        end: End::Clean,
    }])
    .await;
    let mut config = openai(&server);
    config.request_timeout = Duration::from_millis(400);
    let bare = OpenAiProvider::new(&config).unwrap();
    let err = bare
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    // The trickle would end cleanly after 5 s; the error's kind shows the request timeout
    // cut it (no clock is read).
    assert!(
        matches!(
            err,
            LlmError::Timeout {
                phase: TimeoutPhase::Request
            }
        ),
        "{err:?}"
    );
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn unauthorized_is_fatal_and_not_retried() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::status(
            401,
            format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#),
        ),
        Reply::stream(openai_answer(&["never"], 1, 1)),
    ])
    .await;
    let provider = resilient(&openai(&server));
    let err = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    assert!(!err.retryable());
    assert!(err.suggested_action().contains("YOUMEYOU_LLM_API_KEY"));
    assert_eq!(server.hits(), 1, "a bad key is not retried");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY), "the echoed key is scrubbed: {shown}");
    assert!(shown.contains("Incorrect API key provided: ***"));
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn unknown_model_and_long_prompt_are_fatal() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::status(404, r#"{"error":{"message":"The model `nope` does not exist","code":"model_not_found"}}"#),
        Reply::status(400, r#"{"error":{"message":"This model's maximum context length is 128000 tokens.","code":"context_length_exceeded"}}"#),
    ])
    .await;
    let provider = resilient(&openai(&server));
    let first = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        (first.code(), first.retryable()),
        ("model_not_found", false)
    );
    let second = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        (second.code(), second.retryable()),
        ("context_too_long", false)
    );
    assert_eq!(server.hits(), 2, "neither is retried");
    assert_eq!(
        provider.breaker_state(),
        BreakerState::Closed,
        "request problems do not count against the provider"
    );
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    // Take a free port, then close it so nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = config(ProviderKind::OpenAi, &format!("http://{addr}/v1"));
    let err = OpenAiProvider::new(&config)
        .unwrap()
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "connection_failed", "{err:?}");
    assert!(err.retryable());
}

#[tokio::test]
async fn circuit_opens_after_repeated_failures_then_a_probe_closes_it() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::status(500, "1"),
        Reply::status(502, "2"),
        Reply::status(503, "3"),
        Reply::stream(openai_answer(&["probe ok"], 1, 2)),
        Reply::stream(openai_answer(&["normal"], 1, 1)),
    ])
    .await;
    let mut config = openai(&server);
    config.retry.max_retries = 0;
    config.breaker = BreakerConfig {
        failure_threshold: 3,
        window: Duration::from_secs(60),
        cooldown: Duration::from_secs(30),
    };
    // A clock we move by hand, so the 30 s cool-down passes instantly.
    let offset = Arc::new(AtomicU64::new(0));
    let base = Instant::now();
    let clock_offset = offset.clone();
    let provider = resilient(&config).with_clock(Arc::new(move || {
        base + Duration::from_secs(clock_offset.load(Ordering::SeqCst))
    }));

    for _ in 0..3 {
        let err = provider
            .complete(&plan_request(), &mut |_| {})
            .await
            .unwrap_err();
        assert_eq!(err.code(), "provider_unavailable");
    }
    let refused = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, LlmError::CircuitOpen { provider, retry_after_secs: 30 } if provider == "openai"),
        "{refused:?}"
    );
    assert!(!refused.retryable());
    assert_eq!(server.hits(), 3, "an open circuit sends nothing");

    offset.store(31, Ordering::SeqCst);
    let probe = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(probe.text, "probe ok");
    assert_eq!(provider.breaker_state(), BreakerState::Closed);
    let next = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(next.text, "normal");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn progress_is_throttled_and_the_final_text_always_arrives() {
    let (logs, _guard) = capture_logs();
    let pieces: Vec<String> = (0..40).map(|i| format!("t{i} ")).collect();
    let piece_refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let chunks: Vec<(Duration, String)> = openai_answer(&piece_refs, 5, 40)
        .into_iter()
        .map(|c| (Duration::from_millis(5), c))
        .collect();
    let server = FakeProvider::start(vec![Reply::Stream {
        chunks,
        end: End::Clean,
    }])
    .await;
    let provider = resilient(&openai(&server));
    let started = Instant::now();
    let mut reports = Vec::new();
    let completion = youmeyou_llm::complete_with_progress(&provider, &plan_request(), 10, |p| {
        reports.push((Instant::now(), p.text.len(), p.done))
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    let allowed = (elapsed.as_millis() / 100) as usize + 2;
    assert!(
        reports.len() <= allowed,
        "{} reports in {elapsed:?}, expected at most {allowed}",
        reports.len()
    );
    let throttled: Vec<_> = reports.iter().filter(|r| !r.2).collect();
    for pair in throttled.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= Duration::from_millis(95),
            "reports 100 ms apart"
        );
    }
    let last = reports.last().unwrap();
    assert!(last.2, "the last report is the final one");
    assert_eq!(last.1, completion.text.len());
    assert_wire(&server, &logs, "model-planner", true);
}

/// Issue 21 item 6 over the wire: a key echoed across the 500-character cut of the message,
/// and a secret the application registered (a JWT secret) in the same body, never reach the
/// error or the logs.
#[tokio::test]
async fn a_key_across_the_message_cut_is_scrubbed_over_the_wire() {
    let (logs, _guard) = capture_logs();
    let jwt = "jwt-signing-secret-0123456789abcdef-0123456789";
    // The key starts 12 characters before the cut.
    let head = format!("signed with {jwt}: ");
    let message = format!("{head}{}{KEY}", "z".repeat(500 - 12 - head.len()));
    let server = FakeProvider::start(vec![Reply::status(
        401,
        serde_json::json!({"error": {"message": message, "code": "invalid_api_key"}}).to_string(),
    )])
    .await;
    let redactor = Arc::new(youmeyou_llm::Redactor::with_secrets([jwt]));
    let provider = youmeyou_llm::build_provider_with(&openai(&server), redactor.clone())
        .unwrap()
        .unwrap();
    let err = provider
        .complete(&plan_request(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(&KEY[..6]), "no prefix of the key: {shown}");
    assert!(
        !shown.contains(&jwt[..6]),
        "no part of the JWT secret: {shown}"
    );
    assert!(shown.contains("***"), "{shown}");
    assert_eq!(
        redactor.redact(KEY),
        "***",
        "the provider registered its key with the shared redactor"
    );
    assert!(!logs.text().contains(&KEY[..6]), "{}", logs.text());
}
