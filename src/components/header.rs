//! The application header: brand, main navigation, the theme switch and the account menu.

use crate::components::auth::UserMenu;
use crate::components::theme_toggle::ThemeToggle;
use leptos::prelude::*;

#[component]
pub fn AppHeader() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="app-header">
            <a class="brand" href="/" aria-label="YouMeYou home">
                <span class="brand__mark" aria-hidden="true">"◆"</span>
                <span class="brand__name">"YouMeYou"</span>
            </a>
            <nav class="app-nav" aria-label="Main">
                <a href="/projects">"Projects"</a>
            </nav>
            <div class="app-header__actions">
                <ThemeToggle/>
                <UserMenu/>
            </div>
        </header>
    }
}
