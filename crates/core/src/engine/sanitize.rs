//! Makes user-controlled text (prompts, canvas labels and ids) safe to embed in generated
//! files: one-line comments that cannot close their comment, slugs for paths and identifiers,
//! and quoted strings. Generated code never executes user text; it may only quote it.

/// One line of prose for a comment in any language we generate (SQL, JS, YAML, nginx,
/// Markdown): no line breaks or control characters, no comment terminators (`*/`, `-->`),
/// no backticks, at most `max_chars` characters.
pub fn comment_text(text: &str, max_chars: usize) -> String {
    let mut cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for (bad, good) in [
        ("*/", "* /"),
        ("/*", "/ *"),
        ("-->", "- ->"),
        ("<!--", "< !--"),
    ] {
        cleaned = cleaned.replace(bad, good);
    }
    cleaned = cleaned.replace('`', "'");
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max_chars {
        collapsed
    } else {
        let cut: String = collapsed
            .chars()
            .take(max_chars.saturating_sub(1))
            .collect();
        format!("{}…", cut.trim_end())
    }
}

/// A lower-case `[a-z0-9-]` slug for file paths, node ids and container names. Never empty:
/// falls back to `fallback`.
pub fn slug(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(48).collect();
    let trimmed = trimmed.trim_end_matches('-').to_string();
    if trimmed.is_empty() {
        fallback.to_string()
    } else {
        trimmed
    }
}

/// A `snake_case` identifier (SQL names, YAML keys).
pub fn snake(text: &str, fallback: &str) -> String {
    slug(text, fallback).replace('-', "_")
}

/// A double-quoted string literal valid in JavaScript, JSON and YAML.
pub fn quoted(text: &str) -> String {
    serde_json::Value::String(comment_text(text, 200)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_text_cannot_break_out_of_a_comment() {
        let hostile = "nice */ DROP TABLE users; /* \n-- evil\r\n<!-- x --> `rm -rf`";
        let safe = comment_text(hostile, 200);
        assert!(!safe.contains("*/"), "{safe}");
        assert!(!safe.contains("/*"), "{safe}");
        assert!(!safe.contains('\n') && !safe.contains('\r'), "{safe}");
        assert!(!safe.contains("-->") && !safe.contains("<!--"), "{safe}");
        assert!(!safe.contains('`'), "{safe}");
    }

    #[test]
    fn comment_text_truncates_long_prompts() {
        let long = "word ".repeat(500);
        let safe = comment_text(&long, 80);
        assert!(safe.chars().count() <= 80);
        assert!(safe.ends_with('…'));
    }

    #[test]
    fn slug_keeps_only_safe_characters() {
        assert_eq!(slug("Auth Service", "x"), "auth-service");
        assert_eq!(slug("../../etc/passwd", "x"), "etc-passwd");
        assert_eq!(slug("  ", "component"), "component");
        assert_eq!(slug("E-Commerce Platform!", "x"), "e-commerce-platform");
        assert_eq!(snake("users-db", "x"), "users_db");
    }

    #[test]
    fn quoted_is_a_valid_json_string() {
        let q = quoted("say \"hi\"\nnow");
        let back: String = serde_json::from_str(&q).expect("valid JSON string");
        assert_eq!(back, "say \"hi\" now");
    }
}
