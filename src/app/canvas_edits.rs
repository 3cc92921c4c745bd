//! The workspace's changes to the project's canvas: saving a node the user moved, and undo /
//! redo a step at a time (a whole run's change is one step). Each undo or redo saves a stored
//! version back as the newest (`PUT …/canvas` with the version it was based on), so it
//! survives a reload and a stale page is refused rather than overwriting a newer canvas.

use crate::components::activity::{push_toast, Toast};
use crate::components::canvas::history::{History, Step, StepKind, VersionEntry};
use crate::components::canvas::undo::UndoControls;
use crate::components::files::tree::encode_segment;
use crate::components::run::model::LogTone;
use crate::components::run::rest::{self, ApiFailure};
use leptos::prelude::*;
use serde_json::Value;
use youmeyou_core::model::{Canvas, Position};

#[derive(Clone, Copy)]
pub struct CanvasEdits {
    project_id: StoredValue<String>,
    canvas: RwSignal<Canvas>,
    toasts: RwSignal<Vec<Toast>>,
    // Not a signal of its own: one trigger for the buttons keeps the bundle small.
    history: StoredValue<History>,
    changed: Trigger,
    /// An undo or redo is being applied.
    busy: RwSignal<bool>,
}

impl CanvasEdits {
    pub fn new(project_id: String, canvas: RwSignal<Canvas>, toasts: RwSignal<Vec<Toast>>) -> Self {
        Self {
            project_id: StoredValue::new(project_id),
            canvas,
            toasts,
            history: StoredValue::new(History::default()),
            changed: Trigger::new(),
            busy: RwSignal::new(false),
        }
    }

    fn url(&self, tail: &str) -> String {
        format!(
            "/api/projects/{}/canvas{tail}",
            self.project_id.with_value(|id| encode_segment(id))
        )
    }

    fn update(self, f: impl FnOnce(&mut History)) {
        self.history.update_value(f);
        self.changed.notify();
    }

    /// Reads the stored history: the whole undo stack when the page loads (`None`), or the
    /// step of a run that just ended, everything it changed as one step.
    pub fn refresh(self, ended_run: Option<String>) {
        leptos::task::spawn_local(async move {
            let Ok(answer) = rest::json("GET", &self.url("/versions"), None).await else {
                return;
            };
            let versions = VersionEntry::list(&answer);
            match ended_run {
                None => self.update(|h| *h = History::from_versions(&versions)),
                Some(run) => {
                    if let Some(step) = History::run_step(&versions, &run) {
                        self.update(|h| h.record(step));
                    }
                }
            }
        });
    }

    /// The canvas toolbar's undo and redo; `run_active` says a run is changing the canvas.
    pub fn controls(self, run_active: Memo<bool>) -> UndoControls {
        UndoControls {
            history: self.history,
            changed: self.changed,
            run_active,
            busy: self.busy,
            undo: self.step(false, run_active),
            redo: self.step(true, run_active),
        }
    }

    /// Saves `next` on top of the version it names and shows what was stored; a refusal is
    /// explained and the stored canvas shown instead (`None`).
    async fn commit(self, next: &Canvas, what: &str) -> Option<u64> {
        let body =
            serde_json::json!({"nodes": next.nodes, "edges": next.edges, "version": next.version});
        let saved = match rest::json("PUT", &self.url(""), Some(&body)).await {
            Ok(answer) => canvas_of(&answer["canvas"]),
            Err(f) => Err(f),
        };
        match saved {
            Ok(saved) => {
                let version = saved.version;
                self.canvas.try_set(saved);
                Some(version)
            }
            Err(f) => {
                self.reload_after(f, what).await;
                None
            }
        }
    }

    /// After a refused save: the user is told why, and the stored canvas wins.
    async fn reload_after(self, failure: ApiFailure, what: &str) {
        let text = match failure.status {
            409 => format!("The canvas changed meanwhile (a run or another tab updated it); {what} was not saved."),
            404 => format!("{what} is no longer possible: that version of the canvas is not kept any more (the last 100 are)."),
            _ => format!("{what} did not work: {}", failure.message),
        };
        push_toast(self.toasts, LogTone::Warning, text);
        let project = format!(
            "/api/projects/{}",
            self.project_id.with_value(|id| encode_segment(id))
        );
        if let Ok(answer) = rest::json("GET", &project, None).await {
            if let Ok(stored) = canvas_of(&answer["project"]["canvas"]) {
                self.canvas.try_set(stored);
            }
        }
    }

    /// Saves a node the user moved; the move becomes an undo step.
    pub fn on_node_moved(self) -> Callback<(String, Position)> {
        Callback::new(move |(id, position): (String, Position)| {
            let mut next = self.canvas.get_untracked();
            let Some(node) = next.nodes.iter_mut().find(|n| n.id == id) else {
                return;
            };
            node.position = Some(position);
            self.canvas.set(next.clone());
            leptos::task::spawn_local(async move {
                if let Some(saved) = self.commit(&next, "Your move").await {
                    let step = Step {
                        undo_to: next.version,
                        redo_to: saved,
                        kind: StepKind::Edit,
                    };
                    self.update(|h| h.record(step));
                }
            });
        })
    }

    /// Undo (`redo == false`) or redo the next step: the stored version it names is saved
    /// back as the newest.
    fn step(self, redo: bool, run_active: Memo<bool>) -> Callback<()> {
        Callback::new(move |_| {
            if run_active.get_untracked() || self.busy.get_untracked() {
                return;
            }
            let target = self.history.with_value(|h| {
                if redo {
                    h.next_redo().map(|s| s.redo_to)
                } else {
                    h.next_undo().map(|s| s.undo_to)
                }
            });
            let Some(target) = target else { return };
            self.busy.set(true);
            leptos::task::spawn_local(async move {
                let what = if redo { "The redo" } else { "The undo" };
                let base = self.canvas.get_untracked().version;
                let url = self.url(&format!("/versions/{target}"));
                let stored = match rest::json("GET", &url, None).await {
                    Ok(answer) => canvas_of(&answer["canvas"]),
                    Err(f) => Err(f),
                };
                match stored {
                    Ok(mut stored) => {
                        stored.version = base;
                        if let Some(saved) = self.commit(&stored, what).await {
                            self.update(|h| {
                                if redo {
                                    h.redone(base, saved)
                                } else {
                                    h.undone()
                                }
                            });
                        }
                    }
                    Err(f) => {
                        if f.status == 404 {
                            self.update(|h| {
                                if redo {
                                    h.forget_redo()
                                } else {
                                    h.forget_undo()
                                }
                            });
                        }
                        self.reload_after(f, what).await;
                    }
                }
                self.busy.try_set(false);
            });
        })
    }
}

fn canvas_of(value: &Value) -> Result<Canvas, ApiFailure> {
    serde_json::from_value(value.clone()).map_err(|_| ApiFailure {
        code: "bad_response".into(),
        message: "the server's answer held no canvas; reload the page".into(),
        ..ApiFailure::default()
    })
}
