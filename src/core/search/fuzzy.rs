//! Typo tolerance: a deletion index (SymSpell's idea) so that a word within
//! Damerau–Levenshtein distance 1 (5+ letters) or 2 (8+) of an index word is found
//! with a few lookups rather than a scan. Numbers and months are never matched.
//!
//! The index keeps a 64-bit hash of each deletion, not the string: a map of
//! strings was ~40,000 allocations for the shipped names and most of the index's
//! memory. A hash collision can only add a candidate, and every candidate is
//! checked by its distance, so the answers are those of the strings.

use std::hash::{DefaultHasher, Hasher};

use crate::core::search::lexicon::is_month;

pub type TokenId = u32;

/// (hash of a deletion, index word) pairs, sorted.
#[derive(Debug, Default)]
pub struct Deletions(Vec<(u64, TokenId)>);

/// Every index word (of 4+ letters, not a number or a month) under each string
/// made by deleting up to one letter of it, or two from 6 letters.
pub fn build_deletions(words: &[String]) -> Deletions {
    // Reserved whole (an upper bound: short words have fewer): no copy while
    // it grows, and no freed half-size buffers left in the thread's arena.
    let count = |n: usize| 1 + n + if n >= 6 { n * (n - 1) / 2 } else { 0 };
    let mut pairs = Vec::with_capacity(words.iter().map(|w| count(w.chars().count())).sum());
    let mut chars = Vec::new();
    for (id, w) in words.iter().enumerate() {
        chars.clear();
        chars.extend(w.chars());
        let len = chars.len();
        if len < 4 || chars.iter().any(char::is_ascii_digit) || is_month(w) {
            continue;
        }
        let max = if len >= 6 { 2 } else { 1 };
        for_each_deletion(&chars, max, |h| pairs.push((h, id as TokenId)));
    }
    pairs.sort_unstable();
    pairs.dedup();
    Deletions(pairs)
}

/// The hash of `chars` itself and of every string made by deleting up to `max`
/// (1 or 2) of its letters; a string may come more than once.
fn for_each_deletion(chars: &[char], max: usize, mut f: impl FnMut(u64)) {
    let n = chars.len();
    f(hash_without(chars, n, n));
    for i in 0..n {
        f(hash_without(chars, i, n));
        if max >= 2 {
            for j in i + 1..n {
                f(hash_without(chars, i, j));
            }
        }
    }
}

/// The hash of `chars` less the letters at `i` and `j` (an index past the end
/// deletes nothing).
fn hash_without(chars: &[char], i: usize, j: usize) -> u64 {
    let mut h = DefaultHasher::new();
    for (k, c) in chars.iter().enumerate() {
        if k != i && k != j {
            h.write_u32(*c as u32);
        }
    }
    h.finish()
}

/// The index word nearest to `w` within the allowed distance, if any.
pub fn nearest(deletions: &Deletions, words: &[String], w: &str) -> Option<TokenId> {
    let chars: Vec<char> = w.chars().collect();
    let max = match chars.len() {
        0..=4 => return None,
        5..=7 => 1,
        _ => 2,
    };
    if chars.iter().any(char::is_ascii_digit) || is_month(w) {
        return None;
    }
    let pairs = &deletions.0;
    let mut best: Option<(usize, TokenId)> = None;
    for_each_deletion(&chars, max, |h| {
        let from = pairs.partition_point(|&(k, _)| k < h);
        for &(_, id) in pairs[from..].iter().take_while(|&&(k, _)| k == h) {
            let d = strsim::damerau_levenshtein(w, &words[id as usize]);
            if d <= max && best.is_none_or(|(bd, bid)| (d, id) < (bd, bid)) {
                best = Some((d, id));
            }
        }
    });
    best.map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    /// The index of strings this one replaced, kept to compare answers.
    fn by_strings(words: &[String], w: &str) -> Option<TokenId> {
        fn variants(word: &str, max: usize) -> HashSet<String> {
            let mut out = HashSet::from([word.to_owned()]);
            let mut frontier = vec![word.to_owned()];
            for _ in 0..max {
                let mut next = Vec::new();
                for w in &frontier {
                    let chars: Vec<char> = w.chars().collect();
                    for i in 0..chars.len() {
                        let mut v = chars.clone();
                        v.remove(i);
                        let v: String = v.into_iter().collect();
                        if out.insert(v.clone()) {
                            next.push(v);
                        }
                    }
                }
                frontier = next;
            }
            out
        }
        let mut index: HashMap<String, Vec<TokenId>> = HashMap::new();
        for (id, word) in words.iter().enumerate() {
            let len = word.chars().count();
            if len < 4 || word.chars().any(|c| c.is_ascii_digit()) || is_month(word) {
                continue;
            }
            for v in variants(word, if len >= 6 { 2 } else { 1 }) {
                index.entry(v).or_default().push(id as TokenId);
            }
        }
        let max = match w.chars().count() {
            0..=4 => return None,
            5..=7 => 1,
            _ => 2,
        };
        if w.chars().any(|c| c.is_ascii_digit()) || is_month(w) {
            return None;
        }
        let mut best: Option<(usize, TokenId)> = None;
        for v in variants(w, max) {
            for &id in index.get(&v).into_iter().flatten() {
                let d = strsim::damerau_levenshtein(w, &words[id as usize]);
                if d <= max && best.is_none_or(|(bd, bid)| (d, id) < (bd, bid)) {
                    best = Some((d, id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    #[test]
    fn hashed_deletions_answer_as_strings_did() {
        let words: Vec<String> = [
            "كاسينو",
            "مونتي",
            "فلورنسا",
            "ساليرنو",
            "القوطي",
            "العلمين",
            "طبرق",
            "روما",
            "ancona",
            "anzio",
            "1944",
            "يونيو",
        ]
        .map(str::to_owned)
        .to_vec();
        let deletions = build_deletions(&words);
        let mut queries = vec![
            "كاسيني".to_owned(),
            "فلورنسي".to_owned(),
            "انزيو".to_owned(),
        ];
        for w in &words {
            let chars: Vec<char> = w.chars().collect();
            for i in 0..chars.len() {
                let mut cut = chars.clone();
                cut.remove(i);
                queries.push(cut.iter().collect());
                let mut swapped = chars.clone();
                swapped.swap(i, (i + 1) % chars.len());
                queries.push(swapped.iter().collect());
                let mut more = chars.clone();
                more.insert(i, 'ي');
                queries.push(more.iter().collect());
                let mut other = chars.clone();
                other[i] = 'ا';
                queries.push(other.iter().collect());
            }
        }
        for q in &queries {
            assert_eq!(nearest(&deletions, &words, q), by_strings(&words, q), "{q}");
        }
    }
}
