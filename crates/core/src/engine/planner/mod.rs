//! The built-in planner: intent + canvas context + prompt → a task DAG ([`PlanDraft`]).
//! Static templates serve simple requests (complexity below [`STATIC_PATH_THRESHOLD`]);
//! the "dynamic" path without an LLM uses the same generators with extra tasks.

mod build;
mod feature;
mod fix;
mod modify;
mod scale;

use serde::{Deserialize, Serialize};

use crate::engine::context::CanvasContext;
use crate::model::{IntentAnalysis, IntentKind, Isolation, PlanPath, Task, TaskStatus, TaskType};

/// Requests at or above this complexity take the dynamic path (the design's 0.7).
pub const STATIC_PATH_THRESHOLD: f64 = 0.7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanDraft {
    pub tasks: Vec<Task>,
    /// Template name, e.g. "High-RPS Auth Service Scaling".
    pub template: String,
    /// Why this plan: path, template and what it was generated from.
    pub reason: String,
    pub path: PlanPath,
}

/// The path the design prescribes for an intent.
pub fn choose_path(intent: &IntentAnalysis) -> PlanPath {
    if intent.complexity >= STATIC_PATH_THRESHOLD {
        PlanPath::Dynamic
    } else {
        PlanPath::Static
    }
}

/// Plans `intent` on the path its complexity selects.
pub fn plan(intent: &IntentAnalysis, ctx: &CanvasContext, prompt: &str) -> PlanDraft {
    match choose_path(intent) {
        PlanPath::Static => static_plan(intent, ctx, prompt),
        PlanPath::Dynamic => dynamic_plan(intent, ctx, prompt),
    }
}

/// The static template for `intent`.
pub fn static_plan(intent: &IntentAnalysis, ctx: &CanvasContext, prompt: &str) -> PlanDraft {
    let (tasks, template) = generate(intent, ctx, prompt, false);
    let reason = format!(
        "static path: complexity {:.2} < {STATIC_PATH_THRESHOLD:.2}; template \"{template}\" for {} ({} tasks)",
        intent.complexity,
        describe(intent),
        tasks.len()
    );
    PlanDraft {
        tasks,
        template,
        reason,
        path: PlanPath::Static,
    }
}

/// The built-in stand-in for LLM plan generation: the same generators, with the extra
/// tasks a richer plan has (load tests when scaling, a rollback plan when migrating).
pub fn dynamic_plan(intent: &IntentAnalysis, ctx: &CanvasContext, prompt: &str) -> PlanDraft {
    let (tasks, template) = generate(intent, ctx, prompt, true);
    let reason = format!(
        "dynamic path without an LLM: complexity {:.2}; built-in generator \"{template}\" for {} ({} tasks)",
        intent.complexity,
        describe(intent),
        tasks.len()
    );
    PlanDraft {
        tasks,
        template,
        reason,
        path: PlanPath::Dynamic,
    }
}

fn describe(intent: &IntentAnalysis) -> String {
    if intent.components.is_empty() {
        intent.target.clone()
    } else {
        format!("{} [{}]", intent.target, intent.components.join(", "))
    }
}

fn generate(
    intent: &IntentAnalysis,
    ctx: &CanvasContext,
    prompt: &str,
    rich: bool,
) -> (Vec<Task>, String) {
    match intent.intent {
        IntentKind::BuildFromScratch => build::plan(intent, prompt),
        IntentKind::ScaleComponent => scale::plan(intent, ctx, rich),
        IntentKind::AddFeature => feature::plan(intent, ctx),
        IntentKind::ModifyComponent => modify::plan(intent, ctx, prompt, rich),
        IntentKind::FixComponent => fix::plan(intent, ctx, prompt),
        IntentKind::Explain => fix::review_plan(ctx),
    }
}

/// Number of tasks [`plan`] produces for an intent of this shape (the intent's
/// `estimatedTasks`). `components` decides the size of build/add plans and whether a
/// modification is a technology replacement.
pub fn expected_task_count(kind: IntentKind, components: &[String], complexity: f64) -> u32 {
    let n = u32::try_from(components.len()).unwrap_or(u32::MAX);
    let rich = complexity >= STATIC_PATH_THRESHOLD;
    match kind {
        IntentKind::BuildFromScratch => n.max(1) + 4,
        IntentKind::AddFeature => n.max(1) + 4,
        IntentKind::ScaleComponent => 6 + u32::from(rich),
        IntentKind::ModifyComponent => {
            let replacement = components.len() == 2
                && components
                    .iter()
                    .all(|c| crate::engine::technology::technology(c).is_some());
            if replacement {
                5 + u32::from(rich)
            } else {
                3
            }
        }
        IntentKind::FixComponent => 3,
        IntentKind::Explain => 1,
    }
}

