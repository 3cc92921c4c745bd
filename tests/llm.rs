//! The LLM providers wired end to end: a real local HTTP server speaks the OpenAI Chat
//! Completions streaming protocol (or Anthropic's Messages protocol) and answers the intent,
//! planner and code prompts with JSON derived from each request; the YouMeYou server, set up
//! through its `--llm-*` flags, runs Example 1 against it. Also: plan repair, fallback to the
//! static path, a bad key, the per-run budget, the per-user breaker and the flags themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::watch::Watch;
use support::TestServer;
use youmeyou::server::config::ServeArgs;
use youmeyou::server::state::{AppState, Overrides};
use youmeyou::server::ServeConfig;
use youmeyou_core::model::EventType;

const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
const KEY: &str = "sk-llm-test-KEY-4b1d";

// ───────────────────────────── The fake provider ─────────────────────────────

#[derive(Clone, Copy, Debug, PartialEq)]
enum Protocol {
    OpenAi,
    Anthropic,
}

#[derive(Default)]
struct Script {
    /// Every request is answered with this status and body.
    fail: Option<(u16, String)>,
    /// Planner answers, in order; afterwards the Example 1 plan.
    plans: VecDeque<String>,
}

/// One request the fake provider received.
#[derive(Clone, Debug)]
struct Seen {
    role: String,
    system: String,
    messages: Vec<Value>,
    headers: HeaderMap,
    /// Stream chunks carrying answer text.
    text_chunks: usize,
}

