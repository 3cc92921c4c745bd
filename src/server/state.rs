//! The one state struct every handler receives (no global singletons): configuration, the
//! store, Leptos options. Cloning is cheap (everything shared is behind `Arc`).

use crate::server::auth::passwords::Passwords;
use crate::server::auth::tokens::KeyRing;
use crate::server::config::ServeConfig;
use crate::server::limits::{MemoryLimiter, Quotas};
use crate::server::llm::{LlmAgents, LlmPlanner, LlmRuntime};
use crate::server::metrics::Metrics;
use crate::server::orchestrator::agents::Agents;
use crate::server::orchestrator::builtin::BuiltinAgents;
use crate::server::orchestrator::planning::{BuiltinPlanner, Planner};
use crate::server::orchestrator::Orchestrator;
use crate::server::realtime::bus::{EventBus, InProcessBus};
use crate::server::realtime::{limits::RealtimeConfig, Realtime};
use crate::server::secrets;
use crate::server::store::Store;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub config: Arc<ServeConfig>,
    pub store: Arc<dyn Store>,
    /// Fan-out of persisted events to the transports.
    pub bus: Arc<dyn EventBus>,
    /// Signs and verifies sessions and build tokens.
    pub keys: Arc<KeyRing>,
    /// Prometheus registry (`GET /metrics`); counters for any module.
    pub metrics: Arc<Metrics>,
    /// Real-time transports: limits, connection counters, snapshot hook, shutdown signal.
    pub realtime: Arc<Realtime>,
    /// Tier limits: run quotas (`begin_run`), request-rate buckets, the tier cache.
    pub quotas: Arc<Quotas>,
    /// argon2id hashing on the blocking pool, a bounded number at a time.
    pub passwords: Arc<Passwords>,
    /// Runs: pipeline, scheduler, edits, queue, resume.
    pub orchestrator: Arc<Orchestrator>,
    /// The LLM provider with per-run budgets and the per-user breaker; `None` for `builtin`.
    pub llm: Option<Arc<LlmRuntime>>,
    /// Redis, in the multi-instance mode (`REDIS_URL`): relay signals and shared limits.
    pub redis: Option<Arc<crate::server::cluster::RedisLink>>,
    /// Wakes this instance's command worker (cluster::commands) when a command waits.
    pub command_wakeups: Arc<tokio::sync::Notify>,
}

/// Replacements for tests and benchmarks (test agents, a fixed planner).
#[derive(Default, Clone)]
pub struct Overrides {
    pub agents: Option<Arc<dyn Agents>>,
    pub planner: Option<Arc<dyn Planner>>,
}

impl AppState {
    pub async fn open(config: ServeConfig) -> anyhow::Result<Self> {
        Self::open_with(config, Overrides::default()).await
    }

    /// `open` with test doubles in place of the built-in planner or agents.
    pub async fn open_with(config: ServeConfig, overrides: Overrides) -> anyhow::Result<Self> {
        crate::server::datadir::prepare(&config.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        let jwt_secret = match &config.jwt_secret {
            Some(s) => s.clone(),
            None => secrets::load_or_create_jwt_secret(&config.data_dir)?,
        };
        let store: Arc<dyn Store> = config.database.open().await?;
        let redis = match &config.redis_url {
            Some(url) => Some(Arc::new(
                crate::server::cluster::RedisLink::open(url, &config.redis_prefix).await?,
            )),
            None => None,
        };
        Self::assemble(config, store, jwt_secret, overrides, redis)
    }

    /// The state around a store the caller opened (tests seed it through `SqliteStore::pool`).
    /// The configuration must carry the JWT secret.
    pub async fn with_store(config: ServeConfig, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let jwt_secret = config
            .jwt_secret
            .clone()
            .ok_or_else(|| anyhow::anyhow!("AppState::with_store needs config.jwt_secret"))?;
        let mut state = Self::assemble(config, store, jwt_secret, Overrides::default(), None)?;
        state.realtime = Arc::new(Realtime::new(RealtimeConfig::default()));
        Ok(state)
    }

    fn assemble(
        config: ServeConfig,
        store: Arc<dyn Store>,
        jwt_secret: crate::server::secrets::Secret,
        overrides: Overrides,
        redis: Option<Arc<crate::server::cluster::RedisLink>>,
    ) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new());
        // Older secrets keep verifying tokens they signed (rotation); new ones use the current.
        let keys = Arc::new(KeyRing::new(
            &jwt_secret,
            &config.security.jwt_previous_secrets,
        ));
        // With Redis, rate limits hold across instances (cluster::limits).
        let limiter: Arc<dyn crate::server::limits::Limiter> = match &redis {
            Some(link) => Arc::new(crate::server::cluster::limits::RedisLimiter::new(
                link.clone(),
                config.limits.limiter_max_keys,
            )),
            None => Arc::new(MemoryLimiter::new(config.limits.limiter_max_keys)),
        };
        let quotas = Arc::new(Quotas::new(config.limits.clone(), limiter, store.clone()));
        let command_wakeups = Arc::new(tokio::sync::Notify::new());
        let queue_wakeups = Arc::new(tokio::sync::Notify::new());
        let bus: Arc<dyn EventBus> = if store.shared() || redis.is_some() {
            // Several instances: events of runs driven elsewhere arrive through the relay.
            Arc::new(crate::server::cluster::relay::ClusterBus::start(
                &config.orchestrator.instance_id,
                redis.clone(),
                store.clone(),
                metrics.clone(),
                command_wakeups.clone(),
                queue_wakeups.clone(),
            ))
        } else {
            Arc::new(InProcessBus::with_metrics(metrics.clone()))
        };
        // One redactor for the process: every secret it knows is scrubbed from each log line
        // (telemetry's writer) and from every LLM error text stored or shown to users.
        let redactor = crate::server::telemetry::redactor();
        redactor.register_bytes(jwt_secret.expose());
        if let Some(token) = &config.security.metrics_token {
            redactor.register_bytes(token.expose());
        }
        for previous in &config.security.jwt_previous_secrets {
            redactor.register_bytes(previous.expose());
        }
        // A configured provider replaces the built-in planner and agents; overrides still win.
        let llm = LlmRuntime::from_config(&config.llm, &config.limits, store.clone(), redactor)?;
        let planner: Arc<dyn Planner> = match (overrides.planner, &llm) {
            (Some(planner), _) => planner,
            (None, Some(runtime)) => Arc::new(LlmPlanner::new(runtime.clone())),
            (None, None) => Arc::new(BuiltinPlanner),
        };
        let agents: Arc<dyn Agents> = match (overrides.agents, &llm) {
            (Some(agents), _) => agents,
            (None, Some(runtime)) => Arc::new(LlmAgents::new(runtime.clone())),
            (None, None) => Arc::new(BuiltinAgents),
        };
        let orchestrator = Orchestrator::with_queue_wakeups(
            store.clone(),
            bus.clone(),
            config.orchestrator.clone(),
            planner,
            agents,
            queue_wakeups,
        );
        Ok(Self {
            leptos_options: crate::server::leptos_options(),
            config: Arc::new(config),
            store,
            bus,
            keys,
            metrics,
            realtime: Arc::new(Realtime::new(RealtimeConfig::from_env())),
            quotas,
            passwords: Arc::new(Passwords::default()),
            orchestrator,
            llm,
            redis,
            command_wakeups,
        })
    }

    /// Flushes and closes what needs closing; called after the HTTP server stopped.
    pub async fn close(&self) {
        // Runs checkpoint and stay `running`; the next start resumes them.
        self.orchestrator.shutdown().await;
        self.realtime.shutdown();
        self.store.close().await;
    }
}
