//! The one builder: `dhikra run`, `dhikra post`, the tests' `spawn_bot()` and the
//! benches all assemble the running bot here, so what is tested is what runs
//! (zero2prod's `Application::build`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use tokio::sync::Semaphore;

use crate::config::{Config, Token};
use crate::core::calendar::Clock;
use crate::data::SharedCatalog;
use crate::db::{Db, StorageError};
use crate::ops::Health;
use crate::publishing::sender::{CLAIMING, IN_FLIGHT};
use crate::publishing::{Alerts, Limiter, Publisher, RetryPolicy, Sender, owner_id};
use crate::service::replica::Heartbeat;
use crate::shutdown::{Shutdown, Trigger};
use crate::telegram::context::{BotContext, Cooldown, HandlerError};
use crate::telegram::handler_tree;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("config key `api_url`: {0}")]
    ApiUrl(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// What a service is built from.
pub struct Settings {
    pub config: Config,
    pub catalog: SharedCatalog,
    pub bot: Bot,
    pub clock: Arc<dyn Clock>,
    /// Where `/reload` re-reads the targets from (none: data only).
    pub config_path: Option<PathBuf>,
    /// Retries as configured, unless a test wants them faster.
    pub policy: Option<RetryPolicy>,
}

/// The running bot's parts, wired.
pub struct Service {
    pub config: Arc<Config>,
    pub bot: Bot,
    pub publisher: Arc<Publisher>,
    pub context: BotContext,
    pub health: Arc<Health>,
    /// This process among those sharing the database (`replica`).
    pub heartbeat: Heartbeat,
    trigger: Trigger,
}

/// A teloxide `Bot` for the token and the configured Bot API server.
pub fn make_bot(config: &Config, token: &Token) -> Result<Bot, BuildError> {
    // teloxide's client settings (its timeouts), keeping fewer idle connections:
    // the default pool holds every connection a burst opened, buffers and all.
    let client = teloxide::net::default_reqwest_settings()
        .pool_max_idle_per_host(16)
        .build()
        .map_err(|e| BuildError::Client(e.to_string()))?;
    let bot = Bot::with_client(token.expose(), client);
    match &config.api_url {
        Some(url) => {
            let url =
                url::Url::parse(url).map_err(|e| BuildError::ApiUrl(format!("`{url}`: {e}")))?;
            Ok(bot.set_api_url(url))
        }
        None => Ok(bot),
    }
}

/// How many targets a broadcast serves at once. A target's next part waits a
/// second for its chat, so to keep the overall rate busy meanwhile many
/// targets must be under way: with 8, the day's card cut a 1,000-target
/// broadcast to 7 targets a second; with rate + 8 its ratio to N/rate was 1.140,
/// with 2 × rate 1.093, and 1.034–1.036 once the limiter kept a schedule and
/// claims were written a few at a time (benches/broadcast.rs, 300/s). Waiting workers are
/// `claimed`, not `sending`: only the requests on the wire (at most
/// `IN_FLIGHT`) can be left `unknown` by a crash.
fn workers(limits: &crate::config::Limits) -> usize {
    (limits.overall_per_second as usize * 2).max(8)
}

/// Opens the database, syncs the config's targets, and wires publisher and handlers.
pub async fn build(settings: Settings) -> Result<Service, BuildError> {
    let db = Db::open(&settings.config.database).await?;
    build_on(db, settings).await
}

/// [`build`] on a database already open: `dhikra run` opens it while the
/// catalog loads.
pub async fn build_on(db: Db, settings: Settings) -> Result<Service, BuildError> {
    let Settings {
        config,
        catalog,
        bot,
        clock,
        config_path,
        policy,
    } = settings;
    let config = Arc::new(config);
    db.sync_config_targets(&config.targets, clock.now()).await?;
    let owner = owner_id();
    let health = Arc::new(Health::default());
    // Before anything can claim a part: see `Heartbeat::start`.
    let heartbeat = Heartbeat::start(
        db.clone(),
        owner.clone(),
        Arc::clone(&health),
        catalog.clone(),
    )
    .await?;
    let limiter = Arc::new(Limiter::new(&config.limits));
    let sender = Sender {
        alerts: Alerts::new(bot.clone(), config.admin_chat, Arc::clone(&limiter)),
        bot: bot.clone(),
        db: db.clone(),
        limiter,
        clock: Arc::clone(&clock),
        policy: policy.unwrap_or_else(|| RetryPolicy::from_config(&config.retries)),
        owner,
        in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        claiming: Arc::new(Semaphore::new(CLAIMING)),
        unrecorded: Default::default(),
    };
    let publisher = Arc::new(Publisher {
        config: Arc::clone(&config),
        catalog: catalog.clone(),
        sender,
        concurrency: workers(&config.limits),
        photos: Default::default(),
        username: Default::default(),
    });
    let (trigger, shutdown) = Shutdown::new();
    let context = BotContext {
        config: Arc::clone(&config),
        catalog,
        db,
        clock,
        cooldown: Arc::new(Cooldown::new(Duration::from_secs(3))),
        publisher: Arc::clone(&publisher),
        shutdown,
        config_path,
        health: Arc::clone(&health),
    };
    Ok(Service {
        config,
        bot,
        publisher,
        context,
        health,
        heartbeat,
        trigger,
    })
}

/// How many workers handle updates. teloxide's default gives every chat its own
/// worker and keeps as many as were ever busy at once; after a burst from
/// thousands of chats the process kept ~25 MB more (benches/service.rs). Chats are
/// spread over this many workers instead: one chat's updates still run in order.
/// Each answer is one request to Telegram (~50–100 ms away), so 16 at a time is
/// over 160 answers/s, five times Telegram's overall limit; 64 was both heavier
/// (31 MB vs 23 MB after 10,000 questions) and slower on two cores.
pub const UPDATE_WORKERS: i64 = 16;

/// Updates waiting for one worker. teloxide's default, 64, let a burst fill three
/// of tokio's 32-slot channel blocks per worker, and an `Update` is ~2 KB: the
/// workers' queues were 3.5 MB of the 12.9 MB heap peak after 10,000 questions
/// (heaptrack). With 32 a queue spans at most two blocks. Past it the dispatcher
/// stops fetching: further updates wait at Telegram, not in memory, where a
/// crash would lose them.
const WORKER_QUEUE: usize = 32;

impl Service {
    /// The update dispatcher over `handler_tree()`, with the context as its dependency.
    pub fn dispatcher(&self) -> Dispatcher<Bot, HandlerError, i64> {
        Dispatcher::builder(self.bot.clone(), handler_tree())
            .distribution_function(|update: &Update| {
                update.chat().map(|c| c.id.0.rem_euclid(UPDATE_WORKERS))
            })
            .worker_queue_size(WORKER_QUEUE)
            .dependencies(dptree::deps![self.context.clone()])
            .default_handler(|_| async {})
            .error_handler(LoggingErrorHandler::with_custom_text("a handler failed"))
            .build()
    }

    /// A listener for the shutdown (the tick, `dhikra post`).
    pub fn shutdown(&self) -> Shutdown {
        self.context.shutdown.clone()
    }

    /// Tells every worker to stop before its next claim.
    pub fn stop(&self) {
        self.trigger.fire();
    }

    /// Stops every send as [`Service::stop`] does, but only until
    /// [`Service::resume_sending`]: the lead is lost, answers go on.
    pub fn pause_sending(&self) {
        self.trigger.pause();
    }

    /// Sending is ours again (a new term: a broadcast of the last one stays stopped).
    pub fn resume_sending(&self) {
        self.trigger.resume();
    }

    pub fn db(&self) -> &Db {
        &self.context.db
    }
}
