//! What an event is: its id, kind, dates, Arabic text and the structured facts that
//! questions are answered from. Values of these types are always valid; `store`
//! builds them from the files in `data/`.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::MonthDay;

/// A slug: lowercase ASCII letters, digits and single hyphens, equal to the file stem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EventId(String);

impl EventId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 48
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(format!(
                "`{s}` is not a slug (lowercase a-z, 0-9 and single hyphens, at most 48 characters)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Battle,
    Bombing,
    Declaration,
    Surrender,
    Landing,
    Offensive,
    Liberation,
    Armistice,
    Occupation,
    Massacre,
    Decision,
    Raid,
    Arrest,
    Execution,
}

impl Kind {
    pub fn label_ar(self) -> &'static str {
        match self {
            Kind::Battle => "معركة",
            Kind::Bombing => "قصف",
            Kind::Declaration => "إعلان",
            Kind::Surrender => "استسلام",
            Kind::Landing => "إنزال",
            Kind::Offensive => "هجوم",
            Kind::Liberation => "تحرير",
            Kind::Armistice => "هدنة",
            Kind::Occupation => "احتلال",
            Kind::Massacre => "مجزرة",
            Kind::Decision => "قرار",
            Kind::Raid => "غارة",
            Kind::Arrest => "اعتقال",
            Kind::Execution => "إعدام",
        }
    }
}

/// A labelled number an answer to «كم» can quote, e.g. «القاذفات: 500 قاذفة أمريكية».
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub label: String,
    pub value: String,
    /// Words a question about this figure may use (قتلى، طائرات، أطنان…).
    #[serde(default)]
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    #[serde(default)]
    pub sides: Vec<String>,
    #[serde(default)]
    pub commanders: Vec<String>,
    /// Who took the place or carried out the act, when the event has one such actor.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub figures: Vec<Figure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub title: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// One remembered event. `date` is the anniversary; `end` closes a span such as a
/// campaign (and is never before `date`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub kind: Kind,
    pub title_ar: String,
    pub title_en: String,
    pub aliases: Vec<String>,
    pub date: NaiveDate,
    pub end: Option<NaiveDate>,
    pub place_ar: Option<String>,
    pub summary_ar: String,
    /// Where sources disagree or the seed is corrected, said in the post.
    pub note_ar: Option<String>,
    pub facts: Facts,
    pub related: Vec<EventId>,
    pub sources: Vec<Source>,
}

impl Event {
    pub fn month_day(&self) -> MonthDay {
        MonthDay::of(self.date)
    }

    pub fn year(&self) -> i32 {
        self.date.year()
    }
}
