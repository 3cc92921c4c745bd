//! Executes a run's plan: every task starts the moment its own dependencies have completed (no
//! lock-step supersteps), up to a concurrency limit, with a timeout per attempt, retries with
//! backoff for retryable failures, failure propagation to dependents only, cancellation, and
//! mid-run edits that restart one task and regenerate only the affected dependents.
//!
//! One driver task per run owns all state; agents run in a `JoinSet` and only send signals, so
//! every store write and every event of the run happens here, in order.

use super::agents::{AgentError, AgentJob, Agents, TaskOutput, TaskSignal};
use super::emitter::{now_iso, Emitter};
use super::settings::Settings;
use crate::server::store::{runs::TaskRecord, Store, StoreError};
use rand::Rng;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use youmeyou_core::canvas;
use youmeyou_core::dag::Dag;
use youmeyou_core::engine::context::CanvasContext;
use youmeyou_core::model::{
    Canvas, EventType, GeneratedFile, ImpactLevel, IntentAnalysis, Modification, NewEvent, Plan,
    Task, TaskImpact, TaskStatus, TaskType,
};

/// Orders from outside the driver (HTTP handlers, shutdown).
#[derive(Debug)]
pub enum Control {
    /// Stop the run: running tasks are stopped, nothing new starts.
    Cancel,
    /// Apply a confirmed edit: restart `task_id` with `prompt`, regenerate `affected`.
    Modify {
        modification: Modification,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The process is stopping: stop tasks without marking anything (resume will re-run them).
    Suspend,
}

/// How the execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Failed,
    Cancelled,
    Suspended,
}

/// Where a run's canvas goes when a task changes it.
#[async_trait::async_trait]
pub trait CanvasSink: Send + Sync {
    async fn load(&self) -> Result<Canvas, StoreError>;
    async fn save(&self, canvas: &Canvas) -> Result<Canvas, StoreError>;
}

pub struct TaskState {
    pub task: Task,
    pub output: Option<Arc<TaskOutput>>,
    pub attempts: u32,
    pub error: Option<String>,
    /// Bumped each time the task is (re)started; results of older generations are ignored.
    generation: u32,
}

impl TaskState {
    pub fn new(
        task: Task,
        output: Option<TaskOutput>,
        attempts: u32,
        error: Option<String>,
    ) -> Self {
        Self {
            task,
            output: output.map(Arc::new),
            attempts,
            error,
            generation: 0,
        }
    }
}

struct Running {
    generation: u32,
    cancel: CancellationToken,
    abort: AbortHandle,
    started: Instant,
}

struct Finished {
    index: usize,
    generation: u32,
    result: Result<TaskOutput, AgentError>,
}

pub struct Driver {
    pub run_id: String,
    settings: Settings,
    store: Arc<dyn Store>,
    emitter: Arc<Emitter>,
    agents: Arc<dyn Agents>,
    canvas: Arc<dyn CanvasSink>,
    intent: Arc<IntentAnalysis>,
    context: Arc<CanvasContext>,
    dag: Dag,
    tasks: Vec<TaskState>,
    running: HashMap<usize, Running>,
    join: JoinSet<Finished>,
    signals_tx: mpsc::Sender<(usize, u32, TaskSignal)>,
    signals_rx: mpsc::Receiver<(usize, u32, TaskSignal)>,
    /// Tasks whose ancestors were edited: dispatch needs every ancestor done, not just parents.
    edited: bool,
    /// Tasks completed during this execution (for the summary).
    pub completed_now: usize,
    /// Longest path (seconds) from each task to the end of the plan, the task included.
    rank: Vec<u64>,
}

