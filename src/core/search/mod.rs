//! Finding events from what people type: an inverted index over titles and
//! aliases, queried in tiers — exact words, words with a clitic stripped onto a
//! known word, then typo-tolerant (fuzzy) words, which can only ever produce a
//! «هل تقصد…؟», never a confident answer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use crate::arabic;
use crate::event::Event;
use crate::store::EventStore;

/// The store and its search index, built together and swapped together on reload.
#[derive(Debug, Default)]
pub struct Catalog {
    pub store: EventStore,
    pub index: SearchIndex,
}

impl Catalog {
    pub fn new(store: EventStore) -> Self {
        let index = SearchIndex::build(&store);
        Self { store, index }
    }
}

type TokenId = u32;

#[derive(Debug, Default)]
pub struct SearchIndex {
    vocab: HashMap<String, TokenId>,
    words: Vec<String>,
    idf: Vec<f32>,
    postings: Vec<Vec<u32>>,
    /// Each event's names as token sequences, and all its tokens.
    names: Vec<Vec<Vec<TokenId>>>,
    /// The fuzzy tier's index: every word with up to one (or, from 6 letters, two)
    /// letters deleted, and the words it came from. Two words within edit distance d
    /// share such a string, so a typo needs a few lookups rather than a scan.
    ///
    /// Built on a background thread at start-up (it is most of the index's cost);
    /// a typo arriving before it is ready waits for it.
    deletions: Arc<OnceLock<Deletions>>,
    /// Figure keywords and label words, with the events whose figures use them.
    figures: HashMap<String, Vec<u32>>,
    /// Words that belong to the subject (figure keywords, war vocabulary) without
    /// naming an event: they make a question on-topic but select nothing.
    domain: HashSet<String>,
}

/// How a query word was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Exact,
    Fuzzy,
}

/// The events a query names, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    pub hits: Vec<Hit>,
    /// Some word of the query named an event only through a typo.
    pub fuzzy: bool,
    /// The query read as being about the war (a name, or the subject's vocabulary).
    pub on_topic: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into `EventStore::all()`.
    pub event: usize,
    pub score: f32,
    /// Found through exact (or clitic-stripped) words only.
    pub exact: bool,
}

/// Question words and function words: never part of a name.
const STOPWORDS: &[&str] = &[
    // Question words, standard and dialect.
    "متي",
    "امتي",
    "ايمتي",
    "ايمته",
    "امته",
    "كم",
    "قديش",
    "اديش",
    "كام",
    "اين",
    "وين",
    "فين",
    "فاين",
    "من",
    "مين",
    "منو",
    "شكون",
    "ما",
    "ماذا",
    "لماذا",
    "ليش",
    "ليه",
    "علاش",
    "شو",
    "ايش",
    "وش",
    "واش",
    "شنو",
    "شنهو",
    "ماهو",
    "ماهي",
    "هل",
    "كيف",
    "كيفاش",
    "لم",
    "اي",
    "ايه",
    // Function words.
    "هو",
    "هي",
    "هم",
    "في",
    "فى",
    "علي",
    "الي",
    "عن",
    "مع",
    "او",
    "ثم",
    "قد",
    "لقد",
    "تم",
    "كان",
    "كانت",
    "يا",
    "لي",
    "هذا",
    "هذه",
    "ذلك",
    "تلك",
    "التي",
    "الذي",
    "الذين",
    "عام",
    "سنه",
    "شهر",
    "عدد",
    "كل",
    "بعد",
    "قبل",
    "حول",
    "بين",
    "يوم",
    "اليوم",
    "الان",
    "اخبرني",
    "احكي",
    "احكيلي",
    "قل",
    "قولي",
    "ممكن",
    "اريد",
    "اعرف",
    "معلومات",
    "عندي",
    "سؤال",
    "لو",
    "سمحت",
    "فضلك",
    // English.
    "the",
    "of",
    "in",
    "on",
    "at",
    "a",
    "an",
    "when",
    "where",
    "who",
    "what",
    "how",
    "many",
    "much",
    "was",
    "did",
    "is",
    "and",
    "to",
    "for",
    "about",
    "tell",
    "me",
    "happened",
    "why",
];

