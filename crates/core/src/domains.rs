//! The domain catalogue: features a system can have (auth, catalog, cart, ...), the words
//! users call them by, the data domains each one owns (its HOME), the tables a domain brings,
//! and system archetypes ("e-commerce platform"). Static data and lookups only — text
//! matching lives in `engine::mentions`, SQL rendering in `engine::templates::sql`.
//!
//! Artefact keys shared with impact analysis are `"<kind>.<domain-or-feature>"`, e.g.
//! `schema.users`, `api.catalog`, `ui.storefront`, `infra.load_balancer`. A task input may be
//! an exact key, `"<kind>.*"`, `"*"`, or `"<kind>.@<feature>"`: any key of that kind whose
//! domain's home is `<feature>` (see [`HomeMap::home_of`]).

/// A column type, rendered per SQL dialect by the schema templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Str(u16),
    Char(u8),
    Text,
    Int,
    BigInt,
    /// Integer minor units (cents), never floating point.
    Money,
    Bool,
    Timestamp,
    Json,
    Decimal(u8, u8),
    /// `BIGINT` referencing `<table>.id`.
    Ref(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColDefault {
    Now,
    Int(i64),
    Str(&'static str),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub nullable: bool,
    pub unique: bool,
    pub default: Option<ColDefault>,
    /// For references: delete the row with its parent (items of a cart, ...).
    pub cascade: bool,
}

const fn col(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        unique: false,
        default: None,
        cascade: false,
    }
}

impl Column {
    const fn null(mut self) -> Self {
        self.nullable = true;
        self
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    const fn default(mut self, value: ColDefault) -> Self {
        self.default = Some(value);
        self
    }
    const fn cascade(mut self) -> Self {
        self.cascade = true;
        self
    }

    /// Whether an API client must send this column when creating a row.
    pub fn required_on_create(&self) -> bool {
        !self.nullable && self.default.is_none()
    }
}

/// Which generic REST endpoints a table gets; tables with hand-written endpoints (users,
/// carts, payments, ...) get fewer so nothing sensitive is exposed by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crud {
    Full,
    ReadOnly,
    None,
}

/// One table. Every table also gets `id` and `created_at`; `updated_at` when `updated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    /// Singular snake name of one row, e.g. "cart_item".
    pub singular: &'static str,
    pub columns: &'static [Column],
    pub uniques: &'static [&'static [&'static str]],
    pub indexes: &'static [&'static [&'static str]],
    pub updated: bool,
    pub crud: Crud,
    /// Anyone may read (catalogue-like data); otherwise reads need a signed-in user.
    pub public_read: bool,
    /// Writes need the admin role (catalogue data); otherwise any signed-in user.
    pub admin_write: bool,
    pub about: &'static str,
}

impl TableSpec {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Tables this one references (its `Ref` columns), itself excluded.
    pub fn references(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().filter_map(move |c| match c.ty {
            ColType::Ref(t) if t != self.name => Some(t),
            _ => None,
        })
    }
}

use ColDefault as D;
use ColType as T;

const USERS: TableSpec = TableSpec {
    name: "users",
    singular: "user",
    columns: &[
        col("email", T::Str(255)).unique(),
        col("password_hash", T::Str(255)),
        col("display_name", T::Str(120)).null(),
        col("role", T::Str(32)).default(D::Str("customer")),
        col("is_active", T::Bool).default(D::Bool(true)),
        col("last_login_at", T::Timestamp).null(),
    ],
    uniques: &[],
    indexes: &[&["role"]],
    updated: true,
    crud: Crud::None,
    public_read: false,
    admin_write: true,
    about: "Registered accounts with bcrypt password hashes and a role for access control.",
};

const SESSIONS: TableSpec = TableSpec {
    name: "sessions",
    singular: "session",
    columns: &[
        col("user_id", T::Ref("users")).cascade(),
        col("token_hash", T::Char(64)).unique(),
        col("user_agent", T::Str(255)).null(),
        col("ip_address", T::Str(45)).null(),
        col("expires_at", T::Timestamp),
    ],
    uniques: &[],
    indexes: &[&["expires_at"]],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Refresh-token sessions (only a hash of the token is stored).",
};

const CATEGORIES: TableSpec = TableSpec {
    name: "categories",
    singular: "category",
    columns: &[
        col("parent_id", T::Ref("categories")).null(),
        col("name", T::Str(120)),
        col("slug", T::Str(140)).unique(),
    ],
    uniques: &[],
    indexes: &[],
    updated: false,
    crud: Crud::Full,
    public_read: true,
    admin_write: true,
    about: "Product categories, nested through parent_id.",
};

const PRODUCTS: TableSpec = TableSpec {
    name: "products",
    singular: "product",
    columns: &[
        col("category_id", T::Ref("categories")).null(),
        col("sku", T::Str(64)).unique(),
        col("name", T::Str(200)),
        col("description", T::Text).null(),
        col("price_cents", T::Money),
        col("currency", T::Char(3)).default(D::Str("USD")),
        col("stock_quantity", T::Int).default(D::Int(0)),
        col("image_url", T::Str(500)).null(),
        col("is_active", T::Bool).default(D::Bool(true)),
    ],
    uniques: &[],
    indexes: &[&["name"], &["is_active", "price_cents"]],
    updated: true,
    crud: Crud::Full,
    public_read: true,
    admin_write: true,
    about: "Sellable products with price in minor units and on-hand stock.",
};

const INVENTORY_MOVEMENTS: TableSpec = TableSpec {
    name: "inventory_movements",
    singular: "inventory_movement",
    columns: &[
        col("product_id", T::Ref("products")).cascade(),
        col("delta", T::Int),
        col("reason", T::Str(64)),
    ],
    uniques: &[],
    indexes: &[&["product_id", "created_at"]],
    updated: false,
    crud: Crud::ReadOnly,
    public_read: false,
    admin_write: true,
    about: "Audit trail of stock changes (restock, sale, correction).",
};

const CARTS: TableSpec = TableSpec {
    name: "carts",
    singular: "cart",
    columns: &[
        col("user_id", T::Ref("users")).cascade(),
        col("status", T::Str(20)).default(D::Str("active")),
    ],
    uniques: &[],
    indexes: &[&["user_id", "status"]],
    updated: true,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "One active cart per user; checked-out carts are kept for history.",
};

const CART_ITEMS: TableSpec = TableSpec {
    name: "cart_items",
    singular: "cart_item",
    columns: &[
        col("cart_id", T::Ref("carts")).cascade(),
        col("product_id", T::Ref("products")),
        col("quantity", T::Int).default(D::Int(1)),
        col("unit_price_cents", T::Money),
    ],
    uniques: &[&["cart_id", "product_id"]],
    indexes: &[],
    updated: true,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Lines of a cart; the price is captured when the item is added.",
};

const ORDERS: TableSpec = TableSpec {
    name: "orders",
    singular: "order",
    columns: &[
        col("user_id", T::Ref("users")),
        col("status", T::Str(20)).default(D::Str("pending")),
        col("total_cents", T::Money),
        col("currency", T::Char(3)).default(D::Str("USD")),
        col("shipping_address", T::Json).null(),
    ],
    uniques: &[],
    indexes: &[&["user_id", "created_at"], &["status"]],
    updated: true,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Placed orders with their total and lifecycle status.",
};

const ORDER_ITEMS: TableSpec = TableSpec {
    name: "order_items",
    singular: "order_item",
    columns: &[
        col("order_id", T::Ref("orders")).cascade(),
        col("product_id", T::Ref("products")),
        col("product_name", T::Str(200)),
        col("quantity", T::Int),
        col("unit_price_cents", T::Money),
    ],
    uniques: &[],
    indexes: &[],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Order lines with a snapshot of product name and price.",
};

const PAYMENTS: TableSpec = TableSpec {
    name: "payments",
    singular: "payment",
    columns: &[
        col("order_id", T::Ref("orders")).cascade(),
        col("provider", T::Str(32)).default(D::Str("stripe")),
        col("provider_payment_id", T::Str(128)).unique(),
        col("amount_cents", T::Money),
        col("currency", T::Char(3)).default(D::Str("USD")),
        col("status", T::Str(20)).default(D::Str("pending")),
        col("failure_reason", T::Str(255)).null(),
    ],
    uniques: &[],
    indexes: &[&["status"]],
    updated: true,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Payment attempts at the provider, updated by webhooks.",
};

const SHIPMENTS: TableSpec = TableSpec {
    name: "shipments",
    singular: "shipment",
    columns: &[
        col("order_id", T::Ref("orders")).cascade(),
        col("carrier", T::Str(64)),
        col("tracking_number", T::Str(128)).null().unique(),
        col("status", T::Str(20)).default(D::Str("pending")),
        col("shipped_at", T::Timestamp).null(),
        col("delivered_at", T::Timestamp).null(),
    ],
    uniques: &[],
    indexes: &[&["status"]],
    updated: true,
    crud: Crud::Full,
    public_read: false,
    admin_write: true,
    about: "Parcels sent for an order and their tracking state.",
};

const REVIEWS: TableSpec = TableSpec {
    name: "reviews",
    singular: "review",
    columns: &[
        col("product_id", T::Ref("products")).cascade(),
        col("user_id", T::Ref("users")).cascade(),
        col("rating", T::Int),
        col("title", T::Str(200)).null(),
        col("body", T::Text).null(),
    ],
    uniques: &[&["product_id", "user_id"]],
    indexes: &[],
    updated: true,
    crud: Crud::Full,
    public_read: true,
    admin_write: false,
    about: "One rating (1–5) and optional text per user and product.",
};

const USER_EVENTS: TableSpec = TableSpec {
    name: "user_events",
    singular: "user_event",
    columns: &[
        col("user_id", T::Ref("users")).cascade(),
        col("product_id", T::Ref("products")).null().cascade(),
        col("event_type", T::Str(32)),
        col("metadata", T::Json).null(),
        col("occurred_at", T::Timestamp).default(D::Now),
    ],
    uniques: &[],
    indexes: &[&["user_id", "occurred_at"], &["product_id", "event_type"]],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "User behaviour tracking (view, add_to_cart, purchase) feeding recommendations.",
};

const PRODUCT_SIMILARITIES: TableSpec = TableSpec {
    name: "product_similarities",
    singular: "product_similarity",
    columns: &[
        col("product_id", T::Ref("products")).cascade(),
        col("similar_product_id", T::Ref("products")).cascade(),
        col("score", T::Decimal(5, 4)),
    ],
    uniques: &[&["product_id", "similar_product_id"]],
    indexes: &[&["product_id", "score"]],
    updated: false,
    crud: Crud::None,
    public_read: true,
    admin_write: true,
    about: "Precomputed item-to-item similarity scores (0..1).",
};

const RECOMMENDATIONS: TableSpec = TableSpec {
    name: "recommendations",
    singular: "recommendation",
    columns: &[
        col("user_id", T::Ref("users")).cascade(),
        col("product_id", T::Ref("products")).cascade(),
        col("score", T::Decimal(5, 4)),
        col("reason", T::Str(64)),
        col("generated_at", T::Timestamp).default(D::Now),
    ],
    uniques: &[],
    indexes: &[&["user_id", "generated_at"]],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Recommendation history: what was recommended to whom, why and when.",
};

const SEARCH_QUERIES: TableSpec = TableSpec {
    name: "search_queries",
    singular: "search_query",
    columns: &[
        col("user_id", T::Ref("users")).null(),
        col("query_text", T::Str(255)),
        col("results_count", T::Int).default(D::Int(0)),
    ],
    uniques: &[],
    indexes: &[&["query_text"]],
    updated: false,
    crud: Crud::ReadOnly,
    public_read: false,
    admin_write: true,
    about: "Search log used for suggestions and relevance tuning.",
};

const NOTIFICATIONS: TableSpec = TableSpec {
    name: "notifications",
    singular: "notification",
    columns: &[
        col("user_id", T::Ref("users")).cascade(),
        col("channel", T::Str(16)).default(D::Str("email")),
        col("title", T::Str(200)),
        col("body", T::Text),
        col("read_at", T::Timestamp).null(),
    ],
    uniques: &[],
    indexes: &[&["user_id", "read_at"]],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Messages sent to a user by email, push or in-app.",
};

const NOTIFICATION_PREFERENCES: TableSpec = TableSpec {
    name: "notification_preferences",
    singular: "notification_preference",
    columns: &[
        col("user_id", T::Ref("users")).cascade().unique(),
        col("email_enabled", T::Bool).default(D::Bool(true)),
        col("push_enabled", T::Bool).default(D::Bool(true)),
    ],
    uniques: &[],
    indexes: &[],
    updated: true,
    crud: Crud::Full,
    public_read: false,
    admin_write: false,
    about: "Per-user opt-ins per channel.",
};

const ANALYTICS_EVENTS: TableSpec = TableSpec {
    name: "analytics_events",
    singular: "analytics_event",
    columns: &[
        col("user_id", T::Ref("users")).null(),
        col("session_key", T::Str(64)).null(),
        col("event_name", T::Str(64)),
        col("properties", T::Json).null(),
        col("occurred_at", T::Timestamp).default(D::Now),
    ],
    uniques: &[],
    indexes: &[&["event_name", "occurred_at"]],
    updated: false,
    crud: Crud::ReadOnly,
    public_read: false,
    admin_write: true,
    about: "Raw product analytics events for dashboards.",
};

const CONVERSATIONS: TableSpec = TableSpec {
    name: "conversations",
    singular: "conversation",
    columns: &[
        col("title", T::Str(200)).null(),
        col("is_group", T::Bool).default(D::Bool(false)),
    ],
    uniques: &[],
    indexes: &[],
    updated: true,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Direct or group conversations.",
};

const CONVERSATION_MEMBERS: TableSpec = TableSpec {
    name: "conversation_members",
    singular: "conversation_member",
    columns: &[
        col("conversation_id", T::Ref("conversations")).cascade(),
        col("user_id", T::Ref("users")).cascade(),
        col("joined_at", T::Timestamp).default(D::Now),
    ],
    uniques: &[&["conversation_id", "user_id"]],
    indexes: &[],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Who takes part in a conversation.",
};

const MESSAGES: TableSpec = TableSpec {
    name: "messages",
    singular: "message",
    columns: &[
        col("conversation_id", T::Ref("conversations")).cascade(),
        col("sender_id", T::Ref("users")),
        col("body", T::Text),
        col("edited_at", T::Timestamp).null(),
    ],
    uniques: &[],
    indexes: &[&["conversation_id", "created_at"]],
    updated: false,
    crud: Crud::None,
    public_read: false,
    admin_write: false,
    about: "Chat messages, ordered by creation time within a conversation.",
};

const POSTS: TableSpec = TableSpec {
    name: "posts",
    singular: "post",
    columns: &[
        col("author_id", T::Ref("users")),
        col("title", T::Str(200)),
        col("slug", T::Str(220)).unique(),
        col("body", T::Text),
        col("status", T::Str(20)).default(D::Str("draft")),
        col("published_at", T::Timestamp).null(),
    ],
    uniques: &[],
    indexes: &[&["status", "published_at"]],
    updated: true,
    crud: Crud::Full,
    public_read: true,
    admin_write: false,
    about: "Articles with a draft/published lifecycle.",
};

const TAGS: TableSpec = TableSpec {
    name: "tags",
    singular: "tag",
    columns: &[col("name", T::Str(64)).unique()],
    uniques: &[],
    indexes: &[],
    updated: false,
    crud: Crud::Full,
    public_read: true,
    admin_write: true,
    about: "Free-form labels for posts.",
};

const POST_TAGS: TableSpec = TableSpec {
    name: "post_tags",
    singular: "post_tag",
    columns: &[
        col("post_id", T::Ref("posts")).cascade(),
        col("tag_id", T::Ref("tags")).cascade(),
    ],
    uniques: &[&["post_id", "tag_id"]],
    indexes: &[],
    updated: false,
    crud: Crud::None,
    public_read: true,
    admin_write: false,
    about: "Many-to-many link between posts and tags.",
};

const COMMENTS: TableSpec = TableSpec {
    name: "comments",
    singular: "comment",
    columns: &[
        col("post_id", T::Ref("posts")).cascade(),
        col("author_id", T::Ref("users")),
        col("parent_id", T::Ref("comments")).null().cascade(),
        col("body", T::Text),
    ],
    uniques: &[],
    indexes: &[&["post_id", "created_at"]],
    updated: true,
    crud: Crud::Full,
    public_read: true,
    admin_write: false,
    about: "Threaded comments on posts.",
};

const MEDIA_ASSETS: TableSpec = TableSpec {
    name: "media_assets",
    singular: "media_asset",
    columns: &[
        col("owner_id", T::Ref("users")),
        col("storage_key", T::Str(255)).unique(),
        col("content_type", T::Str(100)),
        col("size_bytes", T::BigInt),
    ],
    uniques: &[],
    indexes: &[&["owner_id"]],
    updated: false,
    crud: Crud::Full,
    public_read: true,
    admin_write: false,
    about: "Uploaded files; the bytes live in object storage under storage_key.",
};

/// A data domain: a cluster of tables with one owning service (its home).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataDomain {
    pub key: &'static str,
    /// Singular noun for progress text ("Designing user and product schemas...").
    pub noun: &'static str,
    /// How a schema prompt lists it ("payment records").
    pub phrase: &'static str,
    /// How a change summary names it when added ("recommendation engine").
    pub change_phrase: &'static str,
    pub synonyms: &'static [&'static str],
    /// Features that may own it, preferred first; the first one present in the plan wins.
    pub homes: &'static [&'static str],
    /// Domains that come with it even when not named ("products" brings "categories").
    pub companions: &'static [&'static str],
    pub tables: &'static [TableSpec],
}

