//! The database: targets, the delivery log, admin confirmations and the audit
//! log. Every answer to "has this been sent?" comes from here, never from
//! memory. One file per table; this one opens the database.
//!
//! Two engines behind one API: SQLite (a file, the default, no set-up) and
//! PostgreSQL (a server, for replicas on several machines). Every query is
//! written once with `$1` placeholders, which sqlx's SQLite driver reads as
//! PostgreSQL does, and run on either pool by [`on!`]: each arm is compiled
//! and type-checked for its own engine, so no query is left untried on one.

/// Runs `$body` with `$pool` bound to the pool of the engine in use.
macro_rules! on {
    ($db:expr, $pool:ident => $body:expr) => {
        match &$db.pool {
            $crate::db::Pool::Sqlite($pool) => $body,
            $crate::db::Pool::Postgres($pool) => $body,
        }
    };
}

/// The database's time as Unix seconds, per engine: heartbeats and leases are
/// stamped with it, never with a process's clock, so replicas whose clocks
/// differ agree on who is alive and whose lease ran out.
macro_rules! pg_now {
    () => {
        "extract(epoch from now())::float8"
    };
}
macro_rules! sqlite_now {
    () => {
        "((julianday('now') - 2440587.5) * 86400.0)"
    };
}

/// As [`on!`], for a query that reads the database's clock: `$sql` is bound to
/// `$template!(now)` with the engine's own expression for the time.
macro_rules! on_clock {
    ($db:expr, $template:ident, $pool:ident, $sql:ident => $body:expr) => {
        match &$db.pool {
            $crate::db::Pool::Sqlite($pool) => {
                let $sql = $template!(sqlite_now!());
                $body
            }
            $crate::db::Pool::Postgres($pool) => {
                let $sql = $template!(pg_now!());
                $body
            }
        }
    };
}

mod audit;
mod confirmations;
mod deliveries;
mod replicas;
mod requests;
mod targets;
pub mod testing;

pub use audit::{AuditEntry, AuditOutcome};
pub use confirmations::{Confirmation, Confirmed};
pub use deliveries::{Claim, Delivery, DeliveryStatus, Slot};
pub use replicas::{ALIVE_WITHIN, Reloads, Replica, ReplicaRole};
pub use requests::{Done, PostRequest};
pub use targets::{Subscription, Target};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::{Database, PostgresUrl};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `what` names the file, or the server's host and database — never a password.
    #[error("database {what}: {source}")]
    Open { what: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// Another process owns the part now: its owner was thought dead.
    #[error("part {part} of {key} for target {target} is no longer this process's claim")]
    ClaimLost { target: i64, key: String, part: u32 },
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
    pool: Pool,
}

