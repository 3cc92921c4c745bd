//! React frontend generator: the app shell (routes, header, store, error boundary) and the
//! screens of each feature, calling the services through `src/api/client.js`. Components are
//! listed in the order the design's three iterations produce them (structure, state, style).

use super::api::{owner_column, resource};
use super::FileDraft;
use crate::domains::{self, ColType, Feature, HomeMap, TableSpec};
use crate::engine::sanitize::quoted;
use crate::engine::text::{render, title_case};

/// One generated component file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiComponent {
    pub name: &'static str,
    pub path: String,
    /// Route it is mounted at, whether it needs a signed-in user, and its menu label.
    pub route: Option<(&'static str, bool, &'static str)>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    App,
    Header,
    Footer,
    ErrorBoundary,
    Spinner,
    Store,
    Login,
    Register,
    Protected,
    ProductList,
    ProductCard,
    ProductDetails,
    CategoryFilter,
    CartView,
    CartItem,
    Checkout,
    Payment,
    OrderConfirmation,
    SearchBar,
    SearchResults,
    ChatWindow,
    /// A list of a table's rows; rows link to the detail route when given.
    List(&'static str, Option<&'static str>),
    Detail(&'static str),
    Form(&'static str),
}

type Route = Option<(&'static str, bool, &'static str)>;

fn comp(name: &'static str, dir: &str, route: Route, kind: Kind) -> UiComponent {
    let path = match kind {
        Kind::App => "frontend/src/App.jsx".to_string(),
        Kind::Store => "frontend/src/store/StoreProvider.jsx".to_string(),
        _ => format!("frontend/src/components/{dir}/{name}.jsx"),
    };
    UiComponent {
        name,
        path,
        route,
        kind,
    }
}

fn feature_components(key: &str) -> Vec<UiComponent> {
    let r =
        |path: &'static str, protected: bool, label: &'static str| Some((path, protected, label));
    match key {
        "auth" => vec![
            comp("LoginForm", "auth", r("/login", false, ""), Kind::Login),
            comp(
                "RegisterForm",
                "auth",
                r("/register", false, ""),
                Kind::Register,
            ),
            comp("ProtectedRoute", "auth", None, Kind::Protected),
        ],
        "catalog" => vec![
            comp(
                "ProductList",
                "catalog",
                r("/products", false, "Products"),
                Kind::ProductList,
            ),
            comp("ProductCard", "catalog", None, Kind::ProductCard),
            comp(
                "ProductDetails",
                "catalog",
                r("/products/:id", false, ""),
                Kind::ProductDetails,
            ),
            comp("CategoryFilter", "catalog", None, Kind::CategoryFilter),
        ],
        "cart" => vec![
            comp("CartView", "cart", r("/cart", true, ""), Kind::CartView),
            comp("CartItem", "cart", None, Kind::CartItem),
        ],
        "payment" => vec![
            comp(
                "CheckoutForm",
                "checkout",
                r("/checkout", true, ""),
                Kind::Checkout,
            ),
            comp("PaymentForm", "checkout", None, Kind::Payment),
            comp(
                "OrderConfirmation",
                "checkout",
                r("/orders/:id/confirmation", true, ""),
                Kind::OrderConfirmation,
            ),
        ],
        "orders" => vec![comp(
            "OrderHistory",
            "orders",
            r("/orders", true, "Orders"),
            Kind::List("orders", None),
        )],
        "shipping" => vec![comp(
            "ShipmentTracker",
            "shipping",
            r("/shipments/:id", true, ""),
            Kind::Detail("shipments"),
        )],
        "reviews" => vec![
            comp(
                "ReviewList",
                "reviews",
                r("/reviews", false, "Reviews"),
                Kind::List("reviews", None),
            ),
            comp("ReviewForm", "reviews", None, Kind::Form("reviews")),
        ],
        "recommendations" => vec![comp(
            "RecommendedProducts",
            "recommendations",
            r("/recommendations", true, "For you"),
            Kind::List("recommendations", None),
        )],
        "search" => vec![
            comp("SearchBar", "search", None, Kind::SearchBar),
            comp(
                "SearchResults",
                "search",
                r("/search", false, ""),
                Kind::SearchResults,
            ),
        ],
        "notifications" => vec![comp(
            "NotificationCenter",
            "notifications",
            r("/notifications", true, "Notifications"),
            Kind::List("notifications", None),
        )],
        "analytics" => vec![comp(
            "AnalyticsDashboard",
            "analytics",
            r("/analytics", true, "Analytics"),
            Kind::List("analytics_events", None),
        )],
        "chat" => vec![
            comp(
                "ConversationList",
                "chat",
                r("/chat", true, "Chat"),
                Kind::List("conversations", Some("/chat")),
            ),
            comp(
                "ChatWindow",
                "chat",
                r("/chat/:id", true, ""),
                Kind::ChatWindow,
            ),
        ],
        "posts" => vec![
            comp(
                "PostFeed",
                "posts",
                r("/posts", false, "Posts"),
                Kind::List("posts", Some("/posts")),
            ),
            comp(
                "PostDetails",
                "posts",
                r("/posts/:id", false, ""),
                Kind::Detail("posts"),
            ),
            comp(
                "PostEditor",
                "posts",
                r("/posts/new", true, "Write"),
                Kind::Form("posts"),
            ),
        ],
        "comments" => vec![
            comp(
                "CommentThread",
                "comments",
                r("/comments", false, "Comments"),
                Kind::List("comments", None),
            ),
            comp("CommentForm", "comments", None, Kind::Form("comments")),
        ],
        "media" => vec![comp(
            "MediaUploader",
            "media",
            r("/media", true, "Media"),
            Kind::Form("media_assets"),
        )],
        _ => Vec::new(),
    }
}

/// Features in screen order (browse first, account and checkout last).
pub fn ui_order(features: &[&'static Feature]) -> Vec<&'static Feature> {
    let mut sorted = features.to_vec();
    sorted.sort_by_key(|f| f.ui_rank);
    sorted
}

/// The components generated for `features`; with `shell`, the app shell comes first.
pub fn components(features: &[&'static Feature], shell: bool) -> Vec<UiComponent> {
    let mut out = Vec::new();
    if shell {
        out.push(comp("App", "", None, Kind::App));
        out.push(comp("Header", "common", None, Kind::Header));
        out.push(comp("Footer", "common", None, Kind::Footer));
        out.push(comp("ErrorBoundary", "common", None, Kind::ErrorBoundary));
        out.push(comp("LoadingSpinner", "common", None, Kind::Spinner));
        out.push(comp("StoreProvider", "", None, Kind::Store));
    }
    for f in ui_order(features) {
        out.extend(feature_components(f.key));
    }
    out
}

/// How the frontend reaches the services of this system.
struct Ctx<'a> {
    features: &'a [&'static Feature],
    homes: HomeMap,
    title: String,
}

impl Ctx<'_> {
    fn has(&self, key: &str) -> bool {
        self.features.iter().any(|f| f.key == key)
    }

    /// `/api/<base>` of a feature, or of the home of a data domain / table.
    fn base(&self, key: &str) -> String {
        let home = domains::feature(key)
            .map(|f| f.key)
            .or_else(|| self.homes.home_of(key))
            .or_else(|| domains::domain_of_table(key).and_then(|d| self.homes.home_of(d.key)));
        let api = home.and_then(domains::feature).map_or(key, |f| f.api_base);
        format!("/api/{api}")
    }

    fn table_endpoint(&self, table: &TableSpec) -> String {
        format!("{}/{}", self.base(table.name), resource(table))
    }
}

/// Renders every component for `features` (all features of the system, for routing and
/// API homes); `only` restricts the output to those features' screens (ADD_FEATURE).
pub fn render_frontend(
    system: &str,
    features: &[&'static Feature],
    only: Option<&[&'static Feature]>,
) -> Vec<FileDraft> {
    let keys: Vec<&str> = features.iter().map(|f| f.key).collect();
    let ctx = Ctx {
        features,
        homes: HomeMap::new(&keys),
        title: crate::engine::text::display_title(system),
    };
    let list = match only {
        Some(subset) => components(subset, false),
        None => components(features, true),
    };
    let all = components(features, true);
    list.iter()
        .map(|c| {
            FileDraft::new(
                c.path.clone(),
                "javascript",
                render_component(c, &ctx, &all),
            )
        })
        .collect()
}

fn render_component(c: &UiComponent, ctx: &Ctx<'_>, all: &[UiComponent]) -> String {
    match c.kind {
        Kind::App => app(ctx, all),
        Kind::Header => header(ctx, all),
        Kind::Footer => render(FOOTER, &[("title", &quoted(&ctx.title))]),
        Kind::ErrorBoundary => ERROR_BOUNDARY.to_string(),
        Kind::Spinner => SPINNER.to_string(),
        Kind::Store => STORE.to_string(),
        Kind::Login => render(LOGIN, &[("auth", &ctx.base("auth"))]),
        Kind::Register => render(REGISTER, &[("auth", &ctx.base("auth"))]),
        Kind::Protected => PROTECTED.to_string(),
        Kind::ProductList => render(PRODUCT_LIST, &[("catalog", &ctx.base("catalog"))]),
        Kind::ProductCard => PRODUCT_CARD.to_string(),
        Kind::ProductDetails => {
            let add = if ctx.has("cart") {
                render(ADD_TO_CART, &[("cart", &ctx.base("cart"))])
            } else {
                String::new()
            };
            let button = if ctx.has("cart") {
                "      <button type=\"button\" className=\"button button--primary\" onClick={addToCart} disabled={item.stock_quantity === 0}>\n        {item.stock_quantity === 0 ? 'Out of stock' : 'Add to cart'}\n      </button>\n      {notice && <p role=\"status\">{notice}</p>}\n"
            } else {
                ""
            };
            let (store_import, hooks) = if ctx.has("cart") {
                (
                    "import { useStore, formatMoney } from '../../store/StoreProvider';",
                    "  const { dispatch } = useStore();\n  const [notice, setNotice] = useState(null);\n",
                )
            } else {
                (
                    "import { formatMoney } from '../../store/StoreProvider';",
                    "",
                )
            };
            render(
                PRODUCT_DETAILS,
                &[
                    ("catalog", &ctx.base("catalog")),
                    ("add_to_cart", &add),
                    ("button", button),
                    ("store_import", store_import),
                    ("hooks", hooks),
                ],
            )
        }
        Kind::CategoryFilter => render(CATEGORY_FILTER, &[("catalog", &ctx.base("catalog"))]),
        Kind::CartView => {
            let browse = if ctx.has("catalog") { "/products" } else { "/" };
            let checkout = if ctx.has("payment") {
                "<Link className=\"button button--primary\" to=\"/checkout\">Checkout</Link>"
            } else {
                ""
            };
            render(
                CART_VIEW,
                &[
                    ("cart", &ctx.base("cart")),
                    ("browse", browse),
                    ("checkout", checkout),
                ],
            )
        }
        Kind::CartItem => CART_ITEM.to_string(),
        Kind::Checkout => render(CHECKOUT, &[("payments", &ctx.base("payment"))]),
        Kind::Payment => PAYMENT.to_string(),
        Kind::OrderConfirmation => render(ORDER_CONFIRMATION, &[("orders", &ctx.base("orders"))]),
        Kind::SearchBar => SEARCH_BAR.to_string(),
        Kind::SearchResults => render(SEARCH_RESULTS, &[("search", &ctx.base("search"))]),
        Kind::ChatWindow => render(CHAT_WINDOW, &[("chat", &ctx.base("chat"))]),
        Kind::List(table, detail) => {
            domains::table(table).map_or_else(String::new, |t| list(c, t, detail, ctx))
        }
        Kind::Detail(table) => {
            domains::table(table).map_or_else(String::new, |t| detail(c, t, ctx))
        }
        Kind::Form(table) => domains::table(table).map_or_else(String::new, |t| form(c, t, ctx)),
    }
}

fn title_field(t: &TableSpec) -> &'static str {
    [
        "name",
        "title",
        "display_name",
        "query_text",
        "event_name",
        "carrier",
        "body",
        "product_id",
    ]
    .into_iter()
    .find(|c| t.column(c).is_some())
    .unwrap_or("id")
}

fn app(ctx: &Ctx<'_>, all: &[UiComponent]) -> String {
    let protect = ctx.has("auth");
    let mut imports = Vec::new();
    let mut routes = Vec::new();
    for c in all.iter().filter(|c| c.route.is_some()) {
        let dir = c
            .path
            .trim_start_matches("frontend/src/")
            .trim_end_matches(".jsx");
        imports.push(format!("const {} = lazy(() => import('./{dir}'));", c.name));
        if let Some((path, needs_user, _)) = c.route {
            let element = if needs_user && protect {
                format!("<ProtectedRoute><{} /></ProtectedRoute>", c.name)
            } else {
                format!("<{} />", c.name)
            };
            routes.push(format!(
                "                <Route path=\"{path}\" element={{{element}}} />"
            ));
        }
    }
    let home = all
        .iter()
        .find(|c| {
            c.route
                .is_some_and(|(p, _, label)| !label.is_empty() && !p.contains(':'))
        })
        .map_or_else(
            || {
                format!(
                    "<p className=\"app-empty\">Welcome to {{{}}}.</p>",
                    quoted(&ctx.title)
                )
            },
            |c| format!("<{} />", c.name),
        );
    routes.insert(
        0,
        format!("                <Route path=\"/\" element={{{home}}} />"),
    );
    let protected_import = if protect {
        "import ProtectedRoute from './components/auth/ProtectedRoute';\n"
    } else {
        ""
    };
    render(
        APP,
        &[
            ("protected_import", protected_import),
            ("imports", &imports.join("\n")),
            ("routes", &routes.join("\n")),
        ],
    )
}

fn header(ctx: &Ctx<'_>, all: &[UiComponent]) -> String {
    let links: Vec<String> = all
        .iter()
        .filter_map(|c| c.route)
        .filter(|(path, _, label)| !label.is_empty() && !path.contains(':'))
        .map(|(path, _, label)| format!("  {{ to: '{path}', label: '{label}' }},"))
        .collect();
    let mut account = Vec::new();
    if ctx.has("search") {
        account.push("        <SearchBar />".to_string());
    }
    if ctx.has("cart") {
        account.push(
            "        <NavLink to=\"/cart\" className=\"header__cart\">\n          Cart ({state.cart.items.reduce((n, item) => n + item.quantity, 0)})\n        </NavLink>"
                .to_string(),
        );
    }
    if ctx.has("auth") {
        account.push(
            "        {state.user ? (\n          <>\n            <span className=\"header__user\">{state.user.email}</span>\n            <button type=\"button\" className=\"button button--link\" onClick={logout}>Sign out</button>\n          </>\n        ) : (\n          <NavLink to=\"/login\">Sign in</NavLink>\n        )}"
                .to_string(),
        );
    }
    let uses_store = ctx.has("cart") || ctx.has("auth");
    let hooks = match (uses_store, ctx.has("auth")) {
        (_, true) => "  const { state, dispatch } = useStore();\n  const navigate = useNavigate();\n  const logout = () => {\n    dispatch({ type: 'logout' });\n    navigate('/');\n  };\n",
        (true, false) => "  const { state } = useStore();\n",
        (false, false) => "",
    };
    let mut imports = String::from(if ctx.has("auth") {
        "import { NavLink, useNavigate } from 'react-router-dom';\n"
    } else {
        "import { NavLink } from 'react-router-dom';\n"
    });
    if uses_store {
        imports.push_str("import { useStore } from '../../store/StoreProvider';\n");
    }
    if ctx.has("search") {
        imports.push_str("import SearchBar from '../search/SearchBar';\n");
    }
    render(
        HEADER,
        &[
            ("imports", &imports),
            ("links", &links.join("\n")),
            ("hooks", hooks),
            ("title", &quoted(&ctx.title)),
            ("account", &account.join("\n")),
        ],
    )
}

fn list(c: &UiComponent, t: &TableSpec, detail: Option<&str>, ctx: &Ctx<'_>) -> String {
    let field = title_field(t);
    let item = match detail {
        Some(route) => format!(
            "<Link to={{`{route}/${{item.id}}`}}>{{String(item.{field} ?? item.id)}}</Link>"
        ),
        None => {
            format!("<span className=\"list__title\">{{String(item.{field} ?? item.id)}}</span>")
        }
    };
    let link_import = if detail.is_some() {
        "import { Link } from 'react-router-dom';\n"
    } else {
        ""
    };
    let noun = t.name.replace('_', " ");
    render(
        LIST,
        &[
            ("name", c.name),
            ("link_import", link_import),
            ("endpoint", &ctx.table_endpoint(t)),
            ("noun", &noun),
            ("title", &title_case(&noun)),
            ("item", &item),
            ("about", t.about),
        ],
    )
}

fn detail(c: &UiComponent, t: &TableSpec, ctx: &Ctx<'_>) -> String {
    let field = title_field(t);
    let rows: Vec<String> = t
        .columns
        .iter()
        .filter(|col| col.name != field && !matches!(col.ty, ColType::Ref(_) | ColType::Json))
        .map(|col| {
            let value = match col.ty {
                ColType::Money => format!("formatMoney(item.{})", col.name),
                ColType::Bool => format!("item.{} ? 'Yes' : 'No'", col.name),
                _ => format!("String(item.{} ?? '—')", col.name),
            };
            format!(
                "        <dt>{}</dt>\n        <dd>{{{value}}}</dd>",
                title_case(col.name)
            )
        })
        .collect();
    let money_import = if t.columns.iter().any(|col| col.ty == ColType::Money) {
        "import { formatMoney } from '../../store/StoreProvider';\n"
    } else {
        ""
    };
    render(
        DETAIL,
        &[
            ("name", c.name),
            ("money_import", money_import),
            ("endpoint", &ctx.table_endpoint(t)),
            ("field", field),
            ("rows", &rows.join("\n")),
            ("about", t.about),
        ],
    )
}

fn form(c: &UiComponent, t: &TableSpec, ctx: &Ctx<'_>) -> String {
    let owner = owner_column(t);
    let editable: Vec<_> = t
        .columns
        .iter()
        .filter(|col| Some(col.name) != owner && col.default.is_none())
        .filter(|col| !matches!(col.ty, ColType::Json | ColType::Timestamp | ColType::Bool))
        .collect();
    let props: Vec<String> = editable
        .iter()
        .filter_map(|col| match col.ty {
            ColType::Ref(_) => Some(crate::engine::text::camel_case(col.name)),
            _ => None,
        })
        .collect();
    let inputs: Vec<_> = editable
        .iter()
        .filter(|col| !matches!(col.ty, ColType::Ref(_)))
        .collect();
    let initial: Vec<String> = inputs
        .iter()
        .map(|col| format!("{}: ''", col.name))
        .collect();
    let fields: Vec<String> = inputs
        .iter()
        .map(|col| {
            let required = if col.required_on_create() { " required" } else { "" };
            let control = match col.ty {
                ColType::Text => format!(
                    "<textarea name=\"{0}\"{required} rows={{6}} value={{form.{0}}} onChange={{update}} />",
                    col.name
                ),
                ColType::Int | ColType::BigInt | ColType::Money | ColType::Decimal(..) => format!(
                    "<input name=\"{0}\" type=\"number\"{required} value={{form.{0}}} onChange={{update}} />",
                    col.name
                ),
                _ => format!(
                    "<input name=\"{0}\"{required} value={{form.{0}}} onChange={{update}} />",
                    col.name
                ),
            };
            format!(
                "      <label className=\"form__field\">\n        {}\n        {control}\n      </label>",
                title_case(col.name)
            )
        })
        .collect();
    let numeric: Vec<String> = inputs
        .iter()
        .filter(|col| {
            matches!(
                col.ty,
                ColType::Int | ColType::BigInt | ColType::Money | ColType::Decimal(..)
            )
        })
        .map(|col| format!("{0}: Number(form.{0})", col.name))
        .collect();
    let refs: Vec<String> = editable
        .iter()
        .filter(|col| matches!(col.ty, ColType::Ref(_)))
        .map(|col| {
            format!(
                "{}: {}",
                col.name,
                crate::engine::text::camel_case(col.name)
            )
        })
        .collect();
    let mut payload = vec!["...form".to_string()];
    payload.extend(numeric);
    payload.extend(refs);
    let mut prop_list = props.clone();
    prop_list.push("onCreated".to_string());
    let noun = t.singular.replace('_', " ");
    render(
        FORM,
        &[
            ("name", c.name),
            ("props", &prop_list.join(", ")),
            ("initial", &format!("{{ {} }}", initial.join(", "))),
            ("endpoint", &ctx.table_endpoint(t)),
            ("payload", &format!("{{ {} }}", payload.join(", "))),
            ("fields", &fields.join("\n")),
            ("title", &format!("New {noun}")),
            ("about", t.about),
        ],
    )
}

const APP: &str = r#"// App shell: providers, routes (code-split per screen) and the page frame.
import React, { Suspense, lazy } from 'react';
import { BrowserRouter, Routes, Route } from 'react-router-dom';
import { StoreProvider } from './store/StoreProvider';
import ErrorBoundary from './components/common/ErrorBoundary';
import Header from './components/common/Header';
import Footer from './components/common/Footer';
import LoadingSpinner from './components/common/LoadingSpinner';
{{protected_import}}
{{imports}}

export default function App() {
  return (
    <StoreProvider>
      <BrowserRouter>
        <Header />
        <main className="app-main">
          <ErrorBoundary>
            <Suspense fallback={<LoadingSpinner />}>
              <Routes>
{{routes}}
                <Route path="*" element={<p className="app-empty">Page not found.</p>} />
              </Routes>
            </Suspense>
          </ErrorBoundary>
        </main>
        <Footer />
      </BrowserRouter>
    </StoreProvider>
  );
}
"#;

const HEADER: &str = r#"// Site header: brand, main navigation and the account area.
import React from 'react';
{{imports}}
const LINKS = [
{{links}}
];

export default function Header() {
{{hooks}}  return (
    <header className="header">
      <NavLink to="/" className="header__brand">{{{title}}}</NavLink>
      <nav className="header__nav" aria-label="Main">
        {LINKS.map((link) => (
          <NavLink
            key={link.to}
            to={link.to}
            className={({ isActive }) => (isActive ? 'header__link header__link--active' : 'header__link')}
          >
            {link.label}
          </NavLink>
        ))}
      </nav>
      <div className="header__account">
{{account}}
      </div>
    </header>
  );
}
"#;

const FOOTER: &str = r#"// Site footer.
import React from 'react';

export default function Footer() {
  return (
    <footer className="footer">
      <p>
        © {new Date().getFullYear()} {{{title}}}
      </p>
    </footer>
  );
}
"#;

const ERROR_BOUNDARY: &str = r#"// Catches rendering errors of a screen so the rest of the app keeps working.
import React from 'react';

export default class ErrorBoundary extends React.Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  componentDidCatch(error, info) {
    console.error('Screen crashed', error, info.componentStack);
  }

  render() {
    if (this.state.error) {
      return (
        <div className="error-boundary" role="alert">
          <h2>Something went wrong.</h2>
          <button type="button" className="button" onClick={() => this.setState({ error: null })}>
            Try again
          </button>
        </div>
      );
    }
    return this.props.children;
  }
}
"#;

const SPINNER: &str = r#"// Accessible loading indicator.
import React from 'react';

function LoadingSpinner({ label = 'Loading…' }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner__circle" aria-hidden="true" />
      <span className="spinner__label">{label}</span>
    </div>
  );
}

