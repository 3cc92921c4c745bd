//! The orchestrator end to end through the HTTP API: the three worked examples of the design,
//! mid-run step editing made deterministic with gated agents, edit rules, invalid plans, and a
//! crash (SIGKILL) of a real server process in the middle of a run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use support::watch::Watch;
use support::TestServer;
use youmeyou::server::limits::Tier;
use youmeyou::server::orchestrator::agents::Agents;
use youmeyou::server::orchestrator::builtin::BuiltinAgents;
use youmeyou::server::orchestrator::planning::{PlanChoice, Planner, PlannerError};
use youmeyou::server::orchestrator::testing::{CountingAgents, GateAgents};
use youmeyou::server::state::{AppState, Overrides};
use youmeyou::server::ServeConfig;
use youmeyou_core::engine::context::CanvasContext;
use youmeyou_core::model::{Canvas, Event, EventType, IntentAnalysis, PlanPath, Task};

const EXAMPLE_1: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
const EXAMPLE_2: &str = "Fix the auth service in my design and make it scalable to 5000 RPS";
const EXAMPLE_3_EDIT: &str = "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user behavior tracking, product similarity, and recommendation history";

/// The shared test server, signed in as alice; `base`, `state` and `http` are its parts.
struct Server {
    base: String,
    state: AppState,
    http: reqwest::Client,
    token: String,
    inner: TestServer,
}

async fn start(overrides: Overrides) -> Server {
    start_configured(overrides, |_| {}).await
}

async fn start_configured(
    overrides: Overrides,
    configure: impl FnOnce(&mut ServeConfig),
) -> Server {
    let inner = support::start_with(overrides, |config| {
        config.orchestrator.edit_cooldown = Duration::from_millis(300);
        configure(config);
    })
    .await;
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
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_as(&self.token, path, body).await
    }

    async fn post_as(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(&self.token, path).await
    }

    async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn project(&self, canvas: Option<Value>) -> String {
        let (status, body) = self.post("/api/projects", json!({"name": "Shop"})).await;
        assert_eq!(status, 201, "{body}");
        let id = body["project"]["id"].as_str().unwrap().to_string();
        if let Some(mut canvas) = canvas {
            canvas["version"] = body["project"]["canvas"]["version"].clone();
            let r = self
                .http
                .put(format!("{}/api/projects/{id}/canvas", self.base))
                .bearer_auth(&self.token)
                .json(&canvas)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        }
        id
    }

    /// Starts a run and returns its id plus a live subscription opened before it can emit.
    async fn run(&self, project: &str, prompt: &str) -> (String, Watch) {
        self.run_as(&self.token, project, prompt).await
    }

    async fn run_as(&self, token: &str, project: &str, prompt: &str) -> (String, Watch) {
        let (status, body) = self
            .post_as(
                token,
                &format!("/api/projects/{project}/runs"),
                json!({"prompt": prompt}),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        let id = body["buildId"].as_str().unwrap().to_string();
        for key in ["websocketUrl", "eventsUrl", "buildToken"] {
            assert!(body[key].is_string(), "{key} missing: {body}");
        }
        (id.clone(), Watch::new(&self.state, &id))
    }
}

fn example_2_canvas() -> Value {
    json!({
        "nodes": [
            {"id": "api-gateway", "type": "gateway", "label": "API Gateway", "position": {"x": 100, "y": 200}, "config": {}},
            {"id": "auth-service", "type": "microservice", "label": "Auth Service", "position": {"x": 320, "y": 200},
             "config": {"instances": 1, "session_store": "memory", "database": "mysql", "estimated_capacity": "100 RPS"}},
            {"id": "auth-db", "type": "database", "label": "MySQL", "position": {"x": 540, "y": 200},
             "config": {"engine": "mysql", "replicas": 0}},
            {"id": "product-service", "type": "microservice", "label": "Product Service", "position": {"x": 320, "y": 360}, "config": {"instances": 2}}
        ],
        "edges": [
            {"id": "e1", "source": "api-gateway", "target": "auth-service", "type": "api-call"},
            {"id": "e2", "source": "auth-service", "target": "auth-db", "type": "db"},
            {"id": "e3", "source": "api-gateway", "target": "product-service", "type": "api-call"}
        ],
        "version": 0
    })
}

