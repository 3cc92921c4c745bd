//! The canvas toolbar's undo and redo buttons. The page owns the history and performs the
//! steps; the canvas shows the buttons (enabled with a title that says what they do, or
//! disabled with the reason) and maps Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y to them.

use super::history::{History, UndoButtons};
use leptos::prelude::*;

/// Everything the buttons need, as plain handles: no signal of a new type, which keeps the
/// bundle small (each signal type adds its own copy of the reactive machinery).
#[derive(Clone, Copy)]
pub struct UndoControls {
    pub history: StoredValue<History>,
    /// Notified whenever `history` changes.
    pub changed: Trigger,
    /// A run is changing the canvas: undo waits for it to finish.
    pub run_active: Memo<bool>,
    /// A step is being applied.
    pub busy: RwSignal<bool>,
    pub undo: Callback<()>,
    pub redo: Callback<()>,
}

impl UndoControls {
    /// The buttons' state (reactive: tracks the history, the run and the busy flag).
    pub fn state(&self) -> UndoButtons {
        self.changed.track();
        let blocked = if self.run_active.get() {
            Some("Undo and redo are available when the run has finished")
        } else if self.busy.get() {
            Some("Applying the previous undo or redo…")
        } else {
            None
        };
        self.history.with_value(|h| h.buttons(blocked))
    }

    pub fn run(&self, redo: bool) {
        if redo {
            self.redo.run(())
        } else {
            self.undo.run(())
        }
    }
}

/// One toolbar button; `aria-disabled` rather than `disabled` so its title (the reason) still
/// shows and it stays in the tab order.
pub fn undo_button(c: UndoControls, redo: bool) -> impl IntoView {
    let state = move || {
        let s = c.state();
        if redo {
            s.redo
        } else {
            s.undo
        }
    };
    view! {
        <button
            type="button"
            class="acanvas__tool"
            aria-label=if redo { "Redo" } else { "Undo" }
            data-testid=if redo { "canvas-redo" } else { "canvas-undo" }
            title=move || state().unwrap_or_else(|reason| reason)
            aria-disabled=move || state().is_err().to_string()
            on:click=move |_| {
                if state().is_ok() {
                    c.run(redo)
                }
            }
        >
            {if redo { "↷" } else { "↶" }}
        </button>
    }
}
