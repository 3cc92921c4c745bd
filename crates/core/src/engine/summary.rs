//! The end of a run: totals for the `executionSummary` event (canvas changes, files, lines,
//! services, components) computed from the agents' outputs, and the suggested next steps.

use std::collections::BTreeSet;

use crate::engine::agents::AgentOutput;
use crate::model::{CanvasChanges, CodeGeneration, IntentAnalysis, IntentKind};

/// Canvas and code totals of a run's outputs. Files generated twice (a regenerated task)
/// count once, with their last content.
pub fn execution_totals<'a>(
    outputs: impl IntoIterator<Item = &'a AgentOutput>,
) -> (CanvasChanges, CodeGeneration) {
    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    let mut edges: BTreeSet<&str> = BTreeSet::new();
    let mut files: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    let mut services: BTreeSet<&str> = BTreeSet::new();
    let mut components = 0u64;
    for out in outputs {
        nodes.extend(out.patch.upsert_nodes.iter().map(|n| n.id.as_str()));
        nodes.extend(out.patch.replace_nodes.iter().map(|(_, n)| n.id.as_str()));
        edges.extend(out.patch.add_edges.iter().map(|e| e.id.as_str()));
        for f in &out.files {
            files.insert(f.path.as_str(), f.content.lines().count());
        }
        services.extend(
            out.produced
                .iter()
                .filter(|k| k.starts_with("api."))
                .map(String::as_str),
        );
        components += out
            .result
            .get("components")
            .and_then(|c| c.as_u64())
            .unwrap_or(0);
    }
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (
        CanvasChanges {
            components_added: to_u32(nodes.len()),
            connections_created: to_u32(edges.len()),
            nodes_generated: to_u32(nodes.len()),
        },
        CodeGeneration {
            files_generated: to_u32(files.len()),
            lines_of_code: to_u32(files.values().sum()),
            services: to_u32(services.len()),
            components: u32::try_from(components).unwrap_or(u32::MAX),
        },
    )
}

/// What the user should do after a run of this intent.
pub fn next_steps(intent: &IntentAnalysis) -> Vec<String> {
    let target = crate::engine::sanitize::slug(&intent.target, "component");
    let steps: Vec<String> = match intent.intent {
        IntentKind::BuildFromScratch => vec![
            "Deploy services to staging".into(),
            "Run integration tests".into(),
            "Configure CI/CD pipeline".into(),
        ],
        IntentKind::ScaleComponent => {
            let goal = crate::engine::metrics::target_rps(&intent.metrics).map_or_else(
                || "the target load".to_string(),
                crate::capacity::format_rps,
            );
            vec![
                format!("Load-test {target} at {goal} in staging"),
                "Roll out the new configuration instance by instance".into(),
                "Watch the new capacity and replica-lag alerts".into(),
            ]
        }
        IntentKind::AddFeature => vec![
            "Run the new integration tests".into(),
            "Deploy the new services to staging".into(),
            "Update the API gateway routes in production".into(),
        ],
        IntentKind::ModifyComponent => vec![
            "Rehearse the migration on a copy of production data".into(),
            "Run the migration verification tests".into(),
            "Schedule the cut-over with the rollback plan at hand".into(),
        ],
        IntentKind::FixComponent => vec![
            format!("Run the regression tests of {target}"),
            "Deploy the fix to staging".into(),
            "Monitor error rates after release".into(),
        ],
        IntentKind::Explain => vec![
            "Address the findings of the review".into(),
            "Scale the components the review flags".into(),
        ],
    };
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Canvas;

    #[test]
    fn next_steps_follow_the_design() {
        let intent = crate::engine::intent::analyse_intent(
            crate::engine::fixtures::EXAMPLE_1_PROMPT,
            &Canvas::default(),
        )
        .expect("intent");
        assert_eq!(
            next_steps(&intent),
            [
                "Deploy services to staging",
                "Run integration tests",
                "Configure CI/CD pipeline"
            ]
        );
        let scale = crate::engine::intent::analyse_intent(
            crate::engine::fixtures::EXAMPLE_2_PROMPT,
            &crate::engine::fixtures::example_2_canvas(),
        )
        .expect("intent");
        assert!(next_steps(&scale)[0].contains("5000 RPS"));
    }
}
