//! The LLM settings as one plain struct, their defaults, validation with typed errors, and the
//! `YOUMEYOU_LLM_*` environment names. Reads a map, never the process environment behind the
//! caller's back (`from_process_env` is the one explicit exception), and never logs the key.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use crate::breaker::BreakerConfig;
use crate::cost::Pricing;
use crate::provider::Role;
use crate::retry::RetryPolicy;

/// Environment variable names (the lead maps each to a `youmeyou serve` flag).
pub mod env {
    pub const PROVIDER: &str = "YOUMEYOU_LLM_PROVIDER";
    pub const BASE_URL: &str = "YOUMEYOU_LLM_BASE_URL";
    pub const API_KEY: &str = "YOUMEYOU_LLM_API_KEY";
    pub const MODEL: &str = "YOUMEYOU_LLM_MODEL";
    pub const MODEL_INTENT: &str = "YOUMEYOU_LLM_MODEL_INTENT";
    pub const MODEL_PLANNER: &str = "YOUMEYOU_LLM_MODEL_PLANNER";
    pub const MODEL_CODE: &str = "YOUMEYOU_LLM_MODEL_CODE";
    pub const TEMPERATURE: &str = "YOUMEYOU_LLM_TEMPERATURE";
    pub const MAX_TOKENS: &str = "YOUMEYOU_LLM_MAX_TOKENS";
    pub const TIMEOUT_SECS: &str = "YOUMEYOU_LLM_TIMEOUT_SECS";
    pub const IDLE_TIMEOUT_SECS: &str = "YOUMEYOU_LLM_IDLE_TIMEOUT_SECS";
    pub const MAX_RETRIES: &str = "YOUMEYOU_LLM_MAX_RETRIES";
    pub const PRICE_INPUT_PER_1K: &str = "YOUMEYOU_LLM_PRICE_INPUT_PER_1K";
    pub const PRICE_OUTPUT_PER_1K: &str = "YOUMEYOU_LLM_PRICE_OUTPUT_PER_1K";
    pub const BUDGET_USD: &str = "YOUMEYOU_LLM_BUDGET_USD";
}

pub const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const OPENAI_DEFAULT_MODEL: &str = "gpt-4o-mini";
pub const ANTHROPIC_DEFAULT_MODEL: &str = "claude-sonnet-4-0";

/// A settings problem, named by the environment variable that carries it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: unknown provider `{value}` (expected builtin, openai or anthropic)")]
    UnknownProvider { var: &'static str, value: String },
    #[error("{var}: `{value}` is not a usable http(s) URL: {reason}")]
    InvalidUrl {
        var: &'static str,
        value: String,
        reason: String,
    },
    #[error("{var} is required for the {provider} provider")]
    MissingApiKey {
        var: &'static str,
        provider: &'static str,
    },
    #[error("{var}: the model name must not be empty")]
    MissingModel { var: &'static str },
    #[error("{var}: `{value}` is not a number")]
    InvalidNumber { var: &'static str, value: String },
    #[error("{var}: {value} is out of range (expected {expected})")]
    OutOfRange {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Which backend plans and generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderKind {
    /// The rules-and-templates engine of the main app; no network.
    #[default]
    Builtin,
    /// OpenAI or any server speaking its Chat Completions API (Ollama, vLLM, llama.cpp, Gemini).
    OpenAi,
    Anthropic,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::Anthropic => ANTHROPIC_DEFAULT_BASE_URL,
            // The built-in engine never calls out; the URL is only a placeholder.
            Self::OpenAi | Self::Builtin => OPENAI_DEFAULT_BASE_URL,
        }
    }

    pub fn default_model(self) -> &'static str {
        match self {
            Self::Anthropic => ANTHROPIC_DEFAULT_MODEL,
            Self::OpenAi => OPENAI_DEFAULT_MODEL,
            Self::Builtin => "builtin",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "builtin" | "built-in" | "none" => Ok(Self::Builtin),
            "openai" | "openai-compatible" => Ok(Self::OpenAi),
            "anthropic" => Ok(Self::Anthropic),
            _ => Err(ConfigError::UnknownProvider {
                var: env::PROVIDER,
                value: s.to_owned(),
            }),
        }
    }
}

/// An API key. Debug and Display print `***` so that printing the configuration, a request
/// struct or an error can never leak it; `expose()` is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The model used for each role; cheap fast models suit `intent`, strong ones `planner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Models {
    pub intent: String,
    pub planner: String,
    pub code: String,
}

