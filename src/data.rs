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
pub type SharedCatalog = Arc<RwLock<Loaded>>;

/// One load of the data: the catalog and its [`version`].
#[derive(Clone)]
pub struct Loaded {
    catalog: Arc<Catalog>,
    version: String,
}

impl Loaded {
    /// The events loaded, with their search index.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}

pub fn shared(store: EventStore) -> SharedCatalog {
    let version = version_of(&store);
    share(Loaded {
        catalog: catalog(store),
        version,
    })
}

pub fn share(loaded: Loaded) -> SharedCatalog {
    Arc::new(RwLock::new(loaded))
}

/// A short hash of the events as loaded (every field of every event, in
/// order): replicas serving the same data show the same version in `/status`,
/// and a reload that changed anything shows a new one. FNV-1a, written out
/// because std's hasher may change between Rust releases; fed by the events'
/// `Hash`, not their `Debug` text, whose escaping of every Arabic letter was a
/// tenth of a 10,000-event start-up's CPU (perf).
fn version_of(store: &EventStore) -> String {
    use std::hash::{Hash, Hasher};
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        fn finish(&self) -> u64 {
            self.0
        }
    }
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    store.all().hash(&mut hash);
    format!("{:012x}", hash.finish() >> 16)
}

/// The catalog of `store`, what its index leaves off the start path building
/// on a background thread.
pub fn catalog(store: EventStore) -> Arc<Catalog> {
    warmed(Catalog::new(store))
}

/// Loads `dir` as `load` does, and its catalog: the day-length check and the
/// version's hash each run on a thread of their own beside the search index
/// (all three only read the store), which takes the longest part of a large
/// store's start-up off the critical path: with 10,000 events the day check
/// is the longest of the three (696 million instructions to the index's 431,
/// callgrind), and before the hash read `Hash` output it took half as long (perf).
pub fn load_catalog(dir: &Path) -> Result<Loaded, DataErrors> {
    let store = parse(dir)?;
    let events_dir = dir.join("events");
    let ((checked, version), index) = std::thread::scope(|scope| {
        let check = scope.spawn(|| check_days(&store, &events_dir));
        let version = scope.spawn(|| version_of(&store));
        let index = SearchIndex::build(&store);
        let checked = check
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        let version = version
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        ((checked, version), index)
    });
    checked?;
    Ok(Loaded {
        catalog: warmed(Catalog { store, index }),
        version,
    })
}

/// Starts building what `catalog`'s index leaves off the start path
/// ([`SearchIndex::warm_up`]) on a background thread.
fn warmed(catalog: Catalog) -> Arc<Catalog> {
    let catalog = Arc::new(catalog);
    let warming = Arc::clone(&catalog);
    if let Err(e) = std::thread::Builder::new()
        .name("index-warm-up".into())
        .spawn(move || warming.index.warm_up())
    {
        // No thread to spare: the first question needing them builds them.
        tracing::debug!(error = %e, "index parts built on first use");
    }
    catalog
}

/// The catalog being served. Every answer asks: only the `Arc` is cloned, not
/// the whole [`Loaded`] (its version string too).
pub fn current(catalog: &SharedCatalog) -> Arc<Catalog> {
    let guard = catalog
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Arc::clone(&guard.catalog)
}

/// The version of the data being served (see [`version_of`]).
pub fn version(catalog: &SharedCatalog) -> String {
    loaded(catalog).version
}

fn loaded(catalog: &SharedCatalog) -> Loaded {
    catalog
        .read()
        .map(|c| c.clone())
        .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
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
    // All in one folder, so by name: the same order as `Path`'s, which compares
    // component by component (5 % of the main thread's start-up, 10,000 files).
    paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    if paths.is_empty() {
        let why = "no event files (*.toml) found".to_owned();
        return Err(DataErrors(vec![unreadable(events_dir, why)]));
    }
    let mut errors = Vec::new();
    let parsed = parallel_map(paths, |path| match read_text(&path) {
        Ok(text) => Ok(validate::parse_file(path, text)),
        Err(e) => Err(unreadable(path, format!("cannot read: {e}"))),
    })
    .into_iter()
    .filter_map(|r| r.map_err(|e| errors.push(e)).ok())
    .collect();
    validate::assemble(parsed, errors)
}

/// `std::fs::read_to_string` without its size probe: std asks each file's
/// length and position first (`statx`, `lseek`), two of its six system calls
/// per file; reading 10,000 event files took 155 ms of system calls on this
/// machine's kind, 42 % of them in those probes (strace). Through `Take`, std
/// reads without asking; an event file is a few KB, so the first read fills
/// the room given and one more finds the end (a zeroed 16 KB buffer per file
/// was 9 % of `dhikra validate`'s instructions on 10,000 files: callgrind).
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(8 * 1024);
    std::fs::File::open(path)?
        .take(u64::MAX)
        .read_to_end(&mut bytes)?;
    // The text lives as long as its parse: 10,000 files kept at 8 KB each held
    // 70 MB more after start-up (benches/service.rs).
    bytes.shrink_to_fit();
    // The same error as `read_to_string`'s.
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
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
    let fresh = load_catalog(dir)?;
    let catalog = Arc::clone(&fresh.catalog);
    *shared.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    Ok(catalog)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(summary: &str) -> String {
        format!(
            "id = \"anzio\"\nkind = \"battle\"\ntitle_ar = \"أنزيو\"\ntitle_en = \"Anzio\"\naliases = [\"أنزيو\"]\ndate = \"1944-01-22\"\nsummary_ar = \"{summary}\"\ntheatre = \"italy\"\n[[sources]]\ntitle = \"Reference\"\nurl = \"https://example.org/anzio\"\n"
        )
    }

    fn version_after(dir: &Path, summary: &str, shared: &SharedCatalog) -> String {
        std::fs::write(dir.join("events/anzio.toml"), event(summary)).unwrap();
        reload(shared, dir).unwrap();
        version(shared)
    }

    /// The same data gives the same version in every load (so on every
    /// replica); any change to an event gives another.
    #[test]
    fn the_data_version_follows_the_events() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("events")).unwrap();
        std::fs::write(dir.path().join("events/anzio.toml"), event("إنزال.")).unwrap();
        let shared = shared(load(dir.path()).unwrap());
        let first = version(&shared);
        assert_eq!(first.len(), 12, "{first}");
        assert_eq!(version_after(dir.path(), "إنزال.", &shared), first);
        assert_eq!(version(&super::shared(load(dir.path()).unwrap())), first);
        let changed = version_after(dir.path(), "إنزال الحلفاء.", &shared);
        assert_ne!(changed, first);
        // A failed reload keeps the version of the data still served.
        std::fs::write(dir.path().join("events/anzio.toml"), "id = ").unwrap();
        assert!(reload(&shared, dir.path()).is_err());
        assert_eq!(version(&shared), changed);
    }
}
