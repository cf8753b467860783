//! Deciding which targets are due a post and publishing it to them. The
//! scheduler's minute tick, the catch-up at start-up and `dhikra post` all call
//! into here; the delivery log makes every call safe to repeat.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use teloxide::prelude::*;
use teloxide::types::Recipient;
use tokio::sync::watch;

use crate::calendar::{self, local_instant};
use crate::config::{Config, PostTime};
use crate::delivery::{DeliveryError, Fault, Outcome, Sender, classify, describe};
use crate::render;
use crate::search::Catalog;
use crate::storage::{Slot, StorageError, Target};
use crate::store::EventStore;

/// The events and their index as the running bot sees them: swapped whole on reload.
pub type SharedCatalog = Arc<RwLock<Arc<Catalog>>>;

pub fn shared(store: EventStore) -> SharedCatalog {
    Arc::new(RwLock::new(Arc::new(Catalog::new(store))))
}

pub fn current(catalog: &SharedCatalog) -> Arc<Catalog> {
    catalog
        .read()
        .map(|c| Arc::clone(&c))
        .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
}

/// When a target's post for the local day containing `now` may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub date: NaiveDate,
    pub from: DateTime<Utc>,
    /// Never after the local day ends; sooner with `catch_up_minutes`.
    pub until: DateTime<Utc>,
}

impl Window {
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        self.from <= now && now < self.until
    }
}

