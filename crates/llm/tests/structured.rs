//! Validated structured output and budgets over a real local OpenAI-compatible server: bad
//! answers are repaired with the model's own answer and the reason, at most twice, and a
//! run's budget refuses calls that could overshoot it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use serde::Deserialize;
use youmeyou_llm::{
    generate_validated, prompts, Budget, BudgetedProvider, CompletionRequest, LlmError,
    OpenAiProvider, Pricing, Provider, ProviderKind, ResilientProvider, Role,
};

#[derive(Debug, Deserialize)]
struct Plan {
    tasks: Vec<Task>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    id: String,
    dependencies: Vec<String>,
}

/// A small stand-in for the app's plan validation: parse, then reject dependency cycles.
fn validate_plan(text: &str) -> Result<Plan, String> {
    let plan: Plan = serde_json::from_str(text).map_err(|e| format!("not a plan: {e}"))?;
    let deps: HashMap<&str, &[String]> = plan
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), t.dependencies.as_slice()))
        .collect();
    fn visit<'a>(
        id: &'a str,
        deps: &HashMap<&'a str, &'a [String]>,
        path: &mut Vec<&'a str>,
    ) -> Result<(), String> {
        if path.contains(&id) {
            path.push(id);
            return Err(format!("dependency cycle: {}", path.join(" -> ")));
        }
        path.push(id);
        for dep in deps.get(id).copied().unwrap_or_default() {
            visit(dep, deps, path)?;
        }
        path.pop();
        Ok(())
    }
    for task in &plan.tasks {
        visit(&task.id, &deps, &mut Vec::new())?;
    }
    Ok(plan)
}

const CYCLIC: &str = r#"{"tasks":[{"id":"task_1","dependencies":["task_2"]},{"id":"task_2","dependencies":["task_1"]}]}"#;
const GOOD: &str =
    r#"{"tasks":[{"id":"task_1","dependencies":[]},{"id":"task_2","dependencies":["task_1"]}]}"#;

fn client(server: &FakeProvider) -> ResilientProvider {
    let config = config(ProviderKind::OpenAi, &server.url("/v1"));
    let wire = Arc::new(OpenAiProvider::new(&config).unwrap());
    ResilientProvider::new(wire, config.retry, config.breaker).with_rng_seed(1)
}

