//! Questions in plain text: any message in a private chat; in a group only a
//! reply to the bot or a message that mentions it. Also the buttons of an
//! answer («📖 القصة كاملة», «هل تقصد») and `/start <event id>` deep links.

use teloxide::prelude::*;
use teloxide::types::Me;

use crate::core::answer;
use crate::core::event::Event;
use crate::core::render::{self, Layout};
use crate::core::search::Catalog;
use crate::data::current;
use crate::telegram::callback::Callback;
use crate::telegram::context::{BotContext, HandlerResult};
use crate::telegram::reply::{reply_html, send_reply};

/// The question a plain message asks: any text in a private chat; in a group only a
/// reply to the bot or a message that mentions it (with the mention removed).
pub fn question_in(msg: Message, me: Me) -> Option<String> {
    let text = msg.text()?;
    if text.starts_with('/') {
        return None; // Another bot's command, or ours addressed elsewhere.
    }
    if msg.chat.is_private() {
        return Some(text.to_owned());
    }
    let username = me.username();
    let mention = format!("@{}", username.to_ascii_lowercase());
    // ASCII lowercasing keeps byte offsets, so `at` is valid in `text` too.
    let lower = text.to_ascii_lowercase();
    if let Some(at) = lower.find(&mention) {
        let mut q = text.to_owned();
        if text.is_char_boundary(at) && text.is_char_boundary(at + mention.len()) {
            q.replace_range(at..at + mention.len(), " ");
        }
        return Some(q);
    }
    let replied_to_bot = msg
        .reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|u| {
            u.is_bot
                && u.username
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(username))
        });
    replied_to_bot.then(|| text.to_owned())
}

/// The per-user cooldown applies in groups only.
pub fn may_ask(msg: &Message, ctx: &BotContext) -> bool {
    if msg.chat.is_private() {
        return true;
    }
    let user = msg.from.as_ref().map_or(0, |u| u.id.0);
    ctx.cooldown.allow(msg.chat.id.0, user)
}

pub async fn on_question(
    bot: Bot,
    msg: Message,
    question: String,
    ctx: BotContext,
) -> HandlerResult {
    if !may_ask(&msg, &ctx) {
        return Ok(());
    }
    let catalog = current(&ctx.catalog);
    let reply = answer::reply(&catalog, &question, ctx.config.style, ctx.today());
    send_reply(&ctx, &bot, &msg, &reply).await
}

/// `/start`, or `/start <event id>` from a «ذات صلة» link: that event's whole story.
pub async fn on_start(bot: Bot, msg: Message, arg: String, ctx: BotContext) -> HandlerResult {
    let catalog = current(&ctx.catalog);
    match catalog.store.get(arg.trim()) {
        Some(event) if msg.chat.is_private() => full_story(&bot, &msg, &catalog, event, &ctx).await,
        _ => send_reply(&ctx, &bot, &msg, &answer::help()).await,
    }
}

/// A button of an answer: the whole story, or an answer about the event picked.
pub async fn on_button(bot: Bot, q: CallbackQuery, cb: Callback, ctx: BotContext) -> HandlerResult {
    bot.answer_callback_query(q.id.clone()).await?;
    let Some(msg) = q.regular_message() else {
        return Ok(());
    };
    let catalog = current(&ctx.catalog);
    match cb {
        Callback::Full(id) => {
            if let Some(event) = catalog.store.get(id.as_str()) {
                full_story(&bot, msg, &catalog, event, &ctx).await?;
            }
        }
        Callback::Pick(id, intent) => {
            if let Some(event) = catalog.store.get(id.as_str()) {
                let reply = answer::answer(event, intent, "", ctx.config.style);
                send_reply(&ctx, &bot, msg, &reply).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A button this bot no longer knows (an old keyboard): only stop its spinner.
pub async fn on_unknown_button(bot: Bot, q: CallbackQuery) -> HandlerResult {
    bot.answer_callback_query(q.id).await?;
    Ok(())
}

async fn full_story(
    bot: &Bot,
    msg: &Message,
    catalog: &Catalog,
    event: &Event,
    ctx: &BotContext,
) -> HandlerResult {
    let related: Vec<_> = event
        .related
        .iter()
        .filter_map(|r| catalog.store.get(r.as_str()))
        .collect();
    // Asked for: the whole story, unfolded; its related events open as links.
    let layout = Layout {
        fold: false,
        ..ctx.publisher.layout().await
    };
    let html = render::event_block(event, &related, layout);
    reply_html(ctx, bot, msg, &render::keep_rtl(&html), None).await
}
