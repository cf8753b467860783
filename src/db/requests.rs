//! The `post_requests` table: `dhikra post` hands its work to the running leader.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::db::{Db, Result, ts};

/// A `dhikra post` waiting for the leader, or done by it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PostRequest {
    pub id: i64,
    pub date: String,
    pub target: Option<String>,
    pub force: bool,
    pub done_at: Option<String>,
    pub summary: Option<String>,
    pub failed: Option<i64>,
}

impl Db {
    pub async fn request_post(
        &self,
        date: &str,
        target: Option<&str>,
        force: bool,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let id = on!(self, pool => sqlx::query_scalar(
            "INSERT INTO post_requests (date, target, force, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(date)
        .bind(target)
        .bind(force)
        .bind(ts(now))
        .fetch_one(pool)
        .await)?;
        Ok(id)
    }

    /// The oldest request no one has started, now marked started.
    pub async fn take_post_request(&self, now: DateTime<Utc>) -> Result<Option<PostRequest>> {
        Ok(on!(self, pool => sqlx::query_as::<_, PostRequest>(
            "UPDATE post_requests SET started_at = $1 WHERE id = (SELECT id FROM post_requests WHERE started_at IS NULL ORDER BY id LIMIT 1)
             RETURNING id, date, target, force, done_at, summary, failed",
        )
        .bind(ts(now))
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn finish_post_request(
        &self,
        id: i64,
        summary: &str,
        failed: usize,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on!(self, pool => sqlx::query("UPDATE post_requests SET done_at = $1, summary = $2, failed = $3 WHERE id = $4")
            .bind(ts(now))
            .bind(summary)
            .bind(failed as i64)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn post_request(&self, id: i64) -> Result<Option<PostRequest>> {
        Ok(on!(self, pool => sqlx::query_as::<_, PostRequest>(
            "SELECT id, date, target, force, done_at, summary, failed FROM post_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }
}
