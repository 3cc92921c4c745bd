//! The activity log's wording: one event → one line in plain words, as the design's flow
//! examples phrase them ("Plan ready: 8 tasks", "Started Architecture Design",
//! "✓ Architecture Design — Architecture designed with 4 microservices"), plus the small
//! formatters the panels share (durations, sizes, waits). Pure.

use super::model::{Envelope, LogTone, RunView};
use serde_json::Value;

fn s<'a>(d: &'a Value, key: &str) -> Option<&'a str> {
    d.get(key).and_then(Value::as_str)
}

fn n(d: &Value, key: &str) -> Option<f64> {
    d.get(key).and_then(Value::as_f64)
}

/// "BUILD_FROM_SCRATCH" → "build from scratch".
pub fn intent_words(intent: &str) -> String {
    match intent {
        "BUILD_FROM_SCRATCH" => "build from scratch".into(),
        "SCALE_COMPONENT" => "scale a component".into(),
        "ADD_FEATURE" => "add a feature".into(),
        "MODIFY_COMPONENT" => "modify a component".into(),
        "FIX_COMPONENT" => "fix a component".into(),
        "EXPLAIN" => "explain the design".into(),
        other => other.to_ascii_lowercase().replace('_', " "),
    }
}

/// Milliseconds → "3 min 5 s", "42 s", "0.4 s".
pub fn duration_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{:.1} s", ms as f64 / 1000.0);
    }
    seconds(ms as f64 / 1000.0)
}

