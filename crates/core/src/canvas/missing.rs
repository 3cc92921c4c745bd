//! Rule-based "missing analysis" of a canvas (design Example 2, between merge iterations):
//! finds what a design lacks — replicas, load balancers, shared session stores, monitoring,
//! connections — and suggests a patch for each. Suggests only; `merge` applies.
//!
//! Config keys read: databases `read_replicas` (or `replicas`); replicas `replica_of` or
//! `role: "read_replica"`; services `instances` and `session_store`; any node `service`,
//! `owner` or `used_by` naming the node that uses it. Numbers may be JSON numbers or text
//! starting with digits ("2 read replicas").

use super::{edge_id, merge, MergeOutcome};
use crate::model::{Canvas, CanvasPatch, Config, Edge, EdgeType, Node, NodeType};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// A database is configured with more read replicas than the canvas shows.
    ReplicasMissing,
    /// A read-replica node has no replication edge.
    ReplicaNotConnected,
    /// A service runs several instances with nothing in front to spread the load.
    NoLoadBalancer,
    /// A service runs several instances but keeps sessions in process memory.
    SessionStoreNotShared,
    /// Two or more services and no monitoring node.
    NoMonitoring,
    /// A monitoring node exists but some services are not connected to it.
    ServiceNotMonitored,
    /// A cache, database or queue that nothing reads or writes.
    OrphanComponent,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReplicasMissing => "replicas_missing",
            Self::ReplicaNotConnected => "replica_not_connected",
            Self::NoLoadBalancer => "no_load_balancer",
            Self::SessionStoreNotShared => "session_store_not_shared",
            Self::NoMonitoring => "no_monitoring",
            Self::ServiceNotMonitored => "service_not_monitored",
            Self::OrphanComponent => "orphan_component",
        }
    }
}

/// One thing the design lacks, with a patch that would fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub code: FindingCode,
    /// What is missing and what the suggestion does.
    pub message: String,
    /// The nodes concerned, for highlighting.
    pub node_ids: Vec<String>,
    /// Empty when the rule cannot guess a fix (e.g. which service uses an orphan cache).
    pub suggestion: CanvasPatch,
}

/// Every finding, rule by rule in the order of [`FindingCode`]'s variants, nodes in canvas
/// order within a rule. Ids of suggested nodes never clash with the canvas or each other.
pub fn missing_analysis(canvas: &Canvas) -> Vec<Finding> {
    let view = View::new(canvas);
    let mut ids: HashSet<String> = canvas.nodes.iter().map(|n| n.id.clone()).collect();
    let mut findings = Vec::new();
    replicas_missing(&view, &mut ids, &mut findings);
    replicas_not_connected(&view, &mut findings);
    load_balancers(&view, &mut ids, &mut findings);
    session_stores(&view, &mut ids, &mut findings);
    monitoring(&view, &mut ids, &mut findings);
    orphans(&view, &mut findings);
    findings
}

/// All suggestions as one patch: nodes upserted once (configs of the same id combined),
/// edges once per (source, target, type).
pub fn suggestions(findings: &[Finding]) -> CanvasPatch {
    let mut patch = CanvasPatch::default();
    let mut node_slot: HashMap<String, usize> = HashMap::new();
    let mut edges: HashSet<(String, String, EdgeType)> = HashSet::new();
    for finding in findings {
        for node in &finding.suggestion.upsert_nodes {
            match node_slot.get(&node.id) {
                Some(&slot) => patch.upsert_nodes[slot].config.extend(node.config.clone()),
                None => {
                    node_slot.insert(node.id.clone(), patch.upsert_nodes.len());
                    patch.upsert_nodes.push(node.clone());
                }
            }
        }
        for edge in &finding.suggestion.add_edges {
            if edges.insert((edge.source.clone(), edge.target.clone(), edge.kind)) {
                patch.add_edges.push(edge.clone());
            }
        }
        patch
            .replace_nodes
            .extend(finding.suggestion.replace_nodes.iter().cloned());
        patch
            .remove_node_ids
            .extend(finding.suggestion.remove_node_ids.iter().cloned());
    }
    patch
}

