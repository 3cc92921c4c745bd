//! The "Edit step" modal (Example 3). The task's current prompt sits in a textarea;
//! "Analyse impact" asks the server which dependents the edit affects (major/minor), which
//! stay untouched, the extra time and cost, the edits left and the cooldown; "Proceed" applies
//! the edit with the confirm token; "Cancel" (or Esc) changes nothing. Rule violations are
//! said in plain words. Keyboard: focus starts in the editor, Tab stays inside the dialog,
//! Esc closes, and focus returns to the button that opened it.

use crate::components::run::model::TaskState;
use crate::components::run::rest::{self, ApiFailure};
use crate::components::run::words;
use leptos::prelude::*;
use serde_json::{json, Value};

/// One dependent the edit affects.
#[derive(Debug, Clone, PartialEq)]
pub struct Affected {
    pub id: String,
    pub name: String,
    /// "major" or "minor".
    pub impact: String,
}

/// The impact report, read from `POST …/impact`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Impact {
    pub affected: Vec<Affected>,
    pub unaffected: Vec<(String, String)>,
    /// Seconds.
    pub additional_time: f64,
    /// USD.
    pub cost_increase: f64,
    pub modifications_left: u32,
    pub max_modifications: u32,
    pub cooldown_seconds: u64,
    pub confirm_token: String,
}

