//! The `replicas` table: the heartbeat of every process that may claim
//! deliveries. A claim's owner is alive while its row was renewed within
//! [`ALIVE_WITHIN`] by the database's clock; `/status` lists the rows. And the
//! word replicas pass each other on PostgreSQL: a `/reload` on one reloads all.
//!
//! The two engines tell the time differently, so the queries that read it are
//! written with [`on_clock!`] (`now()` on PostgreSQL, `julianday('now')` on
//! SQLite), both in Unix seconds so the rest of the code reads one number.

use std::time::Duration;

use sqlx::FromRow;
use sqlx::postgres::PgListener;

use crate::db::{Db, Pool, Result};

/// How long a heartbeat keeps its owner alive. Renewed every few seconds, so a
/// live process misses several renewals before others count it dead; short
/// enough that a standby taking over from a killed leader waits only this long
/// before it retries the leader's unsent claims.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(10);

/// What a process does among those sharing the database (the `role` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(rename_all = "lowercase", type_name = "text")]
pub enum ReplicaRole {
    /// Holds the lead: the only process that claims and sends.
    Leader,
    /// Waits to take over (or a `dhikra post` waiting for the lead).
    Standby,
}

impl ReplicaRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaRole::Leader => "leader",
            ReplicaRole::Standby => "standby",
        }
    }
}

/// One process's heartbeat, as written and as read back.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct Replica {
    pub owner: String,
    pub label: String,
    pub role: ReplicaRole,
    pub data_version: String,
    /// Seconds since the row was last renewed, by the database's clock.
    pub age: f64,
}

macro_rules! upsert {
    ($now:expr) => {
        concat!(
            "INSERT INTO replicas (owner, label, role, data_version, seen_at) VALUES ($1, $2, $3, $4, ",
            $now,
            ") ON CONFLICT (owner) DO UPDATE SET label = excluded.label, role = excluded.role, data_version = excluded.data_version, seen_at = excluded.seen_at"
        )
    };
}

macro_rules! seen {
    ($now:expr) => {
        concat!(
            "SELECT owner, label, role, data_version, ",
            $now,
            " - seen_at AS age FROM replicas WHERE seen_at >= ",
            $now,
            " - $1 ORDER BY label, owner"
        )
    };
}

impl Db {
    /// Writes (or renews) `owner`'s row, stamped with the database's clock.
    pub async fn heartbeat(
        &self,
        owner: &str,
        label: &str,
        role: ReplicaRole,
        data_version: &str,
    ) -> Result<()> {
        on_clock!(self, upsert, pool, sql => sqlx::query(sql)
            .bind(owner)
            .bind(label)
            .bind(role)
            .bind(data_version)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// A clean stop: the row goes at once, so no one waits out its heartbeat.
    pub async fn remove_replica(&self, owner: &str) -> Result<()> {
        on!(self, pool => sqlx::query("DELETE FROM replicas WHERE owner = $1")
            .bind(owner)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The processes whose heartbeat is at most `within` old, by label.
    pub async fn replicas_seen(&self, within: Duration) -> Result<Vec<Replica>> {
        let within = within.as_secs_f64();
        Ok(on_clock!(self, seen, pool, sql => sqlx::query_as(sql)
            .bind(within)
            .fetch_all(pool)
            .await)?)
    }

    /// The owners whose heartbeat is within [`ALIVE_WITHIN`].
    pub(crate) async fn live_owners(&self) -> Result<Vec<String>> {
        Ok(self
            .replicas_seen(ALIVE_WITHIN)
            .await?
            .into_iter()
            .map(|r| r.owner)
            .collect())
    }
}

/// The channel replicas announce reloads on. It is one per database, not per
/// schema, so the payload names the schema (`<schema> <owner>`): databases
/// sharing a server, and the tests' schemas, hear only their own.
const RELOADS: &str = "dhikra_reload";

/// Reloads announced by the processes sharing this PostgreSQL schema.
pub struct Reloads {
    listener: PgListener,
    schema: String,
}

impl Reloads {
    /// The owner of the next process that reloaded (this one's own included).
    /// A lost connection is made again, silently: announcements sent meanwhile
    /// are missed, and an admin reloads again.
    pub async fn next(&mut self) -> Result<String> {
        loop {
            let note = self.listener.recv().await?;
            if let Some((schema, owner)) = note.payload().split_once(' ')
                && schema == self.schema
            {
                return Ok(owner.to_owned());
            }
        }
    }
}

impl Db {
    /// Tells every process sharing the schema that `owner` reloaded the data
    /// (PostgreSQL: `NOTIFY`; a single SQLite process has no one to tell).
    pub async fn announce_reload(&self, owner: &str) -> Result<()> {
        if let Pool::Postgres(pool) = &self.pool {
            sqlx::query("SELECT pg_notify($1, current_schema() || ' ' || $2)")
                .bind(RELOADS)
                .bind(owner)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Listens for [`Db::announce_reload`] on a connection of its own; `None`
    /// on SQLite. Listening from the return on: nothing announced before is heard.
    pub async fn reload_announcements(&self) -> Result<Option<Reloads>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(pool)
            .await?;
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(RELOADS).await?;
        Ok(Some(Reloads { listener, schema }))
    }
}
