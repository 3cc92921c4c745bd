//! Documents: the architecture description (with a Mermaid diagram), the OpenAPI spec of
//! every service, design reviews and migration/rollback runbooks. User text appears only as
//! quoted one-line requirements.

use super::api::{Access, Endpoint};
use super::FileDraft;
use crate::capacity::format_rps;
use crate::domains::{Feature, TableSpec};
use crate::engine::sanitize::{comment_text, quoted, snake};
use crate::engine::technology::SqlDialect;
use crate::engine::text::display_title;

/// One service as the documents describe it.
#[derive(Debug, Clone)]
pub struct ServiceDoc {
    pub feature: &'static Feature,
    pub tables: Vec<&'static TableSpec>,
    pub calls: Vec<&'static Feature>,
    pub endpoints: Vec<Endpoint>,
}

/// "Generate shopping cart functionality" → "Shopping cart functionality".
fn responsibility(f: &Feature) -> String {
    display_title_first(
        f.description
            .strip_prefix("Generate ")
            .unwrap_or(f.description),
    )
}

fn display_title_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn mermaid_id(id: &str) -> String {
    snake(id, "node")
}

pub fn architecture_md(
    title: &str,
    requirement: &str,
    services: &[ServiceDoc],
    dialect: SqlDialect,
    cache: bool,
) -> FileDraft {
    let mut out = format!(
        "# {} — architecture\n\n> Requirements: {}\n\n",
        display_title(&comment_text(title, 80)),
        comment_text(requirement, 400)
    );
    out.push_str(&format!(
        "{} microservices, each owning its data, behind an NGINX API gateway. Clients authenticate once with the auth service and send its JWT to every other service, which verifies it locally (no call per request).\n\n## Services\n\n| Service | Responsibility | Tables | Calls | Endpoints | Port |\n|---|---|---|---|---|---|\n",
        services.len()
    ));
    for s in services {
        let tables: Vec<&str> = s.tables.iter().map(|t| t.name).collect();
        let calls: Vec<&str> = s.calls.iter().map(|c| c.service).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            s.feature.service,
            responsibility(s.feature),
            if tables.is_empty() {
                "—".to_string()
            } else {
                tables.join(", ")
            },
            if calls.is_empty() {
                "—".to_string()
            } else {
                calls.join(", ")
            },
            s.endpoints.len(),
            s.feature.port
        ));
    }
    let mut databases: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in services {
        match databases
            .iter_mut()
            .find(|(db, _)| *db == s.feature.database)
        {
            Some((_, users)) => users.push(s.feature.service),
            None => databases.push((s.feature.database, vec![s.feature.service])),
        }
    }
    out.push_str(&format!(
        "\n## Data stores\n\n| Database | Engine | Used by |\n|---|---|---|\n{}",
        databases
            .iter()
            .map(|(db, users)| format!("| `{db}` | {} | {} |\n", dialect.name(), users.join(", ")))
            .collect::<String>()
    ));
    if cache {
        let cached: Vec<&str> = services
            .iter()
            .filter(|s| s.feature.uses_cache)
            .map(|s| s.feature.service)
            .collect();
        out.push_str(&format!(
            "| `redis-cache` | Redis 7 | {} |\n",
            cached.join(", ")
        ));
    }
    out.push_str("\nThe logical schema is `database/schema.sql`; each service applies the part it owns.\n\n## Diagram\n\n```mermaid\ngraph LR\n");
    out.push_str("  web_app[\"web-app\"] --> load_balancer[\"load-balancer\"] --> api_gateway[\"api-gateway\"]\n");
    for s in services {
        let id = mermaid_id(s.feature.service);
        out.push_str(&format!(
            "  api_gateway --> {id}[\"{}\"]\n",
            s.feature.service
        ));
        out.push_str(&format!(
            "  {id} --> {}[(\"{}\")]\n",
            mermaid_id(s.feature.database),
            s.feature.database
        ));
        for c in &s.calls {
            out.push_str(&format!("  {id} -.-> {}\n", mermaid_id(c.service)));
        }
        if let Some(e) = s.feature.external {
            out.push_str(&format!(
                "  {id} --> {}{{{{\"{}\"}}}}\n",
                mermaid_id(e.id),
                e.label
            ));
        }
        if cache && s.feature.uses_cache {
            out.push_str(&format!("  {id} --> redis_cache[(\"redis-cache\")]\n"));
        }
    }
    out.push_str("```\n\n## APIs\n\nREST over JSON under `/api/<service>/` (see `docs/openapi.yaml`). Errors use one shape: `{\"error\": {\"code\", \"message\", \"retryable\"}}`. Writes that other services care about are called synchronously with timeouts and retries; nothing is shared through the databases.\n\n## Scalability considerations\n\n");
    for s in services {
        let f = s.feature;
        out.push_str(&format!(
            "- `{}`: about {} per unoptimised instance in the capacity model; add a Redis cache for {} and read replicas before adding instances.\n",
            f.service,
            format_rps(f.base_rps),
            f.cache_purpose
        ));
    }
    out.push_str("- Services are stateless (JWT), so they scale horizontally behind the load balancer; the gateway rate-limits per client.\n- Each service owns its tables: no cross-service joins, so databases can be split or replicated per service.\n");
    FileDraft::new("docs/architecture.md", "markdown", out)
}

