//! The long-running service, `dhikra run`: opens the database, checks the token,
//! then runs the update dispatcher and the publishing tick side by side until
//! SIGINT or SIGTERM, finishing and recording the message in flight.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::BotCommand;
use teloxide::update_listeners::{Polling, webhooks};
use teloxide::utils::command::BotCommands;
use tokio::sync::{Mutex, watch};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::admin::AdminCommand;
use crate::bot::{App, Command, Cooldown, handler_tree};
use crate::calendar::{Clock, SystemClock};
use crate::config::{Config, Token, Webhook};
use crate::delivery::{Alerts, Limiter, RetryPolicy, Sender, describe};
use crate::ops::{self, Health, install_recorder};
use crate::publish::{Publisher, SharedCatalog, owner_id};
use crate::storage::{Db, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("config key `api_url`: {0}")]
    ApiUrl(String),
    #[error("the Bot API did not accept the bot: {0}")]
    Telegram(String),
    #[error("scheduler: {0}")]
    Scheduler(String),
    #[error("signal handler: {0}")]
    Signal(#[from] std::io::Error),
}

/// A teloxide `Bot` for the token and the configured Bot API server.
pub fn make_bot(config: &Config, token: &Token) -> Result<Bot, AppError> {
    // teloxide's client settings (its timeouts), keeping fewer idle connections:
    // the default pool holds every connection a burst opened, buffers and all.
    let client = teloxide::net::default_reqwest_settings()
        .pool_max_idle_per_host(16)
        .build()
        .map_err(|e| AppError::Telegram(format!("cannot build the HTTP client: {e}")))?;
    let bot = Bot::with_client(token.expose(), client);
    match &config.api_url {
        Some(url) => {
            let url =
                url::Url::parse(url).map_err(|e| AppError::ApiUrl(format!("`{url}`: {e}")))?;
            Ok(bot.set_api_url(url))
        }
        None => Ok(bot),
    }
}

/// Everything that publishes: shared by `run` and `dhikra post`.
pub async fn publisher(
    config: Arc<Config>,
    catalog: SharedCatalog,
    bot: Bot,
    clock: Arc<dyn Clock>,
) -> Result<Publisher, AppError> {
    let db = Db::open(&config.database).await?;
    db.sync_config_targets(&config.targets, clock.now()).await?;
    let sender = Sender {
        alerts: Alerts::new(bot.clone(), config.admin_chat),
        bot,
        db,
        limiter: Arc::new(Limiter::new(&config.limits)),
        clock,
        policy: RetryPolicy::from_config(&config.retries),
        owner: owner_id(),
    };
    Ok(Publisher {
        config,
        catalog,
        sender,
        concurrency: 8,
    })
}

