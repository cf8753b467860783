//! When posts are due: a target's window on its local day, the next post a
//! target will get, and the days with anniversaries that come next. One rule for
//! the tick, `/status` and inline mode alike.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::core::calendar::{self, LeapDayRule, local_instant};
use crate::core::catalog::EventStore;
use crate::core::event::Event;

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

/// What the schedule needs to know of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub timezone: Tz,
    pub leap_day: LeapDayRule,
    pub catch_up_minutes: Option<u32>,
}

/// When a target's next post goes out: today's if it is still to come (or due and
/// not yet sent), else the next day with an anniversary.
pub fn next_post(
    store: &EventStore,
    rules: Rules,
    post_time: NaiveTime,
    now: DateTime<Utc>,
    sent_today: bool,
) -> Option<DateTime<Utc>> {
    let today = calendar::today(now, rules.timezone);
    if !sent_today && !store.on_date(today, rules.leap_day).is_empty() {
        let w = window(now, rules.timezone, post_time, rules.catch_up_minutes);
        if now < w.until {
            return Some(local_instant(today, post_time, rules.timezone).max(now));
        }
    }
    let (next, _) = store.next_after(today, rules.leap_day)?;
    Some(local_instant(next, post_time, rules.timezone))
}

/// At least `n` events where the store has them: those of `day`, then those of the
/// next days with anniversaries, in order.
pub fn upcoming(store: &EventStore, day: NaiveDate, rule: LeapDayRule, n: usize) -> Vec<&Event> {
    let mut found = store.on_date(day, rule);
    let mut day = day;
    while found.len() < n {
        match store.next_after(day, rule) {
            Some((next, evs)) => {
                found.extend(evs);
                day = next;
            }
            None => break,
        }
    }
    found
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
}