pub const DATA_DOMAINS: &[DataDomain] = &[
    DataDomain {
        key: "users",
        noun: "user",
        phrase: "users",
        change_phrase: "user accounts",
        synonyms: &[
            "users",
            "user accounts",
            "accounts",
            "customers",
            "profiles",
            "members",
        ],
        homes: &["auth"],
        companions: &[],
        tables: &[USERS],
    },
    DataDomain {
        key: "sessions",
        noun: "session",
        phrase: "sessions",
        change_phrase: "session storage",
        synonyms: &["sessions", "refresh tokens", "session storage"],
        homes: &["auth"],
        companions: &[],
        tables: &[SESSIONS],
    },
    DataDomain {
        key: "products",
        noun: "product",
        phrase: "products",
        change_phrase: "products",
        synonyms: &["products", "product catalog", "catalog", "merchandise"],
        homes: &["catalog"],
        companions: &["categories"],
        tables: &[PRODUCTS],
    },
    DataDomain {
        key: "categories",
        noun: "category",
        phrase: "product categories",
        change_phrase: "product categories",
        synonyms: &["categories", "product categories"],
        homes: &["catalog"],
        companions: &[],
        tables: &[CATEGORIES],
    },
    DataDomain {
        key: "inventory",
        noun: "inventory",
        phrase: "inventory movements",
        change_phrase: "inventory tracking",
        synonyms: &[
            "inventory",
            "stock levels",
            "stock movements",
            "inventory management",
            "warehouse",
        ],
        homes: &["catalog"],
        companions: &[],
        tables: &[INVENTORY_MOVEMENTS],
    },
    DataDomain {
        key: "carts",
        noun: "cart",
        phrase: "shopping carts",
        change_phrase: "shopping carts",
        synonyms: &[
            "carts",
            "shopping carts",
            "cart items",
            "baskets",
            "shopping baskets",
        ],
        homes: &["cart"],
        companions: &[],
        tables: &[CARTS, CART_ITEMS],
    },
    DataDomain {
        key: "orders",
        noun: "order",
        phrase: "orders",
        change_phrase: "orders",
        synonyms: &["orders", "order items", "order history", "purchases"],
        homes: &["orders", "payment", "cart"],
        companions: &[],
        tables: &[ORDERS, ORDER_ITEMS],
    },
    DataDomain {
        key: "payments",
        noun: "payment",
        phrase: "payment records",
        change_phrase: "payment records",
        synonyms: &[
            "payments",
            "payment records",
            "transactions",
            "invoices",
            "refunds",
        ],
        homes: &["payment", "orders"],
        companions: &[],
        tables: &[PAYMENTS],
    },
    DataDomain {
        key: "shipments",
        noun: "shipment",
        phrase: "shipments",
        change_phrase: "shipment tracking",
        synonyms: &["shipments", "shipping", "deliveries", "shipment tracking"],
        homes: &["shipping", "orders", "payment"],
        companions: &[],
        tables: &[SHIPMENTS],
    },
    DataDomain {
        key: "reviews",
        noun: "review",
        phrase: "product reviews",
        change_phrase: "product reviews",
        synonyms: &["reviews", "ratings", "product reviews"],
        homes: &["reviews", "catalog"],
        companions: &[],
        tables: &[REVIEWS],
    },
    DataDomain {
        key: "recommendations",
        noun: "recommendation",
        phrase: "recommendation data",
        change_phrase: "recommendation engine",
        synonyms: &[
            "recommendations",
            "recommendation engine",
            "recommendation system",
            "recommender",
            "recommendation history",
            "user behavior tracking",
            "behavior tracking",
            "user behavior",
            "product similarity",
            "product similarities",
            "similar products",
            "personalization",
        ],
        homes: &["recommendations", "catalog"],
        companions: &[],
        tables: &[USER_EVENTS, PRODUCT_SIMILARITIES, RECOMMENDATIONS],
    },
    DataDomain {
        key: "search",
        noun: "search",
        phrase: "search queries",
        change_phrase: "search history",
        synonyms: &[
            "search queries",
            "search history",
            "search log",
            "search index",
            "search",
        ],
        homes: &["search", "catalog", "posts"],
        companions: &[],
        tables: &[SEARCH_QUERIES],
    },
    DataDomain {
        key: "notifications",
        noun: "notification",
        phrase: "notifications",
        change_phrase: "notifications",
        synonyms: &["notifications", "notification preferences"],
        homes: &["notifications", "auth"],
        companions: &[],
        tables: &[NOTIFICATIONS, NOTIFICATION_PREFERENCES],
    },
    DataDomain {
        key: "analytics",
        noun: "analytics",
        phrase: "analytics events",
        change_phrase: "analytics events",
        synonyms: &[
            "analytics",
            "analytics events",
            "page views",
            "event tracking",
        ],
        homes: &["analytics"],
        companions: &[],
        tables: &[ANALYTICS_EVENTS],
    },
    DataDomain {
        key: "messages",
        noun: "message",
        phrase: "conversations and messages",
        change_phrase: "chat messages",
        synonyms: &["messages", "conversations", "chat messages", "chat"],
        homes: &["chat"],
        companions: &[],
        tables: &[CONVERSATIONS, CONVERSATION_MEMBERS, MESSAGES],
    },
    DataDomain {
        key: "posts",
        noun: "post",
        phrase: "posts",
        change_phrase: "posts",
        synonyms: &["posts", "articles", "blog posts"],
        homes: &["posts"],
        companions: &["tags"],
        tables: &[POSTS],
    },
    DataDomain {
        key: "tags",
        noun: "tag",
        phrase: "tags",
        change_phrase: "tags",
        synonyms: &["tags", "tagging"],
        homes: &["posts"],
        companions: &[],
        tables: &[TAGS, POST_TAGS],
    },
    DataDomain {
        key: "comments",
        noun: "comment",
        phrase: "comments",
        change_phrase: "comments",
        synonyms: &["comments", "replies", "comment threads"],
        homes: &["comments", "posts"],
        companions: &[],
        tables: &[COMMENTS],
    },
    DataDomain {
        key: "media",
        noun: "media",
        phrase: "media uploads",
        change_phrase: "media uploads",
        synonyms: &["media", "uploads", "attachments", "media uploads", "images"],
        homes: &["media", "posts"],
        companions: &[],
        tables: &[MEDIA_ASSETS],
    },
];

