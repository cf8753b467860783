//! Deciding which targets are due a post and publishing it to them. The
//! scheduler's minute tick, the catch-up at start-up and `dhikra post` all call
//! into here; the delivery log makes every call safe to repeat.

pub mod alerts;
pub mod faults;
pub mod limiter;
pub mod owner;
pub mod picture;
pub mod sender;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt;
use teloxide::prelude::*;
use teloxide::types::{LinkPreviewOptions, Recipient};
use tokio::sync::OnceCell;

use crate::config::Config;
use crate::core::calendar;
use crate::core::card::Card;
use crate::core::event::{Event, EventId, Theatre};
use crate::core::render::{self, Layout};
use crate::core::schedule::{Window, window};
use crate::core::search::Catalog;
use crate::data::{SharedCatalog, current};
use crate::db::{Confirmation, Slot, StorageError, Target};
use crate::shutdown::Shutdown;

pub use alerts::Alerts;
pub use faults::{Fault, RetryPolicy, classify, describe};
pub use limiter::Limiter;
pub use owner::{host_label, owner_id};
pub use picture::{Photo, Photos};
pub use sender::{DeliveryError, Outcome, Outgoing, Sender};

/// How a chat is stored in `targets.kind`: the one mapping of Telegram's chat
/// types, for a `Chat` (`chat_kind!(msg.chat)`) and a `ChatFullInfo` alike.
#[macro_export]
macro_rules! chat_kind {
    ($chat:expr) => {
        if $chat.is_channel() {
            "channel"
        } else if $chat.is_supergroup() {
            "supergroup"
        } else if $chat.is_group() {
            "group"
        } else {
            "private"
        }
    };
}

/// Posts never show a link preview: the sources' links would hide the text.
pub fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// One target's result, for progress lines and the summary.
#[derive(Debug, Clone)]
pub struct TargetResult {
    pub target: String,
    pub outcome: Outcome,
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub results: Vec<TargetResult>,
}

impl Report {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }

    pub fn summary(&self) -> String {
        format!(
            "sent {}, already sent {}, disabled {}, failed {}, deferred {}, in flight elsewhere {}, unknown {}, stopped {}",
            self.count(|o| matches!(o, Outcome::Sent { .. })),
            self.count(|o| matches!(o, Outcome::AlreadySent)),
            self.count(|o| matches!(o, Outcome::Disabled(_))),
            self.count(|o| matches!(o, Outcome::Failed(_))),
            self.count(|o| matches!(o, Outcome::Deferred(_))),
            self.count(|o| matches!(o, Outcome::InFlight)),
            self.count(|o| matches!(o, Outcome::Unknown)),
            self.count(|o| matches!(o, Outcome::Stopped)),
        )
    }
}

/// What a broadcast sends (and what the drafts of one publish call are kept by).
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Post {
    /// A day's post, drawn for each target from its theatres (`theatres` in the config).
    Day(NaiveDate),
    /// One event's post, to every target alike.
    Event(EventId),
}

/// The posts of one publish call, made once for each set of theatres asked for:
/// the text parts, and the card for the targets that take pictures.
struct Drafts<'p> {
    publisher: &'p Publisher,
    catalog: Arc<Catalog>,
    layout: Layout<'p>,
    made: HashMap<(Post, Vec<Theatre>), Option<Draft>>,
    /// Each configured target's theatres (empty: all; subscribed chats, not in
    /// the config, take all), by chat key: looked up per target,
    /// where scanning the config's list (formatting each key) cost a
    /// 1,000-target broadcast ~100 ms before its first message.
    theatres: HashMap<String, &'p [Theatre]>,
}

#[derive(Clone)]
struct Draft {
    parts: Arc<[String]>,
    card: Card,
    file_name: String,
}

impl<'p> Drafts<'p> {
    async fn new(publisher: &'p Publisher) -> Self {
        Self {
            publisher,
            catalog: current(&publisher.catalog),
            layout: publisher.layout().await,
            made: HashMap::new(),
            theatres: publisher
                .config
                .targets
                .iter()
                .map(|t| (t.chat.key(), t.theatres.as_slice()))
                .collect(),
        }
    }

