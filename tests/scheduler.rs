//! The scheduler on its own (real SQLite store, test agents): failures reach only dependents,
//! retryable failures are retried, attempts time out, runs cancel, a slow task never delays an
//! unrelated branch, and the concurrency limit holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use youmeyou::server::orchestrator::agents::{AgentError, AgentJob, Agents, TaskOutput};
use youmeyou::server::orchestrator::emitter::Emitter;
use youmeyou::server::orchestrator::scheduler::{CanvasSink, Control, Driver, Outcome, TaskState};
use youmeyou::server::orchestrator::settings::Settings;
use youmeyou::server::orchestrator::testing::{GateAgents, TrivialAgents};
use youmeyou::server::realtime::bus::InProcessBus;
use youmeyou::server::store::sqlite::SqliteStore;
use youmeyou::server::store::{EventStore, RunStore, Store, StoreError};
use youmeyou_core::engine::{context::extract_context, intent::analyse_intent};
use youmeyou_core::model::{Canvas, EventType, Task, TaskStatus};

fn task(id: &str, deps: &[&str]) -> Task {
    serde_json::from_value(json!({
        "id": id, "name": format!("Task {id}"), "type": "CODE_GENERATION", "dependencies": deps,
        "estimatedTime": 1, "agent": "code-001", "prompt": "generate"
    }))
    .unwrap()
}

struct MemoryCanvas;

#[async_trait]
impl CanvasSink for MemoryCanvas {
    async fn load(&self) -> Result<Canvas, StoreError> {
        Ok(Canvas::default())
    }
    async fn save(&self, canvas: &Canvas) -> Result<Canvas, StoreError> {
        Ok(canvas.clone())
    }
}

/// Fails chosen tasks: `fatal` always, `flaky` with a retryable error for the first N attempts,
/// `hang` never answers.
#[derive(Default)]
struct Scripted {
    fatal: Vec<&'static str>,
    flaky: HashMap<&'static str, u32>,
    hang: Vec<&'static str>,
    attempts: Mutex<HashMap<String, u32>>,
}

#[async_trait]
impl Agents for Scripted {
    async fn run(&self, job: AgentJob) -> Result<TaskOutput, AgentError> {
        let id = job.task.id.clone();
        let attempt = {
            let mut map = self.attempts.lock().unwrap();
            let n = map.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if self.hang.contains(&id.as_str()) {
            job.cancel.cancelled().await;
            return Err(AgentError::Cancelled);
        }
        if self.fatal.contains(&id.as_str()) {
            return Err(AgentError::Fatal {
                code: "boom".into(),
                message: "the agent failed".into(),
                action: "edit the step".into(),
            });
        }
        if let Some(&fails) = self.flaky.get(id.as_str()) {
            if attempt <= fails {
                return Err(AgentError::Retryable {
                    code: "rate_limited".into(),
                    message: "try again".into(),
                });
            }
        }
        Ok(TaskOutput {
            summary: format!("{id} done"),
            ..Default::default()
        })
    }
}

struct Harness {
    store: Arc<SqliteStore>,
    run_id: String,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new(tasks: &[Task]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
                .await
                .unwrap(),
        );
        let pool = store.pool();
        for sql in [
            "INSERT INTO users (id, email, password_hash, tier, created_at) VALUES ('u', 'u@x', 'x', 'free', '')",
            "INSERT INTO projects (id, owner_id, name, canvas, canvas_version, created_at, updated_at) VALUES ('p', 'u', 'p', '{}', 0, '', '')",
            "INSERT INTO runs (id, project_id, owner_id, prompt, status, last_seq, created_at) VALUES ('r', 'p', 'u', 'x', 'running', 0, '')",
        ] {
            sqlx::query(sql).execute(pool).await.unwrap();
        }
        store.save_plan("r", tasks, "static", "test").await.unwrap();
        Self {
            store,
            run_id: "r".into(),
            _dir: dir,
        }
    }

