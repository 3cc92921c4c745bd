//! BUILD_FROM_SCRATCH: architecture → schema → one service task per feature (dependencies
//! from the catalogue's `calls`); the frontend runs beside the architecture from the start;
//! integration testing last. Example 1's eight tasks come out of this generator, not out of a stored plan.

use super::{new_task, task_id, TaskExt};
use crate::domains::{self, Feature};
use crate::engine::artefacts::{key, API, ARCH, SCHEMA, TEST, UI};
use crate::engine::intent::system_phrase;
use crate::engine::mentions::archetype_in;
use crate::engine::text::join_list;
use crate::model::{IntentAnalysis, Isolation, Task, TaskType};

pub(super) fn plan(intent: &IntentAnalysis, prompt: &str) -> (Vec<Task>, String) {
    let mut features = domains::order_features(&intent.components);
    if features.is_empty() {
        features = domains::order_features(&["auth"]);
    }
    let system = system_phrase(prompt).unwrap_or_else(|| intent.target.replace('-', " "));
    let archetype = archetype_in(prompt).or_else(|| archetype_in(&system));
    let frontend_label = archetype.map_or_else(|| frontend_label(&system), |a| a.label.to_string());
    let ui_name = archetype.map_or("web", |a| a.ui_name);

    let mut tasks = Vec::new();
    let phrases: Vec<&str> = features.iter().map(|f| f.phrase).collect();
    let arch_prompt = format!(
        "Design microservices architecture for {system} with {}. Include database design, API structure, and scalability considerations.",
        join_list(&phrases)
    );
    let mut arch_outputs = vec![key(ARCH, "system")];
    arch_outputs.extend(features.iter().map(|f| key(ARCH, f.key)));
    tasks.push(
        new_task(
            1,
            "Architecture Design",
            "Design overall system architecture and microservices structure",
            TaskType::Architecture,
            "arch-001",
            25 + 5 * count(features.len()),
            arch_prompt,
        )
        .isolation(Isolation::Independent)
        .io(Vec::new(), arch_outputs),
    );

    let keys: Vec<&str> = features.iter().map(|f| f.key).collect();
    let schema_domains = domains::domains_of_features(&keys);
    let tables = domains::tables_of_domains(&schema_domains).len();
    tasks.push(
        new_task(
            2,
            "Database Schema Design",
            "Design database schemas for all entities",
            TaskType::Architecture,
            "db-001",
            6 + 3 * count(tables),
            schema_prompt(
                &format!("comprehensive database schema for {system}"),
                &keys,
            ),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Dependent)
        .io(
            vec![key(ARCH, "*")],
            schema_domains.iter().map(|d| key(SCHEMA, d)).collect(),
        ),
    );

    let first_service = tasks.len() + 1;
    let service_ids: Vec<String> = (0..features.len())
        .map(|i| task_id(first_service + i))
        .collect();
    for (i, f) in features.iter().enumerate() {
        let called: Vec<&Feature> = present_calls(f, &features);
        let mut deps: Vec<&str> = called
            .iter()
            .filter_map(|c| features.iter().position(|g| g.key == c.key))
            .map(|p| service_ids[p].as_str())
            .collect();
        if deps.is_empty() {
            deps.push("task_2");
        }
        tasks.push(service_task(first_service + i, f, &called, &features).deps(&deps));
    }

    let mut views: Vec<(u8, &str)> = features
        .iter()
        .flat_map(|f| f.ui_views.iter().map(move |v| (f.ui_rank, *v)))
        .collect();
    views.sort_by_key(|(rank, _)| *rank);
    let views: Vec<&str> = views.into_iter().map(|(_, v)| v).collect();
    let frontend_n = tasks.len() + 1;
    tasks.push(
        new_task(
            frontend_n,
            "Frontend React Components",
            "Generate React frontend components",
            TaskType::CodeGeneration,
            "code-001",
            (20 + 10 * count(views.len())).clamp(30, 120),
            format!(
                "Generate React components for {frontend_label} frontend including {}.",
                join_list(&views)
            ),
        )
        // Example 1: the frontend starts together with the architecture (task_1 and task_7
        // run in parallel from the first moment); it builds from the request's features.
        .deps(&[])
        .isolation(Isolation::Independent)
        .io(vec![], vec![key(UI, ui_name)]),
    );

    let service_refs: Vec<&str> = service_ids.iter().map(String::as_str).collect();
    tasks.push(
        new_task(
            frontend_n + 1,
            "API Integration & Testing",
            "Generate API integration and test suites",
            TaskType::Testing,
            "code-001",
            15 + 5 * count(features.len()),
            "Generate API integration layer, test suites for all services, and end-to-end testing scenarios.".to_string(),
        )
        .deps(&service_refs)
        .isolation(Isolation::Final)
        .io(vec!["*".to_string()], vec![key(TEST, "integration")]),
    );

    let template = match archetype {
        Some(a) => format!("Microservices Platform ({})", a.label),
        None => "Microservices Platform".to_string(),
    };
    (tasks, template)
}

