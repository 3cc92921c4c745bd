//! Automatic placement of canvas nodes that have no position (agents produce nodes without a
//! layout). Left-to-right by edge direction; never moves a node that already has a position,
//! and never puts a new node on top of one. Deterministic: same canvas, same positions.

use crate::model::{Canvas, EdgeType, NodeType, Position};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Horizontal distance between layers (a caller and what it calls), in canvas pixels.
pub const COLUMN_SPACING: f64 = 220.0;
/// Vertical distance between nodes stacked in one layer.
pub const ROW_SPACING: f64 = 120.0;
/// The box a node is assumed to occupy when checking overlaps (the UI draws nodes smaller,
/// so 40 px gaps remain between grid neighbours).
pub const NODE_WIDTH: f64 = 180.0;
pub const NODE_HEIGHT: f64 = 80.0;
/// Where the first layer starts on an empty canvas.
pub const ORIGIN: Position = Position { x: 100.0, y: 100.0 };

/// A copy of `canvas` with every unpositioned node placed (see [`place_unpositioned`]).
/// The version is left alone: placing is part of the change that produced the nodes.
pub fn layout(canvas: &Canvas) -> Canvas {
    let mut placed = canvas.clone();
    place_unpositioned(&mut placed);
    placed
}

/// Gives a position to every node whose `position` is `None` and returns their ids, in the
/// order placed. A node goes one column right of its already placed callers (beside the
/// first), or else one column left of its placed callees, or else in the column of its depth
/// (longest caller chain); then down the column to the first free slot. Monitoring edges are
/// ignored for depth so an observer does not push what it watches to the right.
pub fn place_unpositioned(canvas: &mut Canvas) -> Vec<String> {
    let n = canvas.nodes.len();
    if canvas.nodes.iter().all(|node| node.position.is_some()) {
        return Vec::new();
    }
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, node) in canvas.nodes.iter().enumerate() {
        index.entry(node.id.as_str()).or_insert(i);
    }
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut callees: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &canvas.edges {
        if edge.kind == EdgeType::Monitoring {
            continue;
        }
        if let (Some(&s), Some(&t)) = (
            index.get(edge.source.as_str()),
            index.get(edge.target.as_str()),
        ) {
            if s != t {
                callees[s].push(t);
                callers[t].push(s);
            }
        }
    }
    drop(index);

    let (order, depth) = layered_order(&callers, &callees);
    let mut positions: Vec<Option<Position>> = canvas.nodes.iter().map(|n| n.position).collect();
    let mut grid = Grid::default();
    for p in positions.iter().flatten() {
        grid.insert(*p);
    }

    // Observers go last, so they settle under what they watch instead of claiming its slot.
    let is_monitor = |i: usize| canvas.nodes[i].kind == NodeType::Monitoring;
    let order: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| !is_monitor(i))
        .chain(order.iter().copied().filter(|&i| is_monitor(i)))
        .collect();
    let mut placed = Vec::new();
    for i in order {
        if positions[i].is_some() {
            continue;
        }
        let first_placed = |list: &[usize]| list.iter().find_map(|&j| positions[j]);
        let anchor = if let Some(first) = first_placed(&callers[i]) {
            let right = callers[i]
                .iter()
                .filter_map(|&j| positions[j])
                .map(|p| p.x)
                .fold(f64::MIN, f64::max);
            Position {
                x: right + COLUMN_SPACING,
                y: first.y,
            }
        } else if let Some(first) = first_placed(&callees[i]) {
            let left = callees[i]
                .iter()
                .filter_map(|&j| positions[j])
                .map(|p| p.x)
                .fold(f64::MAX, f64::min);
            Position {
                x: left - COLUMN_SPACING,
                y: first.y,
            }
        } else {
            Position {
                x: ORIGIN.x + depth[i] as f64 * COLUMN_SPACING,
                y: ORIGIN.y,
            }
        };
        let spot = grid.first_free_below(anchor);
        grid.insert(spot);
        positions[i] = Some(spot);
        canvas.nodes[i].position = Some(spot);
        placed.push(canvas.nodes[i].id.clone());
    }
    placed
}

