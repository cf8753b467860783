//! Telegram's rate limits, kept before every send: about 30 messages a second
//! overall, one a second per chat, 20 a minute per group (governor).

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;

/// Telegram's limits, enforced before every send: overall, per chat, and per group.
pub struct Limiter {
    overall: DefaultDirectRateLimiter,
    per_chat: DefaultKeyedRateLimiter<i64>,
    per_group: DefaultKeyedRateLimiter<i64>,
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        let nz = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            // Evenly spaced rather than bursting: Telegram counts any one second.
            overall: RateLimiter::direct(
                Quota::per_second(nz(limits.overall_per_second)).allow_burst(NonZeroU32::MIN),
            ),
            // No burst per chat: Telegram counts about one message a second per chat.
            per_chat: RateLimiter::keyed(
                Quota::per_second(nz(limits.per_chat_per_second)).allow_burst(NonZeroU32::MIN),
            ),
            per_group: RateLimiter::keyed(Quota::per_minute(nz(limits.group_per_minute))),
        }
    }

    /// Waits until a message to `chat_id` may go out. Group and channel ids are negative.
    pub async fn wait(&self, chat_id: i64) {
        self.per_chat.until_key_ready(&chat_id).await;
        if chat_id < 0 {
            self.per_group.until_key_ready(&chat_id).await;
        }
        self.overall.until_ready().await;
    }
}
