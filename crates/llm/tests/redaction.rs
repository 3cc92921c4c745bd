//! Issue 21 item 6: no part of a secret survives in a provider error, wherever the message is
//! cut. Properties over random keys, random surrounding text and every cut position, through
//! the `Redactor` and through `error::from_status` on HTTP error bodies (JSON and plain text).
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use proptest::prelude::*;
use youmeyou_llm::error::from_status;
use youmeyou_llm::Redactor;

/// The provider message limit of `error.rs`.
const MAX_MESSAGE_CHARS: usize = 500;

/// Keys as providers issue them: base64 / alphanumerics plus `-` and `_`.
fn key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+/=_-]{20,80}"
}

/// Any printable text, some non-ASCII, the ellipsis and newlines included.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[ -~éü…\n]{{0,{max}}}")).unwrap()
}

/// Every window of `n` characters of `s`.
fn windows(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.windows(n).map(|w| w.iter().collect()).collect()
}

/// The first window of six characters of `key` found in `shown`, if any.
fn leak(shown: &str, key: &str) -> Option<String> {
    windows(key, 6)
        .into_iter()
        .find(|w| shown.contains(w.as_str()))
}

/// Whether the surrounding text already holds part of the key by chance (then a "leak"
/// would prove nothing; the generator makes this vanishingly rare).
fn collides(key: &str, parts: &[&str]) -> bool {
    parts.iter().any(|p| leak(p, key).is_some())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Wherever the cut falls relative to the key (every position from before it starts to
    /// after it ends), nothing of the key is left.
    #[test]
    fn no_part_of_the_key_survives_any_cut(
        key in key(),
        before in text(300),
        after in text(300),
    ) {
        prop_assume!(!collides(&key, &[&before, &after]));
        let redactor = Redactor::with_secrets([&key]);
        let full = format!("{before}{key}{after}");
        let start = before.chars().count();
        let end = start + key.chars().count();
        for max in start.saturating_sub(2)..=end + 2 {
            let shown = redactor.redact_truncated(&full, max);
            prop_assert!(leak(&shown, &key).is_none(), "cut at {max}: {shown:?}");
            prop_assert!(shown.chars().count() <= max.max(start) + 4);
        }
        // And a random cut anywhere in the text.
        let shown = redactor.redact(&full);
        prop_assert!(leak(&shown, &key).is_none(), "{shown:?}");
    }

    /// A prefix or suffix of the key (what a cut elsewhere leaves) is masked on its own.
    #[test]
    fn fragments_of_the_key_are_masked(
        key in key(),
        before in text(100),
        after in text(100),
        len in 6usize..20,
    ) {
        prop_assume!(!collides(&key, &[&before, &after]));
        let redactor = Redactor::with_secrets([&key]);
        let head = &key[..len];
        let tail = &key[key.len() - len..];
        for fragment in [head, tail] {
            let shown = redactor.redact(&format!("{before}{fragment}{after}"));
            prop_assert!(!shown.contains(fragment), "{fragment}: {shown:?}");
            prop_assert!(shown.contains("***"));
        }
    }

    /// Through the function that turns an HTTP error body into an `LlmError`, with the key in
    /// the JSON `error.message` or in a plain-text body, straddling the 500-character cut.
    #[test]
    fn error_bodies_never_show_the_key(
        key in key(),
        filler in text(40).prop_map(|t| t.repeat(20)),
        after in text(200),
        into_key in 0usize..=80,
        status in prop::sample::select(vec![400u16, 401, 403, 404, 429, 500, 503]),
    ) {
        let filler: String = format!("{filler}{}", ".".repeat(MAX_MESSAGE_CHARS))
            .chars()
            .take(MAX_MESSAGE_CHARS - into_key.min(key.len()))
            .collect();
        prop_assume!(!collides(&key, &[&filler, &after]));
        let message = format!("{filler}{key}{after}");
        let redactor = Redactor::with_secrets([&key]);
        let json = serde_json::json!({"error": {"message": message, "type": "invalid_request_error"}});
        for body in [json.to_string(), message.clone()] {
            let err = from_status(status, &body, None, "m", &redactor, SystemTime::now());
            let shown = format!("{err} {err:?}");
            prop_assert!(leak(&shown, &key).is_none(), "{shown}");
        }
    }
}

/// The exact case of the report: the first 15 characters of the key before the cut.
#[test]
fn the_reported_case_shows_no_prefix() {
    let key = "sk-proj-q1W2e3R4t5Y6u7I8o9P0aSdFgHjKl";
    let message = format!("{}{key}", "y".repeat(MAX_MESSAGE_CHARS - 15));
    let body = serde_json::json!({"error": {"message": message}}).to_string();
    let err = from_status(
        401,
        &body,
        None,
        "m",
        &Redactor::with_secrets([key]),
        SystemTime::now(),
    );
    let shown = err.to_string();
    assert!(!shown.contains(&key[..6]), "{shown}");
    assert!(shown.ends_with("***"), "{shown}");
}
