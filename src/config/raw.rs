//! The configuration as written: serde's view of `dhikra.toml`, and the
//! `DHIKRA_*` environment overlay, turned section by section into the typed
//! values of `Config`. Every error names its key and why.

use std::path::Path;
use std::str::FromStr;

use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Deserialize;

use crate::config::{
    ChatTarget, ConfigError, Database, Limits, PostTime, Retries, TargetConfig, TargetOptions,
    Webhook, key_err,
};
use crate::core::arabic::{Digits, MonthStyle};
use crate::core::calendar::LeapDayRule;
use crate::core::event::Theatre;
use crate::core::render::Style;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) timezone: Option<String>,
    pub(super) post_time: Option<String>,
    pub(super) leap_day: Option<String>,
    pub(super) month_names: Option<String>,
    pub(super) digits: Option<String>,
    pub(super) data_dir: Option<String>,
    pub(super) database: Option<String>,
    pub(super) api_url: Option<String>,
    pub(super) catch_up_minutes: Option<i64>,
    #[serde(default)]
    pub(super) targets: Vec<RawTarget>,
    #[serde(default)]
    pub(super) admins: Vec<i64>,
    pub(super) admin_chat: Option<i64>,
    pub(super) token_file: Option<String>,
    #[serde(default)]
    pub(super) limits: RawLimits,
    #[serde(default)]
    pub(super) delivery: RawDelivery,
    #[serde(default)]
    pub(super) ops: RawOps,
    pub(super) webhook: Option<RawWebhook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOps {
    pub(super) listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) listen: String,
    pub(super) url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) retry_min_delay_ms: Option<i64>,
    pub(super) retry_max_delay_ms: Option<i64>,
    pub(super) max_retries: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) chat: toml::Value,
    pub(super) post_time: Option<String>,
    pub(super) topic: Option<i64>,
    #[serde(default)]
    pub(super) theatres: Vec<String>,
    pub(super) image: Option<bool>,
    pub(super) silent: Option<bool>,
    pub(super) pin: Option<bool>,
    pub(super) link_preview: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) overall_per_second: Option<i64>,
    pub(super) per_chat_per_second: Option<i64>,
    pub(super) group_per_minute: Option<i64>,
}

impl RawConfig {
    pub(super) fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let start = e.span().map_or(0, |s| s.start).min(text.len());
            let before = &text[..text.floor_char_boundary(start)];
            ConfigError::Syntax {
                file: path.to_owned(),
                line: before.matches('\n').count() + 1,
                column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                reason: e.message().trim().to_owned(),
            }
        })
    }
}

/// The environment: a variable `DHIKRA_<KEY>` wins over the file.
pub(super) struct Env<'a>(pub(super) &'a dyn Fn(&str) -> Option<String>);

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

