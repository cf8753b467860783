//! The `deliveries` table, the delivery log: one row per (target, key, part),
//! claimed by inserting it. The README's "Delivery guarantees" rest on it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, Row};

use crate::db::{Db, Result, parse_ts, ts};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Delivery {
    pub target_id: i64,
    pub local_date: String,
    pub part: i64,
    pub parts: i64,
    pub status: DeliveryStatus,
    pub message_id: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub owner: Option<String>,
    pub alerted: bool,
    pub sent_at: Option<String>,
    pub updated_at: String,
}

/// What happened when a process tried to claim one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process owns the part now and must send it.
    Acquired,
    AlreadySent,
    /// Another live process is sending it.
    InFlight,
    /// A transient failure asked to wait until then.
    RetryLater(DateTime<Utc>),
    Failed(String),
    /// A process stopped while sending it: Telegram may or may not have it.
    Unknown,
}

/// Where one part stands in the delivery log (the `status` column, as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Owned, no request made yet: safe to resend if the owner dies.
    Claimed,
    /// A request is on the wire: if the owner dies, Telegram may or may not have it.
    Sending,
    Sent,
    /// Waiting until `not_before` (a 429 or a backoff).
    Retry,
    Failed,
    /// The owner died mid-send: alerted once, never resent automatically.
    Unknown,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Claimed => "claimed",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Retry => "retry",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One part of one post to one target: the key of the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot<'a> {
    pub target: i64,
    /// The local date (`2027-06-04`), or a repost key (`2027-06-04/repost/…`).
    pub key: &'a str,
    /// 1-based.
    pub part: u32,
}

/// Whose claims are released: a dead owner's, or any whose lease has run out.
enum Gone<'a> {
    Owner(&'a str),
    LeaseOver,
}

/// Column list as a macro so every query stays a literal (`concat!`), as sqlx requires.
macro_rules! delivery_columns {
    () => {
        "target_id, local_date, part, parts, status, message_id, attempts, last_error, owner, alerted, sent_at, updated_at"
    };
}