fn assert_gap_free(events: &[Event]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as u64 + 1, "seq must be 1, 2, 3… without gaps");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_1_builds_an_e_commerce_platform_from_an_empty_canvas() {
    let server = start(Overrides::default()).await;
    let project = server.project(None).await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    let summary = watch.until_type(EventType::ExecutionSummary).await;
    assert_eq!(summary.data["success"], true, "{:?}", watch.kinds());
    assert_eq!(summary.data["tasksCompleted"], 8);

    // Pipeline order: intent → context → plan → execution → summary.
    let kinds = watch.kinds();
    let pos = |k: &str| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    assert!(pos("intentAnalyzed") < pos("contextExtracted"));
    assert!(pos("contextExtracted") < pos("planGenerated"));
    assert!(pos("planGenerated") < pos("executionStarted"));
    assert!(pos("executionStarted") < pos("tasksStarted"));
    assert_eq!(*kinds.last().unwrap(), "executionSummary");
    assert_gap_free(&watch.seen);

    let intent = &watch.of(EventType::IntentAnalyzed)[0].data;
    assert_eq!(intent["intent"], "BUILD_FROM_SCRATCH");
    assert_eq!(
        intent["components"],
        json!(["auth", "catalog", "cart", "payment"])
    );
    assert_eq!(watch.of(EventType::PlanGenerated)[0].data["taskCount"], 8);
    assert_eq!(
        watch.of(EventType::ContextExtracted)[0].data["isEmpty"],
        true
    );

    // task_1 and task_7 start together; every task starts only after its dependencies.
    let started = &watch.of(EventType::TasksStarted)[0].data["taskIds"];
    assert_eq!(started, &json!(["task_1", "task_7"]));
    let (_, snapshot) = server.get(&format!("/api/runs/{run}")).await;
    assert_eq!(snapshot["status"], "completed");
    let tasks = snapshot["plan"]["tasks"].as_array().unwrap();
    let deps: HashMap<&str, Vec<&str>> = tasks
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap(),
                t["dependencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(deps["task_2"], vec!["task_1"]);
    assert_eq!(deps["task_5"], vec!["task_3", "task_4"]);
    assert_eq!(deps["task_8"], vec!["task_3", "task_4", "task_5", "task_6"]);
    let seq_of = |kind: EventType, task: &str| {
        watch
            .seen
            .iter()
            .find(|e| e.kind == kind && e.data["taskId"] == task)
            .map(|e| e.seq)
            .unwrap()
    };
    for (task, task_deps) in &deps {
        for dep in task_deps {
            assert!(
                seq_of(EventType::TaskCompleted, dep) < seq_of(EventType::TaskStarted, task),
                "{task} started before {dep} completed"
            );
        }
    }

    // Canvas: the four services are on the project's canvas.
    let (_, project_body) = server.get(&format!("/api/projects/{project}")).await;
    let nodes = project_body["project"]["canvas"]["nodes"]
        .as_array()
        .unwrap();
    for service in [
        "auth-service",
        "product-service",
        "cart-service",
        "payment-service",
    ] {
        assert!(
            nodes.iter().any(|n| n["id"] == service),
            "{service} missing on the canvas"
        );
    }
    assert!(!watch.of(EventType::CanvasUpdated).is_empty());

    // Files: real content, downloadable one by one and as a zip.
    let (_, files) = server.get(&format!("/api/runs/{run}/files")).await;
    let files = files["files"].as_array().unwrap();
    assert!(files.len() >= 20, "only {} files", files.len());
    let schema = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(".sql"))
        .expect("a SQL schema file");
    let text = server
        .http
        .get(format!(
            "{}/api/runs/{run}/files/{}",
            server.base,
            schema["path"].as_str().unwrap()
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("CREATE TABLE") && text.contains("PRIMARY KEY"),
        "{text}"
    );
    let zip = server
        .http
        .get(format!("{}/api/runs/{run}/archive.zip", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    assert_eq!(zip.headers()["content-type"], "application/zip");
    let bytes = zip.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK");
    assert_eq!(watch.of(EventType::FileGenerated).len(), files.len());
    let code = &summary.data["codeGeneration"];
    assert_eq!(
        code["filesGenerated"].as_u64().unwrap() as usize,
        files.len()
    );
    assert!(code["linesOfCode"].as_u64().unwrap() > 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_2_scales_the_auth_service_to_5000_rps() {
    let server = start(Overrides::default()).await;
    let project = server.project(Some(example_2_canvas())).await;
    let (run, mut watch) = server.run(&project, EXAMPLE_2).await;
    let summary = watch.until_type(EventType::ExecutionSummary).await;
    assert_eq!(summary.data["success"], true, "{:?}", watch.kinds());
    let intent = &watch.of(EventType::IntentAnalyzed)[0].data;
    assert_eq!(intent["intent"], "SCALE_COMPONENT");
    assert_eq!(intent["target"], "auth-service");
    let bottlenecks = &watch.of(EventType::BottlenecksIdentified)[0].data;
    assert_eq!(bottlenecks["count"], 3);
    let scaled = &watch.of(EventType::ScalingCompleted)[0].data;
    assert_eq!(scaled["newRPS"], 5500);
    let (_, snapshot) = server.get(&format!("/api/runs/{run}")).await;
    assert_eq!(
        snapshot["path"], "static",
        "complexity 0.6 takes the static path"
    );

    let (_, project_body) = server.get(&format!("/api/projects/{project}")).await;
    let canvas: Canvas = serde_json::from_value(project_body["project"]["canvas"].clone()).unwrap();
    let auth = canvas
        .nodes
        .iter()
        .find(|n| n.id == "auth-service")
        .expect("auth-service kept its id");
    assert_eq!(auth.config.get("instances"), Some(&json!(10)));
    let kinds: Vec<_> = canvas.nodes.iter().map(|n| n.kind).collect();
    use youmeyou_core::model::NodeType;
    assert!(kinds.contains(&NodeType::LoadBalancer));
    assert!(kinds.contains(&NodeType::Cache));
    assert!(kinds.contains(&NodeType::Monitoring));
    // Unrelated nodes keep their ids and positions.
    let product = canvas
        .nodes
        .iter()
        .find(|n| n.id == "product-service")
        .unwrap();
    assert_eq!(product.position.map(|p| (p.x, p.y)), Some((320.0, 360.0)));
    let (_, files) = server.get(&format!("/api/runs/{run}/files")).await;
    let paths: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for expected in [
        "docker-compose.yml",
        "nginx.conf",
        "redis-cluster.conf",
        "monitoring/alerts.yml",
    ] {
        assert!(
            paths.iter().any(|p| p.ends_with(expected)),
            "{expected} missing in {paths:?}"
        );
    }
}

/// Example 3: edit task_2 while it runs; only task_4, task_5 and task_8 regenerate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_3_editing_a_running_step_regenerates_only_affected_tasks() {
    let gate = GateAgents::new(Arc::new(BuiltinAgents), &["task_2"]);
    let counting = CountingAgents::new(gate.clone());
    let server = start(Overrides {
        agents: Some(counting.clone() as Arc<dyn Agents>),
        ..Default::default()
    })
    .await;
    let project = server.project(None).await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    gate.entered("task_2", 1).await;

    let (status, impact) = server
        .post(
            &format!("/api/runs/{run}/tasks/task_2/impact"),
            json!({"prompt": EXAMPLE_3_EDIT}),
        )
        .await;
    assert_eq!(status, 200, "{impact}");
    let levels: HashMap<&str, &str> = impact["affectedTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["impact"].as_str().unwrap()))
        .collect();
    assert_eq!(levels.get("task_4"), Some(&"major"));
    assert_eq!(levels.get("task_5"), Some(&"minor"));
    assert_eq!(levels.get("task_8"), Some(&"major"));
    assert!(!levels.contains_key("task_3") && !levels.contains_key("task_6"));
    assert_eq!(impact["modificationsLeft"], 3);
    assert!(impact["additionalTime"].as_u64().unwrap() > 0);
    watch.until_type(EventType::ImpactAnalysis).await;

    // The restarted attempt is held too, so the test sees the edit land before it finishes.
    gate.hold("task_2");
    let (status, body) = server
        .post(
            &format!("/api/runs/{run}/tasks/task_2/modifications"),
            json!({"prompt": EXAMPLE_3_EDIT, "confirmToken": impact["confirmToken"]}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    watch.until_type(EventType::RegenerationStarted).await;
    gate.entered("task_2", 2).await;
    gate.release("task_2");
    let summary = watch.until_type(EventType::ExecutionSummary).await;
    assert_eq!(summary.data["success"], true, "{:?}", watch.kinds());

    // Nothing ran twice except the edited task; unaffected tasks ran exactly once.
    assert_eq!(counting.count("task_2"), 2);
    for task in [
        "task_1", "task_3", "task_4", "task_5", "task_6", "task_7", "task_8",
    ] {
        assert_eq!(counting.count(task), 1, "{task}: {:?}", counting.counts());
    }
    // The final schema includes the recommendation tables.
    let (_, files) = server.get(&format!("/api/runs/{run}/files")).await;
    let schema_path = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["taskId"] == "task_2" && f["path"].as_str().unwrap().ends_with(".sql"))
        .map(|f| f["path"].as_str().unwrap().to_string())
        .expect("schema file of task_2");
    let schema = server
        .http
        .get(format!(
            "{}/api/runs/{run}/files/{schema_path}",
            server.base
        ))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(schema.to_lowercase().contains("recommendation"), "{schema}");
    let (_, snapshot) = server.get(&format!("/api/runs/{run}")).await;
    assert_eq!(snapshot["modifications"].as_array().unwrap().len(), 1);
    let task_2 = snapshot["plan"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "task_2")
        .unwrap();
    assert_eq!(task_2["modificationCount"], 1);
    assert_eq!(task_2["prompt"], EXAMPLE_3_EDIT);
    assert_gap_free(&watch.seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_edit_and_an_edit_inside_the_cooldown_are_refused_and_change_nothing() {
    let gate = GateAgents::new(Arc::new(BuiltinAgents), &["task_1"]);
    let server = start(Overrides {
        agents: Some(gate.clone() as Arc<dyn Agents>),
        ..Default::default()
    })
    .await;
    let project = server.project(None).await;
    let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
    gate.entered("task_1", 1).await;
    let edit =
        |n: u32| format!("Design the e-commerce architecture, variant {n}, with an event bus");
    let mut last_edit_seq = 0;
    for n in 1..=3u32 {
        // Inside the cooldown: refused with the time to wait.
        if n > 1 {
            let (status, body) = server
                .post(
                    &format!("/api/runs/{run}/tasks/task_1/impact"),
                    json!({"prompt": edit(n)}),
                )
                .await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(body["error"]["code"], "cooldown_active");
            assert!(body["error"]["retryAfter"].as_u64().unwrap() >= 1);
            // Wait for the cooldown by watching the clock, not the events.
            tokio::time::sleep(Duration::from_millis(350)).await;
        }
        let (status, impact) = server
            .post(
                &format!("/api/runs/{run}/tasks/task_1/impact"),
                json!({"prompt": edit(n)}),
            )
            .await;
        assert_eq!(status, 200, "{impact}");
        assert_eq!(impact["modificationsLeft"], 4 - n);
        gate.hold("task_1");
        let (status, _) = server
            .post(
                &format!("/api/runs/{run}/tasks/task_1/modifications"),
                json!({"prompt": edit(n), "confirmToken": impact["confirmToken"]}),
            )
            .await;
        assert_eq!(status, 202);
        last_edit_seq = watch
            .until_type(EventType::RegenerationStarted)
            .await
            .seq
            .max(last_edit_seq);
        watch
            .seen
            .retain(|e| e.kind != EventType::RegenerationStarted);
    }
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (status, body) = server
        .post(
            &format!("/api/runs/{run}/tasks/task_1/impact"),
            json!({"prompt": edit(4)}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "modification_limit");
    let (_, snapshot) = server.get(&format!("/api/runs/{run}")).await;
    assert_eq!(snapshot["modifications"].as_array().unwrap().len(), 3);
    let task_1 = snapshot["plan"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "task_1")
        .unwrap();
    assert_eq!(task_1["prompt"], edit(3));
    // Other rule violations.
    // Edit prompts follow the same rule as a run's prompt (docs/LIMITS.md), on both routes.
    let longest = "x".repeat(4_000);
    let too_long = "x".repeat(4_001);
    for (prompt, task, code) in [
        ("   ", "task_1", "invalid_prompt"),
        ("x", "task_99", "unknown_task"),
        (too_long.as_str(), "task_1", "prompt_too_long"),
        (
            "new \u{0}\u{1b}[31m\u{7} prompt",
            "task_1",
            "invalid_prompt",
        ),
    ] {
        for (route, body) in [
            ("impact", json!({"prompt": prompt})),
            (
                "modifications",
                json!({"prompt": prompt, "confirmToken": "x"}),
            ),
        ] {
            let (status, body) = server
                .post(&format!("/api/runs/{run}/tasks/{task}/{route}"), body)
                .await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (422, Some(code)),
                "{route}: {body}"
            );
        }
    }
    // 4,000 characters pass the prompt rule (and meet the next rule: the edit limit).
    let (status, body) = server
        .post(
            &format!("/api/runs/{run}/tasks/task_1/impact"),
            json!({"prompt": longest}),
        )
        .await;
    assert_ne!(
        body["error"]["code"].as_str(),
        Some("prompt_too_long"),
        "{status} {body}"
    );
    gate.release("task_1");
    watch.until_type(EventType::ExecutionSummary).await;
    let (status, body) = server
        .post(
            &format!("/api/runs/{run}/tasks/task_2/impact"),
            json!({"prompt": "anything new"}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("run_finished"))
    );
}

/// A planner that answers with a fixed (broken) plan.
struct FixedPlanner(Vec<Task>);

#[async_trait]
impl Planner for FixedPlanner {
    async fn analyse(&self, prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, PlannerError> {
        youmeyou::server::orchestrator::planning::BuiltinPlanner
            .analyse(prompt, canvas)
            .await
    }
    async fn plan(
        &self,
        _: &IntentAnalysis,
        _: &CanvasContext,
        _: &str,
        _: f64,
    ) -> Result<PlanChoice, PlannerError> {
        Ok(PlanChoice {
            tasks: self.0.clone(),
            path: PlanPath::Dynamic,
            reason: "test".into(),
            template: "test".into(),
            cost_usd: 0.0,
            warnings: Vec::new(),
            llm: None,
        })
    }
}

fn task(id: &str, deps: &[&str]) -> Task {
    serde_json::from_value(json!({
        "id": id, "name": id, "type": "ARCHITECTURE", "dependencies": deps,
        "estimatedTime": 10, "agent": "arch-001", "prompt": "do it"
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cyclic_and_invalid_plans_are_rejected_with_a_clear_error() {
    for (tasks, code) in [
        (vec![task("a", &["b"]), task("b", &["a"])], "plan_cycle"),
        (vec![task("a", &["zzz"])], "plan_unknown_dependency"),
        (vec![task("a", &["a"])], "plan_self_dependency"),
        (vec![], "plan_empty"),
    ] {
        let server = start(Overrides {
            planner: Some(Arc::new(FixedPlanner(tasks))),
            ..Default::default()
        })
        .await;
        let project = server.project(None).await;
        let (run, mut watch) = server.run(&project, EXAMPLE_1).await;
        let error = watch.until_type(EventType::Error).await;
        assert_eq!(error.data["code"], code, "{}", error.data);
        assert!(error.data["message"].as_str().unwrap().len() > 10);
        watch.until_type(EventType::ExecutionSummary).await;
        let (_, snapshot) = server.get(&format!("/api/runs/{run}")).await;
        assert_eq!(snapshot["status"], "failed");
        assert!(watch.of(EventType::TaskStarted).is_empty());
    }
}

/// The run queue through the API: with one execution slot, queued runs stream their position
/// (with an estimated wait) whenever it changes, a premium run overtakes free ones, a run
/// cancelled while queued never starts and moves the others up, and the rest run in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_runs_stream_positions_premium_goes_first_and_cancel_while_queued_works() {
    let gate = GateAgents::new(Arc::new(BuiltinAgents), &["task_1"]);
    let server = start_configured(
        Overrides {
            agents: Some(gate.clone() as Arc<dyn Agents>),
            ..Default::default()
        },
        |c| c.orchestrator.max_concurrent_runs = 1,
    )
    .await;
    let position = |p: u64, len: u64| {
        move |e: &Event| {
            e.kind == EventType::QueuePosition
                && e.data["position"] == p
                && e.data["queueLength"] == len
        }
    };

    // A takes the only slot and is held at task_1.
    let p_a = server.project(None).await;
    let (run_a, mut watch_a) = server.run(&p_a, EXAMPLE_1).await;
    gate.entered("task_1", 1).await;

    // B and C (free) queue behind it.
    let p_b = server.project(None).await;
    let (run_b, mut watch_b) = server.run(&p_b, EXAMPLE_1).await;
    let first = watch_b.until("B at 1 of 1", position(1, 1)).await;
    assert!(
        first.data["estimatedWait"].as_f64().unwrap() > 0.0,
        "an estimated wait is given: {}",
        first.data
    );
    let p_c = server.project(None).await;
    let (run_c, mut watch_c) = server.run(&p_c, EXAMPLE_1).await;
    watch_c.until("C at 2 of 2", position(2, 2)).await;
    let (_, snapshot) = server.get(&format!("/api/runs/{run_c}")).await;
    assert_eq!(snapshot["status"], "queued", "{snapshot}");

    // D belongs to a premium user: it goes to the front, B and C move back.
    let bob = server.inner.user("bob@example.com").await.token;
    let record = server
        .state
        .store
        .set_tier("bob@example.com", Tier::Premium)
        .await
        .unwrap()
        .unwrap();
    server.state.quotas.forget_tier(&record.id);
    let (status, body) = server
        .post_as(&bob, "/api/projects", json!({"name": "Premium"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let p_d = body["project"]["id"].as_str().unwrap().to_string();
    let (run_d, mut watch_d) = server.run_as(&bob, &p_d, EXAMPLE_1).await;
    watch_d.until("D at 1 of 3", position(1, 3)).await;
    watch_b.until("B at 2 of 3", position(2, 3)).await;
    watch_c.until("C at 3 of 3", position(3, 3)).await;

    // Cancelling B while it waits: it never plans, and C moves up.
    let (status, body) = server
        .post(&format!("/api/runs/{run_b}/cancel"), json!({}))
        .await;
    assert_eq!(status, 202, "{body}");
    let cancelled = watch_b.until_type(EventType::RunCancelled).await;
    assert_eq!(cancelled.data["reason"], "cancelled while queued");
    watch_c.until("C at 2 of 2", position(2, 2)).await;
    let (_, snapshot) = server.get(&format!("/api/runs/{run_b}")).await;
    assert_eq!(snapshot["status"], "cancelled", "{snapshot}");
    // Bob cannot cancel Alice's run (it is not his to see).
    let (status, _) = server
        .post_as(&bob, &format!("/api/runs/{run_c}/cancel"), json!({}))
        .await;
    assert_eq!(status, 404);

    // Releasing A frees the slot: D runs next, then C; B never ran.
    gate.release("task_1");
    watch_a.until_type(EventType::ExecutionSummary).await;
    watch_d.until_type(EventType::ExecutionSummary).await;
    watch_c.until("C at 1 of 1", position(1, 1)).await;
    let summary = watch_c.until_type(EventType::ExecutionSummary).await;
    assert_eq!(summary.data["success"], true);
    let (_, d) = server.get_as(&bob, &format!("/api/runs/{run_d}")).await;
    let (_, c) = server.get(&format!("/api/runs/{run_c}")).await;
    assert!(
        d["finishedAt"].as_str().unwrap() <= c["startedAt"].as_str().unwrap(),
        "one slot: D finished before C started ({d} / {c})"
    );
    let said: Vec<(u64, u64)> = watch_c
        .of(EventType::QueuePosition)
        .iter()
        .map(|e| {
            (
                e.data["position"].as_u64().unwrap(),
                e.data["queueLength"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [(2, 2), (3, 3), (2, 2), (1, 1)],
        "each change said once, in order"
    );
    watch_b.catch_up().await;
    assert!(
        watch_b.of(EventType::PlanGenerated).is_empty(),
        "{:?}",
        watch_b.kinds()
    );
    assert_gap_free(&watch_b.seen);
    assert_gap_free(&watch_c.seen);
    let _ = run_a;
}

/// A run never reads as finished before its last event is stored: polling the snapshot in a
/// tight loop, the first terminal status comes with a `lastSeq` whose event is the summary.
/// (The status used to be written first and the summary event after it, a few ms apart.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_status_is_never_seen_before_the_summary_event() {
    let server = start(Overrides::default()).await;
    let prompts = [EXAMPLE_2, "Rephrase nothing: qwertyuiop asdfghjkl"];
    // The window was a few ms wide; several rounds of each make missing it unlikely.
    for prompt in prompts.iter().cycle().take(8).copied() {
        let canvas = (prompt == EXAMPLE_2).then(example_2_canvas);
        let project = server.project(canvas).await;
        let (run, _watch) = server.run(&project, prompt).await;
        let snapshot = loop {
            let (status, body) = server.get(&format!("/api/runs/{run}")).await;
            assert_eq!(status, 200, "{body}");
            let s = body["status"].as_str().unwrap_or_default().to_string();
            if matches!(s.as_str(), "completed" | "failed" | "cancelled") {
                break body;
            }
            tokio::task::yield_now().await;
        };
        let last = snapshot["lastSeq"].as_u64().unwrap();
        let (status, page) = server
            .get(&format!("/api/runs/{run}/events?after=0&wait=0&limit=1000"))
            .await;
        assert_eq!(status, 200, "{page}");
        let kinds: Vec<(u64, String)> = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["seq"].as_u64().unwrap(),
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let at_last = kinds.iter().find(|(seq, _)| *seq == last);
        assert_eq!(
            at_last.map(|(_, k)| k.as_str()),
            Some("executionSummary"),
            "{prompt}: status {} with lastSeq {last}, events {kinds:?}",
            snapshot["status"]
        );
    }
}
