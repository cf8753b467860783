//! This process's heartbeat among the processes sharing the database: a row in
//! `replicas` renewed every [`RENEW`] by a background task, so the others know
//! it is alive (and do not retry its claims) and `/status` lists it. Written
//! once before the service can claim anything, removed on a clean stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::AbortHandle;

use crate::data::{self, SharedCatalog};
use crate::db::{ALIVE_WITHIN, Db, ReplicaRole, StorageError};
use crate::ops::{Health, Role};
use crate::publishing::host_label;

/// How often the heartbeat is renewed: several renewals fit in
/// [`ALIVE_WITHIN`], so a slow query or two never makes a live process dead.
pub const RENEW: Duration = Duration::from_secs(2);

/// What one renewal writes, read afresh each time (the role changes on taking
/// the lead, the data version on a reload).
#[derive(Clone)]
struct Beat {
    db: Db,
    owner: String,
    label: String,
    health: Arc<Health>,
    catalog: SharedCatalog,
}

impl Beat {
    async fn once(&self) -> Result<(), StorageError> {
        let role = match self.health.role() {
            Some(Role::Leader) => ReplicaRole::Leader,
            _ => ReplicaRole::Standby,
        };
        let version = data::version(&self.catalog);
        self.db
            .heartbeat(&self.owner, &self.label, role, &version)
            .await
    }
}

/// The renewing task; it ends when this is dropped (with the service).
pub struct Heartbeat {
    beat: Beat,
    task: AbortHandle,
}

impl Heartbeat {
    /// Writes the first heartbeat (an error stops the start: a process without
    /// one could be thought dead while it sends) and renews it from then on.
    pub async fn start(
        db: Db,
        owner: String,
        health: Arc<Health>,
        catalog: SharedCatalog,
    ) -> Result<Self, StorageError> {
        let beat = Beat {
            db,
            owner,
            label: host_label(),
            health,
            catalog,
        };
        beat.once().await?;
        let renewing = beat.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW).await;
                if let Err(e) = renewing.once().await {
                    tracing::warn!(error = %e, "could not renew this process's heartbeat");
                }
            }
        });
        Ok(Self {
            beat,
            task: task.abort_handle(),
        })
    }

    /// Renews now, not at the next tick (after taking the lead).
    pub async fn renew(&self) {
        if let Err(e) = self.beat.once().await {
            tracing::warn!(error = %e, "could not renew this process's heartbeat");
        }
    }

    /// A clean stop: no more renewals, and the row goes, so a standby taking
    /// over need not wait for it to lapse.
    pub async fn leave(&self) {
        self.task.abort();
        if let Err(e) = self.beat.db.remove_replica(&self.beat.owner).await {
            tracing::warn!(error = %e, "could not remove this process's heartbeat");
        }
    }

    /// Waits until no other process's heartbeat says it leads: a leader that
    /// was killed may have claimed parts it never sent, which are retried only
    /// once its heartbeat has lapsed (at most [`ALIVE_WITHIN`]); and one that
    /// lost the lead may still be finishing its message in flight. Gives up,
    /// with a warning, after three times that: the claims still keep any part
    /// from being sent twice.
    pub async fn await_predecessor(&self) {
        let deadline = tokio::time::Instant::now() + ALIVE_WITHIN * 3;
        let mut said = false;
        loop {
            let others = match self.beat.db.replicas_seen(ALIVE_WITHIN).await {
                Ok(rows) => rows
                    .into_iter()
                    .filter(|r| r.role == ReplicaRole::Leader && r.owner != self.beat.owner)
                    .count(),
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the other processes' heartbeats");
                    1
                }
            };
            if others == 0 {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                return tracing::warn!("another process still says it leads; leading anyway");
            }
            if !said {
                tracing::info!("waiting for the previous leader's heartbeat to lapse");
                said = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}
