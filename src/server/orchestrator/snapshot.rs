//! The run snapshot of `GET /api/runs/{id}`: everything a client needs to draw a run from
//! scratch (after a refresh, or when its history is gone), in the contract's shape.

use crate::server::store::{runs::TaskRecord, Store, StoreError};
use serde_json::{json, Value};
use youmeyou_core::model::{EventType, Task};

pub async fn build(store: &dyn Store, run_id: &str) -> Result<Option<Value>, StoreError> {
    let Some(run) = store.get_run(run_id).await? else {
        return Ok(None);
    };
    let records = store.load_tasks(run_id).await?;
    let modifications = store.list_modifications(run_id).await?;
    let tasks: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut value = serde_json::to_value::<&Task>(&r.task).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut value {
                map.insert("attempts".into(), json!(r.attempts));
                map.insert("error".into(), json!(r.error));
                map.insert(
                    "result".into(),
                    json!(r.output.as_ref().map(|o| o.summary.clone())),
                );
                map.insert(
                    "files".into(),
                    json!(r
                        .output
                        .as_ref()
                        .map(|o| o.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>())
                        .unwrap_or_default()),
                );
            }
            value
        })
        .collect();
    let cost = if run.path.is_some() {
        run_cost(store, run_id, &records).await?
    } else {
        RunCost::default()
    };
    Ok(Some(json!({
        "id": run.id,
        "projectId": run.project_id,
        "prompt": run.prompt,
        "status": run.status,
        "intent": run.intent,
        "context": run.context,
        "path": run.path,
        "pathReason": run.path_reason,
        "plan": {"tasks": tasks},
        "modifications": modifications,
        "summary": run.summary,
        "error": run.error,
        "cost": cost.to_json(),
        "createdAt": run.created_at,
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
        "lastSeq": run.last_seq,
    })))
}

/// What a run's LLM calls cost so far: its tasks' outputs plus planning.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunCost {
    /// USD, tasks and planning.
    pub usd: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub planning_usd: f64,
    /// The estimate announced with the plan (`planGenerated.estimatedCost`).
    pub estimated_usd: Option<f64>,
}

impl RunCost {
    /// `{usd, inputTokens, outputTokens, planningUsd, estimatedUsd}`.
    pub fn to_json(&self) -> Value {
        json!({
            "usd": self.usd,
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "planningUsd": self.planning_usd,
            "estimatedUsd": self.estimated_usd,
        })
    }
}

/// Events read at most to find a run's `planGenerated` (queue positions come before it).
const PLAN_EVENT_SCAN: u64 = 2000;

/// Sums the task outputs of `records` and adds planning, read from the persisted
/// `planGenerated` event (`planningCost`), so the figure survives restarts.
pub async fn run_cost(
    store: &dyn Store,
    run_id: &str,
    records: &[TaskRecord],
) -> Result<RunCost, StoreError> {
    let mut cost = RunCost::default();
    for output in records.iter().filter_map(|r| r.output.as_ref()) {
        cost.usd += output.cost_usd;
        cost.input_tokens += output.input_tokens;
        cost.output_tokens += output.output_tokens;
    }
    let mut after = 0;
    while after < PLAN_EVENT_SCAN {
        let page = store.events_after(run_id, after, 200).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.seq;
        if let Some(plan) = page.iter().find(|e| e.kind == EventType::PlanGenerated) {
            let planning = &plan.data["planningCost"];
            cost.planning_usd = planning["usd"].as_f64().unwrap_or(0.0);
            cost.usd += cost.planning_usd;
            cost.input_tokens += planning["inputTokens"].as_u64().unwrap_or(0);
            cost.output_tokens += planning["outputTokens"].as_u64().unwrap_or(0);
            cost.estimated_usd = plan.data["estimatedCost"].as_f64();
            break;
        }
    }
    Ok(cost)
}
