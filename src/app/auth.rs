//! Sign-in and registration pages. Both are plain HTML forms that post to a server function:
//! with JavaScript off the server answers with a redirect (back here with `?error=` on a
//! refusal); once hydrated the form is sent with fetch and the error is shown in place.
//! Errors are said in plain words (wrong password, email taken, password too short).

use super::data::{error_words, safe_next, FormOutcome, Login, Register};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// After a successful sign-in: a full page load, so every part of the page (header, data)
/// starts from the new session.
fn go(location: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(location);
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = location;
    }
}

/// The message to show: the hydrated action's outcome if any, else `?error=` from a
/// redirected plain form post.
fn message_of(
    value: Option<Result<FormOutcome, ServerFnError>>,
    query_error: Option<String>,
) -> Option<String> {
    match value {
        Some(Ok(outcome)) if !outcome.ok => Some(outcome.message),
        Some(Err(e)) => Some(error_words("", &e.to_string())),
        Some(Ok(_)) => None,
        None => query_error.map(|code| error_words(&code, "")),
    }
}

/// Shared by both forms: a successful answer leads on (a full page load), a refusal becomes
/// the message to show.
fn follow_outcome<V>(value: V, query: Memo<ParamsMap>) -> Signal<Option<String>>
where
    V: Get<Value = Option<Result<FormOutcome, ServerFnError>>> + Clone + Send + Sync + 'static,
{
    let answered = value.clone();
    Effect::new(move |_| {
        if let Some(Ok(outcome)) = answered.get() {
            if outcome.ok {
                go(outcome.location.as_deref().unwrap_or("/"));
            }
        }
    });
    Signal::derive(move || message_of(value.get(), query.with(|q| q.get("error"))))
}

#[component]
fn FormError(message: Signal<Option<String>>) -> impl IntoView {
    // Always in the DOM (reserved height), so showing an error shifts nothing.
    view! {
        <p class="form-error" role="alert" data-testid="form-error" aria-live="assertive">
            {move || message.get().unwrap_or_default()}
        </p>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let action = ServerAction::<Login>::new();
    let pending = action.pending();
    let message = follow_outcome(action.value(), query);
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    let next = move || safe_next(&query.with(|q| q.get("next").unwrap_or_default()));
    let signed_out = move || query.with(|q| q.get("signed_out").is_some());
    let register_href = move || {
        let e = email();
        if e.is_empty() {
            "/register".to_string()
        } else {
            format!("/register?email={}", super::data::encode_query(&e))
        }
    };
    view! {
        <Title text="Sign in — YouMeYou"/>
        <section class="page page--narrow auth-page" aria-labelledby="login-title">
            <div class="card auth-card">
                <h1 id="login-title">"Sign in"</h1>
                <p class="muted">"Welcome back. Sign in to open your system designs."</p>
                <Show when=signed_out>
                    <p class="form-note" role="status" data-testid="signed-out">"You have signed out."</p>
                </Show>
                <ActionForm action=action attr:class="form" attr:data-testid="login-form">
                    <input type="hidden" name="next" value=next/>
                    <label class="field">
                        <span class="field__label">"Email"</span>
                        <input
                            type="email"
                            name="email"
                            autocomplete="email"
                            required
                            value=email
                            data-testid="login-email"
                        />
                    </label>
                    <label class="field">
                        <span class="field__label">"Password"</span>
                        <input
                            type="password"
                            name="password"
                            autocomplete="current-password"
                            required
                            data-testid="login-password"
                        />
                    </label>
                    <FormError message/>
                    <button type="submit" class="btn btn--block" disabled=move || pending.get() data-testid="login-submit">
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                <p class="muted auth-switch">
                    "No account yet? "<a href=register_href>"Create one"</a>
                </p>
            </div>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let query = use_query_map();
    let action = ServerAction::<Register>::new();
    let pending = action.pending();
    let message = follow_outcome(action.value(), query);
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    view! {
        <Title text="Create an account — YouMeYou"/>
        <section class="page page--narrow auth-page" aria-labelledby="register-title">
            <div class="card auth-card">
                <h1 id="register-title">"Create an account"</h1>
                <p class="muted">"Design systems by describing them. Your projects stay private to your account."</p>
                <ActionForm action=action attr:class="form" attr:data-testid="register-form">
                    <label class="field">
                        <span class="field__label">"Email"</span>
                        <input
                            type="email"
                            name="email"
                            autocomplete="email"
                            required
                            value=email
                            data-testid="register-email"
                        />
                    </label>
                    <label class="field">
                        <span class="field__label">"Password"</span>
                        <input
                            type="password"
                            name="password"
                            autocomplete="new-password"
                            aria-describedby="password-hint"
                            data-testid="register-password"
                        />
                        <span class="field__hint" id="password-hint">"At least 8 characters. A long passphrase is best."</span>
                    </label>
                    <FormError message/>
                    <button type="submit" class="btn btn--block" disabled=move || pending.get() data-testid="register-submit">
                        {move || if pending.get() { "Creating account…" } else { "Create account" }}
                    </button>
                </ActionForm>
                <p class="muted auth-switch">"Already have an account? "<a href="/login">"Sign in"</a></p>
            </div>
        </section>
    }
}
