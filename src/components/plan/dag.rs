//! `PlanDag`: the plan's tasks as cards in dependency layers (left to right), with the
//! dependency arrows drawn underneath and the critical path emphasised. The layout depends
//! only on ids, dependencies and estimates, so progress and status events re-render cards,
//! never move them.

use super::card::task_card;
use super::model::{status_style, DepEdge, TaskStatus, TaskView, CARD_W, COL_GAP, PAD};
use super::PlanState;
use leptos::prelude::*;

/// The plan DAG.
///
/// ```ignore
/// let selected = RwSignal::new(None::<String>);
/// view! {
///     <PlanDag
///         tasks=Signal::derive(move || run.with(|r| r.tasks.clone()))
///         selected=selected
///         on_edit=move |task_id: String| open_edit_modal(task_id)
///         now_ms=clock
///     />
/// }
/// ```
#[component]
pub fn PlanDag(
    /// The plan's tasks with their live state, in plan order.
    #[prop(into)]
    tasks: Signal<Vec<TaskView>>,
    /// The selected task id (click, Enter or Space on a card). Internal when not given.
    #[prop(optional)]
    selected: Option<RwSignal<Option<String>>>,
    /// "Edit step" on a pending or running task: the page opens its edit-step modal. No
    /// button without it.
    #[prop(into, optional)]
    on_edit: Option<Callback<String>>,
    /// The current time in epoch milliseconds, ticking (e.g. every second) for the running
    /// tasks' elapsed time and progress estimate. Read only after hydration.
    #[prop(into, optional)]
    now_ms: Signal<f64>,
    /// DOM id (prefixes the arrow marker's id). Default "plan-dag".
    #[prop(into, optional)]
    dom_id: Option<String>,
) -> impl IntoView {
    let selected = selected.unwrap_or_else(|| RwSignal::new(None));
    let p = PlanState::new(tasks, selected, on_edit, now_ms);
    let dom_id = dom_id.unwrap_or_else(|| "plan-dag".to_string());
    let marker = format!("{dom_id}-arrow");
    let marker_url = format!("url(#{marker})");

    let card_ids = Memo::new(move |_| {
        p.layout
            .with(|l| l.cards.iter().map(|c| c.id.clone()).collect::<Vec<_>>())
    });
    let edges = Memo::new(move |_| p.layout.with(|l| l.edges.clone()));
    let heads = Memo::new(move |_| {
        p.layout.with(|l| {
            l.columns
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    let x = PAD + i as f64 * (CARD_W + COL_GAP);
                    let text = if col.len() > 1 {
                        format!("Step {} · {} in parallel", i + 1, col.len())
                    } else {
                        format!("Step {}", i + 1)
                    };
                    (x, text)
                })
                .collect::<Vec<_>>()
        })
    });
    let summary = Memo::new(move |_| {
        p.layout.with(|l| {
            let done = p.names.with(|n| {
                n.values()
                    .filter(|(_, s)| *s == TaskStatus::Completed)
                    .count()
            });
            format!(
                "Plan: {} tasks in {} steps, {} completed",
                l.cards.len(),
                l.columns.len(),
                done
            )
        })
    });
    let size = move || {
        p.layout
            .with(|l| format!("width:{}px;height:{}px", l.width, l.height))
    };

    view! {
        <section class="pdag" aria-label=move || summary.get() data-testid="plan-dag"
            data-hydrated=move || p.mounted.get().to_string()>
            <div class="pdag__scroll">
                <div class="pdag__plane" style=size>
                    <svg
                        class="pdag__edges"
                        aria-hidden="true"
                        width=move || p.layout.with(|l| l.width)
                        height=move || p.layout.with(|l| l.height)
                    >
                        <defs>
                            <marker id=marker.clone() viewBox="0 0 10 10" refX="9" refY="5"
                                markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">
                                <path class="pdag__arrow" d="M0 0L10 5L0 10z"></path>
                            </marker>
                        </defs>
                        <For
                            each=move || edges.get()
                            key=|e| (e.from.clone(), e.to.clone(), e.d.clone())
                            children=move |e| edge_path(e, p, marker_url.clone())
                        />
                    </svg>
                    {move || {
                        heads
                            .get()
                            .into_iter()
                            .map(|(x, text)| {
                                view! {
                                    <div class="pdag__head" style=format!("left:{x}px;width:{CARD_W}px") aria-hidden="true">
                                        {text}
                                    </div>
                                }
                            })
                            .collect_view()
                    }}
                    <ol class="pdag__cards">
                        <For
                            each=move || card_ids.get()
                            key=|id| id.clone()
                            children=move |id| task_card(id, p)
                        />
                    </ol>
                </div>
            </div>
            <Show when=move || card_ids.with(Vec::is_empty)>
                <p class="pdag__empty muted">"The plan appears here once it is generated."</p>
            </Show>
        </section>
    }
    // Type-erased: keeps the view types of pages that mount this shallow.
    .into_any()
}

fn edge_path(e: DepEdge, p: PlanState, marker: String) -> impl IntoView {
    let from = e.from.clone();
    let to = e.to.clone();
    let class = move || {
        let (a, b) = p
            .names
            .with(|n| (n.get(&from).map(|(_, s)| *s), n.get(&to).map(|(_, s)| *s)));
        let mut c = String::from("pdag__edge");
        if e.critical {
            c.push_str(" is-critical");
        }
        if a == Some(TaskStatus::Completed) {
            c.push_str(" is-done");
            if let Some(b) = b {
                if matches!(b, TaskStatus::Running | TaskStatus::Regenerating) {
                    c.push_str(" is-active");
                }
                c.push_str(" to-");
                c.push_str(status_style(b).class);
            }
        }
        c
    };
    view! { <path class=class d=e.d marker-end=marker></path> }
}
