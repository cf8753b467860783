//! `/subscribe`, `/unsubscribe` and `/settings`: a group's administrators, or the
//! user in a private chat, turn the daily post on or off for that chat (and its
//! topic), and choose how it comes (picture, notification, pin, link preview).

use teloxide::prelude::*;
use teloxide::types::{Chat, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, User};

use crate::config::{TargetOption, TargetOptions};
use crate::core::render;
use crate::db::{AuditOutcome, Subscription, Target};
use crate::telegram::callback::Callback;
use crate::telegram::context::{BotContext, HandlerResult};
use crate::telegram::reply::{or_try_again, reply_html};

pub async fn subscribe(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    let result = subscribe_here(&bot, &msg, &ctx).await;
    or_try_again(&ctx, &bot, &msg, result).await
}

pub async fn unsubscribe(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    let result = unsubscribe_here(&bot, &msg, &ctx).await;
    or_try_again(&ctx, &bot, &msg, result).await
}

/// `/settings`: how the daily post comes to this chat, one button per option.
pub async fn settings(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    let result = settings_here(&bot, &msg, &ctx).await;
    or_try_again(&ctx, &bot, &msg, result).await
}

async fn subscribe_here(bot: &Bot, msg: &Message, ctx: &BotContext) -> HandlerResult {
    if !may_change(ctx, bot, msg).await? {
        return Ok(());
    }
    let now = ctx.clock.now();
    let topic = if msg.is_topic_message {
        msg.thread_id.map(|t| t.0.0)
    } else {
        None
    };
    let added = ctx
        .db
        .subscribe(msg.chat.id.0, crate::chat_kind!(msg.chat), topic, now)
        .await?;
    let text = match added {
        Subscription::Added => format!(
            "تم الاشتراك. سيصلكم منشور «في مثل هذا اليوم» كل يوم في الساعة {} بتوقيت {}.",
            ctx.config.post_time.0.format("%H:%M"),
            ctx.config.timezone
        ),
        _ => "أنتم مشتركون بالفعل.".to_owned(),
    };
    done(bot, msg, ctx, "subscribe", &text).await
}

async fn unsubscribe_here(bot: &Bot, msg: &Message, ctx: &BotContext) -> HandlerResult {
    if !may_change(ctx, bot, msg).await? {
        return Ok(());
    }
    let text = match ctx.db.unsubscribe(msg.chat.id.0, ctx.clock.now()).await? {
        Subscription::Removed => "تم إلغاء الاشتراك. لن تصلكم المنشورات اليومية بعد الآن.",
        Subscription::Configured => "هذه المحادثة مضافة في إعدادات البوت؛ يلغيها مشغّل البوت.",
        _ => "لستم مشتركين.",
    };
    done(bot, msg, ctx, "unsubscribe", text).await
}

async fn settings_here(bot: &Bot, msg: &Message, ctx: &BotContext) -> HandlerResult {
    if !may_change(ctx, bot, msg).await? {
        return Ok(());
    }
    let (text, keyboard) = match ctx.db.target_by_chat(msg.chat.id.0).await? {
        Some(t) if !t.removed && t.source == "subscription" => (
            settings_text(&t.options()),
            Some(settings_keyboard(&t.options())),
        ),
        Some(t) if !t.removed => (
            format!(
                "{}\nهذه المحادثة مضافة في إعدادات البوت؛ يضبط مشغّل البوت خياراتها.",
                settings_text(&t.options())
            ),
            None,
        ),
        _ => (
            "هذه المحادثة غير مشتركة في المنشور اليومي. اشتركوا أولًا بالأمر /subscribe.".into(),
            None,
        ),
    };
    reply_html(ctx, bot, msg, &render::keep_rtl(&text), keyboard).await?;
    Ok(())
}

