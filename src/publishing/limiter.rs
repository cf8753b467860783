//! Telegram's rate limits, kept before every send: about 30 messages a second
//! overall, one a second per chat, 20 a minute per group.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::MonotonicClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::Limits;

/// Telegram's limits, enforced before every send: overall, per chat, and per group.
///
/// The overall rate is a schedule of slots one period apart, each handed out
/// when a message is let through. With governor's direct limiter the next slot
/// was counted from when a waiter woke, so every late wake-up (a timer's
/// millisecond, a busy thread) was lost for good: 4–5 % of a 1,000-target
/// broadcast at 300/s (benches/broadcast.rs). A schedule only loses time when
/// nobody is waiting.
///
/// Replicas that all send (webhook mode, where any of them may answer) split
/// the bot's limits between them: with a share of `n`, this process keeps to
/// one `n`-th of each ([`Limiter::set_share`]), since Telegram counts the bot,
/// not the process.
pub struct Limiter {
    /// The overall schedule and each chat's slot, under one lock: a chat is
    /// given the same slot it will go out in.
    slots: Mutex<Slots>,
    /// The whole bot's spacing; this process's is `share` times it.
    period: Duration,
    chat_interval: Duration,
    per_group: GroupLimiter,
    group_per_minute: u32,
    share: AtomicU32,
}

/// Each group's limit, on std's monotonic clock. governor's default clock
/// (quanta's) calibrates the CPU's counter on first use, spinning up to 200 ms:
/// 59 ms of `dhikra run`'s start-up on its main thread (perf), before the
/// first answer could go out.
type GroupLimiter =
    RateLimiter<i64, DashMapStateStore<i64>, MonotonicClock, NoOpMiddleware<std::time::Instant>>;

struct Slots {
    /// The first free overall slot.
    next: Instant,
    /// Each chat's last slot.
    chats: HashMap<i64, Instant>,
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

/// A message's place in the schedule: its slot, and the permit it keeps until
/// its request is answered.
pub struct Ticket {
    slot: Instant,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Ticket {
    /// Waits for the slot. Kept apart from taking the ticket so that the
    /// database write before a send happens while waiting, not after the slot.
    pub async fn wait(&self) {
        sleep_until_due(self.slot).await;
    }
}

/// Sleeps until `at`, unless it has come: tokio rounds a deadline up to its
/// timer's next millisecond, so sleeping until `now` held every answer (whose
/// slot is almost always `now`) for up to a millisecond.
async fn sleep_until_due(at: Instant) {
    if at > Instant::now() {
        tokio::time::sleep_until(at).await;
    }
}

impl Limiter {
    pub fn new(limits: &Limits) -> Self {
        let nz = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            slots: Mutex::new(Slots {
                next: Instant::now(),
                chats: HashMap::new(),
            }),
            // Evenly spaced rather than bursting: Telegram counts any one second.
            period: Duration::from_secs_f64(HEADROOM / f64::from(limits.overall_per_second.max(1))),
            chat_interval: Duration::from_secs(1) / limits.per_chat_per_second.max(1),
            per_group: RateLimiter::dashmap_with_clock(
                Quota::per_minute(nz(limits.group_per_minute)),
                MonotonicClock,
            ),
            group_per_minute: limits.group_per_minute.max(1),
            share: AtomicU32::new(1),
        }
    }

    /// Keeps this process to one `replicas`-th of the bot's limits (at least
    /// the whole, for 0 or 1): the replicas serving updates each take an equal
    /// part, so together they stay within Telegram's.
    pub fn set_share(&self, replicas: u32) {
        let replicas = replicas.max(1);
        let before = self.share.swap(replicas, Ordering::Relaxed);
        if before != replicas {
            tracing::info!(replicas, "sharing the bot's rate limits");
        }
    }

    fn share(&self) -> u32 {
        self.share.load(Ordering::Relaxed)
    }

    fn period(&self) -> Duration {
        self.period * self.share()
    }

    fn chat_interval(&self) -> Duration {
        self.chat_interval * self.share() + MARGIN
    }

    /// Waits until a message to `chat_id` may go out. Group and channel ids are negative.
    pub async fn wait(&self, chat_id: i64) {
        self.ticket(chat_id, None).await.wait().await;
    }

    /// A slot for a message to `chat_id`, holding one of `in_flight`'s permits
    /// from then on: the caller keeps the ticket until its request is answered,
    /// so at most that many requests are scheduled or on the wire at once
    /// however many targets wait for their chat.
    pub async fn ticket_in_flight(&self, chat_id: i64, in_flight: &Arc<Semaphore>) -> Ticket {
        self.ticket(chat_id, Some(in_flight)).await
    }

    /// A chat's spacing is counted from its slot, after the overall queue: a
    /// per-chat grant taken before it (governor's keyed limiter, as here before
    /// the day's card) let a chat's card and text reach Telegram 0.7–0.99 s apart
    /// while the queue drained, and 32 of 40 texts got a 429
    /// (tests/it/pictures.rs, issue_14_cards_go_out_within_telegrams_limits).
    async fn ticket(&self, chat_id: i64, in_flight: Option<&Arc<Semaphore>>) -> Ticket {
        if chat_id < 0 {
            self.per_group_ready(chat_id).await;
        }
        loop {
            if let Some(ready) = self.chat_ready_at(chat_id) {
                sleep_until_due(ready).await;
            }
            // Taken after the chat's wait: a permit never sleeps out a chat's second.
            let permit = match in_flight {
                Some(s) => Arc::clone(s).acquire_owned().await.ok(),
                None => None,
            };
            if let Some(slot) = self.reserve(chat_id) {
                return Ticket {
                    slot,
                    _permit: permit,
                };
            }
            // Another message to this chat was scheduled first (an answer beside
            // a post): wait for the chat's next turn.
        }
    }

