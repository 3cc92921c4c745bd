//! Cross-cutting HTTP defences, applied once around the whole router: security headers (CSP
//! and friends) on every response, CORS for the configured origins only, CSRF refusal of
//! cookie-authenticated writes from foreign origins, and the request-body ceiling. Also the
//! API guard (`guard`), the JSON extractor (`json`) and input limits (`input`). It decides
//! nothing about ownership: handlers and the stores do that.

pub mod config;
pub mod csp;
pub mod guard;
pub mod input;
pub mod json;

use crate::server::auth::SESSION_COOKIE;
use crate::server::error::ApiError;
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

pub use json::ValidJson;

/// Headers set on every response that does not set them itself.
/// The Content-Security-Policy is set by `csp::apply` (per page, with the page's nonce).
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// The client's address: the socket peer, or (behind a trusted proxy) the last hop that the
/// proxy appended to `X-Forwarded-For`. `"unknown"` when neither is known.
pub fn client_ip(req_headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> String {
    if trust_proxy {
        let forwarded = req_headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty());
        if let Some(ip) = forwarded.and_then(|s| s.parse::<std::net::IpAddr>().ok()) {
            return ip.to_string();
        }
    }
    peer.map_or_else(|| "unknown".to_string(), |p| p.ip().to_string())
}

/// The peer address axum recorded (present when served with `into_make_service_with_connect_info`).
pub fn peer_addr(req: &Request) -> Option<SocketAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

/// The caller's address as the rate limits see it (`client_ip` with this server's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl axum::extract::FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| *addr);
        Ok(ClientIp(client_ip(
            &parts.headers,
            peer,
            state.config.security.trust_proxy,
        )))
    }
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
                HeaderName::from_static("x-request-id"),
            ])
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Origin/host comparison for the CSRF check.
#[derive(Clone)]
struct CsrfPolicy {
    allowed_origins: Arc<Vec<String>>,
    trust_proxy: bool,
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| {
            pair.trim()
                .split_once('=')
                .is_some_and(|(name, value)| name == SESSION_COOKIE && !value.is_empty())
        })
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim();
            v.len() > 7
                && v.get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        })
}

/// `scheme://authority` of an Origin or Referer value, lowercase.
fn origin_of(value: &str) -> Option<String> {
    let value = value.trim();
    let (scheme, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() {
        return None;
    }
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

impl CsrfPolicy {
    /// The request's own host (what a same-origin page would send as Origin's authority).
    fn hosts(&self, headers: &HeaderMap) -> Vec<String> {
        let mut hosts = Vec::new();
        if let Some(h) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
            hosts.push(h.trim().to_ascii_lowercase());
        }
        if self.trust_proxy {
            if let Some(h) = headers
                .get("x-forwarded-host")
                .and_then(|v| v.to_str().ok())
            {
                if let Some(first) = h.split(',').next() {
                    hosts.push(first.trim().to_ascii_lowercase());
                }
            }
        }
        hosts
    }

    fn origin_allowed(&self, origin: &str, headers: &HeaderMap) -> bool {
        if self.allowed_origins.iter().any(|o| o == origin) {
            return true;
        }
        let authority = origin.split_once("://").map_or("", |(_, a)| a);
        let scheme = origin.split_once("://").map_or("", |(s, _)| s);
        if scheme != "http" && scheme != "https" {
            return false;
        }
        let hosts = self.hosts(headers);
        hosts.iter().any(|h| {
            h == authority
                // A browser leaves the default port out of Origin; Host may carry it.
                || (scheme == "http" && *h == format!("{authority}:80"))
                || (scheme == "https" && *h == format!("{authority}:443"))
        })
    }

    /// `Err` with the reason when a state-changing request must be refused.
    fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), &'static str> {
        if matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) {
            return Ok(());
        }
        // A bearer token is never sent by a browser on its own, so it cannot be forged by
        // another site; only ambient credentials (the cookie) need the origin check.
        if has_bearer(headers) {
            return Ok(());
        }
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string());
        let source = match origin.as_deref() {
            Some("null") => return Err("the request comes from an opaque origin"),
            Some(o) => origin_of(o),
            None => headers
                .get(header::REFERER)
                .and_then(|v| v.to_str().ok())
                .and_then(origin_of),
        };
        match source {
            Some(o) if self.origin_allowed(&o, headers) => Ok(()),
            Some(_) => Err("the request comes from another site"),
            // Without cookie nor origin this is not a browser acting for a signed-in user
            // (e.g. curl registering); nothing ambient to abuse.
            None if !has_session_cookie(headers) => Ok(()),
            None => Err("a cookie-authenticated change must carry an Origin or Referer header"),
        }
    }
}