#[derive(Clone)]
struct Fake {
    protocol: Protocol,
    url: String,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    async fn start(protocol: Protocol) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = match protocol {
            Protocol::OpenAi => format!("http://{addr}/v1"),
            Protocol::Anthropic => format!("http://{addr}"),
        };
        let fake = Self {
            protocol,
            url,
            script: Arc::default(),
            seen: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .route("/v1/messages", post(answer))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn fail_with(&self, status: u16, body: Value) {
        self.script.lock().unwrap().fail = Some((status, body.to_string()));
    }

    fn plans(&self, plans: &[String]) {
        self.script.lock().unwrap().plans = plans.iter().cloned().collect();
    }

    fn seen(&self, role: &str) -> Vec<Seen> {
        let all = self.seen.lock().unwrap();
        all.iter().filter(|s| s.role == role).cloned().collect()
    }
}

/// Answers one request: by the model's name (one per role) it is an intent, planner or code
/// prompt; the answer is derived from the request and streamed in small pieces with usage.
async fn answer(State(fake): State<Fake>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_string();
    let role = model.trim_start_matches("mock-").to_string();
    let mut messages: Vec<Value> = body["messages"].as_array().cloned().unwrap_or_default();
    let system = match fake.protocol {
        Protocol::Anthropic => body["system"].as_str().unwrap_or_default().to_string(),
        Protocol::OpenAi => {
            let first = messages.first().cloned().unwrap_or(Value::Null);
            if first["role"] == "system" {
                messages.remove(0);
                first["content"].as_str().unwrap_or_default().to_string()
            } else {
                String::new()
            }
        }
    };
    let user = messages
        .first()
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let (fail, plan) = {
        let mut script = fake.script.lock().unwrap();
        let plan = if role == "planner" {
            script.plans.pop_front()
        } else {
            None
        };
        (script.fail.clone(), plan)
    };
    let text = match role.as_str() {
        "intent" => intent_answer(&user),
        "planner" => plan.unwrap_or_else(example_1_plan),
        _ => code_answer(&system),
    };
    // Code answers arrive in many small pieces with a little pause, as a model streams.
    let (piece_chars, pause) = if role == "code" {
        (24, Duration::from_millis(2))
    } else {
        (200, Duration::ZERO)
    };
    let pieces: Vec<String> = text
        .chars()
        .collect::<Vec<_>>()
        .chunks(piece_chars)
        .map(|c| c.iter().collect())
        .collect();
    fake.seen.lock().unwrap().push(Seen {
        role,
        system: system.clone(),
        messages: messages.clone(),
        headers,
        text_chunks: pieces.len(),
    });
    if let Some((status, body)) = fail {
        return Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
    }
    let prompt_chars: usize = system.chars().count()
        + messages
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().chars().count())
            .sum::<usize>();
    let input = (prompt_chars as u64).div_ceil(4);
    let output = (text.chars().count() as u64).div_ceil(4);
    let events = match fake.protocol {
        Protocol::OpenAi => openai_stream(&pieces, input, output),
        Protocol::Anthropic => anthropic_stream(&pieces, input, output),
    };
    let stream = futures_util::stream::unfold(
        (events.into_iter(), true),
        move |(mut events, first)| async move {
            let next = events.next()?;
            if !first && !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Some((Ok::<_, std::convert::Infallible>(next), (events, false)))
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

fn openai_stream(pieces: &[String], input: u64, output: u64) -> Vec<String> {
    let data = |v: Value| format!("data: {v}\n\n");
    let mut out: Vec<String> = pieces
        .iter()
        .map(|p| {
            data(
                json!({"id": "c1", "object": "chat.completion.chunk", "model": "fake-gpt",
                "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]}),
            )
        })
        .collect();
    out.push(data(
        json!({"id": "c1", "object": "chat.completion.chunk", "model": "fake-gpt",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ));
    out.push(data(json!({"id": "c1", "object": "chat.completion.chunk", "model": "fake-gpt",
        "choices": [], "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}})));
    out.push("data: [DONE]\n\n".into());
    out
}

fn anthropic_stream(pieces: &[String], input: u64, output: u64) -> Vec<String> {
    let event = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    let mut out = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "m1", "type": "message",
            "role": "assistant", "content": [], "model": "fake-claude", "stop_reason": null,
            "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
    ];
    out.extend(pieces.iter().map(|p| {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": p}}),
        )
    }));
    out.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(event("message_delta", json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output}})));
    out.push(event("message_stop", json!({"type": "message_stop"})));
    out
}

/// The intent of the design's Example 1, read from the request's words.
fn intent_answer(user: &str) -> String {
    let lower = user.to_lowercase();
    let components: Vec<&str> = [
        ("auth", "auth"),
        ("catalog", "catalog"),
        ("cart", "cart"),
        ("payment", "payment"),
    ]
    .iter()
    .filter(|(word, _)| lower.contains(word))
    .map(|(_, key)| *key)
    .collect();
    let complexity = if lower.contains("complete") || components.len() >= 3 {
        0.9
    } else {
        0.4
    };
    json!({
        "intent": if lower.starts_with("build") { "BUILD_FROM_SCRATCH" } else { "ADD_FEATURE" },
        "complexity": complexity,
        "target": "e-commerce-platform",
        "components": components,
        "metrics": [],
        "estimatedTasks": 8
    })
    .to_string()
}

/// The 8-task plan of the design's Example 1, as the LLM answers it.
fn example_1_tasks() -> Vec<Value> {
    let t = |id: &str,
             name: &str,
             kind: &str,
             deps: &[&str],
             time: u32,
             isolation: &str,
             agent: &str,
             prompt: &str,
             parallel: bool| {
        json!({"id": id, "name": name, "description": format!("{name} for the e-commerce platform"),
            "type": kind, "dependencies": deps, "estimatedTime": time, "isolation": isolation,
            "agent": agent, "prompt": prompt, "canRunInParallel": parallel})
    };
    vec![
        t("task_1", "Architecture Design", "ARCHITECTURE", &[], 45, "INDEPENDENT", "arch-001",
          "Design microservices architecture for e-commerce platform with user auth, product catalog, shopping cart, and payment processing.", true),
        t("task_2", "Database Schema Design", "ARCHITECTURE", &["task_1"], 30, "DEPENDENT", "db-001",
          "Create comprehensive database schema for e-commerce platform including users, products, orders, shopping carts, and payment records.", false),
        t("task_3", "Auth Service Implementation", "CODE_GENERATION", &["task_2"], 60, "DEPENDENT", "code-001",
          "Generate complete authentication service with JWT tokens, user registration, login, password reset, and role-based access control.", false),
        t("task_4", "Product Catalog Service", "CODE_GENERATION", &["task_2"], 50, "INDEPENDENT", "code-001",
          "Generate product catalog service with CRUD operations, search functionality, categories, inventory management, and image handling.", true),
        t("task_5", "Shopping Cart Service", "CODE_GENERATION", &["task_3", "task_4"], 40, "DEPENDENT", "code-001",
          "Generate shopping cart service with add/remove items, quantity updates, cart persistence, and integration with auth and product services.", false),
        t("task_6", "Payment Service Integration", "CODE_GENERATION", &["task_3"], 55, "INDEPENDENT", "code-001",
          "Generate payment service with Stripe integration, order processing, payment webhooks, and transaction management.", true),
        t("task_7", "Frontend React Components", "CODE_GENERATION", &["task_1"], 70, "INDEPENDENT", "code-001",
          "Generate React components for e-commerce frontend including product listing, product details, shopping cart, user authentication, and checkout process.", true),
        t("task_8", "API Integration & Testing", "TESTING", &["task_3", "task_4", "task_5", "task_6"], 35, "FINAL", "code-001",
          "Generate API integration layer, test suites for all services, and end-to-end testing scenarios.", false),
    ]
}

fn example_1_plan() -> String {
    json!({"tasks": example_1_tasks()}).to_string()
}

/// Example 1 with a cycle: the architecture waits for the final testing task.
fn cyclic_plan() -> String {
    let mut tasks = example_1_tasks();
    tasks[0]["dependencies"] = json!(["task_8"]);
    json!({"tasks": tasks}).to_string()
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// A task's answer, from the `Task: NAME (TYPE)` line of the code prompt: two files, and
/// canvas changes for the architecture and schema tasks (none for the others, so the
/// built-in patch is merged in).
fn code_answer(system: &str) -> String {
    let line = system
        .lines()
        .find_map(|l| l.strip_prefix("Task: "))
        .unwrap_or("Unknown task (CODE_GENERATION)");
    let name = line.rsplit_once(" (").map_or(line, |(n, _)| n);
    let dir = slug(name);
    let body: String = (1..=30)
        .map(|i| format!("// {name}: generated line {i}\n"))
        .collect();
    let empty = json!({"upsertNodes": [], "addEdges": [], "removeNodeIds": []});
    let canvas = match name {
        "Architecture Design" => json!({
            "upsertNodes": [
                {"id": "edge-gateway", "type": "gateway", "label": "Edge Gateway (model)"},
                {"id": "auth-service", "type": "microservice", "label": "Auth Service"},
                {"id": "product-service", "type": "microservice", "label": "Product Service"},
                {"id": "cart-service", "type": "microservice", "label": "Cart Service"},
                {"id": "payment-service", "type": "microservice", "label": "Payment Service"}
            ],
            "addEdges": [
                {"source": "edge-gateway", "target": "auth-service", "type": "api-call"},
                {"source": "edge-gateway", "target": "product-service", "type": "api-call"},
                {"source": "auth-service", "target": "cart-service", "type": "api-call"},
                {"source": "cart-service", "target": "product-service", "type": "api-call"}
            ],
            "removeNodeIds": []
        }),
        "Database Schema Design" => json!({
            "upsertNodes": [{"id": "orders-db", "type": "database", "label": "Orders DB (model)", "config": {"engine": "postgres"}}],
            "addEdges": [{"source": "cart-service", "target": "orders-db", "type": "db"}],
            "removeNodeIds": []
        }),
        _ => empty,
    };
    json!({
        "summary": format!("{name} written by the model"),
        "files": [
            {"path": format!("{dir}/README.md"), "language": "markdown", "content": format!("# {name}\n\nGenerated by the fake model.\n")},
            {"path": format!("{dir}/src/index.js"), "language": "javascript", "content": body}
        ],
        "canvas": canvas
    })
    .to_string()
}

// ───────────────────────────── The YouMeYou server ─────────────────────────────

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
}

/// `youmeyou serve` flags, validated as at start-up.
fn parse(argv: &[&str]) -> Result<ServeConfig, youmeyou::server::config::ConfigError> {
    let mut full = vec!["youmeyou"];
    full.extend_from_slice(argv);
    ServeConfig::from_args(
        Cli::try_parse_from(full)
            .expect("clap accepts the shape")
            .serve,
    )
}

/// The LLM flags for the fake provider (with prices, so runs cost something) plus `extra`.
fn llm_flags(fake: &Fake, extra: &[&str]) -> youmeyou_llm::LlmConfig {
    let provider = match fake.protocol {
        Protocol::OpenAi => "openai",
        Protocol::Anthropic => "anthropic",
    };
    // Pairs of flag and value; a flag given in `extra` replaces the default.
    let defaults = [
        ("--llm-provider", provider),
        ("--llm-base-url", &fake.url),
        ("--llm-api-key", KEY),
        ("--llm-model", "mock-code"),
        ("--llm-model-intent", "mock-intent"),
        ("--llm-model-planner", "mock-planner"),
        ("--llm-price-input-per-1k", "0.001"),
        ("--llm-price-output-per-1k", "0.002"),
        ("--llm-timeout-secs", "20"),
        ("--llm-idle-timeout-secs", "10"),
    ];
    let mut argv: Vec<&str> = Vec::new();
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            argv.extend([flag, value]);
        }
    }
    argv.extend_from_slice(extra);
    parse(&argv).unwrap_or_else(|e| panic!("{e}")).llm
}

/// The shared test server with `llm` configured, signed in as alice.
struct Server {
    base: String,
    state: AppState,
    http: reqwest::Client,
    token: String,
    inner: TestServer,
}

async fn start(llm: youmeyou_llm::LlmConfig) -> Server {
    let inner = support::start_with(Overrides::default(), |config| config.llm = llm).await;
    assert!(
        inner.state.llm.is_some(),
        "a configured provider replaces the built-in engine"
    );
    let token = inner.user("alice@example.com").await.token;
    Server {
        base: inner.base.clone(),
        state: inner.state.clone(),
        http: inner.client.clone(),
        token,
        inner,
    }
}

impl Server {
    async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, HeaderMap, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    async fn project_of(&self, token: &str) -> String {
        let (status, _, body) = self
            .post_as(token, "/api/projects", json!({"name": "Shop"}))
            .await;
        assert_eq!(status, 201, "{body}");
        body["project"]["id"].as_str().unwrap().to_string()
    }

    async fn project(&self) -> String {
        self.project_of(&self.token).await
    }

    /// Starts a run and returns its id plus a watch opened before it can emit.
    async fn run(&self, project: &str, prompt: &str) -> (String, Watch) {
        let (status, _, body) = self
            .post_as(
                &self.token,
                &format!("/api/projects/{project}/runs"),
                json!({"prompt": prompt}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let id = body["buildId"].as_str().unwrap().to_string();
        (id.clone(), Watch::new(&self.state, &id))
    }
}

fn ms(ts: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .timestamp_millis()
}

// ───────────────────────────── Tests ─────────────────────────────

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_1_runs_end_to_end_through_the_openai_compatible_client() {
    let fake = Fake::start(Protocol::OpenAi).await;
    let server = start(llm_flags(&fake, &[])).await;
    let project = server.project().await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.finished().await;

    // Intent and plan came from the model: the dynamic path with the LLM's 8 tasks.
    let intent = &watch.first(EventType::IntentAnalyzed).data;
    assert_eq!(intent["intent"], "BUILD_FROM_SCRATCH");
    assert_eq!(intent["complexity"], 0.9);
    assert_eq!(
        intent["components"],
        json!(["auth", "catalog", "cart", "payment"])
    );
    let plan = &watch.first(EventType::PlanGenerated).data;
    assert_eq!(plan["path"], "dynamic", "{plan}");
    assert_eq!(plan["taskCount"], 8);
    assert_eq!(plan["template"], "planner.v1");
    let names: Vec<&str> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "Architecture Design");
    assert_eq!(names[7], "API Integration & Testing");
    assert!(
        plan["estimatedCost"].as_f64().unwrap() > plan["planningCost"]["usd"].as_f64().unwrap()
    );
    assert!(
        plan["planningCost"]["usd"].as_f64().unwrap() > 0.0,
        "{plan}"
    );
    assert!(
        watch.of(EventType::Error).is_empty(),
        "no warnings: {:?}",
        watch.of(EventType::Error)
    );

    // Every task ran through the model and completed.
    assert_eq!(summary["success"], true, "{summary}");
    assert_eq!(summary["tasksCompleted"], 8);
    assert!(watch.of(EventType::TaskFailed).is_empty());
    assert_eq!(fake.seen("intent").len(), 1);
    assert_eq!(fake.seen("planner").len(), 1);
    let code = fake.seen("code");
    assert_eq!(code.len(), 8, "one code call per task");
    for call in &code {
        assert_eq!(call.headers["authorization"], format!("Bearer {KEY}"));
        assert!(
            call.text_chunks >= 40,
            "the answer was streamed in many pieces"
        );
    }

    // Files and canvas from the model.
    let files = server.get(&format!("/api/runs/{run}/files")).await;
    let paths: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for path in [
        "architecture-design/README.md",
        "auth-service-implementation/src/index.js",
        "api-integration-testing/README.md",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    let project_body = server.get(&format!("/api/projects/{project}")).await;
    let nodes: Vec<&str> = project_body["project"]["canvas"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    for node in ["edge-gateway", "auth-service", "cart-service", "orders-db"] {
        assert!(
            nodes.contains(&node),
            "{node} missing from the canvas {nodes:?}"
        );
    }

    // Costs: in the summary and the snapshot, tasks plus planning.
    let cost = &summary["cost"];
    assert!(
        cost["usd"].as_f64().unwrap() > cost["planningUsd"].as_f64().unwrap(),
        "{cost}"
    );
    assert!(
        cost["inputTokens"].as_u64().unwrap() > 1000
            && cost["outputTokens"].as_u64().unwrap() > 1000,
        "{cost}"
    );
    assert_eq!(cost["estimatedUsd"], plan["estimatedCost"]);
    let snapshot = server.get(&format!("/api/runs/{run}")).await;
    assert_eq!(snapshot["status"], "completed");
    assert_eq!(snapshot["path"], "dynamic");
    assert!(
        (snapshot["cost"]["usd"].as_f64().unwrap() - cost["usd"].as_f64().unwrap()).abs() < 1e-9,
        "{}",
        snapshot["cost"]
    );
    let per_task: f64 = snapshot["plan"]["tasks"].as_array().unwrap().len() as f64;
    assert_eq!(per_task, 8.0);

    // Token progress reached the stream, at most ~10 reports a second per task.
    for task in plan["tasks"].as_array().unwrap() {
        let id = task["id"].as_str().unwrap();
        let of_task = |kind: EventType| {
            watch
                .of(kind)
                .into_iter()
                .find(|e| e.data["taskId"] == id)
                .unwrap()
                .ts
                .clone()
        };
        let took = ms(&of_task(EventType::TaskCompleted)) - ms(&of_task(EventType::TaskStarted));
        let reports = watch
            .of(EventType::TaskProgress)
            .into_iter()
            .filter(|e| {
                e.data["taskId"] == id
                    && e.data["progress"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("Generating")
            })
            .count() as i64;
        assert!(reports >= 1, "{id}: no token progress");
        assert!(
            reports <= took / 100 + 2,
            "{id}: {reports} progress reports in {took} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_a_cycle_is_repaired_on_the_second_answer() {
    let fake = Fake::start(Protocol::OpenAi).await;
    fake.plans(&[cyclic_plan(), example_1_plan()]);
    let server = start(llm_flags(&fake, &[])).await;
    let project = server.project().await;
    let (_, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.finished().await;

    let planner = fake.seen("planner");
    assert_eq!(planner.len(), 2, "one repair");
    let repair = &planner[1].messages;
    assert_eq!(repair.len(), 3, "request, rejected answer, reason");
    assert_eq!(repair[1]["role"], "assistant");
    let reason = repair[2]["content"].as_str().unwrap();
    assert!(
        reason.contains("cycle") && reason.contains("task_1"),
        "{reason}"
    );
    let plan = &watch.first(EventType::PlanGenerated).data;
    assert_eq!(plan["path"], "dynamic");
    assert_eq!(plan["taskCount"], 8);
    assert!(
        plan["reason"].as_str().unwrap().contains("after 1 repair"),
        "{}",
        plan["reason"]
    );
    assert_eq!(
        plan["tasks"][0]["dependencies"],
        json!([]),
        "the repaired plan is used"
    );
    assert_eq!(summary["success"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_three_times_falls_back_to_the_static_path_with_an_error_event() {
    let fake = Fake::start(Protocol::OpenAi).await;
    let garbage = "Sure! Here is your plan: {tasks: [oops".to_string();
    fake.plans(&[garbage.clone(), garbage.clone(), garbage]);
    let server = start(llm_flags(&fake, &[])).await;
    let project = server.project().await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.finished().await;

    assert_eq!(
        fake.seen("planner").len(),
        3,
        "the first answer and two repairs"
    );
    let warning = &watch.first(EventType::Error).data;
    assert_eq!(warning["code"], "invalid_output", "{warning}");
    assert_eq!(warning["fatal"], false);
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("built-in plan"),
        "{warning}"
    );
    assert!(watch.index_of(EventType::Error) < watch.index_of(EventType::PlanGenerated));
    let plan = &watch.first(EventType::PlanGenerated).data;
    assert_eq!(plan["path"], "static", "{plan}");
    assert!(plan["reason"].as_str().unwrap().contains("invalid_output"));
    // The run goes on with the built-in plan; its tasks still go through the model.
    assert_eq!(summary["success"], true, "{summary}");
    assert!(!fake.seen("code").is_empty());
    assert!(
        summary["cost"]["planningUsd"].as_f64().unwrap() > 0.0,
        "rejected answers were paid for"
    );
    assert_eq!(
        server.get(&format!("/api/runs/{run}")).await["path"],
        "static"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_fails_the_run_with_auth_failed_and_a_suggested_action() {
    let fake = Fake::start(Protocol::OpenAi).await;
    fake.fail_with(401, json!({"error": {"message": format!("Incorrect API key provided: {KEY}"), "type": "invalid_request_error"}}));
    let server = start(llm_flags(&fake, &[])).await;
    let project = server.project().await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.finished().await;

    assert_eq!(summary["success"], false);
    let failed = watch.of(EventType::TaskFailed);
    let auth = failed
        .iter()
        .find(|e| e.data["code"] == "auth_failed")
        .unwrap_or_else(|| panic!("no auth_failed in {failed:?}"));
    assert!(
        auth.data["suggestedAction"]
            .as_str()
            .unwrap()
            .contains("YOUMEYOU_LLM_API_KEY"),
        "{}",
        auth.data
    );
    // Intent and plan fell back to the built-in engine, saying why.
    let warnings: Vec<&Value> = watch.of(EventType::Error).iter().map(|e| &e.data).collect();
    assert!(
        warnings
            .iter()
            .all(|w| w["code"] == "auth_failed" && w["fatal"] == false),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 2, "intent and plan: {warnings:?}");
    assert_eq!(
        server.get(&format!("/api/runs/{run}")).await["status"],
        "failed"
    );
    // The key the provider echoed back never reaches an event.
    for event in &watch.seen {
        assert!(
            !event.data.to_string().contains(KEY),
            "the key leaked into {}",
            event.kind.as_str()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_budget_fails_tasks_with_budget_exceeded() {
    let fake = Fake::start(Protocol::OpenAi).await;
    // Enough for planning (each call reserves its worst case: prompt + 1,000 tokens), not
    // for the tasks on top.
    let llm = llm_flags(
        &fake,
        &[
            "--llm-price-input-per-1k",
            "0.01",
            "--llm-price-output-per-1k",
            "0.01",
            "--llm-max-tokens",
            "1000",
            "--llm-budget-usd",
            "0.03",
        ],
    );
    let server = start(llm).await;
    let project = server.project().await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.finished().await;

    assert_eq!(summary["success"], false);
    assert_eq!(
        watch.first(EventType::PlanGenerated).data["path"],
        "dynamic",
        "planning fitted in the budget"
    );
    let failed = watch.of(EventType::TaskFailed);
    let budget = failed
        .iter()
        .find(|e| e.data["code"] == "budget_exceeded")
        .unwrap_or_else(|| panic!("no budget_exceeded in {failed:?}"));
    assert!(
        budget.data["error"].as_str().unwrap().contains("budget"),
        "{}",
        budget.data
    );
    assert!(budget.data["suggestedAction"]
        .as_str()
        .unwrap()
        .contains("YOUMEYOU_LLM_BUDGET_USD"));
    let spent = server.get(&format!("/api/runs/{run}")).await["cost"]["usd"]
        .as_f64()
        .unwrap();
    assert!(
        spent > 0.0 && spent <= 0.03,
        "spent {spent} within the budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_fatal_failures_pause_the_users_new_runs_with_the_retry_time() {
    let fake = Fake::start(Protocol::OpenAi).await;
    fake.fail_with(404, json!({"error": {"message": "The model `mock-intent` does not exist", "type": "invalid_request_error"}}));
    let server = start(llm_flags(&fake, &[])).await;
    let project = server.project().await;
    for _ in 0..3 {
        let (_, mut watch) = server.run(&project, EXAMPLE_1).await;
        let summary = watch.finished().await;
        assert_eq!(summary["success"], false);
        assert!(watch
            .of(EventType::TaskFailed)
            .iter()
            .any(|e| e.data["code"] == "model_not_found"));
    }
    let (status, headers, body) = server
        .post_as(
            &server.token,
            &format!("/api/projects/{project}/runs"),
            json!({"prompt": EXAMPLE_1}),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "user_circuit_open");
    let wait = body["error"]["retryAfter"].as_u64().unwrap();
    assert!((1..=300).contains(&wait), "{body}");
    assert_eq!(headers["retry-after"], wait.to_string());
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{wait} s")),
        "{body}"
    );
    // Another user is not affected.
    let bob = server.inner.user("bob@example.com").await.token;
    let bobs = server.project_of(&bob).await;
    let (status, _, body) = server
        .post_as(
            &bob,
            &format!("/api/projects/{bobs}/runs"),
            json!({"prompt": EXAMPLE_1}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anthropic_protocol_serves_intent_plan_and_tasks() {
    let fake = Fake::start(Protocol::Anthropic).await;
    let server = start(llm_flags(&fake, &[])).await;
    let project = server.project().await;
    let (_, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.finished().await;

    assert_eq!(
        watch.first(EventType::IntentAnalyzed).data["intent"],
        "BUILD_FROM_SCRATCH"
    );
    let plan = &watch.first(EventType::PlanGenerated).data;
    assert_eq!(plan["path"], "dynamic", "{plan}");
    assert_eq!(plan["taskCount"], 8);
    assert_eq!(summary["success"], true, "{summary}");
    assert!(summary["cost"]["usd"].as_f64().unwrap() > 0.0);
    let intent = &fake.seen("intent")[0];
    assert_eq!(intent.headers["x-api-key"], KEY);
    assert_eq!(intent.headers["anthropic-version"], "2023-06-01");
    assert!(intent.headers.get("authorization").is_none());
    assert!(
        intent.system.contains("intent analyser") && intent.system.contains("single JSON object")
    );
    assert_eq!(fake.seen("planner").len(), 1);
}

#[test]
fn llm_flags_are_validated_and_errors_name_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["--llm-provider", "gpt"], "--llm-provider"),
        (&["--llm-provider", "anthropic"], "--llm-api-key"),
        (
            &[
                "--llm-provider",
                "openai",
                "--llm-base-url",
                "ftp://example.com",
            ],
            "--llm-base-url",
        ),
        (&["--llm-temperature", "3"], "--llm-temperature"),
        (&["--llm-temperature", "hot"], "--llm-temperature"),
        (&["--llm-max-tokens", "0"], "--llm-max-tokens"),
        (&["--llm-timeout-secs", "0"], "--llm-timeout-secs"),
        (&["--llm-max-retries", "11"], "--llm-max-retries"),
        (
            &["--llm-price-input-per-1k", "-1"],
            "--llm-price-input-per-1k",
        ),
        (&["--llm-budget-usd", "0"], "--llm-budget-usd"),
    ];
    for (argv, flag) in cases {
        let err = parse(argv)
            .err()
            .unwrap_or_else(|| panic!("{argv:?} must be refused"));
        assert_eq!(err.flag.split(' ').next(), Some(*flag), "{argv:?} → {err}");
    }
    // The default is the built-in engine: no provider, behaviour unchanged.
    let default = parse(&[]).unwrap();
    assert_eq!(default.llm.provider, youmeyou_llm::ProviderKind::Builtin);

    let config = parse(&[
        "--llm-provider",
        "openai",
        "--llm-base-url",
        "http://localhost:11434/v1",
        "--llm-api-key",
        KEY,
        "--llm-model",
        "llama3.2",
        "--llm-model-planner",
        "qwen2.5",
        "--llm-temperature",
        "0.5",
        "--llm-max-tokens",
        "2000",
        "--llm-timeout-secs",
        "0.5",
        "--llm-price-input-per-1k",
        "0.003",
        "--llm-price-output-per-1k",
        "0.015",
        "--llm-budget-usd",
        "2",
    ])
    .unwrap();
    let llm = &config.llm;
    assert_eq!(llm.base_url.as_str(), "http://localhost:11434/v1");
    assert_eq!(
        (
            llm.models.intent.as_str(),
            llm.models.planner.as_str(),
            llm.models.code.as_str()
        ),
        ("llama3.2", "qwen2.5", "llama3.2")
    );
    assert_eq!(
        (llm.temperature, llm.max_tokens, llm.budget_usd),
        (0.5, 2000, Some(2.0))
    );
    assert_eq!(llm.request_timeout, Duration::from_millis(500));
    assert_eq!(llm.pricing.output_per_1k_usd, 0.015);
    assert_eq!(llm.api_key.as_ref().map(|k| k.expose()), Some(KEY));
    let printed = format!("{config:?}");
    assert!(
        !printed.contains(KEY) && printed.contains("***"),
        "the key is masked: {printed}"
    );
}

#[test]
fn help_hides_the_keys_environment_value_and_lists_every_llm_flag() {
    let command = Cli::command();
    let key = command
        .get_arguments()
        .find(|a| a.get_id() == "llm_api_key")
        .unwrap();
    assert!(key.is_hide_env_values_set());
    let env: BTreeMap<String, String> = command
        .get_arguments()
        .filter_map(|a| {
            Some((
                a.get_long()?.to_string(),
                a.get_env()?.to_str()?.to_string(),
            ))
        })
        .filter(|(long, _)| long.starts_with("llm-"))
        .collect();
    for (flag, var) in [
        ("llm-provider", "YOUMEYOU_LLM_PROVIDER"),
        ("llm-base-url", "YOUMEYOU_LLM_BASE_URL"),
        ("llm-api-key", "YOUMEYOU_LLM_API_KEY"),
        ("llm-model", "YOUMEYOU_LLM_MODEL"),
        ("llm-model-intent", "YOUMEYOU_LLM_MODEL_INTENT"),
        ("llm-model-planner", "YOUMEYOU_LLM_MODEL_PLANNER"),
        ("llm-model-code", "YOUMEYOU_LLM_MODEL_CODE"),
        ("llm-temperature", "YOUMEYOU_LLM_TEMPERATURE"),
        ("llm-max-tokens", "YOUMEYOU_LLM_MAX_TOKENS"),
        ("llm-timeout-secs", "YOUMEYOU_LLM_TIMEOUT_SECS"),
        ("llm-idle-timeout-secs", "YOUMEYOU_LLM_IDLE_TIMEOUT_SECS"),
        ("llm-max-retries", "YOUMEYOU_LLM_MAX_RETRIES"),
        ("llm-price-input-per-1k", "YOUMEYOU_LLM_PRICE_INPUT_PER_1K"),
        (
            "llm-price-output-per-1k",
            "YOUMEYOU_LLM_PRICE_OUTPUT_PER_1K",
        ),
        ("llm-budget-usd", "YOUMEYOU_LLM_BUDGET_USD"),
    ] {
        assert_eq!(env.get(flag).map(String::as_str), Some(var), "--{flag}");
    }
}
