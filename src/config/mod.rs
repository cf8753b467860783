//! Settings: `config/dhikra.toml` overlaid with `DHIKRA_*` environment variables,
//! parsed into typed values; a bad value names its key and why. The bot token is
//! read separately and kept in a type that never prints it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::arabic::{Digits, MonthStyle};
use crate::calendar::LeapDayRule;
use crate::render::Style;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {reason}")]
    Read { file: PathBuf, reason: String },
    #[error("{file}:{line}:{column}: {reason}")]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("config key `{key}`: {reason}")]
    Key { key: String, reason: String },
    #[error(
        "no bot token: set TELOXIDE_TOKEN (or `token_file` in the config). \
         Get a token from @BotFather in Telegram: send /newbot and follow the steps."
    )]
    NoToken,
    #[error("the bot token {0}")]
    BadToken(&'static str),
}

fn key_err(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Key {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A Telegram chat a post goes to: a numeric id (preferred) or a public @username.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChatTarget {
    Id(i64),
    Username(String),
}

impl ChatTarget {
    /// The stable text form used as a key and shown to admins: `-100123` or `@name`.
    pub fn key(&self) -> String {
        match self {
            ChatTarget::Id(id) => id.to_string(),
            ChatTarget::Username(u) => format!("@{u}"),
        }
    }
}

impl fmt::Display for ChatTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl FromStr for ChatTarget {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix('@') {
            let ok = (4..=32).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && name.as_bytes()[0].is_ascii_alphabetic();
            return if ok {
                Ok(Self::Username(name.to_owned()))
            } else {
                Err(format!("`{s}` is not a valid @username"))
            };
        }
        match s.parse::<i64>() {
            Ok(0) | Err(_) => Err(format!(
                "`{s}` is neither a numeric chat id nor an @username"
            )),
            Ok(id) => Ok(Self::Id(id)),
        }
    }
}

/// A local wall-clock time such as 09:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostTime(pub NaiveTime);

impl FromStr for PostTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map(PostTime)
            .map_err(|_| format!("`{s}` is not a time of the form HH:MM (24-hour)"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetConfig {
    pub chat: ChatTarget,
    pub post_time: Option<PostTime>,
    /// Forum topic (message_thread_id) in a supergroup with topics.
    pub topic: Option<i32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub overall_per_second: u32,
    pub per_chat_per_second: u32,
    pub group_per_minute: u32,
}

/// How transient failures are retried (see `delivery::RetryPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries {
    pub min_delay_ms: u32,
    pub max_delay_ms: u32,
    pub max_retries: u32,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            min_delay_ms: 1000,
            max_delay_ms: 60_000,
            max_retries: 5,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            overall_per_second: 30,
            per_chat_per_second: 1,
            group_per_minute: 20,
        }
    }
}

/// Everything the program needs, valid by construction.
#[derive(Debug, Clone)]
pub struct Config {
    pub timezone: Tz,
    pub post_time: PostTime,
    pub leap_day: LeapDayRule,
    pub style: Style,
    pub data_dir: PathBuf,
    pub database: PathBuf,
    pub api_url: Option<String>,
    /// How long after the post time a missed post is still sent; `None`: the rest of the local day.
    pub catch_up_minutes: Option<u32>,
    pub targets: Vec<TargetConfig>,
    pub admins: Vec<u64>,
    pub admin_chat: Option<i64>,
    pub token_file: Option<PathBuf>,
    pub limits: Limits,
    pub retries: Retries,
    /// `/healthz` and `/metrics` listen here; off when unset.
    pub ops_listen: Option<std::net::SocketAddr>,
    /// Webhook mode instead of long polling, when set.
    pub webhook: Option<Webhook>,
}

/// Telegram posts updates to `url`, which a reverse proxy forwards to `listen`.
/// The secret token comes from `DHIKRA_WEBHOOK_SECRET`, never from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub listen: std::net::SocketAddr,
    pub url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    timezone: Option<String>,
    post_time: Option<String>,
    leap_day: Option<String>,
    month_names: Option<String>,
    digits: Option<String>,
    data_dir: Option<String>,
    database: Option<String>,
    api_url: Option<String>,
    catch_up_minutes: Option<i64>,
    #[serde(default)]
    targets: Vec<RawTarget>,
    #[serde(default)]
    admins: Vec<i64>,
    admin_chat: Option<i64>,
    token_file: Option<String>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    ops: RawOps,
    webhook: Option<RawWebhook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOps {
    listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    listen: String,
    url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    retry_min_delay_ms: Option<i64>,
    retry_max_delay_ms: Option<i64>,
    max_retries: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    chat: toml::Value,
    post_time: Option<String>,
    topic: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    overall_per_second: Option<i64>,
    per_chat_per_second: Option<i64>,
    group_per_minute: Option<i64>,
}

