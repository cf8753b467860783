//! Finding events from what people type: an inverted index over titles and
//! aliases, queried in tiers — exact words, words with a clitic stripped onto a
//! known word, names run together or split apart, then typo-tolerant (fuzzy)
//! words, which can only ever produce a «هل تقصد…؟», never a confident answer.
//!
//! Names are matched as written (never stemmed); the other words of a question
//! are read through [`lexicon`]'s concepts, so «متى حُررت فلورنسا» picks the
//! liberation among Florence's events. A question that names a place, person or
//! year the catalog does not know is reported (`unknown`, `year_mismatch`), so
//! the answer can say so rather than answer about another event.

mod fingerprint;
pub mod fuzzy;
mod joined;
pub mod lexicon;

use std::sync::{LazyLock, OnceLock};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::core::arabic;
use crate::core::catalog::EventStore;
use crate::core::event::Event;
use fingerprint::Fingerprints;
use fuzzy::{Deletions, TokenId, build_deletions};
use joined::Joined;
use lexicon::{
    CLITICS, CONCEPTS, DOMAIN, GENERIC, QUESTION_WORDS, canonical, is_month, is_stopword, stem,
};

/// What a concept shared by question and event adds to the event's score: more
/// than a common place name (روما, ~2.8), less than a rare one (~5).
const CONCEPT_WEIGHT: f32 = 3.0;

/// What a question word that only this event's figures use adds («مدفع», «أسرى»).
const FIGURE_WEIGHT: f32 = 2.0;

#[derive(Debug, Default)]
pub struct SearchIndex {
    vocab: FxHashMap<String, TokenId>,
    words: Vec<String>,
    idf: Vec<f32>,
    postings: Vec<Vec<u32>>,
    /// Each event's names as token sequences.
    names: Vec<Vec<Vec<TokenId>>>,
    /// For every token of `names`, in order: the name wrote it with the article
    /// («الدار» of «الدار البيضاء»), which `joined` keys keep.
    articles: Vec<bool>,
    /// Two or three adjacent tokens of a name written as one word («مونتيكاسينو»).
    /// Built off the request path by the shell (`warm_up`), like `deletions`:
    /// with 10,000 events its 110,000 keys were a quarter of the index's build
    /// (callgrind: 563 → 431 million instructions without them).
    joined: OnceLock<Joined>,
    /// The fuzzy tier's index, built off the request path by the shell
    /// (`warm_up`); a typo arriving before it is ready builds it or waits.
    deletions: OnceLock<Deletions>,
    /// Figure keywords and label words, with the events whose figures use them.
    figures: FxHashMap<String, Vec<u32>>,
    /// Words that belong to the subject (figure keywords, war vocabulary) without
    /// naming an event: they make a question on-topic but select nothing.
    domain: FxHashSet<String>,
    /// The war's own words (`lexicon::DOMAIN`), not the editors' figure keywords
    /// («صباح» is one): they tell a question about the war from small talk.
    subject: FxHashSet<String>,
    /// Name tokens that are a concept's words («يعلن» in «كاترو يعلن استقلال لبنان»).
    token_concepts: FxHashMap<TokenId, Vec<usize>>,
    /// Stems of the concepts' words, and which concepts they belong to.
    concept_stems: FxHashMap<String, Vec<usize>>,
    /// Each event's concepts: of its kind, and of its title's and aliases' words.
    event_concepts: Vec<Vec<usize>>,
    /// Every word the catalog uses anywhere (names, stories, facts), stemmed: a
    /// question word outside it names something the catalog does not know.
    ///
    /// Stemming them is most of a large store's index; like the fuzzy index it
    /// is built off the request path (`warm_up`), or by the first question.
    known: Known,
    /// Each event's span in years, for the year check.
    years: Vec<(i32, i32)>,
    /// People and parties of each event's facts (commanders, actor, sides), by
    /// word: they find an event its names do not («بشارة الخوري»), at half weight.
    people: FxHashMap<String, Vec<u32>>,
}

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

/// How a query word was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Exact,
    Fuzzy,
}

/// The events a query names, best first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hits {
    pub hits: Vec<Hit>,
    /// Some word of the query named an event only through a typo.
    pub fuzzy: bool,
    /// The query read as being about the war (a name, or the subject's vocabulary).
    pub on_topic: bool,
    /// Words that look like names but match nothing the catalog knows («وارسو»).
    pub unknown: Vec<String>,
    /// A year in the query that no matching event spans («العلمين 1973»).
    pub year_mismatch: Option<i32>,
    /// The query carried the subject's own words (a concept, «معركة»…), beyond names.
    pub war_words: bool,
    /// The query is one name and nothing else, shared by several events and owned
    /// by none of them as a whole name («طبرق», «مالطا»): a list, not an answer.
    pub bare_name: bool,
    /// No word of the query names an event by itself: the events were found
    /// through common words, a concept or people, so the best few are listed.
    pub weak: bool,
    /// The question asks about an act the best event is not («تحرير القدس»).
    pub mismatch: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into `EventStore::all()`.
    pub event: usize,
    pub score: f32,
    /// Found through exact (or clitic-stripped) words only.
    pub exact: bool,
}

