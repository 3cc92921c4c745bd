//! What the plan views show and where: the `TaskView` a page builds from the run snapshot
//! and its events, the layered layout of the task DAG (columns from
//! `youmeyou_core::dag::Dag::parallel_groups`), the estimated-vs-actual timeline with lanes
//! and the critical path, and the small formatting rules. Pure: no DOM, no clock (the
//! caller passes `now_ms`), unit-tested natively.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use youmeyou_core::dag::Dag;
use youmeyou_core::model::{Plan, Task};

pub use youmeyou_core::model::{TaskStatus, TaskType};

/// One iteration of a task that refines its output in rounds (`iterationStarted` /
/// `iterationProgress` events).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IterationView {
    pub iteration: u32,
    /// e.g. "basic_structure".
    pub focus: String,
    /// e.g. "Generated basic components".
    #[serde(default)]
    pub progress: Option<String>,
    #[serde(default)]
    pub files_generated: Option<u32>,
}

/// A task as the plan views show it: the plan's fields plus what the run's events said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub kind: TaskType,
    pub agent: String,
    pub prompt: String,
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Seconds.
    pub estimated_time: u32,
    #[serde(default)]
    pub status: TaskStatus,
    /// The latest `taskProgress` text, e.g. "Designing microservices structure...".
    #[serde(default)]
    pub progress_text: Option<String>,
    /// 0–100 when the engine reports it; otherwise the card estimates from the clock.
    #[serde(default)]
    pub percent: Option<u8>,
    /// Epoch milliseconds.
    #[serde(default)]
    pub started_at_ms: Option<f64>,
    /// Epoch milliseconds.
    #[serde(default)]
    pub finished_at_ms: Option<f64>,
    /// Why it failed (`taskFailed`).
    #[serde(default)]
    pub error: Option<String>,
    /// What to do about it (`taskFailed.suggestedAction`).
    #[serde(default)]
    pub suggestion: Option<String>,
    #[serde(default)]
    pub modification_count: u32,
    #[serde(default)]
    pub iterations: Vec<IterationView>,
    /// Paths of the files it produced (`fileGenerated` with its task id).
    #[serde(default)]
    pub files: Vec<String>,
    /// Every progress text, oldest first.
    #[serde(default)]
    pub messages: Vec<String>,
}

impl Default for TaskView {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            description: String::new(),
            kind: TaskType::CodeGeneration,
            agent: String::new(),
            prompt: String::new(),
            dependencies: Vec::new(),
            estimated_time: 0,
            status: TaskStatus::Pending,
            progress_text: None,
            percent: None,
            started_at_ms: None,
            finished_at_ms: None,
            error: None,
            suggestion: None,
            modification_count: 0,
            iterations: Vec::new(),
            files: Vec::new(),
            messages: Vec::new(),
        }
    }
}

impl TaskView {
    /// The view of a snapshot task (`GET /api/runs/{id}` → `plan.tasks`); progress,
    /// iterations, files and messages come from events and start empty.
    pub fn from_task(task: &Task) -> Self {
        Self {
            id: task.id.clone(),
            name: task.name.clone(),
            description: task.description.clone(),
            kind: task.kind,
            agent: task.agent.clone(),
            prompt: task.prompt.clone(),
            dependencies: task.dependencies.clone(),
            estimated_time: task.estimated_time,
            status: task.status,
            started_at_ms: task.started_at.as_deref().and_then(parse_iso_ms),
            finished_at_ms: task.finished_at.as_deref().and_then(parse_iso_ms),
            modification_count: task.modification_count,
            ..Self::default()
        }
    }

    /// The contract lets a user edit a step that has not finished yet.
    pub fn can_edit(&self) -> bool {
        matches!(self.status, TaskStatus::Pending | TaskStatus::Running)
    }

    /// How long it ran (finished) or has been running (`now_ms`, for a running or
    /// regenerating task), in milliseconds; `None` before it started.
    pub fn elapsed_ms(&self, now_ms: f64) -> Option<f64> {
        let start = self.started_at_ms?;
        let end = match (self.finished_at_ms, self.status) {
            (Some(end), _) => end,
            (None, TaskStatus::Running | TaskStatus::Regenerating) => now_ms,
            (None, _) => return None,
        };
        Some((end - start).max(0.0))
    }