/// Seconds → "3 min 5 s", "42 s".
pub fn seconds(secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    match (h, m, s) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// Bytes → "812 B", "1.2 KB", "3.4 MB".
pub fn bytes(b: u64) -> String {
    if b < 1024 {
        format!("{b} B")
    } else if b < 1024 * 1024 {
        format!("{:.1} KB", b as f64 / 1024.0)
    } else {
        format!("{:.1} MB", b as f64 / (1024.0 * 1024.0))
    }
}

/// 5500 → "5,500".
pub fn thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "a", "a and b", "a, b and c".
pub fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// "snake_case_focus" → "snake case focus".
fn humanize(key: &str) -> String {
    key.replace(['_', '-'], " ")
}

/// The run's end in one sentence (toast and log).
pub fn summary_headline(view: &RunView) -> String {
    let Some(summary) = &view.summary else {
        return "Run completed.".into();
    };
    let mut text = format!(
        "Run completed in {}: {}, {}",
        duration_ms(summary.total_time),
        plural(u64::from(summary.tasks_completed), "task", "tasks"),
        plural(u64::from(summary.files_generated), "file", "files"),
    );
    if let Some(rps) = view.capacity_rps {
        text.push_str(&format!(", capacity ≈{rps} RPS"));
    }
    text.push('.');
    text
}

/// The log line for `ev`, read against the view *before* it is folded. `None` for events
/// that need no line.
pub fn describe(view: &RunView, ev: &Envelope) -> Option<(LogTone, String, Option<String>)> {
    let d = &ev.data;
    let task_id = s(d, "taskId").map(str::to_string);
    let name = || {
        s(d, "name")
            .map(str::to_string)
            .or_else(|| task_id.as_deref().map(|id| view.task_name(id)))
            .unwrap_or_else(|| "A task".into())
    };
    use LogTone::*;
    let line = match ev.kind.as_str() {
        "intentAnalyzed" => {
            let intent = s(d, "intent").map(intent_words).unwrap_or_default();
            let target = s(d, "target").filter(|t| !t.is_empty());
            match target {
                Some(t) => (
                    Info,
                    format!("Analyzing requirements… intent: {intent} ({t})"),
                ),
                None => (Info, format!("Analyzing requirements… intent: {intent}")),
            }
        }
        "contextExtracted" => {
            let empty = d.get("isEmpty").and_then(Value::as_bool).unwrap_or(false);
            if empty {
                (Info, "Canvas is empty: designing from scratch".into())
            } else {
                let count = d
                    .get("components")
                    .and_then(Value::as_array)
                    .map(|a| a.len() as u64)
                    .or_else(|| d.get("nodeCount").and_then(Value::as_u64));
                match count {
                    Some(c) => (
                        Info,
                        format!("Read the canvas: {}", plural(c, "component", "components")),
                    ),
                    None => (Info, "Read the existing canvas".into()),
                }
            }
        }
        "similarSolutionFound" => {
            let sim = n(d, "similarity").unwrap_or(0.0);
            (
                Info,
                format!(
                    "Found a similar earlier solution ({:.0}% alike)",
                    sim * 100.0
                ),
            )
        }
        "planGenerated" => {
            let count = d
                .get("taskCount")
                .and_then(Value::as_u64)
                .or_else(|| {
                    d.get("tasks")
                        .and_then(Value::as_array)
                        .map(|a| a.len() as u64)
                })
                .unwrap_or(0);
            (
                Info,
                format!("Plan ready: {}", plural(count, "task", "tasks")),
            )
        }
        "executionStarted" => {
            let parallel = d.get("parallelTasks").and_then(Value::as_u64).unwrap_or(0);
            if d.get("resumed").and_then(Value::as_bool).unwrap_or(false) {
                (Info, "Execution resumed".into())
            } else if parallel > 1 {
                (
                    Info,
                    format!("Execution started: {parallel} tasks in parallel"),
                )
            } else {
                (Info, "Execution started".into())
            }
        }
        "tasksStarted" => {
            let names: Vec<String> = d
                .get("taskIds")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|id| view.task_name(id))
                        .collect()
                })
                .unwrap_or_default();
            match names.len() {
                0 => return None,
                1 => (Info, format!("Starting {}", names[0])),
                _ => (Info, format!("Started {} in parallel", join_words(&names))),
            }
        }
        "taskStarted" => {
            if d.get("restarted").and_then(Value::as_bool).unwrap_or(false) {
                (Info, format!("Restarted {}", name()))
            } else {
                (Info, format!("Started {}", name()))
            }
        }
        "taskProgress" => {
            let text = s(d, "progress")?;
            let tone = if d.get("retry").and_then(Value::as_bool).unwrap_or(false) {
                Warning
            } else {
                Progress
            };
            (tone, format!("{}: {text}", name()))
        }
        "iterationStarted" => {
            let i = d.get("iteration").and_then(Value::as_u64).unwrap_or(0);
            match s(d, "focus") {
                Some(f) => (
                    Progress,
                    format!("{}: iteration {i} ({})", name(), humanize(f)),
                ),
                None => (Progress, format!("{}: iteration {i}", name())),
            }
        }
        "iterationProgress" => {
            let text = s(d, "progress").unwrap_or("progress");
            match d.get("filesGenerated").and_then(Value::as_u64) {
                Some(f) => (
                    Progress,
                    format!("{}: {text} ({})", name(), plural(f, "file", "files")),
                ),
                None => (Progress, format!("{}: {text}", name())),
            }
        }
        "taskCompleted" => match s(d, "result").filter(|r| !r.is_empty()) {
            Some(r) => (Success, format!("✓ {} — {r}", name())),
            None => (Success, format!("✓ {}", name())),
        },
        "taskFailed" => {
            let error = s(d, "error").unwrap_or("failed");
            (Error, format!("✗ {} — {error}", name()))
        }
        "canvasUpdated" => {
            let count = |key: &str| {
                d.get(key)
                    .and_then(Value::as_array)
                    .map_or(0, |a| a.len() as u64)
            };
            let extra = d
                .get("missingAnalysis")
                .and_then(|m| m.get("addedNodes"))
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
            let mut parts = Vec::new();
            let added = count("addedNodes") + extra;
            if added > 0 {
                parts.push(format!(
                    "{} added",
                    plural(added, "component", "components")
                ));
            }
            let replaced = count("replacedNodes");
            if replaced > 0 {
                parts.push(format!("{replaced} replaced"));
            }
            let updated = count("updatedNodes");
            if updated > 0 {
                parts.push(format!("{updated} updated"));
            }
            let edges = count("addedEdges");
            if edges > 0 {
                parts.push(plural(edges, "connection", "connections"));
            }
            if parts.is_empty() {
                (Info, "Canvas updated".into())
            } else {
                (Info, format!("Canvas updated: {}", parts.join(", ")))
            }
        }
        "fileGenerated" => {
            let path = s(d, "path")?;
            let size = d.get("bytes").and_then(Value::as_u64).map(bytes);
            match size {
                Some(b) => (Info, format!("Generated {path} ({b})")),
                None => (Info, format!("Generated {path}")),
            }
        }
        "bottlenecksIdentified" => {
            let count = d.get("count").and_then(Value::as_u64).unwrap_or(0);
            let list: Vec<String> = d
                .get("bottlenecks")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|b| {
                            b.as_str()
                                .map(str::to_string)
                                .or_else(|| s(b, "description").map(str::to_string))
                                .or_else(|| s(b, "message").map(str::to_string))
                                .or_else(|| s(b, "kind").map(humanize))
                        })
                        .collect()
                })
                .unwrap_or_default();
            if list.is_empty() {
                (
                    Warning,
                    format!("Found {}", plural(count, "bottleneck", "bottlenecks")),
                )
            } else {
                (
                    Warning,
                    format!(
                        "Found {}: {}",
                        plural(count, "bottleneck", "bottlenecks"),
                        list.join("; ")
                    ),
                )
            }
        }
        "scalingPlanGenerated" => match s(d, "approach") {
            Some(a) => (Info, format!("Scaling plan ready: {}", humanize(a))),
            None => (Info, "Scaling plan ready".into()),
        },
        "analysisCompleted" => {
            let r = d
                .get("recommendations")
                .and_then(|r| r.as_u64().or_else(|| r.as_array().map(|a| a.len() as u64)));
            match r {
                Some(r) => (
                    Info,
                    format!(
                        "Analysis complete: {}",
                        plural(r, "recommendation", "recommendations")
                    ),
                ),
                None => (Info, "Analysis complete".into()),
            }
        }
        "configurationGenerated" => match super::model::configured_capacity(d) {
            Some(rps) => (
                Info,
                format!("Configuration generated: capacity ≈{rps} RPS"),
            ),
            None => (Info, "Configuration generated".into()),
        },
        "componentReplaced" => match n(d, "accuracy") {
            Some(a) => (Info, format!("Component replaced (accuracy {a:.0}%)")),
            None => (Info, "Component replaced".into()),
        },
        "scalingCompleted" => {
            let rps = d.get("newRPS").and_then(super::model::parse_rps);
            let files = d.get("filesUpdated").and_then(Value::as_u64);
            match (rps, files) {
                (Some(r), Some(f)) => (
                    Success,
                    format!(
                        "Scaling complete: ≈{r} RPS, {} updated",
                        plural(f, "file", "files")
                    ),
                ),
                (Some(r), None) => (Success, format!("Scaling complete: ≈{r} RPS")),
                _ => (Success, "Scaling complete".into()),
            }
        }
        "modificationValidated" => {
            let left = d.get("modificationsLeft").and_then(Value::as_u64);
            match left {
                Some(l) => (
                    Info,
                    format!(
                        "Edit of {} validated ({} left)",
                        name(),
                        plural(l, "edit", "edits")
                    ),
                ),
                None => (Info, format!("Edit of {} validated", name())),
            }
        }
        "impactAnalysis" => {
            let affected = d
                .get("affectedTasks")
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
            let time = n(d, "additionalTime").unwrap_or(0.0);
            let cost = n(d, "costIncrease").unwrap_or(0.0);
            (
                Info,
                format!(
                    "Impact of editing {}: {} affected, +{}, +${cost:.2}",
                    name(),
                    plural(affected, "task", "tasks"),
                    seconds(time)
                ),
            )
        }
        "regenerationStarted" => {
            let count = d
                .get("affectedTasks")
                .and_then(Value::as_u64)
                .or_else(|| {
                    d.get("taskIds")
                        .and_then(Value::as_array)
                        .map(|a| a.len() as u64)
                })
                .unwrap_or(0);
            (
                Warning,
                format!(
                    "Edited {}: regenerating {}",
                    name(),
                    plural(count, "task", "tasks")
                ),
            )
        }
        "queuePosition" => {
            let pos = d.get("position").and_then(Value::as_u64).unwrap_or(0);
            let len = d.get("queueLength").and_then(Value::as_u64).unwrap_or(pos);
            let wait = n(d, "estimatedWait").unwrap_or(0.0);
            (
                Info,
                format!(
                    "Queued: position {pos} of {len}, about {} to wait",
                    seconds(wait)
                ),
            )
        }
        "runCancelled" => (Warning, "Run cancelled".into()),
        "runResumed" => {
            let done = d.get("completedTasks").and_then(Value::as_u64).unwrap_or(0);
            (
                Info,
                format!(
                    "Resumed on another server after {} (nothing is lost)",
                    plural(done, "completed task", "completed tasks")
                ),
            )
        }
        "executionSummary" => {
            let success = d.get("success").and_then(Value::as_bool).unwrap_or(false);
            if success {
                let total = d.get("totalTime").and_then(Value::as_u64).unwrap_or(0);
                let tasks = d.get("tasksCompleted").and_then(Value::as_u64).unwrap_or(0);
                (
                    Success,
                    format!(
                        "Run completed in {}: {} done",
                        duration_ms(total),
                        plural(tasks, "task", "tasks")
                    ),
                )
            } else {
                (Error, "Run ended without success".into())
            }
        }
        "error" => {
            let message = s(d, "message").unwrap_or("Something went wrong");
            match s(d, "suggestedAction") {
                Some(a) => (Error, format!("Error: {message} {a}")),
                None => (Error, format!("Error: {message}")),
            }
        }
        _ => return None,
    };
    Some((line.0, line.1, task_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatters() {
        assert_eq!(duration_ms(180_000), "3 min");
        assert_eq!(duration_ms(185_000), "3 min 5 s");
        assert_eq!(duration_ms(400), "0.4 s");
        assert_eq!(seconds(42.4), "42 s");
        assert_eq!(seconds(3700.0), "1 h 1 min");
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(1536), "1.5 KB");
        assert_eq!(thousands(5500), "5,500");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(
            join_words(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
        assert_eq!(intent_words("SCALE_COMPONENT"), "scale a component");
    }
}
