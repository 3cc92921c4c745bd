//! Traces over OTLP/HTTP (protobuf): with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the process's
//! `tracing` spans (requests, runs) and the events inside them are exported to that collector.
//! Without it nothing here runs: no exporter, no extra span, the logs unchanged.
//!
//! One trace per run across instances, with no propagation between them: a run's trace id is
//! derived from its id ([`run_trace_id`]), and every instance that drives the run gives its
//! run span a remote parent in that trace ([`run_span`]). Spans of a run driven by two
//! instances (one stopped, the other resumed it; a lease taken over) are therefore siblings in
//! one trace, told apart by their `service.instance.id`.
//!
//! The SDK's batch processor exports from its own thread with a blocking HTTP client (this
//! module's is set up before the async runtime exists). A run's span is flushed when the run's
//! driver ends ([`run_traced`]), so the spans of a run stopped by a graceful shutdown reach
//! the collector before the process exits; other spans go out every 5 s
//! (`OTEL_BSP_SCHEDULE_DELAY`), and [`shutdown`] sends the rest at exit where the caller calls
//! it (`cli::serve` does not yet: until then, request spans of an exit's last 5 s are lost).

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;
use tracing::Instrument;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};

/// The collector's base URL; traces are posted to `{it}/v1/traces`.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// A full URL for traces only; wins over [`ENDPOINT_VAR`] (no path is appended).
pub const TRACES_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The `service.name` resource attribute; `youmeyou` when unset.
pub const SERVICE_NAME_VAR: &str = "OTEL_SERVICE_NAME";
/// Also the instance id of the orchestrator (`--instance-id`): here it names the instance in
/// the resource (`service.instance.id`).
pub const INSTANCE_VAR: &str = "YOUMEYOU_INSTANCE_ID";
/// The target of run spans, which only the exporter sees (log lines stay as they were).
pub const RUN_TARGET: &str = "youmeyou::run";

/// The tracer behind the exporting layer.
pub type Tracer = SdkTracer;

/// How long one export may take (the OTLP default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The provider, once [`layer`] built it: flushed after each run, shut down at [`shutdown`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// What the environment asks of the exporter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtelConfig {
    /// Where spans are posted (`…/v1/traces`).
    pub traces_url: String,
    pub service_name: String,
    pub instance: String,
}

impl OtelConfig {
    /// Reads the process environment: `Ok(None)` when no endpoint is set (empty counts as
    /// unset), an error line naming the variable when one is not an http(s) URL.
    pub fn from_env() -> Result<Option<Self>, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let var = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let traces_url = match (var(TRACES_ENDPOINT_VAR), var(ENDPOINT_VAR)) {
            (Some(url), _) => checked_url(TRACES_ENDPOINT_VAR, &url)?.to_string(),
            (None, Some(base)) => {
                let url = checked_url(ENDPOINT_VAR, &base)?;
                format!("{}/v1/traces", url.as_str().trim_end_matches('/'))
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(Self {
            traces_url,
            service_name: var(SERVICE_NAME_VAR).unwrap_or_else(|| "youmeyou".into()),
            instance: var(INSTANCE_VAR)
                .unwrap_or_else(crate::server::orchestrator::settings::default_instance_id),
        }))
    }
}

/// An absolute http(s) URL with a host, without credentials (headers carry those), query or
/// fragment. Errors never echo credentials, a query or a fragment (they may hold a key).
fn checked_url(var: &str, raw: &str) -> Result<url::Url, String> {
    let bad = |shown: &str, why: &str| {
        format!("invalid value for {var}: '{shown}' {why} (e.g. http://127.0.0.1:4318)")
    };
    // An unparseable value may still hold a password: show only its length.
    let url = url::Url::parse(raw).map_err(|_| {
        bad(
            &format!("<{} characters>", raw.chars().count()),
            "is not a URL",
        )
    })?;
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    let why = if !matches!(url.scheme(), "http" | "https") {
        "is not an http(s) URL"
    } else if url.host_str().is_none_or(str::is_empty) {
        "has no host"
    } else if !url.username().is_empty() || url.password().is_some() {
        "holds credentials; send them with OTEL_EXPORTER_OTLP_HEADERS"
    } else if url.query().is_some() || url.fragment().is_some() {
        "has a query or fragment"
    } else {
        return Ok(url);
    };
    Err(bad(shown.as_str(), why))
}

