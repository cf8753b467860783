//! `/repost` and `/preview`: the post of a day or of one event, shown to the admin
//! first; a repost goes out only after «تأكيد», through the daily post's path.

use chrono::{Duration, NaiveDate};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::core::calendar;
use crate::core::dates::{self, DateQuery};
use crate::core::event::EventId;
use crate::core::render::{escape, keep_rtl};
use crate::core::search::Catalog;
use crate::data::current;
use crate::db::{AuditOutcome, Confirmation, Confirmed, Target};
use crate::ops::Role;
use crate::publishing::{Outcome, Outgoing, Post};
use crate::telegram::admin::{Admin, audit};
use crate::telegram::callback::Callback;
use crate::telegram::context::{BotContext, HandlerError, HandlerResult};
use crate::telegram::reply::{reply_html, reply_photo, send_photo};

/// How long a «تأكيد» button stays valid.
pub const CONFIRMATION_TTL_MINUTES: i64 = 10;

/// What a /repost or /preview argument names: a day, or one event.
enum Subject {
    Day(NaiveDate),
    Event(EventId, NaiveDate),
}

fn parse_subject(args: &str, catalog: &Catalog, today: NaiveDate) -> Result<Subject, String> {
    let args = args.trim();
    if args.is_empty() {
        return Ok(Subject::Day(today));
    }
    if let Some(e) = catalog.store.get(args) {
        return Ok(Subject::Event(e.id.clone(), today));
    }
    if let Ok(date) = calendar::resolve(args, today) {
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
        }) => calendar::resolve(&format!("{month:02}-{day:02}"), today).map(Subject::Day),
        _ => Err(format!(
            "لم أفهم «{}»: اكتب تاريخًا (06-04 أو 4 يونيو) أو معرّف حدث (rome-liberation).",
            escape(args)
        )),
    }
}

/// The day or event an admin named, and its post as a target of every theatre
/// gets it (a target of fewer theatres gets fewer events); on a bad argument or
/// a day without events the admin is told, and the audit outcome is returned instead.
async fn subject_and_post(
    bot: &Bot,
    msg: &Message,
    args: &str,
    ctx: &BotContext,
) -> Result<Result<(Subject, Outgoing), AuditOutcome>, HandlerError> {
    let catalog = current(&ctx.catalog);
    let subject = match parse_subject(args, &catalog, ctx.today()) {
        Ok(s) => s,
        Err(why) => {
            reply_html(ctx, bot, msg, &keep_rtl(&why), None).await?;
            return Ok(Err(AuditOutcome::Failed("bad arguments".into())));
        }
    };
    let post = match &subject {
        Subject::Day(date) => Post::Day(*date),
        Subject::Event(id, _) => Post::Event(id.clone()),
    };
    match ctx.publisher.preview(&post).await {
        Some(outgoing) => Ok(Ok((subject, outgoing))),
        None => {
            reply_html(ctx, bot, msg, "لا منشور لهذا اليوم: لا حدث فيه.", None).await?;
            Ok(Err(AuditOutcome::Done("nothing to post".into())))
        }
    }
}

/// The last word of a `/repost` may name the targets: `all`, `#3`, `@channel` or a chat id.
fn split_target(args: &str) -> (String, Option<String>) {
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
    (words.join(" "), target)
}

/// `/repost [date | event id] [all | target]`: the preview, the targets, and
/// «تأكيد» / «إلغاء» buttons. Nothing is sent before the confirmation.
#[tracing::instrument(skip_all, fields(admin = admin.0.id.0))]
pub async fn repost(
    bot: Bot,
    msg: Message,
    args: String,
    admin: Admin,
    ctx: BotContext,
) -> HandlerResult {
    let outcome = ask_confirmation(&bot, &msg, &args, &admin, &ctx).await?;
    audit(&ctx, &admin.0, "repost", &args, outcome).await;
    Ok(())
}