export default React.memo(LoadingSpinner);
"#;

const STORE: &str = r#"// Application state: signed-in user, token, cart and notices, shared through context.
import React, { createContext, useContext, useEffect, useMemo, useReducer } from 'react';
import { setToken } from '../api/client';

const StoreContext = createContext(null);
const TOKEN_KEY = 'app.token';

const initialState = {
  user: null,
  // sessionStorage: the token dies with the tab, and is never sent to third parties.
  token: typeof sessionStorage === 'undefined' ? null : sessionStorage.getItem(TOKEN_KEY),
  cart: { items: [], totalCents: 0 },
  notice: null,
};

function reducer(state, action) {
  switch (action.type) {
    case 'login':
      return { ...state, user: action.user, token: action.token };
    case 'logout':
      return { ...initialState, token: null };
    case 'setCart':
      return { ...state, cart: action.cart };
    case 'notify':
      return { ...state, notice: action.notice };
    default:
      return state;
  }
}

export function StoreProvider({ children }) {
  const [state, dispatch] = useReducer(reducer, initialState);
  useEffect(() => {
    setToken(state.token);
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
  }, [state.token]);
  const value = useMemo(() => ({ state, dispatch }), [state]);
  return <StoreContext.Provider value={value}>{children}</StoreContext.Provider>;
}

