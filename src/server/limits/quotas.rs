//! Per-user quotas the orchestrator asks before it queues a run: runs per UTC day and runs at
//! the same time, checked and counted under one lock so concurrent requests cannot overshoot.
//! Also the request-rate buckets and a short-lived cache of each user's tier.

use super::{Decision, Limiter, LimitsConfig, Rate, Tier, TierLimits};
use crate::server::error::ApiError;
use crate::server::store::Store;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

#[derive(Debug, Default)]
struct RunCounters {
    /// UTC day (YYYY-MM-DD) `started` counts for.
    day: String,
    started: u32,
    active: u32,
}

type Counters = Arc<Mutex<HashMap<String, RunCounters>>>;

fn lock(
    counters: &Mutex<HashMap<String, RunCounters>>,
) -> MutexGuard<'_, HashMap<String, RunCounters>> {
    // Counter updates are single integer writes; a poisoned lock still holds sound numbers.
    counters.lock().unwrap_or_else(|p| p.into_inner())
}

/// Quotas, request buckets and the tier cache; one per process, in `AppState::quotas`.
pub struct Quotas {
    config: LimitsConfig,
    limiter: Arc<dyn Limiter>,
    store: Arc<dyn Store>,
    runs: Counters,
    tiers: Mutex<HashMap<String, (Tier, Instant)>>,
}

/// Proof that a run was admitted. Holding it counts as one concurrent run; dropping it (or
/// `finish`) releases that slot. `refund` also gives back the day's run when the run was never
/// actually started (e.g. creating it failed).
#[must_use = "dropping the permit immediately releases the concurrent-run slot"]
pub struct RunPermit {
    counters: Counters,
    user_id: String,
    day: String,
    tier: Tier,
    limits: TierLimits,
    released: bool,
}

impl std::fmt::Debug for RunPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunPermit")
            .field("user_id", &self.user_id)
            .field("tier", &self.tier)
            .finish()
    }
}

impl RunPermit {
    /// The limits the run must respect (plan size, budget).
    pub fn limits(&self) -> &TierLimits {
        &self.limits
    }

