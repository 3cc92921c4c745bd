//! `PlanTimeline`: each task's estimated slot (earliest start with unlimited parallelism)
//! against what actually happened, on as few lanes as the overlaps need (greedy by start
//! time), over a time axis, with the critical path marked. Plain HTML positioned in
//! percentages, so it fits any width without rescaling text.

use super::model::{format_duration, status_style, timeline, TaskStatus, TaskView, Timeline};
use leptos::ev::KeyboardEvent;
use leptos::prelude::*;
use std::collections::HashMap;

/// Height of one lane, CSS pixels (the CSS lays out a lane's parts inside it).
pub const LANE_H: f64 = 44.0;

#[derive(Debug, Clone, PartialEq)]
struct BarView {
    name: String,
    status: TaskStatus,
    lane: usize,
    /// Percentages of the axis: the group box, then est and actual inside it.
    left: f64,
    width: f64,
    est: (f64, f64),
    actual: Option<(f64, f64)>,
    critical: bool,
    running: bool,
    label: String,
}

fn pct(v: f64, span: f64) -> f64 {
    if span > 0.0 {
        (v / span * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

fn bar_views(tl: &Timeline, tasks: &[TaskView]) -> HashMap<String, BarView> {
    let names: HashMap<&str, &TaskView> = tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    tl.bars
        .iter()
        .filter_map(|b| {
            let task = names.get(b.id.as_str())?;
            let start = b.actual_start.map_or(b.est_start, |a| a.min(b.est_start));
            let end = b
                .actual_end
                .map_or(b.est_end, |a| a.max(b.est_end))
                .max(start);
            let inner = |s: f64, e: f64| {
                let w = (end - start).max(f64::EPSILON);
                (
                    ((s - start) / w * 100.0).clamp(0.0, 100.0),
                    ((e - s) / w * 100.0).clamp(0.0, 100.0),
                )
            };
            let mut label = format!(
                "{}: estimated {}–{}",
                task.name,
                format_duration(b.est_start),
                format_duration(b.est_end)
            );
            match (b.actual_start, b.actual_end) {
                (Some(s), Some(e)) if b.running => label.push_str(&format!(
                    ", running since {} ({} so far)",
                    format_duration(s),
                    format_duration(e - s)
                )),
                (Some(s), Some(e)) => label.push_str(&format!(
                    ", actual {}–{} ({})",
                    format_duration(s),
                    format_duration(e),
                    format_duration(e - s)
                )),
                _ => label.push_str(&format!(
                    ", {}",
                    status_style(task.status).label.to_lowercase()
                )),
            }
            if b.critical {
                label.push_str(", on the critical path");
            }
            Some((
                b.id.clone(),
                BarView {
                    name: task.name.clone(),
                    status: task.status,
                    lane: b.lane,
                    left: pct(start, tl.span),
                    width: pct(end, tl.span) - pct(start, tl.span),
                    est: inner(b.est_start, b.est_end),
                    actual: b.actual_start.zip(b.actual_end).map(|(s, e)| inner(s, e)),
                    critical: b.critical,
                    running: b.running,
                    label,
                },
            ))
        })
        .collect()
}

/// The latest time the tasks mention: "now" for the server render and the first client
/// render, which must agree (the real clock is used once hydrated).
fn latest_known(tasks: &[TaskView]) -> f64 {
    tasks
        .iter()
        .flat_map(|t| [t.started_at_ms, t.finished_at_ms])
        .flatten()
        .fold(0.0, f64::max)
}

/// The estimated-vs-actual timeline.
///
/// ```ignore
/// view! { <PlanTimeline tasks=tasks selected=selected now_ms=clock/> }
/// ```
#[component]
pub fn PlanTimeline(
    /// The plan's tasks with their live state, in plan order.
    #[prop(into)]
    tasks: Signal<Vec<TaskView>>,
    /// The selected task id (click, Enter or Space on a bar). Internal when not given.
    #[prop(optional)]
    selected: Option<RwSignal<Option<String>>>,
    /// The current time in epoch milliseconds, ticking, for running bars and the "now" line.
    #[prop(into, optional)]
    now_ms: Signal<f64>,
) -> impl IntoView {
    let selected = selected.unwrap_or_else(|| RwSignal::new(None));
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));

    let tl = Memo::new(move |_| {
        tasks.with(|t| {
            let now = if mounted.get() {
                now_ms.get()
            } else {
                latest_known(t)
            };
            timeline(t, now)
        })
    });
    let bars = Memo::new(move |_| tl.with(|tl| tasks.with(|t| bar_views(tl, t))));
    let ids =
        Memo::new(move |_| tl.with(|tl| tl.bars.iter().map(|b| b.id.clone()).collect::<Vec<_>>()));
    let height = move || {
        tl.with(|tl| {
            format!(
                "height:{}px",
                tl.lanes.max(tl.planned_lanes).max(1) as f64 * LANE_H
            )
        })
    };
    let ticks = move || {
        tl.with(|tl| {
            tl.ticks
                .iter()
                .map(|&t| {
                    let left = pct(t, tl.span);
                    view! {
                        <span class="ptimeline__tick" style=format!("left:{left}%")>
                            {format_duration(t)}
                        </span>
                    }
                })
                .collect_view()
        })
    };
    let grid = move || {
        tl.with(|tl| {
            tl.ticks
                .iter()
                .map(|&t| {
                    let left = pct(t, tl.span);
                    view! { <span class="ptimeline__grid" style=format!("left:{left}%")></span> }
                })
                .collect_view()
        })
    };
    let now_line = move || {
        tl.with(|tl| {
            tl.now.map(|n| {
                let left = pct(n, tl.span);
                view! { <span class="ptimeline__now" style=format!("left:{left}%") title="Now"></span> }
            })
        })
    };

    view! {
        <section class="ptimeline" aria-label="Timeline: estimated and actual task durations"
            data-testid="plan-timeline">
            <div class="ptimeline__legend" aria-hidden="true">
                <span><i class="ptimeline__key ptimeline__key--actual"></i>"Actual"</span>
                <span><i class="ptimeline__key ptimeline__key--est"></i>"Estimated"</span>
                <span><i class="ptimeline__key ptimeline__key--critical"></i>"Critical path"</span>
            </div>
            <div class="ptimeline__axis" aria-hidden="true">{ticks}</div>
            <div class="ptimeline__lanes" style=height>
                {grid}
                <ol class="ptimeline__bars">
                <For
                    each=move || ids.get()
                    key=|id| id.clone()
                    children=move |id| {
                        let bar = {
                            let id = id.clone();
                            Memo::new(move |_| bars.with(|b| b.get(&id).cloned()))
                        };
                        let is_selected = {
                            let id = id.clone();
                            Memo::new(move |_| selected.with(|s| s.as_deref() == Some(id.as_str())))
                        };
                        let select = {
                            let id = id.clone();
                            move || selected.set(Some(id.clone()))
                        };
                        let on_click = {
                            let select = select.clone();
                            move |_| select()
                        };
                        let on_keydown = move |ev: KeyboardEvent| {
                            let key = ev.key();
                            if key == "Enter" || key == " " {
                                ev.prevent_default();
                                select();
                            }
                        };
                        view! {
                            <li
                                class=move || bar.with(|b| {
                                    let Some(b) = b else { return "pbar".to_string() };
                                    let mut c = format!("pbar pbar--{}", status_style(b.status).class);
                                    if b.critical { c.push_str(" is-critical"); }
                                    if b.running { c.push_str(" is-running"); }
                                    if is_selected.get() { c.push_str(" is-selected"); }
                                    c
                                })
                                style=move || bar.with(|b| b.as_ref().map(|b| format!(
                                    "top:{}px;left:{}%;width:{}%",
                                    b.lane as f64 * LANE_H, b.left, b.width.max(0.5)
                                )).unwrap_or_default())
                                tabindex="0"
                                data-task-id=id
                                aria-current=move || is_selected.get().then_some("true")
                                aria-label=move || bar.with(|b| b.as_ref().map(|b| b.label.clone()).unwrap_or_default())
                                title=move || bar.with(|b| b.as_ref().map(|b| b.label.clone()).unwrap_or_default())
                                on:click=on_click
                                on:keydown=on_keydown
                            >
                                <span class="pbar__name">
                                    {move || bar.with(|b| b.as_ref().map(|b| b.name.clone()).unwrap_or_default())}
                                </span>
                                {move || bar.with(|b| b.as_ref().and_then(|b| b.actual).map(|(l, w)| view! {
                                    <span class="pbar__actual" style=format!("left:{l}%;width:{}%", w.max(0.5))></span>
                                }))}
                                <span class="pbar__est" style=move || bar.with(|b| b.as_ref().map(|b| format!(
                                    "left:{}%;width:{}%", b.est.0, b.est.1.max(0.5)
                                )).unwrap_or_default())></span>
                            </li>
                        }
                    }
                />
                </ol>
                {now_line}
            </div>
        </section>
    }
    // Type-erased: keeps the view types of pages that mount this shallow.
    .into_any()
}