export function useStore() {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStore must be used inside <StoreProvider>');
  return store;
}

export const formatMoney = (cents, currency = 'USD') =>
  new Intl.NumberFormat(undefined, { style: 'currency', currency }).format((Number(cents) || 0) / 100);
"#;

const LOGIN: &str = r#"// Sign-in form; returns the user to the page that asked for it.
import React, { useState } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { api } from '../../api/client';
import { useStore } from '../../store/StoreProvider';

export default function LoginForm() {
  const { dispatch } = useStore();
  const navigate = useNavigate();
  const location = useLocation();
  const [form, setForm] = useState({ email: '', password: '' });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const update = (e) => setForm({ ...form, [e.target.name]: e.target.value });

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { user, token } = await api.post('{{auth}}/login', form);
      dispatch({ type: 'login', user, token });
      navigate(location.state?.from || '/', { replace: true });
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      {error && <p className="form__error" role="alert">{error}</p>}
      <label className="form__field">
        Email
        <input name="email" type="email" autoComplete="email" required value={form.email} onChange={update} />
      </label>
      <label className="form__field">
        Password
        <input name="password" type="password" autoComplete="current-password" required minLength={8} value={form.password} onChange={update} />
      </label>
      <button type="submit" className="button button--primary" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <p className="form__hint">
        No account? <Link to="/register">Create one</Link>
      </p>
    </form>
  );
}
"#;

