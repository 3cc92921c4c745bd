//! Test fixtures shared by the engine's tests: the design's prompts and the "existing
//! e-commerce platform with basic auth service" canvas of Example 2.

use crate::model::{Canvas, Config, Edge, EdgeType, Node, NodeType};

pub const EXAMPLE_1_PROMPT: &str = "Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing";
pub const EXAMPLE_2_PROMPT: &str =
    "Fix the auth service in my design and make it scalable to 5000 RPS";
pub const EXAMPLE_3_OLD: &str =
    "Create database schema for users, products, orders, carts, payments";
pub const EXAMPLE_3_NEW: &str = "Create database schema for users, products, orders, carts, payments, AND recommendation engine with user behavior tracking, product similarity, and recommendation history";

pub fn node(id: &str, kind: NodeType, label: &str) -> Node {
    Node {
        id: id.to_string(),
        kind,
        label: label.to_string(),
        position: None,
        config: Config::new(),
    }
}

fn with(mut n: Node, config: &[(&str, serde_json::Value)]) -> Node {
    for (k, v) in config {
        n.config.insert((*k).to_string(), v.clone());
    }
    n
}

pub fn edge(source: &str, target: &str, kind: EdgeType) -> Edge {
    Edge {
        id: format!("e-{source}-{target}"),
        source: source.to_string(),
        target: target.to_string(),
        kind,
    }
}

/// The e-commerce platform of Example 1 as a user would have it before Example 2.
pub fn example_2_canvas() -> Canvas {
    use serde_json::json;
    let mysql = |id: &str, label: &str| {
        with(
            node(id, NodeType::Database, label),
            &[("engine", json!("mysql")), ("read_replicas", json!(0))],
        )
    };
    let nodes = vec![
        node("web-app", NodeType::Frontend, "Web App"),
        node("api-gateway", NodeType::Gateway, "API Gateway"),
        with(
            node("auth-service", NodeType::Microservice, "Auth Service"),
            &[
                ("instances", json!(1)),
                ("session_store", json!("memory")),
                ("database", json!("mysql")),
            ],
        ),
        node("product-service", NodeType::Microservice, "Product Service"),
        node("cart-service", NodeType::Microservice, "Cart Service"),
        node("payment-service", NodeType::Microservice, "Payment Service"),
        mysql("users-db", "Users DB"),
        mysql("products-db", "Products DB"),
        mysql("orders-db", "Orders DB"),
    ];
    let edges = vec![
        edge("web-app", "api-gateway", EdgeType::ApiCall),
        edge("api-gateway", "auth-service", EdgeType::ApiCall),
        edge("api-gateway", "product-service", EdgeType::ApiCall),
        edge("api-gateway", "cart-service", EdgeType::ApiCall),
        edge("api-gateway", "payment-service", EdgeType::ApiCall),
        edge("auth-service", "users-db", EdgeType::Db),
        edge("product-service", "products-db", EdgeType::Db),
        edge("cart-service", "orders-db", EdgeType::Db),
        edge("payment-service", "orders-db", EdgeType::Db),
        edge("cart-service", "auth-service", EdgeType::ApiCall),
        edge("cart-service", "product-service", EdgeType::ApiCall),
        edge("payment-service", "auth-service", EdgeType::ApiCall),
    ];
    Canvas {
        nodes,
        edges,
        version: 7,
    }
}
