//! The run snapshot of `GET /api/runs/{id}`: everything a client needs to draw a run from
//! scratch (after a refresh, or when its history is gone), in the contract's shape.

use crate::server::store::{Store, StoreError};
use serde_json::{json, Value};
use youmeyou_core::model::Task;

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
    let cost: f64 = records
        .iter()
        .filter_map(|r| r.output.as_ref())
        .map(|o| o.cost_usd)
        .sum();
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
        "cost": {"usd": cost},
        "createdAt": run.created_at,
        "startedAt": run.started_at,
        "finishedAt": run.finished_at,
        "lastSeq": run.last_seq,
    })))
}
