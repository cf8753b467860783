//! The `confirmations` table: a `/repost` waits for «تأكيد»; the one `UPDATE`
//! that uses it decides between a double press and two admins at once.

use chrono::{DateTime, Utc};

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

impl Confirmation {
    /// The delivery key of the repost it confirms: the confirmation's id is in
    /// it, so however often the button is pressed, its deliveries are claimed once.
    pub fn delivery_key(&self) -> String {
        format!("{}/repost/{}", self.date, self.id)
    }
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
        on!(self, pool => sqlx::query(
            "INSERT INTO confirmations (id, admin_id, date, event_id, target, state, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        )
        .bind(&c.id)
        .bind(c.admin_id)
        .bind(&c.date)
        .bind(&c.event_id)
        .bind(&c.target)
        .bind(ts(now))
        .bind(ts(c.expires_at))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Uses a confirmation once: the single `UPDATE` decides between a double press
    /// and two admins pressing at the same moment.
    pub async fn use_confirmation(&self, id: &str, now: DateTime<Utc>) -> Result<Confirmed> {
        let used = on!(self, pool => sqlx::query("UPDATE confirmations SET state = 'done' WHERE id = $1 AND state = 'pending' AND expires_at > $2")
            .bind(id)
            .bind(ts(now))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        let Some((c, state)) = self.confirmation(id, now).await? else {
            return Ok(Confirmed::Missing);
        };
        Ok(match (used, state.as_str()) {
            (1, _) => Confirmed::Go(c),
            (_, "done") => Confirmed::AlreadyUsed,
            (_, "cancelled") => Confirmed::Cancelled,
            _ => Confirmed::Expired,
        })
    }

    /// A confirmation as written, and its state (`pending`, `done`, `cancelled`).
    pub async fn confirmation(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Confirmation, String)>> {
        type Row = (
            String,
            i64,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
        );
        let row: Option<Row> = on!(self, pool => sqlx::query_as("SELECT id, admin_id, date, event_id, target, state, expires_at FROM confirmations WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(
            |(id, admin_id, date, event_id, target, state, expires_at)| {
                let c = Confirmation {
                    id,
                    admin_id,
                    date,
                    event_id,
                    target,
                    expires_at: parse_ts(&expires_at).unwrap_or(now),
                };
                (c, state)
            },
        ))
    }

    pub async fn cancel_confirmation(&self, id: &str) -> Result<bool> {
        let r = on!(self, pool => sqlx::query(
            "UPDATE confirmations SET state = 'cancelled' WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(r == 1)
    }

    pub async fn set_confirmation_result(&self, id: &str, result: &str) -> Result<()> {
        on!(self, pool => sqlx::query("UPDATE confirmations SET result = $1 WHERE id = $2")
            .bind(result)
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