/// A `/settings` button: checked again (the keyboard stays in the chat for
/// anyone to press), saved, and the message redrawn with the new state.
pub async fn on_setting(
    bot: Bot,
    q: CallbackQuery,
    (option, on): (TargetOption, bool),
    ctx: BotContext,
) -> HandlerResult {
    let Some(msg) = q.regular_message() else {
        bot.answer_callback_query(q.id.clone()).await?;
        return Ok(());
    };
    if !is_chat_admin(&bot, &msg.chat, Some(&q.from)).await? {
        bot.answer_callback_query(q.id.clone())
            .text("هذا الخيار لمشرفي المجموعة فقط.")
            .await?;
        return Ok(());
    }
    let Some(target) = subscribed(&ctx, msg.chat.id.0).await? else {
        bot.answer_callback_query(q.id.clone())
            .text("هذه المحادثة غير مشتركة.")
            .await?;
        return Ok(());
    };
    let now = ctx.clock.now();
    ctx.db.set_option(target.id, option, on, now).await?;
    let mut options = target.options();
    options.set(option, on);
    let change = format!("{}={}", option.as_str(), if on { "on" } else { "off" });
    ctx.db
        .audit(
            Some(q.from.id.0),
            "settings",
            &change,
            &AuditOutcome::Ok,
            now,
        )
        .await?;
    bot.answer_callback_query(q.id.clone()).text("تم.").await?;
    bot.edit_message_text(
        msg.chat.id,
        msg.id,
        render::keep_rtl(&settings_text(&options)),
    )
    .parse_mode(ParseMode::Html)
    .reply_markup(settings_keyboard(&options))
    .await?;
    Ok(())
}

async fn subscribed(
    ctx: &BotContext,
    chat: i64,
) -> Result<Option<Target>, crate::telegram::context::HandlerError> {
    Ok(ctx
        .db
        .target_by_chat(chat)
        .await?
        .filter(|t| !t.removed && t.source == "subscription"))
}

/// How each option reads to the chat: what it does when on.
fn label(option: TargetOption) -> &'static str {
    match option {
        TargetOption::Image => "صورة اليوم مع المنشور",
        TargetOption::Silent => "إرسال صامت بلا تنبيه",
        TargetOption::Pin => "تثبيت منشور اليوم",
        TargetOption::LinkPreview => "معاينة أول رابط",
    }
}

fn settings_text(options: &TargetOptions) -> String {
    let mut text = String::from("<b>خيارات المنشور اليومي في هذه المحادثة</b>");
    for option in TargetOption::ALL {
        let state = if options.get(option) {
            "مفعّل"
        } else {
            "معطّل"
        };
        text.push_str(&format!("\n• {}: {state}", label(option)));
    }
    text
}

/// One button per option; pressing it sets the opposite of what it shows.
fn settings_keyboard(options: &TargetOptions) -> InlineKeyboardMarkup {
    let rows = TargetOption::ALL.into_iter().map(|option| {
        let on = options.get(option);
        let mark = if on { "✅" } else { "⬜" };
        let data = Callback::SetOption { option, on: !on }.encode();
        vec![InlineKeyboardButton::callback(
            format!("{mark} {}", label(option)),
            data,
        )]
    });
    InlineKeyboardMarkup::new(rows)
}

/// In a group only its administrators decide; in a private chat the user does;
/// channels subscribe through the config.
async fn may_change(
    ctx: &BotContext,
    bot: &Bot,
    msg: &Message,
) -> Result<bool, crate::telegram::context::HandlerError> {
    if msg.chat.is_channel() {
        return Ok(false);
    }
    if is_chat_admin(bot, &msg.chat, msg.from.as_ref()).await? {
        return Ok(true);
    }
    reply_html(ctx, bot, msg, "هذا الأمر لمشرفي المجموعة فقط.", None).await?;
    Ok(false)
}

/// The user in a private chat, or an administrator of a group (asked of Telegram).
async fn is_chat_admin(
    bot: &Bot,
    chat: &Chat,
    user: Option<&User>,
) -> Result<bool, crate::telegram::context::HandlerError> {
    if chat.is_channel() {
        return Ok(false);
    }
    if chat.is_private() {
        return Ok(true);
    }
    let Some(user) = user else {
        return Ok(false);
    };
    Ok(bot.get_chat_member(chat.id, user.id).await?.is_privileged())
}

async fn done(
    bot: &Bot,
    msg: &Message,
    ctx: &BotContext,
    action: &str,
    text: &str,
) -> HandlerResult {
    reply_html(
        ctx,
        bot,
        msg,
        &render::keep_rtl(&render::escape(text)),
        None,
    )
    .await?;
    let user = msg.from.as_ref().map(|u| u.id.0);
    let chat = msg.chat.id.to_string();
    ctx.db
        .audit(user, action, &chat, &AuditOutcome::Ok, ctx.clock.now())
        .await?;
    Ok(())
}
