//! SCALE_COMPONENT: the design's "High-RPS <Service> Scaling" template — bottleneck analysis,
//! capacity plan, then configuration, component replacement and monitoring side by side,
//! and a final capacity verification. The rich variant adds load-test scenarios.

use super::{new_task, TaskExt};
use crate::engine::artefacts::{
    key, BOTTLENECK, CONFIG, INFRA, LOADTEST, MONITORING, REPORT, SCALING,
};
use crate::engine::context::CanvasContext;
use crate::engine::target::resolve;
use crate::model::{IntentAnalysis, Isolation, Task, TaskType};

pub(super) fn plan(
    intent: &IntentAnalysis,
    ctx: &CanvasContext,
    rich: bool,
) -> (Vec<Task>, String) {
    let t = resolve(intent, ctx, None);
    let (id, k, rps) = (t.slug.as_str(), t.key.as_str(), t.target_rps);
    let engine = t
        .profile
        .database
        .as_ref()
        .map_or_else(|| "database".to_string(), |d| d.engine.clone());
    let plan_input = vec![key(SCALING, k)];

    let mut tasks = vec![
        new_task(
            1,
            "Bottleneck Analysis",
            "Extract the component's configuration and identify its bottlenecks",
            TaskType::Analysis,
            "scale-001",
            10,
            format!(
                "Analyze {id} on the current canvas (instances, session store, database, caching), estimate its current capacity and identify the bottlenecks that prevent {rps} RPS."
            ),
        )
        .isolation(Isolation::Independent)
        .io(Vec::new(), vec![key(BOTTLENECK, k)]),
        new_task(
            2,
            &format!("Scaling Plan ({rps} RPS)"),
            "Calculate instances, caching and replicas for the target throughput",
            TaskType::Scaling,
            "scale-001",
            10,
            format!(
                "Generate a horizontal scaling plan for {id} to sustain {rps} RPS: instance count, load balancing, distributed session store, database read replicas and {} caching.",
                t.profile.cache_purpose
            ),
        )
        .deps(&["task_1"])
        .isolation(Isolation::Dependent)
        .io(vec![key(BOTTLENECK, k)], vec![key(SCALING, k)]),
        new_task(
            3,
            "Configuration Generation",
            "Generate load balancer, Redis cluster, compose and service configuration",
            TaskType::Configuration,
            "scale-001",
            20,
            format!(
                "Generate the scaled configuration for {id} at {rps} RPS: docker-compose.yml, nginx.conf load balancer upstream, redis-cluster.conf and {id}/config.js."
            ),
        )
        .deps(&["task_2"])
        .isolation(Isolation::Independent)
        .io(plan_input.clone(), vec![key(CONFIG, k)]),
    ];

    let mut infra = vec![key(INFRA, "load_balancer"), key(INFRA, "redis_cluster")];
    if t.profile.database.is_some() {
        infra.push(key(INFRA, "read_replicas"));
    }
    infra.push(key(INFRA, "monitoring"));
    tasks.push(
        new_task(
            4,
            "Component Replacement",
            "Replace the component on the canvas with its scaled version",
            TaskType::Architecture,
            "arch-001",
            15,
            format!(
                "Replace {id} on the canvas with its scaled version: add the load balancer, the Redis cluster, {engine} read replicas and monitoring, and update all connections."
            ),
        )
        .deps(&["task_2"])
        .isolation(Isolation::Independent)
        .io(plan_input.clone(), infra),
    );
    tasks.push(
        new_task(
            5,
            "Monitoring & Alerts",
            "Generate Prometheus alert rules for the scaled component",
            TaskType::Configuration,
            "scale-001",
            10,
            format!(
                "Generate Prometheus alert rules for {id}: request rate near capacity, p99 latency, error rate, Redis cluster health and replica lag."
            ),
        )
        .deps(&["task_2"])
        .isolation(Isolation::Independent)
        .io(plan_input.clone(), vec![key(MONITORING, k)]),
    );
    if rich {
        tasks.push(
            new_task(
                6,
                "Load Test Scenarios",
                "Generate load tests that ramp up to the target throughput",
                TaskType::Testing,
                "test-001",
                15,
                format!("Generate k6 load-test scenarios for {id} ramping to {rps} RPS with latency and error-rate thresholds."),
            )
            .deps(&["task_2"])
            .isolation(Isolation::Independent)
            .io(plan_input, vec![key(LOADTEST, k)]),
        );
    }
    let before: Vec<String> = tasks.iter().skip(2).map(|t| t.id.clone()).collect();
    let before: Vec<&str> = before.iter().map(String::as_str).collect();
    let n = tasks.len() + 1;
    tasks.push(
        new_task(
            n,
            "Capacity Verification",
            "Check the scaled configuration against the target and report",
            TaskType::Scaling,
            "scale-001",
            10,
            format!(
                "Verify that the scaled {id} sustains {rps} RPS and summarise the updated files."
            ),
        )
        .deps(&before)
        .isolation(Isolation::Final)
        .io(vec!["*".to_string()], vec![key(REPORT, k)]),
    );
    (tasks, format!("High-RPS {} Scaling", t.label))
}