/// An external system a feature talks to; it becomes an `external` canvas node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct External {
    pub id: &'static str,
    pub label: &'static str,
}

/// A feature: one service of the generated system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub key: &'static str,
    /// Canvas node id and folder of the generated service, e.g. "product-service".
    pub service: &'static str,
    pub label: &'static str,
    /// How architecture prompts name it ("product catalog").
    pub phrase: &'static str,
    pub synonyms: &'static [&'static str],
    /// Data domains it brings to a schema when it is part of a plan.
    pub owns: &'static [&'static str],
    /// Features whose API it calls when they are part of the same plan; the plan makes its
    /// task depend on theirs.
    pub calls: &'static [&'static str],
    /// Features it reads from at run time without needing their code first (the payment
    /// service reads the cart at checkout through the cart API the catalogue fixes).
    pub reads: &'static [&'static str],
    /// Database node id; several features may share one ("orders-db").
    pub database: &'static str,
    pub task_name: &'static str,
    pub description: &'static str,
    /// Opening of its code-generation prompt, e.g. "complete authentication service".
    pub service_noun: &'static str,
    pub capabilities: &'static [&'static str],
    pub prompt_suffix: &'static str,
    /// Seconds for its code-generation task.
    pub estimated_time: u32,
    /// Screens it brings to the frontend prompt ("product listing").
    pub ui_views: &'static [&'static str],
    /// Order of its views in the frontend prompt (browse, cart, account, checkout).
    pub ui_rank: u8,
    /// URL segment of its API behind the gateway: `/api/<api_base>/...`.
    pub api_base: &'static str,
    pub port: u16,
    /// Throughput of one unoptimised instance (see `capacity`).
    pub base_rps: u64,
    /// What a Redis cache in front of it speeds up ("JWT validation").
    pub cache_purpose: &'static str,
    /// Whether the architecture puts the shared Redis cache in front of it.
    pub uses_cache: bool,
    pub external: Option<External>,
}

