//! Context extraction: what the canvas already contains and, for component intents, the
//! target node with its current configuration, capacity and bottlenecks. Becomes the data
//! of the `contextExtracted` event; agents read it instead of re-parsing the canvas.

use serde::{Deserialize, Serialize};

use crate::capacity::{
    format_rps, Bottleneck, DatabaseSetup, ServiceProfile, SessionStore, DEFAULT_BASE_RPS,
};
use crate::engine::intent::nodes_using;
use crate::engine::mentions::{feature_for_node, technology_for_node};
use crate::engine::technology::technology;
use crate::model::{Canvas, Config, EdgeType, IntentAnalysis, IntentKind, Node, NodeType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanvasContext {
    /// "empty" or "existing", as in the design's context object.
    #[serde(rename = "type")]
    pub kind: String,
    pub is_empty: bool,
    pub components: Vec<ComponentSummary>,
    /// 0.0 for an empty canvas, growing with its size (1.0 at 40 nodes).
    pub complexity: f64,
    pub target: Option<TargetComponent>,
    /// Other nodes the intent touches: the target's databases and caches, or every node
    /// built on a technology being replaced.
    #[serde(default)]
    pub related: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentSummary {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NodeType,
    pub label: String,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetComponent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: NodeType,
    pub label: String,
    /// Catalogue feature key, when the node is a known kind of service.
    pub feature: Option<String>,
    /// The design's `current_config` object.
    pub current_config: CurrentConfig,
    /// The node id of its primary database, when one is connected.
    pub database_node: Option<String>,
    pub bottlenecks: Vec<Bottleneck>,
    /// The capacity model's view of it.
    pub profile: ServiceProfile,
}

/// Keys and wording of Example 2: `{"instances": 1, "database": "MySQL single instance",
/// "session_store": "Memory", "estimated_capacity": "100 RPS"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentConfig {
    pub instances: u32,
    pub database: Option<String>,
    pub session_store: String,
    pub read_replicas: u32,
    pub caching: Option<String>,
    pub estimated_capacity: String,
    pub estimated_capacity_rps: u64,
}

/// Summarises `canvas` for `intent`.
pub fn extract_context(canvas: &Canvas, intent: &IntentAnalysis) -> CanvasContext {
    crate::engine::mentions::analysis(|| context_of(canvas, intent))
}

fn context_of(canvas: &Canvas, intent: &IntentAnalysis) -> CanvasContext {
    let is_empty = canvas.nodes.is_empty();
    let components = canvas
        .nodes
        .iter()
        .map(|n| ComponentSummary {
            id: n.id.clone(),
            kind: n.kind,
            label: n.label.clone(),
            config: n.config.clone(),
        })
        .collect();
    let complexity = ((canvas.nodes.len() as f64 / 40.0).min(1.0) * 100.0).round() / 100.0;

    let wants_target = matches!(
        intent.intent,
        IntentKind::ScaleComponent
            | IntentKind::FixComponent
            | IntentKind::ModifyComponent
            | IntentKind::Explain
    );
    let target_node = if wants_target {
        find_target(canvas, intent)
    } else {
        None
    };
    let target = target_node.map(|n| describe_target(canvas, n));

    let mut related: Vec<String> = Vec::new();
    if let Some(t) = &target {
        related.extend(neighbours(canvas, &t.id).into_iter().map(|n| n.id.clone()));
    }
    if intent.intent == IntentKind::ModifyComponent {
        if let Some(tech) = intent.components.first().and_then(|c| technology(c)) {
            for n in nodes_using(tech, canvas) {
                if !related.contains(&n.id) {
                    related.push(n.id.clone());
                }
            }
        }
    }

    CanvasContext {
        kind: if is_empty { "empty" } else { "existing" }.to_string(),
        is_empty,
        components,
        complexity,
        target,
        related,
    }
}

/// The node an intent's target names: exact id, else a node of the target's feature
/// (services first).
fn find_target<'a>(canvas: &'a Canvas, intent: &IntentAnalysis) -> Option<&'a Node> {
    if let Some(n) = canvas.nodes.iter().find(|n| n.id == intent.target) {
        return Some(n);
    }
    let feature = crate::engine::intent::target_feature(intent)?;
    canvas
        .nodes
        .iter()
        .filter(|n| feature_for_node(&n.id, &n.label).is_some_and(|f| f.key == feature.key))
        .min_by_key(|n| n.kind != NodeType::Microservice)
}

