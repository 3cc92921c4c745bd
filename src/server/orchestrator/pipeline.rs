//! One run from start to end: queue → intent analysis → context extraction → route → plan →
//! execution → summary, each phase's result persisted before the next begins, so a run that a
//! crash interrupted resumes at the phase it had reached (completed tasks are never re-run).

use super::agents::TaskOutput;
use super::emitter::{now_iso, Emitter};
use super::planning::RunScope;
use super::queue::{Admission, Slot};
use super::scheduler::{CanvasSink, Control, Driver, Outcome, TaskState};
use super::{Orchestrator, Priority};
use crate::server::store::{runs::RunRecord, RunEnd, StoreError};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::mpsc;
use youmeyou_core::dag::Dag;
use youmeyou_core::engine::context::CanvasContext;
use youmeyou_core::model::{
    Canvas, CanvasChanges, CodeGeneration, EventType, ExecutionSummary, IntentAnalysis, NodeType,
    Plan, PlanPath, RunStatus, TaskStatus,
};
use youmeyou_core::plan;

/// The project's canvas as seen by one run's tasks.
struct ProjectCanvas {
    orchestrator: Arc<Orchestrator>,
    project_id: String,
    run_id: String,
}

#[async_trait::async_trait]
impl CanvasSink for ProjectCanvas {
    async fn load(&self) -> Result<Canvas, StoreError> {
        let project = self
            .orchestrator
            .store
            .get_project(&self.project_id)
            .await?
            .ok_or(StoreError::NotFound("project"))?;
        Ok(project.canvas)
    }

    async fn save(&self, canvas: &Canvas) -> Result<Canvas, StoreError> {
        self.orchestrator
            .store
            .save_canvas(&self.project_id, canvas, None, Some(&self.run_id))
            .await
    }
}

fn status_name(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => "queued",
        RunStatus::Analyzing => "analyzing",
        RunStatus::Planning => "planning",
        RunStatus::Running => "running",
        RunStatus::Completed => "completed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
    }
}

