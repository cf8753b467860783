//! Dates: the anniversary key `MonthDay`, the one place that decides what "today" is
//! in a timezone, and the 29 February rule.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A day of the year, valid in a leap year (so 02-29 exists, 02-30 does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    month: u32,
    day: u32,
}

impl MonthDay {
    pub fn new(month: u32, day: u32) -> Option<Self> {
        // 2000 is a leap year: every real month-day exists in it.
        NaiveDate::from_ymd_opt(2000, month, day).map(|_| Self { month, day })
    }

    pub fn of(date: NaiveDate) -> Self {
        Self {
            month: date.month(),
            day: date.day(),
        }
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn day(self) -> u32 {
        self.day
    }

    pub fn is_leap_day(self) -> bool {
        self.month == 2 && self.day == 29
    }

    /// The date this anniversary falls on in `year`, applying `rule` to 29 February.
    pub fn in_year(self, year: i32, rule: LeapDayRule) -> Option<NaiveDate> {
        match NaiveDate::from_ymd_opt(year, self.month, self.day) {
            Some(d) => Some(d),
            None if self.is_leap_day() => match rule {
                LeapDayRule::Feb28 => NaiveDate::from_ymd_opt(year, 2, 28),
                LeapDayRule::Mar1 => NaiveDate::from_ymd_opt(year, 3, 1),
            },
            None => None,
        }
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl FromStr for MonthDay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (m, d) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not MM-DD"))?;
        let (m, d) = (m.parse::<u32>(), d.parse::<u32>());
        match (m, d) {
            (Ok(m), Ok(d)) => {
                MonthDay::new(m, d).ok_or_else(|| format!("`{s}` is not a day of the year"))
            }
            _ => Err(format!("`{s}` is not MM-DD")),
        }
    }
}

/// Where an event of 29 February is remembered in a common year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeapDayRule {
    #[default]
    Feb28,
    Mar1,
}

impl FromStr for LeapDayRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "feb28" => Ok(Self::Feb28),
            "mar1" => Ok(Self::Mar1),
            _ => Err(format!("`{s}` is not one of feb28, mar1")),
        }
    }
}

/// The month-days whose anniversaries fall on `date` (one, or two when a common
/// year's 28 February or 1 March also carries 29 February).
pub fn anniversaries_on(date: NaiveDate, rule: LeapDayRule) -> Vec<MonthDay> {
    let mut days = vec![MonthDay::of(date)];
    let leap_day = MonthDay { month: 2, day: 29 };
    if leap_day.in_year(date.year(), rule) == Some(date) && !days.contains(&leap_day) {
        days.push(leap_day);
    }
    days
}

/// Where the current instant comes from; tests inject a fixed one.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// "Today": the calendar date at `now` in `tz`. Every caller goes through here.
pub fn today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The instant at which local wall-clock `time` occurs on `date` in `tz`.
///
/// On a spring-forward day a time inside the gap does not exist; the post then goes
/// at the first instant after the gap rather than being skipped. On a fall-back day
/// the earlier of the two instants is used so the post is not delayed by an hour.
pub fn local_instant(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_time(time);
    if let Some(dt) = tz.from_local_datetime(&naive).earliest() {
        return dt.with_timezone(&Utc);
    }
    // In a gap: walk forward a minute at a time (gaps are at most a few hours).
    let mut probe = naive;
    for _ in 0..(24 * 60) {
        probe += chrono::Duration::minutes(1);
        if let Some(dt) = tz.from_local_datetime(&probe).earliest() {
            return dt.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&naive)
}

/// The instant the local day `date` ends (the next local midnight, or the first
/// instant of the next day when midnight itself is skipped by DST, as in Cairo).
pub fn end_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    local_instant(next, NaiveTime::MIN, tz)
}

