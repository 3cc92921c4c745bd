//! What a running task reports before it completes: the `taskProgress` messages of each job
//! (the design's wording, e.g. "Designing microservices structure...") and the iterations
//! of code generation (`iterationStarted`/`iterationProgress`: focus and files so far).

use serde::{Deserialize, Serialize};

use crate::domains::{self};
use crate::engine::agents::{job_of, Job};
use crate::engine::mentions::{features_in, schema_domains_in};
use crate::engine::templates::react::components;
use crate::model::Task;

/// One code-generation iteration, as `iterationStarted`/`iterationProgress` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Iteration {
    /// 1-based.
    pub iteration: u32,
    /// "basic_structure", "state_management", "styling_optimization", ...
    pub focus: String,
    /// The `iterationProgress` text, e.g. "Generated basic components".
    pub progress: String,
    /// Files generated so far (cumulative).
    pub files_generated: u32,
}

/// The `taskProgress` messages of `task`, in order. The orchestrator spreads them over the
/// task's estimated time.
pub fn progress_steps(task: &Task) -> Vec<String> {
    let steps: Vec<String> = match job_of(task) {
        Job::Architecture => vec![
            "Analyzing requirements...".into(),
            "Designing microservices structure...".into(),
            "Creating API specifications...".into(),
            "Finalizing architecture diagram...".into(),
        ],
        Job::Schema => {
            let nouns: Vec<&str> = schema_domains_in(&task.prompt)
                .iter()
                .filter_map(|d| domains::data_domain(d))
                .map(|d| d.noun)
                .take(2)
                .collect();
            let first = match nouns.as_slice() {
                [a, b] => format!("Designing {a} and {b} schemas..."),
                [a] => format!("Designing {a} schema..."),
                _ => "Designing table schemas...".to_string(),
            };
            vec![
                first,
                "Defining relationships and foreign keys...".into(),
                "Adding indexes and constraints...".into(),
            ]
        }
        Job::Migration => vec![
            "Mapping column types to the new engine...".into(),
            "Generating DDL...".into(),
            "Preparing the data migration...".into(),
        ],
        Job::Service(_) => vec![
            "Generating data models...".into(),
            "Implementing API endpoints...".into(),
            "Adding middleware and validation...".into(),
            "Wiring configuration and health checks...".into(),
        ],
        Job::Frontend => vec![
            "Generating basic components...".into(),
            "Adding state management...".into(),
            "Finalizing styling and optimization...".into(),
        ],
        Job::Settings => vec![
            "Updating docker-compose.yml...".into(),
            "Updating database configuration...".into(),
        ],
        Job::Tests(_) => vec![
            "Generating API integration layer...".into(),
            "Writing service test suites...".into(),
            "Writing end-to-end scenarios...".into(),
        ],
        Job::LoadTest => vec![
            "Designing load profile...".into(),
            "Writing k6 scenarios...".into(),
        ],
        Job::Bottlenecks => vec![
            "Extracting component configuration...".into(),
            "Estimating current capacity...".into(),
            "Identifying bottlenecks...".into(),
        ],
        Job::ScalingPlan => vec![
            "Calculating required capacity...".into(),
            "Selecting scaling approach...".into(),
            "Sizing instances, cache and replicas...".into(),
        ],
        Job::ScalingConfig => vec![
            "Generating load balancer configuration...".into(),
            "Generating Redis cluster configuration...".into(),
            "Updating service configuration...".into(),
        ],
        Job::Replacement => vec![
            "Replacing component with scaled version...".into(),
            "Running missing-component analysis...".into(),
            "Adding read replicas and monitoring...".into(),
            "Updating connections...".into(),
        ],
        Job::Monitoring => vec![
            "Deriving alert thresholds from capacity...".into(),
            "Writing Prometheus alert rules...".into(),
        ],
        Job::Verification => vec![
            "Re-checking capacity against the target...".into(),
            "Summarizing updated files...".into(),
        ],
        Job::UsageAnalysis => vec![
            "Scanning the canvas...".into(),
            "Tracing dependent services...".into(),
        ],
        Job::Swap => vec![
            "Replacing components...".into(),
            "Updating service configuration...".into(),
        ],
        Job::Rollback => vec!["Writing rollback checkpoints...".into()],
        Job::Review => vec![
            "Reading the canvas...".into(),
            "Checking capacity and missing components...".into(),
        ],
    };
    steps
}