/// The merge's second iteration: applies every suggestion of `findings` to `canvas`.
pub fn apply_suggestions(canvas: &Canvas, findings: &[Finding]) -> MergeOutcome {
    merge(canvas, &suggestions(findings))
}

/// The canvas with its edges indexed by node.
struct View<'a> {
    nodes: &'a [Node],
    index: HashMap<&'a str, usize>,
    /// Node → (other end, edge type, true when the node is the source).
    links: Vec<Vec<(usize, EdgeType, bool)>>,
    replica: Vec<bool>,
    /// Replica → the database it copies, when it can be told.
    primary: Vec<Option<usize>>,
}

impl<'a> View<'a> {
    fn new(canvas: &'a Canvas) -> Self {
        let mut index = HashMap::with_capacity(canvas.nodes.len());
        for (i, node) in canvas.nodes.iter().enumerate() {
            index.entry(node.id.as_str()).or_insert(i);
        }
        let mut links = vec![Vec::new(); canvas.nodes.len()];
        for edge in &canvas.edges {
            if let (Some(&s), Some(&t)) = (
                index.get(edge.source.as_str()),
                index.get(edge.target.as_str()),
            ) {
                links[s].push((t, edge.kind, true));
                links[t].push((s, edge.kind, false));
            }
        }
        let replica: Vec<bool> = canvas.nodes.iter().map(looks_like_replica).collect();
        let mut view = Self {
            nodes: &canvas.nodes,
            index,
            links,
            replica,
            primary: Vec::new(),
        };
        view.primary = (0..canvas.nodes.len())
            .map(|i| {
                if view.replica[i] {
                    view.find_primary(i)
                } else {
                    None
                }
            })
            .collect();
        view
    }

    fn of_kind(&self, kind: NodeType) -> impl Iterator<Item = (usize, &'a Node)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| n.kind == kind)
    }

    fn linked(&self, a: usize, b: usize, kind: EdgeType) -> bool {
        self.links[a].iter().any(|&(o, k, _)| o == b && k == kind)
    }

    fn is_replica(&self, i: usize) -> bool {
        self.replica.get(i).copied().unwrap_or(false)
    }

    fn primary_of(&self, replica: usize) -> Option<usize> {
        self.primary.get(replica).copied().flatten()
    }

    /// The database a replica copies: its `replica_of`, else the database whose id starts
    /// its own ("users-db" for "users-db-replica-1", longest wins), else the only database.
    fn find_primary(&self, replica: usize) -> Option<usize> {
        let node = &self.nodes[replica];
        if let Some(&p) = text(&node.config, "replica_of").and_then(|id| self.index.get(id)) {
            return Some(p);
        }
        let primaries: Vec<usize> = self
            .of_kind(NodeType::Database)
            .map(|(i, _)| i)
            .filter(|&i| i != replica && !self.is_replica(i))
            .collect();
        let by_prefix = primaries
            .iter()
            .copied()
            .filter(|&p| {
                node.id
                    .strip_prefix(self.nodes[p].id.as_str())
                    .is_some_and(|rest| rest.starts_with(['-', '_']))
            })
            .max_by_key(|&p| self.nodes[p].id.len());
        let only = match primaries.as_slice() {
            [only] => Some(*only),
            _ => None,
        };
        by_prefix.or(only)
    }

    /// The service that uses `i`: named in its config, else the one service sharing its
    /// first name segment ("auth-cache" → "auth-service"), else the only service.
    fn owner_of(&self, i: usize) -> Option<usize> {
        let node = &self.nodes[i];
        for key in ["service", "owner", "used_by"] {
            if let Some(&o) = text(&node.config, key).and_then(|id| self.index.get(id)) {
                if o != i {
                    return Some(o);
                }
            }
        }
        let services: Vec<usize> = self
            .of_kind(NodeType::Microservice)
            .map(|(s, _)| s)
            .collect();
        let stem = first_segment(&node.id);
        let same_stem: Vec<usize> = services
            .iter()
            .copied()
            .filter(|&s| first_segment(&self.nodes[s].id) == stem)
            .collect();
        match (same_stem.as_slice(), services.as_slice()) {
            ([one], _) | ([], [one]) => Some(*one),
            _ => None,
        }
    }
}

