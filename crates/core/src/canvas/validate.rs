//! Validation of a canvas a client wants to store (`PUT /api/projects/{id}/canvas`): size
//! limits, well-formed unique ids, edges between existing nodes. Reports the first problem in
//! a fixed order; does not repair (that is `merge`'s job for agent output).

use super::edge_type_name;
use crate::model::Canvas;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// Bounds on a stored canvas. The defaults keep a canvas a few hundred KB of JSON, which the
/// UI can still draw smoothly and the server can diff and store on every edit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanvasLimits {
    /// Default 500.
    pub max_nodes: usize,
    /// Default 2,000 (four per node on average).
    pub max_edges: usize,
    /// Default 64 characters, like task ids.
    pub max_node_id_chars: usize,
    /// Default 160: room for a generated `e-{source}-{target}-{type}` of two maximal ids.
    pub max_edge_id_chars: usize,
    /// Default 200 characters.
    pub max_label_chars: usize,
    /// Serialised size of one node's config; default 16 KiB.
    pub max_config_bytes: usize,
    /// Largest absolute coordinate; default 1,000,000 px.
    pub max_coordinate: f64,
}

impl Default for CanvasLimits {
    fn default() -> Self {
        Self {
            max_nodes: 500,
            max_edges: 2000,
            max_node_id_chars: 64,
            max_edge_id_chars: 160,
            max_label_chars: 200,
            max_config_bytes: 16 * 1024,
            max_coordinate: 1_000_000.0,
        }
    }
}

/// Why a canvas was refused; messages say what to change.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CanvasError {
    #[error(
        "the canvas has {count} nodes, at most {max} are allowed; remove some or split the design"
    )]
    TooManyNodes { count: usize, max: usize },
    #[error("the canvas has {count} edges, at most {max} are allowed; remove some")]
    TooManyEdges { count: usize, max: usize },
    #[error("node id {id:?} is invalid: use 1 to {max} letters, digits or the characters _ - . :")]
    InvalidNodeId { id: String, max: usize },
    #[error("edge id {id:?} is invalid: use 1 to {max} letters, digits or the characters _ - . :")]
    InvalidEdgeId { id: String, max: usize },
    #[error("node id `{id}` is used twice; give every node a unique id")]
    DuplicateNodeId { id: String },
    #[error("edge id `{id}` is used twice; give every edge a unique id")]
    DuplicateEdgeId { id: String },
    #[error("node `{node}` has a label of {chars} characters, at most {max} are allowed")]
    LabelTooLong {
        node: String,
        chars: usize,
        max: usize,
    },
    #[error("node `{node}` has {bytes} bytes of config, at most {max} are allowed; trim it")]
    ConfigTooLarge {
        node: String,
        bytes: usize,
        max: usize,
    },
    #[error("node `{node}` is placed at ({x}, {y}); coordinates must be within ±{max}")]
    PositionOutOfRange {
        node: String,
        x: f64,
        y: f64,
        max: f64,
    },
    #[error(
        "edge `{edge}` refers to node `{node}`, which is not on the canvas; add the node or \
         remove the edge"
    )]
    EdgeUnknownNode { edge: String, node: String },
    #[error("edge `{edge}` connects `{node}` to itself; remove it")]
    EdgeSelfLoop { edge: String, node: String },
    #[error(
        "edges `{first}` and `{edge}` both connect `{source_id}` to `{target}` as {kind}; keep one"
    )]
    DuplicateEdge {
        edge: String,
        first: String,
        source_id: String,
        target: String,
        kind: &'static str,
    },
}

impl CanvasError {
    /// A stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooManyNodes { .. } => "canvas_too_many_nodes",
            Self::TooManyEdges { .. } => "canvas_too_many_edges",
            Self::InvalidNodeId { .. } => "canvas_invalid_node_id",
            Self::InvalidEdgeId { .. } => "canvas_invalid_edge_id",
            Self::DuplicateNodeId { .. } => "canvas_duplicate_node_id",
            Self::DuplicateEdgeId { .. } => "canvas_duplicate_edge_id",
            Self::LabelTooLong { .. } => "canvas_label_too_long",
            Self::ConfigTooLarge { .. } => "canvas_config_too_large",
            Self::PositionOutOfRange { .. } => "canvas_position_out_of_range",
            Self::EdgeUnknownNode { .. } => "canvas_edge_unknown_node",
            Self::EdgeSelfLoop { .. } => "canvas_edge_self_loop",
            Self::DuplicateEdge { .. } => "canvas_duplicate_edge",
        }
    }

    /// True for the size limits (the server answers 413 for those, 400/422 otherwise).
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            Self::TooManyNodes { .. } | Self::TooManyEdges { .. } | Self::ConfigTooLarge { .. }
        )
    }
}