/// Iterations of a code-generation task: the frontend in the design's three passes
/// (structure, state, styling: 8, 12, 18 files for Example 1), a service in three passes
/// over its six files. Other tasks have none.
pub fn iterations(task: &Task) -> Vec<Iteration> {
    let (total, focuses): (u32, [(&str, &str); 3]) = match job_of(task) {
        Job::Frontend => {
            let features = domains::order_features(&features_in(&task.prompt));
            // ADD_FEATURE tasks ("UI Components") render only their features' screens.
            let shell = task.outputs.iter().all(|o| {
                o.starts_with("ui.") && !features.iter().any(|f| format!("ui.{}", f.key) == *o)
            });
            let n = components(&features, shell).len();
            if n == 0 {
                return Vec::new();
            }
            (
                u32::try_from(n).unwrap_or(u32::MAX),
                [
                    ("basic_structure", "Generated basic components"),
                    ("state_management", "Added state management"),
                    ("styling_optimization", "Finalized with styling"),
                ],
            )
        }
        Job::Service(_) => (
            6,
            [
                ("data_models", "Generated models and app skeleton"),
                ("business_logic", "Added controllers and routes"),
                (
                    "hardening",
                    "Added middleware, validation and configuration",
                ),
            ],
        ),
        _ => return Vec::new(),
    };
    // Cumulative shares 4/9, 2/3 and all: 8, 12, 18 for eighteen components.
    let counts = [
        total.saturating_mul(4).div_ceil(9),
        total.saturating_mul(2).div_ceil(3),
        total,
    ];
    focuses
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, ((focus, progress), files))| Iteration {
            iteration: u32::try_from(i + 1).unwrap_or(u32::MAX),
            focus: focus.to_string(),
            progress: progress.to_string(),
            files_generated: files,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::context::extract_context;
    use crate::engine::fixtures::EXAMPLE_1_PROMPT;
    use crate::engine::intent::analyse_intent;
    use crate::engine::planner::plan;
    use crate::model::Canvas;

    fn example_1_tasks() -> Vec<Task> {
        let canvas = Canvas::default();
        let intent = analyse_intent(EXAMPLE_1_PROMPT, &canvas).expect("intent");
        plan(
            &intent,
            &extract_context(&canvas, &intent),
            EXAMPLE_1_PROMPT,
        )
        .tasks
    }

    #[test]
    fn example_1_progress_uses_the_design_wording() {
        let tasks = example_1_tasks();
        assert_eq!(
            progress_steps(&tasks[0]),
            [
                "Analyzing requirements...",
                "Designing microservices structure...",
                "Creating API specifications...",
                "Finalizing architecture diagram..."
            ]
        );
        assert_eq!(
            progress_steps(&tasks[1])[0],
            "Designing user and product schemas..."
        );
        assert!(tasks.iter().all(|t| !progress_steps(t).is_empty()));
    }

    #[test]
    fn example_1_frontend_iterates_to_eighteen_files() {
        let tasks = example_1_tasks();
        let its = iterations(&tasks[6]);
        let summary: Vec<(u32, &str, u32)> = its
            .iter()
            .map(|i| (i.iteration, i.focus.as_str(), i.files_generated))
            .collect();
        assert_eq!(
            summary,
            [
                (1, "basic_structure", 8),
                (2, "state_management", 12),
                (3, "styling_optimization", 18)
            ]
        );
        assert_eq!(its[0].progress, "Generated basic components");
        assert!(iterations(&tasks[0]).is_empty());
        assert_eq!(
            iterations(&tasks[2]).last().map(|i| i.files_generated),
            Some(6)
        );
        let json = serde_json::to_value(&its[0]).expect("serialises");
        assert_eq!(json["filesGenerated"], 8);
    }
}