fn looks_like_replica(node: &Node) -> bool {
    node.kind == NodeType::Database
        && (text(&node.config, "replica_of").is_some()
            || text(&node.config, "role")
                .is_some_and(|r| r.eq_ignore_ascii_case("read_replica") || r == "replica")
            || node.id.contains("replica"))
}

fn first_segment(id: &str) -> &str {
    id.split(['-', '_']).next().unwrap_or(id)
}

fn text<'c>(config: &'c Config, key: &str) -> Option<&'c str> {
    config.get(key).and_then(|v| v.as_str())
}

/// A count from the first of `keys` present: a JSON number, or text starting with digits.
fn count(config: &Config, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|key| match config.get(*key)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => {
            let digits: String = s
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        }
        _ => None,
    })
}

/// `base` if no node has it yet, else `base-2`, `base-3`, ...; reserved once returned.
fn fresh_id(base: &str, ids: &mut HashSet<String>) -> String {
    let id = if ids.contains(base) {
        (2u64..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !ids.contains(id))
            .unwrap_or_else(|| base.to_string())
    } else {
        base.to_string()
    };
    ids.insert(id.clone());
    id
}

fn new_node(id: &str, kind: NodeType, label: String, config: serde_json::Value) -> Node {
    let config = match config {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => Config::new(),
    };
    Node {
        id: id.to_string(),
        kind,
        label,
        position: None,
        config,
    }
}

fn new_edge(source: &str, target: &str, kind: EdgeType) -> Edge {
    Edge {
        id: edge_id(source, target, kind),
        source: source.to_string(),
        target: target.to_string(),
        kind,
    }
}

fn replicas_missing(view: &View<'_>, ids: &mut HashSet<String>, findings: &mut Vec<Finding>) {
    for (d, db) in view.of_kind(NodeType::Database) {
        if view.is_replica(d) {
            continue;
        }
        let Some(wanted) = count(&db.config, &["read_replicas", "replicas"]).filter(|&w| w > 0)
        else {
            continue;
        };
        let existing = (0..view.nodes.len())
            .filter(|&r| {
                r != d
                    && ((view.is_replica(r) && view.primary_of(r) == Some(d))
                        || view.links[d]
                            .iter()
                            .any(|&(o, k, out)| o == r && k == EdgeType::Replication && out))
            })
            .count() as u64;
        if existing >= wanted {
            continue;
        }
        let mut suggestion = CanvasPatch::default();
        let mut node_ids = vec![db.id.clone()];
        for k in existing + 1..=wanted {
            let id = fresh_id(&format!("{}-replica-{k}", db.id), ids);
            let mut config = serde_json::json!({"role": "read_replica", "replica_of": db.id});
            if let (Some(engine), Some(map)) = (db.config.get("engine"), config.as_object_mut()) {
                map.insert("engine".to_string(), engine.clone());
            }
            let label = format!("{} Read Replica {k}", db.label);
            suggestion
                .upsert_nodes
                .push(new_node(&id, NodeType::Database, label, config));
            suggestion
                .add_edges
                .push(new_edge(&db.id, &id, EdgeType::Replication));
            node_ids.push(id);
        }
        let missing = wanted - existing;
        findings.push(Finding {
            code: FindingCode::ReplicasMissing,
            message: format!(
                "`{}` is configured with {wanted} read replica(s) but the canvas shows \
                 {existing}; add {missing} replica node(s) with replication edges",
                db.id
            ),
            node_ids,
            suggestion,
        });
    }
}

