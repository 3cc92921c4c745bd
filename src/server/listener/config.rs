//! Connection flags of `youmeyou serve`: how long a client may take to send a request's head
//! (and stay idle between requests), how many connections one address and the whole process
//! may hold.

use crate::server::config::ConfigError;
use clap::Args;
use std::time::Duration;

/// Connection flags (flattened into `youmeyou serve`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connections")]
pub struct ConnectionArgs {
    /// Seconds a client has to send a request's line and headers; also how long a kept-alive
    /// connection may wait idle for its next request (1–300).
    #[arg(
        long,
        env = "YOUMEYOU_HEADER_TIMEOUT_SECS",
        default_value = "10",
        value_name = "SECS"
    )]
    pub header_timeout_secs: String,
    /// Open connections one client address may hold (0 = no limit). Default 256, or no limit
    /// with --trust-proxy (every connection then comes from the proxy; limit it there).
    #[arg(long, env = "YOUMEYOU_MAX_CONNECTIONS_PER_IP", value_name = "N")]
    pub max_connections_per_ip: Option<String>,
    /// Open connections the process may hold; beyond it new ones are closed at once. Default:
    /// the open-file limit less a reserve for the database, logs and streams' own files.
    #[arg(long, env = "YOUMEYOU_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<String>,
}

/// What the listener enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    pub header_timeout: Duration,
    /// 0 = no limit.
    pub max_per_ip: usize,
    /// `None`: derived from the open-file limit at start (`fd::connection_budget`).
    pub max_connections: Option<usize>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_per_ip: 256,
            max_connections: None,
        }
    }
}

fn bad(flag: &'static str, message: String) -> ConfigError {
    ConfigError { flag, message }
}

fn count(flag: &'static str, raw: &str, max: usize) -> Result<usize, ConfigError> {
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| {
            bad(
                flag,
                format!("'{raw}' is not a whole number from 0 to {max}"),
            )
        })
}

impl ConnectionArgs {
    pub fn into_config(self, trust_proxy: bool) -> Result<ConnectionConfig, ConfigError> {
        let secs = self
            .header_timeout_secs
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=300).contains(s))
            .ok_or_else(|| {
                bad(
                    "--header-timeout-secs (YOUMEYOU_HEADER_TIMEOUT_SECS)",
                    format!(
                        "'{}' is not a whole number of seconds from 1 to 300",
                        self.header_timeout_secs
                    ),
                )
            })?;
        let max_per_ip = match self.max_connections_per_ip.as_deref() {
            Some(raw) => count(
                "--max-connections-per-ip (YOUMEYOU_MAX_CONNECTIONS_PER_IP)",
                raw,
                1_000_000,
            )?,
            None if trust_proxy => 0,
            None => ConnectionConfig::default().max_per_ip,
        };
        let max_connections = match self.max_connections.as_deref() {
            Some(raw) => {
                let n = count(
                    "--max-connections (YOUMEYOU_MAX_CONNECTIONS)",
                    raw,
                    10_000_000,
                )?;
                if n == 0 {
                    return Err(bad(
                        "--max-connections (YOUMEYOU_MAX_CONNECTIONS)",
                        "must be at least 1 (leave it unset to derive it from the open-file limit)"
                            .into(),
                    ));
                }
                Some(n)
            }
            None => None,
        };
        Ok(ConnectionConfig {
            header_timeout: Duration::from_secs(secs),
            max_per_ip,
            max_connections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(t: &str, ip: Option<&str>, max: Option<&str>) -> ConnectionArgs {
        ConnectionArgs {
            header_timeout_secs: t.into(),
            max_connections_per_ip: ip.map(Into::into),
            max_connections: max.map(Into::into),
        }
    }

    #[test]
    fn values_are_checked_and_defaults_follow_the_proxy_setting() {
        let c = args("10", None, None).into_config(false).expect("ok");
        assert_eq!(c, ConnectionConfig::default());
        assert_eq!(
            args("10", None, None)
                .into_config(true)
                .expect("ok")
                .max_per_ip,
            0
        );
        assert_eq!(
            args("5", Some("3"), Some("100"))
                .into_config(true)
                .expect("ok"),
            ConnectionConfig {
                header_timeout: Duration::from_secs(5),
                max_per_ip: 3,
                max_connections: Some(100),
            }
        );
        for (a, flag) in [
            (args("0", None, None), "--header-timeout-secs"),
            (args("301", None, None), "--header-timeout-secs"),
            (args("x", None, None), "--header-timeout-secs"),
            (args("10", Some("-1"), None), "--max-connections-per-ip"),
            (args("10", None, Some("0")), "--max-connections "),
        ] {
            let e = a.into_config(false).expect_err("refused");
            assert!(e.to_string().contains(flag.trim_end()), "{e}");
        }
    }
}
