//! The 404 page: says where the user is and how to get back.

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <section class="page page--narrow">
            <h1>"Page not found"</h1>
            <p class="muted">"There is nothing at this address. "<a href="/">"Back to your projects"</a></p>
        </section>
    }
}
