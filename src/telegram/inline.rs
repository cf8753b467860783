//! Inline mode, `@Bot مونتي`: up to ten events to share in any chat; an empty
//! query offers today's and the next ones.

use teloxide::prelude::*;
use teloxide::types::{
    InlineQueryResult, InlineQueryResultArticle, InputMessageContent, InputMessageContentText,
    ParseMode,
};

use crate::core::answer;
use crate::core::dates;
use crate::core::event::Event;
use crate::core::render;
use crate::core::schedule;
use crate::core::search;
use crate::data::current;
use crate::publishing::no_preview;
use crate::telegram::context::{BotContext, HandlerResult};

/// Telegram shows at most 50; ten keep the list readable.
const RESULTS: usize = 10;

pub async fn on_inline(bot: Bot, q: InlineQuery, ctx: BotContext) -> HandlerResult {
    let catalog = current(&ctx.catalog);
    let store = &catalog.store;
    let style = ctx.config.style;
    let layout = ctx.publisher.layout().await;
    let query = answer::clip(&q.query);
    let events: Vec<&Event> = if query.trim().is_empty() {
        schedule::upcoming(store, ctx.today(), ctx.config.leap_day, RESULTS)
    } else {
        match dates::parse(query) {
            Some(date) => store
                .all()
                .iter()
                .filter(|e| date.matches(e.date))
                .collect(),
            None => search::events(store, &catalog.index.search(query).hits),
        }
    };
    let results: Vec<InlineQueryResult> = events
        .into_iter()
        .take(RESULTS)
        .map(|e| {
            let html = render::post(&[e], store, layout)
                .into_iter()
                .next()
                .unwrap_or_default();
            let content = InputMessageContent::Text(
                InputMessageContentText::new(html)
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview()),
            );
            InlineQueryResultArticle::new(e.id.to_string(), e.title_ar.clone(), content)
                .description(render::date_ar(e.date, style))
                .into()
        })
        .collect();
    bot.answer_inline_query(q.id, results)
        .cache_time(300)
        .await?;
    Ok(())
}
