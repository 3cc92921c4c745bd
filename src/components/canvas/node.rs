//! One architecture node: its shape by type, badge, label and key configuration, and the
//! per-node reactive state (position, selection, highlight). Every value is a memo of the
//! shared scene, so dragging one node or streaming in another re-renders only what changed.

use super::geometry::{
    config_facts, config_summary, kind_style, node_aria_label, shape_paths, truncate,
    LABEL_MAX_CHARS, NODE_H, NODE_W,
};
use super::view::Shared;
use super::viewport::Target;
use leptos::ev::{KeyboardEvent, PointerEvent};
use leptos::prelude::*;
use youmeyou_core::model::{Node, NodeType, Position};

/// Keyboard step when moving a focused node with the arrow keys (Shift: ×5).
pub const KEY_STEP: f64 = 10.0;

/// Everything drawn inside a node; compared to skip re-rendering unchanged nodes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NodeFace {
    kind: NodeType,
    label: String,
    short_label: String,
    facts: Vec<String>,
    aria: String,
}

impl NodeFace {
    fn of(node: &Node) -> Self {
        Self {
            kind: node.kind,
            label: node.label.clone(),
            short_label: truncate(&node.label, LABEL_MAX_CHARS),
            facts: config_summary(&node.config),
            aria: node_aria_label(&node.label, node.kind, &node.config),
        }
    }
}

fn face_view(face: NodeFace) -> impl IntoView {
    let style = kind_style(face.kind);
    let (outline, accent) = shape_paths(face.kind);
    let label_y = match face.facts.len() {
        0 => 36.0,
        1 => 29.0,
        _ => 24.0,
    };
    let facts = face
        .facts
        .into_iter()
        .enumerate()
        .map(|(i, fact)| {
            let y = label_y + 16.0 + 14.0 * i as f64;
            view! { <text class="cnode__fact" x="42" y=y>{fact}</text> }
        })
        .collect_view();
    view! {
        <g class="cnode__face">
            <title>{face.label}</title>
            <path class="cnode__halo" d=outline.clone() data-export="skip"></path>
            <path class="cnode__shape" d=outline></path>
            {accent.map(|d| view! { <path class="cnode__accent" d=d></path> })}
            <circle class="cnode__icon" cx="22" cy=NODE_H / 2.0 r="13"></circle>
            <text class="cnode__badge" x="22" y=NODE_H / 2.0 dy="0.35em" text-anchor="middle">
                {style.badge}
            </text>
            <text class="cnode__label" x="42" y=label_y>{face.short_label}</text>
            {facts}
        </g>
    }
}

/// The SVG group of node `id`.
pub(super) fn node_view(id: String, s: Shared) -> impl IntoView {
    let face = {
        let id = id.clone();
        Memo::new(move |_| s.scene.with(|sc| sc.node(&id).map(NodeFace::of)))
    };
    let base = {
        let id = id.clone();
        Memo::new(move |_| {
            s.scene
                .with(|sc| sc.position(&id))
                .unwrap_or(Position { x: 0.0, y: 0.0 })
        })
    };
    let dragged = {
        let id = id.clone();
        Memo::new(move |_| {
            s.drag.with(|d| match d {
                Some((dragged, p)) if *dragged == id => Some(*p),
                _ => None,
            })
        })
    };
    let position = Memo::new(move |_| dragged.get().unwrap_or_else(|| base.get()));
    let is_selected = {
        let id = id.clone();
        Memo::new(move |_| s.selected.with(|sel| sel.as_deref() == Some(id.as_str())))
    };
    let is_highlighted = {
        let id = id.clone();
        Memo::new(move |_| s.highlighted.with(|h| h.contains(&id)))
    };

    let class = move || {
        let kind = face.with(|f| f.as_ref().map_or("service", |f| kind_style(f.kind).class));
        let mut c = format!("cnode cnode--{kind}");
        if is_selected.get() {
            c.push_str(" is-selected");
        }
        if is_highlighted.get() {
            c.push_str(" is-highlighted");
        }
        if dragged.with(Option::is_some) {
            c.push_str(" is-dragging");
        }
        c
    };
    let transform = move || {
        let p = position.get();
        format!("translate({} {})", p.x, p.y)
    };
    let on_pointerdown = {
        let id = id.clone();
        move |_: PointerEvent| {
            s.press.set_value(Some(Target::Node {
                id: id.clone(),
                position: position.get_untracked(),
            }));
        }
    };
    let on_keydown = {
        let id = id.clone();
        move |ev: KeyboardEvent| {
            let key = ev.key();
            if key == "Enter" || key == " " {
                s.selected.set(Some(id.clone()));
                ev.prevent_default();
                ev.stop_propagation();
                return;
            }
            if s.read_only || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let step = if ev.shift_key() {
                KEY_STEP * 5.0
            } else {
                KEY_STEP
            };
            let (dx, dy) = match key.as_str() {
                "ArrowLeft" => (-step, 0.0),
                "ArrowRight" => (step, 0.0),
                "ArrowUp" => (0.0, -step),
                "ArrowDown" => (0.0, step),
                _ => return,
            };
            let p = position.get_untracked();
            s.commit.run((
                id.clone(),
                Position {
                    x: p.x + dx,
                    y: p.y + dy,
                },
            ));
            ev.prevent_default();
            ev.stop_propagation();
        }
    };
    let on_focus = {
        let id = id.clone();
        move |_| s.reveal.run(id.clone())
    };

    view! {
        <g
            class=class
            transform=transform
            tabindex="0"
            role="button"
            aria-label=move || face.with(|f| f.as_ref().map(|f| f.aria.clone()).unwrap_or_default())
            aria-pressed=move || is_selected.get().to_string()
            data-node-id=id
            on:pointerdown=on_pointerdown
            on:keydown=on_keydown
            on:focus=on_focus
        >
            <rect
                class="cnode__ring"
                x="-5"
                y="-5"
                width=NODE_W + 10.0
                height=NODE_H + 10.0
                rx="14"
                data-export="skip"
            ></rect>
            {move || face.get().map(face_view)}
        </g>
    }
}

/// The line a screen reader reads for a node in the hidden list of components.
pub(super) fn node_description(node: &Node) -> String {
    let facts = config_facts(&node.config);
    let kind = kind_style(node.kind).noun;
    if facts.is_empty() {
        format!("{} ({kind})", node.label)
    } else {
        format!("{} ({kind}): {}", node.label, facts.join(", "))
    }
}