/// One query word, read.
enum Reading {
    Name(Vec<TokenId>, Tier),
    Concepts(Vec<usize>),
    Domain,
    Number,
    Month,
    /// Someone (or a party) in the events' facts, not in their names.
    Person(Vec<u32>),
    /// A word the catalog uses, but no name and not the subject's («المدينة»).
    Other,
    Unknown,
}

impl SearchIndex {
    pub fn build(store: &EventStore) -> Self {
        let mut index = SearchIndex::default();
        // Sized for the store (3–4 new words an event): grown from empty, the
        // map rehashes again and again as it fills.
        index.vocab.reserve(store.len() * 4);
        index.names.reserve(store.len());
        for event in store.all() {
            index.index_names(event);
        }
        index.index_figures(store);
        index.index_postings(store.len());
        index.index_concepts(store);
        index.known = Known::new(catalog_words(store));
        index.index_people(store);
        index.years = store
            .all()
            .iter()
            .map(|e| {
                use chrono::Datelike;
                (e.date.year(), e.end.unwrap_or(e.date).year())
            })
            .collect();
        index
    }

    /// An event's names as tokens: never stopwords or month words (a month in a
    /// name, «حادث 4 فبراير», must not make «30 فبراير» name it).
    ///
    /// Words are borrowed from the normalized name and a key is copied only when
    /// it is new: allocating every word and its canonical form (hashed with
    /// SipHash) was 40 % of the main thread's start-up with 10,000 events (perf).
    fn index_names(&mut self, event: &Event) {
        let mut names = Vec::new();
        for name in std::iter::once(&event.title_ar)
            .chain(std::iter::once(&event.title_en))
            .chain(&event.aliases)
        {
            let normalized = arabic::normalize(name);
            let raw: Vec<&str> = normalized
                .split(' ')
                .filter(|w| !w.is_empty())
                .filter(|w| !is_stopword(canonical(w)) && !is_month(canonical(w)))
                .collect();
            let tokens: Vec<TokenId> = raw.iter().map(|w| self.intern(canonical(w))).collect();
            if !tokens.is_empty() {
                let written = raw.iter().map(|w| w.len() != canonical(w).len());
                self.articles.extend(written);
                names.push(tokens);
            }
        }
        self.names.push(names);
    }

    /// Figure keywords point at their events; a keyword that names no event is
    /// the subject's vocabulary.
    fn index_figures(&mut self, store: &EventStore) {
        let mut domain: FxHashSet<String> = DOMAIN
            .iter()
            .map(|w| canonical(&arabic::normalize(w)).to_owned())
            .collect();
        // Each keyword read once: events repeat a few («قتلى» in every one of
        // 10,000 synthetic events, normalized 20,000 times at start-up).
        let mut read: FxHashMap<&str, Vec<String>> = FxHashMap::default();
        for (e, event) in store.all().iter().enumerate() {
            for figure in &event.facts.figures {
                for k in figure.keywords.iter().chain(std::iter::once(&figure.label)) {
                    let words = read.entry(k.as_str()).or_insert_with(|| {
                        let words = arabic::words(k).into_iter();
                        words.map(|w| canonical(&w).to_owned()).collect()
                    });
                    for w in words.iter().map(String::as_str) {
                        match self.figures.get_mut(w) {
                            Some(events) if events.last() == Some(&(e as u32)) => {}
                            Some(events) => events.push(e as u32),
                            None => {
                                self.figures.insert(w.to_owned(), vec![e as u32]);
                            }
                        }
                    }
                }
            }
        }
        self.subject = domain.clone();
        domain.extend(GENERIC.iter().map(|w| canonical(w).to_owned()));
        // Every figure word is a key of `figures` (built just above).
        let figure_words = self.figures.keys();
        domain.extend(
            figure_words
                .filter(|w| !self.vocab.contains_key(*w))
                .cloned(),
        );
        self.domain = domain;
    }

    fn index_postings(&mut self, events: usize) {
        let n = events.max(1) as f32;
        self.postings = vec![Vec::new(); self.words.len()];
        for (e, names) in self.names.iter().enumerate() {
            let distinct: FxHashSet<TokenId> = names.iter().flatten().copied().collect();
            for t in distinct {
                self.postings[t as usize].push(e as u32);
            }
        }
        self.idf = self
            .postings
            .iter()
            .map(|p| (1.0 + n / p.len().max(1) as f32).ln())
            .collect();
    }

    /// Each event's concepts: those of its kind, and those its names use.
    fn index_concepts(&mut self, store: &EventStore) {
        for (c, concept) in CONCEPTS.iter().enumerate() {
            for w in concept.words {
                for key in [canonical(&arabic::normalize(w)).to_owned(), stem(w)] {
                    let ids = self.concept_stems.entry(key).or_default();
                    if !ids.contains(&c) {
                        ids.push(c);
                    }
                }
            }
        }
        // Only Arabic words can be a concept's (numbers and Latin names are most
        // of a large store's tokens, and stemming them is most of its cost).
        self.token_concepts = (0..self.words.len())
            .filter(|&t| arabic::has_arabic_letter(&self.words[t]))
            .filter_map(|t| {
                let concepts = self.concepts_of(&self.words[t]);
                (!concepts.is_empty()).then_some((t as TokenId, concepts))
            })
            .collect();
        self.event_concepts = store
            .all()
            .iter()
            .enumerate()
            .map(|(e, event)| {
                let mut found: Vec<usize> = (0..CONCEPTS.len())
                    .filter(|&c| CONCEPTS[c].kinds.contains(&event.kind))
                    .collect();
                // Its names' words, as the tokens they were indexed under.
                let tokens = self.names[e].iter().flatten();
                found.extend(tokens.filter_map(|t| self.token_concepts.get(t)).flatten());
                found.sort_unstable();
                found.dedup();
                found
            })
            .collect();
    }

