//! FIX_COMPONENT (analyse → regenerate the service hardened → regression tests) and EXPLAIN
//! (one design-review task). Both are about one component the intent names.

use super::{new_task, TaskExt};
use crate::engine::artefacts::{key, API, BOTTLENECK, REVIEW, TEST};
use crate::engine::context::CanvasContext;
use crate::engine::sanitize::comment_text;
use crate::engine::target::resolve;
use crate::model::{IntentAnalysis, Isolation, Task, TaskType};

pub(super) fn plan(
    intent: &IntentAnalysis,
    ctx: &CanvasContext,
    prompt: &str,
) -> (Vec<Task>, String) {
    let t = resolve(intent, ctx, None);
    let (id, k) = (t.slug.as_str(), t.key.as_str());
    let request = comment_text(prompt, 300);
    let noun = t.feature.map_or("service", |f| f.service_noun);
    let tasks = vec![
        new_task(
            1,
            "Issue Analysis",
            "Find configuration problems and bottlenecks of the component",
            TaskType::Analysis,
            "scale-001",
            15,
            format!("Analyze {id} for reliability and capacity problems: configuration, bottlenecks, health checks and error handling. User request: {request}"),
        )
        .isolation(Isolation::Independent)
        .io(Vec::new(), vec![key(BOTTLENECK, k)]),
        new_task(
            2,
            &format!("{} Fix Implementation", t.label),
            "Regenerate the service with the fixes",
            TaskType::CodeGeneration,
            "code-001",
            t.feature.map_or(45, |f| f.estimated_time),
            format!("Regenerate the {noun} with the fixes from the analysis: input validation, error handling, health checks, timeouts and retries on outgoing calls."),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Dependent)
        .io(vec![key(BOTTLENECK, k)], vec![key(API, k)]),
        new_task(
            3,
            "Regression Tests",
            "Test the fixed behaviour",
            TaskType::Testing,
            "code-001",
            20,
            format!("Generate regression tests for {id} covering the fixed behaviour and its API."),
        )
        .deps(&["task_2"])
        .isolation(Isolation::Final)
        .io(vec!["*".to_string()], vec![key(TEST, k)]),
    ];
    (tasks, format!("Fix {}", t.label))
}

pub(super) fn review_plan(ctx: &CanvasContext) -> (Vec<Task>, String) {
    let subject = match &ctx.target {
        Some(t) => crate::engine::sanitize::slug(&t.id, "component"),
        None => "the current design".to_string(),
    };
    let name = if ctx.target.is_some() {
        subject.clone()
    } else {
        "system".to_string()
    };
    let tasks = vec![new_task(
        1,
        "Design Review",
        "Explain the design, its capacity and its risks",
        TaskType::Analysis,
        "arch-001",
        15,
        format!("Explain {subject}: responsibilities, connections, current capacity, bottlenecks and recommended next steps."),
    )
    .isolation(Isolation::Independent)
    .io(Vec::new(), vec![key(REVIEW, &crate::engine::sanitize::snake(&name, "system"))])];
    (tasks, "Design Review".to_string())
}
