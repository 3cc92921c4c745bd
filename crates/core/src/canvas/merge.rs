//! Applying a `CanvasPatch` to a canvas: upserts, REPLACE_COMPONENT, removals and new edges,
//! reporting exactly what changed so the server can announce and highlight it. Never moves a
//! node the user placed and never renames an unrelated node; deterministic.

use super::{edge_id, layout};
use crate::model::{Canvas, CanvasPatch, Config, Edge, EdgeType, Node};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// REPLACE_COMPONENT's record: `old_id` is gone, `new_id` took its place and its edges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replacement {
    pub old_id: String,
    pub new_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeWarningCode {
    /// `remove_node_ids` named a node that does not exist; nothing removed.
    RemoveUnknownNode,
    /// `replace_nodes` named an old node that does not exist; the new node was upserted.
    ReplaceUnknownNode,
    /// An edge to or from a node that does not exist; skipped.
    EdgeUnknownNode,
    /// An edge from a node to itself; skipped.
    EdgeSelfLoop,
    /// An edge's id was taken by a different edge; the new edge got a suffixed id.
    EdgeIdRenamed,
    /// Re-pointing a replaced node's edges made an edge a loop or a duplicate; dropped.
    EdgeDroppedAfterReplace,
}

/// Something in the patch that was not applied as written, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeWarning {
    pub code: MergeWarningCode,
    /// The node or edge id concerned.
    pub subject: String,
    pub message: String,
}

/// The merged canvas and what changed, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MergeOutcome {
    /// Its `version` is one more than the input's when anything changed.
    pub canvas: Canvas,
    pub added_nodes: Vec<String>,
    /// Existing nodes whose type, label, config or position changed through an upsert.
    pub updated_nodes: Vec<String>,
    pub replaced_nodes: Vec<Replacement>,
    pub removed_nodes: Vec<String>,
    pub added_edges: Vec<String>,
    /// Edges of replaced nodes, now attached to the new node: old id → id now (a generated
    /// id follows the new ends; an id the author chose stays unless it would clash).
    pub repointed_edges: Vec<Replacement>,
    /// Edges that went with removed nodes, or became loops/duplicates after a replacement
    /// (by the id they had before).
    pub removed_edges: Vec<String>,
    /// Nodes that had no position and were placed by the layout.
    pub placed_nodes: Vec<String>,
    pub warnings: Vec<MergeWarning>,
}

impl MergeOutcome {
    pub fn changed(&self) -> bool {
        !(self.added_nodes.is_empty()
            && self.updated_nodes.is_empty()
            && self.replaced_nodes.is_empty()
            && self.removed_nodes.is_empty()
            && self.added_edges.is_empty()
            && self.repointed_edges.is_empty()
            && self.removed_edges.is_empty()
            && self.placed_nodes.is_empty())
    }
}

/// Applies `patch` to `canvas`, in this order: removals, replacements, upserts, new edges;
/// then places nodes left without a position (see `layout`).
///
/// - **Upsert**: a new id is added; an existing node takes the patch's type and (non-empty)
///   label, merges config key by key (a `null` value deletes the key), and keeps its position
///   if it has one.
/// - **Replace** `(old, new)`: `new` takes `old`'s slot and, unless it brings its own, its
///   position; every edge of `old` is re-pointed at `new` (generated edge ids follow); other
///   nodes keep their ids and positions. A missing `old` degrades to an upsert of `new`.
/// - **Edges**: skipped (with a warning) when an end is missing or both ends are the same
///   node; silently deduplicated by (source, target, type); an empty id becomes
///   `e-{source}-{target}-{type}`, made unique with `-2`, `-3`, ... when taken.
pub fn merge(canvas: &Canvas, patch: &CanvasPatch) -> MergeOutcome {
    let mut merger = Merger::new(canvas);
    for id in &patch.remove_node_ids {
        merger.remove(id);
    }
    for (old_id, node) in &patch.replace_nodes {
        merger.replace(old_id, node);
    }
    for node in &patch.upsert_nodes {
        merger.upsert(node);
    }
    for edge in &patch.add_edges {
        merger.add_edge(edge);
    }
    merger.finish(canvas.version)
}

struct Merger {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    node_at: HashMap<String, usize>,
    edge_ids: HashSet<String>,
    triples: HashSet<(String, String, EdgeType)>,
    out: MergeOutcome,
}

