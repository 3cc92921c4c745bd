//! The connection to Redis, shared by the relay and the shared limits, and its health as
//! `/ready` and `/metrics` report it. Commands go through a `ConnectionManager`, which
//! reconnects by itself; while Redis is down every caller degrades (the relay falls back to
//! reading the event log, limits to a local bound) and nothing fails because of it.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a Redis command may take before it counts as failed (Redis answers in well under
/// a millisecond when it is up).
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

pub struct RedisLink {
    pub client: redis::Client,
    pub commands: ConnectionManager,
    /// Prefix of every key and channel, so instances of different deployments (or tests) can
    /// share one Redis.
    pub prefix: String,
    up: AtomicBool,
}

impl RedisLink {
    /// Connects, failing at once with a one-line reason when Redis is unreachable or the URL
    /// is wrong.
    pub async fn open(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let shown = crate::server::config::url_for_messages(url);
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("invalid Redis URL {shown}: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(COMMAND_TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(1000);
        let mut commands = tokio::time::timeout(
            Duration::from_secs(3),
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("cannot connect to Redis at {shown}: timed out"))?
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {shown}: {e}"))?;
        let pong: String = redis::cmd("PING")
            .query_async(&mut commands)
            .await
            .map_err(|e| anyhow::anyhow!("Redis at {shown} does not answer PING: {e}"))?;
        if pong != "PONG" {
            anyhow::bail!("Redis at {shown} answered PING with {pong:?}");
        }
        Ok(Self {
            client,
            commands,
            prefix: prefix.to_string(),
            up: AtomicBool::new(true),
        })
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Whether the last command (or subscription) worked.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records the outcome of a command; logs the transitions only.
    pub fn mark(&self, up: bool) {
        let was = self.up.swap(up, Ordering::Relaxed);
        if was && !up {
            tracing::warn!("Redis is unreachable: delivery falls back to the event log, limits to a local bound");
        } else if !was && up {
            tracing::info!("Redis is reachable again");
        }
    }

    /// A connection for commands (cheap to clone; multiplexed).
    pub fn conn(&self) -> ConnectionManager {
        self.commands.clone()
    }
}