/// Callers before callees (lowest index first among the ready), with cycles broken at their
/// lowest-index node; and each node's depth along the order.
fn layered_order(callers: &[Vec<usize>], callees: &[Vec<usize>]) -> (Vec<usize>, Vec<usize>) {
    let n = callers.len();
    let mut waiting: Vec<usize> = callers.iter().map(Vec::len).collect();
    let mut done = vec![false; n];
    let mut depth = vec![0usize; n];
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    let mut next_unforced = 0;
    while order.len() < n {
        let i = match ready.pop() {
            Some(Reverse(i)) if !done[i] => i,
            Some(_) => continue,
            None => {
                // Only cycles remain: start from the lowest node not yet ordered.
                while done[next_unforced] {
                    next_unforced += 1;
                }
                next_unforced
            }
        };
        done[i] = true;
        order.push(i);
        for &c in &callees[i] {
            // An edge back into an ordered node closes a cycle: it does not deepen it.
            if done[c] {
                continue;
            }
            depth[c] = depth[c].max(depth[i] + 1);
            waiting[c] = waiting[c].saturating_sub(1);
            if waiting[c] == 0 {
                ready.push(Reverse(c));
            }
        }
    }
    (order, depth)
}

/// Placed boxes bucketed by grid cell, so an overlap check looks at 9 cells, not every node.
#[derive(Default)]
struct Grid {
    cells: HashMap<(i64, i64), Vec<Position>>,
    boxes: usize,
    /// Anchor → the last spot found below it. Boxes are only ever added, so the first free
    /// spot below an anchor never moves up: the next search can resume there.
    resume: HashMap<(u64, u64), Position>,
}

impl Grid {
    fn cell(p: Position) -> (i64, i64) {
        // Saturating float-to-int casts: absurd coordinates land in the edge cells.
        (
            (p.x / COLUMN_SPACING).floor() as i64,
            (p.y / ROW_SPACING).floor() as i64,
        )
    }

    fn insert(&mut self, p: Position) {
        self.cells.entry(Self::cell(p)).or_default().push(p);
        self.boxes += 1;
    }

    fn overlaps(&self, p: Position) -> bool {
        let (cx, cy) = Self::cell(p);
        // A box overlapping p is less than one spacing away, so within the 8 neighbours.
        (cx.saturating_sub(1)..=cx.saturating_add(1)).any(|x| {
            (cy.saturating_sub(1)..=cy.saturating_add(1)).any(|y| {
                self.cells.get(&(x, y)).is_some_and(|boxes| {
                    boxes
                        .iter()
                        .any(|b| (b.x - p.x).abs() < NODE_WIDTH && (b.y - p.y).abs() < NODE_HEIGHT)
                })
            })
        })
    }