/// Nodes connected to `id` by an edge in either direction, in canvas order.
fn neighbours<'a>(canvas: &'a Canvas, id: &str) -> Vec<&'a Node> {
    canvas
        .nodes
        .iter()
        .filter(|n| {
            canvas.edges.iter().any(|e| {
                (e.source == id && e.target == n.id) || (e.target == id && e.source == n.id)
            })
        })
        .collect()
}

fn config_str<'a>(config: &'a Config, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| config.get(*k).and_then(|v| v.as_str()))
}

fn config_u32(config: &Config, keys: &[&str]) -> Option<u32> {
    keys.iter().find_map(|k| {
        config.get(*k).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        })
    })
}

fn config_flag(config: &Config, keys: &[&str]) -> bool {
    keys.iter().any(|k| match config.get(*k) {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => {
            let s = s.to_lowercase();
            !s.is_empty() && s != "none" && s != "false" && s != "no"
        }
        _ => false,
    })
}

/// Reads the capacity-relevant configuration of `node`, filling gaps from its edges and
/// from conservative defaults (one instance; an auth service without a declared session
/// store keeps sessions in memory, as the design's "basic auth service" does).
pub fn describe_target(canvas: &Canvas, node: &Node) -> TargetComponent {
    let feature = feature_for_node(&node.id, &node.label);
    let near = neighbours(canvas, &node.id);
    let instances = config_u32(&node.config, &["instances", "replicas_count"])
        .unwrap_or(1)
        .max(1);

    let linked_cache = near.iter().any(|n| {
        n.kind == NodeType::Cache
            && technology_for_node(n).is_none_or(|t| t.key == "redis")
            && canvas
                .edges
                .iter()
                .any(|e| e.source == node.id && e.target == n.id && e.kind == EdgeType::Cache)
    });
    let session_store =
        match config_str(&node.config, &["session_store", "sessionStore", "sessions"]) {
            Some(s) => {
                let s = s.to_lowercase();
                if s.contains("redis") && s.contains("cluster") {
                    SessionStore::RedisCluster {
                        nodes: config_u32(&node.config, &["redis_nodes"]).unwrap_or(3),
                    }
                } else if s.contains("redis") {
                    SessionStore::Redis
                } else if s.contains("jwt") || s.contains("stateless") || s == "none" {
                    SessionStore::Stateless
                } else {
                    SessionStore::Memory
                }
            }
            None if feature.is_some_and(|f| f.key == "auth") => {
                if linked_cache {
                    SessionStore::Redis
                } else {
                    SessionStore::Memory
                }
            }
            None => SessionStore::Stateless,
        };
    let validation_cache = config_flag(
        &node.config,
        &["jwt_cache", "validation_cache", "caching", "cache"],
    );

    let db_node = near.iter().copied().find(|n| {
        n.kind == NodeType::Database
            && canvas
                .edges
                .iter()
                .any(|e| e.source == node.id && e.target == n.id && e.kind != EdgeType::Replication)
            && !is_replica(canvas, n)
    });
    let engine = config_str(&node.config, &["database", "db"])
        .and_then(|s| {
            crate::engine::mentions::technologies_in(s)
                .first()
                .map(|t| t.name)
        })
        .or_else(|| db_node.and_then(technology_for_node).map(|t| t.name))
        .or_else(|| db_node.map(|_| "MySQL"));
    let replicas_from_edges = db_node.map_or(0, |db| {
        canvas
            .edges
            .iter()
            .filter(|e| e.source == db.id && e.kind == EdgeType::Replication)
            .count()
    });
    let read_replicas = config_u32(&node.config, &["read_replicas"])
        .or_else(|| db_node.and_then(|db| config_u32(&db.config, &["read_replicas", "replicas"])))
        .unwrap_or(0)
        .max(u32::try_from(replicas_from_edges).unwrap_or(u32::MAX));
    let database = engine.map(|e| DatabaseSetup {
        engine: e.to_string(),
        read_replicas,
    });

    let profile = ServiceProfile {
        base_rps: config_u32(&node.config, &["base_rps"])
            .map(u64::from)
            .or(feature.map(|f| f.base_rps))
            .unwrap_or(DEFAULT_BASE_RPS),
        instances,
        session_store,
        validation_cache,
        cache_purpose: feature.map_or("hot reads", |f| f.cache_purpose).to_string(),
        database,
    };
    let capacity = profile.capacity_rps();
    TargetComponent {
        id: node.id.clone(),
        kind: node.kind,
        label: node.label.clone(),
        feature: feature.map(|f| f.key.to_string()),
        current_config: CurrentConfig {
            instances,
            database: profile.database.as_ref().map(DatabaseSetup::describe),
            session_store: session_store.describe(),
            read_replicas,
            caching: validation_cache.then(|| format!("Redis for {}", profile.cache_purpose)),
            estimated_capacity: format_rps(capacity),
            estimated_capacity_rps: capacity,
        },
        database_node: db_node.map(|n| n.id.clone()),
        bottlenecks: profile.bottlenecks(),
        profile,
    }
}

