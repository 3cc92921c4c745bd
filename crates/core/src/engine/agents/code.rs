//! Code agent (code-001): generates one service (Node.js/Express) from the data it owns,
//! the React frontend from the screens its prompt lists, and configuration updates after a
//! technology swap.

use serde_json::json;

use super::{
    dialect_of, home_map, schema_domains_from, system_features, system_title, AgentError,
    AgentInput, AgentOutput,
};
use crate::domains::{self, Feature};
use crate::engine::artefacts::{key, API, UI};
use crate::engine::mentions::{archetype_in, feature_for_node, features_in};
use crate::engine::sanitize::slug;
use crate::engine::templates::infra::{database_config_js, db_name, swapped_compose};
use crate::engine::templates::node_service::{render_service, ServiceSpec};
use crate::engine::templates::react::{components, render_frontend};
use crate::engine::text::title_case;
use crate::model::{IntentKind, NodeType};

/// The service spec of `feature` in this run: its tables are the domains whose home it is —
/// taken from the schema its dependencies produced when there is one (so an edited schema
/// reaches the service), else from the catalogue.
pub(crate) fn service_spec(input: &AgentInput<'_>, feature: &'static Feature) -> ServiceSpec {
    let homes = home_map(input);
    let owned: Vec<&'static str> = match schema_domains_from(input.dependencies) {
        Some(domains) => domains
            .into_iter()
            .filter(|d| homes.home_of(d) == Some(feature.key))
            .collect(),
        None => domains::expand_domains(feature.owns),
    };
    let owned = if owned.is_empty() {
        domains::expand_domains(feature.owns)
    } else {
        owned
    };
    ServiceSpec {
        service: feature.service.to_string(),
        label: feature.label.to_string(),
        api_base: feature.api_base.to_string(),
        port: feature.port,
        database: db_name(feature.database),
        tables: domains::tables_of_domains(&owned),
        peers: system_features(input),
        dialect: dialect_of(input),
        requirement: input.task.prompt.clone(),
    }
}

