//! The machine's shared PostgreSQL and Redis, isolated per test: a fresh schema in the `test`
#![allow(dead_code)]
//! database (dropped when the test ends) and a fresh Redis key prefix. `./dev test` makes sure
//! both run (installing and starting them on a fresh Debian machine); the URLs can be moved
//! with `YOUMEYOU_TEST_PG_URL` and `YOUMEYOU_TEST_REDIS_URL`.

use sqlx::Executor;

pub fn pg_base_url() -> String {
    std::env::var("YOUMEYOU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

pub fn redis_url() -> String {
    std::env::var("YOUMEYOU_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string())
}

/// A schema of its own in the shared database; `url` puts every connection in it.
pub struct PgSchema {
    pub name: String,
    pub url: String,
    admin: sqlx::PgPool,
}

impl PgSchema {
    pub async fn new() -> Self {
        let base = pg_base_url();
        let admin = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&base)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is not reachable at {base} ({e}); `./dev test` starts it, or set YOUMEYOU_TEST_PG_URL")
            });
        let name = format!("yyt_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("create schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Self { name, url, admin }
    }

    /// Drops the schema with everything in it.
    pub async fn drop_schema(self) {
        let _ = self
            .admin
            .execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name).as_str())
            .await;
        self.admin.close().await;
    }
}

/// A key prefix of its own on the shared Redis.
pub fn redis_prefix() -> String {
    format!("yyt:{}:", uuid::Uuid::new_v4().simple())
}