/// Runs until SIGINT or SIGTERM.
pub async fn run(
    config: Config,
    config_path: &std::path::Path,
    catalog: SharedCatalog,
    token: Token,
) -> Result<(), AppError> {
    let config = Arc::new(config);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let bot = make_bot(&config, &token)?;
    let me = bot
        .get_me()
        .await
        .map_err(|e| AppError::Telegram(describe(&e)))?;
    let username = me.username.clone().unwrap_or_default();
    let health = Arc::new(Health::default());
    health.store_loaded();
    health.api_ok();
    if let Some(addr) = config.ops_listen {
        let (health, metrics) = (Arc::clone(&health), install_recorder());
        tokio::spawn(async move {
            if let Err(e) = ops::serve(addr, health, metrics).await {
                tracing::error!(error = %e, %addr, "health and metrics server stopped");
            }
        });
    }
    tracing::info!(bot = %username, "connected to the Bot API");
    register_commands(&bot, config.admin_chat).await;

    let publisher = Arc::new(
        publisher(
            Arc::clone(&config),
            catalog.clone(),
            bot.clone(),
            Arc::clone(&clock),
        )
        .await?,
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = App {
        config: Arc::clone(&config),
        catalog,
        db: publisher.sender.db.clone(),
        clock: Arc::clone(&clock),
        username,
        cooldown: Arc::new(Cooldown::new(Duration::from_secs(3))),
        publisher: Arc::clone(&publisher),
        stop: stop_rx.clone(),
        config_path: Some(config_path.to_owned()),
        health: Arc::clone(&health),
    };
    let busy = Arc::new(Mutex::new(()));

    // The tick: every minute at second 0, in UTC. Local post times are computed by
    // `publish::window`, so DST changes never shift them (see field notes).
    let mut scheduler = JobScheduler::new()
        .await
        .map_err(|e| AppError::Scheduler(e.to_string()))?;
    let job = {
        let (publisher, busy, stop) = (Arc::clone(&publisher), Arc::clone(&busy), stop_rx.clone());
        Job::new_async("0 * * * * *", move |_id, _lock| {
            let (publisher, busy, stop) = (Arc::clone(&publisher), Arc::clone(&busy), stop.clone());
            Box::pin(async move { tick(&publisher, &busy, &stop).await })
        })
        .map_err(|e| AppError::Scheduler(e.to_string()))?
    };
    scheduler
        .add(job)
        .await
        .map_err(|e| AppError::Scheduler(e.to_string()))?;
    scheduler
        .start()
        .await
        .map_err(|e| AppError::Scheduler(e.to_string()))?;
    // Catch up at once after downtime rather than at the next minute.
    {
        let (publisher, busy, stop) = (Arc::clone(&publisher), Arc::clone(&busy), stop_rx.clone());
        tokio::spawn(async move { tick(&publisher, &busy, &stop).await });
    }

    let dispatcher = dispatcher(bot.clone(), app);
    let shutdown = dispatcher.shutdown_token();
    let dispatching = tokio::spawn(listen(
        dispatcher,
        bot.clone(),
        config.webhook.clone(),
        Arc::clone(&health),
    ));
    // Readiness needs a recent contact with the Bot API even when no update comes.
    let heartbeat = {
        let (bot, health) = (bot.clone(), Arc::clone(&health));
        tokio::spawn(async move {
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
        })
    };

    wait_for_signal().await?;
    tracing::info!("shutting down: finishing the message in flight");
    let _ = stop_tx.send(true);
    let _ = scheduler.shutdown().await;
    if let Ok(done) = shutdown.shutdown() {
        done.await;
    }
    let _ = dispatching.await;
    heartbeat.abort();
    // The tick holds `busy` while it sends; taking it means the last send is recorded.
    let _guard = busy.lock().await;
    tracing::info!("stopped");
    Ok(())
}

/// Receives updates by long polling, or through a webhook when one is configured,
/// until the dispatcher's shutdown token is used.
async fn listen(
    mut dispatcher: Dispatcher<Bot, crate::bot::HandlerError, i64>,
    bot: Bot,
    webhook: Option<Webhook>,
    health: Arc<Health>,
) {
    let on_error = move |e: ListenError| {
        let health = Arc::clone(&health);
        async move {
            health.poll_failed();
            tracing::warn!(error = %e, "receiving updates failed");
        }
    };
    match webhook {
        Some(w) => {
            let url = match url::Url::parse(&w.url) {
                Ok(u) => u,
                Err(e) => {
                    return tracing::error!(error = %e, "config key `webhook.url` is not a URL");
                }
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
                    dispatcher
                        .dispatch_with_listener(
                            listener,
                            LoggingErrorHandler::with_custom_text("webhook error"),
                        )
                        .await
                }
                Err(e) => tracing::error!(error = %describe(&e), "could not set the webhook"),
            }
        }
        None => {
            // Below reqwest's 17 s client timeout, so a quiet poll never times out.
            let listener = Polling::builder(bot)
                .timeout(Duration::from_secs(10))
                .delete_webhook()
                .await
                .build();
            dispatcher
                .dispatch_with_listener(
                    listener,
                    Arc::new(move |e| on_error(ListenError(describe(&e)))),
                )
                .await
        }
    }
}

/// A listener error, already stripped of its URL.
struct ListenError(String);

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many workers handle updates. teloxide's default gives every chat its own
/// worker and keeps as many as were ever busy at once; after a burst from
/// thousands of chats the process kept ~25 MB more (benches/service.rs). Chats are
/// spread over this many workers instead: one chat's updates still run in order.
/// Each answer is one request to Telegram (~50–100 ms away), so 16 at a time is
/// over 160 answers/s, five times Telegram's overall limit; 64 was both heavier
/// (31 MB vs 23 MB after 10,000 questions) and slower on two cores.
pub const UPDATE_WORKERS: i64 = 16;

/// The update dispatcher over `handler_tree()`, with `app` as its dependency.
pub fn dispatcher(bot: Bot, app: App) -> Dispatcher<Bot, crate::bot::HandlerError, i64> {
    Dispatcher::builder(bot, handler_tree())
        .distribution_function(|update: &Update| {
            update.chat().map(|c| c.id.0.rem_euclid(UPDATE_WORKERS))
        })
        .dependencies(dptree::deps![app])
        .default_handler(|_| async {})
        .error_handler(LoggingErrorHandler::with_custom_text("a handler failed"))
        .build()
}

async fn tick(publisher: &Publisher, busy: &Mutex<()>, stop: &watch::Receiver<bool>) {
    let Ok(_guard) = busy.try_lock() else {
        tracing::debug!("previous publish still running; skipping this tick");
        return;
    };
    if *stop.borrow() {
        return;
    }
    if let Err(e) = publisher
        .publish_due(publisher.sender.clock.now(), stop)
        .await
    {
        tracing::error!(error = %e, "publishing failed; the next tick tries again");
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
