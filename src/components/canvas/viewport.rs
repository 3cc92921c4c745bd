//! The canvas' pointer gestures as a pure state machine: pan (background, or a node when
//! read-only), node drag, two-finger pinch, and clicks that select. The component feeds it
//! pointer events in screen coordinates and applies the [`Outcome`]s; nothing here touches
//! the DOM, so every gesture is unit-tested natively.

use super::geometry::{pinch, Point, Viewport, DRAG_THRESHOLD};
use youmeyou_core::model::Position;

/// The DOM's `pointerId`.
pub type PointerId = i32;

/// What a pointer went down on.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Background,
    /// A node, with its position at the time of the press.
    Node {
        id: String,
        position: Position,
    },
}

/// What the component should do after a pointer event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Nothing,
    /// Show this viewport.
    View(Viewport),
    /// Draw the node here for now (the drag goes on).
    NodeMoving {
        id: String,
        position: Position,
    },
    /// The drag ended with the node here: keep it and tell the page.
    NodeDropped {
        id: String,
        position: Position,
    },
    /// A drag was abandoned (second finger, cancelled pointer): put the node back.
    DragCancelled {
        id: String,
    },
    /// A click without movement: select this node, or clear the selection (background).
    Select(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Idle,
    Pan {
        pointer: PointerId,
        start: Point,
        origin: Viewport,
        moved: bool,
        /// The node a click (no movement) selects; `None` for the background.
        click: Option<String>,
    },
    Drag {
        pointer: PointerId,
        id: String,
        start: Point,
        origin: Position,
        moved: bool,
    },
    Pinch {
        a: PointerId,
        b: PointerId,
        a0: Point,
        b0: Point,
        origin: Viewport,
    },
}

/// The pointers that are down and the gesture they make.
#[derive(Debug, Clone, PartialEq)]
pub struct Gestures {
    pointers: Vec<(PointerId, Point)>,
    mode: Mode,
}

impl Default for Gestures {
    fn default() -> Self {
        Self {
            pointers: Vec::new(),
            mode: Mode::Idle,
        }
    }
}

impl Gestures {
    /// Whether a gesture is under way (the component then ignores hover-only moves).
    pub fn is_active(&self) -> bool {
        self.mode != Mode::Idle
    }

    /// Whether the current gesture moves the view (for the "grabbing" cursor).
    pub fn is_panning(&self) -> bool {
        matches!(
            self.mode,
            Mode::Pan { moved: true, .. } | Mode::Pinch { .. }
        )
    }

    fn point_of(&self, pointer: PointerId) -> Option<Point> {
        self.pointers
            .iter()
            .find(|(p, _)| *p == pointer)
            .map(|(_, at)| *at)
    }

    /// A pointer went down at `at` on `target`. `can_drag` is false on a read-only canvas:
    /// nodes then pan like the background, and still select on click.
    pub fn down(
        &mut self,
        pointer: PointerId,
        at: Point,
        target: Target,
        view: Viewport,
        can_drag: bool,
    ) -> Outcome {
        self.pointers.retain(|(p, _)| *p != pointer);
        self.pointers.push((pointer, at));
        match self.pointers.len() {
            1 => {
                self.mode = match target {
                    Target::Node { id, position } if can_drag => Mode::Drag {
                        pointer,
                        id,
                        start: at,
                        origin: position,
                        moved: false,
                    },
                    Target::Node { id, .. } => Mode::Pan {
                        pointer,
                        start: at,
                        origin: view,
                        moved: false,
                        click: Some(id),
                    },
                    Target::Background => Mode::Pan {
                        pointer,
                        start: at,
                        origin: view,
                        moved: false,
                        click: None,
                    },
                };
                Outcome::Nothing
            }
            2 => {
                let (a, a0) = self.pointers[0];
                let (b, b0) = self.pointers[1];
                let previous = std::mem::replace(
                    &mut self.mode,
                    Mode::Pinch {
                        a,
                        b,
                        a0,
                        b0,
                        origin: view,
                    },
                );
                match previous {
                    Mode::Drag { id, .. } => Outcome::DragCancelled { id },
                    _ => Outcome::Nothing,
                }
            }
            // A third finger changes nothing.
            _ => Outcome::Nothing,
        }
    }

