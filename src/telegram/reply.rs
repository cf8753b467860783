//! Sending a reply to a message: in its chat and forum topic, as HTML split at
//! Telegram's limit, the keyboard on the last part.

use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, ReplyParameters, ThreadId,
};

use crate::core::answer::Reply;
use crate::core::render;
use crate::db::StorageError;
use crate::publishing::{Photo, describe, no_preview};
use crate::telegram::callback::Callback;
use crate::telegram::context::{BotContext, HandlerResult};

/// Sends HTML as a reply to `msg`, in its chat and forum topic, split at Telegram's
/// limit; the keyboard goes on the last part.
pub async fn reply_html(
    ctx: &BotContext,
    bot: &Bot,
    msg: &Message,
    html: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> HandlerResult {
    let parts = render::split(html, render::MESSAGE_LIMIT);
    let last = parts.len().saturating_sub(1);
    let mut keyboard = keyboard;
    for (i, part) in parts.into_iter().enumerate() {
        // Answers count against the bot's limits like the daily post: one limiter
        // paces both, so a question during a broadcast gets no 429.
        ctx.publisher.sender.limiter.wait(msg.chat.id.0).await;
        let mut request = bot
            .send_message(msg.chat.id, part)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
        if let Some(thread) = topic(msg) {
            request = request.message_thread_id(thread);
        }
        if i == last
            && let Some(k) = keyboard.take()
        {
            request = request.reply_markup(k);
        }
        request.await?;
    }
    Ok(())
}

/// Told to whoever asked for something the database must do while it does
/// not answer (a leader cut off from it keeps answering questions).
pub const TRY_AGAIN: &str =
    "تعذّر تنفيذ الطلب الآن لأن قاعدة البيانات لا تستجيب؛ أعد المحاولة بعد قليل.";

/// Passes a handler's result on, first telling the user when the database
/// failed it: otherwise a `/subscribe` during an outage got no answer at all
/// (the dispatcher still logs the error).
pub async fn or_try_again(
    ctx: &BotContext,
    bot: &Bot,
    msg: &Message,
    result: HandlerResult,
) -> HandlerResult {
    if let Err(e) = &result
        && e.downcast_ref::<StorageError>().is_some()
        && let Err(e) = reply_html(ctx, bot, msg, TRY_AGAIN, None).await
    {
        tracing::warn!(error = %e, "could not say the database is away");
    }
    result
}

/// Sends the day's card as a reply (the picture uploaded once, as for the
/// channels). A picture that cannot be sent is logged and skipped: the text
/// that follows it is the answer.
pub async fn reply_photo(ctx: &BotContext, bot: &Bot, msg: &Message, photo: &Photo) {
    send_photo(ctx, bot, msg.chat.id, photo, Some(msg)).await;
}

/// Sends the day's card to `chat`, in reply to `to` when given; a failure is
/// logged, never fatal: the text follows it.
pub async fn send_photo(
    ctx: &BotContext,
    bot: &Bot,
    chat: ChatId,
    photo: &Photo,
    to: Option<&Message>,
) {
    let Some(upload) = photo.upload().await else {
        return;
    };
    ctx.publisher.sender.limiter.wait(chat.0).await;
    let mut request = bot
        .send_photo(chat, upload.input())
        .caption(photo.caption.clone())
        .parse_mode(ParseMode::Html);
    if let Some(msg) = to {
        request =
            request.reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
        if let Some(thread) = topic(msg) {
            request = request.message_thread_id(thread);
        }
    }
    match request.await {
        Ok(sent) => upload.sent(&sent),
        Err(e) => {
            tracing::warn!(error = %describe(&e), "the day's card was not sent; the text follows")
        }
    }
}

/// The forum topic a reply belongs in: the message's, when it was in one.
fn topic(msg: &Message) -> Option<ThreadId> {
    msg.thread_id.filter(|_| msg.is_topic_message)
}

/// A reply from the core, with its buttons.
pub async fn send_reply(
    ctx: &BotContext,
    bot: &Bot,
    msg: &Message,
    reply: &Reply,
) -> HandlerResult {
    reply_html(ctx, bot, msg, &reply.html, keyboard(reply)).await
}

/// One button per row, each carrying its typed callback.
pub fn keyboard(reply: &Reply) -> Option<InlineKeyboardMarkup> {
    (!reply.buttons.is_empty()).then(|| {
        buttons(
            reply
                .buttons
                .iter()
                .map(|b| (b.text.clone(), Callback::from(&b.action))),
        )
    })
}

/// A keyboard of one button per row.
pub fn buttons(rows: impl IntoIterator<Item = (String, Callback)>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        rows.into_iter()
            .map(|(text, cb)| vec![InlineKeyboardButton::callback(text, cb.encode())]),
    )
}
