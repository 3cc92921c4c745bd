//! Editing a step while the run goes on (Example 3): validate the edit (run active, task known,
//! at most N edits per task, cooldown, non-empty prompt), analyse its impact (which dependents
//! must regenerate and why, extra time and cost) and hand back a confirm token; on
//! confirmation, tell the run's driver to restart the task and regenerate only the affected.

use super::emitter::now_iso;
use super::scheduler::Control;
use super::Orchestrator;
use crate::server::error::ApiError;
use crate::server::security::input;
use crate::server::store::runs::RunRef;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use youmeyou_core::engine::edit;
use youmeyou_core::impact::{self, ImpactContext};
use youmeyou_core::model::{EventType, ImpactReport, Modification, Plan, TaskStatus};

/// Confirm tokens kept at most (oldest expire first).
const MAX_PENDING: usize = 10_000;

struct PendingEdit {
    run_id: String,
    task_id: String,
    prompt: String,
    report: ImpactReport,
    expires: Instant,
}

#[derive(Default)]
pub struct Confirmations {
    pending: Mutex<HashMap<String, PendingEdit>>,
}

impl Confirmations {
    fn insert(&self, token: String, edit: PendingEdit) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        map.retain(|_, e| e.expires > now);
        if map.len() >= MAX_PENDING {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(token, edit);
    }

    fn take(&self, token: &str) -> Option<PendingEdit> {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(token).filter(|e| e.expires > Instant::now())
    }
}

fn rule(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Rule {
        code,
        message: message.into(),
        retry_after: None,
    }
}

/// What validation found: the plan as stored and the edited task's position.
struct Checked {
    plan: Plan,
    index: usize,
    modifications_left: u32,
    /// Where each data domain lives in this run (its features and the canvas' services).
    homes: youmeyou_core::domains::HomeMap,
}

impl Orchestrator {
    async fn check_edit(
        &self,
        run: &RunRef,
        task_id: &str,
        prompt: &str,
    ) -> Result<Checked, ApiError> {
        let status = run.status.as_str();
        if matches!(status, "completed" | "failed" | "cancelled") || !self.is_active(&run.id) {
            return Err(rule(
                "run_finished",
                "The run has finished; steps can only be edited while it runs. Start a new run instead.",
            ));
        }
        // The same rule as a run's prompt (docs/LIMITS.md): 1–4,000 characters, no control
        // characters but line breaks and tabs.
        let prompt = input::prompt(prompt)?;
        let prompt = prompt.as_str();
        let records = self.store.load_tasks(&run.id).await?;
        if records.is_empty() {
            return Err(rule(
                "unknown_task",
                "The run has no plan yet; wait for planGenerated, then edit a step.",
            ));
        }
        let Some(index) = records.iter().position(|r| r.task.id == task_id) else {
            return Err(rule(
                "unknown_task",
                format!("The run has no task \"{task_id}\"."),
            ));
        };
        let task = &records[index].task;
        if task.status == TaskStatus::Failed || task.status == TaskStatus::Cancelled {
            return Err(rule(
                "run_finished",
                "This step has already failed; start a new run to change it.",
            ));
        }
        let max = self.settings.max_modifications;
        if task.modification_count >= max {
            return Err(rule(
                "modification_limit",
                format!(
                    "\"{}\" has been edited {max} times already, the most a step allows.",
                    task.name
                ),
            ));
        }
        if prompt == task.prompt.trim() {
            return Err(rule(
                "invalid_prompt",
                "The new prompt is the same as the current one; change it first.",
            ));
        }
        let modifications = self.store.list_modifications(&run.id).await?;
        if let Some(last) = modifications
            .iter()
            .filter(|m| m.task_id == task_id)
            .map(|m| m.timestamp.as_str())
            .max()
        {
            if let Ok(last) = chrono::DateTime::parse_from_rfc3339(last) {
                let since = chrono::Utc::now() - last.with_timezone(&chrono::Utc);
                let cooldown =
                    chrono::Duration::from_std(self.settings.edit_cooldown).unwrap_or_default();
                if since < cooldown {
                    let wait = (cooldown - since).num_milliseconds().max(0) as u64;
                    let secs = wait.div_ceil(1000).max(1);
                    return Err(ApiError::Rule {
                        code: "cooldown_active",
                        message: format!(
                            "This step was just edited; wait {secs} s before editing it again."
                        ),
                        retry_after: Some(secs),
                    });
                }
            }
        }
        let record = self.store.get_run(&run.id).await?;
        let intent = record
            .as_ref()
            .and_then(|r| r.intent.clone())
            .and_then(|i| serde_json::from_value::<youmeyou_core::model::IntentAnalysis>(i).ok());
        let context = record
            .as_ref()
            .and_then(|r| r.context.clone())
            .and_then(|c| {
                serde_json::from_value::<youmeyou_core::engine::context::CanvasContext>(c).ok()
            });
        let homes = match (intent, context) {
            (Some(i), Some(c)) => youmeyou_core::engine::home_map(&i, &c),
            _ => youmeyou_core::domains::HomeMap::default(),
        };
        Ok(Checked {
            homes,
            modifications_left: max - task.modification_count,
            plan: Plan {
                tasks: records.into_iter().map(|r| r.task).collect(),
            },
            index,
        })
    }

