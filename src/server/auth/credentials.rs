//! What an acceptable email and password are. Emails are normalised (trimmed, lowercased) so
//! `Ann@Example.com` and `ann@example.com` are one account; only plain ASCII addresses are
//! accepted (internationalised domains in their `xn--` form).

use crate::server::error::ApiError;
use axum::http::StatusCode;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 256;
pub const MAX_EMAIL_BYTES: usize = 254;

fn invalid_email(why: &str) -> ApiError {
    ApiError::bad_request(
        "invalid_email",
        format!("The email address is not valid: {why}. Use the form name@example.com."),
    )
}

/// RFC 5322 `atext` (without quoting) plus dots between atoms.
fn local_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c)
}

/// Trims and lowercases `raw` and checks that it is a plausible address.
pub fn normalize_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_ascii_lowercase();
    if email.is_empty() {
        return Err(invalid_email("it is empty"));
    }
    if email.len() > MAX_EMAIL_BYTES {
        return Err(invalid_email("it is longer than 254 characters"));
    }
    if !email.is_ascii() {
        return Err(invalid_email(
            "only ASCII addresses are accepted (write an international domain as xn--…)",
        ));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(invalid_email("it has no @"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(invalid_email(
            "the part before @ must be 1 to 64 characters",
        ));
    }
    if !local.chars().all(local_char_ok)
        || local.starts_with('.')
        || local.ends_with('.')
        || local.contains("..")
    {
        return Err(invalid_email(
            "the part before @ has characters that are not allowed",
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(invalid_email("the domain after @ is not a valid host name"));
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid_email(
            "the domain must be a name, not an IP address",
        ));
    }
    Ok(email)
}

/// Length rules only: long passphrases beat composition rules (NIST SP 800-63B).
pub fn check_password(password: &str) -> Result<(), ApiError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ApiError::Coded {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "password_too_short",
            message: format!(
                "The password has {chars} characters; use at least {MIN_PASSWORD_CHARS}."
            ),
            retry_after: None,
        });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ApiError::Coded {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "password_too_long",
            message: format!(
                "The password has {chars} characters; use at most {MAX_PASSWORD_CHARS}."
            ),
            retry_after: None,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").ok().as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(
            normalize_email("o'neil+x@mail.example.org").ok().as_deref(),
            Some("o'neil+x@mail.example.org")
        );
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@-b.com",
            "a b@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@exa_mple.com",
            "a@1.2.3.4",
            "ä@example.com",
            "'; DROP TABLE users; --@example.com",
        ] {
            let err = normalize_email(bad).expect_err(bad);
            assert_eq!(err.code(), "invalid_email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(normalize_email(&long).is_err());
    }

    #[test]
    fn passwords_need_8_to_256_characters() {
        assert_eq!(
            check_password("short").map_err(|e| e.code()),
            Err("password_too_short")
        );
        assert!(check_password("eight ch").is_ok());
        assert!(
            check_password(&"é".repeat(256)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            check_password(&"x".repeat(257)).map_err(|e| e.code()),
            Err("password_too_long")
        );
    }
}
