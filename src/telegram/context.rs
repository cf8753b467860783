//! What every handler receives: the shared state of the running bot, built once
//! by `service::build` and injected by dptree. Cheap to clone.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::config::Config;
use crate::core::calendar::{self, Clock};
use crate::data::SharedCatalog;
use crate::db::Db;
use crate::ops::Health;
use crate::publishing::Publisher;
use crate::shutdown::Shutdown;

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), HandlerError>;

#[derive(Clone)]
pub struct BotContext {
    pub config: Arc<Config>,
    pub catalog: SharedCatalog,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cooldown: Arc<Cooldown>,
    /// Reposts go through the same path as the daily post.
    pub publisher: Arc<Publisher>,
    /// A repost in progress stops before its next claim on shutdown.
    pub shutdown: Shutdown,
    /// Where `/reload` re-reads the targets from (none: data only).
    pub config_path: Option<PathBuf>,
    pub health: Arc<Health>,
}

impl BotContext {
    /// "Today" in the configured timezone: the one place handlers ask.
    pub fn today(&self) -> NaiveDate {
        calendar::today(self.clock.now(), self.config.timezone)
    }
}

/// One question per user every few seconds in a group, so one person cannot flood it.
pub struct Cooldown {
    every: Duration,
    last: Mutex<HashMap<(i64, u64), Instant>>,
}

impl Cooldown {
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this user may ask now in this chat (and records the ask).
    pub fn allow(&self, chat: i64, user: u64) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() > 10_000 {
            last.retain(|_, t| now.duration_since(*t) < self.every);
        }
        match last.get(&(chat, user)) {
            Some(t) if now.duration_since(*t) < self.every => false,
            _ => {
                last.insert((chat, user), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_is_per_user_and_chat() {
        let c = Cooldown::new(Duration::from_secs(3));
        assert!(c.allow(-1, 1));
        assert!(!c.allow(-1, 1));
        assert!(c.allow(-1, 2));
        assert!(c.allow(-2, 1));
    }
}
