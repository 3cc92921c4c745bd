//! Testing agent (test-001, or code-001 in the design's plan): the API integration layer,
//! a test suite per service built from the endpoints the services really have, end-to-end
//! journeys, and migration checks.

use serde_json::json;

use super::code::service_spec;
use super::{system_title, AgentError, AgentInput, AgentOutput};
use crate::domains::{self, Feature};
use crate::engine::templates::node_service::ServiceSpec;
use crate::engine::templates::tests_js::{
    api_client, component_smoke_test, e2e_test, migration_test, service_test,
};
use crate::engine::templates::FileDraft;

/// Specs of the services this task tests: from what the dependencies generated (their
/// results list the real tables, e.g. recommendation tables added by an edit), else from
/// the catalogue.
fn tested_services(input: &AgentInput<'_>, only: Option<&[&'static Feature]>) -> Vec<ServiceSpec> {
    let mut specs: Vec<ServiceSpec> = Vec::new();
    for dep in input.dependencies {
        let Some(feature) = dep
            .result
            .get("service")
            .and_then(|s| s.as_str())
            .and_then(domains::feature_by_service)
        else {
            continue;
        };
        if only.is_some_and(|o| !o.iter().any(|f| f.key == feature.key)) {
            continue;
        }
        let mut spec = service_spec(input, feature);
        if let Some(tables) = dep.result.get("tables").and_then(|t| t.as_array()) {
            let listed: Vec<_> = tables
                .iter()
                .filter_map(|t| t.as_str())
                .filter_map(domains::table)
                .collect();
            if !listed.is_empty() {
                spec.tables = listed;
            }
        }
        specs.push(spec);
    }
    if specs.is_empty() {
        let wanted: Vec<&'static Feature> = match only {
            Some(o) => o.to_vec(),
            None => domains::order_features(&input.intent.components),
        };
        specs = wanted.into_iter().map(|f| service_spec(input, f)).collect();
    }
    specs
}

fn count_cases(files: &[FileDraft]) -> usize {
    files
        .iter()
        .map(|f| f.content.matches("\ntest(").count() + f.content.matches("  test(").count())
        .sum()
}

pub fn tests(input: &AgentInput<'_>, name: &str) -> Result<AgentOutput, AgentError> {
    if name == "migration" {
        return migration(input);
    }
    let only: Option<Vec<&'static Feature>> = if name == "integration" {
        None
    } else {
        domains::feature(name).map(|f| vec![f])
    };
    if name != "integration" && only.is_none() {
        // A component the catalogue does not know: check it through the gateway.
        let files = vec![component_smoke_test(
            name,
            &format!("/api/{}", crate::engine::sanitize::slug(name, "component")),
        )];
        return Ok(AgentOutput::new(
            format!(
                "Smoke tests for {} generated",
                crate::engine::sanitize::slug(name, "component")
            ),
            json!({"testCases": count_cases(&files), "services": 0}),
        )
        .with_files(input.task, files)
        .producing(input.task.outputs.clone()));
    }
    let specs = tested_services(input, only.as_deref());
    if specs.is_empty() {
        return Err(super::unsupported(input.task, "no services to test"));
    }
    let mut files: Vec<FileDraft> = Vec::new();
    if only.is_none() {
        files.push(api_client(&specs));
    }
    files.extend(specs.iter().map(service_test));
    if only.is_none() {
        let features: Vec<&'static Feature> = specs
            .iter()
            .filter_map(|s| domains::feature_by_service(&s.service))
            .collect();
        let recommendations = specs
            .iter()
            .find(|s| s.tables.iter().any(|t| t.name == "user_events"))
            .map(|s| format!("/api/{}", s.api_base));
        files.push(e2e_test(
            &system_title(input),
            &features,
            recommendations.as_deref(),
        ));
    }
    let cases = count_cases(&files);
    let services: Vec<&str> = specs.iter().map(|s| s.service.as_str()).collect();
    let summary = if only.is_none() {
        format!(
            "Test suites for {} services generated ({cases} test cases), with API client and end-to-end scenarios",
            specs.len()
        )
    } else {
        format!("{cases} tests generated for {}", services.join(", "))
    };
    Ok(
        AgentOutput::new(summary, json!({"services": services, "testCases": cases}))
            .with_files(input.task, files)
            .producing(input.task.outputs.clone()),
    )
}

fn migration(input: &AgentInput<'_>) -> Result<AgentOutput, AgentError> {
    let Some((from, to)) = super::replacement_of(input).map(|(f, t)| (f.name, t.name)) else {
        return Err(super::unsupported(
            input.task,
            "a migration check needs the old and the new technology",
        ));
    };
    let tables: Vec<&str> = input
        .dependencies
        .iter()
        .filter_map(|d| d.result.get("tables").and_then(|t| t.as_array()))
        .flatten()
        .filter_map(|t| t.as_str())
        .fold(Vec::new(), |mut acc, t| {
            if !acc.contains(&t) {
                acc.push(t);
            }
            acc
        });
    let files = vec![migration_test(from, to, &tables)];
    Ok(AgentOutput::new(
        format!(
            "Migration checks for {} tables generated ({from} → {to})",
            tables.len()
        ),
        json!({"tables": tables.len(), "testCases": count_cases(&files)}),
    )
    .with_files(input.task, files)
    .producing(input.task.outputs.clone()))
}