    fn index_people(&mut self, store: &EventStore) {
        for (e, event) in store.all().iter().enumerate() {
            let facts = &event.facts;
            let people = facts
                .commanders
                .iter()
                .chain(&facts.sides)
                .chain(facts.actor.as_ref());
            for w in people.flat_map(|p| arabic::words(p)) {
                let w = canonical(&w).to_owned();
                // Name particles and short words («عبد», «الدين», «بن») are in too
                // many names to find anyone.
                const PARTICLES: &[&str] = &[
                    "عبد",
                    "دين",
                    "ابن",
                    "ابو",
                    "باشا",
                    "الملك",
                    "ملك",
                    "امير",
                    "شيخ",
                    "سلطان",
                    "جنرال",
                    "مارشال",
                ];
                if w.chars().count() < 4 || is_stopword(&w) || PARTICLES.contains(&w.as_str()) {
                    continue;
                }
                let events = self.people.entry(w).or_default();
                if events.last() != Some(&(e as u32)) {
                    events.push(e as u32);
                }
            }
        }
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

    /// A word as written and, when a name also has it with a clitic stripped
    /// («لتونس» in one alias, «تونس» in many), that word too.
    fn lookup_all(&self, word: &str) -> Vec<TokenId> {
        let mut found: Vec<TokenId> = self
            .vocab
            .get(canonical(word))
            .copied()
            .into_iter()
            .collect();
        let stripped = CLITICS.iter().find_map(|c| {
            let rest = word.strip_prefix(c).filter(|r| r.chars().count() >= 2)?;
            self.vocab.get(canonical(rest)).copied()
        });
        found.extend(stripped.filter(|id| !found.contains(id)));
        found
    }

    /// A word as written, or with one clitic stripped when what remains is known.
    fn lookup(&self, word: &str) -> Option<TokenId> {
        self.vocab.get(canonical(word)).copied().or_else(|| {
            CLITICS.iter().find_map(|c| {
                let rest = word.strip_prefix(c)?;
                if rest.chars().count() < 2 {
                    return None;
                }
                self.vocab.get(canonical(rest)).copied()
            })
        })
    }

    /// The concepts a word asks about: the word, its stem, or either after a clitic.
    fn concepts_of(&self, word: &str) -> Vec<usize> {
        let forms = std::iter::once(word).chain(
            ["و", "ف", "ب", "ل"]
                .iter()
                .filter_map(|c| word.strip_prefix(c))
                .filter(|r| r.chars().count() >= 3),
        );
        for form in forms {
            // The stem only when the word itself is none: the index tries every
            // Arabic name word, and most are no concept's.
            let found = self
                .concept_stems
                .get(canonical(form))
                .or_else(|| self.concept_stems.get(stem(form).as_str()));
            if let Some(ids) = found {
                return ids.clone();
            }
        }
        Vec::new()
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

    fn is_subject(&self, word: &str) -> bool {
        let w = canonical(word);
        self.subject.contains(w)
            || CLITICS.iter().any(|c| {
                word.strip_prefix(c)
                    .is_some_and(|r| self.subject.contains(canonical(r)))
            })
    }

    /// Whether the catalog uses this word anywhere: as written, or, for a word
    /// with an article or a plural or adjective ending, in another inflection.
    /// A bare foreign name («جالوت») is never matched by its stem.
    fn is_known(&self, word: &str) -> bool {
        let forms =
            std::iter::once(word).chain(CLITICS.iter().filter_map(|c| word.strip_prefix(c)));
        let inflected = |f: &str| {
            f.starts_with("ال")
                || ["ين", "ون", "ات", "يه", "يون", "يين"]
                    .iter()
                    .any(|s| f.ends_with(s))
        };
        forms.filter(|f| f.chars().count() >= 2).any(|f| {
            let known = self.known.stems();
            known.contains(canonical(f)) || (inflected(f) && known.contains(stem(f).as_str()))
        })
    }

    fn fuzzy(&self, word: &str) -> Option<TokenId> {
        let deletions = self.deletions.get_or_init(|| build_deletions(&self.words));
        fuzzy::nearest(deletions, &self.words, canonical(word))
    }

    /// Builds what the index leaves off the start path (the fuzzy tier, the
    /// run-together names, the catalog's stems), for the shell to run on a
    /// thread of its own; a question needing one before it is done builds it,
    /// or waits for it.
    pub fn warm_up(&self) {
        self.joined();
        self.known.stems();
        self.deletions.get_or_init(|| build_deletions(&self.words));
    }

    /// The run-together names (`joined`), built on first use.
    fn joined(&self) -> &Joined {
        self.joined.get_or_init(|| {
            let names = self.names.iter().flatten().map(Vec::as_slice);
            Joined::build(names, &self.articles, &self.words)
        })
    }

    /// What one query word is, tried in order of confidence.
    fn read(&self, w: &str) -> Reading {
        if w.bytes().all(|b| b.is_ascii_digit()) {
            return Reading::Number;
        }
        let concepts = self.concepts_of(w);
        if !concepts.is_empty() {
            return Reading::Concepts(concepts);
        }
        let ids = self.lookup_all(w);
        if !ids.is_empty() {
            return Reading::Name(ids, Tier::Exact);
        }
        if let Some(ids) = self.joined().find(&self.words, canonical(w)) {
            return Reading::Name(ids.to_vec(), Tier::Exact);
        }
        if is_month(w) {
            return Reading::Month;
        }
        if self.is_domain(w) {
            return Reading::Domain;
        }
        if let Some(events) = self.people.get(canonical(w)) {
            return Reading::Person(events.clone());
        }
        // A word the catalog itself writes is no typo of a name («باريس» ≠ «باري»).
        if self.known.stems().contains(canonical(w)) {
            return Reading::Other;
        }
        if let Some(id) = self.fuzzy(w) {
            return Reading::Name(vec![id], Tier::Fuzzy);
        }
        if self.is_known(w) || !arabic::has_arabic_letter(w) || w.chars().count() < 3 {
            return Reading::Other;
        }
        Reading::Unknown
    }
}

impl SearchIndex {
    /// The events `query` names, best first.
    pub fn search(&self, query: &str) -> Hits {
        self.search_words(&arabic::words(query))
    }

    /// `search` over words already normalized (callers that read the query for
    /// other things too normalize it once).
    pub fn search_words(&self, words: &[String]) -> Hits {
        let content = self.rejoin(words.iter().filter(|w| !is_stopword(w)).cloned().collect());
        let mut q = Query {
            question: words.iter().any(|w| QUESTION_WORDS.contains(&w.as_str())),
            ..Query::default()
        };
        for (i, w) in content.iter().enumerate() {
            let nation = lexicon::DEMONYMS.iter().find(|(d, _)| *d == canonical(w));
            q.parties
                .extend(nation.map(|(_, country)| canonical(country).to_owned()));
            match self.read(w) {
                Reading::Name(ids, tier) => {
                    q.on_topic += 1;
                    if ids
                        .iter()
                        .any(|id| !self.domain.contains(&self.words[*id as usize]))
                    {
                        q.names_at.push(i);
                    }
                    q.subject |= ids
                        .iter()
                        .all(|id| self.subject.contains(&self.words[*id as usize]));
                    if tier == Tier::Fuzzy {
                        q.typos.extend(ids.iter().map(|id| (*id, w.clone(), i)));
                    } else {
                        q.name_words.push((i, ids.clone()));
                    }
                    q.matched.extend(ids.into_iter().map(|id| (id, tier)));
                }
                Reading::Concepts(ids) => {
                    q.on_topic += 1;
                    q.concept_words += 1;
                    // A concept word in a name («قصف روما») still completes that name.
                    if let Some(id) = self.vocab.get(canonical(w)) {
                        q.completing.push(*id);
                    }
                    q.concepts.extend(ids);
                }
                Reading::Domain => {
                    q.on_topic += 1;
                    q.subject |= self.is_subject(w);
                }
                Reading::Number => {
                    q.on_topic += 1;
                    if let Some(id) = self.vocab.get(w.as_str()) {
                        q.matched.push((*id, Tier::Exact));
                    }
                    q.years
                        .extend(w.parse::<i32>().ok().filter(|y| (1000..=2100).contains(y)));
                }
                Reading::Person(events) => {
                    q.on_topic += 1;
                    q.people.push(events);
                }
                Reading::Month => q.month = true,
                Reading::Other => {}
                Reading::Unknown => q.unknown.push((i, w.clone())),
            }
        }
        q.concepts.sort_unstable();
        q.concepts.dedup();
        // A concept word makes a question about the war; alone in a statement
        // («لا تستسلم أبدا») it does not.
        let others = content.len() > q.concept_words;
        q.war_words = q.subject || (!q.concepts.is_empty() && (q.question || others));
        self.rank(&content, q)
    }

    /// A name split by a stray space («كاسي نو»): two words joined when together
    /// they are a name's word and apart they are not both known.
    fn rejoin(&self, words: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(words.len());
        let mut i = 0;
        while i < words.len() {
            if let Some(next) = words.get(i + 1) {
                let both = format!("{}{next}", words[i]);
                let apart = self.lookup(&words[i]).is_some() && self.lookup(next).is_some();
                if !apart && self.vocab.contains_key(canonical(&both)) {
                    out.push(both);
                    i += 2;
                    continue;
                }
            }
            out.push(words[i].clone());
            i += 1;
        }
        out
    }

    /// The name tokens that select events by themselves: not the subject's
    /// common words («معركة» is in many titles and names none of them), and no
    /// number (a year narrows, it does not name: «31 أبريل 1943» is no event).
    fn selective(&self, q: &Query) -> Vec<TokenId> {
        q.matched
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !self.domain.contains(&self.words[*id as usize]) && !self.is_number(*id))
            .collect()
    }

    /// The events worth scoring: those the selective names name; with a concept,
    /// those a common word or a party names that do what the question asks
    /// («متى استسلمت إيطاليا»); and those of the people named.
    fn candidates(&self, q: &Query, selective: &[TokenId]) -> FxHashSet<u32> {
        let postings = |id: &TokenId| self.postings[*id as usize].iter().copied();
        let mut candidates: FxHashSet<u32> = selective.iter().flat_map(postings).collect();
        candidates.extend(q.people.iter().flatten());
        if q.concepts.is_empty() {
            return candidates;
        }
        let common = q
            .matched
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !self.is_number(*id));
        candidates.extend(
            common
                .flat_map(|id| postings(&id))
                .filter(|e| self.shares_concept(*e, q)),
        );
        let words = q
            .matched
            .iter()
            .map(|(id, _)| self.words[*id as usize].as_str());
        for party in words.chain(q.parties.iter().map(String::as_str)) {
            let events = self.people.get(party).into_iter().flatten();
            candidates.extend(events.filter(|e| self.shares_concept(**e, q)));
        }
        candidates
    }

