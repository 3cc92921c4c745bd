//! The HTTP listener: our own accept loop around hyper instead of `axum::serve`, so that no
//! client can hold the process's file descriptors. Each connection has a deadline for its
//! request head (hyper's header-read timeout, which also bounds how long a kept-alive
//! connection waits idle for its next request); one client address may hold at most
//! `max_per_ip` connections and the process at most `max_connections` (the open-file limit less
//! a reserve), beyond which new connections are closed at once. When accepting fails for lack
//! of descriptors the loop pauses instead of spinning; already-open connections and streams
//! carry on. WebSocket and SSE streams are past their head, so the timeout never cuts them;
//! they have their own per-viewer caps (`realtime::limits`).

pub mod config;
pub mod fd;

use crate::server::metrics::{Counter, Gauge, Metrics};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::Service;

pub use config::{ConnectionArgs, ConnectionConfig};

/// How long the accept loop pauses after the system refused an accept (no descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long shutdown waits for open connections to finish their requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Counts open connections, per address and in all, and hands out slots.
pub struct Tracker {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<Open>,
    gauge: Arc<Gauge>,
    shed_per_ip: Arc<Counter>,
    shed_total: Arc<Counter>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This address holds `max_per_ip` connections already.
    PerIp,
    /// The process holds `max_connections` already.
    Total,
}

/// An admitted connection's place; given back when dropped.
pub struct Slot {
    tracker: Arc<Tracker>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.tracker.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
        self.tracker.gauge.dec();
    }
}

impl Tracker {
    pub fn new(max_total: usize, max_per_ip: usize, metrics: &Metrics) -> Arc<Self> {
        let shed = |reason| {
            metrics.counter(
                "youmeyou_http_connections_refused_total",
                "Connections closed at once because a connection limit was reached.",
                &[("reason", reason)],
            )
        };
        Arc::new(Self {
            max_total,
            max_per_ip,
            open: Mutex::new(Open::default()),
            gauge: metrics.gauge(
                "youmeyou_http_connections",
                "Open client connections (HTTP, WebSocket and SSE).",
                &[],
            ),
            shed_per_ip: shed("per_ip"),
            shed_total: shed("total"),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `ip`, or why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let mut open = self.lock();
        if open.total >= self.max_total {
            self.shed_total.inc();
            return Err(Refusal::Total);
        }
        let n = open.per_ip.entry(ip).or_insert(0);
        if self.max_per_ip > 0 && *n >= self.max_per_ip {
            self.shed_per_ip.inc();
            return Err(Refusal::PerIp);
        }
        *n += 1;
        open.total += 1;
        drop(open);
        self.gauge.inc();
        Ok(Slot {
            tracker: self.clone(),
            ip,
        })
    }

    /// Open connections: in all, and from `ip`.
    pub fn open(&self, ip: IpAddr) -> (usize, usize) {
        let open = self.lock();
        (open.total, open.per_ip.get(&ip).copied().unwrap_or(0))
    }
}

/// Whether an accept error means "out of descriptors or memory" (pause) rather than a problem
/// of that one connection (go on at once).
fn is_resource_exhaustion(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(code) if code == rustix::io::Errno::MFILE.raw_os_error()
                || code == rustix::io::Errno::NFILE.raw_os_error()
                || code == rustix::io::Errno::NOBUFS.raw_os_error()
                || code == rustix::io::Errno::NOMEM.raw_os_error()
        )
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and lets open
/// connections finish (at most 30 s). `max_connections` is the process's budget when the
/// configuration does not set one.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &ConnectionConfig,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let budget = config
        .max_connections
        .unwrap_or_else(|| fd::connection_budget(fd::raise_open_file_limit()));
    let tracker = Tracker::new(budget, config.max_per_ip, metrics);
    let accept_errors = metrics.counter(
        "youmeyou_http_accept_errors_total",
        "Failed accepts (out of file descriptors or memory: the listener pauses 50 ms).",
        &[],
    );
    tracing::info!(
        max_connections = budget,
        max_per_ip = config.max_per_ip,
        header_timeout_secs = config.header_timeout.as_secs(),
        "connection limits"
    );
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(config.header_timeout.max(Duration::from_secs(10)))
        .max_concurrent_streams(256);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    let mut exhausted = false;
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => {
                    exhausted = false;
                    pair
                }
                Err(e) if is_resource_exhaustion(&e) => {
                    accept_errors.inc();
                    if !exhausted {
                        // Once per episode: the connections that are open carry on.
                        tracing::warn!(error = %e, "cannot accept connections (out of file descriptors); pausing briefly between tries");
                        exhausted = true;
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let slot = match tracker.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(why) => {
                tracing::debug!(%peer, ?why, "connection refused: limit reached");
                // Dropping the stream closes it at once.
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = tower::service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let mut router = router.clone();
            async move { router.call(req).await }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("connections still open after 30 s of shutdown; closing them");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_address_and_in_all_and_given_back() {
        let metrics = Metrics::new();
        let t = Tracker::new(3, 2, &metrics);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let a1 = t.admit(a).expect("first");
        let a2 = t.admit(a).expect("second");
        assert_eq!(t.admit(a).err(), Some(Refusal::PerIp));
        let b1 = t.admit(b).expect("another address");
        assert_eq!(t.admit(b).err(), Some(Refusal::Total));
        assert_eq!(t.open(a), (3, 2));
        drop(a1);
        assert_eq!(t.open(a), (2, 1));
        drop((a2, b1));
        assert_eq!(t.open(a), (0, 0));
        assert!(
            t.lock().per_ip.is_empty(),
            "no entry kept for closed addresses"
        );
        let unlimited = Tracker::new(10, 0, &metrics);
        let many: Vec<_> = (0..10)
            .map(|_| unlimited.admit(a).expect("no per-address cap"))
            .collect();
        assert_eq!(many.len(), 10);
    }
}
