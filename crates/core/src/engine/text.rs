//! Word-level text handling for the rule engine: tokenising prompts (keeping byte offsets so
//! quotes can be cut from the original), normalising words (case, plurals, British spellings)
//! and finding catalogue phrases greedily. Knows no catalogue data itself.

use std::collections::BTreeMap;

/// One word, number or significant symbol (`%`, `/`) of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Lower-case text as written; numbers without thousands separators ("5000").
    pub lower: String,
    /// Normalised form used for matching: singular, canonical spelling, typo-corrected
    /// by [`crate::engine::mentions::tokens`].
    pub norm: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn is_number(&self) -> bool {
        self.lower
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    }

    pub fn number(&self) -> Option<f64> {
        if self.is_number() {
            self.lower.parse().ok()
        } else {
            None
        }
    }

    pub fn is_word(&self) -> bool {
        self.lower.chars().all(char::is_alphabetic)
    }
}

/// Splits `text` into words, numbers, `%` and `/`. Letter/digit boundaries split too
/// ("5000rps" → "5000", "rps"), so glued units are found. "5,000" and "1.5" stay one number.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |j: usize| chars.get(j).map_or(text.len(), |(b, _)| *b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_alphabetic() {
            let mut j = i;
            while j < chars.len() && chars[j].1.is_alphabetic() {
                j += 1;
            }
            let lower = text[start..end_of(j)].to_lowercase();
            out.push(Token {
                norm: normalise_word(&lower),
                lower,
                start,
                end: end_of(j),
            });
            i = j;
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < chars.len() {
                let ch = chars[j].1;
                let decimal_point =
                    ch == '.' && digit_at(&chars, j + 1) && digit_at(&chars, j.wrapping_sub(1));
                let thousands = ch == ',' && thousands_group_at(&chars, j + 1);
                if ch.is_ascii_digit() || decimal_point || thousands {
                    j += 1;
                } else {
                    break;
                }
            }
            let lower: String = text[start..end_of(j)]
                .chars()
                .filter(|c| *c != ',')
                .collect();
            out.push(Token {
                norm: lower.clone(),
                lower,
                start,
                end: end_of(j),
            });
            i = j;
        } else {
            if c == '%' || c == '/' {
                out.push(Token {
                    lower: c.to_string(),
                    norm: c.to_string(),
                    start,
                    end: end_of(i + 1),
                });
            }
            i += 1;
        }
    }
    out
}

fn digit_at(chars: &[(usize, char)], j: usize) -> bool {
    chars.get(j).is_some_and(|(_, c)| c.is_ascii_digit())
}

/// A comma is a thousands separator only when exactly three digits follow it ("5,000"), so
/// lists such as "1,2" or "auth, cart" are not glued together.
fn thousands_group_at(chars: &[(usize, char)], j: usize) -> bool {
    (0..3).all(|k| digit_at(chars, j + k)) && !digit_at(chars, j + 3)
}

/// Lower-case word → matching form: singular and canonical spelling.
pub fn normalise_word(lower: &str) -> String {
    let canonical = match lower {
        "behaviour" | "behaviours" => "behavior",
        "catalogue" | "catalogues" => "catalog",
        "optimise" => "optimize",
        "authorisation" => "authorization",
        "personalisation" => "personalization",
        "analyse" => "analyze",
        "fulfilment" => "fulfillment",
        "centre" => "center",
        "colour" => "color",
        other => other,
    };
    singular(canonical)
}

/// A deliberately simple English singulariser. Both the catalogue and user text go through
/// it, so it only has to be consistent, not linguistically right ("analytics" → "analytic").
pub fn singular(word: &str) -> String {
    if word.chars().count() <= 3 || !word.is_ascii() {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        if stem.len() >= 2 {
            return format!("{stem}y");
        }
    }
    if word.ends_with("aches") {
        return word[..word.len() - 1].to_string();
    }
    for suffix in ["sses", "shes", "ches", "xes"] {
        if word.ends_with(suffix) {
            return word[..word.len() - 2].to_string();
        }
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_string();
    }
    match word.strip_suffix('s') {
        Some(stem) => stem.to_string(),
        None => word.to_string(),
    }
}

/// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), so
/// "paymnet" is one edit from "payment".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The longest word [`edit_distance_within`] compares; longer ones are never within reach of
/// a catalogue word (the longest is far shorter).
pub const MAX_TYPO_WORD: usize = 40;

/// [`edit_distance`] when it is at most `max`, else `None`; stops at the first row whose
/// every cell exceeds `max`, so comparing a word with a far one costs a row or two. Works on
/// the stack (words over [`MAX_TYPO_WORD`] characters are `None`): it runs for every unknown
/// word of a prompt and a canvas against its catalogue candidates.
pub fn edit_distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    const N: usize = MAX_TYPO_WORD + 1;
    let mut ac = ['\0'; N];
    let mut bc = ['\0'; N];
    let (mut la, mut lb) = (0, 0);
    for c in a.chars() {
        *ac.get_mut(la)? = c;
        la += 1;
    }
    for c in b.chars() {
        *bc.get_mut(lb)? = c;
        lb += 1;
    }
    if la.abs_diff(lb) > max {
        return None;
    }
    let (a, b) = (&ac[..la], &bc[..lb]);
    // Three rows: two back (transpositions), one back, and the current one.
    let mut before = [0usize; N + 1];
    let mut prev = [0usize; N + 1];
    let mut cur = [0usize; N + 1];
    for (j, cell) in prev.iter_mut().enumerate().take(lb + 1) {
        *cell = j;
    }
    for i in 1..=la {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=lb {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            cur[j] = best;
            row_min = row_min.min(best);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[lb];
    (d <= max).then_some(d)
}

/// How many edits a word of this length may contain and still be corrected. Short words are
/// never corrected: "logic" must not become "login", "sale" must not become "scale".
pub fn typo_budget(len: usize) -> usize {
    match len {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    }
}

/// Normalised token sequences of catalogue phrases, indexed by first word for fast lookup.
#[derive(Debug, Clone, Default)]
pub struct PhraseIndex<T: Copy> {
    by_first: BTreeMap<String, Vec<(Vec<String>, T)>>,
}

impl<T: Copy> PhraseIndex<T> {
    pub fn new() -> Self {
        Self {
            by_first: BTreeMap::new(),
        }
    }

    /// Registers `phrase` (plain text, tokenised and normalised here) as naming `item`.
    pub fn insert(&mut self, phrase: &str, item: T) {
        let words: Vec<String> = tokenize(phrase).into_iter().map(|t| t.norm).collect();
        if let Some(first) = words.first().cloned() {
            let bucket = self.by_first.entry(first).or_default();
            bucket.push((words, item));
            // Longest first, so the greedy scan prefers "product similarity" over "product".
            bucket.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
    }

    /// Every word that occurs in a registered phrase.
    pub fn words(&self) -> impl Iterator<Item = &String> {
        self.by_first
            .values()
            .flatten()
            .flat_map(|(words, _)| words.iter())
    }

    /// Greedy left-to-right scan: at each position the longest phrase wins and consumes its
    /// tokens, so one word is never counted for two items. Tokens whose index is in `skip`
    /// (e.g. the "users" of "10k users") are never matched.
    pub fn find(&self, tokens: &[Token], skip: &[usize]) -> Vec<PhraseHit<T>> {
        let mut hits = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            let matched = self.by_first.get(&tokens[i].norm).and_then(|bucket| {
                bucket.iter().find(|(words, _)| {
                    words.len() <= tokens.len() - i
                        && words
                            .iter()
                            .enumerate()
                            .all(|(k, w)| tokens[i + k].norm == *w && !skip.contains(&(i + k)))
                })
            });
            match matched {
                Some((words, item)) if !skip.contains(&i) => {
                    hits.push(PhraseHit {
                        item: *item,
                        first: i,
                        last: i + words.len() - 1,
                    });
                    i += words.len();
                }
                _ => i += 1,
            }
        }
        hits
    }
}

/// Where a catalogue phrase was found: token indexes `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhraseHit<T> {
    pub item: T,
    pub first: usize,
    pub last: usize,
}

/// Joins items the way the design's prompts do: "a", "a and b", "a, b, and c".
pub fn join_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [a, b] => format!("{} and {}", a.as_ref(), b.as_ref()),
        [rest @ .., last] => {
            let head: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{}, and {}", head.join(", "), last.as_ref())
        }
    }
}