    pub fn tier(&self) -> Tier {
        self.tier
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The run ended (any outcome): frees the concurrent slot. Same as dropping the permit.
    pub fn finish(mut self) {
        self.release(false);
    }

    /// The run never started: frees the slot and gives the day's run back.
    pub fn refund(mut self) {
        self.release(true);
    }

    fn release(&mut self, refund: bool) {
        if self.released {
            return;
        }
        self.released = true;
        let mut map = lock(&self.counters);
        if let Some(c) = map.get_mut(&self.user_id) {
            c.active = c.active.saturating_sub(1);
            if refund && c.day == self.day {
                c.started = c.started.saturating_sub(1);
            }
        }
    }
}

impl Drop for RunPermit {
    fn drop(&mut self) {
        self.release(false);
    }
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

fn secs_to_utc_midnight() -> u64 {
    let now = chrono::Utc::now();
    let secs_today = now.timestamp().rem_euclid(86_400);
    (86_400 - secs_today).max(1) as u64
}

impl Quotas {
    pub fn new(config: LimitsConfig, limiter: Arc<dyn Limiter>, store: Arc<dyn Store>) -> Self {
        Self {
            config,
            limiter,
            store,
            runs: Arc::new(Mutex::new(HashMap::new())),
            tiers: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &LimitsConfig {
        &self.config
    }

    /// What `tier` may do.
    pub fn tier_limits(&self, tier: Tier) -> TierLimits {
        *self.config.tier(tier)
    }

    /// The token buckets (login throttles and request rates share them).
    pub fn limiter(&self) -> &Arc<dyn Limiter> {
        &self.limiter
    }

    /// Takes one token from `key` at `rate`.
    pub async fn check(&self, key: &str, rate: Rate) -> Decision {
        self.limiter.check(key, rate).await
    }

    /// The user's tier, from a cache refreshed every `tier_cache_ttl`. `Ok(None)`: the user no
    /// longer exists.
    pub async fn tier_of(&self, user_id: &str) -> Result<Option<Tier>, ApiError> {
        let ttl = self.config.tier_cache_ttl;
        if let Ok(cache) = self.tiers.lock() {
            if let Some((tier, at)) = cache.get(user_id) {
                if at.elapsed() < ttl {
                    return Ok(Some(*tier));
                }
            }
        }
        let Some(user) = self.store.user_by_id(user_id).await? else {
            return Ok(None);
        };
        if let Ok(mut cache) = self.tiers.lock() {
            // Bounded: stale entries go first, then everything (a refill costs one query each).
            if cache.len() >= self.config.limiter_max_keys {
                cache.retain(|_, (_, at)| at.elapsed() < ttl);
                if cache.len() >= self.config.limiter_max_keys {
                    cache.clear();
                }
            }
            cache.insert(user_id.to_string(), (user.tier, Instant::now()));
        }
        Ok(Some(user.tier))
    }

    /// Makes room for `adding` more bytes of the user's canvas history and generated files:
    /// within the tier's quota nothing happens; over it, the user's oldest canvas versions
    /// (never a project's current one) are pruned first; if that is not enough the write is
    /// refused with `422 storage_quota`, before anything is written.
    pub async fn make_room(&self, user_id: &str, adding: u64) -> Result<(), ApiError> {
        let tier = self.tier_of(user_id).await?.unwrap_or(Tier::Free);
        let quota = self.tier_limits(tier).storage_bytes;
        let used = self.store.storage_used(user_id).await?;
        let after = used.saturating_add(adding);
        if after <= quota {
            return Ok(());
        }
        let freed = self
            .store
            .prune_canvas_history(user_id, after - quota)
            .await?;
        if freed > 0 {
            tracing::info!(
                user_id,
                freed,
                "pruned old canvas versions to stay within the storage quota"
            );
        }
        if after.saturating_sub(freed) <= quota {
            return Ok(());
        }
        let mib = |b: u64| b as f64 / 1_048_576.0;
        Err(ApiError::Coded {
            status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            code: "storage_quota",
            message: format!(
                "Your storage is full: {:.1} MiB of {:.0} MiB used (canvas history and generated files; old canvas versions were already pruned). Delete runs or projects you no longer need{}.",
                mib(used.saturating_sub(freed)),
                mib(quota),
                if tier == Tier::Free { ", or upgrade to premium" } else { "" }
            ),
            retry_after: None,
        })
    }

    /// Forgets a cached tier (after a change made by this process).
    pub fn forget_tier(&self, user_id: &str) {
        if let Ok(mut cache) = self.tiers.lock() {
            cache.remove(user_id);
        }
    }

    /// Runs of this user that hold a permit now.
    pub fn active_runs(&self, user_id: &str) -> u32 {
        lock(&self.runs).get(user_id).map_or(0, |c| c.active)
    }

    /// Admits a run of `user_id` or says why not (429 with `Retry-After`). Atomic: the day's
    /// count and the concurrent count are checked and bumped under one lock. The day's count
    /// is seeded from the store the first time a user is seen, so a restart does not reset it.
    pub async fn begin_run(&self, user_id: &str, tier: Tier) -> Result<RunPermit, ApiError> {
        let limits = self.tier_limits(tier);
        let day = today();
        let known = lock(&self.runs).get(user_id).is_some_and(|c| c.day == day);
        // Outside the lock: a store query must not hold up other users' admissions.
        let seeded = if known {
            None
        } else {
            let since = self.store.runs_started_on_or_after(user_id, &day).await?;
            Some(u32::try_from(since).unwrap_or(u32::MAX))
        };
        let mut map = lock(&self.runs);
        let counters = map.entry(user_id.to_string()).or_default();
        if counters.day != day {
            counters.day = day.clone();
            // Only the first of several racing callers seeds; the others see `day` set.
            counters.started = seeded.unwrap_or(0);
        }
        if counters.started >= limits.runs_per_day {
            return Err(daily_limit_error(
                tier,
                u64::from(counters.started),
                &limits,
            ));
        }
        if counters.active >= limits.concurrent_runs {
            return Err(concurrent_limit_error(
                tier,
                u64::from(counters.active),
                &limits,
            ));
        }
        counters.started += 1;
        counters.active += 1;
        // Users with nothing running on an earlier day carry no information; drop them so the
        // map tracks today's users only.
        if map.len() > 10_000 {
            map.retain(|_, c| c.active > 0 || c.day == day);
        }
        Ok(RunPermit {
            counters: self.runs.clone(),
            user_id: user_id.to_string(),
            day,
            tier,
            limits,
            released: false,
        })
    }
}

/// 429 `daily_run_limit`: the owner started `started` runs today.
pub fn daily_limit_error(tier: Tier, started: u64, limits: &TierLimits) -> ApiError {
    ApiError::Coded {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "daily_run_limit",
        message: format!(
            "You have started {started} runs today; the {tier} tier allows {} per day. Try again after midnight UTC{}.",
            limits.runs_per_day,
            if tier == Tier::Free { " or upgrade to premium" } else { "" }
        ),
        retry_after: Some(secs_to_utc_midnight()),
    }
}

/// 429 `concurrent_run_limit`: the owner has `active` runs in progress.
pub fn concurrent_limit_error(tier: Tier, active: u64, limits: &TierLimits) -> ApiError {
    ApiError::Coded {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "concurrent_run_limit",
        message: format!(
            "You already have {active} run(s) in progress; the {tier} tier allows {} at a time. Wait for one to finish or cancel it.",
            limits.concurrent_runs
        ),
        retry_after: Some(10),
    }
}
