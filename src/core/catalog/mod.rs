//! The catalog: the validated events, indexed by id and by day of the year (the
//! search index over them is `core::search`).
//!
//! [`validate`] turns the files as editors wrote them into events, reporting every
//! problem at once with file, line:column and field; reading the files from disk is
//! the shell's job (`crate::data`).

pub mod validate;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use chrono::NaiveDate;

use crate::core::calendar::{self, LeapDayRule, MonthDay};
use crate::core::event::{Event, EventId};

pub use validate::{DataError, DataErrors};

/// Events in memory, indexed for lookup by id and by day without scanning.
#[derive(Debug, Clone, Default)]
pub struct EventStore {
    events: Vec<Event>,
    by_id: FxHashMap<EventId, usize>,
    by_day: BTreeMap<MonthDay, Vec<usize>>,
}

impl EventStore {
    /// Validates the given (path, contents) pairs: the whole store, from memory.
    pub fn from_files(files: Vec<(std::path::PathBuf, String)>) -> Result<Self, DataErrors> {
        let parsed = files
            .into_iter()
            .map(|(path, text)| validate::parse_file(path, text))
            .collect();
        validate::assemble(parsed, Vec::new())
    }

    pub(crate) fn index(mut events: Vec<Event>) -> Self {
        // The keys sorted, then each event moved once: an event is hundreds of
        // bytes, and sorting the events themselves (copies, and a scratch
        // buffer of megabytes) was 6 of the main thread's 234 perf samples in
        // a start-up with 10,000 events.
        events.sort_by_cached_key(|e| (e.date, e.id.clone()));
        let mut by_id = FxHashMap::with_capacity_and_hasher(events.len(), Default::default());
        let mut by_day: BTreeMap<MonthDay, Vec<usize>> = BTreeMap::new();
        for (i, e) in events.iter().enumerate() {
            by_id.insert(e.id.clone(), i);
            // Sorted by date above, so each day's list is in year order.
            by_day.entry(e.month_day()).or_default().push(i);
        }
        Self {
            events,
            by_id,
            by_day,
        }
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Every event, oldest first.
    pub fn all(&self) -> &[Event] {
        &self.events
    }

    pub fn get(&self, id: &str) -> Option<&Event> {
        let id = EventId::parse(id).ok()?;
        self.by_id.get(&id).map(|&i| &self.events[i])
    }

    /// Events remembered on the calendar date `date`, ordered by year.
    pub fn on_date(&self, date: NaiveDate, rule: LeapDayRule) -> Vec<&Event> {
        let mut found: Vec<&Event> = calendar::anniversaries_on(date, rule)
            .into_iter()
            .flat_map(|md| self.by_day.get(&md).into_iter().flatten())
            .map(|&i| &self.events[i])
            .collect();
        found.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        found
    }

    /// Events of a day of the year, ordered by year.
    pub fn on_month_day(&self, md: MonthDay) -> Vec<&Event> {
        self.by_day
            .get(&md)
            .into_iter()
            .flatten()
            .map(|&i| &self.events[i])
            .collect()
    }

    /// The first date strictly after `date` that has events, with those events.
    pub fn next_after(
        &self,
        date: NaiveDate,
        rule: LeapDayRule,
    ) -> Option<(NaiveDate, Vec<&Event>)> {
        if self.events.is_empty() {
            return None;
        }
        let mut day = date;
        // Four years cover any leap-day-only store.
        for _ in 0..(366 * 4) {
            day = day.succ_opt()?;
            let found = self.on_date(day, rule);
            if !found.is_empty() {
                return Some((day, found));
            }
        }
        None
    }

    /// Distinct days of the year that have at least one event.
    pub fn days_covered(&self) -> Vec<MonthDay> {
        self.by_day.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catalog::validate::DataError;
    use std::path::PathBuf;

    pub(crate) const MINIMAL: &str = r#"
id = "sample"
kind = "battle"
title_ar = "معركة تجريبية"
title_en = "Sample battle"
aliases = ["تجربة"]
date = "1944-06-04"
summary_ar = "نص عربي."
theatre = "italy"
[[sources]]
title = "Reference"
url = "https://example.org/x"
"#;

    fn load(files: &[(&str, &str)]) -> Result<EventStore, DataErrors> {
        EventStore::from_files(
            files
                .iter()
                .map(|(p, t)| (PathBuf::from(p), t.to_string()))
                .collect(),
        )
    }

    fn one_error(files: &[(&str, &str)]) -> DataError {
        let errors = load(files).expect_err("should be invalid").0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.into_iter().next().unwrap()
    }

    #[test]
    fn a_minimal_event_loads() {
        let store = load(&[("events/sample.toml", MINIMAL)]).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.get("sample").unwrap().title_en, "Sample battle");
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let text = MINIMAL.replace("kind = \"battle\"", "kind = battle");
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.file, PathBuf::from("events/sample.toml"));
        assert_eq!(e.line, 3);
    }

