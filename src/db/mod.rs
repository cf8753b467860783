//! The database (SQLite through sqlx): targets, the delivery log, admin
//! confirmations and the audit log. Every answer to "has this been sent?" comes
//! from here, never from memory. One file per table; this one opens the database.

mod audit;
mod confirmations;
mod deliveries;
mod requests;
mod targets;

pub use audit::{AuditEntry, AuditOutcome};
pub use confirmations::{Confirmation, Confirmed};
pub use deliveries::{Claim, Delivery, DeliveryStatus, Slot};
pub use requests::PostRequest;
pub use targets::{Subscription, Target};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

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

pub(crate) fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetConfig;
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
            theatres: vec![],
            options: Default::default(),
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
