//! 64-bit fingerprints of words, for the index's sets that would otherwise keep
//! a `String` per word: a fingerprint is 8 bytes where a boxed word in a hash
//! set was ~60 with its allocation and its share of the table.
//!
//! SipHash with fixed keys (`DefaultHasher::new`), so a word has the same
//! fingerprint in every run. Two words share one with a chance of about one in
//! 2^64 per pair; each use says what a collision would do.

use std::hash::{DefaultHasher, Hasher};

pub(super) fn fingerprint(word: &str) -> u64 {
    let mut h = DefaultHasher::new();
    h.write(word.as_bytes());
    h.finish()
}

/// A set of words as their fingerprints, sorted.
#[derive(Debug, Default)]
pub(super) struct Fingerprints(Vec<u64>);

impl Fingerprints {
    pub(super) fn contains(&self, word: &str) -> bool {
        self.0.binary_search(&fingerprint(word)).is_ok()
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

impl<'a> FromIterator<&'a str> for Fingerprints {
    fn from_iter<I: IntoIterator<Item = &'a str>>(words: I) -> Self {
        let mut prints: Vec<u64> = words.into_iter().map(fingerprint).collect();
        prints.sort_unstable();
        prints.dedup();
        prints.shrink_to_fit();
        Self(prints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_holds_its_words_and_no_other() {
        let set: Fingerprints = ["روما", "القوطي", "روما", "Gothic"].into_iter().collect();
        assert_eq!(set.len(), 3);
        assert!(set.contains("روما") && set.contains("القوطي") && set.contains("Gothic"));
        assert!(!set.contains("روم") && !set.contains("") && !set.contains("gothic"));
    }
}