/// The subject's own vocabulary: on-topic, but naming no event by itself.
const DOMAIN: &[&str] = &[
    "معركه",
    "معارك",
    "المعركه",
    "حرب",
    "الحرب",
    "العالميه",
    "الثانيه",
    "قوات",
    "القوات",
    "جيش",
    "الجيش",
    "جيوش",
    "جنود",
    "جندي",
    "قتلي",
    "القتلي",
    "قتيل",
    "ضحايا",
    "الضحايا",
    "خسائر",
    "الخسائر",
    "اصابات",
    "هجوم",
    "الهجوم",
    "حدث",
    "جري",
    "صار",
    "حصل",
    "وقع",
    "وقعت",
    "دخل",
    "دخلت",
    "دخول",
    "سقط",
    "سقطت",
    "حرر",
    "استولي",
    "سيطر",
    "احتل",
    "اخذ",
    "قائد",
    "قاده",
    "القائد",
    "القاده",
    "الطرفين",
    "اطراف",
    "مكان",
    "موقع",
    "سبب",
    "نتيجه",
    "انتصر",
    "فاز",
    "هزم",
    "الالمان",
    "المانيا",
    "ايطاليا",
    "الايطاليين",
    "الحلفاء",
    "ذكري",
    "تاريخ",
    "حدثت",
    "طائرات",
    "قنابل",
    "حمله",
    "battle",
    "war",
    "ww2",
    "wwii",
    "allies",
    "germans",
    "italy",
];

/// The article, folded away on both sides of every comparison (القوطي ~ قوطي).
fn canonical(word: &str) -> &str {
    match word.strip_prefix("ال") {
        Some(rest) if rest.chars().count() >= 2 => rest,
        _ => word,
    }
}

/// Clitics stripped from a query word only when what remains is a known word.
const CLITICS: &[&str] = &[
    "وبال", "وال", "فال", "بال", "كال", "لل", "وب", "ول", "وك", "فب", "فل", "و", "ف", "ب", "ل", "ك",
];

impl SearchIndex {
    pub fn build(store: &EventStore) -> Self {
        let mut index = SearchIndex::default();
        let mut domain: HashSet<String> = DOMAIN
            .iter()
            .map(|w| canonical(&arabic::normalize(w)).to_owned())
            .collect();
        let mut figure_words: HashSet<String> = HashSet::new();
        for event in store.all() {
            let mut names = Vec::new();
            for name in std::iter::once(&event.title_ar)
                .chain(std::iter::once(&event.title_en))
                .chain(&event.aliases)
            {
                let tokens: Vec<TokenId> = arabic::words(name)
                    .iter()
                    .map(|w| canonical(w))
                    .filter(|w| !is_stopword(w))
                    .map(|w| index.intern(w))
                    .collect();
                if !tokens.is_empty() {
                    names.push(tokens);
                }
            }
            index.names.push(names);
            let e = index.names.len() as u32 - 1;
            for figure in &event.facts.figures {
                for k in figure.keywords.iter().chain(std::iter::once(&figure.label)) {
                    for w in arabic::words(k) {
                        let w = canonical(&w).to_owned();
                        let events = index.figures.entry(w.clone()).or_default();
                        if events.last() != Some(&e) {
                            events.push(e);
                        }
                        figure_words.insert(w);
                    }
                }
            }
        }
        // A figure's keyword is subject vocabulary unless it also names an event.
        domain.extend(
            figure_words
                .into_iter()
                .filter(|w| !index.vocab.contains_key(w)),
        );
        let n = store.len().max(1) as f32;
        index.postings = vec![Vec::new(); index.words.len()];
        for (e, names) in index.names.iter().enumerate() {
            let distinct: HashSet<TokenId> = names.iter().flatten().copied().collect();
            for t in distinct {
                index.postings[t as usize].push(e as u32);
            }
        }
        index.idf = index
            .postings
            .iter()
            .map(|p| (1.0 + n / p.len().max(1) as f32).ln())
            .collect();
        index.domain = domain;
        let (cell, words) = (Arc::clone(&index.deletions), index.words.clone());
        let background = std::thread::Builder::new()
            .name("fuzzy-index".into())
            .spawn(move || {
                cell.get_or_init(|| build_deletions(&words));
            });
        if background.is_err() {
            // No thread to spare: build it now instead.
            index
                .deletions
                .get_or_init(|| build_deletions(&index.words));
        }
        index
    }

    fn intern(&mut self, word: &str) -> TokenId {
        if let Some(&id) = self.vocab.get(word) {
            return id;
        }
        let id = self.words.len() as TokenId;
        self.vocab.insert(word.to_owned(), id);
        self.words.push(word.to_owned());
        id
    }