    /// The progress bar's fill, 0–100: the reported percent, else elapsed over estimated
    /// time (held below 95 % until the task says it is done).
    pub fn progress_percent(&self, now_ms: f64) -> Option<f64> {
        match self.status {
            TaskStatus::Completed => Some(100.0),
            TaskStatus::Running | TaskStatus::Regenerating => {
                if let Some(p) = self.percent {
                    return Some(f64::from(p.min(100)));
                }
                let elapsed = self.elapsed_ms(now_ms)?;
                let est = f64::from(self.estimated_time.max(1)) * 1000.0;
                Some((elapsed / est * 100.0).clamp(0.0, 95.0))
            }
            _ => None,
        }
    }
}

/// Milliseconds since the epoch of an ISO-8601 UTC time such as "2024-05-01T12:00:03Z" or
/// "2024-05-01T12:00:03.250+00:00" (what the server sends). `None` for anything else.
pub fn parse_iso_ms(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Split off the zone: Z, +hh:mm or -hh:mm.
    let (clock, offset_min) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0i64)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(i);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = &zone[1..];
        let (h, m) = zone.split_once(':').unwrap_or((zone, "0"));
        let h: i64 = h.parse().ok()?;
        let m: i64 = m.parse().ok()?;
        (clock, sign * (h * 60 + m))
    } else {
        (time, 0)
    };
    let mut c = clock.splitn(3, ':');
    let hour: i64 = c.next()?.parse().ok()?;
    let minute: i64 = c.next()?.parse().ok()?;
    let seconds: f64 = c.next().unwrap_or("0").parse().ok()?;
    if hour > 23 || minute > 59 || !(0.0..61.0).contains(&seconds) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs =
        days as f64 * 86_400.0 + (hour * 3600 + minute * 60 - offset_min * 60) as f64 + seconds;
    Some(secs * 1000.0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ───────────────────────────── Presentation ─────────────────────────────

/// Icon, label and CSS modifier of a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusStyle {
    pub icon: &'static str,
    pub label: &'static str,
    pub class: &'static str,
}

pub fn status_style(status: TaskStatus) -> StatusStyle {
    let (icon, label, class) = match status {
        TaskStatus::Pending => ("⏸", "Pending", "pending"),
        TaskStatus::Running => ("▶", "Running", "running"),
        TaskStatus::Completed => ("✓", "Completed", "completed"),
        TaskStatus::Failed => ("✗", "Failed", "failed"),
        TaskStatus::Cancelled => ("⊘", "Cancelled", "cancelled"),
        TaskStatus::Regenerating => ("↻", "Regenerating", "regenerating"),
    };
    StatusStyle { icon, label, class }
}

pub fn kind_name(kind: TaskType) -> &'static str {
    match kind {
        TaskType::Architecture => "Architecture",
        TaskType::Database => "Database",
        TaskType::CodeGeneration => "Code generation",
        TaskType::Testing => "Testing",
        TaskType::Scaling => "Scaling",
        TaskType::Configuration => "Configuration",
        TaskType::Analysis => "Analysis",
    }
}

