//! One store conformance suite, run on both backends: every test below runs once on SQLite
//! (a fresh file) and once on PostgreSQL (a fresh schema of the machine's server), through the
//! same `dyn Store`. A backend that differs in any meaning the orchestrator and the API rely on
//! (gap-free `seq`, version conflicts, limits, leases and fencing) fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/services.rs"]
mod services;

mod events;
mod leases;
mod projects;
mod runs;
mod users;

use serde_json::json;
use std::sync::Arc;
use youmeyou::server::limits::Tier;
use youmeyou::server::store::postgres::PgStore;
use youmeyou::server::store::projects::{ProjectRecord, ProjectWrite};
use youmeyou::server::store::runs::RunRecord;
use youmeyou::server::store::sqlite::SqliteStore;
use youmeyou::server::store::users::UserRecord;
use youmeyou::server::store::Store;
use youmeyou_core::model::{Canvas, Task};

/// A store under test, and how to open a second instance on the same database.
pub struct Db {
    pub store: Arc<dyn Store>,
    backend: Backend,
}

enum Backend {
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    Postgres {
        schema: services::PgSchema,
    },
}

impl Db {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Arc::new(SqliteStore::open(&url).await.unwrap());
        Db {
            store,
            backend: Backend::Sqlite { url, _dir: dir },
        }
    }

    pub async fn postgres() -> Self {
        let schema = services::PgSchema::new().await;
        let store = Arc::new(PgStore::open(&schema.url).await.unwrap());
        Db {
            store,
            backend: Backend::Postgres { schema },
        }
    }

    /// Another instance's store on the same database (its own pool and leases).
    pub async fn another(&self) -> Arc<dyn Store> {
        match &self.backend {
            Backend::Sqlite { url, .. } => Arc::new(SqliteStore::open(url).await.unwrap()),
            Backend::Postgres { schema } => Arc::new(PgStore::open(&schema.url).await.unwrap()),
        }
    }

    /// Runs SQL that both dialects spell alike (fixtures the API cannot make, e.g. a lapsed
    /// lease), through a connection of its own.
    pub async fn exec(&self, sql: &str) {
        match &self.backend {
            Backend::Sqlite { url, .. } => {
                let s = SqliteStore::open(url).await.unwrap();
                sqlx::raw_sql(sql).execute(s.pool()).await.unwrap();
                s.pool().close().await;
            }
            Backend::Postgres { schema } => {
                let s = PgStore::open(&schema.url).await.unwrap();
                sqlx::raw_sql(sql).execute(s.pool()).await.unwrap();
                s.pool().close().await;
            }
        }
    }

    async fn finish(self) {
        self.store.close().await;
        if let Backend::Postgres { schema } = self.backend {
            schema.drop_schema().await;
        }
    }
}

pub const T0: &str = "2026-01-01T00:00:00.000Z";

pub async fn user(db: &Db, id: &str) -> UserRecord {
    let user = UserRecord {
        id: id.into(),
        email: format!("{id}@example.com"),
        password_hash: "$argon2id$x".into(),
        tier: Tier::Free,
        created_at: T0.into(),
    };
    db.store.create_user(&user).await.unwrap();
    user
}

pub fn project_record(id: &str, owner: &str) -> ProjectRecord {
    ProjectRecord {
        id: id.into(),
        owner_id: owner.into(),
        name: format!("Project {id}"),
        canvas: Canvas::default(),
        created_at: T0.into(),
        updated_at: T0.into(),
    }
}

pub async fn project(db: &Db, id: &str, owner: &str) {
    let written = db
        .store
        .create_project(&project_record(id, owner), 100)
        .await
        .unwrap();
    assert_eq!(written, ProjectWrite::Done);
}

pub fn run_record(
    id: &str,
    project: &str,
    owner: &str,
    status: &str,
    created_at: &str,
) -> RunRecord {
    RunRecord {
        id: id.into(),
        project_id: project.into(),
        owner_id: owner.into(),
        prompt: format!("prompt of {id}"),
        status: status.into(),
        intent: None,
        path: None,
        path_reason: None,
        context: None,
        summary: None,
        error: None,
        last_seq: 0,
        created_at: created_at.into(),
        started_at: None,
        finished_at: None,
    }
}

/// A user `u`, a project `p` and runs `r0…` (status `running`), created a second apart.
pub async fn with_runs(db: &Db, n: usize) {
    user(db, "u").await;
    project(db, "p", "u").await;
    for i in 0..n {
        let at = format!("2026-01-01T00:00:{:02}.000Z", i % 60);
        db.store
            .create_run(&run_record(&format!("r{i}"), "p", "u", "running", &at))
            .await
            .unwrap();
    }
}

pub fn task(id: &str, deps: &[&str]) -> Task {
    serde_json::from_value(json!({
        "id": id,
        "name": format!("Task {id}"),
        "type": "ARCHITECTURE",
        "dependencies": deps,
        "estimatedTime": 5,
        "agent": "arch-001",
        "prompt": format!("do {id}"),
    }))
    .unwrap()
}

/// Declares each test once; it runs on both backends as `sqlite::NAME` and `postgres::NAME`.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::Db::sqlite().await;
                    super::$module::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::Db::postgres().await;
                    super::$module::$name(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

conformance! {
    users::accounts_are_unique_by_email_whatever_its_case,
    users::tiers_lists_and_day_counts,
    users::revoked_sessions_stay_revoked,
    projects::the_project_limit_holds_under_concurrent_creations,
    projects::list_rename_and_delete_follow_ownership_and_active_runs,
    projects::canvas_versions_conflict_and_only_one_concurrent_writer_wins,
    projects::canvas_history_is_bounded_and_readable,
    projects::storage_is_counted_and_pruned_oldest_first,
    runs::a_run_round_trips_with_analysis_status_and_summary,
    runs::plans_tasks_files_and_modifications_round_trip,
    runs::unfinished_active_and_recent_runs,
    runs::admission_counts_active_and_daily_runs_in_the_database,
    runs::owner_commands_are_taken_once_and_answered_once,
    events::concurrent_appends_keep_every_runs_sequence_gap_free,
    events::the_final_append_writes_events_then_the_end,
    events::reads_page_through_the_log,
    events::run_heads_name_watched_runs_and_the_current_runs_of_watched_projects,
    events::a_task_result_commits_with_its_events,
    leases::a_live_lease_is_exclusive_and_renewals_keep_it,
    leases::a_lapsed_lease_is_taken_over_and_fences_the_old_owner,
    leases::a_released_lease_is_taken_at_once,
    leases::concurrent_sweepers_never_take_the_same_run,
    leases::a_forced_take_claims_live_leases_and_finished_runs_are_never_taken,
    leases::the_shared_queue_hands_out_runs_in_order_and_reports_places,
}
