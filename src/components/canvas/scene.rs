//! The drawable canvas: the page's canvas with every node positioned (automatic layout for
//! the ones that arrived without a position, the user's not-yet-saved moves applied) and
//! indexed by id. Pure: the component keeps it in a memo; SSR and hydration compute the same.

use super::geometry::{content_bounds, edge_bends, Rect};
use std::collections::{HashMap, HashSet};
use youmeyou_core::canvas::layout::place_unpositioned;
use youmeyou_core::model::{Canvas, Edge, Node, Position};

/// A node the user dropped somewhere the page has not confirmed yet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PendingMove {
    /// Where the user put it.
    pub to: Position,
    /// The node's position in the page's canvas when it was moved. While the page still
    /// sends that position the move wins; once the page sends anything else (the saved
    /// position, or an undo), the page wins.
    pub from: Option<Position>,
}

/// The pending moves the page has answered: its canvas now gives the node another position
/// than the one it had when moved (saved, undone or replaced), or the node is gone. They
/// must be forgotten, or an undo back to the old position would bring the move back.
pub fn settled_moves(canvas: &Canvas, pending: &HashMap<String, PendingMove>) -> Vec<String> {
    pending
        .iter()
        .filter(|(id, m)| {
            canvas
                .nodes
                .iter()
                .find(|n| n.id == **id)
                .is_none_or(|n| n.position != m.from)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scene {
    /// Every node has `Some(position)`; ids are unique (later duplicates are dropped).
    pub canvas: Canvas,
    /// Sideways bend of each edge of `canvas.edges` (see `geometry::edge_bends`).
    pub bends: Vec<f64>,
    /// Box around every node, canvas units.
    pub bounds: Option<Rect>,
    index: HashMap<String, usize>,
    edge_index: HashMap<String, usize>,
}

impl Scene {
    /// Builds the scene. `placed` remembers where earlier calls put unpositioned nodes, so
    /// a node placed once stays put while later nodes stream in (no jumping). It is updated
    /// with this call's placements and forgets nodes that are gone.
    pub fn build(
        mut canvas: Canvas,
        pending: &HashMap<String, PendingMove>,
        placed: &mut HashMap<String, Position>,
    ) -> Scene {
        // Keyed lists need unique keys.
        let mut seen = HashSet::with_capacity(canvas.nodes.len());
        canvas.nodes.retain(|n| seen.insert(n.id.clone()));
        let mut seen_edges = HashSet::with_capacity(canvas.edges.len());
        canvas.edges.retain(|e| {
            seen.contains(&e.source)
                && seen.contains(&e.target)
                && e.source != e.target
                && seen_edges.insert(e.id.clone())
        });

        for node in &mut canvas.nodes {
            if let Some(m) = pending.get(&node.id) {
                if node.position == m.from {
                    node.position = Some(m.to);
                    continue;
                }
            }
            if node.position.is_none() {
                node.position = placed.get(&node.id).copied();
            }
        }
        placed.retain(|id, _| seen.contains(id));
        for id in place_unpositioned(&mut canvas) {
            if let Some(p) = canvas
                .nodes
                .iter()
                .find(|n| n.id == id)
                .and_then(|n| n.position)
            {
                placed.insert(id, p);
            }
        }

        let index = canvas
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect();
        let edge_index = canvas
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        Scene {
            bends: edge_bends(&canvas.edges),
            bounds: content_bounds(&canvas),
            canvas,
            index,
            edge_index,
        }
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index.get(id).and_then(|&i| self.canvas.nodes.get(i))
    }

    pub fn position(&self, id: &str) -> Option<Position> {
        self.node(id).and_then(|n| n.position)
    }

    pub fn label(&self, id: &str) -> Option<&str> {
        self.node(id).map(|n| n.label.as_str())
    }

    /// An edge and its bend.
    pub fn edge(&self, id: &str) -> Option<(&Edge, f64)> {
        let i = *self.edge_index.get(id)?;
        let edge = self.canvas.edges.get(i)?;
        Some((edge, self.bends.get(i).copied().unwrap_or(0.0)))
    }

    pub fn node_ids(&self) -> Vec<String> {
        self.canvas.nodes.iter().map(|n| n.id.clone()).collect()
    }

    pub fn edge_ids(&self) -> Vec<String> {
        self.canvas.edges.iter().map(|e| e.id.clone()).collect()
    }

    /// Connections into and out of a node.
    pub fn degree(&self, id: &str) -> (usize, usize) {
        let incoming = self.canvas.edges.iter().filter(|e| e.target == id).count();
        let outgoing = self.canvas.edges.iter().filter(|e| e.source == id).count();
        (incoming, outgoing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use youmeyou_core::model::{Config, EdgeType, NodeType};

    fn node(id: &str, at: Option<(f64, f64)>) -> Node {
        Node {
            id: id.to_string(),
            kind: NodeType::Microservice,
            label: id.to_string(),
            position: at.map(|(x, y)| Position { x, y }),
            config: Config::new(),
        }
    }

    fn edge(s: &str, t: &str) -> Edge {
        Edge {
            id: format!("{s}-{t}"),
            source: s.to_string(),
            target: t.to_string(),
            kind: EdgeType::ApiCall,
        }
    }

    #[test]
    fn unpositioned_nodes_are_placed_and_stay_put_as_more_arrive() {
        let mut placed = HashMap::new();
        let first = Canvas {
            nodes: vec![node("web", None), node("api", None)],
            edges: vec![edge("web", "api")],
            version: 1,
        };
        let scene = Scene::build(first.clone(), &HashMap::new(), &mut placed);
        let api_at = scene.position("api");
        assert!(api_at.is_some() && scene.position("web").is_some());

        // A new caller of `api` arrives: alone, layout would shift things; `api` stays.
        let mut second = first;
        second.nodes.insert(0, node("lb", None));
        second.edges.push(edge("lb", "web"));
        let scene = Scene::build(second, &HashMap::new(), &mut placed);
        assert_eq!(scene.position("api"), api_at);
        assert!(scene.position("lb").is_some());
        assert!(scene.canvas.nodes.iter().all(|n| n.position.is_some()));
    }

    #[test]
    fn a_pending_move_wins_until_the_page_sends_another_position() {
        let mut placed = HashMap::new();
        let canvas = Canvas {
            nodes: vec![node("a", Some((100.0, 100.0)))],
            edges: vec![],
            version: 1,
        };
        let to = Position { x: 400.0, y: 250.0 };
        let pending = HashMap::from([(
            "a".to_string(),
            PendingMove {
                to,
                from: Some(Position { x: 100.0, y: 100.0 }),
            },
        )]);
        let scene = Scene::build(canvas.clone(), &pending, &mut placed);
        assert_eq!(scene.position("a"), Some(to));
        // The page saved (or undid) the move: its position is the truth again.
        let mut saved = canvas;
        saved.nodes[0].position = Some(Position { x: 10.0, y: 10.0 });
        let scene = Scene::build(saved, &pending, &mut placed);
        assert_eq!(scene.position("a"), Some(Position { x: 10.0, y: 10.0 }));
    }

    #[test]
    fn moves_are_settled_once_the_page_answers_so_an_undo_sticks() {
        let at = |x: f64| Some(Position { x, y: 0.0 });
        let pending = HashMap::from([(
            "a".to_string(),
            PendingMove {
                to: Position { x: 500.0, y: 0.0 },
                from: at(100.0),
            },
        )]);
        let mut canvas = Canvas {
            nodes: vec![node("a", Some((100.0, 0.0)))],
            edges: vec![],
            version: 1,
        };
        // The page has not saved yet: keep showing the move.
        assert!(settled_moves(&canvas, &pending).is_empty());
        // Saved (or undone, or anything else): forget it.
        canvas.nodes[0].position = at(500.0);
        assert_eq!(settled_moves(&canvas, &pending), vec!["a"]);
        canvas.nodes.clear();
        assert_eq!(settled_moves(&canvas, &pending), vec!["a"]);
    }

    #[test]
    fn duplicate_ids_and_dangling_edges_are_dropped() {
        let canvas = Canvas {
            nodes: vec![
                node("a", Some((0.0, 0.0))),
                node("a", Some((500.0, 0.0))),
                node("b", Some((300.0, 0.0))),
            ],
            edges: vec![
                edge("a", "b"),
                edge("a", "b"),
                edge("a", "ghost"),
                edge("b", "b"),
            ],
            version: 0,
        };
        let scene = Scene::build(canvas, &HashMap::new(), &mut HashMap::new());
        assert_eq!(scene.node_ids(), vec!["a", "b"]);
        assert_eq!(scene.edge_ids(), vec!["a-b"]);
        assert_eq!(scene.position("a"), Some(Position { x: 0.0, y: 0.0 }));
        assert_eq!(scene.degree("b"), (1, 0));
        assert!(scene.edge("a-b").is_some_and(|(_, bend)| bend == 0.0));
    }
}
