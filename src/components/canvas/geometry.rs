//! Pure geometry of the architecture canvas: node boxes and shapes, edge paths clipped to the
//! node boxes, the pan/zoom viewport (zoom around a point, pinch, clamp, fit-to-view) and the
//! text shown on a node. No DOM, no signals: everything here is unit-tested natively.

use youmeyou_core::model::{Canvas, Config, Edge, EdgeType, NodeType, Position};

/// Width of a drawn node, in canvas units. Smaller than the layout's 180 × 80 box
/// (`youmeyou_core::canvas::layout::NODE_WIDTH`), so neighbours on the layout grid keep a gap.
pub const NODE_W: f64 = 176.0;
/// Height of a drawn node, in canvas units.
pub const NODE_H: f64 = 64.0;
/// Zoom limits (scale factors).
pub const MIN_ZOOM: f64 = 0.2;
pub const MAX_ZOOM: f64 = 3.0;
/// Fit-to-view never magnifies beyond this: two nodes should not fill a screen.
pub const FIT_MAX_ZOOM: f64 = 1.25;
/// Screen pixels kept free around the content by fit-to-view.
pub const FIT_PADDING: f64 = 40.0;
/// How far (screen px) a pointer may travel before a press becomes a drag instead of a click.
pub const DRAG_THRESHOLD: f64 = 4.0;
/// Distance between the end of an edge and the border of its target, so the arrow tip
/// touches the border instead of hiding under it.
pub const ARROW_GAP: f64 = 2.0;
/// Perpendicular spread between parallel edges that join the same two nodes.
pub const PARALLEL_EDGE_SPREAD: f64 = 22.0;
/// Longest label drawn on a node before it is cut with an ellipsis (the full label stays in
/// the tooltip, the aria-label and the details panel).
pub const LABEL_MAX_CHARS: usize = 18;
/// Longest configuration fact drawn under the label (two such lines fit).
pub const SUMMARY_MAX_CHARS: usize = 22;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }

    pub fn distance(self, other: Point) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    pub fn midpoint(self, other: Point) -> Point {
        Point::new((self.x + other.x) / 2.0, (self.y + other.y) / 2.0)
    }
}

impl From<Position> for Point {
    fn from(p: Position) -> Self {
        Point::new(p.x, p.y)
    }
}

/// An axis-aligned box: `x`, `y` is the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub const fn new(x: f64, y: f64, w: f64, h: f64) -> Self {
        Self { x, y, w, h }
    }

    pub fn center(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }

    /// Whether `other` lies entirely inside this box.
    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// This box grown by `by` on every side.
    pub fn inflate(&self, by: f64) -> Rect {
        Rect::new(
            self.x - by,
            self.y - by,
            self.w + 2.0 * by,
            self.h + 2.0 * by,
        )
    }
}

/// The box a node occupies; its position is its top-left corner.
pub fn node_rect(position: Position) -> Rect {
    Rect::new(position.x, position.y, NODE_W, NODE_H)
}

/// The box around every positioned node of `canvas`; `None` when nothing is positioned.
pub fn content_bounds(canvas: &Canvas) -> Option<Rect> {
    canvas
        .nodes
        .iter()
        .filter_map(|n| n.position)
        .map(node_rect)
        .reduce(|a, b| a.union(&b))
}

// ───────────────────────────── Viewport ─────────────────────────────

/// The pan/zoom state: a canvas point `p` is drawn at screen point `p * k + (x, y)`, where
/// screen points are relative to the top-left corner of the SVG element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub k: f64,
}

impl Default for Viewport {
    fn default() -> Self {
        Self::IDENTITY
    }
}

impl Viewport {
    pub const IDENTITY: Viewport = Viewport {
        x: 0.0,
        y: 0.0,
        k: 1.0,
    };

    pub fn to_screen(&self, world: Point) -> Point {
        Point::new(world.x * self.k + self.x, world.y * self.k + self.y)
    }

    pub fn to_world(&self, screen: Point) -> Point {
        let k = if self.k.abs() < f64::EPSILON {
            1.0
        } else {
            self.k
        };
        Point::new((screen.x - self.x) / k, (screen.y - self.y) / k)
    }

    /// The canvas area visible in a view of `width` × `height` screen pixels.
    pub fn visible_world(&self, width: f64, height: f64) -> Rect {
        let a = self.to_world(Point::new(0.0, 0.0));
        let b = self.to_world(Point::new(width, height));
        Rect::new(a.x, a.y, b.x - a.x, b.y - a.y)
    }

