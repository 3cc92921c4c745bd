//! The typed, validated configuration of `youmeyou serve`. Every value comes from a flag or its
//! environment variable (names fixed by the contract); `ServeConfig::from_args` checks them all
//! and names the flag of the first bad one.

use crate::server::limits::{LimitArgs, LimitsConfig};
use crate::server::orchestrator::settings::{OrchestratorArgs, Settings};
use crate::server::secrets::Secret;
use crate::server::security::config::{SecurityArgs, SecurityConfig};
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with span fields.
    Text,
    /// One JSON object per line.
    Json,
}

/// `youmeyou serve` flags. Each reads the environment variable named in `env` when absent.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Listen address (host:port).
    #[arg(
        long,
        env = "YOUMEYOU_ADDR",
        default_value = "127.0.0.1:3000",
        value_name = "HOST:PORT"
    )]
    pub addr: String,
    /// Data directory: the SQLite database and generated secrets live here.
    #[arg(
        long,
        env = "YOUMEYOU_DATA_DIR",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` (one instance) or `postgres://USER@HOST:PORT/DB` (any
    /// number of instances); overrides the data directory's database.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Redis URL for the multi-instance mode: cross-instance delivery, shared limits and
    /// command signals (docs/DEPLOY.md). Unset: one instance, in-process delivery.
    #[arg(long, env = "REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key and channel, so several deployments can share one Redis.
    #[arg(
        long,
        env = "YOUMEYOU_REDIS_PREFIX",
        default_value = "youmeyou:",
        value_name = "PREFIX"
    )]
    pub redis_prefix: String,
    /// Log filter, e.g. `info` or `youmeyou=debug,tower_http=info`.
    #[arg(
        long = "log",
        env = "YOUMEYOU_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    pub log: String,
    /// Log line format.
    #[arg(long, env = "YOUMEYOU_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Signing secret for sessions and build tokens (≥ 32 characters). Generated and kept in the
    /// data directory when not given.
    #[arg(
        long,
        env = "YOUMEYOU_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// Time scale of the built-in engine: a task lasts estimatedTime × PACE seconds (0 = as fast
    /// as possible).
    #[arg(
        long,
        env = "YOUMEYOU_PACE",
        default_value = "0",
        value_name = "FACTOR",
        allow_hyphen_values = true
    )]
    pub pace: String,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub connections: crate::server::listener::ConnectionArgs,
    #[command(flatten)]
    pub orchestrator: OrchestratorArgs,
    #[command(flatten)]
    pub llm: crate::server::llm::LlmArgs,
}

#[derive(Debug, Clone)]
pub enum DatabaseTarget {
    /// The embedded store (one instance).
    Sqlite { url: String },
    /// The shared store: any number of instances (docs/DEPLOY.md).
    Postgres { url: String },
}

impl DatabaseTarget {
    /// Reads `--database-url`: unset means the data directory's SQLite file.
    pub fn parse(url: Option<&str>, data_dir: &std::path::Path) -> Result<Self, String> {
        match url.map(str::trim) {
            None | Some("") => Ok(DatabaseTarget::Sqlite {
                url: format!("sqlite://{}", data_dir.join("youmeyou.db").display()),
            }),
            Some(url) if url.starts_with("sqlite:") => Ok(DatabaseTarget::Sqlite { url: url.into() }),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(DatabaseTarget::Postgres { url: url.into() })
            }
            Some(_) => Err(
                "expected sqlite://PATH or postgres://USER@HOST:PORT/DATABASE (or leave it unset to use the data directory)"
                    .into(),
            ),
        }
    }

    /// Opens the store this target names: connects, migrates, and fails with a one-line
    /// reason when the database is unreachable or refuses us.
    pub async fn open(&self) -> anyhow::Result<std::sync::Arc<dyn crate::server::store::Store>> {
        Ok(match self {
            DatabaseTarget::Sqlite { url } => {
                std::sync::Arc::new(crate::server::store::sqlite::SqliteStore::open(url).await?)
            }
            DatabaseTarget::Postgres { url } => {
                std::sync::Arc::new(crate::server::store::postgres::PgStore::open(url).await?)
            }
        })
    }
}

/// A service URL (database, Redis) fit for messages: its password replaced by `***`.
pub fn url_for_messages(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "the URL given".into(),
    }
}

fn redis_prefix(raw: &str) -> Result<String, ConfigError> {
    let p = raw.trim();
    if p.len() > 64 || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError {
            flag: "--redis-prefix (YOUMEYOU_REDIS_PREFIX)",
            message: "must be at most 64 characters without spaces".into(),
        });
    }
    Ok(p.to_string())
}

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseTarget,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub log: String,
    pub log_format: LogFormat,
    /// `None`: load or generate the secret in the data directory at start.
    pub jwt_secret: Option<Secret>,
    pub pace: f64,
    /// Tier limits, request rates and login throttles.
    pub limits: LimitsConfig,
    /// CORS origins, previous JWT secrets, proxy trust, cookie `Secure`.
    pub security: SecurityConfig,
    /// Header timeout and connection caps of the listener.
    pub connections: crate::server::listener::ConnectionConfig,
    /// Scheduler, queue and editing rules.
    pub orchestrator: Settings,
    /// LLM provider (`builtin` = none); its `Debug` prints the key as `***`.
    pub llm: youmeyou_llm::LlmConfig,
}

