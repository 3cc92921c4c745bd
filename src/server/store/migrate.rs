//! The SQLite store's schema migrations, applied in order at start, each in its own transaction and
//! recorded in `_migrations`. Kept tiny on purpose: the SQL files are the source of truth.

use sqlx::{Executor, SqlitePool};

/// (version, name, SQL). Append only; never edit a released file.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../migrations/0001_initial.sql"),
    ),
    (
        2,
        "accounts",
        include_str!("../../../migrations/0002_accounts.sql"),
    ),
    (
        3,
        "leases",
        include_str!("../../../migrations/0003_leases.sql"),
    ),
    (
        4,
        "commands",
        include_str!("../../../migrations/0004_commands.sql"),
    ),
    (
        5,
        "queue",
        include_str!("../../../migrations/0005_queue.sql"),
    ),
];

pub async fn run(pool: &SqlitePool) -> Result<usize, sqlx::Error> {
    pool.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _migrations")
        .fetch_all(pool)
        .await?;
    let mut count = 0;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut tx = pool.begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO _migrations (version, name, applied_at) VALUES (?, ?, datetime('now'))",
        )
        .bind(version)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied migration");
        count += 1;
    }
    Ok(count)
}
