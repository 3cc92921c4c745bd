//! Editing a task's prompt mid-run: which artefact keys the edit changes (the input of
//! `impact::analyse`), the task's outputs and estimate under the new prompt, and a short
//! human summary ("Added recommendation engine").

use crate::domains;
use crate::engine::agents::{job_of, Job};
use crate::engine::artefacts::{key, ARCH, SCHEMA};
use crate::engine::mentions::{self, features_in, schema_domains_in};
use crate::engine::text::join_list;
use crate::model::Task;

/// Words that do not change what a prompt asks for.
const FILLER: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "for",
    "with",
    "of",
    "to",
    "in",
    "on",
    "including",
    "include",
    "please",
    "also",
    "all",
    "create",
    "generate",
    "design",
    "build",
    "comprehensive",
    "complete",
    "database",
    "schema",
    "service",
    "that",
    "this",
    "it",
    "as",
    "well",
    "be",
    "is",
    "are",
];

/// Artefact keys that change when `task`'s prompt goes from `old` to `new`, sorted.
///
/// - Schema tasks: `schema.<domain>` for every domain the new prompt adds or drops (Example 3
///   → `["schema.recommendations"]`).
/// - Architecture tasks: `arch.<feature>` for every feature added or dropped.
/// - Otherwise, or when the domains/features stay the same but the requirements changed:
///   every output the task declares (its whole product may differ).
/// - No change in meaning (only wording, case, filler words): empty.
pub fn changed_outputs(task: &Task, old: &str, new: &str) -> Vec<String> {
    let mut keys: Vec<String> = match job_of(task) {
        Job::Schema => symmetric_difference(&schema_domains_in(old), &schema_domains_in(new))
            .into_iter()
            .map(|d| key(SCHEMA, d))
            .collect(),
        Job::Architecture => symmetric_difference(&features_in(old), &features_in(new))
            .into_iter()
            .map(|f| key(ARCH, f))
            .collect(),
        _ => Vec::new(),
    };
    if keys.is_empty() && content_words(old) != content_words(new) {
        keys = task.outputs.clone();
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The outputs `task` declares once its prompt is `prompt` (a schema task edited to add
/// recommendations also outputs `schema.recommendations`). Other tasks keep theirs.
pub fn outputs_for_prompt(task: &Task, prompt: &str) -> Vec<String> {
    match job_of(task) {
        Job::Schema => {
            let domains = schema_domains_in(prompt);
            if domains.is_empty() {
                task.outputs.clone()
            } else {
                domains.iter().map(|d| key(SCHEMA, d)).collect()
            }
        }
        Job::Architecture if task.outputs.iter().any(|o| o == "arch.system") => {
            let mut out = vec![key(ARCH, "system")];
            out.extend(features_in(prompt).iter().map(|f| key(ARCH, f)));
            out
        }
        _ => task.outputs.clone(),
    }
}

/// The task's estimate under a new prompt, with the planner's formulas (schema: 6 s + 3 s
/// per table). `None` when the estimate does not depend on the prompt.
pub fn estimated_time_for_prompt(task: &Task, prompt: &str) -> Option<u32> {
    match job_of(task) {
        Job::Schema => {
            let tables = domains::tables_of_domains(&schema_domains_in(prompt)).len();
            (tables > 0).then(|| 6 + 3 * u32::try_from(tables).unwrap_or(u32::MAX / 4))
        }
        _ => None,
    }
}

/// One line for the modification history: "Added recommendation engine",
/// "Removed payment records", "Added search; removed chat".
pub fn summarise_change(old: &str, new: &str) -> String {
    // A schema prompt is about data ("payment records"), any other about features ("search").
    let about_data = [old, new].iter().any(|p| {
        mentions::tokens(p)
            .iter()
            .any(|t| t.norm == "schema" || t.norm == "table")
    });
    let (first, second): (Mentions, Mentions) = if about_data {
        (data_mentions, feature_mentions)
    } else {
        (feature_mentions, data_mentions)
    };
    let (mut added, mut removed) = mention_diff(first, old, new);
    if added.is_empty() && removed.is_empty() {
        (added, removed) = mention_diff(second, old, new);
    }
    match (added.is_empty(), removed.is_empty()) {
        (false, true) => format!("Added {}", join_list(&added)),
        (true, false) => format!("Removed {}", join_list(&removed)),
        (false, false) => format!(
            "Added {}; removed {}",
            join_list(&added),
            join_list(&removed)
        ),
        (true, true) => {
            let old_words = content_words(old);
            let new_words: Vec<String> = content_words(new)
                .into_iter()
                .filter(|w| !old_words.contains(w))
                .collect();
            if new_words.is_empty() {
                "Reworded the prompt".to_string()
            } else {
                let shown: Vec<&str> = new_words.iter().take(4).map(String::as_str).collect();
                format!("Changed requirements: {}", shown.join(", "))
            }
        }
    }
}

/// Catalogue keys named in a text, with how a change summary names each.
type Mentions = fn(&str) -> Vec<(&'static str, &'static str)>;

fn data_mentions(text: &str) -> Vec<(&'static str, &'static str)> {
    mentions::domains_in(text)
        .into_iter()
        .filter_map(|k| domains::data_domain(k).map(|d| (d.key, d.change_phrase)))
        .collect()
}

fn feature_mentions(text: &str) -> Vec<(&'static str, &'static str)> {
    features_in(text)
        .into_iter()
        .filter_map(|k| domains::feature(k).map(|f| (f.key, f.phrase)))
        .collect()
}

/// Phrases of what `new` names and `old` does not, and the reverse.
fn mention_diff(find: Mentions, old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let (before, after) = (find(old), find(new));
    let missing_from = |list: &[(&str, &str)], key: &str| !list.iter().any(|(k, _)| *k == key);
    let added = after
        .iter()
        .filter(|(k, _)| missing_from(&before, k))
        .map(|(_, p)| p.to_string())
        .collect();
    let removed = before
        .iter()
        .filter(|(k, _)| missing_from(&after, k))
        .map(|(_, p)| p.to_string())
        .collect();
    (added, removed)
}

fn symmetric_difference<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = a.iter().filter(|x| !b.contains(x)).copied().collect();
    out.extend(b.iter().filter(|x| !a.contains(x)).copied());
    out
}

/// Normalised words that carry meaning, in order.
fn content_words(text: &str) -> Vec<String> {
    mentions::tokens(text)
        .into_iter()
        .map(|t| t.norm)
        .filter(|w| !FILLER.contains(&w.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures::{EXAMPLE_3_NEW, EXAMPLE_3_OLD};
    use crate::engine::planner::new_task;
    use crate::model::TaskType;

    fn schema_task() -> Task {
        let mut t = new_task(
            2,
            "Database Schema Design",
            "",
            TaskType::Architecture,
            "db-001",
            30,
            EXAMPLE_3_OLD.to_string(),
        );
        t.outputs = [
            "users",
            "products",
            "categories",
            "carts",
            "orders",
            "payments",
        ]
        .iter()
        .map(|d| key(SCHEMA, d))
        .collect();
        t
    }

    #[test]
    fn example_3_changes_only_the_recommendations_schema() {
        let t = schema_task();
        assert_eq!(
            changed_outputs(&t, EXAMPLE_3_OLD, EXAMPLE_3_NEW),
            ["schema.recommendations"]
        );
        assert_eq!(
            summarise_change(EXAMPLE_3_OLD, EXAMPLE_3_NEW),
            "Added recommendation engine"
        );
        let outputs = outputs_for_prompt(&t, EXAMPLE_3_NEW);
        assert!(outputs.contains(&"schema.recommendations".to_string()));
        assert!(outputs.contains(&"schema.categories".to_string()));
        assert_eq!(
            estimated_time_for_prompt(&t, EXAMPLE_3_NEW),
            Some(6 + 3 * 11)
        );
    }

    #[test]
    fn wording_changes_change_nothing_and_real_changes_change_all_outputs() {
        let t = schema_task();
        assert!(changed_outputs(
            &t,
            EXAMPLE_3_OLD,
            "create the database schema for users, products, orders, carts, payments."
        )
        .is_empty());
        assert_eq!(
            summarise_change(EXAMPLE_3_OLD, &EXAMPLE_3_OLD.to_uppercase()),
            "Reworded the prompt"
        );
        let stricter = format!("{EXAMPLE_3_OLD} with soft deletes everywhere");
        assert_eq!(
            changed_outputs(&t, EXAMPLE_3_OLD, &stricter),
            t.outputs
                .iter()
                .cloned()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert!(
            summarise_change(EXAMPLE_3_OLD, &stricter).starts_with("Changed requirements: soft")
        );
    }

    #[test]
    fn removals_and_architecture_edits() {
        let t = schema_task();
        let fewer = "Create database schema for users, products, orders, carts";
        assert_eq!(
            changed_outputs(&t, EXAMPLE_3_OLD, fewer),
            ["schema.payments"]
        );
        assert_eq!(
            summarise_change(EXAMPLE_3_OLD, fewer),
            "Removed payment records"
        );
        let mut arch = new_task(
            1,
            "Architecture Design",
            "",
            TaskType::Architecture,
            "arch-001",
            45,
            String::new(),
        );
        arch.outputs = vec!["arch.system".into(), "arch.auth".into()];
        let before = "Design microservices architecture with user auth and shopping cart";
        let after = "Design microservices architecture with user auth, shopping cart and search";
        assert_eq!(changed_outputs(&arch, before, after), ["arch.search"]);
        assert_eq!(summarise_change(before, after), "Added search");
        assert_eq!(
            outputs_for_prompt(&arch, after),
            ["arch.system", "arch.auth", "arch.cart", "arch.search"]
        );
    }

    #[test]
    fn service_edits_change_the_service_api() {
        let mut t = new_task(
            4,
            "Product Catalog Service",
            "",
            TaskType::CodeGeneration,
            "code-001",
            50,
            String::new(),
        );
        t.outputs = vec!["api.catalog".into()];
        let changed = changed_outputs(
            &t,
            "Generate product catalog service",
            "Generate product catalog service with recommendation endpoints",
        );
        assert_eq!(changed, ["api.catalog"]);
    }
}
