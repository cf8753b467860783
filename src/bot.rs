//! The Telegram side: `handler_tree()` routes every update, commands are parsed
//! here, and each handler is a short function over the core and the database.

use std::sync::Arc;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{ChatMemberUpdated, ParseMode, ReplyParameters};
use teloxide::utils::command::BotCommands;

use crate::arabic;
use crate::calendar::{self, Clock};
use crate::config::Config;
use crate::publish::{SharedStore, current};
use crate::render;
use crate::storage::{Db, Subscription};

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), HandlerError>;

/// What handlers share. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: SharedStore,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// The bot's @username without the @, for `/cmd@Bot` and mentions.
    pub username: String,
}

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    #[command(description = "بدء الاستخدام")]
    Start,
    #[command(description = "كيف تسأل البوت")]
    Help,
    #[command(description = "منشور اليوم")]
    Today,
    #[command(description = "الاشتراك في المنشور اليومي")]
    Subscribe,
    #[command(description = "إلغاء الاشتراك")]
    Unsubscribe,
    #[command(description = "عن البوت ومصادره")]
    About,
}

/// Parses a command, also when a newline rather than a space follows it
/// (`/event\nمونتي`), which teloxide's parser rejects.
pub fn parse_command(text: &str, bot_username: &str) -> Option<Command> {
    let first_break = text.find(char::is_whitespace);
    let text = match first_break {
        Some(i) if text[i..].starts_with('\n') => {
            format!("{} {}", &text[..i], text[i..].trim_start())
        }
        _ => text.to_owned(),
    };
    Command::parse(&text, bot_username).ok()
}

/// Every update goes through this tree; tests drive it through a fake Bot API.
pub fn handler_tree() -> UpdateHandler<HandlerError> {
    dptree::entry()
        .branch(Update::filter_my_chat_member().endpoint(on_my_chat_member))
        .branch(
            Update::filter_message()
                .filter_map(|msg: Message, app: App| {
                    msg.text().and_then(|t| parse_command(t, &app.username))
                })
                .endpoint(on_command),
        )
}

/// Replies in the chat and forum topic of `msg`, as a reply to it.
pub async fn reply(
    bot: &Bot,
    msg: &Message,
    html: &str,
) -> Result<Message, teloxide::RequestError> {
    let mut request = bot
        .send_message(msg.chat.id, html)
        .parse_mode(ParseMode::Html)
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
    if msg.is_topic_message
        && let Some(thread) = msg.thread_id
    {
        request = request.message_thread_id(thread);
    }
    request.await
}

async fn on_command(bot: Bot, msg: Message, cmd: Command, app: App) -> HandlerResult {
    match cmd {
        Command::Start | Command::Help => {
            reply(&bot, &msg, HELP).await?;
        }
        Command::About => {
            let store = current(&app.store);
            let text = format!(
                "<b>ذكرى</b> بوت «في مثل هذا اليوم» عن حملة إيطاليا في الحرب العالمية الثانية (1943–1945).\nفي ذاكرته {} حدثًا على {} يومًا من أيام السنة، لكل حدث مصادره مذكورة في منشوره.\nالمصدر الأول: منشور «في مثل هذا اليوم 4 يونيو 1944م»، مع تصحيح ما خالف فيه الثابت تاريخيًا.",
                arabic::digits(store.len(), app.config.style.digits),
                arabic::digits(store.days_covered().len(), app.config.style.digits)
            );
            reply(&bot, &msg, &render::keep_rtl(&text)).await?;
        }
        Command::Today => {
            let store = current(&app.store);
            let today = calendar::today(app.clock.now(), app.config.timezone);
            let events = store.on_date(today, app.config.leap_day);
            if events.is_empty() {
                let mut text = format!(
                    "لا ذكرى مسجلة ليوم {}.",
                    render::escape(&render::day_month_ar(today, app.config.style))
                );
                if let Some((next, evs)) = store.next_after(today, app.config.leap_day) {
                    text.push_str(&format!(
                        "\nالذكرى التالية: {} — {}",
                        render::escape(&render::day_month_ar(next, app.config.style)),
                        render::escape(&evs[0].title_ar)
                    ));
                }
                reply(&bot, &msg, &render::keep_rtl(&text)).await?;
            } else {
                for part in render::post(&events, &store, app.config.style) {
                    reply(&bot, &msg, &part).await?;
                }
            }
        }
        Command::Subscribe | Command::Unsubscribe => subscription(&bot, &msg, cmd, &app).await?,
    }
    Ok(())
}

