//! The `post_requests` table: `dhikra post`, and a `/repost` confirmed on a
//! standby, hand their work to the running leader, which paces every message.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::db::{Confirmation, Db, Result, StorageError, ts};

/// A `dhikra post` or a confirmed `/repost` waiting for the leader, or done by it.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PostRequest {
    pub id: i64,
    pub date: String,
    pub target: Option<String>,
    pub force: bool,
    /// A `/repost`: the confirmation it runs (its date, event and target).
    pub confirmation: Option<String>,
    pub done_at: Option<String>,
    pub summary: Option<String>,
    pub failed: Option<i64>,
    pub sent: Option<i64>,
}

/// What the leader reports on a request it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// Targets that got the post.
    pub sent: usize,
    /// Targets it failed for, or whose outcome is unknown.
    pub failed: usize,
}

/// Column list as a macro, so every query stays a literal (`concat!`).
macro_rules! request_columns {
    () => {
        "id, date, target, force, confirmation, done_at, summary, failed, sent"
    };
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

    /// Hands a confirmed `/repost` to the leader.
    pub async fn request_repost(&self, c: &Confirmation, now: DateTime<Utc>) -> Result<i64> {
        let id = on!(self, pool => sqlx::query_scalar(
            "INSERT INTO post_requests (date, target, force, confirmation, created_at) VALUES ($1, $2, TRUE, $3, $4) RETURNING id",
        )
        .bind(&c.date)
        .bind(&c.target)
        .bind(&c.id)
        .bind(ts(now))
        .fetch_one(pool)
        .await)?;
        Ok(id)
    }

    /// The oldest request no one has started, now marked started.
    pub async fn take_post_request(&self, now: DateTime<Utc>) -> Result<Option<PostRequest>> {
        Ok(on!(self, pool => sqlx::query_as::<_, PostRequest>(concat!(
            "UPDATE post_requests SET started_at = $1 WHERE id = (SELECT id FROM post_requests WHERE started_at IS NULL ORDER BY id LIMIT 1) RETURNING ",
            request_columns!()
        ))
        .bind(ts(now))
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn finish_post_request(
        &self,
        id: i64,
        summary: &str,
        done: Done,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on!(self, pool => sqlx::query("UPDATE post_requests SET done_at = $1, summary = $2, failed = $3, sent = $4 WHERE id = $5")
            .bind(ts(now))
            .bind(summary)
            .bind(done.failed as i64)
            .bind(done.sent as i64)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Waits for the leader to finish request `id`, reading it every 300 ms
    /// for at most `within`: `None` if it has not by then. A failed read goes
    /// to `on_error`, which ends the wait with its error or reads again.
    pub async fn await_post_request(
        &self,
        id: i64,
        within: std::time::Duration,
        mut on_error: impl FnMut(StorageError) -> Result<()>,
    ) -> Result<Option<PostRequest>> {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            match self.post_request(id).await {
                Ok(Some(r)) if r.done_at.is_some() => return Ok(Some(r)),
                Ok(_) => {}
                Err(e) => on_error(e)?,
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        Ok(None)
    }

    pub async fn post_request(&self, id: i64) -> Result<Option<PostRequest>> {
        Ok(on!(self, pool => sqlx::query_as::<_, PostRequest>(concat!(
            "SELECT ",
            request_columns!(),
            " FROM post_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }
}
