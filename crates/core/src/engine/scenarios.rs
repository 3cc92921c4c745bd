//! End-to-end scenarios of the design documents, run through every agent in DAG order with
//! the real canvas merge and impact analysis: Example 1 (build), Example 2 (scale),
//! Example 3 (edit a running task), and the other request shapes the engine must handle.

use crate::canvas::{missing_analysis, FindingCode};
use crate::engine::agents::harness::{run, run_plan, Run};
use crate::engine::agents::{run_agent, AgentInput, AgentOutput, DependencyOutput};
use crate::engine::context::extract_context;
use crate::engine::edit::{changed_outputs, outputs_for_prompt, summarise_change};
use crate::engine::fixtures::{
    example_2_canvas, EXAMPLE_1_PROMPT, EXAMPLE_2_PROMPT, EXAMPLE_3_NEW, EXAMPLE_3_OLD,
};
use crate::engine::summary::execution_totals;
use crate::engine::templates::has_placeholder;
use crate::model::{Canvas, EventType, ImpactLevel, NodeType, Plan, Task};

fn events_of(run: &Run) -> Vec<(EventType, serde_json::Value)> {
    run.draft
        .tasks
        .iter()
        .flat_map(|t| {
            run.output(&t.id)
                .events
                .iter()
                .map(|e| (e.kind, e.data.clone()))
        })
        .collect()
}

fn event(run: &Run, kind: EventType) -> serde_json::Value {
    match events_of(run).into_iter().find(|(k, _)| *k == kind) {
        Some((_, data)) => data,
        None => panic!("no {} event", kind.as_str()),
    }
}

fn file<'a>(out: &'a AgentOutput, path: &str) -> &'a str {
    match out.files.iter().find(|f| f.path == path) {
        Some(f) => &f.content,
        None => panic!(
            "no {path} in {:?}",
            out.files.iter().map(|f| &f.path).collect::<Vec<_>>()
        ),
    }
}

fn assert_files_are_sane(run: &Run) {
    assert!(
        run.merge_warnings.is_empty(),
        "patches the canvas merge had to fix: {:?}",
        run.merge_warnings
    );
    for f in run.all_files() {
        assert!(!f.content.trim().is_empty(), "{} is empty", f.path);
        assert!(
            !has_placeholder(&f.content),
            "{} has an unrendered placeholder",
            f.path
        );
        assert!(
            !f.path.starts_with('/') && !f.path.contains(".."),
            "unsafe path {}",
            f.path
        );
        assert!(!f.language.is_empty());
        if f.path.ends_with(".json") {
            assert!(
                serde_json::from_str::<serde_json::Value>(&f.content).is_ok(),
                "{} is not JSON",
                f.path
            );
        }
    }
}