impl Merger {
    fn new(canvas: &Canvas) -> Self {
        let mut merger = Self {
            nodes: canvas.nodes.clone(),
            edges: canvas.edges.clone(),
            node_at: HashMap::new(),
            edge_ids: HashSet::new(),
            triples: HashSet::new(),
            out: MergeOutcome {
                canvas: Canvas::default(),
                added_nodes: Vec::new(),
                updated_nodes: Vec::new(),
                replaced_nodes: Vec::new(),
                removed_nodes: Vec::new(),
                added_edges: Vec::new(),
                repointed_edges: Vec::new(),
                removed_edges: Vec::new(),
                placed_nodes: Vec::new(),
                warnings: Vec::new(),
            },
        };
        merger.reindex_nodes();
        merger.reindex_edges();
        merger
    }

    fn reindex_nodes(&mut self) {
        self.node_at.clear();
        for (i, node) in self.nodes.iter().enumerate() {
            self.node_at.entry(node.id.clone()).or_insert(i);
        }
    }

    fn reindex_edges(&mut self) {
        self.edge_ids = self.edges.iter().map(|e| e.id.clone()).collect();
        self.triples = self.edges.iter().map(triple).collect();
    }

    fn warn(&mut self, code: MergeWarningCode, subject: &str, message: String) {
        self.out.warnings.push(MergeWarning {
            code,
            subject: subject.to_string(),
            message,
        });
    }

    fn remove(&mut self, id: &str) {
        if !self.node_at.contains_key(id) {
            self.warn(
                MergeWarningCode::RemoveUnknownNode,
                id,
                format!("cannot remove node `{id}`: the canvas has no such node"),
            );
            return;
        }
        self.nodes.retain(|n| n.id != id);
        let removed_edges = &mut self.out.removed_edges;
        self.edges.retain(|e| {
            let touches = e.source == id || e.target == id;
            if touches {
                removed_edges.push(e.id.clone());
            }
            !touches
        });
        self.out.removed_nodes.push(id.to_string());
        self.reindex_nodes();
        self.reindex_edges();
    }

    fn replace(&mut self, old_id: &str, new: &Node) {
        let Some(&slot) = self.node_at.get(old_id) else {
            self.warn(
                MergeWarningCode::ReplaceUnknownNode,
                old_id,
                format!(
                    "cannot replace node `{old_id}`: the canvas has no such node; `{}` was \
                     added instead",
                    new.id
                ),
            );
            self.upsert(new);
            return;
        };
        let old = &self.nodes[slot];
        let mut node = new.clone();
        strip_nulls(&mut node.config);
        if node.position.is_none() {
            node.position = old.position;
        }
        if new.id == old_id {
            if *old != node {
                self.nodes[slot] = node;
                self.record_replacement(old_id, &new.id);
            }
            return;
        }

        // The new id may already be on the canvas: that node is superseded too, but its
        // edges stay (they already point at the new id).
        if let Some(&other) = self.node_at.get(new.id.as_str()) {
            if node.position.is_none() {
                node.position = self.nodes[other].position;
            }
            self.nodes[slot] = node;
            self.nodes.remove(other);
        } else {
            self.nodes[slot] = node;
        }
        self.reindex_nodes();
        self.repoint_edges(old_id, &new.id);
        self.record_replacement(old_id, &new.id);
    }

    fn record_replacement(&mut self, old_id: &str, new_id: &str) {
        self.out.replaced_nodes.push(Replacement {
            old_id: old_id.to_string(),
            new_id: new_id.to_string(),
        });
    }

