//! Intent analysis and planning behind one trait: the built-in rules-and-templates engine, or
//! an LLM when one is configured. Routing is decided here: below the complexity threshold the
//! static path (templates, no LLM call); above it the dynamic path.

use async_trait::async_trait;
use youmeyou_core::engine::context::{extract_context, CanvasContext};
use youmeyou_core::engine::{intent, planner};
use youmeyou_core::model::{Canvas, IntentAnalysis, PlanPath, Task};

#[derive(Debug, Clone)]
pub struct PlanChoice {
    pub tasks: Vec<Task>,
    pub path: PlanPath,
    /// Why this path and template, in words (shown to the user).
    pub reason: String,
    pub template: String,
    /// LLM cost of planning, if any.
    pub cost_usd: f64,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct PlannerError {
    pub code: String,
    pub message: String,
}

#[async_trait]
pub trait Planner: Send + Sync + 'static {
    async fn analyse(&self, prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, PlannerError>;

    fn context(&self, canvas: &Canvas, intent: &IntentAnalysis) -> CanvasContext {
        extract_context(canvas, intent)
    }

    async fn plan(
        &self,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        complexity_threshold: f64,
    ) -> Result<PlanChoice, PlannerError>;
}

/// The built-in engine: deterministic, offline, milliseconds.
pub struct BuiltinPlanner;

#[async_trait]
impl Planner for BuiltinPlanner {
    async fn analyse(&self, prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, PlannerError> {
        intent::analyse_intent(prompt, canvas).map_err(|e| PlannerError {
            code: e.code().to_string(),
            message: e.to_string(),
        })
    }

    async fn plan(
        &self,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        complexity_threshold: f64,
    ) -> Result<PlanChoice, PlannerError> {
        Ok(builtin_plan(intent, context, prompt, complexity_threshold))
    }
}

/// The built-in plan; the dynamic route without an LLM is recorded honestly as `static`.
pub fn builtin_plan(
    intent: &IntentAnalysis,
    context: &CanvasContext,
    prompt: &str,
    complexity_threshold: f64,
) -> PlanChoice {
    if intent.complexity < complexity_threshold {
        let draft = planner::static_plan(intent, context, prompt);
        PlanChoice {
            tasks: draft.tasks,
            path: PlanPath::Static,
            reason: format!(
                "complexity {:.2} is below the {:.2} threshold: {}",
                intent.complexity, complexity_threshold, draft.reason
            ),
            template: draft.template,
            cost_usd: 0.0,
        }
    } else {
        let draft = planner::dynamic_plan(intent, context, prompt);
        PlanChoice {
            tasks: draft.tasks,
            path: PlanPath::Static,
            reason: format!(
                "complexity {:.2} calls for dynamic planning, but no LLM provider is configured: used the built-in engine's richer templates ({})",
                intent.complexity, draft.reason
            ),
            template: draft.template,
            cost_usd: 0.0,
        }
    }
}
