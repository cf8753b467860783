//! The user commands, one endpoint each: `/start`, `/help`, `/about`, `/today`,
//! `/event`, `/date`, `/battles`. `/subscribe` lives in `subscription`.

use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use crate::core::answer::{self, Reply, ReplyKind};
use crate::core::arabic;
use crate::core::card::Card;
use crate::core::dates;
use crate::core::render;
use crate::core::search::Catalog;
use crate::data::current;
use crate::telegram::context::{BotContext, HandlerResult};
use crate::telegram::questions::may_ask;
use crate::telegram::reply::{reply_html, reply_photo, send_reply};

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    #[command(description = "بدء الاستخدام")]
    Start(String),
    #[command(description = "كيف تسأل البوت")]
    Help,
    #[command(description = "منشور اليوم")]
    Today,
    #[command(description = "سؤال عن حدث أو معركة")]
    Event(String),
    #[command(description = "ما جرى في تاريخ معين")]
    Date(String),
    #[command(description = "قائمة المعارك")]
    Battles,
    #[command(description = "الاشتراك في المنشور اليومي")]
    Subscribe,
    #[command(description = "إلغاء الاشتراك")]
    Unsubscribe,
    #[command(description = "خيارات المنشور اليومي هنا: الصورة والتنبيه والتثبيت")]
    Settings,
    #[command(description = "عن البوت ومصادره")]
    About,
}

/// A command with a newline rather than a space after it (`/event\nمونتي`), which
/// teloxide's parser rejects, rewritten with a space.
pub fn normalize_command(text: &str) -> String {
    match text.find(char::is_whitespace) {
        Some(i) if text[i..].starts_with(['\n', '\r']) => {
            format!("{} {}", &text[..i], text[i..].trim_start())
        }
        _ => text.to_owned(),
    }
}

pub fn parse_command(text: &str, bot_username: &str) -> Option<Command> {
    Command::parse(&normalize_command(text), bot_username).ok()
}

/// `/start` and `/help`: what the bot does and how to ask.
pub async fn help(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    send_reply(&ctx, &bot, &msg, &answer::help()).await
}

pub async fn about(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    let catalog = current(&ctx.catalog);
    reply_html(&ctx, &bot, &msg, &about_text(&catalog, &ctx), None).await
}

fn about_text(catalog: &Catalog, ctx: &BotContext) -> String {
    let digits = ctx.config.style.digits;
    render::keep_rtl(&format!(
        "<b>ذكرى</b> بوت «في مثل هذا اليوم» عن الحرب العالمية الثانية في البحر المتوسط والشرق الأوسط (1940–1945): شمال أفريقيا والشام والعراق وشرق أفريقيا والبحر، وفي قلبها حملة إيطاليا.\nفي ذاكرته {} حدثًا على {} يومًا من أيام السنة، ولكل حدث مصادره العامة مذكورة في منشوره (ويكيبيديا العربية والإنجليزية وغيرهما). حيث تختلف المصادر في تاريخ أو رقم يقول المنشور ذلك.",
        arabic::digits(catalog.store.len(), digits),
        arabic::digits(catalog.store.days_covered().len(), digits)
    ))
}

/// `/today`: today's post, or the next anniversary when today has none.
pub async fn today(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    let catalog = current(&ctx.catalog);
    let (style, date) = (ctx.config.style, ctx.today());
    let events = catalog.store.on_date(date, ctx.config.leap_day);
    if let Some(card) = Card::of_day(&events, style) {
        let photo = ctx
            .publisher
            .photos
            .of(card, format!("dhikra-{date}.png"))
            .await;
        reply_photo(&ctx, &bot, &msg, &photo).await;
    }
    if !events.is_empty() {
        let layout = ctx.publisher.layout().await;
        for part in render::post(&events, &catalog.store, layout) {
            reply_html(&ctx, &bot, &msg, &part, None).await?;
        }
        return Ok(());
    }
    let day = |d| render::escape(&render::day_month_ar(d, style));
    let mut text = format!("لا ذكرى مسجلة ليوم {}.", day(date));
    if let Some((next, evs)) = catalog.store.next_after(date, ctx.config.leap_day) {
        let title = render::escape(&evs[0].title_ar);
        text.push_str(&format!("\nالذكرى التالية: {} — {title}", day(next)));
    }
    reply_html(&ctx, &bot, &msg, &render::keep_rtl(&text), None).await
}

/// `/event <question or name>`; alone, the list of events.
pub async fn event(bot: Bot, msg: Message, query: String, ctx: BotContext) -> HandlerResult {
    if !may_ask(&msg, &ctx) {
        return Ok(());
    }
    let catalog = current(&ctx.catalog);
    let reply = if query.trim().is_empty() {
        answer::all_events(&catalog, ctx.config.style)
    } else {
        answer::reply(&catalog, &query, ctx.config.style, ctx.today())
    };
    send_reply(&ctx, &bot, &msg, &reply).await
}

/// `/date <date>`: what happened on a day.
pub async fn date(bot: Bot, msg: Message, text: String, ctx: BotContext) -> HandlerResult {
    if !may_ask(&msg, &ctx) {
        return Ok(());
    }
    let catalog = current(&ctx.catalog);
    let text = answer::clip(&text);
    let reply = if dates::parse(text).is_some() {
        answer::reply(&catalog, text, ctx.config.style, ctx.today())
    } else {
        let html = "لم أفهم التاريخ. أمثلة: <code>/date 4 يونيو 1944</code> أو <code>/date 04-06</code> أو <code>/date السادس من حزيران</code>";
        Reply {
            kind: ReplyKind::NoMatch,
            events: vec![],
            html: render::keep_rtl(html),
            buttons: vec![],
        }
    };
    send_reply(&ctx, &bot, &msg, &reply).await
}

pub async fn battles(bot: Bot, msg: Message, ctx: BotContext) -> HandlerResult {
    let catalog = current(&ctx.catalog);
    send_reply(
        &ctx,
        &bot,
        &msg,
        &answer::battles(&catalog, ctx.config.style),
    )
    .await
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
            parse_command("/event مونتي كاسينو", "DhikraBot"),
            Some(Command::Event("مونتي كاسينو".into()))
        );
        assert_eq!(
            parse_command("/event@DhikraBot\nمونتي", "DhikraBot"),
            Some(Command::Event("مونتي".into()))
        );
        assert_eq!(
            parse_command("/event", "DhikraBot"),
            Some(Command::Event(String::new()))
        );
        assert_eq!(parse_command("hello", "DhikraBot"), None);
        assert_eq!(
            parse_command("/start rome-liberation", "DhikraBot"),
            Some(Command::Start("rome-liberation".into()))
        );
    }
}
