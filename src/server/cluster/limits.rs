//! Rate limits shared by every instance: a GCRA token bucket per key in Redis (one Lua script,
//! timed by Redis' clock, `scripts/gcra.lua`), so a user's requests, logins and registrations
//! count the same whichever instance serves them. While Redis is unreachable each instance
//! falls back to a local bucket at half the rate (a conservative bound: with several instances
//! the sum may exceed the limit, but never by more than the instances' count) and goes back to
//! Redis by itself when it returns.

use super::link::{RedisLink, COMMAND_TIMEOUT};
use crate::server::limits::{Decision, Limiter, MemoryLimiter, Rate};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub struct RedisLimiter {
    link: Arc<RedisLink>,
    script: redis::Script,
    local: MemoryLimiter,
}

impl RedisLimiter {
    pub fn new(link: Arc<RedisLink>, max_local_keys: usize) -> Self {
        Self {
            link,
            script: redis::Script::new(include_str!("scripts/gcra.lua")),
            local: MemoryLimiter::new(max_local_keys),
        }
    }

    /// The local bound while Redis is down: half the burst over the same period.
    fn fallback(rate: Rate) -> Rate {
        Rate {
            burst: (rate.burst / 2).max(1),
            period: rate.period,
        }
    }

    async fn shared(&self, key: &str, rate: Rate) -> Option<Decision> {
        let period_ms = u64::try_from(rate.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut conn = self.link.conn();
        let mut call = self.script.prepare_invoke();
        call.key(self.link.key(&format!("rl:{key}")))
            .arg(rate.burst.max(1))
            .arg(period_ms);
        let answer =
            tokio::time::timeout(COMMAND_TIMEOUT, call.invoke_async::<Vec<i64>>(&mut conn)).await;
        match answer {
            Ok(Ok(v)) if v.len() == 4 => {
                self.link.mark(true);
                let ms = |x: i64| Duration::from_millis(u64::try_from(x).unwrap_or(0));
                Some(Decision {
                    allowed: v[0] == 1,
                    limit: rate.burst,
                    remaining: u32::try_from(v[1]).unwrap_or(0),
                    reset_after: ms(v[2]),
                    retry_after: ms(v[3]),
                })
            }
            _ => {
                self.link.mark(false);
                None
            }
        }
    }
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn check(&self, key: &str, rate: Rate) -> Decision {
        if self.link.is_up() {
            if let Some(decision) = self.shared(key, rate).await {
                return decision;
            }
        }
        self.local.check(key, Self::fallback(rate)).await
    }
}
