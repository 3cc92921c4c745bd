//! The REST surface of a generated service: generic CRUD for the tables that allow it plus
//! the hand-written endpoints of some domains (auth, cart, checkout, recommendations, ...).
//! One list feeds the routes, the OpenAPI document, the API client and the tests.

use crate::domains::{Crud, TableSpec};
use crate::engine::text::{camel_case, pascal_case};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    User,
    Admin,
    /// Public, authenticated by a provider signature instead of a token.
    Webhook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    List,
    Get,
    Create,
    Update,
    Delete,
    Custom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    /// Relative to the service's base, Express syntax: "/products/:id".
    pub path: String,
    pub handler: String,
    pub summary: String,
    pub access: Access,
    pub operation: Operation,
    /// The table a CRUD endpoint works on.
    pub table: Option<&'static str>,
}

impl Endpoint {
    fn custom(
        method: &'static str,
        path: &str,
        handler: &str,
        summary: &str,
        access: Access,
    ) -> Self {
        Self {
            method,
            path: path.to_string(),
            handler: handler.to_string(),
            summary: summary.to_string(),
            access,
            operation: Operation::Custom,
            table: None,
        }
    }

    /// OpenAPI path syntax: "/products/{id}".
    pub fn openapi_path(&self) -> String {
        self.path
            .split('/')
            .map(|seg| match seg.strip_prefix(':') {
                Some(name) => format!("{{{name}}}"),
                None => seg.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The path with example ids, for tests and clients: "/products/1".
    pub fn example_path(&self) -> String {
        self.path
            .split('/')
            .map(|seg| if seg.starts_with(':') { "1" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The column that says who owns a row, if any.
pub fn owner_column(t: &TableSpec) -> Option<&'static str> {
    ["user_id", "author_id", "owner_id", "sender_id"]
        .into_iter()
        .find(|c| t.column(c).is_some())
}

/// URL segment of a table: "cart_items" → "cart-items".
pub fn resource(t: &TableSpec) -> String {
    t.name.replace('_', "-")
}

/// Reads need a user unless the table is public; admin-managed tables without an owner
/// column (logs, stock movements) are admin-only to read.
pub fn read_access(t: &TableSpec) -> Access {
    if t.public_read {
        Access::Public
    } else if t.admin_write && owner_column(t).is_none() {
        Access::Admin
    } else {
        Access::User
    }
}

pub fn write_access(t: &TableSpec) -> Access {
    if t.admin_write {
        Access::Admin
    } else {
        Access::User
    }
}

/// Every endpoint of a service that hosts `tables`. Custom endpoints come first so that
/// "/products/search" is routed before "/products/:id".
pub fn endpoints(tables: &[&TableSpec]) -> Vec<Endpoint> {
    let has = |name: &str| tables.iter().any(|t| t.name == name);
    let mut out = Vec::new();
    use Access::{Admin, Public, User, Webhook};
    if has("users") {
        out.push(Endpoint::custom(
            "POST",
            "/register",
            "register",
            "Register a new account",
            Public,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/login",
            "login",
            "Exchange email and password for a JWT",
            Public,
        ));
        out.push(Endpoint::custom(
            "GET",
            "/me",
            "me",
            "The signed-in user",
            User,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/refresh",
            "refresh",
            "Issue a fresh token",
            User,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/password-reset/request",
            "requestPasswordReset",
            "Send a password reset link",
            Public,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/password-reset/confirm",
            "confirmPasswordReset",
            "Set a new password with a reset token",
            Public,
        ));
        out.push(Endpoint::custom(
            "GET",
            "/users",
            "listUsers",
            "List accounts (admin)",
            Admin,
        ));
        out.push(Endpoint::custom(
            "PATCH",
            "/users/:id/role",
            "updateUserRole",
            "Change an account's role (admin)",
            Admin,
        ));
    }
    if has("products") {
        out.push(Endpoint::custom(
            "GET",
            "/products/search",
            "searchProducts",
            "Full-text product search",
            Public,
        ));
        out.push(Endpoint::custom(
            "PATCH",
            "/products/:id/inventory",
            "adjustInventory",
            "Adjust stock by a delta (admin)",
            Admin,
        ));
    }
    if has("user_events") {
        out.push(Endpoint::custom(
            "POST",
            "/events",
            "trackEvent",
            "Record a user behaviour event",
            User,
        ));
        out.push(Endpoint::custom(
            "GET",
            "/recommendations",
            "getRecommendations",
            "Personalised recommendations for the signed-in user",
            User,
        ));
    }
    if has("product_similarities") {
        out.push(Endpoint::custom(
            "GET",
            "/products/:id/similar",
            "getSimilarProducts",
            "Products similar to one product",
            Public,
        ));
    }
    if has("carts") {
        out.push(Endpoint::custom(
            "GET",
            "/cart",
            "getCart",
            "The signed-in user's active cart",
            User,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/cart/items",
            "addCartItem",
            "Add a product to the cart",
            User,
        ));
        out.push(Endpoint::custom(
            "PATCH",
            "/cart/items/:itemId",
            "updateCartItem",
            "Change an item's quantity (0 removes it)",
            User,
        ));
        out.push(Endpoint::custom(
            "DELETE",
            "/cart/items/:itemId",
            "removeCartItem",
            "Remove an item",
            User,
        ));
        out.push(Endpoint::custom(
            "DELETE",
            "/cart",
            "clearCart",
            "Empty the cart",
            User,
        ));
    }
    if has("orders") {
        out.push(Endpoint::custom(
            "POST",
            "/checkout",
            "checkout",
            "Place an order from the cart and start payment",
            User,
        ));
        out.push(Endpoint::custom(
            "GET",
            "/orders",
            "listOrders",
            "The signed-in user's orders",
            User,
        ));
        out.push(Endpoint::custom(
            "GET",
            "/orders/:id",
            "getOrder",
            "One order with its items",
            User,
        ));
    }
    if has("payments") {
        out.push(Endpoint::custom(
            "POST",
            "/webhooks/stripe",
            "stripeWebhook",
            "Stripe payment events (signature-verified)",
            Webhook,
        ));
        // Payments carry no user column: only with the orders table at hand can a user's
        // ownership be checked, otherwise reading a payment is for admins.
        let access = if has("orders") { User } else { Admin };
        out.push(Endpoint::custom(
            "GET",
            "/payments/:id",
            "getPayment",
            "One payment (own orders only)",
            access,
        ));
    }
    if has("search_queries") {
        out.push(Endpoint::custom(
            "GET",
            "/search",
            "search",
            "Search across content services",
            Public,
        ));
    }
    if has("posts") {
        out.push(Endpoint::custom(
            "GET",
            "/posts/search",
            "searchPosts",
            "Search published posts",
            Public,
        ));
    }
    if has("messages") {
        out.push(Endpoint::custom(
            "GET",
            "/conversations",
            "listConversations",
            "Conversations of the signed-in user",
            User,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/conversations",
            "createConversation",
            "Start a conversation",
            User,
        ));
        out.push(Endpoint::custom(
            "GET",
            "/conversations/:id/messages",
            "listMessages",
            "Messages of a conversation",
            User,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/conversations/:id/messages",
            "sendMessage",
            "Send a message",
            User,
        ));
    }
    if has("notifications") {
        out.push(Endpoint::custom(
            "GET",
            "/notifications",
            "listNotifications",
            "Notifications of the signed-in user",
            User,
        ));
        out.push(Endpoint::custom(
            "POST",
            "/notifications/:id/read",
            "markNotificationRead",
            "Mark a notification read",
            User,
        ));
    }
    for t in tables {
        out.extend(crud(t));
    }
    out
}

fn crud(t: &TableSpec) -> Vec<Endpoint> {
    if t.crud == Crud::None {
        return Vec::new();
    }
    let res = resource(t);
    let plural = pascal_case(t.name);
    let one = pascal_case(t.singular);
    let noun = t.singular.replace('_', " ");
    let mk = |method, path: String, handler: String, summary: String, access, operation| Endpoint {
        method,
        path,
        handler,
        summary,
        access,
        operation,
        table: Some(t.name),
    };
    let mut out = vec![
        mk(
            "GET",
            format!("/{res}"),
            format!("list{plural}"),
            format!("List {}", t.name.replace('_', " ")),
            read_access(t),
            Operation::List,
        ),
        mk(
            "GET",
            format!("/{res}/:id"),
            format!("get{one}"),
            format!("Get one {noun}"),
            read_access(t),
            Operation::Get,
        ),
    ];
    if t.crud == Crud::Full {
        out.push(mk(
            "POST",
            format!("/{res}"),
            format!("create{one}"),
            format!("Create a {noun}"),
            write_access(t),
            Operation::Create,
        ));
        out.push(mk(
            "PATCH",
            format!("/{res}/:id"),
            format!("update{one}"),
            format!("Update a {noun}"),
            write_access(t),
            Operation::Update,
        ));
        out.push(mk(
            "DELETE",
            format!("/{res}/:id"),
            format!("delete{one}"),
            format!("Delete a {noun}"),
            write_access(t),
            Operation::Delete,
        ));
    }
    out
}

/// `camelCase` name of a table's repository in model.js ("cart_items" → "cartItems").
pub fn repository_name(t: &TableSpec) -> String {
    camel_case(t.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::tables_of_domains;

    #[test]
    fn auth_gets_its_hand_written_endpoints_and_no_user_crud() {
        let tables = tables_of_domains(&["users"]);
        let eps = endpoints(&tables);
        let handlers: Vec<&str> = eps.iter().map(|e| e.handler.as_str()).collect();
        assert!(handlers.contains(&"register") && handlers.contains(&"login"));
        assert!(
            !handlers.contains(&"createUser"),
            "users have no generic CRUD"
        );
    }

    #[test]
    fn custom_routes_come_before_parameterised_crud_routes() {
        let tables = tables_of_domains(&["products", "categories"]);
        let eps = endpoints(&tables);
        let search = eps.iter().position(|e| e.path == "/products/search");
        let by_id = eps
            .iter()
            .position(|e| e.path == "/products/:id" && e.method == "GET");
        assert!(search < by_id);
        let create = eps
            .iter()
            .find(|e| e.handler == "createProduct")
            .expect("create");
        assert_eq!(create.access, Access::Admin);
        assert_eq!(
            eps.iter()
                .find(|e| e.handler == "listProducts")
                .map(|e| e.access),
            Some(Access::Public)
        );
    }

    #[test]
    fn paths_render_for_openapi_and_examples() {
        let e = Endpoint::custom("PATCH", "/cart/items/:itemId", "x", "x", Access::User);
        assert_eq!(e.openapi_path(), "/cart/items/{itemId}");
        assert_eq!(e.example_path(), "/cart/items/1");
    }
}
