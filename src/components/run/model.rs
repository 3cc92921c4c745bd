//! The run's view model and its pure reducer: a snapshot (`GET /api/runs/{id}`) is folded
//! first, then every event envelope `{seq, runId, type, ts, data}` in order. No web-sys, no
//! clock, no IO: the same code runs on the server (SSR), in the browser and in unit tests.
//! Duplicates (`seq` ≤ last) are ignored; a gap (`seq` > last + 1) is reported, not applied,
//! so the connection can resume from the last `seq` it has.

use super::words;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use youmeyou_core::model::Canvas;

/// Longest activity log kept in memory; older lines are dropped first.
pub const MAX_LOG_LINES: usize = 400;

/// Lifecycle of a run, as the contract spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunPhase {
    #[default]
    Queued,
    Analyzing,
    Planning,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunPhase {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "analyzing" => Self::Analyzing,
            "planning" => Self::Planning,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Analyzing => "analyzing",
            Self::Planning => "planning",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether the run has ended (no more events will change it).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// In words, for the status badge.
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Analyzing => "Analyzing",
            Self::Planning => "Planning",
            Self::Running => "Running",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// A task's state, as the contract spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskPhase {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Regenerating,
}

impl TaskPhase {
    pub fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "regenerating" => Self::Regenerating,
            _ => Self::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Regenerating => "regenerating",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// One task of the plan with what the stream said about it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskState {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Contract spelling, e.g. "ARCHITECTURE".
    pub kind: String,
    pub dependencies: Vec<String>,
    /// Seconds.
    pub estimated_time: u32,
    pub agent: String,
    pub prompt: String,
    pub can_run_in_parallel: bool,
    pub status: TaskPhase,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub modification_count: u32,
    /// Latest progress text ("Analyzing requirements...").
    pub progress: Option<String>,
    /// 0..=100 when the agent reports it.
    pub percent: Option<f64>,
    pub iteration: Option<u32>,
    pub result: Option<String>,
    pub error: Option<String>,
    /// What to do about the failure (`taskFailed.suggestedAction`).
    pub suggestion: Option<String>,
    /// Files this task generated (paths).
    pub files: Vec<String>,
    /// Iterations of an iterating agent (`iterationStarted`/`iterationProgress`).
    pub iterations: Vec<IterationInfo>,
    /// Progress messages of the current attempt, oldest first (at most [`MAX_MESSAGES`]).
    pub messages: Vec<String>,
}

/// Progress messages kept per task.
pub const MAX_MESSAGES: usize = 20;

/// One iteration of a task.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IterationInfo {
    pub iteration: u32,
    pub focus: String,
    pub progress: Option<String>,
    pub files_generated: Option<u32>,
}

impl TaskState {
    fn push_message(&mut self, text: &str) {
        if self.messages.last().map(String::as_str) == Some(text) {
            return;
        }
        self.messages.push(text.to_string());
        if self.messages.len() > MAX_MESSAGES {
            self.messages.remove(0);
        }
    }
}

/// One generated file, as `fileGenerated` and `GET /api/runs/{id}/files` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileEntry {
    pub path: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub bytes: u64,
    #[serde(default)]
    pub task_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogTone {
    Info,
    Progress,
    Success,
    Warning,
    Error,
}

impl LogTone {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Progress => "progress",
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// One line of the activity log, in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub seq: u64,
    pub ts: String,
    pub tone: LogTone,
    pub text: String,
    pub task_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueInfo {
    pub position: u32,
    pub queue_length: u32,
    /// Seconds.
    pub estimated_wait: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Milliseconds.
    pub total_time: u64,
    pub tasks_completed: u32,
    pub success: bool,
    pub components_added: u32,
    pub connections_created: u32,
    pub nodes_generated: u32,
    pub files_generated: u32,
    pub lines_of_code: u32,
    pub services: u32,
    pub components: u32,
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunErrorInfo {
    pub code: String,
    pub message: String,
    pub suggested_action: Option<String>,
    pub fatal: bool,
}

/// Nodes to highlight on the canvas after the latest `canvasUpdated`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CanvasHighlight {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub updated: Vec<String>,
}

/// Something the UI should tell the user in a toast (completion, errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub seq: u64,
    pub tone: LogTone,
    pub text: String,
}

/// The whole run as the workspace draws it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunView {
    pub run_id: String,
    pub project_id: String,
    pub prompt: String,
    pub status: RunPhase,
    /// Contract spelling, e.g. "BUILD_FROM_SCRATCH".
    pub intent: Option<String>,
    pub path: Option<String>,
    pub tasks: Vec<TaskState>,
    /// The latest full canvas a `canvasUpdated` carried (the project's canvas otherwise).
    pub canvas: Option<Canvas>,
    pub highlight: CanvasHighlight,
    pub files: Vec<FileEntry>,
    pub log: Vec<LogLine>,
    pub queue: Option<QueueInfo>,
    pub summary: Option<Summary>,
    /// The capacity a scaling run reached (`scalingCompleted.newRPS`,
    /// `configurationGenerated.newCapacity`).
    pub capacity_rps: Option<u64>,
    pub errors: Vec<RunErrorInfo>,
    pub modifications: u32,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
    /// Highest `seq` folded in.
    pub last_seq: u64,
    /// Toasts not yet shown; the UI drains them.
    pub notices: Vec<Notice>,
}

