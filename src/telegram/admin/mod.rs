//! Admin commands: confirmed reposts, previews, delivery status, reloading the
//! data, enabling and disabling targets, and the audit log. Admins are numeric
//! user ids from the config (or members of the admin chat) — never usernames —
//! and are heard only in private chats or the admin chat. Access is one dptree
//! filter ([`admin_of`]) with an auditing refusal beside it; every action and
//! every refused attempt is audited.

pub mod reload;
pub mod repost;
pub mod status;
pub mod targets;

use teloxide::prelude::*;
use teloxide::types::{Chat, User};
use teloxide::utils::command::BotCommands;

use crate::db::AuditOutcome;
use crate::telegram::commands::normalize_command;
use crate::telegram::context::{BotContext, HandlerResult};
use crate::telegram::reply::reply_html;

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum AdminCommand {
    #[command(description = "إعادة نشر يوم أو حدث بعد التأكيد: /repost [تاريخ|معرّف حدث] [all|هدف]")]
    Repost(String),
    #[command(description = "معاينة منشور يوم، تصلك في الخاص")]
    Preview(String),
    #[command(description = "حالة الإرسال والأهداف والبيانات")]
    Status,
    #[command(description = "إعادة تحميل البيانات والأهداف")]
    Reload,
    #[command(description = "الأهداف: /targets [disable|enable هدف]")]
    Targets(String),
    #[command(description = "آخر 20 إجراءً للمشرفين")]
    Audit,
}

impl AdminCommand {
    /// The audit log's name for the command, and its argument.
    fn action(&self) -> (&'static str, String) {
        match self {
            AdminCommand::Repost(a) => ("repost", a.clone()),
            AdminCommand::Preview(a) => ("preview", a.clone()),
            AdminCommand::Status => ("status", String::new()),
            AdminCommand::Reload => ("reload", String::new()),
            AdminCommand::Targets(a) => ("targets", a.clone()),
            AdminCommand::Audit => ("audit", String::new()),
        }
    }
}

pub fn parse_admin_command(text: &str, bot_username: &str) -> Option<AdminCommand> {
    AdminCommand::parse(&normalize_command(text), bot_username).ok()
}

/// The admin who sent an update, once checked: what admin endpoints receive.
#[derive(Debug, Clone)]
pub struct Admin(pub User);

/// The one admin check, as a dptree filter: a configured user id, or a member of
/// the admin chat, speaking in a private chat or in the admin chat.
pub async fn admin_of(bot: &Bot, ctx: &BotContext, user: &User, chat: &Chat) -> Option<Admin> {
    let place = chat.is_private() || ctx.config.admin_chat == Some(chat.id.0);
    let admin = ctx.config.admins.contains(&user.id.0)
        || match ctx.config.admin_chat {
            Some(admin_chat) => bot
                .get_chat_member(ChatId(admin_chat), user.id)
                .await
                .is_ok_and(|m| m.is_present()),
            None => false,
        };
    (place && admin).then(|| Admin(user.clone()))
}

/// Writes one audit row; a failure is logged, never shown to the admin.
pub async fn audit(
    ctx: &BotContext,
    user: &User,
    action: &str,
    detail: &str,
    outcome: AuditOutcome,
) {
    let now = ctx.clock.now();
    if let Err(e) = ctx
        .db
        .audit(Some(user.id.0), action, detail, &outcome, now)
        .await
    {
        tracing::error!(error = %e, "could not write the audit log");
    }
}

/// Someone who is not an admin (or not where admins are heard) used a command.
pub async fn refuse_command(
    bot: Bot,
    msg: Message,
    cmd: AdminCommand,
    ctx: BotContext,
) -> HandlerResult {
    let Some(user) = msg.from.as_ref() else {
        return Ok(());
    };
    let (action, detail) = cmd.action();
    audit(&ctx, user, action, &detail, AuditOutcome::Refused).await;
    let text = "هذا الأمر للمشرفين فقط، في محادثة خاصة مع البوت.";
    reply_html(&ctx, &bot, &msg, text, None).await
}

/// Someone who is not an admin pressed an admin button.
pub async fn refuse_button(bot: Bot, q: CallbackQuery, ctx: BotContext) -> HandlerResult {
    let data = q.data.clone().unwrap_or_default();
    audit(&ctx, &q.from, "button", &data, AuditOutcome::Refused).await;
    bot.answer_callback_query(q.id.clone())
        .text("للمشرفين فقط.")
        .await?;
    Ok(())
}