fn feature_named(input: &AgentInput<'_>, name: &str) -> Option<&'static Feature> {
    domains::feature(name)
        .or_else(|| domains::feature_by_service(name))
        .or_else(|| {
            input
                .canvas
                .nodes
                .iter()
                .find(|n| n.id == name)
                .and_then(|n| feature_for_node(&n.id, &n.label))
        })
        .or_else(|| {
            features_in(&input.task.prompt)
                .first()
                .and_then(|k| domains::feature(k))
        })
}

pub fn service(input: &AgentInput<'_>, name: &str) -> Result<AgentOutput, AgentError> {
    let spec = match feature_named(input, name) {
        Some(f) => service_spec(input, f),
        // A component the catalogue does not know: a service skeleton with health checks,
        // middleware and the error format, ready for hand-written endpoints.
        None => ServiceSpec {
            service: slug(name, "service"),
            label: title_case(&slug(name, "service")),
            api_base: slug(name, "service"),
            port: 3000,
            database: crate::engine::sanitize::snake(name, "app_db"),
            tables: Vec::new(),
            peers: system_features(input),
            dialect: dialect_of(input),
            requirement: input.task.prompt.clone(),
        },
    };
    let endpoints = spec.endpoints();
    let files = render_service(&spec);
    let fixing = input.intent.intent == IntentKind::FixComponent;
    let summary = if fixing {
        format!(
            "{} regenerated with fixes: validation, error format, health checks, timeouts and retries ({} endpoints)",
            spec.label,
            endpoints.len()
        )
    } else {
        format!(
            "{} generated with {} endpoints over {} tables",
            spec.label,
            endpoints.len(),
            spec.tables.len()
        )
    };
    let result = json!({
        "service": spec.service,
        "apiBase": format!("/api/{}", spec.api_base),
        "tables": spec.tables.iter().map(|t| t.name).collect::<Vec<_>>(),
        "endpoints": endpoints.iter().map(|e| json!({"method": e.method, "path": e.path})).collect::<Vec<_>>(),
        "stack": "node-express",
        "dialect": spec.dialect.technology(),
    });
    let mut produced = input.task.outputs.clone();
    if produced.is_empty() {
        produced.push(key(API, name));
    }
    let mut out = AgentOutput::new(summary, result)
        .with_files(input.task, files)
        .producing(produced);
    let existing = input.canvas.nodes.iter().find(|n| {
        n.id == spec.service
            || (n.kind == NodeType::Microservice
                && domains::feature_by_service(&spec.service).is_some_and(|f| {
                    feature_for_node(&n.id, &n.label).is_some_and(|g| g.key == f.key)
                }))
    });
    let mut node = match existing {
        Some(n) => n.clone(),
        None => super::node(
            &spec.service,
            NodeType::Microservice,
            &spec.label,
            json!({"instances": 1}),
        ),
    };
    node.config
        .insert("endpoints".into(), json!(endpoints.len()));
    node.config.insert(
        "tables".into(),
        json!(spec.tables.iter().map(|t| t.name).collect::<Vec<_>>()),
    );
    node.config.insert("status".into(), json!("generated"));
    out.patch.upsert_nodes.push(node);
    Ok(out)
}

/// React components for the screens the prompt lists ("product listing, ..., checkout
/// process"); on an ADD_FEATURE run only the new features' screens.
pub fn frontend(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let named = domains::order_features(&features_in(&input.task.prompt));
    let adding = input.intent.intent == IntentKind::AddFeature;
    let (all, only) = if adding {
        let new = if named.is_empty() {
            domains::order_features(&input.intent.components)
        } else {
            named
        };
        let mut keys: Vec<&str> = system_features(input).iter().map(|f| f.key).collect();
        keys.extend(new.iter().map(|f| f.key));
        (domains::order_features(&keys), Some(new))
    } else if named.is_empty() {
        (domains::order_features(&input.intent.components), None)
    } else {
        (named, None)
    };
    if all.is_empty() {
        return Err(super::unsupported(
            input.task,
            "the prompt names no screens the catalogue knows",
        ));
    }
    let title = archetype_in(&input.task.prompt)
        .map(|a| a.label.to_string())
        .unwrap_or_else(|| system_title(input));
    let files = render_frontend(&title, &all, only.as_deref());
    let count = files.len();
    let routes: Vec<&str> = components(only.as_deref().unwrap_or(&all), only.is_none())
        .iter()
        .filter_map(|c| c.route.map(|(path, _, _)| path))
        .collect();
    let web = input
        .canvas
        .nodes
        .iter()
        .find(|n| n.kind == NodeType::Frontend)
        .cloned()
        .unwrap_or_else(|| {
            super::node(
                "web-app",
                NodeType::Frontend,
                "Web App",
                json!({"framework": "react"}),
            )
        });
    let mut web = web;
    let previous = web
        .config
        .get("components")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let total = if adding {
        previous + count as u64
    } else {
        count as u64
    };
    web.config.insert("components".into(), json!(total));
    web.config.insert("framework".into(), json!("react"));
    let mut produced = input.task.outputs.clone();
    if produced.is_empty() {
        produced.push(key(UI, "web"));
    }
    let mut out = AgentOutput::new(
        format!("{count} React components generated"),
        json!({"components": count, "routes": routes, "features": all.iter().map(|f| f.key).collect::<Vec<_>>()}),
    )
    .with_files(input.task, files)
    .producing(produced);
    out.patch.upsert_nodes.push(web);
    Ok(out)
}

/// After a database swap: compose file and shared connection module for the new engine.
pub fn settings(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let (_, to) = super::replacement_of(input).ok_or_else(|| {
        super::unsupported(input.task, "the prompt names no technology to configure")
    })?;
    let databases: Vec<String> = input
        .canvas
        .nodes
        .iter()
        .filter(|n| n.kind == NodeType::Database)
        .map(|n| slug(&n.id, "db"))
        .collect();
    let services: Vec<(String, String)> = input
        .canvas
        .nodes
        .iter()
        .filter(|n| n.kind == NodeType::Microservice)
        .filter_map(|s| {
            input
                .canvas
                .edges
                .iter()
                .find(|e| e.source == s.id && databases.contains(&slug(&e.target, "db")))
                .map(|e| (slug(&s.id, "service"), slug(&e.target, "db")))
        })
        .collect();
    let files = vec![
        swapped_compose(to.key, &databases, &services),
        database_config_js(to.key),
    ];
    Ok(AgentOutput::new(
        format!(
            "docker-compose.yml and database configuration of {} services moved to {}",
            services.len(),
            to.name
        ),
        json!({"technology": to.key, "databases": databases, "services": services.iter().map(|(s, _)| s).collect::<Vec<_>>()}),
    )
    .with_files(input.task, files)
    .producing(input.task.outputs.clone()))
}