    /// Scored and sorted; events no year of the question falls in are dropped,
    /// and when that leaves none, the year is the reason.
    fn scored(
        &self,
        content: &[String],
        q: &Query,
        candidates: FxHashSet<u32>,
    ) -> (Vec<Hit>, Option<i32>) {
        let lists = Lists::of(self, content, q);
        let mut hits: Vec<Hit> = candidates
            .into_iter()
            .map(|e| self.score(e, q, &lists))
            .collect();
        let mut year_mismatch = None;
        if let Some(&year) = q.years.first() {
            let before = hits.len();
            hits.retain(|h| {
                let (from, to) = self.years[h.event];
                q.years.iter().all(|y| (from..=to).contains(y))
            });
            if before > 0 && hits.is_empty() {
                year_mismatch = Some(year);
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.event.cmp(&b.event)));
        (hits, year_mismatch)
    }

    fn rank(&self, content: &[String], q: Query) -> Hits {
        let selective = self.selective(&q);
        let candidates = self.candidates(&q, &selective);
        let (mut hits, year_mismatch) = self.scored(content, &q, candidates);
        let mut unknown = self.unknown_subjects(&q, &selective);
        // A "typo" that only reaches events of another kind than the question asks
        // about is more likely a name the catalog does not know («اغتيال غاندي»).
        let all_fuzzy = !q.matched.is_empty() && q.matched.iter().all(|(_, t)| *t == Tier::Fuzzy);
        if all_fuzzy
            && !q.concepts.is_empty()
            && !hits.iter().any(|h| self.shares_concept(h.event as u32, &q))
        {
            unknown.extend(
                q.matched
                    .iter()
                    .map(|(id, _)| self.words[*id as usize].clone()),
            );
            hits.clear();
        }
        let names_unknown = self.typos_beside(&q, &hits);
        if !names_unknown.is_empty() {
            // What only those typos reached is no answer.
            hits.retain(|h| h.exact);
            unknown.extend(names_unknown);
        }
        if self.off_topic(content, &q, &selective, &hits) {
            hits.clear();
        }
        let top = hits.first().map(|h| h.event);
        let bare_name = hits.len() > 1
            && content.len() == 1
            && q.matched.len() == 1
            && q.concepts.is_empty()
            && !hits.iter().any(|h| self.has_whole_name(h.event, &q));
        let dated = q.month
            && content
                .iter()
                .any(|w| w.bytes().all(|b| b.is_ascii_digit()));
        Hits {
            mismatch: top.is_some_and(|e| self.mismatch(content, &q, e)),
            weak: selective.is_empty() && hits.len() > 1,
            bare_name,
            fuzzy: hits.first().is_some_and(|h| !h.exact),
            on_topic: !hits.is_empty() || q.war_words || !q.years.is_empty() || dated,
            hits,
            unknown,
            year_mismatch,
            war_words: q.war_words,
        }
    }

