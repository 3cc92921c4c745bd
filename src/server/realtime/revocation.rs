//! Streams end when their access ends, not only when they connect: a logout (or an account's
//! deletion) is broadcast to every open WebSocket and SSE stream of this process, which close
//! at once (WebSocket code 4401); and every stream re-checks its credentials periodically
//! (`YOUMEYOU_RT_REVALIDATE_SECS`, default 60 s) against the store, which catches what another
//! process (the admin command, another instance) revoked, a deleted run and an expired token.

use crate::server::auth::{authenticate, Authenticated, TokenKind, Viewer};
use crate::server::state::AppState;
use tokio::sync::broadcast;

/// What was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// A session (its `jti`): its own streams and those of build tokens it issued.
    Session(String),
    /// Every session and build token of an account.
    User(String),
}

/// Whose credentials hold a stream open.
#[derive(Debug, Clone)]
pub struct Holder {
    /// The token as presented (re-verified periodically).
    pub token: String,
    pub user_id: String,
    /// The session: its own `jti`, or for a build token the session that issued it.
    pub session: Option<String>,
    /// The run a build token watches.
    pub run: Option<String>,
    /// When the token expires (unix seconds).
    pub expires: i64,
}

impl Holder {
    pub fn new(auth: &Authenticated, token: &str) -> Self {
        let (session, run) = match (&auth.claims.typ, &auth.viewer) {
            (TokenKind::Session, _) => (Some(auth.claims.jti.clone()), None),
            (TokenKind::Build, Viewer::Build { run_id, .. }) => {
                (auth.claims.sid.clone(), Some(run_id.clone()))
            }
            (TokenKind::Build, _) => (auth.claims.sid.clone(), auth.claims.run.clone()),
        };
        Self {
            token: token.to_string(),
            user_id: auth.claims.sub.clone(),
            session,
            run,
            expires: auth.claims.exp,
        }
    }

    fn hit_by(&self, r: &Revoked) -> bool {
        match r {
            Revoked::Session(jti) => self.session.as_deref() == Some(jti.as_str()),
            Revoked::User(id) => *id == self.user_id,
        }
    }
}

/// The broadcast of revocations to this process's streams.
pub struct Revocations {
    tx: broadcast::Sender<Revoked>,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(1_024).0,
        }
    }
}

impl Revocations {
    /// Tells every open stream of this process; those it concerns close.
    pub fn revoke(&self, r: Revoked) {
        let _ = self.tx.send(r);
    }

    fn subscribe(&self) -> broadcast::Receiver<Revoked> {
        self.tx.subscribe()
    }
}

/// A run viewer (session or build token) and whose credentials hold its stream open.
pub struct Watching {
    pub viewer: Viewer,
    pub holder: Holder,
}

impl axum::extract::FromRequestParts<AppState> for Watching {
    type Rejection = crate::server::error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (auth, token) = crate::server::auth::run_viewer_credentials(parts, state).await?;
        Ok(Watching {
            holder: Holder::new(&auth, &token),
            viewer: auth.viewer,
        })
    }
}

/// Why a holder may no longer watch, or `None` while it may.
pub async fn recheck(state: &AppState, holder: &Holder) -> Option<String> {
    if let Err(e) = authenticate(state, &holder.token).await {
        return Some(e.to_string());
    }
    match state.store.user_by_id(&holder.user_id).await {
        Ok(Some(_)) => {}
        Ok(None) => return Some("this account no longer exists".into()),
        // A store hiccup is not a revocation: check again next time.
        Err(_) => return None,
    }
    if let Some(run) = &holder.run {
        if let Ok(None) = state.store.get_run(run).await {
            return Some("the run was deleted".into());
        }
    }
    None
}

/// Resolves, with the reason, when `holder`'s access ends: a revocation that concerns it, or
/// a periodic re-check that fails. Pending forever otherwise.
pub async fn ended(state: AppState, holder: Holder) -> String {
    let mut rx = state.realtime.revocations.subscribe();
    let every = state.realtime.config.revalidate_every;
    // The first check falls anywhere in [½, 1½) of the period, so streams opened together
    // (a reconnect storm) spread their store reads instead of checking in step.
    let first = every.mul_f64(rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..1.5));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(r) if holder.hit_by(&r) => return "signed out: sign in again to keep watching".into(),
                Ok(_) => {}
                // Missed some: find out from the store instead.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if let Some(why) = recheck(&state, &holder).await {
                        return why;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            },
            _ = tick.tick() => {
                if let Some(why) = recheck(&state, &holder).await {
                    return why;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_hits_the_session_its_build_tokens_and_the_account() {
        let h = Holder {
            token: "t".into(),
            user_id: "u1".into(),
            session: Some("s1".into()),
            run: Some("r".into()),
            expires: 0,
        };
        assert!(h.hit_by(&Revoked::Session("s1".into())));
        assert!(!h.hit_by(&Revoked::Session("s2".into())));
        assert!(h.hit_by(&Revoked::User("u1".into())));
        assert!(!h.hit_by(&Revoked::User("u2".into())));
    }
}
