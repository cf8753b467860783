//! From the files as editors wrote them to validated events: "raw" (serde's view
//! of one file, with spans) and "checked" (an [`Event`]), in the style of ripgrep's
//! lowargs → hiargs. Every problem is reported, each with file, line:column and
//! field; one broken event never cascades into errors in the files that name it.

use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use toml::Spanned;

use crate::core::arabic;
use crate::core::catalog::EventStore;
use crate::core::event::{Coords, Event, EventId, Facts, Kind, Source, Theatre};

/// The longest summary, in UTF-16 units: one event's block (title, date line,
/// summary, note, sources) then fits in one Telegram message of 4096, so a day's
/// post has at most as many messages as it has events. A 2 MB summary is an
/// error with its file and line, not 500 messages.
pub const SUMMARY_LIMIT: usize = 3000;

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
    theatre: Theatre,
    #[serde(default)]
    coords: Option<Spanned<[f64; 2]>>,
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

/// One file, parsed and checked on its own: its path and text (kept to place
/// later errors), the id it declares, its event, and its problems.
pub struct Parsed {
    path: PathBuf,
    text: String,
    /// The id as written, whenever the file parsed, even with other problems.
    id: Option<String>,
    checked: Option<Checked>,
    errors: Vec<DataError>,
}

/// Parses and checks one file; pure, so the shell may run it on every core
/// (the checks ran on one thread after all the parsing: a quarter of the
/// main thread's start-up with 10,000 events, perf).
pub fn parse_file(path: PathBuf, text: String) -> Parsed {
    let raw = toml::from_str::<RawEvent>(&text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
        DataError {
            file: path.clone(),
            line,
            column,
            field: key_on_line(&text, line, e.message()).or_else(|| field_in_message(e.message())),
            message: e.message().trim().to_owned(),
        }
    });
    let mut errors = Vec::new();
    let (id, checked) = match raw {
        Ok(raw) => {
            let id = raw.id.get_ref().clone();
            let mut file = FileErrors {
                path: &path,
                text: &text,
                errors: &mut errors,
            };
            (Some(id), check_event(raw, &mut file))
        }
        Err(e) => {
            errors.push(e);
            (None, None)
        }
    };
    Parsed {
        path,
        text,
        id,
        checked,
        errors,
    }
}

/// Gathers the checked files, then checks what only the whole store can show
/// (duplicate ids, shared aliases, dangling `related`). `errors` are the
/// shell's, from reading.
pub fn assemble(
    mut parsed: Vec<Parsed>,
    mut errors: Vec<DataError>,
) -> Result<EventStore, DataErrors> {
    // Every id that parsed, even in a file with other problems: one broken event
    // must not also report every `related` that points at it.
    let declared: FxHashSet<String> = parsed.iter_mut().filter_map(|p| p.id.take()).collect();
    let mut checked = Vec::with_capacity(parsed.len());
    for file in parsed {
        errors.extend(file.errors);
        if let Some(event) = file.checked {
            checked.push((file.path, file.text, event));
        }
    }
    check_across_files(&checked, &declared, &mut errors);
    if !errors.is_empty() {
        return Err(DataErrors(errors));
    }
    Ok(EventStore::index(
        checked.into_iter().map(|(_, _, c)| c.event).collect(),
    ))
}

/// Errors found in one file, placed by span.
struct FileErrors<'a> {
    path: &'a PathBuf,
    text: &'a str,
    errors: &'a mut Vec<DataError>,
}

impl FileErrors<'_> {
    fn at(&mut self, span: std::ops::Range<usize>, field: &str, message: String) {
        let (line, column) = line_col(self.text, span.start);
        self.errors.push(DataError {
            file: self.path.clone(),
            line,
            column,
            field: Some(field.into()),
            message,
        });
    }
}

/// An event that passed its own file's checks, with the names it claims.
struct Checked {
    event: Event,
    /// Each name it claims (aliases and title), with its key: normalized here,
    /// on the parsing threads (20,000 normalizations for 10,000 events).
    aliases: Vec<(Spanned<String>, String)>,
}

/// One file's checks; `None` when the id or the date is unusable.
fn check_event(raw: RawEvent, file: &mut FileErrors<'_>) -> Option<Checked> {
    let id = check_id(&raw, file);
    let date = parse_date(&raw.date)
        .map_err(|m| file.at(raw.date.span(), "date", m))
        .ok();
    let end = raw.end.as_ref().and_then(|end| {
        let stop = parse_date(end)
            .map_err(|m| file.at(end.span(), "end", m))
            .ok()?;
        match date {
            Some(start) if stop < start => {
                file.at(
                    end.span(),
                    "end",
                    format!("{stop} is before the start date {start}"),
                );
                None
            }
            _ => Some(stop),
        }
    });
    check_texts(&raw, file);
    check_sources(&raw, file);
    check_figures(&raw, file);
    let coords = raw.coords.as_ref().and_then(|c| {
        let [lat, lon] = *c.get_ref();
        Coords::parse(lat, lon)
            .map_err(|m| file.at(c.span(), "coords", m))
            .ok()
    });
    let mut related = Vec::new();
    for r in &raw.related {
        match EventId::parse(r.get_ref()) {
            Ok(rid) => related.push(rid),
            Err(m) => file.at(r.span(), "related", m),
        }
    }
    let (id, date) = (id?, date?);
    let claimed = raw.aliases.iter().chain(std::iter::once(&raw.title_ar));
    let aliases = claimed
        .map(|a| (a.clone(), arabic::normalize(a.get_ref())))
        .collect();
    let trimmed = |s: String| s.trim().to_owned();
    let event = Event {
        id,
        kind: raw.kind,
        theatre: raw.theatre,
        coords,
        title_ar: trimmed(raw.title_ar.into_inner()),
        title_en: trimmed(raw.title_en),
        aliases: raw
            .aliases
            .into_iter()
            .map(|a| trimmed(a.into_inner()))
            .collect(),
        date,
        end,
        place_ar: raw.place_ar,
        summary_ar: trimmed(raw.summary_ar.into_inner()),
        note_ar: raw.note_ar.map(trimmed).filter(|n| !n.is_empty()),
        facts: raw.facts,
        related,
        sources: raw.sources.into_iter().map(Spanned::into_inner).collect(),
    };
    Some(Checked { event, aliases })
}

