//! YouMeYou's LLM provider layer: streaming clients for OpenAI-compatible servers and
//! Anthropic behind one `Provider` trait, with classified errors, retries, circuit breakers,
//! cost and budgets, validated structured output, throttled progress and versioned prompts.
//! It knows nothing of runs, canvases or the web app; the built-in engine lives elsewhere.
//!
//! Typical wiring:
//! ```no_run
//! # async fn demo() -> Result<(), youmeyou_llm::LlmError> {
//! use youmeyou_llm::{build_provider, Budget, BudgetedProvider, LlmConfig};
//! let config = LlmConfig::from_process_env()?;
//! if let Some(shared) = build_provider(&config)? {
//!     // One per run: enforces that run's budget.
//!     let run = BudgetedProvider::new(shared, config.pricing, config.max_tokens, Budget::new(config.budget_usd));
//!     # let _ = run;
//! }
//! # Ok(()) }
//! ```

pub mod anthropic;
pub mod breaker;
pub mod config;
pub mod cost;
pub mod error;
pub mod openai;
pub mod prompts;
pub mod provider;
pub mod redact;
pub mod retry;
mod sse;
pub mod structured;
pub mod throttle;

use std::sync::Arc;

/// Re-exported so that other crates can implement [`Provider`] (with
/// `#[youmeyou_llm::async_trait]`) without depending on `async-trait` themselves.
pub use async_trait::async_trait;

pub use anthropic::AnthropicProvider;
pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker, UserBreaker};
pub use config::{ConfigError, LlmConfig, Models, ProviderKind, Secret};
pub use cost::{estimate_tokens, Budget, BudgetedProvider, Pricing, Usage};
pub use error::{LlmError, TimeoutPhase};
pub use openai::OpenAiProvider;
pub use prompts::{PromptError, Template};
pub use provider::{
    complete_quietly, Completion, CompletionRequest, EventSink, FinishReason, Message, Provider,
    Role, Speaker, StreamEvent,
};
pub use redact::Redactor;
pub use retry::{ResilientProvider, RetryPolicy};
pub use structured::{generate_validated, generate_validated_with, Validated};
pub use throttle::{complete_with_progress, Progress, ProgressSink, Throttle};

/// The configured network provider wrapped in retries and its circuit breaker, ready to be
/// shared by every run; `None` for the built-in engine, which the app supplies itself.
pub fn build_provider(config: &LlmConfig) -> Result<Option<Arc<dyn Provider>>, LlmError> {
    build_provider_with(config, Arc::new(Redactor::new()))
}

/// [`build_provider`] with the application's shared [`Redactor`]: the configured API key is
/// registered with it, and every error the provider returns is scrubbed by it.
pub fn build_provider_with(
    config: &LlmConfig,
    redactor: Arc<Redactor>,
) -> Result<Option<Arc<dyn Provider>>, LlmError> {
    config.validate()?;
    let wire: Arc<dyn Provider> = match config.provider {
        ProviderKind::Builtin => return Ok(None),
        ProviderKind::OpenAi => Arc::new(OpenAiProvider::with_redactor(config, redactor)?),
        ProviderKind::Anthropic => Arc::new(AnthropicProvider::with_redactor(config, redactor)?),
    };
    Ok(Some(Arc::new(ResilientProvider::new(
        wire,
        config.retry,
        config.breaker,
    ))))
}