    /// The SVG `transform` attribute of the layer that holds the whole drawing. Rounded so
    /// the attribute stays short and server and client print the same text.
    pub fn transform(&self) -> String {
        format!(
            "translate({} {}) scale({})",
            round_to(self.x, 2),
            round_to(self.y, 2),
            round_to(self.k, 4)
        )
    }

    /// Moved by a screen-pixel delta.
    pub fn panned(&self, dx: f64, dy: f64) -> Viewport {
        Viewport {
            x: self.x + dx,
            y: self.y + dy,
            k: self.k,
        }
    }

    /// Scaled by `factor` (the result clamped to [`MIN_ZOOM`]..=[`MAX_ZOOM`]) so that the
    /// canvas point under `screen` stays under it.
    pub fn zoomed_at(&self, factor: f64, screen: Point) -> Viewport {
        let k = clamp_zoom(self.k * factor);
        let world = self.to_world(screen);
        Viewport {
            x: screen.x - world.x * k,
            y: screen.y - world.y * k,
            k,
        }
    }

    /// The percentage shown in the toolbar.
    pub fn percent(&self) -> u32 {
        (self.k * 100.0).round().clamp(0.0, 10_000.0) as u32
    }
}

/// How much of every node is drawn at a zoom level. Text a few screen pixels high cannot be
/// read, yet on a large diagram it is most of the paint work of each pan and zoom frame, so a
/// zoomed-out canvas draws less of it (the node's accessible name and the export keep it all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: icon badge, label and config facts.
    Full,
    /// Label and icon; no badge letters or config facts (they would be < ~5 px).
    Labels,
    /// Shapes, icons and edges only (labels would be < ~4.5 px).
    Shapes,
}

/// Below this zoom the badge and the config facts (10.5 px text) are dropped.
pub const DETAIL_LABELS_BELOW: f64 = 0.5;
/// Below this zoom the labels (12.5 px text) are dropped too.
pub const DETAIL_SHAPES_BELOW: f64 = 0.35;

/// While a zoom gesture (wheel, pinch) is under way on a canvas of at least this many nodes,
/// only shapes are drawn until it settles: every new scale re-rasterises every glyph, the most
/// expensive paint of a zoom frame. Smaller canvases keep their text.
pub const ZOOMING_SHAPES_FROM: usize = 100;
/// How long after the last zoom step a gesture counts as settled.
pub const ZOOM_SETTLE_MS: u64 = 180;

impl Detail {
    /// The level during a zoom gesture over `nodes` nodes.
    pub fn while_zooming(self, nodes: usize) -> Detail {
        if nodes >= ZOOMING_SHAPES_FROM {
            Detail::Shapes
        } else {
            self
        }
    }

    pub fn at_zoom(k: f64) -> Detail {
        if !k.is_finite() || k >= DETAIL_LABELS_BELOW {
            Detail::Full
        } else if k >= DETAIL_SHAPES_BELOW {
            Detail::Labels
        } else {
            Detail::Shapes
        }
    }

    /// The value of the canvas' `data-detail` attribute, which the stylesheet keys on.
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::Full => "full",
            Detail::Labels => "labels",
            Detail::Shapes => "shapes",
        }
    }
}

/// Clamps a scale factor to [`MIN_ZOOM`]..=[`MAX_ZOOM`]; anything not finite becomes 1.
pub fn clamp_zoom(k: f64) -> f64 {
    if k.is_finite() {
        k.clamp(MIN_ZOOM, MAX_ZOOM)
    } else {
        1.0
    }
}

/// The viewport of a two-finger gesture: `origin` was the viewport when the fingers were at
/// `a0`, `b0`; they are now at `a1`, `b1`. The canvas point under the first midpoint follows
/// the midpoint, and the scale follows the distance between the fingers.
pub fn pinch(origin: Viewport, a0: Point, b0: Point, a1: Point, b1: Point) -> Viewport {
    let d0 = a0.distance(b0);
    let d1 = a1.distance(b1);
    let factor = if d0 > 1.0 { d1 / d0 } else { 1.0 };
    let k = clamp_zoom(origin.k * factor);
    let anchor = origin.to_world(a0.midpoint(b0));
    let mid = a1.midpoint(b1);
    Viewport {
        x: mid.x - anchor.x * k,
        y: mid.y - anchor.y * k,
        k,
    }
}