/// The events the view folds are the transports' own (one type, so one deserialiser in the
/// bundle): an unknown `type` is kept (and only its `seq` counts), so a newer server never
/// breaks an older page.
pub use crate::components::realtime::Envelope;

/// What folding one envelope did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Folded in; `last_seq` is now its `seq`.
    Applied,
    /// Already seen (`seq` ≤ last): ignored.
    Duplicate,
    /// Events are missing: not applied; resume the stream after `after`.
    Gap { after: u64 },
    /// Belongs to another run: ignored.
    OtherRun,
}

/// The snapshot of `GET /api/runs/{id}` (fields the UI uses; the rest is ignored).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunSnapshot {
    pub id: String,
    pub project_id: String,
    pub prompt: String,
    pub status: String,
    pub intent: Value,
    pub path: Option<String>,
    pub plan: SnapshotPlan,
    pub modifications: Vec<Value>,
    pub summary: Value,
    pub error: Option<String>,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
    pub last_seq: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SnapshotPlan {
    pub tasks: Vec<Value>,
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn string_of(v: &Value, key: &str) -> Option<String> {
    str_of(v, key).map(str::to_string)
}

fn u64_of(v: &Value, key: &str) -> Option<u64> {
    let x = v.get(key)?;
    x.as_u64()
        .or_else(|| x.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
}

fn u32_of(v: &Value, key: &str) -> Option<u32> {
    u64_of(v, key).map(|n| n.min(u64::from(u32::MAX)) as u32)
}

fn f64_of(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    x.as_str().map(str::to_string).or_else(|| {
                        // `[{id, impact}]` or `[{oldId, newId}]` forms.
                        string_of(x, "id").or_else(|| string_of(x, "newId"))
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A task from a plan (`planGenerated.tasks`) or a snapshot, read leniently.
pub fn task_from_json(v: &Value) -> Option<TaskState> {
    let id = string_of(v, "id")?;
    Some(TaskState {
        name: string_of(v, "name").unwrap_or_else(|| id.clone()),
        id,
        description: string_of(v, "description").unwrap_or_default(),
        kind: string_of(v, "type").unwrap_or_default(),
        dependencies: strings_of(v, "dependencies"),
        estimated_time: u32_of(v, "estimatedTime").unwrap_or(0),
        agent: string_of(v, "agent").unwrap_or_default(),
        prompt: string_of(v, "prompt").unwrap_or_default(),
        can_run_in_parallel: v
            .get("canRunInParallel")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        status: str_of(v, "status")
            .map(TaskPhase::parse)
            .unwrap_or_default(),
        started_at: string_of(v, "startedAt"),
        finished_at: string_of(v, "finishedAt"),
        modification_count: u32_of(v, "modificationCount").unwrap_or(0),
        progress: None,
        percent: None,
        iteration: None,
        result: string_of(v, "result"),
        error: string_of(v, "error"),
        suggestion: None,
        files: strings_of(v, "files"),
        iterations: Vec::new(),
        messages: Vec::new(),
    })
}

/// The capacity a `configurationGenerated` announces: `newCapacity` (the design's name), or
/// the generated configuration's `estimated_capacity`.
pub fn configured_capacity(d: &Value) -> Option<u64> {
    d.get("newCapacity")
        .or_else(|| d.get("estimatedCapacity"))
        .or_else(|| {
            d.get("configuration")
                .and_then(|c| c.get("estimated_capacity"))
        })
        .and_then(parse_rps)
}

/// "5500 RPS", "≈5,500 rps", 5500 → 5500.
pub fn parse_rps(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    if let Some(f) = v.as_f64() {
        return (f >= 0.0).then_some(f.round() as u64);
    }
    let s = v.as_str()?;
    let digits: String = s
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '_')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn summary_from_json(v: &Value) -> Option<Summary> {
    if !v.is_object() {
        return None;
    }
    let canvas = v.get("canvasChanges").cloned().unwrap_or(Value::Null);
    let code = v.get("codeGeneration").cloned().unwrap_or(Value::Null);
    Some(Summary {
        total_time: u64_of(v, "totalTime").unwrap_or(0),
        tasks_completed: u32_of(v, "tasksCompleted").unwrap_or(0),
        success: v.get("success").and_then(Value::as_bool).unwrap_or(false),
        components_added: u32_of(&canvas, "componentsAdded").unwrap_or(0),
        connections_created: u32_of(&canvas, "connectionsCreated").unwrap_or(0),
        nodes_generated: u32_of(&canvas, "nodesGenerated").unwrap_or(0),
        files_generated: u32_of(&code, "filesGenerated").unwrap_or(0),
        lines_of_code: u32_of(&code, "linesOfCode").unwrap_or(0),
        services: u32_of(&code, "services").unwrap_or(0),
        components: u32_of(&code, "components").unwrap_or(0),
        next_steps: strings_of(v, "nextSteps"),
    })
}

impl RunView {
    /// A run known only by id (before its snapshot arrives).
    pub fn new(run_id: &str) -> Self {
        Self {
            run_id: run_id.to_string(),
            ..Self::default()
        }
    }

    /// The view of a snapshot: the authoritative state as of `snapshot.last_seq`.
    pub fn from_snapshot(snapshot: &RunSnapshot) -> Self {
        let mut view = Self::new(&snapshot.id);
        view.fold_snapshot(snapshot);
        view
    }

    /// Replaces what the snapshot knows (tasks, status, summary) and keeps what only the
    /// stream knows (log, files, canvas highlight, capacity).
    pub fn fold_snapshot(&mut self, snapshot: &RunSnapshot) {
        if !snapshot.id.is_empty() {
            self.run_id = snapshot.id.clone();
        }
        if !snapshot.project_id.is_empty() {
            self.project_id = snapshot.project_id.clone();
        }
        if !snapshot.prompt.is_empty() {
            self.prompt = snapshot.prompt.clone();
        }
        if let Some(phase) = RunPhase::parse(&snapshot.status) {
            self.status = phase;
        }
        if let Some(intent) = snapshot
            .intent
            .get("intent")
            .and_then(Value::as_str)
            .or_else(|| snapshot.intent.as_str())
        {
            self.intent = Some(intent.to_string());
        }
        if snapshot.path.is_some() {
            self.path = snapshot.path.clone();
        }
        let tasks: Vec<TaskState> = snapshot
            .plan
            .tasks
            .iter()
            .filter_map(task_from_json)
            .collect();
        if !tasks.is_empty() {
            // Keep progress text the stream gave for tasks that are still running.
            let old = std::mem::take(&mut self.tasks);
            self.tasks = tasks
                .into_iter()
                .map(|mut t| {
                    if let Some(prev) = old.iter().find(|o| o.id == t.id) {
                        if t.status == TaskPhase::Running {
                            t.progress = prev.progress.clone();
                            t.percent = prev.percent;
                            t.iteration = prev.iteration;
                        }
                        t.iterations = prev.iterations.clone();
                        t.messages = prev.messages.clone();
                        if t.files.is_empty() {
                            t.files = prev.files.clone();
                        }
                    }
                    t
                })
                .collect();
        }
        self.modifications = self.modifications.max(snapshot.modifications.len() as u32);
        if let Some(summary) = summary_from_json(&snapshot.summary) {
            self.summary = Some(summary);
        }
        if let Some(error) = &snapshot.error {
            if !self.errors.iter().any(|e| &e.message == error) {
                self.errors.push(RunErrorInfo {
                    code: "run_failed".into(),
                    message: error.clone(),
                    suggested_action: None,
                    fatal: self.status == RunPhase::Failed,
                });
            }
        }
        if snapshot.created_at.is_some() {
            self.created_at = snapshot.created_at.clone();
        }
        if snapshot.finished_at.is_some() {
            self.finished_at = snapshot.finished_at.clone();
        }
        if self.status != RunPhase::Queued {
            self.queue = None;
        }
        self.last_seq = self.last_seq.max(snapshot.last_seq);
    }

    /// Folds past events (`seq` ≤ the snapshot's `last_seq`) for what the snapshot does not
    /// carry: the activity log, the files, the reached capacity. Task and run state stay as
    /// the snapshot says.
    pub fn absorb_history(&mut self, events: &[Envelope]) {
        for ev in events {
            if ev.seq > self.last_seq {
                break;
            }
            if !ev.run_id.is_empty() && !self.run_id.is_empty() && ev.run_id != self.run_id {
                continue;
            }
            if self.log.iter().any(|l| l.seq == ev.seq) {
                continue;
            }
            self.fold_side_effects(ev);
            if let Some((tone, text, task_id)) = words::describe(self, ev) {
                self.push_log(ev, tone, text, task_id);
            }
        }
        self.log.sort_by_key(|l| l.seq);
        self.notices.clear();
    }

    fn fold_side_effects(&mut self, ev: &Envelope) {
        let d = &ev.data;
        match ev.kind.as_str() {
            "fileGenerated" => self.add_file(d),
            "scalingCompleted" => {
                if let Some(rps) = d.get("newRPS").and_then(parse_rps) {
                    self.capacity_rps = Some(rps);
                }
            }
            "configurationGenerated" => {
                if let Some(rps) = configured_capacity(d) {
                    self.capacity_rps.get_or_insert(rps);
                }
            }
            _ => {}
        }
    }

    fn add_file(&mut self, d: &Value) {
        let Some(path) = string_of(d, "path") else {
            return;
        };
        let entry = FileEntry {
            path: path.clone(),
            language: string_of(d, "language").unwrap_or_default(),
            bytes: u64_of(d, "bytes").unwrap_or(0),
            task_id: string_of(d, "taskId").unwrap_or_default(),
        };
        if let Some(task) = self.tasks.iter_mut().find(|t| t.id == entry.task_id) {
            if !task.files.contains(&path) {
                task.files.push(path.clone());
            }
        }
        match self.files.iter_mut().find(|f| f.path == path) {
            Some(existing) => *existing = entry,
            None => self.files.push(entry),
        }
    }

    fn push_log(&mut self, ev: &Envelope, tone: LogTone, text: String, task_id: Option<String>) {
        self.log.push(LogLine {
            seq: ev.seq,
            ts: ev.ts.clone(),
            tone,
            text,
            task_id,
        });
        if self.log.len() > MAX_LOG_LINES {
            let excess = self.log.len() - MAX_LOG_LINES;
            self.log.drain(..excess);
        }
    }

    fn notify(&mut self, seq: u64, tone: LogTone, text: String) {
        self.notices.push(Notice { seq, tone, text });
        if self.notices.len() > 20 {
            self.notices.remove(0);
        }
    }

    pub fn task(&self, id: &str) -> Option<&TaskState> {
        self.tasks.iter().find(|t| t.id == id)
    }

    fn task_mut(&mut self, id: &str) -> Option<&mut TaskState> {
        self.tasks.iter_mut().find(|t| t.id == id)
    }

    /// The name of task `id`, or the id when the plan does not know it.
    pub fn task_name(&self, id: &str) -> String {
        self.task(id)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// Whether a new request may be started on the project (no run queued or running).
    pub fn is_active(&self) -> bool {
        !self.run_id.is_empty() && !self.status.is_terminal()
    }

    /// Tasks running right now.
    pub fn running_tasks(&self) -> impl Iterator<Item = &TaskState> {
        self.tasks.iter().filter(|t| t.status == TaskPhase::Running)
    }

    /// Folds one envelope. See [`Applied`].
    pub fn apply(&mut self, ev: &Envelope) -> Applied {
        if !ev.run_id.is_empty() && !self.run_id.is_empty() && ev.run_id != self.run_id {
            return Applied::OtherRun;
        }
        if ev.kind == "snapshot" {
            // Sent instead of history that no longer exists: it replaces our state.
            if let Ok(snapshot) = serde_json::from_value::<RunSnapshot>(ev.data.clone()) {
                self.fold_snapshot(&snapshot);
            }
            self.last_seq = self.last_seq.max(ev.seq);
            return Applied::Applied;
        }
        if ev.seq <= self.last_seq {
            return Applied::Duplicate;
        }
        if ev.seq > self.last_seq + 1 {
            return Applied::Gap {
                after: self.last_seq,
            };
        }
        if self.run_id.is_empty() {
            self.run_id = ev.run_id.clone();
        }
        self.last_seq = ev.seq;
        // Words first: they may need the state before the event (e.g. the task's name).
        let line = words::describe(self, ev);
        self.fold(ev);
        if let Some((tone, text, task_id)) = line {
            self.push_log(ev, tone, text, task_id);
        }
        Applied::Applied
    }

    fn fold(&mut self, ev: &Envelope) {
        let d = &ev.data;
        let task_id = string_of(d, "taskId");
        match ev.kind.as_str() {
            "queuePosition" => {
                self.status = RunPhase::Queued;
                self.queue = Some(QueueInfo {
                    position: u32_of(d, "position").unwrap_or(0),
                    queue_length: u32_of(d, "queueLength").unwrap_or(0),
                    estimated_wait: f64_of(d, "estimatedWait").unwrap_or(0.0),
                });
            }
            "intentAnalyzed" => {
                self.queue = None;
                self.status = RunPhase::Analyzing;
                self.intent = string_of(d, "intent").or(self.intent.take());
            }
            "contextExtracted" | "similarSolutionFound" | "bottlenecksIdentified" => {
                self.queue = None;
                if matches!(self.status, RunPhase::Queued | RunPhase::Analyzing) {
                    self.status = RunPhase::Planning;
                }
            }
            "planGenerated" => {
                self.queue = None;
                self.status = RunPhase::Planning;
                if let Some(path) = string_of(d, "path") {
                    self.path = Some(path);
                }
                let tasks: Vec<TaskState> = d
                    .get("tasks")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(task_from_json).collect())
                    .unwrap_or_default();
                if !tasks.is_empty() {
                    self.tasks = tasks;
                }
            }
            "executionStarted" | "tasksStarted" => {
                self.queue = None;
                if !self.status.is_terminal() {
                    self.status = RunPhase::Running;
                }
            }
            "taskStarted" => {
                if !self.status.is_terminal() {
                    self.status = RunPhase::Running;
                }
                let ts = ev.ts.clone();
                if let Some(task) = task_id.as_deref().and_then(|id| self.task_mut(id)) {
                    task.status = TaskPhase::Running;
                    task.started_at = Some(ts);
                    task.finished_at = None;
                    task.progress = None;
                    task.percent = None;
                    task.iteration = None;
                    task.result = None;
                    task.error = None;
                    task.iterations.clear();
                    task.messages.clear();
                    if let Some(n) = u32_of(d, "modificationCount") {
                        task.modification_count = n;
                    }
                }
            }
            "taskProgress" => {
                if let Some(task) = task_id.as_deref().and_then(|id| self.task_mut(id)) {
                    if let Some(p) = string_of(d, "progress") {
                        task.push_message(&p);
                        task.progress = Some(p);
                    }
                    if let Some(p) = f64_of(d, "percent") {
                        task.percent = Some(p.clamp(0.0, 100.0));
                    }
                }
            }
            "iterationStarted" | "iterationProgress" => {
                if let Some(task) = task_id.as_deref().and_then(|id| self.task_mut(id)) {
                    let number = u32_of(d, "iteration").unwrap_or(task.iteration.unwrap_or(1));
                    task.iteration = Some(number);
                    let index = match task.iterations.iter().position(|it| it.iteration == number) {
                        Some(i) => i,
                        None => {
                            task.iterations.push(IterationInfo {
                                iteration: number,
                                ..IterationInfo::default()
                            });
                            task.iterations.len() - 1
                        }
                    };
                    let it = &mut task.iterations[index];
                    if let Some(f) = string_of(d, "focus") {
                        it.focus = f;
                    }
                    if let Some(p) = string_of(d, "progress") {
                        it.progress = Some(p.clone());
                        task.push_message(&p);
                        task.progress = Some(p);
                    }
                    if let Some(n) = u32_of(d, "filesGenerated") {
                        task.iterations[index].files_generated = Some(n);
                    }
                }
            }
            "taskCompleted" => {
                let ts = ev.ts.clone();
                if let Some(task) = task_id.as_deref().and_then(|id| self.task_mut(id)) {
                    task.status = TaskPhase::Completed;
                    task.finished_at = Some(ts);
                    task.result = string_of(d, "result");
                    task.percent = Some(100.0);
                    task.progress = None;
                }
            }
            "taskFailed" => {
                let ts = ev.ts.clone();
                let error = string_of(d, "error").unwrap_or_else(|| "The task failed.".into());
                if let Some(task) = task_id.as_deref().and_then(|id| self.task_mut(id)) {
                    task.status = TaskPhase::Failed;
                    task.finished_at = Some(ts);
                    task.error = Some(error.clone());
                    task.suggestion = string_of(d, "suggestedAction");
                }
                // One toast for the failure itself, not one more for each dependent that
                // could not run because of it (the log and the rows still say so).
                if string_of(d, "code").as_deref() != Some("dependency_failed") {
                    let name = task_id
                        .as_deref()
                        .map(|id| self.task_name(id))
                        .unwrap_or_else(|| "A task".into());
                    self.notify(ev.seq, LogTone::Error, format!("{name} failed: {error}"));
                }
            }
            "canvasUpdated" => {
                if let Some(canvas) = d
                    .get("canvas")
                    .and_then(|c| serde_json::from_value::<Canvas>(c.clone()).ok())
                {
                    self.canvas = Some(canvas);
                }
                let mut added = strings_of(d, "addedNodes");
                if let Some(extra) = d.get("missingAnalysis") {
                    for id in strings_of(extra, "addedNodes") {
                        if !added.contains(&id) {
                            added.push(id);
                        }
                    }
                }
                self.highlight = CanvasHighlight {
                    added,
                    replaced: strings_of(d, "replacedNodes"),
                    updated: strings_of(d, "updatedNodes"),
                };
            }
            "modificationValidated" | "impactAnalysis" => {}
            "regenerationStarted" => {
                self.modifications += 1;
                for id in strings_of(d, "taskIds") {
                    if let Some(task) = self.task_mut(&id) {
                        if task.status != TaskPhase::Running {
                            task.status = TaskPhase::Regenerating;
                        }
                    }
                }
                if let Some(task) = task_id.as_deref().and_then(|id| self.task_mut(id)) {
                    task.modification_count += 1;
                }
            }
            "runCancelled" => {
                self.status = RunPhase::Cancelled;
                self.queue = None;
                for task in &mut self.tasks {
                    if !task.status.is_terminal() {
                        task.status = TaskPhase::Cancelled;
                    }
                }
                self.notify(ev.seq, LogTone::Warning, "The run was cancelled.".into());
            }
            "executionSummary" => {
                self.queue = None;
                let summary = summary_from_json(d);
                let success = summary.as_ref().is_some_and(|s| s.success);
                if self.status != RunPhase::Cancelled {
                    self.status = if success {
                        RunPhase::Completed
                    } else {
                        RunPhase::Failed
                    };
                }
                self.finished_at = Some(ev.ts.clone());
                self.summary = summary;
                let text = if success {
                    words::summary_headline(self)
                } else if self.status == RunPhase::Cancelled {
                    "The run was cancelled.".to_string()
                } else {
                    "The run ended with errors.".to_string()
                };
                let tone = if success {
                    LogTone::Success
                } else {
                    LogTone::Error
                };
                self.notify(ev.seq, tone, text);
            }
            "error" => {
                let info = RunErrorInfo {
                    code: string_of(d, "code").unwrap_or_else(|| "error".into()),
                    message: string_of(d, "message")
                        .unwrap_or_else(|| "Something went wrong.".into()),
                    suggested_action: string_of(d, "suggestedAction"),
                    fatal: d.get("fatal").and_then(Value::as_bool).unwrap_or(false),
                };
                if info.fatal {
                    self.status = RunPhase::Failed;
                }
                self.notify(ev.seq, LogTone::Error, info.message.clone());
                self.errors.push(info);
            }
            _ => {}
        }
        self.fold_side_effects(ev);
    }

    /// Takes the notices the UI has not shown yet.
    pub fn drain_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(seq: u64, kind: &str, data: Value) -> Envelope {
        Envelope {
            seq,
            run_id: "r1".into(),
            kind: kind.into(),
            ts: format!("2025-01-01T00:00:{:02}.000Z", seq % 60),
            data,
        }
    }

    fn plan_tasks() -> Value {
        json!([
            {"id": "task_1", "name": "Architecture Design", "type": "ARCHITECTURE", "dependencies": [],
             "estimatedTime": 45, "agent": "arch-001", "prompt": "Design it", "canRunInParallel": true},
            {"id": "task_2", "name": "Database Schema Design", "type": "DATABASE", "dependencies": ["task_1"],
             "estimatedTime": 30, "agent": "db-001", "prompt": "Schema", "canRunInParallel": false},
            {"id": "task_7", "name": "Frontend React Components", "type": "CODE_GENERATION", "dependencies": ["task_1"],
             "estimatedTime": 70, "agent": "code-001", "prompt": "React", "canRunInParallel": true}
        ])
    }

    fn started() -> RunView {
        let mut view = RunView::new("r1");
        let events = [
            ev(
                1,
                "intentAnalyzed",
                json!({"intent": "BUILD_FROM_SCRATCH", "complexity": 0.9}),
            ),
            ev(2, "contextExtracted", json!({"isEmpty": true})),
            ev(
                3,
                "planGenerated",
                json!({"taskCount": 3, "tasks": plan_tasks()}),
            ),
            ev(4, "executionStarted", json!({"parallelTasks": 1})),
        ];
        for e in &events {
            assert_eq!(view.apply(e), Applied::Applied);
        }
        view
    }

    #[test]
    fn a_plan_fills_the_tasks_and_the_log_says_it_in_words() {
        let view = started();
        assert_eq!(view.status, RunPhase::Running);
        assert_eq!(view.tasks.len(), 3);
        assert_eq!(view.tasks[1].dependencies, vec!["task_1".to_string()]);
        let texts: Vec<&str> = view.log.iter().map(|l| l.text.as_str()).collect();
        assert!(texts.contains(&"Plan ready: 3 tasks"), "{texts:?}");
        assert!(
            texts.iter().any(|t| t.contains("build from scratch")),
            "{texts:?}"
        );
    }

    #[test]
    fn task_lifecycle_progress_and_completion_in_words() {
        let mut view = started();
        view.apply(&ev(
            5,
            "taskStarted",
            json!({"taskId": "task_1", "name": "Architecture Design"}),
        ));
        view.apply(&ev(
            6,
            "taskProgress",
            json!({"taskId": "task_1", "progress": "Analyzing requirements...", "percent": 10}),
        ));
        let t = view.task("task_1").cloned().unwrap_or_default();
        assert_eq!(t.status, TaskPhase::Running);
        assert_eq!(t.progress.as_deref(), Some("Analyzing requirements..."));
        view.apply(&ev(
            7,
            "taskCompleted",
            json!({"taskId": "task_1", "result": "Architecture designed with 4 microservices"}),
        ));
        let t = view.task("task_1").cloned().unwrap_or_default();
        assert_eq!(t.status, TaskPhase::Completed);
        let texts: Vec<&str> = view.log.iter().map(|l| l.text.as_str()).collect();
        assert!(texts.contains(&"Started Architecture Design"), "{texts:?}");
        assert!(
            texts.contains(&"Architecture Design: Analyzing requirements..."),
            "{texts:?}"
        );
        assert!(
            texts.contains(&"✓ Architecture Design — Architecture designed with 4 microservices"),
            "{texts:?}"
        );
    }

    #[test]
    fn duplicates_are_ignored_and_gaps_reported_without_applying() {
        let mut view = started();
        let before = view.clone();
        assert_eq!(
            view.apply(&ev(3, "planGenerated", json!({"tasks": []}))),
            Applied::Duplicate
        );
        assert_eq!(view, before);
        assert_eq!(
            view.apply(&ev(9, "taskStarted", json!({"taskId": "task_1"}))),
            Applied::Gap { after: 4 }
        );
        assert_eq!(view, before);
        assert_eq!(
            view.apply(&ev(5, "taskStarted", json!({"taskId": "task_1"}))),
            Applied::Applied
        );
        assert_eq!(view.last_seq, 5);
    }

    #[test]
    fn events_of_another_run_are_ignored() {
        let mut view = started();
        let mut other = ev(5, "taskStarted", json!({"taskId": "task_1"}));
        other.run_id = "r2".into();
        assert_eq!(view.apply(&other), Applied::OtherRun);
        assert_eq!(view.last_seq, 4);
    }

    #[test]
    fn iterations_and_progress_messages_are_kept_per_task() {
        let mut view = started();
        view.apply(&ev(5, "taskStarted", json!({"taskId": "task_7"})));
        view.apply(&ev(
            6,
            "iterationStarted",
            json!({"taskId": "task_7", "iteration": 1, "focus": "basic_structure"}),
        ));
        view.apply(&ev(7, "iterationProgress", json!({"taskId": "task_7", "iteration": 1, "progress": "Generated basic components", "filesGenerated": 8})));
        view.apply(&ev(
            8,
            "iterationStarted",
            json!({"taskId": "task_7", "iteration": 2, "focus": "state_management"}),
        ));
        let t = view.task("task_7").cloned().unwrap_or_default();
        assert_eq!(t.iterations.len(), 2);
        assert_eq!(t.iterations[0].files_generated, Some(8));
        assert_eq!(t.iterations[1].focus, "state_management");
        assert_eq!(t.messages, vec!["Generated basic components".to_string()]);
        assert_eq!(t.iteration, Some(2));
    }

    #[test]
    fn parallel_start_is_visible() {
        let mut view = started();
        view.apply(&ev(
            5,
            "tasksStarted",
            json!({"taskIds": ["task_1", "task_7"]}),
        ));
        view.apply(&ev(6, "taskStarted", json!({"taskId": "task_1"})));
        view.apply(&ev(7, "taskStarted", json!({"taskId": "task_7"})));
        assert_eq!(view.running_tasks().count(), 2);
        assert!(view
            .log
            .iter()
            .any(|l| l.text
                == "Started Architecture Design and Frontend React Components in parallel"));
    }

    #[test]
    fn canvas_update_carries_the_canvas_and_the_highlights() {
        let mut view = started();
        view.apply(&ev(5, "canvasUpdated", json!({
            "taskId": "task_1",
            "canvas": {"nodes": [{"id": "auth-service", "type": "microservice", "label": "Auth", "position": {"x": 1.0, "y": 2.0}, "config": {}}], "edges": [], "version": 3},
            "addedNodes": ["auth-service"],
            "replacedNodes": [{"oldId": "old-auth", "newId": "auth-service"}],
            "missingAnalysis": {"findings": [], "addedNodes": ["monitoring"]}
        })));
        assert_eq!(view.canvas.as_ref().map(|c| c.nodes.len()), Some(1));
        assert_eq!(view.canvas.as_ref().map(|c| c.version), Some(3));
        assert_eq!(
            view.highlight.added,
            vec!["auth-service".to_string(), "monitoring".to_string()]
        );
        assert_eq!(view.highlight.replaced, vec!["auth-service".to_string()]);
    }

    #[test]
    fn files_are_listed_once_per_path_and_attached_to_their_task() {
        let mut view = started();
        view.apply(&ev(
            5,
            "fileGenerated",
            json!({"path": "db/schema.sql", "language": "sql", "bytes": 120, "taskId": "task_2"}),
        ));
        view.apply(&ev(
            6,
            "fileGenerated",
            json!({"path": "db/schema.sql", "language": "sql", "bytes": 240, "taskId": "task_2"}),
        ));
        assert_eq!(view.files.len(), 1);
        assert_eq!(view.files[0].bytes, 240);
        assert_eq!(view.task("task_2").map(|t| t.files.len()), Some(1));
    }

    #[test]
    fn queue_position_then_start_clears_it() {
        let mut view = RunView::new("r1");
        view.apply(&ev(
            1,
            "queuePosition",
            json!({"position": 2, "queueLength": 3, "estimatedWait": 90}),
        ));
        assert_eq!(view.status, RunPhase::Queued);
        assert_eq!(view.queue.map(|q| q.position), Some(2));
        assert!(
            view.log[0].text.contains("position 2 of 3"),
            "{:?}",
            view.log
        );
        view.apply(&ev(
            2,
            "intentAnalyzed",
            json!({"intent": "SCALE_COMPONENT", "target": "auth-service"}),
        ));
        assert!(view.queue.is_none());
        assert_eq!(view.status, RunPhase::Analyzing);
    }

    #[test]
    fn scaling_capacity_is_taken_from_the_events() {
        let mut view = RunView::new("r1");
        view.apply(&ev(
            1,
            "configurationGenerated",
            json!({"newCapacity": "5500 RPS"}),
        ));
        assert_eq!(view.capacity_rps, Some(5500));
        assert_eq!(
            configured_capacity(&json!({"configuration": {"estimated_capacity": "5500 RPS"}})),
            Some(5500)
        );
        view.apply(&ev(
            2,
            "scalingCompleted",
            json!({"newRPS": 5600, "filesUpdated": 5}),
        ));
        assert_eq!(view.capacity_rps, Some(5600));
        assert_eq!(parse_rps(&json!("≈5,500 rps")), Some(5500));
        assert_eq!(parse_rps(&json!(5500.4)), Some(5500));
        assert_eq!(parse_rps(&json!("fast")), None);
    }

    #[test]
    fn the_summary_ends_the_run_and_raises_a_notice() {
        let mut view = started();
        view.apply(&ev(5, "executionSummary", json!({
            "totalTime": 180000, "tasksCompleted": 8, "success": true,
            "canvasChanges": {"componentsAdded": 12, "connectionsCreated": 8, "nodesGenerated": 12},
            "codeGeneration": {"filesGenerated": 47, "linesOfCode": 2840, "services": 4, "components": 18},
            "nextSteps": ["Deploy services to staging"]
        })));
        assert_eq!(view.status, RunPhase::Completed);
        let s = view.summary.clone().unwrap_or_default();
        assert_eq!(
            (s.files_generated, s.lines_of_code, s.next_steps.len()),
            (47, 2840, 1)
        );
        let notices = view.drain_notices();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].tone, LogTone::Success);
        assert!(view.drain_notices().is_empty());
        assert!(!view.is_active());
    }

    #[test]
    fn failures_and_fatal_errors() {
        let mut view = started();
        view.apply(&ev(
            5,
            "taskFailed",
            json!({"taskId": "task_2", "error": "boom", "suggestedAction": "Check the key."}),
        ));
        let failed = view.task("task_2");
        assert_eq!(failed.map(|t| t.status), Some(TaskPhase::Failed));
        assert_eq!(failed.and_then(|t| t.error.as_deref()), Some("boom"));
        assert_eq!(
            failed.and_then(|t| t.suggestion.as_deref()),
            Some("Check the key.")
        );
        // A dependent that could not run is failed too, without a toast of its own.
        view.apply(&ev(
            6,
            "taskFailed",
            json!({"taskId": "task_7", "code": "dependency_failed",
                "error": "not run: the task it depends on, \"task_2\", failed"}),
        ));
        assert_eq!(
            view.task("task_7").map(|t| t.status),
            Some(TaskPhase::Failed)
        );
        view.apply(&ev(
            7,
            "error",
            json!({"code": "llm_down", "message": "The model is unreachable.", "fatal": true}),
        ));
        assert_eq!(view.status, RunPhase::Failed);
        assert_eq!(view.errors.len(), 1);
        assert_eq!(view.drain_notices().len(), 2);
    }

    #[test]
    fn regeneration_marks_affected_tasks() {
        let mut view = started();
        view.apply(&ev(
            5,
            "regenerationStarted",
            json!({"taskId": "task_2", "affectedTasks": 2, "taskIds": ["task_2", "task_7"]}),
        ));
        assert_eq!(
            view.task("task_7").map(|t| t.status),
            Some(TaskPhase::Regenerating)
        );
        assert_eq!(view.task("task_2").map(|t| t.modification_count), Some(1));
        assert_eq!(view.modifications, 1);
    }

    #[test]
    fn cancellation_cancels_unfinished_tasks() {
        let mut view = started();
        view.apply(&ev(
            5,
            "runCancelled",
            json!({"reason": "cancelled by the user"}),
        ));
        assert_eq!(view.status, RunPhase::Cancelled);
        assert!(view.tasks.iter().all(|t| t.status == TaskPhase::Cancelled));
    }

    #[test]
    fn a_snapshot_then_history_then_live_events() {
        let snapshot: RunSnapshot = serde_json::from_value(json!({
            "id": "r1", "projectId": "p1", "prompt": "Build it", "status": "running",
            "intent": {"intent": "BUILD_FROM_SCRATCH"}, "path": "dynamic",
            "plan": {"tasks": [
                {"id": "task_1", "name": "Architecture Design", "type": "ARCHITECTURE", "dependencies": [],
                 "estimatedTime": 45, "agent": "arch-001", "prompt": "p", "status": "completed", "result": "done"},
                {"id": "task_2", "name": "Database Schema Design", "type": "DATABASE", "dependencies": ["task_1"],
                 "estimatedTime": 30, "agent": "db-001", "prompt": "p", "status": "running"}
            ]},
            "modifications": [], "summary": null, "createdAt": "2025-01-01T00:00:00Z", "lastSeq": 3
        }))
        .unwrap_or_default();
        let mut view = RunView::from_snapshot(&snapshot);
        assert_eq!(view.status, RunPhase::Running);
        assert_eq!(view.last_seq, 3);
        assert_eq!(view.intent.as_deref(), Some("BUILD_FROM_SCRATCH"));
        assert_eq!(
            view.task("task_1")
                .and_then(|t| t.result.clone())
                .as_deref(),
            Some("done")
        );
        view.absorb_history(&[
            ev(1, "planGenerated", json!({"taskCount": 2})),
            ev(
                2,
                "fileGenerated",
                json!({"path": "a.md", "taskId": "task_1", "bytes": 3}),
            ),
            ev(3, "taskStarted", json!({"taskId": "task_2"})),
            ev(4, "taskCompleted", json!({"taskId": "task_2"})),
        ]);
        // History did not change task state and stopped at the snapshot's seq.
        assert_eq!(
            view.task("task_2").map(|t| t.status),
            Some(TaskPhase::Running)
        );
        assert_eq!(view.log.len(), 3);
        assert_eq!(view.files.len(), 1);
        assert!(view.notices.is_empty());
        assert_eq!(
            view.apply(&ev(3, "taskStarted", json!({"taskId": "task_2"}))),
            Applied::Duplicate
        );
        assert_eq!(
            view.apply(&ev(
                4,
                "taskCompleted",
                json!({"taskId": "task_2", "result": "ok"})
            )),
            Applied::Applied
        );
        assert_eq!(
            view.task("task_2").map(|t| t.status),
            Some(TaskPhase::Completed)
        );
    }

    #[test]
    fn a_snapshot_event_replaces_missing_history() {
        let mut view = started();
        let snap = json!({"id": "r1", "status": "completed", "lastSeq": 40, "plan": {"tasks": []},
            "summary": {"success": true, "tasksCompleted": 3}});
        assert_eq!(view.apply(&ev(40, "snapshot", snap)), Applied::Applied);
        assert_eq!(view.status, RunPhase::Completed);
        assert_eq!(view.last_seq, 40);
        assert_eq!(
            view.tasks.len(),
            3,
            "an empty plan in the snapshot keeps the known tasks"
        );
    }

    #[test]
    fn envelopes_parse_and_control_messages_do_not() {
        let e = Envelope::parse(
            r#"{"seq":5,"runId":"r1","type":"taskStarted","ts":"t","data":{"taskId":"task_1"}}"#,
        );
        assert_eq!(
            e.map(|e| (e.seq, e.kind)),
            Some((5, "taskStarted".to_string()))
        );
        assert!(Envelope::parse(r#"{"type":"connected","clientId":"c"}"#).is_none());
        assert!(Envelope::parse(r#"{"type":"pong"}"#).is_none());
        assert!(Envelope::parse("not json").is_none());
        let unknown = Envelope::parse(r#"{"seq":1,"runId":"r1","type":"somethingNew","data":{}}"#);
        assert!(unknown.is_some());
    }

    #[test]
    fn unknown_event_types_only_advance_seq() {
        let mut view = started();
        let before = view.tasks.clone();
        assert_eq!(
            view.apply(&ev(5, "somethingNew", json!({"x": 1}))),
            Applied::Applied
        );
        assert_eq!(view.tasks, before);
        assert_eq!(view.last_seq, 5);
    }

    #[test]
    fn untrusted_text_is_kept_verbatim_for_text_rendering() {
        let mut view = started();
        let name = "<script>window.__xss=1</script>";
        view.apply(&ev(
            5,
            "taskStarted",
            json!({"taskId": "task_1", "name": name}),
        ));
        view.apply(&ev(
            6,
            "taskProgress",
            json!({"taskId": "task_1", "progress": name}),
        ));
        // The model never escapes or interprets: the view renders it as text.
        assert!(view.log.iter().any(|l| l.text.contains(name)));
    }
}
