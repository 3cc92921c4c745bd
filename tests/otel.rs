//! Traces over OTLP with real processes: a small OTLP/HTTP receiver in this test, two
//! `youmeyou serve` processes one after the other on the same data directory (the first stopped
//! gracefully mid-run, the second resuming the run), and the spans both sent for the run share
//! one trace, whose id is derived from the run id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/process.rs"]
mod process;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use process::*;
use prost::Message;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
/// Longest wait for anything here; a failure names what it waited for.
const WAIT: Duration = Duration::from_secs(60);

/// One span as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    service: String,
    instance: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: HashMap<String, String>,
}

fn strings(attributes: &[KeyValue]) -> HashMap<String, String> {
    attributes
        .iter()
        .filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(s) => Some((kv.key.clone(), s.clone())),
            other => Some((kv.key.clone(), format!("{other:?}"))),
        })
        .collect()
}

/// `POST /v1/traces` with an OTLP protobuf body: every span is recorded before the answer.
async fn receive(
    State(seen): State<watch::Sender<Vec<Seen>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
    let proto = [(header::CONTENT_TYPE, "application/x-protobuf")];
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/x-protobuf")
    {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, proto, Vec::new());
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, proto, Vec::new());
    };
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource = strings(
            &resource_spans
                .resource
                .map(|r| r.attributes)
                .unwrap_or_default(),
        );
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                spans.push(Seen {
                    service: resource.get("service.name").cloned().unwrap_or_default(),
                    instance: resource
                        .get("service.instance.id")
                        .cloned()
                        .unwrap_or_default(),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_span_id: span.parent_span_id,
                    attributes: strings(&span.attributes),
                });
            }
        }
    }
    seen.send_modify(|all| all.extend(spans));
    (
        StatusCode::OK,
        proto,
        ExportTraceServiceResponse::default().encode_to_vec(),
    )
}

/// The receiver's address and what it has seen so far.
async fn receiver() -> (String, watch::Receiver<Vec<Seen>>) {
    let (tx, rx) = watch::channel(Vec::new());
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(receive))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), rx)
}

fn spawn(dir: &std::path::Path, port: u16, collector: &str, instance: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_youmeyou"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log",
            "warn",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env("YOUMEYOU_PACE", "0.1")
        .env("YOUMEYOU_INSTANCE_ID", instance)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start youmeyou")
}

/// SIGTERM (graceful shutdown) and wait for the process to exit.
async fn terminate(mut child: Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = tokio::time::timeout(
        WAIT,
        tokio::task::spawn_blocking(move || child.wait().unwrap()),
    )
    .await
    .expect("the process did not stop after SIGTERM")
    .unwrap();
    assert!(status.success(), "graceful shutdown ended with {status}");
}

/// Reads the run's events until `done` holds for what was seen.
async fn watch_until(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    run: &str,
    seen: &mut Vec<Value>,
    done: impl Fn(&[Value]) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(seen) {
        assert!(Instant::now() < deadline, "the run did not get there");
        let after = seen.last().map_or(0, |e| e["seq"].as_u64().unwrap());
        seen.extend(events_after(http, base, token, run, after).await);
    }
}

fn run_spans(seen: &[Seen], run: &str) -> Vec<Seen> {
    seen.iter()
        .filter(|s| s.name == "run" && s.attributes.get("run").map(String::as_str) == Some(run))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_driven_by_two_instances_is_one_trace() {
    let (collector, spans) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let first = spawn(dir.path(), port, &collector, "first");
    wait_ready(&http, &base).await;
    let creds = json!({"email": "traces@example.com", "password": "correct horse battery"});
    let r = http
        .post(format!("{base}/api/auth/register"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&creds)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let project: Value = http
        .post(format!("{base}/api/projects"))
        .bearer_auth(&token)
        .json(&json!({"name": "Traces"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project_id = project["project"]["id"].as_str().unwrap();
    let started: Value = http
        .post(format!("{base}/api/projects/{project_id}/runs"))
        .bearer_auth(&token)
        .json(&json!({"prompt": EXAMPLE_1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = started["buildId"].as_str().unwrap().to_string();

    // Mid-run (a task done, the run not), stop the first instance gracefully.
    let mut events = Vec::new();
    watch_until(&http, &base, &token, &run, &mut events, |seen| {
        seen.iter().any(|e| e["type"] == "taskCompleted")
    })
    .await;
    assert!(
        !events.iter().any(|e| e["type"] == "executionSummary"),
        "the run finished before the first instance stopped"
    );
    terminate(first).await;
    // The run's span was flushed before the process exited.
    let from_first = run_spans(&spans.borrow(), &run);
    assert!(
        from_first.iter().any(|s| s.instance == "first"),
        "no run span from the first instance: {:?}",
        spans.borrow()
    );

    // The second instance resumes the run on the same data directory and finishes it.
    let second = spawn(dir.path(), port, &collector, "second");
    wait_ready(&http, &base).await;
    watch_until(&http, &base, &token, &run, &mut events, |seen| {
        seen.iter().any(|e| e["type"] == "executionSummary")
    })
    .await;
    assert!(events
        .iter()
        .any(|e| e["type"] == "executionStarted" && e["data"]["resumed"] == true));
    terminate(second).await;

    let spans = run_spans(&spans.borrow(), &run);
    let instances: HashSet<&str> = spans.iter().map(|s| s.instance.as_str()).collect();
    assert_eq!(
        instances,
        HashSet::from(["first", "second"]),
        "run spans: {spans:?}"
    );
    for span in &spans {
        assert_eq!(span.service, "youmeyou");
        assert_eq!(
            span.attributes.get("instance"),
            Some(&span.instance),
            "{span:?}"
        );
    }
    // One trace, whose id is the first 16 bytes of the SHA-256 of the run id; every
    // instance's span hangs off the same (never exported) parent.
    let digest = Sha256::digest(run.as_bytes());
    for span in &spans {
        assert_eq!(span.trace_id, digest[..16].to_vec(), "{span:?}");
        assert_eq!(span.parent_span_id, digest[16..24].to_vec(), "{span:?}");
    }
    let ids: HashSet<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
    assert_eq!(ids.len(), spans.len(), "span ids repeat: {spans:?}");
    assert_eq!(
        youmeyou::server::telemetry::otel::run_trace_id(&run).to_bytes(),
        digest[..16]
    );
}

#[test]
fn a_malformed_collector_url_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_youmeyou"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr
            .starts_with("error: invalid value for OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318'"),
        "{stderr}"
    );
}