fn is_replica(canvas: &Canvas, node: &Node) -> bool {
    canvas
        .edges
        .iter()
        .any(|e| e.target == node.id && e.kind == EdgeType::Replication)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures::{example_2_canvas, EXAMPLE_1_PROMPT, EXAMPLE_2_PROMPT};
    use crate::engine::intent::analyse_intent;

    #[test]
    fn example_1_context_is_empty() {
        let canvas = Canvas::default();
        let intent = analyse_intent(EXAMPLE_1_PROMPT, &canvas).expect("intent");
        let ctx = extract_context(&canvas, &intent);
        assert!(ctx.is_empty);
        assert_eq!(ctx.kind, "empty");
        assert_eq!(ctx.complexity, 0.0);
        assert!(ctx.target.is_none());
        let json = serde_json::to_value(&ctx).expect("serialises");
        assert_eq!(json["isEmpty"], serde_json::json!(true));
        assert_eq!(json["type"], serde_json::json!("empty"));
    }

    #[test]
    fn example_2_context_reads_the_auth_service() {
        let canvas = example_2_canvas();
        let intent = analyse_intent(EXAMPLE_2_PROMPT, &canvas).expect("intent");
        let ctx = extract_context(&canvas, &intent);
        assert!(!ctx.is_empty);
        let target = ctx.target.as_ref().expect("auth-service found");
        assert_eq!(target.id, "auth-service");
        assert_eq!(target.kind, NodeType::Microservice);
        assert_eq!(target.feature.as_deref(), Some("auth"));
        assert_eq!(target.database_node.as_deref(), Some("users-db"));
        let json = serde_json::to_value(&target.current_config).expect("serialises");
        assert_eq!(json["instances"], 1);
        assert_eq!(json["database"], "MySQL single instance");
        assert_eq!(json["session_store"], "Memory");
        assert_eq!(json["estimated_capacity"], "100 RPS");
        assert_eq!(target.bottlenecks.len(), 3);
        assert!(ctx.related.contains(&"users-db".to_string()));
        let back: CanvasContext =
            serde_json::from_value(serde_json::to_value(&ctx).expect("serialises"))
                .expect("parses");
        assert_eq!(back, ctx);
    }

    #[test]
    fn configuration_is_read_from_config_and_edges() {
        let mut canvas = example_2_canvas();
        for n in &mut canvas.nodes {
            if n.id == "auth-service" {
                n.config.insert("instances".into(), "4".into());
                n.config.insert("session_store".into(), "redis".into());
                n.config.insert("jwt_cache".into(), true.into());
            }
        }
        canvas.nodes.push(crate::engine::fixtures::node(
            "users-db-replica",
            NodeType::Database,
            "Users Replica",
        ));
        canvas.edges.push(crate::engine::fixtures::edge(
            "users-db",
            "users-db-replica",
            EdgeType::Replication,
        ));
        let node = canvas
            .nodes
            .iter()
            .find(|n| n.id == "auth-service")
            .expect("node")
            .clone();
        let t = describe_target(&canvas, &node);
        assert_eq!(t.current_config.instances, 4);
        assert_eq!(t.current_config.session_store, "Redis");
        assert_eq!(t.current_config.read_replicas, 1);
        assert_eq!(
            t.current_config.database.as_deref(),
            Some("MySQL with 1 read replica")
        );
        // 100 × 2.5 × 1.6 = 400 per instance, 4 instances.
        assert_eq!(t.current_config.estimated_capacity_rps, 1600);
    }

    #[test]
    fn modify_context_lists_every_node_on_the_old_technology() {
        let canvas = example_2_canvas();
        let intent = analyse_intent("Replace MySQL with PostgreSQL", &canvas).expect("intent");
        let ctx = extract_context(&canvas, &intent);
        // The auth service declares `database: mysql` in its config, so it is affected too.
        assert_eq!(
            ctx.related,
            ["auth-service", "users-db", "products-db", "orders-db"]
        );
    }
}
