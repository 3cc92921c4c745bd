//! The `--llm-*` flags of `youmeyou serve`, each reading the `YOUMEYOU_LLM_*` variable that the
//! provider crate documents, validated by that crate into an `LlmConfig`. Errors name the flag;
//! the key is never printed (clap hides its environment value, `Debug` masks it).

use crate::server::config::ConfigError;
use clap::Args;
use std::collections::HashMap;
use std::fmt;
use youmeyou_llm::config::{env, ConfigError as LlmConfigError};
use youmeyou_llm::LlmConfig;

/// LLM provider flags (flattened into `youmeyou serve`). Unset values take the provider's
/// defaults; `builtin` (the default) calls no model at all. Numbers are kept as text so that
/// out-of-range values (negative ones too) get the crate's message naming the flag.
#[derive(Clone, Args)]
#[command(next_help_heading = "LLM provider")]
pub struct LlmArgs {
    /// Who plans and generates: `builtin` (the offline rules engine), `openai` (any
    /// OpenAI-compatible server: OpenAI, Ollama, vLLM, llama.cpp) or `anthropic`.
    #[arg(long, env = env::PROVIDER, default_value = "builtin", value_name = "PROVIDER")]
    pub llm_provider: String,
    /// The provider's endpoint: for OpenAI-compatible servers the URL `/chat/completions`
    /// hangs off (e.g. http://localhost:11434/v1); for Anthropic the host.
    #[arg(long, env = env::BASE_URL, value_name = "URL")]
    pub llm_base_url: Option<String>,
    /// The provider's API key (prefer the environment variable: flags show in process lists).
    #[arg(long, env = env::API_KEY, value_name = "KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// Default model for every role (gpt-4o-mini / claude-sonnet-4-0 when unset).
    #[arg(long, env = env::MODEL, value_name = "MODEL")]
    pub llm_model: Option<String>,
    /// Model for intent analysis (a small fast one is enough).
    #[arg(long, env = env::MODEL_INTENT, value_name = "MODEL")]
    pub llm_model_intent: Option<String>,
    /// Model for planning.
    #[arg(long, env = env::MODEL_PLANNER, value_name = "MODEL")]
    pub llm_model_planner: Option<String>,
    /// Model for task execution (code, schemas, architecture).
    #[arg(long, env = env::MODEL_CODE, value_name = "MODEL")]
    pub llm_model_code: Option<String>,
    /// Sampling temperature, 0–2 (default 0.2).
    #[arg(long, env = env::TEMPERATURE, allow_negative_numbers = true, value_name = "X")]
    pub llm_temperature: Option<String>,
    /// Cap on output tokens per call, 1–200000 (default 4096).
    #[arg(long, env = env::MAX_TOKENS, allow_negative_numbers = true, value_name = "N")]
    pub llm_max_tokens: Option<String>,
    /// Upper bound for one call, seconds, fractions allowed (default 60).
    #[arg(long, env = env::TIMEOUT_SECS, allow_negative_numbers = true, value_name = "SECS")]
    pub llm_timeout_secs: Option<String>,
    /// Longest silence before the first byte and between stream chunks, seconds (default 30).
    #[arg(long, env = env::IDLE_TIMEOUT_SECS, allow_negative_numbers = true, value_name = "SECS")]
    pub llm_idle_timeout_secs: Option<String>,
    /// Retries of soft errors (rate limits, 5xx, timeouts) after the first attempt, 0–10
    /// (default 3).
    #[arg(long, env = env::MAX_RETRIES, allow_negative_numbers = true, value_name = "N")]
    pub llm_max_retries: Option<String>,
    /// USD per 1,000 prompt tokens, for costs and budgets (default 0).
    #[arg(long = "llm-price-input-per-1k", env = env::PRICE_INPUT_PER_1K, allow_negative_numbers = true, value_name = "USD")]
    pub llm_price_input_per_1k: Option<String>,
    /// USD per 1,000 output tokens (default 0).
    #[arg(long = "llm-price-output-per-1k", env = env::PRICE_OUTPUT_PER_1K, allow_negative_numbers = true, value_name = "USD")]
    pub llm_price_output_per_1k: Option<String>,
    /// Spending cap per run, USD (default: unlimited here; the tier's budget still applies).
    #[arg(long, env = env::BUDGET_USD, allow_negative_numbers = true, value_name = "USD")]
    pub llm_budget_usd: Option<String>,
}

impl fmt::Debug for LlmArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmArgs")
            .field("llm_provider", &self.llm_provider)
            .field("llm_base_url", &self.llm_base_url)
            .field("llm_api_key", &self.llm_api_key.as_ref().map(|_| "***"))
            .field("llm_model", &self.llm_model)
            .finish_non_exhaustive()
    }
}