/// Features `f` calls that are part of `plan`, in plan order.
pub(super) fn present_calls(f: &Feature, plan: &[&'static Feature]) -> Vec<&'static Feature> {
    plan.iter()
        .filter(|g| f.calls.contains(&g.key))
        .copied()
        .collect()
}

/// One code-generation task for `f`. A service both many others call and one calling many
/// others is a coordination point (DEPENDENT); the rest may run beside their siblings.
/// In Example 1 auth (called by cart and payment) and cart (calls auth and catalog) are
/// DEPENDENT, catalog and payment INDEPENDENT — exactly the design's plan.
pub(super) fn service_task(
    n: usize,
    f: &Feature,
    called: &[&Feature],
    plan: &[&'static Feature],
) -> Task {
    let fan_in = plan.iter().filter(|g| g.calls.contains(&f.key)).count();
    let isolation = if fan_in >= 2 || called.len() >= 2 {
        Isolation::Dependent
    } else {
        Isolation::Independent
    };
    let mut inputs = vec![format!("{SCHEMA}.@{}", f.key)];
    inputs.extend(called.iter().map(|c| key(API, c.key)));
    new_task(
        n,
        f.task_name,
        f.description,
        TaskType::CodeGeneration,
        "code-001",
        f.estimated_time,
        service_prompt(f, called),
    )
    .isolation(isolation)
    .io(inputs, vec![key(API, f.key)])
}

/// "Generate shopping cart service with add/remove items, quantity updates, cart
/// persistence, and integration with auth and product services."
pub(super) fn service_prompt(f: &Feature, called: &[&Feature]) -> String {
    let mut items: Vec<String> = f.capabilities.iter().map(|c| c.to_string()).collect();
    if !called.is_empty() {
        let names: Vec<&str> = called
            .iter()
            .map(|c| c.service.strip_suffix("-service").unwrap_or(c.service))
            .collect();
        let noun = if names.len() == 1 {
            "service"
        } else {
            "services"
        };
        items.push(format!("integration with {} {noun}", join_list(&names)));
    }
    let mut prompt = format!("Generate {} with {}.", f.service_noun, join_list(&items));
    if !f.prompt_suffix.is_empty() {
        prompt.push(' ');
        prompt.push_str(f.prompt_suffix);
    }
    prompt
}

/// "Create {what} including users, products, shopping carts, ... Include relationships,
/// indexes, and constraints." Companion domains are implied, not listed.
pub(super) fn schema_prompt(what: &str, features: &[&str]) -> String {
    let primary: Vec<&str> = features
        .iter()
        .filter_map(|k| domains::feature(k))
        .flat_map(|f| f.owns.iter().copied())
        .fold(Vec::new(), |mut acc, d| {
            if !acc.contains(&d) {
                acc.push(d);
            }
            acc
        });
    let phrases: Vec<&str> = primary
        .iter()
        .filter_map(|d| domains::data_domain(d))
        .map(|d| d.phrase)
        .collect();
    format!(
        "Create {what} including {}. Include relationships, indexes, and constraints.",
        join_list(&phrases)
    )
}

/// "e-commerce platform" → "e-commerce"; "todo app" → "todo"; a bare noun → "web".
fn frontend_label(system: &str) -> String {
    let words: Vec<&str> = system.split_whitespace().collect();
    match words.split_last() {
        Some((_, rest)) if !rest.is_empty() => rest.join(" "),
        _ => "web".to_string(),
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX / 16)
}
