//! HTTP routes, one module per area of the contract, all registered through one `RouteTable`
//! that records `(method, path, access)` next to each handler. The API guard
//! (`security::guard`) enforces the recorded access, and the security suite
//! (`tests/security.rs`) enumerates the same records, so a route cannot be added without
//! being authenticated, rate-limited and tested.
//!
//! Adding routes: an area module exposes `pub fn routes() -> RouteTable`, e.g.
//!
//! ```ignore
//! pub fn routes() -> RouteTable {
//!     RouteTable::new()
//!         .get("/api/runs/{id}", Access::RunViewer, get_run)
//!         .post("/api/runs/{id}/cancel", Access::User, cancel_run)
//! }
//! ```
//!
//! and `api_table()` below merges it with one line: `.merge(runs::routes())`. Pick the
//! narrowest `Access`: `User` for anything that changes state or reads a user's data, and
//! `RunViewer` only for read routes of one run (a build token may call them).

pub mod auth;
pub mod ops;
pub mod projects;
pub mod runs;

use crate::server::security::guard::{guard, Guard};
use crate::server::state::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use std::fmt;

/// Who may call a route. The guard refuses with 401 before the handler runs when the caller
/// does not qualify; handlers then check ownership (another user's resource → 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Anyone (register, login, logout). Metered per client IP.
    Public,
    /// A signed-in user: session cookie or bearer session token. Build tokens are refused.
    User,
    /// A session, or a build token (header or `?token=`) — the handler must check that a
    /// build token is for this very run.
    RunViewer,
    /// Authenticated inside the protocol (a WebSocket's first `{"type":"auth"}` message); the
    /// guard lets unauthenticated upgrades through, and the handler must refuse them in-band.
    InBand,
    /// Operations endpoints (`/health`, `/ready`, `/metrics`): neither authenticated nor metered.
    Ops,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One registered route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    /// The axum path pattern, e.g. `/api/projects/{id}`.
    pub path: &'static str,
    pub access: Access,
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.method, self.path, self.access)
    }
}

/// A router that remembers what it holds.
#[derive(Default)]
pub struct RouteTable {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

fn filter(method: &Method) -> MethodFilter {
    match *method {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::PATCH => MethodFilter::PATCH,
        Method::DELETE => MethodFilter::DELETE,
        Method::HEAD => MethodFilter::HEAD,
        Method::OPTIONS => MethodFilter::OPTIONS,
        // Registration happens at start-up with literal methods; a wrong one is a programming
        // error that must stop the server before it listens.
        ref other => panic!("RouteTable: unsupported method {other}"),
    }
}

impl RouteTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for `method path` with `access`.
    pub fn route<H, T>(self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let method_router = on(filter(&method), handler);
        self.route_with(method, path, access, method_router)
    }

    /// Registers a prepared `MethodRouter` (e.g. with its own layers) that serves `method`.
    pub fn route_with(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        method_router: MethodRouter<AppState>,
    ) -> Self {
        if self
            .specs
            .iter()
            .any(|s| s.method == method && s.path == path)
        {
            panic!("RouteTable: {method} {path} is registered twice");
        }
        self.router = self.router.route(path, method_router);
        self.specs.push(RouteSpec {
            method,
            path,
            access,
        });
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.route(Method::GET, path, access, handler)
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.route(Method::POST, path, access, handler)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.route(Method::PUT, path, access, handler)
    }

    pub fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.route(Method::PATCH, path, access, handler)
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.route(Method::DELETE, path, access, handler)
    }

    /// Adds every route of `other` (one line per area in `api_table`).
    pub fn merge(mut self, other: RouteTable) -> Self {
        for spec in &other.specs {
            if self
                .specs
                .iter()
                .any(|s| s.method == spec.method && s.path == spec.path)
            {
                panic!("RouteTable: {spec} is registered twice");
            }
        }
        self.router = self.router.merge(other.router);
        self.specs.extend(other.specs);
        self
    }

    pub fn specs(&self) -> &[RouteSpec] {
        &self.specs
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}

/// Every API and operations route of the server. New areas are merged here.
pub fn api_table() -> RouteTable {
    RouteTable::new()
        .merge(ops_table())
        .merge(auth::routes())
        .merge(projects::routes())
        .merge(runs::routes())
        .merge(crate::server::realtime::routes())
}

/// `/health` and `/ready`, recorded as `Ops` (their handlers live in `ops`).
fn ops_table() -> RouteTable {
    RouteTable {
        router: Router::new().merge(ops::routes()),
        specs: vec![
            RouteSpec {
                method: Method::GET,
                path: "/health",
                access: Access::Ops,
            },
            RouteSpec {
                method: Method::GET,
                path: "/ready",
                access: Access::Ops,
            },
        ],
    }
}

/// The routes and their records, without the guard (for tests and documentation).
pub fn api_routes() -> (Router<AppState>, Vec<RouteSpec>) {
    api_table().into_parts()
}

/// The routes with the API guard around each of them: what `server::router` mounts.
pub fn api(state: &AppState) -> Router<AppState> {
    let (router, specs) = api_routes();
    let guard_state = Guard::new(state.clone(), &specs);
    router.layer(axum::middleware::from_fn_with_state(guard_state, guard))
}