pub const FEATURES: &[Feature] = &[
    Feature {
        key: "auth",
        service: "auth-service",
        label: "Auth Service",
        phrase: "user auth",
        synonyms: &[
            "auth",
            "authentication",
            "authorization",
            "user auth",
            "user authentication",
            "login",
            "log in",
            "sign in",
            "signin",
            "sign up",
            "signup",
            "registration",
            "user registration",
            "user accounts",
            "account management",
            "identity",
            "sso",
            "oauth",
            "jwt",
            "user management",
            "auth service",
            "authentication service",
        ],
        owns: &["users"],
        calls: &[],
        reads: &[],
        database: "users-db",
        task_name: "Auth Service Implementation",
        description: "Generate authentication and authorization service",
        service_noun: "complete authentication service",
        capabilities: &[
            "JWT tokens",
            "user registration",
            "login",
            "password reset",
            "role-based access control",
        ],
        prompt_suffix: "Include middleware, controllers, and database models.",
        estimated_time: 60,
        ui_views: &["user authentication"],
        ui_rank: 30,
        api_base: "auth",
        port: 3001,
        base_rps: 100,
        cache_purpose: "JWT validation",
        uses_cache: false,
        external: None,
    },
    Feature {
        key: "catalog",
        service: "product-service",
        label: "Product Service",
        phrase: "product catalog",
        synonyms: &[
            "catalog",
            "product catalog",
            "products",
            "product listing",
            "product details",
            "product management",
            "product service",
            "inventory",
            "inventory management",
            "merchandise",
        ],
        owns: &["products"],
        calls: &[],
        reads: &[],
        database: "products-db",
        task_name: "Product Catalog Service",
        description: "Generate product management service",
        service_noun: "product catalog service",
        capabilities: &[
            "CRUD operations",
            "search functionality",
            "categories",
            "inventory management",
            "image handling",
        ],
        prompt_suffix: "",
        estimated_time: 50,
        ui_views: &["product listing", "product details"],
        ui_rank: 10,
        api_base: "catalog",
        port: 3002,
        base_rps: 200,
        cache_purpose: "product reads",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "cart",
        service: "cart-service",
        label: "Cart Service",
        phrase: "shopping cart",
        synonyms: &[
            "cart",
            "shopping cart",
            "basket",
            "shopping basket",
            "cart service",
        ],
        owns: &["carts"],
        calls: &["auth", "catalog"],
        reads: &[],
        database: "orders-db",
        task_name: "Shopping Cart Service",
        description: "Generate shopping cart functionality",
        service_noun: "shopping cart service",
        capabilities: &["add/remove items", "quantity updates", "cart persistence"],
        prompt_suffix: "",
        estimated_time: 40,
        ui_views: &["shopping cart"],
        ui_rank: 20,
        api_base: "cart",
        port: 3003,
        base_rps: 150,
        cache_purpose: "cart reads",
        uses_cache: false,
        external: None,
    },
    Feature {
        key: "payment",
        service: "payment-service",
        label: "Payment Service",
        phrase: "payment processing",
        synonyms: &[
            "payment",
            "payment processing",
            "payment service",
            "checkout",
            "checkout process",
            "billing",
            "stripe",
            "paypal",
            "payment gateway",
        ],
        owns: &["orders", "payments"],
        calls: &["auth", "orders"],
        reads: &["cart"],
        database: "orders-db",
        task_name: "Payment Service Integration",
        description: "Generate payment processing service",
        service_noun: "payment service",
        capabilities: &[
            "Stripe integration",
            "order processing",
            "payment webhooks",
            "transaction management",
        ],
        prompt_suffix: "",
        estimated_time: 55,
        ui_views: &["checkout process"],
        ui_rank: 40,
        api_base: "payments",
        port: 3004,
        base_rps: 80,
        cache_purpose: "idempotency keys",
        uses_cache: false,
        external: Some(External {
            id: "stripe",
            label: "Stripe API",
        }),
    },
    Feature {
        key: "orders",
        service: "order-service",
        label: "Order Service",
        phrase: "order management",
        synonyms: &[
            "orders",
            "order management",
            "order processing",
            "order history",
            "order tracking",
            "order service",
        ],
        owns: &["orders"],
        calls: &["auth", "cart", "catalog"],
        reads: &[],
        database: "orders-db",
        task_name: "Order Management Service",
        description: "Generate order management service",
        service_noun: "order management service",
        capabilities: &[
            "order creation from carts",
            "order history",
            "status tracking",
            "cancellations",
        ],
        prompt_suffix: "",
        estimated_time: 45,
        ui_views: &["order history"],
        ui_rank: 45,
        api_base: "orders",
        port: 3005,
        base_rps: 150,
        cache_purpose: "order reads",
        uses_cache: false,
        external: None,
    },
    Feature {
        key: "shipping",
        service: "shipping-service",
        label: "Shipping Service",
        phrase: "shipping",
        synonyms: &[
            "shipping",
            "delivery",
            "deliveries",
            "shipment tracking",
            "fulfillment",
            "logistics",
            "shipments",
        ],
        owns: &["shipments"],
        calls: &["auth", "orders", "payment"],
        reads: &[],
        database: "orders-db",
        task_name: "Shipping Service",
        description: "Generate shipping and fulfilment service",
        service_noun: "shipping service",
        capabilities: &[
            "shipment creation",
            "carrier tracking numbers",
            "delivery status updates",
        ],
        prompt_suffix: "",
        estimated_time: 40,
        ui_views: &["shipment tracking"],
        ui_rank: 50,
        api_base: "shipping",
        port: 3006,
        base_rps: 150,
        cache_purpose: "tracking reads",
        uses_cache: false,
        external: None,
    },
    Feature {
        key: "reviews",
        service: "review-service",
        label: "Review Service",
        phrase: "product reviews",
        synonyms: &[
            "reviews",
            "product reviews",
            "ratings",
            "ratings and reviews",
            "review system",
        ],
        owns: &["reviews"],
        calls: &["auth", "catalog"],
        reads: &[],
        database: "products-db",
        task_name: "Reviews Service",
        description: "Generate product review and rating service",
        service_noun: "review service",
        capabilities: &[
            "ratings from 1 to 5",
            "one review per user and product",
            "moderation",
        ],
        prompt_suffix: "",
        estimated_time: 35,
        ui_views: &["product reviews"],
        ui_rank: 15,
        api_base: "reviews",
        port: 3007,
        base_rps: 200,
        cache_purpose: "review reads",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "recommendations",
        service: "recommendation-service",
        label: "Recommendation Service",
        phrase: "recommendation engine",
        synonyms: &[
            "recommendations",
            "recommendation engine",
            "recommendation system",
            "recommender",
            "recommender system",
            "personalization",
            "product recommendations",
            "recommended products",
        ],
        owns: &["recommendations"],
        calls: &["auth", "catalog"],
        reads: &[],
        database: "recommendations-db",
        task_name: "Recommendation Engine Service",
        description: "Generate recommendation engine service",
        service_noun: "recommendation service",
        capabilities: &[
            "user behavior tracking",
            "product similarity",
            "personalized recommendations",
            "recommendation history",
        ],
        prompt_suffix: "",
        estimated_time: 55,
        ui_views: &["recommended products"],
        ui_rank: 12,
        api_base: "recommendations",
        port: 3008,
        base_rps: 150,
        cache_purpose: "recommendation reads",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "search",
        service: "search-service",
        label: "Search Service",
        phrase: "search",
        synonyms: &[
            "search",
            "search feature",
            "search functionality",
            "full text search",
            "search engine",
            "site search",
            "product search",
        ],
        owns: &["search"],
        calls: &["catalog", "posts"],
        reads: &[],
        database: "search-db",
        task_name: "Search Service",
        description: "Generate search service",
        service_noun: "search service",
        capabilities: &[
            "full-text queries",
            "relevance ranking",
            "query logging",
            "suggestions",
        ],
        prompt_suffix: "",
        estimated_time: 45,
        ui_views: &["search results"],
        ui_rank: 5,
        api_base: "search",
        port: 3009,
        base_rps: 250,
        cache_purpose: "query results",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "notifications",
        service: "notification-service",
        label: "Notification Service",
        phrase: "notifications",
        synonyms: &[
            "notifications",
            "notification service",
            "email notifications",
            "push notifications",
            "in-app notifications",
        ],
        owns: &["notifications"],
        calls: &["auth"],
        reads: &[],
        database: "notifications-db",
        task_name: "Notification Service",
        description: "Generate notification service",
        service_noun: "notification service",
        capabilities: &[
            "email and push delivery",
            "user preferences",
            "read receipts",
        ],
        prompt_suffix: "",
        estimated_time: 40,
        ui_views: &["notification center"],
        ui_rank: 60,
        api_base: "notifications",
        port: 3010,
        base_rps: 200,
        cache_purpose: "preference reads",
        uses_cache: false,
        external: Some(External {
            id: "email-provider",
            label: "Email Provider",
        }),
    },
    Feature {
        key: "analytics",
        service: "analytics-service",
        label: "Analytics Service",
        phrase: "analytics",
        synonyms: &[
            "analytics",
            "reporting",
            "reports",
            "dashboards",
            "dashboard",
            "insights",
            "user analytics",
        ],
        owns: &["analytics"],
        calls: &["auth"],
        reads: &[],
        database: "analytics-db",
        task_name: "Analytics Service",
        description: "Generate analytics and reporting service",
        service_noun: "analytics service",
        capabilities: &["event ingestion", "aggregated reports", "dashboard queries"],
        prompt_suffix: "",
        estimated_time: 45,
        ui_views: &["analytics dashboard"],
        ui_rank: 70,
        api_base: "analytics",
        port: 3011,
        base_rps: 300,
        cache_purpose: "report queries",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "chat",
        service: "chat-service",
        label: "Chat Service",
        phrase: "real-time chat",
        synonyms: &[
            "chat",
            "messaging",
            "messages",
            "real time chat",
            "realtime chat",
            "live chat",
            "direct messages",
            "direct messaging",
            "instant messaging",
            "chat rooms",
        ],
        owns: &["messages"],
        calls: &["auth"],
        reads: &[],
        database: "messages-db",
        task_name: "Chat Service",
        description: "Generate real-time chat service",
        service_noun: "chat service",
        capabilities: &[
            "conversations",
            "message history",
            "membership checks",
            "real-time delivery",
        ],
        prompt_suffix: "",
        estimated_time: 55,
        ui_views: &["conversation list", "chat window"],
        ui_rank: 35,
        api_base: "chat",
        port: 3012,
        base_rps: 150,
        cache_purpose: "presence and membership",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "posts",
        service: "post-service",
        label: "Post Service",
        phrase: "posts",
        synonyms: &[
            "posts",
            "blog posts",
            "articles",
            "content management",
            "cms",
            "publishing",
        ],
        owns: &["posts"],
        calls: &["auth", "media"],
        reads: &[],
        database: "content-db",
        task_name: "Post Service",
        description: "Generate post publishing service",
        service_noun: "post service",
        capabilities: &[
            "drafts and publishing",
            "slugs",
            "tags",
            "author permissions",
        ],
        prompt_suffix: "",
        estimated_time: 50,
        ui_views: &["post feed", "post editor"],
        ui_rank: 8,
        api_base: "posts",
        port: 3013,
        base_rps: 200,
        cache_purpose: "published posts",
        uses_cache: true,
        external: None,
    },
    Feature {
        key: "comments",
        service: "comment-service",
        label: "Comment Service",
        phrase: "comments",
        synonyms: &["comments", "commenting", "comment threads", "discussions"],
        owns: &["comments"],
        calls: &["auth", "posts"],
        reads: &[],
        database: "content-db",
        task_name: "Comment Service",
        description: "Generate threaded comment service",
        service_noun: "comment service",
        capabilities: &["threaded replies", "author edits", "moderation"],
        prompt_suffix: "",
        estimated_time: 40,
        ui_views: &["comment threads"],
        ui_rank: 9,
        api_base: "comments",
        port: 3014,
        base_rps: 200,
        cache_purpose: "comment threads",
        uses_cache: false,
        external: None,
    },
    Feature {
        key: "media",
        service: "media-service",
        label: "Media Service",
        phrase: "media uploads",
        synonyms: &[
            "media uploads",
            "file uploads",
            "image uploads",
            "uploads",
            "media",
            "file storage",
            "attachments",
        ],
        owns: &["media"],
        calls: &["auth"],
        reads: &[],
        database: "content-db",
        task_name: "Media Service",
        description: "Generate media upload service",
        service_noun: "media service",
        capabilities: &[
            "signed uploads",
            "content-type checks",
            "object storage keys",
        ],
        prompt_suffix: "",
        estimated_time: 40,
        ui_views: &["media uploader"],
        ui_rank: 80,
        api_base: "media",
        port: 3015,
        base_rps: 150,
        cache_purpose: "media metadata",
        uses_cache: false,
        external: Some(External {
            id: "object-storage",
            label: "Object Storage (S3)",
        }),
    },
];

