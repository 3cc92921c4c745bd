//! Intent analysis and planning behind one trait: the built-in rules-and-templates engine, or
//! an LLM when one is configured. Routing is decided here: below the complexity threshold the
//! static path (templates, no LLM call); above it the dynamic path.

use super::cpu;
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
    /// Problems that did not stop the run (e.g. the LLM's plan was unusable and the built-in
    /// one was used); each becomes an `error` event with `fatal: false`.
    pub warnings: Vec<PlanWarning>,
    /// Set when an LLM takes part in the run: planning's tokens and the run's estimated cost.
    pub llm: Option<LlmPlanning>,
}

/// A non-fatal planning problem, as the `error` event's `code` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanWarning {
    pub code: String,
    pub message: String,
}

/// What an LLM planner spent and expects the run to cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LlmPlanning {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD: planning so far plus the estimated execution (tokens × price per task).
    pub estimated_run_usd: f64,
}

/// The run a planning call serves: LLM planners charge its budget and its owner's failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunScope {
    pub run_id: String,
    pub owner_id: String,
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

    /// The canvas context of `intent`, computed in the planning pool (`cpu`).
    async fn context(
        &self,
        canvas: &Canvas,
        intent: &IntentAnalysis,
    ) -> Result<CanvasContext, PlannerError> {
        let (canvas, intent) = (canvas.clone(), intent.clone());
        cpu::run(move || extract_context(&canvas, &intent))
            .await
            .map_err(stopped)
    }

    async fn plan(
        &self,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        complexity_threshold: f64,
    ) -> Result<PlanChoice, PlannerError>;

    /// `analyse` on behalf of a run (the pipeline calls this one).
    async fn analyse_in(
        &self,
        _run: &RunScope,
        prompt: &str,
        canvas: &Canvas,
    ) -> Result<IntentAnalysis, PlannerError> {
        self.analyse(prompt, canvas).await
    }

    /// `plan` on behalf of a run (the pipeline calls this one).
    async fn plan_in(
        &self,
        _run: &RunScope,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        complexity_threshold: f64,
    ) -> Result<PlanChoice, PlannerError> {
        self.plan(intent, context, prompt, complexity_threshold)
            .await
    }
}

/// The built-in engine: deterministic, offline, milliseconds.
pub struct BuiltinPlanner;

#[async_trait]
impl Planner for BuiltinPlanner {
    async fn analyse(&self, prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, PlannerError> {
        let (prompt, canvas) = (prompt.to_string(), canvas.clone());
        cpu::run(move || intent::analyse_intent(&prompt, &canvas))
            .await
            .map_err(stopped)?
            .map_err(|e| PlannerError {
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
        let (intent, context, prompt) = (intent.clone(), context.clone(), prompt.to_string());
        cpu::run(move || builtin_plan(&intent, &context, &prompt, complexity_threshold))
            .await
            .map_err(stopped)
    }
}

/// A planning job that died (a panic, logged by `cpu`) as the run's error.
fn stopped(e: cpu::CpuError) -> PlannerError {
    PlannerError {
        code: "internal_error".to_string(),
        message: format!("{e}. This is a bug; please try again or report it."),
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
            warnings: Vec::new(),
            llm: None,
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
            warnings: Vec::new(),
            llm: None,
        }
    }
}
