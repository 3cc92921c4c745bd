//! The limit flags of `youmeyou serve` (each with its `YOUMEYOU_*` variable) and their validated
//! form. Defaults are documented in docs/CONFIG.md and docs/LIMITS.md; change them together.

use super::{Rate, Tier};
use crate::server::config::ConfigError;
use clap::Args;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

/// What one tier may do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierLimits {
    /// Runs a user may start per UTC day.
    pub runs_per_day: u32,
    /// API requests per minute (token bucket: this many in a burst, refilled evenly).
    pub requests_per_minute: u32,
    /// Runs that may be queued or running at the same time.
    pub concurrent_runs: u32,
    /// Largest plan (number of tasks) a run may execute.
    pub max_plan_tasks: u32,
    /// LLM spend allowed per run, in US dollars.
    pub budget_usd: f64,
    /// Projects a user may own.
    pub max_projects: u32,
    /// Bytes a user's canvas history and generated files may take.
    pub storage_bytes: u64,
}

impl TierLimits {
    pub const FREE: TierLimits = TierLimits {
        runs_per_day: 20,
        requests_per_minute: 120,
        concurrent_runs: 1,
        max_plan_tasks: 20,
        budget_usd: 0.50,
        max_projects: 20,
        storage_bytes: 100 * MIB,
    };
    pub const PREMIUM: TierLimits = TierLimits {
        runs_per_day: 500,
        requests_per_minute: 600,
        concurrent_runs: 5,
        max_plan_tasks: 80,
        budget_usd: 5.00,
        max_projects: 500,
        storage_bytes: 5 * 1024 * MIB,
    };

    /// The request-rate bucket of this tier.
    pub fn request_rate(&self) -> Rate {
        Rate::per_minute(self.requests_per_minute)
    }
}

/// Every limit the server enforces that an operator may tune.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsConfig {
    pub free: TierLimits,
    pub premium: TierLimits,
    /// Unauthenticated API requests per minute and client IP.
    pub anonymous_rpm: u32,
    /// Login attempts per minute for one account (whatever the outcome).
    pub login_per_account_per_min: u32,
    /// Login attempts per minute from one client IP.
    pub login_per_ip_per_min: u32,
    /// Registrations per hour from one client IP.
    pub register_per_ip_per_hour: u32,
    /// Most distinct keys the in-memory limiter tracks before evicting idle ones.
    pub limiter_max_keys: usize,
    /// How long a user's tier is cached before the database is asked again (so
    /// `youmeyou admin users set-tier` takes effect within this time).
    pub tier_cache_ttl: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            free: TierLimits::FREE,
            premium: TierLimits::PREMIUM,
            anonymous_rpm: 60,
            login_per_account_per_min: 5,
            login_per_ip_per_min: 20,
            register_per_ip_per_hour: 20,
            limiter_max_keys: 100_000,
            tier_cache_ttl: Duration::from_secs(30),
        }
    }
}

impl LimitsConfig {
    pub fn tier(&self, tier: Tier) -> &TierLimits {
        match tier {
            Tier::Free => &self.free,
            Tier::Premium => &self.premium,
        }
    }

    /// Generous limits for tests that are not about limits (many requests from 127.0.0.1).
    pub fn relaxed() -> Self {
        let wide = TierLimits {
            runs_per_day: 10_000,
            requests_per_minute: 100_000,
            concurrent_runs: 100,
            max_plan_tasks: 200,
            budget_usd: 100.0,
            max_projects: 10_000,
            storage_bytes: 100 * 1024 * MIB,
        };
        Self {
            free: wide,
            premium: wide,
            anonymous_rpm: 100_000,
            login_per_account_per_min: 10_000,
            login_per_ip_per_min: 10_000,
            register_per_ip_per_hour: 10_000,
            ..Self::default()
        }
    }
}