/// Each variable with the flag that sets it, as error messages name it.
const FLAGS: [(&str, &str); 15] = [
    (env::PROVIDER, "--llm-provider (YOUMEYOU_LLM_PROVIDER)"),
    (env::BASE_URL, "--llm-base-url (YOUMEYOU_LLM_BASE_URL)"),
    (env::API_KEY, "--llm-api-key (YOUMEYOU_LLM_API_KEY)"),
    (env::MODEL, "--llm-model (YOUMEYOU_LLM_MODEL)"),
    (
        env::MODEL_INTENT,
        "--llm-model-intent (YOUMEYOU_LLM_MODEL_INTENT)",
    ),
    (
        env::MODEL_PLANNER,
        "--llm-model-planner (YOUMEYOU_LLM_MODEL_PLANNER)",
    ),
    (
        env::MODEL_CODE,
        "--llm-model-code (YOUMEYOU_LLM_MODEL_CODE)",
    ),
    (
        env::TEMPERATURE,
        "--llm-temperature (YOUMEYOU_LLM_TEMPERATURE)",
    ),
    (
        env::MAX_TOKENS,
        "--llm-max-tokens (YOUMEYOU_LLM_MAX_TOKENS)",
    ),
    (
        env::TIMEOUT_SECS,
        "--llm-timeout-secs (YOUMEYOU_LLM_TIMEOUT_SECS)",
    ),
    (
        env::IDLE_TIMEOUT_SECS,
        "--llm-idle-timeout-secs (YOUMEYOU_LLM_IDLE_TIMEOUT_SECS)",
    ),
    (
        env::MAX_RETRIES,
        "--llm-max-retries (YOUMEYOU_LLM_MAX_RETRIES)",
    ),
    (
        env::PRICE_INPUT_PER_1K,
        "--llm-price-input-per-1k (YOUMEYOU_LLM_PRICE_INPUT_PER_1K)",
    ),
    (
        env::PRICE_OUTPUT_PER_1K,
        "--llm-price-output-per-1k (YOUMEYOU_LLM_PRICE_OUTPUT_PER_1K)",
    ),
    (
        env::BUDGET_USD,
        "--llm-budget-usd (YOUMEYOU_LLM_BUDGET_USD)",
    ),
];

/// The flag (with its variable) that sets `var`; `var` itself for struct-only settings.
pub fn flag_of(var: &'static str) -> &'static str {
    FLAGS
        .iter()
        .find(|(name, _)| *name == var)
        .map_or(var, |(_, flag)| flag)
}

impl LlmArgs {
    /// Validates the flags into the provider crate's configuration.
    pub fn into_config(self) -> Result<LlmConfig, ConfigError> {
        let values = [
            (env::PROVIDER, Some(self.llm_provider)),
            (env::BASE_URL, self.llm_base_url),
            (env::API_KEY, self.llm_api_key),
            (env::MODEL, self.llm_model),
            (env::MODEL_INTENT, self.llm_model_intent),
            (env::MODEL_PLANNER, self.llm_model_planner),
            (env::MODEL_CODE, self.llm_model_code),
            (env::TEMPERATURE, self.llm_temperature),
            (env::MAX_TOKENS, self.llm_max_tokens),
            (env::TIMEOUT_SECS, self.llm_timeout_secs),
            (env::IDLE_TIMEOUT_SECS, self.llm_idle_timeout_secs),
            (env::MAX_RETRIES, self.llm_max_retries),
            (env::PRICE_INPUT_PER_1K, self.llm_price_input_per_1k),
            (env::PRICE_OUTPUT_PER_1K, self.llm_price_output_per_1k),
            (env::BUDGET_USD, self.llm_budget_usd),
        ];
        let vars: HashMap<String, String> = values
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
            .collect();
        LlmConfig::from_env_map(&vars).map_err(to_flag_error)
    }
}

/// The crate's error, reworded for the flag that carries the value.
pub fn to_flag_error(error: LlmConfigError) -> ConfigError {
    let (var, message) = match error {
        LlmConfigError::UnknownProvider { var, value } => (
            var,
            format!("unknown provider '{value}': expected builtin, openai or anthropic"),
        ),
        LlmConfigError::InvalidUrl { var, value, reason } => (
            var,
            format!("'{value}' is not a usable http(s) URL: {reason}"),
        ),
        LlmConfigError::MissingApiKey { var, provider } => (
            var,
            format!("a key is required for the {provider} provider; set it in the environment"),
        ),
        LlmConfigError::MissingModel { var } => (var, "the model name must not be empty".into()),
        LlmConfigError::InvalidNumber { var, value } => (var, format!("'{value}' is not a number")),
        LlmConfigError::OutOfRange {
            var,
            value,
            expected,
        } => (
            var,
            format!("{value} is out of range (expected {expected})"),
        ),
    };
    ConfigError {
        flag: flag_of(var),
        message,
    }
}