    /// Words read as a typo that are more likely a name the catalog does not
    /// know: one whose events are not the answer the exact words found, or one
    /// that follows a name's word in place of the rest of that name, reaching
    /// none of its events («معركة عين جالوت» is not «عين الغزالة», and «جالوت»
    /// is no typo of «جالو» there).
    fn typos_beside(&self, q: &Query, hits: &[Hit]) -> Vec<String> {
        let top = hits.first().filter(|h| h.exact).map(|h| h.event as u32);
        let reaches = |id: TokenId, event: u32| self.postings[id as usize].contains(&event);
        let after_other_name = |id: TokenId, at: usize| {
            let before = q.name_words.iter().find(|(i, _)| *i + 1 == at);
            before.is_some_and(|(_, ids)| {
                ids.iter()
                    .all(|b| !self.postings[*b as usize].iter().any(|e| reaches(id, *e)))
            })
        };
        q.typos
            .iter()
            .filter(|(id, _, at)| {
                top.is_some_and(|t| !reaches(*id, t)) || after_other_name(*id, *at)
            })
            .map(|(_, typed, _)| typed.clone())
            .collect()
    }

    /// An unknown word is the question's subject when nothing else names an
    /// event («تحرير وارسو»), or when it follows a name's word in place of the
    /// rest of that name («عين جالوت» for «عين الغزالة»); beside a name the
    /// catalog knows whole, it is an ordinary word («في سماء روما»). Without
    /// the war's words, any unknown word marks a sentence about something else
    /// («رحلة سياحية إلى كريت»).
    fn unknown_subjects(&self, q: &Query, selective: &[TokenId]) -> Vec<String> {
        q.unknown
            .iter()
            .filter(|(i, _)| {
                !q.war_words || selective.is_empty() || (*i > 0 && q.names_at.contains(&(i - 1)))
            })
            .map(|(_, w)| w.clone())
            .collect()
    }

