//! Architecture agent (arch-001): designs the service landscape (or fits new features into
//! it), swaps technologies on the canvas, analyses where a technology is used, and writes
//! design reviews and rollback plans. Canvas patches + documents; no service code.

use serde_json::json;

use super::{
    edge, event, home_map, node, replacement_of, system_features, system_title, AgentInput,
    AgentOutput,
};
use crate::canvas::missing_analysis;
use crate::domains::{self, Feature, HomeMap};
use crate::engine::artefacts::{key, ARCH};
use crate::engine::intent::nodes_using;
use crate::engine::mentions::{feature_for_node, features_in};
use crate::engine::sanitize::{comment_text, slug};
use crate::engine::technology::SqlDialect;
use crate::engine::templates::api::endpoints;
use crate::engine::templates::docs::{
    architecture_md, design_review_md, openapi_yaml, rollback_md, ServiceDoc,
};
use crate::engine::templates::infra::{gateway_nginx, system_compose};
use crate::model::{CanvasPatch, EdgeType, EventType, IntentKind, NodeType};

use super::AgentError;

/// Services of `features` as the documents describe them: each with the tables whose home
/// it is and the features it calls.
pub(crate) fn service_docs(features: &[&'static Feature], homes: &HomeMap) -> Vec<ServiceDoc> {
    let keys: Vec<&str> = features.iter().map(|f| f.key).collect();
    let domains = domains::domains_of_features(&keys);
    features
        .iter()
        .map(|f| {
            let owned: Vec<&str> = domains
                .iter()
                .copied()
                .filter(|d| homes.home_of(d) == Some(f.key))
                .collect();
            let tables = domains::tables_of_domains(&owned);
            ServiceDoc {
                feature: f,
                calls: features
                    .iter()
                    .filter(|g| f.talks_to().any(|k| k == g.key))
                    .copied()
                    .collect(),
                endpoints: endpoints(&tables),
                tables,
            }
        })
        .collect()
}

/// Designs the system (BUILD) or adds features to the canvas (ADD_FEATURE).
pub fn design(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let adding = input.intent.intent == IntentKind::AddFeature
        || (!input.canvas.nodes.is_empty() && input.intent.intent != IntentKind::BuildFromScratch);
    let on_canvas: Vec<&'static Feature> = input
        .canvas
        .nodes
        .iter()
        .filter(|n| n.kind == NodeType::Microservice)
        .filter_map(|n| feature_for_node(&n.id, &n.label))
        .collect();
    let mentioned: Vec<&str> = features_in(&input.task.prompt)
        .into_iter()
        .filter(|k| !adding || !on_canvas.iter().any(|f| f.key == *k))
        .collect();
    let keys: Vec<String> = if mentioned.is_empty() {
        input.intent.components.clone()
    } else {
        mentioned.iter().map(|k| k.to_string()).collect()
    };
    let new = domains::order_features(&keys);
    if new.is_empty() {
        return Err(super::unsupported(
            input.task,
            "the prompt names no feature the catalogue knows",
        ));
    }
    let everything = if adding {
        let mut all: Vec<&str> = system_features(input).iter().map(|f| f.key).collect();
        all.extend(new.iter().map(|f| f.key));
        domains::order_features(&all)
    } else {
        new.clone()
    };
    let dialect = super::dialect_of(input);
    let engine = dialect.technology();
    let homes = if adding {
        home_map(input)
    } else {
        HomeMap::new(&new.iter().map(|f| f.key).collect::<Vec<_>>())
    };
    let docs = service_docs(&everything, &homes);
    let with_cache = everything.iter().any(|f| f.uses_cache);

    let mut patch = CanvasPatch::default();
    let existing_id = |f: &Feature| -> Option<String> {
        input
            .canvas
            .nodes
            .iter()
            .find(|n| {
                n.kind == NodeType::Microservice
                    && feature_for_node(&n.id, &n.label).is_some_and(|g| g.key == f.key)
            })
            .map(|n| n.id.clone())
    };
    let existing_gateway = input
        .canvas
        .nodes
        .iter()
        .find(|n| n.kind == NodeType::Gateway);
    let gateway = existing_gateway.map_or_else(|| "api-gateway".to_string(), |n| n.id.clone());
    // When adding to a design without a gateway there is nothing to route through.
    let routed = !adding || existing_gateway.is_some();
    let cache_id = input
        .canvas
        .nodes
        .iter()
        .find(|n| n.kind == NodeType::Cache)
        .map_or_else(|| "redis-cache".to_string(), |n| n.id.clone());
    if !adding {
        patch.upsert_nodes.push(node(
            "web-app",
            NodeType::Frontend,
            "Web App",
            json!({"framework": "react"}),
        ));
        patch.upsert_nodes.push(node(
            "load-balancer",
            NodeType::LoadBalancer,
            "Load Balancer",
            json!({"algorithm": "round_robin", "tls": true}),
        ));
        patch.upsert_nodes.push(node(
            &gateway,
            NodeType::Gateway,
            "API Gateway",
            json!({"engine": "nginx", "rate_limit": "20r/s per client"}),
        ));
        patch
            .add_edges
            .push(edge("web-app", "load-balancer", EdgeType::ApiCall));
        patch
            .add_edges
            .push(edge("load-balancer", &gateway, EdgeType::ApiCall));
    }
    let mut databases: Vec<&str> = Vec::new();
    for d in docs
        .iter()
        .filter(|d| new.iter().any(|n| n.key == d.feature.key))
    {
        let f = d.feature;
        let mut config = json!({
            "instances": 1,
            "port": f.port,
            "stack": "node-express",
            "database": engine,
            "api_base": f.api_base,
            "tables": d.tables.iter().map(|t| t.name).collect::<Vec<_>>(),
            "endpoints": d.endpoints.len(),
        });
        // The design's "basic auth service" keeps refresh sessions in process memory; the
        // scaling template moves them to Redis when asked.
        if f.key == "auth" {
            config["session_store"] = json!("memory");
        }
        patch
            .upsert_nodes
            .push(node(f.service, NodeType::Microservice, f.label, config));
        if routed {
            patch
                .add_edges
                .push(edge(&gateway, f.service, EdgeType::ApiCall));
        }
        let db_on_canvas = input.canvas.nodes.iter().any(|n| n.id == f.database);
        if !databases.contains(&f.database) && !db_on_canvas {
            databases.push(f.database);
            patch.upsert_nodes.push(node(
                f.database,
                NodeType::Database,
                &crate::engine::text::title_case(&f.database.replace("-db", " DB")),
                json!({"engine": engine, "version": if dialect == SqlDialect::MySql { "8.0" } else { "16" }, "read_replicas": 0}),
            ));
        }
        patch
            .add_edges
            .push(edge(f.service, f.database, EdgeType::Db));
        for called in everything
            .iter()
            .filter(|g| f.talks_to().any(|k| k == g.key))
        {
            let target = existing_id(called).unwrap_or_else(|| called.service.to_string());
            patch
                .add_edges
                .push(edge(f.service, &target, EdgeType::ApiCall));
        }
        if let Some(e) = f.external {
            patch
                .upsert_nodes
                .push(node(e.id, NodeType::External, e.label, json!({})));
            patch
                .add_edges
                .push(edge(f.service, e.id, EdgeType::ApiCall));
        }
        if f.uses_cache {
            patch
                .add_edges
                .push(edge(f.service, &cache_id, EdgeType::Cache));
        }
    }
    if new.iter().any(|f| f.uses_cache) && !input.canvas.nodes.iter().any(|n| n.id == cache_id) {
        patch.upsert_nodes.push(node(
            &cache_id,
            NodeType::Cache,
            "Redis Cache",
            json!({"engine": "redis", "purpose": "read cache"}),
        ));
    }
    // Callers keep the catalogue's direction (caller → callee); one edge per id.
    let mut seen = std::collections::BTreeSet::new();
    patch.add_edges.retain(|e| seen.insert(e.id.clone()));

    let title = system_title(input);
    let files = vec![
        architecture_md(&title, &input.task.prompt, &docs, dialect, with_cache),
        openapi_yaml(&title, &docs),
        system_compose(&title, &everything, dialect, with_cache),
        gateway_nginx(&everything),
    ];
    let services: Vec<&str> = new.iter().map(|f| f.service).collect();
    let mut all_dbs: Vec<&str> = Vec::new();
    for f in &everything {
        if !all_dbs.contains(&f.database) {
            all_dbs.push(f.database);
        }
    }
    let mut infrastructure = vec!["Load Balancer", "API Gateway"];
    if with_cache {
        infrastructure.push("Redis Cache");
    }
    let summary = if adding {
        format!(
            "Architecture updated with {} new service{} ({})",
            new.len(),
            if new.len() == 1 { "" } else { "s" },
            services.join(", ")
        )
    } else {
        format!("Architecture designed with {} microservices", new.len())
    };
    let result = json!({
        "architecture": {
            "services": services,
            "databases": all_dbs,
            "apis": ["REST APIs", "OpenAPI 3 specification"],
            "infrastructure": infrastructure,
        },
        "canvas_updates": {"nodes": patch.upsert_nodes.len(), "edges": patch.add_edges.len()},
    });
    let mut produced = input.task.outputs.clone();
    if produced.is_empty() {
        if !adding {
            produced.push(key(ARCH, "system"));
        }
        produced.extend(new.iter().map(|f| key(ARCH, f.key)));
    }
    let mut out = AgentOutput::new(summary, result)
        .with_files(input.task, files)
        .producing(produced);
    out.patch = patch;
    Ok(out)
}

/// Where the technology being replaced is used (or, without one, how the target is wired).
pub fn usage(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let produced = input.task.outputs.clone();
    if let Some((from, to)) = replacement_of(input) {
        let nodes: Vec<&str> = nodes_using(from, input.canvas)
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        let dependents: Vec<&str> = input
            .canvas
            .edges
            .iter()
            .filter(|e| nodes.contains(&e.target.as_str()) && !nodes.contains(&e.source.as_str()))
            .map(|e| e.source.as_str())
            .fold(Vec::new(), |mut acc, s| {
                if !acc.contains(&s) {
                    acc.push(s);
                }
                acc
            });
        let summary = if nodes.is_empty() {
            format!(
                "{} is not on the canvas yet; the migration covers the generated schema",
                from.name
            )
        } else {
            format!(
                "{} used by {} component{} ({})",
                from.name,
                nodes.len(),
                if nodes.len() == 1 { "" } else { "s" },
                nodes.join(", ")
            )
        };
        let result =
            json!({"from": from.key, "to": to.key, "nodes": nodes, "dependents": dependents});
        return Ok(AgentOutput::new(summary, result).producing(produced));
    }
    let target = input.context.target.as_ref();
    let id = target.map_or_else(|| input.intent.target.clone(), |t| t.id.clone());
    let links: Vec<String> = input
        .canvas
        .edges
        .iter()
        .filter(|e| e.source == id || e.target == id)
        .map(|e| format!("{} → {}", e.source, e.target))
        .collect();
    let summary = format!(
        "{} has {} connection{}",
        slug(&id, "component"),
        links.len(),
        if links.len() == 1 { "" } else { "s" }
    );
    let result =
        json!({"target": id, "connections": links, "config": target.map(|t| &t.current_config)});
    Ok(AgentOutput::new(summary, result).producing(produced))
}

/// Swaps every node built on the old technology for the new one (REPLACE_COMPONENT), and
/// points services that name it in their config at the new one.
pub fn swap(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let produced = input.task.outputs.clone();
    let Some((from, to)) = replacement_of(input) else {
        // A free-form change: record it on the target node for the next agents and people.
        let id = input
            .context
            .target
            .as_ref()
            .map_or_else(|| input.intent.target.clone(), |t| t.id.clone());
        let mut out = AgentOutput::new(
            format!("Updated {} on the canvas", slug(&id, "component")),
            json!({"target": id, "change": comment_text(&input.task.prompt, 200)}),
        )
        .producing(produced);
        if let Some(n) = input.canvas.nodes.iter().find(|n| n.id == id) {
            let mut updated = n.clone();
            updated.config.insert(
                "last_change".into(),
                json!(comment_text(&input.task.prompt, 200)),
            );
            out.patch.upsert_nodes.push(updated);
        }
        return Ok(out);
    };
    let mut patch = CanvasPatch::default();
    let mut replaced = Vec::new();
    for n in nodes_using(from, input.canvas) {
        let mut new = n.clone();
        new.config.insert("engine".into(), json!(to.key));
        new.config.insert(
            "version".into(),
            json!(to.image.rsplit(':').next().unwrap_or("latest")),
        );
        if new.config.contains_key("database") {
            new.config.insert("database".into(), json!(to.key));
        }
        new.label = if n.label.contains(from.name) {
            n.label.replace(from.name, to.name)
        } else if n.kind == NodeType::Microservice {
            n.label.clone()
        } else {
            format!("{} ({})", n.label, to.name)
        };
        if n.kind == NodeType::Microservice {
            patch.upsert_nodes.push(new);
        } else {
            new.kind = to.node_type();
            patch.replace_nodes.push((n.id.clone(), new));
            replaced.push(n.id.clone());
        }
    }
    let summary = format!(
        "Replaced {} {} node{} with {}",
        replaced.len(),
        from.name,
        if replaced.len() == 1 { "" } else { "s" },
        to.name
    );
    let mut out = AgentOutput::new(
        summary,
        json!({"from": from.key, "to": to.key, "replaced": replaced}),
    )
    .producing(produced);
    out.events.push(event(
        EventType::ComponentReplaced,
        json!({"accuracy": 100, "strategy": "REPLACE_COMPONENT", "replaced": replaced, "technology": to.key}),
    ));
    out.patch = patch;
    Ok(out)
}

/// Rollback runbook for a technology migration.
pub fn rollback(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let Some((from, to)) = replacement_of(input) else {
        return Err(super::unsupported(
            input.task,
            "a rollback plan needs the old and the new technology",
        ));
    };
    let keys: Vec<&str> = system_features(input).iter().map(|f| f.key).collect();
    let tables = domains::tables_of_domains(&domains::domains_of_features(&keys));
    Ok(AgentOutput::new(
        format!("Rollback plan from {} to {} written", to.name, from.name),
        json!({"from": from.key, "to": to.key, "tables": tables.len()}),
    )
    .with_files(input.task, vec![rollback_md(from.name, to.name, &tables)])
    .producing(input.task.outputs.clone()))
}

/// A design review: the target's configuration, capacity and bottlenecks, and what the
/// canvas lacks (rule-based missing analysis).
pub fn review(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let findings = missing_analysis(input.canvas);
    let mut lines = vec![format!(
        "The canvas has {} components and {} connections.\n",
        input.canvas.nodes.len(),
        input.canvas.edges.len()
    )];
    let subject = match &input.context.target {
        Some(t) => {
            let c = &t.current_config;
            lines.push(format!("## {}\n", slug(&t.id, "component")));
            lines.push(format!("- Instances: {}", c.instances));
            lines.push(format!("- Session store: {}", c.session_store));
            lines.push(format!(
                "- Database: {}",
                c.database.as_deref().unwrap_or("none")
            ));
            lines.push(format!("- Estimated capacity: {}\n", c.estimated_capacity));
            lines.push("### Bottlenecks\n".to_string());
            if t.bottlenecks.is_empty() {
                lines.push("None found by the capacity model.".to_string());
            }
            for b in &t.bottlenecks {
                lines.push(format!("- {}", b.description));
            }
            slug(&t.id, "component")
        }
        None => "the current design".to_string(),
    };
    lines.push("\n## What the design lacks\n".to_string());
    if findings.is_empty() {
        lines.push(
            "Nothing: replicas, load balancing, shared sessions and monitoring are in place."
                .to_string(),
        );
    }
    for f in &findings {
        lines.push(format!("- {}", comment_text(&f.message, 300)));
    }
    let bottlenecks = input
        .context
        .target
        .as_ref()
        .map_or(0, |t| t.bottlenecks.len());
    Ok(AgentOutput::new(
        format!("Design review of {subject}: {bottlenecks} bottlenecks, {} findings", findings.len()),
        json!({"bottlenecks": bottlenecks, "findings": findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>()}),
    )
    .with_files(input.task, vec![design_review_md(&subject, &lines)])
    .producing(input.task.outputs.clone()))
}