/// The viewport that shows `bounds` (canvas units) centred in a `width` × `height` view,
/// with [`FIT_PADDING`] pixels around, never magnifying beyond [`FIT_MAX_ZOOM`].
pub fn fit_to_view(bounds: Rect, width: f64, height: f64) -> Viewport {
    if width <= 0.0 || height <= 0.0 || !width.is_finite() || !height.is_finite() {
        return Viewport::IDENTITY;
    }
    let avail_w = (width - 2.0 * FIT_PADDING).max(1.0);
    let avail_h = (height - 2.0 * FIT_PADDING).max(1.0);
    let kx = if bounds.w > 0.0 {
        avail_w / bounds.w
    } else {
        FIT_MAX_ZOOM
    };
    let ky = if bounds.h > 0.0 {
        avail_h / bounds.h
    } else {
        FIT_MAX_ZOOM
    };
    let k = clamp_zoom(kx.min(ky).min(FIT_MAX_ZOOM));
    let c = bounds.center();
    Viewport {
        x: width / 2.0 - c.x * k,
        y: height / 2.0 - c.y * k,
        k,
    }
}

/// The zoom factor of one wheel event. `delta_mode` is the DOM's: 0 pixels, 1 lines,
/// 2 pages. Each event is capped so a fast flick does not jump from 20 % to 300 %.
pub fn wheel_factor(delta_y: f64, delta_mode: u32) -> f64 {
    let pixels = match delta_mode {
        1 => delta_y * 16.0,
        2 => delta_y * 400.0,
        _ => delta_y,
    };
    if !pixels.is_finite() {
        return 1.0;
    }
    (-pixels.clamp(-300.0, 300.0) * 0.002).exp()
}

// ───────────────────────────── Edges ─────────────────────────────

/// Where the segment from the centre of `rect` towards `toward` leaves the box.
pub fn box_exit(rect: &Rect, toward: Point) -> Point {
    let c = rect.center();
    let dx = toward.x - c.x;
    let dy = toward.y - c.y;
    if dx.abs() < f64::EPSILON && dy.abs() < f64::EPSILON {
        return c;
    }
    let hw = rect.w / 2.0;
    let hh = rect.h / 2.0;
    // The ray leaves through the side it hits first.
    let tx = if dx.abs() > f64::EPSILON {
        hw / dx.abs()
    } else {
        f64::INFINITY
    };
    let ty = if dy.abs() > f64::EPSILON {
        hh / dy.abs()
    } else {
        f64::INFINITY
    };
    let t = tx.min(ty);
    Point::new(c.x + dx * t, c.y + dy * t)
}

/// The drawn form of an edge: a straight or gently bent path between the borders of its two
/// nodes, ending [`ARROW_GAP`] before the target's border.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeGeometry {
    pub start: Point,
    pub end: Point,
    /// Where a label would go: the middle of the curve.
    pub mid: Point,
    /// SVG path data.
    pub d: String,
}

/// The path from `source` to `target`. `bend` pushes the middle of the path sideways (screen
/// left of the direction of travel when positive) so parallel edges do not overlap. `None`
/// when the boxes overlap so much that no visible segment remains.
pub fn edge_geometry(source: &Rect, target: &Rect, bend: f64) -> Option<EdgeGeometry> {
    let sc = source.center();
    let tc = target.center();
    let len = sc.distance(tc);
    if len < 1.0 {
        return None;
    }
    // Unit normal of the centre line; the control point sits on it.
    let nx = -(tc.y - sc.y) / len;
    let ny = (tc.x - sc.x) / len;
    let mid_line = sc.midpoint(tc);
    let control = Point::new(mid_line.x + nx * bend * 2.0, mid_line.y + ny * bend * 2.0);
    // Clip each end where the line towards the control point leaves its box.
    let start = box_exit(source, control);
    let raw_end = box_exit(target, control);
    // Inside-out boxes (overlap): the clipped ends cross; nothing sensible to draw.
    let along = (raw_end.x - start.x) * (tc.x - sc.x) + (raw_end.y - start.y) * (tc.y - sc.y);
    if along <= 0.0 {
        return None;
    }
    let back = Point::new(control.x - raw_end.x, control.y - raw_end.y);
    let back_len = back.x.hypot(back.y);
    let end = if back_len > ARROW_GAP {
        Point::new(
            raw_end.x + back.x / back_len * ARROW_GAP,
            raw_end.y + back.y / back_len * ARROW_GAP,
        )
    } else {
        raw_end
    };
    let (d, mid) = if bend.abs() < f64::EPSILON {
        (
            format!(
                "M{} {}L{} {}",
                round_to(start.x, 1),
                round_to(start.y, 1),
                round_to(end.x, 1),
                round_to(end.y, 1)
            ),
            start.midpoint(end),
        )
    } else {
        // Quadratic Bézier: its middle is the average of the ends and twice the control.
        let mid = Point::new(
            0.25 * start.x + 0.5 * control.x + 0.25 * end.x,
            0.25 * start.y + 0.5 * control.y + 0.25 * end.y,
        );
        (
            format!(
                "M{} {}Q{} {} {} {}",
                round_to(start.x, 1),
                round_to(start.y, 1),
                round_to(control.x, 1),
                round_to(control.y, 1),
                round_to(end.x, 1),
                round_to(end.y, 1)
            ),
            mid,
        )
    };
    Some(EdgeGeometry { start, end, mid, d })
}

