//! Logging: a `tracing` subscriber (text or JSON) and the HTTP layers that give every request an
//! id (`x-request-id`, generated when the client sent none) carried in its span and response.
//! Every formatted log line passes through the process's [`Redactor`] before it is written, so
//! no secret it knows (the LLM API key, the JWT secrets) reaches the log, whatever logged it.
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP ([`otel`]), one
//! trace per run across instances.

pub mod otel;

pub use otel::{run_span, run_traced};

use crate::server::config::LogFormat;
use axum::http::Request;
use std::io::{self, Write};
use std::sync::{Arc, OnceLock};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing_subscriber::filter::{filter_fn, FilterExt, Filtered};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Filter;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{
    layer::SubscriberExt, util::SubscriberInitExt, EnvFilter, Layer, Registry,
};
use youmeyou_llm::Redactor;

/// The process's one redactor, shared (`Arc`) by the log writer and the LLM provider.
/// `AppState` registers the secrets as soon as it has them (the JWT secret may be generated
/// only then); log lines written before that hold none of them.
pub fn redactor() -> Arc<Redactor> {
    static REDACTOR: OnceLock<Arc<Redactor>> = OnceLock::new();
    REDACTOR.get_or_init(|| Arc::new(Redactor::new())).clone()
}

/// Installs the process's subscriber: log lines to stdout and, when the environment names an
/// OTLP collector, spans to it. A malformed collector URL stops the process with one line
/// naming the variable, like a bad flag.
pub fn init(filter: &str, format: LogFormat) {
    let otel = otel::OtelConfig::from_env()
        .and_then(|config| match config {
            Some(config) => Ok(otel::layer(&config)?.map(|layer| (layer, config))),
            None => Ok(None),
        })
        .unwrap_or_else(|message| {
            eprintln!("error: {message}");
            std::process::exit(2);
        });
    let announce = otel.as_ref().map(|(_, config)| config.clone());
    let layer = otel.map(|(layer, _)| layer.with_filter(otel_filter(filter)));
    // A second init (tests) keeps the first subscriber.
    let _ = subscriber(filter, format, redactor(), io::stdout, layer).try_init();
    if let Some(config) = announce {
        tracing::info!(
            endpoint = %config.traces_url,
            service = %config.service_name,
            instance = %config.instance,
            "exporting spans over OTLP"
        );
    }
}

/// The exporter's share of the spans: what the log filter lets through, and run spans always.
type OtelLayer = Filtered<
    tracing_opentelemetry::OpenTelemetryLayer<Registry, otel::Tracer>,
    EnvFilter,
    Registry,
>;

fn otel_filter(filter: &str) -> EnvFilter {
    EnvFilter::try_new(format!("{filter},{}=info", otel::RUN_TARGET))
        .unwrap_or_else(|_| EnvFilter::new(format!("info,{}=info", otel::RUN_TARGET)))
}

/// What the log lines show: what `filter` lets through, run spans never.
fn logged<S>(filter: &str) -> impl Filter<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    EnvFilter::try_new(filter)
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .and(filter_fn(|meta| meta.target() != otel::RUN_TARGET))
}

/// The subscriber `init` installs, writing to `out` through `redactor`, with the OTLP layer
/// when there is one. Log lines never show run spans: they exist only for the exporter.
fn subscriber<W>(
    filter: &str,
    format: LogFormat,
    redactor: Arc<Redactor>,
    out: W,
    otel: Option<OtelLayer>,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let writer = Redacting::new(redactor, out);
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(writer.clone())
            .with_filter(logged(filter))
    });
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .with_filter(logged(filter))
    });
    tracing_subscriber::registry()
        .with(otel)
        .with(text)
        .with(json)
}

/// A `MakeWriter` whose writers scrub every secret the redactor knows from what the formatter
/// wrote (one whole event per writer) before passing it on.
#[derive(Clone)]
pub struct Redacting<M> {
    redactor: Arc<Redactor>,
    inner: M,
}

impl<M> Redacting<M> {
    pub fn new(redactor: Arc<Redactor>, inner: M) -> Self {
        Self { redactor, inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<'a, M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(&self.redactor, self.inner.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(&self.redactor, self.inner.make_writer_for(meta))
    }
}

/// Collects one formatted event and writes it, scrubbed, on flush or drop.
pub struct RedactingWriter<'a, W: Write> {
    redactor: &'a Redactor,
    inner: W,
    buf: Vec<u8>,
}

