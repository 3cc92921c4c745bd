//! Capacity maths for one service: per-instance throughput from its configuration, the
//! bottlenecks that cap it, and the smallest configuration that reaches a target RPS.
//! Integer arithmetic only (no float noise in "5500 RPS"); no IO, no clock.
//!
//! # The model
//! * One unoptimised instance serves `base_rps` requests per second (auth: 100 — bcrypt and
//!   JWT signature checks plus a user lookup on every request).
//! * A Redis validation cache (JWT validation for auth) multiplies that by
//!   [`CACHE_SPEEDUP_PCT`]% (2.5×): hits skip the signature check and the database.
//! * Read replicas take reads off the primary, so per-request database time falls:
//!   +[`REPLICA_SPEEDUP_PCT`]% per replica, counted up to [`REPLICA_SPEEDUP_CAP`] replicas
//!   (2 replicas → 2.2×). More replicas add database capacity, not instance speed.
//! * Instances add up linearly behind a load balancer — unless sessions live in process
//!   memory: then they are not shared, so the model counts one instance (conservative; a
//!   failover would log every user out).
//! * The database caps the whole service: each node (primary or replica) absorbs
//!   [`DB_NODE_RPS`] requests per second, [`CACHE_DB_RELIEF_PCT`]% of that with the cache
//!   (only 40% of requests reach it).
//!
//! Example 2: auth, 1 instance, memory sessions, single MySQL → min(1 × 100, 2000) = 100 RPS.
//! The plan for 5000 RPS applies every fix (Redis Cluster sessions, JWT cache, 2 replicas):
//! 100 × 2.5 × 2.2 = 550 RPS per instance, ⌈5000 / 550⌉ = 10 instances → 5500 RPS.

use serde::{Deserialize, Serialize};

/// Throughput of one unoptimised instance when the service kind is unknown.
pub const DEFAULT_BASE_RPS: u64 = 150;
/// Per-instance speed-up from a Redis validation cache, in percent.
pub const CACHE_SPEEDUP_PCT: u64 = 250;
/// Per-instance speed-up per read replica, in percent points.
pub const REPLICA_SPEEDUP_PCT: u64 = 60;
/// Replicas beyond this add database capacity but no per-instance speed.
pub const REPLICA_SPEEDUP_CAP: u32 = 2;
/// Requests per second one database node absorbs without a cache.
pub const DB_NODE_RPS: u64 = 2_000;
/// Database capacity with a cache in front, in percent of [`DB_NODE_RPS`].
pub const CACHE_DB_RELIEF_PCT: u64 = 250;
/// Read replicas every scaling plan keeps at least (high availability floor).
pub const MIN_READ_REPLICAS: u32 = 2;
/// Operations per second one Redis node handles comfortably.
pub const REDIS_NODE_OPS: u64 = 50_000;
/// Redis operations per request: a session read and a validation-cache lookup.
pub const REDIS_OPS_PER_REQUEST: u64 = 2;
/// Redis Cluster needs at least three masters.
pub const MIN_REDIS_NODES: u32 = 3;
/// Requests per second one active user generates (one request every 10 s).
pub const RPS_PER_100_USERS: u64 = 10;

/// Where a service keeps user sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SessionStore {
    /// In process memory: fast, but not shared between instances.
    Memory,
    Redis,
    RedisCluster {
        nodes: u32,
    },
    /// No server-side sessions (plain JWT, or no users at all).
    Stateless,
}

impl SessionStore {
    pub fn is_distributed(self) -> bool {
        !matches!(self, Self::Memory)
    }