fn replicas_not_connected(view: &View<'_>, findings: &mut Vec<Finding>) {
    for (r, replica) in view.of_kind(NodeType::Database) {
        let connected = view.links[r]
            .iter()
            .any(|&(_, k, _)| k == EdgeType::Replication);
        if !view.is_replica(r) || connected {
            continue;
        }
        let primary = view.primary_of(r).map(|p| &view.nodes[p]);
        let mut suggestion = CanvasPatch::default();
        let message = match primary {
            Some(p) => {
                suggestion
                    .add_edges
                    .push(new_edge(&p.id, &replica.id, EdgeType::Replication));
                format!(
                    "read replica `{}` is not connected to its primary; add a replication \
                     edge from `{}`",
                    replica.id, p.id
                )
            }
            None => format!(
                "read replica `{}` is not connected and its primary is unknown; set its \
                 `replica_of` or connect it with a replication edge",
                replica.id
            ),
        };
        findings.push(Finding {
            code: FindingCode::ReplicaNotConnected,
            message,
            node_ids: [Some(replica.id.clone()), primary.map(|p| p.id.clone())]
                .into_iter()
                .flatten()
                .collect(),
            suggestion,
        });
    }
}

fn instances(node: &Node) -> u64 {
    count(&node.config, &["instances"]).unwrap_or(1)
}

fn load_balancers(view: &View<'_>, ids: &mut HashSet<String>, findings: &mut Vec<Finding>) {
    for (s, service) in view.of_kind(NodeType::Microservice) {
        let n = instances(service);
        // A gateway spreads requests over instances too.
        let fronted = view.links[s].iter().any(|&(o, _, out)| {
            !out && matches!(
                view.nodes[o].kind,
                NodeType::LoadBalancer | NodeType::Gateway
            )
        });
        if n <= 1 || fronted {
            continue;
        }
        let mut suggestion = CanvasPatch::default();
        let base = format!("{}-lb", service.id);
        let lb_id = match view.index.get(base.as_str()) {
            Some(&existing) if view.nodes[existing].kind == NodeType::LoadBalancer => base,
            _ => {
                let id = fresh_id(&base, ids);
                suggestion.upsert_nodes.push(new_node(
                    &id,
                    NodeType::LoadBalancer,
                    format!("{} Load Balancer", service.label),
                    serde_json::json!({"algorithm": "round_robin"}),
                ));
                id
            }
        };
        suggestion
            .add_edges
            .push(new_edge(&lb_id, &service.id, EdgeType::ApiCall));
        findings.push(Finding {
            code: FindingCode::NoLoadBalancer,
            message: format!(
                "`{}` runs {n} instances with no load balancer in front; add `{lb_id}` to \
                 spread requests over them",
                service.id
            ),
            node_ids: vec![service.id.clone(), lb_id],
            suggestion,
        });
    }
}

fn session_stores(view: &View<'_>, ids: &mut HashSet<String>, findings: &mut Vec<Finding>) {
    for (s, service) in view.of_kind(NodeType::Microservice) {
        let in_memory = text(&service.config, "session_store").is_some_and(|store| {
            let store = store.to_ascii_lowercase();
            store.contains("memory") || store == "local"
        });
        if instances(service) <= 1 || !in_memory {
            continue;
        }
        let mut suggestion = CanvasPatch::default();
        // Reuse a cache the service already talks to.
        let cache = view.links[s].iter().find_map(|&(o, k, out)| {
            (out && k == EdgeType::Cache && view.nodes[o].kind == NodeType::Cache)
                .then(|| view.nodes[o].id.clone())
        });
        let cache_id = match cache {
            Some(id) => id,
            None => {
                let id = fresh_id(&format!("{}-sessions", service.id), ids);
                suggestion.upsert_nodes.push(new_node(
                    &id,
                    NodeType::Cache,
                    format!("{} Sessions", service.label),
                    serde_json::json!({"engine": "redis", "role": "session_store"}),
                ));
                suggestion
                    .add_edges
                    .push(new_edge(&service.id, &id, EdgeType::Cache));
                id
            }
        };
        let mut update = service.clone();
        update.position = None;
        update.config = [
            ("session_store".to_string(), serde_json::json!("redis")),
            ("session_cache".to_string(), serde_json::json!(cache_id)),
        ]
        .into_iter()
        .collect();
        suggestion.upsert_nodes.push(update);
        findings.push(Finding {
            code: FindingCode::SessionStoreNotShared,
            message: format!(
                "`{}` runs {} instances but keeps sessions in memory, so a user's next request \
                 may land where its session is unknown; keep sessions in `{cache_id}`",
                service.id,
                instances(service)
            ),
            node_ids: vec![service.id.clone(), cache_id],
            suggestion,
        });
    }
}

