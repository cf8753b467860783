//! Who sends: exactly one process per database leads — polls updates, runs the
//! tick and sends — so two `dhikra run` never poll beside each other (Telegram
//! answers 409) nor pace themselves apart (its 30 msg/s is per bot). Any other
//! `dhikra run` stands by and takes over when the leader stops or dies.
//!
//! On SQLite the lead is an OS file lock (`flock`) on `<database>.lock`: the
//! kernel releases it when its process ends, `kill -9` included, so a standby
//! takes over within one `RETRY`. The file also says who holds it (`run` or
//! `post` and the pid), so `dhikra post` can hand its work to a running leader.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::config::{Database, PostgresUrl};
use crate::shutdown::Shutdown;

/// How often a standby tries to take the lead.
pub const RETRY: Duration = Duration::from_secs(2);

/// How often a PostgreSQL leader checks the connection that holds its lock.
pub const CHECK: Duration = Duration::from_secs(5);

/// The kind of process holding the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Run,
    Post,
}

impl Holder {
    fn as_str(self) -> &'static str {
        match self {
            Holder::Run => "run",
            Holder::Post => "post",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "run" => Some(Holder::Run),
            "post" => Some(Holder::Post),
            _ => None,
        }
    }
}

/// The lead, held until dropped or until the process ends.
#[derive(Debug)]
pub struct Lead {
    hold: Hold,
    /// Another process held it first: Telegram may still count its last second.
    pub took_over: bool,
}

#[derive(Debug)]
enum Hold {
    /// SQLite: an OS lock on `<database>.lock`, held while the file is open.
    File(#[allow(dead_code, reason = "kept open for its lock, never read")] File),
    /// PostgreSQL: a session advisory lock, alive as long as this connection.
    Postgres(PgConnection),
}

impl Lead {
    /// Resolves when the lead is lost: a PostgreSQL leader whose connection
    /// died no longer holds its lock, and a standby may already lead. A file
    /// lock is never lost while the process lives.
    pub async fn lost(&mut self) {
        let Hold::Postgres(conn) = &mut self.hold else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(CHECK).await;
            let check = tokio::time::timeout(CHECK, conn.ping()).await;
            if !matches!(check, Ok(Ok(()))) {
                return;
            }
        }
    }
}

/// `dhikra.db` → `dhikra.db.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

fn open(database: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(lock_path(database))
}

/// Takes the lead if no process holds it.
pub async fn try_lead(database: &Database, holder: Holder) -> io::Result<Option<Lead>> {
    match database {
        Database::Sqlite(path) => try_lead_file(path, holder),
        Database::Postgres(url) => try_lead_postgres(url, holder).await,
    }
}