    fn first_free_below(&mut self, anchor: Position) -> Position {
        let key = (anchor.x.to_bits(), anchor.y.to_bits());
        let mut spot = self.resume.get(&key).copied().unwrap_or(anchor);
        // Each placed box blocks at most two slots of a column, so this ends; the bound is a
        // guard against float surprises.
        for _ in 0..=2 * self.boxes {
            if !self.overlaps(spot) {
                break;
            }
            spot.y += ROW_SPACING;
        }
        self.resume.insert(key, spot);
        spot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::tests::{assert_no_overlaps, edge, find, node};
    use crate::model::{EdgeType, NodeType};

    fn at(canvas: &Canvas, id: &str) -> Option<(f64, f64)> {
        find(canvas, id)
            .and_then(|n| n.position)
            .map(|p| (p.x, p.y))
    }

    #[test]
    fn an_empty_canvas_is_laid_out_left_to_right_by_calls() {
        let canvas = Canvas {
            nodes: vec![
                node("users-db", NodeType::Database, None),
                node("web", NodeType::Frontend, None),
                node("gateway", NodeType::Gateway, None),
                node("auth", NodeType::Microservice, None),
                node("cart", NodeType::Microservice, None),
            ],
            edges: vec![
                edge("web", "gateway", EdgeType::ApiCall),
                edge("gateway", "auth", EdgeType::ApiCall),
                edge("gateway", "cart", EdgeType::ApiCall),
                edge("auth", "users-db", EdgeType::Db),
            ],
            version: 3,
        };
        let laid = layout(&canvas);
        assert_eq!(at(&laid, "web"), Some((100.0, 100.0)));
        assert_eq!(at(&laid, "gateway"), Some((320.0, 100.0)));
        assert_eq!(at(&laid, "auth"), Some((540.0, 100.0)));
        assert_eq!(at(&laid, "cart"), Some((540.0, 220.0)));
        assert_eq!(at(&laid, "users-db"), Some((760.0, 100.0)));
        assert_eq!(laid.version, 3, "layout does not bump the version");
        assert_no_overlaps(&laid);
    }

    #[test]
    fn user_placed_nodes_stay_and_new_ones_avoid_them() {
        let canvas = Canvas {
            nodes: vec![
                node("auth", NodeType::Microservice, Some((400.0, 300.0))),
                node("blocker", NodeType::External, Some((620.0, 310.0))),
                node("users-db", NodeType::Database, None),
                node("lb", NodeType::LoadBalancer, None),
            ],
            edges: vec![
                edge("auth", "users-db", EdgeType::Db),
                edge("lb", "auth", EdgeType::ApiCall),
            ],
            version: 0,
        };
        let mut laid = canvas.clone();
        let placed = place_unpositioned(&mut laid);
        assert_eq!(placed, vec!["lb".to_string(), "users-db".to_string()]);
        assert_eq!(at(&laid, "auth"), Some((400.0, 300.0)));
        assert_eq!(at(&laid, "blocker"), Some((620.0, 310.0)));
        // Right of its caller, pushed below the user's box that sits there.
        assert_eq!(at(&laid, "users-db"), Some((620.0, 420.0)));
        // Left of what it calls.
        assert_eq!(at(&laid, "lb"), Some((180.0, 300.0)));
        assert_no_overlaps(&laid);
    }

    #[test]
    fn a_fully_placed_canvas_is_unchanged() {
        let canvas = Canvas {
            nodes: vec![node("a", NodeType::Cache, Some((1.0, 2.0)))],
            edges: vec![],
            version: 1,
        };
        assert_eq!(layout(&canvas), canvas);
    }

    #[test]
    fn cycles_and_monitoring_edges_do_not_break_the_layout() {
        let canvas = Canvas {
            nodes: vec![
                node("a", NodeType::Microservice, None),
                node("b", NodeType::Microservice, None),
                node("monitoring", NodeType::Monitoring, None),
            ],
            edges: vec![
                edge("a", "b", EdgeType::ApiCall),
                edge("b", "a", EdgeType::ApiCall),
                edge("monitoring", "a", EdgeType::Monitoring),
                edge("ghost", "a", EdgeType::ApiCall),
            ],
            version: 0,
        };
        let laid = layout(&canvas);
        assert_eq!(at(&laid, "a"), Some((100.0, 100.0)));
        assert_eq!(at(&laid, "b"), Some((320.0, 100.0)));
        assert_eq!(at(&laid, "monitoring"), Some((100.0, 220.0)));
        assert_eq!(layout(&canvas), laid, "deterministic");
    }

    #[test]
    fn five_hundred_nodes_in_one_column_are_placed_quickly_without_overlaps() {
        let canvas = Canvas {
            nodes: (0..500)
                .map(|i| {
                    // Every fifth node is user-placed somewhere in the same column.
                    let at = (i % 5 == 0).then_some((100.0, 100.0 + 37.0 * i as f64));
                    node(&format!("n{i}"), NodeType::Microservice, at)
                })
                .collect(),
            edges: vec![],
            version: 0,
        };
        let laid = layout(&canvas);
        assert!(laid.nodes.iter().all(|n| n.position.is_some()));
        assert_no_overlaps(&laid);
    }
}