/// A kind of system with the features it implies when the prompt names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archetype {
    pub key: &'static str,
    /// How prompts name the frontend ("e-commerce frontend").
    pub label: &'static str,
    pub synonyms: &'static [&'static str],
    pub features: &'static [&'static str],
    /// Name of the frontend artefact: `ui.<ui_name>`.
    pub ui_name: &'static str,
}

pub const ARCHETYPES: &[Archetype] = &[
    Archetype {
        key: "e-commerce",
        label: "e-commerce",
        synonyms: &[
            "e-commerce",
            "ecommerce",
            "e commerce",
            "online store",
            "online shop",
            "web shop",
            "webshop",
            "shop",
            "store",
            "marketplace",
            "storefront",
        ],
        features: &["auth", "catalog", "cart", "payment"],
        ui_name: "storefront",
    },
    Archetype {
        key: "blog",
        label: "blog",
        synonyms: &["blog", "blogging", "news site", "publication", "magazine"],
        features: &["auth", "posts", "comments"],
        ui_name: "blog",
    },
    Archetype {
        key: "chat",
        label: "chat",
        synonyms: &[
            "chat app",
            "chat application",
            "messaging app",
            "messenger",
            "chat platform",
        ],
        features: &["auth", "chat"],
        ui_name: "chat",
    },
    Archetype {
        key: "social",
        label: "social network",
        synonyms: &[
            "social network",
            "social media",
            "community platform",
            "social app",
        ],
        features: &["auth", "posts", "comments", "notifications", "chat"],
        ui_name: "social",
    },
    Archetype {
        key: "analytics",
        label: "analytics",
        synonyms: &["analytics platform", "reporting platform", "bi tool"],
        features: &["auth", "analytics"],
        ui_name: "dashboard",
    },
];