/// The `tracing` layer that exports spans to the configured collector. Builds the one
/// provider of the process; `None` when it already exists (a second `init`).
pub fn layer<S>(config: &OtelConfig) -> Result<Option<OpenTelemetryLayer<S, SdkTracer>>, String>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    if PROVIDER.get().is_some() {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(BlockingClient::new()?)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(config.traces_url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot start the OTLP exporter: {e}"))?;
    // The SDK's resource detectors add OTEL_RESOURCE_ATTRIBUTES and the SDK's own attributes.
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .with_attribute(KeyValue::new(
            "service.instance.id",
            config.instance.clone(),
        ))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("youmeyou");
    if PROVIDER.set(provider).is_err() {
        return Ok(None);
    }
    Ok(Some(tracing_opentelemetry::layer().with_tracer(tracer)))
}

/// Whether spans are exported.
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// The trace of a run: the first 16 bytes of the SHA-256 of its id, the same on every
/// instance.
pub fn run_trace_id(run_id: &str) -> TraceId {
    let digest = Sha256::digest(run_id.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    if id == [0; 16] {
        id[15] = 1; // the all-zero id is invalid
    }
    TraceId::from_bytes(id)
}

/// The (never exported) remote parent every instance's run span hangs off: the next 8 bytes of
/// the same digest, so a trace viewer shows the instances' spans as siblings.
pub fn run_parent_span_id(run_id: &str) -> SpanId {
    let digest = Sha256::digest(run_id.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[16..24]);
    if id == [0; 8] {
        id[7] = 1;
    }
    SpanId::from_bytes(id)
}

/// The span an instance drives a run in: in the run's trace when spans are exported, a
/// disabled span (nothing changes) when they are not.
pub fn run_span(run_id: &str, instance: &str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    span_in_run_trace(run_id, instance)
}

pub(super) fn span_in_run_trace(run_id: &str, instance: &str) -> tracing::Span {
    // No `tracing` parent: a span started from a request would keep the request's span open
    // for as long as the run lasts.
    let span = tracing::info_span!(
        target: RUN_TARGET,
        parent: None,
        "run",
        run = %run_id,
        instance = %instance
    );
    let parent = SpanContext::new(
        run_trace_id(run_id),
        run_parent_span_id(run_id),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    // Fails only when no exporting layer sees the span: then there is nothing to link.
    let _ = span.set_parent(Context::new().with_remote_span_context(parent));
    span
}

/// Drives `run` (a run's driver) inside `span`, then, when spans are exported, waits until
/// the exporter has sent what is pending, the closed run span included: a graceful shutdown
/// waits for the run drivers, so their spans are not lost with the process.
pub async fn run_traced<F: Future>(span: tracing::Span, run: F) -> F::Output {
    // The span closes when the instrumented future is dropped, at the end of this statement.
    let output = run.instrument(span).await;
    flush().await;
    output
}

/// Sends the pending spans (blocking on the exporter's thread, off the async workers).
pub async fn flush() {
    let Some(provider) = PROVIDER.get() else {
        return;
    };
    let provider = provider.clone();
    match tokio::task::spawn_blocking(move || provider.force_flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "could not flush spans to the OTLP collector"),
        Err(error) => tracing::debug!(%error, "span flush task failed"),
    }
}

/// Flushes and stops the exporter: to call once, when the process is about to exit (outside
/// the async runtime: it blocks for up to 5 s).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    }
}

/// The exporter's HTTP client: reqwest's blocking client (the reqwest and rustls the LLM
/// clients already link), called on the batch processor's own thread.
#[derive(Debug)]
struct BlockingClient(reqwest::blocking::Client);

impl BlockingClient {
    fn new() -> Result<Self, String> {
        // Built on a thread of its own: reqwest's blocking client must not be created inside
        // an async runtime.
        std::thread::spawn(|| {
            reqwest::blocking::Client::builder()
                .timeout(EXPORT_TIMEOUT)
                .build()
        })
        .join()
        .map_err(|_| "cannot start the OTLP exporter's HTTP client".to_string())?
        .map(Self)
        .map_err(|e| format!("cannot start the OTLP exporter's HTTP client: {e}"))
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for BlockingClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        /// Collector answers are tiny; a larger one is cut here.
        const MAX_ANSWER: u64 = 4 << 20;
        use std::io::Read;
        let request = reqwest::blocking::Request::try_from(request)?;
        let mut response = self.0.execute(request)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        response.take(MAX_ANSWER).read_to_end(&mut body)?;
        let mut answer = opentelemetry_http::Response::builder()
            .status(status)
            .body(opentelemetry_http::Bytes::from(body))?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn a_runs_trace_id_is_the_head_of_the_sha256_of_its_id() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a396177a9c b410ff61f20015ad
        assert_eq!(
            run_trace_id("abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223"
        );
        assert_eq!(run_parent_span_id("abc").to_string(), "b00361a396177a9c");
        let run = "0b9f4e3c-4d2a-4f43-9a55-3f0c8f1e2d77";
        assert_eq!(run_trace_id(run), run_trace_id(run));
        assert_ne!(run_trace_id(run), run_trace_id("another run"));
        assert_ne!(run_trace_id(run), TraceId::INVALID);
        assert_ne!(run_parent_span_id(run), SpanId::INVALID);
    }

    /// An exporter that keeps what it is given.
    #[derive(Clone, Debug, Default)]
    pub(crate) struct Collected(pub(crate) Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Collected {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(batch);
            Ok(())
        }
    }

    #[test]
    fn every_instances_run_span_joins_the_runs_trace() {
        let spans = Collected::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            for (run, instance) in [("run-1", "first"), ("run-1", "second"), ("run-2", "first")] {
                let span = span_in_run_trace(run, instance);
                span.in_scope(|| tracing::info!("driving"));
            }
        });
        let spans = spans.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        assert_eq!(spans.len(), 3);
        let attrs = |s: &SpanData| -> HashMap<String, String> {
            s.attributes
                .iter()
                .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                .collect()
        };
        for span in &spans {
            let run = attrs(span)["run"].clone();
            assert_eq!(span.name, "run");
            assert_eq!(span.span_context.trace_id(), run_trace_id(&run));
            assert_eq!(span.parent_span_id, run_parent_span_id(&run));
            assert!(span.parent_span_is_remote);
            assert!(span.span_context.is_sampled());
            assert_eq!(
                span.events.len(),
                1,
                "the run's log events ride on its span"
            );
        }
        assert_eq!(attrs(&spans[0])["instance"], "first");
        assert_eq!(attrs(&spans[1])["instance"], "second");
        assert_eq!(
            spans[0].span_context.trace_id(),
            spans[1].span_context.trace_id()
        );
        assert_ne!(
            spans[0].span_context.span_id(),
            spans[1].span_context.span_id()
        );
        assert_ne!(
            spans[0].span_context.trace_id(),
            spans[2].span_context.trace_id()
        );
    }

    #[test]
    fn no_run_span_without_an_exporter() {
        // Nothing in this test process built the provider.
        assert!(!enabled());
        assert!(run_span("run-1", "first").is_none());
    }

    fn config(vars: &[(&str, &str)]) -> Result<Option<OtelConfig>, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OtelConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_endpoint_is_validated_and_traces_go_to_v1_traces() {
        assert_eq!(config(&[]), Ok(None));
        assert_eq!(config(&[(ENDPOINT_VAR, "  ")]), Ok(None));
        let c = config(&[
            (ENDPOINT_VAR, "http://127.0.0.1:4318"),
            (INSTANCE_VAR, "a-1"),
        ])
        .expect("valid")
        .expect("enabled");
        assert_eq!(c.traces_url, "http://127.0.0.1:4318/v1/traces");
        assert_eq!(c.service_name, "youmeyou");
        assert_eq!(c.instance, "a-1");
        let c = config(&[
            (ENDPOINT_VAR, "https://otel.example.com/prefix/"),
            (SERVICE_NAME_VAR, "yy-eu"),
        ])
        .expect("valid")
        .expect("enabled");
        assert_eq!(c.traces_url, "https://otel.example.com/prefix/v1/traces");
        assert_eq!(c.service_name, "yy-eu");
        assert!(!c.instance.is_empty());
        let c = config(&[
            (ENDPOINT_VAR, "http://ignored:4318"),
            (TRACES_ENDPOINT_VAR, "http://collector:4318/custom/traces"),
        ])
        .expect("valid")
        .expect("enabled");
        assert_eq!(c.traces_url, "http://collector:4318/custom/traces");
        for bad in [
            "localhost:4318",
            "collector",
            "ftp://collector:4318",
            "http://",
            "http://collector:4318/?x=1",
        ] {
            let error = config(&[(ENDPOINT_VAR, bad)]).expect_err(bad);
            assert!(
                error.starts_with("invalid value for OTEL_EXPORTER_OTLP_ENDPOINT: '"),
                "{error}"
            );
            assert!(!error.contains('\n'), "{error}");
        }
        for secret in [
            "https://u:s3cret@otel.example.com",
            "http://otel.example.com/?key=s3cret",
            "http://otel.example.com/#s3cret",
            "http//u:s3cret@otel",
        ] {
            let error = config(&[(ENDPOINT_VAR, secret)]).expect_err(secret);
            assert!(!error.contains("s3cret"), "{error}");
        }
        let error = config(&[(TRACES_ENDPOINT_VAR, "nope")]).expect_err("bad");
        assert!(error.contains(TRACES_ENDPOINT_VAR), "{error}");
    }
}
