//! Logging: a `tracing` subscriber (text or JSON) and the HTTP layers that give every request an
//! id (`x-request-id`, generated when the client sent none) carried in its span and response.

use crate::server::config::LogFormat;
use axum::http::Request;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer()).try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

const REQUEST_ID: &str = "x-request-id";

/// Wraps the router so that every request gets an id (kept when the client sent one), a span
/// carrying it, and the id echoed in the response.
pub fn with_http_layers(router: axum::Router) -> axum::Router {
    let header = http::HeaderName::from_static(REQUEST_ID);
    // `layer` wraps what is already there: the last call runs first.
    router
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", request_id = %id, method = %req.method(), uri = %req.uri())
            }),
        )
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}