    /// A share of n spends n of the group's cells on each message.
    async fn per_group_ready(&self, chat_id: i64) {
        let cells =
            NonZeroU32::new(self.share().min(self.group_per_minute)).unwrap_or(NonZeroU32::MIN);
        if self
            .per_group
            .until_key_n_ready(&chat_id, cells)
            .await
            .is_err()
        {
            self.per_group.until_key_ready(&chat_id).await;
        }
    }

    fn chat_ready_at(&self, chat_id: i64) -> Option<Instant> {
        let last = self.slots.lock().ok()?.chats.get(&chat_id).copied()?;
        Some(last + self.chat_interval())
    }

    /// The next overall slot for `chat_id`, unless the chat's own interval
    /// would not have passed by then.
    fn reserve(&self, chat_id: i64) -> Option<Instant> {
        let now = Instant::now();
        let Ok(mut slots) = self.slots.lock() else {
            return Some(now); // A poisoned lock only loses the spacing, never a message.
        };
        let slot = slots.next.max(now);
        let interval = self.chat_interval();
        if slots
            .chats
            .get(&chat_id)
            .is_some_and(|last| slot < *last + interval)
        {
            return None;
        }
        if slots.chats.len() >= REMEMBERED {
            slots.chats.retain(|_, last| now < *last + interval);
        }
        slots.chats.insert(chat_id, slot);
        slots.next = slot + self.period();
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(overall: u32) -> Limits {
        Limits {
            overall_per_second: overall,
            per_chat_per_second: 1,
            group_per_minute: 20,
        }
    }

    /// Within the timer's millisecond of `expected`, never before it.
    fn about(elapsed: Duration, expected: Duration) {
        assert!(
            elapsed >= expected && elapsed <= expected + Duration::from_millis(2),
            "{elapsed:?} is not {expected:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn messages_to_many_chats_are_spaced_by_the_overall_rate() {
        let limiter = Limiter::new(&limits(10));
        let start = Instant::now();
        for chat in 0..5 {
            limiter.wait(chat).await;
        }
        about(start.elapsed(), limiter.period() * 4);
    }

    /// Guards the broadcast ratio (benches/broadcast.rs): a slot is counted from
    /// the one before it, not from when its holder woke up.
    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_delays_no_later_slot() {
        let limiter = Limiter::new(&limits(10));
        let start = Instant::now();
        let first = limiter.ticket(1, None).await;
        let second = limiter.ticket(2, None).await;
        // The second holder wakes 50 ms after its slot (a busy thread), and the
        // third asks then: its slot is still one period after the second's.
        tokio::time::sleep(limiter.period() + Duration::from_millis(50)).await;
        first.wait().await;
        second.wait().await;
        let third = limiter.ticket(3, None).await;
        third.wait().await;
        about(start.elapsed(), limiter.period() * 2);
    }

    #[tokio::test(start_paused = true)]
    async fn one_chat_gets_one_message_per_interval() {
        let limiter = Limiter::new(&limits(30));
        let start = Instant::now();
        limiter.wait(7).await;
        limiter.wait(7).await;
        limiter.wait(7).await;
        about(start.elapsed(), (Duration::from_secs(1) + MARGIN) * 2);
    }

    /// Guards the webhook replicas (issue 13): two processes sending for one
    /// bot each keep to half its limits, overall, per chat and per group.
    #[tokio::test(start_paused = true)]
    async fn a_share_of_two_halves_every_limit() {
        let limiter = Limiter::new(&limits(10));
        let whole = limiter.period();
        limiter.set_share(2);
        let start = Instant::now();
        for chat in 0..5 {
            limiter.wait(chat).await;
        }
        about(start.elapsed(), whole * 2 * 4);
        limiter.wait(7).await;
        let start = Instant::now();
        limiter.wait(7).await;
        about(start.elapsed(), Duration::from_secs(2) + MARGIN);
        // 20 a minute per group (governor keeps its own clock, so the cells
        // are counted rather than waited for): 10 messages spend them all.
        for _ in 0..10 {
            limiter.per_group_ready(-100).await;
        }
        assert!(
            limiter.per_group.check_key(&-100).is_err(),
            "a group's 11th"
        );
        let whole = Limiter::new(&limits(10));
        for _ in 0..10 {
            whole.per_group_ready(-100).await;
        }
        assert!(whole.per_group.check_key(&-100).is_ok(), "without a share");
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_permits_bound_the_tickets_held() {
        let limiter = Limiter::new(&limits(1000));
        let in_flight = Arc::new(Semaphore::new(2));
        let a = limiter.ticket_in_flight(1, &in_flight).await;
        let _b = limiter.ticket_in_flight(2, &in_flight).await;
        assert_eq!(in_flight.available_permits(), 0);
        drop(a);
        let _c = limiter.ticket_in_flight(3, &in_flight).await;
        assert_eq!(in_flight.available_permits(), 0);
    }
}