    /// The design's wording: "Memory", "Redis Cluster (3 nodes)".
    pub fn describe(self) -> String {
        match self {
            Self::Memory => "Memory".to_string(),
            Self::Redis => "Redis".to_string(),
            Self::RedisCluster { nodes } => format!("Redis Cluster ({nodes} nodes)"),
            Self::Stateless => "Stateless (JWT)".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSetup {
    /// Display name, e.g. "MySQL".
    pub engine: String,
    pub read_replicas: u32,
}

impl DatabaseSetup {
    /// "MySQL single instance", "MySQL with 2 read replicas".
    pub fn describe(&self) -> String {
        match self.read_replicas {
            0 => format!("{} single instance", self.engine),
            1 => format!("{} with 1 read replica", self.engine),
            n => format!("{} with {n} read replicas", self.engine),
        }
    }
}

/// Everything the model needs to know about one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProfile {
    pub base_rps: u64,
    pub instances: u32,
    pub session_store: SessionStore,
    pub validation_cache: bool,
    /// What the cache speeds up, e.g. "JWT validation".
    pub cache_purpose: String,
    pub database: Option<DatabaseSetup>,
}

impl ServiceProfile {
    /// Requests per second one instance serves with this configuration.
    pub fn per_instance_rps(&self) -> u64 {
        let cache_pct = if self.validation_cache {
            CACHE_SPEEDUP_PCT
        } else {
            100
        };
        let replicas = self
            .database
            .as_ref()
            .map_or(0, |d| d.read_replicas.min(REPLICA_SPEEDUP_CAP));
        let replica_pct = 100 + REPLICA_SPEEDUP_PCT * u64::from(replicas);
        self.base_rps
            .saturating_mul(cache_pct)
            .saturating_mul(replica_pct)
            / 10_000
    }

    /// Instances that actually share load (see the module docs on memory sessions).
    pub fn effective_instances(&self) -> u32 {
        if self.session_store.is_distributed() {
            self.instances.max(1)
        } else {
            1
        }
    }

    /// Requests per second the database tier absorbs; `None` without a database.
    pub fn database_ceiling_rps(&self) -> Option<u64> {
        self.database.as_ref().map(|d| {
            let relief = if self.validation_cache {
                CACHE_DB_RELIEF_PCT
            } else {
                100
            };
            DB_NODE_RPS.saturating_mul(1 + u64::from(d.read_replicas)) * relief / 100
        })
    }

    /// Sustainable requests per second of the whole service.
    pub fn capacity_rps(&self) -> u64 {
        let compute = self
            .per_instance_rps()
            .saturating_mul(u64::from(self.effective_instances()));
        self.database_ceiling_rps()
            .map_or(compute, |ceiling| compute.min(ceiling))
    }

    /// What stops this configuration from scaling, in the design's wording.
    pub fn bottlenecks(&self) -> Vec<Bottleneck> {
        let mut out = Vec::new();
        if self.instances <= 1 {
            out.push(Bottleneck::new(
                BottleneckKind::SingleInstance,
                "Single instance (no horizontal scaling)",
            ));
        }
        if !self.session_store.is_distributed() {
            out.push(Bottleneck::new(
                BottleneckKind::MemorySessionStore,
                "Memory session store (not distributed)",
            ));
        }
        if let Some(db) = &self.database {
            if db.read_replicas == 0 {
                out.push(Bottleneck::new(
                    BottleneckKind::SingleDatabase,
                    "Single database (no read replicas)",
                ));
            }
        }
        let compute = self
            .per_instance_rps()
            .saturating_mul(u64::from(self.effective_instances()));
        if self.database_ceiling_rps().is_some_and(|c| c < compute) {
            out.push(Bottleneck::new(
                BottleneckKind::DatabaseSaturated,
                "Database saturated before the service instances",
            ));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BottleneckKind {
    SingleInstance,
    MemorySessionStore,
    SingleDatabase,
    DatabaseSaturated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bottleneck {
    pub kind: BottleneckKind,
    pub description: String,
}

impl Bottleneck {
    fn new(kind: BottleneckKind, description: &str) -> Self {
        Self {
            kind,
            description: description.to_string(),
        }
    }
}

/// The smallest configuration of the model that serves `target_rps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPlan {
    pub target_rps: u64,
    pub current_capacity_rps: u64,
    /// ⌈target / current⌉, e.g. 50 for "50x".
    pub scaling_factor: u64,
    /// "horizontal_scaling", or "configuration_tuning" when one instance suffices.
    pub approach: String,
    pub instances: u32,
    pub per_instance_rps: u64,
    pub load_balancer: String,
    pub session_store: SessionStore,
    pub redis_nodes: u32,
    pub validation_cache: bool,
    pub cache_purpose: String,
    pub database: Option<DatabaseSetup>,
    pub estimated_capacity_rps: u64,
    /// One line per change, in the order they should be rolled out.
    pub recommendations: Vec<String>,
}

impl ScalingPlan {
    /// The scaled service as a profile (to re-check it with the same model).
    pub fn scaled_profile(&self, base_rps: u64) -> ServiceProfile {
        ServiceProfile {
            base_rps,
            instances: self.instances,
            session_store: self.session_store,
            validation_cache: self.validation_cache,
            cache_purpose: self.cache_purpose.clone(),
            database: self.database.clone(),
        }
    }

    /// The configuration summary of Example 2 (`instances`, `load_balancer`,
    /// `session_store`, `database`, `caching`, `estimated_capacity`).
    pub fn config_summary(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("instances".into(), self.instances.into());
        map.insert("load_balancer".into(), self.load_balancer.clone().into());
        map.insert("session_store".into(), self.session_store.describe().into());
        if let Some(db) = &self.database {
            map.insert("database".into(), db.describe().into());
        }
        if self.validation_cache {
            map.insert(
                "caching".into(),
                format!("Redis for {}", self.cache_purpose).into(),
            );
        }
        map.insert(
            "estimated_capacity".into(),
            format_rps(self.estimated_capacity_rps).into(),
        );
        serde_json::Value::Object(map)
    }
}

/// ⌈target / per_instance⌉, at least 1.
pub fn instances_needed(per_instance_rps: u64, target_rps: u64) -> u32 {
    if per_instance_rps == 0 {
        return 1;
    }
    let n = target_rps.div_ceil(per_instance_rps).max(1);
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Read replicas so that the database tier absorbs `target_rps` with the cache on.
pub fn replicas_needed(target_rps: u64) -> u32 {
    let per_node = DB_NODE_RPS * CACHE_DB_RELIEF_PCT / 100;
    let nodes = target_rps.div_ceil(per_node).max(1);
    let replicas = u32::try_from(nodes - 1).unwrap_or(u32::MAX);
    replicas.max(MIN_READ_REPLICAS)
}

/// Redis Cluster size for `target_rps`.
pub fn redis_nodes_needed(target_rps: u64) -> u32 {
    let nodes = target_rps
        .saturating_mul(REDIS_OPS_PER_REQUEST)
        .div_ceil(REDIS_NODE_OPS);
    u32::try_from(nodes)
        .unwrap_or(u32::MAX)
        .max(MIN_REDIS_NODES)
}

/// Requests per second generated by `users` active users.
pub fn rps_for_users(users: u64) -> u64 {
    users.saturating_mul(RPS_PER_100_USERS).div_ceil(100).max(1)
}

/// "5500 RPS".
pub fn format_rps(rps: u64) -> String {
    format!("{rps} RPS")
}

/// Plans the smallest configuration of the model that serves `target_rps`.
///
/// Every fix is applied (distributed sessions, validation cache, at least
/// [`MIN_READ_REPLICAS`] replicas when there is a database) before instances are added:
/// fixes multiply what each instance is worth. Because the fixed per-instance throughput
/// does not depend on the target, instances, replicas and capacity all grow monotonically
/// with the target, and `instances` is the minimum with `capacity ≥ target`.
pub fn plan_scaling(current: &ServiceProfile, target_rps: u64) -> ScalingPlan {
    let target_rps = target_rps.max(1);
    let redis_nodes = redis_nodes_needed(target_rps);
    let database = current.database.as_ref().map(|db| DatabaseSetup {
        engine: db.engine.clone(),
        read_replicas: replicas_needed(target_rps).max(db.read_replicas),
    });
    let mut fixed = ServiceProfile {
        base_rps: current.base_rps,
        instances: 1,
        // A stateless service keeps no sessions; moving them to Redis would be invented work.
        session_store: if current.session_store == SessionStore::Stateless {
            SessionStore::Stateless
        } else {
            SessionStore::RedisCluster { nodes: redis_nodes }
        },
        validation_cache: true,
        cache_purpose: current.cache_purpose.clone(),
        database,
    };
    let per_instance_rps = fixed.per_instance_rps();
    fixed.instances = instances_needed(per_instance_rps, target_rps);
    let estimated_capacity_rps = fixed.capacity_rps();
    let current_capacity_rps = current.capacity_rps();

    let mut recommendations = vec![format!(
        "Scale horizontally to {} instances behind NGINX (round-robin)",
        fixed.instances
    )];
    if fixed.session_store != SessionStore::Stateless {
        recommendations.push(format!(
            "Move sessions to a Redis Cluster ({redis_nodes} nodes)"
        ));
    }
    if let Some(db) = &fixed.database {
        recommendations.push(format!(
            "Add {} {} read replicas and route reads to them",
            db.read_replicas, db.engine
        ));
    }
    recommendations.push(format!("Cache {} in Redis", fixed.cache_purpose));

    ScalingPlan {
        target_rps,
        current_capacity_rps,
        scaling_factor: target_rps.div_ceil(current_capacity_rps.max(1)),
        approach: if fixed.instances > 1 {
            "horizontal_scaling".to_string()
        } else {
            "configuration_tuning".to_string()
        },
        instances: fixed.instances,
        per_instance_rps,
        load_balancer: "NGINX with round-robin".to_string(),
        session_store: fixed.session_store,
        redis_nodes,
        validation_cache: true,
        cache_purpose: fixed.cache_purpose.clone(),
        database: fixed.database.clone(),
        estimated_capacity_rps,
        recommendations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_2_auth() -> ServiceProfile {
        ServiceProfile {
            base_rps: 100,
            instances: 1,
            session_store: SessionStore::Memory,
            validation_cache: false,
            cache_purpose: "JWT validation".to_string(),
            database: Some(DatabaseSetup {
                engine: "MySQL".to_string(),
                read_replicas: 0,
            }),
        }
    }

    #[test]
    fn example_2_current_capacity_is_100_rps() {
        let auth = example_2_auth();
        assert_eq!(auth.per_instance_rps(), 100);
        assert_eq!(auth.capacity_rps(), 100);
        assert_eq!(format_rps(auth.capacity_rps()), "100 RPS");
    }

    #[test]
    fn example_2_has_the_three_bottlenecks_of_the_design() {
        let descriptions: Vec<String> = example_2_auth()
            .bottlenecks()
            .into_iter()
            .map(|b| b.description)
            .collect();
        assert_eq!(
            descriptions,
            [
                "Single instance (no horizontal scaling)",
                "Memory session store (not distributed)",
                "Single database (no read replicas)"
            ]
        );
    }

    #[test]
    fn example_2_plan_for_5000_rps() {
        let plan = plan_scaling(&example_2_auth(), 5000);
        assert_eq!(plan.per_instance_rps, 550);
        assert_eq!(plan.instances, 10);
        assert_eq!(plan.redis_nodes, 3);
        assert_eq!(plan.database.as_ref().map(|d| d.read_replicas), Some(2));
        assert_eq!(plan.estimated_capacity_rps, 5500);
        assert_eq!(plan.current_capacity_rps, 100);
        assert_eq!(plan.scaling_factor, 50);
        assert_eq!(plan.approach, "horizontal_scaling");
        assert_eq!(plan.recommendations.len(), 4);
        assert_eq!(
            plan.config_summary(),
            serde_json::json!({
                "instances": 10,
                "load_balancer": "NGINX with round-robin",
                "session_store": "Redis Cluster (3 nodes)",
                "database": "MySQL with 2 read replicas",
                "caching": "Redis for JWT validation",
                "estimated_capacity": "5500 RPS"
            })
        );
        assert!(plan.scaled_profile(100).bottlenecks().is_empty());
        assert_eq!(plan.scaled_profile(100).capacity_rps(), 5500);
    }

    #[test]
    fn other_targets_give_sensible_plans() {
        let p1200 = plan_scaling(&example_2_auth(), 1200);
        assert_eq!((p1200.instances, p1200.estimated_capacity_rps), (3, 1650));
        let p20k = plan_scaling(&example_2_auth(), 20_000);
        assert_eq!(p20k.instances, 37);
        assert_eq!(p20k.database.as_ref().map(|d| d.read_replicas), Some(3));
        assert!(p20k.estimated_capacity_rps >= 20_000);
        let tiny = plan_scaling(&example_2_auth(), 50);
        assert_eq!(tiny.instances, 1);
        assert_eq!(tiny.approach, "configuration_tuning");
    }

    #[test]
    fn plans_are_sufficient_minimal_and_monotone_over_a_range_of_targets() {
        let profiles = [
            example_2_auth(),
            ServiceProfile {
                database: None,
                session_store: SessionStore::Stateless,
                base_rps: 80,
                ..example_2_auth()
            },
        ];
        for profile in &profiles {
            let mut previous: Option<ScalingPlan> = None;
            for target in (1..=200_000u64).step_by(997).chain([5000, 5500, 5501]) {
                let plan = plan_scaling(profile, target);
                assert!(
                    plan.estimated_capacity_rps >= target,
                    "target {target}: {plan:?}"
                );
                let smaller = u64::from(plan.instances - 1) * plan.per_instance_rps;
                assert!(
                    smaller < target,
                    "target {target}: {} instances not minimal",
                    plan.instances
                );
                let recheck = plan.scaled_profile(profile.base_rps).capacity_rps();
                assert_eq!(recheck, plan.estimated_capacity_rps);
                if let Some(prev) = previous.filter(|p| p.target_rps <= target) {
                    assert!(
                        plan.instances >= prev.instances,
                        "instances fell at {target}"
                    );
                    assert!(plan.estimated_capacity_rps >= prev.estimated_capacity_rps);
                    assert!(plan.redis_nodes >= prev.redis_nodes);
                }
                previous = Some(plan);
            }
        }
    }

    #[test]
    fn memory_sessions_cap_horizontal_scaling() {
        let mut p = example_2_auth();
        p.instances = 4;
        assert_eq!(p.capacity_rps(), 100);
        p.session_store = SessionStore::Redis;
        assert_eq!(p.capacity_rps(), 400);
    }

    #[test]
    fn database_saturation_is_a_bottleneck() {
        let p = ServiceProfile {
            instances: 30,
            session_store: SessionStore::Redis,
            ..example_2_auth()
        };
        assert_eq!(p.capacity_rps(), 2000);
        assert!(p
            .bottlenecks()
            .iter()
            .any(|b| b.kind == BottleneckKind::DatabaseSaturated));
    }

    #[test]
    fn helpers() {
        assert_eq!(instances_needed(550, 5000), 10);
        assert_eq!(instances_needed(0, 5000), 1);
        assert_eq!(rps_for_users(10_000), 1000);
        assert_eq!(redis_nodes_needed(1_000_000), 40);
        assert_eq!(replicas_needed(5000), 2);
        assert_eq!(SessionStore::Memory.describe(), "Memory");
    }
}