/// The pool of the engine in use (see [`on!`]).
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Opens the database named in the config and applies its migrations.
    pub async fn open(database: &Database) -> Result<Self> {
        match database {
            Database::Sqlite(path) => Self::open_sqlite(path).await,
            Database::Postgres(url) => Self::open_postgres(url).await,
        }
    }

    /// Opens (creating if missing) an SQLite file in WAL mode.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let what = path.display().to_string();
        let open_err = |source| StorageError::Open {
            what: what.clone(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_err)?
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
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    /// Connects to a PostgreSQL server (a URL may name a schema with
    /// `options[search_path]=…`: each test has its own).
    pub async fn open_postgres(url: &PostgresUrl) -> Result<Self> {
        let open_err = |source| StorageError::Open {
            what: url.to_string(),
            source,
        };
        let options = PgConnectOptions::from_str(url.expose()).map_err(open_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(open_err)?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// Which engine this is: `sqlite` or `postgres` (for `/status` and logs).
    pub fn engine(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TargetConfig;
    use chrono::TimeZone;

    /// The storage suite, once per engine: `$name::sqlite` always,
    /// `$name::postgres` against `DHIKRA_TEST_POSTGRES_URL` (listed as ignored,
    /// with the reason, when it is not set; failing when it is set and the
    /// server cannot be reached).
    macro_rules! on_both {
        ($($(#[doc = $doc:literal])* async fn $name:ident($db:ident: Db) $body:block)*) => {$(
            $(#[doc = $doc])*
            mod $name {
                use super::*;

                async fn body($db: Db) $body

                #[tokio::test]
                async fn sqlite() {
                    let dir = tempfile::tempdir().unwrap();
                    body(Db::open_sqlite(&dir.path().join("t.db")).await.unwrap()).await;
                }

                #[tokio::test]
                #[cfg_attr(
                    not(postgres_tests),
                    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
                )]
                async fn postgres() {
                    let scratch = crate::db::testing::Scratch::new().await;
                    body(Db::open_postgres(&scratch.url).await.unwrap()).await;
                }
            }
        )*};
    }

    /// The lease the tests claim with; the process's clock (`t0`) is years
    /// from the database's, which the leases follow.
    const FIVE_MINUTES: Duration = Duration::from_secs(300);

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

    fn part(target: i64, part: u32) -> Slot<'static> {
        Slot {
            target,
            key: "k",
            part,
        }
    }

    /// `owner` claims parts 1 and 2, and has part 2 on the wire.
    async fn claim_both_parts(db: &Db, target: i64, owner: &str) {
        let lease = FIVE_MINUTES;
        for p in [1, 2] {
            assert_eq!(
                db.claim(part(target, p), 2, owner, lease, t0())
                    .await
                    .unwrap(),
                Claim::Acquired
            );
        }
        db.begin_attempt(part(target, 2), owner, lease, t0())
            .await
            .unwrap();
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

    on_both! {
    async fn a_part_is_claimed_once(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let slot = Slot {
            target: id,
            key: "2027-06-04",
            part: 1,
        };
        let lease = FIVE_MINUTES;
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

    async fn a_retry_row_is_reclaimed_only_after_its_time(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let lease = FIVE_MINUTES;
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

    async fn a_dead_owners_unsent_claim_is_retried_at_once(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.claim(k(id), 1, "dead", FIVE_MINUTES, t0())
            .await
            .unwrap();
        // "dead" never wrote a heartbeat.
        assert!(db.expire_stale(t0(), "me").await.unwrap().is_empty());
        assert_eq!(
            db.claim(k(id), 1, "b", FIVE_MINUTES, t0()).await.unwrap(),
            Claim::Acquired
        );
    }

    async fn a_dead_owner_mid_request_leaves_an_unknown_row(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.claim(k(id), 1, "dead", FIVE_MINUTES, t0())
            .await
            .unwrap();
        db.begin_attempt(k(id), "dead", FIVE_MINUTES, t0())
            .await
            .unwrap();
        let stale = db.expire_stale(t0(), "me").await.unwrap();
        assert_eq!(stale.len(), 1);
        assert_eq!(
            db.claim(k(id), 1, "b", FIVE_MINUTES, t0()).await.unwrap(),
            Claim::Unknown
        );
        db.mark_alerted(k(id)).await.unwrap();
        assert!(db.expire_stale(t0(), "me").await.unwrap().is_empty());
    }

    /// Guards issue 13's "leases use the database clock": a lease is measured
    /// by the database, so a process whose clock is a day ahead does not take
    /// a live lease, and one run out by the database's clock is settled.
    async fn issue_13_leases_run_on_the_database_clock(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.heartbeat("a", "host-a", ReplicaRole::Leader, "v1").await.unwrap();
        // "a"'s clock is a day behind, the process settling leases a day ahead:
        // by either clock the lease would be over.
        let a_day_behind = Utc::now() - chrono::Duration::days(1);
        db.claim(part(id, 1), 2, "a", FIVE_MINUTES, a_day_behind).await.unwrap();
        db.claim(part(id, 2), 2, "a", FIVE_MINUTES, a_day_behind).await.unwrap();
        db.begin_attempt(part(id, 2), "a", FIVE_MINUTES, a_day_behind).await.unwrap();
        let a_day_ahead = Utc::now() + chrono::Duration::days(1);
        assert!(db.expire_stale(a_day_ahead, "me").await.unwrap().is_empty());
        assert_eq!(db.claim(part(id, 1), 2, "b", FIVE_MINUTES, a_day_ahead).await.unwrap(), Claim::InFlight);
        // Five minutes and a second later, by the database's clock.
        on!(db, pool => sqlx::query("UPDATE deliveries SET lease_expires = lease_expires - 301")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        let unknown = db.expire_stale(Utc::now(), "me").await.unwrap();
        assert_eq!(unknown.iter().map(|d| d.part).collect::<Vec<_>>(), [2], "the part on the wire");
        assert_eq!(db.claim(part(id, 1), 2, "b", FIVE_MINUTES, Utc::now()).await.unwrap(), Claim::Acquired);
        assert_eq!(db.claim(part(id, 2), 2, "b", FIVE_MINUTES, Utc::now()).await.unwrap(), Claim::Unknown);
    }

    async fn a_fresh_heartbeat_keeps_its_owner_alive(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.heartbeat("a", "host-a", ReplicaRole::Leader, "v1").await.unwrap();
        claim_both_parts(&db, id, "a").await;
        assert!(db.expire_stale(t0(), "me").await.unwrap().is_empty());
        assert_eq!(db.claim(part(id, 1), 2, "b", FIVE_MINUTES, t0()).await.unwrap(), Claim::InFlight);
        assert_eq!(db.claim(part(id, 2), 2, "b", FIVE_MINUTES, t0()).await.unwrap(), Claim::InFlight);
    }

    async fn a_lapsed_heartbeat_makes_its_owner_dead(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        db.heartbeat("a", "host-a", ReplicaRole::Leader, "v1").await.unwrap();
        claim_both_parts(&db, id, "a").await;
        // Renewed last one window and a second ago, by the database's clock.
        let lapse = ALIVE_WITHIN.as_secs_f64() + 1.0;
        on!(db, pool => sqlx::query("UPDATE replicas SET seen_at = seen_at - $1 WHERE owner = 'a'")
            .bind(lapse)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        let unknown = db.expire_stale(t0(), "me").await.unwrap();
        assert_eq!(unknown.iter().map(|d| d.part).collect::<Vec<_>>(), [2], "the part on the wire");
        assert_eq!(db.claim(part(id, 1), 2, "b", FIVE_MINUTES, t0()).await.unwrap(), Claim::Acquired);
        assert_eq!(db.claim(part(id, 2), 2, "b", FIVE_MINUTES, t0()).await.unwrap(), Claim::Unknown);
    }

    /// The regression issue 13 names: two containers of one image share a host
    /// name, and each runs as pid 1. Owners were `host:pid:nonce`, and one with
    /// this host and pid but another nonce counted as a restarted (dead) self:
    /// each replica took the other's claims while both lived.
    async fn issue_13_containers_sharing_a_hostname_and_pid_stay_alive(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let (me, other) = ("web-7f9c:1:00000000000000aa", "web-7f9c:1:00000000000000bb");
        db.heartbeat(me, "web-7f9c", ReplicaRole::Standby, "v1").await.unwrap();
        db.heartbeat(other, "web-7f9c", ReplicaRole::Leader, "v1").await.unwrap();
        claim_both_parts(&db, id, other).await;
        assert!(db.expire_stale(t0(), me).await.unwrap().is_empty());
        assert_eq!(db.claim(part(id, 1), 2, me, FIVE_MINUTES, t0()).await.unwrap(), Claim::InFlight);
        assert_eq!(db.claim(part(id, 2), 2, me, FIVE_MINUTES, t0()).await.unwrap(), Claim::InFlight);
        let seen = db.replicas_seen(ALIVE_WITHIN).await.unwrap();
        assert_eq!(seen.iter().map(|r| r.owner.as_str()).collect::<Vec<_>>(), [me, other]);
    }

    /// A process whose heartbeat was never written (or lapsed while it lived)
    /// is counted dead and its unsent claim retried by another: it then cannot
    /// start sending that part, so the part goes once. A process never counts
    /// itself dead.
    async fn a_claim_taken_from_an_owner_thought_dead_is_not_sent_by_it(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let lease = FIVE_MINUTES;
        db.claim(part(id, 1), 2, "ghost", lease, t0()).await.unwrap();
        db.claim(part(id, 2), 2, "me", lease, t0()).await.unwrap();
        assert!(db.expire_stale(t0(), "me").await.unwrap().is_empty());
        assert_eq!(db.claim(part(id, 2), 2, "b", FIVE_MINUTES, t0()).await.unwrap(), Claim::InFlight);
        assert_eq!(db.claim(part(id, 1), 2, "b", lease, t0()).await.unwrap(), Claim::Acquired);
        assert!(matches!(
            db.begin_attempt(part(id, 1), "ghost", lease, t0()).await,
            Err(StorageError::ClaimLost { part: 1, .. })
        ));
        db.begin_attempt(part(id, 1), "b", lease, t0()).await.unwrap();
        db.begin_attempt(part(id, 2), "me", lease, t0()).await.unwrap();
    }

    /// Guards the return of a leader that lost its database: what it kept as
    /// "never sent" is handed back only while still its own; once another
    /// process has claimed or sent the part, handing it back would send it twice.
    async fn only_its_own_claim_is_handed_back(db: Db) {
        db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
        let id = db.targets().await.unwrap()[0].id;
        let lease = FIVE_MINUTES;
        db.claim(part(id, 1), 2, "away", lease, t0()).await.unwrap();
        db.claim(part(id, 2), 2, "away", lease, t0()).await.unwrap();
        // Part 1 was taken over (the owner thought dead) and sent by "b".
        on!(db, pool => sqlx::query("UPDATE deliveries SET owner = 'b', status = 'sent' WHERE part = 1")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        db.release_mine(part(id, 1), "away", "never sent", t0()).await.unwrap();
        db.release_mine(part(id, 2), "away", "never sent", t0()).await.unwrap();
        assert_eq!(db.claim(part(id, 1), 2, "c", lease, t0()).await.unwrap(), Claim::AlreadySent);
        assert_eq!(db.claim(part(id, 2), 2, "c", lease, t0()).await.unwrap(), Claim::Acquired);
    }

    async fn heartbeats_are_listed_renewed_and_removed(db: Db) {
        db.heartbeat("a", "host-a", ReplicaRole::Standby, "v1").await.unwrap();
        db.heartbeat("b", "host-b", ReplicaRole::Standby, "v1").await.unwrap();
        db.heartbeat("a", "host-a", ReplicaRole::Leader, "v2").await.unwrap();
        db.remove_replica("b").await.unwrap();
        // Seen 61 s ago by the database's clock: not within the last minute.
        db.heartbeat("c", "host-c", ReplicaRole::Standby, "v1").await.unwrap();
        on!(db, pool => sqlx::query("UPDATE replicas SET seen_at = seen_at - 61 WHERE owner = 'c'")
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .unwrap();
        let seen = db.replicas_seen(std::time::Duration::from_secs(60)).await.unwrap();
        assert_eq!(seen.len(), 1);
        let a = &seen[0];
        assert_eq!((a.owner.as_str(), a.label.as_str(), a.role, a.data_version.as_str()),
            ("a", "host-a", ReplicaRole::Leader, "v2"));
        assert!((0.0..5.0).contains(&a.age), "seen {}s ago", a.age);
    }

    async fn config_sync_keeps_state_and_marks_removed(db: Db) {
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

    async fn subscriptions_come_and_go_but_config_targets_stay(db: Db) {
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

        async fn confirmations_are_used_once(db: Db) {
            let c = Confirmation {
                id: "00ff00ff00ff00ff".into(),
                admin_id: 7,
                date: "2027-06-04".into(),
                event_id: Some("rome-liberation".into()),
                target: None,
                expires_at: t0() + chrono::Duration::minutes(10),
            };
            db.create_confirmation(&c, t0()).await.unwrap();
            assert_eq!(db.use_confirmation(&c.id, t0()).await.unwrap(), Confirmed::Go(c.clone()));
            assert_eq!(db.use_confirmation(&c.id, t0()).await.unwrap(), Confirmed::AlreadyUsed);
            assert_eq!(db.use_confirmation("missing", t0()).await.unwrap(), Confirmed::Missing);
            let late = Confirmation { id: "late".into(), ..c.clone() };
            db.create_confirmation(&late, t0()).await.unwrap();
            let after = t0() + chrono::Duration::hours(1);
            assert_eq!(db.use_confirmation("late", after).await.unwrap(), Confirmed::Expired);
            let gone = Confirmation { id: "gone".into(), ..c };
            db.create_confirmation(&gone, t0()).await.unwrap();
            assert!(db.cancel_confirmation("gone").await.unwrap());
            assert_eq!(db.use_confirmation("gone", t0()).await.unwrap(), Confirmed::Cancelled);
            db.set_confirmation_result("gone", "cancelled by admin").await.unwrap();
        }

        async fn the_audit_log_reads_back_newest_first(db: Db) {
            db.audit(Some(7), "repost", "06-04", &AuditOutcome::Ok, t0()).await.unwrap();
            db.audit(None, "button", "x", &AuditOutcome::Refused, t0()).await.unwrap();
            let log = db.recent_audit(10).await.unwrap();
            assert_eq!(log.len(), 2);
            assert_eq!((log[0].user_id, log[0].outcome.clone()), (None, AuditOutcome::Refused));
            assert_eq!((log[1].user_id, log[1].action.as_str()), (Some(7), "repost"));
        }

        async fn post_requests_are_taken_once_and_finished(db: Db) {
            let id = db.request_post("2027-06-04", Some("@ch"), true, t0()).await.unwrap();
            let taken = db.take_post_request(t0()).await.unwrap().expect("one waiting");
            assert_eq!((taken.id, taken.force, taken.target.as_deref()), (id, true, Some("@ch")));
            assert!(db.take_post_request(t0()).await.unwrap().is_none());
            db.finish_post_request(id, "sent 1", Done { sent: 1, failed: 0 }, t0()).await.unwrap();
            let done = db.post_request(id).await.unwrap().unwrap();
            assert_eq!((done.summary.as_deref(), done.failed, done.sent), (Some("sent 1"), Some(0), Some(1)));
        }

        async fn target_options_are_kept_and_set(db: Db) {
            let mut quiet = cfg("-1001");
            quiet.options.silent = true;
            quiet.options.image = false;
            db.sync_config_targets(&[quiet], t0()).await.unwrap();
            let t = db.targets().await.unwrap().remove(0);
            assert!(t.silent && !t.image && !t.pin);
            db.set_option(t.id, crate::config::TargetOption::Pin, true, t0()).await.unwrap();
            assert!(db.target(t.id).await.unwrap().unwrap().pin);
        }

        async fn a_later_part_is_seen_before_the_card(db: Db) {
            db.sync_config_targets(&[cfg("-1001")], t0()).await.unwrap();
            let id = db.targets().await.unwrap()[0].id;
            let card = Slot { target: id, key: "k", part: 0 };
            assert!(!db.later_part_claimed(card).await.unwrap());
            db.claim(k(id), 1, "a", FIVE_MINUTES, t0()).await.unwrap();
            assert!(db.later_part_claimed(card).await.unwrap());
        }
    }
}
