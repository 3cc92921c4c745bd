//! LLM providers wired into the orchestrator: `LlmPlanner` and `LlmAgents` behind the
//! `Planner` and `Agents` seams, one shared provider (retries and the provider's circuit breaker
//! live in `youmeyou-llm`), a budget and a token count per run, and the per-user breaker that
//! refuses new runs after repeated fatal failures. No HTTP here (routes ask `check_user`); the
//! API key is never logged.

pub mod agents;
pub mod answer;
pub mod config;
pub mod planner;

pub use agents::LlmAgents;
pub use config::LlmArgs;
pub use planner::LlmPlanner;

use crate::server::error::ApiError;
use crate::server::limits::{LimitsConfig, Tier};
use crate::server::orchestrator::planning::PlanWarning;
use crate::server::orchestrator::snapshot;
use crate::server::store::Store;
use axum::http::StatusCode;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use youmeyou_core::engine::context::CanvasContext;
use youmeyou_core::model::Canvas;
use youmeyou_llm::{
    build_provider_with, Budget, BudgetedProvider, LlmConfig, LlmError, Pricing, Provider,
    Redactor, Usage, UserBreaker,
};

/// Runs whose budget and notes are kept in memory; older ones are forgotten first (a run
/// that comes back after that gets a fresh ledger seeded from its stored costs).
const MAX_LEDGERS: usize = 256;

/// Everything the LLM planner and agents share: the configured provider, per-run ledgers and
/// the per-user breaker. One per process, in `AppState::llm`.
pub struct LlmRuntime {
    config: LlmConfig,
    provider: Arc<dyn Provider>,
    store: Arc<dyn Store>,
    limits: LimitsConfig,
    ledgers: Mutex<Ledgers>,
    users: Mutex<UserBreaker>,
    /// The process's redactor (API key, JWT secrets), for error texts shown to users.
    redactor: Arc<Redactor>,
}

#[derive(Default)]
struct Ledgers {
    by_run: HashMap<String, Arc<RunLedger>>,
    order: VecDeque<String>,
}

/// One run's view of the provider: its budget and token count, its owner, and notes the
/// planner leaves for later phases.
pub struct RunLedger {
    run_id: String,
    owner_id: Option<String>,
    /// The owner's tier limit on plan size.
    max_plan_tasks: usize,
    provider: BudgetedProvider<dyn Provider>,
    notes: Mutex<Notes>,
}