async fn ask_confirmation(
    bot: &Bot,
    msg: &Message,
    args: &str,
    admin: &Admin,
    ctx: &BotContext,
) -> Result<AuditOutcome, HandlerError> {
    let now = ctx.clock.now();
    let (subject_args, target) = split_target(args);
    let (subject, post) = match subject_and_post(bot, msg, &subject_args, ctx).await? {
        Ok(found) => found,
        Err(outcome) => return Ok(outcome),
    };
    let targets: Vec<Target> = ctx
        .db
        .targets()
        .await?
        .into_iter()
        .filter(|t| t.enabled && target.as_deref().is_none_or(|o| t.names(o)))
        .collect();
    if targets.is_empty() {
        reply_html(ctx, bot, msg, "لا هدف مفعّلًا يطابق ما طلبت.", None).await?;
        return Ok(AuditOutcome::Done("no targets".into()));
    }
    let (date, event_id) = match &subject {
        Subject::Day(d) => (*d, None),
        Subject::Event(id, d) => (*d, Some(id.to_string())),
    };
    let confirmation = Confirmation {
        id: format!("{:016x}", rand::random::<u64>()),
        admin_id: admin.0.id.0 as i64,
        date: date.to_string(),
        event_id,
        target,
        expires_at: now + Duration::minutes(CONFIRMATION_TTL_MINUTES),
    };
    ctx.db.create_confirmation(&confirmation, now).await?;
    if let Some(photo) = &post.photo {
        reply_photo(ctx, bot, msg, photo).await;
    }
    for part in post.parts.iter() {
        reply_html(ctx, bot, msg, part, None).await?;
    }
    let names: Vec<String> = targets.iter().map(|t| escape(&t.label())).collect();
    let id = confirmation.id.clone();
    let keyboard = InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("تأكيد", Callback::ConfirmRepost(id.clone()).encode()),
        InlineKeyboardButton::callback("إلغاء", Callback::CancelRepost(id.clone()).encode()),
    ]]);
    let text = format!(
        "إعادة نشر ما سبق ({} جزء) إلى {} هدف: {}\nيبقى التأكيد صالحًا {} دقائق.",
        post.parts.len(),
        targets.len(),
        names.join("، "),
        CONFIRMATION_TTL_MINUTES
    );
    reply_html(ctx, bot, msg, &keep_rtl(&text), Some(keyboard)).await?;
    Ok(AuditOutcome::Done(format!("awaiting confirmation {id}")))
}

/// «تأكيد»: the single `UPDATE` in the database decides whether this press starts it.
pub async fn confirm(
    bot: Bot,
    q: CallbackQuery,
    id: String,
    admin: Admin,
    ctx: BotContext,
) -> HandlerResult {
    let Some(msg) = q.regular_message().cloned() else {
        bot.answer_callback_query(q.id.clone()).await?;
        return Ok(());
    };
    let ignored = |why: &str| AuditOutcome::Ignored(why.to_owned());
    let (note, outcome) = match ctx.db.use_confirmation(&id, ctx.clock.now()).await? {
        Confirmed::Go(c) => {
            start_repost(bot.clone(), msg.clone(), admin.clone(), c, ctx.clone());
            ("بدأت إعادة النشر.", AuditOutcome::Done("started".into()))
        }
        Confirmed::AlreadyUsed => ("نُفّذ هذا التأكيد من قبل.", ignored("already confirmed")),
        Confirmed::Cancelled => ("أُلغيت إعادة النشر هذه.", ignored("cancelled")),
        Confirmed::Expired => ("انتهت صلاحية التأكيد؛ أعد /repost.", ignored("expired")),
        Confirmed::Missing => ("تأكيد غير معروف.", ignored("unknown")),
    };
    // Audited as soon as decided: the reply below waits on the chat's rate limit,
    // and a failed reply must not lose the record.
    let ignored = matches!(outcome, AuditOutcome::Ignored(_));
    audit(&ctx, &admin.0, "repost-confirm", &id, outcome).await;
    bot.answer_callback_query(q.id.clone()).text(note).await?;
    if ignored {
        reply_html(&ctx, &bot, &msg, note, None).await?;
    }
    Ok(())
}

/// «إلغاء»: the confirmation can no longer be used.
pub async fn cancel(
    bot: Bot,
    q: CallbackQuery,
    id: String,
    admin: Admin,
    ctx: BotContext,
) -> HandlerResult {
    let Some(msg) = q.regular_message().cloned() else {
        bot.answer_callback_query(q.id.clone()).await?;
        return Ok(());
    };
    let cancelled = ctx.db.cancel_confirmation(&id).await?;
    let note = if cancelled {
        "أُلغيت إعادة النشر."
    } else {
        "لا شيء لإلغائه."
    };
    let outcome = if cancelled {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Done("nothing to cancel".into())
    };
    audit(&ctx, &admin.0, "repost-cancel", &id, outcome).await;
    bot.answer_callback_query(q.id.clone()).text(note).await?;
    reply_html(&ctx, &bot, &msg, note, None).await?;
    Ok(())
}