pub fn window(
    now: DateTime<Utc>,
    tz: Tz,
    post_time: NaiveTime,
    catch_up_minutes: Option<u32>,
) -> Window {
    let date = calendar::today(now, tz);
    let from = local_instant(date, post_time, tz);
    let end_of_day = calendar::end_of_day(date, tz);
    let until = match catch_up_minutes {
        Some(m) => (from + Duration::minutes(i64::from(m))).min(end_of_day),
        None => end_of_day,
    };
    Window { date, from, until }
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

/// What to publish where: the shared path of the tick and of `dhikra post`.
pub struct Publisher {
    pub config: Arc<Config>,
    pub catalog: SharedCatalog,
    pub sender: Sender,
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

impl Publisher {
    /// Sends today's post to every enabled target whose local post time has passed
    /// and whose local day has not ended. Idempotent: call it every minute.
    pub async fn publish_due(
        &self,
        now: DateTime<Utc>,
        stop: &watch::Receiver<bool>,
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
            let post_time = target
                .post_time
                .as_deref()
                .and_then(|p| p.parse::<PostTime>().ok())
                .unwrap_or(config.post_time);
            let w = window(now, config.timezone, post_time.0, config.catch_up_minutes);
            if w.contains(now) {
                jobs.push((target, w.date.to_string(), w));
            }
        }
        let catalog = current(&self.catalog);
        let store = &catalog.store;
        let mut posts: std::collections::HashMap<NaiveDate, Vec<String>> = Default::default();
        let mut work = Vec::new();
        for (target, key, w) in jobs {
            let parts = posts
                .entry(w.date)
                .or_insert_with(|| {
                    render::post(&store.on_date(w.date, config.leap_day), store, config.style)
                })
                .clone();
            if parts.is_empty() {
                continue; // No anniversary today: nothing to send, nothing to log.
            }
            work.push((target, key, parts, w.until));
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
        stop: &watch::Receiver<bool>,
        progress: &(dyn Fn(&TargetResult) + Sync),
    ) -> Result<Report, PublishError> {
        let catalog = current(&self.catalog);
        let store = &catalog.store;
        let parts = render::post(
            &store.on_date(date, self.config.leap_day),
            store,
            self.config.style,
        );
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
        self.broadcast(parts, &key, only, until, now, stop, progress)
            .await
    }

    /// Sends `parts` to every enabled target (or the one named) under delivery key
    /// `key`, through the claims, limits and fault handling of the daily post.
    #[allow(clippy::too_many_arguments)]
    pub async fn broadcast(
        &self,
        parts: Vec<String>,
        key: &str,
        only: Option<&str>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        stop: &watch::Receiver<bool>,
        progress: &(dyn Fn(&TargetResult) + Sync),
    ) -> Result<Report, PublishError> {
        if parts.is_empty() {
            return Ok(Report::default());
        }
        self.prepare(now).await?;
        let work = self
            .sender
            .db
            .targets()
            .await?
            .into_iter()
            .filter(|t| t.enabled && t.chat_id.is_some() && only.is_none_or(|o| t.names(o)))
            .map(|t| (t, key.to_owned(), parts.clone(), until))
            .collect();
        Ok(self.deliver_all(work, stop, progress).await)
    }

    async fn deliver_all(
        &self,
        work: Vec<(Target, String, Vec<String>, DateTime<Utc>)>,
        stop: &watch::Receiver<bool>,
        progress: &(dyn Fn(&TargetResult) + Sync),
    ) -> Report {
        let results: Vec<TargetResult> = futures::stream::iter(work)
            .map(|(target, key, parts, until)| async move {
                let outcome = match self
                    .sender
                    .deliver(&target, &key, &parts, until, stop)
                    .await
                {
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

    /// Before sending: settle rows left by stopped processes, and resolve @usernames.
    async fn prepare(&self, now: DateTime<Utc>) -> Result<(), PublishError> {
        let db = &self.sender.db;
        let me = &self.sender.owner;
        for row in db
            .expire_stale(now, &|owner| owner_is_dead(owner, me))
            .await?
        {
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
                let kind = if chat.is_channel() {
                    "channel"
                } else if chat.is_supergroup() {
                    "supergroup"
                } else if chat.is_group() {
                    "group"
                } else {
                    "private"
                };
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

/// `host:pid:nonce` naming this process on the rows it claims.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace(':', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!(
        "{host}:{}:{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

/// Whether the process named by `owner` is certainly gone: same host, and either its
/// pid no longer exists or it is this pid with another nonce (a restarted container).
/// On another host only the lease can tell.
pub fn owner_is_dead(owner: &str, me: &str) -> bool {
    let mut theirs = owner.splitn(3, ':');
    let mut mine = me.splitn(3, ':');
    let (Some(host), Some(pid), Some(nonce)) = (theirs.next(), theirs.next(), theirs.next()) else {
        return false;
    };
    let (Some(my_host), Some(my_pid), Some(my_nonce)) = (mine.next(), mine.next(), mine.next())
    else {
        return false;
    };
    if host != my_host || !std::path::Path::new("/proc/self").exists() {
        return false;
    }
    if pid == my_pid {
        return nonce != my_nonce;
    }
    !std::path::Path::new("/proc").join(pid).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const CAIRO: Tz = chrono_tz::Africa::Cairo;

    fn nine() -> NaiveTime {
        NaiveTime::from_hms_opt(9, 0, 0).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn due_from_post_time_until_local_midnight() {
        // 2027-06-04 is summer time in Cairo (UTC+3): 09:00 local is 06:00 UTC.
        assert!(
            !window(utc(2027, 6, 4, 5, 59), CAIRO, nine(), None).contains(utc(2027, 6, 4, 5, 59))
        );
        let w = window(utc(2027, 6, 4, 6, 0), CAIRO, nine(), None);
        assert!(w.contains(utc(2027, 6, 4, 6, 0)));
        assert_eq!(w.until, utc(2027, 6, 4, 21, 0));
        // Just after local midnight it is the next day's window, not yet due.
        let next = window(utc(2027, 6, 4, 21, 0), CAIRO, nine(), None);
        assert_eq!(next.date, NaiveDate::from_ymd_opt(2027, 6, 5).unwrap());
        assert!(!next.contains(utc(2027, 6, 4, 21, 0)));
    }

    #[test]
    fn catch_up_window_is_bounded() {
        let w = window(utc(2027, 6, 4, 8, 0), CAIRO, nine(), Some(60));
        assert!(
            !w.contains(utc(2027, 6, 4, 8, 0)),
            "11:00 local is past 09:00 + 60 min"
        );
        assert!(
            window(utc(2027, 6, 4, 6, 59), CAIRO, nine(), Some(60))
                .contains(utc(2027, 6, 4, 6, 59))
        );
    }

    #[test]
    fn dst_change_days_post_at_nine_local() {
        // Spring forward 2027-04-30 (EET -> EEST): 09:00 local = 06:00 UTC.
        assert_eq!(
            window(utc(2027, 4, 30, 6, 0), CAIRO, nine(), None).from,
            utc(2027, 4, 30, 6, 0)
        );
        // Fall back 2027-10-28 at 24:00: that day is still summer time until midnight.
        assert_eq!(
            window(utc(2027, 10, 28, 6, 0), CAIRO, nine(), None).from,
            utc(2027, 10, 28, 6, 0)
        );
        assert_eq!(
            window(utc(2027, 10, 29, 7, 0), CAIRO, nine(), None).from,
            utc(2027, 10, 29, 7, 0)
        );
    }

    #[test]
    fn owners_on_this_host() {
        let me = owner_id();
        let host = me.split(':').next().unwrap();
        assert!(!owner_is_dead(&me, &me));
        assert!(owner_is_dead(
            &format!("{host}:{}:0000", std::process::id()),
            &me
        ));
        assert!(owner_is_dead(&format!("{host}:999999999:0000"), &me));
        assert!(!owner_is_dead("elsewhere:1:0", &me));
    }
}
