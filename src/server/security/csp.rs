//! The Content-Security-Policy: no inline script runs unless the server wrote it into this
//! very page. Pages get a fresh nonce per response (Leptos puts it on its hydration bootstrap
//! and its resource scripts); every other response gets the policy without one. Scripts load
//! only from this origin, connections go only to this origin (WebSocket included: CSP level 3
//! `'self'` covers `ws:`/`wss:` of the same host) and the configured CORS origins.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// A response header the page renderer uses to hand its nonce to [`apply`]; never sent.
pub const NONCE_HEADER: &str = "x-youmeyou-csp-nonce";

const CSP: HeaderName = HeaderName::from_static("content-security-policy");

/// The policy, with `nonce` allowed for inline scripts when given.
pub fn policy(nonce: Option<&str>, connect_origins: &[String]) -> String {
    let script = match nonce {
        Some(n) => format!("script-src 'self' 'wasm-unsafe-eval' 'nonce-{n}'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_string(),
    };
    let mut connect = String::from("connect-src 'self'");
    for origin in connect_origins {
        // Configured origins were validated at start (scheme://host[:port]); a value with a
        // character that could end the directive is left out rather than trusted.
        if !origin.is_empty()
            && origin
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        {
            connect.push(' ');
            connect.push_str(origin);
        }
    }
    format!(
        "default-src 'self'; {script}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; {connect}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

/// Called while a page renders (server side): hands the page's nonce to [`apply`].
pub fn announce_page_nonce() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&nonce) {
        res.insert_header(HeaderName::from_static(NONCE_HEADER), value);
    }
}

/// Sets the policy on every response that has none: with the page's nonce for pages.
pub async fn apply(State(origins): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let nonce = res
        .headers_mut()
        .remove(NONCE_HEADER)
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .filter(|n| {
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !res.headers().contains_key(&CSP) {
        if let Ok(value) = HeaderValue::from_str(&policy(nonce.as_deref(), &origins)) {
            res.headers_mut().insert(CSP, value);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_inline_script_without_the_pages_nonce_and_connections_stay_home() {
        let p = policy(None, &[]);
        assert!(p.contains("script-src 'self' 'wasm-unsafe-eval';"), "{p}");
        assert!(!p.contains("script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'"));
        assert!(p.contains("connect-src 'self';"), "{p}");
        assert!(!p.contains("ws:") && !p.contains("wss:"), "{p}");
        let p = policy(
            Some("abc_-1"),
            &["https://app.example.com".into(), "x; script-src *".into()],
        );
        assert!(p.contains("'nonce-abc_-1'"), "{p}");
        assert!(
            p.contains("connect-src 'self' https://app.example.com;"),
            "{p}"
        );
        assert!(!p.contains("script-src *"), "{p}");
    }
}