/// Signals buffered per run before agents wait (progress is small and bursts are short).
const SIGNAL_BUFFER: usize = 256;

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        run_id: &str,
        settings: Settings,
        store: Arc<dyn Store>,
        emitter: Arc<Emitter>,
        agents: Arc<dyn Agents>,
        canvas: Arc<dyn CanvasSink>,
        intent: Arc<IntentAnalysis>,
        context: Arc<CanvasContext>,
        tasks: Vec<TaskState>,
    ) -> Result<Self, String> {
        let plan = Plan {
            tasks: tasks.iter().map(|t| t.task.clone()).collect(),
        };
        let dag = Dag::new(&plan).map_err(|e| e.to_string())?;
        let (signals_tx, signals_rx) = mpsc::channel(SIGNAL_BUFFER);
        let edited = tasks.iter().any(|t| t.task.modification_count > 0);
        let mut rank = vec![0u64; dag.len()];
        for &i in dag.topological_order().iter().rev() {
            let tail = dag
                .dependents(i)
                .iter()
                .map(|&d| rank[d])
                .max()
                .unwrap_or(0);
            rank[i] = dag.duration(i) + tail;
        }
        Ok(Self {
            run_id: run_id.to_string(),
            settings,
            store,
            emitter,
            agents,
            canvas,
            intent,
            context,
            dag,
            tasks,
            running: HashMap::new(),
            join: JoinSet::new(),
            signals_tx,
            signals_rx,
            edited,
            completed_now: 0,
            rank,
        })
    }

    pub fn tasks(&self) -> &[TaskState] {
        &self.tasks
    }

    /// Runs until every task is completed or failed, or the run is cancelled or suspended.
    pub async fn execute(
        &mut self,
        control: &mut mpsc::Receiver<Control>,
    ) -> Result<Outcome, StoreError> {
        // Tasks that were running when the process died start again from scratch.
        for i in 0..self.tasks.len() {
            if self.tasks[i].task.status == TaskStatus::Running {
                self.tasks[i].task.status = TaskStatus::Pending;
                self.persist(i).await?;
            }
        }
        let mut first_round = true;
        loop {
            let started = self.dispatch().await?;
            if first_round && !started.is_empty() {
                let names: Vec<&str> = started
                    .iter()
                    .map(|&i| self.tasks[i].task.id.as_str())
                    .collect();
                self.emitter
                    .emit(EventType::TasksStarted, json!({"taskIds": names}))
                    .await?;
            }
            first_round = false;
            if self.running.is_empty() {
                return Ok(self.outcome());
            }
            tokio::select! {
                Some(finished) = self.join.join_next() => {
                    match finished {
                        Ok(finished) => self.on_finished(finished).await?,
                        // Aborted attempts (edits, cancellation) are already accounted for.
                        Err(e) if e.is_cancelled() => {}
                        Err(e) => tracing::error!(run = %self.run_id, error = %e, "agent task panicked"),
                    }
                }
                Some((index, generation, signal)) = self.signals_rx.recv() => {
                    self.on_signal(index, generation, signal);
                }
                order = control.recv() => match order {
                    Some(Control::Cancel) => {
                        self.stop_all();
                        return Ok(Outcome::Cancelled);
                    }
                    Some(Control::Suspend) | None => {
                        self.stop_all();
                        return Ok(Outcome::Suspended);
                    }
                    Some(Control::Modify { modification, reply }) => {
                        let result = self.modify(&modification).await;
                        let answer = match result {
                            Ok(()) => Ok(()),
                            Err(ModifyError::Rejected(m)) => Err(m),
                            Err(ModifyError::Store(e)) => {
                                let _ = reply.send(Err("internal error".into()));
                                return Err(e);
                            }
                        };
                        let _ = reply.send(answer);
                    }
                },
            }
        }
    }

    fn outcome(&self) -> Outcome {
        if self
            .tasks
            .iter()
            .all(|t| t.task.status == TaskStatus::Completed)
        {
            Outcome::Completed
        } else {
            Outcome::Failed
        }
    }

    fn stop_all(&mut self) {
        for (_, running) in self.running.drain() {
            running.cancel.cancel();
            running.abort.abort();
        }
    }

    fn is_waiting(status: TaskStatus) -> bool {
        matches!(status, TaskStatus::Pending | TaskStatus::Regenerating)
    }

    /// Whether `index` may start: waiting, not running, and its inputs are final.
    fn is_ready(&self, index: usize) -> bool {
        if !Self::is_waiting(self.tasks[index].task.status) || self.running.contains_key(&index) {
            return false;
        }
        let deps = self.dag.dependencies(index);
        if !deps
            .iter()
            .all(|&d| self.tasks[d].task.status == TaskStatus::Completed)
        {
            return false;
        }
        if !self.edited {
            return true;
        }
        // After an edit a parent may be complete while a grandparent re-runs: wait for all.
        let mut stack: Vec<usize> = deps.to_vec();
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            if self.tasks[i].task.status != TaskStatus::Completed || self.running.contains_key(&i) {
                return false;
            }
            stack.extend_from_slice(self.dag.dependencies(i));
        }
        true
    }

    /// Starts ready tasks up to the concurrency limit. When more are ready than there are
    /// slots, the task with the longest remaining path to the end goes first (list
    /// scheduling by "bottom level"), which keeps the total close to the critical path.
    async fn dispatch(&mut self) -> Result<Vec<usize>, StoreError> {
        let free = self
            .settings
            .max_parallel_tasks
            .max(1)
            .saturating_sub(self.running.len());
        if free == 0 {
            return Ok(Vec::new());
        }
        let mut ready: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| self.is_ready(i))
            .collect();
        if ready.len() > free {
            ready.sort_by(|&a, &b| self.rank[b].cmp(&self.rank[a]).then(a.cmp(&b)));
            ready.truncate(free);
            ready.sort_unstable();
        }
        for &index in &ready {
            self.start(index, None).await?;
        }
        Ok(ready)
    }

    fn upstream(&self, index: usize) -> Vec<(String, Arc<TaskOutput>)> {
        let mut out = Vec::new();
        let mut stack: Vec<usize> = self.dag.dependencies(index).to_vec();
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            if let Some(output) = &self.tasks[i].output {
                out.push((self.tasks[i].task.id.clone(), output.clone()));
            }
            stack.extend_from_slice(self.dag.dependencies(i));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    async fn start(
        &mut self,
        index: usize,
        delay: Option<std::time::Duration>,
    ) -> Result<(), StoreError> {
        let canvas = Arc::new(self.canvas.load().await?);
        let state = &mut self.tasks[index];
        state.generation += 1;
        state.attempts += 1;
        let restarted = state.task.status == TaskStatus::Regenerating || state.attempts > 1;
        state.task.status = TaskStatus::Running;
        state.task.started_at = Some(now_iso());
        state.task.finished_at = None;
        state.error = None;
        let generation = state.generation;
        let task = state.task.clone();
        // Durable before the agent starts: whoever sees the agent at work (a test, a crash
        // resume) finds the task `running` in the store.
        self.persist(index).await?;
        let cancel = CancellationToken::new();
        let (tx, mut rx) = mpsc::channel::<TaskSignal>(32);
        let forward = self.signals_tx.clone();
        let job = AgentJob {
            run_id: self.run_id.clone(),
            task: task.clone(),
            intent: self.intent.clone(),
            context: self.context.clone(),
            canvas,
            upstream: self.upstream(index),
            signals: tx,
            cancel: cancel.clone(),
            pace: self.settings.pace,
        };
        let agents = self.agents.clone();
        let timeout = self.settings.timeout_for(task.estimated_time);
        let abort = self.join.spawn(async move {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            // Forward signals tagged with the generation, so stale ones can be dropped.
            let pump = tokio::spawn(async move {
                while let Some(signal) = rx.recv().await {
                    if forward.send((index, generation, signal)).await.is_err() {
                        break;
                    }
                }
            });
            let result = match tokio::time::timeout(timeout, agents.run(job)).await {
                Ok(result) => result,
                Err(_) => Err(AgentError::Retryable {
                    code: "task_timeout".into(),
                    message: format!("the task took longer than {} s", timeout.as_secs()),
                }),
            };
            // Let the last progress signals through before the completion is handled.
            let _ = pump.await;
            Finished {
                index,
                generation,
                result,
            }
        });
        self.running.insert(
            index,
            Running {
                generation,
                cancel,
                abort,
                started: Instant::now(),
            },
        );
        let t = &self.tasks[index].task;
        self.emitter
            .emit(
                EventType::TaskStarted,
                json!({
                    "taskId": t.id, "name": t.name, "agent": t.agent, "attempt": self.tasks[index].attempts,
                    "restarted": restarted, "modificationCount": t.modification_count,
                }),
            )
            .await?;
        Ok(())
    }

    fn on_signal(&mut self, index: usize, generation: u32, signal: TaskSignal) {
        let current = self.running.get(&index).map(|r| r.generation);
        if current == Some(generation) {
            self.emit_signal(index, signal);
        }
    }

    /// Progress reports are queued (not awaited): the scheduler goes on at once, and reports
    /// that pile up while the log commits share the next commit. Order is kept: anything
    /// emitted later (the task's completion) is queued behind them.
    fn emit_signal(&mut self, index: usize, signal: TaskSignal) {
        let task_id = self.tasks[index].task.id.clone();
        let (kind, data) = match signal {
            TaskSignal::Progress { message, percent } => (
                EventType::TaskProgress,
                json!({"taskId": task_id, "progress": message, "percent": percent}),
            ),
            TaskSignal::IterationStarted { iteration, focus } => (
                EventType::IterationStarted,
                json!({"taskId": task_id, "iteration": iteration, "focus": focus}),
            ),
            TaskSignal::IterationProgress {
                iteration,
                progress,
                files_generated,
            } => (
                EventType::IterationProgress,
                json!({"taskId": task_id, "iteration": iteration, "progress": progress, "filesGenerated": files_generated}),
            ),
        };
        self.emitter.emit_detached(kind, data);
    }

    async fn on_finished(&mut self, finished: Finished) -> Result<(), StoreError> {
        let Finished {
            index,
            generation,
            result,
        } = finished;
        let Some(running) = self.running.get(&index) else {
            return Ok(());
        };
        if running.generation != generation {
            return Ok(());
        }
        let Some(running) = self.running.remove(&index) else {
            return Ok(());
        };
        // Progress still queued for this attempt belongs before its completion.
        while let Ok((i, g, signal)) = self.signals_rx.try_recv() {
            if i == index && g == generation {
                self.emit_signal(i, signal);
            } else {
                self.on_signal(i, g, signal);
            }
        }
        match result {
            Ok(output) => self.complete(index, output, running.started).await,
            Err(AgentError::Cancelled) => {
                self.tasks[index].task.status = TaskStatus::Pending;
                self.persist(index).await
            }
            Err(error) => self.fail_or_retry(index, error).await,
        }
    }

    async fn complete(
        &mut self,
        index: usize,
        output: TaskOutput,
        started: Instant,
    ) -> Result<(), StoreError> {
        let task_id = self.tasks[index].task.id.clone();
        let task_name = self.tasks[index].task.name.clone();
        let task_kind = self.tasks[index].task.kind;
        let mut events: Vec<NewEvent> = output
            .events
            .iter()
            .map(|e| NewEvent::new(e.kind, e.data.clone()))
            .collect();

        // Canvas: merge the task's patch, then (for design tasks) the missing-analysis pass.
        let has_patch = !output.patch.upsert_nodes.is_empty()
            || !output.patch.replace_nodes.is_empty()
            || !output.patch.add_edges.is_empty()
            || !output.patch.remove_node_ids.is_empty();
        if has_patch {
            let before = self.canvas.load().await?;
            let merged = canvas::merge(&before, &output.patch);
            let mut canvas_now = merged.canvas.clone();
            let mut added_by_analysis: Vec<String> = Vec::new();
            let mut findings_json = Vec::new();
            if matches!(task_kind, TaskType::Architecture | TaskType::Scaling) {
                let findings = canvas::missing_analysis(&canvas_now);
                if !findings.is_empty() {
                    let second = canvas::apply_suggestions(&canvas_now, &findings);
                    added_by_analysis = second.added_nodes.clone();
                    findings_json = findings
                        .iter()
                        .map(|f| serde_json::to_value(f).unwrap_or_default())
                        .collect();
                    canvas_now = second.canvas;
                }
            }
            if merged.changed() || !added_by_analysis.is_empty() {
                let saved = self.canvas.save(&canvas_now).await?;
                events.push(NewEvent::new(
                    EventType::CanvasUpdated,
                    json!({
                        "taskId": task_id,
                        "canvas": saved,
                        "addedNodes": merged.added_nodes,
                        "updatedNodes": merged.updated_nodes,
                        "replacedNodes": merged.replaced_nodes,
                        "addedEdges": merged.added_edges,
                        "missingAnalysis": {"findings": findings_json, "addedNodes": added_by_analysis},
                        "warnings": merged.warnings,
                    }),
                ));
            }
        }
        if !output.files.is_empty() {
            self.store.save_files(&self.run_id, &output.files).await?;
            for file in &output.files {
                events.push(NewEvent::new(EventType::FileGenerated, file_event(file)));
            }
        }
        let state = &mut self.tasks[index];
        state.task.status = TaskStatus::Completed;
        state.task.finished_at = Some(now_iso());
        state.output = Some(Arc::new(output));
        let summary = state
            .output
            .as_ref()
            .map(|o| o.summary.clone())
            .unwrap_or_default();
        events.push(NewEvent::new(
            EventType::TaskCompleted,
            json!({
                "taskId": task_id, "name": task_name, "result": summary,
                "durationMs": started.elapsed().as_millis() as u64,
            }),
        ));
        // The result and the events that report it commit together.
        self.emitter
            .emit_with_task(events, self.record(index))
            .await?;
        self.completed_now += 1;
        Ok(())
    }

    async fn fail_or_retry(&mut self, index: usize, error: AgentError) -> Result<(), StoreError> {
        let attempts = self.tasks[index].attempts;
        let retryable = matches!(error, AgentError::Retryable { .. });
        if retryable && attempts <= self.settings.task_retries {
            let base = self.settings.retry_base.as_millis() as u64;
            let cap = base.saturating_mul(1 << attempts.min(10));
            let delay = std::time::Duration::from_millis(
                rand::thread_rng().gen_range(base..=cap.max(base)),
            );
            let task_id = self.tasks[index].task.id.clone();
            self.emitter
                .emit(
                    EventType::TaskProgress,
                    json!({
                        "taskId": task_id,
                        "progress": format!("Attempt {attempts} failed ({error}); retrying in {} ms", delay.as_millis()),
                        "retry": true,
                    }),
                )
                .await?;
            self.tasks[index].task.status = TaskStatus::Pending;
            return self.start(index, Some(delay)).await;
        }
        let (code, action) = match &error {
            AgentError::Fatal { code, action, .. } => (code.clone(), action.clone()),
            other => (
                other.code().to_string(),
                "Try the run again; if it keeps failing, edit the step's prompt.".to_string(),
            ),
        };
        let message = error.to_string();
        self.mark_failed(index, &code, &message, &action).await?;
        // Dependents cannot run without this task's output.
        let cause = self.tasks[index].task.name.clone();
        for dependent in self.dag.transitive_dependents_of(index) {
            if self.tasks[dependent].task.status != TaskStatus::Failed {
                if let Some(running) = self.running.remove(&dependent) {
                    running.cancel.cancel();
                    running.abort.abort();
                }
                self.mark_failed(
                    dependent,
                    "dependency_failed",
                    &format!("not run: the task it depends on, \"{cause}\", failed"),
                    "Fix or edit the failed task, then run the request again.",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn mark_failed(
        &mut self,
        index: usize,
        code: &str,
        message: &str,
        action: &str,
    ) -> Result<(), StoreError> {
        let state = &mut self.tasks[index];
        state.task.status = TaskStatus::Failed;
        state.task.finished_at = Some(now_iso());
        state.error = Some(format!("{code}: {message}"));
        let (id, name) = (state.task.id.clone(), state.task.name.clone());
        let failed = NewEvent::new(
            EventType::TaskFailed,
            json!({"taskId": id, "name": name, "error": message, "code": code, "suggestedAction": action}),
        );
        self.emitter
            .emit_with_task(vec![failed], self.record(index))
            .await?;
        Ok(())
    }

    fn record(&self, index: usize) -> TaskRecord {
        let state = &self.tasks[index];
        TaskRecord {
            task: state.task.clone(),
            position: index as i64,
            attempts: state.attempts,
            output: state.output.as_deref().cloned(),
            error: state.error.clone(),
        }
    }

    async fn persist(&self, index: usize) -> Result<(), StoreError> {
        self.store
            .update_task(&self.run_id, &self.record(index))
            .await
    }

    /// Applies a confirmed edit (validated by the caller against the stored state).
    async fn modify(&mut self, modification: &Modification) -> Result<(), ModifyError> {
        let index = self.dag.index_of(&modification.task_id).ok_or_else(|| {
            ModifyError::Rejected(format!("unknown task {}", modification.task_id))
        })?;
        if self.tasks[index].task.status == TaskStatus::Failed {
            return Err(ModifyError::Rejected(
                "the task has failed; start a new run".into(),
            ));
        }
        self.edited = true;
        // Stop the edited task (its partial work is void) and restart it with the new prompt.
        if let Some(running) = self.running.remove(&index) {
            running.cancel.cancel();
            running.abort.abort();
        }
        {
            let state = &mut self.tasks[index];
            // What the task produces and how long it takes follow the new prompt.
            state.task.outputs = youmeyou_core::engine::edit::outputs_for_prompt(
                &state.task,
                &modification.new_prompt,
            );
            if let Some(estimate) = youmeyou_core::engine::edit::estimated_time_for_prompt(
                &state.task,
                &modification.new_prompt,
            ) {
                state.task.estimated_time = estimate;
            }
            state.task.prompt = modification.new_prompt.clone();
            state.task.modification_count += 1;
            state.task.status = TaskStatus::Regenerating;
            state.output = None;
        }
        self.persist(index).await.map_err(ModifyError::Store)?;
        self.store
            .add_modification(&self.run_id, modification)
            .await
            .map_err(ModifyError::Store)?;
        let affected: Vec<&TaskImpact> = modification
            .affected_tasks
            .iter()
            .filter(|t| t.impact != ImpactLevel::None)
            .collect();
        let mut regenerated = vec![self.tasks[index].task.id.clone()];
        for impact in &affected {
            let Some(i) = self.dag.index_of(&impact.id) else {
                continue;
            };
            if let Some(running) = self.running.remove(&i) {
                running.cancel.cancel();
                running.abort.abort();
            }
            let state = &mut self.tasks[i];
            if matches!(
                state.task.status,
                TaskStatus::Completed | TaskStatus::Running | TaskStatus::Pending
            ) {
                state.task.status = TaskStatus::Regenerating;
                regenerated.push(state.task.id.clone());
                self.persist(i).await.map_err(ModifyError::Store)?;
            }
        }
        let unaffected: Vec<&str> = self
            .tasks
            .iter()
            .filter(|t| !regenerated.contains(&t.task.id))
            .map(|t| t.task.id.as_str())
            .collect();
        self.emitter
            .emit(
                EventType::RegenerationStarted,
                json!({
                    "taskId": modification.task_id,
                    "modificationId": modification.id,
                    "affectedTasks": regenerated.len(),
                    "taskIds": regenerated,
                    "unaffectedTasks": unaffected,
                    "change": modification.change,
                }),
            )
            .await
            .map_err(ModifyError::Store)?;
        Ok(())
    }
}

enum ModifyError {
    Rejected(String),
    Store(StoreError),
}

fn file_event(file: &GeneratedFile) -> serde_json::Value {
    json!({
        "taskId": file.task_id,
        "path": file.path,
        "language": file.language,
        "bytes": file.content.len(),
        "lines": file.content.lines().count(),
    })
}
