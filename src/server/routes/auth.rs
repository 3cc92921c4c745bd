//! Accounts: register, login (JWT + HttpOnly cookie), logout (revokes the session), me.
//! Logins are throttled per account and per client IP before any password is checked.

use super::{Access, RouteTable};
use crate::server::auth::credentials::{check_password, normalize_email};
use crate::server::auth::tokens::{session_claims, TokenKind};
use crate::server::auth::{self, session, CurrentUser};
use crate::server::error::ApiError;
use crate::server::limits::{Rate, Tier};
use crate::server::security::guard::refusal;
use crate::server::security::{ClientIp, ValidJson};
use crate::server::state::AppState;
use crate::server::store::users::UserRecord;
use crate::server::store::StoreError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub fn routes() -> RouteTable {
    RouteTable::new()
        .post("/api/auth/register", Access::Public, register)
        .post("/api/auth/login", Access::Public, login)
        .post("/api/auth/logout", Access::Public, logout)
        .get("/api/me", Access::User, me)
}

/// The public view of an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub tier: Tier,
    pub created_at: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            tier: u.tier,
            created_at: u.created_at.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<Credentials>,
) -> Result<Response, ApiError> {
    let limits = state.quotas.config();
    let decision = state
        .quotas
        .check(
            &format!("register:ip:{ip}"),
            Rate::per_hour(limits.register_per_ip_per_hour),
        )
        .await;
    if !decision.allowed {
        return Ok(refusal(
            &decision,
            format!(
                "Too many accounts created from your address; try again in {} s.",
                decision.retry_after_secs()
            ),
        ));
    }
    let email = normalize_email(&body.email)?;
    check_password(&body.password)?;
    let password_hash = state.passwords.hash(body.password).await?;
    let user = UserRecord {
        id: uuid::Uuid::new_v4().to_string(),
        email,
        password_hash,
        tier: Tier::Free,
        created_at: now_iso(),
    };
    match state.store.create_user(&user).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict {
                code: "email_taken",
                message: "An account with that email already exists; sign in instead.".into(),
            })
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(user_id = %user.id, "account registered");
    Ok((
        StatusCode::CREATED,
        Json(json!({"user": UserView::from(&user)})),
    )
        .into_response())
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ValidJson(body): ValidJson<Credentials>,
) -> Result<Response, ApiError> {
    let limits = state.quotas.config();
    // Per IP first: a refused address does not spend the targeted account's attempts.
    let by_ip = state
        .quotas
        .check(
            &format!("login:ip:{ip}"),
            Rate::per_minute(limits.login_per_ip_per_min),
        )
        .await;
    if !by_ip.allowed {
        return Ok(refusal(
            &by_ip,
            format!(
                "Too many sign-in attempts from your address; wait {} s.",
                by_ip.retry_after_secs()
            ),
        ));
    }
    // Unknown or malformed emails are throttled and answered like wrong passwords, so the
    // answer and its timing do not reveal which accounts exist.
    let email =
        normalize_email(&body.email).unwrap_or_else(|_| body.email.trim().to_ascii_lowercase());
    let by_account = state
        .quotas
        .check(
            &format!("login:account:{email}"),
            Rate::per_minute(limits.login_per_account_per_min),
        )
        .await;
    if !by_account.allowed {
        return Ok(refusal(
            &by_account,
            format!(
                "Too many sign-in attempts for this account; wait {} s.",
                by_account.retry_after_secs()
            ),
        ));
    }
    let user = state.store.user_by_email(&email).await?;
    let ok = state
        .passwords
        .verify(
            body.password,
            user.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            return Err(ApiError::Coded {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_credentials",
                message: "The email or password is wrong.".into(),
                retry_after: None,
            })
        }
    };
    let now = chrono::Utc::now().timestamp();
    let claims = session_claims(
        &user.id,
        user.tier.as_str(),
        now,
        uuid::Uuid::new_v4().to_string(),
    );
    let token = state
        .keys
        .issue(&claims)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot sign a session: {e}")))?;
    let mut response = Json(json!({"token": token, "user": UserView::from(&user)})).into_response();
    session::append(
        response.headers_mut(),
        session::set_cookie(&token, state.config.security.cookie_secure, &headers),
    );
    tracing::info!(user_id = %user.id, "signed in");
    Ok(response)
}

/// Revokes the presented session (cookie or bearer) and clears the cookie. Always 204:
/// signing out twice, or without a session, is not an error.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = auth::token_from_headers(&headers) {
        if let Ok(claims) = state.keys.verify(&token, TokenKind::Session) {
            state.store.revoke_session(&claims.jti, claims.exp).await?;
            // Streams already open (and those of build tokens it issued) close now.
            state.realtime.revocations.revoke(
                crate::server::realtime::revocation::Revoked::Session(claims.jti.clone()),
            );
            tracing::info!(user_id = %claims.sub, "signed out");
        }
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    session::append(
        response.headers_mut(),
        session::clear_cookie(state.config.security.cookie_secure, &headers),
    );
    Ok(response)
}

async fn me(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let record = state
        .store
        .user_by_id(&user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("this account no longer exists".into()))?;
    let limits = state.quotas.tier_limits(record.tier);
    Ok(Json(json!({
        "user": UserView::from(&record),
        "limits": {
            "runsPerDay": limits.runs_per_day,
            "requestsPerMinute": limits.requests_per_minute,
            "concurrentRuns": limits.concurrent_runs,
            "maxPlanTasks": limits.max_plan_tasks,
            "budgetUsd": limits.budget_usd,
            "maxProjects": limits.max_projects,
        }
    })))
}