/// A bad configuration value, with the flag that carries it.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {flag}: {message}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub message: String,
}

fn bad(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        flag,
        message: message.into(),
    }
}

impl ServeConfig {
    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let addr: SocketAddr = args.addr.parse().map_err(|_| {
            bad(
                "--addr (YOUMEYOU_ADDR)",
                format!("'{}' is not HOST:PORT, e.g. 127.0.0.1:3000", args.addr),
            )
        })?;
        if args.data_dir.as_os_str().is_empty() {
            return Err(bad("--data-dir (YOUMEYOU_DATA_DIR)", "must not be empty"));
        }
        let database = DatabaseTarget::parse(args.database_url.as_deref(), &args.data_dir)
            .map_err(|e| bad("--database-url (DATABASE_URL)", e))?;
        let redis_url = match args.redis_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                Some(url.to_string())
            }
            Some(_) => {
                return Err(bad(
                    "--redis-url (REDIS_URL)",
                    "expected redis://HOST:PORT or rediss://HOST:PORT",
                ))
            }
        };
        tracing_subscriber::EnvFilter::try_new(&args.log)
            .map_err(|e| bad("--log (YOUMEYOU_LOG)", format!("'{}': {e}", args.log)))?;
        let jwt_secret = match args.jwt_secret {
            None => None,
            Some(s) if s.trim().is_empty() => None,
            Some(s) if s.len() < 32 => {
                return Err(bad(
                    "--jwt-secret (YOUMEYOU_JWT_SECRET)",
                    "must be at least 32 characters (or unset it to generate one)",
                ))
            }
            Some(s) => Some(Secret::new(s.into_bytes())),
        };
        let pace: f64 = args
            .pace
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0 && *p <= 100.0)
            .ok_or_else(|| {
                bad(
                    "--pace (YOUMEYOU_PACE)",
                    format!("'{}' is not a number from 0 to 100", args.pace),
                )
            })?;
        let limits = args.limits.into_config()?;
        let orchestrator = args.orchestrator.into_settings(pace)?;
        let security = args.security.into_config()?;
        let connections = args.connections.into_config(security.trust_proxy)?;
        let llm = args.llm.into_config()?;
        Ok(Self {
            addr,
            data_dir: args.data_dir,
            database,
            redis_url,
            redis_prefix: redis_prefix(&args.redis_prefix)?,
            log: args.log,
            log_format: args.log_format,
            jwt_secret,
            pace,
            limits,
            orchestrator,
            security,
            connections,
            llm,
        })
    }

    /// A configuration for tests: a temporary data directory, port 0, fast pacing.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DatabaseTarget::Sqlite {
                url: format!("sqlite://{}", data_dir.join("youmeyou.db").display()),
            },
            data_dir,
            redis_url: None,
            redis_prefix: "youmeyou:".into(),
            log: "warn".into(),
            log_format: LogFormat::Text,
            jwt_secret: Some(Secret::new(
                b"test-secret-test-secret-test-secret!".to_vec(),
            )),
            pace: 0.0,
            // Tests send many requests from 127.0.0.1; suites about limits set their own.
            limits: LimitsConfig::relaxed(),
            orchestrator: Settings::default(),
            security: SecurityConfig::default(),
            // Tests open many connections from 127.0.0.1; the connection suite sets its own.
            connections: crate::server::listener::ConnectionConfig {
                max_per_ip: 0,
                ..Default::default()
            },
            llm: youmeyou_llm::LlmConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(argv: &[&str]) -> Result<ServeConfig, ConfigError> {
        let mut full = vec!["youmeyou"];
        full.extend_from_slice(argv);
        let w = Wrapper::try_parse_from(full).expect("clap accepts the shape");
        ServeConfig::from_args(w.args)
    }

    #[test]
    fn defaults_are_the_contracts() {
        let c = parse(&[]).expect("defaults are valid");
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.pace, 0.0);
        assert!(
            matches!(c.database, DatabaseTarget::Sqlite { ref url } if url.ends_with("youmeyou.db"))
        );
    }

    #[test]
    fn each_bad_value_names_its_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["--addr", "nowhere"], "--addr"),
            (&["--pace", "-1"], "--pace"),
            (&["--pace", "fast"], "--pace"),
            (&["--database-url", "mysql://x"], "--database-url"),
            (&["--redis-url", "http://x"], "--redis-url"),
            (&["--jwt-secret", "short"], "--jwt-secret"),
            (&["--log", "foo=bar=baz"], "--log"),
        ];
        for (argv, flag) in cases {
            let err = parse(argv).expect_err("must be rejected");
            assert!(err.to_string().contains(flag), "{argv:?} → {err}");
        }
    }
}