/// `task_<n>`.
pub(crate) fn task_id(n: usize) -> String {
    format!("task_{n}")
}

/// A pending task with the planner's fields set; callers fill in the graph fields.
pub(crate) fn new_task(
    n: usize,
    name: &str,
    description: &str,
    kind: TaskType,
    agent: &str,
    seconds: u32,
    prompt: String,
) -> Task {
    Task {
        id: task_id(n),
        name: name.to_string(),
        description: description.to_string(),
        kind,
        dependencies: Vec::new(),
        estimated_time: seconds,
        isolation: Isolation::Dependent,
        agent: agent.to_string(),
        prompt,
        can_run_in_parallel: false,
        inputs: Vec::new(),
        outputs: Vec::new(),
        status: TaskStatus::Pending,
        started_at: None,
        finished_at: None,
        modification_count: 0,
    }
}

/// Builder-style setters so the templates read as tables.
pub(crate) trait TaskExt {
    fn deps(self, deps: &[&str]) -> Self;
    fn isolation(self, isolation: Isolation) -> Self;
    fn io(self, inputs: Vec<String>, outputs: Vec<String>) -> Self;
}

impl TaskExt for Task {
    fn deps(mut self, deps: &[&str]) -> Self {
        self.dependencies = deps.iter().map(|d| d.to_string()).collect();
        self
    }

    /// Independent tasks may run next to their siblings; the others are scheduled as
    /// coordination points (the design's `canRunInParallel`).
    fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self.can_run_in_parallel = isolation == Isolation::Independent;
        self
    }

    fn io(mut self, inputs: Vec<String>, outputs: Vec<String>) -> Self {
        self.inputs = inputs;
        self.outputs = outputs;
        self
    }
}

#[cfg(test)]
pub(crate) mod checks {
    //! A local plan validator (unique ids, known dependencies, no cycles, one sink), so the
    //! engine's tests do not depend on `plan::validate`.
    use crate::model::Task;
    use std::collections::BTreeSet;