    fn repoint_edges(&mut self, old_id: &str, new_id: &str) {
        let touches = |e: &Edge| e.source == old_id || e.target == old_id;
        // Edges that already point where a re-pointed edge would go win over it.
        let untouched: HashSet<(String, String, EdgeType)> = self
            .edges
            .iter()
            .filter(|e| !touches(e))
            .map(triple)
            .collect();
        let mut ids: HashSet<String> = self
            .edges
            .iter()
            .filter(|e| !touches(e))
            .map(|e| e.id.clone())
            .collect();
        let mut seen = HashSet::new();
        let mut kept: Vec<Edge> = Vec::with_capacity(self.edges.len());
        let mut dropped = Vec::new();
        for mut edge in std::mem::take(&mut self.edges) {
            if !touches(&edge) {
                kept.push(edge);
                continue;
            }
            let original_id = edge.id.clone();
            let generated = edge.id == edge_id(&edge.source, &edge.target, edge.kind);
            if edge.source == old_id {
                edge.source = new_id.to_string();
            }
            if edge.target == old_id {
                edge.target = new_id.to_string();
            }
            let key = triple(&edge);
            if edge.source == edge.target || untouched.contains(&key) || !seen.insert(key) {
                dropped.push(original_id);
                continue;
            }
            let wanted = if generated {
                edge_id(&edge.source, &edge.target, edge.kind)
            } else {
                original_id.clone()
            };
            edge.id = unique_id(&wanted, &ids);
            ids.insert(edge.id.clone());
            self.out.repointed_edges.push(Replacement {
                old_id: original_id,
                new_id: edge.id.clone(),
            });
            kept.push(edge);
        }
        for id in dropped {
            self.warn(
                MergeWarningCode::EdgeDroppedAfterReplace,
                &id,
                format!(
                    "edge `{id}` was dropped: after `{old_id}` became `{new_id}` it connected \
                     a node to itself or duplicated another edge"
                ),
            );
            self.out.removed_edges.push(id);
        }
        self.edges = kept;
        self.reindex_edges();
    }

    fn upsert(&mut self, patch: &Node) {
        let Some(&slot) = self.node_at.get(patch.id.as_str()) else {
            let mut node = patch.clone();
            strip_nulls(&mut node.config);
            self.node_at.insert(node.id.clone(), self.nodes.len());
            self.nodes.push(node);
            self.out.added_nodes.push(patch.id.clone());
            return;
        };
        let existing = &self.nodes[slot];
        let mut node = existing.clone();
        node.kind = patch.kind;
        if !patch.label.is_empty() {
            node.label.clone_from(&patch.label);
        }
        for (key, value) in &patch.config {
            if value.is_null() {
                node.config.remove(key);
            } else {
                node.config.insert(key.clone(), value.clone());
            }
        }
        if node.position.is_none() {
            node.position = patch.position;
        }
        if node != *existing {
            self.nodes[slot] = node;
            let id = &patch.id;
            let already_listed = self.out.added_nodes.contains(id)
                || self.out.updated_nodes.contains(id)
                || self.out.replaced_nodes.iter().any(|r| r.new_id == *id);
            if !already_listed {
                self.out.updated_nodes.push(id.clone());
            }
        }
    }

    fn add_edge(&mut self, edge: &Edge) {
        let subject = if edge.id.is_empty() {
            edge_id(&edge.source, &edge.target, edge.kind)
        } else {
            edge.id.clone()
        };
        for end in [&edge.source, &edge.target] {
            if !self.node_at.contains_key(end.as_str()) {
                self.warn(
                    MergeWarningCode::EdgeUnknownNode,
                    &subject,
                    format!(
                        "edge `{subject}` was skipped: node `{end}` is not on the canvas; add \
                         the node first"
                    ),
                );
                return;
            }
        }
        if edge.source == edge.target {
            self.warn(
                MergeWarningCode::EdgeSelfLoop,
                &subject,
                format!(
                    "edge `{subject}` was skipped: it connects `{}` to itself",
                    edge.source
                ),
            );
            return;
        }
        if self.triples.contains(&triple(edge)) {
            return;
        }
        let mut added = edge.clone();
        added.id = unique_id(&subject, &self.edge_ids);
        if added.id != subject && !edge.id.is_empty() {
            self.warn(
                MergeWarningCode::EdgeIdRenamed,
                &subject,
                format!(
                    "edge id `{subject}` is taken by another edge; this edge is `{}`",
                    added.id
                ),
            );
        }
        self.edge_ids.insert(added.id.clone());
        self.triples.insert(triple(&added));
        self.out.added_edges.push(added.id.clone());
        self.edges.push(added);
    }

    fn finish(mut self, version: u64) -> MergeOutcome {
        let mut canvas = Canvas {
            nodes: self.nodes,
            edges: self.edges,
            version,
        };
        self.out.placed_nodes = layout::place_unpositioned(&mut canvas);
        if self.out.changed() {
            canvas.version = version.saturating_add(1);
        }
        self.out.canvas = canvas;
        self.out
    }
}

fn triple(edge: &Edge) -> (String, String, EdgeType) {
    (edge.source.clone(), edge.target.clone(), edge.kind)
}

