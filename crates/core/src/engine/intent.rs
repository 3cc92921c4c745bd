//! Rule-based intent classification: prompt + current canvas → [`IntentAnalysis`]
//! (intent, complexity, target, components, metrics, estimated tasks). Deterministic and
//! explainable; the LLM classifier of the server may replace it, never the other way round.

use thiserror::Error;

use crate::domains::{self, Feature};
use crate::engine::mentions::{
    self, archetype_in_tokens, features_in_tokens, technologies_in_tokens,
};
use crate::engine::metrics::{self, target_rps};
use crate::engine::planner::expected_task_count;
use crate::engine::sanitize::slug;
use crate::engine::technology::Technology;
use crate::engine::text::Token;
use crate::model::{Canvas, IntentAnalysis, IntentKind, NodeType};

/// Longest prompt accepted, in characters (the contract answers 413 above it).
pub const MAX_PROMPT_CHARS: usize = 10_000;

const BUILD: &[&str] = &[
    "build",
    "building",
    "create",
    "creating",
    "design",
    "designing",
    "make",
    "develop",
    "developing",
    "generate",
    "implement",
    "setup",
    "bootstrap",
    "scaffold",
    "architect",
];
const SYSTEM_NOUNS: &[&str] = &[
    "platform",
    "app",
    "application",
    "system",
    "website",
    "site",
    "marketplace",
    "store",
    "shop",
    "backend",
    "portal",
    "saas",
    "storefront",
];
const SCALE: &[&str] = &[
    "scale",
    "scaled",
    "scalable",
    "scaleable",
    "scaling",
    "scalability",
    "autoscale",
    "autoscaling",
    "throughput",
    "horizontally",
    "bottleneck",
    "performance",
    "faster",
    "slow",
    "capacity",
    "load",
];
const FIX: &[&str] = &[
    "fix",
    "fixing",
    "repair",
    "broken",
    "bug",
    "debug",
    "failing",
    "fail",
    "crash",
    "crashing",
    "error",
    "issue",
    "problem",
    "resolve",
    "troubleshoot",
    "harden",
];
const MODIFY: &[&str] = &[
    "replace",
    "replacing",
    "switch",
    "swap",
    "migrate",
    "migrating",
    "migration",
    "change",
    "convert",
    "move",
    "upgrade",
    "instead",
    "rename",
    "modify",
    "update",
    "refactor",
];
const ADD: &[&str] = &[
    "add",
    "adding",
    "integrate",
    "include",
    "introduce",
    "enable",
    "plug",
    "extend",
    "attach",
];
const EXPLAIN: &[&str] = &[
    "explain", "describe", "review", "assess", "evaluate", "audit",
];
/// Words that qualify a system noun but are not part of its name ("a complete e-commerce
/// platform" is named "e-commerce platform").
const QUALIFIERS: &[&str] = &[
    "a",
    "an",
    "the",
    "my",
    "our",
    "new",
    "complete",
    "simple",
    "full",
    "fully",
    "basic",
    "modern",
    "scalable",
    "robust",
    "small",
    "large",
    "big",
    "entire",
    "whole",
    "production",
    "ready",
    "featured",
    "feature",
    "rich",
    "secure",
    "fast",
    "minimal",
    "cloud",
    "native",
    "with",
    "and",
    "for",
    "of",
    "to",
    "build",
    "create",
    "design",
    "make",
    "develop",
];

