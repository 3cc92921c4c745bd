//! JSON Web Tokens: user sessions and run-scoped, read-only build tokens. HS256 only (so
//! `alg: none` and algorithm confusion are refused by construction); every token names its key
//! (`kid`), so a rotated secret keeps verifying old tokens until they expire.

use crate::server::secrets::Secret;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Session lifetime.
pub const SESSION_TTL_SECS: i64 = 7 * 24 * 3600;
/// Build-token lifetime: long enough to watch a long run, short enough to be harmless if leaked.
pub const BUILD_TTL_SECS: i64 = 6 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Session,
    Build,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user: the session's owner, or the owner of the build token's run.
    pub sub: String,
    pub typ: TokenKind,
    /// The run a build token may watch; `None` for sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The user's tier at issue time (sessions only; informative, the store is authoritative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Build tokens: the session that issued it; signing that session out revokes the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired; sign in again")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token was signed with a key this server does not know")]
    UnknownKey,
}

struct Key {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Key {
    fn new(secret: &Secret) -> Self {
        // The key id is a digest of the secret: stable across restarts, reveals nothing usable.
        let digest = Sha256::digest(secret.expose());
        let kid = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Self {
            kid,
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
        }
    }
}

/// The signing key plus older keys that still verify (rotation).
pub struct KeyRing {
    current: Key,
    previous: Vec<Key>,
}

impl KeyRing {
    pub fn new(current: &Secret, previous: &[Secret]) -> Self {
        Self {
            current: Key::new(current),
            previous: previous.iter().map(Key::new).collect(),
        }
    }

    pub fn issue(&self, claims: &Claims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.kid.clone());
        encode(&header, claims, &self.current.encoding).map_err(|_| TokenError::Invalid)
    }

    /// Verifies signature, algorithm, expiry and kind.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::HS256 {
            return Err(TokenError::Invalid);
        }
        let key = match header.kid.as_deref() {
            Some(kid) if kid == self.current.kid => &self.current,
            Some(kid) => self
                .previous
                .iter()
                .find(|k| k.kid == kid)
                .ok_or(TokenError::UnknownKey)?,
            None => return Err(TokenError::UnknownKey),
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data =
            decode::<Claims>(token, &key.decoding, &validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        if data.claims.typ != kind {
            return Err(TokenError::Invalid);
        }
        if kind == TokenKind::Build && data.claims.run.is_none() {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

/// Claims for a session of `user_id`, valid from `now` (unix seconds).
pub fn session_claims(user_id: &str, tier: &str, now: i64, jti: String) -> Claims {
    Claims {
        sub: user_id.to_string(),
        typ: TokenKind::Session,
        run: None,
        tier: Some(tier.to_string()),
        iat: now,
        exp: now + SESSION_TTL_SECS,
        jti,
        sid: None,
    }
}

/// Claims for a read-only token that may watch `run_id` (owned by `owner_id`), issued by the
/// session `sid` (signing it out revokes the token).
pub fn build_claims(
    owner_id: &str,
    run_id: &str,
    now: i64,
    jti: String,
    sid: Option<&str>,
) -> Claims {
    Claims {
        sub: owner_id.to_string(),
        typ: TokenKind::Build,
        run: Some(run_id.to_string()),
        tier: None,
        iat: now,
        exp: now + BUILD_TTL_SECS,
        jti,
        sid: sid.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        KeyRing::new(&Secret::new(vec![7u8; 64]), &[])
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_session_round_trips() {
        let ring = ring();
        let token = ring
            .issue(&session_claims("u1", "free", now(), "j".into()))
            .expect("issue");
        let claims = ring.verify(&token, TokenKind::Session).expect("verify");
        assert_eq!(claims.sub, "u1");
        assert_eq!(
            ring.verify(&token, TokenKind::Build),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn expired_forged_and_unsigned_tokens_are_refused() {
        let ring = ring();
        let old = ring
            .issue(&session_claims(
                "u1",
                "free",
                now() - SESSION_TTL_SECS - 60,
                "j".into(),
            ))
            .expect("issue");
        assert_eq!(
            ring.verify(&old, TokenKind::Session),
            Err(TokenError::Expired)
        );

        let other = KeyRing::new(&Secret::new(vec![9u8; 64]), &[]);
        let forged = other
            .issue(&session_claims("u1", "free", now(), "j".into()))
            .expect("issue");
        assert!(ring.verify(&forged, TokenKind::Session).is_err());

        // alg: none with the right kid and claims.
        let good = ring
            .issue(&session_claims("u1", "free", now(), "j".into()))
            .expect("issue");
        let mut parts = good.split('.');
        let _ = parts.next();
        let payload = parts.next().unwrap_or_default();
        use base64_like::encode_json;
        let header = encode_json(&format!(
            r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#,
            ring.current.kid
        ));
        let unsigned = format!("{header}.{payload}.");
        assert!(ring.verify(&unsigned, TokenKind::Session).is_err());
    }

    #[test]
    fn rotated_keys_still_verify_until_expiry() {
        let old_secret = Secret::new(vec![1u8; 64]);
        let before = KeyRing::new(&old_secret, &[]);
        let token = before
            .issue(&session_claims("u1", "free", now(), "j".into()))
            .expect("issue");
        let after = KeyRing::new(&Secret::new(vec![2u8; 64]), &[old_secret]);
        assert!(after.verify(&token, TokenKind::Session).is_ok());
        let dropped = KeyRing::new(&Secret::new(vec![2u8; 64]), &[]);
        assert_eq!(
            dropped.verify(&token, TokenKind::Session),
            Err(TokenError::UnknownKey)
        );
    }

    /// Minimal URL-safe base64 for building a hostile header in the test.
    mod base64_like {
        pub fn encode_json(text: &str) -> String {
            const ALPHABET: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let bytes = text.as_bytes();
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