/// A date as an editor or admin types it: `MM-DD` resolves to its next occurrence
/// on or after `today`; `YYYY-MM-DD` is taken as is.
pub fn resolve(arg: &str, today: NaiveDate) -> Result<NaiveDate, String> {
    if let Ok(date) = NaiveDate::parse_from_str(arg, "%Y-%m-%d") {
        return Ok(date);
    }
    let md: MonthDay = arg
        .parse()
        .map_err(|e| format!("--date: {e}; use MM-DD or YYYY-MM-DD"))?;
    (today.year()..today.year() + 8)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, md.month(), md.day()))
        .find(|d| *d >= today)
        .ok_or_else(|| format!("--date: {arg} has no next occurrence"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn month_day_rejects_impossible_days() {
        assert!(MonthDay::new(2, 29).is_some());
        assert!(MonthDay::new(2, 30).is_none());
        assert!(MonthDay::new(4, 31).is_none());
        assert!(MonthDay::new(13, 1).is_none());
        assert!("02-30".parse::<MonthDay>().is_err());
        assert_eq!("06-04".parse::<MonthDay>().unwrap().to_string(), "06-04");
    }

    #[test]
    fn leap_day_in_leap_and_common_years() {
        let feb29 = MonthDay::new(2, 29).unwrap();
        assert_eq!(
            feb29.in_year(2028, LeapDayRule::Feb28),
            Some(d(2028, 2, 29))
        );
        assert_eq!(
            feb29.in_year(2027, LeapDayRule::Feb28),
            Some(d(2027, 2, 28))
        );
        assert_eq!(feb29.in_year(2027, LeapDayRule::Mar1), Some(d(2027, 3, 1)));
        assert_eq!(
            feb29.in_year(2100, LeapDayRule::Feb28),
            Some(d(2100, 2, 28))
        );
    }

    #[test]
    fn anniversaries_on_folds_feb29_by_rule() {
        let feb29 = MonthDay::new(2, 29).unwrap();
        assert!(anniversaries_on(d(2027, 2, 28), LeapDayRule::Feb28).contains(&feb29));
        assert!(!anniversaries_on(d(2027, 3, 1), LeapDayRule::Feb28).contains(&feb29));
        assert!(anniversaries_on(d(2027, 3, 1), LeapDayRule::Mar1).contains(&feb29));
        assert!(!anniversaries_on(d(2028, 2, 28), LeapDayRule::Feb28).contains(&feb29));
        assert_eq!(
            anniversaries_on(d(2028, 2, 29), LeapDayRule::Feb28),
            vec![feb29]
        );
    }

    #[test]
    fn today_changes_at_local_midnight_not_utc() {
        let tz: Tz = "Africa/Cairo".parse().unwrap();
        // Cairo is UTC+2 in winter: 21:59:59 UTC is 23:59:59 local, 22:00 UTC is midnight.
        let before = Utc.with_ymd_and_hms(2027, 1, 10, 21, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2027, 1, 10, 22, 0, 0).unwrap();
        assert_eq!(today(before, tz), d(2027, 1, 10));
        assert_eq!(today(after, tz), d(2027, 1, 11));
    }

    #[test]
    fn cairo_dst_days_keep_local_post_time() {
        let tz: Tz = "Africa/Cairo".parse().unwrap();
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        // Egypt springs forward on the last Friday of April (2027-04-30) at 00:00 -> 01:00.
        let spring = local_instant(d(2027, 4, 30), nine, tz);
        assert_eq!(spring, Utc.with_ymd_and_hms(2027, 4, 30, 6, 0, 0).unwrap());
        let before = local_instant(d(2027, 4, 29), nine, tz);
        assert_eq!(before, Utc.with_ymd_and_hms(2027, 4, 29, 7, 0, 0).unwrap());
        // And falls back on the last Thursday of October (2027-10-28) at 24:00 -> 23:00.
        let autumn = local_instant(d(2027, 10, 29), nine, tz);
        assert_eq!(autumn, Utc.with_ymd_and_hms(2027, 10, 29, 7, 0, 0).unwrap());
        let fall_day = local_instant(d(2027, 10, 28), nine, tz);
        assert_eq!(
            fall_day,
            Utc.with_ymd_and_hms(2027, 10, 28, 6, 0, 0).unwrap()
        );
    }

    #[test]
    fn skipped_midnight_still_has_a_start_of_day() {
        let tz: Tz = "Africa/Cairo".parse().unwrap();
        // 2027-04-30 00:00 does not exist in Cairo; the day begins at 01:00 EEST.
        let end = end_of_day(d(2027, 4, 29), tz);
        assert_eq!(end, Utc.with_ymd_and_hms(2027, 4, 29, 22, 0, 0).unwrap());
        assert_eq!(today(end, tz), d(2027, 4, 30));
        assert_eq!(
            today(end - chrono::Duration::seconds(1), tz),
            d(2027, 4, 29)
        );
    }
}