/// Checks counts first (cheap, and before any per-item work), then nodes in order, then
/// edges in order; returns the first problem.
pub fn validate_canvas(canvas: &Canvas, limits: &CanvasLimits) -> Result<(), CanvasError> {
    if canvas.nodes.len() > limits.max_nodes {
        return Err(CanvasError::TooManyNodes {
            count: canvas.nodes.len(),
            max: limits.max_nodes,
        });
    }
    if canvas.edges.len() > limits.max_edges {
        return Err(CanvasError::TooManyEdges {
            count: canvas.edges.len(),
            max: limits.max_edges,
        });
    }

    let mut node_ids: HashSet<&str> = HashSet::with_capacity(canvas.nodes.len());
    for node in &canvas.nodes {
        if !valid_id(&node.id, limits.max_node_id_chars) {
            return Err(CanvasError::InvalidNodeId {
                id: node.id.clone(),
                max: limits.max_node_id_chars,
            });
        }
        if !node_ids.insert(&node.id) {
            return Err(CanvasError::DuplicateNodeId {
                id: node.id.clone(),
            });
        }
        let chars = node.label.chars().count();
        if chars > limits.max_label_chars {
            return Err(CanvasError::LabelTooLong {
                node: node.id.clone(),
                chars,
                max: limits.max_label_chars,
            });
        }
        let bytes = serde_json::to_vec(&node.config).map_or(0, |json| json.len());
        if bytes > limits.max_config_bytes {
            return Err(CanvasError::ConfigTooLarge {
                node: node.id.clone(),
                bytes,
                max: limits.max_config_bytes,
            });
        }
        if let Some(p) = node.position {
            let within = |v: f64| v.is_finite() && v.abs() <= limits.max_coordinate;
            if !(within(p.x) && within(p.y)) {
                return Err(CanvasError::PositionOutOfRange {
                    node: node.id.clone(),
                    x: p.x,
                    y: p.y,
                    max: limits.max_coordinate,
                });
            }
        }
    }

    let mut edge_ids: HashSet<&str> = HashSet::with_capacity(canvas.edges.len());
    let mut ends: HashMap<(&str, &str, &str), &str> = HashMap::with_capacity(canvas.edges.len());
    for edge in &canvas.edges {
        if !valid_id(&edge.id, limits.max_edge_id_chars) {
            return Err(CanvasError::InvalidEdgeId {
                id: edge.id.clone(),
                max: limits.max_edge_id_chars,
            });
        }
        if !edge_ids.insert(&edge.id) {
            return Err(CanvasError::DuplicateEdgeId {
                id: edge.id.clone(),
            });
        }
        for end in [&edge.source, &edge.target] {
            if !node_ids.contains(end.as_str()) {
                return Err(CanvasError::EdgeUnknownNode {
                    edge: edge.id.clone(),
                    node: end.clone(),
                });
            }
        }
        if edge.source == edge.target {
            return Err(CanvasError::EdgeSelfLoop {
                edge: edge.id.clone(),
                node: edge.source.clone(),
            });
        }
        let kind = edge_type_name(edge.kind);
        if let Some(first) = ends.insert((&edge.source, &edge.target, kind), &edge.id) {
            return Err(CanvasError::DuplicateEdge {
                edge: edge.id.clone(),
                first: first.to_string(),
                source_id: edge.source.clone(),
                target: edge.target.clone(),
                kind,
            });
        }
    }
    Ok(())
}