/// "45s", "1m", "1m 05s", "1h", "1h 02m" (rounded down to whole seconds).
pub fn format_duration(seconds: f64) -> String {
    let s = if seconds.is_finite() {
        seconds.max(0.0).floor() as u64
    } else {
        0
    };
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if s % 3600 < 60 {
        format!("{}h", s / 3600)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// The one line under a card's name. Space for it is always reserved, so a status change
/// never moves the card's content.
pub fn status_line(task: &TaskView, names: &HashMap<String, (String, TaskStatus)>) -> String {
    match task.status {
        TaskStatus::Pending => {
            let waiting: Vec<&str> = task
                .dependencies
                .iter()
                .filter_map(|d| match names.get(d) {
                    Some((_, TaskStatus::Completed)) => None,
                    Some((name, _)) => Some(name.as_str()),
                    None => Some(d.as_str()),
                })
                .collect();
            if waiting.is_empty() {
                "Ready to start".to_string()
            } else {
                format!("Waiting for {}", waiting.join(", "))
            }
        }
        TaskStatus::Running => task
            .progress_text
            .clone()
            .unwrap_or_else(|| "Working…".to_string()),
        TaskStatus::Regenerating => task
            .progress_text
            .clone()
            .unwrap_or_else(|| "Regenerating after an edit…".to_string()),
        TaskStatus::Completed => match (task.started_at_ms, task.finished_at_ms) {
            (Some(a), Some(b)) => format!("Completed in {}", format_duration((b - a) / 1000.0)),
            _ => "Completed".to_string(),
        },
        TaskStatus::Failed => task.error.clone().unwrap_or_else(|| "Failed".to_string()),
        TaskStatus::Cancelled => "Cancelled".to_string(),
    }
}

// ───────────────────────────── DAG layout ─────────────────────────────

/// Card size and spacing of the plan DAG, CSS pixels (the CSS reads them from inline
/// styles, so the two cannot drift apart).
pub const CARD_W: f64 = 240.0;
pub const CARD_H: f64 = 140.0;
pub const COL_GAP: f64 = 48.0;
pub const ROW_GAP: f64 = 16.0;
/// Room above the cards for the column headings.
pub const HEAD_H: f64 = 28.0;
pub const PAD: f64 = 12.0;

/// The part of a task that decides the layout: a status or progress change leaves it equal,
/// so the layout memo does not re-run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanShape {
    pub id: String,
    pub dependencies: Vec<String>,
    pub estimated_time: u32,
}

impl From<&TaskView> for PlanShape {
    fn from(t: &TaskView) -> Self {
        Self {
            id: t.id.clone(),
            dependencies: t.dependencies.clone(),
            estimated_time: t.estimated_time,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CardSlot {
    pub id: String,
    pub column: usize,
    pub row: usize,
    pub x: f64,
    pub y: f64,
}

/// A dependency arrow from `from` (the prerequisite) to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct DepEdge {
    pub from: String,
    pub to: String,
    /// SVG path data in the layout's pixel space.
    pub d: String,
    /// Both ends lie on the critical path, one after the other.
    pub critical: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DagLayout {
    /// Task ids per column (layer), top to bottom.
    pub columns: Vec<Vec<String>>,
    /// Every task once, column by column (the keyboard's Tab order).
    pub cards: Vec<CardSlot>,
    pub edges: Vec<DepEdge>,
    pub width: f64,
    pub height: f64,
    pub critical_path: Vec<String>,
    /// Length of the critical path in estimated seconds.
    pub critical_seconds: u64,
    /// Whether the tasks form a DAG; when not (a cycle), they all sit in one column.
    pub valid: bool,
}

impl DagLayout {
    pub fn slot(&self, id: &str) -> Option<&CardSlot> {
        self.cards.iter().find(|c| c.id == id)
    }
}

/// A `Dag` of the shapes, built through the contract's JSON so new `Task` fields with
/// defaults do not break it. Unknown and self dependencies and duplicate ids are dropped
/// first (the server validated the plan; the view must not fail on a stray event).
fn dag_of(shapes: &[PlanShape]) -> (Vec<PlanShape>, Option<Dag>) {
    let mut seen = HashSet::new();
    let mut clean: Vec<PlanShape> = shapes
        .iter()
        .filter(|s| seen.insert(s.id.clone()))
        .cloned()
        .collect();
    for s in &mut clean {
        let own = s.id.clone();
        let mut deps_seen = HashSet::new();
        s.dependencies
            .retain(|d| *d != own && seen.contains(d) && deps_seen.insert(d.clone()));
    }
    let tasks: Vec<serde_json::Value> = clean
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id,
                "name": s.id,
                "type": "CODE_GENERATION",
                "dependencies": s.dependencies,
                "estimatedTime": s.estimated_time,
                "agent": "",
                "prompt": "",
            })
        })
        .collect();
    let dag = serde_json::from_value::<Plan>(serde_json::json!({ "tasks": tasks }))
        .ok()
        .and_then(|plan| Dag::new(&plan).ok());
    (clean, dag)
}