#[test]
fn example_1_builds_four_services_eighteen_components_and_a_realistic_codebase() {
    let r = run(EXAMPLE_1_PROMPT, &Canvas::default());
    assert_files_are_sane(&r);

    let arch = r.output("task_1");
    assert_eq!(arch.summary, "Architecture designed with 4 microservices");
    assert_eq!(
        arch.result["architecture"]["services"],
        serde_json::json!([
            "auth-service",
            "product-service",
            "cart-service",
            "payment-service"
        ])
    );
    assert_eq!(
        arch.result["architecture"]["databases"],
        serde_json::json!(["users-db", "products-db", "orders-db"])
    );
    assert!(arch
        .patch
        .add_edges
        .iter()
        .any(|e| e.source == "cart-service" && e.target == "product-service"));

    let schema = r.output("task_2");
    assert_eq!(schema.summary, "Database schema with 8 tables designed");
    let sql = file(schema, "database/schema.sql");
    assert_eq!(sql.matches("CREATE TABLE").count(), 8);
    assert!(sql.contains("FOREIGN KEY (cart_id) REFERENCES carts (id)"));

    assert_eq!(r.output("task_7").summary, "18 React components generated");
    for id in ["task_3", "task_4", "task_5", "task_6"] {
        assert_eq!(r.output(id).files.len(), 6, "{id}");
    }
    let auth = file(r.output("task_3"), "auth-service/src/controller.js");
    assert!(
        auth.contains("bcrypt.hash")
            && auth.contains("jwt.sign")
            && auth.contains("requestPasswordReset")
    );
    assert!(
        file(r.output("task_6"), "payment-service/src/controller.js")
            .contains("stripe.webhooks.constructEvent")
    );
    assert!(r
        .output("task_8")
        .summary
        .starts_with("Test suites for 4 services generated"));

    let (canvas, code) = execution_totals(r.outputs.values());
    assert_eq!(code.services, 4);
    assert_eq!(code.components, 18);
    assert_eq!(
        canvas.components_added, 12,
        "web app, LB, gateway, 4 services, 3 databases, cache, Stripe"
    );
    assert!(
        (44..=58).contains(&code.files_generated),
        "files: {}",
        code.files_generated
    );
    assert!(
        (2300..=4200).contains(&code.lines_of_code),
        "lines: {}",
        code.lines_of_code
    );
    let mut paths: Vec<&str> = r.all_files().iter().map(|f| f.path.as_str()).collect();
    let total = paths.len();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), total, "no two tasks write the same file");

    // The canvas the run leaves is Example 2's starting point.
    let auth_node = r
        .canvas
        .nodes
        .iter()
        .find(|n| n.id == "auth-service")
        .expect("auth node");
    assert_eq!(
        auth_node.config.get("session_store"),
        Some(&serde_json::json!("memory"))
    );
    assert!(events_of(&r).is_empty(), "building emits no scaling events");
}

#[test]
fn example_1_runs_are_deterministic() {
    let a = run(EXAMPLE_1_PROMPT, &Canvas::default());
    let b = run(EXAMPLE_1_PROMPT, &Canvas::default());
    assert_eq!(a.outputs, b.outputs);
    assert_eq!(a.canvas, b.canvas);
}

#[test]
fn example_2_scales_the_auth_service_to_5500_rps() {
    let r = run(EXAMPLE_2_PROMPT, &example_2_canvas());
    assert_files_are_sane(&r);
    let b = event(&r, EventType::BottlenecksIdentified);
    assert_eq!(b["count"], 3);
    assert_eq!(
        b["bottlenecks"],
        serde_json::json!([
            "Single instance (no horizontal scaling)",
            "Memory session store (not distributed)",
            "Single database (no read replicas)"
        ])
    );
    assert_eq!(
        event(&r, EventType::ScalingPlanGenerated)["approach"],
        "horizontal_scaling"
    );
    assert_eq!(
        event(&r, EventType::AnalysisCompleted)["recommendations"],
        4
    );
    assert_eq!(
        event(&r, EventType::ConfigurationGenerated)["newCapacity"],
        "5500 RPS"
    );
    assert_eq!(event(&r, EventType::ComponentReplaced)["accuracy"], 90);
    let done = event(&r, EventType::ScalingCompleted);
    assert_eq!(
        (done["newRPS"].clone(), done["filesUpdated"].clone()),
        (serde_json::json!(5500), serde_json::json!(5))
    );

    let mut paths: Vec<&str> = r.all_files().iter().map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "auth-service/config.js",
            "docker-compose.yml",
            "monitoring/alerts.yml",
            "nginx.conf",
            "redis-cluster.conf"
        ]
    );

    let canvas = &r.canvas;
    let node = |id: &str| {
        canvas
            .nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    };
    assert_eq!(node("auth-service").config["instances"], 10);
    assert_eq!(node("auth-load-balancer").kind, NodeType::LoadBalancer);
    assert_eq!(node("auth-redis-cluster").config["nodes"], 3);
    assert_eq!(node("users-db-replica-1").kind, NodeType::Database);
    assert_eq!(node("users-db-replica-2").config["replica_of"], "users-db");
    assert_eq!(node("monitoring").kind, NodeType::Monitoring);
    // Unrelated nodes keep their ids.
    assert!(canvas.nodes.iter().any(|n| n.id == "cart-service"));

    // Re-reading the scaled canvas gives the capacity the plan promised, with no bottleneck,
    // and the canvas rules find nothing missing around the service.
    let ctx = extract_context(canvas, &r.intent);
    let target = ctx.target.expect("auth-service still found");
    assert_eq!(target.current_config.estimated_capacity, "5500 RPS");
    assert!(target.bottlenecks.is_empty(), "{:?}", target.bottlenecks);
    let leftover: Vec<FindingCode> = missing_analysis(canvas)
        .into_iter()
        .map(|f| f.code)
        .filter(|c| {
            matches!(
                c,
                FindingCode::ReplicasMissing
                    | FindingCode::ReplicaNotConnected
                    | FindingCode::NoLoadBalancer
                    | FindingCode::SessionStoreNotShared
                    | FindingCode::NoMonitoring
                    | FindingCode::ServiceNotMonitored
            )
        })
        .collect();
    assert!(leftover.is_empty(), "{leftover:?}");
}

