//! Who is asking: the session (cookie or bearer JWT) of a user, or a run-scoped read-only build
//! token. Extractors turn a request into a `CurrentUser` (sessions only) or a `Viewer` (either),
//! so every handler states what it accepts in its signature.

pub mod credentials;
pub mod passwords;
pub mod session;
pub mod tokens;

use crate::server::{error::ApiError, state::AppState};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap};
pub use tokens::TokenKind;
use tokens::{Claims, KeyRing, TokenError};

/// Name of the HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "ymy_session";

/// Anyone allowed to read something: a signed-in user, or a build token for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    User { user_id: String },
    Build { owner_id: String, run_id: String },
}

impl Viewer {
    /// Whether this viewer may watch/read the run `run_id` owned by `owner_id`.
    pub fn can_read_run(&self, owner_id: &str, run_id: &str) -> bool {
        match self {
            Viewer::User { user_id } => user_id == owner_id,
            Viewer::Build {
                owner_id: o,
                run_id: r,
            } => o == owner_id && r == run_id,
        }
    }

    /// The signed-in user, if this is a session (build tokens can never change anything).
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Viewer::User { user_id } => Some(user_id),
            Viewer::Build { .. } => None,
        }
    }
}

fn token_error(e: TokenError) -> ApiError {
    ApiError::Unauthorized(e.to_string())
}

/// The bearer token of `Authorization`, else the session cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") {
            return Some(value[7..].trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE && !value.is_empty()).then(|| value.to_string())
        })
}

/// Session or build token → viewer.
pub fn viewer_from_token(keys: &KeyRing, token: &str) -> Result<Viewer, ApiError> {
    verify_any(keys, token).map(|claims| viewer_of(&claims))
}

/// Verifies a session or a build token (signature, algorithm, expiry, kind).
pub fn verify_any(keys: &KeyRing, token: &str) -> Result<Claims, ApiError> {
    match keys.verify(token, TokenKind::Session) {
        Ok(claims) => Ok(claims),
        Err(TokenError::Invalid) => keys.verify(token, TokenKind::Build).map_err(token_error),
        Err(e) => Err(token_error(e)),
    }
}

fn viewer_of(claims: &Claims) -> Viewer {
    match claims.typ {
        TokenKind::Session => Viewer::User {
            user_id: claims.sub.clone(),
        },
        TokenKind::Build => Viewer::Build {
            owner_id: claims.sub.clone(),
            run_id: claims.run.clone().unwrap_or_default(),
        },
    }
}

/// Who the request's token says the caller is, established once per request by the API guard
/// (`security::guard`) and reused by the extractors below. Only the server inserts it.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub viewer: Viewer,
    pub claims: Claims,
}

/// Verifies `token` and, for a session, that no logout revoked it.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Authenticated, ApiError> {
    let claims = verify_any(&state.keys, token)?;
    not_revoked(state, claims).await
}

/// A token from the URL (`?token=`): only a build token is accepted there. A 7-day session in
/// a URL ends up in histories, proxies and logs; it belongs in a header or the cookie.
pub async fn authenticate_from_url(
    state: &AppState,
    token: &str,
) -> Result<Authenticated, ApiError> {
    let claims = state
        .keys
        .verify(token, TokenKind::Build)
        .map_err(|e| match e {
            TokenError::Invalid if verify_any(&state.keys, token).is_ok() => ApiError::Unauthorized(
                "a session token is not accepted in the URL; send it as Authorization: Bearer (or use the run's build token)".into(),
            ),
            e => token_error(e),
        })?;
    not_revoked(state, claims).await
}

/// The verified claims, unless a logout revoked the session (or the session that issued a
/// build token).
async fn not_revoked(state: &AppState, claims: Claims) -> Result<Authenticated, ApiError> {
    if claims.typ == TokenKind::Session && state.store.is_session_revoked(&claims.jti).await? {
        return Err(ApiError::Unauthorized(
            "this session was signed out; sign in again".into(),
        ));
    }
    if let (TokenKind::Build, Some(sid)) = (claims.typ, &claims.sid) {
        if state.store.is_session_revoked(sid).await? {
            return Err(ApiError::Unauthorized(
                "the session that issued this build token was signed out; sign in again".into(),
            ));
        }
    }
    Ok(Authenticated {
        viewer: viewer_of(&claims),
        claims,
    })
}

/// The guard's verdict if it ran, else a fresh verification of `token`.
async fn authenticated(
    parts: &Parts,
    state: &AppState,
    token: Option<String>,
    missing: &str,
) -> Result<Authenticated, ApiError> {
    if let Some(done) = parts.extensions.get::<Authenticated>() {
        return Ok(done.clone());
    }
    let token = token.ok_or_else(|| ApiError::Unauthorized(missing.into()))?;
    authenticate(state, &token).await
}

/// A signed-in user (session cookie or bearer session token). Build tokens are refused.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: String,
    /// The session's `jti` (build tokens it issues are revoked with it).
    pub session: String,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from_headers(&parts.headers);
        let auth = authenticated(parts, state, token, "no session cookie or bearer token").await?;
        match auth.viewer {
            Viewer::User { user_id } => Ok(CurrentUser {
                id: user_id,
                session: auth.claims.jti,
            }),
            Viewer::Build { .. } => Err(ApiError::Unauthorized(
                "a build token is read-only and cannot be used here; use a session".into(),
            )),
        }
    }
}

/// A session or a build token, from the headers or (for EventSource, which cannot set headers)
/// the `token` query parameter.
pub struct RunViewer(pub Viewer);

impl FromRequestParts<AppState> for RunViewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (auth, _) = run_viewer_credentials(parts, state).await?;
        Ok(RunViewer(auth.viewer))
    }
}

/// A run viewer's verified credentials and the token they came from (header, cookie or the
/// `token` query parameter): streams keep the token to re-check it while they are open.
pub async fn run_viewer_credentials(
    parts: &Parts,
    state: &AppState,
) -> Result<(Authenticated, String), ApiError> {
    if let Some(token) = token_from_headers(&parts.headers) {
        let auth = authenticated(parts, state, Some(token.clone()), "").await?;
        return Ok((auth, token));
    }
    let token = query_token(parts.uri.query())
        .ok_or_else(|| ApiError::Unauthorized("no session, bearer or build token".into()))?;
    let auth = match parts.extensions.get::<Authenticated>() {
        Some(done) => done.clone(),
        None => authenticate_from_url(state, &token).await?,
    };
    Ok((auth, token))
}

/// The `token` query parameter (EventSource cannot send headers).
pub fn query_token(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == "token" && !v.is_empty()).then(|| v.to_string())
    })
}
