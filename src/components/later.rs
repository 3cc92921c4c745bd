//! One-shot callbacks on the browser's clock, outside Leptos' ownership. Since leptos 0.9 a
//! timer started inside a reactive owner is cancelled when that owner is cleaned up: a modal
//! that asks to return focus as it closes, or an effect that schedules a toast's dismissal and
//! then runs again, would lose its callback. These are fire-and-forget, as they must be.
//! On the server they do nothing and report `false`.

use std::time::Duration;

/// Runs `f` before the next repaint. `false` if the browser would not schedule it.
pub fn next_frame(f: impl FnOnce() + 'static) -> bool {
    schedule(None, Box::new(f))
}

/// Runs `f` once `delay` has passed. `false` if the browser would not schedule it.
pub fn after(delay: Duration, f: impl FnOnce() + 'static) -> bool {
    schedule(Some(delay), Box::new(f))
}

/// One non-generic path for every call site (each generic closure type would be another copy
/// of wasm-bindgen's glue in the bundle).
fn schedule(delay: Option<Duration>, f: Box<dyn FnOnce()>) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Some(window) = web_sys::window() else {
            return false;
        };
        let cb = Closure::once_into_js(f);
        match delay {
            None => window.request_animation_frame(cb.unchecked_ref()).is_ok(),
            Some(d) => {
                let ms = i32::try_from(d.as_millis()).unwrap_or(i32::MAX);
                window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms)
                    .is_ok()
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (delay, f);
        false
    }
}