    /// Most of the query must be names or the subject's words, unless a whole
    /// name was given («الطقس في روما» is not about the war); and names of
    /// unrelated events without a word of the war's are a sentence that happens
    /// to contain place names («موعد القطار من القاهرة للإسكندرية»).
    fn off_topic(
        &self,
        content: &[String],
        q: &Query,
        selective: &[TokenId],
        hits: &[Hit],
    ) -> bool {
        let whole_name = hits
            .first()
            .is_some_and(|h| h.score >= 3.0 + f32::EPSILON && self.has_whole_name(h.event, q));
        let covered = !content.is_empty() && q.on_topic * 2 > content.len();
        let explains_two = |h: &Hit| {
            let e = h.event as u32;
            let explained = |t: &&TokenId| {
                self.names[h.event].iter().any(|n| n.contains(t))
                    || self
                        .figure_events(&self.words[**t as usize])
                        .binary_search(&e)
                        .is_ok()
            };
            selective.iter().filter(explained).count() >= 2
        };
        let scattered = !q.war_words && selective.len() >= 2 && !hits.iter().any(explains_two);
        !(covered || whole_name) || scattered
    }

    /// Asked about an act («تحرير القدس») and the best event is no such act, nor
    /// named whole, nor has a figure asked about: an answer would be about
    /// something else. A phase («بدأ», «انتهى») names no act: «متى بدأ هجوم
    /// النفيضة؟» asks about the attack itself, whose title says no «بدء».
    fn mismatch(&self, content: &[String], q: &Query, event: usize) -> bool {
        let e = event as u32;
        let figures = content
            .iter()
            .any(|w| self.figure_events(w).binary_search(&e).is_ok());
        let mut acts = q
            .concepts
            .iter()
            .filter(|&&c| !CONCEPTS[c].kinds.is_empty())
            .peekable();
        acts.peek().is_some()
            && !acts.any(|c| self.event_concepts[event].contains(c))
            && !self.has_whole_name(event, q)
            && !figures
    }

    /// An event's score: its names' words in the question (by rarity), the
    /// figures asked about, the people named, the concepts shared, and a whole
    /// name present; less the question's names it lacks.
    fn score(&self, e: u32, q: &Query, lists: &Lists<'_>) -> Hit {
        // Every candidate is scored («الحلفاء» is in 56 shipped events' facts),
        // and an event's names are a few tokens: a scan, not a set allocated
        // per candidate (scoring was 6 % of the service bench's profile).
        let has = |id: &TokenId| self.names[e as usize].iter().any(|n| n.contains(id));
        let (mut score, exact) = self.name_score(has, q);
        // Asking about a figure only this event has («طلعة») points at it.
        // Each list is in ascending event order (built that way), so search it.
        let has_figure = |events: &[u32]| events.binary_search(&e).is_ok();
        let figures = lists.content_figures.iter().filter(|f| has_figure(f));
        score += FIGURE_WEIGHT * figures.count() as f32;
        // A name of the question that this event does not have, in its names or
        // its figures, counts against it («الأسرى في تونس» is not Biscari).
        for ((id, _), figures) in q.matched.iter().zip(&lists.matched_figures) {
            let explained = has(id) || has_figure(figures);
            if !explained && !self.is_number(*id) {
                score -= 0.5 * self.idf[*id as usize];
            }
        }
        score += lists.people_score(e) + self.concept_score(e, q);
        // A whole name present in the query outweighs scattered words.
        score += 3.0 * self.longest_whole_name(e, q) as f32;
        Hit {
            event: e as usize,
            score,
            exact,
        }
    }

    /// The rarity of the question's words the event's names have, and whether
    /// all of them were written without a typo.
    fn name_score(&self, has: impl Fn(&TokenId) -> bool, q: &Query) -> (f32, bool) {
        let (mut score, mut exact) = (0.0f32, true);
        // A question has a few words: a scan, not a set per candidate.
        let mut seen: Vec<TokenId> = Vec::new();
        // A concept word the event's names use as written («القبض») counts too.
        let completing = q.completing.iter().map(|id| (id, Tier::Exact));
        for (id, tier) in completing.chain(q.matched.iter().map(|(id, t)| (id, *t))) {
            if has(id) && !seen.contains(id) {
                seen.push(*id);
                let w = self.idf[*id as usize];
                score += if tier == Tier::Fuzzy { w * 0.8 } else { w };
                exact &= tier == Tier::Exact;
            }
        }
        (score, exact)
    }