fn plan_request() -> CompletionRequest {
    prompts::PLANNER_V1
        .request(
            &[
                ("intent_json", r#"{"intent":"BUILD_FROM_SCRATCH"}"#),
                ("canvas_summary", "(empty)"),
                ("max_tasks", "8"),
            ],
            "Build an e-commerce platform",
        )
        .unwrap()
}

/// Every request the server saw was well formed, and the key never reached the logs.
fn assert_wire(server: &FakeProvider, logs: &Logs, model: &str, json: bool) {
    let received = server.received();
    assert!(!received.is_empty(), "the server saw no request");
    for got in &received {
        assert_eq!(got.body["model"], model);
        assert_eq!(got.body["stream"], true);
        assert_eq!(
            got.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(got.body.get("response_format").is_some(), json);
    }
    let logs = logs.text();
    assert!(!logs.contains(KEY), "the key leaked into the logs: {logs}");
}

#[tokio::test]
async fn a_cyclic_plan_is_repaired_with_the_reason() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::stream(openai_answer(&[CYCLIC], 100, 30)),
        Reply::stream(openai_answer(&[GOOD], 160, 30)),
    ])
    .await;
    let provider = client(&server);
    let validated = generate_validated(&provider, plan_request(), validate_plan, 2)
        .await
        .unwrap();
    assert_eq!(validated.repairs, 1);
    assert_eq!(validated.value.tasks.len(), 2);
    assert_eq!(
        validated.usage.input_tokens, 260,
        "both attempts are paid for"
    );
    assert_eq!(validated.completion.text, GOOD);

    let received = server.received();
    assert_eq!(received.len(), 2);
    let repair = &received[1].body["messages"];
    let n = repair.as_array().unwrap().len();
    assert_eq!(
        n, 4,
        "system, user, the rejected answer, the repair request"
    );
    assert_eq!(repair[2]["role"], "assistant");
    assert_eq!(repair[2]["content"], CYCLIC);
    assert_eq!(repair[3]["role"], "user");
    let ask = repair[3]["content"].as_str().unwrap();
    assert!(
        ask.contains("dependency cycle"),
        "the reason is shown: {ask}"
    );
    for got in &received {
        assert_eq!(got.body["model"], "model-planner");
        assert_eq!(got.body["response_format"]["type"], "json_object");
        assert_eq!(got.body["stream"], true);
        assert_eq!(
            got.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn invalid_json_is_repaired_on_the_second_try() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::stream(openai_answer(
            &["Sure! Here is the plan: {\"tasks\": [", "oops"],
            10,
            5,
        )),
        // Fenced JSON is accepted: the fences are stripped before validation.
        Reply::stream(openai_answer(&["```json\n", GOOD, "\n```"], 20, 5)),
    ])
    .await;
    let provider = client(&server);
    let validated = generate_validated(&provider, plan_request(), validate_plan, 2)
        .await
        .unwrap();
    assert_eq!(validated.repairs, 1);
    assert_eq!(validated.value.tasks[1].dependencies, vec!["task_1"]);
    let received = server.received();
    let ask = received[1].body["messages"][3]["content"].as_str().unwrap();
    assert!(ask.contains("not valid JSON"), "{ask}");
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn exhausted_repairs_return_every_reason() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::stream(openai_answer(&["not json"], 1, 1)),
        Reply::stream(openai_answer(&[CYCLIC], 1, 1)),
        Reply::stream(openai_answer(&[r#"{"tasks": 3}"#], 1, 1)),
        Reply::stream(openai_answer(&[GOOD], 1, 1)),
    ])
    .await;
    let provider = client(&server);
    let err = generate_validated(&provider, plan_request(), validate_plan, 2)
        .await
        .unwrap_err();
    match &err {
        LlmError::InvalidOutput { reasons } => {
            assert_eq!(reasons.len(), 3, "{reasons:?}");
            assert!(reasons[0].contains("not valid JSON"));
            assert!(reasons[1].contains("dependency cycle"));
            assert!(reasons[2].contains("not a plan"));
        }
        other => panic!("expected invalid_output, got {other:?}"),
    }
    assert_eq!(err.code(), "invalid_output");
    assert_eq!(
        server.hits(),
        3,
        "1 try + 2 repairs, then the caller falls back"
    );
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn provider_errors_end_the_repair_loop_at_once() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![Reply::status(401, "{}")]).await;
    let provider = client(&server);
    let err = generate_validated(&provider, plan_request(), validate_plan, 2)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "auth_failed");
    assert_eq!(server.hits(), 1);
    assert_wire(&server, &logs, "model-planner", true);
}

#[tokio::test]
async fn the_run_budget_refuses_calls_that_could_exceed_it() {
    let (logs, _guard) = capture_logs();
    let server = FakeProvider::start(vec![
        Reply::stream(openai_answer(&["first"], 1000, 500)),
        Reply::stream(openai_answer(&["never sent"], 1, 1)),
    ])
    .await;
    let shared: Arc<dyn Provider> = Arc::new(client(&server));
    let pricing = Pricing {
        input_per_1k_usd: 0.01,
        output_per_1k_usd: 0.03,
    };
    // Worst case of one call: ~0 input + 100 output tokens = $0.003; actual first call:
    // 1000 in + 500 out = $0.025.
    let run = BudgetedProvider::new(shared, pricing, 100, Budget::new(Some(0.027)));
    let request = CompletionRequest::new(Role::Code, "", "go");
    let first = run.complete(&request, &mut |_| {}).await.unwrap();
    assert_eq!(first.text, "first");
    assert!(
        (run.spent_usd() - 0.025).abs() < 1e-9,
        "spent {}",
        run.spent_usd()
    );
    assert_eq!(run.usage().total_tokens(), 1500);

    let err = run.complete(&request, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "budget_exceeded");
    assert!(!err.retryable());
    assert!(err.suggested_action().contains("YOUMEYOU_LLM_BUDGET_USD"));
    assert_eq!(
        server.hits(),
        1,
        "the refused call never reached the provider"
    );
    assert_wire(&server, &logs, "model-code", false);
}
