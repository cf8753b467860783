//! The Telegram side: `handler_tree()` routes every update; each handler is a
//! short function that asks the core (`answer`, `render`) for a reply and sends it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{
    ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResult,
    InlineQueryResultArticle, InputMessageContent, InputMessageContentText, LinkPreviewOptions,
    ParseMode, ReplyParameters,
};
use teloxide::utils::command::BotCommands;
use tokio::sync::watch;

use crate::admin;
use crate::answer::{self, Intent, Reply};
use crate::arabic;
use crate::calendar::{self, Clock};
use crate::config::Config;
use crate::dates;
use crate::publish::{Publisher, SharedCatalog, current};
use crate::render;
use crate::search::{self, Catalog};
use crate::storage::{Db, Subscription};

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), HandlerError>;

/// What handlers share. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub catalog: SharedCatalog,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    /// The bot's @username without the @, for `/cmd@Bot` and mentions.
    pub username: String,
    pub cooldown: Arc<Cooldown>,
    /// Reposts go through the same path as the daily post.
    pub publisher: Arc<Publisher>,
    /// Set on shutdown; a repost in progress stops before its next claim.
    pub stop: watch::Receiver<bool>,
    /// Where `/reload` re-reads the targets from (none: data only).
    pub config_path: Option<PathBuf>,
    pub health: Arc<crate::ops::Health>,
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

/// One question per user every few seconds in a group, so one person cannot flood it.
pub struct Cooldown {
    every: Duration,
    last: Mutex<HashMap<(i64, u64), Instant>>,
}

impl Cooldown {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this user may ask now in this chat (and records the ask).
    pub fn allow(&self, chat: i64, user: u64) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() > 10_000 {
            last.retain(|_, t| now.duration_since(*t) < self.every);
        }
        match last.get(&(chat, user)) {
            Some(t) if now.duration_since(*t) < self.every => false,
            _ => {
                last.insert((chat, user), now);
                true
            }
        }
    }
}

/// Every update goes through this tree; tests drive it through a fake Bot API.
pub fn handler_tree() -> UpdateHandler<HandlerError> {
    dptree::entry()
        .inspect(|app: App| {
            app.health.api_ok();
            metrics::counter!(crate::ops::names::UPDATES).increment(1);
        })
        .branch(Update::filter_my_chat_member().endpoint(on_my_chat_member))
        .branch(
            Update::filter_callback_query()
                .branch(
                    dptree::filter(|q: CallbackQuery| {
                        q.data
                            .as_deref()
                            .is_some_and(|d| d.starts_with("rp:") || d.starts_with("tg:"))
                    })
                    .endpoint(admin::on_admin_callback),
                )
                .endpoint(on_callback),
        )
        .branch(Update::filter_inline_query().endpoint(on_inline))
        .branch(
            Update::filter_message()
                .branch(
                    dptree::filter_map(|msg: Message, app: App| {
                        msg.text().and_then(|t| parse_command(t, &app.username))
                    })
                    .endpoint(on_command),
                )
                .branch(
                    dptree::filter_map(|msg: Message, app: App| {
                        msg.text()
                            .and_then(|t| admin::parse_admin_command(t, &app.username))
                    })
                    .endpoint(admin::on_admin_command),
                )
                .branch(dptree::filter_map(question_in).endpoint(on_question)),
        )
}

/// The question a plain message asks: any text in a private chat; in a group only a
/// reply to the bot or a message that mentions it (with the mention removed).
fn question_in(msg: Message, app: App) -> Option<String> {
    let text = msg.text()?;
    if text.starts_with('/') {
        return None; // Another bot's command, or ours addressed elsewhere.
    }
    if msg.chat.is_private() {
        return Some(text.to_owned());
    }
    let mention = format!("@{}", app.username.to_ascii_lowercase());
    // ASCII lowercasing keeps byte offsets, so `at` is valid in `text` too.
    let lower = text.to_ascii_lowercase();
    let replied_to_bot = msg
        .reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|u| {
            u.is_bot
                && u.username
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&app.username))
        });
    if let Some(at) = lower.find(&mention) {
        let mut q = text.to_owned();
        if text.is_char_boundary(at) && text.is_char_boundary(at + mention.len()) {
            q.replace_range(at..at + mention.len(), " ");
        }
        return Some(q);
    }
    replied_to_bot.then(|| text.to_owned())
}

