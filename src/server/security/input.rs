//! Input limits (one table in docs/LIMITS.md) and the validators that enforce them. Every
//! violation is a 4xx with a stable code, raised before anything is written.

use crate::server::error::ApiError;
use axum::http::StatusCode;

/// Largest request body (a global `DefaultBodyLimit`); 413 `body_too_large`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Deepest JSON nesting accepted; 400 `json_too_deep`.
pub const MAX_JSON_DEPTH: usize = 32;
/// Longest run/modification prompt, in characters.
pub const MAX_PROMPT_CHARS: usize = 4000;
/// Largest WebSocket message a client may send (enforced by the realtime transport).
pub const MAX_WS_MESSAGE_BYTES: usize = 64 * 1024;
/// Project names: 1 to 100 characters after trimming.
pub const MAX_PROJECT_NAME_CHARS: usize = 100;
/// Longest path of a generated file.
pub const MAX_FILE_PATH_CHARS: usize = 512;

fn rule(code: &'static str, message: String) -> ApiError {
    ApiError::Coded {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code,
        message,
        retry_after: None,
    }
}

/// Trims a project name and checks it: 1..=100 characters, no control characters.
pub fn project_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(rule(
            "invalid_project_name",
            "The project name is empty; give it a name.".into(),
        ));
    }
    if chars > MAX_PROJECT_NAME_CHARS {
        return Err(rule(
            "invalid_project_name",
            format!(
                "The project name has {chars} characters; use at most {MAX_PROJECT_NAME_CHARS}."
            ),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(rule(
            "invalid_project_name",
            "The project name contains control characters (line breaks, tabs…); remove them."
                .into(),
        ));
    }
    Ok(name.to_string())
}

/// Trims a prompt and checks it: not empty, at most 4000 characters, no control characters
/// other than line breaks and tabs.
pub fn prompt(raw: &str) -> Result<String, ApiError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(rule(
            "invalid_prompt",
            "The prompt is empty: describe what to build or change.".into(),
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_PROMPT_CHARS {
        return Err(rule(
            "prompt_too_long",
            format!("The prompt has {chars} characters; use at most {MAX_PROMPT_CHARS}."),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(rule(
            "invalid_prompt",
            "The prompt contains control characters; remove them.".into(),
        ));
    }
    Ok(text.to_string())
}

/// Checks a generated-file path from a URL: relative, `/`-separated, no `.`/`..` segments,
/// no backslashes, drive letters or control characters. Returns it unchanged.
pub fn file_path(raw: &str) -> Result<&str, ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(
            "invalid_path",
            format!("The file path is not allowed: {why}. Use a path from the run's file list."),
        )
    };
    if raw.is_empty() {
        return Err(bad("it is empty"));
    }
    if raw.chars().count() > MAX_FILE_PATH_CHARS {
        return Err(bad("it is too long"));
    }
    if raw.starts_with('/') || raw.contains('\\') {
        return Err(bad("it must be relative and use /"));
    }
    if raw.chars().any(char::is_control) {
        return Err(bad("it contains control characters"));
    }
    let first = raw.split('/').next().unwrap_or_default();
    if first.len() >= 2 && first.as_bytes()[1] == b':' {
        return Err(bad("it must not name a drive"));
    }
    if raw
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(bad("it must not contain empty, . or .. segments"));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_are_trimmed_and_bounded() {
        assert_eq!(project_name("  Shop  ").ok().as_deref(), Some("Shop"));
        assert_eq!(
            project_name("'; DROP TABLE users; --").ok().as_deref(),
            Some("'; DROP TABLE users; --")
        );
        assert!(project_name(&"é".repeat(100)).is_ok());
        for bad in ["", "   ", "a\nb", "tab\there", "\u{7}bell"] {
            assert_eq!(
                project_name(bad).map_err(|e| e.code()),
                Err("invalid_project_name"),
                "{bad:?}"
            );
        }
        assert!(project_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn prompts_are_bounded() {
        assert!(prompt("build a shop\nwith carts").is_ok());
        assert_eq!(prompt(" ").map_err(|e| e.code()), Err("invalid_prompt"));
        assert_eq!(
            prompt(&"x".repeat(MAX_PROMPT_CHARS + 1)).map_err(|e| e.code()),
            Err("prompt_too_long")
        );
        assert!(prompt(&"x".repeat(MAX_PROMPT_CHARS)).is_ok());
        assert_eq!(
            prompt("a\u{0}b").map_err(|e| e.code()),
            Err("invalid_prompt")
        );
    }

    #[test]
    fn file_paths_cannot_escape() {
        assert_eq!(file_path("src/main.rs").ok(), Some("src/main.rs"));
        assert!(file_path("migrations/0001 init.sql").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../secret",
            "a/../../b",
            "a//b",
            "./a",
            "a\\b",
            "C:/x",
            "a\0b",
            "a/.",
            "a/..",
        ] {
            assert_eq!(
                file_path(bad).map_err(|e| e.code()),
                Err("invalid_path"),
                "{bad:?}"
            );
        }
    }
}
