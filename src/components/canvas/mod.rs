//! The architecture canvas: an SVG drawing of a project's nodes and edges that updates live,
//! with pan/zoom/pinch, node dragging, selection, export and a screen-reader description.
//! Pure maths lives in `geometry`, `scene` and `viewport` (native unit tests); browser calls
//! only in `dom` and `export`, behind the `hydrate` feature, so the canvas renders on the
//! server too. Saving positions, undo/redo and the canvas data itself belong to the page.

mod dom;
mod edge;
pub mod export;
pub mod geometry;
pub mod history;
mod node;
pub mod scene;
pub mod undo;
mod view;
pub mod viewport;

pub use view::ArchitectureCanvas;

#[cfg(test)]
pub(crate) mod fixtures {
    use serde_json::json;
    use youmeyou_core::model::{Canvas, Config, Edge, EdgeType, Node, NodeType, Position};

    fn node(
        id: &str,
        kind: NodeType,
        label: &str,
        at: Option<(f64, f64)>,
        config: serde_json::Value,
    ) -> Node {
        Node {
            id: id.to_string(),
            kind,
            label: label.to_string(),
            position: at.map(|(x, y)| Position { x, y }),
            config: serde_json::from_value::<Config>(config).unwrap_or_default(),
        }
    }

    fn edge(source: &str, target: &str, kind: EdgeType) -> Edge {
        Edge {
            id: youmeyou_core::canvas::edge_id(source, target, kind),
            source: source.to_string(),
            target: target.to_string(),
            kind,
        }
    }

    /// Example 1's e-commerce platform after Example 2's scaling: 12 components of every
    /// type, four placed by Example 1's architecture task and eight without a position.
    pub(crate) fn twelve_node_canvas() -> Canvas {
        use EdgeType as E;
        use NodeType as N;
        Canvas {
            nodes: vec![
                node(
                    "auth-service",
                    N::Microservice,
                    "Auth Service",
                    Some((100.0, 100.0)),
                    json!({"instances": 10, "database": "MySQL with 2 read replicas", "session_store": "Redis Cluster (3 nodes)"}),
                ),
                node(
                    "product-service",
                    N::Microservice,
                    "Product Service",
                    Some((300.0, 100.0)),
                    json!({"instances": 2}),
                ),
                node(
                    "cart-service",
                    N::Microservice,
                    "Cart Service",
                    Some((100.0, 300.0)),
                    json!({}),
                ),
                node(
                    "payment-service",
                    N::Microservice,
                    "Payment Service",
                    Some((300.0, 300.0)),
                    json!({}),
                ),
                node(
                    "web",
                    N::Frontend,
                    "Storefront (React)",
                    None,
                    json!({"technology": "React"}),
                ),
                node(
                    "api-gateway",
                    N::Gateway,
                    "API Gateway",
                    None,
                    json!({"apis": ["REST", "GraphQL"]}),
                ),
                node(
                    "load-balancer",
                    N::LoadBalancer,
                    "Load Balancer",
                    None,
                    json!({"engine": "NGINX round-robin"}),
                ),
                node(
                    "users-db",
                    N::Database,
                    "Users DB",
                    None,
                    json!({"engine": "MySQL", "read_replicas": 2}),
                ),
                node(
                    "redis-cluster",
                    N::Cache,
                    "Redis Cluster",
                    None,
                    json!({"nodes": 3}),
                ),
                node(
                    "orders-queue",
                    N::Queue,
                    "Orders Queue",
                    None,
                    json!({"partitions": 6}),
                ),
                node(
                    "monitoring",
                    N::Monitoring,
                    "Monitoring",
                    None,
                    json!({"engine": "Prometheus"}),
                ),
                node(
                    "stripe",
                    N::External,
                    "Stripe",
                    None,
                    json!({"provider": "Stripe"}),
                ),
            ],
            edges: vec![
                edge("web", "load-balancer", E::ApiCall),
                edge("load-balancer", "api-gateway", E::ApiCall),
                edge("api-gateway", "auth-service", E::ApiCall),
                edge("api-gateway", "product-service", E::ApiCall),
                edge("auth-service", "cart-service", E::ApiCall),
                edge("cart-service", "product-service", E::ApiCall),
                edge("auth-service", "users-db", E::Db),
                edge("auth-service", "redis-cluster", E::Cache),
                edge("payment-service", "orders-queue", E::Pubsub),
                edge("payment-service", "stripe", E::ApiCall),
                edge("users-db", "redis-cluster", E::Replication),
                edge("monitoring", "auth-service", E::Monitoring),
            ],
            version: 7,
        }
    }

    /// A synthetic canvas of `n` nodes in chains of ten, every node without a position.
    pub(crate) fn large_canvas(n: usize) -> Canvas {
        let kinds = [N::Microservice, N::Database, N::Cache, N::Queue, N::Gateway];
        use NodeType as N;
        Canvas {
            nodes: (0..n)
                .map(|i| {
                    node(
                        &format!("n{i}"),
                        kinds[i % kinds.len()],
                        &format!("Node {i}"),
                        None,
                        json!({"instances": i % 7}),
                    )
                })
                .collect(),
            edges: (1..n)
                .filter(|i| i % 10 != 0)
                .map(|i| edge(&format!("n{}", i - 1), &format!("n{i}"), EdgeType::ApiCall))
                .collect(),
            version: 1,
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod ssr_tests {
    use super::fixtures::{large_canvas, twelve_node_canvas};
    use super::ArchitectureCanvas;
    use leptos::prelude::*;

    #[test]
    fn the_canvas_renders_a_twelve_node_architecture_on_the_server() {
        let canvas = twelve_node_canvas();
        let html = Owner::new().with(|| {
            let c = Signal::stored(canvas.clone());
            let highlighted = Signal::stored(vec!["redis-cluster".to_string()]);
            view! { <ArchitectureCanvas canvas=c highlighted=highlighted export_name="shop"/> }
                .to_html()
        });
        for node in &canvas.nodes {
            assert!(html.contains(&node.label), "missing label {}", node.label);
            assert!(html.contains(&format!("data-node-id=\"{}\"", node.id)));
        }
        assert_eq!(html.matches("class=\"cedge ").count(), canvas.edges.len());
        assert!(
            html.contains("×10 instances")
                && html.contains("2 read replicas")
                && html.contains("3 nodes")
        );
        assert!(html.contains("Architecture diagram: 12 components (4 microservices"));
        assert!(html.contains("cnode--database") && html.contains("cnode--external"));
        assert!(html.contains("cedge--replication") && html.contains("cedge--monitoring"));
        assert!(html.contains("is-highlighted"));
        assert!(
            html.contains("Auth Service → Users DB (database access)"),
            "screen-reader connection list"
        );
        // Unpositioned nodes were laid out: no node sits at the origin.
        assert!(
            !html.contains("translate(0 0)\""),
            "every node got a position"
        );
        assert!(!html.contains("canvas-empty"));
    }

    #[test]
    fn an_empty_canvas_says_so() {
        let html = Owner::new().with(|| {
            let c = Signal::stored(youmeyou_core::model::Canvas::default());
            view! { <ArchitectureCanvas canvas=c read_only=true/> }.to_html()
        });
        assert!(html.contains("canvas-empty") && html.contains("acanvas--read-only"));
    }

    #[test]
    fn three_hundred_nodes_render() {
        let canvas = large_canvas(300);
        let html = Owner::new().with(|| {
            let c = Signal::stored(canvas);
            view! { <ArchitectureCanvas canvas=c/> }.to_html()
        });
        assert_eq!(html.matches("class=\"cnode ").count(), 300);
    }
}
