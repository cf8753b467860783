//! Admin alerts: always to the log, and to the admin chat when one is configured.

use teloxide::prelude::*;

use crate::publishing::faults::describe;

#[derive(Clone)]
pub struct Alerts {
    bot: Bot,
    admin_chat: Option<i64>,
}

impl Alerts {
    pub fn new(bot: Bot, admin_chat: Option<i64>) -> Self {
        Self { bot, admin_chat }
    }

    pub async fn send(&self, text: &str) {
        tracing::warn!(alert = %text, "admin alert");
        if let Some(chat) = self.admin_chat
            && let Err(e) = self
                .bot
                .send_message(ChatId(chat), format!("⚠️ {text}"))
                .await
        {
            tracing::warn!(error = %describe(&e), "could not deliver the admin alert");
        }
    }
}
