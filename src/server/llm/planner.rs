//! `LlmPlanner`: intent analysis and dynamic planning by a model, each answer validated (and
//! repaired at most twice) before it is used; any failure falls back to the built-in engine
//! and says why. Below the complexity threshold the static path is taken without a call.
//! Planner failures do not count against the user's breaker: the run goes on without them.

use super::{canvas_summary, context_summary, shorten, LlmRuntime, RunLedger};
use crate::server::orchestrator::cpu;
use crate::server::orchestrator::planning::{
    BuiltinPlanner, LlmPlanning, PlanChoice, PlanWarning, Planner, PlannerError, RunScope,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::sync::Arc;
use youmeyou_core::engine::context::CanvasContext;
use youmeyou_core::engine::planner as core_planner;
use youmeyou_core::model::{
    Canvas, IntentAnalysis, IntentKind, Metric, MetricKind, PlanPath, Task, TaskStatus,
};
use youmeyou_core::plan;
use youmeyou_llm::prompts::{CODE_V1, INTENT_V1, PLANNER_V1};
use youmeyou_llm::structured::DEFAULT_MAX_REPAIRS;
use youmeyou_llm::{estimate_tokens, generate_validated, LlmError, Pricing};

/// Most tasks the prompts ask for, whatever the tier allows: plans are better small.
const PROMPT_MAX_TASKS: usize = 12;

/// Longest warning message, in characters (an invalid-output error lists every attempt).
const MAX_WARNING_CHARS: usize = 1500;

pub struct LlmPlanner {
    runtime: Arc<LlmRuntime>,
}

impl LlmPlanner {
    pub fn new(runtime: Arc<LlmRuntime>) -> Self {
        Self { runtime }
    }

    async fn analyse_with(
        &self,
        ledger: &RunLedger,
        prompt: &str,
        canvas: &Canvas,
    ) -> Result<IntentAnalysis, PlannerError> {
        let max_tasks = ledger.max_plan_tasks.min(PROMPT_MAX_TASKS);
        let before = ledger.spend();
        let answer = match INTENT_V1.request(
            &[
                ("canvas_summary", &canvas_summary(canvas)),
                ("max_tasks", &max_tasks.to_string()),
            ],
            prompt,
        ) {
            Ok(request) => {
                generate_validated(
                    ledger.provider(),
                    request,
                    |json| parse_intent(json, max_tasks),
                    DEFAULT_MAX_REPAIRS,
                )
                .await
            }
            Err(e) => Err(LlmError::Protocol {
                message: format!("prompt template: {e}"),
            }),
        };
        ledger.add_planning_since(before);
        match answer {
            Ok(validated) => Ok(validated.value),
            Err(error) => {
                let error = self.runtime.redact(error);
                tracing::warn!(run = %ledger.run_id(), code = error.code(), %error, "LLM intent analysis failed; using the built-in classifier");
                ledger.set_intent_warning(PlanWarning {
                    code: error.code().to_string(),
                    message: shorten(
                        &format!(
                            "Intent analysis by the LLM failed ({error}); the built-in classifier was used instead. {}",
                            error.suggested_action()
                        ),
                        MAX_WARNING_CHARS,
                    ),
                });
                BuiltinPlanner.analyse(prompt, canvas).await
            }
        }
    }

    async fn plan_with(
        &self,
        ledger: &RunLedger,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        threshold: f64,
    ) -> Result<PlanChoice, PlannerError> {
        let mut warnings: Vec<PlanWarning> = ledger.take_intent_warning().into_iter().collect();
        if intent.complexity < threshold {
            let choice = BuiltinPlanner
                .plan(intent, context, prompt, threshold)
                .await?;
            return Ok(self.priced(ledger, choice, warnings));
        }
        let limit = ledger.max_plan_tasks;
        let before = ledger.spend();
        let intent_json = serde_json::to_string(intent).unwrap_or_default();
        let answer = match PLANNER_V1.request(
            &[
                ("intent_json", &intent_json),
                ("canvas_summary", &context_summary(context)),
                ("max_tasks", &limit.min(PROMPT_MAX_TASKS).to_string()),
            ],
            prompt,
        ) {
            Ok(request) => {
                generate_validated(
                    ledger.provider(),
                    request,
                    |json| parse_plan(json, limit),
                    DEFAULT_MAX_REPAIRS,
                )
                .await
            }
            Err(e) => Err(LlmError::Protocol {
                message: format!("prompt template: {e}"),
            }),
        };
        ledger.add_planning_since(before);
        let choice = match answer {
            Ok(validated) => {
                let repairs = match validated.repairs {
                    0 => String::new(),
                    1 => ", after 1 repair".into(),
                    n => format!(", after {n} repairs"),
                };
                PlanChoice {
                    reason: format!(
                        "complexity {:.2} is at or above the {threshold:.2} threshold: planned by {} ({} tasks{repairs})",
                        intent.complexity,
                        validated.completion.model,
                        validated.value.len()
                    ),
                    tasks: validated.value,
                    path: PlanPath::Dynamic,
                    template: PLANNER_V1.id(),
                    cost_usd: 0.0,
                    warnings: Vec::new(),
                    llm: None,
                }
            }
            Err(error) => {
                let error = self.runtime.redact(error);
                tracing::warn!(run = %ledger.run_id(), code = error.code(), %error, "LLM planning failed; using the built-in plan");
                let (i, c, p) = (intent.clone(), context.clone(), prompt.to_string());
                let draft = cpu::run(move || core_planner::dynamic_plan(&i, &c, &p))
                    .await
                    .map_err(|e| PlannerError {
                        code: "internal_error".to_string(),
                        message: format!("{e}. This is a bug; please try again or report it."),
                    })?;
                warnings.push(PlanWarning {
                    code: error.code().to_string(),
                    message: shorten(
                        &format!(
                            "The LLM's plan could not be used ({error}); the built-in plan was used instead (static path). {}",
                            error.suggested_action()
                        ),
                        MAX_WARNING_CHARS,
                    ),
                });
                PlanChoice {
                    reason: format!(
                        "complexity {:.2} calls for dynamic planning, but the LLM's plan could not be used ({}): used the built-in engine's templates ({})",
                        intent.complexity,
                        error.code(),
                        draft.reason
                    ),
                    tasks: draft.tasks,
                    path: PlanPath::Static,
                    template: draft.template,
                    cost_usd: 0.0,
                    warnings: Vec::new(),
                    llm: None,
                }
            }
        };
        Ok(self.priced(ledger, choice, warnings))
    }

    /// Adds planning's cost, the run's estimate and the warnings to a choice.
    fn priced(
        &self,
        ledger: &RunLedger,
        mut choice: PlanChoice,
        warnings: Vec<PlanWarning>,
    ) -> PlanChoice {
        let (planning_usd, usage) = ledger.planning();
        let config = self.runtime.config();
        let execution: f64 = choice
            .tasks
            .iter()
            .map(|t| estimate_task_usd(config.pricing, config.max_tokens, t))
            .sum();
        choice.cost_usd = planning_usd;
        choice.warnings.extend(warnings);
        choice.llm = Some(LlmPlanning {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            estimated_run_usd: planning_usd + execution,
        });
        choice
    }
}

#[async_trait]
impl Planner for LlmPlanner {
    async fn analyse(&self, prompt: &str, canvas: &Canvas) -> Result<IntentAnalysis, PlannerError> {
        let ledger = self.runtime.detached_ledger();
        self.analyse_with(&ledger, prompt, canvas).await
    }

    async fn plan(
        &self,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        complexity_threshold: f64,
    ) -> Result<PlanChoice, PlannerError> {
        let ledger = self.runtime.detached_ledger();
        self.plan_with(&ledger, intent, context, prompt, complexity_threshold)
            .await
    }

    async fn analyse_in(
        &self,
        run: &RunScope,
        prompt: &str,
        canvas: &Canvas,
    ) -> Result<IntentAnalysis, PlannerError> {
        let ledger = self.runtime.ledger(&run.run_id, Some(&run.owner_id)).await;
        self.analyse_with(&ledger, prompt, canvas).await
    }

    async fn plan_in(
        &self,
        run: &RunScope,
        intent: &IntentAnalysis,
        context: &CanvasContext,
        prompt: &str,
        complexity_threshold: f64,
    ) -> Result<PlanChoice, PlannerError> {
        let ledger = self.runtime.ledger(&run.run_id, Some(&run.owner_id)).await;
        self.plan_with(&ledger, intent, context, prompt, complexity_threshold)
            .await
    }
}

/// The model's intent answer (`intent.v1`), read leniently where it costs nothing (the
/// design's `estimated_tasks` spelling, lower-case intents) and strictly where it matters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntentAnswer {
    intent: String,
    complexity: f64,
    target: String,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    metrics: Vec<MetricAnswer>,
    #[serde(default, alias = "estimated_tasks")]
    estimated_tasks: Option<i64>,
}