impl Models {
    pub fn all(model: &str) -> Self {
        Self {
            intent: model.to_owned(),
            planner: model.to_owned(),
            code: model.to_owned(),
        }
    }

    pub fn for_role(&self, role: Role) -> &str {
        match role {
            Role::Intent => &self.intent,
            Role::Planner => &self.planner,
            Role::Code => &self.code,
        }
    }
}

/// Every LLM setting. Build it with [`LlmConfig::for_provider`] or
/// [`LlmConfig::from_env_map`], adjust fields, then [`LlmConfig::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub provider: ProviderKind,
    /// For OpenAI-compatible servers the URL that `/chat/completions` hangs off (usually ends
    /// in `/v1`); for Anthropic the host (`/v1/messages` is appended).
    pub base_url: Url,
    pub api_key: Option<Secret>,
    pub models: Models,
    /// Default sampling temperature, 0..=2.
    pub temperature: f32,
    /// Default cap on output tokens, 1..=200000.
    pub max_tokens: u32,
    /// Upper bound for one attempt, from connecting to the last byte of the stream.
    pub request_timeout: Duration,
    /// Upper bound for establishing the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Longest silence allowed before the first byte and between two chunks of the stream.
    pub idle_timeout: Duration,
    pub pricing: Pricing,
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
    /// Spending cap for one run in USD; `None` means unlimited.
    pub budget_usd: Option<f64>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self::for_provider(ProviderKind::Builtin)
    }
}

impl LlmConfig {
    /// The defaults for one provider: its public endpoint and default model, 60 s per attempt,
    /// 30 s idle, 3 retries, free pricing and no budget.
    pub fn for_provider(provider: ProviderKind) -> Self {
        let base_url = Url::parse(provider.default_base_url())
            .unwrap_or_else(|_| unreachable!("the default base URLs are valid"));
        Self {
            provider,
            base_url,
            api_key: None,
            models: Models::all(provider.default_model()),
            temperature: 0.2,
            max_tokens: 4096,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            pricing: Pricing::default(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            budget_usd: None,
        }
    }

    /// Reads the `YOUMEYOU_LLM_*` names from `vars` (empty values count as unset), fills the
    /// rest with the provider's defaults and validates the result.
    pub fn from_env_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let provider = match get(env::PROVIDER) {
            Some(v) => v.parse()?,
            None => ProviderKind::Builtin,
        };
        let mut config = Self::for_provider(provider);

        if let Some(url) = get(env::BASE_URL) {
            config.base_url = parse_url(env::BASE_URL, url)?;
        }
        config.api_key = get(env::API_KEY).map(Secret::new);
        let default_model = get(env::MODEL).unwrap_or(provider.default_model());
        config.models = Models {
            intent: get(env::MODEL_INTENT).unwrap_or(default_model).to_owned(),
            planner: get(env::MODEL_PLANNER).unwrap_or(default_model).to_owned(),
            code: get(env::MODEL_CODE).unwrap_or(default_model).to_owned(),
        };
        if let Some(v) = get(env::TEMPERATURE) {
            config.temperature = parse_num::<f32>(env::TEMPERATURE, v)?;
        }
        if let Some(v) = get(env::MAX_TOKENS) {
            config.max_tokens = parse_num::<u32>(env::MAX_TOKENS, v)?;
        }
        if let Some(v) = get(env::TIMEOUT_SECS) {
            config.request_timeout = parse_secs(env::TIMEOUT_SECS, v)?;
        }
        if let Some(v) = get(env::IDLE_TIMEOUT_SECS) {
            config.idle_timeout = parse_secs(env::IDLE_TIMEOUT_SECS, v)?;
        }
        if let Some(v) = get(env::MAX_RETRIES) {
            config.retry.max_retries = parse_num::<u32>(env::MAX_RETRIES, v)?;
        }
        if let Some(v) = get(env::PRICE_INPUT_PER_1K) {
            config.pricing.input_per_1k_usd = parse_num::<f64>(env::PRICE_INPUT_PER_1K, v)?;
        }
        if let Some(v) = get(env::PRICE_OUTPUT_PER_1K) {
            config.pricing.output_per_1k_usd = parse_num::<f64>(env::PRICE_OUTPUT_PER_1K, v)?;
        }
        if let Some(v) = get(env::BUDGET_USD) {
            config.budget_usd = Some(parse_num::<f64>(env::BUDGET_USD, v)?);
        }
        config.validate()?;
        Ok(config)
    }

