//! Admin commands: confirmed reposts, previews, delivery status, reloading the
//! data, enabling and disabling targets, and the audit log. Admins are numeric
//! user ids from the config (or members of the admin chat) — never usernames —
//! and are heard only in private chats or the admin chat. Every action and every
//! refused attempt is audited.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, User};
use teloxide::utils::command::BotCommands;

use crate::bot::{App, HandlerResult, normalize_command, reply_html};
use crate::calendar::{self, local_instant};
use crate::cli::resolve_date;
use crate::config::{Config, PostTime};
use crate::dates::{self, DateQuery};
use crate::delivery::Outcome;
use crate::publish::{self, current};
use crate::render::{self, escape, keep_rtl};
use crate::search::Catalog;
use crate::storage::{Confirmation, Confirmed, Target};
use crate::store::EventStore;

/// How long a «تأكيد» button stays valid.
pub const CONFIRMATION_TTL_MINUTES: i64 = 10;

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

/// The one admin check: a configured user id, or a member of the admin chat.
pub async fn is_admin(bot: &Bot, app: &App, user: &User) -> bool {
    if app.config.admins.contains(&user.id.0) {
        return true;
    }
    match app.config.admin_chat {
        Some(chat) => bot
            .get_chat_member(ChatId(chat), user.id)
            .await
            .is_ok_and(|m| m.is_present()),
        None => false,
    }
}

/// Admin commands are heard in private chats and in the admin chat only.
fn admin_place(app: &App, chat: &teloxide::types::Chat) -> bool {
    chat.is_private() || app.config.admin_chat == Some(chat.id.0)
}

async fn audit(app: &App, user: &User, action: &str, detail: &str, result: &str) {
    if let Err(e) = app
        .db
        .audit(Some(user.id.0), action, detail, result, app.clock.now())
        .await
    {
        tracing::error!(error = %e, "could not write the audit log");
    }
}

pub async fn on_admin_command(
    bot: Bot,
    msg: Message,
    cmd: AdminCommand,
    app: App,
) -> HandlerResult {
    let Some(user) = msg.from.clone() else {
        return Ok(());
    };
    let (action, detail) = cmd.action();
    if !admin_place(&app, &msg.chat) || !is_admin(&bot, &app, &user).await {
        audit(&app, &user, action, &detail, "refused").await;
        reply_html(
            &bot,
            &msg,
            "هذا الأمر للمشرفين فقط، في محادثة خاصة مع البوت.",
            None,
        )
        .await?;
        return Ok(());
    }
    let result = match cmd {
        AdminCommand::Repost(args) => repost(&bot, &msg, &user, &args, &app).await?,
        AdminCommand::Preview(args) => preview(&bot, &msg, &user, &args, &app).await?,
        AdminCommand::Status => {
            reply_html(&bot, &msg, &status(&app).await?, None).await?;
            "ok".to_owned()
        }
        AdminCommand::Reload => {
            let (ok, text) = reload(&app).await?;
            reply_html(&bot, &msg, &text, None).await?;
            if ok {
                "ok".into()
            } else {
                "failed: the previous data is kept".into()
            }
        }
        AdminCommand::Targets(args) => targets(&bot, &msg, &args, &app).await?,
        AdminCommand::Audit => {
            reply_html(&bot, &msg, &audit_log(&app).await?, None).await?;
            "ok".to_owned()
        }
    };
    audit(&app, &user, action, &detail, &result).await;
    Ok(())
}

/// What a /repost or /preview argument names: a day, or one event.
enum Subject {
    Day(NaiveDate),
    Event(String, NaiveDate),
}

fn parse_subject(args: &str, catalog: &Catalog, today: NaiveDate) -> Result<Subject, String> {
    let args = args.trim();
    if args.is_empty() {
        return Ok(Subject::Day(today));
    }
    if let Some(e) = catalog.store.get(args) {
        return Ok(Subject::Event(e.id.to_string(), today));
    }
    if let Ok(date) = resolve_date(args, today) {
        return Ok(Subject::Day(date));
    }
    match dates::parse(args) {
        Some(DateQuery::Day {
            month,
            day,
            year: Some(year),
        }) => NaiveDate::from_ymd_opt(year, month, day)
            .map(Subject::Day)
            .ok_or_else(|| "تاريخ غير موجود في التقويم.".to_owned()),
        Some(DateQuery::Day {
            month,
            day,
            year: None,
        }) => resolve_date(&format!("{month:02}-{day:02}"), today).map(Subject::Day),
        _ => Err(format!(
            "لم أفهم «{}»: اكتب تاريخًا (06-04 أو 4 يونيو) أو معرّف حدث (rome-liberation).",
            escape(args)
        )),
    }
}