impl Impact {
    /// Reads the answer; `name_of` turns task ids into names.
    pub fn from_json(v: &Value, name_of: impl Fn(&str) -> String) -> Self {
        let affected = v["affectedTasks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| {
                        let id = t["id"].as_str().or_else(|| t.as_str())?.to_string();
                        let impact = t["impact"].as_str().unwrap_or("major").to_string();
                        (impact != "none").then(|| Affected {
                            name: name_of(&id),
                            id,
                            impact,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let unaffected = v["unaffectedTasks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().or_else(|| t["id"].as_str()))
                    .map(|id| (id.to_string(), name_of(id)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            affected,
            unaffected,
            additional_time: v["additionalTime"].as_f64().unwrap_or(0.0),
            cost_increase: v["costIncrease"].as_f64().unwrap_or(0.0),
            modifications_left: v["modificationsLeft"].as_u64().unwrap_or(0) as u32,
            max_modifications: v["maxModifications"].as_u64().unwrap_or(3) as u32,
            cooldown_seconds: v["cooldownSeconds"].as_u64().unwrap_or(0),
            confirm_token: v["confirmToken"].as_str().unwrap_or_default().to_string(),
        }
    }

    /// "This change affects 3 tasks and adds about 1 min (+$0.05)."
    pub fn headline(&self) -> String {
        let n = self.affected.len();
        let tasks = match n {
            0 => "no other task".to_string(),
            1 => "1 other task".to_string(),
            n => format!("{n} other tasks"),
        };
        format!(
            "This change affects {tasks} and adds about {} (+${:.2}).",
            words::seconds(self.additional_time),
            self.cost_increase
        )
    }
}

/// A refused edit in plain words.
pub fn refusal_words(f: &ApiFailure) -> String {
    match f.code.as_str() {
        "unknown_task" => "This step is no longer part of the plan, so it cannot be edited.".into(),
        "run_finished" => "The run has already finished, so its steps can no longer be edited. Start a new run instead.".into(),
        "modification_limit" => "This step has already been edited the most times allowed (3). Start a new run to change it further.".into(),
        "cooldown_active" => match f.retry_after {
            Some(s) => format!("This step was edited moments ago. You can edit it again in {}.", words::seconds(s as f64)),
            None => "This step was edited moments ago. Wait a little before editing it again.".into(),
        },
        "invalid_prompt" if !f.message.is_empty() => format!("The prompt was not accepted: {}", f.message),
        "invalid_prompt" => "The prompt is empty or not valid. Describe what this step should do.".into(),
        "confirm_expired" | "invalid_confirm_token" => "The impact analysis has expired. Analyse the impact again, then proceed.".into(),
        "network" => f.message.clone(),
        _ => f.message.clone(),
    }
}

/// A confirmed edit, for the page: the task's new prompt and what to announce.
#[derive(Debug, Clone, PartialEq)]
pub struct EditDone {
    pub task_id: String,
    pub prompt: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Editing,
    Analysing,
    Review(Impact),
    Applying(Impact),
}

/// Focus helpers (hydrate only).
#[cfg(feature = "hydrate")]
mod focus {
    use wasm_bindgen::JsCast;

    const FOCUSABLE: &str = "button:not([disabled]), [href], textarea:not([disabled]), input:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex='-1'])";

    pub fn element_by_id(id: &str) -> Option<web_sys::HtmlElement> {
        web_sys::window()?
            .document()?
            .get_element_by_id(id)?
            .dyn_into::<web_sys::HtmlElement>()
            .ok()
    }

    pub fn focus_id(id: &str) {
        if let Some(el) = element_by_id(id) {
            let _ = el.focus();
        }
    }

    /// Keeps Tab inside `dialog`: wraps from the last focusable element to the first and back.
    pub fn trap(dialog: &web_sys::HtmlElement, ev: &web_sys::KeyboardEvent) {
        let Ok(nodes) = dialog.query_selector_all(FOCUSABLE) else {
            return;
        };
        let len = nodes.length();
        if len == 0 {
            return;
        }
        let first = nodes
            .item(0)
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok());
        let last = nodes
            .item(len - 1)
            .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok());
        let active = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.active_element());
        let (Some(first), Some(last)) = (first, last) else {
            return;
        };
        let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
        if ev.shift_key() {
            if !inside
                || active
                    .as_ref()
                    .is_some_and(|a| a == first.unchecked_ref::<web_sys::Element>())
            {
                ev.prevent_default();
                let _ = last.focus();
            }
        } else if !inside
            || active
                .as_ref()
                .is_some_and(|a| a == last.unchecked_ref::<web_sys::Element>())
        {
            ev.prevent_default();
            let _ = first.focus();
        }
    }
}

/// Keeps Tab inside the dialog (hydrated pages; nothing to do on the server).
fn trap_tab(dialog: NodeRef<leptos::html::Div>, ev: &leptos::ev::KeyboardEvent) {
    #[cfg(feature = "hydrate")]
    if let Some(d) = dialog.get_untracked() {
        focus::trap(&d, ev);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (dialog, ev);
}

#[component]
pub fn EditStepModal(
    run_id: String,
    task: TaskState,
    /// Task id → name, for the impact lists.
    names: Vec<(String, String)>,
    /// The id of the button that opened the modal (focus returns there).
    trigger_id: String,
    /// Closed without change, or after a successful edit (with what to announce).
    on_close: Callback<Option<EditDone>>,
) -> impl IntoView {
    let prompt = RwSignal::new(task.prompt.clone());
    let step = RwSignal::new(Step::Editing);
    let error = RwSignal::new(None::<String>);
    let dialog = NodeRef::<leptos::html::Div>::new();
    let task_id = task.id.clone();
    let task_id_for_done = task.id.clone();
    let task_name = task.name.clone();
    let name_of = move |id: &str| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let name_of = StoredValue::new(name_of);

    let close = {
        let trigger_id = trigger_id.clone();
        move |result: Option<EditDone>| {
            on_close.run(result);
            #[cfg(feature = "hydrate")]
            {
                let id = trigger_id.clone();
                // After the dialog is gone; the trigger may have been re-rendered meanwhile.
                // Not a leptos timer: closing disposes the dialog's owner, which would cancel it.
                if !crate::components::later::next_frame(move || focus::focus_id(&id)) {
                    focus::focus_id(&trigger_id);
                }
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = &trigger_id;
        }
    };
    let close = StoredValue::new(close);

    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if dialog.get().is_some() {
            focus::focus_id("edit-step-prompt");
        }
    });

    let base = format!(
        "/api/runs/{}/tasks/{}",
        crate::components::files::tree::encode_segment(&run_id),
        crate::components::files::tree::encode_segment(&task_id)
    );
    let impact_url = format!("{base}/impact");
    let modify_url = format!("{base}/modifications");

    let analyse = move || {
        let text = prompt.get_untracked();
        if text.trim().is_empty() {
            error.set(Some(
                "The prompt is empty. Describe what this step should do.".into(),
            ));
            return;
        }
        error.set(None);
        step.set(Step::Analysing);
        let url = impact_url.clone();
        leptos::task::spawn_local(async move {
            match rest::json("POST", &url, Some(&json!({"prompt": text}))).await {
                Ok(body) => {
                    let impact = name_of.with_value(|f| Impact::from_json(&body, f));
                    step.set(Step::Review(impact));
                }
                Err(f) => {
                    error.set(Some(refusal_words(&f)));
                    step.set(Step::Editing);
                }
            }
        });
    };
    let analyse = StoredValue::new(analyse);

    let proceed = move || {
        let Step::Review(impact) = step.get_untracked() else {
            return;
        };
        let text = prompt.get_untracked();
        step.set(Step::Applying(impact.clone()));
        error.set(None);
        let url = modify_url.clone();
        let name = task_name.clone();
        let edited = task_id_for_done.clone();
        leptos::task::spawn_local(async move {
            let body = json!({"prompt": text.trim(), "confirmToken": impact.confirm_token});
            match rest::json("POST", &url, Some(&body)).await {
                Ok(_) => {
                    let n = impact.affected.len();
                    let msg = format!(
                        "Edited {name}: it restarts with the new prompt; {} regenerate{}.",
                        match n {
                            0 => "no other task".to_string(),
                            1 => "1 other task".to_string(),
                            n => format!("{n} other tasks"),
                        },
                        if n == 1 { "s" } else { "" },
                    );
                    let done = EditDone {
                        task_id: edited,
                        prompt: text.trim().to_string(),
                        message: msg,
                    };
                    close.with_value(|c| c(Some(done)));
                }
                Err(f) => {
                    error.set(Some(refusal_words(&f)));
                    step.set(Step::Review(impact));
                }
            }
        });
    };
    let proceed = StoredValue::new(proceed);

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.prevent_default();
            if !matches!(step.get_untracked(), Step::Applying(_)) {
                close.with_value(|c| c(None));
            }
        } else if ev.key() == "Tab" {
            trap_tab(dialog, &ev);
        }
    };