    /// [`LlmConfig::from_env_map`] over the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_env_map(&std::env::vars().collect())
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.provider != ProviderKind::Builtin {
            check_url(&self.base_url)?;
            let key_missing = self
                .api_key
                .as_ref()
                .is_none_or(|k| k.expose().trim().is_empty());
            // Self-hosted OpenAI-compatible servers (Ollama, llama.cpp) usually need no key;
            // api.openai.com and Anthropic always do.
            let key_required = match self.provider {
                ProviderKind::Anthropic => true,
                ProviderKind::OpenAi => self.base_url.host_str() == Some("api.openai.com"),
                ProviderKind::Builtin => false,
            };
            if key_required && key_missing {
                return Err(ConfigError::MissingApiKey {
                    var: env::API_KEY,
                    provider: self.provider.as_str(),
                });
            }
            for (var, model) in [
                (env::MODEL_INTENT, &self.models.intent),
                (env::MODEL_PLANNER, &self.models.planner),
                (env::MODEL_CODE, &self.models.code),
            ] {
                if model.trim().is_empty() {
                    return Err(ConfigError::MissingModel { var });
                }
            }
        }
        if !(self.temperature.is_finite() && (0.0..=2.0).contains(&self.temperature)) {
            return Err(out_of_range(env::TEMPERATURE, self.temperature, "0..=2"));
        }
        if !(1..=200_000).contains(&self.max_tokens) {
            return Err(out_of_range(env::MAX_TOKENS, self.max_tokens, "1..=200000"));
        }
        for (var, d) in [
            (env::TIMEOUT_SECS, self.request_timeout),
            (env::IDLE_TIMEOUT_SECS, self.idle_timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if d.is_zero() {
                return Err(out_of_range(var, 0, "a positive number of seconds"));
            }
        }
        if self.retry.max_retries > 10 {
            return Err(out_of_range(
                env::MAX_RETRIES,
                self.retry.max_retries,
                "0..=10",
            ));
        }
        for (var, price) in [
            (env::PRICE_INPUT_PER_1K, self.pricing.input_per_1k_usd),
            (env::PRICE_OUTPUT_PER_1K, self.pricing.output_per_1k_usd),
        ] {
            if !(price.is_finite() && price >= 0.0) {
                return Err(out_of_range(var, price, "a price of 0 or more USD"));
            }
        }
        if let Some(budget) = self.budget_usd {
            if !(budget.is_finite() && budget > 0.0) {
                return Err(out_of_range(env::BUDGET_USD, budget, "more than 0 USD"));
            }
        }
        Ok(())
    }

    /// The model configured for a role.
    pub fn model_for(&self, role: Role) -> &str {
        self.models.for_role(role)
    }
}

fn out_of_range(
    var: &'static str,
    value: impl fmt::Display,
    expected: &'static str,
) -> ConfigError {
    ConfigError::OutOfRange {
        var,
        value: value.to_string(),
        expected,
    }
}

fn parse_num<T: FromStr>(var: &'static str, value: &str) -> Result<T, ConfigError> {
    value.parse::<T>().map_err(|_| ConfigError::InvalidNumber {
        var,
        value: value.to_owned(),
    })
}

