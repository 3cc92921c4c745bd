//! A scripted fake provider: a real axum server on 127.0.0.1:0 that answers each request with
//! the next scripted reply (an SSE stream with per-chunk delays, an error status, a cut
//! connection or no answer at all) and records what it received. Plus log capture.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use futures::StreamExt;
use serde_json::{json, Value};
use youmeyou_llm::{LlmConfig, ProviderKind, Secret};

pub const KEY: &str = "sk-test-SECRET-9f8e7d";

/// How a scripted stream ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum End {
    /// The body finishes normally.
    Clean,
    /// The connection is torn down mid-body (no terminating chunk).
    Abort,
}

#[derive(Clone, Debug)]
pub enum Reply {
    /// `text/event-stream`; each chunk is sent after its delay.
    Stream {
        chunks: Vec<(Duration, String)>,
        end: End,
    },
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Accepts the request and never answers.
    Hang,
}

impl Reply {
    pub fn stream(chunks: Vec<String>) -> Self {
        Self::Stream {
            chunks: chunks.into_iter().map(|c| (Duration::ZERO, c)).collect(),
            end: End::Clean,
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Self {
        Self::Status {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone, Default)]
struct Script {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

pub struct FakeProvider {
    pub addr: SocketAddr,
    script: Script,
}

impl FakeProvider {
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
            received: Arc::default(),
        };
        let app = Router::new().fallback(answer).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.received.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.script.received.lock().unwrap().len()
    }

    pub fn push(&self, reply: Reply) {
        self.script.replies.lock().unwrap().push_back(reply);
    }
}

async fn answer(
    State(script): State<Script>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    script.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    });
    let reply = script.replies.lock().unwrap().pop_front();
    match reply {
        None => Response::builder()
            .status(500)
            .body(Body::from("no scripted reply left"))
            .unwrap(),
        Some(Reply::Hang) => std::future::pending().await,
        Some(Reply::Status {
            status,
            headers,
            body,
        }) => {
            let mut response = Response::builder()
                .status(StatusCode::from_u16(status).unwrap())
                .header("content-type", "application/json");
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response.body(Body::from(body)).unwrap()
        }
        Some(Reply::Stream { chunks, end }) => {
            let body = futures::stream::iter(chunks)
                .then(|(delay, chunk)| async move {
                    tokio::time::sleep(delay).await;
                    Ok::<_, io::Error>(Bytes::from(chunk))
                })
                .chain(futures::stream::iter((end == End::Abort).then(|| {
                    Err(io::Error::new(io::ErrorKind::ConnectionReset, "cut"))
                })));
            Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache")
                .body(Body::from_stream(body))
                .unwrap()
        }
    }
}

// ───────────── OpenAI wire format ─────────────

pub fn openai_chunk(delta: &str) -> String {
    sse_data(&json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-test-2024",
        "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": null}]
    }))
}

pub fn openai_finish(reason: &str) -> String {
    sse_data(&json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-test-2024",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]
    }))
}

pub fn openai_usage(prompt: u64, completion: u64) -> String {
    sse_data(&json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-test-2024",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    }))
}

pub const OPENAI_DONE: &str = "data: [DONE]\n\n";

/// A complete, well-formed answer in `pieces`, with usage.
pub fn openai_answer(pieces: &[&str], prompt: u64, completion: u64) -> Vec<String> {
    let mut chunks: Vec<String> = pieces.iter().map(|p| openai_chunk(p)).collect();
    chunks.push(openai_finish("stop"));
    chunks.push(openai_usage(prompt, completion));
    chunks.push(OPENAI_DONE.to_owned());
    chunks
}

fn sse_data(value: &Value) -> String {
    format!("data: {value}\n\n")
}

// ───────────── Anthropic wire format ─────────────

pub fn anthropic_event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

pub fn anthropic_start(input_tokens: u64) -> Vec<String> {
    vec![
        anthropic_event(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [],
                "model": "claude-test-2025", "stop_reason": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1}
            }}),
        ),
        anthropic_event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        anthropic_event("ping", json!({"type": "ping"})),
    ]
}

pub fn anthropic_delta(text: &str) -> String {
    anthropic_event(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
    )
}

pub fn anthropic_end(output_tokens: u64) -> Vec<String> {
    vec![
        anthropic_event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        anthropic_event(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": output_tokens}}),
        ),
        anthropic_event("message_stop", json!({"type": "message_stop"})),
    ]
}

pub fn anthropic_answer(pieces: &[&str], input: u64, output: u64) -> Vec<String> {
    let mut chunks = anthropic_start(input);
    chunks.extend(pieces.iter().map(|p| anthropic_delta(p)));
    chunks.extend(anthropic_end(output));
    chunks
}

// ───────────── Configuration ─────────────

/// Short timeouts and millisecond backoff so the suite runs in seconds.
pub fn config(provider: ProviderKind, base_url: &str) -> LlmConfig {
    let mut config = LlmConfig::for_provider(provider);
    config.base_url = base_url.parse().unwrap();
    config.api_key = Some(Secret::new(KEY));
    config.models = youmeyou_llm::Models {
        intent: "model-intent".into(),
        planner: "model-planner".into(),
        code: "model-code".into(),
    };
    config.request_timeout = Duration::from_secs(5);
    config.idle_timeout = Duration::from_secs(2);
    config.retry.base = Duration::from_millis(5);
    config.retry.cap = Duration::from_millis(20);
    config.validate().unwrap();
    config
}

// ───────────── Log capture ─────────────

#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Captures every log line of this thread (tests run on a current-thread runtime, so the
/// client and the fake server both log here) at TRACE level until the guard drops.
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// A stream-event recorder: deltas, and the codes of announced retries with their delays.
#[derive(Default, Debug)]
pub struct Seen {
    pub deltas: Vec<String>,
    pub retries: Vec<(&'static str, Duration)>,
}

impl Seen {
    pub fn sink(&mut self) -> impl FnMut(youmeyou_llm::StreamEvent<'_>) + Send + '_ {
        move |event| match event {
            youmeyou_llm::StreamEvent::Delta(d) => self.deltas.push(d.to_owned()),
            youmeyou_llm::StreamEvent::Retrying { code, delay, .. } => {
                self.retries.push((code, delay))
            }
        }
    }
}