/// The sideways bend of every edge (same order as `edges`): 0 for an edge alone between
/// its two nodes; edges sharing a pair of nodes (either direction) fan out symmetrically.
pub fn edge_bends(edges: &[Edge]) -> Vec<f64> {
    use std::collections::HashMap;
    fn key(e: &Edge) -> (&str, &str) {
        if e.source <= e.target {
            (e.source.as_str(), e.target.as_str())
        } else {
            (e.target.as_str(), e.source.as_str())
        }
    }
    let mut counts: HashMap<(&str, &str), usize> = HashMap::new();
    for e in edges {
        *counts.entry(key(e)).or_default() += 1;
    }
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    edges
        .iter()
        .map(|e| {
            let k = key(e);
            let n = counts.get(&k).copied().unwrap_or(1);
            let slot = seen.entry(k).or_default();
            let i = *slot;
            *slot += 1;
            if n <= 1 {
                return 0.0;
            }
            let offset = (i as f64 - (n as f64 - 1.0) / 2.0) * PARALLEL_EDGE_SPREAD;
            // The normal flips with the direction of travel: flip back so that edges of
            // opposite directions land on the sides their slots say.
            if e.source <= e.target {
                offset
            } else {
                -offset
            }
        })
        .collect()
}

// ───────────────────────────── Shapes ─────────────────────────────

/// How a node type is drawn and named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindStyle {
    /// CSS modifier, e.g. `cnode--database`.
    pub class: &'static str,
    /// Human name, e.g. "Database".
    pub name: &'static str,
    /// The name inside a sentence, e.g. "load balancer" (plural: add "s").
    pub noun: &'static str,
    /// Short badge drawn in the node's icon, e.g. "DB".
    pub badge: &'static str,
}

pub fn kind_style(kind: NodeType) -> KindStyle {
    let (class, name, noun, badge) = match kind {
        NodeType::Microservice => ("service", "Microservice", "microservice", "SVC"),
        NodeType::Database => ("database", "Database", "database", "DB"),
        NodeType::Cache => ("cache", "Cache", "cache", "C$"),
        NodeType::LoadBalancer => ("lb", "Load balancer", "load balancer", "LB"),
        NodeType::Queue => ("queue", "Queue", "queue", "MQ"),
        NodeType::Gateway => ("gateway", "API gateway", "API gateway", "GW"),
        NodeType::Frontend => ("frontend", "Frontend", "frontend", "UI"),
        NodeType::Monitoring => ("monitoring", "Monitoring", "monitoring service", "MON"),
        NodeType::External => ("external", "External system", "external system", "EXT"),
    };
    KindStyle {
        class,
        name,
        noun,
        badge,
    }
}

/// The outline of a node of `kind` in node-local units (0..[`NODE_W`], 0..[`NODE_H`]), and an
/// optional second stroke drawn over it (the rim of a cylinder, the title bar of a window).
pub fn shape_paths(kind: NodeType) -> (String, Option<String>) {
    let w = NODE_W;
    let h = NODE_H;
    match kind {
        NodeType::Database => {
            // Upright cylinder: the top ellipse's front arc is the accent.
            let ry = 8.0;
            (
                format!(
                    "M0 {ry}A{rx} {ry} 0 0 1 {w} {ry}V{b}A{rx} {ry} 0 0 1 0 {b}Z",
                    rx = w / 2.0,
                    b = h - ry
                ),
                Some(format!("M0 {ry}A{rx} {ry} 0 0 0 {w} {ry}", rx = w / 2.0)),
            )
        }
        NodeType::Queue => {
            // Lying cylinder: a pipe that messages flow through.
            let rx = 10.0;
            (
                format!(
                    "M{rx} 0H{r}A{rx} {ry} 0 0 1 {r} {h}H{rx}A{rx} {ry} 0 0 1 {rx} 0Z",
                    r = w - rx,
                    ry = h / 2.0
                ),
                Some(format!(
                    "M{r} 0A{rx} {ry} 0 0 0 {r} {h}",
                    r = w - rx,
                    ry = h / 2.0
                )),
            )
        }
        NodeType::Cache => (
            format!(
                "M12 0H{a}L{w} {m}L{a} {h}H12L0 {m}Z",
                a = w - 12.0,
                m = h / 2.0
            ),
            None,
        ),
        NodeType::LoadBalancer => (rounded_rect(w, h, h / 2.0), None),
        NodeType::Gateway => (
            format!(
                "M0 0H{a}L{w} {m}L{a} {h}H0L8 {m}Z",
                a = w - 16.0,
                m = h / 2.0
            ),
            None,
        ),
        NodeType::Frontend => (rounded_rect(w, h, 6.0), Some(format!("M0 14H{w}"))),
        NodeType::Monitoring => (
            format!(
                "M14 0H{a}L{w} 14V{b}L{a} {h}H14L0 {b}V14Z",
                a = w - 14.0,
                b = h - 14.0
            ),
            None,
        ),
        NodeType::Microservice | NodeType::External => (rounded_rect(w, h, 10.0), None),
    }
}

