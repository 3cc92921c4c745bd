//! One task card of the plan DAG: status badge, name, type and agent, a status line
//! (progress text, waiting-for, duration or failure reason), a progress bar and the
//! "Edit step" button. Fixed size with every slot reserved, so status changes never move it.

use super::model::{
    format_duration, kind_name, status_line, status_style, TaskStatus, TaskView, CARD_H, CARD_W,
};
use super::PlanState;
use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::prelude::*;

/// The card of task `id`, absolutely positioned at its layout slot.
pub(super) fn task_card(id: String, p: PlanState) -> impl IntoView {
    let task = p.task_memo(id.clone());
    let slot = {
        let id = id.clone();
        Memo::new(move |_| p.layout.with(|l| l.slot(&id).map(|s| (s.x, s.y))))
    };
    let critical = {
        let id = id.clone();
        Memo::new(move |_| p.layout.with(|l| l.critical_path.contains(&id)))
    };
    let is_selected = {
        let id = id.clone();
        Memo::new(move |_| p.selected.with(|s| s.as_deref() == Some(id.as_str())))
    };
    let status =
        Memo::new(move |_| task.with(|t| t.as_ref().map_or(TaskStatus::Pending, |t| t.status)));
    let line = Memo::new(move |_| {
        task.with(|t| {
            t.as_ref()
                .map(|t| p.names.with(|names| status_line(t, names)))
                .unwrap_or_default()
        })
    });
    let name =
        Memo::new(move |_| task.with(|t| t.as_ref().map(|t| t.name.clone()).unwrap_or_default()));

    let style = move || {
        let (x, y) = slot.get().unwrap_or((0.0, 0.0));
        format!("left:{x}px;top:{y}px;width:{CARD_W}px;height:{CARD_H}px")
    };
    let class = move || {
        let mut c = format!("pcard pcard--{}", status_style(status.get()).class);
        if is_selected.get() {
            c.push_str(" is-selected");
        }
        if critical.get() {
            c.push_str(" is-critical");
        }
        c
    };
    let aria_label = move || {
        let s = status_style(status.get());
        let mut label = format!("{}: {}. {}", name.get(), s.label, line.get());
        if critical.get() {
            label.push_str(". On the critical path");
        }
        label
    };
    // Live values wait for hydration: the server cannot know the browser's clock.
    let timer = move || {
        task.with(|t| {
            let t = t.as_ref()?;
            let live = matches!(t.status, TaskStatus::Running | TaskStatus::Regenerating);
            if live && !p.mounted.get() {
                return None;
            }
            let ms = t.elapsed_ms(p.now_ms.get())?;
            Some(if live {
                format!("{} elapsed", format_duration(ms / 1000.0))
            } else {
                format!("took {}", format_duration(ms / 1000.0))
            })
        })
    };
    let percent = move || {
        task.with(|t| {
            let t = t.as_ref()?;
            if p.mounted.get() {
                t.progress_percent(p.now_ms.get())
            } else {
                t.percent.map(f64::from)
            }
        })
    };
    let show_bar = move || matches!(status.get(), TaskStatus::Running | TaskStatus::Regenerating);

    let select = {
        let id = id.clone();
        move || p.selected.set(Some(id.clone()))
    };
    let on_click = {
        let select = select.clone();
        move |_: MouseEvent| select()
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let key = ev.key();
        if key == "Enter" || key == " " {
            ev.prevent_default();
            select();
        }
    };
    let edit_button = {
        let id = id.clone();
        move || {
            let on_edit = p.on_edit?;
            if !task.with(|t| t.as_ref().is_some_and(TaskView::can_edit)) {
                return None;
            }
            let id = id.clone();
            Some(view! {
                <button
                    type="button"
                    class="pcard__edit"
                    data-testid="edit-step"
                    on:click=move |ev: MouseEvent| {
                        ev.stop_propagation();
                        on_edit.run(id.clone());
                    }
                    on:keydown=|ev: KeyboardEvent| ev.stop_propagation()
                >
                    <span aria-hidden="true">"✎ "</span>
                    "Edit step"
                </button>
            })
        }
    };

    view! {
        <li
            class=class
            style=style
            tabindex="0"
            data-task-id=id
            data-status=move || status_style(status.get()).class
            aria-current=move || is_selected.get().then_some("true")
            aria-label=aria_label
            on:click=on_click
            on:keydown=on_keydown
        >
            <div class="pcard__head">
                <span class=move || format!("pbadge pbadge--{}", status_style(status.get()).class)>
                    <span class="pbadge__icon" aria-hidden="true">{move || status_style(status.get()).icon}</span>
                    {move || status_style(status.get()).label}
                </span>
                <span class="pcard__est" title="Estimated time">
                    {move || task.with(|t| t.as_ref().map(|t| format!("≈{}", format_duration(f64::from(t.estimated_time)))))}
                </span>
            </div>
            <h4 class="pcard__name" title=move || name.get()>{move || name.get()}</h4>
            <p class="pcard__meta">
                <span class="pcard__meta-text">
                    {move || task.with(|t| t.as_ref().map(|t| format!("{} · {}", kind_name(t.kind), t.agent)))}
                </span>
                {move || {
                    let n = task.with(|t| t.as_ref().map_or(0, |t| t.modification_count));
                    (n > 0).then(|| view! {
                        <span class="pcard__modified" title=format!("Edited {n} time(s)")>
                            {format!("modified ×{n}")}
                        </span>
                    })
                }}
            </p>
            <p class="pcard__line" title=move || line.get()>{move || line.get()}</p>
            <div
                class="pcard__progress"
                class:is-hidden=move || !show_bar()
                class:is-indeterminate=move || percent().is_none()
                role="progressbar"
                aria-label="Progress"
                aria-hidden=move || (!show_bar()).then_some("true")
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || percent().map(|v| v.round().to_string())
            >
                <span
                    class="pcard__progress-fill"
                    style=move || format!("width:{}%", percent().unwrap_or(30.0).round())
                ></span>
            </div>
            <div class="pcard__foot">
                <span class="pcard__timer">{timer}</span>
                {edit_button}
            </div>
        </li>
    }
}
