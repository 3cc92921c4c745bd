//! The one place secrets are scrubbed from text that leaves the process: provider error
//! messages, stored task errors, run events and log lines. A [`Redactor`] holds every known
//! secret (the LLM API key, and whatever the application registers: JWT signing secrets...)
//! and replaces each occurrence with `***`.
//!
//! Scrubbing happens *before* any shortening ([`Redactor::redact_truncated`]): cutting first
//! could split a secret so that the exact match no longer finds it while its first
//! characters stay visible. As a second line of defence, a run of at least
//! [`MIN_FRAGMENT_CHARS`] characters that is a prefix or a suffix of a secret (what any cut
//! of a secret leaves behind) is masked too, wherever it appears.

use std::fmt;
use std::sync::RwLock;

/// What a secret (or a fragment of one) is replaced with.
pub const MASK: &str = "***";

/// The shortest prefix or suffix of a secret that is masked on its own. Shorter fragments
/// say almost nothing about the secret, and masking them would garble ordinary text.
pub const MIN_FRAGMENT_CHARS: usize = 6;

/// Values shorter than this are not registered: they cannot be secret, and masking, say,
/// `x` everywhere would make every message unreadable. Anything longer is scrubbed exactly.
pub const MIN_SECRET_CHARS: usize = 4;

/// Every known secret, scrubbed from any text on request. Cheap to share (`Arc<Redactor>`);
/// secrets may be registered at any time, e.g. once the JWT secret has been generated.
#[derive(Default)]
pub struct Redactor {
    /// Longest first, so a secret containing another is replaced whole.
    secrets: RwLock<Vec<String>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.len())
            .finish()
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// A redactor that knows `secrets` (see [`Redactor::register`]).
    pub fn with_secrets<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let redactor = Self::new();
        for secret in secrets {
            redactor.register(secret.as_ref());
        }
        redactor
    }

    /// Adds a secret, together with the forms it takes when escaped in JSON or by `{:?}` (they
    /// differ for secrets with quotes, backslashes or control characters). Surrounding
    /// whitespace is ignored. Returns whether the secret was new; values shorter than
    /// [`MIN_SECRET_CHARS`] are refused.
    pub fn register(&self, secret: &str) -> bool {
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_CHARS {
            return false;
        }
        let mut forms = vec![secret.to_owned()];
        if let Ok(json) = serde_json::to_string(secret) {
            forms.push(json[1..json.len() - 1].to_owned());
        }
        let debug = format!("{secret:?}");
        forms.push(debug[1..debug.len() - 1].to_owned());

        let mut secrets = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        let new = !secrets.iter().any(|s| s == secret);
        for form in forms {
            if !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        new
    }

    /// Adds a binary secret (a signing key): its text when it is UTF-8, and its hex encoding
    /// in both cases, the form in which it is stored and most likely printed.
    pub fn register_bytes(&self, secret: &[u8]) {
        if let Ok(text) = std::str::from_utf8(secret) {
            self.register(text);
        }
        let lower: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        self.register(&lower);
        self.register(&lower.to_ascii_uppercase());
    }

    /// How many secrets (counting their escaped forms) are known.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<String>> {
        // Registration only pushes and sorts; a poisoned lock still holds a usable list.
        self.secrets.read().unwrap_or_else(|p| p.into_inner())
    }

    /// `text` with every secret replaced by [`MASK`], and every run of at least
    /// [`MIN_FRAGMENT_CHARS`] characters that is a prefix or suffix of a secret masked too.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.read();
        if secrets.is_empty() {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        mask_fragments(&out, &secrets)
    }

    /// [`Redactor::redact`], then shortened to `max_chars` characters (marked with `…` when
    /// cut). Scrubbing comes first, so a secret straddling the cut is already gone; what the
    /// cut leaves is scrubbed again.
    pub fn redact_truncated(&self, text: &str, max_chars: usize) -> String {
        let clean = self.redact(text);
        match clean.char_indices().nth(max_chars) {
            Some((cut, _)) => format!("{}…", self.redact(&clean[..cut])),
            None => clean,
        }
    }
}