/// `base` if free, else `base-2`, `base-3`, ...
fn unique_id(base: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(base) {
        return base.to_string();
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !taken.contains(id))
        .unwrap_or_else(|| base.to_string())
}

/// `null` means "delete this key" in a patch; it is never stored.
fn strip_nulls(config: &mut Config) {
    config.retain(|_, value| !value.is_null());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::tests::{assert_no_overlaps, edge, find, has_edge, node, with_config};
    use crate::model::{NodeType, Position};
    use serde_json::json;

    fn base() -> Canvas {
        Canvas {
            nodes: vec![
                node("api-gateway", NodeType::Gateway, Some((100.0, 100.0))),
                with_config(
                    node("auth-service", NodeType::Microservice, Some((320.0, 100.0))),
                    json!({"instances": 1, "session_store": "Memory"}),
                ),
                node("cart-service", NodeType::Microservice, Some((320.0, 220.0))),
                node("users-db", NodeType::Database, Some((540.0, 100.0))),
            ],
            edges: vec![
                edge("api-gateway", "auth-service", EdgeType::ApiCall),
                edge("api-gateway", "cart-service", EdgeType::ApiCall),
                edge("auth-service", "users-db", EdgeType::Db),
                edge("cart-service", "auth-service", EdgeType::ApiCall),
            ],
            version: 7,
        }
    }

    fn patch() -> CanvasPatch {
        CanvasPatch::default()
    }

    fn position(canvas: &Canvas, id: &str) -> Option<Position> {
        find(canvas, id).and_then(|n| n.position)
    }

    #[test]
    fn an_empty_patch_changes_nothing_and_keeps_the_version() {
        let outcome = merge(&base(), &patch());
        assert!(!outcome.changed());
        assert_eq!(outcome.canvas, base());
    }

    #[test]
    fn upsert_adds_new_nodes_and_places_them() {
        let mut p = patch();
        p.upsert_nodes.push(node("redis", NodeType::Cache, None));
        p.add_edges.push(Edge {
            id: String::new(),
            source: "auth-service".to_string(),
            target: "redis".to_string(),
            kind: EdgeType::Cache,
        });
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.added_nodes, vec!["redis"]);
        assert_eq!(outcome.added_edges, vec!["e-auth-service-redis-cache"]);
        assert_eq!(outcome.placed_nodes, vec!["redis"]);
        assert_eq!(outcome.canvas.version, 8);
        // Right of its caller, below users-db which sits there.
        assert_eq!(
            position(&outcome.canvas, "redis"),
            Some(Position { x: 540.0, y: 220.0 })
        );
        assert_no_overlaps(&outcome.canvas);
    }

    #[test]
    fn upsert_merges_config_key_wise_and_keeps_the_position() {
        let mut p = patch();
        let mut scaled = with_config(
            node("auth-service", NodeType::Microservice, Some((999.0, 999.0))),
            json!({"instances": 10, "session_store": null, "cache": "redis"}),
        );
        scaled.label = "Auth Service".to_string();
        p.upsert_nodes.push(scaled);
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.updated_nodes, vec!["auth-service"]);
        let auth = find(&outcome.canvas, "auth-service").cloned();
        let auth = auth.unwrap_or_else(|| panic!("auth-service missing"));
        assert_eq!(auth.position, Some(Position { x: 320.0, y: 100.0 }));
        assert_eq!(auth.label, "Auth Service");
        assert_eq!(
            serde_json::to_value(&auth.config).ok(),
            Some(json!({"instances": 10, "cache": "redis"}))
        );
    }

    #[test]
    fn an_identical_upsert_is_not_a_change() {
        let mut p = patch();
        p.upsert_nodes.push(base().nodes[1].clone());
        p.add_edges
            .push(edge("api-gateway", "auth-service", EdgeType::ApiCall));
        let outcome = merge(&base(), &p);
        assert!(!outcome.changed(), "{outcome:?}");
        assert_eq!(outcome.canvas.version, 7);
    }

    #[test]
    fn replace_component_keeps_the_slot_position_and_edges() {
        let mut p = patch();
        let v2 = with_config(
            node("auth-service-v2", NodeType::Microservice, None),
            json!({"instances": 10}),
        );
        p.replace_nodes.push(("auth-service".to_string(), v2));
        let outcome = merge(&base(), &p);
        let canvas = &outcome.canvas;
        assert_eq!(
            outcome.replaced_nodes,
            vec![Replacement {
                old_id: "auth-service".to_string(),
                new_id: "auth-service-v2".to_string()
            }]
        );
        assert!(find(canvas, "auth-service").is_none());
        assert_eq!(canvas.nodes[1].id, "auth-service-v2", "same slot");
        assert_eq!(
            position(canvas, "auth-service-v2"),
            Some(Position { x: 320.0, y: 100.0 })
        );
        assert!(has_edge(
            canvas,
            "api-gateway",
            "auth-service-v2",
            EdgeType::ApiCall
        ));
        assert!(has_edge(
            canvas,
            "auth-service-v2",
            "users-db",
            EdgeType::Db
        ));
        assert!(has_edge(
            canvas,
            "cart-service",
            "auth-service-v2",
            EdgeType::ApiCall
        ));
        assert!(canvas
            .edges
            .iter()
            .any(|e| e.id == "e-auth-service-v2-users-db-db"));
        assert_eq!(outcome.repointed_edges.len(), 3);
        // Every other node keeps its id and position.
        for id in ["api-gateway", "cart-service", "users-db"] {
            assert_eq!(position(canvas, id), position(&base(), id), "{id} moved");
        }
        assert_eq!(canvas.version, 8);
    }

    #[test]
    fn a_replacement_with_its_own_position_keeps_it() {
        let mut p = patch();
        p.replace_nodes.push((
            "users-db".to_string(),
            node("users-postgres", NodeType::Database, Some((700.0, 400.0))),
        ));
        let outcome = merge(&base(), &p);
        assert_eq!(
            position(&outcome.canvas, "users-postgres"),
            Some(Position { x: 700.0, y: 400.0 })
        );
    }

    #[test]
    fn replacing_in_place_swaps_the_config_wholesale() {
        let mut p = patch();
        let scaled = with_config(
            node("auth-service", NodeType::Microservice, None),
            json!({"instances": 10}),
        );
        p.replace_nodes.push(("auth-service".to_string(), scaled));
        let outcome = merge(&base(), &p);
        let auth = find(&outcome.canvas, "auth-service").cloned();
        let auth = auth.unwrap_or_else(|| panic!("auth-service missing"));
        assert_eq!(
            serde_json::to_value(&auth.config).ok(),
            Some(json!({"instances": 10}))
        );
        assert_eq!(auth.position, Some(Position { x: 320.0, y: 100.0 }));
        assert_eq!(outcome.canvas.edges, base().edges);
    }

    #[test]
    fn replacing_onto_an_existing_id_merges_edges_without_duplicates() {
        let mut canvas = base();
        canvas.nodes.push(node(
            "auth-v2",
            NodeType::Microservice,
            Some((320.0, 340.0)),
        ));
        canvas.edges.push(edge("auth-v2", "users-db", EdgeType::Db));
        canvas
            .edges
            .push(edge("auth-service", "auth-v2", EdgeType::ApiCall));
        let mut p = patch();
        p.replace_nodes.push((
            "auth-service".to_string(),
            node("auth-v2", NodeType::Microservice, None),
        ));
        let outcome = merge(&canvas, &p);
        let c = &outcome.canvas;
        assert_eq!(
            c.nodes.iter().filter(|n| n.id.starts_with("auth")).count(),
            1
        );
        assert_eq!(
            c.edges
                .iter()
                .filter(|e| e.source == "auth-v2" && e.target == "users-db")
                .count(),
            1
        );
        assert!(!c.edges.iter().any(|e| e.source == e.target));
        // The re-pointed copy of an existing edge and the edge between the two are dropped,
        // reported by the ids the client knew.
        assert_eq!(
            outcome.removed_edges,
            vec![
                "e-auth-service-users-db-db".to_string(),
                "e-auth-service-auth-v2-api-call".to_string()
            ]
        );
        assert_eq!(
            outcome.repointed_edges,
            vec![
                Replacement {
                    old_id: "e-api-gateway-auth-service-api-call".to_string(),
                    new_id: "e-api-gateway-auth-v2-api-call".to_string()
                },
                Replacement {
                    old_id: "e-cart-service-auth-service-api-call".to_string(),
                    new_id: "e-cart-service-auth-v2-api-call".to_string()
                },
            ]
        );
        assert_eq!(
            position(c, "auth-v2"),
            Some(Position { x: 320.0, y: 100.0 }),
            "the replaced node's position wins"
        );
        let ids: HashSet<&str> = c.edges.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), c.edges.len(), "edge ids stay unique");
    }

    #[test]
    fn replacing_a_missing_node_adds_the_new_one_with_a_warning() {
        let mut p = patch();
        p.replace_nodes.push((
            "ghost".to_string(),
            node("monitoring", NodeType::Monitoring, None),
        ));
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.added_nodes, vec!["monitoring"]);
        assert_eq!(
            outcome.warnings[0].code,
            MergeWarningCode::ReplaceUnknownNode
        );
    }

    #[test]
    fn edges_to_missing_nodes_and_loops_are_skipped_with_reasons() {
        let mut p = patch();
        p.add_edges
            .push(edge("auth-service", "nowhere", EdgeType::Db));
        p.add_edges
            .push(edge("users-db", "users-db", EdgeType::Replication));
        let outcome = merge(&base(), &p);
        assert!(!outcome.changed());
        let codes: Vec<_> = outcome.warnings.iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            vec![
                MergeWarningCode::EdgeUnknownNode,
                MergeWarningCode::EdgeSelfLoop
            ]
        );
        assert!(outcome.warnings[0].message.contains("`nowhere`"));
    }

    #[test]
    fn edges_are_deduplicated_by_ends_and_type() {
        let mut p = patch();
        let mut same = edge("auth-service", "users-db", EdgeType::Db);
        same.id = "another-id".to_string();
        p.add_edges.push(same);
        p.add_edges
            .push(edge("auth-service", "users-db", EdgeType::Cache));
        p.add_edges
            .push(edge("auth-service", "users-db", EdgeType::Cache));
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.added_edges, vec!["e-auth-service-users-db-cache"]);
    }

    #[test]
    fn a_taken_edge_id_gets_a_suffix() {
        let mut p = patch();
        let mut e = edge("cart-service", "users-db", EdgeType::Db);
        e.id = "e-auth-service-users-db-db".to_string();
        p.add_edges.push(e);
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.added_edges, vec!["e-auth-service-users-db-db-2"]);
        assert_eq!(outcome.warnings[0].code, MergeWarningCode::EdgeIdRenamed);
    }

    #[test]
    fn removing_a_node_removes_its_edges() {
        let mut p = patch();
        p.remove_node_ids.push("cart-service".to_string());
        p.remove_node_ids.push("nope".to_string());
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.removed_nodes, vec!["cart-service"]);
        assert_eq!(
            outcome.removed_edges,
            vec![
                "e-api-gateway-cart-service-api-call",
                "e-cart-service-auth-service-api-call"
            ]
        );
        assert_eq!(outcome.canvas.edges.len(), 2);
        assert_eq!(
            outcome.warnings[0].code,
            MergeWarningCode::RemoveUnknownNode
        );
    }

    #[test]
    fn a_patch_can_remove_and_re_add_an_id() {
        let mut p = patch();
        p.remove_node_ids.push("users-db".to_string());
        p.upsert_nodes
            .push(node("users-db", NodeType::Database, None));
        let outcome = merge(&base(), &p);
        assert_eq!(outcome.removed_nodes, vec!["users-db"]);
        assert_eq!(outcome.added_nodes, vec!["users-db"]);
        assert!(!has_edge(
            &outcome.canvas,
            "auth-service",
            "users-db",
            EdgeType::Db
        ));
    }

    #[test]
    fn merging_is_deterministic_and_idempotent() {
        let mut p = patch();
        p.upsert_nodes
            .push(node("lb", NodeType::LoadBalancer, None));
        p.add_edges.push(Edge {
            id: String::new(),
            source: "lb".to_string(),
            target: "auth-service".to_string(),
            kind: EdgeType::ApiCall,
        });
        let once = merge(&base(), &p);
        assert_eq!(merge(&base(), &p), once);
        let twice = merge(&once.canvas, &p);
        assert!(!twice.changed(), "{twice:?}");
        assert_eq!(twice.canvas, once.canvas);
    }

    #[test]
    fn the_outcome_serialises_for_the_canvas_updated_event() {
        let mut p = patch();
        p.upsert_nodes
            .push(node("lb", NodeType::LoadBalancer, None));
        let json = serde_json::to_value(merge(&base(), &p)).unwrap_or_default();
        assert_eq!(json["addedNodes"], json!(["lb"]));
        assert_eq!(json["canvas"]["version"], 8);
    }
}