fn keyboard(reply: &Reply) -> Option<InlineKeyboardMarkup> {
    (!reply.buttons.is_empty()).then(|| {
        InlineKeyboardMarkup::new(reply.buttons.iter().map(|b| {
            vec![InlineKeyboardButton::callback(
                b.text.clone(),
                b.data.clone(),
            )]
        }))
    })
}

/// Sends HTML as a reply to `msg`, in its chat and forum topic, split at Telegram's
/// limit; the keyboard goes on the last part.
pub async fn reply_html(
    bot: &Bot,
    msg: &Message,
    html: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> HandlerResult {
    let parts = render::split(html, render::MESSAGE_LIMIT);
    let last = parts.len().saturating_sub(1);
    for (i, part) in parts.into_iter().enumerate() {
        let mut request = bot
            .send_message(msg.chat.id, part)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview())
            .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
        if msg.is_topic_message
            && let Some(thread) = msg.thread_id
        {
            request = request.message_thread_id(thread);
        }
        if i == last
            && let Some(k) = keyboard.clone()
        {
            request = request.reply_markup(k);
        }
        request.await?;
    }
    Ok(())
}

fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

async fn send_reply(bot: &Bot, msg: &Message, reply: &Reply) -> HandlerResult {
    reply_html(bot, msg, &reply.html, keyboard(reply)).await
}

fn today(app: &App) -> chrono::NaiveDate {
    calendar::today(app.clock.now(), app.config.timezone)
}

async fn on_command(bot: Bot, msg: Message, cmd: Command, app: App) -> HandlerResult {
    if matches!(cmd, Command::Event(_) | Command::Date(_)) && !may_ask(&msg, &app) {
        return Ok(());
    }
    let catalog = current(&app.catalog);
    let style = app.config.style;
    match cmd {
        Command::Start | Command::Help => send_reply(&bot, &msg, &answer::help()).await?,
        Command::About => reply_html(&bot, &msg, &about(&catalog, &app), None).await?,
        Command::Today => {
            let date = today(&app);
            let events = catalog.store.on_date(date, app.config.leap_day);
            if events.is_empty() {
                let mut text = format!(
                    "لا ذكرى مسجلة ليوم {}.",
                    render::escape(&render::day_month_ar(date, style))
                );
                if let Some((next, evs)) = catalog.store.next_after(date, app.config.leap_day) {
                    text.push_str(&format!(
                        "\nالذكرى التالية: {} — {}",
                        render::escape(&render::day_month_ar(next, style)),
                        render::escape(&evs[0].title_ar)
                    ));
                }
                reply_html(&bot, &msg, &render::keep_rtl(&text), None).await?;
            } else {
                for part in render::post(&events, &catalog.store, style) {
                    reply_html(&bot, &msg, &part, None).await?;
                }
            }
        }
        Command::Event(query) if query.trim().is_empty() => {
            send_reply(&bot, &msg, &answer::all_events(&catalog, style)).await?
        }
        Command::Event(query) => {
            send_reply(
                &bot,
                &msg,
                &answer::reply(&catalog, &query, style, today(&app)),
            )
            .await?
        }
        Command::Date(text) => {
            let text = answer::clip(&text);
            let reply = if dates::parse(text).is_some() {
                answer::reply(&catalog, text, style, today(&app))
            } else {
                let html = "لم أفهم التاريخ. أمثلة: <code>/date 4 يونيو 1944</code> أو <code>/date 04-06</code> أو <code>/date السادس من حزيران</code>";
                Reply {
                    kind: answer::ReplyKind::NoMatch,
                    events: vec![],
                    html: render::keep_rtl(html),
                    buttons: vec![],
                }
            };
            send_reply(&bot, &msg, &reply).await?;
        }
        Command::Battles => send_reply(&bot, &msg, &answer::battles(&catalog, style)).await?,
        Command::Subscribe | Command::Unsubscribe => subscription(&bot, &msg, cmd, &app).await?,
    }
    Ok(())
}

