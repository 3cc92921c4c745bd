//! Export of the drawn canvas as an SVG or PNG file. The live SVG is cloned, every element
//! gets its computed style inlined (the file must look the same without the site's CSS and
//! in the current theme), the view is reset to show the whole diagram, and the result is
//! downloaded. PNG goes through an `<img>` and an offscreen `<canvas>`. Browser-only: the
//! server build has no-op twins.

use super::geometry::Rect;

/// Blank margin around the diagram in exported files, canvas units.
pub const EXPORT_MARGIN: f64 = 24.0;
/// PNG pixels per canvas unit (sharp on high-density screens).
pub const PNG_SCALE: f64 = 2.0;
/// Largest PNG side browsers reliably allocate a canvas for.
pub const PNG_MAX_SIDE: f64 = 8192.0;

/// The exported picture's box: the diagram and a margin. An empty canvas exports a small
/// blank picture instead of failing.
pub fn export_box(bounds: Option<Rect>) -> Rect {
    bounds
        .unwrap_or(Rect::new(0.0, 0.0, 320.0, 160.0))
        .inflate(EXPORT_MARGIN)
}

/// The PNG scale for a picture of this size: [`PNG_SCALE`], lowered so neither side
/// exceeds [`PNG_MAX_SIDE`].
pub fn png_scale(area: Rect) -> f64 {
    let longest = area.w.max(area.h).max(1.0);
    PNG_SCALE.min(PNG_MAX_SIDE / longest)
}