    /// What `target` is sent about `subject`; `None` when there is nothing
    /// (no event of its theatres that day).
    async fn for_target(&mut self, subject: &Post, target: &Target) -> Option<Outgoing> {
        let theatres = self
            .theatres
            .get(&target.chat_key)
            .map_or(Vec::new(), |t| t.to_vec());
        self.for_theatres(subject, theatres, target.image).await
    }

    /// What a target of `theatres` (none: all of them) is sent, with the card or without.
    async fn for_theatres(
        &mut self,
        subject: &Post,
        theatres: Vec<Theatre>,
        image: bool,
    ) -> Option<Outgoing> {
        let draft = match self.made.get(&(subject.clone(), theatres.clone())) {
            Some(draft) => draft.clone()?,
            None => {
                let draft = self.draft(subject, &theatres);
                self.made.insert((subject.clone(), theatres), draft.clone());
                draft?
            }
        };
        let photo = if image {
            Some(self.publisher.photos.of(draft.card, draft.file_name).await)
        } else {
            None
        };
        Some(Outgoing {
            photo,
            parts: draft.parts,
        })
    }

    fn draft(&self, subject: &Post, theatres: &[Theatre]) -> Option<Draft> {
        let config = &self.publisher.config;
        let store = &self.catalog.store;
        let (events, name): (Vec<&Event>, String) = match subject {
            Post::Day(date) => (
                store
                    .on_date(*date, config.leap_day)
                    .into_iter()
                    .filter(|e| theatres.is_empty() || theatres.contains(&e.theatre))
                    .collect(),
                format!("dhikra-{date}.png"),
            ),
            Post::Event(id) => (
                store.get(id.as_str()).into_iter().collect(),
                format!("dhikra-{id}.png"),
            ),
        };
        let parts = render::post(&events, store, self.layout);
        let card = Card::of_day(&events, config.style)?;
        (!parts.is_empty()).then(|| Draft {
            parts: parts.into(),
            card,
            file_name: name,
        })
    }
}

/// One post to send now, outside the daily schedule (`dhikra post`, `/repost`).
pub struct Broadcast<'a> {
    pub post: Post,
    /// The delivery key: the local date, or a repost key of its own.
    pub key: String,
    /// Only the target this names, when set.
    pub only: Option<&'a str>,
    /// Nothing is sent at or after this instant.
    pub until: DateTime<Utc>,
}

/// What to publish where: the shared path of the tick and of `dhikra post`.
pub struct Publisher {
    pub config: Arc<Config>,
    pub catalog: SharedCatalog,
    pub sender: Sender,
    pub concurrency: usize,
    /// The day's cards, drawn and uploaded once.
    pub photos: Photos,
    /// The bot's @username for deep links, asked of Telegram once.
    pub username: OnceCell<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// A repost confirmation names an event by an id that does not parse (a broken row).
    #[error("the repost names no event: {0}")]
    NoEvent(String),
}

impl Publisher {
    /// Sends today's post to every enabled target whose local post time has passed
    /// and whose local day has not ended. Idempotent: call it every minute.
    pub async fn publish_due(
        &self,
        now: DateTime<Utc>,
        stop: &Shutdown,
    ) -> Result<Report, PublishError> {
        self.prepare(now).await?;
        let config = &self.config;
        let mut jobs: Vec<(Target, String, Window)> = Vec::new();
        for target in self
            .sender
            .db
            .targets()
            .await?
            .into_iter()
            .filter(|t| t.enabled && t.chat_id.is_some())
        {
            let post_time = target.post_time_or(config.post_time);
            let w = window(now, config.timezone, post_time.0, config.catch_up_minutes);
            if w.contains(now) {
                jobs.push((target, w.date.to_string(), w));
            }
        }
        let mut drafts = Drafts::new(self).await;
        let mut work = Vec::new();
        for (target, key, w) in jobs {
            // No anniversary today: nothing to send, nothing to log.
            if let Some(post) = drafts.for_target(&Post::Day(w.date), &target).await {
                work.push((target, key, post, w.until));
            }
        }
        Ok(self.deliver_all(work, stop, &|_| {}).await)
    }

