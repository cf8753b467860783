//! The long-running service, `dhikra run`: builds the bot ([`build`]), checks the
//! token, then runs the update dispatcher, the publishing tick and the health
//! heartbeat side by side until SIGINT or SIGTERM, finishing and recording the
//! message in flight.

pub mod build;

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::BotCommand;
use teloxide::update_listeners::{Polling, webhooks};
use teloxide::utils::command::BotCommands;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler};

pub use build::{BuildError, Service, Settings, UPDATE_WORKERS, build, make_bot};

use crate::config::Webhook;
use crate::ops::{self, Health, install_recorder};
use crate::publishing::{Publisher, describe};
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
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(settings: Settings) -> Result<(), RunError> {
    let service = build(settings).await?;
    let me = service
        .bot
        .get_me()
        .await
        .map_err(|e| RunError::Telegram(describe(&e)))?;
    tracing::info!(bot = %me.username(), "connected to the Bot API");
    serve_ops(&service);
    register_commands(&service.bot, service.config.admin_chat).await;

    // The tick holds `busy` while it sends; taking it at the end means the last
    // send is recorded before the process exits.
    let busy = Arc::new(Mutex::new(()));
    let mut scheduler = start_tick(&service, &busy).await?;
    let dispatcher = service.dispatcher();
    let updates = dispatcher.shutdown_token();
    let listening = tokio::spawn(listen(
        dispatcher,
        service.bot.clone(),
        service.config.webhook.clone(),
        Arc::clone(&service.health),
    ));
    let heartbeat = tokio::spawn(heartbeat(service.bot.clone(), Arc::clone(&service.health)));

    wait_for_signal().await?;
    tracing::info!("shutting down: finishing the message in flight");
    service.stop();
    let _ = scheduler.shutdown().await;
    if let Ok(done) = updates.shutdown() {
        done.await;
    }
    let _ = listening.await;
    heartbeat.abort();
    let _guard = busy.lock().await;
    tracing::info!("stopped");
    Ok(())
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

/// Readiness needs a recent contact with the Bot API even when no update comes.
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
    webhook: Option<Webhook>,
    health: Arc<Health>,
) {
    let Some(w) = webhook else {
        let on_error = move |e: teloxide::RequestError| {
            let health = Arc::clone(&health);
            async move {
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
        return dispatcher
            .dispatch_with_listener(listener, Arc::new(on_error))
            .await;
    };
    let url = match url::Url::parse(&w.url) {
        Ok(u) => u,
        Err(e) => return tracing::error!(error = %e, "config key `webhook.url` is not a URL"),
    };
    // Telegram sends this header with every update; anything without it is refused.
    let secret = std::env::var("DHIKRA_WEBHOOK_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("{:032x}", rand::random::<u128>()));
    crate::logging::register_secret(&secret);
    let options = webhooks::Options::new(w.listen, url).secret_token(secret);
    match webhooks::axum(bot, options).await {
        Ok(listener) => {
            let on_error = LoggingErrorHandler::with_custom_text("webhook error");
            dispatcher.dispatch_with_listener(listener, on_error).await
        }
        Err(e) => tracing::error!(error = %describe(&e), "could not set the webhook"),
    }
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