fn monitoring(view: &View<'_>, ids: &mut HashSet<String>, findings: &mut Vec<Finding>) {
    let services: Vec<(usize, &Node)> = view.of_kind(NodeType::Microservice).collect();
    let monitors: Vec<usize> = view.of_kind(NodeType::Monitoring).map(|(m, _)| m).collect();
    match monitors.first() {
        None if services.len() >= 2 => {
            let id = fresh_id("monitoring", ids);
            let mut suggestion = CanvasPatch::default();
            suggestion.upsert_nodes.push(new_node(
                &id,
                NodeType::Monitoring,
                "Monitoring & Alerts".to_string(),
                serde_json::json!({"metrics": "prometheus", "alerts": true}),
            ));
            for (_, service) in &services {
                suggestion
                    .add_edges
                    .push(new_edge(&id, &service.id, EdgeType::Monitoring));
            }
            findings.push(Finding {
                code: FindingCode::NoMonitoring,
                message: format!(
                    "{} services and no monitoring: failures and overload would go unnoticed; \
                     add `{id}` watching every service",
                    services.len()
                ),
                node_ids: services.iter().map(|(_, s)| s.id.clone()).collect(),
                suggestion,
            });
        }
        None => {}
        Some(&first) => {
            let unwatched: Vec<&Node> = services
                .iter()
                .filter(|&&(s, _)| {
                    !monitors.iter().any(|&m| {
                        view.linked(m, s, EdgeType::Monitoring)
                            || view.linked(s, m, EdgeType::Monitoring)
                    })
                })
                .map(|&(_, node)| node)
                .collect();
            if unwatched.is_empty() {
                return;
            }
            let monitor = &view.nodes[first].id;
            let mut suggestion = CanvasPatch::default();
            for service in &unwatched {
                suggestion
                    .add_edges
                    .push(new_edge(monitor, &service.id, EdgeType::Monitoring));
            }
            let names: Vec<String> = unwatched.iter().map(|s| format!("`{}`", s.id)).collect();
            findings.push(Finding {
                code: FindingCode::ServiceNotMonitored,
                message: format!(
                    "{} not watched by `{monitor}`; add monitoring edges",
                    names.join(", ")
                ),
                node_ids: unwatched.iter().map(|s| s.id.clone()).collect(),
                suggestion,
            });
        }
    }
}

