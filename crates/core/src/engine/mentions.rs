//! Finds catalogue things named in free text: features, data domains, archetypes and
//! technologies, with typo tolerance ("paymnet", "recomendation", "authentification").
//! The phrase indexes are built once from the static catalogues.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use crate::domains::{self, Archetype, Feature};
use crate::engine::intent::KEYWORDS;
use crate::engine::metrics::UNIT_WORDS;
use crate::engine::named::{head, MAX_NAME_CHARS};
use crate::engine::technology::{Technology, TECHNOLOGIES};
use crate::engine::text::{
    edit_distance_within, tokenize, typo_budget, PhraseHit, PhraseIndex, Token, MAX_TYPO_WORD,
};

struct Indexes {
    features: PhraseIndex<usize>,
    domains: PhraseIndex<usize>,
    archetypes: PhraseIndex<usize>,
    technologies: PhraseIndex<usize>,
    vocabulary: HashSet<String>,
    /// The vocabulary by first letter: (length in characters, letter counts, word), in
    /// vocabulary order.
    by_initial: HashMap<char, Vec<(usize, Letters, String)>>,
}

fn indexes() -> &'static Indexes {
    static INDEXES: OnceLock<Indexes> = OnceLock::new();
    INDEXES.get_or_init(|| {
        let mut features = PhraseIndex::new();
        for (i, f) in domains::FEATURES.iter().enumerate() {
            for s in f.synonyms {
                features.insert(s, i);
            }
        }
        let mut data = PhraseIndex::new();
        for (i, d) in domains::DATA_DOMAINS.iter().enumerate() {
            for s in d.synonyms {
                data.insert(s, i);
            }
        }
        let mut archetypes = PhraseIndex::new();
        for (i, a) in domains::ARCHETYPES.iter().enumerate() {
            for s in a.synonyms {
                archetypes.insert(s, i);
            }
        }
        let mut technologies = PhraseIndex::new();
        for (i, t) in TECHNOLOGIES.iter().enumerate() {
            for s in t.synonyms {
                technologies.insert(s, i);
            }
        }
        let mut vocabulary: BTreeSet<String> = BTreeSet::new();
        for index in [&features, &data, &archetypes, &technologies] {
            vocabulary.extend(index.words().cloned());
        }
        for word in KEYWORDS.iter().chain(UNIT_WORDS.iter()) {
            vocabulary.extend(tokenize(word).into_iter().map(|t| t.norm));
        }
        let mut by_initial: HashMap<char, Vec<(usize, Letters, String)>> = HashMap::new();
        for word in &vocabulary {
            if let Some(first) = word.chars().next() {
                by_initial.entry(first).or_default().push((
                    word.chars().count(),
                    Letters::of(word),
                    word.clone(),
                ));
            }
        }
        Indexes {
            by_initial,
            features,
            domains: data,
            archetypes,
            technologies,
            vocabulary: vocabulary.into_iter().collect(),
        }
    })
}

/// Tokenises `text` and corrects typos of catalogue words. A word is corrected only when it
/// is long enough (see [`typo_budget`]), is not itself a catalogue word, and exactly matches
/// the first letter of the closest catalogue word — people rarely mistype the first letter,
/// and this keeps "borders" from becoming "orders".
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = tokenize(text);
    for token in &mut out {
        if token.is_word() {
            if let Some(word) = corrected(&token.norm) {
                token.norm = word.to_string();
            }
        }
    }
    out
}

/// How often each letter a–z occurs in a word, and how many other characters it has. The
/// "bag distance" of two words (the larger of what each has that the other lacks) never
/// exceeds their edit distance, so it rules out most candidates before the real distance.
#[derive(Debug, Clone, Copy)]
struct Letters {
    counts: [u8; 26],
    other: u8,
}

impl Letters {
    fn of(word: &str) -> Self {
        let mut l = Letters {
            counts: [0; 26],
            other: 0,
        };
        for c in word.chars() {
            match (c as u32).checked_sub('a' as u32) {
                Some(i) if i < 26 => l.counts[i as usize] = l.counts[i as usize].saturating_add(1),
                _ => l.other = l.other.saturating_add(1),
            }
        }
        l
    }

    fn distance(&self, other: &Letters) -> usize {
        let (mut more, mut less) = (0usize, 0usize);
        for (a, b) in self.counts.iter().zip(&other.counts) {
            more += usize::from(a.saturating_sub(*b));
            less += usize::from(b.saturating_sub(*a));
        }
        // Characters outside a–z are counted, not compared: still a lower bound.
        let (a, b) = (usize::from(self.other), usize::from(other.other));
        more.max(less).max(a.abs_diff(b))
    }
}

