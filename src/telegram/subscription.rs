//! `/subscribe` and `/unsubscribe`: a group's administrators, or the user in a
//! private chat, turn the daily post on or off for that chat (and its topic).

use teloxide::prelude::*;

use crate::core::render;
use crate::db::{AuditOutcome, Subscription};
use crate::telegram::context::{BotContext, HandlerResult};
use crate::telegram::reply::reply_html;

pub async fn subscribe(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    if !may_change(&ctx, &bot, &msg).await? {
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
    done(&bot, &msg, &ctx, "subscribe", &text).await
}

pub async fn unsubscribe(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    if !may_change(&ctx, &bot, &msg).await? {
        return Ok(());
    }
    let text = match ctx.db.unsubscribe(msg.chat.id.0, ctx.clock.now()).await? {
        Subscription::Removed => "تم إلغاء الاشتراك. لن تصلكم المنشورات اليومية بعد الآن.",
        Subscription::Configured => "هذه المحادثة مضافة في إعدادات البوت؛ يلغيها مشغّل البوت.",
        _ => "لستم مشتركين.",
    };
    done(&bot, &msg, &ctx, "unsubscribe", text).await
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
    if msg.chat.is_private() {
        return Ok(true);
    }
    let Some(user) = msg.from.as_ref() else {
        return Ok(false);
    };
    if bot
        .get_chat_member(msg.chat.id, user.id)
        .await?
        .is_privileged()
    {
        return Ok(true);
    }
    reply_html(ctx, bot, msg, "هذا الأمر لمشرفي المجموعة فقط.", None).await?;
    Ok(false)
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
