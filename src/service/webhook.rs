//! Webhook mode: Telegram posts updates to `webhook.url`, which a reverse proxy
//! (or a load balancer, for replicas) forwards to `webhook.listen`; anything
//! without the secret token is refused. With PostgreSQL the service is one of
//! several replicas, and every one serves updates, leader or standby: they
//! must share one secret, a replica that stops leaves the webhook set, since
//! the others depend on it, and they split the bot's rate limits.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::update_listeners::webhooks;

use crate::config::{Config, Database};
use crate::db::{ALIVE_WITHIN, Db};
use crate::publishing::{Limiter, describe};
use crate::service::RunError;
use crate::service::replica::RENEW;
use crate::telegram::context::HandlerError;

/// The variable holding the secret token (never the config file).
pub const SECRET_VAR: &str = "DHIKRA_WEBHOOK_SECRET";

/// How this process receives updates through a webhook.
#[derive(Clone)]
pub struct Mode {
    listen: std::net::SocketAddr,
    url: url::Url,
    secret: String,
    /// Replicas (PostgreSQL): the webhook outlives this process.
    shared: bool,
}

impl Mode {
    /// Whether other replicas serve this webhook too (PostgreSQL): then this
    /// one serves it on standby as well.
    pub fn shared(&self) -> bool {
        self.shared
    }
}

/// Keeps `limiter` to this process's part of the bot's limits, one per
/// replica alive by the heartbeats (renewed as often as they are): a load
/// balancer may bring any replica a burst of questions, and Telegram counts
/// the bot's messages, not the process's. A replica that cannot read the
/// heartbeats keeps the last count.
pub async fn share_limits(db: Db, limiter: Arc<Limiter>) {
    loop {
        match db.replicas_seen(ALIVE_WITHIN).await {
            Ok(alive) => limiter.set_share(u32::try_from(alive.len()).unwrap_or(u32::MAX)),
            Err(e) => tracing::debug!(error = %e, "could not count the replicas"),
        }
        tokio::time::sleep(RENEW).await;
    }
}

/// The webhook mode of `config`, checked before anything starts; `None` for
/// long polling. A database shared by replicas needs `DHIKRA_WEBHOOK_SECRET`:
/// Telegram keeps one webhook per bot, with the secret of the last replica to
/// register it, so replicas each with a random secret would refuse every
/// update a load balancer brings them under another's.
pub fn mode(config: &Config, secret: Option<String>) -> Result<Option<Mode>, RunError> {
    let Some(w) = &config.webhook else {
        return Ok(None);
    };
    let url =
        url::Url::parse(&w.url).map_err(|e| RunError::Webhook(format!("`webhook.url`: {e}")))?;
    let shared = matches!(config.database, Database::Postgres(_));
    let secret = match secret.filter(|s| !s.is_empty()) {
        Some(s) => s,
        None if shared => {
            return Err(RunError::Webhook(format!(
                "with a PostgreSQL database and a webhook, set {SECRET_VAR}: the replicas behind the load balancer must share one secret, since Telegram sends every update with the secret of the last replica that set the webhook and the others would refuse it"
            )));
        }
        None => format!("{:032x}", rand::random::<u128>()),
    };
    crate::logging::register_secret(&secret);
    Ok(Some(Mode {
        listen: w.listen,
        url,
        secret,
        shared,
    }))
}

/// Sets the webhook, serves it until the dispatcher's shutdown token is used,
/// then deletes it unless other replicas depend on it. (teloxide's
/// `webhooks::axum` always deletes it when it stops.)
pub async fn serve(mut dispatcher: Dispatcher<Bot, HandlerError, i64>, bot: Bot, mode: Mode) {
    let tcp = match tokio::net::TcpListener::bind(mode.listen).await {
        Ok(t) => t,
        Err(e) => {
            return tracing::error!(error = %e, addr = %mode.listen, "cannot listen for the webhook");
        }
    };
    let set = bot
        .set_webhook(mode.url.clone())
        .secret_token(mode.secret.clone())
        .await;
    if let Err(e) = set {
        return tracing::error!(error = %describe(&e), "could not set the webhook");
    }
    let options = webhooks::Options::new(mode.listen, mode.url).secret_token(mode.secret);
    let (listener, stopped, router) = webhooks::axum_no_setup(options);
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(tcp, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            tracing::error!(error = %e, "the webhook server stopped");
        }
    });
    let on_error = LoggingErrorHandler::with_custom_text("webhook error");
    dispatcher.dispatch_with_listener(listener, on_error).await;
    let _ = server.await;
    if !mode.shared
        && let Err(e) = bot.delete_webhook().await
    {
        tracing::warn!(error = %describe(&e), "could not delete the webhook");
    }
}
