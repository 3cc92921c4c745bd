//! Process metrics in the Prometheus text format (`GET /metrics`): a small hand-written registry
//! of atomics, so counting costs one relaxed atomic add and no dependency. It owns the real-time
//! series (connections, published/delivered events, delivery latency, replays, slow consumers,
//! fallbacks) and offers any module named counters and gauges (`Metrics::counter`, `gauge`) plus
//! helpers for runs and tasks. It must not block: nothing here awaits or takes a lock per event.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use youmeyou_core::model::EventType;

/// Number of event types (the index of a type is its position in `EventType::ALL`).
pub const EVENT_TYPES: usize = EventType::ALL.len();

/// Index of an event type in per-type arrays.
pub fn type_index(kind: EventType) -> usize {
    // `EventType` is a field-less enum whose declaration order is `ALL`'s order (a test checks).
    (kind as usize).min(EVENT_TYPES - 1)
}

/// The three ways events reach a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Ws,
    Sse,
    Poll,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Ws, Transport::Sse, Transport::Poll];

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Ws => "ws",
            Transport::Sse => "sse",
            Transport::Poll => "poll",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A fixed-bucket histogram of durations.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One count per bound plus the +Inf bucket (not cumulative; rendering accumulates).
    counts: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(self.bounds.len());
        if let Some(c) = self.counts.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The smallest bucket bound under which at least `q` (0..1) of the observations fall.
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let target = (q * total as f64).ceil() as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= target {
                return Some(self.bounds.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        None
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cumulative += c.load(Ordering::Relaxed);
            let le = match self.bounds.get(i) {
                Some(b) => format!("{b}"),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// Per-transport real-time series.
#[derive(Debug)]
pub struct TransportMetrics {
    /// Open connections (for polling: requests in flight).
    pub active: Gauge,
    /// Connections (requests) accepted since start.
    pub opened: Counter,
    /// Events written to clients, per type.
    pub delivered: [Counter; EVENT_TYPES],
    /// Publish → written to the socket, for live events (replayed events are not timed).
    pub latency: Histogram,
    /// Replays from the store (resume, Last-Event-ID, `after`, gap refill).
    pub replays: Counter,
    /// Events sent from the store rather than live.
    pub replayed_events: Counter,
    /// `snapshot` events sent because the asked-for history does not exist.
    pub snapshots: Counter,
    /// Clients disconnected because they did not read (WebSocket close 4008).
    pub slow_consumer_disconnects: Counter,
    /// Connections opened by the client manager as a fallback (`?fallback=1`).
    pub fallbacks: Counter,
    /// Authentication or access refusals.
    pub auth_failures: Counter,
    /// Refused for a connection limit.
    pub limited: Counter,
}

impl TransportMetrics {
    fn new() -> Self {
        Self {
            active: Gauge::default(),
            opened: Counter::default(),
            delivered: std::array::from_fn(|_| Counter::default()),
            latency: Histogram::new(&LATENCY_BUCKETS),
            replays: Counter::default(),
            replayed_events: Counter::default(),
            snapshots: Counter::default(),
            slow_consumer_disconnects: Counter::default(),
            fallbacks: Counter::default(),
            auth_failures: Counter::default(),
            limited: Counter::default(),
        }
    }

    pub fn delivered(&self, kind: EventType) {
        if let Some(c) = self.delivered.get(type_index(kind)) {
            c.inc();
        }
    }

    pub fn delivered_total(&self) -> u64 {
        self.delivered.iter().map(Counter::get).sum()
    }
}

/// Keeps a gauge incremented while alive (an open connection).
pub struct GaugeGuard(Arc<Metrics>, Transport);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.transport(self.1).active.dec();
    }
}

#[derive(Debug)]
enum Series {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
}

#[derive(Debug)]
struct Family {
    help: String,
    kind: &'static str,
    /// Rendered label set (`a="x",b="y"`) → value.
    series: BTreeMap<String, Series>,
}

/// Picks one counter of a transport's series (for rendering).
type CounterOf = fn(&TransportMetrics) -> &Counter;

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    transports: [TransportMetrics; 3],
    /// Events handed to the bus, per type.
    pub published: [Counter; EVENT_TYPES],
    /// Times a subscriber fell behind the bus and re-read the gap from the store.
    pub bus_lagged: Counter,
    /// WebSocket messages refused by the per-connection rate limit.
    pub ws_rate_limited: Counter,
    /// WebSocket messages that were not valid protocol messages.
    pub ws_bad_messages: Counter,
    /// Time from an event's publication on the instance that committed it to its publication
    /// on another instance's bus (multi-instance mode).
    pub cluster_delivery: Histogram,
    /// Named counters and gauges registered by other modules.
    families: Mutex<BTreeMap<String, Family>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            transports: std::array::from_fn(|_| TransportMetrics::new()),
            published: std::array::from_fn(|_| Counter::default()),
            bus_lagged: Counter::default(),
            ws_rate_limited: Counter::default(),
            ws_bad_messages: Counter::default(),
            cluster_delivery: Histogram::new(&LATENCY_BUCKETS),
            families: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn transport(&self, t: Transport) -> &TransportMetrics {
        &self.transports[t.index()]
    }

    /// Counts an open connection until the guard drops.
    pub fn connection_opened(self: &Arc<Self>, t: Transport) -> GaugeGuard {
        let m = self.transport(t);
        m.active.inc();
        m.opened.inc();
        GaugeGuard(self.clone(), t)
    }

    pub fn published(&self, kind: EventType) {
        if let Some(c) = self.published.get(type_index(kind)) {
            c.inc();
        }
    }

    pub fn published_total(&self) -> u64 {
        self.published.iter().map(Counter::get).sum()
    }

    /// A named counter (created on first use). `name` must be a valid Prometheus name ending in
    /// `_total`; label values are escaped. Keep the handle: looking it up takes a lock.
    ///
    /// ```ignore
    /// let retries = state.metrics.counter("youmeyou_llm_retries_total", "LLM call retries.", &[("provider", "openai")]);
    /// retries.inc();
    /// ```
    pub fn counter(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Arc<Counter> {
        match self.series(name, help, "counter", labels, || {
            Series::Counter(Arc::new(Counter::default()))
        }) {
            Series::Counter(c) => c,
            // A name registered as a gauge: hand out a detached counter rather than panic.
            Series::Gauge(_) => Arc::new(Counter::default()),
        }
    }

    /// A named gauge (created on first use); see [`Metrics::counter`].
    pub fn gauge(&self, name: &str, help: &str, labels: &[(&str, &str)]) -> Arc<Gauge> {
        match self.series(name, help, "gauge", labels, || {
            Series::Gauge(Arc::new(Gauge::default()))
        }) {
            Series::Gauge(g) => g,
            Series::Counter(_) => Arc::new(Gauge::default()),
        }
    }

    /// A run was accepted (`youmeyou_runs_started_total`).
    pub fn run_started(&self) {
        self.counter("youmeyou_runs_started_total", "Runs started.", &[])
            .inc();
    }

    /// A run ended with `status` (completed, failed, cancelled).
    pub fn run_finished(&self, status: &str) {
        self.counter(
            "youmeyou_runs_finished_total",
            "Runs finished, by final status.",
            &[("status", status)],
        )
        .inc();
    }

    /// A task started running.
    pub fn task_started(&self) {
        self.counter("youmeyou_tasks_started_total", "Tasks started.", &[])
            .inc();
    }

    /// A task ended with `status` (completed, failed, cancelled).
    pub fn task_finished(&self, status: &str) {
        self.counter(
            "youmeyou_tasks_finished_total",
            "Tasks finished, by final status.",
            &[("status", status)],
        )
        .inc();
    }

    fn series(
        &self,
        name: &str,
        help: &str,
        kind: &'static str,
        labels: &[(&str, &str)],
        make: impl FnOnce() -> Series,
    ) -> Series {
        let name = sanitize_name(name);
        let rendered = labels
            .iter()
            .map(|(k, v)| format!("{}=\"{}\"", sanitize_name(k), escape_label(v)))
            .collect::<Vec<_>>()
            .join(",");
        let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        let family = families.entry(name).or_insert_with(|| Family {
            help: help.replace('\n', " "),
            kind,
            series: BTreeMap::new(),
        });
        let series = family.series.entry(rendered).or_insert_with(make);
        match series {
            Series::Counter(c) => Series::Counter(c.clone()),
            Series::Gauge(g) => Series::Gauge(g.clone()),
        }
    }

    /// The whole registry in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
        };

        header(
            &mut out,
            "youmeyou_realtime_connections",
            "gauge",
            "Open real-time connections (polling: requests waiting), by transport.",
        );
        for t in Transport::ALL {
            let _ = writeln!(
                out,
                "youmeyou_realtime_connections{{transport=\"{}\"}} {}",
                t.as_str(),
                self.transport(t).active.get()
            );
        }
        let per_transport: [(&str, &str, CounterOf); 8] = [
            ("youmeyou_realtime_connections_opened_total", "Real-time connections (polling: requests) accepted, by transport.", |m| &m.opened),
            ("youmeyou_realtime_replays_total", "Replays of stored events (resume, Last-Event-ID, after, gap refill), by transport.", |m| &m.replays),
            ("youmeyou_realtime_replayed_events_total", "Events sent from the store rather than live, by transport.", |m| &m.replayed_events),
            ("youmeyou_realtime_snapshots_total", "Snapshot events sent because the requested history does not exist, by transport.", |m| &m.snapshots),
            ("youmeyou_realtime_slow_consumer_disconnects_total", "Clients disconnected because they stopped reading (WebSocket close 4008), by transport.", |m| &m.slow_consumer_disconnects),
            ("youmeyou_realtime_fallbacks_total", "Connections opened by the client manager as a fallback (?fallback=1), by transport.", |m| &m.fallbacks),
            ("youmeyou_realtime_auth_failures_total", "Real-time connections refused for authentication or access, by transport.", |m| &m.auth_failures),
            ("youmeyou_realtime_limited_total", "Real-time connections refused by a connection limit, by transport.", |m| &m.limited),
        ];
        for (name, help, get) in per_transport {
            header(&mut out, name, "counter", help);
            for t in Transport::ALL {
                let _ = writeln!(
                    out,
                    "{name}{{transport=\"{}\"}} {}",
                    t.as_str(),
                    get(self.transport(t)).get()
                );
            }
        }

        header(
            &mut out,
            "youmeyou_events_published_total",
            "counter",
            "Events published on the bus, by type.",
        );
        for kind in EventType::ALL {
            let _ = writeln!(
                out,
                "youmeyou_events_published_total{{type=\"{}\"}} {}",
                kind.as_str(),
                self.published[type_index(kind)].get()
            );
        }
        header(
            &mut out,
            "youmeyou_events_delivered_total",
            "counter",
            "Events written to clients, by transport and type.",
        );
        for t in Transport::ALL {
            let m = self.transport(t);
            for kind in EventType::ALL {
                let v = m.delivered[type_index(kind)].get();
                if v > 0 || matches!(kind, EventType::TaskProgress) {
                    let _ = writeln!(
                        out,
                        "youmeyou_events_delivered_total{{transport=\"{}\",type=\"{}\"}} {v}",
                        t.as_str(),
                        kind.as_str()
                    );
                }
            }
        }
        header(&mut out, "youmeyou_event_delivery_latency_seconds", "histogram", "Time from publish to the event being written to the client's socket (live events only), by transport.");
        for t in Transport::ALL {
            self.transport(t).latency.render(
                &mut out,
                "youmeyou_event_delivery_latency_seconds",
                &format!("transport=\"{}\"", t.as_str()),
            );
        }
        header(&mut out, "youmeyou_cluster_delivery_latency_seconds", "histogram", "Time from an event's publication on the instance that committed it to its publication on this instance's bus (multi-instance mode; clocks of one host).");
        self.cluster_delivery
            .render(&mut out, "youmeyou_cluster_delivery_latency_seconds", "");
        for (name, help, c) in [
            (
                "youmeyou_bus_lagged_total",
                "Times a subscriber fell behind the bus and re-read the gap from the store.",
                &self.bus_lagged,
            ),
            (
                "youmeyou_ws_rate_limited_total",
                "WebSocket client messages refused by the per-connection rate limit.",
                &self.ws_rate_limited,
            ),
            (
                "youmeyou_ws_bad_messages_total",
                "WebSocket client messages that were not valid protocol messages.",
                &self.ws_bad_messages,
            ),
        ] {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", c.get());
        }
        if let Some(rss) = resident_memory_bytes() {
            header(
                &mut out,
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }

        let families = self.families.lock().unwrap_or_else(|p| p.into_inner());
        for (name, family) in families.iter() {
            header(&mut out, name, family.kind, &family.help);
            for (labels, series) in &family.series {
                let value = match series {
                    Series::Counter(c) => c.get().to_string(),
                    Series::Gauge(g) => g.get().to_string(),
                };
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        }
        out
    }
}

/// Resident set size of this process (Linux), for `process_resident_memory_bytes`.
pub fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn sanitize_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `GET /metrics`: the registry as Prometheus text.
pub async fn handler(
    State(state): State<crate::server::state::AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let security = &state.config.security;
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("Bearer "))
        .map(str::trim);
    if let Err(why) = metrics_access(
        state.config.addr.ip().is_loopback(),
        security.metrics_public,
        security.metrics_token.as_ref().map(|s| s.expose()),
        presented,
    ) {
        return crate::server::error::ApiError::Unauthorized(why.into()).into_response();
    }
    // Health of the shared services, read at scrape time (as `/ready` reports it).
    let database_up = matches!(
        tokio::time::timeout(std::time::Duration::from_secs(2), state.store.ping()).await,
        Ok(Ok(()))
    );
    state
        .metrics
        .gauge(
            "youmeyou_database_up",
            "1 when the database answers, else 0.",
            &[("backend", state.store.backend())],
        )
        .set(i64::from(database_up));
    if let Some(redis) = &state.redis {
        state
            .metrics
            .gauge("youmeyou_redis_up", "1 when Redis answered the last command or subscription, else 0 (multi-instance mode).", &[])
            .set(i64::from(redis.is_up()));
    }
    state
        .metrics
        .gauge(
            "youmeyou_leases_held",
            "Runs whose lease this instance holds.",
            &[],
        )
        .set(state.store.leases().count() as i64);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Who may read `/metrics`: anyone when the server listens on loopback only or
/// `--metrics-public` says so; otherwise whoever presents the `--metrics-token` as a bearer.
pub fn metrics_access(
    loopback: bool,
    public: bool,
    token: Option<&[u8]>,
    presented: Option<&str>,
) -> Result<(), &'static str> {
    if loopback || public {
        return Ok(());
    }
    let Some(token) = token else {
        return Err("/metrics is private on a public address: set YOUMEYOU_METRICS_TOKEN (and send it as Authorization: Bearer) or YOUMEYOU_METRICS_PUBLIC=true");
    };
    use sha2::{Digest, Sha256};
    // Digests of equal length compared: the time taken says nothing about the token.
    match presented {
        Some(p) if Sha256::digest(p.as_bytes()) == Sha256::digest(token) => Ok(()),
        _ => {
            Err("/metrics needs the metrics token: Authorization: Bearer <YOUMEYOU_METRICS_TOKEN>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_public_only_on_loopback_or_when_told() {
        let token = Some(b"metrics-token-123456".as_slice());
        assert!(metrics_access(true, false, None, None).is_ok());
        assert!(metrics_access(false, true, None, None).is_ok());
        assert!(metrics_access(false, false, None, None).is_err());
        assert!(metrics_access(false, false, None, Some("anything")).is_err());
        assert!(metrics_access(false, false, token, None).is_err());
        assert!(metrics_access(false, false, token, Some("metrics-token-12345")).is_err());
        assert!(metrics_access(false, false, token, Some("metrics-token-123456")).is_ok());
    }

    #[test]
    fn type_index_follows_all() {
        for (i, kind) in EventType::ALL.iter().enumerate() {
            assert_eq!(type_index(*kind), i, "{kind:?}");
        }
    }

    #[test]
    fn render_has_the_series_and_escapes_labels() {
        let m = Arc::new(Metrics::new());
        let guard = m.connection_opened(Transport::Ws);
        m.published(EventType::TaskStarted);
        m.transport(Transport::Sse)
            .delivered(EventType::TaskStarted);
        m.transport(Transport::Ws)
            .latency
            .observe(Duration::from_micros(300));
        m.run_finished("fa\"il\ned");
        let text = m.render();
        assert!(
            text.contains("youmeyou_realtime_connections{transport=\"ws\"} 1"),
            "{text}"
        );
        assert!(text.contains("youmeyou_events_published_total{type=\"taskStarted\"} 1"));
        assert!(text
            .contains("youmeyou_events_delivered_total{transport=\"sse\",type=\"taskStarted\"} 1"));
        assert!(text.contains(
            "youmeyou_event_delivery_latency_seconds_bucket{transport=\"ws\",le=\"0.0005\"} 1"
        ));
        assert!(
            text.contains("youmeyou_runs_finished_total{status=\"fa\\\"il\\ned\"} 1"),
            "{text}"
        );
        drop(guard);
        assert!(m
            .render()
            .contains("youmeyou_realtime_connections{transport=\"ws\"} 0"));
    }

    #[test]
    fn histogram_quantiles() {
        let h = Histogram::new(&LATENCY_BUCKETS);
        for _ in 0..99 {
            h.observe(Duration::from_micros(200));
        }
        h.observe(Duration::from_millis(30));
        assert_eq!(h.quantile_bound(0.5), Some(0.00025));
        assert_eq!(h.quantile_bound(0.999), Some(0.05));
    }
}