fn subject_parts(subject: &Subject, catalog: &Catalog, config: &Config) -> Vec<String> {
    let store = &catalog.store;
    match subject {
        Subject::Day(date) => {
            render::post(&store.on_date(*date, config.leap_day), store, config.style)
        }
        Subject::Event(id, _) => store
            .get(id)
            .map(|e| render::post(&[e], store, config.style))
            .unwrap_or_default(),
    }
}

/// The day or event an admin named, and its post; on a bad argument or a day
/// without events the admin is told, and the audit outcome is returned instead.
async fn subject_and_parts(
    bot: &Bot,
    msg: &Message,
    args: &str,
    app: &App,
) -> Result<Result<(Subject, Vec<String>), &'static str>, crate::bot::HandlerError> {
    let today = calendar::today(app.clock.now(), app.config.timezone);
    let catalog = current(&app.catalog);
    let subject = match parse_subject(args, &catalog, today) {
        Ok(s) => s,
        Err(why) => {
            reply_html(bot, msg, &keep_rtl(&why), None).await?;
            return Ok(Err("bad arguments"));
        }
    };
    let parts = subject_parts(&subject, &catalog, &app.config);
    if parts.is_empty() {
        reply_html(bot, msg, "لا منشور لهذا اليوم: لا حدث فيه.", None).await?;
        return Ok(Err("nothing to post"));
    }
    Ok(Ok((subject, parts)))
}

/// `/repost [date | event id] [all | target]`: the preview, the targets, and
/// «تأكيد» / «إلغاء» buttons. Nothing is sent before the confirmation.
async fn repost(
    bot: &Bot,
    msg: &Message,
    user: &User,
    args: &str,
    app: &App,
) -> Result<String, crate::bot::HandlerError> {
    let now = app.clock.now();
    // The last word may name the targets: `all`, `#3`, `@channel` or a chat id.
    let mut words: Vec<&str> = args.split_whitespace().collect();
    let target = match words.last() {
        Some(&"all") | Some(&"الكل") => {
            words.pop();
            None
        }
        Some(w)
            if w.starts_with(['#', '@'])
                || w.parse::<i64>().is_ok_and(|n| n.unsigned_abs() > 99_999) =>
        {
            let w = w.to_string();
            words.pop();
            Some(w)
        }
        _ => None,
    };
    let (subject, parts) = match subject_and_parts(bot, msg, &words.join(" "), app).await? {
        Ok(found) => found,
        Err(outcome) => return Ok(outcome.into()),
    };
    let targets: Vec<Target> = app
        .db
        .targets()
        .await?
        .into_iter()
        .filter(|t| t.enabled && target.as_deref().is_none_or(|o| t.names(o)))
        .collect();
    if targets.is_empty() {
        reply_html(bot, msg, "لا هدف مفعّلًا يطابق ما طلبت.", None).await?;
        return Ok("no targets".into());
    }
    let (date, event_id) = match &subject {
        Subject::Day(d) => (*d, None),
        Subject::Event(id, d) => (*d, Some(id.clone())),
    };
    let confirmation = Confirmation {
        id: format!("{:016x}", rand::random::<u64>()),
        admin_id: user.id.0 as i64,
        date: date.to_string(),
        event_id,
        target,
        expires_at: now + Duration::minutes(CONFIRMATION_TTL_MINUTES),
    };
    app.db.create_confirmation(&confirmation, now).await?;
    for part in &parts {
        reply_html(bot, msg, part, None).await?;
    }
    let names: Vec<String> = targets.iter().map(|t| escape(&t.label())).collect();
    let keyboard = InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("تأكيد", format!("rp:ok:{}", confirmation.id)),
        InlineKeyboardButton::callback("إلغاء", format!("rp:no:{}", confirmation.id)),
    ]]);
    let text = format!(
        "إعادة نشر ما سبق ({} جزء) إلى {} هدف: {}\nيبقى التأكيد صالحًا {} دقائق.",
        parts.len(),
        targets.len(),
        names.join("، "),
        CONFIRMATION_TTL_MINUTES
    );
    reply_html(bot, msg, &keep_rtl(&text), Some(keyboard)).await?;
    Ok(format!("awaiting confirmation {}", confirmation.id))
}

