//! The `targets` table: configured channels and subscribed chats. A row is never
//! deleted: a target Telegram refuses is disabled with its reason.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::config::{ChatTarget, PostTime, TargetConfig, TargetOption, TargetOptions};
use crate::db::{Db, Result, ts};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Target {
    pub id: i64,
    pub chat_key: String,
    pub chat_id: Option<i64>,
    pub source: String,
    pub kind: Option<String>,
    pub topic_id: Option<i64>,
    pub post_time: Option<String>,
    pub removed: bool,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub image: bool,
    pub silent: bool,
    pub pin: bool,
    pub link_preview: bool,
}

impl Target {
    /// Whether `name` (a chat key, a numeric chat id, or `#<row id>`) names this target.
    pub fn names(&self, name: &str) -> bool {
        self.chat_key == name
            || self.chat_id.map(|c| c.to_string()).as_deref() == Some(name)
            || name.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) == Some(self.id)
    }

    /// The post time of this target: its own, else the config's.
    pub fn post_time_or(&self, default: PostTime) -> PostTime {
        self.post_time
            .as_deref()
            .and_then(|p| p.parse::<PostTime>().ok())
            .unwrap_or(default)
    }

    pub fn options(&self) -> TargetOptions {
        TargetOptions {
            image: self.image,
            silent: self.silent,
            pin: self.pin,
            link_preview: self.link_preview,
        }
    }

    /// The name shown to admins: the @name or id it was configured with, and the current id.
    pub fn label(&self) -> String {
        match self.chat_id {
            Some(id) if id.to_string() != self.chat_key => format!("{} ({id})", self.chat_key),
            _ => self.chat_key.clone(),
        }
    }
}

/// Subscribing or unsubscribing a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    Added,
    AlreadyThere,
    Removed,
    NotSubscribed,
    /// The chat is a target of the config; only the operator can remove it.
    Configured,
}

/// Column lists as macros so every query stays a literal (`concat!`), as sqlx requires.
macro_rules! target_columns {
    () => {
        "id, chat_key, chat_id, source, kind, topic_id, post_time, removed, enabled, disabled_reason, image, silent, pin, link_preview"
    };
}

impl Db {
    /// Makes the config's targets present (keeping their enabled state and any
    /// resolved id) and marks config targets no longer listed as removed.
    pub async fn sync_config_targets(
        &self,
        targets: &[TargetConfig],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ts(now);
        on!(self, pool => async {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE targets SET removed = TRUE, updated_at = $1 WHERE source = 'config'")
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            for t in targets {
                let chat_id = match t.chat {
                    ChatTarget::Id(id) => Some(id),
                    ChatTarget::Username(_) => None,
                };
                sqlx::query(
                    "INSERT INTO targets (chat_key, chat_id, source, topic_id, post_time, removed, enabled,
                        image, silent, pin, link_preview, created_at, updated_at)
                     VALUES ($1, $2, 'config', $3, $4, FALSE, TRUE, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (chat_key) DO UPDATE SET
                        source = 'config', topic_id = excluded.topic_id, post_time = excluded.post_time,
                        image = excluded.image, silent = excluded.silent, pin = excluded.pin,
                        link_preview = excluded.link_preview,
                        removed = FALSE, updated_at = excluded.updated_at,
                        chat_id = COALESCE(targets.chat_id, excluded.chat_id)",
                )
                .bind(t.chat.key())
                .bind(chat_id)
                .bind(t.topic.map(i64::from))
                .bind(t.post_time.map(|p| p.0.format("%H:%M").to_string()))
                .bind(t.options.image)
                .bind(t.options.silent)
                .bind(t.options.pin)
                .bind(t.options.link_preview)
                .bind(&now)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            }
    tx.commit().await
        }
        .await)?;
        Ok(())
    }