    let busy = move || matches!(step.get(), Step::Analysing | Step::Applying(_));
    let reviewing = move || matches!(step.get(), Step::Review(_) | Step::Applying(_));
    let status_text = task.status.as_str();
    let mods = task.modification_count;

    view! {
        <div class="modal-backdrop" data-testid="edit-step-backdrop">
            <div
                class="modal card"
                role="dialog"
                aria-modal="true"
                aria-labelledby="edit-step-title"
                aria-describedby="edit-step-desc"
                node_ref=dialog
                on:keydown=on_keydown
                data-testid="edit-step-modal"
            >
                <header class="modal__header">
                    <h2 id="edit-step-title">{format!("Edit step: {}", task.name)}</h2>
                    <p id="edit-step-desc" class="muted">
                        {format!(
                            "The task is {status_text}. Change its prompt; you will see what else it affects before anything changes. Edited {mods} of 3 times so far.",
                        )}
                    </p>
                </header>
                <label class="field" for="edit-step-prompt">
                    <span class="field__label">"Prompt for this step"</span>
                </label>
                <textarea
                    id="edit-step-prompt"
                    class="modal__editor"
                    rows="7"
                    prop:value=move || prompt.get()
                    on:input=move |ev| {
                        prompt.set(event_target_value(&ev));
                        if matches!(step.get_untracked(), Step::Review(_)) {
                            step.set(Step::Editing);
                        }
                    }
                    disabled=busy
                    data-testid="edit-step-prompt"
                >
                    {task.prompt.clone()}
                </textarea>
                <p class="form-error" role="alert" data-testid="edit-step-error">{move || error.get().unwrap_or_default()}</p>
                {move || match step.get() {
                    Step::Review(impact) | Step::Applying(impact) => view! { <ImpactView impact/> }.into_any(),
                    Step::Analysing => view! { <p class="muted" role="status">"Analysing the impact…"</p> }.into_any(),
                    Step::Editing => ().into_any(),
                }}
                <footer class="modal__actions">
                    <button
                        type="button"
                        class="btn btn--ghost"
                        on:click=move |_| close.with_value(|c| c(None))
                        disabled=move || matches!(step.get(), Step::Applying(_))
                        data-testid="edit-step-cancel"
                    >
                        "Cancel"
                    </button>
                    <Show
                        when=reviewing
                        fallback=move || {
                            view! {
                                <button
                                    type="button"
                                    class="btn"
                                    on:click=move |_| analyse.with_value(|a| a())
                                    disabled=busy
                                    data-testid="edit-step-analyse"
                                >
                                    "Analyse impact"
                                </button>
                            }
                        }
                    >
                        <button
                            type="button"
                            class="btn"
                            on:click=move |_| proceed.with_value(|p| p())
                            disabled=busy
                            data-testid="edit-step-proceed"
                        >
                            "Yes, proceed"
                        </button>
                    </Show>
                </footer>
            </div>
        </div>
    }
    .into_any()
}