    /// The concepts shared; asked about the end, the start is the wrong event
    /// (and the reverse); asked about neither, a battle is remembered by its start.
    fn concept_score(&self, e: u32, q: &Query) -> f32 {
        let concepts = &self.event_concepts[e as usize];
        let mut score =
            CONCEPT_WEIGHT * q.concepts.iter().filter(|c| concepts.contains(c)).count() as f32;
        let asks_phase = q.concepts.iter().any(|c| is_phase(*c));
        if asks_phase
            && concepts
                .iter()
                .any(|c| is_phase(*c) && !q.concepts.contains(c))
        {
            score -= 2.0 * CONCEPT_WEIGHT;
        }
        if !asks_phase && concepts.contains(&lexicon::END) {
            score -= 1.0;
        }
        score
    }

    /// The length of the longest of the event's names the question contains whole
    /// (a phase word of the title may be missing when no phase is asked).
    fn longest_whole_name(&self, e: u32, q: &Query) -> usize {
        self.names[e as usize]
            .iter()
            .enumerate()
            .filter(|(i, n)| {
                n.iter()
                    .all(|t| self.in_question(q, *t) || (*i == 0 && self.is_optional_phase(*t, q)))
            })
            .map(|(_, n)| n.len())
            .max()
            .unwrap_or(0)
    }

    /// Whether the question contains this token of an event's names: as a word,
    /// or through a concept the token's word says.
    fn in_question(&self, q: &Query, t: TokenId) -> bool {
        q.matched.iter().any(|(id, _)| *id == t)
            || q.completing.contains(&t)
            || self
                .token_concepts
                .get(&t)
                .is_some_and(|cs| cs.iter().any(|c| q.concepts.contains(c)))
    }

    fn is_number(&self, t: TokenId) -> bool {
        self.words[t as usize].bytes().all(|b| b.is_ascii_digit())
    }

    /// «بدء» and «نهاية» in a title («بدء حصار طبرق»): not needed for the whole
    /// name when the question asks about no phase.
    fn is_optional_phase(&self, t: TokenId, q: &Query) -> bool {
        !q.concepts.iter().any(|c| is_phase(*c))
            && self
                .token_concepts
                .get(&t)
                .is_some_and(|cs| cs.iter().all(|c| is_phase(*c)))
    }

    fn shares_concept(&self, e: u32, q: &Query) -> bool {
        self.event_concepts[e as usize]
            .iter()
            .any(|c| q.concepts.contains(c))
    }

