//! Sending one post to one target: claim each part in the delivery log, wait for
//! the rate limiter, send, classify Telegram's answer, and retry, defer, re-route
//! or disable accordingly. Every decision is written to the log before the next.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{LinkPreviewOptions, MessageId, ParseMode, ThreadId};
use tokio::sync::watch;

use crate::calendar::Clock;
use crate::config::Limits;
use crate::ops::names;
use crate::render;
use crate::storage::{Claim, Db, Slot, StorageError, Target};

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

/// What a failed request means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429: wait this long, then send the same part again.
    RetryAfter(Duration),
    /// The group became a supergroup: send to the new id.
    Migrate(i64),
    /// The bot may not post there (kicked, blocked, not a member, chat gone).
    Disable(String),
    /// Telegram could not parse our HTML: send as plain text.
    PlainText(String),
    /// Network trouble or a server error: back off and try again.
    Transient(String),
    /// Anything else: give up on this part.
    Permanent(String),
}

/// Classifies a teloxide error. teloxide matches API errors on their exact text and
/// gives some "Forbidden:" answers as `Unknown`, so those are matched by prefix too.
pub fn classify(err: &RequestError) -> Fault {
    match err {
        RequestError::RetryAfter(s) => Fault::RetryAfter(s.duration()),
        RequestError::MigrateToChatId(id) => Fault::Migrate(id.0),
        RequestError::Network(_) => Fault::Transient(describe(err)),
        RequestError::Io(e) => Fault::Transient(format!("I/O error: {e}")),
        RequestError::InvalidJson { .. } => Fault::Transient(
            "the Bot API answered with something that is not its JSON (a proxy or server error)"
                .into(),
        ),
        RequestError::Api(api) => {
            let text = api.to_string();
            match api {
                ApiError::BotBlocked
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::BotKickedFromChannel
                | ApiError::UserDeactivated
                | ApiError::ChatNotFound
                | ApiError::NotEnoughRightsToPostMessages => Fault::Disable(text),
                ApiError::CantParseEntities(t) => Fault::PlainText(t.clone()),
                ApiError::Unknown(t) if t.starts_with("Forbidden:") => Fault::Disable(t.clone()),
                ApiError::Unknown(t)
                    if t.starts_with("Bad Request:")
                        || t.starts_with("Unauthorized")
                        || t.starts_with("Not Found") =>
                {
                    Fault::Permanent(t.clone())
                }
                // Server errors and anything unrecognised are worth another try.
                ApiError::Unknown(t) => Fault::Transient(t.clone()),
                _ => Fault::Permanent(text),
            }
        }
    }
}

/// How transient failures are retried: exponential backoff with jitter, bounded.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub min_delay: Duration,
    pub max_delay: Duration,
    pub max_retries: usize,
    /// A `retry_after` up to this long is waited out in place; a longer one defers
    /// the part to a later tick so one slow chat does not hold a worker.
    pub max_inline_wait: Duration,
    /// How long a claim stays ours without renewal; past it the row is "unknown".
    pub lease: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retries: 5,
            max_inline_wait: Duration::from_secs(60),
            lease: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    pub fn from_config(r: &crate::config::Retries) -> Self {
        Self {
            min_delay: Duration::from_millis(u64::from(r.min_delay_ms)),
            max_delay: Duration::from_millis(u64::from(r.max_delay_ms)),
            max_retries: r.max_retries as usize,
            ..Self::default()
        }
    }

    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
            .build()
    }
}

/// How one target's delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        parts: usize,
    },
    AlreadySent,
    Disabled(String),
    Failed(String),
    Deferred(DateTime<Utc>),
    /// Another process is sending it right now.
    InFlight,
    /// A previous process stopped mid-send; left for an admin (see README).
    Unknown,
    /// Shutting down before this target's next part was claimed.
    Stopped,
}

/// Admin alerts: always to the log, and to the admin chat when one is configured.
#[derive(Clone)]
pub struct Alerts {
    bot: Bot,
    admin_chat: Option<i64>,
}

impl Alerts {
    pub fn new(bot: Bot, admin_chat: Option<i64>) -> Self {
        Self { bot, admin_chat }
    }

    pub async fn send(&self, text: &str) {
        tracing::warn!(alert = %text, "admin alert");
        if let Some(chat) = self.admin_chat
            && let Err(e) = self
                .bot
                .send_message(ChatId(chat), format!("⚠️ {text}"))
                .await
        {
            tracing::warn!(error = %describe(&e), "could not deliver the admin alert");
        }
    }
}