    /// A pointer moved to `at`; `view` is the viewport shown now.
    pub fn moved(&mut self, pointer: PointerId, at: Point, view: Viewport) -> Outcome {
        let Some(slot) = self.pointers.iter_mut().find(|(p, _)| *p == pointer) else {
            return Outcome::Nothing;
        };
        slot.1 = at;
        match &mut self.mode {
            Mode::Idle => Outcome::Nothing,
            Mode::Pan {
                pointer: p,
                start,
                origin,
                moved,
                ..
            } if *p == pointer => {
                if !*moved && start.distance(at) < DRAG_THRESHOLD {
                    return Outcome::Nothing;
                }
                *moved = true;
                Outcome::View(origin.panned(at.x - start.x, at.y - start.y))
            }
            Mode::Drag {
                pointer: p,
                id,
                start,
                origin,
                moved,
            } if *p == pointer => {
                if !*moved && start.distance(at) < DRAG_THRESHOLD {
                    return Outcome::Nothing;
                }
                *moved = true;
                Outcome::NodeMoving {
                    id: id.clone(),
                    position: dragged(*origin, *start, at, view.k),
                }
            }
            Mode::Pinch {
                a,
                b,
                a0,
                b0,
                origin,
            } => {
                let (a, b, a0, b0, origin) = (*a, *b, *a0, *b0, *origin);
                match (self.point_of(a), self.point_of(b)) {
                    (Some(a1), Some(b1)) => Outcome::View(pinch(origin, a0, b0, a1, b1)),
                    _ => Outcome::Nothing,
                }
            }
            _ => Outcome::Nothing,
        }
    }

    /// A pointer went up at `at`.
    pub fn up(&mut self, pointer: PointerId, at: Point, view: Viewport) -> Outcome {
        if self.point_of(pointer).is_none() {
            return Outcome::Nothing;
        }
        self.pointers.retain(|(p, _)| *p != pointer);
        let mode = std::mem::replace(&mut self.mode, Mode::Idle);
        match mode {
            Mode::Pan {
                pointer: p,
                moved,
                click,
                ..
            } if p == pointer => {
                if moved {
                    Outcome::Nothing
                } else {
                    Outcome::Select(click)
                }
            }
            Mode::Drag {
                pointer: p,
                id,
                start,
                origin,
                moved,
            } if p == pointer => {
                if moved {
                    Outcome::NodeDropped {
                        id,
                        position: dragged(origin, start, at, view.k),
                    }
                } else {
                    Outcome::Select(Some(id))
                }
            }
            Mode::Pinch { .. } => {
                // One finger left: it keeps panning from where it is, without a click.
                if let Some(&(rest, at)) = self.pointers.first() {
                    self.mode = Mode::Pan {
                        pointer: rest,
                        start: at,
                        origin: view,
                        moved: true,
                        click: None,
                    };
                }
                Outcome::Nothing
            }
            other => {
                // Another pointer than the gesture's went up: the gesture goes on.
                self.mode = other;
                Outcome::Nothing
            }
        }
    }

    /// The browser took the pointer away (`pointercancel`, lost capture).
    pub fn cancel(&mut self, pointer: PointerId, view: Viewport) -> Outcome {
        if self.point_of(pointer).is_none() {
            return Outcome::Nothing;
        }
        let outcome = match &self.mode {
            Mode::Drag { id, pointer: p, .. } if *p == pointer => {
                Outcome::DragCancelled { id: id.clone() }
            }
            _ => Outcome::Nothing,
        };
        self.pointers.retain(|(p, _)| *p != pointer);
        match &self.mode {
            Mode::Pinch { .. } => {
                self.mode = match self.pointers.first() {
                    Some(&(rest, at)) => Mode::Pan {
                        pointer: rest,
                        start: at,
                        origin: view,
                        moved: true,
                        click: None,
                    },
                    None => Mode::Idle,
                };
            }
            Mode::Pan { pointer: p, .. } | Mode::Drag { pointer: p, .. } if *p == pointer => {
                self.mode = Mode::Idle;
            }
            _ => {}
        }
        outcome
    }
}

