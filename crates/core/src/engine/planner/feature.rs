//! ADD_FEATURE: fit new features into an existing design — architecture update, schema for
//! the new data, one service per new feature, its UI, and integration tests. Services call
//! features already on the canvas through their APIs (inputs `api.<feature>`).

use super::build::{present_calls, schema_prompt, service_task};
use super::{new_task, task_id, TaskExt};
use crate::domains::{self, Feature};
use crate::engine::artefacts::{key, ARCH, SCHEMA, TEST, UI};
use crate::engine::context::CanvasContext;
use crate::engine::mentions::feature_for_node;
use crate::engine::text::{join_list, title_case};
use crate::model::{IntentAnalysis, Isolation, NodeType, Task, TaskType};

pub(super) fn plan(intent: &IntentAnalysis, ctx: &CanvasContext) -> (Vec<Task>, String) {
    let mut new = domains::order_features(&intent.components);
    if new.is_empty() {
        new = domains::order_features(&["search"]);
    }
    let existing: Vec<&'static Feature> = ctx
        .components
        .iter()
        .filter(|c| c.kind == NodeType::Microservice)
        .filter_map(|c| feature_for_node(&c.id, &c.label))
        .filter(|f| !new.iter().any(|n| n.key == f.key))
        .collect();
    let phrases: Vec<&str> = new.iter().map(|f| f.phrase).collect();
    let title = if new.len() == 1 {
        title_case(new[0].phrase)
    } else {
        "Feature".to_string()
    };
    let connect = if existing.is_empty() {
        "the rest of the system".to_string()
    } else {
        let ids: Vec<&str> = existing.iter().map(|f| f.service).collect();
        join_list(&ids)
    };

    let mut tasks = vec![new_task(
        1,
        "Architecture Update",
        "Add the new services, their databases and connections to the design",
        TaskType::Architecture,
        "arch-001",
        20 + 5 * count(new.len()),
        format!(
            "Integrate {} into the existing architecture: new services, their databases and connections to {connect}.",
            join_list(&phrases)
        ),
    )
    .isolation(Isolation::Independent)
    .io(Vec::new(), new.iter().map(|f| key(ARCH, f.key)).collect())];

    let keys: Vec<&str> = new.iter().map(|f| f.key).collect();
    let schema_domains = domains::domains_of_features(&keys);
    let tables = domains::tables_of_domains(&schema_domains).len();
    tasks.push(
        new_task(
            2,
            &format!("{title} Schema Design"),
            "Design the tables of the new features",
            TaskType::Database,
            "db-001",
            6 + 3 * count(tables),
            schema_prompt("database schema", &keys),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Dependent)
        .io(
            vec![key(ARCH, "*")],
            schema_domains.iter().map(|d| key(SCHEMA, d)).collect(),
        ),
    );

    // Services may call both new features (task dependencies) and existing ones (inputs only:
    // those APIs already exist, nothing in this run produces them).
    let everything: Vec<&'static Feature> = new.iter().chain(existing.iter()).copied().collect();
    let first = tasks.len() + 1;
    let service_ids: Vec<String> = (0..new.len()).map(|i| task_id(first + i)).collect();
    for (i, f) in new.iter().enumerate() {
        let called = present_calls(f, &everything);
        let mut deps: Vec<&str> = called
            .iter()
            .filter_map(|c| new.iter().position(|g| g.key == c.key))
            .map(|p| service_ids[p].as_str())
            .collect();
        if deps.is_empty() {
            deps.push("task_2");
        }
        tasks.push(service_task(first + i, f, &called, &everything).deps(&deps));
    }

    let views: Vec<&str> = new
        .iter()
        .flat_map(|f| f.ui_views.iter().copied())
        .collect();
    let ui_n = tasks.len() + 1;
    tasks.push(
        new_task(
            ui_n,
            &format!("{title} UI Components"),
            "Generate React components for the new features",
            TaskType::CodeGeneration,
            "code-001",
            (15 + 10 * count(views.len())).clamp(25, 90),
            format!("Generate React components for {}.", join_list(&views)),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Independent)
        .io(vec![key(ARCH, "*")], vec![key(UI, new[0].key)]),
    );
    let service_refs: Vec<&str> = service_ids.iter().map(String::as_str).collect();
    tasks.push(
        new_task(
            ui_n + 1,
            "Integration Testing",
            "Generate tests for the new services and their integrations",
            TaskType::Testing,
            "code-001",
            15 + 5 * count(new.len()),
            format!(
                "Generate integration tests for {} and their calls to existing services.",
                join_list(&phrases)
            ),
        )
        .deps(&service_refs)
        .isolation(Isolation::Final)
        .io(vec!["*".to_string()], vec![key(TEST, new[0].key)]),
    );
    (
        tasks,
        format!(
            "Add Feature: {}",
            join_list(&new.iter().map(|f| f.label).collect::<Vec<_>>())
        ),
    )
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX / 16)
}
