//! Sending one post to one target: claim each part in the delivery log, wait for
//! the rate limiter, send, classify Telegram's answer, and retry, defer, re-route
//! or disable accordingly. Every decision is written to the log before the next.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{InputFile, MessageId, ParseMode, ThreadId};
use tokio::sync::Semaphore;

use crate::config::TargetOptions;

use crate::core::calendar::Clock;
use crate::core::render;
use crate::db::{Claim, Db, Slot, StorageError, Target};
use crate::ops::names;
use crate::publishing::alerts::Alerts;
use crate::publishing::faults::{Fault, RetryPolicy, classify, describe};
use crate::publishing::limiter::Limiter;
use crate::publishing::no_preview;
use crate::publishing::picture::Photo;
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
    /// Permits for requests on the wire ([`IN_FLIGHT`]).
    pub in_flight: Arc<Semaphore>,
    /// Permits for claims being written ([`CLAIMING`]).
    pub claiming: Arc<Semaphore>,
    /// What this process knows of parts it could not record (the database was
    /// away), written by [`Sender::settle`] once it is back.
    pub unrecorded: Arc<Mutex<Vec<Unrecorded>>>,
}

/// A part whose fate this process knows but could not write down.
#[derive(Debug, Clone)]
pub struct Unrecorded {
    target: i64,
    key: String,
    part: u32,
    /// Telegram's message, when it was sent; `None`: it never left.
    sent: Option<i32>,
}

/// At most this many sends are on the wire at once, so at most this many rows
/// can be left `unknown` by a crash (README, "Delivery guarantees"), however
/// many targets a broadcast serves at once while they wait for their chat.
pub const IN_FLIGHT: usize = 8;

/// At most this many claims are written at once. A broadcast starts hundreds
/// of targets together, and their claims queued ahead of the first message's
/// `sending` row held it 90–170 ms (benches/broadcast.rs, 1,000 targets);
/// the database writes one at a time anyway.
pub const CLAIMING: usize = 4;

/// What one target is sent: the day's card first (part 0), when it gets one,
/// then the text parts (1…). Shared by every target with the same theatres.
#[derive(Clone)]
pub struct Outgoing {
    pub photo: Option<Arc<Photo>>,
    pub parts: Arc<[String]>,
}

impl Outgoing {
    pub fn text(parts: Vec<String>) -> Self {
        Self {
            photo: None,
            parts: parts.into(),
        }
    }
}

/// What a part carries.
#[derive(Clone, Copy)]
enum Body<'a> {
    Text(&'a str),
    Photo(&'a Photo),
}

/// One claimed part on its way out, across attempts.
struct Part<'a> {
    target: &'a Target,
    options: TargetOptions,
    slot: Slot<'a>,
    label: String,
    body: Body<'a>,
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

/// Where one part of a delivery stands after trying it.
enum Step {
    /// Sent now, as this message.
    Sent(MessageId),
    /// Sent by an earlier run.
    Already,
    /// Not sent, and the rest of the post goes on without it (the picture only).
    Skipped,
    /// The delivery stops here.
    Stop(Outcome),
}

/// A delivery in progress: the target, its key, and what has happened so far.
struct Run<'a> {
    target: &'a Target,
    key: &'a str,
    total: u32,
    deadline: DateTime<Utc>,
    chat_id: i64,
    sent_now: usize,
    /// The day's first message is out (now or earlier): nothing more to pin.
    opened: bool,
}

impl Sender {
    /// Delivers `post` to `target` under delivery key `key` (the local date, or a repost key),
    /// resuming at the first part not yet sent. Nothing is sent at or after `deadline`.
    #[tracing::instrument(skip_all, fields(target = %target.label(), key))]
    pub async fn deliver(
        &self,
        target: &Target,
        key: &str,
        post: &Outgoing,
        deadline: DateTime<Utc>,
        stop: &Shutdown,
    ) -> Result<Outcome, DeliveryError> {
        let Some(chat_id) = target.chat_id else {
            return Ok(Outcome::Failed(format!(
                "{} has no numeric chat id yet",
                target.chat_key
            )));
        };
        let mut run = Run {
            target,
            key,
            total: post.parts.len() as u32 + u32::from(post.photo.is_some()),
            deadline,
            chat_id,
            sent_now: 0,
            opened: false,
        };
        let photo = post.photo.as_deref().map(|p| (0, Body::Photo(p)));
        let texts = (1..).zip(post.parts.iter().map(|t| Body::Text(t)));
        for (part, body) in photo.into_iter().chain(texts) {
            if let Some(outcome) = self.next_part(&mut run, part, body, stop).await? {
                return Ok(outcome);
            }
        }
        Ok(if run.sent_now == 0 {
            Outcome::AlreadySent
        } else {
            Outcome::Sent {
                parts: run.sent_now,
            }
        })
    }