/// Drives one run to its end (or to suspension at shutdown).
pub async fn drive(
    orch: Arc<Orchestrator>,
    run_id: &str,
    emitter: Arc<Emitter>,
    mut control: mpsc::Receiver<Control>,
    priority: Priority,
) -> Result<(), StoreError> {
    let Some(run) = orch.store.get_run(run_id).await? else {
        return Ok(());
    };
    let Some(_slot) = wait_for_slot(&orch, &run, &emitter, &mut control, priority).await? else {
        return Ok(());
    };
    let scope = RunScope {
        run_id: run.id.clone(),
        owner_id: run.owner_id.clone(),
    };
    let canvas_sink = Arc::new(ProjectCanvas {
        orchestrator: orch.clone(),
        project_id: run.project_id.clone(),
        run_id: run.id.clone(),
    });
    if run.started_at.is_none() {
        orch.store
            .set_run_status(
                run_id,
                status_name(RunStatus::Analyzing),
                Some(&now_iso()),
                None,
                None,
            )
            .await?;
    }

    // Intent analysis and context extraction.
    let (intent, context) = match (&run.intent, &run.context) {
        (Some(i), Some(c)) => (
            serde_json::from_value::<IntentAnalysis>(i.clone())?,
            serde_json::from_value::<CanvasContext>(c.clone())?,
        ),
        _ => {
            orch.store
                .set_run_status(run_id, status_name(RunStatus::Analyzing), None, None, None)
                .await?;
            let canvas = canvas_sink.load().await?;
            let intent = match orch.planner.analyse_in(&scope, &run.prompt, &canvas).await {
                Ok(i) => i,
                Err(e) => {
                    return fail_run(&orch, &emitter, run_id, &e.code, &e.message,
                        "Rephrase the request: say what to build or change, e.g. \"Add a search feature\".").await;
                }
            };
            emitter
                .emit(
                    EventType::IntentAnalyzed,
                    json!({
                        "intent": intent.intent, "complexity": intent.complexity, "target": intent.target,
                        "components": intent.components, "metrics": intent.metrics,
                        "estimatedTasks": intent.estimated_tasks,
                    }),
                )
                .await?;
            let context = match orch.planner.context(&canvas, &intent).await {
                Ok(c) => c,
                Err(e) => {
                    return fail_run(
                        &orch,
                        &emitter,
                        run_id,
                        &e.code,
                        &e.message,
                        "Start the run again; if it fails the same way, report it.",
                    )
                    .await;
                }
            };
            let mut data = serde_json::to_value(&context)?;
            if let Value::Object(map) = &mut data {
                map.insert("isEmpty".into(), json!(context.is_empty));
            }
            emitter.emit(EventType::ContextExtracted, data).await?;
            orch.store
                .set_run_analysis(
                    run_id,
                    &serde_json::to_value(&intent)?,
                    &serde_json::to_value(&context)?,
                )
                .await?;
            (intent, context)
        }
    };

    // Routing and planning.
    let mut records = orch.store.load_tasks(run_id).await?;
    if records.is_empty() {
        orch.store
            .set_run_status(run_id, status_name(RunStatus::Planning), None, None, None)
            .await?;
        let choice = match orch
            .planner
            .plan_in(
                &scope,
                &intent,
                &context,
                &run.prompt,
                orch.settings.complexity_threshold,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                return fail_run(
                    &orch,
                    &emitter,
                    run_id,
                    &e.code,
                    &e.message,
                    "Try again, or simplify the request.",
                )
                .await;
            }
        };
        let plan = Plan {
            tasks: choice.tasks.clone(),
        };
        if let Err(e) = plan::validate(&plan) {
            return fail_run(
                &orch,
                &emitter,
                run_id,
                e.code(),
                &e.to_string(),
                "The plan could not be used; try again or rephrase the request.",
            )
            .await;
        }
        let path = match choice.path {
            PlanPath::Static => "static",
            PlanPath::Dynamic => "dynamic",
        };
        orch.store
            .save_plan(run_id, &choice.tasks, path, &choice.reason)
            .await?;
        let dag = Dag::new(&plan).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let critical = dag.critical_path();
        // Non-fatal: e.g. the LLM's plan was unusable and the built-in one is used instead.
        for warning in &choice.warnings {
            emitter
                .emit(
                    EventType::Error,
                    json!({"code": warning.code, "message": warning.message, "fatal": false}),
                )
                .await?;
        }
        let (estimated_usd, planning_cost) = match &choice.llm {
            Some(llm) => (
                llm.estimated_run_usd,
                json!({"usd": choice.cost_usd, "inputTokens": llm.input_tokens, "outputTokens": llm.output_tokens}),
            ),
            None => (estimated_cost(&choice.tasks) + choice.cost_usd, Value::Null),
        };
        emitter
            .emit(
                EventType::PlanGenerated,
                json!({
                    "taskCount": choice.tasks.len(),
                    "path": path,
                    "reason": choice.reason,
                    "template": choice.template,
                    "tasks": choice.tasks,
                    "criticalPath": critical.task_ids,
                    "estimatedTime": critical.total_seconds,
                    "parallelGroups": dag.parallel_groups(),
                    "estimatedCost": estimated_usd,
                    "planningCost": planning_cost,
                }),
            )
            .await?;
        records = orch.store.load_tasks(run_id).await?;
    }

    // Execution.
    orch.store
        .set_run_status(run_id, status_name(RunStatus::Running), None, None, None)
        .await?;
    let resumed = records.iter().any(|r| r.task.status != TaskStatus::Pending);
    let tasks: Vec<TaskState> = records
        .into_iter()
        .map(|r| TaskState::new(r.task, r.output, r.attempts, r.error))
        .collect();
    let plan = Plan {
        tasks: tasks.iter().map(|t| t.task.clone()).collect(),
    };
    let ready = youmeyou_core::dag::ready_set(&plan, &youmeyou_core::dag::statuses(&plan))
        .map(|r| r.len())
        .unwrap_or(0);
    emitter
        .emit(
            EventType::ExecutionStarted,
            json!({
                "parallelTasks": ready, "taskCount": plan.tasks.len(), "resumed": resumed,
                "completedTasks": plan.tasks.iter().filter(|t| t.status == TaskStatus::Completed).count(),
            }),
        )
        .await?;
    let mut driver = Driver::new(
        run_id,
        orch.settings.clone(),
        orch.store.clone(),
        emitter.clone(),
        orch.agents.clone(),
        canvas_sink,
        Arc::new(intent.clone()),
        Arc::new(context),
        tasks,
    )
    .map_err(StoreError::Corrupt)?;
    let outcome = driver.execute(&mut control).await?;
    finish(&orch, &emitter, run_id, &intent, &driver, outcome).await
}

