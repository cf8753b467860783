//! The `deliveries` table, the delivery log: one row per (target, key, part),
//! claimed by inserting it. The README's "Delivery guarantees" rest on it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::db::{Db, Result, StorageError, parse_ts, ts};

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
// PostgreSQL: a TEXT column, not an enum type of its own.
#[sqlx(rename_all = "lowercase", type_name = "text")]
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

/// Runs an `UPDATE … WHERE target_id = $n AND local_date = $n+1 AND part = $n+2`:
/// the other parameters first, the slot's three always last.
macro_rules! update_slot {
    ($db:expr, $sql:literal, $slot:expr $(, $arg:expr)*) => {{
        let slot: Slot<'_> = $slot;
        on!($db, pool => sqlx::query($sql)
            $(.bind($arg))*
            .bind(slot.target)
            .bind(slot.key)
            .bind(i64::from(slot.part))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }};
}

/// The statements that set or read a lease, with the database's clock as
/// `$now` (see [`on_clock!`]): a lease is `lease_expires`, Unix seconds by
/// that clock, so a process whose clock runs ahead or behind cannot cut
/// another's lease short or keep its own past its time.
macro_rules! claim_new {
    ($now:expr) => {
        concat!(
            "INSERT INTO deliveries (target_id, local_date, part, parts, status, owner, lease_expires, claimed_at, updated_at) VALUES ($1, $2, $3, $4, 'claimed', $5, ",
            $now,
            " + $6, $7, $7) ON CONFLICT DO NOTHING"
        )
    };
}
macro_rules! claim_retry {
    ($now:expr) => {
        concat!(
            "UPDATE deliveries SET status = 'claimed', owner = $1, lease_expires = ",
            $now,
            " + $2, updated_at = $3 WHERE target_id = $4 AND local_date = $5 AND part = $6 AND status = 'retry' AND not_before <= $3"
        )
    };
}
macro_rules! attempt {
    ($now:expr) => {
        concat!(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, lease_expires = ",
            $now,
            " + $1, updated_at = $2 WHERE target_id = $3 AND local_date = $4 AND part = $5 AND owner = $6 AND status IN ('claimed', 'sending')"
        )
    };
}
macro_rules! lapsed_claims {
    ($now:expr) => {
        concat!(
            "UPDATE deliveries SET status = 'retry', not_before = $1, owner = NULL, lease_expires = NULL, updated_at = $1 WHERE status = 'claimed' AND lease_expires < ",
            $now
        )
    };
}
macro_rules! lapsed_sends {
    ($now:expr) => {
        concat!(
            "UPDATE deliveries SET status = 'unknown', last_error = $1, updated_at = $2 WHERE status = 'sending' AND lease_expires < ",
            $now
        )
    };
}

/// Column list as a macro so every query stays a literal (`concat!`), as sqlx requires.
macro_rules! delivery_columns {
    () => {
        "target_id, local_date, part, parts, status, message_id, attempts, last_error, owner, alerted, sent_at, updated_at"
    };
}

impl Db {
    /// Claims one part for `owner`, for `lease` by the database's clock. Only an
    /// `Acquired` claim may send.
    pub async fn claim(
        &self,
        slot: Slot<'_>,
        parts: u32,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Claim> {
        let inserted = on_clock!(self, claim_new, pool, sql => sqlx::query(sql)
            .bind(slot.target)
            .bind(slot.key)
            .bind(i64::from(slot.part))
            .bind(i64::from(parts))
            .bind(owner)
            .bind(lease.as_secs_f64())
            .bind(ts(now))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if inserted == 1 {
            return Ok(Claim::Acquired);
        }
        let retaken = on_clock!(self, claim_retry, pool, sql => sqlx::query(sql)
            .bind(owner)
            .bind(lease.as_secs_f64())
            .bind(ts(now))
            .bind(slot.target)
            .bind(slot.key)
            .bind(i64::from(slot.part))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if retaken == 1 {
            return Ok(Claim::Acquired);
        }
        let (status, not_before, last_error): (DeliveryStatus, Option<String>, Option<String>) = on!(self, pool => sqlx::query_as("SELECT status, not_before, last_error FROM deliveries WHERE target_id = $1 AND local_date = $2 AND part = $3")
            .bind(slot.target)
            .bind(slot.key)
            .bind(i64::from(slot.part))
            .fetch_one(pool)
            .await)?;
        Ok(match status {
            DeliveryStatus::Sent => Claim::AlreadySent,
            DeliveryStatus::Claimed | DeliveryStatus::Sending => Claim::InFlight,
            DeliveryStatus::Retry => {
                Claim::RetryLater(not_before.as_deref().and_then(parse_ts).unwrap_or(now))
            }
            DeliveryStatus::Failed => Claim::Failed(last_error.unwrap_or_default()),
            DeliveryStatus::Unknown => Claim::Unknown,
        })
    }

    /// Marks the request as on the wire (extending the lease and counting the
    /// attempt); from here until `mark_sent` a crash leaves the outcome unknown.
    /// Only while the part is still `owner`'s: one taken from it (its heartbeat
    /// lapsed, so it was thought dead) fails with [`StorageError::ClaimLost`] and
    /// must not be sent, since another process may send it.
    pub async fn begin_attempt(
        &self,
        slot: Slot<'_>,
        owner: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let updated = on_clock!(self, attempt, pool, sql => sqlx::query(sql)
            .bind(lease.as_secs_f64())
            .bind(ts(now))
            .bind(slot.target)
            .bind(slot.key)
            .bind(i64::from(slot.part))
            .bind(owner)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if updated == 1 {
            Ok(())
        } else {
            Err(StorageError::ClaimLost {
                target: slot.target,
                key: slot.key.to_owned(),
                part: slot.part,
            })
        }
    }

    /// Telegram answered with an error: nothing was posted, the part is ours again.
    pub async fn end_attempt(&self, slot: Slot<'_>, error: &str, now: DateTime<Utc>) -> Result<()> {
        update_slot!(
            self,
            "UPDATE deliveries SET status = 'claimed', last_error = $1, updated_at = $2 WHERE target_id = $3 AND local_date = $4 AND part = $5 AND status = 'sending'",
            slot,
            error,
            ts(now)
        )
    }

    pub async fn mark_sent(
        &self,
        slot: Slot<'_>,
        message_id: i32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        update_slot!(
            self,
            "UPDATE deliveries SET status = 'sent', message_id = $1, owner = NULL, lease_expires = NULL, sent_at = $2, updated_at = $3 WHERE target_id = $4 AND local_date = $5 AND part = $6",
            slot,
            i64::from(message_id),
            ts(now),
            ts(now)
        )
    }

    pub async fn mark_retry(
        &self,
        slot: Slot<'_>,
        not_before: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        update_slot!(
            self,
            "UPDATE deliveries SET status = 'retry', not_before = $1, last_error = $2, owner = NULL, lease_expires = NULL, updated_at = $3 WHERE target_id = $4 AND local_date = $5 AND part = $6",
            slot,
            ts(not_before),
            error,
            ts(now)
        )
    }

    /// As `mark_retry` (due now), only while the part is still `owner`'s claim:
    /// a process that lost the database meanwhile was thought dead, and must
    /// not hand back a part another has since claimed or sent (it would be sent
    /// twice).
    pub async fn release_mine(
        &self,
        slot: Slot<'_>,
        owner: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        update_slot!(
            self,
            "UPDATE deliveries SET status = 'retry', not_before = $1, last_error = $2, owner = NULL, lease_expires = NULL, updated_at = $3 WHERE owner = $4 AND status IN ('claimed', 'sending') AND target_id = $5 AND local_date = $6 AND part = $7",
            slot,
            ts(now),
            error,
            ts(now),
            owner
        )
    }

    pub async fn mark_failed(&self, slot: Slot<'_>, error: &str, now: DateTime<Utc>) -> Result<()> {
        update_slot!(
            self,
            "UPDATE deliveries SET status = 'failed', last_error = $1, owner = NULL, lease_expires = NULL, updated_at = $2 WHERE target_id = $3 AND local_date = $4 AND part = $5",
            slot,
            error,
            ts(now)
        )
    }

    /// Settles rows whose owner is gone (lease over, or no heartbeat within
    /// `replicas::ALIVE_WITHIN`; `me` is always alive): 'claimed' rows were never
    /// sent and are retried at once; 'sending' rows become 'unknown'. Returns
    /// every 'unknown' row not yet alerted about.
    pub async fn expire_stale(&self, now: DateTime<Utc>, me: &str) -> Result<Vec<Delivery>> {
        let owners: Vec<String> = on!(self, pool => sqlx::query_scalar("SELECT DISTINCT owner FROM deliveries WHERE status IN ('claimed', 'sending') AND owner IS NOT NULL")
            .fetch_all(pool)
            .await)?;
        // Read after the owners: a process that claimed meanwhile has its
        // heartbeat written already (one is written before any claim).
        let live = self.live_owners().await?;
        for owner in owners.iter().filter(|o| *o != me && !live.contains(o)) {
            self.release(now, Gone::Owner(owner)).await?;
        }
        self.release(now, Gone::LeaseOver).await?;
        Ok(
            on!(self, pool => sqlx::query_as::<_, Delivery>(concat!("SELECT ", delivery_columns!(), " FROM deliveries WHERE status = 'unknown' AND alerted = FALSE ORDER BY target_id, local_date, part"))
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Settles `me`'s own rows as a dead owner's, once its sends have stopped
    /// (a leader back from losing its database): 'claimed' ones are retried,
    /// 'sending' ones become 'unknown'.
    pub async fn release_own(&self, now: DateTime<Utc>, me: &str) -> Result<()> {
        self.release(now, Gone::Owner(me)).await
    }

    async fn release(&self, now: DateTime<Utc>, gone: Gone<'_>) -> Result<()> {
        const DIED: &str = "the sending process stopped mid-send";
        const LAPSED: &str = "the send lease ran out";
        match gone {
            Gone::Owner(owner) => {
                on!(self, pool => sqlx::query(
                    "UPDATE deliveries SET status = 'retry', not_before = $1, owner = NULL, lease_expires = NULL, updated_at = $2 WHERE status = 'claimed' AND owner = $3",
                )
                .bind(ts(now))
                .bind(ts(now))
                .bind(owner)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
                on!(self, pool => sqlx::query(
                    "UPDATE deliveries SET status = 'unknown', last_error = $1, updated_at = $2 WHERE status = 'sending' AND owner = $3",
                )
                .bind(DIED)
                .bind(ts(now))
                .bind(owner)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            }
            Gone::LeaseOver => {
                on_clock!(self, lapsed_claims, pool, sql => sqlx::query(sql)
                    .bind(ts(now))
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))?;
                on_clock!(self, lapsed_sends, pool, sql => sqlx::query(sql)
                    .bind(LAPSED)
                    .bind(ts(now))
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))?;
            }
        }
        Ok(())
    }

    pub async fn mark_alerted(&self, slot: Slot<'_>) -> Result<()> {
        update_slot!(
            self,
            "UPDATE deliveries SET alerted = TRUE WHERE target_id = $1 AND local_date = $2 AND part = $3",
            slot
        )
    }

    /// Whether any part of this delivery after `part` has a row (claimed or beyond).
    pub async fn later_part_claimed(&self, slot: Slot<'_>) -> Result<bool> {
        let row: Option<(i64,)> = on!(self, pool => sqlx::query_as(
            "SELECT part FROM deliveries WHERE target_id = $1 AND local_date = $2 AND part > $3 LIMIT 1",
        )
        .bind(slot.target)
        .bind(slot.key)
        .bind(i64::from(slot.part))
        .fetch_optional(pool)
        .await)?;
        Ok(row.is_some())
    }

    pub async fn deliveries(&self, key: &str) -> Result<Vec<Delivery>> {
        Ok(on!(self, pool => sqlx::query_as::<_, Delivery>(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE local_date = $1 ORDER BY target_id, part"
        ))
        .bind(key)
        .fetch_all(pool)
        .await)?)
    }

    /// The most recent delivery row of each target.
    pub async fn last_deliveries(&self) -> Result<Vec<Delivery>> {
        Ok(
            on!(self, pool => sqlx::query_as::<_, Delivery>(concat!("SELECT ", delivery_columns!(), " FROM deliveries d WHERE updated_at = (SELECT MAX(updated_at) FROM deliveries e WHERE e.target_id = d.target_id) ORDER BY target_id"))
        .fetch_all(pool)
        .await)?,
        )
    }
}