    fn driver(&self, tasks: &[Task], agents: Arc<dyn Agents>, settings: Settings) -> Driver {
        let store: Arc<dyn Store> = self.store.clone();
        let emitter = Arc::new(Emitter::new(
            &self.run_id,
            "p",
            store.clone(),
            Arc::new(InProcessBus::new()),
        ));
        let intent = analyse_intent("Build a shop with auth and cart", &Canvas::default()).unwrap();
        let context = extract_context(&Canvas::default(), &intent);
        Driver::new(
            &self.run_id,
            settings,
            store,
            emitter,
            agents,
            Arc::new(MemoryCanvas),
            Arc::new(intent),
            Arc::new(context),
            tasks
                .iter()
                .cloned()
                .map(|t| TaskState::new(t, None, 0, None))
                .collect(),
        )
        .unwrap()
    }

    async fn statuses(&self) -> HashMap<String, TaskStatus> {
        self.store
            .load_tasks(&self.run_id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.task.id, r.task.status))
            .collect()
    }

    async fn events(&self) -> Vec<youmeyou_core::model::Event> {
        self.store
            .events_after(&self.run_id, 0, 10_000)
            .await
            .unwrap()
    }
}

fn fast() -> Settings {
    Settings {
        retry_base: Duration::from_millis(1),
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_failure_fails_its_dependents_while_independent_branches_finish() {
    let tasks = [
        task("a", &[]),
        task("b", &["a"]),
        task("c", &["b"]),
        task("x", &[]),
        task("y", &["x"]),
    ];
    let h = Harness::new(&tasks).await;
    let agents = Arc::new(Scripted {
        fatal: vec!["a"],
        ..Default::default()
    });
    let (_tx, mut rx) = mpsc::channel(1);
    let outcome = h
        .driver(&tasks, agents, fast())
        .execute(&mut rx)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Failed);
    let s = h.statuses().await;
    assert_eq!(s["a"], TaskStatus::Failed);
    assert_eq!(s["b"], TaskStatus::Failed);
    assert_eq!(s["c"], TaskStatus::Failed);
    assert_eq!(s["x"], TaskStatus::Completed);
    assert_eq!(s["y"], TaskStatus::Completed);
    let failed: Vec<_> = h
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == EventType::TaskFailed)
        .collect();
    let b = failed.iter().find(|e| e.data["taskId"] == "b").unwrap();
    assert_eq!(b.data["code"], "dependency_failed");
    assert!(b.data["error"].as_str().unwrap().contains("Task a"));
    let a = failed.iter().find(|e| e.data["taskId"] == "a").unwrap();
    assert_eq!(a.data["suggestedAction"], "edit the step");
}

#[tokio::test]
async fn retryable_failures_are_retried_with_backoff_then_succeed() {
    let tasks = [task("a", &[]), task("b", &["a"])];
    let h = Harness::new(&tasks).await;
    let agents = Arc::new(Scripted {
        flaky: HashMap::from([("a", 2)]),
        ..Default::default()
    });
    let (_tx, mut rx) = mpsc::channel(1);
    let outcome = h
        .driver(&tasks, agents.clone(), fast())
        .execute(&mut rx)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Completed);
    assert_eq!(agents.attempts.lock().unwrap()["a"], 3);
    let retries = h
        .events()
        .await
        .into_iter()
        .filter(|e| e.kind == EventType::TaskProgress && e.data["retry"] == true)
        .count();
    assert_eq!(retries, 2);
}

#[tokio::test]
async fn retries_stop_at_the_limit() {
    let tasks = [task("a", &[])];
    let h = Harness::new(&tasks).await;
    let agents = Arc::new(Scripted {
        flaky: HashMap::from([("a", 100)]),
        ..Default::default()
    });
    let (_tx, mut rx) = mpsc::channel(1);
    let settings = Settings {
        task_retries: 1,
        ..fast()
    };
    let outcome = h
        .driver(&tasks, agents.clone(), settings)
        .execute(&mut rx)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(agents.attempts.lock().unwrap()["a"], 2);
}

