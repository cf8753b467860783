//! The `confirmations` table: a `/repost` waits for «تأكيد»; the one `UPDATE`
//! that uses it decides between a double press and two admins at once.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::{Db, Result, parse_ts, ts};

/// A repost waiting for an admin's «تأكيد».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub id: String,
    pub admin_id: i64,
    /// The day whose post is reposted (YYYY-MM-DD).
    pub date: String,
    /// Only this event's post, when set.
    pub event_id: Option<String>,
    /// Only this target, when set.
    pub target: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    Go(Confirmation),
    AlreadyUsed,
    Cancelled,
    Expired,
    Missing,
}

impl Db {
    pub async fn create_confirmation(&self, c: &Confirmation, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO confirmations (id, admin_id, date, event_id, target, state, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
        )
        .bind(&c.id)
        .bind(c.admin_id)
        .bind(&c.date)
        .bind(&c.event_id)
        .bind(&c.target)
        .bind(ts(now))
        .bind(ts(c.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Uses a confirmation once: the single `UPDATE` decides between a double press
    /// and two admins pressing at the same moment.
    pub async fn use_confirmation(&self, id: &str, now: DateTime<Utc>) -> Result<Confirmed> {
        let used = sqlx::query("UPDATE confirmations SET state = 'done' WHERE id = ? AND state = 'pending' AND expires_at > ?")
            .bind(id)
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT id, admin_id, date, event_id, target, state, expires_at FROM confirmations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Confirmed::Missing);
        };
        let c = Confirmation {
            id: row.get("id"),
            admin_id: row.get("admin_id"),
            date: row.get("date"),
            event_id: row.get("event_id"),
            target: row.get("target"),
            expires_at: parse_ts(&row.get::<String, _>("expires_at")).unwrap_or(now),
        };
        Ok(
            match (used.rows_affected(), row.get::<String, _>("state").as_str()) {
                (1, _) => Confirmed::Go(c),
                (_, "done") => Confirmed::AlreadyUsed,
                (_, "cancelled") => Confirmed::Cancelled,
                _ => Confirmed::Expired,
            },
        )
    }

    pub async fn cancel_confirmation(&self, id: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE confirmations SET state = 'cancelled' WHERE id = ? AND state = 'pending'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn set_confirmation_result(&self, id: &str, result: &str) -> Result<()> {
        sqlx::query("UPDATE confirmations SET result = ? WHERE id = ?")
            .bind(result)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