#[derive(Default)]
struct Notes {
    /// Why the intent came from the built-in classifier, reported with the plan.
    intent_warning: Option<PlanWarning>,
    /// Planning's spend so far (intent analysis + plan).
    planning_usd: f64,
    planning_usage: Usage,
    /// A fatal failure of this run was counted against its owner already.
    failure_recorded: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a plain assignment; a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl LlmRuntime {
    /// The runtime for the configured provider; `None` for `builtin`. The provider registers
    /// its key with `redactor` and scrubs every error with it.
    pub fn from_config(
        config: &LlmConfig,
        limits: &LimitsConfig,
        store: Arc<dyn Store>,
        redactor: Arc<Redactor>,
    ) -> anyhow::Result<Option<Arc<Self>>> {
        let provider = build_provider_with(config, redactor.clone()).map_err(|e| {
            anyhow::anyhow!(
                "cannot set up the {} LLM provider: {e}",
                config.provider.as_str()
            )
        })?;
        Ok(provider.map(|p| {
            tracing::info!(
                provider = config.provider.as_str(),
                base_url = %config.base_url,
                intent_model = %config.models.intent,
                planner_model = %config.models.planner,
                code_model = %config.models.code,
                "LLM provider configured"
            );
            Self::build(config.clone(), p, limits.clone(), store, redactor)
        }))
    }

    /// A runtime over any provider (a custom one, or a test double), scrubbing with the
    /// process's redactor.
    pub fn with_provider(
        config: LlmConfig,
        provider: Arc<dyn Provider>,
        limits: LimitsConfig,
        store: Arc<dyn Store>,
    ) -> Arc<Self> {
        let redactor = crate::server::telemetry::redactor();
        if let Some(key) = &config.api_key {
            redactor.register(key.expose());
        }
        Self::build(config, provider, limits, store, redactor)
    }

    fn build(
        config: LlmConfig,
        provider: Arc<dyn Provider>,
        limits: LimitsConfig,
        store: Arc<dyn Store>,
        redactor: Arc<Redactor>,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            provider,
            store,
            limits,
            ledgers: Mutex::new(Ledgers::default()),
            users: Mutex::new(UserBreaker::default()),
            redactor,
        })
    }

    /// Scrubs every known secret from an error's text before it is stored, emitted or logged.
    /// Provider errors arrive scrubbed already; this also covers the rest (invalid output).
    pub fn redact(&self, error: LlmError) -> LlmError {
        error.redacted(&self.redactor)
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    pub fn pricing(&self) -> Pricing {
        self.config.pricing
    }

    /// Refuses a new run of `user_id` while their breaker is open (3 fatal failures within 5
    /// minutes): 429 `user_circuit_open` with the seconds until they may try again.
    pub fn check_user(&self, user_id: &str) -> Result<(), ApiError> {
        let verdict = lock(&self.users).check(user_id, Instant::now());
        match verdict {
            Ok(()) => Ok(()),
            Err(error) => {
                let secs = error.retry_after_secs().unwrap_or(60);
                Err(ApiError::Coded {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    code: "user_circuit_open",
                    message: format!(
                        "Your last runs failed with errors that need a fix (API key, model, budget); new runs are paused. Retry in {secs} s."
                    ),
                    retry_after: Some(secs),
                })
            }
        }
    }

    /// Counts a fatal failure that fails a task against the run's owner, once per run. Soft
    /// failures and refusals by a breaker are not counted (see `UserBreaker::record_failure`),
    /// nor planner failures, which fall back to the built-in engine and let the run go on.
    pub fn record_failure(&self, ledger: &RunLedger, error: &LlmError) {
        let Some(owner) = ledger.owner_id.as_deref() else {
            return;
        };
        if error.retryable() {
            return;
        }
        {
            let mut notes = lock(&ledger.notes);
            if notes.failure_recorded {
                return;
            }
            notes.failure_recorded = true;
        }
        tracing::warn!(run = %ledger.run_id, code = error.code(), "fatal LLM failure counted against the run's owner");
        lock(&self.users).record_failure(owner, error, Instant::now());
    }

    /// The ledger of `run_id`, created on first use: the owner (given, or looked up), the
    /// owner's tier limits, and the budget, seeded with what the run already spent (a run
    /// resumed after a restart).
    pub async fn ledger(&self, run_id: &str, owner_hint: Option<&str>) -> Arc<RunLedger> {
        if let Some(ledger) = lock(&self.ledgers).by_run.get(run_id) {
            return ledger.clone();
        }
        let owner_id = match owner_hint {
            Some(owner) => Some(owner.to_string()),
            None => match self.store.run_ref(run_id).await {
                Ok(run) => run.map(|r| r.owner_id),
                Err(e) => {
                    tracing::warn!(run = %run_id, error = %e, "cannot read the run's owner");
                    None
                }
            },
        };
        let tier = match &owner_id {
            Some(owner) => match self.store.user_by_id(owner).await {
                Ok(user) => user.map_or(Tier::Free, |u| u.tier),
                Err(e) => {
                    tracing::warn!(run = %run_id, error = %e, "cannot read the owner's tier; using free");
                    Tier::Free
                }
            },
            None => Tier::Free,
        };
        let spent = match self.store.load_tasks(run_id).await {
            Ok(records) => snapshot::run_cost(self.store.as_ref(), run_id, &records)
                .await
                .map(|c| c.usd)
                .unwrap_or(0.0),
            Err(_) => 0.0,
        };
        let ledger = Arc::new(self.new_ledger(run_id, owner_id, tier, spent));
        let mut ledgers = lock(&self.ledgers);
        if let Some(existing) = ledgers.by_run.get(run_id) {
            return existing.clone();
        }
        ledgers.by_run.insert(run_id.to_string(), ledger.clone());
        ledgers.order.push_back(run_id.to_string());
        while ledgers.order.len() > MAX_LEDGERS {
            if let Some(old) = ledgers.order.pop_front() {
                ledgers.by_run.remove(&old);
            }
        }
        ledger
    }

    /// A ledger that belongs to no stored run (planner calls outside a pipeline).
    pub fn detached_ledger(&self) -> RunLedger {
        self.new_ledger("", None, Tier::Free, 0.0)
    }

    fn new_ledger(
        &self,
        run_id: &str,
        owner_id: Option<String>,
        tier: Tier,
        spent_usd: f64,
    ) -> RunLedger {
        let tier = self.limits.tier(tier);
        // The stricter of the operator's cap and the tier's budget.
        let limit = match self.config.budget_usd {
            Some(cap) => cap.min(tier.budget_usd),
            None => tier.budget_usd,
        };
        let mut budget = Budget::new(Some(limit));
        budget.record(spent_usd);
        RunLedger {
            run_id: run_id.to_string(),
            owner_id,
            max_plan_tasks: (tier.max_plan_tasks as usize).clamp(1, youmeyou_core::plan::MAX_TASKS),
            provider: BudgetedProvider::new(
                self.provider.clone(),
                self.config.pricing,
                self.config.max_tokens,
                budget,
            ),
            notes: Mutex::new(Notes::default()),
        }
    }
}