/// A request error as text that can be logged: no URL, so never the token.
pub fn describe(err: &RequestError) -> String {
    match err {
        RequestError::Network(e) => {
            let text = format!("network error: {e}");
            match e.url() {
                // The request URL holds the token (`/bot<token>/Method`).
                Some(url) => text.replace(url.as_str(), "[Bot API URL]"),
                None => text,
            }
        }
        other => other.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DeliveryError(#[from] StorageError);

/// Sends posts through the claim protocol. Cheap to clone.
#[derive(Clone)]
pub struct Sender {
    pub bot: Bot,
    pub db: Db,
    pub limiter: Arc<Limiter>,
    pub clock: Arc<dyn Clock>,
    pub policy: RetryPolicy,
    pub alerts: Alerts,
    /// `host:pid:nonce` of this process, written on the rows it claims.
    pub owner: String,
}

impl Sender {
    /// Delivers `parts` to `target` under delivery key `key` (the local date, or a repost key),
    /// resuming at the first part not yet sent. Nothing is sent at or after `deadline`.
    pub async fn deliver(
        &self,
        target: &Target,
        key: &str,
        parts: &[String],
        deadline: DateTime<Utc>,
        stop: &watch::Receiver<bool>,
    ) -> Result<Outcome, DeliveryError> {
        let Some(mut chat_id) = target.chat_id else {
            return Ok(Outcome::Failed(format!(
                "{} has no numeric chat id yet",
                target.chat_key
            )));
        };
        let total = parts.len() as u32;
        let mut sent_now = 0;
        for (i, html) in parts.iter().enumerate() {
            let part = i as u32 + 1;
            if *stop.borrow() {
                return Ok(Outcome::Stopped);
            }
            let now = self.clock.now();
            if now >= deadline {
                return Ok(Outcome::Failed(
                    "the local day ended before this part was claimed".into(),
                ));
            }
            match self
                .db
                .claim(
                    Slot {
                        target: target.id,
                        key,
                        part,
                    },
                    total,
                    &self.owner,
                    now + self.policy.lease,
                    now,
                )
                .await?
            {
                Claim::Acquired => {}
                Claim::AlreadySent => continue,
                Claim::InFlight => return Ok(Outcome::InFlight),
                Claim::RetryLater(t) => return Ok(Outcome::Deferred(t)),
                Claim::Failed(e) => return Ok(Outcome::Failed(e)),
                Claim::Unknown => return Ok(Outcome::Unknown),
            }
            match self
                .send_part(target, &mut chat_id, key, part, html, deadline, stop)
                .await?
            {
                None => sent_now += 1,
                Some(outcome) => return Ok(outcome),
            }
        }
        Ok(if sent_now == 0 {
            Outcome::AlreadySent
        } else {
            Outcome::Sent { parts: sent_now }
        })
    }

    /// Gives up on a part: recorded in the log and counted in the metrics.
    async fn fail(
        &self,
        slot: Slot<'_>,
        why: &str,
        now: DateTime<Utc>,
        label: &str,
    ) -> Result<(), DeliveryError> {
        self.db.mark_failed(slot, why, now).await?;
        metrics::counter!(names::POSTS_FAILED, "target" => label.to_owned()).increment(1);
        Ok(())
    }

    /// Sends one claimed part; `None` when it was sent and recorded.
    #[allow(clippy::too_many_arguments)]
    async fn send_part(
        &self,
        target: &Target,
        chat_id: &mut i64,
        key: &str,
        part: u32,
        html: &str,
        deadline: DateTime<Utc>,
        stop: &watch::Receiver<bool>,
    ) -> Result<Option<Outcome>, DeliveryError> {
        let db = &self.db;
        let slot = Slot {
            target: target.id,
            key,
            part,
        };
        let label = target.label();
        let mut backoff = self.policy.backoff();
        let mut plain = false;
        loop {
            let now = self.clock.now();
            if now >= deadline {
                let why = "the local day ended before it could be sent";
                self.fail(slot, why, now, &label).await?;
                return Ok(Some(Outcome::Failed(why.into())));
            }
            self.limiter.wait(*chat_id).await;
            let now = self.clock.now();
            db.begin_attempt(slot, now + self.policy.lease, now).await?;
            let text = if plain {
                render::to_plain(html)
            } else {
                html.to_owned()
            };
            let mut request = self
                .bot
                .send_message(ChatId(*chat_id), text)
                .link_preview_options(LinkPreviewOptions {
                    is_disabled: true,
                    url: None,
                    prefer_small_media: false,
                    prefer_large_media: false,
                    show_above_text: false,
                });
            if !plain {
                request = request.parse_mode(ParseMode::Html);
            }
            if let Some(topic) = target.topic_id.and_then(|t| i32::try_from(t).ok()) {
                request = request.message_thread_id(ThreadId(MessageId(topic)));
            }
            let result = request.await;
            // Recorded at once: this gap is the only window for a duplicate or a loss.
            let now = self.clock.now();
            let err = match result {
                Ok(message) => {
                    db.mark_sent(slot, message.id.0, now).await?;
                    metrics::counter!(names::POSTS_SENT, "target" => label.clone()).increment(1);
                    metrics::gauge!(names::LAST_POST).set(now.timestamp() as f64);
                    return Ok(None);
                }
                Err(err) => err,
            };
            let fault = classify(&err);
            match &fault {
                Fault::RetryAfter(_) => metrics::counter!(names::TOO_MANY_REQUESTS).increment(1),
                Fault::Transient(_) => metrics::counter!(names::RETRIES).increment(1),

                _ => {}
            }
            // An error answer means nothing was posted: the row is plainly ours again.
            // (Only a transport failure leaves it 'sending'; see README on delivery.)
            if !matches!(fault, Fault::Transient(_)) || matches!(err, RequestError::Api(_)) {
                db.end_attempt(slot, &describe(&err), now).await?;
            }
            let wait = match fault {
                Fault::RetryAfter(d) => {
                    let until =
                        now + chrono::Duration::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
                    if until >= deadline {
                        let why = format!(
                            "Telegram asked to wait {}s, past the end of the local day",
                            d.as_secs()
                        );
                        self.fail(slot, &why, now, &label).await?;
                        self.alerts
                            .send(&format!("لم يُرسل منشور {key} إلى {label}: {why}"))
                            .await;
                        return Ok(Some(Outcome::Failed(why)));
                    }
                    if d > self.policy.max_inline_wait {
                        db.mark_retry(
                            slot,
                            until,
                            &format!("429: retry after {}s", d.as_secs()),
                            now,
                        )
                        .await?;
                        return Ok(Some(Outcome::Deferred(until)));
                    }
                    d
                }
                Fault::Migrate(new_id) => {
                    tracing::info!(target = %label, new_id, "group migrated to a supergroup; following it");
                    db.set_chat_id(target.id, new_id, Some("supergroup"), now)
                        .await?;
                    *chat_id = new_id;
                    continue;
                }
                Fault::Disable(why) => {
                    self.fail(slot, &why, now, &label).await?;
                    db.disable_target(target.id, &why, now).await?;
                    self.alerts.send(&format!("عُطّل الهدف {label}: {why}. يبقى محفوظًا ويُفعَّل عند إعادة إضافة البوت أو بأمر من المشرف.")).await;
                    return Ok(Some(Outcome::Disabled(why)));
                }
                Fault::PlainText(why) if !plain => {
                    self.alerts.send(&format!("تعذّر على تيليجرام قراءة تنسيق منشور {key} إلى {label} ({why})؛ أُعيد إرساله نصًا عاديًا.")).await;
                    plain = true;
                    continue;
                }
                Fault::Transient(why) => match backoff.next() {
                    Some(d) => {
                        tracing::info!(target = %label, error = %why, delay_ms = d.as_millis() as u64, "transient failure; backing off");
                        d
                    }
                    None => {
                        let why =
                            format!("gave up after {} retries: {why}", self.policy.max_retries);
                        self.fail(slot, &why, now, &label).await?;
                        self.alerts
                            .send(&format!("فشل إرسال منشور {key} إلى {label}: {why}"))
                            .await;
                        return Ok(Some(Outcome::Failed(why)));
                    }
                },
                Fault::PlainText(why) | Fault::Permanent(why) => {
                    self.fail(slot, &why, now, &label).await?;
                    self.alerts
                        .send(&format!("فشل إرسال منشور {key} إلى {label}: {why}"))
                        .await;
                    return Ok(Some(Outcome::Failed(why)));
                }
            };
            // Waiting is not "in flight": on shutdown, leave the part for the next run.
            let mut stop = stop.clone();
            let stopped = async move { stop.wait_for(|s| *s).await.is_ok() };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                true = stopped => {
                    let now = self.clock.now();
                    db.mark_retry(slot, now, "interrupted by shutdown while waiting to retry", now).await?;
                    return Ok(Some(Outcome::Stopped));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;

    #[test]
    fn classifies_telegram_faults() {
        assert_eq!(
            classify(&RequestError::RetryAfter(Seconds::from_seconds(3))),
            Fault::RetryAfter(Duration::from_secs(3))
        );
        assert_eq!(
            classify(&RequestError::MigrateToChatId(ChatId(-100777))),
            Fault::Migrate(-100777)
        );
        assert!(matches!(
            classify(&RequestError::Api(ApiError::BotKickedFromChannel)),
            Fault::Disable(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::ChatNotFound)),
            Fault::Disable(_)
        ));
        let not_member =
            ApiError::Unknown("Forbidden: bot is not a member of the channel chat".into());
        assert!(matches!(
            classify(&RequestError::Api(not_member)),
            Fault::Disable(_)
        ));
        let entities = ApiError::CantParseEntities("Bad Request: can't parse entities: x".into());
        assert!(matches!(
            classify(&RequestError::Api(entities)),
            Fault::PlainText(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::Unknown(
                "Internal Server Error".into()
            ))),
            Fault::Transient(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::Unknown(
                "Bad Request: odd".into()
            ))),
            Fault::Permanent(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::MessageIsTooLong)),
            Fault::Permanent(_)
        ));
    }
}
