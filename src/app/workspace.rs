//! The workspace of one project (`/projects/:id`): the canvas in the centre, the prompt bar,
//! the plan (tasks and details, "Edit step"), the activity log and the generated files, and a
//! summary card when a run ends. The server renders the latest run as it stands (snapshot,
//! past events, files); once hydrated the page follows the run live from the snapshot's last
//! `seq`, so a reload mid-run restores everything and continues.

use super::canvas_edits::CanvasEdits;
use super::codec::JsonResource;
use super::data::{error_words, workspace, WorkspaceData};
use crate::components::activity::{push_toast, ActivityPanel, Toast, Toasts};
use crate::components::canvas::ArchitectureCanvas;
use crate::components::files::{FileViewer, FilesPanel};
use crate::components::modal::{EditDone, EditStepModal};
use crate::components::plan::{PlanDag, PlanTimeline, TaskDetails, TaskView};
use crate::components::run::connection::ConnState;
use crate::components::run::model::{LogTone, RunPhase, RunView, Summary, TaskPhase, TaskState};
use crate::components::run::plan_view::task_views;
use crate::components::run::tasks::{edit_button_id, TaskList};
use crate::components::run::words;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn WorkspacePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let data = JsonResource::<WorkspaceData>::new(
        move || serde_json::Value::String(id()),
        |key| workspace(key.as_str().unwrap_or_default().to_string()),
    );
    view! {
        <Suspense fallback=|| view! { <div class="workspace workspace--loading" aria-busy="true"></div> }>
            {move || {
                data.get()
                    .map(|answer| match answer {
                        Ok(d) => view! { <Workspace data=d/> }.into_any(),
                        Err(e) => {
                            let text = e.to_string();
                            let not_found = text.contains("not_found");
                            view! {
                                <section class="page page--narrow">
                                    <h1>{if not_found { "Project not found" } else { "The project could not be opened" }}</h1>
                                    <p class="muted">
                                        {if not_found {
                                            "There is no such project, or it belongs to someone else. ".to_string()
                                        } else {
                                            error_words("", &text) + " "
                                        }}
                                        <a href="/">"Back to your projects"</a>
                                    </p>
                                </section>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PlanView {
    List,
    Timeline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CenterView {
    Canvas,
    Graph,
}

/// The time for the plan views' elapsed times: ticks every second once hydrated (0 before,
/// so the server and the first client render agree).
fn clock(hydrated: RwSignal<bool>) -> Signal<f64> {
    let now = RwSignal::new(0.0_f64);
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            if hydrated.get() {
                now.set(js_sys::Date::now());
            }
        });
        if let Ok(handle) = set_interval(
            move || {
                let _ = now.try_set(js_sys::Date::now());
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = hydrated;
    now.into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SideTab {
    Activity,
    Files,
}

/// What the workspace's panels read, derived from the one run signal.
#[derive(Clone, Copy)]
struct RunSignals {
    run: RwSignal<Option<RunView>>,
    status: Memo<Option<RunPhase>>,
    active: Memo<bool>,
    run_id: Memo<Option<String>>,
    tasks: Memo<Vec<TaskState>>,
}

impl RunSignals {
    fn new(run: RwSignal<Option<RunView>>) -> Self {
        Self {
            run,
            status: Memo::new(move |_| run.with(|r| r.as_ref().map(|r| r.status))),
            active: Memo::new(move |_| run.with(|r| r.as_ref().is_some_and(RunView::is_active))),
            run_id: Memo::new(move |_| run.with(|r| r.as_ref().map(|r| r.run_id.clone()))),
            tasks: Memo::new(move |_| {
                run.with(|r| r.as_ref().map(|r| r.tasks.clone()).unwrap_or_default())
            }),
        }
    }
}

#[component]
fn Workspace(data: WorkspaceData) -> impl IntoView {
    let query = use_query_map();
    let base = format!("/projects/{}", data.project_id);
    let project_id = data.project_id.clone();
    let name = data.name.clone();
    let first = data.run.as_ref().map(|seed| seed.view());
    // The newer of the two: the run's canvas may be ahead of the project read a moment before,
    // and the project's is ahead once the user moved, undid or redid after the run.
    let canvas = RwSignal::new(match first.as_ref().and_then(|r| r.canvas.clone()) {
        Some(c) if c.version > data.canvas.version => c,
        _ => data.canvas.clone(),
    });
    let run = RwSignal::new(first);
    let rs = RunSignals::new(run);
    let highlighted = Memo::new(move |_| {
        run.with(|r| {
            r.as_ref()
                .map(|r| {
                    let h = &r.highlight;
                    h.added
                        .iter()
                        .chain(&h.replaced)
                        .chain(&h.updated)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let conn = RwSignal::new(ConnState::Idle);
    let toasts = RwSignal::new(Vec::<Toast>::new());
    let selected_task = RwSignal::new(None::<String>);
    let editing = RwSignal::new(None::<String>);
    let initial_file = query.with_untracked(|q| q.get("file"));
    let initial_tab = query.with_untracked(|q| q.get("tab"));
    let tab = RwSignal::new(
        if initial_file.is_some() || initial_tab.as_deref() == Some("files") {
            SideTab::Files
        } else {
            SideTab::Activity
        },
    );
    let selected_file = RwSignal::new(initial_file);
    let summary_open = RwSignal::new(true);
    let hydrated = RwSignal::new(false);
    let edits = CanvasEdits::new(project_id.clone(), canvas, toasts);
    // Once in the browser: the page is live, and the canvas' undo stack comes from the server.
    Effect::new(move |_| {
        hydrated.set(true);
        edits.refresh(None);
    });

    let log =
        Memo::new(move |_| run.with(|r| r.as_ref().map(|r| r.log.clone()).unwrap_or_default()));
    let files =
        Memo::new(move |_| run.with(|r| r.as_ref().map(|r| r.files.clone()).unwrap_or_default()));
    let queue = Memo::new(move |_| run.with(|r| r.as_ref().and_then(|r| r.queue)));
    let running =
        Memo::new(move |_| run.with(|r| r.as_ref().map_or(0, |r| r.running_tasks().count())));
    let summary = Memo::new(move |_| {
        run.with(|r| {
            r.as_ref().and_then(|r| {
                r.summary
                    .clone()
                    .filter(|_| r.status.is_terminal())
                    .map(|s| (s, r.capacity_rps, r.status, r.tasks.len()))
            })
        })
    });
    let plan_tasks: Memo<Vec<TaskView>> = Memo::new(move |_| run.with(|r| task_views(r.as_ref())));
    let plan_view = RwSignal::new(PlanView::List);
    let center = RwSignal::new(CenterView::Canvas);
    let now_ms = clock(hydrated);
    let on_open_file = Callback::new(move |path: String| {
        selected_file.set(Some(path));
        tab.set(SideTab::Files);
        center.set(CenterView::Canvas);
    });
    follow_run(rs, canvas, conn, toasts, edits);

    let on_edit = Callback::new(move |task_id: String| {
        selected_task.set(Some(task_id.clone()));
        editing.set(Some(task_id));
    });
    let on_close_edit = Callback::new(move |done: Option<EditDone>| {
        editing.set(None);
        if let Some(done) = done {
            // The stream says which tasks regenerate, not the new prompt: keep it here so the
            // details and a second edit start from it.
            run.update(|r| {
                if let Some(t) = r
                    .as_mut()
                    .and_then(|r| r.tasks.iter_mut().find(|t| t.id == done.task_id))
                {
                    t.prompt = done.prompt.clone();
                }
            });
            push_toast(toasts, LogTone::Success, done.message);
        }
    });
    let on_started = Callback::new(move |view: RunView| {
        run.set(Some(view));
        summary_open.set(true);
        selected_task.set(None);
        tab.set(SideTab::Activity);
    });

    let title = format!("{name} — YouMeYou");
    let files_base = base.clone();
    let viewer_close = format!("{base}?tab=files");
    // Each region is type-erased (`into_any`): one concrete type for the whole page would be
    // too deep for the compiler and slow to build.
    let bar = view! {
        <div class="workspace__bar">
            <a class="workspace__back" href="/" aria-label="Back to projects">"←"</a>
            <h1 class="workspace__name" data-testid="project-title">{name.clone()}</h1>
            <span
                class=move || format!("badge badge--{}", rs.status.get().map(|s| s.as_str()).unwrap_or("none"))
                data-testid="run-status"
            >
                {move || rs.status.get().map(|s| s.label()).unwrap_or("No runs yet")}
            </span>
            <span class="workspace__prompt muted" data-testid="run-prompt" title=move || run.with(|r| r.as_ref().map(|r| r.prompt.clone()).unwrap_or_default())>
                {move || run.with(|r| r.as_ref().map(|r| r.prompt.clone()).unwrap_or_default())}
            </span>
            <Show when=move || hydrated.get() && rs.active.get()>
                <CancelRun run_id=rs.run_id toasts/>
            </Show>
        </div>
    }
    .into_any();
    let prompt_bar = view! {
        <PromptBar project_id=project_id.clone() active=rs.active status=rs.status on_started/>
    }
    .into_any();
    let plan = view! {
        <aside class="panel plan-panel" aria-labelledby="plan-title" data-testid="plan-panel">
            <header class="panel__header">
                <h2 id="plan-title" class="panel__title">"Plan"</h2>
                <span class="muted panel__meta" data-testid="plan-count">
                    {move || {
                        let ts = rs.tasks.get();
                        if ts.is_empty() {
                            String::new()
                        } else {
                            let done = ts.iter().filter(|t| t.status == TaskPhase::Completed).count();
                            format!("{done}/{} done", ts.len())
                        }
                    }}
                </span>
                <div class="segmented" role="group" aria-label="Plan view">
                    <button
                        type="button"
                        class="segmented__item"
                        aria-pressed=move || (plan_view.get() == PlanView::List).to_string()
                        on:click=move |_| plan_view.set(PlanView::List)
                    >
                        "List"
                    </button>
                    <button
                        type="button"
                        class="segmented__item"
                        aria-pressed=move || (plan_view.get() == PlanView::Timeline).to_string()
                        on:click=move |_| plan_view.set(PlanView::Timeline)
                        data-testid="plan-timeline-toggle"
                    >
                        "Timeline"
                    </button>
                </div>
            </header>
            <div class="plan-panel__tasks">
                <Show
                    when=move || rs.tasks.with(|t| !t.is_empty())
                    fallback=move || view! {
                        <p class="muted panel__empty">
                            {move || match rs.status.get() {
                                Some(s) if !s.is_terminal() => "The plan appears here once the request is analysed.",
                                _ => "No plan yet. Describe what to build or change, and the tasks appear here.",
                            }}
                        </p>
                    }
                >
                    <div hidden=move || plan_view.get() != PlanView::List>
                        {view! { <TaskList tasks=rs.tasks selected=selected_task run_active=rs.active on_edit/> }.into_any()}
                    </div>
                    <div class="plan-panel__timeline" hidden=move || plan_view.get() != PlanView::Timeline>
                        {view! { <PlanTimeline tasks=plan_tasks selected=selected_task now_ms=now_ms/> }.into_any()}
                    </div>
                </Show>
            </div>
            <div class="plan-panel__details">
                {view! { <TaskDetails tasks=plan_tasks selected=selected_task on_open_file on_edit now_ms=now_ms/> }.into_any()}
            </div>
        </aside>
    }
    .into_any();
    let export_name = name.clone();
    let center_tabs = view! {
        <div class="center-tabs" role="tablist" aria-label="Centre view">
            <button
                type="button"
                role="tab"
                class="center-tabs__tab"
                aria-selected=move || (center.get() == CenterView::Canvas).to_string()
                on:click=move |_| center.set(CenterView::Canvas)
                data-testid="center-canvas"
            >
                "Architecture"
            </button>
            <button
                type="button"
                role="tab"
                class="center-tabs__tab"
                aria-selected=move || (center.get() == CenterView::Graph).to_string()
                on:click=move |_| center.set(CenterView::Graph)
                data-testid="center-graph"
            >
                "Plan graph"
            </button>
        </div>
    }
    .into_any();
    let canvas_panel = view! {
        <section class="panel canvas-panel" aria-label="Architecture canvas">
            {center_tabs}
            <div class="canvas-panel__body" data-testid="canvas" hidden=move || center.get() != CenterView::Canvas>
                {view! {
                    <ArchitectureCanvas
                        canvas=canvas
                        highlighted=highlighted
                        read_only=false
                        on_node_moved=edits.on_node_moved()
                        undo=edits.controls(rs.active)
                        export_name=export_name
                        class="workspace-canvas"
                    />
                }
                .into_any()}
            </div>
            <div class="canvas-panel__body canvas-panel__graph" hidden=move || center.get() != CenterView::Graph>
                {view! { <PlanDag tasks=plan_tasks selected=selected_task on_edit now_ms=now_ms/> }.into_any()}
            </div>
            {view! { <FileViewer run_id=rs.run_id selected=selected_file files=files close_href=viewer_close/> }.into_any()}
            <Show when=move || summary_open.get() && summary.with(Option::is_some)>
                {move || {
                    summary
                        .get()
                        .map(|(s, rps, status, planned)| {
                            view! { <SummaryCard summary=s rps status planned on_close=Callback::new(move |_| summary_open.set(false))/> }
                        })
                }}
            </Show>
        </section>
    }
    .into_any();
    let tabs = view! {
        <div class="tabs" role="tablist" aria-label="Run details">
            <a
                class="tab"
                role="tab"
                href=format!("{base}?tab=activity")
                id="tab-activity"
                aria-controls="tabpanel-activity"
                aria-selected=move || (tab.get() == SideTab::Activity).to_string()
                data-testid="tab-activity"
                on:click=move |ev| {
                    ev.prevent_default();
                    tab.set(SideTab::Activity);
                }
            >
                "Activity"
            </a>
            <a
                class="tab"
                role="tab"
                href=format!("{base}?tab=files")
                id="tab-files"
                aria-controls="tabpanel-files"
                aria-selected=move || (tab.get() == SideTab::Files).to_string()
                data-testid="tab-files"
                on:click=move |ev| {
                    ev.prevent_default();
                    tab.set(SideTab::Files);
                }
            >
                {move || match files.with(Vec::len) {
                    0 => "Files".to_string(),
                    n => format!("Files ({n})"),
                }}
            </a>
        </div>
    }
    .into_any();
    let activity = view! {
        <div
            class="tabpanel"
            role="tabpanel"
            id="tabpanel-activity"
            aria-labelledby="tab-activity"
            hidden=move || tab.get() != SideTab::Activity
        >
            <ActivityPanel log=log conn=conn status=rs.status queue=queue running=running/>
        </div>
    }
    .into_any();
    let files_tab = view! {
        <div
            class="tabpanel"
            role="tabpanel"
            id="tabpanel-files"
            aria-labelledby="tab-files"
            hidden=move || tab.get() != SideTab::Files
        >
            <FilesPanel run_id=rs.run_id files=files selected=selected_file base=files_base/>
        </div>
    }
    .into_any();
    let modal = move || {
        let task_id = editing.get()?;
        let (run_id, task, names) = run.with_untracked(|r| {
            let r = r.as_ref()?;
            let task = r.task(&task_id)?.clone();
            let names = r
                .tasks
                .iter()
                .map(|t| (t.id.clone(), t.name.clone()))
                .collect::<Vec<_>>();
            Some((r.run_id.clone(), task, names))
        })?;
        Some(
            view! {
                <EditStepModal run_id task names trigger_id=edit_button_id(&task_id) on_close=on_close_edit/>
            }
            .into_any(),
        )
    };
    view! {
        <Title text=title/>
        <div
            class="workspace"
            data-testid="workspace"
            data-run-status=move || rs.status.get().map(|s| s.as_str()).unwrap_or("none")
            data-run-id=move || rs.run_id.get().unwrap_or_default()
            data-last-seq=move || run.with(|r| r.as_ref().map_or(0, |r| r.last_seq))
            data-hydrated=move || hydrated.get().to_string()
        >
            {bar}
            {prompt_bar}
            <div class="workspace__grid">
                {plan}
                {canvas_panel}
                <aside class="panel side-panel" data-testid="side-panel">
                    {tabs}
                    {activity}
                    {files_tab}
                </aside>
            </div>
            {modal}
            <Toasts toasts/>
        </div>
    }
}

/// Follows the active run's events live (the shared real-time client: WebSocket, then SSE,
/// then polling), from the last `seq` the page already has; stops when the run ends.
fn follow_run(
    rs: RunSignals,
    canvas: RwSignal<youmeyou_core::model::Canvas>,
    conn: RwSignal<ConnState>,
    toasts: RwSignal<Vec<Toast>>,
    edits: CanvasEdits,
) {
    use crate::components::realtime::{connect, Options, Target};
    use crate::components::run::model::{Applied, Envelope};
    let run = rs.run;
    let key = Memo::new(move |_| {
        run.with(|r| {
            r.as_ref()
                .filter(|r| r.is_active())
                .map(|r| r.run_id.clone())
        })
    });
    Effect::new(move |_| {
        let Some(run_id) = key.get() else {
            conn.set(ConnState::Idle);
            return;
        };
        let last = run.with_untracked(|r| r.as_ref().map_or(0, |r| r.last_seq));
        let options = Options {
            resume_from: vec![(run_id.clone(), last)],
            ..Options::default()
        };
        // Owned by this effect run: closed when the key changes (run ended or replaced).
        let live = connect(Target::Run(run_id), options, move |envelope: Envelope| {
            let mut applied = Applied::Duplicate;
            let mut notices = Vec::new();
            let mut new_canvas = None;
            let mut ended = None;
            run.maybe_update(|r| {
                let Some(view) = r.as_mut() else { return false };
                let was_over = view.status.is_terminal();
                applied = view.apply(&envelope);
                if !was_over && view.status.is_terminal() {
                    ended = Some(view.run_id.clone());
                }
                if applied == Applied::Applied && envelope.kind == "canvasUpdated" {
                    new_canvas = view.canvas.clone();
                }
                notices = view.drain_notices();
                applied == Applied::Applied
            });
            if let Some(c) = new_canvas {
                canvas.set(c);
            }
            for n in notices {
                push_toast(toasts, n.tone, n.text);
            }
            if applied == Applied::Applied && envelope.kind == "executionSummary" {
                refresh_files(run);
            }
            // The run just ended: everything it changed on the canvas becomes one undo step.
            if ended.is_some() {
                edits.refresh(ended);
            }
        });
        Effect::new(move |_| conn.set(ConnState::from_transport(live.state.get())));
    });
}

/// The authoritative file list once the run ended (hydrated pages only).
fn refresh_files(run: RwSignal<Option<RunView>>) {
    let Some(id) = run.with_untracked(|r| r.as_ref().map(|r| r.run_id.clone())) else {
        return;
    };
    leptos::task::spawn_local(async move {
        let url = format!(
            "/api/runs/{}/files",
            crate::components::files::tree::encode_segment(&id)
        );
        if let Ok(body) = crate::components::run::rest::json("GET", &url, None).await {
            let list: Vec<crate::components::run::model::FileEntry> = body["files"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|f| serde_json::from_value(f.clone()).ok())
                        .collect()
                })
                .unwrap_or_default();
            if !list.is_empty() {
                let _ = run.try_update(|r| {
                    if let Some(r) = r.as_mut().filter(|r| r.run_id == id) {
                        r.files = list;
                    }
                });
            }
        }
    });
}

#[component]
fn CancelRun(run_id: Memo<Option<String>>, toasts: RwSignal<Vec<Toast>>) -> impl IntoView {
    let busy = RwSignal::new(false);
    let cancel = move |_| {
        let Some(id) = run_id.get_untracked() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let url = format!(
                "/api/runs/{}/cancel",
                crate::components::files::tree::encode_segment(&id)
            );
            if let Err(f) = crate::components::run::rest::json("POST", &url, None).await {
                push_toast(toasts, LogTone::Error, error_words(&f.code, &f.message));
            }
            busy.set(false);
        });
    };
    view! {
        <button type="button" class="btn btn--ghost btn--small" on:click=cancel disabled=move || busy.get() data-testid="cancel-run">
            "Cancel run"
        </button>
    }
}

/// Why the prompt bar is disabled, in words.
fn busy_reason(status: Option<RunPhase>) -> &'static str {
    match status {
        Some(RunPhase::Queued) => "A run of this project is queued. You can send a new request when it has finished (or cancel it).",
        _ => "A run of this project is in progress. You can send a new request when it has finished (or cancel it).",
    }
}

#[component]
fn PromptBar(
    project_id: String,
    active: Memo<bool>,
    status: Memo<Option<RunPhase>>,
    on_started: Callback<RunView>,
) -> impl IntoView {
    let prompt = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let starting = RwSignal::new(false);
    let disabled = move || active.get() || starting.get();
    let pid = project_id.clone();
    let submit = move || {
        if active.get_untracked() || starting.get_untracked() {
            return;
        }
        let text = prompt.get_untracked();
        if text.trim().is_empty() {
            error.set(Some("Describe what to build or change first.".into()));
            return;
        }
        error.set(None);
        starting.set(true);
        let pid = pid.clone();
        leptos::task::spawn_local(async move {
            let url = format!(
                "/api/projects/{}/runs",
                crate::components::files::tree::encode_segment(&pid)
            );
            let body = serde_json::json!({"prompt": text.trim()});
            match crate::components::run::rest::json("POST", &url, Some(&body)).await {
                Ok(answer) => {
                    let id = answer["buildId"].as_str().unwrap_or_default().to_string();
                    let mut view = RunView::new(&id);
                    view.project_id = pid.clone();
                    view.prompt = text.trim().to_string();
                    view.status = RunPhase::Queued;
                    prompt.set(String::new());
                    on_started.run(view);
                }
                Err(f) => error.set(Some(error_words(&f.code, &f.message))),
            }
            starting.set(false);
        });
    };
    let submit = StoredValue::new(submit);
    view! {
        <form
            class="prompt-bar"
            method="post"
            action="/_sf/run_start"
            data-testid="prompt-form"
            on:submit=move |ev| {
                ev.prevent_default();
                submit.with_value(|s| s());
            }
        >
            <input type="hidden" name="project_id" value=project_id.clone()/>
            <label class="visually-hidden" for="prompt-input">"Request"</label>
            <textarea
                id="prompt-input"
                name="prompt"
                class="prompt-bar__input"
                rows="1"
                placeholder="Describe what to build or change…"
                aria-describedby="prompt-help"
                prop:value=move || prompt.get()
                on:input=move |ev| prompt.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit.with_value(|s| s());
                    }
                }
                disabled=disabled
                data-testid="prompt-input"
            ></textarea>
            <button type="submit" class="btn prompt-bar__send" disabled=disabled data-testid="prompt-submit">
                {move || if starting.get() { "Starting…" } else { "Run" }}
            </button>
            <p id="prompt-help" class="prompt-bar__help" data-testid="prompt-help" role="status">
                {move || {
                    if let Some(e) = error.get() {
                        e
                    } else if active.get() {
                        busy_reason(status.get()).to_string()
                    } else {
                        "Enter to run · Shift+Enter for a new line".to_string()
                    }
                }}
            </p>
        </form>
    }
    .into_any()
}

#[component]
fn SummaryCard(
    summary: Summary,
    rps: Option<u64>,
    status: RunPhase,
    planned: usize,
    on_close: Callback<()>,
) -> impl IntoView {
    let title = match status {
        RunPhase::Completed => "Run completed",
        RunPhase::Cancelled => "Run cancelled",
        _ => "Run ended with errors",
    };
    view! {
        <section class=format!("summary card summary--{}", status.as_str()) aria-labelledby="summary-title" data-testid="summary-card">
            <header class="summary__header">
                <h2 id="summary-title">{title}</h2>
                <button type="button" class="btn btn--ghost btn--small" aria-label="Close the summary" on:click=move |_| on_close.run(())>
                    "×"
                </button>
            </header>
            <dl class="summary__figures">
                <div><dt>"Total time"</dt><dd data-testid="summary-time">{words::duration_ms(summary.total_time)}</dd></div>
                <div><dt>"Tasks"</dt><dd data-testid="summary-tasks">{format!("{} of {} completed", summary.tasks_completed, planned.max(summary.tasks_completed as usize))}</dd></div>
                <div>
                    <dt>"Canvas changes"</dt>
                    <dd data-testid="summary-canvas">
                        {format!("{} components, {} connections", summary.components_added, summary.connections_created)}
                    </dd>
                </div>
                <div><dt>"Files"</dt><dd data-testid="summary-files">{format!("{} files", summary.files_generated)}</dd></div>
                <div><dt>"Lines of code"</dt><dd data-testid="summary-lines">{words::thousands(u64::from(summary.lines_of_code))}</dd></div>
                {rps.map(|r| view! {
                    <div class="summary__capacity"><dt>"Capacity"</dt><dd data-testid="summary-rps" data-rps=r>{format!("≈{r} RPS")}</dd></div>
                })}
            </dl>
            <Show when={
                let empty = summary.next_steps.is_empty();
                move || !empty
            }>
                <h3 class="summary__next-title">"Next steps"</h3>
            </Show>
            <ul class="summary__next" data-testid="summary-next">
                {summary.next_steps.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_bar_says_why_it_is_disabled() {
        assert!(busy_reason(Some(RunPhase::Queued)).contains("queued"));
        assert!(busy_reason(Some(RunPhase::Running)).contains("in progress"));
    }
}