#[test]
fn example_2_follows_example_1_on_the_same_canvas() {
    let built = run(EXAMPLE_1_PROMPT, &Canvas::default());
    let scaled = run(EXAMPLE_2_PROMPT, &built.canvas);
    let target = scaled.context.target.as_ref().expect("target");
    assert_eq!(target.id, "auth-service");
    assert_eq!(target.current_config.estimated_capacity, "100 RPS");
    assert_eq!(event(&scaled, EventType::BottlenecksIdentified)["count"], 3);
    assert_eq!(event(&scaled, EventType::ScalingCompleted)["newRPS"], 5500);
}

/// Example 3: task_2 is edited to add a recommendation engine while it runs.
#[test]
fn example_3_edit_regenerates_exactly_the_affected_tasks() {
    let built = run(EXAMPLE_1_PROMPT, &Canvas::default());
    let mut tasks: Vec<Task> = built.draft.tasks.clone();
    let old = tasks[1].prompt.clone();
    let new = format!("{old} AND recommendation engine with user behavior tracking, product similarity, and recommendation history");
    for (before, after) in [(old.as_str(), new.as_str()), (EXAMPLE_3_OLD, EXAMPLE_3_NEW)] {
        assert_eq!(
            changed_outputs(&tasks[1], before, after),
            ["schema.recommendations"]
        );
        assert_eq!(
            summarise_change(before, after),
            "Added recommendation engine"
        );
    }
    let changed = changed_outputs(&tasks[1], &old, &new);
    tasks[1].outputs = outputs_for_prompt(&tasks[1], &new);
    tasks[1].prompt = new.clone();

    let homes = crate::engine::home_map(&built.intent, &built.context);
    let plan = Plan {
        tasks: tasks.clone(),
    };
    let report = crate::impact::analyse(
        &plan,
        "task_2",
        &changed,
        &homes,
        &crate::impact::ImpactContext::default(),
    )
    .expect("impact");
    let levels: Vec<(&str, ImpactLevel)> = report
        .affected_tasks
        .iter()
        .map(|t| (t.id.as_str(), t.impact))
        .collect();
    assert_eq!(
        levels,
        [
            ("task_4", ImpactLevel::Major),
            ("task_5", ImpactLevel::Minor),
            ("task_8", ImpactLevel::Major)
        ]
    );
    assert!(report.unaffected_tasks.contains(&"task_3".to_string()));
    assert!(report.unaffected_tasks.contains(&"task_6".to_string()));

    // Selective regeneration: task_2, then the affected tasks with their fresh inputs.
    let rerun = |task: &Task, deps: &[DependencyOutput]| -> AgentOutput {
        let input = AgentInput {
            task,
            intent: &built.intent,
            context: &built.context,
            canvas: &built.canvas,
            dependencies: deps,
        };
        run_agent(&input).expect("agent runs")
    };
    let arch = DependencyOutput::from_output("task_1", built.output("task_1"));
    let schema = rerun(&tasks[1], &[arch]);
    assert_eq!(schema.summary, "Database schema with 11 tables designed");
    let sql = file(&schema, "database/schema.sql");
    for table in ["user_events", "product_similarities", "recommendations"] {
        assert!(
            sql.contains(&format!("CREATE TABLE {table} (")),
            "{table} missing"
        );
    }
    assert!(schema
        .produced
        .contains(&"schema.recommendations".to_string()));

    let catalog = rerun(
        &tasks[3],
        &[DependencyOutput::from_output("task_2", &schema)],
    );
    assert!(catalog.result["tables"]
        .as_array()
        .is_some_and(|t| t.contains(&serde_json::json!("user_events"))));
    let routes = file(&catalog, "product-service/src/routes.js");
    assert!(routes.contains("router.get('/recommendations', requireAuth, c.getRecommendations);"));
    assert!(routes.contains("router.get('/products/:id/similar', c.getSimilarProducts);"));
    // Tasks 3 and 6 keep their results: the auth service did not change.
    let auth_again = rerun(
        &tasks[2],
        &[DependencyOutput::from_output("task_2", &schema)],
    );
    assert_eq!(auth_again.files, built.output("task_3").files);

    let deps: Vec<DependencyOutput> = ["task_3", "task_5", "task_6"]
        .iter()
        .map(|id| DependencyOutput::from_output(id, built.output(id)))
        .chain(std::iter::once(DependencyOutput::from_output(
            "task_4", &catalog,
        )))
        .collect();
    let tests = rerun(&tasks[7], &deps);
    assert!(file(&tests, "product-service/test/api.test.js")
        .contains("recommendations fall back to similar products"));
    assert!(tests.files.iter().any(|f| f.path.starts_with("tests/e2e/")
        && f.content.contains("behaviour events feed recommendations")));
}

