//! Token usage, its price in USD, token estimates for providers that report no usage, and the
//! per-run budget (a pure tracker plus `BudgetedProvider`, the wrapper that enforces it around
//! every call). Prices come from the configuration; nothing here knows a provider's price list.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::LlmError;
use crate::provider::{Completion, CompletionRequest, EventSink, Provider};

/// Tokens of one call (or a sum of calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// True when (part of) the numbers are our chars/4 estimate, not the provider's count.
    pub estimated: bool,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    /// Adds another call's usage; the sum is estimated if either part was.
    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.estimated |= other.estimated;
    }
}

/// Roughly four characters per token for English text and code with the common BPE
/// tokenizers; good enough for budgets, never used for billing truth.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The usage of a call the provider did not count: prompt and answer estimated.
pub fn estimate_usage(request: &CompletionRequest, answer: &str) -> Usage {
    Usage {
        input_tokens: request.estimated_input_tokens(),
        output_tokens: estimate_tokens(answer),
        estimated: true,
    }
}

/// USD per 1,000 tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pricing {
    pub input_per_1k_usd: f64,
    pub output_per_1k_usd: f64,
}

impl Pricing {
    pub fn cost_usd(&self, usage: &Usage) -> f64 {
        self.tokens_cost_usd(usage.input_tokens, usage.output_tokens)
    }

    pub fn tokens_cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        (input_tokens as f64 * self.input_per_1k_usd
            + output_tokens as f64 * self.output_per_1k_usd)
            / 1000.0
    }

    /// The most a request can cost: its estimated prompt plus a full `max_tokens` answer.
    /// Checking this before a call means a run can never overshoot its budget.
    pub fn worst_case_usd(&self, request: &CompletionRequest, max_tokens: u32) -> f64 {
        self.tokens_cost_usd(request.estimated_input_tokens(), u64::from(max_tokens))
    }
}

/// Money spent by one run against its optional limit. Calls in flight hold a reservation of
/// their worst case so that parallel tasks cannot together overshoot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budget {
    limit_usd: Option<f64>,
    spent_usd: f64,
    reserved_usd: f64,
}

impl Budget {
    pub fn new(limit_usd: Option<f64>) -> Self {
        Self {
            limit_usd,
            spent_usd: 0.0,
            reserved_usd: 0.0,
        }
    }

    pub fn spent_usd(&self) -> f64 {
        self.spent_usd
    }

    pub fn limit_usd(&self) -> Option<f64> {
        self.limit_usd
    }

    /// Fails with `budget_exceeded` if spending `needed_usd` more could pass the limit.
    pub fn check(&self, needed_usd: f64) -> Result<(), LlmError> {
        match self.limit_usd {
            Some(limit) if self.spent_usd + self.reserved_usd + needed_usd > limit => {
                Err(LlmError::BudgetExceeded {
                    limit_usd: limit,
                    spent_usd: self.spent_usd,
                    needed_usd,
                })
            }
            _ => Ok(()),
        }
    }

    /// `check` and, when it passes, hold `needed_usd` until [`Budget::settle`].
    pub fn reserve(&mut self, needed_usd: f64) -> Result<(), LlmError> {
        self.check(needed_usd)?;
        self.reserved_usd += needed_usd;
        Ok(())
    }

    /// Releases a reservation and records what the call really cost.
    pub fn settle(&mut self, reserved_usd: f64, actual_usd: f64) {
        self.reserved_usd = (self.reserved_usd - reserved_usd).max(0.0);
        self.record(actual_usd);
    }

    /// Records a cost that had no reservation.
    pub fn record(&mut self, cost_usd: f64) {
        if cost_usd.is_finite() && cost_usd > 0.0 {
            self.spent_usd += cost_usd;
        }
    }
}

/// A per-run view of a provider that enforces the run's budget and adds up its usage. Wrap
/// the shared (retrying) provider in one of these when a run starts.
pub struct BudgetedProvider<P: ?Sized> {
    inner: std::sync::Arc<P>,
    pricing: Pricing,
    default_max_tokens: u32,
    state: Mutex<(Budget, Usage)>,
}

impl<P: Provider + ?Sized> BudgetedProvider<P> {
    pub fn new(
        inner: std::sync::Arc<P>,
        pricing: Pricing,
        default_max_tokens: u32,
        budget: Budget,
    ) -> Self {
        Self {
            inner,
            pricing,
            default_max_tokens,
            state: Mutex::new((budget, Usage::default())),
        }
    }

    /// USD spent so far by this run.
    pub fn spent_usd(&self) -> f64 {
        self.lock().0.spent_usd()
    }