    #[test]
    fn unknown_field_is_named() {
        let text = format!("{MINIMAL}\n").replace("date =", "colour = \"red\"\ndate =");
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.field.as_deref(), Some("colour"));
        assert_eq!(e.line, 7);
        assert!(e.to_string().contains("events/sample.toml:7:"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let text = MINIMAL.replace("date = \"1944-06-04\"\n", "");
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.field.as_deref(), Some("date"));
    }

    #[test]
    fn id_must_equal_the_file_stem() {
        let e = one_error(&[("events/other.toml", MINIMAL)]);
        assert_eq!(e.field.as_deref(), Some("id"));
        assert!(e.message.contains("other.toml"));
        assert_eq!((e.line, e.column), (2, 6));
    }

    #[test]
    fn duplicate_ids_are_reported() {
        let errors = load(&[
            ("a/sample.toml", MINIMAL),
            ("b/sample.toml", &MINIMAL.replace("تجربة", "ثانية")),
        ])
        .unwrap_err()
        .0;
        assert!(
            errors
                .iter()
                .any(|e| e.field.as_deref() == Some("id") && e.message.contains("already used"))
        );
    }

    #[test]
    fn impossible_date_is_reported() {
        let text = MINIMAL.replace("1944-06-04", "1943-02-30");
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.field.as_deref(), Some("date"));
        assert!(e.message.contains("1943-02-30"));
        assert_eq!(e.line, 7);
    }

    #[test]
    fn end_before_start_is_reported() {
        let text = MINIMAL.replace(
            "date = \"1944-06-04\"",
            "date = \"1944-06-04\"\nend = \"1944-01-01\"",
        );
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.field.as_deref(), Some("end"));
        assert_eq!(e.line, 8);
    }

    #[test]
    fn summary_needs_arabic() {
        let e = one_error(&[(
            "events/sample.toml",
            &MINIMAL.replace("نص عربي.", "English only."),
        )]);
        assert_eq!(e.field.as_deref(), Some("summary_ar"));
        let e = one_error(&[("events/sample.toml", &MINIMAL.replace("نص عربي.", "  "))]);
        assert!(e.message.contains("empty"));
    }

    #[test]
    fn related_must_exist() {
        let text = MINIMAL.replace("summary_ar", "related = [\"nowhere\"]\nsummary_ar");
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.field.as_deref(), Some("related"));
        assert!(e.message.contains("nowhere"));
        assert_eq!(e.line, 8);
    }

    #[test]
    fn an_alias_belongs_to_one_event() {
        let other = MINIMAL
            .replace("sample", "second")
            .replace("معركة تجريبية", "معركة أخرى")
            .replace("تجربة", "تَجْرِبة");
        let errors = load(&[
            ("events/sample.toml", MINIMAL),
            ("events/second.toml", &other),
        ])
        .unwrap_err()
        .0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field.as_deref(), Some("aliases"));
        assert!(errors[0].message.contains("sample"));
    }

    #[test]
    fn a_broken_event_does_not_cascade_into_related_errors() {
        let broken = MINIMAL.replace("1944-06-04", "1944-02-30");
        let other = MINIMAL
            .replace("sample", "second")
            .replace("معركة تجريبية", "معركة أخرى")
            .replace("تجربة", "ثانية")
            .replace("summary_ar", "related = [\"sample\"]\nsummary_ar");
        let errors = load(&[
            ("events/sample.toml", &broken),
            ("events/second.toml", &other),
        ])
        .unwrap_err()
        .0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field.as_deref(), Some("date"));
    }

    #[test]
    fn sources_are_required() {
        let text = MINIMAL.split("[[sources]]").next().unwrap().to_owned();
        let e = one_error(&[("events/sample.toml", &text)]);
        assert_eq!(e.field.as_deref(), Some("sources"));
    }

    #[test]
    fn every_problem_is_reported_in_one_run() {
        let bad_date = MINIMAL.replace("1944-06-04", "1944-13-01");
        let bad_syntax = "id = ";
        let errors = load(&[
            ("events/sample.toml", &bad_date),
            ("events/broken.toml", bad_syntax),
        ])
        .unwrap_err()
        .0;
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn lookup_by_day_orders_by_year() {
        let later = MINIMAL
            .replace("sample", "later")
            .replace("1944-06-04", "1945-06-04")
            .replace("تجربة", "لاحقة")
            .replace("معركة تجريبية", "معركة لاحقة");
        let earlier = MINIMAL
            .replace("sample", "earlier")
            .replace("1944-06-04", "1943-06-04")
            .replace("تجربة", "سابقة")
            .replace("معركة تجريبية", "معركة سابقة");
        let store = load(&[("e/later.toml", &later), ("e/earlier.toml", &earlier)]).unwrap();
        let day = NaiveDate::from_ymd_opt(2027, 6, 4).unwrap();
        let ids: Vec<&str> = store
            .on_date(day, LeapDayRule::Feb28)
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["earlier", "later"]);
        let (next, _) = store
            .next_after(
                NaiveDate::from_ymd_opt(2027, 6, 5).unwrap(),
                LeapDayRule::Feb28,
            )
            .unwrap();
        assert_eq!(next, NaiveDate::from_ymd_opt(2028, 6, 4).unwrap());
    }
}