/// OpenAPI 3 document of every service behind the gateway.
pub fn openapi_yaml(title: &str, services: &[ServiceDoc]) -> FileDraft {
    let mut out = format!(
        "openapi: 3.0.3\ninfo:\n  title: {}\n  version: 1.0.0\n  description: Generated by YouMeYou; every path is served through the API gateway.\nservers:\n  - url: http://localhost:8080\ncomponents:\n  securitySchemes:\n    bearer:\n      type: http\n      scheme: bearer\n      bearerFormat: JWT\n  schemas:\n    Error:\n      type: object\n      properties:\n        error:\n          type: object\n          properties:\n            code: {{ type: string }}\n            message: {{ type: string }}\n            retryable: {{ type: boolean }}\n  responses:\n    Problem:\n      description: The request failed; see the error code.\n      content:\n        application/json:\n          schema: {{ $ref: '#/components/schemas/Error' }}\npaths:\n",
        quoted(&format!("{} API", display_title(title)))
    );
    for s in services {
        let mut paths: Vec<String> = Vec::new();
        for e in &s.endpoints {
            let full = format!("/api/{}{}", s.feature.api_base, e.openapi_path());
            if !paths.contains(&full) {
                paths.push(full);
            }
        }
        for path in paths {
            out.push_str(&format!("  {path}:\n"));
            for e in s
                .endpoints
                .iter()
                .filter(|e| format!("/api/{}{}", s.feature.api_base, e.openapi_path()) == path)
            {
                out.push_str(&operation(s.feature, e));
            }
        }
    }
    FileDraft::new("docs/openapi.yaml", "yaml", out)
}

fn operation(f: &Feature, e: &Endpoint) -> String {
    let mut op = format!(
        "    {}:\n      tags: [{}]\n      operationId: {}_{}\n      summary: {}\n",
        e.method.to_lowercase(),
        f.service,
        snake(f.key, "svc"),
        e.handler,
        quoted(&e.summary)
    );
    op.push_str(match e.access {
        Access::Public | Access::Webhook => "      security: []\n",
        Access::User | Access::Admin => "      security: [{ bearer: [] }]\n",
    });
    let params: Vec<String> = e
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix(':'))
        .map(|p| format!("{{ name: {p}, in: path, required: true, schema: {{ type: integer, minimum: 1 }} }}"))
        .collect();
    if !params.is_empty() {
        op.push_str(&format!("      parameters: [{}]\n", params.join(", ")));
    }
    if matches!(e.method, "POST" | "PATCH" | "PUT") {
        op.push_str("      requestBody: { required: true, content: { application/json: { schema: { type: object } } } }\n");
    }
    let ok = match (e.method, e.operation) {
        ("POST", super::api::Operation::Create) => "201",
        ("DELETE", _) => "204",
        _ => "200",
    };
    let problem = "{ $ref: '#/components/responses/Problem' }";
    let mut responses = vec![
        format!("'{ok}': {{ description: Success }}"),
        format!("'400': {problem}"),
    ];
    if matches!(e.access, Access::User | Access::Admin) {
        responses.push(format!("'401': {problem}"));
    }
    if e.access == Access::Admin {
        responses.push(format!("'403': {problem}"));
    }
    op.push_str(&format!(
        "      responses: {{ {} }}\n",
        responses.join(", ")
    ));
    op
}

