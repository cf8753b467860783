//! The event store: reads `data/events/*.toml`, validates every file (reporting all
//! problems at once, each with file, line:column and field), and indexes the events
//! by id and by day of the year.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use toml::Spanned;

use crate::arabic;
use crate::calendar::{self, LeapDayRule, MonthDay};
use crate::event::{Event, EventId, Facts, Kind, Source};

/// One problem in one data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// All the problems found in one load, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataErrors(pub Vec<DataError>);

impl fmt::Display for DataErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DataErrors {}

/// The file format, exactly as written by editors (see `data/README.md`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    id: Spanned<String>,
    kind: Kind,
    title_ar: Spanned<String>,
    title_en: String,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    date: Spanned<String>,
    #[serde(default)]
    end: Option<Spanned<String>>,
    #[serde(default)]
    place_ar: Option<String>,
    summary_ar: Spanned<String>,
    #[serde(default)]
    note_ar: Option<String>,
    #[serde(default)]
    facts: Facts,
    #[serde(default)]
    related: Vec<Spanned<String>>,
    #[serde(default)]
    sources: Vec<Spanned<Source>>,
}

/// Events in memory, indexed for lookup by id and by day without scanning.
#[derive(Debug, Clone, Default)]
pub struct EventStore {
    events: Vec<Event>,
    by_id: HashMap<EventId, usize>,
    by_day: BTreeMap<MonthDay, Vec<usize>>,
}