#[tokio::test]
async fn an_attempt_that_hangs_times_out() {
    let tasks = [task("a", &[]), task("x", &[])];
    let h = Harness::new(&tasks).await;
    let agents = Arc::new(Scripted {
        hang: vec!["a"],
        ..Default::default()
    });
    let (_tx, mut rx) = mpsc::channel(1);
    let settings = Settings {
        task_timeout: Duration::from_millis(100),
        task_retries: 0,
        ..fast()
    };
    let outcome = h
        .driver(&tasks, agents, settings)
        .execute(&mut rx)
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Failed);
    let failed = h
        .events()
        .await
        .into_iter()
        .find(|e| e.kind == EventType::TaskFailed)
        .unwrap();
    assert_eq!(failed.data["code"], "task_timeout");
    assert_eq!(h.statuses().await["x"], TaskStatus::Completed);
}

#[tokio::test]
async fn a_slow_task_never_delays_an_unrelated_branch() {
    // "slow" is held at its gate for the whole test; the chain b → c → d must finish anyway.
    let tasks = [
        task("slow", &[]),
        task("b", &[]),
        task("c", &["b"]),
        task("d", &["c"]),
    ];
    let h = Harness::new(&tasks).await;
    let gate = GateAgents::new(Arc::new(TrivialAgents), &["slow", "d"]);
    let mut driver = h.driver(&tasks, gate.clone(), fast());
    let (tx, mut rx) = mpsc::channel(1);
    let run = tokio::spawn(async move { driver.execute(&mut rx).await });
    // d only starts after c, which only starts after b: reaching d proves the chain ran while
    // "slow" was still running.
    gate.entered("d", 1).await;
    let s = h.statuses().await;
    assert_eq!(s["slow"], TaskStatus::Running);
    assert_eq!(s["c"], TaskStatus::Completed);
    tx.send(Control::Cancel).await.unwrap();
    assert_eq!(run.await.unwrap().unwrap(), Outcome::Cancelled);
}

#[tokio::test]
async fn the_concurrency_limit_holds_and_cancellation_stops_running_tasks() {
    let tasks: Vec<Task> = (0..5).map(|i| task(&format!("t{i}"), &[])).collect();
    let h = Harness::new(&tasks).await;
    let ids: Vec<String> = tasks.iter().map(|t| t.id.clone()).collect();
    let held: Vec<&str> = ids.iter().map(String::as_str).collect();
    let gate = GateAgents::new(Arc::new(TrivialAgents), &held);
    let settings = Settings {
        max_parallel_tasks: 2,
        ..fast()
    };
    let mut driver = h.driver(&tasks, gate.clone(), settings);
    let (tx, mut rx) = mpsc::channel(1);
    let run = tokio::spawn(async move { driver.execute(&mut rx).await });
    gate.entered("t0", 1).await;
    gate.entered("t1", 1).await;
    let running = h
        .statuses()
        .await
        .values()
        .filter(|s| **s == TaskStatus::Running)
        .count();
    assert_eq!(running, 2, "only two tasks may run at once");
    // Releasing one lets exactly one more start.
    gate.release("t0");
    gate.entered("t2", 1).await;
    let statuses = h.statuses().await;
    let running = statuses
        .values()
        .filter(|s| **s == TaskStatus::Running)
        .count();
    assert!(running <= 2, "the limit was exceeded: {statuses:?}");
    assert_eq!(statuses["t0"], TaskStatus::Completed, "{statuses:?}");
    assert_eq!(statuses["t2"], TaskStatus::Running, "{statuses:?}");
    tx.send(Control::Cancel).await.unwrap();
    assert_eq!(run.await.unwrap().unwrap(), Outcome::Cancelled);
}
