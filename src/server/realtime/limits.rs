//! The real-time limits (one typed struct, documented in docs/LIMITS.md) and the connection
//! counters that enforce them: at most `max_connections` streams in the process and
//! `max_connections_per_viewer` per user (or per run for build tokens). Polling requests that
//! wait count too, while they wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every knob of the transports. `Default` holds the documented values; `from_env` lets an
/// operator (or a benchmark) change the ones worth changing.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// WebSocket ping frame interval (≤ 25 s so proxies with 30 s idle timeouts keep the line).
    pub heartbeat: Duration,
    /// No frame at all from the client for this long (pongs included) → the connection is dead.
    pub dead_peer_timeout: Duration,
    /// No event delivered and no client message for this long → close 1000 "idle".
    pub idle_timeout: Duration,
    /// Time allowed for the first-message `auth` when no cookie or bearer came with the upgrade.
    pub auth_timeout: Duration,
    /// On the run route without `?afterSeq`, how long to wait for a `resume` before replaying
    /// the whole history from seq 1.
    pub resume_grace: Duration,
    /// SSE comment heartbeat interval.
    pub sse_heartbeat: Duration,
    /// Outbound queue bound per connection: live events waiting for the socket.
    pub queue_events: usize,
    /// Outbound queue bound per connection in bytes.
    pub queue_bytes: usize,
    /// A full outbound queue that does not drain for this long → close 4008 (slow consumer).
    pub slow_consumer_timeout: Duration,
    /// Events read from the store per replay page.
    pub replay_page: u32,
    /// Inbound messages per second (token bucket refill) and burst.
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    /// Refused messages within `rate_window` after which the connection is closed with 4029.
    pub rate_abuse: u32,
    pub rate_window: Duration,
    /// How long to try delivering a close frame before dropping the TCP connection.
    pub close_grace: Duration,
    pub max_connections: usize,
    pub max_connections_per_viewer: usize,
    /// Longest `wait` of a long poll.
    pub poll_max_wait: Duration,
    /// tungstenite buffers (bytes): small, since most connections are idle.
    pub ws_read_buffer: usize,
    pub ws_write_buffer: usize,
    /// How often an open stream re-checks its credentials (`revocation`).
    pub revalidate_every: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(25),
            dead_peer_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            auth_timeout: Duration::from_secs(10),
            resume_grace: Duration::from_millis(250),
            sse_heartbeat: Duration::from_secs(15),
            queue_events: 256,
            queue_bytes: 1024 * 1024,
            slow_consumer_timeout: Duration::from_secs(5),
            replay_page: 128,
            rate_per_sec: 20.0,
            rate_burst: 40.0,
            rate_abuse: 40,
            rate_window: Duration::from_secs(10),
            close_grace: Duration::from_secs(1),
            max_connections: 100_000,
            max_connections_per_viewer: 64,
            poll_max_wait: Duration::from_secs(30),
            ws_read_buffer: 4 * 1024,
            ws_write_buffer: 16 * 1024,
            revalidate_every: Duration::from_secs(60),
        }
    }
}