/// Tier and abuse limits (flattened into `youmeyou serve`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Tiers and rate limits")]
pub struct LimitArgs {
    /// Runs a free user may start per UTC day.
    #[arg(long, env = "YOUMEYOU_FREE_RUNS_PER_DAY", default_value_t = TierLimits::FREE.runs_per_day, value_name = "N")]
    pub free_runs_per_day: u32,
    /// API requests per minute for a free user.
    #[arg(long, env = "YOUMEYOU_FREE_RPM", default_value_t = TierLimits::FREE.requests_per_minute, value_name = "N")]
    pub free_rpm: u32,
    /// Runs a free user may have queued or running at once.
    #[arg(long, env = "YOUMEYOU_FREE_CONCURRENT_RUNS", default_value_t = TierLimits::FREE.concurrent_runs, value_name = "N")]
    pub free_concurrent_runs: u32,
    /// Largest plan (tasks) of a free user's run.
    #[arg(long, env = "YOUMEYOU_FREE_MAX_PLAN_TASKS", default_value_t = TierLimits::FREE.max_plan_tasks, value_name = "N")]
    pub free_max_plan_tasks: u32,
    /// LLM budget per run of a free user, in USD.
    #[arg(long, env = "YOUMEYOU_FREE_BUDGET_USD", default_value_t = TierLimits::FREE.budget_usd, value_name = "USD")]
    pub free_budget_usd: f64,
    /// Projects a free user may own.
    #[arg(long, env = "YOUMEYOU_FREE_MAX_PROJECTS", default_value_t = TierLimits::FREE.max_projects, value_name = "N")]
    pub free_max_projects: u32,
    /// MiB of canvas history and generated files a free user may keep.
    #[arg(
        long,
        env = "YOUMEYOU_FREE_STORAGE_MB",
        default_value_t = 100,
        value_name = "MIB"
    )]
    pub free_storage_mb: u64,
    /// MiB of canvas history and generated files a premium user may keep.
    #[arg(
        long,
        env = "YOUMEYOU_PREMIUM_STORAGE_MB",
        default_value_t = 5_120,
        value_name = "MIB"
    )]
    pub premium_storage_mb: u64,
    /// Runs a premium user may start per UTC day.
    #[arg(long, env = "YOUMEYOU_PREMIUM_RUNS_PER_DAY", default_value_t = TierLimits::PREMIUM.runs_per_day, value_name = "N")]
    pub premium_runs_per_day: u32,
    /// API requests per minute for a premium user.
    #[arg(long, env = "YOUMEYOU_PREMIUM_RPM", default_value_t = TierLimits::PREMIUM.requests_per_minute, value_name = "N")]
    pub premium_rpm: u32,
    /// Runs a premium user may have queued or running at once.
    #[arg(long, env = "YOUMEYOU_PREMIUM_CONCURRENT_RUNS", default_value_t = TierLimits::PREMIUM.concurrent_runs, value_name = "N")]
    pub premium_concurrent_runs: u32,
    /// Largest plan (tasks) of a premium user's run.
    #[arg(long, env = "YOUMEYOU_PREMIUM_MAX_PLAN_TASKS", default_value_t = TierLimits::PREMIUM.max_plan_tasks, value_name = "N")]
    pub premium_max_plan_tasks: u32,
    /// LLM budget per run of a premium user, in USD.
    #[arg(long, env = "YOUMEYOU_PREMIUM_BUDGET_USD", default_value_t = TierLimits::PREMIUM.budget_usd, value_name = "USD")]
    pub premium_budget_usd: f64,
    /// Projects a premium user may own.
    #[arg(long, env = "YOUMEYOU_PREMIUM_MAX_PROJECTS", default_value_t = TierLimits::PREMIUM.max_projects, value_name = "N")]
    pub premium_max_projects: u32,
    /// Unauthenticated API requests per minute from one client IP.
    #[arg(
        long,
        env = "YOUMEYOU_ANON_RPM",
        default_value_t = 60,
        value_name = "N"
    )]
    pub anon_rpm: u32,
    /// Login attempts per minute for one account.
    #[arg(
        long,
        env = "YOUMEYOU_LOGIN_PER_ACCOUNT_PER_MIN",
        default_value_t = 5,
        value_name = "N"
    )]
    pub login_per_account_per_min: u32,
    /// Login attempts per minute from one client IP.
    #[arg(
        long,
        env = "YOUMEYOU_LOGIN_PER_IP_PER_MIN",
        default_value_t = 20,
        value_name = "N"
    )]
    pub login_per_ip_per_min: u32,
    /// Registrations per hour from one client IP.
    #[arg(
        long,
        env = "YOUMEYOU_REGISTER_PER_IP_PER_HOUR",
        default_value_t = 20,
        value_name = "N"
    )]
    pub register_per_ip_per_hour: u32,
}

impl LimitArgs {
    pub fn into_config(self) -> Result<LimitsConfig, ConfigError> {
        let storage = |flag: &'static str, mb: u64| {
            if (1..=10_000_000).contains(&mb) {
                Ok(mb * MIB)
            } else {
                Err(ConfigError {
                    flag,
                    message: format!("'{mb}' is not a whole number of MiB from 1 to 10000000"),
                })
            }
        };
        let free_storage = storage(
            "--free-storage-mb (YOUMEYOU_FREE_STORAGE_MB)",
            self.free_storage_mb,
        )?;
        let premium_storage = storage(
            "--premium-storage-mb (YOUMEYOU_PREMIUM_STORAGE_MB)",
            self.premium_storage_mb,
        )?;
        let mut free = tier_limits(
            "free",
            [
                self.free_runs_per_day,
                self.free_rpm,
                self.free_concurrent_runs,
                self.free_max_plan_tasks,
                self.free_max_projects,
            ],
            self.free_budget_usd,
        )?;
        free.storage_bytes = free_storage;
        let mut premium = tier_limits(
            "premium",
            [
                self.premium_runs_per_day,
                self.premium_rpm,
                self.premium_concurrent_runs,
                self.premium_max_plan_tasks,
                self.premium_max_projects,
            ],
            self.premium_budget_usd,
        )?;
        premium.storage_bytes = premium_storage;
        let positive = |flag: &'static str, value: u32| {
            if value == 0 {
                Err(ConfigError {
                    flag,
                    message: "must be at least 1".into(),
                })
            } else {
                Ok(value)
            }
        };
        Ok(LimitsConfig {
            free,
            premium,
            anonymous_rpm: positive("--anon-rpm (YOUMEYOU_ANON_RPM)", self.anon_rpm)?,
            login_per_account_per_min: positive(
                "--login-per-account-per-min (YOUMEYOU_LOGIN_PER_ACCOUNT_PER_MIN)",
                self.login_per_account_per_min,
            )?,
            login_per_ip_per_min: positive(
                "--login-per-ip-per-min (YOUMEYOU_LOGIN_PER_IP_PER_MIN)",
                self.login_per_ip_per_min,
            )?,
            register_per_ip_per_hour: positive(
                "--register-per-ip-per-hour (YOUMEYOU_REGISTER_PER_IP_PER_HOUR)",
                self.register_per_ip_per_hour,
            )?,
            ..LimitsConfig::default()
        })
    }
}

