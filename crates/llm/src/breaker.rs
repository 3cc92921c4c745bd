//! Circuit breakers as pure state machines: one per provider (open after N failures within a
//! window, one half-open probe after a cool-down) and one per user (3 fatal failures in 5
//! minutes refuse further runs). Time is always an argument, so tests never sleep.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::error::LlmError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failures within `window` that open the circuit.
    pub failure_threshold: u32,
    pub window: Duration,
    /// How long the circuit stays open before one probe call is let through.
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            window: Duration::from_secs(120),
            cooldown: Duration::from_secs(30),
        }
    }
}

/// What the breaker currently lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Every call goes out.
    Closed,
    /// No call goes out until `until`.
    Open { until: Instant },
    /// One probe call is out, started at `probe_started`; its outcome closes or reopens.
    HalfOpen { probe_started: Instant },
}

/// The provider's breaker. Call [`CircuitBreaker::try_acquire`] before a call and
/// `record_success` / `record_failure` after it.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    failures: VecDeque<Instant>,
    state: BreakerState,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            failures: VecDeque::new(),
            state: BreakerState::Closed,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// `Ok` if a call may go out now; otherwise how long until the next try is worth it.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen { probe_started: now };
                Ok(())
            }
            BreakerState::Open { until } => Err(until - now),
            // A probe whose caller vanished (cancelled task) never reports back; after a
            // cool-down another probe is allowed so the breaker cannot stick half-open.
            BreakerState::HalfOpen { probe_started }
                if now.saturating_duration_since(probe_started) >= self.config.cooldown =>
            {
                self.state = BreakerState::HalfOpen { probe_started: now };
                Ok(())
            }
            BreakerState::HalfOpen { probe_started } => Err(self
                .config
                .cooldown
                .saturating_sub(now.saturating_duration_since(probe_started))),
        }
    }

    pub fn record_success(&mut self, _now: Instant) {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen { .. } => {
                self.state = BreakerState::Closed;
                self.failures.clear();
            }
            // A call that started before the circuit opened says little about now.
            BreakerState::Open { .. } => {}
        }
    }

    pub fn record_failure(&mut self, now: Instant) {
        match self.state {
            BreakerState::Closed => {
                self.failures.push_back(now);
                while let Some(&first) = self.failures.front() {
                    if now.saturating_duration_since(first) > self.config.window {
                        self.failures.pop_front();
                    } else {
                        break;
                    }
                }
                if self.failures.len() >= self.config.failure_threshold.max(1) as usize {
                    self.open(now);
                }
            }
            BreakerState::HalfOpen { .. } => self.open(now),
            BreakerState::Open { .. } => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.failures.clear();
        self.state = BreakerState::Open {
            until: now + self.config.cooldown,
        };
    }
}

/// Refuses a user's runs after repeated fatal failures (bad key, budget, unknown model...),
/// so one user's broken setup cannot spin the workers. Soft failures are not counted.
#[derive(Debug, Clone)]
pub struct UserBreaker {
    threshold: usize,
    window: Duration,
    failures: HashMap<String, VecDeque<Instant>>,
}

impl Default for UserBreaker {
    /// 3 fatal failures in 5 minutes, as in the worker communication plan.
    fn default() -> Self {
        Self::new(3, Duration::from_secs(300))
    }
}

impl UserBreaker {
    pub fn new(threshold: usize, window: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            window,
            failures: HashMap::new(),
        }
    }

    /// `Ok` if the user may start; otherwise `user_circuit_open` with the seconds to wait.
    pub fn check(&mut self, user: &str, now: Instant) -> Result<(), LlmError> {
        let Some(list) = self.failures.get_mut(user) else {
            return Ok(());
        };
        prune(list, now, self.window);
        if list.len() < self.threshold {
            if list.is_empty() {
                self.failures.remove(user);
            }
            return Ok(());
        }
        // The user may go again once enough failures age out to drop below the threshold.
        let freeing = list[list.len() - self.threshold];
        let wait = (freeing + self.window).saturating_duration_since(now);
        Err(LlmError::UserCircuitOpen {
            retry_after_secs: ceil_secs(wait),
        })
    }

    /// Records a failed run or call; only fatal errors count, and refusals by a breaker do
    /// not (they would keep the user locked out forever).
    pub fn record_failure(&mut self, user: &str, error: &LlmError, now: Instant) {
        let counts = !error.retryable()
            && !matches!(
                error,
                LlmError::UserCircuitOpen { .. } | LlmError::CircuitOpen { .. }
            );
        if counts {
            self.record_fatal(user, now);
        }
    }

    pub fn record_fatal(&mut self, user: &str, now: Instant) {
        let list = self.failures.entry(user.to_owned()).or_default();
        list.push_back(now);
        prune(list, now, self.window);
        // Bound memory: forget users whose failures have all aged out.
        if self.failures.len() > 1024 {
            let window = self.window;
            self.failures.retain(|_, l| {
                prune(l, now, window);
                !l.is_empty()
            });
        }
    }
}

