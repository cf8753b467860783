//! What Telegram's answer means for a delivery (retry, wait, follow a migration,
//! disable the target, fall back to plain text, give up), how transient failures
//! are retried, and request errors as loggable text without the token.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use teloxide::{ApiError, RequestError};

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

    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
            .build()
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

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::{ChatId, Seconds};

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
