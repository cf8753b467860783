//! `/reload`: validates the config's targets and the data, and swaps them in only
//! when both are valid; on any error the bot keeps serving what it had.

use teloxide::prelude::*;

use crate::config::Config;
use crate::core::render::{escape, keep_rtl};
use crate::data;
use crate::db::AuditOutcome;
use crate::telegram::admin::{Admin, audit};
use crate::telegram::context::{BotContext, HandlerError, HandlerResult};
use crate::telegram::reply::reply_html;

pub async fn reload(bot: Bot, msg: Message, admin: Admin, ctx: BotContext) -> HandlerResult {
    let (ok, text) = reload_all(&ctx).await?;
    reply_html(&ctx, &bot, &msg, &text, None).await?;
    let outcome = if ok {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Failed("the previous data is kept".into())
    };
    audit(&ctx, &admin.0, "reload", "", outcome).await;
    Ok(())
}

/// Whether both reloaded, and the admin's message.
pub async fn reload_all(ctx: &BotContext) -> Result<(bool, String), HandlerError> {
    let kept = "لم يُعد التحميل؛ ما زالت البيانات السابقة تعمل.";
    let targets = match &ctx.config_path {
        Some(path) => match Config::load(path) {
            Ok(c) => Some(c.targets),
            Err(e) => {
                let why = escape(&e.to_string());
                let text = format!("{kept} خطأ في الإعدادات:\n<pre>{why}</pre>");
                return Ok((false, keep_rtl(&text)));
            }
        },
        None => None,
    };
    match data::reload(&ctx.catalog, &ctx.config.data_dir) {
        Ok(catalog) => {
            if let Some(targets) = &targets {
                ctx.db.sync_config_targets(targets, ctx.clock.now()).await?;
            }
            let (events, days) = (catalog.store.len(), catalog.store.days_covered().len());
            let text = format!("أُعيد التحميل: {events} حدثًا على {days} يومًا من السنة.");
            Ok((true, keep_rtl(&text)))
        }
        Err(errors) => {
            let (n, why) = (errors.0.len(), escape(&errors.to_string()));
            let text = format!("{kept} عدد المشكلات: {n}\n<pre>{why}</pre>");
            Ok((false, keep_rtl(&text)))
        }
    }
}
