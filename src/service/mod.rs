//! The long-running service, `dhikra run`: builds the bot ([`build`]), checks the
//! token, then runs the update dispatcher, the publishing tick and the health
//! heartbeat side by side until SIGINT or SIGTERM, finishing and recording the
//! message in flight.

pub mod build;
pub mod leader;
pub mod outage;
pub mod reloads;
pub mod replica;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::ShutdownToken;
use teloxide::prelude::*;
use teloxide::types::BotCommand;
use teloxide::update_listeners::Polling;
use teloxide::utils::command::BotCommands;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_cron_scheduler::{Job, JobScheduler};

pub use build::{BuildError, Service, Settings, UPDATE_WORKERS, build, build_on, make_bot};

use crate::db::{Db, Done, PostRequest, StorageError};
use crate::ops::{self, Health, Role, install_recorder};
use crate::publishing::{Outcome, Publisher, Report, describe};
use crate::shutdown::Shutdown;
use crate::telegram::admin::AdminCommand;
use crate::telegram::commands::Command;
use crate::telegram::context::HandlerError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("the Bot API did not accept the bot: {0}")]
    Telegram(String),
    #[error("scheduler: {0}")]
    Scheduler(String),
    #[error("signal handler: {0}")]
    Signal(#[from] std::io::Error),
    #[error("webhook: {0}")]
    Webhook(String),
}

/// Runs until SIGINT or SIGTERM: on standby while another process leads the
/// database, then as the leader (see `leader`). `db` opens the database of
/// `settings.config` (`dhikra run` starts it while the catalog loads).
pub async fn run(
    settings: Settings,
    db: impl Future<Output = Result<Db, StorageError>>,
) -> Result<(), RunError> {
    let webhook = webhook::mode(&settings.config, std::env::var(webhook::SECRET_VAR).ok())?;
    // One listener for the whole run: tokio keeps its SIGTERM handler once
    // installed, so a signal between two listeners (taking the lead,
    // registering commands) would be swallowed and the process never stop.
    // (Before it is installed, SIGTERM keeps its default: the process ends.)
    let (on_signal, signalled) = crate::shutdown::Shutdown::new();
    tokio::spawn(async move {
        match wait_for_signal().await {
            Ok(()) => on_signal.fire(),
            Err(e) => tracing::error!(error = %e, "cannot listen for SIGTERM"),
        }
    });
    let db = db.await.map_err(BuildError::from)?;
    let service = build_on(db, settings).await?;
    let me = service
        .bot
        .get_me()
        .await
        .map_err(|e| RunError::Telegram(describe(&e)))?;
    tracing::info!(bot = %me.username(), "connected to the Bot API");
    serve_ops(&service);
    let heartbeat = tokio::spawn(heartbeat(service.bot.clone(), Arc::clone(&service.health)));
    // On either role: a standby must serve the new data when it takes over.
    let following = reloads::subscribe(&service.context)
        .await
        .map(|f| tokio::spawn(f.run()));
    let stop_following = || following.as_ref().map(tokio::task::JoinHandle::abort);
    let mut listening = outage::Listening::new(webhook);
    listening.start_standing_by(&service);
    let Some(lead) = stand_by(&service, &signalled).await? else {
        listening.stop().await;
        heartbeat.abort();
        stop_following();
        service.heartbeat.leave().await;
        return Ok(());
    };
    begin_leading(&service, lead.took_over).await;

    // The tick and the requests hold `busy` while they send; taking it at the end
    // means the last send is recorded before the process exits.
    let busy = Arc::new(Mutex::new(()));
    let mut scheduler = start_tick(&service, &busy).await?;
    let requests = tokio::spawn(serve_post_requests(
        Arc::clone(&service.publisher),
        Arc::clone(&busy),
        service.shutdown(),
    ));
    listening.start(&service);

    // Until SIGINT or SIGTERM; a lost lead pauses sending until it is back.
    let led = outage::lead(&service, lead, &busy, &signalled, &mut listening).await;
    tracing::info!("shutting down: finishing the message in flight");
    service.stop();
    let _ = scheduler.shutdown().await;
    listening.stop().await;
    let _ = requests.await;
    heartbeat.abort();
    stop_following();
    let _guard = busy.lock().await;
    service.heartbeat.leave().await;
    tracing::info!("stopped");
    led
}

