//! Finds catalogue things named in free text: features, data domains, archetypes and
//! technologies, with typo tolerance ("paymnet", "recomendation", "authentification").
//! The phrase indexes are built once from the static catalogues.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use crate::domains::{self, Archetype, Feature};
use crate::engine::intent::KEYWORDS;
use crate::engine::metrics::UNIT_WORDS;
use crate::engine::technology::{Technology, TECHNOLOGIES};
use crate::engine::text::{edit_distance, tokenize, typo_budget, PhraseHit, PhraseIndex, Token};

struct Indexes {
    features: PhraseIndex<usize>,
    domains: PhraseIndex<usize>,
    archetypes: PhraseIndex<usize>,
    technologies: PhraseIndex<usize>,
    vocabulary: BTreeSet<String>,
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
        Indexes {
            features,
            domains: data,
            archetypes,
            technologies,
            vocabulary,
        }
    })
}

/// Tokenises `text` and corrects typos of catalogue words. A word is corrected only when it
/// is long enough (see [`typo_budget`]), is not itself a catalogue word, and exactly matches
/// the first letter of the closest catalogue word — people rarely mistype the first letter,
/// and this keeps "borders" from becoming "orders".
pub fn tokens(text: &str) -> Vec<Token> {
    let vocabulary = &indexes().vocabulary;
    let mut out = tokenize(text);
    for token in &mut out {
        if !token.is_word() || vocabulary.contains(&token.norm) {
            continue;
        }
        let len = token.norm.chars().count();
        let budget = typo_budget(len);
        if budget == 0 {
            continue;
        }
        let first = token.norm.chars().next();
        let mut best: Option<(usize, &String)> = None;
        for word in vocabulary {
            let wlen = word.chars().count();
            if word.chars().next() != first || wlen.abs_diff(len) > budget || wlen < 4 {
                continue;
            }
            let d = edit_distance(&token.norm, word);
            if d <= budget && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, word));
            }
        }
        if let Some((_, word)) = best {
            token.norm = word.clone();
        }
    }
    out
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
    features_in_tokens(&tokens(text), &[])
        .into_iter()
        .map(|(f, _)| f.key)
        .collect()
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
    let mut out: Vec<&'static Technology> = Vec::new();
    for (t, _) in technologies_in_tokens(&tokens(text)) {
        if !out.iter().any(|o| o.key == t.key) {
            out.push(t);
        }
    }
    out
}

/// The feature a canvas node stands for, from its id, label and type words
/// ("auth-service", "Authentication API" → auth). Exact service ids win.
pub fn feature_for_node(id: &str, label: &str) -> Option<&'static Feature> {
    domains::feature_by_service(id)
        .or_else(|| features_in(id).first().and_then(|k| domains::feature(k)))
        .or_else(|| features_in(label).first().and_then(|k| domains::feature(k)))
}

/// The technology a canvas node is made of, from its config (`engine`, `technology`,
/// `database`) or its label and id.
pub fn technology_for_node(node: &crate::model::Node) -> Option<&'static Technology> {
    for key in ["engine", "technology", "database", "db"] {
        if let Some(text) = node.config.get(key).and_then(|v| v.as_str()) {
            if let Some(t) = technologies_in(text).first() {
                return Some(t);
            }
        }
    }
    technologies_in(&node.label)
        .first()
        .copied()
        .or_else(|| technologies_in(&node.id).first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

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
