//! The projects page: the user's system designs. For now the empty state that invites the
//! first project; the list and its actions come with accounts.

use leptos::prelude::*;

#[component]
pub fn ProjectsPage() -> impl IntoView {
    view! {
        <section class="page" aria-labelledby="projects-title">
            <header class="page__header">
                <h1 id="projects-title">"Your projects"</h1>
                <p class="muted">
                    "Each project is a canvas of your system's architecture. Describe what to build or change, and watch the plan run."
                </p>
            </header>
            <div class="empty-state card" data-testid="projects-empty">
                <svg class="empty-state__art" viewBox="0 0 120 64" aria-hidden="true">
                    <rect x="4" y="20" width="30" height="24" rx="5"/>
                    <rect x="86" y="6" width="30" height="24" rx="5"/>
                    <rect x="86" y="36" width="30" height="24" rx="5"/>
                    <path d="M34 32 H60 V18 H86 M60 32 V48 H86"/>
                </svg>
                <h2>"No projects yet"</h2>
                <p class="muted">"Start with a prompt such as “Build a complete e-commerce platform with auth, catalog, cart and payments”."</p>
            </div>
        </section>
    }
}