#[derive(Deserialize)]
struct MetricAnswer {
    kind: String,
    value: f64,
    #[serde(default)]
    raw: String,
}

/// Validates an intent answer; the error lists every problem, for the repair prompt.
pub fn parse_intent(json: &str, max_tasks: usize) -> Result<IntentAnalysis, String> {
    let answer: IntentAnswer = serde_json::from_str(json).map_err(|e| {
        format!("the answer does not have the asked shape (intent, complexity, target, components, metrics, estimatedTasks): {e}")
    })?;
    let mut problems = Vec::new();
    let kind_text = answer
        .intent
        .trim()
        .to_ascii_uppercase()
        .replace(['-', ' '], "_");
    let intent = serde_json::from_value::<IntentKind>(serde_json::Value::String(kind_text));
    if intent.is_err() {
        problems.push(format!(
            "\"intent\" {:?} is not one of BUILD_FROM_SCRATCH, SCALE_COMPONENT, ADD_FEATURE, MODIFY_COMPONENT, FIX_COMPONENT, EXPLAIN",
            answer.intent
        ));
    }
    if !(answer.complexity.is_finite() && (0.0..=1.0).contains(&answer.complexity)) {
        problems.push(format!(
            "\"complexity\" {} must be a number from 0.0 to 1.0",
            answer.complexity
        ));
    }
    let target = answer.target.trim();
    if target.is_empty() || target.chars().count() > 100 {
        problems.push("\"target\" must be a short name of 1 to 100 characters".into());
    }
    if answer.components.len() > 32 {
        problems.push("\"components\" lists more than 32 entries; keep the main ones".into());
    }
    let components: Vec<String> = answer
        .components
        .iter()
        .map(|c| c.trim().to_lowercase())
        .filter(|c| !c.is_empty() && c.chars().count() <= 64)
        .collect();
    let mut metrics = Vec::new();
    for (i, m) in answer.metrics.iter().enumerate() {
        let kind = serde_json::from_value::<MetricKind>(serde_json::Value::String(
            m.kind.trim().to_ascii_lowercase(),
        ));
        match kind {
            Ok(kind) if m.value.is_finite() && m.value >= 0.0 => metrics.push(Metric {
                kind,
                value: m.value,
                raw: shorten(&m.raw, 100),
            }),
            Ok(_) => problems.push(format!("metrics[{i}].value must be a number of 0 or more")),
            Err(_) => problems.push(format!(
                "metrics[{i}].kind {:?} is not one of rps, users, latency_ms, availability_pct",
                m.kind
            )),
        }
    }
    let estimated = match answer.estimated_tasks {
        Some(n) if n >= 1 && n as usize <= max_tasks => n as u32,
        Some(n) => {
            problems.push(format!(
                "\"estimatedTasks\" {n} must be from 1 to {max_tasks}"
            ));
            0
        }
        None => {
            problems.push(format!("\"estimatedTasks\" is missing (1 to {max_tasks})"));
            0
        }
    };
    match intent {
        Ok(intent) if problems.is_empty() => Ok(IntentAnalysis {
            intent,
            complexity: answer.complexity,
            target: target.to_string(),
            components,
            metrics,
            estimated_tasks: estimated,
        }),
        _ => {
            let mut text = format!("the intent has {} problem(s):\n", problems.len());
            for (n, p) in problems.iter().enumerate() {
                text.push_str(&format!("{}. {p}\n", n + 1));
            }
            Err(text)
        }
    }
}