    /// Targets that should get posts (not removed), enabled or not.
    pub async fn targets(&self) -> Result<Vec<Target>> {
        Ok(on!(self, pool => sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets WHERE removed = FALSE ORDER BY id"
        ))
        .fetch_all(pool)
        .await)?)
    }

    pub async fn all_targets(&self) -> Result<Vec<Target>> {
        Ok(on!(self, pool => sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets ORDER BY id"
        ))
        .fetch_all(pool)
        .await)?)
    }

    pub async fn target(&self, id: i64) -> Result<Option<Target>> {
        Ok(on!(self, pool => sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    pub async fn target_by_chat(&self, chat_id: i64) -> Result<Option<Target>> {
        Ok(on!(self, pool => sqlx::query_as::<_, Target>(concat!(
            "SELECT ",
            target_columns!(),
            " FROM targets WHERE chat_id = $1 ORDER BY removed, id LIMIT 1"
        ))
        .bind(chat_id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Records the numeric id an @username resolved to, or a group's new supergroup id.
    pub async fn set_chat_id(
        &self,
        target_id: i64,
        chat_id: i64,
        kind: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on!(self, pool => sqlx::query(
            "UPDATE targets SET chat_id = $1, kind = COALESCE($2, kind), updated_at = $3 WHERE id = $4",
        )
        .bind(chat_id)
        .bind(kind)
        .bind(ts(now))
        .bind(target_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn disable_target(
        &self,
        target_id: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on!(self, pool => sqlx::query("UPDATE targets SET enabled = FALSE, disabled_reason = $1, disabled_at = $2, updated_at = $3 WHERE id = $4")
            .bind(reason)
            .bind(ts(now))
            .bind(ts(now))
            .bind(target_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Enables the target again; returns whether it was disabled.
    pub async fn enable_target(&self, target_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let r = on!(self, pool => sqlx::query("UPDATE targets SET enabled = TRUE, disabled_reason = NULL, disabled_at = NULL, updated_at = $1 WHERE id = $2 AND enabled = FALSE")
            .bind(ts(now))
            .bind(target_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(r > 0)
    }

    pub async fn subscribe(
        &self,
        chat_id: i64,
        kind: &str,
        topic: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<Subscription> {
        if let Some(t) = self.target_by_chat(chat_id).await? {
            if !t.removed {
                // Re-enable a chat that subscribes again after the bot was blocked.
                self.enable_target(t.id, now).await?;
                return Ok(Subscription::AlreadyThere);
            }
            on!(self, pool => sqlx::query("UPDATE targets SET removed = FALSE, enabled = TRUE, disabled_reason = NULL, source = 'subscription', kind = $1, topic_id = $2, updated_at = $3 WHERE id = $4")
                .bind(kind)
                .bind(topic.map(i64::from))
                .bind(ts(now))
                .bind(t.id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            return Ok(Subscription::Added);
        }
        on!(self, pool => sqlx::query(
            "INSERT INTO targets (chat_key, chat_id, source, kind, topic_id, removed, enabled, created_at, updated_at)
             VALUES ($1, $2, 'subscription', $3, $4, FALSE, TRUE, $5, $6)
             ON CONFLICT (chat_key) DO UPDATE SET removed = FALSE, enabled = TRUE, chat_id = excluded.chat_id, updated_at = excluded.updated_at",
        )
        .bind(chat_id.to_string())
        .bind(chat_id)
        .bind(kind)
        .bind(topic.map(i64::from))
        .bind(ts(now))
        .bind(ts(now))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(Subscription::Added)
    }

    pub async fn unsubscribe(&self, chat_id: i64, now: DateTime<Utc>) -> Result<Subscription> {
        match self.target_by_chat(chat_id).await? {
            Some(t) if t.removed => Ok(Subscription::NotSubscribed),
            Some(t) if t.source == "config" => Ok(Subscription::Configured),
            Some(t) => {
                on!(self, pool => sqlx::query("UPDATE targets SET removed = TRUE, updated_at = $1 WHERE id = $2")
                    .bind(ts(now))
                    .bind(t.id)
                    .execute(pool)
                    .await
                    .map(|r| r.rows_affected()))?;
                Ok(Subscription::Removed)
            }
            None => Ok(Subscription::NotSubscribed),
        }
    }

    /// Sets one option of a target (a subscribed chat's `/settings`).
    pub async fn set_option(
        &self,
        target_id: i64,
        option: TargetOption,
        on: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        // One literal per column: sqlx wants literals, and the column names never
        // come from the caller's text.
        let sql = match option {
            TargetOption::Image => "UPDATE targets SET image = $1, updated_at = $2 WHERE id = $3",
            TargetOption::Silent => "UPDATE targets SET silent = $1, updated_at = $2 WHERE id = $3",
            TargetOption::Pin => "UPDATE targets SET pin = $1, updated_at = $2 WHERE id = $3",
            TargetOption::LinkPreview => {
                "UPDATE targets SET link_preview = $1, updated_at = $2 WHERE id = $3"
            }
        };
        on!(self, pool => sqlx::query(sql)
            .bind(on)
            .bind(ts(now))
            .bind(target_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
