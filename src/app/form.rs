//! Forms that post to a server function. Rendered as a plain HTML form (with JavaScript off the
//! browser posts it and the server answers with a redirect); once hydrated, the form is sent
//! with fetch in the same encoding and the server's [`FormOutcome`] is shown in place.
//!
//! One non-generic component serves every form. leptos' `ActionForm` is generic over the
//! server function and decodes the form into its arguments in the browser: six copies of it
//! and a query-string decoder cost ~22 KB of the brotli'd WASM bundle (BENCHMARKS.md).

use super::data::FormOutcome;
use leptos::prelude::*;

/// The state of one form (or of one kind of form shared by list rows): whether an answer is
/// awaited, the last answer, and how many answers came (to refresh data after each).
#[derive(Clone, Copy)]
pub struct FormState {
    pending: RwSignal<bool>,
    answer: RwSignal<Option<FormOutcome>>,
    answers: RwSignal<u32>,
}

impl Default for FormState {
    fn default() -> Self {
        Self::new()
    }
}

impl FormState {
    pub fn new() -> Self {
        Self {
            pending: RwSignal::new(false),
            answer: RwSignal::new(None),
            answers: RwSignal::new(0),
        }
    }

    /// True while the form's request is under way.
    pub fn pending(&self) -> bool {
        self.pending.get()
    }

    /// The last answer (tracked); transport and server failures come as a failed outcome
    /// whose message says what to do.
    pub fn answer(&self) -> Option<FormOutcome> {
        self.answer.get()
    }

    /// How many answers have come (tracked): a key to refetch data after each submission.
    pub fn answers(&self) -> u32 {
        self.answers.get()
    }

    /// The message of a refusal, if the last answer was one.
    pub fn failure(&self) -> Option<String> {
        self.answer().filter(|o| !o.ok).map(|o| o.message)
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn finish(&self, outcome: FormOutcome) {
        self.answer.set(Some(outcome));
        self.answers.update(|n| *n = n.wrapping_add(1));
        self.pending.set(false);
    }
}

/// A `<form method="post">` to the server function at `action` (its `PATH`).
#[component]
pub fn PostForm(
    action: &'static str,
    state: FormState,
    #[prop(optional)] class: Option<&'static str>,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] role: Option<&'static str>,
    #[prop(optional)] label: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <form
            method="post"
            action=action
            class=class
            data-testid=testid
            role=role
            aria-label=label
            on:submit=move |ev| {
                ev.prevent_default();
                #[cfg(feature = "hydrate")]
                client::send(action, &ev, state);
                #[cfg(not(feature = "hydrate"))]
                let _ = (&ev, state);
            }
        >
            {children()}
        </form>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use super::{FormOutcome, FormState};
    use gloo_net::http::Request;
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;

    /// The body a browser would post: the form's fields, URL-encoded.
    fn encoded_fields(ev: &web_sys::SubmitEvent) -> Option<String> {
        let form = ev.target()?.dyn_into::<web_sys::HtmlFormElement>().ok()?;
        let data = web_sys::FormData::new_with_form(&form).ok()?;
        let params = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok()?;
        Some(params.to_string().into())
    }

    pub fn send(action: &'static str, ev: &web_sys::SubmitEvent, state: FormState) {
        if state.pending.get_untracked() {
            return;
        }
        let Some(body) = encoded_fields(ev) else {
            state.finish(FormOutcome::failed(
                "",
                "This browser could not read the form. Reload the page and try again.",
            ));
            return;
        };
        state.pending.set(true);
        leptos::task::spawn_local(async move {
            let outcome = post(action, body).await;
            state.finish(outcome);
        });
    }

    async fn post(action: &str, body: String) -> FormOutcome {
        let sent = Request::post(action)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body);
        let response = match sent {
            Ok(request) => request.send().await,
            Err(e) => Err(e),
        };
        let Ok(response) = response else {
            return FormOutcome::failed(
                "",
                "Could not reach the server. Check your connection and try again.",
            );
        };
        // The server asks for a page change (e.g. the session ended: sign in again).
        let headers = response.headers();
        if let (Some(_), Some(to)) = (
            headers.get(leptos::server_fn::redirect::REDIRECT_HEADER),
            headers.get("location"),
        ) {
            let _ = window().location().assign(&to);
            return FormOutcome::failed(
                "unauthenticated",
                "Your session has ended. Sign in again.",
            );
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        match super::super::codec::from_json_text::<FormOutcome>(&text) {
            Ok(outcome) if (200..300).contains(&status) => outcome,
            _ => FormOutcome::failed(
                "",
                &format!("The server could not do this (HTTP {status}). Try again in a moment."),
            ),
        }
    }
}
