//! Settings: `config/dhikra.toml` overlaid with `DHIKRA_*` environment variables,
//! parsed into typed values; a bad value names its key and why. Two steps, as in
//! ripgrep's lowargs → hiargs: [`raw`] is the file as written, this module the
//! validated settings. The bot token is read apart ([`token`]) and never prints.

mod raw;
mod token;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveTime;
use chrono_tz::Tz;

use crate::core::calendar::LeapDayRule;
use crate::core::event::Theatre;
use crate::core::render::Style;

pub use token::Token;

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

/// Where the delivery log lives: an SQLite file (the default: no set-up, one
/// machine), or a PostgreSQL server (`postgres://…`) that replicas on several
/// machines share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

impl Database {
    /// `postgres://` or `postgresql://` selects PostgreSQL; anything else is a file path.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("is empty".into());
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return PostgresUrl::parse(s).map(Database::Postgres);
        }
        Ok(Database::Sqlite(PathBuf::from(s)))
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// A PostgreSQL URL. It prints (Display and Debug alike) as host, port, user
/// and database only: the password never reaches a log line or an error.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(url::Url);

impl PostgresUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s).map_err(|e| {
            // The URL is not echoed: it may hold a password.
            format!("is not a valid postgres:// URL ({e})")
        })?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("a postgres:// URL needs a host".into());
        }
        Ok(Self(url))
    }

    /// The URL with its password, for the driver only.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// This URL inside `schema` (a test's own), password kept.
    pub fn with_search_path(&self, schema: &str) -> Self {
        let mut url = self.0.clone();
        url.query_pairs_mut()
            .append_pair("options[search_path]", schema);
        Self(url)
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        let user = match url.username() {
            "" => String::new(),
            user => format!("{user}@"),
        };
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        write!(
            f,
            "postgres://{user}{}{port}{}",
            url.host_str().unwrap_or_default(),
            url.path()
        )
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({self})")
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
    /// Only events of these theatres (an Italy-only channel); empty: all.
    pub theatres: Vec<Theatre>,
    pub options: TargetOptions,
}

/// How posts go to one target: `[[targets]]` keys for configured channels,
/// `/settings` for subscribed chats. The default is the text-only behaviour of
/// old plus the day's card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetOptions {
    /// The day's card opens the post.
    pub image: bool,
    /// Sent without a notification.
    pub silent: bool,
    /// The day's first message is pinned.
    pub pin: bool,
    /// Telegram shows a preview of the first link (the first source).
    pub link_preview: bool,
}

impl Default for TargetOptions {
    fn default() -> Self {
        Self {
            image: true,
            silent: false,
            pin: false,
            link_preview: false,
        }
    }
}

/// One of the [`TargetOptions`], by name: the config key, the database column
/// and the settings button all spell it so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetOption {
    Image,
    Silent,
    Pin,
    LinkPreview,
}

impl TargetOption {
    pub const ALL: [TargetOption; 4] = [
        TargetOption::Image,
        TargetOption::Silent,
        TargetOption::Pin,
        TargetOption::LinkPreview,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetOption::Image => "image",
            TargetOption::Silent => "silent",
            TargetOption::Pin => "pin",
            TargetOption::LinkPreview => "link_preview",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl TargetOptions {
    pub fn get(&self, option: TargetOption) -> bool {
        match option {
            TargetOption::Image => self.image,
            TargetOption::Silent => self.silent,
            TargetOption::Pin => self.pin,
            TargetOption::LinkPreview => self.link_preview,
        }
    }

    pub fn set(&mut self, option: TargetOption, on: bool) {
        match option {
            TargetOption::Image => self.image = on,
            TargetOption::Silent => self.silent = on,
            TargetOption::Pin => self.pin = on,
            TargetOption::LinkPreview => self.link_preview = on,
        }
    }
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
    pub database: Database,
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
        let raw = raw::RawConfig::parse(path, text)?;
        let env = raw::Env(env);
        let (timezone, post_time, leap_day, style) = env.schedule(&raw)?;
        let (admins, admin_chat) = env.admins(&raw)?;
        let retries = env.retries(&raw.delivery)?;
        Ok(Config {
            timezone,
            post_time,
            leap_day,
            style,
            data_dir: PathBuf::from(
                env.pick("data_dir", raw.data_dir.clone())
                    .unwrap_or_else(|| "data".into()),
            ),
            database: env.database(&raw)?,
            api_url: env.api_url(&raw)?,
            catch_up_minutes: env.catch_up_minutes(&raw)?,
            targets: raw::targets(&raw.targets)?,
            admins,
            admin_chat,
            token_file: env
                .pick("token_file", raw.token_file.clone())
                .map(PathBuf::from),
            limits: env.limits(&raw.limits)?,
            retries,
            ops_listen: env.ops_listen(&raw)?,
            webhook: raw::webhook(raw.webhook.as_ref())?,
        })
    }

    /// The token from `TELOXIDE_TOKEN`, else the token file, else systemd's credential.
    pub fn token(&self) -> Result<Token, ConfigError> {
        Token::from_sources(&|k| std::env::var(k).ok(), self.token_file.as_deref())
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
            (
                "[[targets]]\nchat = 5\ntheatres = [\"mars\"]",
                "targets[0].theatres",
            ),
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

    /// Issue 13: a postgres:// URL selects PostgreSQL, a path SQLite; the URL
    /// prints without its password, in errors too.
    #[test]
    fn the_database_is_a_path_or_a_url_that_hides_its_password() {
        let pg = Database::parse("postgres://bot:hunter2@db.internal:5433/dhikra?sslmode=require")
            .unwrap();
        assert_eq!(pg.to_string(), "postgres://bot@db.internal:5433/dhikra");
        assert!(!format!("{pg:?}").contains("hunter2"));
        assert_eq!(
            Database::parse("state/dhikra.db").unwrap(),
            Database::Sqlite(PathBuf::from("state/dhikra.db"))
        );
        let bad = parse("database = \"postgres://bot:hunter2@/x\"")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("database") && !bad.contains("hunter2"),
            "{bad}"
        );
        assert!(parse("database = \"\"").is_err());
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