#[test]
fn other_requests_run_end_to_end() {
    let shop = example_2_canvas();
    let cases: [(&str, Canvas); 10] = [
        (
            "Build a blog platform with auth, posts, comments and search",
            Canvas::default(),
        ),
        ("Build a system with auth and chat", Canvas::default()),
        ("Build a todo app", Canvas::default()),
        ("Scale the payment service to 1200 rps", shop.clone()),
        ("Scale the auth service to 80000 rps", shop.clone()),
        ("Add a search feature", shop.clone()),
        ("Replace MySQL with PostgreSQL", shop.clone()),
        ("The cart service keeps crashing, fix it", shop.clone()),
        ("explain the auth service", shop.clone()),
        (
            "change the cart service to keep carts for 30 days",
            shop.clone(),
        ),
    ];
    for (prompt, canvas) in cases {
        let r = run(prompt, &canvas);
        assert_files_are_sane(&r);
        for t in &r.draft.tasks {
            assert!(
                !r.output(&t.id).summary.is_empty(),
                "{prompt}: {} has no summary",
                t.id
            );
        }
        let again = run(prompt, &canvas);
        assert_eq!(r.outputs, again.outputs, "{prompt}: not deterministic");
    }
}

#[test]
fn scaling_the_payment_service_meets_its_target() {
    let r = run("Scale the payment service to 1200 rps", &example_2_canvas());
    let done = event(&r, EventType::ScalingCompleted);
    assert!(done["newRPS"].as_u64().is_some_and(|n| n >= 1200), "{done}");
    assert_eq!(done["meetsTarget"], true);
    assert!(r
        .all_files()
        .iter()
        .any(|f| f.path == "payment-service/config.js"));
    assert_eq!(r.draft.template, "High-RPS Payment Service Scaling");
}