fn orphans(view: &View<'_>, findings: &mut Vec<Finding>) {
    for (i, node) in view.nodes.iter().enumerate() {
        let edge_kind = match node.kind {
            NodeType::Cache => EdgeType::Cache,
            NodeType::Database if !view.is_replica(i) => EdgeType::Db,
            NodeType::Queue => EdgeType::Pubsub,
            _ => continue,
        };
        // Replication and monitoring edges do not make a component used.
        let used = view.links[i]
            .iter()
            .any(|&(_, k, _)| !matches!(k, EdgeType::Replication | EdgeType::Monitoring));
        if used {
            continue;
        }
        let mut suggestion = CanvasPatch::default();
        let mut node_ids = vec![node.id.clone()];
        let message = match view.owner_of(i).map(|o| &view.nodes[o]) {
            Some(owner) => {
                suggestion
                    .add_edges
                    .push(new_edge(&owner.id, &node.id, edge_kind));
                node_ids.push(owner.id.clone());
                format!(
                    "`{}` is not used by any service; connect it to `{}`",
                    node.id, owner.id
                )
            }
            None => format!(
                "`{}` is not used by any service; connect it to the service that uses it \
                 (or set its `service` config), or remove it",
                node.id
            ),
        };
        findings.push(Finding {
            code: FindingCode::OrphanComponent,
            message,
            node_ids,
            suggestion,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::tests::{assert_no_overlaps, edge, find, has_edge, node, with_config};
    use serde_json::json;

    fn codes(findings: &[Finding]) -> Vec<FindingCode> {
        findings.iter().map(|f| f.code).collect()
    }

    /// Example 2's canvas before scaling: a gateway, auth and cart services, auth's MySQL.
    fn example_2_before() -> Canvas {
        Canvas {
            nodes: vec![
                node("web", NodeType::Frontend, Some((100.0, 100.0))),
                node("api-gateway", NodeType::Gateway, Some((320.0, 100.0))),
                with_config(
                    node("auth-service", NodeType::Microservice, Some((540.0, 100.0))),
                    json!({"instances": 1, "session_store": "Memory",
                           "database": "MySQL single instance"}),
                ),
                node("cart-service", NodeType::Microservice, Some((540.0, 220.0))),
                with_config(
                    node("auth-db", NodeType::Database, Some((760.0, 100.0))),
                    json!({"engine": "mysql"}),
                ),
            ],
            edges: vec![
                edge("web", "api-gateway", EdgeType::ApiCall),
                edge("api-gateway", "auth-service", EdgeType::ApiCall),
                edge("api-gateway", "cart-service", EdgeType::ApiCall),
                edge("auth-service", "auth-db", EdgeType::Db),
            ],
            version: 4,
        }
    }

    /// Iteration 1 of Example 2: the template's REPLACE_COMPONENT patch.
    fn scaling_patch() -> CanvasPatch {
        let scaled = with_config(
            node("auth-service", NodeType::Microservice, None),
            json!({"instances": 10, "session_store": "Redis Cluster (3 nodes)",
                   "estimated_capacity": "5500 RPS"}),
        );
        CanvasPatch {
            replace_nodes: vec![("auth-service".to_string(), scaled)],
            upsert_nodes: vec![
                with_config(
                    node("auth-lb", NodeType::LoadBalancer, None),
                    json!({"algorithm": "round_robin"}),
                ),
                with_config(
                    node("redis-cluster", NodeType::Cache, None),
                    json!({"nodes": 3}),
                ),
                with_config(
                    node("auth-db", NodeType::Database, None),
                    json!({"read_replicas": 2}),
                ),
            ],
            add_edges: vec![
                edge("api-gateway", "auth-lb", EdgeType::ApiCall),
                edge("auth-lb", "auth-service", EdgeType::ApiCall),
                edge("auth-service", "redis-cluster", EdgeType::Cache),
            ],
            remove_node_ids: vec![],
        }
    }

    #[test]
    fn example_2_second_iteration_adds_replicas_and_monitoring() {
        let before = example_2_before();
        let first = merge(&before, &scaling_patch());
        assert_eq!(first.canvas.version, 5);
        let findings = missing_analysis(&first.canvas);
        assert_eq!(
            codes(&findings),
            vec![FindingCode::ReplicasMissing, FindingCode::NoMonitoring],
            "{findings:#?}"
        );
        let second = apply_suggestions(&first.canvas, &findings);
        let c = &second.canvas;
        assert_eq!(c.version, 6);
        assert_eq!(
            second.added_nodes,
            vec!["auth-db-replica-1", "auth-db-replica-2", "monitoring"]
        );
        assert!(has_edge(
            c,
            "auth-db",
            "auth-db-replica-1",
            EdgeType::Replication
        ));
        assert!(has_edge(
            c,
            "auth-db",
            "auth-db-replica-2",
            EdgeType::Replication
        ));
        assert!(has_edge(
            c,
            "monitoring",
            "auth-service",
            EdgeType::Monitoring
        ));
        assert!(has_edge(
            c,
            "monitoring",
            "cart-service",
            EdgeType::Monitoring
        ));
        assert_eq!(
            find(c, "auth-db-replica-1").and_then(|n| n.config.get("engine").cloned()),
            Some(json!("mysql"))
        );
        // Nothing the user placed moved; new nodes got free spots.
        for original in &before.nodes {
            assert_eq!(
                find(c, &original.id).and_then(|n| n.position),
                original.position,
                "{} moved",
                original.id
            );
        }
        assert!(c.nodes.iter().all(|n| n.position.is_some()));
        assert_no_overlaps(c);
        assert!(missing_analysis(c).is_empty(), "{:#?}", missing_analysis(c));
    }

    #[test]
    fn a_scaled_service_without_load_balancer_or_shared_sessions() {
        let mut canvas = example_2_before();
        canvas.nodes[2] = with_config(
            node("auth-service", NodeType::Microservice, Some((540.0, 100.0))),
            json!({"instances": "10", "session_store": "in-memory"}),
        );
        canvas.edges.retain(|e| e.target != "auth-service");
        let findings = missing_analysis(&canvas);
        assert_eq!(
            codes(&findings),
            vec![
                FindingCode::NoLoadBalancer,
                FindingCode::SessionStoreNotShared,
                FindingCode::NoMonitoring
            ]
        );
        assert!(findings[0].message.contains("runs 10 instances"));
        let outcome = apply_suggestions(&canvas, &findings);
        let c = &outcome.canvas;
        assert!(has_edge(
            c,
            "auth-service-lb",
            "auth-service",
            EdgeType::ApiCall
        ));
        assert!(has_edge(
            c,
            "auth-service",
            "auth-service-sessions",
            EdgeType::Cache
        ));
        let auth = find(c, "auth-service")
            .map(|n| n.config.clone())
            .unwrap_or_default();
        assert_eq!(auth.get("session_store"), Some(&json!("redis")));
        assert_eq!(
            auth.get("session_cache"),
            Some(&json!("auth-service-sessions"))
        );
        assert_eq!(auth.get("instances"), Some(&json!("10")), "other keys kept");
        assert_eq!(
            find(c, "auth-service").and_then(|n| n.position),
            canvas.nodes[2].position
        );
        assert!(missing_analysis(c).is_empty(), "{:#?}", missing_analysis(c));
    }

    #[test]
    fn a_gateway_in_front_counts_as_load_balancing() {
        let mut canvas = example_2_before();
        canvas.nodes[2]
            .config
            .insert("instances".to_string(), json!(4));
        canvas.nodes[2]
            .config
            .insert("session_store".to_string(), json!("redis"));
        let findings = missing_analysis(&canvas);
        assert_eq!(codes(&findings), vec![FindingCode::NoMonitoring]);
    }

    #[test]
    fn replica_nodes_without_replication_edges_are_connected_to_their_primary() {
        let canvas = Canvas {
            nodes: vec![
                node("svc", NodeType::Microservice, Some((0.0, 0.0))),
                node("orders-db", NodeType::Database, Some((220.0, 0.0))),
                node("users-db", NodeType::Database, Some((220.0, 120.0))),
                node("users-db-replica", NodeType::Database, Some((440.0, 120.0))),
                with_config(
                    node("ro-copy", NodeType::Database, Some((440.0, 0.0))),
                    json!({"replica_of": "orders-db"}),
                ),
            ],
            edges: vec![
                edge("svc", "orders-db", EdgeType::Db),
                edge("svc", "users-db", EdgeType::Db),
            ],
            version: 0,
        };
        let findings = missing_analysis(&canvas);
        assert_eq!(
            codes(&findings),
            vec![
                FindingCode::ReplicaNotConnected,
                FindingCode::ReplicaNotConnected
            ]
        );
        let c = apply_suggestions(&canvas, &findings).canvas;
        assert!(has_edge(
            &c,
            "users-db",
            "users-db-replica",
            EdgeType::Replication
        ));
        assert!(has_edge(&c, "orders-db", "ro-copy", EdgeType::Replication));
        assert!(missing_analysis(&c).is_empty());
    }

    #[test]
    fn replicas_already_on_the_canvas_count_towards_the_configured_number() {
        let canvas = Canvas {
            nodes: vec![
                node("svc", NodeType::Microservice, Some((0.0, 0.0))),
                with_config(
                    node("db", NodeType::Database, Some((220.0, 0.0))),
                    json!({"replicas": "3 read replicas"}),
                ),
                node("db-replica-1", NodeType::Database, Some((440.0, 0.0))),
                // A node that already took the id the rule would pick next.
                node("db-replica-2", NodeType::External, Some((440.0, 240.0))),
            ],
            edges: vec![
                edge("svc", "db", EdgeType::Db),
                edge("db", "db-replica-1", EdgeType::Replication),
            ],
            version: 0,
        };
        let findings = missing_analysis(&canvas);
        assert_eq!(codes(&findings), vec![FindingCode::ReplicasMissing]);
        let added: Vec<&str> = findings[0]
            .suggestion
            .upsert_nodes
            .iter()
            .map(|n| n.id.as_str())
            .collect();
        assert_eq!(added, vec!["db-replica-2-2", "db-replica-3"]);
    }

    #[test]
    fn an_orphan_cache_is_connected_to_the_service_it_is_named_after() {
        let canvas = Canvas {
            nodes: vec![
                node("auth-service", NodeType::Microservice, Some((0.0, 0.0))),
                node("cart-service", NodeType::Microservice, Some((0.0, 120.0))),
                node("monitoring", NodeType::Monitoring, Some((0.0, 240.0))),
                node("cart-cache", NodeType::Cache, None),
                node("mystery-queue", NodeType::Queue, None),
            ],
            edges: vec![
                edge("monitoring", "auth-service", EdgeType::Monitoring),
                edge("cart-service", "monitoring", EdgeType::Monitoring),
            ],
            version: 0,
        };
        let findings = missing_analysis(&canvas);
        assert_eq!(
            codes(&findings),
            vec![FindingCode::OrphanComponent, FindingCode::OrphanComponent]
        );
        assert_eq!(
            findings[0].suggestion.add_edges,
            vec![edge("cart-service", "cart-cache", EdgeType::Cache)]
        );
        // Nobody to guess for the queue: a finding without a suggestion.
        assert_eq!(findings[1].suggestion, CanvasPatch::default());
        assert!(findings[1].message.contains("remove it"));
    }

    #[test]
    fn unwatched_services_are_connected_to_the_existing_monitor() {
        let canvas = Canvas {
            nodes: vec![
                node("a", NodeType::Microservice, Some((0.0, 0.0))),
                node("b", NodeType::Microservice, Some((0.0, 120.0))),
                node("c", NodeType::Microservice, Some((0.0, 240.0))),
                node("grafana", NodeType::Monitoring, Some((220.0, 0.0))),
            ],
            edges: vec![edge("grafana", "a", EdgeType::Monitoring)],
            version: 0,
        };
        let findings = missing_analysis(&canvas);
        assert_eq!(codes(&findings), vec![FindingCode::ServiceNotMonitored]);
        assert_eq!(findings[0].node_ids, vec!["b", "c"]);
        assert!(missing_analysis(&apply_suggestions(&canvas, &findings).canvas).is_empty());
    }

    #[test]
    fn a_single_service_needs_no_monitoring_and_a_healthy_canvas_has_no_findings() {
        let canvas = Canvas {
            nodes: vec![
                node("svc", NodeType::Microservice, Some((0.0, 0.0))),
                node("db", NodeType::Database, Some((220.0, 0.0))),
            ],
            edges: vec![edge("svc", "db", EdgeType::Db)],
            version: 0,
        };
        assert!(missing_analysis(&canvas).is_empty());
        assert!(missing_analysis(&Canvas::default()).is_empty());
    }

    #[test]
    fn suggestions_combine_configs_and_deduplicate_edges() {
        let a = Finding {
            code: FindingCode::NoMonitoring,
            message: String::new(),
            node_ids: vec![],
            suggestion: CanvasPatch {
                upsert_nodes: vec![with_config(
                    node("x", NodeType::Cache, None),
                    json!({"a": 1}),
                )],
                add_edges: vec![edge("x", "y", EdgeType::Cache)],
                ..CanvasPatch::default()
            },
        };
        let mut b = a.clone();
        b.suggestion.upsert_nodes[0].config =
            with_config(node("x", NodeType::Cache, None), json!({"b": 2})).config;
        let patch = suggestions(&[a, b]);
        assert_eq!(patch.upsert_nodes.len(), 1);
        assert_eq!(patch.upsert_nodes[0].config.len(), 2);
        assert_eq!(patch.add_edges.len(), 1);
    }

    #[test]
    fn findings_serialise_with_snake_case_codes() {
        let findings = missing_analysis(&example_2_before());
        let json = serde_json::to_value(&findings).unwrap_or_default();
        assert_eq!(json[0]["code"], FindingCode::NoMonitoring.as_str());
        assert!(json[0]["suggestion"]["upsertNodes"].is_array());
    }
}