/// Masks every run of at least `MIN_FRAGMENT_CHARS` characters that is a prefix of a secret
/// (what a cut after its start leaves) or a suffix of one (a cut before its end).
fn mask_fragments(text: &str, secrets: &[String]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for secret in secrets {
        let Some(head) = nth_boundary(secret, MIN_FRAGMENT_CHARS) else {
            // Too short to have a fragment of that length other than itself.
            continue;
        };
        // Prefixes: each occurrence of the first characters, extended as far as it matches.
        for (at, _) in text.match_indices(&secret[..head]) {
            let len = common_prefix(&text.as_bytes()[at..], secret.as_bytes());
            let len = floor_boundary(secret, len);
            ranges.push((at, at + len));
        }
        // Suffixes: each occurrence of the last characters, extended backwards.
        let chars = secret.chars().count();
        let tail_start = nth_boundary(secret, chars - MIN_FRAGMENT_CHARS).unwrap_or(0);
        let tail = &secret[tail_start..];
        for (at, _) in text.match_indices(tail) {
            let end = at + tail.len();
            let len = common_suffix(&text.as_bytes()[..end], secret.as_bytes());
            let start = ceil_boundary(secret, secret.len() - len);
            ranges.push((end - (secret.len() - start), end));
        }
    }
    if ranges.is_empty() {
        return text.to_owned();
    }
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut open: Option<(usize, usize)> = None;
    for (start, end) in ranges {
        match open {
            Some((s, e)) if start <= e => open = Some((s, e.max(end))),
            _ => {
                if let Some((s, e)) = open {
                    out.push_str(&text[done..s]);
                    out.push_str(MASK);
                    done = e;
                }
                open = Some((start, end));
            }
        }
    }
    if let Some((s, e)) = open {
        out.push_str(&text[done..s]);
        out.push_str(MASK);
        done = e;
    }
    out.push_str(&text[done..]);
    out
}

/// The byte offset after the first `n` characters of `s`, if it has more than `n`.
fn nth_boundary(s: &str, n: usize) -> Option<usize> {
    s.char_indices().nth(n).map(|(i, _)| i)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The largest char boundary of `s` not after `i`.
fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `s` not before `i`.
fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";

    #[test]
    fn every_occurrence_is_scrubbed() {
        let r = Redactor::with_secrets([KEY]);
        let shown = r.redact(&format!("key {KEY} and again {KEY}."));
        assert_eq!(shown, "key *** and again ***.");
    }

    #[test]
    fn fragments_left_by_a_cut_are_masked() {
        let r = Redactor::with_secrets([KEY]);
        assert_eq!(
            r.redact(&format!("bad key {}…", &KEY[..15])),
            "bad key ***…"
        );
        assert_eq!(r.redact(&format!("…{} rest", &KEY[20..])), "…*** rest");
        // Five characters are not a fragment: they say nothing.
        assert_eq!(r.redact("sk-pr"), "sk-pr");
        // A fragment in the middle of other text is masked as well.
        assert_eq!(
            r.redact(&format!("a {}!", &KEY[..9])),
            "a ***!",
            "prefix followed by text"
        );
    }

    #[test]
    fn scrubbing_comes_before_the_cut() {
        let r = Redactor::with_secrets([KEY]);
        for cut in 0..60 {
            let text = format!("{}{KEY} tail", "x".repeat(cut));
            let shown = r.redact_truncated(&text, 40);
            assert!(!shown.contains(&KEY[..6]), "{cut}: {shown}");
            assert!(shown.chars().count() <= 41, "{cut}: {shown}");
        }
    }

    #[test]
    fn short_secrets_are_scrubbed_exactly_and_tiny_ones_refused() {
        let r = Redactor::new();
        assert!(r.register("abcdef7"));
        assert!(!r.register("abcdef7"), "already known");
        assert!(!r.register("xy"), "too short to be a secret");
        assert_eq!(r.redact("k=abcdef7 xy"), "k=*** xy");
        assert!(!r.register("   "));
    }

    #[test]
    fn escaped_forms_and_binary_secrets_are_known() {
        let r = Redactor::new();
        r.register(r#"pa"ss\word-123456"#);
        assert_eq!(r.redact(r#"{"v":"pa\"ss\\word-123456"}"#), r#"{"v":"***"}"#);
        r.register_bytes(&[0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04]);
        assert_eq!(r.redact("hex deadbeef01020304"), "hex ***");
        assert_eq!(r.redact("HEX DEADBEEF01020304"), "HEX ***");
        assert_eq!(
            format!("{r:?}"),
            format!("Redactor {{ secrets: {} }}", r.len())
        );
    }

    #[test]
    fn multibyte_secrets_and_text_stay_valid() {
        let secret = "clé-secrète-ünïcødé-42";
        let r = Redactor::with_secrets([secret]);
        let prefix: String = secret.chars().take(8).collect();
        assert_eq!(r.redact(&format!("é {prefix}…")), "é ***…");
        let suffix: String = secret.chars().skip(10).collect();
        assert_eq!(r.redact(&format!("…{suffix} ü")), "…*** ü");
        for cut in 0..40 {
            let text = format!("{}{secret}ü", "é".repeat(cut));
            let shown = r.redact_truncated(&text, 30);
            assert!(!shown.contains(&prefix[..7]), "{shown}");
        }
    }
}