/// A design review of one component or of the whole canvas.
pub fn design_review_md(subject: &str, lines: &[String]) -> FileDraft {
    let mut out = format!(
        "# Design review: {}\n\nGenerated by YouMeYou from the current canvas.\n\n",
        comment_text(subject, 80)
    );
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    FileDraft::new("docs/design-review.md", "markdown", out)
}

/// Rollback runbook for a technology migration.
pub fn rollback_md(from: &str, to: &str, tables: &[&TableSpec]) -> FileDraft {
    let names: Vec<&str> = tables.iter().map(|t| t.name).collect();
    let out = format!(
        "# Rollback plan: {to} back to {from}\n\nGenerated by YouMeYou.\n\n## Before the cut-over\n\n1. Keep {from} running read-only; take a snapshot and record its binlog/LSN position.\n2. Run the migration and `tests/migration.test.js` (row counts and constraints of {} tables).\n3. Keep the previous `docker-compose.yml` and `config/database.js` as `*.pre-migration`.\n\n## Dual-write window\n\nFor the first 24 h the services write to {to}; a replication job copies changes back to {from} so a rollback loses nothing.\n\n## Rolling back\n\n1. Stop writes (maintenance mode at the gateway: return 503 with `Retry-After`).\n2. Replay changes made since the cut-over to {from} and verify row counts of: {}.\n3. Restore the pre-migration compose file and `DATABASE_URL`s, restart the services, lift maintenance mode.\n4. Keep {to} stopped, not deleted, until the cause is understood.\n",
        names.len(),
        if names.is_empty() { "every table".to_string() } else { names.join(", ") }
    );
    FileDraft::new("docs/rollback-plan.md", "markdown", out)
}

/// pgloader command file moving every MySQL database to PostgreSQL.
pub fn pgloader_load(databases: &[String]) -> FileDraft {
    let mut out = String::from("-- pgloader command file: copies schema-less data from MySQL into the new PostgreSQL\n-- schema (created first from 001 migration). Generated by YouMeYou. Run once per database:\n--   pgloader database/migrations/migrate.load\n");
    for db in databases {
        let name = snake(db, "app_db");
        out.push_str(&format!(
            "\nLOAD DATABASE\n  FROM mysql://app:app@{db}:3306/{name}\n  INTO postgresql://app:app@{db}:5432/{name}\n  WITH data only, truncate, reset sequences, workers = 4, concurrency = 2\n  SET work_mem TO '64MB', maintenance_work_mem TO '256MB'\n  ALTER SCHEMA '{name}' RENAME TO 'public';\n"
        ));
    }
    FileDraft::new("database/migrations/migrate.load", "sql", out)
}

/// Notes when a migration target has no SQL dialect (e.g. MongoDB).
pub fn migration_notes_md(
    from: &str,
    to: &str,
    tables: &[&TableSpec],
    dialect: Option<SqlDialect>,
) -> FileDraft {
    let mut out = format!("# Migration from {from} to {to}\n\nGenerated by YouMeYou.\n\n");
    if dialect.is_none() {
        out.push_str(&format!("{to} is not relational: each table becomes a collection; foreign keys become references checked by the services.\n\n| Table | Collection | Indexes |\n|---|---|---|\n"));
        for t in tables {
            let idx: Vec<String> = t.indexes.iter().map(|i| i.join("+")).collect();
            out.push_str(&format!(
                "| {} | {} | {} |\n",
                t.name,
                t.name,
                if idx.is_empty() {
                    "_id".to_string()
                } else {
                    idx.join(", ")
                }
            ));
        }
    }
    FileDraft::new("docs/migration-notes.md", "markdown", out)
}