/// Seconds may be fractional ("0.3") so that tests can use short timeouts.
fn parse_secs(var: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let secs = parse_num::<f64>(var, value)?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(out_of_range(var, value, "0 < seconds <= 86400"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|e| ConfigError::InvalidUrl {
        var,
        // An unparseable value may still hold a password; show only its length.
        value: format!("<{} characters>", value.chars().count()),
        reason: e.to_string(),
    })?;
    check_url(&url)?;
    Ok(url)
}

fn check_url(url: &Url) -> Result<(), ConfigError> {
    let reason = if !matches!(url.scheme(), "http" | "https") {
        Some("the scheme must be http or https")
    } else if url.host_str().is_none_or(str::is_empty) {
        Some("a host is required")
    } else if !url.username().is_empty() || url.password().is_some() {
        Some("credentials in the URL are not allowed; use YOUMEYOU_LLM_API_KEY")
    } else if url.query().is_some() || url.fragment().is_some() {
        Some("query strings and fragments are not allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::InvalidUrl {
            var: env::BASE_URL,
            value: without_credentials(url),
            reason: reason.to_owned(),
        }),
        None => Ok(()),
    }
}

/// The URL for messages, with any user name and password removed, and the query and fragment
/// too: they may carry a key (`?key=...`, as Gemini's native API takes it).
fn without_credentials(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which is fine.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_variables_means_the_builtin_engine() {
        let config = LlmConfig::from_env_map(&HashMap::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.provider, ProviderKind::Builtin);
        assert_eq!(config.request_timeout, Duration::from_secs(60));
        assert_eq!(config.retry.max_retries, 3);
        assert_eq!(config.budget_usd, None);
    }

    #[test]
    fn every_variable_is_read() {
        let config = LlmConfig::from_env_map(&vars(&[
            (env::PROVIDER, "anthropic"),
            (env::BASE_URL, "http://127.0.0.1:9999"),
            (env::API_KEY, "sk-ant-xyz"),
            (env::MODEL, "claude-x"),
            (env::MODEL_CODE, "claude-code-x"),
            (env::TEMPERATURE, "0.7"),
            (env::MAX_TOKENS, "1000"),
            (env::TIMEOUT_SECS, "0.5"),
            (env::IDLE_TIMEOUT_SECS, "0.25"),
            (env::MAX_RETRIES, "5"),
            (env::PRICE_INPUT_PER_1K, "0.003"),
            (env::PRICE_OUTPUT_PER_1K, "0.015"),
            (env::BUDGET_USD, "2.5"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.provider, ProviderKind::Anthropic);
        assert_eq!(config.base_url.as_str(), "http://127.0.0.1:9999/");
        assert_eq!(
            config.api_key.as_ref().map(Secret::expose),
            Some("sk-ant-xyz")
        );
        assert_eq!(config.model_for(Role::Intent), "claude-x");
        assert_eq!(config.model_for(Role::Planner), "claude-x");
        assert_eq!(config.model_for(Role::Code), "claude-code-x");
        assert_eq!(config.temperature, 0.7);
        assert_eq!(config.max_tokens, 1000);
        assert_eq!(config.request_timeout, Duration::from_millis(500));
        assert_eq!(config.idle_timeout, Duration::from_millis(250));
        assert_eq!(config.retry.max_retries, 5);
        assert_eq!(config.pricing.input_per_1k_usd, 0.003);
        assert_eq!(config.pricing.output_per_1k_usd, 0.015);
        assert_eq!(config.budget_usd, Some(2.5));
    }

    #[test]
    fn provider_defaults_fill_the_gaps() {
        let openai =
            LlmConfig::from_env_map(&vars(&[(env::PROVIDER, "openai"), (env::API_KEY, "sk-1")]))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(openai.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(openai.models, Models::all(OPENAI_DEFAULT_MODEL));
        let anthropic =
            LlmConfig::from_env_map(&vars(&[(env::PROVIDER, "anthropic"), (env::API_KEY, "k")]))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(anthropic.base_url.as_str(), "https://api.anthropic.com/");
    }

    #[test]
    fn a_local_openai_compatible_server_needs_no_key() {
        let config = LlmConfig::from_env_map(&vars(&[
            (env::PROVIDER, "openai"),
            (env::BASE_URL, "http://localhost:11434/v1"),
            (env::MODEL, "llama3.2"),
        ]));
        assert!(config.is_ok(), "{config:?}");
    }

    #[test]
    fn invalid_values_are_typed_errors_naming_the_variable() {
        let cases: &[(&[(&str, &str)], ConfigError)] = &[
            (
                &[(env::PROVIDER, "gpt")],
                ConfigError::UnknownProvider {
                    var: env::PROVIDER,
                    value: "gpt".into(),
                },
            ),
            (
                &[(env::PROVIDER, "anthropic")],
                ConfigError::MissingApiKey {
                    var: env::API_KEY,
                    provider: "anthropic",
                },
            ),
            (
                &[(env::PROVIDER, "openai")],
                ConfigError::MissingApiKey {
                    var: env::API_KEY,
                    provider: "openai",
                },
            ),
            (
                &[(env::TEMPERATURE, "hot")],
                ConfigError::InvalidNumber {
                    var: env::TEMPERATURE,
                    value: "hot".into(),
                },
            ),
            (
                &[(env::TEMPERATURE, "2.5")],
                ConfigError::OutOfRange {
                    var: env::TEMPERATURE,
                    value: "2.5".into(),
                    expected: "0..=2",
                },
            ),
            (
                &[(env::MAX_TOKENS, "0")],
                ConfigError::OutOfRange {
                    var: env::MAX_TOKENS,
                    value: "0".into(),
                    expected: "1..=200000",
                },
            ),
            (
                &[(env::MAX_TOKENS, "200001")],
                ConfigError::OutOfRange {
                    var: env::MAX_TOKENS,
                    value: "200001".into(),
                    expected: "1..=200000",
                },
            ),
        ];
        for (input, expected) in cases {
            let got = LlmConfig::from_env_map(&vars(input));
            assert_eq!(got.as_ref().err(), Some(expected), "for {input:?}");
        }
        let bad_url = LlmConfig::from_env_map(&vars(&[
            (env::PROVIDER, "openai"),
            (env::BASE_URL, "ftp://example.com"),
        ]));
        assert!(
            matches!(bad_url, Err(ConfigError::InvalidUrl { var, .. }) if var == env::BASE_URL),
            "{bad_url:?}"
        );
        let not_a_url = LlmConfig::from_env_map(&vars(&[(env::BASE_URL, "localhost")]));
        assert!(matches!(not_a_url, Err(ConfigError::InvalidUrl { .. })));
        let with_password = LlmConfig::from_env_map(&vars(&[
            (env::PROVIDER, "openai"),
            (env::BASE_URL, "https://me:hunter2@example.com/v1"),
        ]));
        let shown = format!("{with_password:?}");
        assert!(
            matches!(with_password, Err(ConfigError::InvalidUrl { .. })),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        let with_query = LlmConfig::from_env_map(&vars(&[
            (env::PROVIDER, "openai"),
            (
                env::BASE_URL,
                "https://example.com/v1?key=AIzaSecretValue#sig-xyz",
            ),
        ]));
        let Err(error) = with_query else {
            panic!("a query string is refused")
        };
        let shown = format!("{error:?} {error}");
        assert!(!shown.contains("AIzaSecretValue"), "{shown}");
        assert!(!shown.contains("sig-xyz"), "{shown}");
        let budget = LlmConfig::from_env_map(&vars(&[(env::BUDGET_USD, "-1")]));
        assert!(
            matches!(budget, Err(ConfigError::OutOfRange { var, .. }) if var == env::BUDGET_USD)
        );
    }

    #[test]
    fn the_key_never_shows_in_debug_or_display() {
        let config = LlmConfig::from_env_map(&vars(&[
            (env::PROVIDER, "openai"),
            (env::API_KEY, "sk-very-secret"),
        ]))
        .unwrap_or_else(|e| panic!("{e}"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("sk-very-secret"), "{printed}");
        assert!(printed.contains("***"));
        assert_eq!(Secret::new("abc").to_string(), "***");
    }
}