    pub fn assert_valid(tasks: &[Task]) {
        assert!(!tasks.is_empty(), "empty plan");
        let ids: BTreeSet<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids.len(), tasks.len(), "duplicate ids in {tasks:#?}");
        for t in tasks {
            assert!(
                !t.name.is_empty() && !t.prompt.is_empty() && !t.agent.is_empty(),
                "{t:?}"
            );
            assert!(t.estimated_time > 0, "{}: zero time", t.id);
            assert!(!t.outputs.is_empty(), "{}: no outputs", t.id);
            for d in &t.dependencies {
                assert!(ids.contains(d.as_str()), "{} depends on unknown {d}", t.id);
                assert_ne!(d, &t.id, "{} depends on itself", t.id);
            }
        }
        // Kahn: every task must become ready.
        let mut done: BTreeSet<&str> = BTreeSet::new();
        while done.len() < tasks.len() {
            let ready: Vec<&str> = tasks
                .iter()
                .filter(|t| !done.contains(t.id.as_str()))
                .filter(|t| t.dependencies.iter().all(|d| done.contains(d.as_str())))
                .map(|t| t.id.as_str())
                .collect();
            assert!(
                !ready.is_empty(),
                "cycle among {:?}",
                tasks.iter().map(|t| &t.id).collect::<Vec<_>>()
            );
            done.extend(ready);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::checks::assert_valid;
    use super::*;
    use crate::engine::context::extract_context;
    use crate::engine::fixtures::{example_2_canvas, EXAMPLE_1_PROMPT, EXAMPLE_2_PROMPT};
    use crate::engine::intent::analyse_intent;
    use crate::model::Canvas;

    fn draft(prompt: &str, canvas: &Canvas) -> (IntentAnalysis, PlanDraft) {
        let intent = analyse_intent(prompt, canvas).expect("understood");
        let ctx = extract_context(canvas, &intent);
        let d = plan(&intent, &ctx, prompt);
        (intent, d)
    }

    #[test]
    fn example_1_plan_matches_the_design_exactly() {
        let (_, d) = draft(EXAMPLE_1_PROMPT, &Canvas::default());
        assert_eq!(d.path, PlanPath::Dynamic);
        assert_valid(&d.tasks);
        type Row<'a> = (
            &'a str,
            &'a str,
            TaskType,
            &'a [&'a str],
            u32,
            Isolation,
            &'a str,
            bool,
        );
        let expected: [Row; 8] = [
            (
                "task_1",
                "Architecture Design",
                TaskType::Architecture,
                &[],
                45,
                Isolation::Independent,
                "arch-001",
                true,
            ),
            (
                "task_2",
                "Database Schema Design",
                TaskType::Architecture,
                &["task_1"],
                30,
                Isolation::Dependent,
                "db-001",
                false,
            ),
            (
                "task_3",
                "Auth Service Implementation",
                TaskType::CodeGeneration,
                &["task_2"],
                60,
                Isolation::Dependent,
                "code-001",
                false,
            ),
            (
                "task_4",
                "Product Catalog Service",
                TaskType::CodeGeneration,
                &["task_2"],
                50,
                Isolation::Independent,
                "code-001",
                true,
            ),
            (
                "task_5",
                "Shopping Cart Service",
                TaskType::CodeGeneration,
                &["task_3", "task_4"],
                40,
                Isolation::Dependent,
                "code-001",
                false,
            ),
            (
                "task_6",
                "Payment Service Integration",
                TaskType::CodeGeneration,
                &["task_3"],
                55,
                Isolation::Independent,
                "code-001",
                true,
            ),
            (
                "task_7",
                "Frontend React Components",
                TaskType::CodeGeneration,
                &[],
                70,
                Isolation::Independent,
                "code-001",
                true,
            ),
            (
                "task_8",
                "API Integration & Testing",
                TaskType::Testing,
                &["task_3", "task_4", "task_5", "task_6"],
                35,
                Isolation::Final,
                "code-001",
                false,
            ),
        ];
        assert_eq!(d.tasks.len(), 8);
        for (t, (id, name, kind, deps, time, iso, agent, par)) in d.tasks.iter().zip(expected) {
            assert_eq!(t.id, id);
            assert_eq!(t.name, name, "{id}");
            assert_eq!(t.kind, kind, "{id}");
            assert_eq!(t.dependencies, deps, "{id}");
            assert_eq!(t.estimated_time, time, "{id}");
            assert_eq!(t.isolation, iso, "{id}");
            assert_eq!(t.agent, agent, "{id}");
            assert_eq!(t.can_run_in_parallel, par, "{id}");
            assert_eq!(t.status, TaskStatus::Pending);
        }
        let descriptions: Vec<&str> = d.tasks.iter().map(|t| t.description.as_str()).collect();
        assert_eq!(
            descriptions,
            [
                "Design overall system architecture and microservices structure",
                "Design database schemas for all entities",
                "Generate authentication and authorization service",
                "Generate product management service",
                "Generate shopping cart functionality",
                "Generate payment processing service",
                "Generate React frontend components",
                "Generate API integration and test suites",
            ]
        );
        assert_eq!(
            d.tasks[0].prompt,
            "Design microservices architecture for e-commerce platform with user auth, product catalog, shopping cart, and payment processing. Include database design, API structure, and scalability considerations."
        );
        assert_eq!(
            d.tasks[2].prompt,
            "Generate complete authentication service with JWT tokens, user registration, login, password reset, and role-based access control. Include middleware, controllers, and database models."
        );
        assert_eq!(
            d.tasks[4].prompt,
            "Generate shopping cart service with add/remove items, quantity updates, cart persistence, and integration with auth and product services."
        );
        assert_eq!(
            d.tasks[6].prompt,
            "Generate React components for e-commerce frontend including product listing, product details, shopping cart, user authentication, and checkout process."
        );
        assert_eq!(
            d.tasks[7].prompt,
            "Generate API integration layer, test suites for all services, and end-to-end testing scenarios."
        );
        assert!(d.tasks[1].prompt.starts_with("Create comprehensive database schema for e-commerce platform including users, products,"));
    }

    #[test]
    fn example_1_artefact_keys_support_impact_analysis() {
        let (_, d) = draft(EXAMPLE_1_PROMPT, &Canvas::default());
        let io = |i: usize| (d.tasks[i].inputs.clone(), d.tasks[i].outputs.clone());
        assert!(io(1).1.contains(&"schema.users".to_string()));
        assert!(io(1).1.contains(&"schema.categories".to_string()));
        assert_eq!(
            io(2),
            (
                vec!["schema.@auth".to_string()],
                vec!["api.auth".to_string()]
            )
        );
        assert_eq!(io(4).0, ["schema.@cart", "api.auth", "api.catalog"]);
        assert_eq!(io(5).0, ["schema.@payment", "api.auth"]);
        assert_eq!(
            io(6),
            (Vec::<String>::new(), vec!["ui.storefront".to_string()])
        );
        assert_eq!(io(7).0, ["*"]);
    }

    #[test]
    fn example_2_uses_the_high_rps_template_on_the_static_path() {
        let (intent, d) = draft(EXAMPLE_2_PROMPT, &example_2_canvas());
        assert_eq!(d.path, PlanPath::Static);
        assert_eq!(d.template, "High-RPS Auth Service Scaling");
        assert_valid(&d.tasks);
        assert_eq!(d.tasks.len() as u32, intent.estimated_tasks);
        let kinds: Vec<TaskType> = d.tasks.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            [
                TaskType::Analysis,
                TaskType::Scaling,
                TaskType::Configuration,
                TaskType::Architecture,
                TaskType::Configuration,
                TaskType::Scaling
            ]
        );
        assert!(d.tasks[1].name.contains("5000 RPS"));
        // Configuration, replacement and monitoring run side by side.
        assert!(d.tasks[2..5]
            .iter()
            .all(|t| t.dependencies == ["task_2"] && t.can_run_in_parallel));
        assert_eq!(d.tasks[5].isolation, Isolation::Final);
        assert!(d.reason.contains("static path"));
    }

    #[test]
    fn other_prompts_produce_valid_plans_of_the_announced_size() {
        let canvas = example_2_canvas();
        let prompts = [
            (
                "Build a blog platform with auth, posts, comments and search",
                Canvas::default(),
            ),
            ("Build a system with auth and chat", Canvas::default()),
            ("auth and chat", Canvas::default()),
            ("Build a todo app", Canvas::default()),
            ("Build a social network", Canvas::default()),
            ("Scale the payment service to 1200 rps", canvas.clone()),
            ("Scale the auth service to 80000 rps", canvas.clone()),
            ("make the cart service scalable", canvas.clone()),
            ("Add a search feature", canvas.clone()),
            ("Add a search feature", Canvas::default()),
            ("add reviews, shipping and recommendations", canvas.clone()),
            ("Replace MySQL with PostgreSQL", canvas.clone()),
            ("Replace MySQL with PostgreSQL", Canvas::default()),
            (
                "change the cart service to keep carts for 30 days",
                canvas.clone(),
            ),
            ("The cart service keeps crashing, fix it", canvas.clone()),
            ("explain the auth service", canvas.clone()),
        ];
        for (prompt, canvas) in prompts {
            let (intent, d) = draft(prompt, &canvas);
            assert_valid(&d.tasks);
            let shared = crate::plan::validate(&crate::model::Plan {
                tasks: d.tasks.clone(),
            });
            assert!(shared.is_ok(), "{prompt}: plan::validate says {shared:?}");
            assert_eq!(
                d.tasks.len() as u32,
                intent.estimated_tasks,
                "{prompt}: {d:#?}"
            );
            assert!(!d.template.is_empty() && !d.reason.is_empty(), "{prompt}");
        }
    }

    #[test]
    fn blog_plan_derives_dependencies_from_the_catalogue() {
        let (_, d) = draft(
            "Build a blog platform with auth, posts, comments and search",
            &Canvas::default(),
        );
        let names: Vec<&str> = d.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Architecture Design",
                "Database Schema Design",
                "Auth Service Implementation",
                "Post Service",
                "Comment Service",
                "Search Service",
                "Frontend React Components",
                "API Integration & Testing"
            ]
        );
        assert_eq!(d.tasks[3].dependencies, ["task_3"], "posts calls auth");
        assert_eq!(
            d.tasks[4].dependencies,
            ["task_3", "task_4"],
            "comments call auth and posts"
        );
        assert_eq!(d.tasks[5].dependencies, ["task_4"], "search indexes posts");
        assert_eq!(
            d.tasks[7].dependencies,
            ["task_3", "task_4", "task_5", "task_6"]
        );
        assert!(d.tasks[1].outputs.contains(&"schema.tags".to_string()));
        assert_eq!(d.tasks[6].outputs, ["ui.blog"]);
    }

    #[test]
    fn scaling_to_a_huge_target_takes_the_dynamic_path_with_load_tests() {
        let (_, d) = draft("Scale the auth service to 80000 rps", &example_2_canvas());
        assert_eq!(d.path, PlanPath::Dynamic);
        assert!(d.tasks.iter().any(|t| t.name == "Load Test Scenarios"));
        assert!(d.reason.contains("without an LLM"));
    }

    #[test]
    fn planning_is_deterministic() {
        let (_, a) = draft(EXAMPLE_1_PROMPT, &Canvas::default());
        let (_, b) = draft(EXAMPLE_1_PROMPT, &Canvas::default());
        assert_eq!(a, b);
        let (_, a) = draft(EXAMPLE_2_PROMPT, &example_2_canvas());
        let (_, b) = draft(EXAMPLE_2_PROMPT, &example_2_canvas());
        assert_eq!(a, b);
    }
}