/// «تأكيد» / «إلغاء» on a repost, and the enable/disable buttons of /targets.
pub async fn on_admin_callback(bot: Bot, q: CallbackQuery, app: App) -> HandlerResult {
    let data = q.data.clone().unwrap_or_default();
    let Some(msg) = q.regular_message().cloned() else {
        bot.answer_callback_query(q.id.clone()).await?;
        return Ok(());
    };
    if !admin_place(&app, &msg.chat) || !is_admin(&bot, &app, &q.from).await {
        audit(&app, &q.from, "button", &data, "refused").await;
        bot.answer_callback_query(q.id.clone())
            .text("للمشرفين فقط.")
            .await?;
        return Ok(());
    }
    let now = app.clock.now();
    if let Some(id) = data.strip_prefix("rp:ok:") {
        let (note, result) = match app.db.use_confirmation(id, now).await? {
            Confirmed::Go(c) => {
                start_repost(bot.clone(), msg.clone(), q.from.clone(), c, app.clone());
                ("بدأت إعادة النشر.", "started".to_owned())
            }
            Confirmed::AlreadyUsed => (
                "نُفّذ هذا التأكيد من قبل.",
                "ignored: already confirmed".into(),
            ),
            Confirmed::Cancelled => ("أُلغيت إعادة النشر هذه.", "ignored: cancelled".into()),
            Confirmed::Expired => (
                "انتهت صلاحية التأكيد؛ أعد /repost.",
                "ignored: expired".into(),
            ),
            Confirmed::Missing => ("تأكيد غير معروف.", "ignored: unknown".into()),
        };
        bot.answer_callback_query(q.id.clone()).text(note).await?;
        if result != "started" {
            reply_html(&bot, &msg, note, None).await?;
        }
        audit(&app, &q.from, "repost-confirm", id, &result).await;
    } else if let Some(id) = data.strip_prefix("rp:no:") {
        let cancelled = app.db.cancel_confirmation(id).await?;
        let note = if cancelled {
            "أُلغيت إعادة النشر."
        } else {
            "لا شيء لإلغائه."
        };
        bot.answer_callback_query(q.id.clone()).text(note).await?;
        reply_html(&bot, &msg, note, None).await?;
        audit(
            &app,
            &q.from,
            "repost-cancel",
            id,
            if cancelled { "ok" } else { "nothing to cancel" },
        )
        .await;
    } else if let Some(rest) = data.strip_prefix("tg:") {
        let (on, id) = rest.split_once(':').unwrap_or(("", ""));
        let text = switch_target(&app, on == "on", &format!("#{id}")).await?;
        bot.answer_callback_query(q.id.clone()).await?;
        reply_html(&bot, &msg, &text, None).await?;
        audit(
            &app,
            &q.from,
            if on == "on" {
                "target-enable"
            } else {
                "target-disable"
            },
            id,
            "ok",
        )
        .await;
    } else {
        bot.answer_callback_query(q.id.clone()).await?;
    }
    Ok(())
}

/// Runs a confirmed repost through the publishing path and reports back.
fn start_repost(bot: Bot, msg: Message, user: User, c: Confirmation, app: App) {
    tokio::spawn(async move {
        let catalog = current(&app.catalog);
        let date = c
            .date
            .parse()
            .unwrap_or_else(|_| calendar::today(app.clock.now(), app.config.timezone));
        let subject = match &c.event_id {
            Some(id) => Subject::Event(id.clone(), date),
            None => Subject::Day(date),
        };
        let parts = subject_parts(&subject, &catalog, &app.config);
        // The confirmation's id is part of the delivery key: however often the button
        // is pressed, these deliveries are claimed once.
        let key = format!("{}/repost/{}", c.date, c.id);
        let now = app.clock.now();
        let report = app
            .publisher
            .broadcast(
                parts,
                &key,
                c.target.as_deref(),
                now + Duration::hours(1),
                now,
                &app.stop,
                &|_| {},
            )
            .await;
        let summary = match &report {
            Ok(r) => r.summary(),
            Err(e) => format!("error: {e}"),
        };
        let sent = report
            .as_ref()
            .map_or(0, |r| r.count(|o| matches!(o, Outcome::Sent { .. })));
        if let Err(e) = app.db.set_confirmation_result(&c.id, &summary).await {
            tracing::error!(error = %e, "could not record the repost result");
        }
        audit(&app, &user, "repost-done", &key, &summary).await;
        let text = format!(
            "انتهت إعادة النشر: أُرسل إلى {sent} هدف.\n<code>{}</code>",
            escape(&summary)
        );
        if let Err(e) = reply_html(&bot, &msg, &keep_rtl(&text), None).await {
            tracing::warn!(error = %e, "could not report the repost");
        }
    });
}

