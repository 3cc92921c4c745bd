//! The few browser calls the canvas makes outside Leptos: measuring the SVG element,
//! pointer capture and a non-passive wheel listener. Only compiled into the WASM build; the
//! server build gets no-op twins so the component renders unchanged during SSR.

use leptos::prelude::*;

/// The SVG element's box in client coordinates: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Frame {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::Frame;
    use leptos::prelude::*;
    use leptos::svg::Svg;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    pub fn frame(svg: NodeRef<Svg>) -> Option<Frame> {
        let el = svg.get_untracked()?;
        let r = el.get_bounding_client_rect();
        Some(Frame {
            left: r.left(),
            top: r.top(),
            width: r.width(),
            height: r.height(),
        })
    }

    pub fn capture_pointer(svg: NodeRef<Svg>, pointer: i32) {
        if let Some(el) = svg.get_untracked() {
            let _ = el.set_pointer_capture(pointer);
        }
    }

    pub fn release_pointer(svg: NodeRef<Svg>, pointer: i32) {
        if let Some(el) = svg.get_untracked() {
            if el.has_pointer_capture(pointer) {
                let _ = el.release_pointer_capture(pointer);
            }
        }
    }

    /// Listens to `wheel` on the SVG element with `passive: false`, so `preventDefault` stops
    /// the page from scrolling while the canvas zooms. The handler gets
    /// `(deltaY, deltaMode, clientX, clientY)`. Removed when the owner is cleaned up.
    pub fn on_wheel(svg: NodeRef<Svg>, handler: impl Fn(f64, u32, f64, f64) + 'static) {
        let Some(el) = svg.get_untracked() else {
            return;
        };
        let closure =
            Closure::<dyn FnMut(web_sys::WheelEvent)>::new(move |ev: web_sys::WheelEvent| {
                ev.prevent_default();
                handler(
                    ev.delta_y(),
                    ev.delta_mode(),
                    f64::from(ev.client_x()),
                    f64::from(ev.client_y()),
                );
            });
        let options = web_sys::AddEventListenerOptions::new();
        options.set_passive(false);
        let target: &web_sys::EventTarget = el.as_ref();
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
            "wheel",
            closure.as_ref().unchecked_ref(),
            &options,
        );
        let held = StoredValue::new_local(Some((el, closure)));
        on_cleanup(move || {
            if let Some((el, closure)) = held.try_update_value(Option::take).flatten() {
                let target: &web_sys::EventTarget = el.as_ref();
                let _ = target
                    .remove_event_listener_with_callback("wheel", closure.as_ref().unchecked_ref());
            }
        });
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::Frame;
    use leptos::prelude::*;
    use leptos::svg::Svg;

    pub fn frame(_svg: NodeRef<Svg>) -> Option<Frame> {
        None
    }
    pub fn capture_pointer(_svg: NodeRef<Svg>, _pointer: i32) {}
    pub fn release_pointer(_svg: NodeRef<Svg>, _pointer: i32) {}
    pub fn on_wheel(_svg: NodeRef<Svg>, _handler: impl Fn(f64, u32, f64, f64) + 'static) {}
}

pub use imp::*;

/// Runs `f` once on the next animation frame however often it is asked before then: the
/// pointer-move throttle. `pending` remembers whether a frame is already requested.
pub fn once_per_frame(pending: StoredValue<bool>, f: impl FnOnce() + 'static) {
    if pending.get_value() {
        return;
    }
    pending.set_value(true);
    #[cfg(feature = "hydrate")]
    if !crate::components::later::next_frame(move || {
        pending.try_set_value(false);
        f();
    }) {
        // No frame was requested: let the next event ask again rather than throttle forever.
        pending.set_value(false);
    }
    #[cfg(not(feature = "hydrate"))]
    {
        pending.set_value(false);
        f();
    }
}