#[component]
fn ImpactView(impact: Impact) -> impl IntoView {
    let headline = impact.headline();
    let left = format!(
        "Edits left for this step after this one: {} of {}.",
        impact
            .modifications_left
            .saturating_sub(1)
            .min(impact.max_modifications),
        impact.max_modifications
    );
    let cooldown = if impact.cooldown_seconds > 0 {
        format!(
            "After this edit the step can be edited again in {}.",
            words::seconds(impact.cooldown_seconds as f64)
        )
    } else {
        String::new()
    };
    let unaffected_names: Vec<String> = impact.unaffected.iter().map(|(_, n)| n.clone()).collect();
    let unaffected_text = if unaffected_names.is_empty() {
        "Every other task is affected.".to_string()
    } else {
        format!(
            "{} continue unchanged.",
            words::join_words(&unaffected_names)
        )
    };
    view! {
        <section class="impact" aria-label="Impact of the edit" data-testid="impact">
            <p class="impact__headline" data-testid="impact-headline">{headline}</p>
            <dl class="impact__figures">
                <div><dt>"Extra time"</dt><dd data-testid="impact-time">{format!("+{}", words::seconds(impact.additional_time))}</dd></div>
                <div><dt>"Extra cost"</dt><dd data-testid="impact-cost">{format!("+${:.2}", impact.cost_increase)}</dd></div>
                <div><dt>"Modifications left"</dt><dd data-testid="impact-left">{format!("{}/{}", impact.modifications_left, impact.max_modifications)}</dd></div>
                <div><dt>"Cooldown"</dt><dd data-testid="impact-cooldown">{words::seconds(impact.cooldown_seconds as f64)}</dd></div>
            </dl>
            <h3 class="impact__title">"Affected tasks (regenerate)"</h3>
            <ul class="impact__list" data-testid="impact-affected">
                {impact
                    .affected
                    .iter()
                    .map(|a| {
                        view! {
                            <li data-task-id=a.id.clone() data-impact=a.impact.clone()>
                                <span class=format!("impact-badge impact-badge--{}", a.impact)>{a.impact.clone()}</span>
                                {a.name.clone()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <h3 class="impact__title">"Unaffected tasks"</h3>
            <p class="muted" data-testid="impact-unaffected">{unaffected_text}</p>
            <ul class="impact__list impact__list--plain" data-testid="impact-unaffected-list">
                {impact
                    .unaffected
                    .iter()
                    .map(|(id, name)| view! { <li data-task-id=id.clone()>{name.clone()}</li> })
                    .collect_view()}
            </ul>
            <p class="muted impact__note">{left}" "{cooldown}</p>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_reads_the_contract_answer() {
        let body = json!({
            "affectedTasks": [{"id": "task_4", "impact": "major"}, {"id": "task_5", "impact": "minor"}, {"id": "task_8", "impact": "major"}],
            "unaffectedTasks": ["task_1", "task_3", "task_6", "task_7"],
            "additionalTime": 60, "costIncrease": 0.05, "modificationsLeft": 3,
            "confirmToken": "abc", "cooldownSeconds": 10, "maxModifications": 3
        });
        let impact = Impact::from_json(&body, |id| format!("name of {id}"));
        assert_eq!(impact.affected.len(), 3);
        assert_eq!(impact.affected[1].impact, "minor");
        assert_eq!(impact.unaffected.len(), 4);
        assert_eq!(
            impact.unaffected[1],
            ("task_3".into(), "name of task_3".into())
        );
        assert_eq!(impact.confirm_token, "abc");
        assert_eq!(
            impact.headline(),
            "This change affects 3 other tasks and adds about 1 min (+$0.05)."
        );
    }

    #[test]
    fn refusals_in_plain_words() {
        let f = |code: &str, retry: Option<u64>| ApiFailure {
            status: 422,
            code: code.into(),
            message: "server words".into(),
            retry_after: retry,
        };
        assert!(refusal_words(&f("modification_limit", None)).contains("most times allowed"));
        assert!(refusal_words(&f("cooldown_active", Some(42))).contains("in 42 s"));
        assert!(refusal_words(&f("run_finished", None)).contains("already finished"));
        assert!(refusal_words(&f("unknown_task", None)).contains("no longer part of the plan"));
        assert!(refusal_words(&f("invalid_prompt", None)).contains("not accepted: server words"));
        assert_eq!(refusal_words(&f("other", None)), "server words");
    }
}
