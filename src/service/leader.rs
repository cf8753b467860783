//! Who sends: exactly one process per database leads — polls updates, runs the
//! tick and sends — so two `dhikra run` never poll beside each other (Telegram
//! answers 409) nor pace themselves apart (its 30 msg/s is per bot). Any other
//! `dhikra run` stands by and takes over when the leader stops or dies.
//!
//! On SQLite the lead is an OS file lock (`flock`) on `<database>.lock`: the
//! kernel releases it when its process ends, `kill -9` included, so a standby
//! takes over within one `RETRY`. The file also says who holds it (`run` or
//! `post` and the pid), so `dhikra post` can hand its work to a running leader.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::shutdown::Shutdown;

/// How often a standby tries to take the lead.
pub const RETRY: Duration = Duration::from_secs(2);

/// The kind of process holding the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Run,
    Post,
}

impl Holder {
    fn as_str(self) -> &'static str {
        match self {
            Holder::Run => "run",
            Holder::Post => "post",
        }
    }
}

/// The lead, held until dropped or until the process ends.
#[derive(Debug)]
pub struct Lead {
    _file: File,
    /// Another process held it first: Telegram may still count its last second.
    pub took_over: bool,
}

/// `dhikra.db` → `dhikra.db.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push(".lock");
    PathBuf::from(path)
}

fn open(database: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .write(true)
        .truncate(false)
        .open(lock_path(database))
}

/// Takes the lead if no process holds it.
pub fn try_lead(database: &Path, holder: Holder) -> io::Result<Option<Lead>> {
    let mut file = open(database)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)?;
            file.rewind()?;
            writeln!(file, "{} {}", holder.as_str(), std::process::id())?;
            Ok(Some(Lead {
                _file: file,
                took_over: false,
            }))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Who holds the lead, as the holder wrote it; `None` when no one does.
pub fn holder(database: &Path) -> io::Result<Option<(Holder, u32)>> {
    let mut file = open(database)?;
    if file.try_lock().is_ok() {
        return Ok(None); // Free (the lock goes with `file`).
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let mut words = text.split_whitespace();
    let holder = match words.next() {
        Some("run") => Holder::Run,
        Some("post") => Holder::Post,
        _ => return Ok(None),
    };
    Ok(words
        .next()
        .and_then(|p| p.parse().ok())
        .map(|pid| (holder, pid)))
}

/// Waits for the lead, trying every `RETRY`; `None` when `shutdown` fires first.
/// `on_standby` is called once, when the first try finds the lead taken.
pub async fn wait_for_lead(
    database: &Path,
    holder: Holder,
    shutdown: &Shutdown,
    on_standby: impl FnOnce(),
) -> io::Result<Option<Lead>> {
    let mut on_standby = Some(on_standby);
    loop {
        if let Some(lead) = try_lead(database, holder)? {
            let took_over = on_standby.is_none();
            return Ok(Some(Lead { took_over, ..lead }));
        }
        if let Some(f) = on_standby.take() {
            f();
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = shutdown.wait() => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lead_per_database_and_it_says_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("d.db");
        let lead = try_lead(&db, Holder::Run).unwrap().expect("free at first");
        assert!(try_lead(&db, Holder::Run).unwrap().is_none(), "held");
        assert_eq!(
            holder(&db).unwrap(),
            Some((Holder::Run, std::process::id()))
        );
        drop(lead);
        assert_eq!(holder(&db).unwrap(), None);
        assert!(try_lead(&db, Holder::Post).unwrap().is_some(), "free again");
    }
}