/// The plan DAG laid out left to right: column k holds the tasks whose longest dependency
/// chain has k links, so tasks that can run together sit in one column; inside a column
/// tasks follow their dependencies' rows (fewer crossings), then plan order.
pub fn dag_layout(shapes: &[PlanShape]) -> DagLayout {
    let (clean, dag) = dag_of(shapes);
    let valid = dag.is_some();
    let mut columns: Vec<Vec<String>> = match &dag {
        Some(dag) => dag
            .parallel_groups()
            .into_iter()
            .map(|g| g.into_iter().map(str::to_string).collect())
            .collect(),
        // A cycle: show every task in one column rather than nothing.
        None => vec![clean.iter().map(|s| s.id.clone()).collect()],
    };
    let (critical_path, critical_seconds) = match &dag {
        Some(dag) => {
            let cp = dag.critical_path();
            (cp.task_ids, cp.total_seconds)
        }
        None => (Vec::new(), 0),
    };
    let deps: HashMap<&str, &[String]> = clean
        .iter()
        .map(|s| (s.id.as_str(), s.dependencies.as_slice()))
        .collect();

    // Barycentre ordering, one sweep left to right.
    let mut row_of: HashMap<String, usize> = HashMap::new();
    for column in &mut columns {
        let key = |id: &String| -> f64 {
            let rows: Vec<usize> = deps
                .get(id.as_str())
                .map(|ds| ds.iter().filter_map(|d| row_of.get(d).copied()).collect())
                .unwrap_or_default();
            if rows.is_empty() {
                f64::MAX
            } else {
                rows.iter().sum::<usize>() as f64 / rows.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize, String)> = column
            .drain(..)
            .enumerate()
            .map(|(i, id)| (key(&id), i, id))
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (row, (_, _, id)) in keyed.into_iter().enumerate() {
            row_of.insert(id.clone(), row);
            column.push(id);
        }
    }

    let mut cards = Vec::with_capacity(clean.len());
    for (c, column) in columns.iter().enumerate() {
        for (r, id) in column.iter().enumerate() {
            cards.push(CardSlot {
                id: id.clone(),
                column: c,
                row: r,
                x: PAD + c as f64 * (CARD_W + COL_GAP),
                y: PAD + HEAD_H + r as f64 * (CARD_H + ROW_GAP),
            });
        }
    }
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(0);
    let width = PAD * 2.0
        + columns.len() as f64 * CARD_W
        + columns.len().saturating_sub(1) as f64 * COL_GAP;
    let height =
        PAD * 2.0 + HEAD_H + tallest as f64 * CARD_H + tallest.saturating_sub(1) as f64 * ROW_GAP;

    let pos: HashMap<&str, &CardSlot> = cards.iter().map(|c| (c.id.as_str(), c)).collect();
    let on_path: HashMap<&str, usize> = critical_path
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut edges = Vec::new();
    for s in &clean {
        for d in &s.dependencies {
            let (Some(a), Some(b)) = (pos.get(d.as_str()), pos.get(s.id.as_str())) else {
                continue;
            };
            let critical = matches!(
                (on_path.get(d.as_str()), on_path.get(s.id.as_str())),
                (Some(i), Some(j)) if i + 1 == *j
            );
            edges.push(DepEdge {
                from: d.clone(),
                to: s.id.clone(),
                d: dep_path(a, b),
                critical,
            });
        }
    }
    DagLayout {
        columns,
        cards,
        edges,
        width,
        height,
        critical_path,
        critical_seconds,
        valid,
    }
}

/// A horizontal S-curve from the right middle of card `a` to the left middle of card `b`
/// (ending a few pixels early for the arrow head).
fn dep_path(a: &CardSlot, b: &CardSlot) -> String {
    let x1 = a.x + CARD_W;
    let y1 = a.y + CARD_H / 2.0;
    let x2 = b.x - 4.0;
    let y2 = b.y + CARD_H / 2.0;
    if x2 <= x1 {
        // Same column (only when the plan is not a DAG): a loop around the right side.
        let out = x1 + COL_GAP / 2.0;
        return format!("M{x1} {y1}C{out} {y1} {out} {y2} {x1} {y2}");
    }
    let dx = (x2 - x1) / 2.0;
    format!("M{x1} {y1}C{} {y1} {} {y2} {x2} {y2}", x1 + dx, x2 - dx)
}

// ───────────────────────────── Timeline ─────────────────────────────

/// One task on the timeline, in seconds from the start of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineBar {
    pub id: String,
    pub lane: usize,
    /// Earliest start and finish with unlimited parallelism, from the estimates.
    pub est_start: f64,
    pub est_end: f64,
    /// What happened (the end is "now" while it runs).
    pub actual_start: Option<f64>,
    pub actual_end: Option<f64>,
    pub running: bool,
    pub critical: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub bars: Vec<TimelineBar>,
    pub lanes: usize,
    /// Lanes the estimates alone need: the timeline reserves at least this height.
    pub planned_lanes: usize,
    /// Seconds the axis covers.
    pub span: f64,
    pub ticks: Vec<f64>,
    /// "Now" in seconds from the run's start while something runs.
    pub now: Option<f64>,
}

