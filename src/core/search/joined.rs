//! Names run together: two or three adjacent tokens of a name written as one
//! word («مونتيكاسينو», «الدارالبيضاء» or «داربيضاء»), found by the word they make.
//!
//! Each run is kept under the fingerprint of its word, not the word: the map of
//! strings to token lists it replaces held 1.75 MB at the heap's peak for the
//! shipped 338 events (heaptrack), two allocations per key. A hit is checked by
//! spelling the run again, so a collision can only make a word miss.

use crate::core::search::fingerprint::fingerprint;
use crate::core::search::fuzzy::TokenId;
use crate::core::search::lexicon::canonical;

/// Runs sorted by their word's fingerprint; among runs making the same word,
/// the first name's comes first and is the one found.
#[derive(Debug, Default)]
pub(super) struct Joined(Vec<(u64, Run)>);

/// Adjacent tokens of one name, and how their word is spelled.
#[derive(Debug, Clone, Copy)]
struct Run {
    tokens: [TokenId; 3],
    len: u8,
    /// Which tokens carry their article (bit i: token i) in the word as the name
    /// writes it; `None`: the bare word, no article at all.
    articles: Option<u8>,
}

impl Joined {
    /// `names`: every name's tokens; `articles`: for each of their tokens in
    /// order, whether the name wrote it with the article; `words`: the tokens.
    pub(super) fn build<'a>(
        names: impl Iterator<Item = &'a [TokenId]> + Clone,
        articles: &[bool],
        words: &[String],
    ) -> Self {
        // An upper bound (two spellings of every run), so the list never grows.
        let windows = |l: usize| l.saturating_sub(1) + l.saturating_sub(2);
        let mut runs = Vec::with_capacity(names.clone().map(|t| 2 * windows(t.len())).sum());
        let mut articles = articles;
        let (mut written, mut bare) = (String::new(), String::new());
        for tokens in names {
            let (these, rest) = articles.split_at(tokens.len());
            articles = rest;
            for n in 2..=3 {
                for (ts, arts) in tokens.windows(n).zip(these.windows(n)) {
                    let mut run = Run {
                        tokens: [0; 3],
                        len: n as u8,
                        articles: Some(arts.iter().rev().fold(0, |m, &a| m << 1 | u8::from(a))),
                    };
                    run.tokens[..n].copy_from_slice(ts);
                    // As written (the articles after its first word kept), then
                    // bare; most names have no article, and then both are one.
                    let as_written = run.spell(words, &mut written);
                    runs.push((fingerprint(as_written), run));
                    run.articles = None;
                    let as_bare = run.spell(words, &mut bare);
                    if as_bare != as_written {
                        runs.push((fingerprint(as_bare), run));
                    }
                }
            }
        }
        // Stable: the first name to make a word keeps it.
        runs.sort_by_key(|&(print, _)| print);
        runs.dedup_by_key(|&mut (print, _)| print);
        runs.shrink_to_fit();
        Self(runs)
    }

    /// The tokens whose run makes `word` (a query word, article folded away).
    pub(super) fn find(&self, words: &[String], word: &str) -> Option<&[TokenId]> {
        let print = fingerprint(word);
        let from = self.0.partition_point(|&(p, _)| p < print);
        let mut spelled = String::new();
        self.0[from..]
            .iter()
            .take_while(|&&(p, _)| p == print)
            .find(|(_, run)| run.spell(words, &mut spelled) == word)
            .map(|(_, run)| &run.tokens[..usize::from(run.len)])
    }
}

impl Run {
    /// The word this run makes, looked up as a query word is: written with its
    /// articles and the leading one folded away, or bare.
    fn spell<'s>(&self, words: &[String], out: &'s mut String) -> &'s str {
        out.clear();
        for (i, &t) in self.tokens[..usize::from(self.len)].iter().enumerate() {
            if self.articles.is_some_and(|m| m >> i & 1 == 1) {
                out.push_str("ال");
            }
            out.push_str(&words[t as usize]);
        }
        match self.articles {
            Some(_) => canonical(out),
            None => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        ["دار", "بيضاء", "مونتي", "كاسينو", "مونتيك", "اسينو"]
            .map(String::from)
            .to_vec()
    }

    fn joined() -> Joined {
        // «الدار البيضاء», «مونتي كاسينو», then a later name that runs together
        // into the same word as the second.
        let names: [&[TokenId]; 3] = [&[0, 1], &[2, 3], &[4, 5]];
        let articles = [true, true, false, false, false, false];
        Joined::build(names.into_iter(), &articles, &words())
    }

    #[test]
    fn a_run_is_found_written_or_bare() {
        let (j, w) = (joined(), words());
        // A query word is looked up with its leading article folded away.
        assert_eq!(j.find(&w, canonical("الدارالبيضاء")), Some(&[0, 1][..]));
        assert_eq!(j.find(&w, "داربيضاء"), Some(&[0, 1][..]));
        assert_eq!(j.find(&w, "مونتيكاسين"), None);
        assert_eq!(j.find(&w, "كاسينومونتي"), None);
    }

    #[test]
    fn the_first_name_to_make_a_word_keeps_it() {
        assert_eq!(joined().find(&words(), "مونتيكاسينو"), Some(&[2, 3][..]));
    }
}
