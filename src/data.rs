//! `data/events` on disk: read every file (on every core: TOML parsing is most of
//! a large store's load time), validate through `core::catalog`, and hold the
//! result as the catalog the running bot shares, swapped whole on reload. A reload
//! that fails keeps the last good data.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::core::catalog::EventStore;
use crate::core::catalog::validate::{self, DataError, DataErrors};
use crate::core::search::{Catalog, SearchIndex};

/// The events and their index as the running bot sees them: swapped whole on reload.
pub type SharedCatalog = Arc<RwLock<Arc<Catalog>>>;

pub fn shared(store: EventStore) -> SharedCatalog {
    share(catalog(store))
}

pub fn share(catalog: Catalog) -> SharedCatalog {
    Arc::new(RwLock::new(Arc::new(catalog)))
}

/// The catalog of `store`, its fuzzy index building on a background thread.
pub fn catalog(store: EventStore) -> Catalog {
    warmed(Catalog::new(store))
}

/// Loads `dir` as `load` does, and its catalog: the day-length check runs on a
/// second thread beside the search index (both only read the store), which
/// takes the longest part of a large store's start-up off the critical path.
pub fn load_catalog(dir: &Path) -> Result<Catalog, DataErrors> {
    let store = parse(dir)?;
    let events_dir = dir.join("events");
    let (checked, index) = std::thread::scope(|scope| {
        let check = scope.spawn(|| check_days(&store, &events_dir));
        let index = SearchIndex::build(&store);
        let checked = check
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (checked, index)
    });
    checked?;
    Ok(warmed(Catalog { store, index }))
}

/// Starts building `catalog`'s fuzzy index on a background thread.
fn warmed(catalog: Catalog) -> Catalog {
    let warm_up = catalog.index.fuzzy_warm_up();
    if let Err(e) = std::thread::Builder::new()
        .name("fuzzy-index".into())
        .spawn(warm_up)
    {
        // No thread to spare: the first typo builds it instead.
        tracing::debug!(error = %e, "fuzzy index built on first use");
    }
    catalog
}

pub fn current(catalog: &SharedCatalog) -> Arc<Catalog> {
    catalog
        .read()
        .map(|c| Arc::clone(&c))
        .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
}

/// Reads and validates every `*.toml` under `<dir>/events`.
pub fn load(dir: &Path) -> Result<EventStore, DataErrors> {
    let store = parse(dir)?;
    check_days(&store, &dir.join("events"))?;
    Ok(store)
}

/// Every event file of `dir`, parsed and validated together (all but the day-length check).
fn parse(dir: &Path) -> Result<EventStore, DataErrors> {
    let events_dir = dir.join("events");
    let unreadable = |file: PathBuf, message: String| DataError {
        file,
        line: 0,
        column: 0,
        field: None,
        message,
    };
    let entries = std::fs::read_dir(&events_dir).map_err(|e| {
        let why = format!("cannot read the events folder: {e}");
        DataErrors(vec![unreadable(events_dir.clone(), why)])
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        let why = "no event files (*.toml) found".to_owned();
        return Err(DataErrors(vec![unreadable(events_dir, why)]));
    }
    let mut errors = Vec::new();
    let parsed = parallel_map(paths, |path| match std::fs::read_to_string(&path) {
        Ok(text) => Ok(validate::parse_file(path, text)),
        Err(e) => Err(unreadable(path, format!("cannot read: {e}"))),
    })
    .into_iter()
    .filter_map(|r| r.map_err(|e| errors.push(e)).ok())
    .collect();
    validate::assemble(parsed, errors)
}

/// The most messages a day's post may take. Each event fits one message
/// (`validate::SUMMARY_LIMIT`), and the busiest shipped day takes two; a day
/// past four is an editing mistake, not a post (a channel's readers see four
/// messages at once at most on a phone screen).
pub const MAX_DAY_MESSAGES: usize = 4;

/// Every day's post, drawn, within `MAX_DAY_MESSAGES`: the error names the day
/// and each of its files.
fn check_days(store: &EventStore, events_dir: &Path) -> Result<(), DataErrors> {
    use crate::core::render::{self, Layout};
    // Counted as sent: folded, with deep links under the longest username
    // Telegram allows (32 characters), so no bot's links push a day over.
    let layout = Layout {
        bot: Some("x_longest_possible_bot_username_"),
        fold: true,
        ..Layout::default()
    };
    let mut errors = Vec::new();
    for day in store.days_covered() {
        let events = store.on_month_day(day);
        let parts = render::post(&events, store, layout).len();
        if parts > MAX_DAY_MESSAGES {
            for e in &events {
                errors.push(DataError {
                    file: events_dir.join(format!("{}.toml", e.id)),
                    line: 1,
                    column: 1,
                    field: Some("summary_ar".into()),
                    message: format!(
                        "the post of {day} takes {parts} messages, more than {MAX_DAY_MESSAGES}: shorten its events or move one"
                    ),
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DataErrors(errors))
    }
}

/// Loads `dir` and swaps it into `catalog`; on any error `catalog` keeps what it had.
pub fn reload(shared: &SharedCatalog, dir: &Path) -> Result<Arc<Catalog>, DataErrors> {
    let fresh = Arc::new(load_catalog(dir)?);
    *shared.write().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&fresh);
    Ok(fresh)
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
