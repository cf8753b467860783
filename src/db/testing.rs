//! Scratch PostgreSQL schemas for tests: each test gets a schema of its own on
//! the server named by `DHIKRA_TEST_POSTGRES_URL`, so tests run in parallel on
//! one server, and drops it when done.

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::config::PostgresUrl;

/// The variable naming the test server (see build.rs).
pub const VAR: &str = "DHIKRA_TEST_POSTGRES_URL";

/// A schema made for one test; its URL selects it (`options[search_path]`).
pub struct Scratch {
    pub url: PostgresUrl,
    base: PostgresUrl,
    schema: String,
}

impl Scratch {
    /// Panics — a failing test, never a skip — when the variable is set and the
    /// server cannot be reached.
    pub async fn new() -> Self {
        let base = std::env::var(VAR).unwrap_or_else(|_| panic!("{VAR} is not set"));
        let base = PostgresUrl::parse(&base).unwrap_or_else(|e| panic!("{VAR} {e}"));
        let schema = format!("dhikra_test_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(base.expose())
            .await
            .unwrap_or_else(|e| panic!("{VAR} is set but {base} cannot be reached: {e}"));
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create a schema on {base}: {e}"));
        let _ = conn.close().await;
        Self {
            url: base.with_search_path(&schema),
            base,
            schema,
        }
    }
}

impl Drop for Scratch {
    /// Drops the schema on a thread of its own: `Drop` cannot await, and the
    /// test's runtime may be shutting down.
    fn drop(&mut self) {
        let (base, schema) = (self.base.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = PgConnection::connect(base.expose()).await.ok()?;
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}
