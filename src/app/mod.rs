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
    #[cfg(feature = "ssr")]
    crate::server::security::csp::announce_page_nonce();
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

/// Every page's `<title>` goes through here. leptos_meta writes the title into the server's
/// HTML unescaped, so a project named `</title><script>…` would end the element: on the
/// server the text is escaped for HTML; in the browser it is set as `document.title`, which
/// is plain text and stays as typed.
fn page_title(text: String) -> String {
    #[cfg(feature = "ssr")]
    {
        escape_html_text(&text)
    }
    #[cfg(not(feature = "ssr"))]
    {
        text
    }
}

/// `&`, `<` and `>` as entities: safe inside any element's text, `<title>` included.
pub fn escape_html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="app-style" href="/pkg/youmeyou.css"/>
        <Title formatter=page_title text="YouMeYou — system design workspace"/>
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