impl Feature {
    /// Every feature it talks to at run time: the ones it calls and the ones it reads.
    pub fn talks_to(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.calls.iter().chain(self.reads.iter()).copied()
    }
}

pub fn feature(key: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.key == key)
}

/// The feature whose service id is `service` ("auth-service" → auth).
pub fn feature_by_service(service: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.service == service)
}

pub fn data_domain(key: &str) -> Option<&'static DataDomain> {
    DATA_DOMAINS.iter().find(|d| d.key == key)
}

pub fn archetype(key: &str) -> Option<&'static Archetype> {
    ARCHETYPES.iter().find(|a| a.key == key)
}

/// Every table of the catalogue, by name.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    DATA_DOMAINS
        .iter()
        .flat_map(|d| d.tables.iter())
        .find(|t| t.name == name)
}

/// The domain a table belongs to.
pub fn domain_of_table(name: &str) -> Option<&'static DataDomain> {
    DATA_DOMAINS
        .iter()
        .find(|d| d.tables.iter().any(|t| t.name == name))
}

/// The home of a domain or feature key without plan context: a feature is its own home, a
/// data domain's home is its first preferred owner. Use [`HomeMap`] when the plan's feature
/// set is known (recommendations live in catalog unless a recommendation service exists).
pub fn home_of(key: &str) -> Option<&'static str> {
    HomeMap::default().home_of(key)
}

