//! Telegram's rate limits, kept before every send: about 30 messages a second
//! overall, one a second per chat, 20 a minute per group (governor).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::Limits;

/// Telegram's limits, enforced before every send: overall, per chat, and per group.
pub struct Limiter {
    overall: DefaultDirectRateLimiter,
    /// When each chat was last let through, and how far apart its messages go.
    per_chat: Mutex<HashMap<i64, Instant>>,
    chat_interval: Duration,
    per_group: DefaultKeyedRateLimiter<i64>,
}

/// Added to a chat's interval: between being let through and reaching Telegram a
/// message still writes its `sending` row and is serialised (a card's upload
/// more slowly than a text), so two messages let through 1 s apart arrived up to
/// tens of ms closer (2 × 429 in 40 cards and texts without it, debug build).
const MARGIN: Duration = Duration::from_millis(100);

/// Past this many chats remembered, those not seen for an interval are forgotten.
const REMEMBERED: usize = 10_000;

/// Headroom under the overall rate. Let through at exactly 30/s, messages reach
/// Telegram with the jitter of a busy machine (threads descheduled, database
/// writes), and any 1 s that catches 31 gets a 429: 2 in a 200-target broadcast
/// with 60 workers (tests/it/run.rs, the two-replica tests). 3 % slower spacing
/// absorbs 30 ms of jitter a second.
const HEADROOM: f64 = 1.03;

/// One message every `HEADROOM / rate` seconds, no burst.
fn overall(rate: u32) -> Quota {
    let period = Duration::from_secs_f64(HEADROOM / f64::from(rate.max(1)));
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        let nz = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            // Evenly spaced rather than bursting: Telegram counts any one second.
            overall: RateLimiter::direct(overall(limits.overall_per_second)),
            per_chat: Mutex::new(HashMap::new()),
            chat_interval: Duration::from_secs(1) / limits.per_chat_per_second.max(1) + MARGIN,
            per_group: RateLimiter::keyed(Quota::per_minute(nz(limits.group_per_minute))),
        }
    }

    /// Waits until a message to `chat_id` may go out. Group and channel ids are negative.
    pub async fn wait(&self, chat_id: i64) {
        self.pass(chat_id, None).await;
    }

    /// As `wait`, holding one of `in_flight`'s permits from the overall queue on:
    /// the caller keeps it until its request is answered, so at most that many
    /// requests are on the wire at once however many targets wait for their chat.
    pub async fn wait_in_flight(
        &self,
        chat_id: i64,
        in_flight: &Arc<Semaphore>,
    ) -> Option<OwnedSemaphorePermit> {
        self.pass(chat_id, Some(in_flight)).await
    }

    ///
    /// A chat's spacing is measured when a message is let through, after the
    /// overall queue: a per-chat grant taken before it (governor's keyed limiter,
    /// as here before the day's card) let a chat's card and text reach Telegram
    /// 0.7–0.99 s apart while the queue drained, and 32 of 40 texts got a 429
    /// (tests/it/pictures.rs, issue_14_cards_go_out_within_telegrams_limits).
    async fn pass(
        &self,
        chat_id: i64,
        in_flight: Option<&Arc<Semaphore>>,
    ) -> Option<OwnedSemaphorePermit> {
        if chat_id < 0 {
            self.per_group.until_key_ready(&chat_id).await;
        }
        loop {
            if let Some(ready) = self.chat_ready_at(chat_id) {
                tokio::time::sleep_until(ready).await;
            }
            // Taken after the chat's wait: a permit never sleeps out a chat's second.
            let permit = match in_flight {
                Some(s) => Arc::clone(s).acquire_owned().await.ok(),
                None => None,
            };
            self.overall.until_ready().await;
            if self.let_through(chat_id) {
                return permit;
            }
            // Another message to this chat went first (an answer beside a post):
            // this overall slot is lost, and the chat's next one is waited for.
        }
    }

    fn chat_ready_at(&self, chat_id: i64) -> Option<Instant> {
        let last = self.per_chat.lock().ok()?.get(&chat_id).copied()?;
        Some(last + self.chat_interval)
    }

    /// Records `chat_id` as sent to now, unless it was within the interval.
    fn let_through(&self, chat_id: i64) -> bool {
        let now = Instant::now();
        let Ok(mut chats) = self.per_chat.lock() else {
            return true; // A poisoned map only loses the spacing, never a message.
        };
        if chats
            .get(&chat_id)
            .is_some_and(|last| now < *last + self.chat_interval)
        {
            return false;
        }
        if chats.len() >= REMEMBERED {
            let interval = self.chat_interval;
            chats.retain(|_, last| now < *last + interval);
        }
        chats.insert(chat_id, now);
        true
    }
}