    /// An exact word, or one with a clitic stripped onto a known word.
    fn lookup(&self, word: &str) -> Option<TokenId> {
        let w = canonical(word);
        if let Some(&id) = self.vocab.get(w) {
            return Some(id);
        }
        CLITICS.iter().find_map(|c| {
            let rest = word.strip_prefix(c)?;
            if rest.chars().count() < 2 {
                return None;
            }
            self.vocab.get(canonical(rest)).copied()
        })
    }

    fn figure_events(&self, word: &str) -> &[u32] {
        let found = self.figures.get(canonical(word)).or_else(|| {
            CLITICS
                .iter()
                .find_map(|c| self.figures.get(canonical(word.strip_prefix(c)?)))
        });
        found.map_or(&[], Vec::as_slice)
    }

    fn is_domain(&self, word: &str) -> bool {
        let w = canonical(word);
        self.domain.contains(w)
            || CLITICS.iter().any(|c| {
                word.strip_prefix(c)
                    .is_some_and(|r| self.domain.contains(canonical(r)))
            })
    }

    /// Typo tolerance: Damerau–Levenshtein ≤ 1 for words of 5+ letters, ≤ 2 for 8+.
    /// Numbers and month names are never matched this way.
    fn fuzzy(&self, word: &str) -> Option<TokenId> {
        let w = canonical(word);
        let len = w.chars().count();
        let max = match len {
            0..=4 => return None,
            5..=7 => 1,
            _ => 2,
        };
        if w.chars().any(|c| c.is_ascii_digit()) || is_month(w) {
            return None;
        }
        let deletions = self.deletions.get_or_init(|| build_deletions(&self.words));
        let mut best: Option<(usize, TokenId)> = None;
        for variant in deletion_variants(w, max) {
            for &id in deletions.get(&variant).into_iter().flatten() {
                let d = strsim::damerau_levenshtein(w, &self.words[id as usize]);
                if d <= max && best.is_none_or(|(bd, bid)| (d, id) < (bd, bid)) {
                    best = Some((d, id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    /// The events `query` names, best first.
    pub fn search(&self, query: &str) -> Hits {
        self.search_words(&arabic::words(query))
    }

    /// `search` over words already normalized (callers that read the query for
    /// other things too normalize it once).
    pub fn search_words(&self, words: &[String]) -> Hits {
        let content: Vec<&String> = words.iter().filter(|w| !is_stopword(w)).collect();
        let mut matched: Vec<(TokenId, Tier)> = Vec::new();
        let mut known = 0usize;
        for w in &content {
            let domain = self.is_domain(w);
            if let Some(id) = self.lookup(w) {
                matched.push((id, Tier::Exact));
                known += usize::from(domain);
            } else if domain || w.bytes().all(|b| b.is_ascii_digit()) {
                // A month word alone is no topic (آب "father"); with a number it is a
                // date, which `dates` reads before search is asked.
                known += 1;
            } else if is_month(w) {
            } else if let Some(id) = self.fuzzy(w) {
                matched.push((id, Tier::Fuzzy));
            }
        }
        let on_topic_words = matched.len() + known
            - matched
                .iter()
                .filter(|(id, _)| self.domain.contains(&self.words[*id as usize]))
                .count();
        let mut hits: Vec<Hit> = Vec::new();
        // Only a word that is not the subject's common vocabulary selects events:
        // «معركة» is in many titles and names none of them.
        let selective: Vec<TokenId> = matched
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !self.domain.contains(&self.words[*id as usize]))
            .collect();
        if !selective.is_empty() {
            let mut candidates: HashSet<u32> = HashSet::new();
            for id in &selective {
                candidates.extend(&self.postings[*id as usize]);
            }
            let matched_ids: HashSet<TokenId> = matched.iter().map(|(id, _)| *id).collect();
            for e in candidates {
                let names = &self.names[e as usize];
                let tokens: HashSet<TokenId> = names.iter().flatten().copied().collect();
                let mut score = 0.0f32;
                let mut exact = true;
                let mut seen = HashSet::new();
                for (id, tier) in &matched {
                    if tokens.contains(id) && seen.insert(*id) {
                        let w = self.idf[*id as usize];
                        score += if *tier == Tier::Fuzzy { w * 0.8 } else { w };
                        exact &= *tier == Tier::Exact;
                    }
                }
                // Asking about a figure only this event has («طلعة») points at it.
                // Each list is in ascending event order (built that way), so search it.
                let figure_words = content
                    .iter()
                    .filter(|w| self.figure_events(w).binary_search(&e).is_ok())
                    .count();
                score += figure_words as f32;
                // A whole name present in the query outweighs scattered words.
                let longest = names
                    .iter()
                    .filter(|n| n.iter().all(|t| matched_ids.contains(t)))
                    .map(Vec::len)
                    .max()
                    .unwrap_or(0);
                score += 3.0 * longest as f32;
                hits.push(Hit {
                    event: e as usize,
                    score,
                    exact,
                });
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.event.cmp(&b.event)));
        }
        // Off-topic guard: most of the query must be names or the subject's words,
        // unless a whole name was given («الطقس في روما» is not about the war).
        let whole_name = hits.first().is_some_and(|h| {
            h.score >= 3.0 + f32::EPSILON && self.has_whole_name(h.event, &matched)
        });
        let covered = !content.is_empty() && on_topic_words * 2 > content.len();
        if !(covered || whole_name) {
            hits.clear();
        }
        let fuzzy = hits.first().is_some_and(|h| !h.exact);
        Hits {
            on_topic: !hits.is_empty() || known > 0,
            hits,
            fuzzy,
        }
    }

    fn has_whole_name(&self, event: usize, matched: &[(TokenId, Tier)]) -> bool {
        let ids: HashSet<TokenId> = matched.iter().map(|(id, _)| *id).collect();
        self.names[event]
            .iter()
            .any(|n| n.iter().all(|t| ids.contains(t)))
    }

    /// The events of the best score, and those close to it, for a list answer.
    pub fn ties<'a>(&self, hits: &'a [Hit]) -> &'a [Hit] {
        let Some(best) = hits.first() else {
            return hits;
        };
        let n = hits
            .iter()
            .take_while(|h| (best.score - h.score).abs() < 1e-4)
            .count();
        &hits[..n]
    }
}

type Deletions = HashMap<String, Vec<TokenId>>;

/// Every index word (of 4+ letters, not a number or a month) under each string
/// made by deleting up to one letter of it, or two from 6 letters.
fn build_deletions(words: &[String]) -> Deletions {
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
fn deletion_variants(word: &str, max: usize) -> HashSet<String> {
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

fn is_stopword(w: &str) -> bool {
    use std::sync::OnceLock;
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOPWORDS.iter().copied().collect())
        .contains(w)
}

fn is_month(w: &str) -> bool {
    use std::sync::OnceLock;
    static MONTHS: OnceLock<HashSet<String>> = OnceLock::new();
    MONTHS
        .get_or_init(|| {
            arabic::month_spellings()
                .into_iter()
                .flat_map(|(n, _)| n.split(' ').map(str::to_owned).collect::<Vec<_>>())
                .collect()
        })
        .contains(w)
}

/// Events of `store` for the hits, in order.
pub fn events<'a>(store: &'a EventStore, hits: &[Hit]) -> Vec<&'a Event> {
    hits.iter()
        .filter_map(|h| store.all().get(h.event))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn catalog() -> Catalog {
        Catalog::new(EventStore::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap())
    }

    fn top(c: &Catalog, q: &str) -> Option<(String, bool)> {
        let hits = c.index.search(q);
        hits.hits
            .first()
            .map(|h| (c.store.all()[h.event].id.to_string(), h.exact))
    }

    #[test]
    fn names_in_many_spellings() {
        let c = catalog();
        for q in [
            "مونتي كاسينو",
            "مونت كاسينو",
            "مُونْتِي كاسـينو",
            "Monte Cassino",
            "خط الجوسيك",
            "خط الجوسك",
            "الخط القوطي",
            "خط كوستاف",
        ] {
            assert!(top(&c, q).is_some_and(|(_, exact)| exact), "{q}");
        }
        assert_eq!(top(&c, "بمونتي كاسينو").unwrap().0, "monte-cassino");
        assert_eq!(top(&c, "للخط القوطي").unwrap().0, "gothic-line");
    }

    #[test]
    fn typos_are_only_fuzzy() {
        let c = catalog();
        let (id, exact) = top(&c, "كاسيني").unwrap();
        assert_eq!(id, "monte-cassino");
        assert!(!exact);
    }

    #[test]
    fn off_topic_matches_nothing() {
        let c = catalog();
        for q in [
            "مرحبا",
            "السلام عليكم",
            "الطقس في روما",
            "ما هو سعر الدولار",
            "hello",
        ] {
            assert!(c.index.search(q).hits.is_empty(), "{q}");
        }
    }
}
