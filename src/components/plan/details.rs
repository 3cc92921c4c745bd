//! `TaskDetails`: everything about the selected task — status, prompt, agent, type,
//! dependencies (each selects that task), progress messages, iterations, the files it
//! produced (opened through the page) and its error and edit count. Rebuilt only when the
//! selection changes; live values update in place, so focus and scroll survive events.

use super::model::{format_duration, kind_name, status_style, TaskStatus, TaskView};
use super::PlanState;
use leptos::ev::MouseEvent;
use leptos::prelude::*;

/// The details of the selected task.
///
/// ```ignore
/// view! {
///     <TaskDetails
///         tasks=tasks
///         selected=selected
///         on_open_file=move |path: String| open_file(path)
///         on_edit=move |task_id: String| open_edit_modal(task_id)
///         now_ms=clock
///     />
/// }
/// ```
#[component]
pub fn TaskDetails(
    /// The plan's tasks with their live state.
    #[prop(into)]
    tasks: Signal<Vec<TaskView>>,
    /// The task to show; a click on a dependency selects that task.
    selected: RwSignal<Option<String>>,
    /// A click on one of the task's files, with its path. Without it paths are plain text.
    #[prop(into, optional)]
    on_open_file: Option<Callback<String>>,
    /// "Edit step" (shown for pending or running tasks only).
    #[prop(into, optional)]
    on_edit: Option<Callback<String>>,
    /// The current time in epoch milliseconds, for a running task's elapsed time.
    #[prop(into, optional)]
    now_ms: Signal<f64>,
) -> impl IntoView {
    let p = PlanState::new(tasks, selected, on_edit, now_ms);
    let shown = Memo::new(move |_| {
        let id = selected.get()?;
        p.index.with(|ix| ix.contains_key(&id)).then_some(id)
    });

    view! {
        <section class="ptask" aria-label="Task details" data-testid="task-details">
            {move || match shown.get() {
                None => view! {
                    <p class="ptask__empty muted">
                        "Select a task to see its prompt, progress and the files it produced."
                    </p>
                }
                .into_any(),
                Some(id) => details(id, p, on_open_file).into_any(),
            }}
        </section>
    }
    // Type-erased: keeps the view types of pages that mount this shallow.
    .into_any()
}

