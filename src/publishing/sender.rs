//! Sending one post to one target: claim each part in the delivery log, wait for
//! the rate limiter, send, classify Telegram's answer, and retry, defer, re-route
//! or disable accordingly. Every decision is written to the log before the next.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{MessageId, ParseMode, ThreadId};

use crate::core::calendar::Clock;
use crate::core::render;
use crate::db::{Claim, Db, Slot, StorageError, Target};
use crate::ops::names;
use crate::publishing::alerts::Alerts;
use crate::publishing::faults::{Fault, RetryPolicy, classify, describe};
use crate::publishing::limiter::Limiter;
use crate::publishing::no_preview;
use crate::shutdown::Shutdown;

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

/// One claimed part on its way out, across attempts.
struct Part<'a> {
    target: &'a Target,
    slot: Slot<'a>,
    label: String,
    html: &'a str,
    deadline: DateTime<Utc>,
    chat_id: i64,
    /// Telegram could not parse the HTML once: the rest goes as plain text.
    plain: bool,
}

/// What to do after a failed attempt.
enum Next {
    Again,
    Wait(Duration),
    Finish(Outcome),
}

impl Sender {
    /// Delivers `parts` to `target` under delivery key `key` (the local date, or a repost key),
    /// resuming at the first part not yet sent. Nothing is sent at or after `deadline`.
    #[tracing::instrument(skip_all, fields(target = %target.label(), key))]
    pub async fn deliver(
        &self,
        target: &Target,
        key: &str,
        parts: &[String],
        deadline: DateTime<Utc>,
        stop: &Shutdown,
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
            let slot = Slot {
                target: target.id,
                key,
                part: i as u32 + 1,
            };
            if stop.is_shutdown() {
                return Ok(Outcome::Stopped);
            }
            let now = self.clock.now();
            if now >= deadline {
                return Ok(Outcome::Failed(
                    "the local day ended before this part was claimed".into(),
                ));
            }
            let lease = now + self.policy.lease;
            match self.db.claim(slot, total, &self.owner, lease, now).await? {
                Claim::Acquired => {}
                Claim::AlreadySent => continue,
                Claim::InFlight => return Ok(Outcome::InFlight),
                Claim::RetryLater(t) => return Ok(Outcome::Deferred(t)),
                Claim::Failed(e) => return Ok(Outcome::Failed(e)),
                Claim::Unknown => return Ok(Outcome::Unknown),
            }
            let mut part = Part {
                target,
                slot,
                label: target.label(),
                html,
                deadline,
                chat_id,
                plain: false,
            };
            let outcome = self.send_part(&mut part, stop).await?;
            chat_id = part.chat_id;
            match outcome {
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

    /// Sends one claimed part; `None` when it was sent and recorded.
    async fn send_part(
        &self,
        part: &mut Part<'_>,
        stop: &Shutdown,
    ) -> Result<Option<Outcome>, DeliveryError> {
        let mut backoff = self.policy.backoff();
        loop {
            let now = self.clock.now();
            if now >= part.deadline {
                let why = "the local day ended before it could be sent";
                self.fail(part, why, now).await?;
                return Ok(Some(Outcome::Failed(why.into())));
            }
            let Err(err) = self.attempt(part).await? else {
                return Ok(None);
            };
            let wait = match self.on_fault(part, &err, &mut backoff).await? {
                Next::Again => continue,
                Next::Finish(outcome) => return Ok(Some(outcome)),
                Next::Wait(wait) => wait,
            };
            // Waiting is not "in flight": on shutdown, leave the part for the next run.
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait() => {
                    let now = self.clock.now();
                    let why = "interrupted by shutdown while waiting to retry";
                    self.db.mark_retry(part.slot, now, why, now).await?;
                    return Ok(Some(Outcome::Stopped));
                }
            }
        }
    }

    /// One request for one part, recorded as `sending` before and `sent` after.
    async fn attempt(&self, part: &Part<'_>) -> Result<Result<(), RequestError>, DeliveryError> {
        self.limiter.wait(part.chat_id).await;
        let now = self.clock.now();
        self.db
            .begin_attempt(part.slot, now + self.policy.lease, now)
            .await?;
        let text = if part.plain {
            render::to_plain(part.html)
        } else {
            part.html.to_owned()
        };
        let mut request = self
            .bot
            .send_message(ChatId(part.chat_id), text)
            .link_preview_options(no_preview());
        if !part.plain {
            request = request.parse_mode(ParseMode::Html);
        }
        if let Some(topic) = part.target.topic_id.and_then(|t| i32::try_from(t).ok()) {
            request = request.message_thread_id(ThreadId(MessageId(topic)));
        }
        let result = request.await;
        // Recorded at once: this gap is the only window for a duplicate or a loss.
        let now = self.clock.now();
        match result {
            Ok(message) => {
                self.db.mark_sent(part.slot, message.id.0, now).await?;
                metrics::counter!(names::POSTS_SENT, "target" => part.label.clone()).increment(1);
                metrics::gauge!(names::LAST_POST).set(now.timestamp() as f64);
                Ok(Ok(()))
            }
            Err(err) => Ok(Err(err)),
        }
    }

    /// Decides what a failed attempt means, and records it.
    async fn on_fault(
        &self,
        part: &mut Part<'_>,
        err: &RequestError,
        backoff: &mut impl Iterator<Item = Duration>,
    ) -> Result<Next, DeliveryError> {
        let now = self.clock.now();
        let fault = classify(err);
        match &fault {
            Fault::RetryAfter(_) => metrics::counter!(names::TOO_MANY_REQUESTS).increment(1),
            Fault::Transient(_) => metrics::counter!(names::RETRIES).increment(1),
            _ => {}
        }
        // An error answer means nothing was posted: the row is plainly ours again.
        // (Only a transport failure leaves it 'sending'; see README on delivery.)
        if !matches!(fault, Fault::Transient(_)) || matches!(err, RequestError::Api(_)) {
            self.db.end_attempt(part.slot, &describe(err), now).await?;
        }
        let (key, label) = (part.slot.key, part.label.clone());
        Ok(match fault {
            Fault::RetryAfter(d) => self.on_retry_after(part, d, now).await?,
            Fault::Migrate(new_id) => {
                tracing::info!(target = %label, new_id, "group migrated to a supergroup; following it");
                self.db
                    .set_chat_id(part.target.id, new_id, Some("supergroup"), now)
                    .await?;
                part.chat_id = new_id;
                Next::Again
            }
            Fault::Disable(why) => {
                self.fail(part, &why, now).await?;
                self.db.disable_target(part.target.id, &why, now).await?;
                self.alerts.send(&format!("عُطّل الهدف {label}: {why}. يبقى محفوظًا ويُفعَّل عند إعادة إضافة البوت أو بأمر من المشرف.")).await;
                Next::Finish(Outcome::Disabled(why))
            }
            Fault::PlainText(why) if !part.plain => {
                self.alerts.send(&format!("تعذّر على تيليجرام قراءة تنسيق منشور {key} إلى {label} ({why})؛ أُعيد إرساله نصًا عاديًا.")).await;
                part.plain = true;
                Next::Again
            }
            Fault::Transient(why) => match backoff.next() {
                Some(d) => {
                    tracing::info!(target = %label, error = %why, delay_ms = d.as_millis() as u64, "transient failure; backing off");
                    Next::Wait(d)
                }
                None => {
                    let why = format!("gave up after {} retries: {why}", self.policy.max_retries);
                    self.give_up(part, why, now).await?
                }
            },
            Fault::PlainText(why) | Fault::Permanent(why) => self.give_up(part, why, now).await?,
        })
    }

    /// 429: wait in place, defer to a later tick, or give up when the day would end first.
    async fn on_retry_after(
        &self,
        part: &Part<'_>,
        d: Duration,
        now: DateTime<Utc>,
    ) -> Result<Next, DeliveryError> {
        let until = now + chrono::Duration::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
        if until >= part.deadline {
            let why = format!(
                "Telegram asked to wait {}s, past the end of the local day",
                d.as_secs()
            );
            self.fail(part, &why, now).await?;
            let (key, label) = (part.slot.key, &part.label);
            self.alerts
                .send(&format!("لم يُرسل منشور {key} إلى {label}: {why}"))
                .await;
            return Ok(Next::Finish(Outcome::Failed(why)));
        }
        if d > self.policy.max_inline_wait {
            let why = format!("429: retry after {}s", d.as_secs());
            self.db.mark_retry(part.slot, until, &why, now).await?;
            return Ok(Next::Finish(Outcome::Deferred(until)));
        }
        Ok(Next::Wait(d))
    }

    /// Gives up on a part and tells the admins.
    async fn give_up(
        &self,
        part: &Part<'_>,
        why: String,
        now: DateTime<Utc>,
    ) -> Result<Next, DeliveryError> {
        self.fail(part, &why, now).await?;
        let (key, label) = (part.slot.key, &part.label);
        self.alerts
            .send(&format!("فشل إرسال منشور {key} إلى {label}: {why}"))
            .await;
        Ok(Next::Finish(Outcome::Failed(why)))
    }

    /// Gives up on a part: recorded in the log and counted in the metrics.
    async fn fail(
        &self,
        part: &Part<'_>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        self.db.mark_failed(part.slot, why, now).await?;
        metrics::counter!(names::POSTS_FAILED, "target" => part.label.clone()).increment(1);
        Ok(())
    }
}