/// USD and tokens spent by a ledger, to measure one phase by difference.
#[derive(Debug, Clone, Copy)]
struct Spend {
    usd: f64,
    usage: Usage,
}

impl RunLedger {
    pub fn provider(&self) -> &BudgetedProvider<dyn Provider> {
        &self.provider
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    fn spend(&self) -> Spend {
        Spend {
            usd: self.provider.spent_usd(),
            usage: self.provider.usage(),
        }
    }

    /// Adds what was spent since `before` to planning's account.
    fn add_planning_since(&self, before: Spend) {
        let now = self.spend();
        let mut notes = lock(&self.notes);
        notes.planning_usd += (now.usd - before.usd).max(0.0);
        notes.planning_usage.add(Usage {
            input_tokens: now
                .usage
                .input_tokens
                .saturating_sub(before.usage.input_tokens),
            output_tokens: now
                .usage
                .output_tokens
                .saturating_sub(before.usage.output_tokens),
            estimated: now.usage.estimated,
        });
    }

    fn planning(&self) -> (f64, Usage) {
        let notes = lock(&self.notes);
        (notes.planning_usd, notes.planning_usage)
    }

    fn set_intent_warning(&self, warning: PlanWarning) {
        lock(&self.notes).intent_warning = Some(warning);
    }

    fn take_intent_warning(&self) -> Option<PlanWarning> {
        lock(&self.notes).intent_warning.take()
    }
}

/// Longest canvas description put into a prompt, in characters.
const MAX_CANVAS_SUMMARY_CHARS: usize = 6000;

/// The canvas in a few lines a model can read: nodes (id, type, label) then edges.
pub fn canvas_summary(canvas: &Canvas) -> String {
    if canvas.nodes.is_empty() {
        return "(empty: nothing designed yet)".into();
    }
    let mut text = String::new();
    text.push_str("Nodes:\n");
    for node in &canvas.nodes {
        let kind = serde_json::to_value(node.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        text.push_str(&format!("- {} ({kind}): {}\n", node.id, node.label));
    }
    if !canvas.edges.is_empty() {
        text.push_str("Edges:\n");
        for edge in &canvas.edges {
            let kind = youmeyou_core::canvas::edge_type_name(edge.kind);
            text.push_str(&format!("- {} -> {} ({kind})\n", edge.source, edge.target));
        }
    }
    shorten(&text, MAX_CANVAS_SUMMARY_CHARS)
}

/// The extracted context in the same form, for the planner.
pub fn context_summary(context: &CanvasContext) -> String {
    if context.is_empty {
        return "(empty: nothing designed yet)".into();
    }
    let mut text = String::from("Nodes:\n");
    for c in &context.components {
        let kind = serde_json::to_value(c.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        text.push_str(&format!("- {} ({kind}): {}\n", c.id, c.label));
    }
    if let Some(target) = &context.target {
        text.push_str(&format!("The request is about `{}`.\n", target.id));
    }
    shorten(&text, MAX_CANVAS_SUMMARY_CHARS)
}

/// `text` cut to `max` characters, marked when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… (truncated)", &text[..cut]),
        None => text.to_string(),
    }
}