impl EventStore {
    /// Reads and validates every `*.toml` under `<dir>/events`.
    pub fn load(dir: &Path) -> Result<Self, DataErrors> {
        let events_dir = dir.join("events");
        let entries = std::fs::read_dir(&events_dir).map_err(|e| {
            DataErrors(vec![DataError {
                file: events_dir.clone(),
                line: 0,
                column: 0,
                field: None,
                message: format!("cannot read the events folder: {e}"),
            }])
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        let read = parallel_map(paths, |path| {
            let text = std::fs::read_to_string(&path);
            (path, text)
        });
        for (path, text) in read {
            match text {
                Ok(text) => files.push((path, text)),
                Err(e) => errors.push(DataError {
                    file: path,
                    line: 0,
                    column: 0,
                    field: None,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if files.is_empty() && errors.is_empty() {
            errors.push(DataError {
                file: events_dir,
                line: 0,
                column: 0,
                field: None,
                message: "no event files (*.toml) found".into(),
            });
        }
        match Self::from_files(files) {
            Ok(store) if errors.is_empty() => Ok(store),
            Ok(_) => Err(DataErrors(errors)),
            Err(DataErrors(more)) => {
                errors.extend(more);
                Err(DataErrors(errors))
            }
        }
    }

    /// Validates the given (path, contents) pairs; pure, so tests feed it directly.
    pub fn from_files(files: Vec<(PathBuf, String)>) -> Result<Self, DataErrors> {
        let mut errors = Vec::new();
        let mut parsed: Vec<(PathBuf, String, RawEvent)> = Vec::new();
        for (path, text, result) in parse_all(files) {
            match result {
                Ok(raw) => parsed.push((path, text, raw)),
                Err(e) => {
                    let (line, column) =
                        e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
                    errors.push(DataError {
                        file: path,
                        line,
                        column,
                        field: field_in_message(e.message()),
                        message: e.message().trim().to_owned(),
                    });
                }
            }
        }

        let mut events = Vec::new();
        let mut positions: Vec<(PathBuf, String, Vec<Spanned<String>>)> = Vec::new();
        // Every id that parsed, even in a file with other problems: one broken event
        // must not also report every `related` that points at it.
        let declared: std::collections::HashSet<String> = parsed
            .iter()
            .map(|(_, _, raw)| raw.id.get_ref().clone())
            .collect();
        for (path, text, raw) in parsed {
            let mut err = |span: std::ops::Range<usize>, field: &str, message: String| {
                let (line, column) = line_col(&text, span.start);
                errors.push(DataError {
                    file: path.clone(),
                    line,
                    column,
                    field: Some(field.into()),
                    message,
                });
            };
            let id = match EventId::parse(raw.id.get_ref()) {
                Ok(id) => {
                    let stem = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default();
                    if id.as_str() != stem {
                        err(
                            raw.id.span(),
                            "id",
                            format!("`{id}` differs from the file name `{stem}.toml`"),
                        );
                    }
                    Some(id)
                }
                Err(m) => {
                    err(raw.id.span(), "id", m);
                    None
                }
            };
            let date = parse_date(&raw.date)
                .map_err(|m| err(raw.date.span(), "date", m))
                .ok();
            let end = match &raw.end {
                Some(end) => parse_date(end).map_err(|m| err(end.span(), "end", m)).ok(),
                None => None,
            };
            if let (Some(start), Some(Some(stop)), Some(end_span)) =
                (date, raw.end.as_ref().map(|_| end), raw.end.as_ref())
                && stop < start
            {
                err(
                    end_span.span(),
                    "end",
                    format!("{stop} is before the start date {start}"),
                );
            }
            if raw.summary_ar.get_ref().trim().is_empty() {
                err(raw.summary_ar.span(), "summary_ar", "is empty".into());
            } else if !arabic::has_arabic_letter(raw.summary_ar.get_ref()) {
                err(
                    raw.summary_ar.span(),
                    "summary_ar",
                    "has no Arabic letters".into(),
                );
            }
            if !arabic::has_arabic_letter(raw.title_ar.get_ref()) {
                err(
                    raw.title_ar.span(),
                    "title_ar",
                    "has no Arabic letters".into(),
                );
            }
            if raw.sources.is_empty() {
                err(
                    raw.id.span(),
                    "sources",
                    "every event needs at least one [[sources]] entry".into(),
                );
            }
            for source in &raw.sources {
                if source.get_ref().title.trim().is_empty() {
                    err(source.span(), "sources.title", "is empty".into());
                }
                if let Some(url) = &source.get_ref().url
                    && !(url.starts_with("https://") || url.starts_with("http://"))
                {
                    err(
                        source.span(),
                        "sources.url",
                        format!("`{url}` is not an http(s) address"),
                    );
                }
            }
            for figure in &raw.facts.figures {
                if figure.label.trim().is_empty() || figure.value.trim().is_empty() {
                    let span = raw.id.span();
                    err(
                        span,
                        "facts.figures",
                        "a figure needs a label and a value".into(),
                    );
                }
            }
            let mut related = Vec::new();
            for r in &raw.related {
                match EventId::parse(r.get_ref()) {
                    Ok(rid) => related.push(rid),
                    Err(m) => err(r.span(), "related", m),
                }
            }
            let (Some(id), Some(date)) = (id, date) else {
                continue;
            };
            let mut aliases_spanned = raw.aliases.clone();
            aliases_spanned.push(raw.title_ar.clone());
            // The text is kept only to place errors found across files.
            positions.push((path, text, aliases_spanned));
            events.push(Event {
                id,
                kind: raw.kind,
                title_ar: raw.title_ar.into_inner().trim().to_owned(),
                title_en: raw.title_en.trim().to_owned(),
                aliases: raw
                    .aliases
                    .into_iter()
                    .map(|a| a.into_inner().trim().to_owned())
                    .collect(),
                date,
                end: end.filter(|e| *e >= date),
                place_ar: raw.place_ar,
                summary_ar: raw.summary_ar.into_inner().trim().to_owned(),
                note_ar: raw
                    .note_ar
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
                facts: raw.facts,
                related,
                sources: raw.sources.into_iter().map(Spanned::into_inner).collect(),
            });
        }

        // Checks across files: duplicate ids, dangling `related`, shared aliases.
        let mut by_id: HashMap<EventId, usize> = HashMap::new();
        let mut alias_owner: HashMap<String, EventId> = HashMap::new();
        for (i, event) in events.iter().enumerate() {
            let (path, text, aliases) = &positions[i];
            if let Some(&first) = by_id.get(&event.id) {
                errors.push(DataError {
                    file: path.clone(),
                    line: 1,
                    column: 1,
                    field: Some("id".into()),
                    message: format!(
                        "`{}` is already used by {}",
                        event.id,
                        positions[first].0.display()
                    ),
                });
                continue;
            }
            by_id.insert(event.id.clone(), i);
            for alias in aliases {
                let key = arabic::normalize(alias.get_ref());
                if key.is_empty() {
                    continue;
                }
                match alias_owner.get(&key) {
                    Some(owner) if owner != &event.id => {
                        let (line, column) = line_col(text, alias.span().start);
                        errors.push(DataError {
                            file: path.clone(),
                            line,
                            column,
                            field: Some("aliases".into()),
                            message: format!(
                                "«{}» is also claimed by event `{owner}`",
                                alias.get_ref()
                            ),
                        });
                    }
                    _ => {
                        alias_owner.insert(key, event.id.clone());
                    }
                }
            }
        }
        for (i, event) in events.iter().enumerate() {
            let (path, text, _) = &positions[i];
            for rid in &event.related {
                if !declared.contains(rid.as_str()) || rid == &event.id {
                    let at = text.find(&format!("\"{rid}\"")).unwrap_or(0);
                    let (line, column) = line_col(text, at);
                    let why = if rid == &event.id {
                        "an event cannot relate to itself"
                    } else {
                        "no event has this id"
                    };
                    errors.push(DataError {
                        file: path.clone(),
                        line,
                        column,
                        field: Some("related".into()),
                        message: format!("`{rid}`: {why}"),
                    });
                }
            }
        }

        if !errors.is_empty() {
            return Err(DataErrors(errors));
        }
        Ok(Self::index(events))
    }

    fn index(mut events: Vec<Event>) -> Self {
        events.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        let mut by_id = HashMap::with_capacity(events.len());
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

type Parsed = (PathBuf, String, Result<RawEvent, toml::de::Error>);

/// Parses the files on every core (TOML parsing is most of a large store's load time).
fn parse_all(files: Vec<(PathBuf, String)>) -> Vec<Parsed> {
    parallel_map(files, |(path, text)| {
        let result = toml::from_str::<RawEvent>(&text);
        (path, text, result)
    })
}

/// `items.map(f)` on every core, keeping the order; small inputs stay on this thread.
fn parallel_map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 256 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(chunk).collect());
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || c.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        // A panic in a worker is re-raised here rather than losing its items.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

fn parse_date(s: &Spanned<String>) -> Result<NaiveDate, String> {
    let text = s.get_ref().trim();
    let parts: Vec<&str> = text.split('-').collect();
    let numeric = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return Err(format!("`{text}` is not a date of the form YYYY-MM-DD"));
    }
    let (y, m, d) = (
        parts[0].parse().unwrap_or(0),
        parts[1].parse().unwrap_or(0),
        parts[2].parse().unwrap_or(0),
    );
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) if date.year() >= 1 => Ok(date),
        _ => Err(format!("{text} is not a day of the calendar")),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The field a serde message is about: "missing field `date`", "unknown field `foo`".
fn field_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let name = &message[start..start + len];
    (message.contains("field") || message.contains("variant")).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const MINIMAL: &str = r#"
id = "sample"
kind = "battle"
title_ar = "معركة تجريبية"
title_en = "Sample battle"
aliases = ["تجربة"]
date = "1944-06-04"
summary_ar = "نص عربي."
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
