//! The component a scale or fix request is about, resolved once from the intent and the
//! canvas context: its ids (raw for the canvas, slugged for paths), its capacity profile
//! and the throughput goal. Shared by the planner and the scaling agents.

use crate::capacity::{DatabaseSetup, ServiceProfile, SessionStore, DEFAULT_BASE_RPS};
use crate::domains::Feature;
use crate::engine::context::CanvasContext;
use crate::engine::intent::target_feature;
use crate::engine::metrics::{metrics_in, target_rps};
use crate::engine::sanitize::{comment_text, slug, snake};
use crate::engine::text::title_case;
use crate::model::IntentAnalysis;

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleTarget {
    /// Canvas node id (as the user's canvas spells it).
    pub id: String,
    /// Path- and container-safe form of `id`.
    pub slug: String,
    /// Artefact name: the feature key, else a snake-case form of the id.
    pub key: String,
    /// Human name for titles: "Auth Service".
    pub label: String,
    pub feature: Option<&'static Feature>,
    pub profile: ServiceProfile,
    /// Primary database node id, when the canvas has one.
    pub database_node: Option<String>,
    pub target_rps: u64,
}

impl ScaleTarget {
    /// Short name for derived node ids: "auth" for "auth-service".
    pub fn short(&self) -> String {
        self.slug
            .strip_suffix("-service")
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.slug)
            .to_string()
    }
}

/// Resolves the target of `intent`. A throughput named in `task_prompt` (an edited task)
/// wins over the intent's metrics; without any goal the target is ten times the current
/// capacity, at least 1000 RPS, rounded up to hundreds.
pub fn resolve(
    intent: &IntentAnalysis,
    ctx: &CanvasContext,
    task_prompt: Option<&str>,
) -> ScaleTarget {
    let on_canvas = ctx.target.as_ref();
    let feature = on_canvas
        .and_then(|t| t.feature.as_deref())
        .and_then(crate::domains::feature)
        .or_else(|| target_feature(intent));
    let id = on_canvas.map_or_else(
        || feature.map_or_else(|| intent.target.clone(), |f| f.service.to_string()),
        |t| t.id.clone(),
    );
    let profile = on_canvas.map_or_else(|| default_profile(feature), |t| t.profile.clone());
    let label = match (feature, on_canvas) {
        (Some(f), _) => f.label.to_string(),
        (None, Some(t)) if !t.label.trim().is_empty() => comment_text(&t.label, 60),
        _ => title_case(&slug(&id, "component")),
    };
    let goal = task_prompt
        .and_then(|p| target_rps(&metrics_in(p)))
        .or_else(|| target_rps(&intent.metrics))
        .unwrap_or_else(|| (profile.capacity_rps() * 10).max(1000).div_ceil(100) * 100);
    ScaleTarget {
        slug: slug(&id, "component"),
        key: feature.map_or_else(|| snake(&id, "component"), |f| f.key.to_string()),
        label,
        feature,
        database_node: on_canvas.and_then(|t| t.database_node.clone()),
        profile,
        target_rps: goal,
        id,
    }
}

/// What the model assumes about a service that is not on the canvas: one instance, a
/// single MySQL, no cache, and in-memory sessions for an auth service.
pub fn default_profile(feature: Option<&Feature>) -> ServiceProfile {
    ServiceProfile {
        base_rps: feature.map_or(DEFAULT_BASE_RPS, |f| f.base_rps),
        instances: 1,
        session_store: if feature.is_some_and(|f| f.key == "auth") {
            SessionStore::Memory
        } else {
            SessionStore::Stateless
        },
        validation_cache: false,
        cache_purpose: feature.map_or("hot reads", |f| f.cache_purpose).to_string(),
        database: Some(DatabaseSetup {
            engine: "MySQL".to_string(),
            read_replicas: 0,
        }),
    }
}