    /// One part of a running delivery; `Some` when the delivery ends here.
    async fn next_part(
        &self,
        run: &mut Run<'_>,
        part: u32,
        body: Body<'_>,
        stop: &Shutdown,
    ) -> Result<Option<Outcome>, DeliveryError> {
        let slot = Slot {
            target: run.target.id,
            key: run.key,
            part,
        };
        match self.claim_and_send(run, slot, body, stop).await? {
            Step::Sent(message) => {
                run.sent_now += 1;
                if !std::mem::replace(&mut run.opened, true) && run.target.pin {
                    self.pin(run, message).await;
                }
            }
            Step::Already => run.opened = true,
            Step::Skipped => {}
            Step::Stop(outcome) => return Ok(Some(outcome)),
        }
        Ok(None)
    }

    /// Claims one part and sends it; a picture that fails gives way to the text.
    async fn claim_and_send(
        &self,
        run: &mut Run<'_>,
        slot: Slot<'_>,
        body: Body<'_>,
        stop: &Shutdown,
    ) -> Result<Step, DeliveryError> {
        let is_photo = matches!(body, Body::Photo(_));
        if stop.is_shutdown() {
            return Ok(Step::Stop(Outcome::Stopped));
        }
        let now = self.clock.now();
        if now >= run.deadline {
            return Ok(Step::Stop(Outcome::Failed(
                "the local day ended before this part was claimed".into(),
            )));
        }
        let lease = self.policy.lease;
        let claim = {
            let _writing = self.claiming.acquire().await;
            self.db
                .claim(slot, run.total, &self.owner, lease, now)
                .await?
        };
        let stopped = match claim {
            Claim::Acquired => None,
            Claim::AlreadySent => return Ok(Step::Already),
            // A picture given up on (or lost in a crash) does not hold the text back.
            Claim::Failed(_) | Claim::Unknown if is_photo => return Ok(Step::Skipped),
            Claim::InFlight => Some(Outcome::InFlight),
            Claim::RetryLater(t) => Some(Outcome::Deferred(t)),
            Claim::Failed(e) => Some(Outcome::Failed(e)),
            Claim::Unknown => Some(Outcome::Unknown),
        };
        if let Some(outcome) = stopped {
            return Ok(Step::Stop(outcome));
        }
        // A card never follows its text: when the text went out before the
        // picture was asked for (a target that turned `image` on that day, or a
        // post begun before an upgrade), the day goes on without it. Asked only
        // of a card just claimed, not on every tick's resumption.
        if is_photo && self.db.later_part_claimed(slot).await? {
            let why = "the text went out before the card was asked for";
            self.db.mark_failed(slot, why, now).await?;
            return Ok(Step::Skipped);
        }
        let mut part = Part {
            target: run.target,
            options: run.target.options(),
            slot,
            label: run.target.label(),
            body,
            deadline: run.deadline,
            chat_id: run.chat_id,
            plain: false,
        };
        if let Body::Photo(photo) = body
            && let Some(why) = photo.broken()
        {
            let why = format!("the card could not be drawn: {why}");
            self.fail(&part, &why, now).await?;
            self.photo_failed(&part, photo, &why).await;
            return Ok(Step::Skipped);
        }
        let result = self.send_part(&mut part, stop).await?;
        run.chat_id = part.chat_id;
        Ok(match (result, body) {
            (Ok(message), _) => Step::Sent(message),
            (Err(Outcome::Failed(why)), Body::Photo(photo)) => {
                self.photo_failed(&part, photo, &why).await;
                Step::Skipped
            }
            (Err(outcome), _) => Step::Stop(outcome),
        })
    }