impl Config {
    /// Reads `path` and the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        Self::parse(path, &text, &|k| std::env::var(k).ok())
    }

    /// Parses config text with `env` standing in for the environment.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let start = e.span().map_or(0, |s| s.start).min(text.len());
            let before = &text[..text.floor_char_boundary(start)];
            ConfigError::Syntax {
                file: path.to_owned(),
                line: before.matches('\n').count() + 1,
                column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                reason: e.message().trim().to_owned(),
            }
        })?;
        // An environment variable `DHIKRA_<KEY>` wins over the file.
        let pick = |key: &str, file: Option<String>| {
            env(&format!("DHIKRA_{}", key.to_uppercase())).or(file)
        };
        fn parse_key<T: FromStr<Err = String>>(
            key: &str,
            value: Option<String>,
            default: T,
        ) -> Result<T, ConfigError> {
            match value {
                Some(v) => v.parse().map_err(|r| key_err(key, r)),
                None => Ok(default),
            }
        }

        let timezone = match pick("timezone", raw.timezone) {
            Some(tz) => tz.parse::<Tz>().map_err(|_| {
                key_err(
                    "timezone",
                    format!("`{tz}` is not an IANA timezone name such as Africa/Cairo"),
                )
            })?,
            None => chrono_tz::Africa::Cairo,
        };
        let post_time = parse_key(
            "post_time",
            pick("post_time", raw.post_time),
            PostTime(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()),
        )?;
        let leap_day = parse_key(
            "leap_day",
            pick("leap_day", raw.leap_day),
            LeapDayRule::Feb28,
        )?;
        let months = parse_key(
            "month_names",
            pick("month_names", raw.month_names),
            MonthStyle::Egyptian,
        )?;
        let digits = parse_key("digits", pick("digits", raw.digits), Digits::Western)?;
        let data_dir =
            PathBuf::from(pick("data_dir", raw.data_dir).unwrap_or_else(|| "data".into()));
        let database =
            PathBuf::from(pick("database", raw.database).unwrap_or_else(|| "dhikra.db".into()));
        if database.as_os_str().is_empty() {
            return Err(key_err("database", "is empty"));
        }
        let api_url = match pick("api_url", raw.api_url).or_else(|| env("TELOXIDE_API_URL")) {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(key_err("api_url", format!("`{url}` is not an http(s) URL")));
                }
                Some(url)
            }
            None => None,
        };
        let catch_up_minutes =
            match pick(
                "catch_up_minutes",
                raw.catch_up_minutes.map(|m| m.to_string()),
            ) {
                Some(m) => Some(m.parse::<u32>().ok().filter(|m| *m <= 24 * 60).ok_or_else(
                    || {
                        key_err(
                            "catch_up_minutes",
                            format!("`{m}` is not a number of minutes from 0 to 1440"),
                        )
                    },
                )?),
                None => None,
            };
        let admins = match env("DHIKRA_ADMINS") {
            Some(list) => list
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| key_err("admins", format!("`{s}` is not a numeric user id")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => raw.admins,
        };
        let admins = admins
            .into_iter()
            .map(|a| u64::try_from(a).ok().filter(|a| *a > 0).ok_or_else(|| key_err("admins", format!("`{a}` is not a user id (user ids are positive numbers, never @usernames)"))))
            .collect::<Result<Vec<_>, _>>()?;
        let admin_chat =
            match pick("admin_chat", raw.admin_chat.map(|c| c.to_string())) {
                Some(c) => Some(c.parse::<i64>().ok().filter(|c| *c != 0).ok_or_else(|| {
                    key_err("admin_chat", format!("`{c}` is not a numeric chat id"))
                })?),
                None => None,
            };
        let mut targets = Vec::new();
        for (i, t) in raw.targets.into_iter().enumerate() {
            let key = format!("targets[{i}].chat");
            let chat = match &t.chat {
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::String(s) => s.clone(),
                other => {
                    return Err(key_err(
                        &key,
                        format!(
                            "expected a number or \"@username\", found {}",
                            other.type_str()
                        ),
                    ));
                }
            };
            let chat: ChatTarget = chat.parse().map_err(|r| key_err(&key, r))?;
            let post_time = t
                .post_time
                .map(|p| {
                    p.parse::<PostTime>()
                        .map_err(|r| key_err(&format!("targets[{i}].post_time"), r))
                })
                .transpose()?;
            let topic = t
                .topic
                .map(|n| {
                    i32::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                        key_err(
                            &format!("targets[{i}].topic"),
                            format!("`{n}` is not a forum topic id"),
                        )
                    })
                })
                .transpose()?;
            if targets.iter().any(|o: &TargetConfig| o.chat == chat) {
                return Err(key_err(&key, format!("{chat} is listed twice")));
            }
            targets.push(TargetConfig {
                chat,
                post_time,
                topic,
            });
        }
        let limit = |key: &str, value: Option<i64>, default: u32| -> Result<u32, ConfigError> {
            let value = pick(&format!("limits_{key}"), value.map(|v| v.to_string()));
            match value {
                Some(v) => v.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
                    key_err(
                        &format!("limits.{key}"),
                        format!("`{v}` is not a positive whole number"),
                    )
                }),
                None => Ok(default),
            }
        };
        let defaults = Limits::default();
        let limits = Limits {
            overall_per_second: limit(
                "overall_per_second",
                raw.limits.overall_per_second,
                defaults.overall_per_second,
            )?,
            per_chat_per_second: limit(
                "per_chat_per_second",
                raw.limits.per_chat_per_second,
                defaults.per_chat_per_second,
            )?,
            group_per_minute: limit(
                "group_per_minute",
                raw.limits.group_per_minute,
                defaults.group_per_minute,
            )?,
        };
        let whole =
            |key: &str, value: Option<i64>, default: u32, min: u32| -> Result<u32, ConfigError> {
                match pick(&format!("delivery_{key}"), value.map(|v| v.to_string())) {
                    Some(v) => v.parse::<u32>().ok().filter(|v| *v >= min).ok_or_else(|| {
                        key_err(
                            &format!("delivery.{key}"),
                            format!("`{v}` is not a whole number of at least {min}"),
                        )
                    }),
                    None => Ok(default),
                }
            };
        let d = Retries::default();
        let retries = Retries {
            min_delay_ms: whole(
                "retry_min_delay_ms",
                raw.delivery.retry_min_delay_ms,
                d.min_delay_ms,
                1,
            )?,
            max_delay_ms: whole(
                "retry_max_delay_ms",
                raw.delivery.retry_max_delay_ms,
                d.max_delay_ms,
                1,
            )?,
            max_retries: whole("max_retries", raw.delivery.max_retries, d.max_retries, 0)?,
        };
        let ops_listen = match pick("ops_listen", raw.ops.listen) {
            Some(a) => Some(a.parse().map_err(|_| {
                key_err(
                    "ops.listen",
                    format!("`{a}` is not an address such as 127.0.0.1:9090"),
                )
            })?),
            None => None,
        };
        let webhook = match raw.webhook {
            Some(w) => {
                let listen = w.listen.parse().map_err(|_| {
                    key_err(
                        "webhook.listen",
                        format!("`{}` is not an address such as 0.0.0.0:8443", w.listen),
                    )
                })?;
                if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
                    return Err(key_err(
                        "webhook.url",
                        format!("`{}` is not an http(s) URL", w.url),
                    ));
                }
                Some(Webhook { listen, url: w.url })
            }
            None => None,
        };
        if retries.max_delay_ms < retries.min_delay_ms {
            return Err(key_err(
                "delivery.retry_max_delay_ms",
                "is smaller than retry_min_delay_ms",
            ));
        }
        Ok(Config {
            timezone,
            post_time,
            leap_day,
            style: Style { months, digits },
            data_dir,
            database,
            api_url,
            catch_up_minutes,
            targets,
            admins,
            admin_chat,
            token_file: pick("token_file", raw.token_file).map(PathBuf::from),
            limits,
            retries,
            ops_listen,
            webhook,
        })
    }

    /// The token from `TELOXIDE_TOKEN`, else the token file, else systemd's credential.
    pub fn token(&self) -> Result<Token, ConfigError> {
        Token::from_sources(&|k| std::env::var(k).ok(), self.token_file.as_deref())
    }
}