/// "auth" → "Auth", "order history" → "Order History".
pub fn title_case(text: &str) -> String {
    text.split([' ', '-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "e-commerce platform" → "E-Commerce Platform": capitalised words, hyphens kept.
pub fn display_title(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.trim().chars() {
        if upper {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        upper = c == ' ' || c == '-';
    }
    out
}

/// "cart_item" → "CartItem".
pub fn pascal_case(snake: &str) -> String {
    title_case(snake).replace(' ', "")
}

/// "cart_item" → "cartItem".
pub fn camel_case(snake: &str) -> String {
    let pascal = pascal_case(snake);
    let mut chars = pascal.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// Replaces every `{{key}}` in `template`. Templates of JS/JSX/YAML are full of `{`, so
/// `format!` would need every brace doubled; this keeps them readable.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_bounded_distance_agrees_with_the_full_one(
            a in "[abc]{0,12}", b in "[abc]{0,12}", max in 0usize..4,
        ) {
            let d = edit_distance(&a, &b);
            prop_assert_eq!(edit_distance_within(&a, &b, max), (d <= max).then_some(d));
        }
    }

    fn lowers(text: &str) -> Vec<String> {
        tokenize(text).into_iter().map(|t| t.lower).collect()
    }

    #[test]
    fn tokenize_splits_glued_units_and_keeps_numbers_whole() {
        assert_eq!(lowers("5000rps"), ["5000", "rps"]);
        assert_eq!(lowers("scale to 5,000 RPS"), ["scale", "to", "5000", "rps"]);
        assert_eq!(lowers("p99 under 200ms"), ["p", "99", "under", "200", "ms"]);
        assert_eq!(lowers("99.9% uptime"), ["99.9", "%", "uptime"]);
        assert_eq!(lowers("1.2k req/s"), ["1.2", "k", "req", "/", "s"]);
        assert_eq!(lowers("auth, cart"), ["auth", "cart"]);
        assert_eq!(lowers("1,2"), ["1", "2"]);
    }

    #[test]
    fn tokenize_keeps_byte_offsets_of_the_original_text() {
        let text = "Make it 5000 RPS";
        let tokens = tokenize(text);
        assert_eq!(&text[tokens[2].start..tokens[3].end], "5000 RPS");
    }

    #[test]
    fn singular_is_consistent_for_catalogue_words() {
        assert_eq!(singular("users"), "user");
        assert_eq!(singular("categories"), "category");
        assert_eq!(singular("similarities"), "similarity");
        assert_eq!(singular("searches"), "search");
        assert_eq!(singular("caches"), "cache");
        assert_eq!(singular("redis"), "redis");
        assert_eq!(singular("status"), "status");
        assert_eq!(singular("rps"), "rps");
        assert_eq!(normalise_word("catalogue"), "catalog");
    }

    #[test]
    fn edit_distance_counts_transpositions_as_one() {
        assert_eq!(edit_distance("paymnet", "payment"), 1);
        assert_eq!(edit_distance("recomendation", "recommendation"), 1);
        assert_eq!(edit_distance("scale", "sale"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(typo_budget("sale".len()), 0);
    }

    #[test]
    fn phrase_index_prefers_the_longest_phrase() {
        let mut index = PhraseIndex::new();
        index.insert("product", 1);
        index.insert("product similarity", 2);
        let hits = index.find(&tokenize("products and product similarities"), &[]);
        let items: Vec<i32> = hits.iter().map(|h| h.item).collect();
        assert_eq!(items, [1, 2]);
    }

    #[test]
    fn join_list_uses_the_oxford_comma() {
        assert_eq!(join_list(&["a"]), "a");
        assert_eq!(join_list(&["a", "b"]), "a and b");
        assert_eq!(join_list(&["a", "b", "c"]), "a, b, and c");
        assert_eq!(join_list::<&str>(&[]), "");
    }

    #[test]
    fn case_helpers_and_render() {
        assert_eq!(pascal_case("cart_item"), "CartItem");
        assert_eq!(camel_case("cart_item"), "cartItem");
        assert_eq!(title_case("order history"), "Order History");
        assert_eq!(render("a {{x}} b {{x}}", &[("x", "1")]), "a 1 b 1");
    }
}
