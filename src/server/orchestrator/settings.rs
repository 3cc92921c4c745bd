//! Tunables of the orchestrator, from `youmeyou serve` flags. Defaults suit one machine.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Time scale of the built-in engine: a task lasts `estimatedTime × pace` seconds.
    pub pace: f64,
    /// Tasks of one run that may execute at the same time.
    pub max_parallel_tasks: usize,
    /// Runs that may execute at the same time on this instance; the rest queue.
    pub max_concurrent_runs: usize,
    /// A task attempt that takes longer fails (retryable).
    pub task_timeout: Duration,
    /// Extra attempts for a task that failed with a retryable error.
    pub task_retries: u32,
    /// First retry delay; doubled each attempt, with jitter.
    pub retry_base: Duration,
    /// Prompts whose complexity is below this take the static path.
    pub complexity_threshold: f64,
    /// Edits allowed per task.
    pub max_modifications: u32,
    /// Minimum time between two edits of the same task.
    pub edit_cooldown: Duration,
    /// How long an impact analysis' confirm token stays valid.
    pub confirm_ttl: Duration,
    /// This instance's name in run leases, logs and `runResumed` (default: host and pid).
    pub instance_id: String,
    /// How long a run's lease lasts without renewal (shared store only): another instance
    /// takes the run over this long after its owner stopped renewing.
    pub lease_ttl: Duration,
    /// How often the owner renews its leases.
    pub lease_renew: Duration,
    /// How often each instance looks for runs whose lease lapsed or was handed back.
    pub sweep_interval: Duration,
}

/// `HOST-PID`: unique among the instances of one machine and readable in logs.
pub fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}-{}", std::process::id())
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pace: 0.0,
            max_parallel_tasks: 8,
            max_concurrent_runs: 4,
            task_timeout: Duration::from_secs(300),
            task_retries: 2,
            retry_base: Duration::from_millis(200),
            complexity_threshold: 0.7,
            max_modifications: 3,
            edit_cooldown: Duration::from_secs(10),
            confirm_ttl: Duration::from_secs(600),
            instance_id: default_instance_id(),
            lease_ttl: Duration::from_secs(10),
            lease_renew: Duration::from_secs(3),
            sweep_interval: Duration::from_secs(2),
        }
    }
}

impl Settings {
    /// The timeout of one attempt of a task: the configured one, stretched when pacing makes
    /// tasks deliberately slow.
    pub fn timeout_for(&self, estimated_secs: u32) -> Duration {
        let paced = Duration::from_secs_f64(f64::from(estimated_secs) * self.pace * 2.0);
        self.task_timeout.max(paced)
    }
}

/// `youmeyou serve` flags for the orchestrator (each with an environment variable).
#[derive(Debug, Clone, clap::Args)]
pub struct OrchestratorArgs {
    /// Tasks of one run that may execute at the same time (1–64).
    #[arg(
        long,
        env = "YOUMEYOU_MAX_PARALLEL_TASKS",
        default_value = "8",
        value_name = "N"
    )]
    pub max_parallel_tasks: String,
    /// Runs that may execute at the same time; more wait in the queue (1–256).
    #[arg(
        long,
        env = "YOUMEYOU_MAX_CONCURRENT_RUNS",
        default_value = "4",
        value_name = "N"
    )]
    pub max_concurrent_runs: String,
    /// Time limit of one task attempt, in seconds (1–86400).
    #[arg(
        long,
        env = "YOUMEYOU_TASK_TIMEOUT_SECS",
        default_value = "300",
        value_name = "SECS"
    )]
    pub task_timeout_secs: String,
    /// Extra attempts for a task that failed with a retryable error (0–10).
    #[arg(
        long,
        env = "YOUMEYOU_TASK_RETRIES",
        default_value = "2",
        value_name = "N"
    )]
    pub task_retries: String,
    /// Requests whose complexity is below this take the static path (0–1).
    #[arg(
        long,
        env = "YOUMEYOU_COMPLEXITY_THRESHOLD",
        default_value = "0.7",
        value_name = "X"
    )]
    pub complexity_threshold: String,
    /// Minimum seconds between two edits of the same step (0–3600).
    #[arg(
        long,
        env = "YOUMEYOU_EDIT_COOLDOWN_SECS",
        default_value = "10",
        value_name = "SECS"
    )]
    pub edit_cooldown_secs: String,
    /// This instance's name in run leases and logs (default: HOST-PID). Must differ between
    /// instances that share a database.
    #[arg(long, env = "YOUMEYOU_INSTANCE_ID", value_name = "NAME")]
    pub instance_id: Option<String>,
    /// Seconds a run's lease lasts without renewal (shared PostgreSQL store): another instance
    /// takes the run over this long after its owner died (0.5–600).
    #[arg(
        long,
        env = "YOUMEYOU_LEASE_TTL_SECS",
        default_value = "10",
        value_name = "SECS"
    )]
    pub lease_ttl_secs: String,
    /// Seconds between two renewals of the leases this instance holds; at most a third of the
    /// lease TTL, so two renewals can fail before a lease lapses (0.1–200).
    #[arg(
        long,
        env = "YOUMEYOU_LEASE_RENEW_SECS",
        default_value = "3",
        value_name = "SECS"
    )]
    pub lease_renew_secs: String,
    /// Seconds between two looks for runs whose lease lapsed or was handed back (0.1–600).
    #[arg(
        long,
        env = "YOUMEYOU_SWEEP_SECS",
        default_value = "2",
        value_name = "SECS"
    )]
    pub sweep_secs: String,
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    flag: &'static str,
    raw: &str,
    min: T,
    max: T,
) -> Result<T, crate::server::config::ConfigError> {
    match raw.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(crate::server::config::ConfigError {
            flag,
            message: format!("'{raw}' is not a number from {min} to {max}"),
        }),
    }
}

