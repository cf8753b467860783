//! `/targets`, `/targets disable <target>`, `/targets enable <target>`, and the
//! enable / disable buttons. A target is never deleted, only disabled.

use teloxide::prelude::*;

use crate::core::render::{escape, keep_rtl};
use crate::db::AuditOutcome;
use crate::telegram::admin::{Admin, audit};
use crate::telegram::callback::Callback;
use crate::telegram::context::{BotContext, HandlerError, HandlerResult};
use crate::telegram::reply::{buttons, reply_html};

pub async fn targets(
    bot: Bot,
    msg: Message,
    args: String,
    admin: Admin,
    ctx: BotContext,
) -> HandlerResult {
    let mut words = args.split_whitespace();
    let outcome = match (words.next(), words.next()) {
        (Some(verb @ ("disable" | "enable")), Some(name)) => {
            let text = switch(&ctx, verb == "enable", name).await?;
            reply_html(&ctx, &bot, &msg, &text, None).await?;
            AuditOutcome::Done(format!("{verb} {name}"))
        }
        (Some(_), _) => {
            reply_html(&ctx, &bot, &msg, "الاستخدام: <code>/targets</code> أو <code>/targets disable #2</code> أو <code>/targets enable #2</code>", None).await?;
            AuditOutcome::Failed("bad arguments".into())
        }
        _ => {
            list(&bot, &msg, &ctx).await?;
            AuditOutcome::Ok
        }
    };
    audit(&ctx, &admin.0, "targets", &args, outcome).await;
    Ok(())
}

async fn list(bot: &Bot, msg: &Message, ctx: &BotContext) -> HandlerResult {
    let all = ctx.db.targets().await?;
    if all.is_empty() {
        return reply_html(ctx, bot, msg, "لا أهداف بعد.", None).await;
    }
    let lines: Vec<String> = all
        .iter()
        .map(|t| {
            let state = if t.enabled {
                "مفعّل".to_owned()
            } else {
                let why = escape(t.disabled_reason.as_deref().unwrap_or("؟"));
                format!("معطّل: {why}")
            };
            let (label, source) = (escape(&t.label()), escape(&t.source));
            format!("• [#{}] {label} ({source}) — {state}", t.id)
        })
        .collect();
    let keyboard = buttons(all.iter().take(50).map(|t| {
        let verb = if t.enabled {
            "تعطيل"
        } else {
            "تفعيل"
        };
        let cb = Callback::SetTarget {
            enable: !t.enabled,
            target: t.id,
        };
        (format!("{verb} #{}", t.id), cb)
    }));
    let text = keep_rtl(&format!("<b>الأهداف</b>\n{}", lines.join("\n")));
    reply_html(ctx, bot, msg, &text, Some(keyboard)).await
}

/// An enable / disable button of `/targets`.
pub async fn on_button(
    bot: Bot,
    q: CallbackQuery,
    (enable, target): (bool, i64),
    admin: Admin,
    ctx: BotContext,
) -> HandlerResult {
    bot.answer_callback_query(q.id.clone()).await?;
    let Some(msg) = q.regular_message() else {
        return Ok(());
    };
    let text = switch(&ctx, enable, &format!("#{target}")).await?;
    reply_html(&ctx, &bot, msg, &text, None).await?;
    let action = if enable {
        "target-enable"
    } else {
        "target-disable"
    };
    audit(
        &ctx,
        &admin.0,
        action,
        &target.to_string(),
        AuditOutcome::Ok,
    )
    .await;
    Ok(())
}

async fn switch(ctx: &BotContext, enable: bool, name: &str) -> Result<String, HandlerError> {
    let now = ctx.clock.now();
    let Some(t) = ctx.db.targets().await?.into_iter().find(|t| t.names(name)) else {
        return Ok(format!("لا هدف باسم {}.", escape(name)));
    };
    if enable {
        ctx.db.enable_target(t.id, now).await?;
        Ok(format!("فُعّل الهدف {}.", escape(&t.label())))
    } else {
        ctx.db
            .disable_target(t.id, "disabled by an admin", now)
            .await?;
        Ok(format!("عُطّل الهدف {}.", escape(&t.label())))
    }
}
