//! What an event is: its id, kind, dates, Arabic text and the structured facts that
//! questions are answered from. Values of these types are always valid; `store`
//! builds them from the files in `data/`.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::core::calendar::MonthDay;

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
    Siege,
    Conference,
    Treaty,
    Coup,
    Assassination,
    Evacuation,
    Sinking,
    Independence,
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
            Kind::Siege => "حصار",
            Kind::Conference => "مؤتمر",
            Kind::Treaty => "معاهدة",
            Kind::Coup => "انقلاب",
            Kind::Assassination => "اغتيال",
            Kind::Evacuation => "إجلاء",
            Kind::Sinking => "إغراق",
            Kind::Independence => "استقلال",
        }
    }
}

/// The front an event belongs to, so an operator can run a channel for one of them
/// (`theatres = ["italy"]` on a target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Theatre {
    Italy,
    NorthAfrica,
    EastAfrica,
    Levant,
    IraqIran,
    Sea,
    Balkans,
    France,
    Politics,
}

impl Theatre {
    pub const ALL: [Theatre; 9] = [
        Theatre::Italy,
        Theatre::NorthAfrica,
        Theatre::EastAfrica,
        Theatre::Levant,
        Theatre::IraqIran,
        Theatre::Sea,
        Theatre::Balkans,
        Theatre::France,
        Theatre::Politics,
    ];

    /// The spelling used in data files and the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Theatre::Italy => "italy",
            Theatre::NorthAfrica => "north-africa",
            Theatre::EastAfrica => "east-africa",
            Theatre::Levant => "levant",
            Theatre::IraqIran => "iraq-iran",
            Theatre::Sea => "sea",
            Theatre::Balkans => "balkans",
            Theatre::France => "france",
            Theatre::Politics => "politics",
        }
    }

    pub fn label_ar(self) -> &'static str {
        match self {
            Theatre::Italy => "الحملة الإيطالية",
            Theatre::NorthAfrica => "شمال أفريقيا",
            Theatre::EastAfrica => "شرق أفريقيا",
            Theatre::Levant => "الشام",
            Theatre::IraqIran => "العراق وإيران",
            Theatre::Sea => "الحرب في البحر",
            Theatre::Balkans => "اليونان والبلقان",
            Theatre::France => "فرنسا",
            Theatre::Politics => "السياسة والدبلوماسية",
        }
    }
}

/// A point on the card's map, validated to lie inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coords {
    pub lat: f64,
    pub lon: f64,
}

// Coords are validated finite, so equality is an equivalence.
impl Eq for Coords {}

// By bits, like equality of finite values (no NaN); -0.0 and 0.0 hash apart,
// which only makes the data version see an edit from one to the other.
impl std::hash::Hash for Coords {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.lat.to_bits().hash(state);
        self.lon.to_bits().hash(state);
    }
}

impl Coords {
    /// The map spans the Mediterranean and the Middle East, from Normandy and the
    /// Atlantic coast of Morocco to Tehran and the Gulf, down to Mogadishu.
    pub const LAT: (f64, f64) = (-2.0, 52.0);
    pub const LON: (f64, f64) = (-15.0, 63.0);

    pub fn parse(lat: f64, lon: f64) -> Result<Self, String> {
        let inside = |v: f64, (lo, hi): (f64, f64)| v.is_finite() && v >= lo && v <= hi;
        if inside(lat, Self::LAT) && inside(lon, Self::LON) {
            Ok(Self { lat, lon })
        } else {
            Err(format!(
                "[{lat}, {lon}] is outside the map (latitude {} to {}, longitude {} to {})",
                Self::LAT.0,
                Self::LAT.1,
                Self::LON.0,
                Self::LON.1
            ))
        }
    }
}

/// A labelled number an answer to «كم» can quote, e.g. «القاذفات: 500 قاذفة أمريكية».
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub label: String,
    pub value: String,
    /// Words a question about this figure may use (قتلى، طائرات، أطنان…).
    #[serde(default)]
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub title: String,
    #[serde(default)]
    pub url: Option<String>,
}

/// One remembered event. `date` is the anniversary; `end` closes a span such as a
/// campaign (and is never before `date`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    pub id: EventId,
    pub kind: Kind,
    pub theatre: Theatre,
    pub coords: Option<Coords>,
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