    /// Sends one claimed part: the message it became, or how the delivery ends.
    async fn send_part(
        &self,
        part: &mut Part<'_>,
        stop: &Shutdown,
    ) -> Result<Result<MessageId, Outcome>, DeliveryError> {
        let mut backoff = self.policy.backoff();
        loop {
            let now = self.clock.now();
            if now >= part.deadline {
                let why = "the local day ended before it could be sent";
                self.fail(part, why, now).await?;
                return Ok(Err(Outcome::Failed(why.into())));
            }
            let err = match self.attempt(part, stop).await? {
                None => return Ok(Err(Outcome::Stopped)),
                Some(Ok(message)) => return Ok(Ok(message)),
                Some(Err(err)) => err,
            };
            let wait = match self.on_fault(part, &err, &mut backoff).await? {
                Next::Again => continue,
                Next::Finish(outcome) => return Ok(Err(outcome)),
                Next::Wait(wait) => wait,
            };
            // Waiting is not "in flight": on shutdown, leave the part for the next run.
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait() => {
                    let now = self.clock.now();
                    let why = "interrupted by shutdown while waiting to retry";
                    self.db.mark_retry(part.slot, now, why, now).await?;
                    return Ok(Err(Outcome::Stopped));
                }
            }
        }
    }

    /// One request for one part, recorded as `sending` before and `sent` after;
    /// `None` when `stop` came while it waited for its slot (nothing was sent).
    async fn attempt(
        &self,
        part: &Part<'_>,
        stop: &Shutdown,
    ) -> Result<Option<Result<MessageId, RequestError>>, DeliveryError> {
        // The picture's upload lock is taken before the rate limiter: a target
        // waiting for another's upload must not hold a token meanwhile, or the
        // tokens spent while waiting would all be used in one burst after it.
        let upload = match part.body {
            Body::Photo(photo) => photo.upload().await,
            Body::Text(_) => None,
        };
        let ticket = self.limiter.ticket_in_flight(part.chat_id, &self.in_flight);
        let Some(ticket) = unless_stopped(stop, ticket).await else {
            return self.left_unsent(part).await;
        };
        // Written while the slot comes, so the request leaves on it: written
        // after, its time shifted each send by a database write.
        let now = self.clock.now();
        let lease = self.policy.lease;
        match self
            .db
            .begin_attempt(part.slot, &self.owner, lease, now)
            .await
        {
            Ok(()) => {}
            // Taken by another process while this one was thought dead: not ours to settle.
            Err(e @ StorageError::ClaimLost { .. }) => return Err(e.into()),
            Err(e) => {
                // It may have been written: not sent, whatever the row says.
                self.unrecorded(part.slot, None);
                return Err(e.into());
            }
        }
        if unless_stopped(stop, ticket.wait()).await.is_none() {
            return self.left_unsent(part).await;
        }
        let result = match (part.body, upload) {
            (Body::Photo(photo), Some(upload)) => {
                let result = self.send_photo(part, photo, upload.input()).await;
                if let Ok(message) = &result {
                    upload.sent(message);
                }
                result
            }
            (Body::Text(html), _) => self.send_text(part, html).await,
            (Body::Photo(_), None) => unreachable!("a broken picture is not attempted"),
        };
        // Recorded at once: this gap is the only window for a duplicate or a loss.
        let now = self.clock.now();
        match result {
            Ok(message) => {
                if let Err(e) = self.db.mark_sent(part.slot, message.id.0, now).await {
                    self.unrecorded(part.slot, Some(message.id.0));
                    return Err(e.into());
                }
                metrics::counter!(names::POSTS_SENT, "target" => part.label.clone()).increment(1);
                metrics::gauge!(names::LAST_POST).set(now.timestamp() as f64);
                Ok(Some(Ok(message.id)))
            }
            Err(err) => Ok(Some(Err(err))),
        }
    }

    /// Stopped before the request left (a shutdown, or the lead lost while
    /// waiting for the limiter): the part is free for whoever sends next.
    async fn left_unsent<T>(&self, part: &Part<'_>) -> Result<Option<T>, DeliveryError> {
        let now = self.clock.now();
        let why = "interrupted by shutdown while waiting for its slot";
        if let Err(e) = self.db.release_mine(part.slot, &self.owner, why, now).await {
            self.unrecorded(part.slot, None);
            return Err(e.into());
        }
        Ok(None)
    }

    fn unrecorded(&self, slot: Slot<'_>, sent: Option<i32>) {
        let mut list = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner());
        list.push(Unrecorded {
            target: slot.target,
            key: slot.key.to_owned(),
            part: slot.part,
            sent,
        });
    }

    /// Writes what [`Sender::unrecorded`] kept, so a part sent while the
    /// database was away is `sent`, not left for an admin as `unknown`, and
    /// one that never left is sent by the next tick; what still cannot be
    /// written is kept for the next call.
    pub async fn settle(&self) -> usize {
        let list = std::mem::take(&mut *self.unrecorded.lock().unwrap_or_else(|p| p.into_inner()));
        let now = self.clock.now();
        let mut written = 0;
        for u in list {
            let slot = Slot {
                target: u.target,
                key: &u.key,
                part: u.part,
            };
            let done = match u.sent {
                Some(message) => self.db.mark_sent(slot, message, now).await,
                None => {
                    let why = "never sent: the database was away";
                    self.db.release_mine(slot, &self.owner, why, now).await
                }
            };
            match done {
                Ok(()) => written += 1,
                Err(_) => self.unrecorded(slot, u.sent),
            }
        }
        written
    }

    async fn send_text(&self, part: &Part<'_>, html: &str) -> Result<Message, RequestError> {
        let mut request = self
            .bot
            .send_message(ChatId(part.chat_id), part.as_sent(html));
        if !part.options.link_preview {
            request = request.link_preview_options(no_preview());
        }
        if part.options.silent {
            request = request.disable_notification(true);
        }
        if !part.plain {
            request = request.parse_mode(ParseMode::Html);
        }
        if let Some(topic) = part.thread() {
            request = request.message_thread_id(topic);
        }
        request.await
    }

    async fn send_photo(
        &self,
        part: &Part<'_>,
        photo: &Photo,
        file: InputFile,
    ) -> Result<Message, RequestError> {
        let mut request = self
            .bot
            .send_photo(ChatId(part.chat_id), file)
            .caption(part.as_sent(&photo.caption));
        if part.options.silent {
            request = request.disable_notification(true);
        }
        if !part.plain {
            request = request.parse_mode(ParseMode::Html);
        }
        if let Some(topic) = part.thread() {
            request = request.message_thread_id(topic);
        }
        request.await
    }

    /// The picture could not be drawn or sent: the text goes on, the admins hear once.
    async fn photo_failed(&self, part: &Part<'_>, photo: &Photo, why: &str) {
        tracing::warn!(target = %part.label, error = %why, "the day's card was not sent; sending the text");
        if photo.first_alert() {
            let key = part.slot.key;
            self.alerts
                .send(&format!("لم تُرسل صورة منشور {key} (أولها إلى {}): {why}. يُرسل النص وحده إلى كل هدف تتعذّر عليه الصورة.", part.label))
                .await;
        }
    }

    /// Pins the day's first message. A missing right is reported, never fatal.
    async fn pin(&self, run: &Run<'_>, message: MessageId) {
        self.limiter.wait(run.chat_id).await;
        // Without a notification: the post itself notified (or was sent silently
        // by choice); a second ping for the pin is noise.
        let result = self
            .bot
            .pin_chat_message(ChatId(run.chat_id), message)
            .disable_notification(true)
            .await;
        if let Err(e) = result {
            let (key, label, why) = (run.key, run.target.label(), describe(&e));
            tracing::warn!(target = %label, error = %why, "could not pin the day's post");
            self.alerts
                .send(&format!("لم يُثبَّت منشور {key} في {label}: {why}. امنح البوت صلاحية تثبيت الرسائل أو أوقف خيار التثبيت."))
                .await;
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
        // A picture is reported once for all targets (`photo_failed`).
        if let Body::Text(_) = part.body {
            let (key, label) = (part.slot.key, &part.label);
            self.alerts
                .send(&format!("فشل إرسال منشور {key} إلى {label}: {why}"))
                .await;
        }
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

/// `wait`, unless `stop` comes first (checked first: a stopped sender sends nothing).
async fn unless_stopped<T>(stop: &Shutdown, wait: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        biased;
        () = stop.wait() => None,
        done = wait => Some(done),
    }
}

impl Part<'_> {
    /// The HTML as it goes out: as written, or as plain text once Telegram
    /// could not parse it.
    fn as_sent(&self, html: &str) -> String {
        if self.plain {
            render::to_plain(html)
        } else {
            html.to_owned()
        }
    }

    fn thread(&self) -> Option<ThreadId> {
        let topic = self.target.topic_id.and_then(|t| i32::try_from(t).ok())?;
        Some(ThreadId(MessageId(topic)))
    }
}
