//! One connection between two nodes: a path clipped to the node boxes with an arrow at the
//! target, styled by edge type (see `style/30-canvas.css`), and the arrow markers. While a
//! node is dragged only the paths touching it are recomputed.

use super::geometry::{edge_geometry, edge_style, node_rect, EDGE_TYPES};
use super::view::Shared;
use leptos::prelude::*;
use youmeyou_core::model::{EdgeType, Position};

/// The id of the arrow marker of an edge type inside the canvas `dom_id`.
pub(super) fn marker_id(dom_id: &str, kind: EdgeType) -> String {
    format!("{dom_id}-arrow-{}", edge_style(kind).0)
}

/// `<marker>` definitions, one per edge type (each coloured by CSS like its edges).
pub(super) fn markers(dom_id: &str) -> impl IntoView {
    EDGE_TYPES
        .iter()
        .map(|&kind| {
            let class = format!("cmarker cmarker--{}", edge_style(kind).0);
            view! {
                <marker
                    id=marker_id(dom_id, kind)
                    viewBox="0 0 10 10"
                    refX="9"
                    refY="5"
                    markerWidth="10"
                    markerHeight="10"
                    markerUnits="userSpaceOnUse"
                    orient="auto-start-reverse"
                >
                    <path class=class d="M0 0L10 5L0 10z"></path>
                </marker>
            }
        })
        .collect_view()
}

#[derive(Debug, Clone, PartialEq)]
struct EdgeInfo {
    source: String,
    target: String,
    kind: EdgeType,
    bend: f64,
    title: String,
}

/// The SVG group of edge `id`.
pub(super) fn edge_view(id: String, s: Shared) -> impl IntoView {
    let info = Memo::new(move |_| {
        s.scene.with(|sc| {
            let (edge, bend) = sc.edge(&id)?;
            let from = sc.label(&edge.source).unwrap_or(&edge.source);
            let to = sc.label(&edge.target).unwrap_or(&edge.target);
            Some(EdgeInfo {
                source: edge.source.clone(),
                target: edge.target.clone(),
                kind: edge.kind,
                bend,
                title: format!("{from} → {to} ({})", edge_style(edge.kind).1),
            })
        })
    });
    // Both ends, with a dragged node's live position.
    let ends = Memo::new(move |_| {
        info.with(|info| {
            let info = info.as_ref()?;
            let at = |node: &str| -> Option<Position> {
                let dragged = s.drag.with(|d| match d {
                    Some((id, p)) if id == node => Some(*p),
                    _ => None,
                });
                dragged.or_else(|| s.scene.with(|sc| sc.position(node)))
            };
            Some((at(&info.source)?, at(&info.target)?))
        })
    });
    let d = Memo::new(move |_| {
        let (a, b) = ends.get()?;
        let bend = info.with(|i| i.as_ref().map_or(0.0, |i| i.bend));
        edge_geometry(&node_rect(a), &node_rect(b), bend).map(|g| g.d)
    });
    let active = Memo::new(move |_| {
        info.with(|info| {
            info.as_ref().is_some_and(|i| {
                s.selected.with(|sel| {
                    sel.as_deref()
                        .is_some_and(|sel| sel == i.source || sel == i.target)
                })
            })
        })
    });
    let highlighted = Memo::new(move |_| {
        info.with(|info| {
            info.as_ref().is_some_and(|i| {
                s.highlighted
                    .with(|h| h.contains(&i.source) || h.contains(&i.target))
            })
        })
    });
    let class = move || {
        let kind = info.with(|i| i.as_ref().map_or("api-call", |i| edge_style(i.kind).0));
        let mut c = format!("cedge cedge--{kind}");
        if active.get() {
            c.push_str(" is-active");
        }
        if highlighted.get() {
            c.push_str(" is-highlighted");
        }
        c
    };
    let marker = move || {
        info.with(|i| {
            let kind = i.as_ref().map_or(EdgeType::ApiCall, |i| i.kind);
            s.dom_id
                .with_value(|dom_id| format!("url(#{})", marker_id(dom_id, kind)))
        })
    };
    view! {
        <g class=class>
            <title>{move || info.with(|i| i.as_ref().map(|i| i.title.clone()).unwrap_or_default())}</title>
            <path class="cedge__line" d=move || d.get().unwrap_or_default() marker-end=marker></path>
        </g>
    }
}