/// Where a dragged node is: its start position plus the pointer's travel in canvas units,
/// rounded to whole units (positions are saved and compared).
fn dragged(origin: Position, start: Point, at: Point, k: f64) -> Position {
    let k = if k.abs() < f64::EPSILON { 1.0 } else { k };
    Position {
        x: (origin.x + (at.x - start.x) / k).round(),
        y: (origin.y + (at.y - start.y) / k).round(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: Viewport = Viewport::IDENTITY;

    fn node(id: &str) -> Target {
        Target::Node {
            id: id.to_string(),
            position: Position { x: 100.0, y: 100.0 },
        }
    }

    #[test]
    fn dragging_the_background_pans_and_a_click_clears_the_selection() {
        let mut g = Gestures::default();
        assert_eq!(
            g.down(1, Point::new(10.0, 10.0), Target::Background, V, true),
            Outcome::Nothing
        );
        // Under the threshold: still a click.
        assert_eq!(g.moved(1, Point::new(11.0, 11.0), V), Outcome::Nothing);
        assert_eq!(g.up(1, Point::new(11.0, 11.0), V), Outcome::Select(None));
        assert!(!g.is_active());

        g.down(1, Point::new(10.0, 10.0), Target::Background, V, true);
        let out = g.moved(1, Point::new(60.0, 30.0), V);
        assert_eq!(out, Outcome::View(V.panned(50.0, 20.0)));
        assert!(g.is_panning());
        assert_eq!(g.up(1, Point::new(60.0, 30.0), V), Outcome::Nothing);
    }

    #[test]
    fn dragging_a_node_moves_it_in_canvas_units_and_drops_it() {
        let mut g = Gestures::default();
        let zoomed = Viewport {
            x: 0.0,
            y: 0.0,
            k: 2.0,
        };
        g.down(7, Point::new(0.0, 0.0), node("auth"), zoomed, true);
        assert_eq!(
            g.moved(7, Point::new(40.0, 20.0), zoomed),
            Outcome::NodeMoving {
                id: "auth".into(),
                position: Position { x: 120.0, y: 110.0 }
            }
        );
        assert_eq!(
            g.up(7, Point::new(41.0, 21.0), zoomed),
            Outcome::NodeDropped {
                id: "auth".into(),
                position: Position { x: 121.0, y: 111.0 }
            }
        );
    }

    #[test]
    fn clicking_a_node_selects_it_even_when_read_only() {
        let mut g = Gestures::default();
        g.down(1, Point::new(5.0, 5.0), node("db"), V, true);
        assert_eq!(
            g.up(1, Point::new(6.0, 5.0), V),
            Outcome::Select(Some("db".into()))
        );
        // Read-only: a press on a node pans, and a click still selects.
        g.down(1, Point::new(5.0, 5.0), node("db"), V, false);
        assert_eq!(
            g.up(1, Point::new(5.0, 5.0), V),
            Outcome::Select(Some("db".into()))
        );
        g.down(1, Point::new(5.0, 5.0), node("db"), V, false);
        assert!(matches!(
            g.moved(1, Point::new(50.0, 5.0), V),
            Outcome::View(_)
        ));
    }

    #[test]
    fn a_second_finger_turns_a_drag_into_a_pinch_and_puts_the_node_back() {
        let mut g = Gestures::default();
        g.down(1, Point::new(100.0, 100.0), node("cache"), V, true);
        g.moved(1, Point::new(120.0, 100.0), V);
        assert_eq!(
            g.down(2, Point::new(200.0, 100.0), Target::Background, V, true),
            Outcome::DragCancelled { id: "cache".into() }
        );
        // Fingers spread from 80 to 160 px apart around the same midpoint: 2× zoom.
        g.moved(1, Point::new(80.0, 100.0), V);
        let out = g.moved(2, Point::new(240.0, 100.0), V);
        let Outcome::View(v) = out else {
            panic!("expected a viewport, got {out:?}");
        };
        assert!((v.k - 2.0).abs() < 1e-9, "k = {}", v.k);
        // Lifting one finger keeps panning with the other and does not click.
        assert_eq!(g.up(2, Point::new(240.0, 100.0), v), Outcome::Nothing);
        assert!(g.is_panning());
        assert!(matches!(
            g.moved(1, Point::new(90.0, 100.0), v),
            Outcome::View(_)
        ));
        assert_eq!(g.up(1, Point::new(90.0, 100.0), v), Outcome::Nothing);
        assert!(!g.is_active());
    }

    #[test]
    fn a_cancelled_pointer_abandons_the_drag() {
        let mut g = Gestures::default();
        g.down(3, Point::new(0.0, 0.0), node("q"), V, true);
        g.moved(3, Point::new(30.0, 0.0), V);
        assert_eq!(g.cancel(3, V), Outcome::DragCancelled { id: "q".into() });
        assert!(!g.is_active());
        // Unknown pointers are ignored.
        assert_eq!(g.up(9, Point::new(0.0, 0.0), V), Outcome::Nothing);
        assert_eq!(g.moved(9, Point::new(0.0, 0.0), V), Outcome::Nothing);
    }
}
