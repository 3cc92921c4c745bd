//! Security flags of `youmeyou serve`: allowed cross-origin callers, older JWT secrets that
//! still verify (rotation), whether to trust a reverse proxy's `X-Forwarded-*` headers and when
//! the session cookie is `Secure`.

use crate::server::config::ConfigError;
use crate::server::secrets::Secret;
use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum CookieSecure {
    /// `Secure` when the request came over HTTPS (per `X-Forwarded-Proto` from the proxy).
    #[default]
    Auto,
    /// Always `Secure` (the site is only served over HTTPS).
    Always,
    /// Never `Secure` (plain-HTTP development only).
    Never,
}

/// Security flags (flattened into `youmeyou serve`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Security")]
pub struct SecurityArgs {
    /// Origins (scheme://host[:port]) allowed to call the API from a browser, comma-separated.
    /// Empty: same-origin only.
    #[arg(
        long,
        env = "YOUMEYOU_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub cors_origins: Vec<String>,
    /// Earlier JWT secrets, comma-separated: tokens they signed keep verifying until they
    /// expire; new tokens are signed with --jwt-secret.
    #[arg(
        long,
        env = "YOUMEYOU_JWT_PREVIOUS_SECRETS",
        value_delimiter = ',',
        value_name = "SECRETS",
        hide_env_values = true
    )]
    pub jwt_previous_secrets: Vec<String>,
    /// Trust `X-Forwarded-For`/`-Host`/`-Proto` (set it only behind a reverse proxy that
    /// overwrites them): client IPs for rate limits, the host for CSRF checks.
    #[arg(long, env = "YOUMEYOU_TRUST_PROXY", default_value_t = false)]
    pub trust_proxy: bool,
    /// When the session cookie carries `Secure`.
    #[arg(
        long,
        env = "YOUMEYOU_COOKIE_SECURE",
        value_enum,
        default_value = "auto"
    )]
    pub cookie_secure: CookieSecure,
    /// Serve `/metrics` to anyone even when listening beyond loopback.
    #[arg(long, env = "YOUMEYOU_METRICS_PUBLIC", default_value_t = false)]
    pub metrics_public: bool,
    /// Bearer secret for `/metrics` when the server listens beyond loopback (≥ 16 characters).
    #[arg(
        long,
        env = "YOUMEYOU_METRICS_TOKEN",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SecurityConfig {
    /// Normalised `scheme://host[:port]`, lowercase, no trailing slash.
    pub cors_origins: Vec<String>,
    pub jwt_previous_secrets: Vec<Secret>,
    pub trust_proxy: bool,
    pub cookie_secure: CookieSecure,
    pub metrics_public: bool,
    pub metrics_token: Option<Secret>,
}

/// `scheme://host[:port]` in lowercase, or why not.
pub fn normalize_origin(raw: &str) -> Result<String, String> {
    let origin = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or_else(|| format!("'{raw}' is not scheme://host[:port]"))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("'{raw}': the scheme must be http or https"));
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', '*', ' ']) {
        return Err(format!(
            "'{raw}' must be scheme://host[:port] with no path, wildcard or credentials"
        ));
    }
    Ok(origin)
}

impl SecurityArgs {
    pub fn into_config(self) -> Result<SecurityConfig, ConfigError> {
        let mut cors_origins = Vec::new();
        for raw in self.cors_origins.iter().filter(|o| !o.trim().is_empty()) {
            let origin = normalize_origin(raw).map_err(|message| ConfigError {
                flag: "--cors-origins (YOUMEYOU_CORS_ORIGINS)",
                message,
            })?;
            cors_origins.push(origin);
        }
        let mut jwt_previous_secrets = Vec::new();
        for secret in self.jwt_previous_secrets.iter().map(|s| s.trim()) {
            if secret.is_empty() {
                continue;
            }
            if secret.len() < 32 {
                return Err(ConfigError {
                    flag: "--jwt-previous-secrets (YOUMEYOU_JWT_PREVIOUS_SECRETS)",
                    message: "each secret must be at least 32 characters".into(),
                });
            }
            jwt_previous_secrets.push(Secret::new(secret.as_bytes().to_vec()));
        }
        let metrics_token = match self.metrics_token.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) if t.len() < 16 => {
                return Err(ConfigError {
                    flag: "--metrics-token (YOUMEYOU_METRICS_TOKEN)",
                    message: "must be at least 16 characters".into(),
                })
            }
            Some(t) => Some(Secret::new(t.as_bytes().to_vec())),
        };
        Ok(SecurityConfig {
            cors_origins,
            jwt_previous_secrets,
            trust_proxy: self.trust_proxy,
            cookie_secure: self.cookie_secure,
            metrics_public: self.metrics_public,
            metrics_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SecurityArgs,
    }

    fn parse(argv: &[&str]) -> Result<SecurityConfig, ConfigError> {
        let mut full = vec!["youmeyou"];
        full.extend_from_slice(argv);
        let w = Wrapper::try_parse_from(full).map_err(|e| ConfigError {
            flag: "clap",
            message: e.to_string(),
        })?;
        w.args.into_config()
    }

    #[test]
    fn origins_are_normalised_and_wildcards_refused() {
        let c = parse(&[
            "--cors-origins",
            "https://App.Example.com/,http://localhost:5173",
        ])
        .expect("valid");
        assert_eq!(
            c.cors_origins,
            vec!["https://app.example.com", "http://localhost:5173"]
        );
        assert!(parse(&[]).expect("valid").cors_origins.is_empty());
        for bad in [
            "*",
            "https://*.example.com",
            "ftp://x.com",
            "https://x.com/path",
            "x.com",
        ] {
            let err = parse(&["--cors-origins", bad]).expect_err(bad);
            assert!(err.to_string().contains("--cors-origins"), "{bad}: {err}");
        }
    }

    #[test]
    fn previous_secrets_must_be_long() {
        let long = "p".repeat(40);
        let c = parse(&["--jwt-previous-secrets", &format!("{long},{long}x")]).expect("valid");
        assert_eq!(c.jwt_previous_secrets.len(), 2);
        let err = parse(&["--jwt-previous-secrets", "short"]).expect_err("short");
        assert!(err.to_string().contains("--jwt-previous-secrets"));
    }
}
