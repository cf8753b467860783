//! A leader that loses its database (issue 13). Its lock died with the
//! connection, so another replica may lead already: it stops every send at
//! once. It keeps answering questions, which need only the catalog in memory,
//! and tells the admins once, through Telegram. Every `leader::RETRY` it tries
//! to take the lead again: once the database is back it either leads again
//! (publishing resumes; the next tick catches up a post that fell due
//! meanwhile) or, when another replica leads by then, stops polling — Telegram
//! allows one poller — and stands by.

use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::ShutdownToken;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::ops::Role;
use crate::service::leader::{self, Holder, Lead};
use crate::service::webhook::{self, Mode};
use crate::service::{RunError, Service};
use crate::shutdown::Shutdown;

/// Told to the admins when publishing pauses.
pub const PAUSED: &str =
    "انقطع الاتصال بقاعدة البيانات: توقف النشر مؤقتًا فلا يُرسل شيء حتى تعود، ويستمر الرد على الأسئلة.";

/// Told to the admins when publishing resumes.
pub const RESUMED: &str =
    "عادت قاعدة البيانات: استُؤنف النشر، ويُرسل ما فات من منشور اليوم إن كان وقته لم ينقضِ.";

/// The update listener: long polling, or the webhook. Polling is stopped
/// while another replica leads and started again with the lead; a webhook
/// shared by replicas is served on either role.
pub struct Listening {
    webhook: Option<Mode>,
    running: Option<(ShutdownToken, JoinHandle<()>)>,
    /// Keeps the rate limits split between the replicas serving the webhook.
    sharing: Option<JoinHandle<()>>,
}

impl Listening {
    pub fn new(webhook: Option<Mode>) -> Self {
        Self {
            webhook,
            running: None,
            sharing: None,
        }
    }

    /// Serves from the start, before the lead is decided, where every replica
    /// serves (see [`Listening::serves_on_standby`]), and from then on keeps
    /// this process to its share of the bot's rate limits.
    pub fn start_standing_by(&mut self, service: &Service) {
        if !self.serves_on_standby() {
            return;
        }
        self.start(service);
        let limiter = Arc::clone(&service.publisher.sender.limiter);
        let db = service.db().clone();
        self.sharing = Some(tokio::spawn(webhook::share_limits(db, limiter)));
    }

    pub fn start(&mut self, service: &Service) {
        if self.running.is_some() {
            return;
        }
        let dispatcher = service.dispatcher();
        let updates = dispatcher.shutdown_token();
        let task = tokio::spawn(super::listen(
            dispatcher,
            service.bot.clone(),
            self.webhook.clone(),
            Arc::clone(&service.health),
        ));
        self.running = Some((updates, task));
    }

    /// Whether this listener serves on standby too: a webhook shared by
    /// replicas (a load balancer brings updates to any of them), where long
    /// polling is the leader's alone (Telegram allows one poller).
    pub fn serves_on_standby(&self) -> bool {
        self.webhook.as_ref().is_some_and(Mode::shared)
    }

    /// Another replica leads: stops unless every replica serves.
    pub async fn yield_to_leader(&mut self) {
        if !self.serves_on_standby() {
            self.stop().await;
        }
    }

    /// Returns once no update is received and every handler has finished (or
    /// the listener was dropped after its grace).
    pub async fn stop(&mut self) {
        if let Some(sharing) = self.sharing.take() {
            sharing.abort();
        }
        if let Some((updates, task)) = self.running.take() {
            super::stop_listening(&updates, task).await;
        }
    }
}