async fn csrf(State(policy): State<CsrfPolicy>, req: Request, next: Next) -> Response {
    match policy.check(req.method(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::warn!(method = %req.method(), uri = %crate::server::telemetry::redacted_uri(req.uri()), why, "CSRF check refused a request");
            ApiError::Coded {
                status: StatusCode::FORBIDDEN,
                code: "csrf_rejected",
                message: format!(
                    "Refused: {why}. Browsers send Origin automatically; API clients should use Authorization: Bearer."
                ),
                retry_after: None,
            }
            .into_response()
        }
    }
}

/// Refuses a declared body over the limit before any handler runs (the `DefaultBodyLimit`
/// catches chunked bodies inside the extractors).
async fn body_ceiling(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > input::MAX_BODY_BYTES as u64) {
        return json::too_large().into_response();
    }
    next.run(req).await
}

/// Wraps the complete router (API, pages, assets) with the defences above. Order matters:
/// the headers wrap everything so even refusals carry them; CORS answers preflights before the
/// CSRF check sees them.
pub fn with_security_layers(router: Router, state: &AppState) -> Router {
    let security = &state.config.security;
    let policy = CsrfPolicy {
        allowed_origins: Arc::new(security.cors_origins.clone()),
        trust_proxy: security.trust_proxy,
    };
    let mut router = router
        .layer(DefaultBodyLimit::max(input::MAX_BODY_BYTES))
        .layer(middleware::from_fn(body_ceiling))
        .layer(middleware::from_fn_with_state(policy, csrf));
    if let Some(cors) = cors_layer(&security.cors_origins) {
        router = router.layer(cors);
    }
    router = router.layer(middleware::from_fn_with_state(
        Arc::new(security.cors_origins.clone()),
        csp::apply,
    ));
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn policy() -> CsrfPolicy {
        CsrfPolicy {
            allowed_origins: Arc::new(vec!["https://app.example.com".into()]),
            trust_proxy: false,
        }
    }

    #[test]
    fn cookie_writes_need_a_matching_origin() {
        let p = policy();
        let post = Method::POST;
        let cookie = ("cookie", "ymy_session=abc");
        let host = ("host", "127.0.0.1:3000");
        assert!(
            p.check(&post, &headers(&[cookie, host])).is_err(),
            "no origin"
        );
        assert!(p
            .check(
                &post,
                &headers(&[cookie, host, ("origin", "http://127.0.0.1:3000")])
            )
            .is_ok());
        assert!(p
            .check(
                &post,
                &headers(&[cookie, host, ("origin", "http://evil.test")])
            )
            .is_err());
        assert!(p
            .check(&post, &headers(&[cookie, host, ("origin", "null")]))
            .is_err());
        assert!(p
            .check(
                &post,
                &headers(&[cookie, host, ("referer", "http://127.0.0.1:3000/projects")])
            )
            .is_ok());
        assert!(p
            .check(
                &post,
                &headers(&[cookie, host, ("origin", "https://app.example.com")])
            )
            .is_ok());
        assert!(
            p.check(&Method::GET, &headers(&[cookie, host])).is_ok(),
            "reads are exempt"
        );
        assert!(
            p.check(
                &post,
                &headers(&[cookie, host, ("authorization", "Bearer x.y.z")])
            )
            .is_ok(),
            "bearer is exempt"
        );
        assert!(
            p.check(&post, &headers(&[host])).is_ok(),
            "no ambient credentials"
        );
        assert!(
            p.check(&post, &headers(&[host, ("origin", "http://evil.test")]))
                .is_err(),
            "login CSRF from another site"
        );
        let default_port = headers(&[
            cookie,
            ("host", "example.com:443"),
            ("origin", "https://example.com"),
        ]);
        assert!(p.check(&Method::DELETE, &default_port).is_ok());
    }

    #[test]
    fn client_ip_trusts_forwarded_only_when_told() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 10.0.0.9")]);
        let peer = Some(SocketAddr::from(([127, 0, 0, 1], 5000)));
        assert_eq!(client_ip(&h, peer, false), "127.0.0.1");
        assert_eq!(client_ip(&h, peer, true), "10.0.0.9");
        assert_eq!(client_ip(&HeaderMap::new(), None, true), "unknown");
    }
}
