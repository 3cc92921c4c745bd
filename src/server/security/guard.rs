//! The API guard: one middleware around every route of the route table. It looks up the
//! route's `Access`, authenticates the caller once (refusing with 401 what the route does not
//! accept), applies the caller's request-rate bucket (user and tier, or client IP when
//! anonymous) and reports it in `X-RateLimit-*`. Handlers still check ownership themselves.

use super::client_ip;
use crate::server::auth::{self, Authenticated, Viewer};
use crate::server::error::ApiError;
use crate::server::limits::{Decision, Rate};
use crate::server::routes::{Access, RouteSpec};
use crate::server::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// What the guard needs: the state and each route's access kind.
#[derive(Clone)]
pub struct Guard {
    state: AppState,
    access: Arc<HashMap<(Method, String), Access>>,
}

impl Guard {
    pub fn new(state: AppState, specs: &[RouteSpec]) -> Self {
        let access = specs
            .iter()
            .map(|s| ((s.method.clone(), s.path.to_string()), s.access))
            .collect();
        Self {
            state,
            access: Arc::new(access),
        }
    }
}

/// Writes the `X-RateLimit-*` headers of `decision`.
pub fn rate_headers(headers: &mut HeaderMap, decision: &Decision) {
    for (name, value) in [
        ("x-ratelimit-limit", u64::from(decision.limit)),
        ("x-ratelimit-remaining", u64::from(decision.remaining)),
        ("x-ratelimit-reset", decision.reset_secs()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
}

/// A 429 for a refused `decision`, with `Retry-After` and the rate headers.
pub fn refusal(decision: &Decision, message: String) -> Response {
    let mut response = ApiError::RateLimited {
        message,
        retry_after: decision.retry_after_secs(),
    }
    .into_response();
    rate_headers(response.headers_mut(), decision);
    response
}

pub async fn guard(State(guard): State<Guard>, mut req: Request, next: Next) -> Response {
    let method = match *req.method() {
        Method::HEAD => Method::GET,
        ref m => m.clone(),
    };
    let access = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| guard.access.get(&(method, p.as_str().to_string())))
        .copied();
    // Not in the table (e.g. a method the route lacks: axum answers 405) or an operations
    // endpoint: nothing to authenticate or meter.
    let access = match access {
        None | Some(Access::Ops) => return next.run(req).await,
        Some(a) => a,
    };
    let state = &guard.state;
    let mut token = auth::token_from_headers(req.headers());
    let mut from_url = false;
    if token.is_none() && matches!(access, Access::RunViewer | Access::InBand) {
        token = auth::query_token(req.uri().query());
        from_url = token.is_some();
    }
    let authenticated = match token {
        Some(t) => match if from_url {
            auth::authenticate_from_url(state, &t).await
        } else {
            auth::authenticate(state, &t).await
        } {
            Ok(a) => Some(a),
            // A stale cookie must not stop someone from signing in again.
            Err(e) if matches!(access, Access::User | Access::RunViewer) => {
                return e.into_response()
            }
            Err(_) => None,
        },
        None => None,
    };
    match (access, authenticated.as_ref().map(|a| &a.viewer)) {
        (Access::User, None) | (Access::RunViewer, None) => {
            return ApiError::Unauthorized("no session cookie or bearer token".into())
                .into_response()
        }
        (Access::User, Some(Viewer::Build { .. })) => {
            return ApiError::Unauthorized(
                "a build token is read-only and cannot be used here; use a session".into(),
            )
            .into_response()
        }
        _ => {}
    }

    // The bucket: the user (a build token spends its owner's), else the client IP.
    let limits = state.quotas.config();
    let (key, rate, who) = match authenticated.as_ref().map(|a| &a.viewer) {
        Some(Viewer::User { user_id })
        | Some(Viewer::Build {
            owner_id: user_id, ..
        }) => {
            let tier = match state.quotas.tier_of(user_id).await {
                Ok(Some(tier)) => tier,
                Ok(None) => {
                    return ApiError::Unauthorized("this account no longer exists".into())
                        .into_response()
                }
                Err(e) => return e.into_response(),
            };
            (
                format!("rpm:user:{user_id}"),
                limits.tier(tier).request_rate(),
                format!("the {tier} tier"),
            )
        }
        None => {
            let ip = client_ip(
                req.headers(),
                super::peer_addr(&req),
                state.config.security.trust_proxy,
            );
            (
                format!("rpm:ip:{ip}"),
                Rate::per_minute(limits.anonymous_rpm),
                "unauthenticated clients".to_string(),
            )
        }
    };
    let decision = state.quotas.check(&key, rate).await;
    if !decision.allowed {
        return refusal(
            &decision,
            format!(
                "Too many requests: {who} allows {} per minute. Wait {} s.",
                decision.limit,
                decision.retry_after_secs()
            ),
        );
    }
    if let Some(a) = authenticated {
        req.extensions_mut().insert::<Authenticated>(a);
    }
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    rate_headers(headers, &decision);
    // Per-user JSON must not be kept by shared caches.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