impl Db {
    /// Claims one part for `owner` until `lease_until`. Only an `Acquired` claim may send.
    pub async fn claim(
        &self,
        slot: Slot<'_>,
        parts: u32,
        owner: &str,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO deliveries (target_id, local_date, part, parts, status, owner, lease_until, claimed_at, updated_at)
             VALUES (?, ?, ?, ?, 'claimed', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(slot.target)
        .bind(slot.key)
        .bind(slot.part)
        .bind(parts)
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Acquired);
        }
        let retaken = sqlx::query(
            "UPDATE deliveries SET status = 'claimed', owner = ?, lease_until = ?, updated_at = ?
             WHERE target_id = ? AND local_date = ? AND part = ? AND status = 'retry' AND not_before <= ?",
        )
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(slot.target)
        .bind(slot.key)
        .bind(slot.part)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        if retaken.rows_affected() == 1 {
            return Ok(Claim::Acquired);
        }
        let row = sqlx::query("SELECT status, not_before, last_error FROM deliveries WHERE target_id = ? AND local_date = ? AND part = ?")
            .bind(slot.target)
            .bind(slot.key)
            .bind(slot.part)
            .fetch_one(&self.pool)
            .await?;
        let status: DeliveryStatus = row.get("status");
        Ok(match status {
            DeliveryStatus::Sent => Claim::AlreadySent,
            DeliveryStatus::Claimed | DeliveryStatus::Sending => Claim::InFlight,
            DeliveryStatus::Retry => Claim::RetryLater(
                row.get::<Option<String>, _>("not_before")
                    .as_deref()
                    .and_then(parse_ts)
                    .unwrap_or(now),
            ),
            DeliveryStatus::Failed => Claim::Failed(
                row.get::<Option<String>, _>("last_error")
                    .unwrap_or_default(),
            ),
            DeliveryStatus::Unknown => Claim::Unknown,
        })
    }

    /// Runs an `UPDATE … WHERE target_id = ? AND local_date = ? AND part = ?` whose
    /// other parameters are bound already: the slot's three always come last.
    async fn update_slot(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        slot: Slot<'_>,
    ) -> Result<()> {
        query
            .bind(slot.target)
            .bind(slot.key)
            .bind(slot.part)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks the request as on the wire (extending the lease and counting the attempt);
    /// from here until `mark_sent` a crash leaves the outcome unknown.
    pub async fn begin_attempt(
        &self,
        slot: Slot<'_>,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.update_slot(sqlx::query("UPDATE deliveries SET status = 'sending', attempts = attempts + 1, lease_until = ?, updated_at = ? WHERE target_id = ? AND local_date = ? AND part = ?")
            .bind(ts(lease_until))
            .bind(ts(now)), slot).await
    }

    /// Telegram answered with an error: nothing was posted, the part is ours again.
    pub async fn end_attempt(&self, slot: Slot<'_>, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.update_slot(sqlx::query("UPDATE deliveries SET status = 'claimed', last_error = ?, updated_at = ? WHERE target_id = ? AND local_date = ? AND part = ? AND status = 'sending'")
            .bind(error)
            .bind(ts(now)), slot).await
    }

    pub async fn mark_sent(
        &self,
        slot: Slot<'_>,
        message_id: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.update_slot(sqlx::query("UPDATE deliveries SET status = 'sent', message_id = ?, owner = NULL, lease_until = NULL, sent_at = ?, updated_at = ? WHERE target_id = ? AND local_date = ? AND part = ?")
            .bind(message_id)
            .bind(ts(now))
            .bind(ts(now)), slot).await
    }

    pub async fn mark_retry(
        &self,
        slot: Slot<'_>,
        not_before: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.update_slot(sqlx::query("UPDATE deliveries SET status = 'retry', not_before = ?, last_error = ?, owner = NULL, lease_until = NULL, updated_at = ? WHERE target_id = ? AND local_date = ? AND part = ?")
            .bind(ts(not_before))
            .bind(error)
            .bind(ts(now)), slot).await
    }

    pub async fn mark_failed(&self, slot: Slot<'_>, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.update_slot(sqlx::query("UPDATE deliveries SET status = 'failed', last_error = ?, owner = NULL, lease_until = NULL, updated_at = ? WHERE target_id = ? AND local_date = ? AND part = ?")
            .bind(error)
            .bind(ts(now)), slot).await
    }

    /// Settles rows whose owner is gone (lease over, or a dead process on this host):
    /// 'claimed' rows were never sent and are retried at once; 'sending' rows become
    /// 'unknown'. Returns every 'unknown' row not yet alerted about.
    pub async fn expire_stale(
        &self,
        now: DateTime<Utc>,
        is_dead: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<Delivery>> {
        let owners: Vec<String> = sqlx::query_scalar("SELECT DISTINCT owner FROM deliveries WHERE status IN ('claimed', 'sending') AND owner IS NOT NULL")
            .fetch_all(&self.pool)
            .await?;
        for owner in owners.iter().filter(|o| is_dead(o)) {
            self.release(now, Gone::Owner(owner)).await?;
        }
        self.release(now, Gone::LeaseOver).await?;
        Ok(sqlx::query_as::<_, Delivery>(concat!("SELECT ", delivery_columns!(), " FROM deliveries WHERE status = 'unknown' AND alerted = 0 ORDER BY target_id, local_date, part"))
            .fetch_all(&self.pool)
            .await?)
    }

    async fn release(&self, now: DateTime<Utc>, gone: Gone<'_>) -> Result<()> {
        // sqlx wants literal SQL, so each condition has its own pair of statements.
        let (retry, unknown, value, why) = match gone {
            Gone::Owner(owner) => (
                "UPDATE deliveries SET status = 'retry', not_before = ?, owner = NULL, lease_until = NULL, updated_at = ? WHERE status = 'claimed' AND owner = ?",
                "UPDATE deliveries SET status = 'unknown', last_error = ?, updated_at = ? WHERE status = 'sending' AND owner = ?",
                owner.to_owned(),
                "the sending process stopped mid-send",
            ),
            Gone::LeaseOver => (
                "UPDATE deliveries SET status = 'retry', not_before = ?, owner = NULL, lease_until = NULL, updated_at = ? WHERE status = 'claimed' AND lease_until < ?",
                "UPDATE deliveries SET status = 'unknown', last_error = ?, updated_at = ? WHERE status = 'sending' AND lease_until < ?",
                ts(now),
                "the send lease ran out",
            ),
        };
        sqlx::query(retry)
            .bind(ts(now))
            .bind(ts(now))
            .bind(&value)
            .execute(&self.pool)
            .await?;
        sqlx::query(unknown)
            .bind(why)
            .bind(ts(now))
            .bind(&value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_alerted(&self, slot: Slot<'_>) -> Result<()> {
        sqlx::query(
            "UPDATE deliveries SET alerted = 1 WHERE target_id = ? AND local_date = ? AND part = ?",
        )
        .bind(slot.target)
        .bind(slot.key)
        .bind(slot.part)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn deliveries(&self, key: &str) -> Result<Vec<Delivery>> {
        Ok(sqlx::query_as::<_, Delivery>(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE local_date = ? ORDER BY target_id, part"
        ))
        .bind(key)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The most recent delivery row of each target.
    pub async fn last_deliveries(&self) -> Result<Vec<Delivery>> {
        Ok(sqlx::query_as::<_, Delivery>(concat!("SELECT ", delivery_columns!(), " FROM deliveries d WHERE updated_at = (SELECT MAX(updated_at) FROM deliveries e WHERE e.target_id = d.target_id) ORDER BY target_id"))
        .fetch_all(&self.pool)
        .await?)
    }
}