    fn has_whole_name(&self, event: usize, q: &Query) -> bool {
        self.names[event]
            .iter()
            .any(|n| n.iter().all(|t| self.in_question(q, *t)))
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

/// The start and end concepts, read from titles, belong to no kind.
fn is_phase(concept: usize) -> bool {
    CONCEPTS[concept].kinds.is_empty()
}

/// A question, read word by word.
#[derive(Default)]
struct Query {
    matched: Vec<(TokenId, Tier)>,
    /// Words read only as a typo of a known word: that word, as typed, and
    /// its place in the question.
    typos: Vec<(TokenId, String, usize)>,
    /// The name words each matched word was read as, by place.
    name_words: Vec<(usize, Vec<TokenId>)>,
    /// Name tokens that are concept words: they complete a name, select nothing.
    completing: Vec<TokenId>,
    concepts: Vec<usize>,
    years: Vec<i32>,
    /// Words the catalog does not know, with their place in the question.
    unknown: Vec<(usize, String)>,
    /// Where the words that matched names stand.
    names_at: Vec<usize>,
    /// The events of each person word.
    people: Vec<Vec<u32>>,
    /// Countries named through their people («الإيطاليون» → «إيطاليا»).
    parties: Vec<String>,
    month: bool,
    concept_words: usize,
    /// It asks («متى», «كم», «who»…), rather than states.
    question: bool,
    /// A subject word («معركة», «الحلفاء») or a name, not only a concept word.
    subject: bool,
    on_topic: usize,
    war_words: bool,
}

/// What scoring reads for each word of a question, looked up once per question
/// rather than once per candidate: each lookup hashes the word and tries it
/// without each clitic, and a question about «الحلفاء» has 50+ candidates
/// (the search was 9 % of the in-process service bench's profile, most of it
/// in `score`).
struct Lists<'a> {
    /// The events whose figures use each content word.
    content_figures: Vec<&'a [u32]>,
    /// The same for each matched token's word, in `Query::matched`'s order.
    matched_figures: Vec<&'a [u32]>,
    /// The events of each person or party named, with half its rarity: the
    /// question's people, then its matched words' and parties' (that order).
    people: Vec<(&'a [u32], f32)>,
}

impl<'a> Lists<'a> {
    fn of(index: &'a SearchIndex, content: &[String], q: &'a Query) -> Self {
        let n = index.names.len().max(1) as f32;
        let word = |id: &TokenId| index.words[*id as usize].as_str();
        let parties = q
            .matched
            .iter()
            .map(|(id, _)| word(id))
            .chain(q.parties.iter().map(String::as_str))
            .filter_map(|w| index.people.get(w));
        let people = q
            .people
            .iter()
            .chain(parties)
            .map(|events| {
                (
                    events.as_slice(),
                    0.5 * (1.0 + n / events.len() as f32).ln(),
                )
            })
            .collect();
        Self {
            content_figures: content.iter().map(|w| index.figure_events(w)).collect(),
            matched_figures: q
                .matched
                .iter()
                .map(|(id, _)| index.figure_events(word(id)))
                .collect(),
            people,
        }
    }

    /// Half the rarity of each person or party named who is in the event's facts.
    fn people_score(&self, e: u32) -> f32 {
        self.people
            .iter()
            .filter(|(events, _)| events.binary_search(&e).is_ok())
            .map(|(_, weight)| weight)
            .sum()
    }
}

/// Every word the catalog uses (names, stories, notes, places and facts, and
/// the lexicon's), normalized, without their article, and stemmed; built on
/// first need (the shell's warm-up thread, or the first question that needs it).
struct Known {
    stems: LazyLock<Fingerprints, BuildKnown>,
}

type BuildKnown = Box<dyn FnOnce() -> Fingerprints + Send>;

impl Known {
    /// `text`: the catalog's distinct raw words, space-separated. Normalizing and
    /// stemming them was 30 % of `dhikra ask`'s start (perf); only collecting
    /// them stays on the start path, and they are dropped once read.
    ///
    /// Kept as fingerprints: a collision would make one unknown word read as
    /// known, so it would be neither fuzzy-matched nor reported as unknown.
    fn new(text: String) -> Self {
        let build = move || {
            let mut words = arabic::words(&text);
            words.sort_unstable();
            words.dedup();
            let arabic = words.iter().filter(|w| arabic::has_arabic_letter(w));
            let stems: Vec<String> = arabic.map(|w| stem(w)).collect();
            let canonical_words = words.iter().map(|w| canonical(w));
            canonical_words
                .chain(stems.iter().map(String::as_str))
                .collect()
        };
        Self {
            stems: LazyLock::new(Box::new(build)),
        }
    }

    fn stems(&self) -> &Fingerprints {
        &self.stems
    }
}

impl Default for Known {
    fn default() -> Self {
        Self::new(String::new())
    }
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let built = LazyLock::get(&self.stems).map(Fingerprints::len);
        f.debug_struct("Known").field("stems", &built).finish()
    }
}

/// Every distinct word of the catalog's texts as written, space-separated: the
/// same words `arabic::words` reads from the texts (normalizing maps every
/// whitespace to a separator and works within words), each written once — a
/// large store repeats most of its words (10,000 synthetic events: ~16,000
/// distinct of ~200,000).
fn catalog_words(store: &EventStore) -> String {
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    let mut out = String::new();
    for word in catalog_texts(store)
        .into_iter()
        .flat_map(str::split_whitespace)
    {
        if seen.insert(word) {
            out.push_str(word);
            out.push(' ');
        }
    }
    out
}

/// The catalog's texts a question's words may come from, and the lexicon's words.
fn catalog_texts(store: &EventStore) -> Vec<&str> {
    let mut texts: Vec<&str> = Vec::new();
    for e in store.all() {
        let facts = &e.facts;
        let fields = [&e.title_ar, &e.title_en, &e.summary_ar]
            .into_iter()
            .chain(&e.aliases)
            .chain(e.note_ar.as_ref())
            .chain(e.place_ar.as_ref())
            .chain(&facts.sides)
            .chain(&facts.commanders)
            .chain(facts.actor.as_ref())
            .chain(facts.outcome.as_ref());
        texts.extend(fields.map(String::as_str));
        for f in &facts.figures {
            texts.extend([f.label.as_str(), f.value.as_str()]);
            texts.extend(f.keywords.iter().map(String::as_str));
        }
    }
    let lexicon = DOMAIN
        .iter()
        .chain(lexicon::STOPWORDS)
        .chain(QUESTION_WORDS);
    texts.extend(lexicon.copied());
    texts
}

/// Events of `store` for the hits, in order.
pub fn events<'a>(store: &'a EventStore, hits: &[Hit]) -> Vec<&'a Event> {
    hits.iter()
        .filter_map(|h| store.all().get(h.event))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Catalog;
    use crate::core::arabic;
    use std::collections::HashSet;
    use std::path::Path;

    fn catalog() -> Catalog {
        Catalog::new(
            crate::data::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap(),
        )
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

    /// The distinct raw words, normalized together, are the words of every
    /// text normalized one by one (the set the unknown-name check reads).
    #[test]
    fn distinct_raw_words_normalize_as_the_texts() {
        let c = catalog();
        let each: HashSet<String> = super::catalog_texts(&c.store)
            .into_iter()
            .flat_map(arabic::words)
            .collect();
        let distinct: HashSet<String> = arabic::words(&super::catalog_words(&c.store))
            .into_iter()
            .collect();
        assert_eq!(each, distinct);
        let odd = "رووووما\u{00A0}مونتي،كاسينو \u{200B}فلورنسا\tاااا  الله ﷺ";
        let mut raw: Vec<&str> = odd.split_whitespace().collect();
        raw.dedup();
        let joined: HashSet<String> = arabic::words(&raw.join(" ")).into_iter().collect();
        let whole: HashSet<String> = arabic::words(odd).into_iter().collect();
        assert_eq!(joined, whole);
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