impl OrchestratorArgs {
    pub fn into_settings(self, pace: f64) -> Result<Settings, crate::server::config::ConfigError> {
        let threshold: f64 = number(
            "--complexity-threshold (YOUMEYOU_COMPLEXITY_THRESHOLD)",
            &self.complexity_threshold,
            0.0,
            1.0,
        )?;
        let lease_ttl: f64 = number(
            "--lease-ttl-secs (YOUMEYOU_LEASE_TTL_SECS)",
            &self.lease_ttl_secs,
            0.5,
            600.0,
        )?;
        let lease_renew: f64 = number(
            "--lease-renew-secs (YOUMEYOU_LEASE_RENEW_SECS)",
            &self.lease_renew_secs,
            0.1,
            200.0,
        )?;
        if lease_renew * 3.0 > lease_ttl {
            return Err(crate::server::config::ConfigError {
                flag: "--lease-renew-secs (YOUMEYOU_LEASE_RENEW_SECS)",
                message: format!(
                    "renewing every {lease_renew} s is too slow for a {lease_ttl} s lease: use at most a third of --lease-ttl-secs"
                ),
            });
        }
        Ok(Settings {
            pace,
            max_parallel_tasks: number(
                "--max-parallel-tasks (YOUMEYOU_MAX_PARALLEL_TASKS)",
                &self.max_parallel_tasks,
                1,
                64,
            )?,
            max_concurrent_runs: number(
                "--max-concurrent-runs (YOUMEYOU_MAX_CONCURRENT_RUNS)",
                &self.max_concurrent_runs,
                1,
                256,
            )?,
            task_timeout: Duration::from_secs(number(
                "--task-timeout-secs (YOUMEYOU_TASK_TIMEOUT_SECS)",
                &self.task_timeout_secs,
                1,
                86_400,
            )?),
            task_retries: number(
                "--task-retries (YOUMEYOU_TASK_RETRIES)",
                &self.task_retries,
                0,
                10,
            )?,
            complexity_threshold: threshold,
            edit_cooldown: Duration::from_secs(number(
                "--edit-cooldown-secs (YOUMEYOU_EDIT_COOLDOWN_SECS)",
                &self.edit_cooldown_secs,
                0,
                3600,
            )?),
            instance_id: instance_id(self.instance_id.as_deref())?,
            lease_ttl: Duration::from_secs_f64(lease_ttl),
            lease_renew: Duration::from_secs_f64(lease_renew),
            sweep_interval: Duration::from_secs_f64(number(
                "--sweep-secs (YOUMEYOU_SWEEP_SECS)",
                &self.sweep_secs,
                0.1,
                600.0,
            )?),
            ..Settings::default()
        })
    }
}

fn instance_id(raw: Option<&str>) -> Result<String, crate::server::config::ConfigError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default_instance_id()),
        Some(id)
            if id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')) =>
        {
            Ok(id.to_string())
        }
        Some(id) => Err(crate::server::config::ConfigError {
            flag: "--instance-id (YOUMEYOU_INSTANCE_ID)",
            message: format!("'{id}' must be 1-64 letters, digits, '-', '_', '.' or ':'"),
        }),
    }
}
