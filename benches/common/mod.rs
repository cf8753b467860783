//! Synthetic events shared by the benches: deterministic names, valid files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use dhikra::core::catalog::EventStore;

const SYLLABLES: &[&str] = &[
    "كا", "سي", "نو", "مو", "تي", "رو", "ما", "لي", "بو", "نا", "دي", "فر", "زا", "غو", "تا", "ري",
    "سا", "لو",
];

/// A deterministic pseudo-random name from `n` (no RNG: the same store every run).
pub fn name(n: usize) -> String {
    let mut x = n.wrapping_mul(2654435761) ^ 0x9e37;
    let mut word = || {
        let mut w = String::new();
        for _ in 0..3 {
            w.push_str(SYLLABLES[x % SYLLABLES.len()]);
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407)
                >> 7;
        }
        w
    };
    format!("{} {}", word(), word())
}

pub fn synthetic_files(n: usize) -> Vec<(PathBuf, String)> {
    (0..n)
        .map(|i| {
            let date = NaiveDate::from_ymd_opt(1900 + (i % 120) as i32, 1, 1).unwrap() + chrono::Duration::days((i * 7 % 365) as i64);
            let text = format!(
                "id = \"e{i}\"\nkind = \"battle\"\ntheatre = \"italy\"\ntitle_ar = \"معركة {name} رقم {i}\"\ntitle_en = \"Battle {i}\"\naliases = [\"{name} {i}\"]\ndate = \"{date}\"\nsummary_ar = \"وقعت معركة {name} في هذا اليوم.\"\n[[facts.figures]]\nlabel = \"القتلى\"\nvalue = \"{i}\"\nkeywords = [\"قتلى\"]\n[[sources]]\ntitle = \"Synthetic\"\nurl = \"https://example.org/e{i}\"\n",
                name = name(i)
            );
            (PathBuf::from(format!("events/e{i}.toml")), text)
        })
        .collect()
}

pub fn synthetic_store(n: usize) -> EventStore {
    EventStore::from_files(synthetic_files(n)).expect("synthetic store is valid")
}

/// Writes `n` synthetic event files under `dir/events`.
pub fn write_synthetic_data(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("events")).expect("events dir");
    for (path, text) in synthetic_files(n) {
        std::fs::write(dir.join(path), text).expect("write event");
    }
}