impl Env<'_> {
    pub(super) fn pick(&self, key: &str, file: Option<String>) -> Option<String> {
        (self.0)(&format!("DHIKRA_{}", key.to_uppercase())).or(file)
    }

    /// Timezone, post time, the Feb 29 rule, and how dates are written.
    pub(super) fn schedule(
        &self,
        raw: &RawConfig,
    ) -> Result<(Tz, PostTime, LeapDayRule, Style), ConfigError> {
        let timezone = match self.pick("timezone", raw.timezone.clone()) {
            Some(tz) => tz.parse::<Tz>().map_err(|_| {
                let why = format!("`{tz}` is not an IANA timezone name such as Africa/Cairo");
                key_err("timezone", why)
            })?,
            None => chrono_tz::Africa::Cairo,
        };
        let nine = PostTime(NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default());
        let post_time = parse_key(
            "post_time",
            self.pick("post_time", raw.post_time.clone()),
            nine,
        )?;
        let leap_day = self.pick("leap_day", raw.leap_day.clone());
        let leap_day = parse_key("leap_day", leap_day, LeapDayRule::Feb28)?;
        let months = self.pick("month_names", raw.month_names.clone());
        let months = parse_key("month_names", months, MonthStyle::Egyptian)?;
        let digits = parse_key(
            "digits",
            self.pick("digits", raw.digits.clone()),
            Digits::Western,
        )?;
        Ok((timezone, post_time, leap_day, Style { months, digits }))
    }

    pub(super) fn database(&self, raw: &RawConfig) -> Result<Database, ConfigError> {
        let database = self.pick("database", raw.database.clone());
        Database::parse(&database.unwrap_or_else(|| "dhikra.db".into()))
            .map_err(|why| key_err("database", why))
    }

    pub(super) fn api_url(&self, raw: &RawConfig) -> Result<Option<String>, ConfigError> {
        let url = self
            .pick("api_url", raw.api_url.clone())
            .or_else(|| (self.0)("TELOXIDE_API_URL"));
        let Some(url) = url else {
            return Ok(None);
        };
        let url = url.trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(key_err("api_url", format!("`{url}` is not an http(s) URL")));
        }
        Ok(Some(url))
    }

    pub(super) fn catch_up_minutes(&self, raw: &RawConfig) -> Result<Option<u32>, ConfigError> {
        let value = self.pick(
            "catch_up_minutes",
            raw.catch_up_minutes.map(|m| m.to_string()),
        );
        value
            .map(|m| {
                m.parse::<u32>()
                    .ok()
                    .filter(|m| *m <= 24 * 60)
                    .ok_or_else(|| {
                        let why = format!("`{m}` is not a number of minutes from 0 to 1440");
                        key_err("catch_up_minutes", why)
                    })
            })
            .transpose()
    }

    /// Admins are numeric user ids, never usernames; the admin chat a chat id.
    pub(super) fn admins(&self, raw: &RawConfig) -> Result<(Vec<u64>, Option<i64>), ConfigError> {
        let admins = match (self.0)("DHIKRA_ADMINS") {
            Some(list) => list
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| key_err("admins", format!("`{s}` is not a numeric user id")))
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => raw.admins.clone(),
        };
        let admins = admins
            .into_iter()
            .map(|a| u64::try_from(a).ok().filter(|a| *a > 0).ok_or_else(|| key_err("admins", format!("`{a}` is not a user id (user ids are positive numbers, never @usernames)"))))
            .collect::<Result<Vec<_>, _>>()?;
        let admin_chat =
            self.pick("admin_chat", raw.admin_chat.map(|c| c.to_string()))
                .map(|c| {
                    c.parse::<i64>().ok().filter(|c| *c != 0).ok_or_else(|| {
                        key_err("admin_chat", format!("`{c}` is not a numeric chat id"))
                    })
                })
                .transpose()?;
        Ok((admins, admin_chat))
    }

    pub(super) fn limits(&self, raw: &RawLimits) -> Result<Limits, ConfigError> {
        let limit = |key: &str, value: Option<i64>, default: u32| -> Result<u32, ConfigError> {
            match self.pick(&format!("limits_{key}"), value.map(|v| v.to_string())) {
                Some(v) => v.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
                    let why = format!("`{v}` is not a positive whole number");
                    key_err(&format!("limits.{key}"), why)
                }),
                None => Ok(default),
            }
        };
        let d = Limits::default();
        Ok(Limits {
            overall_per_second: limit(
                "overall_per_second",
                raw.overall_per_second,
                d.overall_per_second,
            )?,
            per_chat_per_second: limit(
                "per_chat_per_second",
                raw.per_chat_per_second,
                d.per_chat_per_second,
            )?,
            group_per_minute: limit("group_per_minute", raw.group_per_minute, d.group_per_minute)?,
        })
    }

    pub(super) fn retries(&self, raw: &RawDelivery) -> Result<Retries, ConfigError> {
        let whole =
            |key: &str, value: Option<i64>, default: u32, min: u32| -> Result<u32, ConfigError> {
                match self.pick(&format!("delivery_{key}"), value.map(|v| v.to_string())) {
                    Some(v) => v.parse::<u32>().ok().filter(|v| *v >= min).ok_or_else(|| {
                        let why = format!("`{v}` is not a whole number of at least {min}");
                        key_err(&format!("delivery.{key}"), why)
                    }),
                    None => Ok(default),
                }
            };
        let d = Retries::default();
        let retries = Retries {
            min_delay_ms: whole(
                "retry_min_delay_ms",
                raw.retry_min_delay_ms,
                d.min_delay_ms,
                1,
            )?,
            max_delay_ms: whole(
                "retry_max_delay_ms",
                raw.retry_max_delay_ms,
                d.max_delay_ms,
                1,
            )?,
            max_retries: whole("max_retries", raw.max_retries, d.max_retries, 0)?,
        };
        if retries.max_delay_ms < retries.min_delay_ms {
            let why = "is smaller than retry_min_delay_ms";
            return Err(key_err("delivery.retry_max_delay_ms", why));
        }
        Ok(retries)
    }

    pub(super) fn ops_listen(
        &self,
        raw: &RawConfig,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.pick("ops_listen", raw.ops.listen.clone())
            .map(|a| {
                a.parse().map_err(|_| {
                    let why = format!("`{a}` is not an address such as 127.0.0.1:9090");
                    key_err("ops.listen", why)
                })
            })
            .transpose()
    }
}