/// The most candidate comparisons typo correction makes in one [`analysis`] (a bound on its
/// CPU time: about 10 ms here). Past it, unknown words are read as written. A real prompt and
/// canvas use a few hundred (Example 2: see the test); the largest crafted input the limits
/// allow uses far more.
pub const CORRECTION_BUDGET: u32 = 300_000;

/// What one analysis remembers: each unknown word's correction, the technologies each text
/// names, and the comparisons spent.
struct Analysis {
    memo: HashMap<String, Option<&'static str>>,
    /// The technologies and features each text names (labels and configs are read by
    /// several rules).
    technologies: HashMap<String, Vec<&'static Technology>>,
    features: HashMap<String, Vec<&'static str>>,
    spent: u32,
    budget: u32,
}

thread_local! {
    static ANALYSIS: std::cell::RefCell<Option<Analysis>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` as one analysis: typo corrections are remembered for its duration (a canvas of
/// 500 labels repeats most of its words, and several rules read the same labels) and their
/// work is bounded by [`CORRECTION_BUDGET`]. Nested calls join the outer analysis.
pub fn analysis<T>(f: impl FnOnce() -> T) -> T {
    analysis_with_budget(CORRECTION_BUDGET, f).0
}

/// [`analysis`] with another budget; also returns the comparisons spent.
pub fn analysis_with_budget<T>(budget: u32, f: impl FnOnce() -> T) -> (T, u32) {
    let outer = ANALYSIS.with(|a| a.borrow().is_some());
    if outer {
        return (f(), 0);
    }
    ANALYSIS.with(|a| {
        *a.borrow_mut() = Some(Analysis {
            memo: HashMap::new(),
            technologies: HashMap::new(),
            features: HashMap::new(),
            spent: 0,
            budget,
        })
    });
    // Cleared on the way out, even if `f` panics.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            ANALYSIS.with(|a| a.borrow_mut().take());
        }
    }
    let clear = Clear;
    let out = f();
    let spent = ANALYSIS.with(|a| a.borrow().as_ref().map_or(0, |s| s.spent));
    drop(clear);
    (out, spent)
}

/// The catalogue word `norm` is a typo of, if any. Candidates are looked up by first letter
/// and length, ruled out by their letters before the distance is computed, and the distance
/// stops as soon as it exceeds the word's budget. Inside an [`analysis`], answers are
/// remembered and the comparisons counted against its budget.
fn corrected(norm: &str) -> Option<&'static str> {
    let len = norm.chars().count();
    let budget = typo_budget(len);
    if budget == 0 || len > MAX_TYPO_WORD || indexes().vocabulary.contains(norm) {
        return None;
    }
    let first = norm.chars().next()?;
    let remembered = ANALYSIS.with(|a| {
        a.borrow().as_ref().map(|s| {
            let left = s.budget.saturating_sub(s.spent);
            (s.memo.get(norm).copied(), left)
        })
    });
    let mut allowance = match remembered {
        Some((Some(known), _)) => return known,
        Some((None, 0)) => return None,
        Some((None, left)) => left,
        None => u32::MAX,
    };
    let letters = Letters::of(norm);
    let mut best: Option<(usize, &'static str)> = None;
    let mut spent = 0u32;
    for (wlen, counts, word) in indexes().by_initial.get(&first).into_iter().flatten() {
        if wlen.abs_diff(len) > budget || *wlen < 4 {
            continue;
        }
        if allowance == 0 {
            break;
        }
        allowance -= 1;
        spent += 1;
        let limit = best.map_or(budget, |(bd, _)| bd.saturating_sub(1));
        // A cheap lower bound first: most unknown words share too few letters.
        if letters.distance(counts) > limit {
            continue;
        }
        if let Some(d) = edit_distance_within(norm, word, limit) {
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, word.as_str()));
            }
        }
    }
    let answer = best.map(|(_, w)| w);
    ANALYSIS.with(|a| {
        if let Some(s) = a.borrow_mut().as_mut() {
            s.spent = s.spent.saturating_add(spent);
            s.memo.insert(norm.to_string(), answer);
        }
    });
    answer
}

/// Features named in `tokens` (tokens in `skip` ignored), first mention first, each once.
pub fn features_in_tokens(
    tokens: &[Token],
    skip: &[usize],
) -> Vec<(&'static Feature, PhraseHit<usize>)> {
    let mut out: Vec<(&'static Feature, PhraseHit<usize>)> = Vec::new();
    for hit in indexes().features.find(tokens, skip) {
        if let Some(f) = domains::FEATURES.get(hit.item) {
            if !out.iter().any(|(o, _)| o.key == f.key) {
                out.push((f, hit));
            }
        }
    }
    out
}

/// Feature keys named in `text`, first mention first.
pub fn features_in(text: &str) -> Vec<&'static str> {
    remembered(
        text,
        |a| &mut a.features,
        || {
            features_in_tokens(&tokens(text), &[])
                .into_iter()
                .map(|(f, _)| f.key)
                .collect()
        },
    )
}

/// `compute`'s answer for `text`, remembered in `table` of the current [`analysis`] (outside
/// one, computed every time): labels and configs are read by several rules of one analysis.
fn remembered<T: Clone>(
    text: &str,
    table: fn(&mut Analysis) -> &mut HashMap<String, T>,
    compute: impl FnOnce() -> T,
) -> T {
    let known = ANALYSIS.with(|a| {
        a.borrow_mut()
            .as_mut()
            .and_then(|s| table(s).get(text).cloned())
    });
    if let Some(known) = known {
        return known;
    }
    let answer = compute();
    ANALYSIS.with(|a| {
        if let Some(s) = a.borrow_mut().as_mut() {
            table(s).insert(text.to_string(), answer.clone());
        }
    });
    answer
}

/// Data domains named in `text`, first mention first, without companions.
pub fn domains_in(text: &str) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for hit in indexes().domains.find(&tokens(text), &[]) {
        if let Some(d) = domains::DATA_DOMAINS.get(hit.item) {
            if !out.contains(&d.key) {
                out.push(d.key);
            }
        }
    }
    out
}

/// Data domains named in `text` plus their companions: what a schema for it contains.
pub fn schema_domains_in(text: &str) -> Vec<&'static str> {
    domains::expand_domains(&domains_in(text))
}

/// The first archetype named in `tokens` ("e-commerce", "blog", ...).
pub fn archetype_in_tokens(tokens: &[Token]) -> Option<(&'static Archetype, PhraseHit<usize>)> {
    indexes()
        .archetypes
        .find(tokens, &[])
        .into_iter()
        .find_map(|hit| domains::ARCHETYPES.get(hit.item).map(|a| (a, hit)))
}

pub fn archetype_in(text: &str) -> Option<&'static Archetype> {
    archetype_in_tokens(&tokens(text)).map(|(a, _)| a)
}

/// Technologies named in `tokens`, in order of mention (repeats kept: "from X to Y").
pub fn technologies_in_tokens(tokens: &[Token]) -> Vec<(&'static Technology, PhraseHit<usize>)> {
    indexes()
        .technologies
        .find(tokens, &[])
        .into_iter()
        .filter_map(|hit| TECHNOLOGIES.get(hit.item).map(|t| (t, hit)))
        .collect()
}

pub fn technologies_in(text: &str) -> Vec<&'static Technology> {
    remembered(
        text,
        |a| &mut a.technologies,
        || {
            let mut out: Vec<&'static Technology> = Vec::new();
            for (t, _) in technologies_in_tokens(&tokens(text)) {
                if !out.iter().any(|o| o.key == t.key) {
                    out.push(t);
                }
            }
            out
        },
    )
}

/// The feature a canvas node stands for, from its id, label and type words
/// ("auth-service", "Authentication API" → auth). Exact service ids win.
pub fn feature_for_node(id: &str, label: &str) -> Option<&'static Feature> {
    let (id, label) = (head(id, MAX_NAME_CHARS), head(label, MAX_NAME_CHARS));
    domains::feature_by_service(id)
        .or_else(|| features_in(id).first().and_then(|k| domains::feature(k)))
        .or_else(|| features_in(label).first().and_then(|k| domains::feature(k)))
}

/// How much of a config string ("engine": "PostgreSQL 15") names its technology; the rest of
/// a long value is not read.
pub const MAX_CONFIG_CHARS: usize = 64;

/// The technology a canvas node is made of, from its config (`engine`, `technology`,
/// `database`; their first [`MAX_CONFIG_CHARS`] characters) or its label and id.
pub fn technology_for_node(node: &crate::model::Node) -> Option<&'static Technology> {
    for key in ["engine", "technology", "database", "db"] {
        if let Some(text) = node.config.get(key).and_then(|v| v.as_str()) {
            if let Some(t) = technologies_in(head(text, MAX_CONFIG_CHARS)).first() {
                return Some(t);
            }
        }
    }
    technologies_in(head(&node.label, MAX_NAME_CHARS))
        .first()
        .copied()
        .or_else(|| {
            technologies_in(head(&node.id, MAX_NAME_CHARS))
                .first()
                .copied()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrections_stop_when_the_analysis_budget_is_spent() {
        let (t, spent) =
            analysis_with_budget(CORRECTION_BUDGET, || tokens("add a paymnet service"));
        assert!(
            t.iter().any(|t| t.norm == "payment"),
            "corrected within budget"
        );
        assert!(
            spent > 0 && spent < 1_000,
            "a real prompt spends little: {spent}"
        );
        let (t, spent) = analysis_with_budget(0, || tokens("add a paymnet service"));
        assert!(
            t.iter().all(|t| t.norm != "payment"),
            "read as written past the budget"
        );
        assert_eq!(spent, 0);
        // Nested analyses share the outer budget (and the outer memo).
        let ((), _) = analysis_with_budget(0, || {
            let t = analysis(|| tokens("paymnet"));
            assert_eq!(t[0].norm, "paymnet");
        });
    }

    #[test]
    fn the_largest_crafted_canvas_stays_within_the_budget_and_answers() {
        // 500 labels of 22 distinct 8-letter non-words: every word is a correction attempt.
        let mut seed = 1u64;
        let mut word = || -> String {
            (0..8)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    char::from(b'a' + ((seed >> 33) % 26) as u8)
                })
                .collect()
        };
        let labels: Vec<String> = (0..500)
            .map(|_| (0..22).map(|_| word()).collect::<Vec<_>>().join(" "))
            .collect();
        let (found, spent) = analysis_with_budget(CORRECTION_BUDGET, || {
            labels.iter().map(|l| tokens(l).len()).sum::<usize>()
        });
        assert_eq!(found, 500 * 22);
        assert!(spent <= CORRECTION_BUDGET);
    }

    #[test]
    fn example_1_prompt_names_four_features() {
        let prompt = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
        assert_eq!(features_in(prompt), ["auth", "catalog", "cart", "payment"]);
        assert_eq!(archetype_in(prompt).map(|a| a.key), Some("e-commerce"));
    }

    #[test]
    fn typos_and_casing_are_tolerated() {
        assert_eq!(
            features_in("USER AUTHENTIFICATION and Paymnet Processing"),
            ["auth", "payment"]
        );
        assert_eq!(features_in("a recomendation engine"), ["recommendations"]);
        assert_eq!(features_in("shoping basket"), ["cart"]);
        assert_eq!(features_in("Real-Time CHAT"), ["chat"]);
        assert_eq!(features_in("Shopping Carts"), ["cart"]);
    }

    #[test]
    fn short_common_words_are_not_mistaken_for_features() {
        assert!(features_in("business logic for the sales page").is_empty());
        assert!(features_in("draw the borders").is_empty());
    }

    #[test]
    fn example_3_edit_adds_only_the_recommendations_domain() {
        let old = "Create database schema for users, products, orders, carts, payments";
        let new = "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user behavior tracking, product similarity, and recommendation history";
        assert_eq!(
            domains_in(old),
            ["users", "products", "orders", "carts", "payments"]
        );
        assert_eq!(
            domains_in(new),
            [
                "users",
                "products",
                "orders",
                "carts",
                "payments",
                "recommendations"
            ]
        );
        assert!(schema_domains_in(old).contains(&"categories"));
    }

    #[test]
    fn technologies_keep_mention_order() {
        let found: Vec<&str> = technologies_in("Replace MySQL with Postgres")
            .iter()
            .map(|t| t.key)
            .collect();
        assert_eq!(found, ["mysql", "postgresql"]);
    }

    #[test]
    fn nodes_map_to_features_by_id_or_label() {
        assert_eq!(
            feature_for_node("auth-service", "").map(|f| f.key),
            Some("auth")
        );
        assert_eq!(
            feature_for_node("svc-1", "Authentication API").map(|f| f.key),
            Some("auth")
        );
        assert_eq!(
            feature_for_node("products", "Catalogue").map(|f| f.key),
            Some("catalog")
        );
        assert!(feature_for_node("users-db", "MySQL").is_none());
    }
}
