//! Light/dark switch. Without JavaScript the page follows the system preference (CSS
//! `prefers-color-scheme`); once hydrated, the user's choice is applied to `<html data-theme>`
//! and remembered in localStorage.

use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
    fn other(self) -> Self {
        match self {
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::Light,
        }
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    // Server and first client render agree on Light; the effect then reads the real preference,
    // so hydration never sees mismatched markup.
    let (theme, set_theme) = signal(Theme::Light);
    let (ready, set_ready) = signal(false);

    Effect::new(move |_| {
        if !ready.get_untracked() {
            set_theme.set(client::initial_theme());
            set_ready.set(true);
        }
    });
    Effect::new(move |_| {
        let current = theme.get();
        if ready.get() {
            client::apply_theme(current.as_str());
        }
    });

    let label = move || match theme.get() {
        Theme::Light => "Dark theme",
        Theme::Dark => "Light theme",
    };
    view! {
        <button
            type="button"
            class="btn btn--ghost theme-toggle"
            data-testid="theme-toggle"
            data-hydrated=move || ready.get().to_string()
            aria-pressed=move || (theme.get() == Theme::Dark).to_string()
            on:click=move |_| set_theme.update(|t| *t = t.other())
        >
            <span aria-hidden="true">{move || if theme.get() == Theme::Dark { "☀" } else { "☾" }}</span>
            <span class="theme-toggle__label">{label}</span>
        </button>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use super::Theme;

    const KEY: &str = "youmeyou.theme";

    pub fn initial_theme() -> Theme {
        let window = leptos::prelude::window();
        let stored = window
            .local_storage()
            .ok()
            .flatten()
            .and_then(|s| s.get_item(KEY).ok().flatten());
        match stored.as_deref() {
            Some("dark") => Theme::Dark,
            Some("light") => Theme::Light,
            _ => {
                let dark = window
                    .match_media("(prefers-color-scheme: dark)")
                    .ok()
                    .flatten()
                    .map(|m| m.matches())
                    .unwrap_or(false);
                if dark {
                    Theme::Dark
                } else {
                    Theme::Light
                }
            }
        }
    }

    pub fn apply_theme(name: &str) {
        let window = leptos::prelude::window();
        if let Some(root) = window.document().and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-theme", name);
        }
        if let Ok(Some(storage)) = window.local_storage() {
            let _ = storage.set_item(KEY, name);
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod client {
    use super::Theme;
    pub fn initial_theme() -> Theme {
        Theme::Light
    }
    pub fn apply_theme(_name: &str) {}
}
