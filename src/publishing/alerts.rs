//! Admin alerts: always to the log, and to the admin chat when one is configured.

use std::sync::Arc;

use teloxide::prelude::*;

use crate::publishing::faults::describe;
use crate::publishing::limiter::Limiter;

#[derive(Clone)]
pub struct Alerts {
    bot: Bot,
    admin_chat: Option<i64>,
    /// Alerts count against the bot's limits like every other message: a burst
    /// of them during a broadcast (one per failed target) went around it.
    limiter: Arc<Limiter>,
}

impl Alerts {
    pub fn new(bot: Bot, admin_chat: Option<i64>, limiter: Arc<Limiter>) -> Self {
        Self {
            bot,
            admin_chat,
            limiter,
        }
    }

    pub async fn send(&self, text: &str) {
        tracing::warn!(alert = %text, "admin alert");
        let Some(chat) = self.admin_chat else {
            return;
        };
        self.limiter.wait(chat).await;
        if let Err(e) = self
            .bot
            .send_message(ChatId(chat), format!("⚠️ {text}"))
            .await
        {
            tracing::warn!(error = %describe(&e), "could not deliver the admin alert");
        }
    }
}