fn prune(list: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while let Some(&first) = list.front() {
        if now.saturating_duration_since(first) >= window {
            list.pop_front();
        } else {
            break;
        }
    }
}

/// Whole seconds, rounded up, at least 1: "retry in 0 s" would invite a hot loop.
pub(crate) fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            window: Duration::from_secs(60),
            cooldown: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_n_failures_within_the_window() {
        let t0 = Instant::now();
        let mut b = breaker();
        b.record_failure(t0);
        b.record_failure(t0 + Duration::from_secs(1));
        assert_eq!(b.try_acquire(t0 + Duration::from_secs(2)), Ok(()));
        b.record_failure(t0 + Duration::from_secs(2));
        assert_eq!(
            b.try_acquire(t0 + Duration::from_secs(3)),
            Err(Duration::from_secs(9)),
            "open, 9 s of cool-down left"
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let t0 = Instant::now();
        let mut b = breaker();
        b.record_failure(t0);
        b.record_failure(t0 + Duration::from_secs(30));
        b.record_failure(t0 + Duration::from_secs(61));
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn success_resets_the_count() {
        let t0 = Instant::now();
        let mut b = breaker();
        b.record_failure(t0);
        b.record_failure(t0);
        b.record_success(t0);
        b.record_failure(t0);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn after_cooldown_one_probe_goes_and_its_success_closes() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..3 {
            b.record_failure(t0);
        }
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.try_acquire(later), Ok(()), "the probe");
        assert!(b.try_acquire(later).is_err(), "only one probe at a time");
        b.record_success(later + Duration::from_secs(1));
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.try_acquire(later + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn a_failed_probe_reopens_for_another_cooldown() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..3 {
            b.record_failure(t0);
        }
        let probe = t0 + Duration::from_secs(10);
        assert_eq!(b.try_acquire(probe), Ok(()));
        b.record_failure(probe);
        assert_eq!(
            b.state(),
            BreakerState::Open {
                until: probe + Duration::from_secs(10)
            }
        );
    }

    #[test]
    fn a_lost_probe_does_not_stick_half_open() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..3 {
            b.record_failure(t0);
        }
        let probe = t0 + Duration::from_secs(10);
        assert_eq!(b.try_acquire(probe), Ok(()));
        // The probe's caller never reports back.
        assert!(b.try_acquire(probe + Duration::from_secs(5)).is_err());
        assert_eq!(b.try_acquire(probe + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn user_is_refused_after_three_fatal_failures_in_five_minutes() {
        let t0 = Instant::now();
        let mut users = UserBreaker::default();
        let fatal = LlmError::Auth {
            status: 401,
            message: "bad key".into(),
        };
        let soft = LlmError::Server {
            status: 500,
            message: "oops".into(),
        };
        for i in 0..5 {
            users.record_failure("alice", &soft, t0 + Duration::from_secs(i));
        }
        assert!(
            users.check("alice", t0).is_ok(),
            "soft failures do not count"
        );
        users.record_failure("alice", &fatal, t0);
        users.record_failure("alice", &fatal, t0 + Duration::from_secs(60));
        assert!(users.check("alice", t0 + Duration::from_secs(61)).is_ok());
        users.record_failure("alice", &fatal, t0 + Duration::from_secs(120));
        let refused = users.check("alice", t0 + Duration::from_secs(121));
        match refused {
            Err(LlmError::UserCircuitOpen { retry_after_secs }) => {
                // The first failure (t0) ages out at t0 + 300 s.
                assert_eq!(retry_after_secs, 179);
            }
            other => panic!("expected user_circuit_open, got {other:?}"),
        }
        assert!(users.check("bob", t0).is_ok(), "other users are unaffected");
        assert!(users.check("alice", t0 + Duration::from_secs(300)).is_ok());
    }

    #[test]
    fn breaker_refusals_do_not_extend_the_lockout() {
        let t0 = Instant::now();
        let mut users = UserBreaker::new(1, Duration::from_secs(300));
        users.record_failure(
            "u",
            &LlmError::UserCircuitOpen {
                retry_after_secs: 5,
            },
            t0,
        );
        assert!(users.check("u", t0).is_ok());
    }
}