/// `/preview [date]`: the post, sent to the admin privately.
async fn preview(
    bot: &Bot,
    msg: &Message,
    user: &User,
    args: &str,
    app: &App,
) -> Result<String, crate::bot::HandlerError> {
    let parts = match subject_and_parts(bot, msg, args, app).await? {
        Ok((_, parts)) => parts,
        Err(outcome) => return Ok(outcome.into()),
    };
    for part in &parts {
        let sent = bot
            .send_message(user.id, part)
            .parse_mode(teloxide::types::ParseMode::Html)
            .await;
        if sent.is_err() {
            reply_html(
                bot,
                msg,
                "لم أستطع مراسلتك في الخاص: ابدأ محادثة معي أولًا (/start).",
                None,
            )
            .await?;
            return Ok("could not reach the admin privately".into());
        }
    }
    Ok(format!("{} part(s)", parts.len()))
}

/// `/status`: each target's next post (local time) and last delivery, the
/// disabled ones and why, and the data.
pub async fn status(app: &App) -> Result<String, crate::bot::HandlerError> {
    let now = app.clock.now();
    let config = &app.config;
    let catalog = current(&app.catalog);
    let store = &catalog.store;
    let tz = config.timezone;
    let last: HashMap<i64, crate::storage::Delivery> = app
        .db
        .last_deliveries()
        .await?
        .into_iter()
        .map(|d| (d.target_id, d))
        .collect();
    let mut lines = vec![
        "<b>الحالة</b>".to_owned(),
        format!(
            "البيانات: {} حدثًا على {} يومًا من السنة.",
            store.len(),
            store.days_covered().len()
        ),
        format!(
            "الوقت الآن: {} ({})",
            now.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            tz
        ),
        "<b>الأهداف</b>".to_owned(),
    ];
    let targets = app.db.targets().await?;
    if targets.is_empty() {
        lines.push("لا أهداف بعد.".into());
    }
    for t in &targets {
        let post_time = t
            .post_time
            .as_deref()
            .and_then(|p| p.parse::<PostTime>().ok())
            .unwrap_or(config.post_time);
        let mut line = format!("• [#{}] {}", t.id, escape(&t.label()));
        if t.enabled {
            let today = calendar::today(now, tz);
            let sent_today = last
                .get(&t.id)
                .is_some_and(|d| d.local_date == today.to_string() && d.status == "sent");
            match next_post(store, config, post_time, now, sent_today) {
                Some(next) => line.push_str(&format!(
                    " — المنشور التالي: {}",
                    next.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                )),
                None => line.push_str(" — لا منشور قادم"),
            }
        } else {
            line.push_str(&format!(
                " — <b>معطّل</b>: {}",
                escape(t.disabled_reason.as_deref().unwrap_or("؟"))
            ));
        }
        if let Some(d) = last.get(&t.id) {
            line.push_str(&format!(
                " — آخر إرسال: {} ({}/{}) {}",
                escape(&d.local_date),
                d.part,
                d.parts,
                escape(&d.status)
            ));
            if let Some(err) = d.last_error.as_deref().filter(|_| d.status != "sent") {
                line.push_str(&format!(": {}", escape(err)));
            }
        }
        lines.push(line);
    }
    Ok(keep_rtl(&lines.join("\n")))
}

