//! The activity panel: the run's live event log in words, the connection indicator
//! (live / reconnecting / SSE / polling / offline), the queue position with its estimated wait,
//! and the toasts that announce completion and errors. Untrusted text (task names, progress
//! messages) is rendered as text nodes only.

use crate::components::run::connection::ConnState;
use crate::components::run::model::{LogLine, LogTone, QueueInfo, RunPhase};
use crate::components::run::words;
use leptos::prelude::*;

/// "2025-01-01T10:11:12.345Z" → "10:11:12".
pub fn clock(ts: &str) -> String {
    ts.get(11..19).unwrap_or("").to_string()
}

/// The one-line run status above the log (always present, so nothing shifts).
pub fn status_line(status: Option<RunPhase>, queue: Option<QueueInfo>, running: usize) -> String {
    match (status, queue) {
        (Some(RunPhase::Queued), Some(q)) => format!(
            "Queued: position {} of {}, about {} to wait",
            q.position,
            q.queue_length.max(q.position),
            words::seconds(q.estimated_wait)
        ),
        (Some(RunPhase::Queued), None) => "Queued: waiting for a free slot".into(),
        (Some(RunPhase::Analyzing), _) => "Analyzing the request…".into(),
        (Some(RunPhase::Planning), _) => "Planning the tasks…".into(),
        (Some(RunPhase::Running), _) => match running {
            0 => "Running".into(),
            1 => "Running: 1 task active".into(),
            n => format!("Running: {n} tasks active"),
        },
        (Some(RunPhase::Completed), _) => "Run completed".into(),
        (Some(RunPhase::Failed), _) => "Run failed".into(),
        (Some(RunPhase::Cancelled), _) => "Run cancelled".into(),
        (None, _) => "No run yet: describe what to build or change.".into(),
    }
}

#[component]
pub fn ConnectionIndicator(#[prop(into)] state: Signal<ConnState>) -> impl IntoView {
    view! {
        <span
            class=move || format!("conn conn--{}", state.get().key())
            data-testid="conn-state"
            data-state=move || state.get().key()
            role="status"
            title="How live updates reach this page"
        >
            <span class="conn__dot" aria-hidden="true"></span>
            <span class="conn__label">{move || state.get().label()}</span>
        </span>
    }
}

#[component]
pub fn ActivityPanel(
    #[prop(into)] log: Signal<Vec<LogLine>>,
    #[prop(into)] conn: Signal<ConnState>,
    #[prop(into)] status: Signal<Option<RunPhase>>,
    #[prop(into)] queue: Signal<Option<QueueInfo>>,
    #[prop(into)] running: Signal<usize>,
) -> impl IntoView {
    let list = NodeRef::<leptos::html::Ol>::new();
    // Follow the newest line unless the reader scrolled up.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let count = log.with(Vec::len);
        if let Some(el) = list.get() {
            let near_bottom = el.scroll_height() - el.scroll_top() - el.client_height() < 80;
            if near_bottom || count < 3 {
                el.set_scroll_top(el.scroll_height());
            }
        }
    });
    let queued = move || status.get() == Some(RunPhase::Queued);
    view! {
        <section class="panel activity" aria-labelledby="activity-title" data-testid="activity-panel">
            <header class="panel__header">
                <h2 id="activity-title" class="panel__title">"Activity"</h2>
                <ConnectionIndicator state=conn/>
            </header>
            <p
                class="activity__status"
                class:activity__status--queued=queued
                data-testid="run-status-line"
            >
                {move || status_line(status.get(), queue.get(), running.get())}
            </p>
            <Show when=queued>
                <p class="activity__queue" data-testid="queue-position">
                    {move || {
                        queue
                            .get()
                            .map(|q| {
                                format!(
                                    "Position {} in the queue · estimated wait {}",
                                    q.position,
                                    words::seconds(q.estimated_wait),
                                )
                            })
                            .unwrap_or_default()
                    }}
                </p>
            </Show>
            <ol class="activity__log" role="log" aria-label="Run events" node_ref=list data-testid="activity-log">
                <For
                    each=move || log.get()
                    key=|line| line.seq
                    children=move |line: LogLine| {
                        let tone = line.tone.as_str();
                        view! {
                            <li class=format!("log-line log-line--{tone}") data-seq=line.seq data-tone=tone>
                                <time class="log-line__time" datetime=line.ts.clone()>{clock(&line.ts)}</time>
                                <span class="log-line__text">{line.text}</span>
                            </li>
                        }
                    }
                />
            </ol>
        </section>
    }
    .into_any()
}

/// One toast.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub id: u64,
    pub tone: LogTone,
    pub text: String,
}

/// Adds a toast that disappears by itself after a few seconds (errors stay longer).
pub fn push_toast(toasts: RwSignal<Vec<Toast>>, tone: LogTone, text: String) {
    let id = toasts.with_untracked(|t| t.iter().map(|t| t.id).max().unwrap_or(0) + 1);
    toasts.update(|t| {
        t.push(Toast { id, tone, text });
        if t.len() > 4 {
            t.remove(0);
        }
    });
    let ms = if tone == LogTone::Error {
        12_000
    } else {
        7_000
    };
    // Without a timer (on the server) the toast stays until its close button is used.
    crate::components::later::after(std::time::Duration::from_millis(ms), move || {
        toasts.try_update(|t| t.retain(|x| x.id != id));
    });
}

#[component]
pub fn Toasts(toasts: RwSignal<Vec<Toast>>) -> impl IntoView {
    view! {
        <div class="toasts" aria-live="polite" data-testid="toasts">
            <For
                each=move || toasts.get()
                key=|t| t.id
                children=move |t: Toast| {
                    let id = t.id;
                    let role = if t.tone == LogTone::Error { "alert" } else { "status" };
                    view! {
                        <div class=format!("toast toast--{}", t.tone.as_str()) role=role data-testid="toast" data-tone=t.tone.as_str()>
                            <span class="toast__text">{t.text}</span>
                            <button
                                type="button"
                                class="toast__close"
                                aria-label="Dismiss"
                                on:click=move |_| toasts.update(|v| v.retain(|x| x.id != id))
                            >
                                "×"
                            </button>
                        </div>
                    }
                }
            />
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_in_words() {
        let q = QueueInfo {
            position: 2,
            queue_length: 3,
            estimated_wait: 95.0,
        };
        assert_eq!(
            status_line(Some(RunPhase::Queued), Some(q), 0),
            "Queued: position 2 of 3, about 1 min 35 s to wait"
        );
        assert_eq!(
            status_line(Some(RunPhase::Running), None, 2),
            "Running: 2 tasks active"
        );
        assert!(status_line(None, None, 0).starts_with("No run yet"));
        assert_eq!(clock("2025-01-01T10:11:12.345Z"), "10:11:12");
        assert_eq!(clock("x"), "");
    }
}