/// Stops the dispatcher, which may not be running yet (its webhook being set):
/// teloxide forgets a shutdown asked of an idle dispatcher, so this asks again
/// until it runs. And it can miss one asked just as it starts (it only wakes
/// on a change it is already waiting for): after [`STOP_GRACE`] the listener
/// is dropped instead, its handlers finishing what they hold.
async fn stop_listening(updates: &ShutdownToken, mut listening: JoinHandle<()>) {
    let asking = async {
        loop {
            if let Ok(done) = updates.shutdown() {
                return done.await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let stopped = tokio::time::timeout(STOP_GRACE, async {
        tokio::select! {
            () = asking => {}
            _ = &mut listening => return,
        }
        let _ = (&mut listening).await;
    });
    if stopped.await.is_err() {
        tracing::warn!("the update listener did not stop when asked; dropping it");
        listening.abort();
    }
}

/// How long the update listener has to stop when asked, answering the updates
/// it holds: Docker kills a container 10 s after asking it to stop.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Says so (health, heartbeat), and waits out the previous leader before the
/// first poll and the first claim.
async fn begin_leading(service: &Service, took_over: bool) {
    service.health.set_role(Role::Leader);
    service.heartbeat.renew().await;
    service.heartbeat.await_predecessor().await;
    if took_over {
        // A leader that took over cannot know how much its predecessor sent in
        // the last second, which Telegram still counts: one second of quiet keeps
        // the two under the bot's limit together (measured: 1 × 429 in a takeover
        // without it, tests/it/run.rs issue_15).
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tracing::info!("leading: polling updates and publishing");
    register_commands(&service.bot, service.config.admin_chat).await;
}

/// Waits while another process leads this database (no polling, no sending),
/// and returns the lead once it is ours; `None` on SIGINT or SIGTERM first.
async fn stand_by(
    service: &Service,
    signalled: &Shutdown,
) -> Result<Option<leader::Lead>, RunError> {
    let database = service.config.database.clone();
    let health = Arc::clone(&service.health);
    let on_standby = move || {
        health.set_role(Role::Standby);
        tokio::spawn(async move {
            let holder = leader::holder(&database).await.ok().flatten();
            tracing::info!(?holder, "standing by: another process leads this database");
        });
    };
    let lead = leader::wait_for_lead(
        &service.config.database,
        leader::Holder::Run,
        signalled,
        on_standby,
    )
    .await?;
    if lead.is_none() {
        tracing::info!("stopped while standing by");
    }
    Ok(lead)
}

/// `dhikra post` run while this process leads, and `/repost`s confirmed on a
/// standby: their requests are sent here, so one process paces every message
/// of the bot.
async fn serve_post_requests(publisher: Arc<Publisher>, busy: Arc<Mutex<()>>, stop: Shutdown) {
    while !stop.is_stopping() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.stopping() => return,
        }
        if stop.is_shutdown() {
            continue; // The lead is lost: requests wait for whoever leads.
        }
        let db = &publisher.sender.db;
        let now = publisher.sender.clock.now();
        let request = match db.take_post_request(now).await {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the post requests");
                continue;
            }
        };
        let _guard = busy.lock().await;
        let (summary, done) = match run_request(&publisher, &request, now, &stop).await {
            Ok(r) => (
                r.summary(),
                Done {
                    sent: r.count(|o| matches!(o, Outcome::Sent { .. })),
                    failed: r.count(|o| matches!(o, Outcome::Failed(_) | Outcome::Unknown)),
                },
            ),
            Err(why) => (format!("error: {why}"), Done { sent: 0, failed: 1 }),
        };
        let finished = publisher.sender.clock.now();
        if let Err(e) = db
            .finish_post_request(request.id, &summary, done, finished)
            .await
        {
            tracing::error!(error = %e, "could not record a post request's result");
        }
    }
}

/// A `/repost` runs its confirmation; a `dhikra post`, its date.
async fn run_request(
    publisher: &Publisher,
    request: &PostRequest,
    now: chrono::DateTime<chrono::Utc>,
    stop: &Shutdown,
) -> Result<Report, String> {
    if let Some(id) = &request.confirmation {
        let db = &publisher.sender.db;
        let Some((c, _)) = db.confirmation(id, now).await.map_err(|e| e.to_string())? else {
            return Err(format!("no repost confirmation `{id}`"));
        };
        return publisher
            .repost(&c, now, stop)
            .await
            .map_err(|e| e.to_string());
    }
    let date = (request.date.parse()).map_err(|_| format!("`{}` is not a date", request.date))?;
    let only = request.target.as_deref();
    publisher
        .publish_now(date, only, request.force, now, stop, &|_| {})
        .await
        .map_err(|e| e.to_string())
}

/// `/healthz` and `/metrics`, when `[ops] listen` is set.
fn serve_ops(service: &Service) {
    service.health.store_loaded();
    service.health.api_ok();
    if let Some(addr) = service.config.ops_listen {
        let (health, metrics) = (Arc::clone(&service.health), install_recorder());
        tokio::spawn(async move {
            if let Err(e) = ops::serve(addr, health, metrics).await {
                tracing::error!(error = %e, %addr, "health and metrics server stopped");
            }
        });
    }
}

/// The tick: every minute at second 0, in UTC, plus one at once to catch up after
/// downtime. Local post times come from `core::schedule`, so DST changes never
/// shift them (tokio-cron-scheduler's own timezones do: see the field notes).
async fn start_tick(service: &Service, busy: &Arc<Mutex<()>>) -> Result<JobScheduler, RunError> {
    let scheduler_error =
        |e: tokio_cron_scheduler::JobSchedulerError| RunError::Scheduler(e.to_string());
    let scheduler = JobScheduler::new().await.map_err(scheduler_error)?;
    let (publisher, stop) = (Arc::clone(&service.publisher), service.shutdown());
    let busy_in_job = Arc::clone(busy);
    let job = Job::new_async("0 * * * * *", move |_id, _lock| {
        let (publisher, busy, stop) = (
            Arc::clone(&publisher),
            Arc::clone(&busy_in_job),
            stop.clone(),
        );
        Box::pin(async move { tick(&publisher, &busy, &stop).await })
    })
    .map_err(scheduler_error)?;
    scheduler.add(job).await.map_err(scheduler_error)?;
    scheduler.start().await.map_err(scheduler_error)?;
    let (publisher, busy, stop) = (
        Arc::clone(&service.publisher),
        Arc::clone(busy),
        service.shutdown(),
    );
    tokio::spawn(async move { tick(&publisher, &busy, &stop).await });
    Ok(scheduler)
}

async fn tick(publisher: &Publisher, busy: &Mutex<()>, stop: &Shutdown) {
    let Ok(_guard) = busy.try_lock() else {
        tracing::debug!("previous publish still running; skipping this tick");
        return;
    };
    if stop.is_shutdown() {
        return;
    }
    let now = publisher.sender.clock.now();
    if let Err(e) = publisher.publish_due(now, stop).await {
        tracing::error!(error = %e, "publishing failed; the next tick tries again");
    }
}

/// Readiness needs a recent contact with the Bot API even when no update comes
/// (and on standby, when none is polled).
async fn heartbeat(bot: Bot, health: Arc<Health>) {
    loop {
        tokio::time::sleep(Duration::from_secs(30)).await;
        match bot.get_me().await {
            Ok(_) => health.api_ok(),
            Err(e) => {
                health.poll_failed();
                tracing::warn!(error = %describe(&e), "the Bot API is not reachable");
            }
        }
    }
}

/// Receives updates by long polling, or through a webhook when one is configured,
/// until the dispatcher's shutdown token is used.
async fn listen(
    mut dispatcher: Dispatcher<Bot, HandlerError, i64>,
    bot: Bot,
    webhook: Option<webhook::Mode>,
    health: Arc<Health>,
) {
    if let Some(mode) = webhook {
        return webhook::serve(dispatcher, bot, mode).await;
    }
    let on_error = move |e: teloxide::RequestError| {
        let health = Arc::clone(&health);
        async move {
            if matches!(
                e,
                teloxide::RequestError::Api(teloxide::ApiError::TerminatedByOtherGetUpdates)
            ) {
                health.polled_elsewhere();
            }
            health.poll_failed();
            tracing::warn!(error = %describe(&e), "receiving updates failed");
        }
    };
    // Below reqwest's 17 s client timeout, so a quiet poll never times out.
    let listener = Polling::builder(bot)
        .timeout(Duration::from_secs(10))
        .delete_webhook()
        .await
        .build();
    dispatcher
        .dispatch_with_listener(listener, Arc::new(on_error))
        .await
}

/// Everyone sees the user commands; the admin chat also sees the admin ones.
async fn register_commands(bot: &Bot, admin_chat: Option<i64>) {
    let commands: Vec<BotCommand> = Command::bot_commands();
    if let Err(e) = bot.set_my_commands(commands.clone()).await {
        tracing::warn!(error = %describe(&e), "could not register the command list");
    }
    if let Some(chat) = admin_chat {
        let mut all = commands;
        all.extend(AdminCommand::bot_commands());
        let scope = teloxide::types::BotCommandScope::Chat {
            chat_id: teloxide::types::Recipient::Id(ChatId(chat)),
        };
        if let Err(e) = bot.set_my_commands(all).scope(scope).await {
            tracing::warn!(error = %describe(&e), "could not register the admin commands");
        }
    }
}

/// SIGINT or SIGTERM (systemd and Docker stop services with SIGTERM).
pub async fn wait_for_signal() -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