fn check_id(raw: &RawEvent, file: &mut FileErrors<'_>) -> Option<EventId> {
    match EventId::parse(raw.id.get_ref()) {
        Ok(id) => {
            let stem = file
                .path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if id.as_str() != stem {
                let why = format!("`{id}` differs from the file name `{stem}.toml`");
                file.at(raw.id.span(), "id", why);
            }
            Some(id)
        }
        Err(m) => {
            file.at(raw.id.span(), "id", m);
            None
        }
    }
}

fn check_texts(raw: &RawEvent, file: &mut FileErrors<'_>) {
    let summary = raw.summary_ar.get_ref();
    if summary.trim().is_empty() {
        file.at(raw.summary_ar.span(), "summary_ar", "is empty".into());
    } else if !arabic::has_arabic_letter(summary) {
        file.at(
            raw.summary_ar.span(),
            "summary_ar",
            "has no Arabic letters".into(),
        );
    } else if summary.encode_utf16().count() > SUMMARY_LIMIT {
        let why = format!(
            "is {} UTF-16 units long; at most {SUMMARY_LIMIT}, so the event fits in one Telegram message",
            summary.encode_utf16().count()
        );
        file.at(raw.summary_ar.span(), "summary_ar", why);
    }
    if !arabic::has_arabic_letter(raw.title_ar.get_ref()) {
        file.at(
            raw.title_ar.span(),
            "title_ar",
            "has no Arabic letters".into(),
        );
    }
}

fn check_sources(raw: &RawEvent, file: &mut FileErrors<'_>) {
    if !raw.sources.iter().any(|s| s.get_ref().url.is_some()) {
        let why = "every event needs at least one [[sources]] entry with a url".into();
        file.at(raw.id.span(), "sources", why);
    }
    for source in &raw.sources {
        if source.get_ref().title.trim().is_empty() {
            file.at(source.span(), "sources.title", "is empty".into());
        }
        if let Some(url) = &source.get_ref().url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            file.at(
                source.span(),
                "sources.url",
                format!("`{url}` is not an http(s) address"),
            );
        }
    }
}

fn check_figures(raw: &RawEvent, file: &mut FileErrors<'_>) {
    for figure in &raw.facts.figures {
        // Figures carry no span of their own: point at their label.
        let at = file
            .text
            .find(figure.label.as_str())
            .filter(|_| !figure.label.is_empty());
        let span = at.map_or_else(|| raw.id.span(), |at| at..at);
        if figure.label.trim().is_empty() || figure.value.trim().is_empty() {
            file.at(
                span,
                "facts.figures",
                "a figure needs a label and a value".into(),
            );
        } else if figure.keywords.iter().all(|k| k.trim().is_empty()) {
            let why = format!(
                "«{}» has no keywords: a question could never reach it",
                figure.label
            );
            file.at(span, "facts.figures.keywords", why);
        }
    }
}

/// Duplicate ids, an alias claimed by two events, `related` naming no event.
fn check_across_files(
    checked: &[(PathBuf, String, Checked)],
    declared: &FxHashSet<String>,
    errors: &mut Vec<DataError>,
) {
    let mut by_id: FxHashMap<&EventId, &PathBuf> = FxHashMap::default();
    let mut alias_owner: FxHashMap<&str, &EventId> = FxHashMap::default();
    for (path, text, c) in checked {
        let mut file = FileErrors { path, text, errors };
        let id = &c.event.id;
        if let Some(first) = by_id.get(id) {
            let why = format!("`{id}` is already used by {}", first.display());
            file.at(0..0, "id", why);
            continue;
        }
        by_id.insert(id, path);
        for (alias, key) in &c.aliases {
            let key = key.as_str();
            match alias_owner.get(key) {
                _ if key.is_empty() => {}
                Some(owner) if *owner != id => {
                    let why = format!("«{}» is also claimed by event `{owner}`", alias.get_ref());
                    file.at(alias.span(), "aliases", why);
                }
                _ => {
                    alias_owner.insert(key, id);
                }
            }
        }
        for rid in &c.event.related {
            let why = if rid == id {
                "an event cannot relate to itself"
            } else if !declared.contains(rid.as_str()) {
                "no event has this id"
            } else {
                continue;
            };
            let at = text.find(&format!("\"{rid}\"")).unwrap_or(0);
            file.at(at..at, "related", format!("`{rid}`: {why}"));
        }
    }
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

/// The key written on the error's line, for messages about a value that do not
/// name their field («unknown variant `mars`» on `theatre = "mars"`).
fn key_on_line(text: &str, line: usize, message: &str) -> Option<String> {
    if !(message.contains("unknown variant") || message.contains("invalid type")) {
        return None;
    }
    let key = text
        .lines()
        .nth(line.checked_sub(1)?)?
        .split_once('=')?
        .0
        .trim();
    let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    plain.then(|| key.to_owned())
}

/// The field a serde message is about: "missing field `date`", "unknown field `foo`".
fn field_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let name = &message[start..start + len];
    (message.contains("field") || message.contains("variant")).then(|| name.to_owned())
}