#[test]
fn adding_search_extends_the_existing_design() {
    let r = run("Add a search feature", &example_2_canvas());
    assert!(r.output("task_1").summary.contains("search-service"));
    assert!(r.canvas.nodes.iter().any(|n| n.id == "search-service"));
    assert!(r
        .canvas
        .edges
        .iter()
        .any(|e| e.source == "api-gateway" && e.target == "search-service"));
    assert!(r
        .canvas
        .edges
        .iter()
        .any(|e| e.source == "search-service" && e.target == "product-service"));
    let controller = r
        .all_files()
        .into_iter()
        .find(|f| f.path == "search-service/src/controller.js")
        .expect("search controller");
    assert!(controller.content.contains("/api/catalog/products/search"));
    let ui: Vec<&str> = r
        .output("task_4")
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        ui,
        [
            "frontend/src/components/search/SearchBar.jsx",
            "frontend/src/components/search/SearchResults.jsx"
        ]
    );
}

#[test]
fn replacing_mysql_with_postgresql_migrates_schema_canvas_and_configuration() {
    let r = run("Replace MySQL with PostgreSQL", &example_2_canvas());
    let paths: Vec<&str> = r.all_files().iter().map(|f| f.path.as_str()).collect();
    for expected in [
        "database/migrations/001_mysql_to_postgresql.sql",
        "database/migrations/migrate.load",
        "docker-compose.yml",
        "config/database.js",
        "tests/migration.test.js",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    let ddl = r
        .all_files()
        .into_iter()
        .find(|f| f.path.ends_with("001_mysql_to_postgresql.sql"))
        .map(|f| f.content.clone())
        .unwrap_or_default();
    assert!(ddl.contains("BIGSERIAL PRIMARY KEY") && !ddl.contains("AUTO_INCREMENT"));
    for db in ["users-db", "products-db", "orders-db"] {
        let n = r
            .canvas
            .nodes
            .iter()
            .find(|n| n.id == db)
            .expect("db kept its id");
        assert_eq!(n.config["engine"], "postgresql", "{db}");
    }
    assert!(event(&r, EventType::ComponentReplaced)["replaced"]
        .as_array()
        .is_some_and(|a| a.len() == 3));
}

#[test]
fn user_text_never_escapes_into_generated_code() {
    let prompt = "Build an e-commerce platform with auth and cart */ DROP TABLE users; -- \n<script>alert(1)</script> `rm -rf /`";
    let r = run(prompt, &Canvas::default());
    for f in r.all_files() {
        assert!(
            !f.content.contains("*/ DROP"),
            "{} leaks a comment terminator",
            f.path
        );
        assert!(
            !f.content.contains("`rm -rf"),
            "{} leaks a backtick",
            f.path
        );
    }
    let plan_with_hostile_canvas = {
        let mut canvas = example_2_canvas();
        for n in &mut canvas.nodes {
            if n.id == "auth-service" {
                n.label = "Auth Service'); process.exit(1); //".to_string();
            }
        }
        run(EXAMPLE_2_PROMPT, &canvas)
    };
    for f in plan_with_hostile_canvas.all_files() {
        assert!(
            !f.content.contains("process.exit(1)"),
            "{} embeds a canvas label as code",
            f.path
        );
    }
}

#[test]
fn a_plan_from_elsewhere_without_artefact_keys_still_runs() {
    // An LLM plan: design-shaped tasks, no inputs/outputs.
    let built = run(EXAMPLE_1_PROMPT, &Canvas::default());
    let mut draft = built.draft.clone();
    for t in &mut draft.tasks {
        t.inputs.clear();
        t.outputs.clear();
    }
    let r = run_plan(
        built.intent.clone(),
        built.context.clone(),
        draft,
        Canvas::default(),
    );
    assert_eq!(
        r.output("task_1").summary,
        "Architecture designed with 4 microservices"
    );
    assert_eq!(
        r.output("task_2").summary,
        "Database schema with 8 tables designed"
    );
    assert_eq!(r.output("task_7").summary, "18 React components generated");
}
