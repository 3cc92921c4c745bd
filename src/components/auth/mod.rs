//! The header's account menu: the signed-in email with a "Sign out" form (a `<details>`
//! disclosure, so it opens and posts with JavaScript off too), or a "Sign in" link.

use crate::app::codec::JsonResource;
use crate::app::data::{current_user, Logout, UserInfo};
use crate::app::form::{FormState, PostForm};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[component]
pub fn UserMenu() -> impl IntoView {
    let user =
        JsonResource::<Option<UserInfo>>::new(|| serde_json::Value::Null, |_| current_user());
    let logout = FormState::new();
    Effect::new(move |_| {
        if let Some(location) = logout.answer().filter(|o| o.ok).map(|o| o.location) {
            #[cfg(feature = "hydrate")]
            {
                let _ = window()
                    .location()
                    .assign(location.as_deref().unwrap_or("/login"));
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = location;
        }
    });
    view! {
        <Suspense fallback=|| view! { <span class="user-menu user-menu--loading" aria-hidden="true"></span> }>
            {move || {
                user.get()
                    .map(|answer| match answer.ok().flatten() {
                        Some(u) => {
                            view! {
                                <details class="user-menu" data-testid="user-menu">
                                    <summary class="btn btn--ghost user-menu__summary" aria-label="Account menu">
                                        <span class="user-menu__avatar" aria-hidden="true">
                                            {u.email.chars().next().map(|c| c.to_ascii_uppercase().to_string()).unwrap_or_default()}
                                        </span>
                                        <span class="user-menu__email" data-testid="user-email">{u.email.clone()}</span>
                                    </summary>
                                    <div class="user-menu__panel card" role="menu">
                                        <p class="muted user-menu__tier">{format!("Plan: {}", u.tier)}</p>
                                        <PostForm action=Logout::PATH state=logout class="user-menu__form">
                                            <button type="submit" class="btn btn--ghost btn--block" role="menuitem" data-testid="logout">
                                                "Sign out"
                                            </button>
                                        </PostForm>
                                    </div>
                                </details>
                            }
                                .into_any()
                        }
                        None => {
                            view! {
                                <a class="btn btn--ghost" href="/login" data-testid="sign-in-link">"Sign in"</a>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
