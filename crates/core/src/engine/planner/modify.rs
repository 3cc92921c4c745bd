//! MODIFY_COMPONENT: a technology replacement ("Replace MySQL with PostgreSQL") becomes
//! usage analysis → canvas swap and schema migration side by side → configuration update →
//! verification (plus a rollback plan on the rich path). Other modifications get a short
//! analyse → update → verify plan around the named component.

use super::{new_task, TaskExt};
use crate::engine::artefacts::{key, MIGRATION, ROLLBACK, SETTINGS, SWAP, TEST, USAGE};
use crate::engine::context::CanvasContext;
use crate::engine::sanitize::{comment_text, slug, snake};
use crate::engine::technology::technology;
use crate::engine::text::title_case;
use crate::model::{IntentAnalysis, Isolation, Task, TaskType};

pub(super) fn plan(
    intent: &IntentAnalysis,
    ctx: &CanvasContext,
    prompt: &str,
    rich: bool,
) -> (Vec<Task>, String) {
    let techs: Vec<_> = intent
        .components
        .iter()
        .filter_map(|c| technology(c))
        .collect();
    let [from, to] = techs.as_slice() else {
        return generic(intent, prompt);
    };
    let affected = if ctx.related.is_empty() {
        "none found on the canvas yet".to_string()
    } else {
        ctx.related
            .iter()
            .map(|r| slug(r, "node"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (f, t) = (from.name, to.name);
    let mut tasks = vec![
        new_task(
            1,
            "Usage Analysis",
            "Find every component that uses the technology being replaced",
            TaskType::Analysis,
            "arch-001",
            10,
            format!("Find every component on the canvas that uses {f} ({affected}) and what depends on it."),
        )
        .isolation(Isolation::Independent)
        .io(Vec::new(), vec![key(USAGE, from.key)]),
        new_task(
            2,
            "Component Swap",
            "Replace the components on the canvas",
            TaskType::Architecture,
            "arch-001",
            15,
            format!("Replace {f} with {t} on the canvas: swap every {f} node for {t} and update the services that use them."),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Independent)
        .io(vec![key(USAGE, from.key)], vec![key(SWAP, from.key)]),
        new_task(
            3,
            "Schema Migration",
            "Generate the new DDL and the data migration",
            TaskType::Database,
            "db-001",
            25,
            format!("Generate {t} DDL and a data migration from {f} for the tables of the affected services."),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Independent)
        .io(vec![key(USAGE, from.key)], vec![key(MIGRATION, to.key)]),
        new_task(
            4,
            "Configuration Update",
            "Point compose files and services at the new technology",
            TaskType::Configuration,
            "code-001",
            15,
            format!("Update docker-compose.yml and each service's database configuration to use {t} instead of {f}."),
        )
        .deps(&["task_2"])
        .isolation(Isolation::Dependent)
        .io(vec![key(SWAP, from.key)], vec![key(SETTINGS, to.key)]),
    ];
    if rich {
        tasks.push(
            new_task(
                5,
                "Rollback Plan",
                "Describe how to return to the old technology safely",
                TaskType::Analysis,
                "arch-001",
                10,
                format!("Write a rollback plan from {t} back to {f}: cut-over checkpoints, dual-write window and data reconciliation."),
            )
            .deps(&["task_3"])
            .isolation(Isolation::Independent)
            .io(vec![key(MIGRATION, to.key)], vec![key(ROLLBACK, from.key)]),
        );
    }
    let before: Vec<String> = tasks.iter().skip(2).map(|t| t.id.clone()).collect();
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let n = tasks.len() + 1;
    tasks.push(
        new_task(
            n,
            "Migration Verification",
            "Verify schema and data after the migration",
            TaskType::Testing,
            "test-001",
            20,
            format!("Generate tests that verify the {t} schema and migrated data match {f}: tables, row counts and constraints."),
        )
        .deps(&before)
        .isolation(Isolation::Final)
        .io(vec!["*".to_string()], vec![key(TEST, "migration")]),
    );
    (tasks, format!("Component Replacement: {f} → {t}"))
}

/// Any other change to one component: analyse it, apply the change on the canvas, verify.
fn generic(intent: &IntentAnalysis, prompt: &str) -> (Vec<Task>, String) {
    let id = slug(&intent.target, "component");
    let k = intent.components.first().map_or_else(
        || snake(&intent.target, "component"),
        |c| snake(c, "component"),
    );
    let request = comment_text(prompt, 300);
    let tasks = vec![
        new_task(
            1,
            "Component Analysis",
            "Read the component's configuration and connections",
            TaskType::Analysis,
            "arch-001",
            10,
            format!("Analyze {id}: its configuration, connections and what depends on it."),
        )
        .isolation(Isolation::Independent)
        .io(Vec::new(), vec![key(USAGE, &k)]),
        new_task(
            2,
            "Component Update",
            "Apply the requested change to the component",
            TaskType::Architecture,
            "arch-001",
            20,
            format!("Update {id} as requested: {request}"),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Dependent)
        .io(vec![key(USAGE, &k)], vec![key(SWAP, &k)]),
        new_task(
            3,
            "Verification Tests",
            "Verify the changed component",
            TaskType::Testing,
            "test-001",
            15,
            format!("Generate tests that verify the change to {id}."),
        )
        .deps(&["task_2"])
        .isolation(Isolation::Final)
        .io(vec!["*".to_string()], vec![key(TEST, &k)]),
    ];
    (tasks, format!("Modify {}", title_case(&id)))
}