    /// `dhikra post`: today's post (or a forced repost of `date`) to every enabled
    /// target, or to the one named, right now.
    pub async fn publish_now(
        &self,
        date: NaiveDate,
        only: Option<&str>,
        force: bool,
        now: DateTime<Utc>,
        stop: &Shutdown,
        progress: &(dyn Fn(&TargetResult) + Sync),
    ) -> Result<Report, PublishError> {
        // A forced repost is a new delivery with its own key; an ordinary run shares
        // today's key with the scheduler, so nothing goes out twice.
        let (key, until) = if force {
            (
                format!("{date}/repost/{}", now.timestamp_millis()),
                now + Duration::hours(1),
            )
        } else {
            (
                date.to_string(),
                calendar::end_of_day(date, self.config.timezone),
            )
        };
        let post = Broadcast {
            post: Post::Day(date),
            key,
            only,
            until,
        };
        self.broadcast(post, now, stop, progress).await
    }

    /// An admin's confirmed `/repost`: the day's post, following each target's
    /// theatres, or one event's, where the admin said, within the hour, under
    /// the confirmation's own delivery key (claimed once, on whichever replica).
    pub async fn repost(
        &self,
        c: &Confirmation,
        now: DateTime<Utc>,
        stop: &Shutdown,
    ) -> Result<Report, PublishError> {
        let date = c
            .date
            .parse()
            .unwrap_or_else(|_| calendar::today(now, self.config.timezone));
        let post = match c.event_id.as_deref().map(EventId::parse) {
            None => Post::Day(date),
            Some(Ok(id)) => Post::Event(id),
            Some(Err(why)) => return Err(PublishError::NoEvent(why.to_string())),
        };
        let post = Broadcast {
            post,
            key: c.delivery_key(),
            only: c.target.as_deref(),
            until: now + Duration::hours(1),
        };
        self.broadcast(post, now, stop, &|_| {}).await
    }

    /// Sends a post to every enabled target (or the one named) under its delivery
    /// key, through the claims, limits and fault handling of the daily post.
    pub async fn broadcast(
        &self,
        post: Broadcast<'_>,
        now: DateTime<Utc>,
        stop: &Shutdown,
        progress: &(dyn Fn(&TargetResult) + Sync),
    ) -> Result<Report, PublishError> {
        let Broadcast {
            post,
            key,
            only,
            until,
        } = post;
        self.prepare(now).await?;
        let mut drafts = Drafts::new(self).await;
        let mut work = Vec::new();
        for t in self.sender.db.targets().await? {
            if !(t.enabled && t.chat_id.is_some() && only.is_none_or(|o| t.names(o))) {
                continue;
            }
            if let Some(outgoing) = drafts.for_target(&post, &t).await {
                work.push((t, key.clone(), outgoing, until));
            }
        }
        Ok(self.deliver_all(work, stop, progress).await)
    }