fn rounded_rect(w: f64, h: f64, r: f64) -> String {
    let r = r.min(w / 2.0).min(h / 2.0);
    format!(
        "M{r} 0H{a}A{r} {r} 0 0 1 {w} {r}V{b}A{r} {r} 0 0 1 {a} {h}H{r}A{r} {r} 0 0 1 0 {b}V{r}A{r} {r} 0 0 1 {r} 0Z",
        a = w - r,
        b = h - r
    )
}

/// CSS modifier and human name of an edge type; the modifier is the contract's spelling.
pub fn edge_style(kind: EdgeType) -> (&'static str, &'static str) {
    match kind {
        EdgeType::ApiCall => ("api-call", "API call"),
        EdgeType::Db => ("db", "database access"),
        EdgeType::Cache => ("cache", "cache access"),
        EdgeType::Pubsub => ("pubsub", "publish/subscribe"),
        EdgeType::Replication => ("replication", "replication"),
        EdgeType::Monitoring => ("monitoring", "monitoring"),
    }
}

/// Every edge type, for markers and legends.
pub const EDGE_TYPES: [EdgeType; 6] = [
    EdgeType::ApiCall,
    EdgeType::Db,
    EdgeType::Cache,
    EdgeType::Pubsub,
    EdgeType::Replication,
    EdgeType::Monitoring,
];

// ───────────────────────────── Text ─────────────────────────────

/// `text` cut to at most `max` characters, the last being "…" when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

fn as_count(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The key facts of a node's configuration, most telling first, e.g.
/// `["×10 instances", "2 read replicas"]` or `["3 nodes", "Redis"]`.
pub fn config_facts(config: &Config) -> Vec<String> {
    let mut facts = Vec::new();
    if let Some(n) = config.get("instances").and_then(as_count) {
        facts.push(if n == 1 {
            "1 instance".to_string()
        } else {
            format!("×{n} instances")
        });
    }
    if let Some(n) = config.get("nodes").and_then(as_count) {
        facts.push(plural(n, "node", "nodes"));
    }
    if let Some(n) = config.get("read_replicas").and_then(as_count) {
        facts.push(plural(n, "read replica", "read replicas"));
    } else if let Some(n) = config.get("replicas").and_then(as_count) {
        facts.push(plural(n, "replica", "replicas"));
    }
    if let Some(n) = config.get("partitions").and_then(as_count) {
        facts.push(plural(n, "partition", "partitions"));
    }
    if let Some(n) = config.get("shards").and_then(as_count) {
        facts.push(plural(n, "shard", "shards"));
    }
    for key in ["engine", "database", "technology", "provider"] {
        if let Some(s) = config.get(key).and_then(|v| v.as_str()) {
            if !s.trim().is_empty() {
                facts.push(s.trim().to_string());
                break;
            }
        }
    }
    for key in ["estimated_capacity", "capacity", "target_rps", "rps"] {
        match config.get(key) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
                facts.push(s.trim().to_string());
                break;
            }
            Some(serde_json::Value::Number(n)) => {
                facts.push(format!("{n} RPS"));
                break;
            }
            _ => {}
        }
    }
    facts
}

/// The (at most two) lines drawn under a node's label: its first facts, each cut to fit.
pub fn config_summary(config: &Config) -> Vec<String> {
    config_facts(config)
        .iter()
        .take(2)
        .map(|f| truncate(f, SUMMARY_MAX_CHARS))
        .collect()
}

/// Every configuration entry as `(human key, value text)`, in key order, for the details
/// panel: `session_store` → "Session store".
pub fn config_rows(config: &Config) -> Vec<(String, String)> {
    config
        .iter()
        .map(|(k, v)| (humanize_key(k), value_text(v)))
        .collect()
}