impl<'a, W: Write> RedactingWriter<'a, W> {
    fn new(redactor: &'a Redactor, inner: W) -> Self {
        Self {
            redactor,
            inner,
            buf: Vec::new(),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let line = String::from_utf8_lossy(&self.buf);
        let clean = self.redactor.redact(&line);
        self.buf.clear();
        self.inner.write_all(clean.as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<'_, W> {
    fn drop(&mut self) {
        // The formatter writes a whole event, then drops the writer.
        let _ = self.emit();
    }
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
                tracing::info_span!("request", request_id = %id, method = %req.method(), uri = %redacted_uri(req.uri()))
            }),
        )
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}

/// The URI as logged: the value of a `token` query parameter (a build token in an SSE URL) is
/// replaced by `***`.
pub fn redacted_uri(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("token") => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{}?{}", uri.path(), query.join("&"))
}

#[cfg(test)]
mod tests {

    #[test]
    fn query_tokens_are_not_logged() {
        let uri: axum::http::Uri = "/events/r1?lastEventId=4&token=eyJ.secret.sig&fallback=1"
            .parse()
            .expect("uri");
        assert_eq!(
            redacted_uri(&uri),
            "/events/r1?lastEventId=4&token=***&fallback=1"
        );
        let plain: axum::http::Uri = "/api/projects".parse().expect("uri");
        assert_eq!(redacted_uri(&plain), "/api/projects");
    }
    use super::*;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn every_log_line_is_scrubbed_in_both_formats() {
        let key = "sk-live-0123456789abcdefghijklmnopqrstuv";
        let jwt = b"jwt-secret-jwt-secret-jwt-secret-0123".to_vec();
        for format in [LogFormat::Text, LogFormat::Json] {
            let redactor = Arc::new(Redactor::new());
            redactor.register(key);
            redactor.register_bytes(&jwt);
            let out = Captured::default();
            let subscriber = subscriber("info", format, redactor, out.clone(), None);
            tracing::subscriber::with_default(subscriber, || {
                let cut = &key[..15];
                tracing::warn!(error = %format!("bad key {key}"), "provider said {key}");
                tracing::warn!(secret = ?"jwt-secret-jwt-secret-jwt-secret-0123", "cut: {cut}…");
                tracing::info!(hex = %hex::encode(&jwt), "stored form");
            });
            let text = String::from_utf8_lossy(&out.0.lock().unwrap_or_else(|p| p.into_inner()))
                .into_owned();
            assert_eq!(text.lines().count(), 3, "{format:?}: {text}");
            assert!(text.contains("***"), "{format:?}: {text}");
            assert!(!text.contains(&key[..6]), "{format:?}: {text}");
            assert!(!text.contains("jwt-se"), "{format:?}: {text}");
            assert!(
                !text.contains(&hex::encode(&jwt)[..12]),
                "{format:?}: {text}"
            );
            assert!(text.contains("provider said"), "{format:?}: {text}");
        }
    }

    #[test]
    fn run_spans_reach_the_exporter_whatever_the_log_filter_but_never_the_log_lines() {
        use opentelemetry::trace::TracerProvider as _;
        let spans = otel::tests::Collected::default();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("test"))
            .with_filter(otel_filter("warn"));
        let out = Captured::default();
        let subscriber = subscriber(
            "warn",
            LogFormat::Text,
            Arc::new(Redactor::new()),
            out.clone(),
            Some(layer),
        );
        tracing::subscriber::with_default(subscriber, || {
            otel::span_in_run_trace("run-1", "first").in_scope(|| {
                tracing::info!("below the log filter");
                tracing::warn!("task failed");
            });
        });
        let text =
            String::from_utf8_lossy(&out.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("task failed"), "{text}");
        assert!(!text.contains("run{"), "{text}");
        let spans = spans.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].name, "run");
        assert_eq!(
            spans[0].span_context.trace_id(),
            otel::run_trace_id("run-1")
        );
        let events: Vec<&str> = spans[0].events.iter().map(|e| e.name.as_ref()).collect();
        assert_eq!(events, ["task failed"]);
    }

    #[test]
    fn the_process_redactor_is_shared() {
        assert!(Arc::ptr_eq(&redactor(), &redactor()));
    }
}