fn about(catalog: &Catalog, app: &App) -> String {
    let digits = app.config.style.digits;
    render::keep_rtl(&format!(
        "<b>ذكرى</b> بوت «في مثل هذا اليوم» عن حملة إيطاليا في الحرب العالمية الثانية (1943–1945).\nفي ذاكرته {} حدثًا على {} يومًا من أيام السنة، ولكل حدث مصادره مذكورة في منشوره (ويكيبيديا وغيرها).\nالمصدر الأول: منشور «في مثل هذا اليوم 4 يونيو 1944م»، مع تصحيح ما خالف فيه الثابت تاريخيًا.",
        arabic::digits(catalog.store.len(), digits),
        arabic::digits(catalog.store.days_covered().len(), digits)
    ))
}

/// The per-user cooldown applies in groups only.
fn may_ask(msg: &Message, app: &App) -> bool {
    if msg.chat.is_private() {
        return true;
    }
    let user = msg.from.as_ref().map_or(0, |u| u.id.0);
    app.cooldown.allow(msg.chat.id.0, user)
}

async fn on_question(bot: Bot, msg: Message, question: String, app: App) -> HandlerResult {
    if !may_ask(&msg, &app) {
        return Ok(());
    }
    let catalog = current(&app.catalog);
    let reply = answer::reply(&catalog, &question, app.config.style, today(&app));
    send_reply(&bot, &msg, &reply).await
}

/// «القصة كاملة» (`full:<id>`) sends the event's whole post; a «هل تقصد» or list
/// button (`pick:<id>:<intent>`) answers about that event.
async fn on_callback(bot: Bot, q: CallbackQuery, app: App) -> HandlerResult {
    bot.answer_callback_query(q.id.clone()).await?;
    let (Some(data), Some(msg)) = (q.data.as_deref(), q.regular_message()) else {
        return Ok(());
    };
    let catalog = current(&app.catalog);
    let style = app.config.style;
    if let Some(id) = data.strip_prefix("full:") {
        if let Some(event) = catalog.store.get(id) {
            let related: Vec<_> = event
                .related
                .iter()
                .filter_map(|r| catalog.store.get(r.as_str()))
                .collect();
            reply_html(
                &bot,
                msg,
                &render::keep_rtl(&render::event_block(event, &related, style)),
                None,
            )
            .await?;
        }
    } else if let Some(rest) = data.strip_prefix("pick:") {
        let (id, code) = rest.rsplit_once(':').unwrap_or((rest, "s"));
        if let Some(event) = catalog.store.get(id) {
            let intent = Intent::from_code(code.chars().next().unwrap_or('s'));
            send_reply(&bot, msg, &answer::answer(event, intent, "", style)).await?;
        }
    }
    Ok(())
}

/// `@Bot مونتي`: up to ten events to share; an empty query offers today's and the next ones.
async fn on_inline(bot: Bot, q: InlineQuery, app: App) -> HandlerResult {
    let catalog = current(&app.catalog);
    let store = &catalog.store;
    let style = app.config.style;
    let query = answer::clip(&q.query);
    let events: Vec<&crate::event::Event> = if query.trim().is_empty() {
        let mut found = store.on_date(today(&app), app.config.leap_day);
        let mut day = today(&app);
        while found.len() < 10 {
            match store.next_after(day, app.config.leap_day) {
                Some((next, evs)) => {
                    found.extend(evs);
                    day = next;
                }
                None => break,
            }
        }
        found
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
        .take(10)
        .map(|e| {
            let html = render::post(&[e], store, style)
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
            reply_html(bot, msg, "هذا الأمر لمشرفي المجموعة فقط.", None).await?;
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
    reply_html(bot, msg, &render::keep_rtl(&render::escape(&text)), None).await?;
    let action = if cmd == Command::Subscribe {
        "subscribe"
    } else {
        "unsubscribe"
    };
    app.db
        .audit(
            msg.from.as_ref().map(|u| u.id.0),
            action,
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
    }

    #[test]
    fn cooldown_is_per_user_and_chat() {
        let c = Cooldown::new(Duration::from_secs(3));
        assert!(c.allow(-1, 1));
        assert!(!c.allow(-1, 1));
        assert!(c.allow(-1, 2));
        assert!(c.allow(-2, 1));
    }
}