/// `[runs/day, rpm, concurrent, plan tasks, projects]` + budget → validated limits. Zero runs
/// per day is allowed (a tier that may not start runs); the others must be at least 1.
fn tier_limits(tier: &'static str, n: [u32; 5], budget: f64) -> Result<TierLimits, ConfigError> {
    let [runs_per_day, rpm, concurrent, plan_tasks, projects] = n;
    let (rpm_flag, concurrent_flag, plan_flag, budget_flag, projects_flag) = if tier == "free" {
        (
            "--free-rpm (YOUMEYOU_FREE_RPM)",
            "--free-concurrent-runs (YOUMEYOU_FREE_CONCURRENT_RUNS)",
            "--free-max-plan-tasks (YOUMEYOU_FREE_MAX_PLAN_TASKS)",
            "--free-budget-usd (YOUMEYOU_FREE_BUDGET_USD)",
            "--free-max-projects (YOUMEYOU_FREE_MAX_PROJECTS)",
        )
    } else {
        (
            "--premium-rpm (YOUMEYOU_PREMIUM_RPM)",
            "--premium-concurrent-runs (YOUMEYOU_PREMIUM_CONCURRENT_RUNS)",
            "--premium-max-plan-tasks (YOUMEYOU_PREMIUM_MAX_PLAN_TASKS)",
            "--premium-budget-usd (YOUMEYOU_PREMIUM_BUDGET_USD)",
            "--premium-max-projects (YOUMEYOU_PREMIUM_MAX_PROJECTS)",
        )
    };
    for (flag, value) in [
        (rpm_flag, rpm),
        (concurrent_flag, concurrent),
        (plan_flag, plan_tasks),
        (projects_flag, projects),
    ] {
        if value == 0 {
            return Err(ConfigError {
                flag,
                message: "must be at least 1".into(),
            });
        }
    }
    if !(budget.is_finite() && (0.0..=10_000.0).contains(&budget)) {
        return Err(ConfigError {
            flag: budget_flag,
            message: format!("'{budget}' is not an amount from 0 to 10000"),
        });
    }
    Ok(TierLimits {
        runs_per_day,
        requests_per_minute: rpm,
        concurrent_runs: concurrent,
        max_plan_tasks: plan_tasks,
        budget_usd: budget,
        max_projects: projects,
        storage_bytes: TierLimits::FREE.storage_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: LimitArgs,
    }

    fn parse(argv: &[&str]) -> Result<LimitsConfig, ConfigError> {
        let mut full = vec!["youmeyou"];
        full.extend_from_slice(argv);
        let w = Wrapper::try_parse_from(full).map_err(|e| ConfigError {
            flag: "clap",
            message: e.to_string(),
        })?;
        w.args.into_config()
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let c = parse(&[]).expect("defaults are valid");
        assert_eq!(c, LimitsConfig::default());
        assert_eq!(c.free.runs_per_day, 20);
        assert_eq!(c.premium.concurrent_runs, 5);
        assert_eq!(c.login_per_account_per_min, 5);
        assert_eq!(c.login_per_ip_per_min, 20);
    }

    #[test]
    fn flags_override_and_bad_values_name_their_flag() {
        let c = parse(&["--premium-rpm", "900", "--free-budget-usd", "0.25"]).expect("valid");
        assert_eq!(c.premium.requests_per_minute, 900);
        assert_eq!(c.free.budget_usd, 0.25);
        for (argv, flag) in [
            (&["--free-rpm", "0"][..], "--free-rpm"),
            (&["--premium-budget-usd", "NaN"][..], "--premium-budget-usd"),
            (&["--free-budget-usd=-1"][..], "--free-budget-usd"),
            (
                &["--login-per-ip-per-min", "0"][..],
                "--login-per-ip-per-min",
            ),
        ] {
            let err = parse(argv).expect_err("must be rejected");
            assert!(err.to_string().contains(flag), "{argv:?} → {err}");
        }
    }
}
