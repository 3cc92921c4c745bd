//! Session cookies: `ymy_session=<jwt>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<ttl>` plus
//! `Secure` over HTTPS. HttpOnly keeps the token away from scripts; SameSite=Lax keeps it off
//! cross-site subresource and POST requests (the Origin check in `security` covers the rest).

use super::tokens::SESSION_TTL_SECS;
use super::SESSION_COOKIE;
use crate::server::security::config::CookieSecure;
use axum::http::{header, HeaderMap, HeaderValue};

/// Whether the request reached us over HTTPS: a TLS-terminating proxy says so in
/// `X-Forwarded-Proto` (trusting it can only make the cookie stricter).
pub fn came_over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
        || headers
            .get("forwarded")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"))
}

fn secure(mode: CookieSecure, headers: &HeaderMap) -> bool {
    match mode {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => came_over_https(headers),
    }
}

fn cookie(value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let mut text =
        format!("{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}");
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).ok()
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(token: &str, mode: CookieSecure, request: &HeaderMap) -> Option<HeaderValue> {
    cookie(token, SESSION_TTL_SECS, secure(mode, request))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(mode: CookieSecure, request: &HeaderMap) -> Option<HeaderValue> {
    cookie("", 0, secure(mode, request))
}

/// Appends `value` as a `Set-Cookie` header.
pub fn append(headers: &mut HeaderMap, value: Option<HeaderValue>) {
    if let Some(v) = value {
        headers.append(header::SET_COOKIE, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_http_only_lax_and_secure_behind_https() {
        let mut plain = HeaderMap::new();
        let c = set_cookie("abc", CookieSecure::Auto, &plain).expect("cookie");
        let c = c.to_str().expect("ascii");
        assert!(c.starts_with("ymy_session=abc;"), "{c}");
        for part in [
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            &format!("Max-Age={SESSION_TTL_SECS}"),
        ] {
            assert!(c.contains(part), "{c} lacks {part}");
        }
        assert!(!c.contains("Secure"), "{c}");
        plain.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let c = set_cookie("abc", CookieSecure::Auto, &plain).expect("cookie");
        assert!(c.to_str().expect("ascii").ends_with("; Secure"));
        let cleared = clear_cookie(CookieSecure::Always, &HeaderMap::new()).expect("cookie");
        let cleared = cleared.to_str().expect("ascii");
        assert!(
            cleared.starts_with("ymy_session=;") && cleared.contains("Max-Age=0"),
            "{cleared}"
        );
    }
}