/// Parses and validates a plan answer with the core rules (and the tier's task limit); the
/// error is `describe_all`'s numbered list. Run-time fields the model may have written
/// (status, times) are reset: a plan starts pending.
pub fn parse_plan(json: &str, max_tasks: usize) -> Result<Vec<Task>, String> {
    let plan = plan::parse_plan_json(json).map_err(|e| e.to_string())?;
    let errors = plan::validate_all_with_limit(&plan, max_tasks);
    if !errors.is_empty() {
        return Err(format!(
            "the plan has {} problem(s):\n{}",
            errors.len(),
            plan::describe_all(&errors)
        ));
    }
    Ok(plan
        .tasks
        .into_iter()
        .map(|mut t| {
            t.status = TaskStatus::Pending;
            t.started_at = None;
            t.finished_at = None;
            t.modification_count = 0;
            t
        })
        .collect())
}

/// Output tokens expected per second of a task's `estimatedTime` (a 45 s task ≈ 1,800).
const OUTPUT_TOKENS_PER_TASK_SECOND: u64 = 40;

/// What a task will cost before it runs: the `code.v1` prompt with its inputs, and an answer
/// sized by its estimated time (capped by `max_tokens`), priced per 1k tokens. Zero for tasks
/// the built-in agents do.
pub fn estimate_task_usd(pricing: Pricing, max_tokens: u32, task: &Task) -> f64 {
    if !super::agents::uses_llm(task.kind) {
        return 0.0;
    }
    let input = estimate_tokens(CODE_V1.text)
        + estimate_tokens(&task.prompt)
        + estimate_tokens(&task.description)
        // The canvas and each dependency's summary.
        + 300
        + 200 * task.dependencies.len() as u64;
    let output = (u64::from(task.estimated_time) * OUTPUT_TOKENS_PER_TASK_SECOND)
        .max(512)
        .min(u64::from(max_tokens));
    pricing.tokens_cost_usd(input, output)
}
