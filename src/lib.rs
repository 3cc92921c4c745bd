//! YouMeYou: one crate, two builds. With `ssr` it is the server (axum + Leptos SSR, the
//! orchestrator, the stores and the transports); with `hydrate` it is the WASM front end that
//! hydrates the server's HTML. The pure domain lives in the `youmeyou-core` crate.

// Leptos views are deeply nested types; the workspace's (canvas, plan graph) exceed the
// default query depth when type-erased for hydration.
#![recursion_limit = "256"]

pub mod app;
pub mod components;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WASM bundle: attaches the reactive UI to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // The release bundle's panics abort without a message (std built with
    // `-Cpanic=immediate-abort`), so the hook would never run there.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

/// Entry point of the client-side-rendered development build (`trunk serve`, feature `csr`):
/// the same UI, mounted fresh instead of hydrated; API calls are proxied to `youmeyou serve`.
#[cfg(feature = "csr")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start_csr() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
