//! The database (SQLite through sqlx): targets, the delivery log and the audit
//! log. Every answer to "has this been sent?" comes from here, never from memory.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, Row};

use crate::config::{ChatTarget, TargetConfig};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Timestamps are stored as RFC 3339 UTC with milliseconds, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Target {
    pub id: i64,
    pub chat_key: String,
    pub chat_id: Option<i64>,
    pub source: String,
    pub kind: Option<String>,
    pub topic_id: Option<i64>,
    pub post_time: Option<String>,
    pub removed: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
}

impl Target {
    /// Whether `name` (a chat key, a numeric chat id, or `#<row id>`) names this target.
    pub fn names(&self, name: &str) -> bool {
        self.chat_key == name
            || self.chat_id.map(|c| c.to_string()).as_deref() == Some(name)
            || name.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) == Some(self.id)
    }

    /// The name shown to admins: the @name or id it was configured with, and the current id.
    pub fn label(&self) -> String {
        match self.chat_id {
            Some(id) if id.to_string() != self.chat_key => format!("{} ({id})", self.chat_key),
            _ => self.chat_key.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Delivery {
    pub target_id: i64,
    pub local_date: String,
    pub part: i64,
    pub parts: i64,
    pub status: String,
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

/// Subscribing or unsubscribing a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    Added,
    AlreadyThere,
    Removed,
    NotSubscribed,
    /// The chat is a target of the config; only the operator can remove it.
    Configured,
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
}

/// Column lists as macros so every query stays a literal (`concat!`), as sqlx requires.
macro_rules! target_columns {
    () => {
        "id, chat_key, chat_id, source, kind, topic_id, post_time, removed, enabled, disabled_reason"
    };
}
macro_rules! delivery_columns {
    () => {
        "target_id, local_date, part, parts, status, message_id, attempts, last_error, owner, alerted, sent_at, updated_at"
    };
}

impl Db {
    /// Opens (creating if missing) the database in WAL mode and applies the migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(|source| StorageError::Open {
                path: path.display().to_string(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StorageError::Open {
                path: path.display().to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    // ---- targets -------------------------------------------------------------

    /// Makes the config's targets present (keeping their enabled state and any
    /// resolved id) and marks config targets no longer listed as removed.
    pub async fn sync_config_targets(
        &self,
        targets: &[TargetConfig],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE targets SET removed = 1, updated_at = ? WHERE source = 'config'")
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        for t in targets {
            let chat_id = match t.chat {
                ChatTarget::Id(id) => Some(id),
                ChatTarget::Username(_) => None,
            };
            sqlx::query(
                "INSERT INTO targets (chat_key, chat_id, source, topic_id, post_time, removed, enabled, created_at, updated_at)
                 VALUES (?, ?, 'config', ?, ?, 0, 1, ?, ?)
                 ON CONFLICT (chat_key) DO UPDATE SET
                    source = 'config', topic_id = excluded.topic_id, post_time = excluded.post_time,
                    removed = 0, updated_at = excluded.updated_at,
                    chat_id = COALESCE(targets.chat_id, excluded.chat_id)",
            )
            .bind(t.chat.key())
            .bind(chat_id)
            .bind(t.topic.map(i64::from))
            .bind(t.post_time.map(|p| p.0.format("%H:%M").to_string()))
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Targets that should get posts (not removed), enabled or not.
    pub async fn targets(&self) -> Result<Vec<Target>> {
        Ok(sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets WHERE removed = 0 ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn all_targets(&self) -> Result<Vec<Target>> {
        Ok(sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn target(&self, id: i64) -> Result<Option<Target>> {
        Ok(sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn target_by_chat(&self, chat_id: i64) -> Result<Option<Target>> {
        Ok(sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets WHERE chat_id = ? ORDER BY removed, id LIMIT 1"
        ))
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records the numeric id an @username resolved to, or a group's new supergroup id.
    pub async fn set_chat_id(
        &self,
        target_id: i64,
        chat_id: i64,
        kind: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE targets SET chat_id = ?, kind = COALESCE(?, kind), updated_at = ? WHERE id = ?",
        )
        .bind(chat_id)
        .bind(kind)
        .bind(ts(now))
        .bind(target_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn disable_target(
        &self,
        target_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("UPDATE targets SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ? WHERE id = ?")
            .bind(reason)
            .bind(ts(now))
            .bind(ts(now))
            .bind(target_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Enables the target again; returns whether it was disabled.
    pub async fn enable_target(&self, target_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let r = sqlx::query("UPDATE targets SET enabled = 1, disabled_reason = NULL, disabled_at = NULL, updated_at = ? WHERE id = ? AND enabled = 0")
            .bind(ts(now))
            .bind(target_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn subscribe(
        &self,
        chat_id: i64,
        kind: &str,
        topic: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<Subscription> {
        if let Some(t) = self.target_by_chat(chat_id).await? {
            if !t.removed {
                // Re-enable a chat that subscribes again after the bot was blocked.
                self.enable_target(t.id, now).await?;
                return Ok(Subscription::AlreadyThere);
            }
            sqlx::query("UPDATE targets SET removed = 0, enabled = 1, disabled_reason = NULL, source = 'subscription', kind = ?, topic_id = ?, updated_at = ? WHERE id = ?")
                .bind(kind)
                .bind(topic.map(i64::from))
                .bind(ts(now))
                .bind(t.id)
                .execute(&self.pool)
                .await?;
            return Ok(Subscription::Added);
        }
        sqlx::query(
            "INSERT INTO targets (chat_key, chat_id, source, kind, topic_id, removed, enabled, created_at, updated_at)
             VALUES (?, ?, 'subscription', ?, ?, 0, 1, ?, ?)
             ON CONFLICT (chat_key) DO UPDATE SET removed = 0, enabled = 1, chat_id = excluded.chat_id, updated_at = excluded.updated_at",
        )
        .bind(chat_id.to_string())
        .bind(chat_id)
        .bind(kind)
        .bind(topic.map(i64::from))
        .bind(ts(now))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(Subscription::Added)
    }

    pub async fn unsubscribe(&self, chat_id: i64, now: DateTime<Utc>) -> Result<Subscription> {
        match self.target_by_chat(chat_id).await? {
            Some(t) if t.removed => Ok(Subscription::NotSubscribed),
            Some(t) if t.source == "config" => Ok(Subscription::Configured),
            Some(t) => {
                sqlx::query("UPDATE targets SET removed = 1, updated_at = ? WHERE id = ?")
                    .bind(ts(now))
                    .bind(t.id)
                    .execute(&self.pool)
                    .await?;
                Ok(Subscription::Removed)
            }
            None => Ok(Subscription::NotSubscribed),
        }
    }

    // ---- deliveries ----------------------------------------------------------

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
        let status: String = row.get("status");
        Ok(match status.as_str() {
            "sent" => Claim::AlreadySent,
            "claimed" | "sending" => Claim::InFlight,
            "retry" => Claim::RetryLater(
                row.get::<Option<String>, _>("not_before")
                    .as_deref()
                    .and_then(parse_ts)
                    .unwrap_or(now),
            ),
            "failed" => Claim::Failed(
                row.get::<Option<String>, _>("last_error")
                    .unwrap_or_default(),
            ),
            _ => Claim::Unknown,
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

    // ---- confirmations -------------------------------------------------------

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

    // ---- audit ---------------------------------------------------------------

    pub async fn audit(
        &self,
        user_id: Option<u64>,
        action: &str,
        detail: &str,
        result: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, user_id, action, detail, result) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(ts(now))
        .bind(user_id.map(|u| u as i64))
        .bind(action)
        .bind(detail)
        .bind(result)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn recent_audit(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, Option<i64>, String, String, String)>> {
        let rows = sqlx::query("SELECT at, user_id, action, COALESCE(detail, '') AS detail, result FROM audit ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.get("at"),
                    r.get("user_id"),
                    r.get("action"),
                    r.get("detail"),
                    r.get("result"),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    async fn db() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Db::open(&dir.path().join("t.db")).await.unwrap(), dir)
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, 4, 7, 0, 0).unwrap()
    }

    fn k(target: i64) -> Slot<'static> {
        Slot {
            target,
            key: "k",
            part: 1,
        }
    }

    fn cfg(chat: &str) -> TargetConfig {
        TargetConfig {
            chat: chat.parse().unwrap(),
            post_time: None,
            topic: None,
        }
    }

    #[tokio::test]
    async fn a_part_is_claimed_once() {
        let (db, _d) = db().await;
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let slot = Slot {
            target: id,
            key: "2027-06-04",
            part: 1,
        };
        let lease = t0() + chrono::Duration::minutes(5);
        assert_eq!(
            db.claim(slot, 1, "a", lease, t0()).await.unwrap(),
            Claim::Acquired
        );
        assert_eq!(
            db.claim(slot, 1, "b", lease, t0()).await.unwrap(),
            Claim::InFlight
        );
        db.mark_sent(slot, 42, t0()).await.unwrap();
        assert_eq!(
            db.claim(slot, 1, "b", lease, t0()).await.unwrap(),
            Claim::AlreadySent
        );
    }

    #[tokio::test]
    async fn a_retry_row_is_reclaimed_only_after_its_time() {
        let (db, _d) = db().await;
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let lease = t0() + chrono::Duration::minutes(5);
        db.claim(k(id), 1, "a", lease, t0()).await.unwrap();
        let later = t0() + chrono::Duration::hours(1);
        db.mark_retry(k(id), later, "429", t0()).await.unwrap();
        assert_eq!(
            db.claim(k(id), 1, "b", lease, t0()).await.unwrap(),
            Claim::RetryLater(later)
        );
        assert_eq!(
            db.claim(k(id), 1, "b", lease, later).await.unwrap(),
            Claim::Acquired
        );
    }

    #[tokio::test]
    async fn a_dead_owners_unsent_claim_is_retried_at_once() {
        let (db, _d) = db().await;
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.claim(k(id), 1, "dead", t0() + chrono::Duration::minutes(5), t0())
            .await
            .unwrap();
        assert!(
            db.expire_stale(t0(), &|o| o == "dead")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            db.claim(k(id), 1, "b", t0(), t0()).await.unwrap(),
            Claim::Acquired
        );
    }

    #[tokio::test]
    async fn a_dead_owner_mid_request_leaves_an_unknown_row() {
        let (db, _d) = db().await;
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.claim(k(id), 1, "dead", t0() + chrono::Duration::minutes(5), t0())
            .await
            .unwrap();
        db.begin_attempt(k(id), t0() + chrono::Duration::minutes(5), t0())
            .await
            .unwrap();
        let stale = db.expire_stale(t0(), &|o| o == "dead").await.unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(
            db.claim(k(id), 1, "b", t0(), t0()).await.unwrap(),
            Claim::Unknown
        );
        db.mark_alerted(k(id)).await.unwrap();
        assert!(db.expire_stale(t0(), &|_| false).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn config_sync_keeps_state_and_marks_removed() {
        let (db, _d) = db().await;
        db.sync_config_targets(&[cfg("-1001"), cfg("@dhikra_test")], t0())
            .await
            .unwrap();
        let ts = db.targets().await.unwrap();
        db.disable_target(ts[0].id, "Forbidden: bot was kicked", t0())
            .await
            .unwrap();
        db.set_chat_id(ts[1].id, -1002, Some("channel"), t0())
            .await
            .unwrap();
        db.sync_config_targets(&[cfg("-1001"), cfg("@dhikra_test")], t0())
            .await
            .unwrap();
        let ts = db.targets().await.unwrap();
        assert!(!ts[0].enabled);
        assert_eq!(ts[1].chat_id, Some(-1002));
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        assert_eq!(db.targets().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn subscriptions_come_and_go_but_config_targets_stay() {
        let (db, _d) = db().await;
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        assert_eq!(
            db.subscribe(555, "private", None, t0()).await.unwrap(),
            Subscription::Added
        );
        assert_eq!(
            db.subscribe(555, "private", None, t0()).await.unwrap(),
            Subscription::AlreadyThere
        );
        assert_eq!(
            db.unsubscribe(555, t0()).await.unwrap(),
            Subscription::Removed
        );
        assert_eq!(
            db.unsubscribe(555, t0()).await.unwrap(),
            Subscription::NotSubscribed
        );
        assert_eq!(
            db.unsubscribe(-1001, t0()).await.unwrap(),
            Subscription::Configured
        );
        assert_eq!(
            db.subscribe(555, "private", None, t0()).await.unwrap(),
            Subscription::Added
        );
    }
}
