//! `/reload`: validates the config's targets and the data, and swaps them in only
//! when both are valid; on any error the bot keeps serving what it had. A
//! successful reload is announced to the other replicas, which reload too
//! (`service::reloads`).

use teloxide::prelude::*;

use crate::config::Config;
use crate::core::catalog::DataErrors;
use crate::core::render::{escape, keep_rtl};
use crate::data;
use crate::db::AuditOutcome;
use crate::telegram::admin::{Admin, audit};
use crate::telegram::context::{BotContext, HandlerError, HandlerResult};
use crate::telegram::reply::reply_html;

pub async fn reload(bot: Bot, msg: Message, admin: Admin, ctx: BotContext) -> HandlerResult {
    let (ok, text) = reload_all(&ctx).await?;
    if ok && let Err(e) = ctx.db.announce_reload(&ctx.publisher.sender.owner).await {
        tracing::warn!(error = %e, "could not tell the other replicas to reload");
    }
    reply_html(&ctx, &bot, &msg, &text, None).await?;
    let outcome = if ok {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Failed("the previous data is kept".into())
    };
    audit(&ctx, &admin.0, "reload", "", outcome).await;
    Ok(())
}

/// What a reload came to.
#[derive(Debug)]
pub enum Reloaded {
    /// Swapped in: so many events on so many days of the year.
    Done { events: usize, days: usize },
    /// The config did not load (its error): nothing was swapped.
    BadConfig(String),
    /// The data did not validate: the last good data is kept.
    BadData(DataErrors),
}

/// Reloads the config's targets (when the config has a file) and the data,
/// both or neither.
pub async fn reload_from_disk(ctx: &BotContext) -> Result<Reloaded, HandlerError> {
    let targets = match &ctx.config_path {
        Some(path) => match Config::load(path) {
            Ok(c) => Some(c.targets),
            Err(e) => return Ok(Reloaded::BadConfig(e.to_string())),
        },
        None => None,
    };
    match data::reload(&ctx.catalog, &ctx.config.data_dir) {
        Ok(catalog) => {
            if let Some(targets) = &targets {
                ctx.db.sync_config_targets(targets, ctx.clock.now()).await?;
            }
            let (events, days) = (catalog.store.len(), catalog.store.days_covered().len());
            Ok(Reloaded::Done { events, days })
        }
        Err(errors) => Ok(Reloaded::BadData(errors)),
    }
}

/// Whether both reloaded, and the admin's message.
pub async fn reload_all(ctx: &BotContext) -> Result<(bool, String), HandlerError> {
    let kept = "لم يُعد التحميل؛ ما زالت البيانات السابقة تعمل.";
    Ok(match reload_from_disk(ctx).await? {
        Reloaded::Done { events, days } => {
            let text = format!("أُعيد التحميل: {events} حدثًا على {days} يومًا من السنة.");
            (true, keep_rtl(&text))
        }
        Reloaded::BadConfig(e) => {
            let text = format!("{kept} خطأ في الإعدادات:\n<pre>{}</pre>", escape(&e));
            (false, keep_rtl(&text))
        }
        Reloaded::BadData(errors) => {
            let (n, why) = (errors.0.len(), escape(&errors.to_string()));
            let text = format!("{kept} عدد المشكلات: {n}\n<pre>{why}</pre>");
            (false, keep_rtl(&text))
        }
    })
}
