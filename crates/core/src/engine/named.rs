//! Which canvas node a prompt names ("the auth service" → the node labelled "Auth Service").
//!
//! Every label and id is tokenised once and its word sequence put into one Aho–Corasick
//! automaton; the prompt is then scanned once. The cost is linear in the prompt plus the
//! canvas's text (plus the matches, at most one per distinct name and prompt position), never
//! their product: a 4,000-character prompt against 500 labels of 200 characters takes
//! milliseconds whatever the words (BENCHMARKS.md, "Intent analysis, worst case").

use std::collections::{HashMap, HashSet};

use aho_corasick::AhoCorasick;

use crate::engine::mentions;
use crate::engine::text::Token;
use crate::model::{Canvas, Node};

/// The most characters of a label or id that are read: the canvas limits allow 200 and 64;
/// canvases that did not come through the API (merges, imports) are cut here too.
pub const MAX_NAME_CHARS: usize = 200;

/// The first `max` characters of `text`.
pub fn head(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(cut, _)| &text[..cut])
}

/// The normalised words of a label or id, or `None` when it cannot name a node: empty, or a
/// one-word name shorter than four letters ("db", "api") that would match everything.
fn name_words(name: &str) -> Option<Vec<String>> {
    let words: Vec<String> = mentions::tokens(head(name, MAX_NAME_CHARS))
        .into_iter()
        .map(|t| t.norm)
        .collect();
    let generic = words.len() == 1 && words[0].len() < 4;
    (!words.is_empty() && !generic).then_some(words)
}

/// The node whose label or id is quoted in `tokens` as a whole word sequence; the longest
/// quote wins, and among equally long ones the first node on the canvas. One-word names
/// shorter than four letters ("db", "api") are ignored: they would match everything.
pub fn named_node<'a>(tokens: &[Token], canvas: &'a Canvas) -> Option<&'a Node> {
    // A name can be quoted only if every one of its words occurs in the prompt: most names
    // are ruled out here, before the automaton is built.
    let in_prompt: HashSet<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
    // Distinct word sequences → the nodes (index, words) that carry them.
    let mut patterns: Vec<String> = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut names: Vec<(usize, usize, usize)> = Vec::new(); // (node, pattern, words)
    for (i, node) in canvas.nodes.iter().enumerate() {
        for name in [&node.label, &node.id] {
            let Some(words) = name_words(name) else {
                continue;
            };
            if words.len() > tokens.len() || !words.iter().all(|w| in_prompt.contains(w.as_str())) {
                continue;
            }
            // Spaces never occur inside a token, so " a b " matches exactly the sequence a, b.
            let key = format!(" {} ", words.join(" "));
            let next = patterns.len();
            let p = *ids.entry(key.clone()).or_insert(next);
            if p == next {
                patterns.push(key);
            }
            names.push((i, p, words.len()));
        }
    }
    if patterns.is_empty() || tokens.is_empty() {
        return None;
    }
    let text = format!(
        " {} ",
        tokens
            .iter()
            .map(|t| t.norm.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let automaton = AhoCorasick::new(&patterns).ok()?;
    let mut found = vec![false; patterns.len()];
    for m in automaton.find_overlapping_iter(&text) {
        found[m.pattern().as_usize()] = true;
    }
    let mut best: Option<(usize, usize)> = None; // (words, node)
    for (node, p, words) in names {
        if found[p] && best.is_none_or(|(len, _)| words > len) {
            best = Some((words, node));
        }
    }
    best.and_then(|(_, i)| canvas.nodes.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures::node;
    use crate::model::NodeType;
    use proptest::prelude::*;

    /// The definition: every window of the prompt compared with every name.
    fn naive<'a>(tokens: &[Token], canvas: &'a Canvas) -> Option<&'a Node> {
        let norms: Vec<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
        let mut best: Option<(usize, &Node)> = None;
        for node in &canvas.nodes {
            for name in [&node.label, &node.id] {
                let Some(words) = name_words(name) else {
                    continue;
                };
                let found = norms
                    .windows(words.len())
                    .any(|w| w.iter().zip(&words).all(|(a, b)| a == b));
                if found && best.is_none_or(|(len, _)| words.len() > len) {
                    best = Some((words.len(), node));
                }
            }
        }
        best.map(|(_, n)| n)
    }

    fn canvas(labels: &[&str]) -> Canvas {
        Canvas {
            nodes: labels
                .iter()
                .enumerate()
                .map(|(i, l)| node(&format!("n{i}"), NodeType::Microservice, l))
                .collect(),
            ..Canvas::default()
        }
    }

    #[test]
    fn the_longest_quoted_name_wins_and_ties_go_to_the_first_node() {
        let c = canvas(&[
            "Auth Service",
            "Auth Service Replica",
            "Cart Service",
            "auth service",
        ]);
        let t = mentions::tokens("scale the auth service replica and the cart service");
        assert_eq!(named_node(&t, &c).map(|n| n.id.as_str()), Some("n1"));
        let t = mentions::tokens("fix the auth service");
        assert_eq!(named_node(&t, &c).map(|n| n.id.as_str()), Some("n0"));
        let t = mentions::tokens("fix the authentication");
        assert_eq!(named_node(&t, &c).map(|n| n.id.as_str()), None);
    }

    #[test]
    fn a_name_matches_whole_words_only() {
        let c = canvas(&["cart"]);
        let t = mentions::tokens("fix the carts");
        // "carts" is singularised to "cart": a whole-word match.
        assert_eq!(named_node(&t, &c).map(|n| n.id.as_str()), Some("n0"));
        let c = canvas(&["art service"]);
        let t = mentions::tokens("fix the cart service");
        assert_eq!(named_node(&t, &c), None, "'art' is not a word of 'cart'");
    }

    #[test]
    fn the_reviewers_canvas_is_answered() {
        let label = format!("{}b", "a ".repeat(99));
        let c = Canvas {
            nodes: (0..500)
                .map(|i| node(&format!("n{i}"), NodeType::Microservice, &label))
                .collect(),
            ..Canvas::default()
        };
        let t = mentions::tokens(&format!("{}scale it", "a ".repeat(1996)));
        assert_eq!(named_node(&t, &c), None);
        let t = mentions::tokens(&format!("{}b scale it", "a ".repeat(1996)));
        assert_eq!(named_node(&t, &c).map(|n| n.id.as_str()), Some("n0"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Small alphabets make many partial and overlapping matches.
        #[test]
        fn the_index_agrees_with_the_definition(
            labels in prop::collection::vec("(alpha|beta|gamma|delta)( (alpha|beta|gamma|delta)){0,4}", 0..12),
            prompt in "(alpha|beta|gamma|delta|scale)( (alpha|beta|gamma|delta|scale)){0,40}",
        ) {
            let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
            let c = canvas(&refs);
            let t = mentions::tokens(&prompt);
            prop_assert_eq!(
                named_node(&t, &c).map(|n| n.id.clone()),
                naive(&t, &c).map(|n| n.id.clone())
            );
        }
    }
}