/// The bot token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(raw: &str) -> Result<Self, ConfigError> {
        let raw = raw.trim();
        let (id, secret) = raw.split_once(':').ok_or(ConfigError::BadToken(
            "is not of the form <bot id>:<secret>",
        ))?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || secret.is_empty() {
            return Err(ConfigError::BadToken(
                "is not of the form <bot id>:<secret>",
            ));
        }
        if !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::BadToken("has characters a token never has"));
        }
        crate::logging::register_secret(secret);
        Ok(Self(raw.to_owned()))
    }

    pub fn from_sources(
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        if let Some(t) = env("TELOXIDE_TOKEN").filter(|t| !t.trim().is_empty()) {
            return Self::new(&t);
        }
        let file = file
            .map(Path::to_owned)
            .or_else(|| env("CREDENTIALS_DIRECTORY").map(|d| Path::new(&d).join("telegram-token")));
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
                    file: path.clone(),
                    reason: e.to_string(),
                })?;
                Self::new(&text)
            }
            None => Err(ConfigError::NoToken),
        }
    }

    /// The token itself, for handing to teloxide and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("dhikra.toml"), text, &|_| None)
    }

    #[test]
    fn defaults_are_cairo_nine_oclock() {
        let c = parse("").unwrap();
        assert_eq!(c.timezone, chrono_tz::Africa::Cairo);
        assert_eq!(c.post_time.0, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            ("timezone = \"Mars/Base\"", "timezone"),
            ("post_time = \"9am\"", "post_time"),
            ("month_names = \"martian\"", "month_names"),
            ("leap_day = \"feb29\"", "leap_day"),
            ("admins = [-5]", "admins"),
            ("[[targets]]\nchat = \"channel\"", "targets[0].chat"),
            (
                "[[targets]]\nchat = 5\npost_time = \"25:00\"",
                "targets[0].post_time",
            ),
            ("api_url = \"ftp://x\"", "api_url"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
        }
    }

    #[test]
    fn unknown_key_is_a_syntax_error_with_position() {
        let err = parse("timezone = \"Africa/Cairo\"\ncolour = 1")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("dhikra.toml:2:1") && err.contains("colour"),
            "{err}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let env = |k: &str| match k {
            "DHIKRA_TIMEZONE" => Some("Asia/Baghdad".to_owned()),
            "DHIKRA_ADMINS" => Some("1, 2".to_owned()),
            "TELOXIDE_API_URL" => Some("http://127.0.0.1:9/".to_owned()),
            _ => None,
        };
        let c = Config::parse(
            Path::new("x"),
            "timezone = \"Africa/Cairo\"\nadmins = [7]",
            &env,
        )
        .unwrap();
        assert_eq!(c.timezone, chrono_tz::Asia::Baghdad);
        assert_eq!(c.admins, vec![1, 2]);
        assert_eq!(c.api_url.as_deref(), Some("http://127.0.0.1:9"));
    }

    #[test]
    fn targets_parse_ids_and_usernames() {
        let c = parse("[[targets]]\nchat = -1001234567890\ntopic = 7\n[[targets]]\nchat = \"@dhikra_ww2\"\npost_time = \"08:30\"").unwrap();
        assert_eq!(c.targets[0].chat, ChatTarget::Id(-1001234567890));
        assert_eq!(c.targets[0].topic, Some(7));
        assert_eq!(c.targets[1].chat, ChatTarget::Username("dhikra_ww2".into()));
    }

    #[test]
    fn the_token_comes_from_systemds_credential_when_not_in_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("telegram-token"),
            "42:credential-secret-abcdefgh\n",
        )
        .unwrap();
        let creds = dir.path().display().to_string();
        let env = |k: &str| (k == "CREDENTIALS_DIRECTORY").then(|| creds.clone());
        assert_eq!(
            Token::from_sources(&env, None).unwrap().expose(),
            "42:credential-secret-abcdefgh"
        );
        // TELOXIDE_TOKEN wins when both are there.
        let env = |k: &str| match k {
            "TELOXIDE_TOKEN" => Some("7:from-env-abcdefghij".to_owned()),
            "CREDENTIALS_DIRECTORY" => Some(creds.clone()),
            _ => None,
        };
        assert_eq!(
            Token::from_sources(&env, None).unwrap().expose(),
            "7:from-env-abcdefghij"
        );
    }

    #[test]
    fn the_token_never_prints() {
        let secret = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678";
        let t = Token::new(secret).unwrap();
        assert!(!format!("{t:?} {t}").contains("ABCdef"));
        let err = Token::new("123456:AB C").unwrap_err().to_string();
        assert!(!err.contains("AB C"));
        assert!(matches!(
            Token::from_sources(&|_| None, None),
            Err(ConfigError::NoToken)
        ));
        assert!(ConfigError::NoToken.to_string().contains("@BotFather"));
    }
}