/// Waits for a place in the run queue, streaming `queuePosition`; `None` if cancelled meanwhile.
async fn wait_for_slot(
    orch: &Arc<Orchestrator>,
    run: &RunRecord,
    emitter: &Emitter,
    control: &mut mpsc::Receiver<Control>,
    priority: Priority,
) -> Result<Option<Slot>, StoreError> {
    let mut ticket = match orch.queue.admit(&run.id, priority == Priority::Premium) {
        Admission::Now(slot) => return Ok(Some(slot)),
        Admission::Wait(ticket) => ticket,
    };
    let durations = orch.store.recent_run_durations(20).await?;
    let average = if durations.is_empty() {
        60.0
    } else {
        durations.iter().sum::<f64>() / durations.len() as f64
    };
    let slots = orch.settings.max_concurrent_runs.max(1) as f64;
    let mut told = None;
    loop {
        let position = *ticket.position.borrow_and_update();
        // The watch can wake without a change (its first value); say each position once.
        if told != Some(position) {
            told = Some(position);
            emitter
                .emit(
                    EventType::QueuePosition,
                    json!({
                        "position": position.position,
                        "queueLength": position.length,
                        "estimatedWait": ((position.position as f64 / slots).ceil() * average).round(),
                    }),
                )
                .await?;
        }
        tokio::select! {
            // A grant also drops the queue's position sender: look at the grant first.
            biased;
            granted = &mut ticket.granted => {
                if granted.is_ok() {
                    return Ok(Some(ticket.into_slot()));
                }
                return Ok(None);
            }
            changed = ticket.position.changed() => {
                if changed.is_err() {
                    // The queue let go of this waiter: granted (sent before the sender was
                    // dropped) or removed.
                    return Ok(match (&mut ticket.granted).await {
                        Ok(()) => Some(ticket.into_slot()),
                        Err(_) => None,
                    });
                }
            }
            order = control.recv() => match order {
                Some(Control::Cancel) => {
                    ticket.leave();
                    let end = RunEnd { status: "cancelled".into(), finished_at: now_iso(), error: None };
                    emitter.emit_final(EventType::RunCancelled, json!({"reason": "cancelled while queued"}), end).await?;
                    return Ok(None);
                }
                Some(Control::Suspend) | None => {
                    ticket.leave();
                    return Ok(None);
                }
                Some(Control::Modify { reply, .. }) => {
                    let _ = reply.send(Err("the run has not started yet".into()));
                }
            },
        }
    }
}

async fn fail_run(
    orch: &Orchestrator,
    emitter: &Emitter,
    run_id: &str,
    code: &str,
    message: &str,
    action: &str,
) -> Result<(), StoreError> {
    emitter
        .emit(
            EventType::Error,
            json!({"code": code, "message": message, "suggestedAction": action, "fatal": true}),
        )
        .await?;
    let summary = ExecutionSummary {
        success: false,
        next_steps: vec![action.to_string()],
        ..Default::default()
    };
    orch.store
        .set_summary(run_id, &serde_json::to_value(&summary)?)
        .await?;
    // The summary event and the terminal status in one transaction, status last.
    emitter
        .emit_final(
            EventType::ExecutionSummary,
            serde_json::to_value(&summary)?,
            RunEnd {
                status: "failed".into(),
                finished_at: now_iso(),
                error: Some(message.to_string()),
            },
        )
        .await?;
    Ok(())
}

/// USD, from the built-in cost model (agent-seconds); an LLM planner adds its own estimate.
fn estimated_cost(tasks: &[youmeyou_core::model::Task]) -> f64 {
    let model = youmeyou_core::impact::CostModel::default();
    let seconds: f64 = tasks.iter().map(|t| f64::from(t.estimated_time)).sum();
    ((seconds * model.usd_per_task_second + tasks.len() as f64 * model.usd_per_regenerated_task)
        * 100.0)
        .round()
        / 100.0
}