/// Leads until SIGINT or SIGTERM (`signalled`), riding out every loss of the
/// lead; `busy` is the tick's, held while it sends.
pub async fn lead(
    service: &Service,
    mut lead: Lead,
    busy: &Arc<Mutex<()>>,
    signalled: &Shutdown,
    listening: &mut Listening,
) -> Result<(), RunError> {
    loop {
        tokio::select! {
            () = signalled.wait() => return Ok(()),
            () = lead.lost() => {}
        }
        pause(service).await;
        lead = match regain(service, signalled, listening).await {
            Regained::Ours(lead) => {
                listening.start(service);
                lead
            }
            Regained::Stopped => return Ok(()),
            Regained::Theirs => {
                tracing::warn!("another replica leads now: no more polling; standing by");
                service.publisher.sender.settle().await;
                listening.yield_to_leader().await;
                let Some(lead) = super::stand_by(service, signalled).await? else {
                    return Ok(());
                };
                listening.start(service);
                lead
            }
        };
        resume(service, busy).await;
    }
}

/// Not one more claim or send from here; answers go on.
async fn pause(service: &Service) {
    service.pause_sending();
    service.health.set_role(Role::Standby);
    tracing::error!(
        "lost the database connection that holds the lead: publishing paused, still answering"
    );
    service.publisher.sender.alerts.send(PAUSED).await;
}

enum Regained {
    Ours(Lead),
    /// Another replica took it while the database was away from us.
    Theirs,
    /// SIGINT or SIGTERM came first.
    Stopped,
}

/// Tries for the lead every `RETRY` until the database answers either way.
/// Meanwhile a 409 to this process's polling means another replica leads and
/// polls: this one stops polling at once (two pollers end each other's
/// requests, so the leader would miss updates) until it leads again.
async fn regain(service: &Service, signalled: &Shutdown, listening: &mut Listening) -> Regained {
    let mut failures = 0u32;
    let mut elsewhere = service.health.polls_elsewhere();
    loop {
        tokio::select! {
            () = tokio::time::sleep(leader::RETRY) => {}
            () = signalled.wait() => return Regained::Stopped,
            Ok(()) = elsewhere.changed() => {
                tracing::warn!("another process polls this bot, so it leads: no more polling here");
                listening.stop().await;
                continue;
            }
        }
        match leader::try_lead(&service.config.database, Holder::Run).await {
            Ok(Some(lead)) => return Regained::Ours(lead),
            Ok(None) => return Regained::Theirs,
            Err(e) => {
                failures += 1;
                // Once a minute is enough to show it is still trying.
                if failures % 30 == 1 {
                    tracing::warn!(error = %e, "the database is still unreachable");
                }
            }
        }
    }
}

/// Leads again: the last lead's work is settled first, then a tick catches up.
async fn resume(service: &Service, busy: &Arc<Mutex<()>>) {
    {
        // The last lead's tick has stopped: its rows are no one's now.
        let _idle = busy.lock().await;
        let sender = &service.publisher.sender;
        let written = sender.settle().await;
        if written > 0 {
            tracing::info!(
                written,
                "recorded the parts sent or left while the database was away"
            );
        }
        let (db, me) = (service.db(), &sender.owner);
        let now = sender.clock.now();
        // Its own claims count as a dead owner's: 'claimed' ones were never
        // sent and go out now; 'sending' ones may have, and become 'unknown'
        // (the tick alerts about them, as after a crash).
        if let Err(e) = db.release_own(now, me).await {
            tracing::warn!(error = %e, "could not settle the last lead's claims; their leases will");
        }
    }
    // Another replica may have led meanwhile and be finishing its last message.
    service.heartbeat.await_predecessor().await;
    // Said before the quiet second, which then covers it too.
    service.publisher.sender.alerts.send(RESUMED).await;
    // As after a takeover: another replica may have led and sent meanwhile,
    // and Telegram still counts its last second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    service.resume_sending();
    service.health.set_role(Role::Leader);
    tracing::info!("leading again: publishing resumed");
    let (publisher, busy, stop) = (
        Arc::clone(&service.publisher),
        Arc::clone(busy),
        service.shutdown(),
    );
    tokio::spawn(async move { super::tick(&publisher, &busy, &stop).await });
}