impl RealtimeConfig {
    /// Defaults, overridden by `YOUMEYOU_RT_IDLE_TIMEOUT_SECS`, `YOUMEYOU_RT_MAX_CONNECTIONS`,
    /// `YOUMEYOU_RT_MAX_CONNECTIONS_PER_VIEWER`, `YOUMEYOU_RT_REVALIDATE_SECS` and
    /// `YOUMEYOU_RT_QUEUE_EVENTS` when set to a
    /// positive whole number (other values are ignored with a warning).
    pub fn from_env() -> Self {
        let mut c = Self::default();
        let read = |name: &str| -> Option<u64> {
            let raw = std::env::var(name).ok()?;
            match raw.trim().parse::<u64>() {
                Ok(v) if v > 0 => Some(v),
                _ => {
                    tracing::warn!(%name, value = %raw, "ignored: expected a positive whole number");
                    None
                }
            }
        };
        if let Some(v) = read("YOUMEYOU_RT_IDLE_TIMEOUT_SECS") {
            c.idle_timeout = Duration::from_secs(v);
        }
        if let Some(v) = read("YOUMEYOU_RT_MAX_CONNECTIONS") {
            c.max_connections = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = read("YOUMEYOU_RT_MAX_CONNECTIONS_PER_VIEWER") {
            c.max_connections_per_viewer = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = read("YOUMEYOU_RT_REVALIDATE_SECS") {
            c.revalidate_every = Duration::from_secs(v);
        }
        if let Some(v) = read("YOUMEYOU_RT_QUEUE_EVENTS") {
            c.queue_events = usize::try_from(v).unwrap_or(256).max(16);
        }
        c
    }
}

/// Why a connection was refused by a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    /// The process is at `max_connections`.
    Server,
    /// This viewer is at `max_connections_per_viewer`.
    Viewer,
}

/// Counts open streams, in total and per viewer.
#[derive(Debug, Default)]
pub struct ConnectionLimits {
    total: AtomicUsize,
    per_viewer: Mutex<HashMap<String, usize>>,
}

impl ConnectionLimits {
    /// Takes one slot for `viewer_key`, released when the permit drops.
    pub fn acquire(
        self: &Arc<Self>,
        viewer_key: String,
        config: &RealtimeConfig,
    ) -> Result<ConnectionPermit, LimitError> {
        let mut map = self.per_viewer.lock().unwrap_or_else(|p| p.into_inner());
        if self.total.load(Ordering::Relaxed) >= config.max_connections {
            return Err(LimitError::Server);
        }
        let n = map.entry(viewer_key.clone()).or_insert(0);
        if *n >= config.max_connections_per_viewer {
            return Err(LimitError::Viewer);
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Ok(ConnectionPermit {
            limits: self.clone(),
            key: viewer_key,
        })
    }

    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    key: String,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut map = self
            .limits
            .per_viewer
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
        self.limits.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Per-connection inbound rate limit: a token bucket, plus a count of refusals in a window
/// after which the client is considered abusive.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    tokens: f64,
    last: std::time::Instant,
    refused_in_window: u32,
    window_start: std::time::Instant,
}

/// What to do with one inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allow,
    /// Refuse it; `notify` is true for the first refusal of a window (answer with an error).
    Refuse {
        notify: bool,
    },
    /// Refused too often: close with 4029.
    Abuse,
}

impl RateLimiter {
    pub fn new(config: &RealtimeConfig, now: std::time::Instant) -> Self {
        Self {
            tokens: config.rate_burst,
            last: now,
            refused_in_window: 0,
            window_start: now,
        }
    }

    pub fn check(&mut self, config: &RealtimeConfig, now: std::time::Instant) -> RateDecision {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * config.rate_per_sec).min(config.rate_burst);
        if now.saturating_duration_since(self.window_start) >= config.rate_window {
            self.window_start = now;
            self.refused_in_window = 0;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return RateDecision::Allow;
        }
        self.refused_in_window += 1;
        if self.refused_in_window > config.rate_abuse {
            RateDecision::Abuse
        } else {
            RateDecision::Refuse {
                notify: self.refused_in_window == 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn limits_count_per_viewer_and_release_on_drop() {
        let config = RealtimeConfig {
            max_connections: 3,
            max_connections_per_viewer: 2,
            ..RealtimeConfig::default()
        };
        let limits = Arc::new(ConnectionLimits::default());
        let a = limits.acquire("u1".into(), &config);
        let b = limits.acquire("u1".into(), &config);
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(
            limits.acquire("u1".into(), &config).err(),
            Some(LimitError::Viewer)
        );
        let c = limits.acquire("u2".into(), &config);
        assert!(c.is_ok());
        assert_eq!(
            limits.acquire("u3".into(), &config).err(),
            Some(LimitError::Server)
        );
        drop(a);
        let again = limits.acquire("u1".into(), &config);
        assert!(again.is_ok());
        assert_eq!(limits.total(), 3);
        drop((b, c, again));
        assert_eq!(limits.total(), 0);
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_refuses_then_closes() {
        let config = RealtimeConfig::default();
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(&config, t0);
        for _ in 0..40 {
            assert_eq!(rl.check(&config, t0), RateDecision::Allow);
        }
        assert_eq!(rl.check(&config, t0), RateDecision::Refuse { notify: true });
        for _ in 0..39 {
            assert_eq!(
                rl.check(&config, t0),
                RateDecision::Refuse { notify: false }
            );
        }
        assert_eq!(rl.check(&config, t0), RateDecision::Abuse);
        // After a second, 20 more are allowed.
        let mut rl = RateLimiter::new(&config, t0);
        for _ in 0..40 {
            rl.check(&config, t0);
        }
        let t1 = t0 + Duration::from_secs(1);
        for _ in 0..20 {
            assert_eq!(rl.check(&config, t1), RateDecision::Allow);
        }
    }
}