    async fn deliver_all(
        &self,
        work: Vec<(Target, String, Outgoing, DateTime<Utc>)>,
        stop: &Shutdown,
        progress: &(dyn Fn(&TargetResult) + Sync),
    ) -> Report {
        // A broadcast belongs to the lead it began under: after an outage it
        // stays stopped even once the lead is back (the next tick resumes it).
        let stop = &stop.pinned();
        let results: Vec<TargetResult> = futures::stream::iter(work)
            .map(|(target, key, post, until)| async move {
                let outcome = match self.sender.deliver(&target, &key, &post, until, stop).await {
                    Ok(o) => o,
                    Err(e) => Outcome::Failed(format!("database: {e}")),
                };
                let result = TargetResult {
                    target: target.label(),
                    outcome,
                };
                progress(&result);
                result
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let report = Report { results };
        if let Ok(targets) = self.sender.db.targets().await {
            metrics::gauge!(crate::ops::names::TARGETS_DISABLED)
                .set(targets.iter().filter(|t| !t.enabled).count() as f64);
        }
        if !report.results.is_empty() {
            tracing::info!(summary = %report.summary(), "publish finished");
        }
        report
    }

    /// What a target of every theatre that takes pictures is sent: the card and
    /// the text, as the admins' previews show them before a repost.
    pub async fn preview(&self, post: &Post) -> Option<Outgoing> {
        Drafts::new(self)
            .await
            .for_theatres(post, Vec::new(), true)
            .await
    }

    /// The bot's @username, asked of Telegram once; `None` (posts without deep
    /// links) while Telegram cannot be asked.
    pub async fn bot_username(&self) -> Option<&str> {
        let asked = self
            .username
            .get_or_try_init(|| async {
                let me = self.sender.bot.get_me().await?;
                Ok::<_, teloxide::RequestError>(me.username().to_owned())
            })
            .await;
        match asked {
            Ok(name) => Some(name.as_str()),
            Err(e) => {
                tracing::warn!(error = %describe(&e), "could not ask the bot's username; related events go without links");
                None
            }
        }
    }

    /// The layout of posts: folded stories and deep links, as the tick sends them.
    pub async fn layout(&self) -> Layout<'_> {
        Layout {
            style: self.config.style,
            bot: self.bot_username().await,
            fold: true,
        }
    }

    /// Before sending: settle rows left by stopped processes, and resolve @usernames.
    async fn prepare(&self, now: DateTime<Utc>) -> Result<(), PublishError> {
        let db = &self.sender.db;
        for row in db.expire_stale(now, &self.sender.owner).await? {
            let label = db
                .target(row.target_id)
                .await?
                .map(|t| t.label())
                .unwrap_or_else(|| row.target_id.to_string());
            self.sender
                .alerts
                .send(&format!(
                    "الجزء {} من منشور {} إلى {label}: توقفت العملية أثناء إرساله، فقد يكون وصل وقد لا يكون. لن يُعاد تلقائيًا؛ تحقّق من القناة ثم أعد النشر بـ dhikra post --force --target {label} إن لزم.",
                    row.part, row.local_date
                ))
                .await;
            db.mark_alerted(Slot {
                target: row.target_id,
                key: &row.local_date,
                part: row.part as u32,
            })
            .await?;
        }
        for target in db
            .targets()
            .await?
            .into_iter()
            .filter(|t| t.enabled && t.chat_id.is_none())
        {
            self.resolve(&target, now).await?;
        }
        Ok(())
    }

    /// Looks an @username up once (getChat), so rate limits can be kept per numeric id.
    async fn resolve(&self, target: &Target, now: DateTime<Utc>) -> Result<(), PublishError> {
        let db = &self.sender.db;
        match self
            .sender
            .bot
            .get_chat(Recipient::ChannelUsername(target.chat_key.clone()))
            .await
        {
            Ok(chat) => {
                let kind = crate::chat_kind!(chat);
                tracing::info!(target = %target.chat_key, chat_id = chat.id.0, kind, "resolved @username");
                db.set_chat_id(target.id, chat.id.0, Some(kind), now)
                    .await?;
            }
            Err(e) => match classify(&e) {
                Fault::Disable(why) | Fault::Permanent(why) => {
                    db.disable_target(target.id, &why, now).await?;
                    self.sender
                        .alerts
                        .send(&format!(
                            "عُطّل الهدف {}: تعذّر العثور عليه ({why}).",
                            target.chat_key
                        ))
                        .await;
                }
                _ => {
                    tracing::warn!(target = %target.chat_key, error = %describe(&e), "could not resolve @username; will try again")
                }
            },
        }
        Ok(())
    }
}