fn try_lead_file(database: &Path, holder: Holder) -> io::Result<Option<Lead>> {
    let mut file = open(database)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{} {}", holder.as_str(), std::process::id())?;
            Ok(Some(Lead {
                hold: Hold::File(file),
                took_over: false,
            }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// The advisory lock's key: one per schema, so databases (and the tests' schemas)
/// sharing a server each have their own leader.
const LOCK: &str = "SELECT pg_try_advisory_lock(hashtext('dhikra:' || current_schema()))";

/// On a dedicated connection, never a pooled one: the lock lives and dies with
/// it (and so not through a transaction-pooling PgBouncer, which would hand the
/// session to another client).
async fn try_lead_postgres(url: &PostgresUrl, holder: Holder) -> io::Result<Option<Lead>> {
    let mut conn = connect(url).await?;
    let got: bool = sqlx::query_scalar(LOCK)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| db_error(url, e))?;
    if !got {
        let _ = conn.close().await;
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO leader (id, holder, pid, host) VALUES (1, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host",
    )
    .bind(holder.as_str())
    .bind(i64::from(std::process::id()))
    .bind(crate::publishing::owner_id())
    .execute(&mut conn)
    .await
    .map_err(|e| db_error(url, e))?;
    Ok(Some(Lead {
        hold: Hold::Postgres(conn),
        took_over: false,
    }))
}

async fn connect(url: &PostgresUrl) -> io::Result<PgConnection> {
    PgConnection::connect(url.expose())
        .await
        .map_err(|e| db_error(url, e))
}

/// The URL as it prints: host and database, never the password.
fn db_error(url: &PostgresUrl, e: sqlx::Error) -> io::Error {
    io::Error::other(format!("database {url}: {e}"))
}

/// Who holds the lead, as the holder wrote it; `None` when no one does.
pub async fn holder(database: &Database) -> io::Result<Option<(Holder, u32)>> {
    match database {
        Database::Sqlite(path) => holder_file(path),
        Database::Postgres(url) => holder_postgres(url).await,
    }
}

fn holder_file(database: &Path) -> io::Result<Option<(Holder, u32)>> {
    let mut file = open(database)?;
    if file.try_lock().is_ok() {
        return Ok(None); // Free (the lock goes with `file`).
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut words = text.split_whitespace();
    let Some(holder) = words.next().and_then(Holder::parse) else {
        return Ok(None);
    };
    Ok(words
        .next()
        .and_then(|p| p.parse().ok())
        .map(|pid| (holder, pid)))
}

async fn holder_postgres(url: &PostgresUrl) -> io::Result<Option<(Holder, u32)>> {
    let mut conn = connect(url).await?;
    let free: bool = sqlx::query_scalar(LOCK)
        .fetch_one(&mut conn)
        .await
        .map_err(|e| db_error(url, e))?;
    if free {
        let _ = conn.close().await; // Closing releases the lock just taken.
        return Ok(None);
    }
    let row: Option<(String, i64)> = sqlx::query_as("SELECT holder, pid FROM leader WHERE id = 1")
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| db_error(url, e))?;
    let _ = conn.close().await;
    Ok(row.and_then(|(holder, pid)| Some((Holder::parse(&holder)?, u32::try_from(pid).ok()?))))
}

/// Waits for the lead, trying every `RETRY`; `None` when `shutdown` fires first.
/// `on_standby` is called once, when the first try finds the lead taken.
pub async fn wait_for_lead(
    database: &Database,
    holder: Holder,
    shutdown: &Shutdown,
    on_standby: impl FnOnce(),
) -> io::Result<Option<Lead>> {
    let mut on_standby = Some(on_standby);
    loop {
        if let Some(lead) = try_lead(database, holder).await? {
            let took_over = on_standby.is_none();
            return Ok(Some(Lead { took_over, ..lead }));
        }
        if let Some(f) = on_standby.take() {
            f();
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = shutdown.wait() => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One lead per database, whichever the engine, and it says who holds it.
    async fn one_lead(db: &Database) {
        let lead = try_lead(db, Holder::Run)
            .await
            .unwrap()
            .expect("free at first");
        assert!(try_lead(db, Holder::Run).await.unwrap().is_none(), "held");
        assert_eq!(
            holder(db).await.unwrap(),
            Some((Holder::Run, std::process::id()))
        );
        drop(lead);
        assert_eq!(holder(db).await.unwrap(), None);
        assert!(
            try_lead(db, Holder::Post).await.unwrap().is_some(),
            "free again"
        );
    }

    #[tokio::test]
    async fn one_lead_per_sqlite_database() {
        let dir = tempfile::tempdir().unwrap();
        one_lead(&Database::Sqlite(dir.path().join("d.db"))).await;
    }

    #[tokio::test]
    #[cfg_attr(not(postgres_tests), ignore = "DHIKRA_TEST_POSTGRES_URL is not set")]
    async fn one_lead_per_postgres_schema() {
        let scratch = crate::db::testing::Scratch::new().await;
        crate::db::Db::open_postgres(&scratch.url).await.unwrap(); // the schema
        one_lead(&Database::Postgres(scratch.url.clone())).await;
        // The lock dies with the leader's connection: a standby takes over.
        let lead = try_lead(&Database::Postgres(scratch.url.clone()), Holder::Run)
            .await
            .unwrap()
            .expect("free");
        drop(lead);
        assert!(
            try_lead(&Database::Postgres(scratch.url.clone()), Holder::Run)
                .await
                .unwrap()
                .is_some()
        );
    }
}
