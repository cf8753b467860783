//! `/reload` on one replica reloads all: each process listens for the reloads
//! the others announce (PostgreSQL `LISTEN`; SQLite has one process) and
//! reloads the same way, keeping its last good data when the files on its host
//! do not validate. Replicas must deploy the same data directory; `/status`
//! shows each one's data version.

use crate::data;
use crate::db::Reloads;
use crate::telegram::admin::reload::{Reloaded, reload_from_disk};
use crate::telegram::context::BotContext;

/// Listening from the return on; `None` on SQLite, or when the database
/// cannot be listened to (said in the log: the service runs on without it).
pub async fn subscribe(ctx: &BotContext) -> Option<Follower> {
    match ctx.db.reload_announcements().await {
        Ok(reloads) => reloads.map(|reloads| Follower {
            reloads,
            ctx: ctx.clone(),
        }),
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for the other replicas' reloads");
            None
        }
    }
}

/// Reloads when another replica did.
pub struct Follower {
    reloads: Reloads,
    ctx: BotContext,
}

impl Follower {
    /// Runs until the task is dropped or aborted.
    pub async fn run(mut self) {
        let me = self.ctx.publisher.sender.owner.clone();
        loop {
            let from = match self.reloads.next().await {
                Ok(from) => from,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for reloads failed; listening again");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            // This process announced it: it has reloaded already.
            if from != me {
                self.reload(&from).await;
            }
        }
    }

    async fn reload(&self, from: &str) {
        match reload_from_disk(&self.ctx).await {
            Ok(Reloaded::Done { events, days }) => tracing::info!(
                from,
                events,
                days,
                version = %data::version(&self.ctx.catalog),
                "reloaded after another replica's /reload"
            ),
            Ok(Reloaded::BadConfig(e)) => tracing::error!(
                from,
                error = %e,
                "another replica reloaded but this one's config is invalid; keeping the last good data"
            ),
            Ok(Reloaded::BadData(errors)) => tracing::error!(
                from,
                problems = errors.0.len(),
                errors = %errors,
                "another replica reloaded but this one's data is invalid (is the data directory the same?); keeping the last good data"
            ),
            Err(e) => tracing::error!(from, error = %e, "reloading after another replica failed"),
        }
    }
}