/// Adds companions ("products" → "categories") and removes duplicates, keeping first-seen
/// order; unknown keys are dropped.
pub fn expand_domains<S: AsRef<str>>(domains: &[S]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for key in domains {
        if let Some(d) = data_domain(key.as_ref()) {
            for k in std::iter::once(&d.key).chain(d.companions.iter()) {
                if !out.contains(k) {
                    out.push(k);
                }
            }
        }
    }
    out
}

/// Data domains a set of features brings to a schema, in feature order.
pub fn domains_of_features<S: AsRef<str>>(features: &[S]) -> Vec<&'static str> {
    let owned: Vec<&str> = features
        .iter()
        .filter_map(|f| feature(f.as_ref()))
        .flat_map(|f| f.owns.iter().copied())
        .collect();
    expand_domains(&owned)
}

/// Tables of `domains`, in domain order.
pub fn tables_of_domains<S: AsRef<str>>(domains: &[S]) -> Vec<&'static TableSpec> {
    domains
        .iter()
        .filter_map(|d| data_domain(d.as_ref()))
        .flat_map(|d| d.tables.iter())
        .collect()
}

/// Resolves homes for one plan: the features the plan builds decide where each data
/// domain lives. This is the lookup impact analysis needs for `"<kind>.@<feature>"` inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeMap {
    features: Vec<String>,
}