async fn finish(
    orch: &Orchestrator,
    emitter: &Emitter,
    run_id: &str,
    intent: &IntentAnalysis,
    driver: &Driver,
    outcome: Outcome,
) -> Result<(), StoreError> {
    if outcome == Outcome::Suspended {
        return Ok(());
    }
    let finished = now_iso();
    if outcome == Outcome::Cancelled {
        for state in driver.tasks() {
            if !state.task.status.is_terminal() {
                let mut record = crate::server::store::runs::TaskRecord {
                    task: state.task.clone(),
                    position: 0,
                    attempts: state.attempts,
                    output: state.output.as_deref().cloned(),
                    error: Some("cancelled".into()),
                };
                record.task.status = TaskStatus::Cancelled;
                orch.store.update_task(run_id, &record).await?;
            }
        }
        emitter
            .emit(
                EventType::RunCancelled,
                json!({"reason": "cancelled by the user"}),
            )
            .await?;
    }
    let run = orch.store.get_run(run_id).await?;
    let files = orch.store.all_files(run_id).await?;
    let summary = summarise(intent, driver, &files, run.as_ref(), outcome);
    let mut summary = serde_json::to_value(&summary)?;
    let records = orch.store.load_tasks(run_id).await?;
    let cost = super::snapshot::run_cost(orch.store.as_ref(), run_id, &records).await?;
    if let Value::Object(map) = &mut summary {
        map.insert("cost".into(), cost.to_json());
    }
    orch.store.set_summary(run_id, &summary).await?;
    let status = match outcome {
        Outcome::Completed => "completed",
        Outcome::Cancelled => "cancelled",
        _ => "failed",
    };
    let error = (outcome == Outcome::Failed).then(|| "one or more tasks failed".to_string());
    // The summary event and the terminal status in one transaction, status last.
    emitter
        .emit_final(
            EventType::ExecutionSummary,
            summary,
            RunEnd {
                status: status.into(),
                finished_at: finished,
                error,
            },
        )
        .await?;
    Ok(())
}

fn summarise(
    intent: &IntentAnalysis,
    driver: &Driver,
    files: &[youmeyou_core::model::GeneratedFile],
    run: Option<&RunRecord>,
    outcome: Outcome,
) -> ExecutionSummary {
    let outputs: Vec<&TaskOutput> = driver
        .tasks()
        .iter()
        .filter_map(|t| t.output.as_deref())
        .collect();
    let mut nodes = BTreeSet::new();
    let mut services = BTreeSet::new();
    let mut edges = BTreeSet::new();
    for output in &outputs {
        for node in output
            .patch
            .upsert_nodes
            .iter()
            .chain(output.patch.replace_nodes.iter().map(|(_, n)| n))
        {
            nodes.insert(node.id.clone());
            if node.kind == NodeType::Microservice {
                services.insert(node.id.clone());
            }
        }
        for edge in &output.patch.add_edges {
            edges.insert((edge.source.clone(), edge.target.clone()));
        }
    }
    let lines: usize = files.iter().map(|f| f.content.lines().count()).sum();
    let components = files
        .iter()
        .filter(|f| f.path.ends_with(".jsx") || f.path.ends_with(".tsx"))
        .count();
    let total_ms = run
        .and_then(|r| r.started_at.as_deref())
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|start| {
            (chrono::Utc::now() - start.with_timezone(&chrono::Utc))
                .num_milliseconds()
                .max(0) as u64
        })
        .unwrap_or(0);
    let completed = driver
        .tasks()
        .iter()
        .filter(|t| t.task.status == TaskStatus::Completed)
        .count();
    let next_steps = match outcome {
        Outcome::Completed => youmeyou_core::engine::summary::next_steps(intent),
        Outcome::Cancelled => vec!["Start a new run when you are ready".into()],
        _ => vec![
            "Open the failed task to read its error".into(),
            "Edit the request and run it again".into(),
        ],
    };
    ExecutionSummary {
        total_time: total_ms,
        tasks_completed: completed as u32,
        success: outcome == Outcome::Completed,
        canvas_changes: CanvasChanges {
            components_added: nodes.len() as u32,
            connections_created: edges.len() as u32,
            nodes_generated: nodes.len() as u32,
        },
        code_generation: CodeGeneration {
            files_generated: files.len() as u32,
            lines_of_code: lines as u32,
            services: services.len() as u32,
            components: components as u32,
        },
        next_steps,
    }
}