/// When a target's next post goes out: today's if it is still to come (or due and
/// not yet sent), else the next day with an anniversary.
fn next_post(
    store: &EventStore,
    config: &Config,
    post_time: PostTime,
    now: chrono::DateTime<chrono::Utc>,
    sent_today: bool,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let today = calendar::today(now, config.timezone);
    let mut day = today;
    for _ in 0..(366 * 4) {
        if !store.on_date(day, config.leap_day).is_empty() {
            let at = local_instant(day, post_time.0, config.timezone);
            if day > today {
                return Some(at);
            }
            let window =
                publish::window(now, config.timezone, post_time.0, config.catch_up_minutes);
            if !sent_today && now < window.until {
                return Some(at.max(now));
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// `/reload`: validates the config's targets and the data, and swaps them in only
/// when both are valid; on any error the bot keeps serving what it had.
pub async fn reload(app: &App) -> Result<(bool, String), crate::bot::HandlerError> {
    let targets = match &app.config_path {
        Some(path) => match Config::load(path) {
            Ok(c) => Some(c.targets),
            Err(e) => {
                let text = format!(
                    "لم يُعد التحميل؛ ما زالت البيانات السابقة تعمل. خطأ في الإعدادات:\n<pre>{}</pre>",
                    escape(&e.to_string())
                );
                return Ok((false, keep_rtl(&text)));
            }
        },
        None => None,
    };
    match EventStore::load(&app.config.data_dir) {
        Ok(store) => {
            let (events, days) = (store.len(), store.days_covered().len());
            let catalog = Arc::new(Catalog::new(store));
            *app.catalog.write().unwrap_or_else(|p| p.into_inner()) = catalog;
            if let Some(targets) = &targets {
                app.db.sync_config_targets(targets, app.clock.now()).await?;
            }
            let text = format!("أُعيد التحميل: {events} حدثًا على {days} يومًا من السنة.");
            Ok((true, keep_rtl(&text)))
        }
        Err(errors) => {
            let text = format!(
                "لم يُعد التحميل؛ ما زالت البيانات السابقة تعمل. عدد المشكلات: {}\n<pre>{}</pre>",
                errors.0.len(),
                escape(&errors.to_string())
            );
            Ok((false, keep_rtl(&text)))
        }
    }
}

/// `/targets`, `/targets disable <target>`, `/targets enable <target>`.
async fn targets(
    bot: &Bot,
    msg: &Message,
    args: &str,
    app: &App,
) -> Result<String, crate::bot::HandlerError> {
    let mut words = args.split_whitespace();
    match (words.next(), words.next()) {
        (Some(verb @ ("disable" | "enable")), Some(name)) => {
            let text = switch_target(app, verb == "enable", name).await?;
            reply_html(bot, msg, &text, None).await?;
            return Ok(format!("{verb} {name}"));
        }
        (Some(_), _) => {
            reply_html(bot, msg, "الاستخدام: <code>/targets</code> أو <code>/targets disable #2</code> أو <code>/targets enable #2</code>", None).await?;
            return Ok("bad arguments".into());
        }
        _ => {}
    }
    let all = app.db.targets().await?;
    if all.is_empty() {
        reply_html(bot, msg, "لا أهداف بعد.", None).await?;
        return Ok("ok".into());
    }
    let lines: Vec<String> = all
        .iter()
        .map(|t| {
            let state = if t.enabled {
                "مفعّل".to_owned()
            } else {
                format!(
                    "معطّل: {}",
                    escape(t.disabled_reason.as_deref().unwrap_or("؟"))
                )
            };
            format!(
                "• [#{}] {} ({}) — {state}",
                t.id,
                escape(&t.label()),
                escape(&t.source)
            )
        })
        .collect();
    let keyboard = InlineKeyboardMarkup::new(all.iter().take(50).map(|t| {
        let (label, data) = if t.enabled {
            (format!("تعطيل #{}", t.id), format!("tg:off:{}", t.id))
        } else {
            (format!("تفعيل #{}", t.id), format!("tg:on:{}", t.id))
        };
        vec![InlineKeyboardButton::callback(label, data)]
    }));
    reply_html(
        bot,
        msg,
        &keep_rtl(&format!("<b>الأهداف</b>\n{}", lines.join("\n"))),
        Some(keyboard),
    )
    .await?;
    Ok("ok".into())
}

async fn switch_target(
    app: &App,
    enable: bool,
    name: &str,
) -> Result<String, crate::bot::HandlerError> {
    let now = app.clock.now();
    let Some(t) = app.db.targets().await?.into_iter().find(|t| t.names(name)) else {
        return Ok(format!("لا هدف باسم {}.", escape(name)));
    };
    if enable {
        app.db.enable_target(t.id, now).await?;
        Ok(format!("فُعّل الهدف {}.", escape(&t.label())))
    } else {
        app.db
            .disable_target(t.id, "disabled by an admin", now)
            .await?;
        Ok(format!("عُطّل الهدف {}.", escape(&t.label())))
    }
}

async fn audit_log(app: &App) -> Result<String, crate::bot::HandlerError> {
    let rows = app.db.recent_audit(20).await?;
    if rows.is_empty() {
        return Ok("سجل المشرفين فارغ.".into());
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|(at, user, action, detail, result)| {
            let at = at.get(..16).unwrap_or(at).replace('T', " ");
            let user = user.map_or("—".to_owned(), |u| u.to_string());
            format!(
                "• {at} — {user} — {} {} — {}",
                escape(action),
                escape(detail),
                escape(result)
            )
        })
        .collect();
    Ok(keep_rtl(&format!(
        "<b>آخر إجراءات المشرفين</b> (UTC)\n{}",
        lines.join("\n")
    )))
}
