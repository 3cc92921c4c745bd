//! Tiers and the limits that come with them: requests per minute (token buckets behind the
//! `Limiter` trait, in memory today, Redis later), runs per day, concurrent runs, plan size and
//! budget per run. Owns counting and refusing; it never decides *who* is asking (that is `auth`).

pub mod config;
pub mod limiter;
pub mod quotas;

pub use config::{LimitArgs, LimitsConfig, TierLimits};
pub use limiter::{Decision, Limiter, MemoryLimiter, Rate};
pub use quotas::{Quotas, RunPermit};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An account's plan. Stored as lowercase text in `users.tier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Free,
    Premium,
}

impl Tier {
    pub const ALL: [Tier; 2] = [Tier::Free, Tier::Premium];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Premium => "premium",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not `free` or `premium`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tier '{0}': expected free or premium")]
pub struct UnknownTier(pub String);

impl FromStr for Tier {
    type Err = UnknownTier;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "free" => Ok(Tier::Free),
            "premium" => Ok(Tier::Premium),
            _ => Err(UnknownTier(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_parse_and_print_as_stored() {
        for tier in Tier::ALL {
            assert_eq!(tier.as_str().parse::<Tier>(), Ok(tier));
        }
        assert_eq!(" Premium ".parse::<Tier>(), Ok(Tier::Premium));
        assert!("gold".parse::<Tier>().is_err());
    }
}
