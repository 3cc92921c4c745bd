//! The plan as a compact list of tasks with their live state and an "Edit step" button each:
//! what the narrow plan panel shows (the plan components draw the graph, the timeline and the
//! details). Untrusted names and progress texts are text nodes.

use super::model::{TaskPhase, TaskState};
use super::words;
use leptos::prelude::*;

/// Whether "Edit step" is offered: the run must still be going and the task not failed or
/// cancelled (the orchestrator also re-runs a task that already completed).
pub fn editable(task: &TaskState, run_active: bool) -> bool {
    run_active
        && matches!(
            task.status,
            TaskPhase::Pending
                | TaskPhase::Running
                | TaskPhase::Regenerating
                | TaskPhase::Completed
        )
}

pub fn status_icon(status: TaskPhase) -> &'static str {
    match status {
        TaskPhase::Pending => "○",
        TaskPhase::Running => "⟳",
        TaskPhase::Completed => "✓",
        TaskPhase::Failed => "✗",
        TaskPhase::Cancelled => "⊘",
        TaskPhase::Regenerating => "↻",
    }
}

/// The id of task `id`'s "Edit step" button (focus returns there after the modal).
pub fn edit_button_id(task_id: &str) -> String {
    format!("edit-step-{task_id}")
}

#[component]
pub fn TaskList(
    #[prop(into)] tasks: Signal<Vec<TaskState>>,
    selected: RwSignal<Option<String>>,
    #[prop(into)] run_active: Signal<bool>,
    /// Opens the edit modal for a task id.
    on_edit: Callback<String>,
) -> impl IntoView {
    view! {
        <ol class="task-list" data-testid="task-list" aria-label="Plan tasks">
            <For
                each=move || tasks.get()
                key=|t| t.id.clone()
                children=move |t: TaskState| {
                    let id = t.id.clone();
                    let task = Memo::new({
                        let id = id.clone();
                        move |_| tasks.with(|ts| ts.iter().find(|x| x.id == id).cloned()).unwrap_or_default()
                    });
                    let is_selected = Memo::new({
                        let id = id.clone();
                        move |_| selected.with(|s| s.as_deref() == Some(id.as_str()))
                    });
                    let select_id = id.clone();
                    let edit_id = id.clone();
                    view! {
                        <li
                            class=move || format!("task-row task-row--{}", task.with(|t| t.status.as_str()))
                            class:task-row--selected=is_selected
                            data-testid="task-row"
                            data-task-id=id.clone()
                            data-status=move || task.with(|t| t.status.as_str())
                        >
                            <button
                                type="button"
                                class="task-row__main"
                                aria-pressed=move || is_selected.get().to_string()
                                on:click=move |_| selected.set(Some(select_id.clone()))
                            >
                                <span class="task-row__icon" aria-hidden="true">{move || status_icon(task.with(|t| t.status))}</span>
                                <span class="task-row__text">
                                    <span class="task-row__name">{move || task.with(|t| t.name.clone())}</span>
                                    <span class="task-row__detail muted">
                                        {move || task.with(|t| match t.status {
                                            TaskPhase::Running => t.progress.clone().unwrap_or_else(|| "Running…".into()),
                                            TaskPhase::Completed => t.result.clone().unwrap_or_else(|| "Done".into()),
                                            TaskPhase::Failed => t.error.clone().unwrap_or_else(|| "Failed".into()),
                                            TaskPhase::Regenerating => "Will regenerate after the edit".into(),
                                            TaskPhase::Cancelled => "Cancelled".into(),
                                            TaskPhase::Pending => {
                                                if t.dependencies.is_empty() {
                                                    format!("Waiting · ~{}", words::seconds(f64::from(t.estimated_time)))
                                                } else {
                                                    format!("Waiting for {}", t.dependencies.join(", "))
                                                }
                                            }
                                        })}
                                    </span>
                                </span>
                            </button>
                            <Show when=move || task.with(|t| editable(t, run_active.get()))>
                                {
                                    let edit_id = edit_id.clone();
                                    view! {
                                        <button
                                            type="button"
                                            class="btn btn--ghost btn--small task-row__edit"
                                            id=edit_button_id(&edit_id)
                                            aria-label=move || format!("Edit step: {}", task.with(|t| t.name.clone()))
                                            data-testid=format!("edit-step-{edit_id}")
                                            on:click={
                                                let edit_id = edit_id.clone();
                                                move |_| on_edit.run(edit_id.clone())
                                            }
                                        >
                                            "✏ Edit step"
                                        </button>
                                    }
                                }
                            </Show>
                        </li>
                    }
                }
            />
        </ol>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_is_offered_only_while_the_run_goes_on() {
        let mut t = TaskState {
            status: TaskPhase::Running,
            ..TaskState::default()
        };
        assert!(editable(&t, true));
        assert!(!editable(&t, false));
        t.status = TaskPhase::Failed;
        assert!(!editable(&t, true));
        t.status = TaskPhase::Pending;
        assert!(editable(&t, true));
    }
}