/// Greedy interval partitioning: intervals sorted by start (then input order) each take
/// the lowest lane that is free by their start. Returns each interval's lane (input order)
/// and the number of lanes, which is the most intervals overlapping at any time.
pub fn assign_lanes(intervals: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|&a, &b| intervals[a].0.total_cmp(&intervals[b].0).then(a.cmp(&b)));
    let mut lane_end: Vec<f64> = Vec::new();
    let mut lanes = vec![0; intervals.len()];
    for i in order {
        let (start, end) = intervals[i];
        let end = end.max(start);
        match lane_end.iter().position(|&e| e <= start) {
            Some(l) => {
                lane_end[l] = end;
                lanes[i] = l;
            }
            None => {
                lanes[i] = lane_end.len();
                lane_end.push(end);
            }
        }
    }
    (lanes, lane_end.len())
}

/// Axis ticks from 0 to `span` seconds at a round step, at most `max_ticks` + 1 of them.
pub fn axis_ticks(span: f64, max_ticks: usize) -> Vec<f64> {
    const STEPS: [f64; 14] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    ];
    if !span.is_finite() || span <= 0.0 || max_ticks == 0 {
        return vec![0.0];
    }
    let step = STEPS
        .iter()
        .copied()
        .find(|s| span / s <= max_ticks as f64)
        .unwrap_or_else(|| (span / max_ticks as f64).ceil());
    let count = (span / step).floor() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// Estimated vs actual schedule of `tasks` at `now_ms`.