    fn analyse_impact(&self, checked: &Checked, prompt: &str) -> Result<ImpactReport, ApiError> {
        let task = &checked.plan.tasks[checked.index];
        let changed = edit::changed_outputs(task, &task.prompt, prompt);
        let now = chrono::Utc::now();
        let elapsed: BTreeMap<String, u32> = checked
            .plan
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Running)
            .filter_map(|t| {
                let started =
                    chrono::DateTime::parse_from_rfc3339(t.started_at.as_deref()?).ok()?;
                let secs = (now - started.with_timezone(&chrono::Utc))
                    .num_seconds()
                    .max(0);
                // Wall seconds under pacing are estimated seconds × pace.
                let scaled = if self.settings.pace > 0.0 {
                    secs as f64 / self.settings.pace
                } else {
                    0.0
                };
                Some((t.id.clone(), scaled.round() as u32))
            })
            .collect();
        let context = ImpactContext {
            modifications_left: checked.modifications_left,
            elapsed_secs: elapsed,
            // A wider prompt takes longer (e.g. more tables to design).
            edited_estimated_time: edit::estimated_time_for_prompt(task, prompt),
            ..Default::default()
        };
        impact::analyse(&checked.plan, &task.id, &changed, &checked.homes, &context)
            .map_err(|e| rule("unknown_task", e.to_string()))
    }

    /// `POST /api/runs/{id}/tasks/{taskId}/impact`: validation + impact analysis + confirm token.
    pub async fn impact(
        &self,
        run: &RunRef,
        task_id: &str,
        prompt: &str,
    ) -> Result<Value, ApiError> {
        let lock = self.edit_lock_of(&run.id).ok_or_else(|| {
            rule(
                "run_finished",
                "The run has finished; start a new run instead.",
            )
        })?;
        let _guard = lock.lock().await;
        let checked = self.check_edit(run, task_id, prompt).await?;
        let report = self.analyse_impact(&checked, prompt)?;
        if let Some(emitter) = self.emitter_of(&run.id) {
            emitter
                .emit(
                    EventType::ModificationValidated,
                    json!({"taskId": task_id, "modificationsLeft": report.modifications_left}),
                )
                .await?;
            emitter
                .emit(
                    EventType::ImpactAnalysis,
                    json!({
                        "taskId": task_id,
                        "affectedTasks": report.affected_tasks.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
                        "impacts": report.affected_tasks,
                        "unaffectedTasks": report.unaffected_tasks,
                        "additionalTime": report.additional_time,
                        "costIncrease": report.cost_increase,
                        "changedOutputs": report.changed_outputs,
                    }),
                )
                .await?;
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.confirmations.insert(
            token.clone(),
            PendingEdit {
                run_id: run.id.clone(),
                task_id: task_id.to_string(),
                prompt: prompt.trim().to_string(),
                report: report.clone(),
                expires: Instant::now() + self.settings.confirm_ttl,
            },
        );
        let mut body = serde_json::to_value(&report).map_err(|e| ApiError::Internal(e.into()))?;
        if let Value::Object(map) = &mut body {
            map.insert("confirmToken".into(), json!(token));
            map.insert(
                "cooldownSeconds".into(),
                json!(self.settings.edit_cooldown.as_secs()),
            );
            map.insert(
                "maxModifications".into(),
                json!(self.settings.max_modifications),
            );
        }
        Ok(body)
    }

    /// `POST /api/runs/{id}/tasks/{taskId}/modifications`: applies a confirmed edit.
    pub async fn modify(
        &self,
        run: &RunRef,
        task_id: &str,
        prompt: &str,
        confirm_token: &str,
    ) -> Result<Modification, ApiError> {
        let lock = self.edit_lock_of(&run.id).ok_or_else(|| {
            rule(
                "run_finished",
                "The run has finished; start a new run instead.",
            )
        })?;
        let _guard = lock.lock().await;
        let checked = self.check_edit(run, task_id, prompt).await?;
        let pending = self.confirmations.take(confirm_token).ok_or_else(|| {
            rule(
                "invalid_confirm_token",
                "The confirmation has expired or was already used; analyse the impact again.",
            )
        })?;
        if pending.run_id != run.id || pending.task_id != task_id || pending.prompt != prompt.trim()
        {
            return Err(rule(
                "invalid_confirm_token",
                "The confirmation was given for another step or prompt; analyse the impact of this edit again.",
            ));
        }
        // The plan may have moved on since the analysis: recompute against the current state.
        let report = self
            .analyse_impact(&checked, prompt)
            .unwrap_or(pending.report);
        let task = &checked.plan.tasks[checked.index];
        let modification = Modification {
            id: uuid::Uuid::new_v4().simple().to_string(),
            task_id: task_id.to_string(),
            timestamp: now_iso(),
            change: edit::summarise_change(&task.prompt, prompt),
            old_prompt: task.prompt.clone(),
            new_prompt: prompt.trim().to_string(),
            affected_tasks: report.affected_tasks,
        };
        let (reply, answer) = oneshot::channel();
        self.send(
            &run.id,
            Control::Modify {
                modification: modification.clone(),
                reply,
            },
        )
        .await?;
        match tokio::time::timeout(Duration::from_secs(30), answer).await {
            Ok(Ok(Ok(()))) => Ok(modification),
            Ok(Ok(Err(message))) => Err(rule("run_finished", message)),
            _ => Err(rule(
                "run_finished",
                "The run ended before the edit could be applied.",
            )),
        }
    }
}