fn details(id: String, p: PlanState, on_open_file: Option<Callback<String>>) -> impl IntoView {
    let task = p.task_memo(id.clone());
    // Small accessors: each re-runs only when the task changes.
    let field = move |f: fn(&TaskView) -> String| {
        move || task.with(|t| t.as_ref().map(f).unwrap_or_default())
    };
    let status =
        Memo::new(move |_| task.with(|t| t.as_ref().map_or(TaskStatus::Pending, |t| t.status)));
    let elapsed = move || {
        task.with(|t| {
            let t = t.as_ref()?;
            let live = matches!(t.status, TaskStatus::Running | TaskStatus::Regenerating);
            if live && !p.mounted.get() {
                return Some("—".to_string());
            }
            Some(match t.elapsed_ms(p.now_ms.get()) {
                Some(ms) if live => format!("{} so far", format_duration(ms / 1000.0)),
                Some(ms) => format_duration(ms / 1000.0),
                None => "not started".to_string(),
            })
        })
    };
    let edit = {
        let id = id.clone();
        move || {
            let cb = p.on_edit?;
            if !task.with(|t| t.as_ref().is_some_and(TaskView::can_edit)) {
                return None;
            }
            let id = id.clone();
            Some(view! {
                <button type="button" class="btn btn--ghost ptask__edit" data-testid="details-edit-step"
                    on:click=move |_: MouseEvent| cb.run(id.clone())>
                    <span aria-hidden="true">"✎ "</span>"Edit step"
                </button>
            })
        }
    };
    let deps = move || {
        let deps = task.with(|t| {
            t.as_ref()
                .map(|t| t.dependencies.clone())
                .unwrap_or_default()
        });
        if deps.is_empty() {
            return view! { <span class="muted">"none — starts right away"</span> }.into_any();
        }
        deps.into_iter()
            .map(|d| {
                let text = p
                    .names
                    .with(|n| n.get(&d).map(|(name, _)| name.clone()))
                    .unwrap_or_else(|| d.clone());
                let target = d.clone();
                view! {
                    <button type="button" class="ptask__dep" title=d
                        on:click=move |_: MouseEvent| p.selected.set(Some(target.clone()))>
                        {text}
                    </button>
                }
            })
            .collect_view()
            .into_any()
    };
    let error = move || {
        task.with(|t| {
            t.as_ref()
                .and_then(|t| Some((t.error.clone()?, t.suggestion.clone())))
        })
        .map(|(e, next)| {
            view! {
                <div class="ptask__error">
                    <strong>"Failed: "</strong>
                    {e}
                    {next.map(|n| view! { <p class="ptask__next">{n}</p> })}
                </div>
            }
        })
    };
    let messages = Memo::new(move |_| {
        task.with(|t| {
            t.as_ref()
                .map(|t| t.messages.iter().cloned().enumerate().collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let files =
        Memo::new(move |_| task.with(|t| t.as_ref().map(|t| t.files.clone()).unwrap_or_default()));
    let iterations = move || {
        let its = task.with(|t| t.as_ref().map(|t| t.iterations.clone()).unwrap_or_default());
        (!its.is_empty()).then(|| {
            let rows = its
                .into_iter()
                .map(|it| {
                    view! {
                        <tr>
                            <td>{it.iteration}</td>
                            <td>{it.focus.replace('_', " ")}</td>
                            <td>{it.progress.unwrap_or_default()}</td>
                            <td>{it.files_generated.map(|n| n.to_string()).unwrap_or_default()}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <h4>"Iterations"</h4>
                <table class="ptask__iterations">
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">"Focus"</th>
                            <th scope="col">"Progress"</th>
                            <th scope="col">"Files"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        })
    };

    view! {
        <header class="ptask__head">
            <span class=move || format!("pbadge pbadge--{}", status_style(status.get()).class)>
                <span class="pbadge__icon" aria-hidden="true">{move || status_style(status.get()).icon}</span>
                {move || status_style(status.get()).label}
            </span>
            <h3 class="ptask__name">{field(|t| t.name.clone())}</h3>
            {edit}
        </header>
        <p class="ptask__desc">{field(|t| t.description.clone())}</p>
        {error}
        <dl class="ptask__facts">
            <dt>"Task"</dt>
            <dd><code>{id}</code></dd>
            <dt>"Type"</dt>
            <dd>{field(|t| kind_name(t.kind).to_string())}</dd>
            <dt>"Agent"</dt>
            <dd><code>{field(|t| t.agent.clone())}</code></dd>
            <dt>"Estimated"</dt>
            <dd>{field(|t| format_duration(f64::from(t.estimated_time)))}</dd>
            <dt>"Duration"</dt>
            <dd>{elapsed}</dd>
            <dt>"Depends on"</dt>
            <dd class="ptask__deps">{deps}</dd>
            <dt>"Modified"</dt>
            <dd>
                {field(|t| match t.modification_count {
                    0 => "never".to_string(),
                    n => format!("×{n} (at most 3)"),
                })}
            </dd>
        </dl>
        <h4>"Prompt"</h4>
        <pre class="ptask__prompt">{field(|t| t.prompt.clone())}</pre>
        <h4>"Progress"</h4>
        <Show
            when=move || messages.with(|m| !m.is_empty())
            fallback=|| view! { <p class="muted">"No progress reported yet."</p> }
        >
            <ol class="ptask__messages" aria-live="polite">
                <For
                    each=move || messages.get()
                    key=|m| m.clone()
                    children=|(_, text)| view! { <li>{text}</li> }
                />
            </ol>
        </Show>
        {iterations}
        <h4>{move || format!("Files ({})", files.with(Vec::len))}</h4>
        <Show
            when=move || files.with(|f| !f.is_empty())
            fallback=|| view! { <p class="muted">"No files yet."</p> }
        >
            <ul class="ptask__files">
                <For
                    each=move || files.get()
                    key=|f| f.clone()
                    children=move |path| match on_open_file {
                        Some(cb) => {
                            let shown = path.clone();
                            view! {
                                <li>
                                    <button type="button" class="ptask__file" data-testid="task-file"
                                        on:click=move |_: MouseEvent| cb.run(path.clone())>
                                        {shown}
                                    </button>
                                </li>
                            }
                            .into_any()
                        }
                        None => view! { <li><code>{path}</code></li> }.into_any(),
                    }
                />
            </ul>
        </Show>
    }
}