pub fn timeline(tasks: &[TaskView], now_ms: f64) -> Timeline {
    let shapes: Vec<PlanShape> = tasks.iter().map(PlanShape::from).collect();
    let (clean, dag) = dag_of(&shapes);
    let by_id: HashMap<&str, &TaskView> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let (finish, critical): (Vec<u64>, HashSet<String>) = match &dag {
        Some(dag) => (
            dag.earliest_finish_times(),
            dag.critical_path().task_ids.into_iter().collect(),
        ),
        None => (
            clean.iter().map(|s| u64::from(s.estimated_time)).collect(),
            HashSet::new(),
        ),
    };
    let run_start = tasks
        .iter()
        .filter_map(|t| t.started_at_ms)
        .fold(f64::INFINITY, f64::min);
    let run_start = run_start.is_finite().then_some(run_start);
    let any_running = tasks
        .iter()
        .any(|t| matches!(t.status, TaskStatus::Running | TaskStatus::Regenerating));
    let now = run_start
        .filter(|_| any_running)
        .map(|s| ((now_ms - s) / 1000.0).max(0.0));

    let mut bars = Vec::with_capacity(clean.len());
    for (i, s) in clean.iter().enumerate() {
        let Some(task) = by_id.get(s.id.as_str()) else {
            continue;
        };
        let est_end = finish.get(i).copied().unwrap_or(0) as f64;
        let est_start = (est_end - f64::from(s.estimated_time)).max(0.0);
        let rel = |ms: f64| run_start.map(|r| ((ms - r) / 1000.0).max(0.0));
        let actual_start = task.started_at_ms.and_then(rel);
        let running = matches!(task.status, TaskStatus::Running | TaskStatus::Regenerating)
            && task.finished_at_ms.is_none();
        let actual_end = match task.finished_at_ms {
            Some(ms) => rel(ms),
            None if running => now,
            None => None,
        };
        let actual_end = match (actual_start, actual_end) {
            (Some(a), Some(b)) => Some(b.max(a)),
            _ => None,
        };
        bars.push(TimelineBar {
            id: s.id.clone(),
            lane: 0,
            est_start,
            est_end,
            actual_start,
            actual_end,
            running,
            critical: critical.contains(&s.id),
        });
    }

    let planned: Vec<(f64, f64)> = bars.iter().map(|b| (b.est_start, b.est_end)).collect();
    let (_, planned_lanes) = assign_lanes(&planned);
    let both: Vec<(f64, f64)> = bars
        .iter()
        .map(|b| {
            let start = b.actual_start.map_or(b.est_start, |a| a.min(b.est_start));
            let end = b.actual_end.map_or(b.est_end, |a| a.max(b.est_end));
            (start, end)
        })
        .collect();
    let (lane_of, lanes) = assign_lanes(&both);
    for (bar, lane) in bars.iter_mut().zip(lane_of) {
        bar.lane = lane;
    }
    let span = bars
        .iter()
        .flat_map(|b| [b.est_end, b.actual_end.unwrap_or(0.0)])
        .chain(now)
        .fold(0.0, f64::max)
        .max(1.0);
    Timeline {
        ticks: axis_ticks(span, 8),
        bars,
        lanes,
        planned_lanes,
        span,
        now,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Example 1's eight tasks as its narrative runs them: task_1 and task_7 start together.
    pub(crate) fn example_1() -> Vec<TaskView> {
        let t = |id: &str, name: &str, kind, deps: &[&str], est: u32, agent: &str| TaskView {
            id: id.to_string(),
            name: name.to_string(),
            description: format!("{name} for the e-commerce platform"),
            kind,
            agent: agent.to_string(),
            prompt: format!("Generate the {name}."),
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            estimated_time: est,
            ..TaskView::default()
        };
        vec![
            t(
                "task_1",
                "Architecture Design",
                TaskType::Architecture,
                &[],
                45,
                "arch-001",
            ),
            t(
                "task_2",
                "Database Schema Design",
                TaskType::Architecture,
                &["task_1"],
                30,
                "db-001",
            ),
            t(
                "task_3",
                "Auth Service Implementation",
                TaskType::CodeGeneration,
                &["task_2"],
                60,
                "code-001",
            ),
            t(
                "task_4",
                "Product Catalog Service",
                TaskType::CodeGeneration,
                &["task_2"],
                50,
                "code-001",
            ),
            t(
                "task_5",
                "Shopping Cart Service",
                TaskType::CodeGeneration,
                &["task_3", "task_4"],
                40,
                "code-001",
            ),
            t(
                "task_6",
                "Payment Service Integration",
                TaskType::CodeGeneration,
                &["task_3"],
                55,
                "code-001",
            ),
            t(
                "task_7",
                "Frontend React Components",
                TaskType::CodeGeneration,
                &[],
                70,
                "code-001",
            ),
            t(
                "task_8",
                "API Integration & Testing",
                TaskType::Testing,
                &["task_3", "task_4", "task_5", "task_6"],
                35,
                "code-001",
            ),
        ]
    }

    /// Example 3's moment, 60 s in: task_1 and task_7 done, task_2 running (edited once).
    pub(crate) fn example_3_at_60s(t0: f64) -> Vec<TaskView> {
        let mut tasks = example_1();
        let s = |x: f64| Some(t0 + x * 1000.0);
        tasks[0].status = TaskStatus::Completed;
        tasks[0].started_at_ms = s(0.0);
        tasks[0].finished_at_ms = s(45.0);
        tasks[6].status = TaskStatus::Completed;
        tasks[6].started_at_ms = s(0.0);
        tasks[6].finished_at_ms = s(70.0);
        tasks[6].iterations = vec![IterationView {
            iteration: 1,
            focus: "basic_structure".into(),
            progress: Some("Generated basic components".into()),
            files_generated: Some(8),
        }];
        tasks[6].files = vec!["frontend/src/App.tsx".into()];
        tasks[1].status = TaskStatus::Running;
        tasks[1].started_at_ms = s(45.0);
        tasks[1].progress_text = Some("Designing user and product schemas...".into());
        tasks[1].messages = vec!["Designing user and product schemas...".into()];
        tasks[1].modification_count = 1;
        tasks
    }

    fn shapes(tasks: &[TaskView]) -> Vec<PlanShape> {
        tasks.iter().map(PlanShape::from).collect()
    }

    #[test]
    fn example_1_is_laid_out_in_five_columns_with_task_1_and_task_7_together() {
        let layout = dag_layout(&shapes(&example_1()));
        assert!(layout.valid);
        assert_eq!(
            layout.columns,
            vec![
                vec!["task_1", "task_7"],
                vec!["task_2"],
                vec!["task_3", "task_4"],
                // Barycentre order: task_6 hangs off task_3 (row 0) alone.
                vec!["task_6", "task_5"],
                vec!["task_8"],
            ]
        );
        let t1 = layout.slot("task_1").map(|s| (s.x, s.column));
        let t7 = layout.slot("task_7").map(|s| (s.x, s.column));
        assert_eq!(t1, t7, "parallel tasks share a column");
        assert_eq!(layout.cards.len(), 8);
        assert_eq!(layout.edges.len(), 10, "one per dependency");
        // Cards never overlap.
        for (i, a) in layout.cards.iter().enumerate() {
            for b in &layout.cards[i + 1..] {
                let apart = (a.x - b.x).abs() >= CARD_W || (a.y - b.y).abs() >= CARD_H;
                assert!(apart, "{} overlaps {}", a.id, b.id);
            }
        }
        assert!(layout.width >= 5.0 * CARD_W && layout.height >= 2.0 * CARD_H);
    }

    #[test]
    fn the_critical_path_of_example_1_is_marked_on_its_edges() {
        let layout = dag_layout(&shapes(&example_1()));
        assert_eq!(
            layout.critical_path,
            vec!["task_1", "task_2", "task_3", "task_6", "task_8"]
        );
        assert_eq!(layout.critical_seconds, 225);
        let critical: Vec<(&str, &str)> = layout
            .edges
            .iter()
            .filter(|e| e.critical)
            .map(|e| (e.from.as_str(), e.to.as_str()))
            .collect();
        assert_eq!(
            critical,
            vec![
                ("task_1", "task_2"),
                ("task_2", "task_3"),
                ("task_3", "task_6"),
                ("task_6", "task_8")
            ]
        );
    }

    #[test]
    fn the_design_json_puts_task_7_in_the_second_column() {
        let mut tasks = example_1();
        tasks[6].dependencies = vec!["task_1".into()];
        let layout = dag_layout(&shapes(&tasks));
        assert_eq!(layout.columns[1], vec!["task_2", "task_7"]);
    }

    #[test]
    fn broken_plans_still_show_every_task() {
        let mut tasks = example_1();
        tasks[0].dependencies = vec!["task_8".into(), "ghost".into()];
        let layout = dag_layout(&shapes(&tasks));
        assert!(!layout.valid);
        assert_eq!(layout.cards.len(), 8);
        // Unknown and duplicate ids are tolerated.
        let mut tasks = example_1();
        tasks[1].dependencies.push("nope".into());
        tasks.push(tasks[0].clone());
        let layout = dag_layout(&shapes(&tasks));
        assert!(layout.valid);
        assert_eq!(layout.cards.len(), 8);
        assert_eq!(dag_layout(&[]).cards.len(), 0);
    }

    #[test]
    fn status_changes_do_not_change_the_layout() {
        let before = dag_layout(&shapes(&example_1()));
        let after = dag_layout(&shapes(&example_3_at_60s(0.0)));
        assert_eq!(before, after);
    }

    #[test]
    fn lanes_are_assigned_greedily_by_start_time() {
        let (lanes, n) = assign_lanes(&[(0.0, 45.0), (0.0, 70.0), (45.0, 75.0), (75.0, 135.0)]);
        assert_eq!(lanes, vec![0, 1, 0, 0]);
        assert_eq!(n, 2);
        let (lanes, n) = assign_lanes(&[(10.0, 20.0), (0.0, 30.0), (5.0, 8.0)]);
        assert_eq!(lanes, vec![1, 0, 1]);
        assert_eq!(n, 2);
        assert_eq!(assign_lanes(&[]), (vec![], 0));
    }

    #[test]
    fn ticks_use_round_steps() {
        assert_eq!(
            axis_ticks(210.0, 8),
            vec![0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0]
        );
        assert_eq!(axis_ticks(9.0, 8), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(axis_ticks(0.0, 8), vec![0.0]);
        assert!(axis_ticks(100_000.0, 8).len() <= 9);
    }

    #[test]
    fn the_timeline_compares_estimates_with_what_happened() {
        let t0 = 1_700_000_000_000.0;
        let tasks = example_3_at_60s(t0);
        let tl = timeline(&tasks, t0 + 60_000.0);
        let bar = |id: &str| tl.bars.iter().find(|b| b.id == id).cloned();
        let Some(t2) = bar("task_2") else {
            panic!("task_2 has a bar");
        };
        assert_eq!((t2.est_start, t2.est_end), (45.0, 75.0));
        assert_eq!((t2.actual_start, t2.actual_end), (Some(45.0), Some(60.0)));
        assert!(t2.running && t2.critical);
        let Some(t7) = bar("task_7") else {
            panic!("task_7 has a bar");
        };
        assert_eq!((t7.est_start, t7.actual_end), (0.0, Some(70.0)));
        assert!(!t7.critical);
        assert_ne!(
            bar("task_1").map(|b| b.lane),
            Some(t7.lane),
            "parallel bars on two lanes"
        );
        assert_eq!(tl.now, Some(60.0));
        assert_eq!(tl.span, 225.0);
        assert!(tl.lanes >= 2 && tl.planned_lanes >= 2);
        // Bars sharing a lane never overlap.
        for a in &tl.bars {
            for b in &tl.bars {
                if a.id < b.id && a.lane == b.lane {
                    let a_end = a.actual_end.unwrap_or(0.0).max(a.est_end);
                    let b_end = b.actual_end.unwrap_or(0.0).max(b.est_end);
                    let a_start = a.actual_start.unwrap_or(a.est_start).min(a.est_start);
                    let b_start = b.actual_start.unwrap_or(b.est_start).min(b.est_start);
                    assert!(
                        a_end <= b_start || b_end <= a_start,
                        "{} and {}",
                        a.id,
                        b.id
                    );
                }
            }
        }
    }

    #[test]
    fn durations_and_progress_follow_the_clock() {
        let t0 = 1_000_000.0;
        let tasks = example_3_at_60s(t0);
        assert_eq!(tasks[1].elapsed_ms(t0 + 60_000.0), Some(15_000.0));
        assert_eq!(tasks[0].elapsed_ms(t0 + 99_000.0), Some(45_000.0));
        assert_eq!(tasks[2].elapsed_ms(t0), None);
        assert_eq!(tasks[1].progress_percent(t0 + 60_000.0), Some(50.0));
        assert_eq!(tasks[1].progress_percent(t0 + 600_000.0), Some(95.0));
        let mut reported = tasks[1].clone();
        reported.percent = Some(42);
        assert_eq!(reported.progress_percent(0.0), Some(42.0));
        assert!(tasks[1].can_edit() && tasks[2].can_edit() && !tasks[0].can_edit());
        assert_eq!(format_duration(45.9), "45s");
        assert_eq!(format_duration(65.0), "1m 05s");
        assert_eq!(format_duration(3720.0), "1h 02m");
        assert_eq!(format_duration(60.0), "1m");
        assert_eq!(format_duration(3600.0), "1h");
    }

    #[test]
    fn status_lines_say_what_a_task_waits_for_or_did() {
        let tasks = example_3_at_60s(0.0);
        let names: HashMap<String, (String, TaskStatus)> = tasks
            .iter()
            .map(|t| (t.id.clone(), (t.name.clone(), t.status)))
            .collect();
        assert_eq!(
            status_line(&tasks[2], &names),
            "Waiting for Database Schema Design"
        );
        assert_eq!(
            status_line(&tasks[1], &names),
            "Designing user and product schemas..."
        );
        assert_eq!(status_line(&tasks[0], &names), "Completed in 45s");
        let mut failed = tasks[3].clone();
        failed.status = TaskStatus::Failed;
        failed.error = Some("LLM timed out".into());
        assert_eq!(status_line(&failed, &names), "LLM timed out");
        let mut ready = tasks[1].clone();
        ready.status = TaskStatus::Pending;
        assert_eq!(status_line(&ready, &names), "Ready to start");
    }

    #[test]
    fn iso_times_parse_to_epoch_milliseconds() {
        assert_eq!(parse_iso_ms("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_iso_ms("2000-03-01T00:00:00Z"),
            Some(951_868_800_000.0)
        );
        assert_eq!(
            parse_iso_ms("2024-05-01T12:00:03.250Z"),
            Some(1_714_564_803_250.0)
        );
        assert_eq!(
            parse_iso_ms("2024-05-01T14:00:03.250+02:00"),
            Some(1_714_564_803_250.0)
        );
        assert_eq!(parse_iso_ms("yesterday"), None);
        assert_eq!(parse_iso_ms("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn task_views_come_from_snapshot_tasks() {
        let task: Task = match serde_json::from_value(serde_json::json!({
            "id": "task_2", "name": "Database Schema Design", "type": "ARCHITECTURE",
            "dependencies": ["task_1"], "estimatedTime": 30, "agent": "db-001",
            "prompt": "Create the schema", "status": "running",
            "startedAt": "2024-05-01T12:00:00Z", "modificationCount": 1
        })) {
            Ok(t) => t,
            Err(e) => panic!("task JSON: {e}"),
        };
        let view = TaskView::from_task(&task);
        assert_eq!(view.status, TaskStatus::Running);
        assert_eq!(view.started_at_ms, Some(1_714_564_800_000.0));
        assert_eq!(view.modification_count, 1);
        assert!(view.can_edit());
    }
}