/// Every keyword the classifier looks for; the typo corrector learns them.
pub const KEYWORDS: &[&str] = &[
    "build",
    "building",
    "create",
    "creating",
    "design",
    "designing",
    "develop",
    "developing",
    "generate",
    "implement",
    "bootstrap",
    "scaffold",
    "architect",
    "platform",
    "application",
    "system",
    "website",
    "marketplace",
    "backend",
    "portal",
    "storefront",
    "scale",
    "scaled",
    "scalable",
    "scaleable",
    "scaling",
    "scalability",
    "autoscale",
    "autoscaling",
    "throughput",
    "horizontally",
    "bottleneck",
    "performance",
    "faster",
    "capacity",
    "repair",
    "broken",
    "debug",
    "failing",
    "crashing",
    "troubleshoot",
    "replace",
    "replacing",
    "switch",
    "migrate",
    "migrating",
    "migration",
    "change",
    "convert",
    "upgrade",
    "instead",
    "rename",
    "modify",
    "update",
    "refactor",
    "integrate",
    "include",
    "introduce",
    "enable",
    "extend",
    "attach",
    "explain",
    "describe",
    "review",
    "assess",
    "evaluate",
    "service",
    "feature",
];

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IntentError {
    #[error("the prompt is empty: describe what to build, scale, add or change")]
    EmptyPrompt,
    #[error("the prompt is {len} characters long; the limit is {max}")]
    TooLong { len: usize, max: usize },
    #[error(
        "could not understand the request: name a system to build (\"Build an e-commerce \
         platform with auth and cart\"), a component to scale (\"Scale the auth service to \
         5000 RPS\"), a feature to add (\"Add search\") or a technology to replace \
         (\"Replace MySQL with PostgreSQL\")"
    )]
    NotUnderstood,
    #[error(
        "which component should be {action}? Name it, e.g. \"{action_title} the auth service\" \
         (the canvas has no single service to pick)"
    )]
    MissingTarget {
        action: &'static str,
        action_title: &'static str,
    },
}

impl IntentError {
    /// The contract's error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyPrompt | Self::NotUnderstood | Self::MissingTarget { .. } => {
                "invalid_prompt"
            }
            Self::TooLong { .. } => "prompt_too_long",
        }
    }
}

/// Everything the rules read from one prompt, shared by the classifier and the planner.
pub(crate) struct Reading<'a> {
    pub tokens: Vec<Token>,
    pub features: Vec<&'static Feature>,
    pub technologies: Vec<&'static Technology>,
    pub replacement: Option<(&'static Technology, &'static Technology)>,
    pub metrics: Vec<crate::model::Metric>,
    pub canvas_node: Option<&'a crate::model::Node>,
}

impl Reading<'_> {
    fn has(&self, words: &[&str]) -> bool {
        self.tokens.iter().any(|t| words.contains(&t.norm.as_str()))
    }
}

pub(crate) fn read<'a>(prompt: &str, canvas: &'a Canvas) -> Reading<'a> {
    let tokens = mentions::tokens(prompt);
    let (metrics, consumed) = metrics::extract(prompt, &tokens);
    let features = features_in_tokens(&tokens, &consumed)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    let tech_hits = technologies_in_tokens(&tokens);
    let mut technologies: Vec<&'static Technology> = Vec::new();
    for (t, _) in &tech_hits {
        if !technologies.iter().any(|o| o.key == t.key) {
            technologies.push(t);
        }
    }
    let replacement = replacement(&tokens, &tech_hits)
        .or_else(|| implied_replacement(&tokens, &technologies, canvas));
    let canvas_node = crate::engine::named::named_node(&tokens, canvas);
    Reading {
        tokens,
        features,
        technologies,
        replacement,
        metrics,
        canvas_node,
    }
}

