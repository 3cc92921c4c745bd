//! Retries with exponential backoff and full jitter, honouring `Retry-After` as a floor, and
//! `ResilientProvider`, which wraps any provider with those retries and its circuit breaker.
//! Randomness, sleeping and the clock are injectable so tests run fast and deterministically.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::BoxFuture;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::breaker::{ceil_secs, BreakerConfig, BreakerState, CircuitBreaker};
use crate::error::LlmError;
use crate::provider::{Completion, CompletionRequest, EventSink, Provider, StreamEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so `max_retries + 1` attempts at most).
    pub max_retries: u32,
    /// The first backoff's upper bound; doubles with every retry.
    pub base: Duration,
    /// The largest backoff upper bound.
    pub cap: Duration,
    /// A `Retry-After` longer than this is not waited for inside a run: the error goes back
    /// to the caller, who may requeue the work instead of holding a worker.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            max_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry). Full jitter ("Exponential
    /// Backoff And Jitter", AWS architecture blog): uniform in `[0, min(cap, base·2^retry)]`,
    /// which spreads a crowd of clients best. `fraction` is the random draw in `[0, 1]`.
    /// `retry_after` is a floor; `None` means do not retry (it is longer than `max_wait`).
    pub fn delay(
        &self,
        retry: u32,
        retry_after: Option<Duration>,
        fraction: f64,
    ) -> Option<Duration> {
        let ceiling = self
            .base
            .checked_mul(2u32.saturating_pow(retry.min(31)))
            .unwrap_or(self.cap)
            .min(self.cap);
        let jittered = ceiling.mul_f64(fraction.clamp(0.0, 1.0));
        match retry_after {
            Some(floor) if floor > self.max_wait => None,
            Some(floor) => Some(jittered.max(floor)),
            None => Some(jittered),
        }
    }
}

/// Sleeps for a duration; injectable so tests can record waits instead of taking them.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// Reads the time for the circuit breaker; injectable for tests.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// `tokio::time::sleep`, which follows tokio's paused test clock.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// Tokio's clock (follows `tokio::time::pause`) as a std `Instant`.
pub fn tokio_clock() -> Clock {
    Arc::new(|| tokio::time::Instant::now().into_std())
}

/// Any provider, plus retries of soft errors and a circuit breaker. Share one per configured
/// provider (`Arc<dyn Provider>`); the breaker then sees every run's calls.
pub struct ResilientProvider {
    inner: Arc<dyn Provider>,
    policy: RetryPolicy,
    breaker: Mutex<CircuitBreaker>,
    rng: Mutex<StdRng>,
    sleep: Sleeper,
    clock: Clock,
}

impl ResilientProvider {
    pub fn new(inner: Arc<dyn Provider>, policy: RetryPolicy, breaker: BreakerConfig) -> Self {
        Self {
            inner,
            policy,
            breaker: Mutex::new(CircuitBreaker::new(breaker)),
            rng: Mutex::new(StdRng::from_entropy()),
            sleep: tokio_sleeper(),
            clock: tokio_clock(),
        }
    }

    /// Seeds the jitter so tests see the same waits every run.
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng = Mutex::new(StdRng::seed_from_u64(seed));
        self
    }

    pub fn with_sleeper(mut self, sleep: Sleeper) -> Self {
        self.sleep = sleep;
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn breaker_state(&self) -> BreakerState {
        self.lock_breaker().state()
    }

    // The locks below are never held across an `.await` (the future must stay `Send`), and
    // their data stays consistent even if a holder panicked, so poisoning is ignored.
    fn lock_breaker(&self) -> std::sync::MutexGuard<'_, CircuitBreaker> {
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn draw(&self) -> f64 {
        self.rng
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .gen_range(0.0..=1.0)
    }
}

#[async_trait]
impl Provider for ResilientProvider {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn complete(
        &self,
        request: &CompletionRequest,
        on_event: EventSink<'_>,
    ) -> Result<Completion, LlmError> {
        let mut retry = 0u32;
        loop {
            let acquired = self.lock_breaker().try_acquire((self.clock)());
            if let Err(wait) = acquired {
                return Err(LlmError::CircuitOpen {
                    provider: self.inner.name().to_owned(),
                    retry_after_secs: ceil_secs(wait),
                });
            }
            let error = match self.inner.complete(request, on_event).await {
                Ok(completion) => {
                    self.lock_breaker().record_success((self.clock)());
                    return Ok(completion);
                }
                Err(error) => error,
            };
            {
                let mut breaker = self.lock_breaker();
                if error.counts_against_provider() {
                    breaker.record_failure((self.clock)());
                } else {
                    // The provider answered; the request itself was the problem.
                    breaker.record_success((self.clock)());
                }
            }
            if !error.retryable() || retry >= self.policy.max_retries {
                return Err(error);
            }
            let Some(delay) = self.policy.delay(retry, error.retry_after(), self.draw()) else {
                return Err(error);
            };
            retry += 1;
            tracing::warn!(
                provider = self.inner.name(),
                role = request.role.as_str(),
                retry,
                code = error.code(),
                delay_ms = delay.as_millis() as u64,
                "LLM call failed, retrying: {error}"
            );
            on_event(StreamEvent::Retrying {
                attempt: retry,
                delay,
                code: error.code(),
            });
            (self.sleep)(delay).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            max_wait: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        let p = policy();
        let full: Vec<_> = (0..6).map(|r| p.delay(r, None, 1.0)).collect();
        let ms = |v: u64| Some(Duration::from_millis(v));
        assert_eq!(
            full,
            vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(
            p.delay(40, None, 1.0),
            ms(1000),
            "no overflow on huge retry counts"
        );
    }

    #[test]
    fn jitter_spreads_the_wait_between_zero_and_the_ceiling() {
        let p = policy();
        assert_eq!(p.delay(2, None, 0.0), Some(Duration::ZERO));
        assert_eq!(p.delay(2, None, 0.5), Some(Duration::from_millis(200)));
    }

    #[test]
    fn retry_after_is_a_floor_and_too_long_gives_up() {
        let p = policy();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2)), 0.3),
            Some(Duration::from_secs(2))
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(11)), 0.3), None);
    }
}