    /// Tokens used so far by this run.
    pub fn usage(&self) -> Usage {
        self.lock().1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Budget, Usage)> {
        // A panic while holding this lock cannot leave the numbers inconsistent (every update
        // is a single assignment), so a poisoned lock is still safe to use.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl<P: Provider + ?Sized> Provider for BudgetedProvider<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn complete(
        &self,
        request: &CompletionRequest,
        on_event: EventSink<'_>,
    ) -> Result<Completion, LlmError> {
        let max_tokens = request.max_tokens.unwrap_or(self.default_max_tokens);
        let reserved = self.pricing.worst_case_usd(request, max_tokens);
        self.lock().0.reserve(reserved)?;
        // Releases the reservation if this future is dropped mid-call (a cancelled or edited
        // task): otherwise the run's budget would shrink by the worst case for good.
        let mut pending = Reservation {
            state: &self.state,
            usd: reserved,
            open: true,
        };
        let result = self.inner.complete(request, on_event).await;
        pending.open = false;
        let mut state = self.lock();
        match &result {
            Ok(completion) => {
                state
                    .0
                    .settle(reserved, self.pricing.cost_usd(&completion.usage));
                state.1.add(completion.usage);
            }
            // A failed call's usage is unknown (the provider never sent it); count nothing
            // rather than guess.
            Err(_) => state.0.settle(reserved, 0.0),
        }
        result
    }
}

/// A reservation that is settled at zero cost when dropped while still open.
struct Reservation<'a> {
    state: &'a Mutex<(Budget, Usage)>,
    usd: f64,
    open: bool,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.open {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.0.settle(self.usd, 0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::Role;

    /// Never answers, like a slow provider whose caller gives up.
    struct Silent;

    #[async_trait]
    impl Provider for Silent {
        fn name(&self) -> &str {
            "silent"
        }

        async fn complete(
            &self,
            _request: &CompletionRequest,
            _on_event: EventSink<'_>,
        ) -> Result<Completion, LlmError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_dropped_call_releases_its_reservation() {
        let pricing = Pricing {
            input_per_1k_usd: 0.0,
            output_per_1k_usd: 1.0,
        };
        // Room for exactly one worst case (1,000 output tokens = 1 USD) at a time.
        let run = BudgetedProvider::new(
            std::sync::Arc::new(Silent),
            pricing,
            1000,
            Budget::new(Some(1.5)),
        );
        let request = CompletionRequest::new(Role::Code, "", "");
        for _ in 0..3 {
            let call = crate::provider::complete_quietly(&run, &request);
            let waited = tokio::time::timeout(std::time::Duration::from_millis(1), call).await;
            assert!(waited.is_err(), "the silent provider never answers");
        }
        assert_eq!(run.spent_usd(), 0.0);
        assert!(run.lock().0.check(1.0).is_ok(), "nothing stays reserved");
    }

    #[test]
    fn usage_is_priced_per_thousand_tokens() {
        let pricing = Pricing {
            input_per_1k_usd: 0.003,
            output_per_1k_usd: 0.015,
        };
        let usage = Usage {
            input_tokens: 2000,
            output_tokens: 500,
            estimated: false,
        };
        let cost = pricing.cost_usd(&usage);
        assert!((cost - (0.006 + 0.0075)).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn tokens_are_estimated_as_chars_over_four() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        // Characters, not bytes: "é" is two bytes.
        assert_eq!(estimate_tokens("éééé"), 1);
        let req = CompletionRequest::new(Role::Code, "sys!", "12345678");
        let usage = estimate_usage(&req, "answer!!");
        assert_eq!(
            usage,
            Usage {
                input_tokens: 3,
                output_tokens: 2,
                estimated: true
            }
        );
    }

    #[test]
    fn budget_refuses_a_call_that_could_exceed_it() {
        let mut budget = Budget::new(Some(1.0));
        assert!(budget.reserve(0.6).is_ok());
        // The reservation counts: a parallel call of 0.6 could overshoot.
        let err = budget.reserve(0.6).err();
        assert_eq!(err.as_ref().map(LlmError::code), Some("budget_exceeded"));
        assert_eq!(err.map(|e| e.retryable()), Some(false));
        budget.settle(0.6, 0.2);
        assert!((budget.spent_usd() - 0.2).abs() < 1e-12);
        assert!(budget.check(0.8).is_ok());
        budget.record(0.5);
        assert!(budget.check(0.31).is_err());
        assert!(Budget::new(None).check(1e9).is_ok(), "no limit, no refusal");
    }

    #[test]
    fn usage_adds_up_and_stays_estimated() {
        let mut total = Usage::default();
        total.add(Usage {
            input_tokens: 10,
            output_tokens: 5,
            estimated: false,
        });
        total.add(Usage {
            input_tokens: 1,
            output_tokens: 1,
            estimated: true,
        });
        assert_eq!(total.total_tokens(), 17);
        assert!(total.estimated);
    }
}