/// Ids travel in URLs, event payloads and generated file names: a small safe alphabet.
fn valid_id(id: &str, max_chars: usize) -> bool {
    !id.is_empty()
        && id.len() <= max_chars
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::tests::{edge, node};
    use crate::model::{EdgeType, NodeType, Position};

    fn ok_canvas() -> Canvas {
        Canvas {
            nodes: vec![
                node("auth-service", NodeType::Microservice, Some((100.0, 100.0))),
                node("users-db", NodeType::Database, None),
            ],
            edges: vec![edge("auth-service", "users-db", EdgeType::Db)],
            version: 2,
        }
    }

    fn check(canvas: &Canvas) -> Result<(), CanvasError> {
        validate_canvas(canvas, &CanvasLimits::default())
    }

    #[test]
    fn a_well_formed_canvas_passes() {
        assert_eq!(check(&ok_canvas()), Ok(()));
        assert_eq!(check(&Canvas::default()), Ok(()));
    }

    #[test]
    fn too_many_nodes_or_edges_are_refused_first() {
        let limits = CanvasLimits {
            max_nodes: 1,
            ..CanvasLimits::default()
        };
        let error = validate_canvas(&ok_canvas(), &limits);
        assert_eq!(error, Err(CanvasError::TooManyNodes { count: 2, max: 1 }));
        assert!(error.err().is_some_and(|e| e.is_too_large()));
        let limits = CanvasLimits {
            max_edges: 0,
            ..CanvasLimits::default()
        };
        assert_eq!(
            validate_canvas(&ok_canvas(), &limits),
            Err(CanvasError::TooManyEdges { count: 1, max: 0 })
        );
    }

    #[test]
    fn ids_must_be_short_safe_and_unique() {
        let mut canvas = ok_canvas();
        canvas.nodes[1].id = "users db".to_string();
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::InvalidNodeId { .. })
        ));
        canvas.nodes[1].id = String::new();
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::InvalidNodeId { .. })
        ));
        canvas.nodes[1].id = "x".repeat(65);
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::InvalidNodeId { .. })
        ));
        canvas.nodes[1].id = "auth-service".to_string();
        assert_eq!(
            check(&canvas),
            Err(CanvasError::DuplicateNodeId {
                id: "auth-service".to_string()
            })
        );
        let mut canvas = ok_canvas();
        canvas.edges.push(canvas.edges[0].clone());
        canvas.edges[1].kind = EdgeType::Cache;
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::DuplicateEdgeId { .. })
        ));
        canvas.edges[1].id = "e/1".to_string();
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::InvalidEdgeId { .. })
        ));
    }

    #[test]
    fn a_generated_edge_id_between_two_maximal_node_ids_fits() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let canvas = Canvas {
            nodes: vec![
                node(&a, NodeType::Database, None),
                node(&b, NodeType::Database, None),
            ],
            edges: vec![edge(&a, &b, EdgeType::Replication)],
            version: 0,
        };
        assert_eq!(check(&canvas), Ok(()));
    }

    #[test]
    fn edges_must_join_two_different_existing_nodes_once() {
        let mut canvas = ok_canvas();
        canvas
            .edges
            .push(edge("auth-service", "ghost", EdgeType::ApiCall));
        assert_eq!(
            check(&canvas),
            Err(CanvasError::EdgeUnknownNode {
                edge: "e-auth-service-ghost-api-call".to_string(),
                node: "ghost".to_string()
            })
        );
        let mut canvas = ok_canvas();
        canvas
            .edges
            .push(edge("users-db", "users-db", EdgeType::Replication));
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::EdgeSelfLoop { .. })
        ));
        let mut canvas = ok_canvas();
        let mut again = canvas.edges[0].clone();
        again.id = "again".to_string();
        canvas.edges.push(again);
        let error = check(&canvas);
        assert!(matches!(error, Err(CanvasError::DuplicateEdge { .. })));
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("as db; keep one"), "{message}");
    }

    #[test]
    fn labels_configs_and_positions_are_bounded() {
        let mut canvas = ok_canvas();
        canvas.nodes[0].label = "l".repeat(201);
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::LabelTooLong { .. })
        ));
        let mut canvas = ok_canvas();
        canvas.nodes[0]
            .config
            .insert("blob".to_string(), serde_json::json!("x".repeat(17_000)));
        let error = check(&canvas);
        assert!(matches!(error, Err(CanvasError::ConfigTooLarge { .. })));
        assert_eq!(
            error.err().map(|e| e.code()),
            Some("canvas_config_too_large")
        );
        let mut canvas = ok_canvas();
        canvas.nodes[0].position = Some(Position { x: 2e6, y: 0.0 });
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::PositionOutOfRange { .. })
        ));
        canvas.nodes[0].position = Some(Position {
            x: f64::NAN,
            y: 0.0,
        });
        assert!(matches!(
            check(&canvas),
            Err(CanvasError::PositionOutOfRange { .. })
        ));
    }
}
