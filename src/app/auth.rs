//! Sign-in and registration pages. Both are plain HTML forms that post to a server function:
//! with JavaScript off the server answers with a redirect (back here with `?error=` on a
//! refusal); once hydrated the form is sent with fetch and the error is shown in place.
//! Errors are said in plain words (wrong password, email taken, password too short).

use super::data::{safe_next, Login, Register};
use super::form::{FormState, PostForm};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
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

/// Shared by both forms: a successful answer leads on (a full page load); the message to show
/// is the hydrated form's refusal if any, else `?error=` from a redirected plain form post.
fn follow_outcome(form: FormState, query: Memo<ParamsMap>) -> Signal<Option<String>> {
    Effect::new(move |_| {
        if let Some(outcome) = form.answer().filter(|o| o.ok) {
            go(outcome.location.as_deref().unwrap_or("/"));
        }
    });
    Signal::derive(move || match form.answer() {
        Some(outcome) => (!outcome.ok).then_some(outcome.message),
        None => query
            .with(|q| q.get("error"))
            .map(|code| super::data::error_words(&code, "")),
    })
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
    let form = FormState::new();
    let pending = move || form.pending();
    let message = follow_outcome(form, query);
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
                <PostForm action=Login::PATH state=form class="form" testid="login-form">
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
                    <button type="submit" class="btn btn--block" disabled=pending data-testid="login-submit">
                        {move || if pending() { "Signing in…" } else { "Sign in" }}
                    </button>
                </PostForm>
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
    let form = FormState::new();
    let pending = move || form.pending();
    let message = follow_outcome(form, query);
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    view! {
        <Title text="Create an account — YouMeYou"/>
        <section class="page page--narrow auth-page" aria-labelledby="register-title">
            <div class="card auth-card">
                <h1 id="register-title">"Create an account"</h1>
                <p class="muted">"Design systems by describing them. Your projects stay private to your account."</p>
                <PostForm action=Register::PATH state=form class="form" testid="register-form">
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
                    <button type="submit" class="btn btn--block" disabled=pending data-testid="register-submit">
                        {move || if pending() { "Creating account…" } else { "Create account" }}
                    </button>
                </PostForm>
                <p class="muted auth-switch">"Already have an account? "<a href="/login">"Sign in"</a></p>
            </div>
        </section>
    }
}
