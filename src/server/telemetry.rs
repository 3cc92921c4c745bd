//! Logging: a `tracing` subscriber (text or JSON) and the HTTP layers that give every request an
//! id (`x-request-id`, generated when the client sent none) carried in its span and response.
//! Every formatted log line passes through the process's [`Redactor`] before it is written, so
//! no secret it knows (the LLM API key, the JWT secrets) reaches the log, whatever logged it.

use crate::server::config::LogFormat;
use axum::http::Request;
use std::io::{self, Write};
use std::sync::{Arc, OnceLock};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};
use youmeyou_llm::Redactor;

/// The process's one redactor, shared (`Arc`) by the log writer and the LLM provider.
/// `AppState` registers the secrets as soon as it has them (the JWT secret may be generated
/// only then); log lines written before that hold none of them.
pub fn redactor() -> Arc<Redactor> {
    static REDACTOR: OnceLock<Arc<Redactor>> = OnceLock::new();
    REDACTOR.get_or_init(|| Arc::new(Redactor::new())).clone()
}

pub fn init(filter: &str, format: LogFormat) {
    // A second init (tests) keeps the first subscriber.
    let _ = subscriber(filter, format, redactor(), io::stdout).try_init();
}

/// The subscriber `init` installs, writing to `out` through `redactor`.
fn subscriber<W>(
    filter: &str,
    format: LogFormat,
    redactor: Arc<Redactor>,
    out: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = Redacting::new(redactor, out);
    let text = (format == LogFormat::Text)
        .then(|| tracing_subscriber::fmt::layer().with_writer(writer.clone()));
    let json = (format == LogFormat::Json).then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
    });
    tracing_subscriber::registry()
        .with(filter)
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
            let subscriber = subscriber("info", format, redactor, out.clone());
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
    fn the_process_redactor_is_shared() {
        assert!(Arc::ptr_eq(&redactor(), &redactor()));
    }
}