/// A file name from a user-facing name: letters, digits, `-` and `_` only.
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem.trim_matches('-').to_string();
    if stem.is_empty() {
        "architecture".to_string()
    } else {
        stem
    }
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::{export_box, file_stem, png_scale, Rect};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use web_sys::{Element, SvgElement};

    /// Style properties copied from the live document into the exported file.
    const PROPERTIES: &[&str] = &[
        "fill",
        "fill-opacity",
        "stroke",
        "stroke-width",
        "stroke-dasharray",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-opacity",
        "opacity",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "letter-spacing",
        "text-anchor",
        "dominant-baseline",
        "paint-order",
        "visibility",
        "display",
    ];

    /// The standalone SVG document of the diagram, or why it could not be made.
    pub fn svg_document(svg: &SvgElement, bounds: Option<Rect>) -> Result<(String, Rect), JsValue> {
        let area = export_box(bounds);
        let clone: Element = svg.clone_node_with_deep(true)?.dyn_into()?;
        let window = web_sys::window().ok_or("no window")?;

        // The file gets every text whatever the zoom's level of detail on screen: styles are
        // read at full detail (one synchronous restyle) and the level is put back after.
        let detail = svg.get_attribute("data-detail");
        svg.set_attribute("data-detail", "full")?;
        let inlined = inline_styles(&window, svg, &clone);
        match &detail {
            Some(level) => svg.set_attribute("data-detail", level)?,
            None => svg.remove_attribute("data-detail")?,
        }
        inlined?;
        // Drop what only makes sense on screen (pulse halos, the selection ring).
        let transient = clone.query_selector_all("[data-export=\"skip\"]")?;
        for i in 0..transient.length() {
            if let Some(node) = transient.item(i) {
                if let Some(parent) = node.parent_node() {
                    parent.remove_child(&node)?;
                }
            }
        }
        // Show the whole diagram, not the current pan/zoom.
        if let Some(layer) = clone.query_selector("[data-viewport]")? {
            layer.remove_attribute("transform")?;
        }
        let background = window
            .get_computed_style(svg)?
            .map(|s| s.get_property_value("background-color"))
            .transpose()?
            .filter(|c| !c.is_empty() && c != "rgba(0, 0, 0, 0)")
            .unwrap_or_else(|| "#ffffff".to_string());
        let document = window.document().ok_or("no document")?;
        let rect = document.create_element_ns(Some("http://www.w3.org/2000/svg"), "rect")?;
        for (k, v) in [
            ("x", area.x.to_string()),
            ("y", area.y.to_string()),
            ("width", area.w.to_string()),
            ("height", area.h.to_string()),
            ("fill", background),
        ] {
            rect.set_attribute(k, &v)?;
        }
        clone.insert_before(&rect, clone.first_child().as_ref())?;
        for attr in [
            "class",
            "style",
            "tabindex",
            "role",
            "aria-label",
            "aria-describedby",
            "data-detail",
        ] {
            clone.remove_attribute(attr)?;
        }
        clone.set_attribute("xmlns", "http://www.w3.org/2000/svg")?;
        clone.set_attribute("width", &area.w.to_string())?;
        clone.set_attribute("height", &area.h.to_string())?;
        clone.set_attribute(
            "viewBox",
            &format!("{} {} {} {}", area.x, area.y, area.w, area.h),
        )?;
        let text = web_sys::XmlSerializer::new()?.serialize_to_string(&clone)?;
        Ok((text, area))
    }

    /// Copies the computed style of every element of `svg` onto its twin in `clone`.
    fn inline_styles(
        window: &web_sys::Window,
        svg: &SvgElement,
        clone: &Element,
    ) -> Result<(), JsValue> {
        let originals = svg.query_selector_all("*")?;
        let copies = clone.query_selector_all("*")?;
        for i in 0..originals.length().min(copies.length()) {
            let (Some(original), Some(copy)) = (originals.item(i), copies.item(i)) else {
                continue;
            };
            let (Ok(original), Ok(copy)) =
                (original.dyn_into::<Element>(), copy.dyn_into::<Element>())
            else {
                continue;
            };
            let Some(computed) = window.get_computed_style(&original)? else {
                continue;
            };
            let mut style = String::new();
            for name in PROPERTIES {
                let value = computed.get_property_value(name)?;
                if !value.is_empty() {
                    style.push_str(name);
                    style.push(':');
                    style.push_str(&value);
                    style.push(';');
                }
            }
            copy.set_attribute("style", &style)?;
            // Animations and focus outlines do not belong in a picture.
            copy.remove_attribute("tabindex")?;
        }
        Ok(())
    }

    fn download_blob(blob: &web_sys::Blob, file: &str) -> Result<(), JsValue> {
        let url = web_sys::Url::create_object_url_with_blob(blob)?;
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
        a.set_href(&url);
        a.set_download(file);
        a.set_rel("noopener");
        a.click();
        // Give the download a moment to start before the URL goes away. Without a timer the
        // URL lives until the page goes away: a small leak, not an error.
        crate::components::later::after(std::time::Duration::from_secs(10), move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        });
        Ok(())
    }

    /// Downloads the diagram as `<name>.svg`.
    pub fn download_svg(svg: &SvgElement, bounds: Option<Rect>, name: &str) -> Result<(), JsValue> {
        let (text, _) = svg_document(svg, bounds)?;
        let parts = js_sys::Array::of1(&JsValue::from_str(&text));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type("image/svg+xml;charset=utf-8");
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
        download_blob(&blob, &format!("{}.svg", file_stem(name)))
    }

    /// Downloads the diagram as `<name>.png`. Asynchronous: the picture is decoded by an
    /// `<img>` first; failures after that point are logged.
    pub fn download_png(svg: &SvgElement, bounds: Option<Rect>, name: &str) -> Result<(), JsValue> {
        let (text, area) = svg_document(svg, bounds)?;
        let scale = png_scale(area);
        let file = format!("{}.png", file_stem(name));
        let image = web_sys::HtmlImageElement::new()?;
        let loaded = image.clone();
        let onload = Closure::once_into_js(move || {
            if let Err(e) = draw_and_save(&loaded, area, scale, file) {
                leptos::logging::error!("PNG export failed: {e:?}");
            }
        });
        image.set_onload(Some(onload.unchecked_ref()));
        let onerror = Closure::once_into_js(move || {
            leptos::logging::error!("PNG export failed: the SVG could not be decoded");
        });
        image.set_onerror(Some(onerror.unchecked_ref()));
        let src = format!(
            "data:image/svg+xml;charset=utf-8,{}",
            String::from(js_sys::encode_uri_component(&text))
        );
        image.set_src(&src);
        Ok(())
    }

    fn draw_and_save(
        image: &web_sys::HtmlImageElement,
        area: Rect,
        scale: f64,
        file: String,
    ) -> Result<(), JsValue> {
        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let canvas: web_sys::HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
        let w = (area.w * scale).ceil().max(1.0);
        let h = (area.h * scale).ceil().max(1.0);
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
        let ctx: web_sys::CanvasRenderingContext2d = canvas
            .get_context("2d")?
            .ok_or("no 2d context")?
            .dyn_into()?;
        ctx.draw_image_with_html_image_element_and_dw_and_dh(image, 0.0, 0.0, w, h)?;
        let on_blob = Closure::once_into_js(move |blob: Option<web_sys::Blob>| {
            let result = blob
                .ok_or_else(|| JsValue::from_str("the browser made no PNG"))
                .and_then(|b| download_blob(&b, &file));
            if let Err(e) = result {
                leptos::logging::error!("PNG export failed: {e:?}");
            }
        });
        canvas.to_blob(on_blob.unchecked_ref())
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {}

#[cfg(feature = "hydrate")]
pub use imp::{download_png, download_svg};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_box_adds_a_margin_and_survives_an_empty_canvas() {
        let b = export_box(Some(Rect::new(100.0, 100.0, 400.0, 200.0)));
        assert_eq!(b, Rect::new(76.0, 76.0, 448.0, 248.0));
        assert!(export_box(None).w > 0.0);
    }

    #[test]
    fn png_scale_keeps_huge_diagrams_under_the_canvas_limit() {
        assert_eq!(png_scale(Rect::new(0.0, 0.0, 1000.0, 500.0)), PNG_SCALE);
        let s = png_scale(Rect::new(0.0, 0.0, 20_000.0, 500.0));
        assert!(20_000.0 * s <= PNG_MAX_SIDE + 1e-6);
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("My shop / v2"), "My-shop---v2");
        assert_eq!(file_stem("  "), "architecture");
        assert_eq!(file_stem("e-commerce_platform"), "e-commerce_platform");
    }
}