const REGISTER: &str = r#"// Registration form with client-side checks matching the auth service's rules.
import React, { useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api } from '../../api/client';
import { useStore } from '../../store/StoreProvider';

export default function RegisterForm() {
  const { dispatch } = useStore();
  const navigate = useNavigate();
  const [form, setForm] = useState({ email: '', password: '', displayName: '' });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const update = (e) => setForm({ ...form, [e.target.name]: e.target.value });

  async function submit(e) {
    e.preventDefault();
    if (form.password.length < 8) {
      setError('Passwords need at least 8 characters');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { user, token } = await api.post('{{auth}}/register', form);
      dispatch({ type: 'login', user, token });
      navigate('/', { replace: true });
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} aria-labelledby="register-title">
      <h1 id="register-title">Create an account</h1>
      {error && <p className="form__error" role="alert">{error}</p>}
      <label className="form__field">
        Name
        <input name="displayName" autoComplete="name" value={form.displayName} onChange={update} />
      </label>
      <label className="form__field">
        Email
        <input name="email" type="email" autoComplete="email" required value={form.email} onChange={update} />
      </label>
      <label className="form__field">
        Password
        <input name="password" type="password" autoComplete="new-password" required minLength={8} value={form.password} onChange={update} />
      </label>
      <button type="submit" className="button button--primary" disabled={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </button>
      <p className="form__hint">
        Already registered? <Link to="/login">Sign in</Link>
      </p>
    </form>
  );
}
"#;

const PROTECTED: &str = r#"// Sends visitors without a session to the sign-in page and back afterwards.
import React from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { useStore } from '../../store/StoreProvider';

export default function ProtectedRoute({ children }) {
  const { state } = useStore();
  const location = useLocation();
  if (!state.token) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return <>{children}</>;
}
"#;

const PRODUCT_LIST: &str = r#"// Product grid with category filter.
import React, { useEffect, useMemo, useState } from 'react';
import { api } from '../../api/client';
import LoadingSpinner from '../common/LoadingSpinner';
import CategoryFilter from './CategoryFilter';
import ProductCard from './ProductCard';

export default function ProductList() {
  const [items, setItems] = useState([]);
  const [category, setCategory] = useState(null);
  const [status, setStatus] = useState('loading');
  const [error, setError] = useState(null);

  useEffect(() => {
    let cancelled = false;
    api
      .get('{{catalog}}/products?limit=60')
      .then((data) => {
        if (cancelled) return;
        setItems(data.items || []);
        setStatus('ready');
      })
      .catch((err) => {
        if (cancelled) return;
        setError(err.message);
        setStatus('error');
      });
    return () => {
      cancelled = true;
    };
  }, []);

  const visible = useMemo(
    () => (category ? items.filter((p) => p.category_id === category) : items),
    [items, category],
  );

  if (status === 'loading') return <LoadingSpinner label="Loading products…" />;
  if (status === 'error') return <p className="list__error" role="alert">{error}</p>;
  return (
    <section className="products" aria-label="Products">
      <h1>Products</h1>
      <CategoryFilter selected={category} onSelect={setCategory} />
      {visible.length === 0 ? (
        <p className="list__empty">No products in this category.</p>
      ) : (
        <div className="products__grid">
          {visible.map((product) => (
            <ProductCard key={product.id} item={product} />
          ))}
        </div>
      )}
    </section>
  );
}
"#;

const PRODUCT_CARD: &str = r#"// One product in a grid; memoised because grids re-render on every filter change.
import React from 'react';
import { Link } from 'react-router-dom';
import { formatMoney } from '../../store/StoreProvider';

function ProductCard({ item }) {
  return (
    <article className="card">
      {item.image_url && <img className="card__image" src={item.image_url} alt="" loading="lazy" />}
      <h3 className="card__title">
        <Link to={`/products/${item.id}`}>{item.name}</Link>
      </h3>
      <p className="card__price">{formatMoney(item.price_cents, item.currency)}</p>
      {item.stock_quantity === 0 && <p className="card__badge">Out of stock</p>}
    </article>
  );
}

export default React.memo(ProductCard);
"#;

const ADD_TO_CART: &str = r#"
  async function addToCart() {
    try {
      const cart = await api.post('{{cart}}/cart/items', { productId: item.id, quantity: 1 });
      dispatch({ type: 'setCart', cart });
      setNotice('Added to your cart');
    } catch (err) {
      setNotice(err.message);
    }
  }
"#;

const PRODUCT_DETAILS: &str = r#"// Product page.
import React, { useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { api } from '../../api/client';
{{store_import}}
import LoadingSpinner from '../common/LoadingSpinner';

export default function ProductDetails() {
  const { id } = useParams();
  const [item, setItem] = useState(null);
  const [error, setError] = useState(null);
{{hooks}}
  useEffect(() => {
    let cancelled = false;
    api
      .get(`{{catalog}}/products/${encodeURIComponent(id)}`)
      .then((data) => !cancelled && setItem(data))
      .catch((err) => !cancelled && setError(err.message));
    return () => {
      cancelled = true;
    };
  }, [id]);
{{add_to_cart}}
  if (error) return <p className="detail__error" role="alert">{error}</p>;
  if (!item) return <LoadingSpinner label="Loading product…" />;
  return (
    <article className="detail product">
      {item.image_url && <img className="product__image" src={item.image_url} alt={item.name} />}
      <h1>{item.name}</h1>
      <p className="product__price">{formatMoney(item.price_cents, item.currency)}</p>
      <p className="product__description">{item.description}</p>
{{button}}    </article>
  );
}
"#;

const CATEGORY_FILTER: &str = r#"// Category chips; "All" clears the filter.
import React, { useEffect, useState } from 'react';
import { api } from '../../api/client';

export default function CategoryFilter({ selected, onSelect }) {
  const [categories, setCategories] = useState([]);

  useEffect(() => {
    api
      .get('{{catalog}}/categories')
      .then((data) => setCategories(data.items || []))
      .catch(() => setCategories([]));
  }, []);

  return (
    <nav className="category-filter" aria-label="Categories">
      <button type="button" className={selected ? 'chip' : 'chip chip--active'} onClick={() => onSelect(null)}>
        All
      </button>
      {categories.map((category) => (
        <button
          key={category.id}
          type="button"
          className={selected === category.id ? 'chip chip--active' : 'chip'}
          onClick={() => onSelect(category.id)}
        >
          {category.name}
        </button>
      ))}
    </nav>
  );
}
"#;

const CART_VIEW: &str = r#"// The shopping cart: quantities, removal, total and the way to checkout.
import React, { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../../api/client';
import { useStore, formatMoney } from '../../store/StoreProvider';
import LoadingSpinner from '../common/LoadingSpinner';
import CartItem from './CartItem';

export default function CartView() {
  const { state, dispatch } = useStore();
  const [status, setStatus] = useState('loading');
  const [error, setError] = useState(null);

  useEffect(() => {
    api
      .get('{{cart}}/cart')
      .then((cart) => {
        dispatch({ type: 'setCart', cart });
        setStatus('ready');
      })
      .catch((err) => {
        setError(err.message);
        setStatus('error');
      });
  }, [dispatch]);

  const change = useCallback(
    async (itemId, quantity) => {
      try {
        const cart = await api.patch(`{{cart}}/cart/items/${itemId}`, { quantity });
        dispatch({ type: 'setCart', cart });
      } catch (err) {
        setError(err.message);
      }
    },
    [dispatch],
  );

  if (status === 'loading') return <LoadingSpinner label="Loading your cart…" />;
  const { items, totalCents } = state.cart;
  return (
    <section className="cart" aria-label="Shopping cart">
      <h1>Your cart</h1>
      {error && <p className="cart__error" role="alert">{error}</p>}
      {items.length === 0 ? (
        <p>
          Your cart is empty. <Link to="{{browse}}">Keep browsing</Link>
        </p>
      ) : (
        <>
          <ul className="cart__items">
            {items.map((item) => (
              <CartItem key={item.id} item={item} onChange={change} />
            ))}
          </ul>
          <p className="cart__total">Total: {formatMoney(totalCents)}</p>
          {{checkout}}
        </>
      )}
    </section>
  );
}
"#;

const CART_ITEM: &str = r#"// One cart line; quantity 0 removes it.
import React from 'react';
import { formatMoney } from '../../store/StoreProvider';

function CartItem({ item, onChange }) {
  return (
    <li className="cart-item">
      <span className="cart-item__name">Product #{item.product_id}</span>
      <label className="cart-item__quantity">
        Qty
        <input
          type="number"
          min="0"
          max="100"
          value={item.quantity}
          onChange={(e) => onChange(item.id, Number(e.target.value))}
        />
      </label>
      <span className="cart-item__price">{formatMoney(item.unit_price_cents * item.quantity)}</span>
      <button type="button" className="button button--link" onClick={() => onChange(item.id, 0)} aria-label="Remove item">
        Remove
      </button>
    </li>
  );
}

export default React.memo(CartItem);
"#;

const CHECKOUT: &str = r#"// Checkout: shipping address, then payment for the placed order.
import React, { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api } from '../../api/client';
import { useStore, formatMoney } from '../../store/StoreProvider';
import PaymentForm from './PaymentForm';

export default function CheckoutForm() {
  const { state, dispatch } = useStore();
  const navigate = useNavigate();
  const [address, setAddress] = useState({ line1: '', city: '', postalCode: '', country: '' });
  const [placed, setPlaced] = useState(null);
  const [error, setError] = useState(null);
  const update = (e) => setAddress({ ...address, [e.target.name]: e.target.value });

  async function placeOrder(e) {
    e.preventDefault();
    setError(null);
    try {
      setPlaced(await api.post('{{payments}}/checkout', { currency: 'USD', shippingAddress: address }));
    } catch (err) {
      setError(err.message);
    }
  }

  function paid() {
    dispatch({ type: 'setCart', cart: { items: [], totalCents: 0 } });
    navigate(`/orders/${placed.order.id}/confirmation`);
  }

  if (placed) {
    return <PaymentForm clientSecret={placed.clientSecret} amountCents={placed.order.total_cents} onPaid={paid} />;
  }
  return (
    <form className="form checkout" onSubmit={placeOrder}>
      <h1>Checkout</h1>
      <p>Order total: {formatMoney(state.cart.totalCents)}</p>
      {error && <p className="form__error" role="alert">{error}</p>}
      <label className="form__field">
        Address
        <input name="line1" required autoComplete="address-line1" value={address.line1} onChange={update} />
      </label>
      <label className="form__field">
        City
        <input name="city" required autoComplete="address-level2" value={address.city} onChange={update} />
      </label>
      <label className="form__field">
        Postal code
        <input name="postalCode" required autoComplete="postal-code" value={address.postalCode} onChange={update} />
      </label>
      <label className="form__field">
        Country
        <input name="country" required autoComplete="country" value={address.country} onChange={update} />
      </label>
      <button type="submit" className="button button--primary">
        Continue to payment
      </button>
    </form>
  );
}
"#;

const PAYMENT: &str = r#"// Card payment with Stripe Elements: card data goes to Stripe, never to our servers.
import React, { useState } from 'react';
import { loadStripe } from '@stripe/stripe-js';
import { Elements, PaymentElement, useElements, useStripe } from '@stripe/react-stripe-js';
import { formatMoney } from '../../store/StoreProvider';

const stripePromise = loadStripe(process.env.REACT_APP_STRIPE_PUBLISHABLE_KEY || 'pk_test_replace_me');

function PayButton({ amountCents, onPaid }) {
  const stripe = useStripe();
  const elements = useElements();
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function pay(e) {
    e.preventDefault();
    if (!stripe || !elements) return;
    setBusy(true);
    const result = await stripe.confirmPayment({ elements, redirect: 'if_required' });
    setBusy(false);
    if (result.error) setError(result.error.message);
    else onPaid();
  }

  return (
    <form className="form payment" onSubmit={pay}>
      <PaymentElement />
      {error && <p className="form__error" role="alert">{error}</p>}
      <button type="submit" className="button button--primary" disabled={!stripe || busy}>
        {busy ? 'Paying…' : `Pay ${formatMoney(amountCents)}`}
      </button>
    </form>
  );
}

export default function PaymentForm({ clientSecret, amountCents, onPaid }) {
  return (
    <Elements stripe={stripePromise} options={{ clientSecret }}>
      <PayButton amountCents={amountCents} onPaid={onPaid} />
    </Elements>
  );
}
"#;

const ORDER_CONFIRMATION: &str = r#"// Order confirmation after a successful payment.
import React, { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api } from '../../api/client';
import { formatMoney } from '../../store/StoreProvider';
import LoadingSpinner from '../common/LoadingSpinner';

export default function OrderConfirmation() {
  const { id } = useParams();
  const [order, setOrder] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    api
      .get(`{{orders}}/orders/${encodeURIComponent(id)}`)
      .then(setOrder)
      .catch((err) => setError(err.message));
  }, [id]);

  if (error) return <p role="alert">{error}</p>;
  if (!order) return <LoadingSpinner label="Loading your order…" />;
  return (
    <section className="confirmation">
      <h1>Thank you!</h1>
      <p>
        Order #{order.id} is {order.status}.
      </p>
      <ul className="confirmation__items">
        {(order.items || []).map((line) => (
          <li key={line.id}>
            {line.quantity} × {line.product_name} — {formatMoney(line.unit_price_cents * line.quantity, order.currency)}
          </li>
        ))}
      </ul>
      <p className="confirmation__total">Total: {formatMoney(order.total_cents, order.currency)}</p>
      <Link to="/">Continue shopping</Link>
    </section>
  );
}
"#;

const SEARCH_BAR: &str = r#"// Search box in the header; results live at /search?q=...
import React, { useState } from 'react';
import { useNavigate } from 'react-router-dom';

export default function SearchBar() {
  const navigate = useNavigate();
  const [text, setText] = useState('');

  function submit(e) {
    e.preventDefault();
    const q = text.trim();
    if (q.length >= 2) navigate(`/search?q=${encodeURIComponent(q)}`);
  }

  return (
    <form className="search-bar" role="search" onSubmit={submit}>
      <input aria-label="Search" placeholder="Search…" value={text} onChange={(e) => setText(e.target.value)} minLength={2} />
      <button type="submit" className="button">Search</button>
    </form>
  );
}
"#;

const SEARCH_RESULTS: &str = r#"// Search results grouped by source; a source that is down is shown as unavailable.
import React, { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { api } from '../../api/client';
import LoadingSpinner from '../common/LoadingSpinner';

export default function SearchResults() {
  const [params] = useSearchParams();
  const q = params.get('q') || '';
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    if (q.trim().length < 2) return;
    setResult(null);
    api
      .get(`{{search}}/search?q=${encodeURIComponent(q)}`)
      .then(setResult)
      .catch((err) => setError(err.message));
  }, [q]);

  if (q.trim().length < 2) return <p>Type at least 2 characters to search.</p>;
  if (error) return <p role="alert">{error}</p>;
  if (!result) return <LoadingSpinner label="Searching…" />;
  return (
    <section className="search-results" aria-label="Search results">
      <h1>
        {result.total} results for “{q}”
      </h1>
      {result.results.map((group) => (
        <div key={group.source} className="search-results__group">
          <h2>{group.source}</h2>
          {!group.available && <p className="search-results__down">This source is unavailable right now.</p>}
          <ul>
            {group.items.map((item) => (
              <li key={item.id}>{item.name || item.title}</li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}
"#;

const CHAT_WINDOW: &str = r#"// One conversation: history (polled every 5 s) and the message box.
import React, { useCallback, useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { api } from '../../api/client';
import { useStore } from '../../store/StoreProvider';

export default function ChatWindow() {
  const { id } = useParams();
  const { state } = useStore();
  const [messages, setMessages] = useState([]);
  const [text, setText] = useState('');
  const [error, setError] = useState(null);

  const load = useCallback(() => {
    api
      .get(`{{chat}}/conversations/${encodeURIComponent(id)}/messages?limit=100`)
      .then((data) => setMessages((data.items || []).slice().reverse()))
      .catch((err) => setError(err.message));
  }, [id]);

  useEffect(() => {
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [load]);

  async function send(e) {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    try {
      const message = await api.post(`{{chat}}/conversations/${encodeURIComponent(id)}/messages`, { body });
      setMessages((current) => [...current, message]);
      setText('');
    } catch (err) {
      setError(err.message);
    }
  }

  return (
    <section className="chat" aria-label="Conversation">
      {error && <p role="alert">{error}</p>}
      <ol className="chat__messages">
        {messages.map((m) => (
          <li key={m.id} className={m.sender_id === state.user?.id ? 'chat__message chat__message--mine' : 'chat__message'}>
            {m.body}
          </li>
        ))}
      </ol>
      <form className="chat__composer" onSubmit={send}>
        <input aria-label="Message" value={text} maxLength={4000} onChange={(e) => setText(e.target.value)} />
        <button type="submit" className="button button--primary">Send</button>
      </form>
    </section>
  );
}
"#;

const LIST: &str = r#"// {{name}}: {{about}}
import React, { useEffect, useState } from 'react';
{{link_import}}import { api } from '../../api/client';
import LoadingSpinner from '../common/LoadingSpinner';

export default function {{name}}() {
  const [items, setItems] = useState([]);
  const [status, setStatus] = useState('loading');
  const [error, setError] = useState(null);

  useEffect(() => {
    let cancelled = false;
    api
      .get('{{endpoint}}')
      .then((data) => {
        if (cancelled) return;
        setItems(data.items || []);
        setStatus('ready');
      })
      .catch((err) => {
        if (cancelled) return;
        setError(err.message);
        setStatus('error');
      });
    return () => {
      cancelled = true;
    };
  }, []);

  if (status === 'loading') return <LoadingSpinner label="Loading {{noun}}…" />;
  if (status === 'error') return <p className="list__error" role="alert">{error}</p>;
  if (items.length === 0) return <p className="list__empty">No {{noun}} yet.</p>;
  return (
    <section className="list" aria-label="{{title}}">
      <h1>{{title}}</h1>
      <ul className="list__items">
        {items.map((item, index) => (
          <li key={item.id || index} className="list__item">
            {{item}}
          </li>
        ))}
      </ul>
    </section>
  );
}
"#;

const DETAIL: &str = r#"// {{name}}: {{about}}
import React, { useEffect, useState } from 'react';
import { useParams } from 'react-router-dom';
import { api } from '../../api/client';
{{money_import}}import LoadingSpinner from '../common/LoadingSpinner';

export default function {{name}}() {
  const { id } = useParams();
  const [item, setItem] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    let cancelled = false;
    api
      .get(`{{endpoint}}/${encodeURIComponent(id)}`)
      .then((data) => !cancelled && setItem(data))
      .catch((err) => !cancelled && setError(err.message));
    return () => {
      cancelled = true;
    };
  }, [id]);

  if (error) return <p className="detail__error" role="alert">{error}</p>;
  if (!item) return <LoadingSpinner label="Loading…" />;
  return (
    <article className="detail">
      <h1>{String(item.{{field}} ?? item.id)}</h1>
      <dl className="detail__fields">
{{rows}}
      </dl>
    </article>
  );
}
"#;

const FORM: &str = r#"// {{name}}: {{about}}
import React, { useState } from 'react';
import { api } from '../../api/client';

const EMPTY = {{initial}};

export default function {{name}}({ {{props}} }) {
  const [form, setForm] = useState(EMPTY);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const update = (e) => setForm({ ...form, [e.target.name]: e.target.value });

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api.post('{{endpoint}}', {{payload}});
      setForm(EMPTY);
      if (onCreated) onCreated(created);
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit}>
      <h2>{{title}}</h2>
      {error && <p className="form__error" role="alert">{error}</p>}
{{fields}}
      <button type="submit" className="button button--primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save'}
      </button>
    </form>
  );
}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::order_features;

    fn example_1() -> Vec<&'static Feature> {
        order_features(&["auth", "catalog", "cart", "payment"])
    }

    #[test]
    fn example_1_has_eighteen_components() {
        let files = render_frontend("e-commerce", &example_1(), None);
        assert_eq!(files.len(), 18);
        let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), 18, "paths are unique");
        assert!(
            files
                .iter()
                .all(|f| !crate::engine::templates::has_placeholder(&f.content)),
            "no unrendered placeholder"
        );
    }

    #[test]
    fn app_routes_every_screen_and_protects_the_cart() {
        let files = render_frontend("e-commerce", &example_1(), None);
        let app = &files[0].content;
        assert!(app.contains(
            "<Route path=\"/cart\" element={<ProtectedRoute><CartView /></ProtectedRoute>} />"
        ));
        assert!(app.contains("<Route path=\"/\" element={<ProductList />} />"));
        assert!(app.contains("import('./components/catalog/ProductDetails')"));
    }

    #[test]
    fn endpoints_follow_the_homes_of_tables() {
        let files = render_frontend(
            "shop",
            &order_features(&["auth", "catalog", "cart", "payment", "orders"]),
            None,
        );
        let history = files
            .iter()
            .find(|f| f.path.ends_with("OrderHistory.jsx"))
            .expect("order history");
        assert!(
            history.content.contains("'/api/orders/orders'"),
            "orders live in the order service"
        );
        let blog = render_frontend(
            "blog",
            &order_features(&["auth", "posts", "comments"]),
            None,
        );
        let form = blog
            .iter()
            .find(|f| f.path.ends_with("CommentForm.jsx"))
            .expect("comment form");
        assert!(form
            .content
            .contains("export default function CommentForm({ postId, parentId, onCreated })"));
        assert!(form.content.contains("post_id: postId"));
    }

    #[test]
    fn user_text_in_titles_is_quoted() {
        let files = render_frontend("evil </p><script>", &example_1(), None);
        let header = files
            .iter()
            .find(|f| f.path.ends_with("Header.jsx"))
            .expect("header");
        assert!(
            header.content.contains("{\"Evil </p><script>\"}"),
            "{}",
            header.content
        );
        let shop = files
            .iter()
            .find(|f| f.path.ends_with("Footer.jsx"))
            .expect("footer");
        assert!(
            render_frontend("e-commerce", &example_1(), None)[2]
                .content
                .contains("{\"E-Commerce\"}"),
            "{}",
            shop.content
        );
    }

    #[test]
    fn add_feature_renders_only_the_new_screens() {
        let all = order_features(&["auth", "catalog", "cart", "payment", "search"]);
        let only = order_features(&["search"]);
        let files = render_frontend("shop", &all, Some(&only));
        let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            names,
            [
                "frontend/src/components/search/SearchBar.jsx",
                "frontend/src/components/search/SearchResults.jsx"
            ]
        );
    }
}