const HELP: &str = "أهلًا! أنا <b>ذكرى</b>: أنشر كل يوم ما جرى «في مثل هذا اليوم» في حملة إيطاليا (1943–1945).\n\n/today — منشور اليوم\n/subscribe — استلام المنشور اليومي هنا\n/unsubscribe — إيقافه\n/about — عن البوت ومصادره";

async fn subscription(bot: &Bot, msg: &Message, cmd: Command, app: &App) -> HandlerResult {
    let now = app.clock.now();
    if msg.chat.is_channel() {
        return Ok(());
    }
    // In a group only its administrators decide; in a private chat the user does.
    if !msg.chat.is_private() {
        let Some(user) = msg.from.as_ref() else {
            return Ok(());
        };
        let member = bot.get_chat_member(msg.chat.id, user.id).await?;
        if !member.is_privileged() {
            reply(bot, msg, "هذا الأمر لمشرفي المجموعة فقط.").await?;
            return Ok(());
        }
    }
    let kind = if msg.chat.is_private() {
        "private"
    } else if msg.chat.is_supergroup() {
        "supergroup"
    } else {
        "group"
    };
    let topic = if msg.is_topic_message {
        msg.thread_id.map(|t| t.0.0)
    } else {
        None
    };
    let text = match cmd {
        Command::Subscribe => match app.db.subscribe(msg.chat.id.0, kind, topic, now).await? {
            Subscription::Added => format!(
                "تم الاشتراك. سيصلكم منشور «في مثل هذا اليوم» كل يوم في الساعة {} بتوقيت {}.",
                app.config.post_time.0.format("%H:%M"),
                app.config.timezone
            ),
            _ => "أنتم مشتركون بالفعل.".to_owned(),
        },
        _ => match app.db.unsubscribe(msg.chat.id.0, now).await? {
            Subscription::Removed => {
                "تم إلغاء الاشتراك. لن تصلكم المنشورات اليومية بعد الآن.".to_owned()
            }
            Subscription::Configured => {
                "هذه المحادثة مضافة في إعدادات البوت؛ يلغيها مشغّل البوت.".to_owned()
            }
            _ => "لستم مشتركين.".to_owned(),
        },
    };
    reply(bot, msg, &render::keep_rtl(&render::escape(&text))).await?;
    app.db
        .audit(
            msg.from.as_ref().map(|u| u.id.0),
            &format!("{cmd:?}").to_lowercase(),
            &msg.chat.id.to_string(),
            "ok",
            now,
        )
        .await?;
    Ok(())
}

/// The bot was added to, or removed from, a chat: a disabled target comes back
/// when the bot is added again; one it was removed from is disabled at once.
async fn on_my_chat_member(update: ChatMemberUpdated, app: App) -> HandlerResult {
    let now = app.clock.now();
    let Some(target) = app.db.target_by_chat(update.chat.id.0).await? else {
        return Ok(());
    };
    if update.new_chat_member.is_present() {
        if app.db.enable_target(target.id, now).await? {
            tracing::info!(target = %target.label(), "bot added back; target enabled again");
        }
    } else if target.enabled {
        let why = "the bot was removed from the chat";
        app.db.disable_target(target.id, why, now).await?;
        tracing::warn!(target = %target.label(), "{why}; target disabled");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_bot_name_and_newline() {
        assert_eq!(parse_command("/today", "DhikraBot"), Some(Command::Today));
        assert_eq!(
            parse_command("/today@DhikraBot", "DhikraBot"),
            Some(Command::Today)
        );
        assert_eq!(
            parse_command("/today@dhikrabot", "DhikraBot"),
            Some(Command::Today)
        );
        assert_eq!(parse_command("/today@OtherBot", "DhikraBot"), None);
        assert_eq!(
            parse_command("/subscribe\n", "DhikraBot"),
            Some(Command::Subscribe)
        );
        assert_eq!(parse_command("hello", "DhikraBot"), None);
    }
}
