//! `ArchitectureCanvas`: the SVG drawing of a project's architecture with pan, zoom, pinch,
//! node dragging, selection, a details panel, export and a screen-reader description. Owns
//! only view state (viewport, the drag in progress, moves the page has not confirmed); the
//! canvas itself, undo/redo and saving belong to the page.

use super::dom::{self, Frame};
use super::edge::{edge_view, markers};
use super::geometry::{
    canvas_summary, config_rows, fit_to_view, kind_style, node_rect, wheel_factor, Detail, Point,
    Viewport, ZOOM_SETTLE_MS,
};
use super::node::{node_description, node_view};
use super::scene::{settled_moves, PendingMove, Scene};
use super::undo::{undo_button, UndoControls};
use super::viewport::{Gestures, Outcome, Target};
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;
use leptos::svg::Svg;
use std::collections::{HashMap, HashSet};
use youmeyou_core::model::{Canvas, Position};

/// Zoom step of the toolbar buttons and the +/− keys.
const ZOOM_STEP: f64 = 1.25;
/// Pan step of the arrow keys, screen pixels.
const PAN_STEP: f64 = 60.0;

/// State shared by every node and edge of one canvas (all `Copy` handles).
#[derive(Clone, Copy)]
pub(super) struct Shared {
    pub scene: Memo<Scene>,
    pub drag: RwSignal<Option<(String, Position)>>,
    pub highlighted: Memo<HashSet<String>>,
    pub selected: RwSignal<Option<String>>,
    /// Set by a node's `pointerdown` just before the SVG's handler reads it (bubbling).
    pub press: StoredValue<Option<Target>>,
    pub dom_id: StoredValue<String>,
    pub read_only: bool,
    /// Keep a node where the user put it and tell the page.
    pub commit: Callback<(String, Position)>,
    /// Pan so that this node is in view (keyboard focus).
    pub reveal: Callback<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Details {
    id: String,
    label: String,
    kind: &'static str,
    rows: Vec<(String, String)>,
    incoming: usize,
    outgoing: usize,
}

/// The architecture canvas.
///
/// ```ignore
/// let selected = RwSignal::new(None::<String>);
/// view! {
///     <ArchitectureCanvas
///         canvas=Signal::derive(move || project.get().canvas)
///         highlighted=Signal::derive(move || run.get().changed_node_ids)
///         selected=selected
///         on_node_moved=move |id: String, at: Position| save_position(id, at)
///         undo=undo_controls
///     />
/// }
/// ```
#[component]
pub fn ArchitectureCanvas(
    /// The architecture to draw; it may change at any time (streamed updates). Nodes
    /// without a position are placed automatically (`youmeyou_core::canvas::layout`) and
    /// stay where they were placed as more nodes arrive.
    #[prop(into)]
    canvas: Signal<Canvas>,
    /// Ids of nodes the running task just added or replaced: they pulse once and keep an
    /// accent outline while listed.
    #[prop(into, optional)]
    highlighted: Signal<Vec<String>>,
    /// Called when the user drops a dragged node or moves it with the arrow keys, with the
    /// node id and its new top-left position (canvas units, whole numbers). The canvas keeps
    /// showing the new position until the page's canvas gives that node another position.
    #[prop(into, optional)]
    on_node_moved: Option<Callback<(String, Position)>>,
    /// The selected node id: set by a click, Enter or Space on a node; cleared by a click on
    /// the background or Escape. The page may set it too. Internal when not given.
    #[prop(optional)]
    selected: Option<RwSignal<Option<String>>>,
    /// No dragging or keyboard moves; pan, zoom, select and export still work.
    #[prop(optional)]
    read_only: bool,
    /// Undo and redo buttons in the toolbar, also on Ctrl+Z (⌘Z) and Ctrl+Shift+Z / Ctrl+Y
    /// (⌘⇧Z) while the canvas has focus.
    #[prop(optional)]
    undo: Option<UndoControls>,
    /// Show the built-in panel with the selected node's configuration. Turn it off to render
    /// your own panel from `selected`.
    #[prop(default = true)]
    show_details: bool,
    /// Base name of exported files (`<name>.svg`, `<name>.png`).
    #[prop(into, optional)]
    export_name: Option<String>,
    /// DOM id of the canvas element (also prefixes marker ids); give each canvas on a page
    /// its own. Default "arch-canvas".
    #[prop(into, optional)]
    dom_id: Option<String>,
    /// Extra classes on the outer element (size it there: the canvas fills its box).
    #[prop(into, optional)]
    class: Option<String>,
) -> impl IntoView {
    let selected = selected.unwrap_or_else(|| RwSignal::new(None));
    let dom_id = dom_id.unwrap_or_else(|| "arch-canvas".to_string());
    let desc_id = format!("{dom_id}-description");
    let export_name = StoredValue::new(export_name.unwrap_or_else(|| "architecture".to_string()));
    let can_drag = !read_only;

    let viewport = RwSignal::new(Viewport::IDENTITY);
    let drag = RwSignal::new(None::<(String, Position)>);
    let pending = RwSignal::new(HashMap::<String, PendingMove>::new());
    let placed = StoredValue::new(HashMap::<String, Position>::new());
    let scene = Memo::new(move |_| {
        let input = canvas.get();
        pending.with(|p| {
            placed
                .try_update_value(|placed| Scene::build(input, p, placed))
                .unwrap_or_default()
        })
    });
    // Forget moves the page has answered (saved, undone), so an undo is not overridden.
    Effect::new(move |_| {
        let settled = canvas.with(|c| pending.with_untracked(|p| settled_moves(c, p)));
        if !settled.is_empty() {
            pending.update(|p| {
                for id in settled {
                    p.remove(&id);
                }
            });
        }
    });
    let highlighted_set =
        Memo::new(move |_| highlighted.with(|h| h.iter().cloned().collect::<HashSet<_>>()));
    let node_ids = Memo::new(move |_| scene.with(Scene::node_ids));
    let edge_ids = Memo::new(move |_| scene.with(Scene::edge_ids));
    let summary = Memo::new(move |_| scene.with(|s| canvas_summary(&s.canvas)));
    let is_empty = Memo::new(move |_| scene.with(|s| s.canvas.nodes.is_empty()));
    // A wheel or pinch gesture is under way (see `Detail::while_zooming`).
    let zooming = RwSignal::new(false);
    let zoom_settle = StoredValue::new(None::<TimeoutHandle>);
    // A Memo: the attribute (and the style recalculation it causes) changes only when the
    // level changes, not on every frame of a zoom.
    let detail = Memo::new(move |_| {
        let at = Detail::at_zoom(viewport.with(|v| v.k));
        if zooming.get() {
            at.while_zooming(node_ids.with(Vec::len))
        } else {
            at
        }
    });
    // A wheel or pinch step: coarser detail until the gesture has been still for a moment.
    let zoom_gesture = move || {
        if let Some(h) = zoom_settle.try_update_value(Option::take).flatten() {
            h.clear();
        }
        if !zooming.get_untracked() {
            zooming.set(true);
        }
        let settled = set_timeout(
            move || zooming.set(false),
            std::time::Duration::from_millis(ZOOM_SETTLE_MS),
        );
        match settled {
            Ok(h) => zoom_settle.set_value(Some(h)),
            Err(_) => zooming.set(false),
        }
    };

    let svg_ref = NodeRef::<Svg>::new();
    let gestures = StoredValue::new(Gestures::default());
    let frame = StoredValue::new(Frame::default());
    let press = StoredValue::new(None::<Target>);
    let latest_moves = StoredValue::new(Vec::<(i32, Point)>::new());
    let move_frame = StoredValue::new(false);
    let wheel = StoredValue::new(None::<(f64, Point)>);
    let wheel_frame = StoredValue::new(false);
    // Fit the view to new content as it streams in, until the user moves the view.
    let follow = StoredValue::new(true);
    let panning = RwSignal::new(false);
    let hydrated = RwSignal::new(false);

    let commit = Callback::new(move |(id, position): (String, Position)| {
        let from =
            canvas.with_untracked(|c| c.nodes.iter().find(|n| n.id == id).and_then(|n| n.position));
        pending.update(|p| {
            p.insert(id.clone(), PendingMove { to: position, from });
        });
        if let Some(cb) = on_node_moved {
            cb.run((id, position));
        }
    });
    let set_view = move |v: Viewport| {
        follow.set_value(false);
        viewport.set(v);
    };
    let reveal = Callback::new(move |id: String| {
        if gestures.with_value(Gestures::is_active) {
            return;
        }
        let (Some(p), Some(f)) = (
            scene.with_untracked(|s| s.position(&id)),
            dom::frame(svg_ref),
        ) else {
            return;
        };
        let v = viewport.get_untracked();
        let r = node_rect(p);
        if !v.visible_world(f.width, f.height).contains_rect(&r) {
            let c = r.center();
            set_view(Viewport {
                x: f.width / 2.0 - c.x * v.k,
                y: f.height / 2.0 - c.y * v.k,
                k: v.k,
            });
        }
    });
    let shared = Shared {
        scene,
        drag,
        highlighted: highlighted_set,
        selected,
        press,
        dom_id: StoredValue::new(dom_id.clone()),
        read_only,
        commit,
        reveal,
    };

    let apply = move |outcome: Outcome| match outcome {
        Outcome::Nothing => {}
        Outcome::View(v) => set_view(v),
        Outcome::NodeMoving { id, position } => drag.set(Some((id, position))),
        Outcome::NodeDropped { id, position } => {
            drag.set(None);
            commit.run((id, position));
        }
        Outcome::DragCancelled { .. } => drag.set(None),
        Outcome::Select(id) => selected.set(id),
    };
    let sync_panning = move || {
        let now = gestures.with_value(Gestures::is_panning);
        if panning.get_untracked() != now {
            panning.set(now);
        }
    };
    let local = move |client_x: i32, client_y: i32| {
        let f = frame.get_value();
        Point::new(f64::from(client_x) - f.left, f64::from(client_y) - f.top)
    };
    let flush_moves = move || {
        let moves = latest_moves
            .try_update_value(std::mem::take)
            .unwrap_or_default();
        for (pointer, at) in moves {
            let view = viewport.get_untracked();
            let out = gestures
                .try_update_value(|g| g.moved(pointer, at, view))
                .unwrap_or(Outcome::Nothing);
            if matches!(&out, Outcome::View(v) if v.k != view.k) {
                zoom_gesture();
            }
            apply(out);
        }
        sync_panning();
    };

    let on_pointerdown = move |ev: PointerEvent| {
        let target = press
            .try_update_value(Option::take)
            .flatten()
            .unwrap_or(Target::Background);
        if ev.pointer_type() == "mouse" && ev.button() != 0 {
            return;
        }
        if let Some(f) = dom::frame(svg_ref) {
            frame.set_value(f);
        }
        let pointer = ev.pointer_id();
        dom::capture_pointer(svg_ref, pointer);
        let at = local(ev.client_x(), ev.client_y());
        let view = viewport.get_untracked();
        let out = gestures
            .try_update_value(|g| g.down(pointer, at, target, view, can_drag))
            .unwrap_or(Outcome::Nothing);
        apply(out);
    };
    let on_pointermove = move |ev: PointerEvent| {
        if !gestures.with_value(Gestures::is_active) {
            return;
        }
        let pointer = ev.pointer_id();
        let at = local(ev.client_x(), ev.client_y());
        latest_moves.update_value(|m| {
            m.retain(|(p, _)| *p != pointer);
            m.push((pointer, at));
        });
        dom::once_per_frame(move_frame, flush_moves);
    };
    let on_pointerup = move |ev: PointerEvent| {
        flush_moves();
        let pointer = ev.pointer_id();
        let at = local(ev.client_x(), ev.client_y());
        let view = viewport.get_untracked();
        let out = gestures
            .try_update_value(|g| g.up(pointer, at, view))
            .unwrap_or(Outcome::Nothing);
        dom::release_pointer(svg_ref, pointer);
        apply(out);
        sync_panning();
    };
    let on_pointercancel = move |ev: PointerEvent| {
        latest_moves.update_value(Vec::clear);
        let view = viewport.get_untracked();
        let out = gestures
            .try_update_value(|g| g.cancel(ev.pointer_id(), view))
            .unwrap_or(Outcome::Nothing);
        apply(out);
        sync_panning();
    };

    let zoom_by = move |factor: f64| {
        if let Some(f) = dom::frame(svg_ref) {
            let center = Point::new(f.width / 2.0, f.height / 2.0);
            set_view(viewport.get_untracked().zoomed_at(factor, center));
        }
    };
    let fit = move || {
        let bounds = scene.with_untracked(|s| s.bounds);
        if let (Some(b), Some(f)) = (bounds, dom::frame(svg_ref)) {
            viewport.set(fit_to_view(b, f.width, f.height));
            follow.set_value(true);
        }
    };
    let reset = move || set_view(Viewport::IDENTITY);

    let on_keydown = move |ev: KeyboardEvent| {
        let key = ev.key();
        let ctrl = ev.ctrl_key() || ev.meta_key();
        let handled = match key.as_str() {
            "z" | "Z" if ctrl && ev.shift_key() => undo.map(|c| c.run(true)).is_some(),
            "z" | "Z" if ctrl => undo.map(|c| c.run(false)).is_some(),
            "y" | "Y" if ctrl => undo.map(|c| c.run(true)).is_some(),
            _ if ctrl || ev.alt_key() => false,
            "+" | "=" => {
                zoom_by(ZOOM_STEP);
                true
            }
            "-" | "_" => {
                zoom_by(1.0 / ZOOM_STEP);
                true
            }
            "0" => {
                reset();
                true
            }
            "f" | "F" => {
                fit();
                true
            }
            "Escape" => {
                let had = selected.with_untracked(Option::is_some);
                selected.set(None);
                had
            }
            "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" => {
                let (dx, dy) = match key.as_str() {
                    "ArrowLeft" => (PAN_STEP, 0.0),
                    "ArrowRight" => (-PAN_STEP, 0.0),
                    "ArrowUp" => (0.0, PAN_STEP),
                    _ => (0.0, -PAN_STEP),
                };
                set_view(viewport.get_untracked().panned(dx, dy));
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    };

    // Browser only: the wheel listener (non-passive), the first fit, following new content.
    Effect::new(move |_| {
        if svg_ref.get().is_none() {
            return;
        }
        dom::on_wheel(svg_ref, move |delta_y, mode, client_x, client_y| {
            let factor = wheel_factor(delta_y, mode);
            wheel.update_value(|w| {
                let so_far = w.map_or(1.0, |(k, _)| k);
                *w = Some((so_far * factor, Point::new(client_x, client_y)));
            });
            dom::once_per_frame(wheel_frame, move || {
                let Some((factor, client)) = wheel.try_update_value(Option::take).flatten() else {
                    return;
                };
                if let Some(f) = dom::frame(svg_ref) {
                    let at = Point::new(client.x - f.left, client.y - f.top);
                    zoom_gesture();
                    set_view(viewport.get_untracked().zoomed_at(factor, at));
                }
            });
        });
        hydrated.set(true);
    });
    Effect::new(move |_| {
        let bounds = scene.with(|s| s.bounds);
        if !hydrated.get() || !follow.get_value() {
            return;
        }
        let (Some(b), Some(f)) = (bounds, dom::frame(svg_ref)) else {
            return;
        };
        if f.width <= 0.0 || f.height <= 0.0 {
            return;
        }
        let shown = viewport.get_untracked().visible_world(f.width, f.height);
        if !shown.contains_rect(&b.inflate(8.0)) {
            viewport.set(fit_to_view(b, f.width, f.height));
        }
    });

    let export = move |png: bool| {
        #[cfg(feature = "hydrate")]
        {
            let Some(svg) = svg_ref.get_untracked() else {
                return;
            };
            let bounds = scene.with_untracked(|s| s.bounds);
            let name = export_name.get_value();
            let result = if png {
                super::export::download_png(&svg, bounds, &name)
            } else {
                super::export::download_svg(&svg, bounds, &name)
            };
            if let Err(e) = result {
                leptos::logging::error!("canvas export failed: {e:?}");
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (png, export_name);
        }
    };

    let details = Memo::new(move |_| {
        let id = selected.get()?;
        scene.with(|s| {
            let node = s.node(&id)?;
            let (incoming, outgoing) = s.degree(&id);
            Some(Details {
                label: node.label.clone(),
                kind: kind_style(node.kind).name,
                rows: config_rows(&node.config),
                incoming,
                outgoing,
                id,
            })
        })
    });
    let announcement = Memo::new(move |_| {
        let labels: Vec<String> = highlighted.with(|h| {
            scene.with(|s| {
                h.iter()
                    .filter_map(|id| s.label(id).map(str::to_string))
                    .take(6)
                    .collect()
            })
        });
        if labels.is_empty() {
            String::new()
        } else {
            format!("Updated on the canvas: {}.", labels.join(", "))
        }
    });

    let container_class = format!(
        "acanvas{}{}",
        if read_only { " acanvas--read-only" } else { "" },
        class.map(|c| format!(" {c}")).unwrap_or_default()
    );
    let help = if read_only {
        "Tab moves between components; Enter selects one. Arrow keys pan, + and − zoom, 0 resets the zoom, F fits the diagram."
    } else {
        "Tab moves between components; Enter selects one and arrow keys move it. On the background, arrow keys pan, + and − zoom, 0 resets the zoom, F fits the diagram."
    };

    view! {
        <div
            class=container_class
            class:is-panning=move || panning.get()
            id=dom_id.clone()
            data-testid="architecture-canvas"
            data-hydrated=move || hydrated.get().to_string()
            data-node-count=move || node_ids.with(Vec::len)
        >
            <svg
                node_ref=svg_ref
                class="acanvas__svg"
                role="group"
                aria-roledescription="architecture diagram"
                aria-label=move || summary.get()
                aria-describedby=desc_id.clone()
                tabindex="0"
                style=move || viewport.with(grid_style)
                data-detail=move || detail.get().as_str()
                on:pointerdown=on_pointerdown
                on:pointermove=on_pointermove
                on:pointerup=on_pointerup
                on:pointercancel=on_pointercancel
                on:keydown=on_keydown
            >
                <defs>{markers(&dom_id)}</defs>
                <g data-viewport="" transform=move || viewport.get().transform()>
                    <g class="acanvas__edges" aria-hidden="true">
                        <For
                            each=move || edge_ids.get()
                            key=|id| id.clone()
                            children=move |id| edge_view(id, shared)
                        />
                    </g>
                    <g class="acanvas__nodes">
                        <For
                            each=move || node_ids.get()
                            key=|id| id.clone()
                            children=move |id| node_view(id, shared)
                        />
                    </g>
                </g>
            </svg>

            <div class="acanvas__toolbar" role="toolbar" aria-label="Canvas view and export">
                {undo.map(|c| view! {
                    {undo_button(c, false)}
                    {undo_button(c, true)}
                    <span class="acanvas__sep" aria-hidden="true"></span>
                })}
                <button type="button" class="acanvas__tool" title="Zoom in (+)" aria-label="Zoom in"
                    on:click=move |_| zoom_by(ZOOM_STEP)>"+"</button>
                <output class="acanvas__zoom" aria-label="Zoom level">
                    {move || format!("{}%", viewport.with(Viewport::percent))}
                </output>
                <button type="button" class="acanvas__tool" title="Zoom out (−)" aria-label="Zoom out"
                    on:click=move |_| zoom_by(1.0 / ZOOM_STEP)>"−"</button>
                <button type="button" class="acanvas__tool" title="Fit to view (F)" aria-label="Fit to view"
                    on:click=move |_| fit()>"⤢"</button>
                <button type="button" class="acanvas__tool" title="Reset zoom to 100% (0)" aria-label="Reset zoom"
                    on:click=move |_| reset()>"1:1"</button>
                <span class="acanvas__sep" aria-hidden="true"></span>
                <button type="button" class="acanvas__tool acanvas__tool--text" title="Download as SVG"
                    aria-label="Export as SVG" data-testid="canvas-export-svg"
                    on:click=move |_| export(false)>"SVG"</button>
                <button type="button" class="acanvas__tool acanvas__tool--text" title="Download as PNG"
                    aria-label="Export as PNG" data-testid="canvas-export-png"
                    on:click=move |_| export(true)>"PNG"</button>
            </div>

            <Show when=move || is_empty.get()>
                <div class="acanvas__empty" data-testid="canvas-empty">
                    <p>"No components yet."</p>
                    <p class="muted">"Describe what to build and the architecture appears here as the plan runs."</p>
                </div>
            </Show>

            {move || {
                if !show_details {
                    return None;
                }
                details.get().map(|d| details_view(d, selected))
            }}

            <div class="acanvas__sr" id=desc_id>
                <p>{help}</p>
                <h3>"Components"</h3>
                <ul>
                    <For
                        each=move || node_ids.get()
                        key=|id| id.clone()
                        children=move |id| {
                            view! {
                                <li>
                                    {move || scene.with(|s| s.node(&id).map(node_description).unwrap_or_default())}
                                </li>
                            }
                        }
                    />
                </ul>
                <h3>"Connections"</h3>
                <ul>
                    <For
                        each=move || edge_ids.get()
                        key=|id| id.clone()
                        children=move |id| {
                            view! {
                                <li>
                                    {move || scene.with(|s| connection_description(s, &id))}
                                </li>
                            }
                        }
                    />
                </ul>
            </div>
            <div class="acanvas__sr" aria-live="polite" aria-atomic="true">
                {move || announcement.get()}
            </div>
        </div>
    }
    // Type-erased: keeps the view types of pages that mount this shallow.
    .into_any()
}

/// The dotted background follows pan and zoom (one style write per frame, no layout); the
/// dots thin out when zoomed far out.
fn grid_style(v: &Viewport) -> String {
    let mut size = 24.0 * v.k;
    if !(size.is_finite() && size > 0.0) {
        size = 24.0;
    }
    while size < 12.0 {
        size *= 2.0;
    }
    format!(
        "background-size:{s:.2}px {s:.2}px;background-position:{x:.2}px {y:.2}px",
        s = size,
        x = v.x,
        y = v.y
    )
}

fn connection_description(scene: &Scene, edge_id: &str) -> String {
    let Some((edge, _)) = scene.edge(edge_id) else {
        return String::new();
    };
    let from = scene.label(&edge.source).unwrap_or(&edge.source);
    let to = scene.label(&edge.target).unwrap_or(&edge.target);
    format!(
        "{from} → {to} ({})",
        super::geometry::edge_style(edge.kind).1
    )
}

fn details_view(d: Details, selected: RwSignal<Option<String>>) -> impl IntoView {
    let rows = if d.rows.is_empty() {
        view! { <p class="muted">"No configuration."</p> }.into_any()
    } else {
        let items = d
            .rows
            .into_iter()
            .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
            .collect_view();
        view! { <dl class="acanvas__config">{items}</dl> }.into_any()
    };
    view! {
        <aside class="acanvas__details" aria-label="Component details" data-testid="canvas-details"
            data-selected-node=d.id>
            <header class="acanvas__details-head">
                <div>
                    <span class="acanvas__kind">{d.kind}</span>
                    <h3>{d.label}</h3>
                </div>
                <button type="button" class="acanvas__tool" aria-label="Close details" title="Close (Esc)"
                    on:click=move |_| selected.set(None)>"×"</button>
            </header>
            {rows}
            <p class="acanvas__degree muted">
                {format!("{} incoming · {} outgoing", d.incoming, d.outgoing)}
            </p>
        </aside>
    }
}
