//! The built-in rules-and-templates engine: what runs when no LLM is configured (and what the
//! LLM path falls back to). Pure and deterministic — the same prompt and canvas always give
//! the same intent, plan, canvas patches and files; no clock, randomness or IO.
//!
//! Flow: [`analyse_intent`] → [`extract_context`] → [`plan`] → for each task in DAG order
//! [`run_agent`] (with [`progress_steps`] / [`iterations`] while it runs) → [`execution_totals`]
//! and [`next_steps`]. Editing a task: [`changed_outputs`] feeds `impact::analyse`.

pub mod agents;
pub mod artefacts;
pub mod context;
pub mod edit;
pub mod intent;
pub mod mentions;
pub mod metrics;
pub mod named;
pub mod planner;
pub mod progress;
pub mod sanitize;
pub mod summary;
pub mod target;
pub mod technology;
pub mod templates;
pub mod text;

/// Example canvases and prompts of the product spec (tests, benchmarks).
#[doc(hidden)]
pub mod fixtures;
#[cfg(test)]
mod scenarios;

pub use agents::{job_of, run_agent, AgentError, AgentInput, AgentOutput, DependencyOutput, Job};
pub use context::{
    extract_context, CanvasContext, ComponentSummary, CurrentConfig, TargetComponent,
};
pub use edit::{changed_outputs, estimated_time_for_prompt, outputs_for_prompt, summarise_change};
pub use intent::{analyse_intent, IntentError, MAX_PROMPT_CHARS};
pub use planner::{choose_path, dynamic_plan, plan, static_plan, PlanDraft, STATIC_PATH_THRESHOLD};
pub use progress::{iterations, progress_steps, Iteration};
pub use summary::{execution_totals, next_steps};

use crate::domains::HomeMap;

/// The domain homes of a run: the intent's features plus the services already on the canvas.
/// Pass `|k| homes.lookup(k)` (or the map itself) to `impact::analyse`.
pub fn home_map(intent: &crate::model::IntentAnalysis, context: &CanvasContext) -> HomeMap {
    let mut keys: Vec<String> = intent.components.clone();
    for c in &context.components {
        if c.kind == crate::model::NodeType::Microservice {
            if let Some(f) = mentions::feature_for_node(&c.id, &c.label) {
                if !keys.iter().any(|k| k == f.key) {
                    keys.push(f.key.to_string());
                }
            }
        }
    }
    HomeMap::new(&keys)
}
