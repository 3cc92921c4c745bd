//! Database agent (db-001): designs the schema of the data domains a task names (with
//! primary/foreign keys, indexes and checks) and writes technology migrations.

use serde_json::json;

use super::{dialect_of, system_features, system_title, AgentError, AgentInput, AgentOutput};
use crate::domains::{self, HomeMap};
use crate::engine::artefacts::{key, SCHEMA};
use crate::engine::mentions::{schema_domains_in, technologies_in};
use crate::engine::technology::SqlDialect;
use crate::engine::templates::docs::{migration_notes_md, pgloader_load};
use crate::engine::templates::sql::render_schema;
use crate::engine::templates::FileDraft;
use crate::model::NodeType;

/// The schema for the domains the task's prompt names (companions included): what the prompt
/// says decides the tables, so an edited prompt ("... AND recommendation engine") changes
/// them.
pub fn schema(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let mut domain_keys = schema_domains_in(&input.task.prompt);
    if domain_keys.is_empty() {
        let keys: Vec<&str> = system_features(input).iter().map(|f| f.key).collect();
        domain_keys = domains::domains_of_features(&keys);
    }
    if domain_keys.is_empty() {
        return Err(super::unsupported(
            input.task,
            "the prompt names no data the catalogue knows (users, products, orders, ...)",
        ));
    }
    let dialect = technologies_in(&input.task.prompt)
        .iter()
        .find_map(|t| SqlDialect::for_technology(t.key))
        .unwrap_or_else(|| dialect_of(input));
    let tables = domains::tables_of_domains(&domain_keys);
    let title = format!("Database schema for {}", system_title(input));
    let (sql, stats) = render_schema(&title, &input.task.prompt, &tables, dialect);

    // Record each table on the database node of the service that owns it, when the canvas
    // has that node (the architecture task created it).
    let homes = HomeMap::new(
        &system_features(input)
            .iter()
            .map(|f| f.key)
            .collect::<Vec<_>>(),
    );
    let mut per_db: Vec<(&str, Vec<&str>)> = Vec::new();
    for d in &domain_keys {
        let Some(db) = homes
            .home_of(d)
            .and_then(domains::feature)
            .map(|f| f.database)
        else {
            continue;
        };
        let names = domains::tables_of_domains(&[*d])
            .into_iter()
            .map(|t| t.name);
        match per_db.iter_mut().find(|(id, _)| *id == db) {
            Some((_, list)) => list.extend(names),
            None => per_db.push((db, names.collect())),
        }
    }
    let mut out = AgentOutput::new(
        format!("Database schema with {} tables designed", stats.tables),
        json!({
            "tables": tables.iter().map(|t| t.name).collect::<Vec<_>>(),
            "domains": domain_keys,
            "dialect": dialect.technology(),
            "foreignKeys": stats.foreign_keys,
            "indexes": stats.indexes,
        }),
    )
    .with_files(
        input.task,
        vec![FileDraft::new("database/schema.sql", "sql", sql)],
    )
    .producing(domain_keys.iter().map(|d| key(SCHEMA, d)).collect());
    for (db, list) in per_db {
        if let Some(n) = input
            .canvas
            .nodes
            .iter()
            .find(|n| n.id == db && n.kind == NodeType::Database)
        {
            let mut updated = n.clone();
            updated.config.insert("tables".into(), json!(list));
            out.patch.upsert_nodes.push(updated);
        }
    }
    Ok(out)
}

/// DDL of the new technology for every table of the system, plus how to move the data.
pub fn migration(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let Some((from, to)) = super::replacement_of(input) else {
        return Err(super::unsupported(
            input.task,
            "a migration needs the old and the new technology",
        ));
    };
    let keys: Vec<&str> = system_features(input).iter().map(|f| f.key).collect();
    let tables = domains::tables_of_domains(&domains::domains_of_features(&keys));
    let databases: Vec<String> = input
        .canvas
        .nodes
        .iter()
        .filter(|n| {
            n.kind == NodeType::Database
                && crate::engine::mentions::technology_for_node(n)
                    .is_some_and(|t| t.key == from.key)
        })
        .map(|n| crate::engine::sanitize::slug(&n.id, "db"))
        .collect();
    let dialect = SqlDialect::for_technology(to.key);
    let mut files = Vec::new();
    if let Some(d) = dialect {
        let (sql, _) = render_schema(
            &format!("Migration 001: {} to {}", from.name, to.name),
            &input.task.prompt,
            &tables,
            d,
        );
        files.push(FileDraft::new(
            format!("database/migrations/001_{}_to_{}.sql", from.key, to.key),
            "sql",
            sql,
        ));
        if from.key == "mysql" && d == SqlDialect::Postgres {
            files.push(pgloader_load(&databases));
        }
    } else {
        files.push(migration_notes_md(from.name, to.name, &tables, None));
    }
    Ok(AgentOutput::new(
        format!(
            "{} schema for {} tables and data migration from {} generated",
            to.name,
            tables.len(),
            from.name
        ),
        json!({
            "from": from.key,
            "to": to.key,
            "tables": tables.iter().map(|t| t.name).collect::<Vec<_>>(),
            "dialect": dialect.map(|d| d.technology()),
            "databases": databases,
        }),
    )
    .with_files(input.task, files)
    .producing(input.task.outputs.clone()))
}
