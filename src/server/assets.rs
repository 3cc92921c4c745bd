//! Static assets embedded at build time (see `build.rs`): the WASM bundle, its JS glue, the
//! style sheet and `public/`. Served with content negotiation (brotli, gzip, identity), a strong
//! ETag per encoding, `If-None-Match` → 304, and cache headers. Unknown paths render the app's
//! 404 page (API paths get the JSON error instead).

use crate::app::shell;
use crate::server::{error::ApiError, state::AppState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

pub struct Asset {
    pub path: &'static str,
    pub mime: &'static str,
    pub etag: &'static str,
    pub raw: &'static [u8],
    pub br: Option<&'static [u8]>,
    pub gz: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// True when the release bundle (WASM + JS) is embedded; without it pages work but don't hydrate.
pub fn has_wasm_bundle() -> bool {
    find("/pkg/youmeyou_bg.wasm").is_some() && find("/pkg/youmeyou.js").is_some()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

fn accepts(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| {
                let p = p.trim();
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            coding.eq_ignore_ascii_case(name) && !q_zero
        })
}

fn choose(asset: &Asset, headers: &HeaderMap) -> (Encoding, &'static [u8]) {
    if let (Some(br), true) = (asset.br, accepts(headers, "br")) {
        return (Encoding::Brotli, br);
    }
    if let (Some(gz), true) = (asset.gz, accepts(headers, "gzip")) {
        return (Encoding::Gzip, gz);
    }
    (Encoding::Identity, asset.raw)
}

pub fn serve(asset: &'static Asset, method: &Method, headers: &HeaderMap) -> Response {
    let (encoding, bytes) = choose(asset, headers);
    // A strong ETag names exact bytes, so each encoding gets its own.
    let etag = match encoding {
        Encoding::Brotli => format!("\"{}-br\"", asset.etag),
        Encoding::Gzip => format!("\"{}-gz\"", asset.etag),
        Encoding::Identity => format!("\"{}\"", asset.etag),
    };
    let cache = if asset.path.starts_with("/pkg/") {
        // Names are not content-hashed: revalidate every time (cheap 304 thanks to the ETag).
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    let not_modified = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let mut builder = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::VARY, "accept-encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if not_modified {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    builder = builder
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, asset.mime)
        .header(header::CONTENT_LENGTH, bytes.len());
    if let Some(value) = match encoding {
        Encoding::Brotli => Some(HeaderValue::from_static("br")),
        Encoding::Gzip => Some(HeaderValue::from_static("gzip")),
        Encoding::Identity => None,
    } {
        builder = builder.header(header::CONTENT_ENCODING, value);
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Router fallback: an embedded asset, the JSON 404 for API paths, else the app's 404 page.
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        if let Some(asset) = find(req.uri().path()) {
            return serve(asset, req.method(), req.headers());
        }
    }
    let path = req.uri().path();
    if path.starts_with("/api/") || path.starts_with("/events/") || path.starts_with("/pkg/") {
        return ApiError::NotFound("route").into_response();
    }
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream(move || shell(options.clone()));
    render(req).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(accept) {
            h.insert(header::ACCEPT_ENCODING, v);
        }
        h
    }

    #[test]
    fn the_style_sheet_is_embedded_and_compressed() {
        let css = find("/pkg/youmeyou.css").expect("style sheet embedded");
        assert!(css.mime.starts_with("text/css"));
        assert!(css.br.is_some() && css.gz.is_some());
    }

    #[test]
    fn encodings_are_negotiated_in_preference_order() {
        let css = find("/pkg/youmeyou.css").expect("embedded");
        assert_eq!(
            choose(css, &headers("gzip, deflate, br")).0,
            Encoding::Brotli
        );
        assert_eq!(choose(css, &headers("gzip")).0, Encoding::Gzip);
        assert_eq!(choose(css, &headers("br;q=0, gzip")).0, Encoding::Gzip);
        assert_eq!(choose(css, &headers("")).0, Encoding::Identity);
    }
}

#[cfg(test)]
mod trunk_tests {
    /// `trunk serve` cannot concatenate style sheets the way build.rs does, so index.html lists
    /// them one by one; this keeps that list complete.
    #[test]
    fn every_style_sheet_is_linked_in_the_trunk_index() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let index = std::fs::read_to_string(root.join("index.html")).expect("index.html");
        let mut sheets: Vec<String> = std::fs::read_dir(root.join("style"))
            .expect("style/")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".css"))
            .collect();
        sheets.sort();
        for sheet in sheets {
            assert!(
                index.contains(&format!("href=\"style/{sheet}\"")),
                "style/{sheet} is not linked in index.html (trunk serve would miss it)"
            );
        }
    }
}
