//! The run's tasks as the plan components draw them (`plan::TaskView`): the reducer's
//! `TaskState` mapped field by field (statuses, times in epoch milliseconds, progress,
//! iterations, messages, files). Pure.

use super::model::{RunView, TaskPhase, TaskState};
use crate::components::plan::model::{parse_iso_ms, IterationView, TaskStatus, TaskType, TaskView};

fn status(phase: TaskPhase) -> TaskStatus {
    match phase {
        TaskPhase::Pending => TaskStatus::Pending,
        TaskPhase::Running => TaskStatus::Running,
        TaskPhase::Completed => TaskStatus::Completed,
        TaskPhase::Failed => TaskStatus::Failed,
        TaskPhase::Cancelled => TaskStatus::Cancelled,
        TaskPhase::Regenerating => TaskStatus::Regenerating,
    }
}

fn kind(name: &str) -> TaskType {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .unwrap_or(TaskType::CodeGeneration)
}

/// One task for the plan components.
pub fn task_view(t: &TaskState) -> TaskView {
    TaskView {
        id: t.id.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        kind: kind(&t.kind),
        agent: t.agent.clone(),
        prompt: t.prompt.clone(),
        dependencies: t.dependencies.clone(),
        estimated_time: t.estimated_time,
        status: status(t.status),
        progress_text: match t.status {
            TaskPhase::Completed => t.result.clone(),
            _ => t.progress.clone(),
        },
        percent: t.percent.map(|p| p.clamp(0.0, 100.0).round() as u8),
        started_at_ms: t.started_at.as_deref().and_then(parse_iso_ms),
        finished_at_ms: t.finished_at.as_deref().and_then(parse_iso_ms),
        error: t.error.clone(),
        suggestion: t.suggestion.clone(),
        modification_count: t.modification_count,
        iterations: t
            .iterations
            .iter()
            .map(|it| IterationView {
                iteration: it.iteration,
                focus: it.focus.clone(),
                progress: it.progress.clone(),
                files_generated: it.files_generated,
            })
            .collect(),
        files: t.files.clone(),
        messages: t.messages.clone(),
    }
}

/// Every task of the run, in plan order.
pub fn task_views(run: Option<&RunView>) -> Vec<TaskView> {
    run.map(|r| r.tasks.iter().map(task_view).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::run::model::IterationInfo;

    #[test]
    fn a_task_state_maps_onto_the_plan_view() {
        let t = TaskState {
            id: "task_7".into(),
            name: "Frontend React Components".into(),
            kind: "CODE_GENERATION".into(),
            dependencies: vec!["task_1".into()],
            estimated_time: 70,
            status: TaskPhase::Running,
            started_at: Some("2025-01-01T00:00:10.000Z".into()),
            progress: Some("Added state management".into()),
            percent: Some(42.4),
            iterations: vec![IterationInfo {
                iteration: 2,
                focus: "state_management".into(),
                progress: None,
                files_generated: Some(12),
            }],
            messages: vec!["Generated basic components".into()],
            files: vec!["frontend/src/App.jsx".into()],
            ..TaskState::default()
        };
        let v = task_view(&t);
        assert_eq!(v.kind, TaskType::CodeGeneration);
        assert_eq!(v.status, TaskStatus::Running);
        assert_eq!(v.percent, Some(42));
        assert_eq!(v.progress_text.as_deref(), Some("Added state management"));
        assert_eq!(v.started_at_ms, parse_iso_ms("2025-01-01T00:00:10.000Z"));
        assert_eq!(v.iterations[0].files_generated, Some(12));
        assert_eq!(v.files.len(), 1);
        assert!(v.can_edit());
        assert_eq!(kind("nonsense"), TaskType::CodeGeneration);
        assert_eq!(kind("DATABASE"), TaskType::Database);
    }
}
