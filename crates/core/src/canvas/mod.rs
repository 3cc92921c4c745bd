//! The architecture canvas' rules: merging an agent's patch into a canvas, finding what a
//! design is missing, placing nodes that have no position, and validating a canvas a client
//! stores. Pure functions over `model::Canvas`; storage and version conflicts are the server's.

pub mod layout;
pub mod merge;
pub mod missing;
pub mod validate;

pub use layout::{layout, place_unpositioned};
pub use merge::{merge, MergeOutcome, MergeWarning, MergeWarningCode, Replacement};
pub use missing::{apply_suggestions, missing_analysis, suggestions, Finding, FindingCode};
pub use validate::{validate_canvas, CanvasError, CanvasLimits};

use crate::model::EdgeType;

/// The contract's spelling of an edge type, e.g. "api-call".
pub fn edge_type_name(kind: EdgeType) -> &'static str {
    match kind {
        EdgeType::ApiCall => "api-call",
        EdgeType::Db => "db",
        EdgeType::Cache => "cache",
        EdgeType::Pubsub => "pubsub",
        EdgeType::Replication => "replication",
        EdgeType::Monitoring => "monitoring",
    }
}

/// The id an edge gets when its author gave none: `e-{source}-{target}-{type}`. Derived from
/// what the edge is, so the same patch applied twice names its edges the same way.
pub fn edge_id(source: &str, target: &str, kind: EdgeType) -> String {
    format!("e-{source}-{target}-{}", edge_type_name(kind))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Canvas, Config, Edge, Node, NodeType, Position};

    pub(crate) fn node(id: &str, kind: NodeType, at: Option<(f64, f64)>) -> Node {
        Node {
            id: id.to_string(),
            kind,
            label: id.to_string(),
            position: at.map(|(x, y)| Position { x, y }),
            config: Config::new(),
        }
    }

    pub(crate) fn with_config(mut node: Node, config: serde_json::Value) -> Node {
        if let serde_json::Value::Object(map) = config {
            node.config.extend(map);
        }
        node
    }

    pub(crate) fn edge(source: &str, target: &str, kind: EdgeType) -> Edge {
        Edge {
            id: edge_id(source, target, kind),
            source: source.to_string(),
            target: target.to_string(),
            kind,
        }
    }

    pub(crate) fn find<'a>(canvas: &'a Canvas, id: &str) -> Option<&'a Node> {
        canvas.nodes.iter().find(|n| n.id == id)
    }

    pub(crate) fn has_edge(canvas: &Canvas, source: &str, target: &str, kind: EdgeType) -> bool {
        canvas
            .edges
            .iter()
            .any(|e| e.source == source && e.target == target && e.kind == kind)
    }

    /// No two positioned nodes overlap (boxes of `layout::NODE_WIDTH` × `NODE_HEIGHT`).
    pub(crate) fn assert_no_overlaps(canvas: &Canvas) {
        let placed: Vec<(&str, Position)> = canvas
            .nodes
            .iter()
            .filter_map(|n| n.position.map(|p| (n.id.as_str(), p)))
            .collect();
        for (i, (a, pa)) in placed.iter().enumerate() {
            for (b, pb) in &placed[i + 1..] {
                let apart = (pa.x - pb.x).abs() >= layout::NODE_WIDTH
                    || (pa.y - pb.y).abs() >= layout::NODE_HEIGHT;
                assert!(apart, "{a} at {pa:?} overlaps {b} at {pb:?}");
            }
        }
    }

    #[test]
    fn edge_ids_use_the_contract_spelling_of_the_type() {
        assert_eq!(
            edge_id("auth-service", "users-db", EdgeType::Db),
            "e-auth-service-users-db-db"
        );
        for kind in [
            EdgeType::ApiCall,
            EdgeType::Db,
            EdgeType::Cache,
            EdgeType::Pubsub,
            EdgeType::Replication,
            EdgeType::Monitoring,
        ] {
            assert_eq!(
                serde_json::to_value(kind).ok(),
                Some(serde_json::Value::from(edge_type_name(kind)))
            );
        }
    }
}
