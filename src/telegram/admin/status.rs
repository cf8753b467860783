//! `/status` and `/audit`: each target's next post and last delivery, the data,
//! the replicas, and the last admin actions. Text only; when posts are due comes from
//! `core::schedule`.

use std::collections::HashMap;

use teloxide::prelude::*;

use crate::core::render::{escape, keep_rtl};
use crate::core::schedule;
use crate::data::{current, version};
use crate::db::{AuditOutcome, Delivery, DeliveryStatus, Target};
use crate::telegram::admin::{Admin, audit};
use crate::telegram::context::{BotContext, HandlerError, HandlerResult};
use crate::telegram::reply::{or_try_again, reply_html};

pub async fn status(bot: Bot, msg: Message, admin: Admin, ctx: BotContext) -> HandlerResult {
    let text = match status_text(&ctx).await {
        Ok(text) => text,
        Err(e) => return or_try_again(&ctx, &bot, &msg, Err(e)).await,
    };
    reply_html(&ctx, &bot, &msg, &text, None).await?;
    audit(&ctx, &admin.0, "status", "", AuditOutcome::Ok).await;
    Ok(())
}

/// `/status`: the data and its version, the processes sharing the database,
/// each target's next post (local time) and last delivery, the disabled ones
/// and why.
pub async fn status_text(ctx: &BotContext) -> Result<String, HandlerError> {
    let now = ctx.clock.now();
    let tz = ctx.config.timezone;
    let catalog = current(&ctx.catalog);
    let store = &catalog.store;
    let last: HashMap<i64, Delivery> = ctx
        .db
        .last_deliveries()
        .await?
        .into_iter()
        .map(|d| (d.target_id, d))
        .collect();
    let mut lines = vec![
        "<b>الحالة</b>".to_owned(),
        format!(
            "البيانات: {} حدثًا على {} يومًا من السنة (الإصدار <code>{}</code>).",
            store.len(),
            store.days_covered().len(),
            escape(&version(&ctx.catalog))
        ),
        format!(
            "الوقت الآن: {} ({})",
            now.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            tz
        ),
    ];
    lines.extend(replica_lines(ctx).await?);
    lines.push("<b>الأهداف</b>".to_owned());
    let targets = ctx.db.targets().await?;
    if targets.is_empty() {
        lines.push("لا أهداف بعد.".into());
    }
    for t in &targets {
        lines.push(target_line(ctx, store, t, last.get(&t.id)));
    }
    Ok(keep_rtl(&lines.join("\n")))
}

/// The processes sharing the database, as their heartbeats say: each one's
/// host, role, data version (replicas must serve the same data) and how long
/// ago it was seen, this one marked.
async fn replica_lines(ctx: &BotContext) -> Result<Vec<String>, HandlerError> {
    let me = &ctx.publisher.sender.owner;
    let mut lines = vec!["<b>النسخ العاملة</b> (آخر دقيقة)".to_owned()];
    for r in ctx.db.replicas_seen(REPLICAS_WITHIN).await? {
        let this = if &r.owner == me { " — (هذه)" } else { "" };
        lines.push(format!(
            "• {} — {} — الإصدار <code>{}</code> — قبل {} ث{this}",
            escape(&r.label),
            r.role.as_str(),
            escape(&r.data_version),
            r.age.max(0.0).round()
        ));
    }
    Ok(lines)
}

/// How far back `/status` lists processes (a heartbeat is renewed every 2 s).
const REPLICAS_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

fn target_line(
    ctx: &BotContext,
    store: &crate::core::catalog::EventStore,
    t: &Target,
    last: Option<&Delivery>,
) -> String {
    let config = &ctx.config;
    let tz = config.timezone;
    let now = ctx.clock.now();
    let mut line = format!("• [#{}] {}", t.id, escape(&t.label()));
    if t.enabled {
        let today = ctx.today().to_string();
        let sent_today =
            last.is_some_and(|d| d.local_date == today && d.status == DeliveryStatus::Sent);
        let rules = schedule::Rules {
            timezone: tz,
            leap_day: config.leap_day,
            catch_up_minutes: config.catch_up_minutes,
        };
        let post_time = t.post_time_or(config.post_time).0;
        match schedule::next_post(store, rules, post_time, now, sent_today) {
            Some(next) => line.push_str(&format!(
                " — المنشور التالي: {}",
                next.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            )),
            None => line.push_str(" — لا منشور قادم"),
        }
    } else {
        let why = escape(t.disabled_reason.as_deref().unwrap_or("؟"));
        line.push_str(&format!(" — <b>معطّل</b>: {why}"));
    }
    if let Some(d) = last {
        line.push_str(&format!(
            " — آخر إرسال: {} ({}/{}) {}",
            escape(&d.local_date),
            d.part,
            d.parts,
            d.status
        ));
        if let Some(err) = d
            .last_error
            .as_deref()
            .filter(|_| d.status != DeliveryStatus::Sent)
        {
            line.push_str(&format!(": {}", escape(err)));
        }
    }
    line
}

/// `/audit`: the last 20 admin actions.
pub async fn audit_log(bot: Bot, msg: Message, admin: Admin, ctx: BotContext) -> HandlerResult {
    let rows = ctx.db.recent_audit(20).await?;
    let text = if rows.is_empty() {
        "سجل المشرفين فارغ.".to_owned()
    } else {
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                let at = r.at.get(..16).unwrap_or(&r.at).replace('T', " ");
                let user = r.user_id.map_or("—".to_owned(), |u| u.to_string());
                let (action, detail) = (escape(&r.action), escape(&r.detail));
                let outcome = escape(&r.outcome.to_string());
                format!("• {at} — {user} — {action} {detail} — {outcome}")
            })
            .collect();
        keep_rtl(&format!(
            "<b>آخر إجراءات المشرفين</b> (UTC)\n{}",
            lines.join("\n")
        ))
    };
    reply_html(&ctx, &bot, &msg, &text, None).await?;
    audit(&ctx, &admin.0, "audit", "", AuditOutcome::Ok).await;
    Ok(())
}