/// Runs a confirmed repost through the publishing path and reports back: here
/// when this process leads, else by the leader (a webhook replica on standby
/// got the press), so one process paces every message of the bot.
fn start_repost(bot: Bot, msg: Message, admin: Admin, c: Confirmation, ctx: BotContext) {
    tokio::spawn(async move {
        let key = c.delivery_key();
        let (summary, sent) = if ctx.health.role() == Some(Role::Leader) {
            let report = (ctx.publisher)
                .repost(&c, ctx.clock.now(), &ctx.shutdown)
                .await;
            match report {
                Ok(r) => (r.summary(), r.count(|o| matches!(o, Outcome::Sent { .. }))),
                Err(e) => (format!("error: {e}"), 0),
            }
        } else {
            by_the_leader(&ctx, &c).await
        };
        if let Err(e) = ctx.db.set_confirmation_result(&c.id, &summary).await {
            tracing::error!(error = %e, "could not record the repost result");
        }
        let outcome = AuditOutcome::Done(summary.clone());
        audit(&ctx, &admin.0, "repost-done", &key, outcome).await;
        let text = format!(
            "انتهت إعادة النشر: أُرسل إلى {sent} هدف.\n<code>{}</code>",
            escape(&summary)
        );
        if let Err(e) = reply_html(&ctx, &bot, &msg, &keep_rtl(&text), None).await {
            tracing::warn!(error = %e, "could not report the repost");
        }
    });
}

/// How long a standby waits for the leader to run a repost it handed over:
/// the repost's own window (an hour) and then some.
const HANDED_OVER_FOR: std::time::Duration = std::time::Duration::from_secs(65 * 60);

/// Hands the repost to the leader through the database and waits for its
/// report: the summary, and how many targets got it.
async fn by_the_leader(ctx: &BotContext, c: &Confirmation) -> (String, usize) {
    let id = match ctx.db.request_repost(c, ctx.clock.now()).await {
        Ok(id) => id,
        Err(e) => return (format!("error: {e}"), 0),
    };
    let read_again = |e| {
        tracing::warn!(error = %e, request = id, "could not read a repost's progress");
        Ok(())
    };
    match ctx
        .db
        .await_post_request(id, HANDED_OVER_FOR, read_again)
        .await
    {
        Ok(Some(r)) => {
            let sent = r.sent.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            (r.summary.unwrap_or_default(), sent)
        }
        _ => (
            format!("error: the leader has not run post request {id}"),
            0,
        ),
    }
}

/// `/preview [date]`: the post, sent to the admin privately.
#[tracing::instrument(skip_all, fields(admin = admin.0.id.0))]
pub async fn preview(
    bot: Bot,
    msg: Message,
    args: String,
    admin: Admin,
    ctx: BotContext,
) -> HandlerResult {
    let outcome = match subject_and_post(&bot, &msg, &args, &ctx).await? {
        Ok((_, post)) => send_privately(&ctx, &bot, &msg, &admin, &post).await?,
        Err(outcome) => outcome,
    };
    audit(&ctx, &admin.0, "preview", &args, outcome).await;
    Ok(())
}

async fn send_privately(
    ctx: &BotContext,
    bot: &Bot,
    msg: &Message,
    admin: &Admin,
    post: &Outgoing,
) -> Result<AuditOutcome, HandlerError> {
    if let Some(photo) = &post.photo {
        send_photo(ctx, bot, admin.0.id.into(), photo, None).await;
    }
    for part in post.parts.iter() {
        ctx.publisher.sender.limiter.wait(admin.0.id.0 as i64).await;
        let sent = bot
            .send_message(admin.0.id, part)
            .parse_mode(teloxide::types::ParseMode::Html)
            .await;
        if sent.is_err() {
            let text = "لم أستطع مراسلتك في الخاص: ابدأ محادثة معي أولًا (/start).";
            reply_html(ctx, bot, msg, text, None).await?;
            return Ok(AuditOutcome::Failed(
                "could not reach the admin privately".into(),
            ));
        }
    }
    let card = if post.photo.is_some() {
        " and the card"
    } else {
        ""
    };
    Ok(AuditOutcome::Done(format!(
        "{} part(s){card}",
        post.parts.len()
    )))
}
