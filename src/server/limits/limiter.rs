//! Keyed token buckets. `Limiter` is the seam (a Redis implementation can replace the
//! in-memory one for several instances); `MemoryLimiter` keeps a bounded map and evicts idle
//! keys first, so a flood of new keys costs memory once, not forever.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// `burst` tokens, refilled evenly over `period` (so `Rate::per_minute(60)` = 1 per second,
/// 60 at once after a quiet minute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub period: Duration,
}

impl Rate {
    pub fn per_minute(n: u32) -> Self {
        Self {
            burst: n.max(1),
            period: Duration::from_secs(60),
        }
    }

    pub fn per_hour(n: u32) -> Self {
        Self {
            burst: n.max(1),
            period: Duration::from_secs(3600),
        }
    }

    fn tokens_per_sec(&self) -> f64 {
        f64::from(self.burst) / self.period.as_secs_f64().max(0.001)
    }
}

/// The outcome of one `check`, with what the `X-RateLimit-*` headers report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// The bucket's size.
    pub limit: u32,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset_after: Duration,
    /// Until one token is available (zero when allowed).
    pub retry_after: Duration,
}

impl Decision {
    /// Seconds for `Retry-After`, rounded up and at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        (self.retry_after.as_secs_f64().ceil() as u64).max(1)
    }

    /// Seconds for `X-RateLimit-Reset`, rounded up.
    pub fn reset_secs(&self) -> u64 {
        self.reset_after.as_secs_f64().ceil() as u64
    }
}

#[async_trait]
pub trait Limiter: Send + Sync + 'static {
    /// Takes one token from bucket `key` (created full at `rate` when new) if one is there.
    /// Callers namespace keys by purpose (`rpm:user:…`, `login:ip:…`) so a key's rate is stable.
    async fn check(&self, key: &str, rate: Rate) -> Decision;
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
    rate: Rate,
}

impl Bucket {
    fn refill(&mut self, now: Instant, rate: Rate) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        // A tier change alters the rate: keep the tokens, capped at the new size.
        self.rate = rate;
        self.tokens = (self.tokens + elapsed * rate.tokens_per_sec()).min(f64::from(rate.burst));
        self.updated = now;
    }

    /// A full bucket carries no information: dropping it changes nothing for its key.
    fn is_full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * self.rate.tokens_per_sec() >= f64::from(self.rate.burst)
    }
}

/// Token buckets in a mutex-guarded map, at most `max_keys` of them.
pub struct MemoryLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    max_keys: usize,
}

impl MemoryLimiter {
    pub fn new(max_keys: usize) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(16),
        }
    }

    /// Number of tracked keys (tests and metrics).
    pub fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes room for one more key: drops every full (idle) bucket and, if none was, the
    /// oldest tenth, so the O(n) sweep runs once per n/10 new keys, not on each.
    fn evict(buckets: &mut HashMap<String, Bucket>, max_keys: usize, now: Instant) {
        buckets.retain(|_, b| !b.is_full_at(now));
        if buckets.len() < max_keys {
            return;
        }
        let mut ages: Vec<Instant> = buckets.values().map(|b| b.updated).collect();
        let cut = (max_keys / 10).max(1).min(ages.len().saturating_sub(1));
        let (_, nth, _) = ages.select_nth_unstable(cut);
        let threshold = *nth;
        buckets.retain(|_, b| b.updated > threshold);
        // Dropping a bucket that was not full lets that key start afresh: only reachable when
        // more than `max_keys` keys are busy at once, which the log should show.
        tracing::warn!(
            kept = buckets.len(),
            max_keys,
            "rate limiter full of busy keys; evicted the oldest"
        );
    }

    fn check_now(&self, key: &str, rate: Rate, now: Instant) -> Decision {
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            // A panic while holding the lock cannot leave a bucket half-updated (plain
            // arithmetic on Copy data), so the map is still sound.
            Err(poisoned) => poisoned.into_inner(),
        };
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            Self::evict(&mut buckets, self.max_keys, now);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: f64::from(rate.burst),
            updated: now,
            rate,
        });
        bucket.refill(now, rate);
        let per_sec = rate.tokens_per_sec();
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let missing = (f64::from(rate.burst) - bucket.tokens).max(0.0);
        Decision {
            allowed,
            limit: rate.burst,
            remaining: bucket.tokens.floor().max(0.0) as u32,
            reset_after: Duration::from_secs_f64(missing / per_sec),
            retry_after: if allowed {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - bucket.tokens).max(0.0) / per_sec)
            },
        }
    }
}

#[async_trait]
impl Limiter for MemoryLimiter {
    async fn check(&self, key: &str, rate: Rate) -> Decision {
        self.check_now(key, rate, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_evenly() {
        let limiter = MemoryLimiter::new(100);
        let rate = Rate::per_minute(3);
        let t0 = Instant::now();
        for left in [2, 1, 0] {
            let d = limiter.check_now("k", rate, t0);
            assert!(d.allowed);
            assert_eq!(d.remaining, left);
        }
        let refused = limiter.check_now("k", rate, t0);
        assert!(
            !refused.allowed,
            "the fourth request in a burst of 3 is refused"
        );
        assert_eq!(refused.retry_after_secs(), 20, "one token every 20 s");
        assert_eq!(refused.reset_secs(), 60);
        let t1 = t0 + Duration::from_secs(20);
        assert!(limiter.check_now("k", rate, t1).allowed);
        assert!(!limiter.check_now("k", rate, t1).allowed);
        // Other keys are independent.
        assert!(limiter.check_now("other", rate, t1).allowed);
    }

    #[test]
    fn the_map_stays_bounded_and_evicts_idle_keys_first() {
        let limiter = MemoryLimiter::new(16);
        let rate = Rate::per_minute(2);
        let t0 = Instant::now();
        assert!(limiter.check_now("busy", rate, t0).allowed);
        // Many one-off keys (each touched once, so not full) flood the map.
        for i in 0..200u64 {
            let at = t0 + Duration::from_millis(i);
            limiter.check_now(&format!("flood-{i}"), Rate::per_hour(1000), at);
            assert!(limiter.len() <= 16, "bounded: {}", limiter.len());
        }
        let mut i = 0;
        while limiter.len() < 16 {
            limiter.check_now(&format!("fill-{i}"), Rate::per_hour(1000), t0);
            i += 1;
        }
        // After a quiet hour every bucket is full again, and one sweep frees the whole map.
        let later = t0 + Duration::from_secs(7200);
        limiter.check_now("late", rate, later);
        assert_eq!(limiter.len(), 1, "idle keys evicted");
    }
}