/// The `[[targets]]`: each chat once, with its own post time, topic and theatres.
pub(super) fn targets(raw: &[RawTarget]) -> Result<Vec<TargetConfig>, ConfigError> {
    let mut targets: Vec<TargetConfig> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let target = target(i, t)?;
        if targets.iter().any(|o| o.chat == target.chat) {
            let why = format!("{} is listed twice", target.chat);
            return Err(key_err(&format!("targets[{i}].chat"), why));
        }
        targets.push(target);
    }
    Ok(targets)
}

fn target(i: usize, t: &RawTarget) -> Result<TargetConfig, ConfigError> {
    let key = |field: &str| format!("targets[{i}].{field}");
    let chat = match &t.chat {
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::String(s) => s.clone(),
        other => {
            let why = format!(
                "expected a number or \"@username\", found {}",
                other.type_str()
            );
            return Err(key_err(&key("chat"), why));
        }
    };
    let chat: ChatTarget = chat.parse().map_err(|r| key_err(&key("chat"), r))?;
    let post_time = t
        .post_time
        .as_ref()
        .map(|p| {
            p.parse::<PostTime>()
                .map_err(|r| key_err(&key("post_time"), r))
        })
        .transpose()?;
    let topic = t
        .topic
        .map(|n| {
            i32::try_from(n)
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| key_err(&key("topic"), format!("`{n}` is not a forum topic id")))
        })
        .transpose()?;
    let theatres = t
        .theatres
        .iter()
        .map(|name| {
            Theatre::ALL
                .into_iter()
                .find(|th| th.as_str() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Theatre::ALL.iter().map(|t| t.as_str()).collect();
                    let why = format!("`{name}` is not a theatre; known: {}", known.join(", "));
                    key_err(&key("theatres"), why)
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let defaults = TargetOptions::default();
    let options = TargetOptions {
        image: t.image.unwrap_or(defaults.image),
        silent: t.silent.unwrap_or(defaults.silent),
        pin: t.pin.unwrap_or(defaults.pin),
        link_preview: t.link_preview.unwrap_or(defaults.link_preview),
    };
    Ok(TargetConfig {
        chat,
        post_time,
        topic,
        theatres,
        options,
    })
}

pub(super) fn webhook(raw: Option<&RawWebhook>) -> Result<Option<Webhook>, ConfigError> {
    let Some(w) = raw else {
        return Ok(None);
    };
    let listen = w.listen.parse().map_err(|_| {
        let why = format!("`{}` is not an address such as 0.0.0.0:8443", w.listen);
        key_err("webhook.listen", why)
    })?;
    if !(w.url.starts_with("https://") || w.url.starts_with("http://")) {
        return Err(key_err(
            "webhook.url",
            format!("`{}` is not an http(s) URL", w.url),
        ));
    }
    Ok(Some(Webhook {
        listen,
        url: w.url.clone(),
    }))
}