fn humanize_key(key: &str) -> String {
    let spaced = key.replace(['_', '-'], " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_string(),
        serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        serde_json::Value::Array(items) => {
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// The sentence a screen reader hears for the whole diagram, e.g. "Architecture diagram: 12
/// components (4 microservices, 3 databases, …) and 8 connections."
pub fn canvas_summary(canvas: &Canvas) -> String {
    if canvas.nodes.is_empty() {
        return "Architecture diagram: empty.".to_string();
    }
    let mut counts: Vec<(NodeType, usize)> = Vec::new();
    for node in &canvas.nodes {
        match counts.iter_mut().find(|(k, _)| *k == node.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((node.kind, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = counts
        .iter()
        .map(|(kind, n)| {
            let noun = kind_style(*kind).noun;
            if *n == 1 {
                format!("1 {noun}")
            } else {
                format!("{n} {noun}s")
            }
        })
        .collect();
    let nodes = canvas.nodes.len();
    let edges = canvas.edges.len();
    format!(
        "Architecture diagram: {} ({}) and {}.",
        plural(nodes as u64, "component", "components"),
        parts.join(", "),
        plural(edges as u64, "connection", "connections")
    )
}

/// The aria-label of one node: "Auth Service, microservice, ×10 instances, MySQL".
pub fn node_aria_label(label: &str, kind: NodeType, config: &Config) -> String {
    let mut parts = vec![label.to_string(), kind_style(kind).noun.to_string()];
    parts.extend(config_facts(config));
    parts.join(", ")
}

fn round_to(v: f64, digits: i32) -> f64 {
    if !v.is_finite() {
        return 0.0;
    }
    let f = 10f64.powi(digits);
    let r = (v * f).round() / f;
    // Avoid printing "-0".
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use youmeyou_core::model::Node;

    #[test]
    fn detail_drops_unreadable_text_as_the_view_zooms_out() {
        assert_eq!(Detail::at_zoom(1.0), Detail::Full);
        assert_eq!(Detail::at_zoom(DETAIL_LABELS_BELOW), Detail::Full);
        assert_eq!(Detail::at_zoom(0.45), Detail::Labels);
        assert_eq!(Detail::at_zoom(DETAIL_SHAPES_BELOW), Detail::Labels);
        assert_eq!(Detail::at_zoom(MIN_ZOOM), Detail::Shapes);
        assert_eq!(Detail::at_zoom(f64::NAN), Detail::Full);
        // What each level drops is smaller than ~5 screen pixels when it drops it.
        const { assert!(10.5 * DETAIL_LABELS_BELOW < 5.5) };
        const { assert!(12.5 * DETAIL_SHAPES_BELOW < 4.5) };
        assert_eq!(Detail::Shapes.as_str(), "shapes");
        // A zoom gesture over a large canvas draws shapes only; a small canvas keeps its text.
        assert_eq!(
            Detail::Full.while_zooming(ZOOMING_SHAPES_FROM),
            Detail::Shapes
        );
        assert_eq!(Detail::Labels.while_zooming(300), Detail::Shapes);
        assert_eq!(
            Detail::Full.while_zooming(ZOOMING_SHAPES_FROM - 1),
            Detail::Full
        );
        assert_eq!(Detail::Labels.while_zooming(0), Detail::Labels);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn config(v: serde_json::Value) -> Config {
        serde_json::from_value(v).unwrap_or_default()
    }

    #[test]
    fn zooming_keeps_the_point_under_the_cursor_fixed() {
        let view = Viewport {
            x: 30.0,
            y: -20.0,
            k: 0.8,
        };
        let cursor = Point::new(400.0, 250.0);
        let before = view.to_world(cursor);
        let zoomed = view.zoomed_at(1.5, cursor);
        let after = zoomed.to_world(cursor);
        assert!(close(zoomed.k, 1.2), "k = {}", zoomed.k);
        assert!(close(before.x, after.x) && close(before.y, after.y));
    }

    #[test]
    fn zoom_is_clamped_between_a_fifth_and_three_times() {
        let v = Viewport::IDENTITY.zoomed_at(100.0, Point::new(10.0, 10.0));
        assert!(close(v.k, MAX_ZOOM));
        let v = Viewport::IDENTITY.zoomed_at(0.001, Point::new(10.0, 10.0));
        assert!(close(v.k, MIN_ZOOM));
        assert!(close(clamp_zoom(f64::NAN), 1.0));
        // Clamped zoom still keeps the cursor's canvas point in place.
        let cursor = Point::new(123.0, 45.0);
        let w = Viewport::IDENTITY.to_world(cursor);
        let v = Viewport::IDENTITY.zoomed_at(100.0, cursor);
        assert!(close(v.to_world(cursor).x, w.x));
    }

    #[test]
    fn screen_and_world_are_inverse() {
        let v = Viewport {
            x: 12.5,
            y: 7.0,
            k: 2.0,
        };
        let p = Point::new(3.0, -4.0);
        let back = v.to_world(v.to_screen(p));
        assert!(close(back.x, p.x) && close(back.y, p.y));
        assert_eq!(v.transform(), "translate(12.5 7) scale(2)");
        assert_eq!(Viewport::IDENTITY.transform(), "translate(0 0) scale(1)");
    }

    #[test]
    fn fit_to_view_centres_the_content_and_never_magnifies_much() {
        // Large content: scaled down to fit inside the padding.
        let bounds = Rect::new(100.0, 100.0, 2000.0, 600.0);
        let v = fit_to_view(bounds, 1000.0, 500.0);
        assert!(close(v.k, (1000.0 - 2.0 * FIT_PADDING) / 2000.0));
        let c = v.to_screen(bounds.center());
        assert!(close(c.x, 500.0) && close(c.y, 250.0));
        let shown = v.visible_world(1000.0, 500.0);
        assert!(shown.contains_rect(&bounds));
        // Tiny content: capped.
        let v = fit_to_view(Rect::new(0.0, 0.0, NODE_W, NODE_H), 1000.0, 800.0);
        assert!(close(v.k, FIT_MAX_ZOOM));
        // Huge content: clamped to the minimum zoom.
        let v = fit_to_view(Rect::new(0.0, 0.0, 100_000.0, 100.0), 1000.0, 800.0);
        assert!(close(v.k, MIN_ZOOM));
        // A view without size leaves the viewport alone.
        assert_eq!(fit_to_view(bounds, 0.0, 0.0), Viewport::IDENTITY);
    }

    #[test]
    fn pinching_scales_by_finger_distance_around_the_midpoint() {
        let origin = Viewport::IDENTITY;
        let a0 = Point::new(100.0, 100.0);
        let b0 = Point::new(200.0, 100.0);
        // Fingers spread to twice the distance around the same midpoint.
        let v = pinch(
            origin,
            a0,
            b0,
            Point::new(50.0, 100.0),
            Point::new(250.0, 100.0),
        );
        assert!(close(v.k, 2.0));
        let mid = v.to_world(Point::new(150.0, 100.0));
        assert!(close(mid.x, 150.0) && close(mid.y, 100.0));
        // Both fingers move right by 30: a pure pan.
        let v = pinch(
            origin,
            a0,
            b0,
            Point::new(130.0, 100.0),
            Point::new(230.0, 100.0),
        );
        assert!(close(v.k, 1.0) && close(v.x, 30.0) && close(v.y, 0.0));
    }

    #[test]
    fn wheel_down_zooms_out_and_up_zooms_in() {
        assert!(wheel_factor(100.0, 0) < 1.0);
        assert!(wheel_factor(-100.0, 0) > 1.0);
        assert!(close(wheel_factor(0.0, 0), 1.0));
        // Lines count more than pixels; huge deltas are capped.
        assert!(wheel_factor(3.0, 1) < wheel_factor(3.0, 0));
        assert!(close(wheel_factor(1e9, 0), wheel_factor(300.0, 0)));
        assert!(close(wheel_factor(f64::NAN, 0), 1.0));
    }

    #[test]
    fn box_exit_hits_the_side_facing_the_target() {
        let r = Rect::new(0.0, 0.0, 100.0, 50.0);
        assert_eq!(
            box_exit(&r, Point::new(500.0, 25.0)),
            Point::new(100.0, 25.0)
        );
        assert_eq!(
            box_exit(&r, Point::new(50.0, -500.0)),
            Point::new(50.0, 0.0)
        );
        let corner = box_exit(&r, Point::new(150.0, 75.0));
        assert!(close(corner.x, 100.0) && close(corner.y, 50.0));
    }

    #[test]
    fn edges_run_between_box_borders_and_stop_before_the_target() {
        let a = node_rect(Position { x: 0.0, y: 0.0 });
        let b = node_rect(Position { x: 400.0, y: 0.0 });
        let g = edge_geometry(&a, &b, 0.0);
        let Some(g) = g else {
            panic!("expected a path between separated boxes");
        };
        assert!(close(g.start.x, NODE_W) && close(g.start.y, NODE_H / 2.0));
        assert!(close(g.end.x, 400.0 - ARROW_GAP));
        assert!(g.d.starts_with('M') && g.d.contains('L'));
        // Bent edges are quadratic curves, bulging to one side.
        let bent = edge_geometry(&a, &b, 20.0);
        let Some(bent) = bent else {
            panic!("expected a bent path");
        };
        assert!(bent.d.contains('Q'));
        assert!(bent.mid.y > g.mid.y, "bulges away from the straight line");
        // Overlapping boxes: nothing to draw.
        let c = node_rect(Position { x: 10.0, y: 5.0 });
        assert_eq!(edge_geometry(&a, &c, 0.0), None);
    }

    #[test]
    fn parallel_edges_fan_out_and_single_edges_stay_straight() {
        let e = |id: &str, s: &str, t: &str| Edge {
            id: id.to_string(),
            source: s.to_string(),
            target: t.to_string(),
            kind: EdgeType::ApiCall,
        };
        let bends = edge_bends(&[e("1", "a", "b"), e("2", "b", "a"), e("3", "a", "c")]);
        assert_eq!(bends[2], 0.0);
        assert!(close(bends[0], -PARALLEL_EDGE_SPREAD / 2.0));
        // Same side in absolute terms means opposite signs for opposite directions; the two
        // must not coincide once drawn.
        let a = node_rect(Position { x: 0.0, y: 0.0 });
        let b = node_rect(Position { x: 400.0, y: 0.0 });
        let ab = edge_geometry(&a, &b, bends[0]).map(|g| g.mid);
        let ba = edge_geometry(&b, &a, bends[1]).map(|g| g.mid);
        assert!(ab.is_some() && ba.is_some() && ab != ba, "{ab:?} vs {ba:?}");
    }

    #[test]
    fn config_facts_name_instances_nodes_replicas_and_engine() {
        let c = config(json!({
            "instances": 10,
            "database": "MySQL with 2 read replicas",
            "read_replicas": 2,
            "session_store": "Redis Cluster (3 nodes)"
        }));
        assert_eq!(
            config_facts(&c),
            vec![
                "×10 instances",
                "2 read replicas",
                "MySQL with 2 read replicas"
            ]
        );
        assert_eq!(config_summary(&c), vec!["×10 instances", "2 read replicas"]);
        let c = config(json!({"nodes": "3", "engine": "Redis"}));
        assert_eq!(config_facts(&c), vec!["3 nodes", "Redis"]);
        let c = config(json!({"instances": 1, "replicas": 1, "estimated_capacity": "5500 RPS"}));
        assert_eq!(
            config_facts(&c),
            vec!["1 instance", "1 replica", "5500 RPS"]
        );
        assert!(config_facts(&Config::new()).is_empty());
    }

    #[test]
    fn config_rows_humanize_keys_and_values() {
        let c = config(json!({"session_store": "Redis", "tls": true, "ports": [80, 443]}));
        assert_eq!(
            config_rows(&c),
            vec![
                ("Ports".to_string(), "80, 443".to_string()),
                ("Session store".to_string(), "Redis".to_string()),
                ("Tls".to_string(), "yes".to_string()),
            ]
        );
    }

    #[test]
    fn truncation_keeps_short_text_and_marks_cuts() {
        assert_eq!(truncate("Auth Service", LABEL_MAX_CHARS), "Auth Service");
        assert_eq!(
            config_summary(&config(
                json!({"engine": "PostgreSQL 16 with logical replication"})
            )),
            vec!["PostgreSQL 16 with lo…"]
        );
        assert_eq!(truncate("Product Catalog Service", 10), "Product C…");
        assert_eq!(truncate("ab", 0), "…");
    }

    #[test]
    fn every_kind_has_a_closed_shape_and_a_distinct_class() {
        let kinds = [
            NodeType::Microservice,
            NodeType::Database,
            NodeType::Cache,
            NodeType::LoadBalancer,
            NodeType::Queue,
            NodeType::Gateway,
            NodeType::Frontend,
            NodeType::Monitoring,
            NodeType::External,
        ];
        let mut classes: Vec<&str> = kinds.iter().map(|k| kind_style(*k).class).collect();
        classes.sort_unstable();
        classes.dedup();
        assert_eq!(classes.len(), kinds.len());
        for k in kinds {
            let (outline, _) = shape_paths(k);
            assert!(
                outline.starts_with('M') && outline.ends_with('Z'),
                "{k:?}: {outline}"
            );
        }
    }

    #[test]
    fn summary_counts_components_by_type() {
        let node = |id: &str, kind| Node {
            id: id.to_string(),
            kind,
            label: id.to_string(),
            position: None,
            config: Config::new(),
        };
        let canvas = Canvas {
            nodes: vec![
                node("a", NodeType::Microservice),
                node("b", NodeType::Microservice),
                node("c", NodeType::Database),
            ],
            edges: vec![],
            version: 0,
        };
        assert_eq!(
            canvas_summary(&canvas),
            "Architecture diagram: 3 components (2 microservices, 1 database) and 0 connections."
        );
        assert_eq!(content_bounds(&canvas), None);
        assert_eq!(
            canvas_summary(&Canvas::default()),
            "Architecture diagram: empty."
        );
    }
}