/// Classifies `prompt` against the current `canvas`.
///
/// Rules, first match wins: a technology replacement → MODIFY; "build/create … platform"
/// (or ≥ 2 features) → BUILD; scale words or a throughput/users goal → SCALE; fix words →
/// FIX; "add …" with features → ADD; other change words on a known component → MODIFY;
/// review words → EXPLAIN; a system noun or features on an empty canvas → BUILD; features on
/// a non-empty canvas → ADD. Anything else is [`IntentError::NotUnderstood`].
pub fn analyse_intent(prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, IntentError> {
    mentions::analysis(|| analyse(prompt, canvas))
}

fn analyse(prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, IntentError> {
    let len = prompt.chars().count();
    if prompt.trim().is_empty() {
        return Err(IntentError::EmptyPrompt);
    }
    if len > MAX_PROMPT_CHARS {
        return Err(IntentError::TooLong {
            len,
            max: MAX_PROMPT_CHARS,
        });
    }
    let r = read(prompt, canvas);
    let canvas_empty = canvas.nodes.is_empty();
    let archetype = archetype_in_tokens(&r.tokens).map(|(a, _)| a);
    let system_noun = r.has(SYSTEM_NOUNS) || archetype.is_some();
    let build_like = r.has(BUILD) && (system_noun || r.features.len() >= 2);
    let perf_goal = target_rps(&r.metrics).is_some();
    let knows_component = !r.features.is_empty() || r.canvas_node.is_some();

    let kind = if r.replacement.is_some() {
        IntentKind::ModifyComponent
    } else if build_like && (canvas_empty || system_noun) {
        IntentKind::BuildFromScratch
    } else if r.has(SCALE) || perf_goal {
        IntentKind::ScaleComponent
    } else if r.has(FIX) && (knows_component || !canvas_empty) {
        IntentKind::FixComponent
    } else if r.has(ADD) && !r.features.is_empty() {
        IntentKind::AddFeature
    } else if r.has(MODIFY) && (knows_component || !r.technologies.is_empty()) {
        IntentKind::ModifyComponent
    } else if r.has(EXPLAIN) && (knows_component || !canvas_empty) {
        IntentKind::Explain
    } else if system_noun
        || (r.has(BUILD) && !r.features.is_empty())
        || (canvas_empty && !r.features.is_empty())
    {
        IntentKind::BuildFromScratch
    } else if !r.features.is_empty() {
        IntentKind::AddFeature
    } else {
        return Err(IntentError::NotUnderstood);
    };

    let (target, components) = match kind {
        IntentKind::BuildFromScratch => {
            let mut components: Vec<String> = archetype
                .map(|a| a.features.iter().map(|f| f.to_string()).collect())
                .unwrap_or_default();
            for f in &r.features {
                if !components.iter().any(|c| c == f.key) {
                    components.push(f.key.to_string());
                }
            }
            if components.is_empty() {
                // Every system has users; a plan needs at least one service to be useful.
                components.push("auth".to_string());
            }
            let target = system_phrase_of(prompt, &r.tokens)
                .map(|p| slug(&p, "system"))
                .unwrap_or_else(|| format!("{}-system", components.join("-")));
            (target, components)
        }
        IntentKind::ModifyComponent => match r.replacement {
            Some((from, to)) => (
                modified_target(from, canvas),
                vec![from.key.to_string(), to.key.to_string()],
            ),
            None => component_target(&r, canvas),
        },
        IntentKind::AddFeature => {
            let keys: Vec<String> = r.features.iter().map(|f| f.key.to_string()).collect();
            let target = r
                .features
                .first()
                .map_or("feature", |f| f.service)
                .to_string();
            (target, keys)
        }
        IntentKind::Explain if !knows_component => ("system".to_string(), Vec::new()),
        _ => component_target(&r, canvas),
    };

    // Scaling or fixing "the system" without naming a part, on a canvas with no single
    // service, would invent a component; ask instead.
    if target == "system" && components.is_empty() {
        match kind {
            IntentKind::ScaleComponent => {
                return Err(IntentError::MissingTarget {
                    action: "scaled",
                    action_title: "Scale",
                })
            }
            IntentKind::FixComponent => {
                return Err(IntentError::MissingTarget {
                    action: "fixed",
                    action_title: "Fix",
                })
            }
            IntentKind::ModifyComponent => {
                return Err(IntentError::MissingTarget {
                    action: "changed",
                    action_title: "Change",
                })
            }
            _ => {}
        }
    }
    let n = components.len() as f64;
    let complexity = match kind {
        IntentKind::BuildFromScratch => (0.5 + 0.1 * n).clamp(0.6, 0.95),
        IntentKind::ScaleComponent => {
            let goal = if perf_goal { 0.1 } else { 0.0 };
            let huge = if target_rps(&r.metrics).is_some_and(|t| t >= 50_000) {
                0.1
            } else {
                0.0
            };
            0.5 + goal + huge
        }
        IntentKind::AddFeature => (0.4 + 0.1 * n).clamp(0.5, 0.9),
        IntentKind::ModifyComponent => {
            let affected = r
                .replacement
                .map_or(0, |(from, _)| nodes_using(from, canvas).len());
            if affected > 3 {
                0.6
            } else {
                0.5
            }
        }
        IntentKind::FixComponent => 0.5,
        IntentKind::Explain => 0.2,
    };
    let complexity = (complexity * 100.0).round() / 100.0;

    Ok(IntentAnalysis {
        intent: kind,
        complexity,
        estimated_tasks: expected_task_count(kind, &components, complexity),
        target,
        components,
        metrics: r.metrics,
    })
}

/// The system a BUILD prompt names, as written: "e-commerce platform", "blog platform",
/// "todo app". `None` when no system noun is present.
pub fn system_phrase(prompt: &str) -> Option<String> {
    system_phrase_of(prompt, &mentions::tokens(prompt))
}

fn system_phrase_of(prompt: &str, tokens: &[Token]) -> Option<String> {
    let noun_at = tokens
        .iter()
        .position(|t| SYSTEM_NOUNS.contains(&t.norm.as_str()));
    let Some(k) = noun_at else {
        // "Build an online store …" has its archetype phrase but maybe no generic noun.
        return archetype_in_tokens(tokens).map(|(a, hit)| {
            let start = tokens[hit.first].start;
            let end = tokens[hit.last].end;
            prompt.get(start..end).unwrap_or(a.label).to_lowercase()
        });
    };
    let mut first = k;
    while first > 0 && k - first < 3 {
        let prev = &tokens[first - 1];
        if QUALIFIERS.contains(&prev.norm.as_str()) || prev.is_number() {
            break;
        }
        first -= 1;
    }
    let text = prompt.get(tokens[first].start..tokens[k].end)?;
    Some(
        text.to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The technology replacement `text` asks for, as `(from, to)`, when its wording says which
/// way ("Replace X with Y", "from X to Y", "Y instead of X").
pub fn replacement_in(text: &str) -> Option<(&'static Technology, &'static Technology)> {
    let tokens = mentions::tokens(text);
    let hits = technologies_in_tokens(&tokens);
    replacement(&tokens, &hits)
}

/// "Migrate to PostgreSQL" names only the new technology: the old one is whatever the canvas
/// uses in the same role (a MySQL database node), if exactly one such technology is there.
fn implied_replacement(
    tokens: &[Token],
    named: &[&'static Technology],
    canvas: &Canvas,
) -> Option<(&'static Technology, &'static Technology)> {
    let [to] = named else { return None };
    let verbs = [
        "replace", "switch", "swap", "migrate", "move", "convert", "change", "upgrade",
    ];
    if !tokens.iter().any(|t| verbs.contains(&t.norm.as_str())) {
        return None;
    }
    let mut current: Vec<&'static Technology> = Vec::new();
    for n in &canvas.nodes {
        if let Some(t) = mentions::technology_for_node(n) {
            if t.category == to.category
                && t.key != to.key
                && !current.iter().any(|c| c.key == t.key)
            {
                current.push(t);
            }
        }
    }
    match current.as_slice() {
        [from] => Some((from, to)),
        _ => None,
    }
}

/// "Replace X with Y", "switch/migrate from X to Y", "use Y instead of X", "swap X for Y".
fn replacement(
    tokens: &[Token],
    hits: &[(&'static Technology, crate::engine::text::PhraseHit<usize>)],
) -> Option<(&'static Technology, &'static Technology)> {
    let distinct: Vec<_> = hits
        .iter()
        .enumerate()
        .filter(|(i, (t, _))| !hits[..*i].iter().any(|(o, _)| o.key == t.key))
        .map(|(_, h)| h)
        .collect();
    if distinct.len() < 2 {
        return None;
    }
    let (a, b) = (distinct[0], distinct[1]);
    let word_before =
        |at: usize, w: &str| at > 0 && tokens[..at].iter().rev().take(2).any(|t| t.norm == w);
    let has = |w: &str| tokens.iter().any(|t| t.norm == w);
    if has("instead") && word_before(b.1.first, "of") {
        // "use Y instead of X"
        return Some((b.0, a.0));
    }
    if word_before(b.1.first, "from") {
        return Some((b.0, a.0));
    }
    let verbs = [
        "replace",
        "replacing",
        "swap",
        "switch",
        "migrate",
        "migrating",
        "move",
        "convert",
        "change",
        "upgrade",
    ];
    if tokens.iter().any(|t| verbs.contains(&t.norm.as_str())) || has("instead") {
        return Some((a.0, b.0));
    }
    None
}

/// Target and components of a component-level intent (scale, fix, modify, explain).
fn component_target(r: &Reading<'_>, canvas: &Canvas) -> (String, Vec<String>) {
    if let Some(node) = r.canvas_node {
        let feature = mentions::feature_for_node(&node.id, &node.label);
        let component = feature.map_or_else(|| slug(&node.id, "component"), |f| f.key.to_string());
        return (node.id.clone(), vec![component]);
    }
    if let Some(f) = r.features.first() {
        let on_canvas = canvas
            .nodes
            .iter()
            .filter(|n| mentions::feature_for_node(&n.id, &n.label).is_some_and(|g| g.key == f.key))
            .min_by_key(|n| n.kind != NodeType::Microservice);
        let target = on_canvas.map_or_else(|| f.service.to_string(), |n| n.id.clone());
        return (target, vec![f.key.to_string()]);
    }
    if let Some(t) = r.technologies.first() {
        return (modified_target(t, canvas), vec![t.key.to_string()]);
    }
    let services: Vec<_> = canvas
        .nodes
        .iter()
        .filter(|n| n.kind == NodeType::Microservice)
        .collect();
    if let [only] = services.as_slice() {
        let feature = mentions::feature_for_node(&only.id, &only.label);
        let component = feature.map_or_else(|| slug(&only.id, "component"), |f| f.key.to_string());
        return (only.id.clone(), vec![component]);
    }
    ("system".to_string(), Vec::new())
}

/// Canvas nodes built on `tech` (by config engine, label or id).
pub fn nodes_using<'a>(tech: &Technology, canvas: &'a Canvas) -> Vec<&'a crate::model::Node> {
    canvas
        .nodes
        .iter()
        .filter(|n| mentions::technology_for_node(n).is_some_and(|t| t.key == tech.key))
        .collect()
}

/// The node a replacement targets when there is exactly one, else the technology key.
fn modified_target(from: &Technology, canvas: &Canvas) -> String {
    match nodes_using(from, canvas).as_slice() {
        [only] => only.id.clone(),
        _ => from.key.to_string(),
    }
}

/// The feature an intent is about, when its components name one.
pub fn target_feature(intent: &IntentAnalysis) -> Option<&'static Feature> {
    intent
        .components
        .iter()
        .find_map(|c| domains::feature(c))
        .or_else(|| domains::feature_by_service(&intent.target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures::{example_2_canvas, EXAMPLE_1_PROMPT, EXAMPLE_2_PROMPT};
    use crate::model::MetricKind;

    fn classify(prompt: &str, canvas: &Canvas) -> IntentAnalysis {
        match analyse_intent(prompt, canvas) {
            Ok(intent) => intent,
            Err(e) => panic!("{prompt:?} was not understood: {e}"),
        }
    }

    #[test]
    fn example_1_is_build_from_scratch() {
        let intent = classify(EXAMPLE_1_PROMPT, &Canvas::default());
        assert_eq!(intent.intent, IntentKind::BuildFromScratch);
        assert_eq!(intent.complexity, 0.9);
        assert_eq!(intent.target, "e-commerce-platform");
        assert_eq!(intent.components, ["auth", "catalog", "cart", "payment"]);
        assert_eq!(intent.estimated_tasks, 8);
        assert!(intent.metrics.is_empty());
    }

    #[test]
    fn example_2_is_scale_component_on_the_canvas_target() {
        let intent = classify(EXAMPLE_2_PROMPT, &example_2_canvas());
        assert_eq!(intent.intent, IntentKind::ScaleComponent);
        assert_eq!(intent.target, "auth-service");
        assert_eq!(intent.complexity, 0.6);
        assert_eq!(intent.components, ["auth"]);
        assert_eq!(intent.metrics.len(), 1);
        assert_eq!(intent.metrics[0].kind, MetricKind::Rps);
        assert_eq!(intent.metrics[0].raw, "5000 RPS");
        assert_eq!(intent.estimated_tasks, 6);
    }

    #[test]
    fn the_canvas_decides_the_target_id() {
        let mut canvas = example_2_canvas();
        for node in &mut canvas.nodes {
            if node.id == "auth-service" {
                node.id = "identity-svc".to_string();
            }
        }
        let intent = classify(EXAMPLE_2_PROMPT, &canvas);
        assert_eq!(intent.target, "identity-svc");
        let empty = classify(EXAMPLE_2_PROMPT, &Canvas::default());
        assert_eq!(empty.target, "auth-service");
    }

    #[test]
    fn a_custom_node_named_in_the_prompt_is_the_target() {
        let mut canvas = example_2_canvas();
        canvas.nodes.push(crate::engine::fixtures::node(
            "ledger",
            NodeType::Microservice,
            "Ledger Engine",
        ));
        let intent = classify("scale the ledger engine to 2000 rps", &canvas);
        assert_eq!(
            (intent.intent, intent.target.as_str()),
            (IntentKind::ScaleComponent, "ledger")
        );
    }

    #[test]
    fn other_prompts_classify_sensibly() {
        let canvas = example_2_canvas();
        let cases = [
            (
                "Add a search feature",
                IntentKind::AddFeature,
                "search-service",
            ),
            (
                "Scale the payment service to 1200 rps",
                IntentKind::ScaleComponent,
                "payment-service",
            ),
            (
                "Replace MySQL with PostgreSQL",
                IntentKind::ModifyComponent,
                "mysql",
            ),
            (
                "switch from postgres to mysql",
                IntentKind::ModifyComponent,
                "postgresql",
            ),
            (
                "The cart service keeps crashing, fix it",
                IntentKind::FixComponent,
                "cart-service",
            ),
            (
                "Build a blog platform with auth, posts, comments and search",
                IntentKind::BuildFromScratch,
                "blog-platform",
            ),
            (
                "explain the auth service",
                IntentKind::Explain,
                "auth-service",
            ),
        ];
        for (prompt, kind, target) in cases {
            let intent = classify(prompt, &canvas);
            assert_eq!(
                (intent.intent, intent.target.as_str()),
                (kind, target),
                "{prompt}"
            );
        }
    }

    #[test]
    fn build_prompts_get_archetype_components() {
        let blog = classify(
            "Build a blog platform with auth, posts, comments and search",
            &Canvas::default(),
        );
        assert_eq!(blog.components, ["auth", "posts", "comments", "search"]);
        let shop = classify(
            "create an online store with product recommendations",
            &Canvas::default(),
        );
        assert_eq!(
            shop.components,
            ["auth", "catalog", "cart", "payment", "recommendations"]
        );
        assert_eq!(shop.target, "online-store");
        let chat = classify("Build a system with auth and chat", &Canvas::default());
        assert_eq!(chat.components, ["auth", "chat"]);
        assert_eq!(chat.target, "system");
        let bare = classify("auth and chat", &Canvas::default());
        assert_eq!(
            (bare.intent, bare.target.as_str()),
            (IntentKind::BuildFromScratch, "auth-chat-system")
        );
    }

    #[test]
    fn a_scalable_build_is_still_a_build_and_keeps_its_goals() {
        let intent = classify(
            "Build a scalable chat app with auth and chat for 10k users, p99 under 200ms and 99.9% uptime",
            &Canvas::default(),
        );
        assert_eq!(intent.intent, IntentKind::BuildFromScratch);
        assert_eq!(intent.target, "chat-app");
        assert_eq!(intent.components, ["auth", "chat"]);
        let kinds: Vec<MetricKind> = intent.metrics.iter().map(|m| m.kind).collect();
        assert_eq!(
            kinds,
            [
                MetricKind::Users,
                MetricKind::LatencyMs,
                MetricKind::AvailabilityPct
            ]
        );
    }

    #[test]
    fn typos_and_casing_are_tolerated() {
        let intent = classify(
            "SCALE the AUTHENTIFICATION service to 5000 rps",
            &example_2_canvas(),
        );
        assert_eq!(
            (intent.intent, intent.target.as_str()),
            (IntentKind::ScaleComponent, "auth-service")
        );
        let intent = classify("add a recomendation engine", &example_2_canvas());
        assert_eq!(intent.intent, IntentKind::AddFeature);
        assert_eq!(intent.components, ["recommendations"]);
    }

    #[test]
    fn empty_garbage_and_huge_prompts_are_clear_errors() {
        assert_eq!(
            analyse_intent("   \n", &Canvas::default()),
            Err(IntentError::EmptyPrompt)
        );
        assert_eq!(
            analyse_intent("!!! ??? ...", &Canvas::default()),
            Err(IntentError::NotUnderstood)
        );
        assert_eq!(
            analyse_intent("asdf qwer zxcv", &Canvas::default()),
            Err(IntentError::NotUnderstood)
        );
        let huge = "a".repeat(MAX_PROMPT_CHARS + 1);
        assert!(matches!(
            analyse_intent(&huge, &Canvas::default()),
            Err(IntentError::TooLong { .. })
        ));
        assert_eq!(IntentError::EmptyPrompt.code(), "invalid_prompt");
        assert!(IntentError::NotUnderstood
            .to_string()
            .contains("Build an e-commerce"));
    }

    #[test]
    fn a_scale_request_without_a_component_asks_which_one() {
        let err = analyse_intent("make it handle 5000 rps", &Canvas::default());
        assert!(
            matches!(err, Err(IntentError::MissingTarget { .. })),
            "{err:?}"
        );
        let message = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("Scale the auth service"), "{message}");
    }

    #[test]
    fn naming_only_the_new_technology_infers_the_old_one_from_the_canvas() {
        let intent = classify("migrate the databases to postgres", &example_2_canvas());
        assert_eq!(intent.intent, IntentKind::ModifyComponent);
        assert_eq!(intent.components, ["mysql", "postgresql"]);
    }

    #[test]
    fn a_long_prompt_within_the_limit_is_classified() {
        let long = format!(
            "{} {}",
            EXAMPLE_1_PROMPT,
            "Please keep it tidy and well documented. ".repeat(200)
        );
        assert!(long.chars().count() <= MAX_PROMPT_CHARS);
        let intent = classify(&long, &Canvas::default());
        assert_eq!(intent.intent, IntentKind::BuildFromScratch);
        assert_eq!(intent.components, ["auth", "catalog", "cart", "payment"]);
    }

    #[test]
    fn classification_is_deterministic() {
        let canvas = example_2_canvas();
        assert_eq!(
            classify(EXAMPLE_2_PROMPT, &canvas),
            classify(EXAMPLE_2_PROMPT, &canvas)
        );
    }

    #[test]
    fn system_phrase_keeps_the_hyphen() {
        assert_eq!(
            system_phrase(EXAMPLE_1_PROMPT).as_deref(),
            Some("e-commerce platform")
        );
        assert_eq!(
            system_phrase("build a todo app").as_deref(),
            Some("todo app")
        );
        assert_eq!(system_phrase("add search"), None);
    }
}
