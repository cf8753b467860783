//! Typo tolerance: a deletion index (SymSpell's idea) so that a word within
//! Damerau–Levenshtein distance 1 (5+ letters) or 2 (8+) of an index word is found
//! with a few lookups rather than a scan. Numbers and months are never matched.

use std::collections::{HashMap, HashSet};

use crate::core::search::lexicon::is_month;

pub type TokenId = u32;

pub type Deletions = HashMap<String, Vec<TokenId>>;

/// Every index word (of 4+ letters, not a number or a month) under each string
/// made by deleting up to one letter of it, or two from 6 letters.
pub fn build_deletions(words: &[String]) -> Deletions {
    let mut deletions = Deletions::new();
    for (id, w) in words.iter().enumerate() {
        let len = w.chars().count();
        if len < 4 || w.chars().any(|c| c.is_ascii_digit()) || is_month(w) {
            continue;
        }
        for variant in deletion_variants(w, if len >= 6 { 2 } else { 1 }) {
            let ids = deletions.entry(variant).or_default();
            if ids.last() != Some(&(id as TokenId)) {
                ids.push(id as TokenId);
            }
        }
    }
    deletions
}

/// `word` itself and every string made by deleting up to `max` of its letters.
pub fn deletion_variants(word: &str, max: usize) -> HashSet<String> {
    let mut out: HashSet<String> = HashSet::from([word.to_owned()]);
    let mut frontier = vec![word.to_owned()];
    for _ in 0..max {
        let mut next = Vec::new();
        for w in &frontier {
            let chars: Vec<char> = w.chars().collect();
            for i in 0..chars.len() {
                let v: String = chars
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, c)| c)
                    .collect();
                if out.insert(v.clone()) {
                    next.push(v);
                }
            }
        }
        frontier = next;
    }
    out
}

/// The index word nearest to `w` within the allowed distance, if any.
pub fn nearest(deletions: &Deletions, words: &[String], w: &str) -> Option<TokenId> {
    let max = match w.chars().count() {
        0..=4 => return None,
        5..=7 => 1,
        _ => 2,
    };
    if w.chars().any(|c| c.is_ascii_digit()) || is_month(w) {
        return None;
    }
    let mut best: Option<(usize, TokenId)> = None;
    for variant in deletion_variants(w, max) {
        for &id in deletions.get(&variant).into_iter().flatten() {
            let d = strsim::damerau_levenshtein(w, &words[id as usize]);
            if d <= max && best.is_none_or(|(bd, bid)| (d, id) < (bd, bid)) {
                best = Some((d, id));
            }
        }
    }
    best.map(|(_, id)| id)
}
