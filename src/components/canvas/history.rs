//! Undo and redo of a project's canvas, one step at a time: everything one run changed is one
//! step, each edit of the user another. Pure bookkeeping: the page performs a step (fetches the
//! stored version, saves it back as the newest) and reports the outcome here. Every step names
//! stored versions, so an undo survives a reload and never replays a run.

use serde_json::Value;

/// Steps kept on each stack; the server keeps the last 100 versions, so older ones could not
/// be restored anyway.
pub const MAX_STEPS: usize = 100;

/// One entry of `GET /api/projects/{id}/canvas/versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    pub version: u64,
    /// The run whose agents made this version; `None` for the user's own saves.
    pub run_id: Option<String>,
}

impl VersionEntry {
    /// The entries of the API's answer `{"versions": [{"version", "runId", ...}]}`; entries
    /// without a version are skipped.
    pub fn list(answer: &Value) -> Vec<VersionEntry> {
        answer["versions"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|v| {
                        Some(VersionEntry {
                            version: v["version"].as_u64()?,
                            run_id: v["runId"].as_str().map(str::to_string),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Who made the change a step undoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    Run(String),
    Edit,
}

/// A change of the canvas: undoing it restores the stored version `undo_to`, redoing it
/// restores `redo_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub undo_to: u64,
    pub redo_to: u64,
    pub kind: StepKind,
}

/// What the toolbar's buttons show: `Ok(title)` when enabled, `Err(reason)` when not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoButtons {
    pub undo: Result<String, String>,
    pub redo: Result<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    undo: Vec<Step>,
    redo: Vec<Step>,
}

impl History {
    /// The undo stack a page starts with, from the stored history (newest first, as the API
    /// lists it). Consecutive versions of one run form one step; each save of the user is a
    /// step of its own. A step whose earlier version is no longer kept is left out.
    pub fn from_versions(versions: &[VersionEntry]) -> Self {
        let kept = |version: u64| versions.iter().any(|v| v.version == version);
        let mut undo: Vec<Step> = Vec::new();
        // Oldest first; anything out of order is skipped rather than sorted (the API's list is
        // ordered, and a sort would cost the bundle more than this loop).
        let mut last_seen = None;
        for v in versions.iter().rev() {
            if last_seen.is_some_and(|last| v.version <= last) {
                continue;
            }
            last_seen = Some(v.version);
            // Version 0 is the project's creation, not a change.
            if v.version == 0 {
                continue;
            }
            let kind = v.run_id.clone().map_or(StepKind::Edit, StepKind::Run);
            if let Some(last) = undo.last_mut() {
                if matches!(kind, StepKind::Run(_))
                    && last.kind == kind
                    && last.redo_to + 1 == v.version
                {
                    last.redo_to = v.version;
                    continue;
                }
            }
            if kept(v.version - 1) {
                undo.push(Step {
                    undo_to: v.version - 1,
                    redo_to: v.version,
                    kind,
                });
            }
        }
        let excess = undo.len().saturating_sub(MAX_STEPS);
        undo.drain(..excess);
        Self {
            undo,
            redo: Vec::new(),
        }
    }

    /// A new change: it goes on the undo stack and whatever was undone can no longer be redone.
    pub fn record(&mut self, step: Step) {
        if step.undo_to == step.redo_to {
            return;
        }
        // A run seen part-way (the page loaded mid-run) is replaced by its whole step.
        if let StepKind::Run(_) = step.kind {
            self.undo.retain(|s| s.kind != step.kind);
        }
        self.redo.clear();
        self.undo.push(step);
        if self.undo.len() > MAX_STEPS {
            self.undo.remove(0);
        }
    }

    /// The step of a finished run, from the stored history: from the version before the run's
    /// first one to its last. `None` when the run changed nothing.
    pub fn run_step(versions: &[VersionEntry], run_id: &str) -> Option<Step> {
        let mine = versions
            .iter()
            .filter(|v| v.run_id.as_deref() == Some(run_id))
            .map(|v| v.version);
        let first = mine.clone().min()?;
        let last = mine.max()?;
        Some(Step {
            undo_to: first.checked_sub(1)?,
            redo_to: last,
            kind: StepKind::Run(run_id.to_string()),
        })
    }

    pub fn next_undo(&self) -> Option<&Step> {
        self.undo.last()
    }

    pub fn next_redo(&self) -> Option<&Step> {
        self.redo.last()
    }

    /// The page restored `next_undo().undo_to`: the step moves to the redo stack.
    pub fn undone(&mut self) {
        if let Some(step) = self.undo.pop() {
            self.redo.push(step);
        }
    }

    /// The page restored `next_redo().redo_to` on top of version `base`, which the server
    /// stored as version `saved`: undoing that goes back to `base`.
    pub fn redone(&mut self, base: u64, saved: u64) {
        if let Some(step) = self.redo.pop() {
            self.undo.push(Step {
                undo_to: base,
                redo_to: saved,
                kind: step.kind,
            });
        }
    }

    /// Restoring the next undo step's version failed for good (no longer kept): drop it.
    pub fn forget_undo(&mut self) {
        self.undo.pop();
    }

    /// The same for the next redo step.
    pub fn forget_redo(&mut self) {
        self.redo.pop();
    }

    /// The buttons' state; `blocked` says why neither can be used now (a run is changing the
    /// canvas, or a step is being applied).
    pub fn buttons(&self, blocked: Option<&str>) -> UndoButtons {
        let describe =
            |verb: &str, step: Option<&Step>, keys: &str, none: &str| match (step, blocked) {
                (None, _) => Err(none.to_string()),
                (Some(_), Some(reason)) => Err(reason.to_string()),
                (Some(s), None) => Ok(format!("{verb} {} ({keys})", s.kind.describe())),
            };
        UndoButtons {
            undo: describe("Undo", self.next_undo(), "Ctrl+Z", "Nothing to undo"),
            redo: describe("Redo", self.next_redo(), "Ctrl+Shift+Z", "Nothing to redo"),
        }
    }
}

impl StepKind {
    fn describe(&self) -> &'static str {
        match self {
            StepKind::Run(_) => "the run's changes to the canvas",
            StepKind::Edit => "your change to the canvas",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: u64, run: Option<&str>) -> VersionEntry {
        VersionEntry {
            version,
            run_id: run.map(str::to_string),
        }
    }

    fn run(id: &str, undo_to: u64, redo_to: u64) -> Step {
        Step {
            undo_to,
            redo_to,
            kind: StepKind::Run(id.to_string()),
        }
    }

    fn edit(undo_to: u64, redo_to: u64) -> Step {
        Step {
            undo_to,
            redo_to,
            kind: StepKind::Edit,
        }
    }

    #[test]
    fn the_apis_version_list_is_read_and_bad_entries_are_skipped() {
        let answer = serde_json::json!({"versions": [
            {"version": 3, "runId": "r", "createdAt": "t"},
            {"version": 2, "runId": null},
            {"runId": "no version"},
            {"version": -1},
        ]});
        assert_eq!(
            VersionEntry::list(&answer),
            vec![v(3, Some("r")), v(2, None)]
        );
        assert_eq!(
            VersionEntry::list(&serde_json::json!({"error": {}})),
            vec![]
        );
    }

    #[test]
    fn a_runs_versions_are_one_step_and_each_user_save_is_one() {
        // Newest first, as the API lists them: seeded by the user (1), a run in four merges
        // (2..=5), a node moved (6), a second run (7..=8).
        let versions: Vec<_> = [
            v(8, Some("r2")),
            v(7, Some("r2")),
            v(6, None),
            v(5, Some("r1")),
            v(4, Some("r1")),
            v(3, Some("r1")),
            v(2, Some("r1")),
            v(1, None),
            v(0, None),
        ]
        .into();
        let h = History::from_versions(&versions);
        assert_eq!(
            h.undo,
            vec![edit(0, 1), run("r1", 1, 5), edit(5, 6), run("r2", 6, 8)]
        );
        assert_eq!(h.next_redo(), None);
    }

    #[test]
    fn two_runs_back_to_back_stay_two_steps_and_pruned_versions_are_not_offered() {
        // Only versions 40..=45 are still kept: the step that would go back to 39 is left out.
        let versions = [
            v(45, Some("b")),
            v(44, Some("b")),
            v(43, Some("a")),
            v(42, Some("a")),
            v(41, None),
            v(40, Some("a0")),
        ];
        let h = History::from_versions(&versions);
        assert_eq!(
            h.undo,
            vec![edit(40, 41), run("a", 41, 43), run("b", 43, 45)]
        );
    }

    #[test]
    fn undo_then_redo_then_undo_walks_the_stored_versions() {
        let mut h = History::default();
        h.record(run("r1", 1, 5));
        h.record(edit(5, 6));
        // Undo the move: restore 5 (saved as 7).
        assert_eq!(h.next_undo(), Some(&edit(5, 6)));
        h.undone();
        // Undo the run: restore 1 (saved as 8).
        assert_eq!(h.next_undo(), Some(&run("r1", 1, 5)));
        h.undone();
        assert_eq!(h.next_undo(), None);
        // Redo the run: restore 5 on top of 8, saved as 9; undoing that goes back to 8.
        assert_eq!(h.next_redo(), Some(&run("r1", 1, 5)));
        h.redone(8, 9);
        assert_eq!(h.next_undo(), Some(&run("r1", 8, 9)));
        assert_eq!(h.next_redo(), Some(&edit(5, 6)));
        // A new change drops what could be redone.
        h.record(edit(9, 10));
        assert_eq!(h.next_redo(), None);
        assert_eq!(h.next_undo(), Some(&edit(9, 10)));
    }

    #[test]
    fn a_finished_runs_step_spans_its_versions_and_a_run_without_changes_has_none() {
        let versions = [
            v(9, Some("r")),
            v(8, None),
            v(7, Some("r")),
            v(6, Some("q")),
        ];
        assert_eq!(History::run_step(&versions, "r"), Some(run("r", 6, 9)));
        assert_eq!(History::run_step(&versions, "none"), None);
        assert_eq!(History::run_step(&[v(0, Some("r"))], "r"), None);
    }

    #[test]
    fn a_run_recorded_when_it_ends_replaces_the_part_seen_at_load() {
        // Loaded mid-run: versions 2..=3 of r were stored; it ended at 6.
        let mut h =
            History::from_versions(&[v(3, Some("r")), v(2, Some("r")), v(1, None), v(0, None)]);
        assert_eq!(h.next_undo(), Some(&run("r", 1, 3)));
        h.record(run("r", 1, 6));
        assert_eq!(h.undo, vec![edit(0, 1), run("r", 1, 6)]);
        // Recorded twice (the load answered after the run ended): still one step.
        h.record(run("r", 1, 6));
        assert_eq!(h.undo, vec![edit(0, 1), run("r", 1, 6)]);
    }

    #[test]
    fn buttons_say_what_they_do_or_why_not() {
        let mut h = History::default();
        let b = h.buttons(None);
        assert_eq!(b.undo, Err("Nothing to undo".to_string()));
        assert_eq!(b.redo, Err("Nothing to redo".to_string()));
        h.record(run("r", 0, 3));
        let b = h.buttons(None);
        assert_eq!(
            b.undo,
            Ok("Undo the run's changes to the canvas (Ctrl+Z)".to_string())
        );
        let b = h.buttons(Some("Undo is available when the run has finished"));
        assert_eq!(
            b.undo,
            Err("Undo is available when the run has finished".to_string())
        );
        assert_eq!(b.redo, Err("Nothing to redo".to_string()));
    }

    #[test]
    fn stacks_are_bounded_and_empty_steps_are_ignored() {
        let mut h = History::default();
        h.record(edit(3, 3));
        assert_eq!(h.next_undo(), None);
        for i in 0..(MAX_STEPS as u64 + 10) {
            h.record(edit(i, i + 1));
        }
        assert_eq!(h.undo.len(), MAX_STEPS);
        assert_eq!(h.undo[0], edit(10, 11));
        h.forget_undo();
        assert_eq!(h.undo.len(), MAX_STEPS - 1);
    }
}
