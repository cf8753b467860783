//! The bot added to or removed from a chat: a disabled target comes back when the
//! bot is added again; one it was removed from is disabled at once (never deleted).

use teloxide::types::ChatMemberUpdated;

use crate::telegram::context::{BotContext, HandlerResult};

pub async fn on_my_chat_member(update: ChatMemberUpdated, ctx: BotContext) -> HandlerResult {
    let now = ctx.clock.now();
    let Some(target) = ctx.db.target_by_chat(update.chat.id.0).await? else {
        return Ok(());
    };
    if update.new_chat_member.is_present() {
        if ctx.db.enable_target(target.id, now).await? {
            tracing::info!(target = %target.label(), "bot added back; target enabled again");
        }
    } else if target.enabled {
        let why = "the bot was removed from the chat";
        ctx.db.disable_target(target.id, why, now).await?;
        tracing::warn!(target = %target.label(), "{why}; target disabled");
    }
    Ok(())
}
