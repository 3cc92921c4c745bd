//! `ValidJson<T>`: the JSON body extractor every API handler should use instead of
//! `axum::Json`. It enforces the body size and nesting depth and answers malformed input with
//! the contract's error body (`invalid_json` with serde's line and column) instead of axum's
//! plain-text rejections.

use super::input::{MAX_BODY_BYTES, MAX_JSON_DEPTH};
use crate::server::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON body, checked for size, depth and shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidJson<T>(pub T);

pub fn too_large() -> ApiError {
    ApiError::TooLarge {
        code: "body_too_large",
        message: format!(
            "The request body is larger than {} KiB; send less.",
            MAX_BODY_BYTES / 1024
        ),
    }
}

/// Deepest nesting of objects/arrays in `bytes`, stopping once `limit` is passed. A byte scan:
/// cheaper than parsing, and it runs before serde so a hostile document never recurses.
pub fn json_depth_exceeds(bytes: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Parses a JSON body already in memory with the same checks and errors as the extractor.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "The request body is empty; send a JSON object.",
        ));
    }
    if json_depth_exceeds(bytes, MAX_JSON_DEPTH) {
        return Err(ApiError::bad_request(
            "json_too_deep",
            format!("The JSON nests deeper than {MAX_JSON_DEPTH} levels; flatten it."),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::Coded {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid_body",
                message: format!("The JSON does not have the expected fields: {e}."),
                retry_after: None,
            },
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "invalid_json",
                format!(
                    "The body is not valid JSON: {} at line {} column {}.",
                    strip_position(&e.to_string()),
                    e.line(),
                    e.column()
                ),
            ),
        }
    })
}

/// serde's message without its own " at line L column C" suffix (we add ours).
fn strip_position(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

fn is_json_content_type(value: &str) -> bool {
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

impl<T, S> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // A JSON API that accepted form or text bodies could be driven by a plain HTML form
        // from another site; only JSON (or no declared type, for simple clients) is read.
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ok = ct.to_str().is_ok_and(is_json_content_type);
            if !ok {
                return Err(ApiError::bad_request(
                    "unsupported_media_type",
                    "Send the body as JSON with Content-Type: application/json.",
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::bad_request(
                    "invalid_body",
                    "The request body could not be read; send it again.",
                )
            }
        })?;
        parse_json(&bytes).map(ValidJson)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
    }

    #[test]
    fn depth_counts_only_structure_outside_strings() {
        assert!(!json_depth_exceeds(br#"{"a":[1,{"b":"[[[[[["}]}"#, 3));
        assert!(json_depth_exceeds(br#"{"a":[1,{"b":[]}]}"#, 3));
        assert!(!json_depth_exceeds(br#"{"a":"\"[[[[\\"}"#, 1));
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(json_depth_exceeds(deep.as_bytes(), MAX_JSON_DEPTH));
        let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(!json_depth_exceeds(ok.as_bytes(), MAX_JSON_DEPTH));
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let err = parse_json::<Body>(b"{\n  \"name\": oops}").expect_err("malformed");
        assert_eq!(err.code(), "invalid_json");
        assert!(err.to_string().contains("line 2 column"), "{err}");
        assert_eq!(
            parse_json::<Body>(b"  ").expect_err("empty").code(),
            "invalid_json"
        );
        assert_eq!(
            parse_json::<Body>(b"{\"nom\":1}")
                .expect_err("shape")
                .code(),
            "invalid_body"
        );
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(
            parse_json::<Body>(deep.as_bytes())
                .expect_err("deep")
                .code(),
            "json_too_deep"
        );
        assert!(parse_json::<Body>(br#"{"name":"x"}"#).is_ok());
    }

    #[test]
    fn content_types() {
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(is_json_content_type("application/merge-patch+json"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type("application/x-www-form-urlencoded"));
    }
}