impl HomeMap {
    /// `features`: feature keys of the plan (e.g. an intent's components). Unknown keys are
    /// kept so that canvas-only services still resolve to themselves.
    pub fn new<S: AsRef<str>>(features: &[S]) -> Self {
        Self {
            features: features.iter().map(|f| f.as_ref().to_string()).collect(),
        }
    }

    /// Home feature of a data domain, a feature key or a service id. Data domains are looked
    /// up first because some keys are both ("orders", "recommendations"): as a domain its home
    /// depends on which services the plan has.
    pub fn home_of(&self, key: &str) -> Option<&'static str> {
        if let Some(domain) = data_domain(key) {
            let present = domain
                .homes
                .iter()
                .find(|h| self.features.iter().any(|f| f == *h));
            return present.or(domain.homes.first()).copied();
        }
        feature(key)
            .or_else(|| feature_by_service(key))
            .map(|f| f.key)
    }

    /// Same as [`Self::home_of`], owned, for `&dyn Fn(&str) -> Option<String>` callers.
    pub fn lookup(&self, key: &str) -> Option<String> {
        self.home_of(key).map(str::to_string)
    }
}

/// Impact analysis reads homes through this trait.
impl crate::impact::DomainHomes for HomeMap {
    fn home_of(&self, domain: &str) -> Option<String> {
        self.lookup(domain)
    }
}

/// Sorts features so that every feature comes after the features it calls (stable: keeps
/// the given order otherwise). Unknown keys are dropped; duplicates removed.
pub fn order_features<S: AsRef<str>>(keys: &[S]) -> Vec<&'static Feature> {
    let mut pending: Vec<&'static Feature> = Vec::new();
    for k in keys {
        if let Some(f) = feature(k.as_ref()) {
            if !pending.iter().any(|p| p.key == f.key) {
                pending.push(f);
            }
        }
    }
    let mut ordered: Vec<&'static Feature> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|f| {
            f.calls.iter().all(|c| {
                ordered.iter().any(|o| o.key == *c) || !pending.iter().any(|p| p.key == *c)
            })
        });
        // The catalogue is acyclic (tested), so a ready feature always exists; the fallback
        // keeps this total anyway.
        let next = pending.remove(ready.unwrap_or(0));
        ordered.push(next);
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_points_at_a_catalogue_table() {
        for domain in DATA_DOMAINS {
            for t in domain.tables {
                for r in t.references() {
                    assert!(
                        table(r).is_some(),
                        "{}.{} references unknown {r}",
                        domain.key,
                        t.name
                    );
                }
                for group in t.uniques.iter().chain(t.indexes.iter()) {
                    for c in *group {
                        assert!(
                            t.column(c).is_some() || *c == "created_at",
                            "{}: index column {c} missing",
                            t.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_home_and_call_is_a_known_feature() {
        for d in DATA_DOMAINS {
            assert!(!d.homes.is_empty(), "{} has no home", d.key);
            for h in d.homes {
                assert!(feature(h).is_some(), "{}: unknown home {h}", d.key);
            }
            for c in d.companions {
                assert!(data_domain(c).is_some(), "{}: unknown companion {c}", d.key);
            }
        }
        for f in FEATURES {
            for c in f.talks_to() {
                assert!(feature(c).is_some(), "{}: unknown call {c}", f.key);
            }
            for o in f.owns {
                assert!(data_domain(o).is_some(), "{}: unknown domain {o}", f.key);
            }
        }
        for a in ARCHETYPES {
            for f in a.features {
                assert!(feature(f).is_some(), "{}: unknown feature {f}", a.key);
            }
        }
    }

    #[test]
    fn feature_calls_are_acyclic() {
        let all: Vec<&str> = FEATURES.iter().map(|f| f.key).collect();
        let ordered = order_features(&all);
        for (i, f) in ordered.iter().enumerate() {
            for c in f.calls {
                let pos = ordered.iter().position(|o| o.key == *c);
                assert!(
                    pos.is_some_and(|p| p < i),
                    "{} calls {c} which comes later",
                    f.key
                );
            }
        }
    }

    #[test]
    fn homes_follow_example_1_and_3() {
        let plan = HomeMap::new(&["auth", "catalog", "cart", "payment"]);
        assert_eq!(plan.home_of("users"), Some("auth"));
        assert_eq!(plan.home_of("sessions"), Some("auth"));
        assert_eq!(plan.home_of("products"), Some("catalog"));
        assert_eq!(plan.home_of("categories"), Some("catalog"));
        assert_eq!(plan.home_of("inventory"), Some("catalog"));
        assert_eq!(plan.home_of("recommendations"), Some("catalog"));
        assert_eq!(plan.home_of("carts"), Some("cart"));
        assert_eq!(plan.home_of("orders"), Some("payment"));
        assert_eq!(plan.home_of("payments"), Some("payment"));
        assert_eq!(plan.home_of("catalog"), Some("catalog"));
        assert_eq!(plan.home_of("auth-service"), Some("auth"));
        assert_eq!(plan.home_of("nonsense"), None);
        assert_eq!(plan.lookup("users").as_deref(), Some("auth"));
    }

    #[test]
    fn homes_move_when_the_owning_feature_exists() {
        let with_recs = HomeMap::new(&["auth", "catalog", "recommendations"]);
        assert_eq!(
            with_recs.home_of("recommendations"),
            Some("recommendations")
        );
        let with_orders = HomeMap::new(&["auth", "cart", "orders", "payment"]);
        assert_eq!(with_orders.home_of("orders"), Some("orders"));
        assert_eq!(home_of("orders"), Some("orders"));
        assert_eq!(home_of("users"), Some("auth"));
    }

    #[test]
    fn example_1_features_bring_eight_tables() {
        let domains = domains_of_features(&["auth", "catalog", "cart", "payment"]);
        assert_eq!(
            domains,
            [
                "users",
                "products",
                "categories",
                "carts",
                "orders",
                "payments"
            ]
        );
        assert_eq!(tables_of_domains(&domains).len(), 8);
    }

    #[test]
    fn order_features_puts_callees_first() {
        let ordered: Vec<&str> = order_features(&["payment", "cart", "catalog", "auth", "cart"])
            .iter()
            .map(|f| f.key)
            .collect();
        assert_eq!(ordered, ["catalog", "auth", "payment", "cart"]);
    }
}
