//! The application's pages and router. `shell` is the HTML document the server renders;
//! `App` is the part that hydrates in the browser. Pages are rendered completely on the
//! server (`SsrMode::Async`: data first, then HTML), so they work with JavaScript off.

mod auth;
mod canvas_edits;
pub mod codec;
pub mod data;
pub mod form;
mod not_found;
mod projects;
mod workspace;

use crate::components::header::AppHeader;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

pub use auth::{LoginPage, RegisterPage};
pub use not_found::NotFound;
pub use projects::ProjectsPage;
pub use workspace::WorkspacePage;

/// The whole HTML document, rendered on the server for every page request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="app-style" href="/pkg/youmeyou.css"/>
        <Title text="YouMeYou — system design workspace"/>
        <Router>
            <AppHeader/>
            <main class="app-main" id="main">
                <Routes fallback=NotFound>
                    <Route path=StaticSegment("") view=ProjectsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("projects") view=ProjectsPage ssr=SsrMode::Async/>
                    <Route
                        path=(StaticSegment("projects"), ParamSegment("id"))
                        view=WorkspacePage
                        ssr=SsrMode::Async
                    />
                    <Route path=StaticSegment("login") view=LoginPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("register") view=RegisterPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
