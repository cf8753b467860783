//! Answering a question: what is asked (متى، كم، أين، من، ما/لماذا — and their
//! dialect forms), about which event, and a short Arabic reply built from the
//! event's facts, with buttons. Pure: the bot, inline mode and `dhikra ask` all
//! show the same `Reply`.

use chrono::NaiveDate;
use serde::Serialize;

use crate::core::arabic;
use crate::core::dates::{self, DateQuery};
use crate::core::event::{Event, EventId, Kind};
use crate::core::render::{self, Style, escape, keep_rtl};
use crate::core::search;
use crate::core::search::Catalog;

/// Longer queries are cut to this many characters before anything else.
pub const MAX_QUERY_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    When,
    HowMany,
    Where,
    Who,
    Why,
    What,
}

impl Intent {
    /// One letter per intent, for button data (see `telegram::callback`).
    pub fn code(self) -> char {
        match self {
            Intent::When => 'w',
            Intent::HowMany => 'n',
            Intent::Where => 'p',
            Intent::Who => 'o',
            Intent::Why => 'y',
            Intent::What => 's',
        }
    }

    pub fn from_code(c: char) -> Intent {
        match c {
            'w' => Intent::When,
            'n' => Intent::HowMany,
            'p' => Intent::Where,
            'o' => Intent::Who,
            'y' => Intent::Why,
            _ => Intent::What,
        }
    }
}

/// What is asked, from the question words (standard and dialect).
pub fn intent(query: &str) -> Intent {
    intent_of(&arabic::words(query))
}

fn intent_of(words: &[String]) -> Intent {
    for (i, w) in words.iter().enumerate() {
        let found = match w.as_str() {
            "متي" | "امتي" | "ايمتي" | "امته" | "ايمته" | "when" | "تاريخ" => {
                Some(Intent::When)
            }
            "كم" | "قديش" | "اديش" | "كام" | "عدد" | "many" | "much" => {
                Some(Intent::HowMany)
            }
            "اين" | "وين" | "فين" | "فاين" | "where" | "مكان" => {
                Some(Intent::Where)
            }
            "مين" | "منو" | "شكون" | "who" => Some(Intent::Who),
            // «من» and «ما» are also "from" and "not": only as the first word.
            "من" if i == 0 => Some(Intent::Who),
            "لماذا" | "ليش" | "ليه" | "علاش" | "why" => Some(Intent::Why),
            "ماذا" | "شو" | "ايش" | "وش" | "واش" | "شنو" | "شنهو" | "what" => {
                Some(Intent::What)
            }
            "ما" if i == 0 => Some(Intent::What),
            _ => None,
        };
        if let Some(intent) = found {
            return intent;
        }
    }
    Intent::What
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    Answer,
    DidYouMean,
    List,
    NoMatch,
    /// Off-topic text: the help, never a random event.
    Help,
}

/// What pressing a reply's button asks for; `telegram::callback` encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The event's whole post («📖 القصة كاملة»).
    Full(EventId),
    /// An answer about this event («هل تقصد» and list buttons), for the intent asked.
    Pick(EventId, Intent),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    pub text: String,
    #[serde(skip)]
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: ReplyKind,
    /// Event ids, best first.
    pub events: Vec<String>,
    /// Telegram HTML, escaped, right-to-left kept; may exceed one message (split it).
    pub html: String,
    pub buttons: Vec<Button>,
}

pub const HELP: &str = "أهلًا! أنا <b>ذكرى</b>: أنشر كل يوم ما جرى «في مثل هذا اليوم» في الحرب العالمية الثانية في البحر المتوسط والشرق الأوسط (1940–1945): شمال أفريقيا والشام والعراق وشرق أفريقيا والبحر، وحملة إيطاليا. وأجيب عن أسئلتك عن معاركها وأحداثها.\n\nاسألني مثلًا:\n• متى بدأت معركة العلمين الثانية؟\n• متى دخل الحلفاء دمشق؟\n• كم عدد ضحايا مونتي كاسينو؟\n• من استولى على مونتي كاسينو؟\n• ماذا حدث في 19 يوليو 1943؟\n\n/event &lt;سؤال أو اسم&gt; — عن حدث\n/date &lt;تاريخ&gt; — ما جرى في يوم\n/today — منشور اليوم\n/battles — المعارك\n/subscribe — المنشور اليومي هنا\n/unsubscribe — إيقافه\n/about — عن البوت ومصادره";

/// Cuts a query to `MAX_QUERY_CHARS` characters.
pub fn clip(query: &str) -> &str {
    match query.char_indices().nth(MAX_QUERY_CHARS) {
        Some((i, _)) => &query[..i],
        None => query,
    }
}

/// The reply to free text: a question, a name, or a date.
pub fn reply(catalog: &Catalog, query: &str, style: Style, today: NaiveDate) -> Reply {
    let query = clip(query);
    // Normalized once; intent, dates and search all read the same words.
    let normalized = arabic::normalize(query);
    let words: Vec<String> = normalized
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let asked = intent_of(&words);
    let hits = catalog.index.search_words(&words);
    let store = &catalog.store;
    if let Some(date) = dates::parse_normalized(query, &normalized) {
        // A date and a name together («حرب أبريل 1941 في يوغوسلافيا»): the named
        // events of that date; the date alone otherwise.
        let named: Vec<&Event> = search::events(store, &hits.hits)
            .into_iter()
            .filter(|e| !hits.fuzzy && falls_in(e, date))
            .collect();
        return match named.as_slice() {
            [] => by_date(catalog, date, asked, style, today),
            [one] => answer(one, asked, query, style),
            many => list(many, asked, style, "وجدت أكثر من حدث:"),
        };
    }
    if let Some(reply) = veto(catalog, &hits, style, today) {
        return reply;
    }
    if hits.hits.is_empty() {
        return if hits.on_topic {
            no_match(catalog, style, today)
        } else {
            help()
        };
    }
    if hits.fuzzy {
        return did_you_mean(&search::events(store, &hits.hits), asked);
    }
    found(catalog, &hits, asked, query, style)
}

/// The events found by name: a list when the question does not single one out,
/// else one answer with the rest of its story.
fn found(
    catalog: &Catalog,
    hits: &search::Hits,
    asked: Intent,
    query: &str,
    style: Style,
) -> Reply {
    let store = &catalog.store;
    let heading = "وجدت أكثر من حدث:";
    if hits.weak {
        // Found through common words, a concept or people: those near the best,
        // listed, unless one stands out by a concept's weight.
        let best = hits.hits[0].score;
        let near = hits
            .hits
            .iter()
            .take_while(|h| best - h.score < 3.0)
            .take(10)
            .count();
        if near > 1 {
            return list(
                &search::events(store, &hits.hits[..near]),
                asked,
                style,
                heading,
            );
        }
    }
    if hits.bare_name {
        // A place or person alone names all its events, unless one owns the name.
        let all = search::events(store, &hits.hits[..hits.hits.len().min(10)]);
        return list(&all, asked, style, heading);
    }
    let ties = search::events(store, catalog.index.ties(&hits.hits));
    if ties.len() > 1 {
        return match one_story(&ties) {
            Some(story) => story_answer(&story, asked, query, style),
            None => list(&ties, asked, style, heading),
        };
    }
    let event = &store.all()[hits.hits[0].event];
    // The rest of its story, named with the answer (signed on 29 April, in
    // force on 2 May).
    let partners = event
        .related
        .iter()
        .filter_map(|id| store.get(id.as_str()))
        .filter(|other| same_story(event, other));
    let mut story = vec![event];
    story.extend(partners);
    story_answer(&story, asked, query, style)
}

/// A name found only through a typo: never a confident answer, «هل تقصد…؟».
fn did_you_mean(found: &[&Event], asked: Intent) -> Reply {
    let candidates = &found[..found.len().min(3)];
    let list = candidates
        .iter()
        .map(|e| format!("«{}»", escape(&e.title_ar)))
        .collect::<Vec<_>>()
        .join(" أو ");
    Reply {
        kind: ReplyKind::DidYouMean,
        events: candidates.iter().map(|e| e.id.to_string()).collect(),
        html: keep_rtl(&format!("هل تقصد {list}؟")),
        buttons: candidates.iter().map(|e| pick_button(e, asked)).collect(),
    }
}

/// A question that names something the catalog does not know — a place, a
/// person («تحرير وارسو») or a year no matching event spans («العلمين 1973») —
/// gets no confident answer about another event: it is told so, with the
/// events it came near as suggestions. Without the war's own words it is not
/// about the war at all («الشعلة الأولمبية»): the help.
fn veto(catalog: &Catalog, hits: &search::Hits, style: Style, today: NaiveDate) -> Option<Reply> {
    let unknown = (!hits.unknown.is_empty() || hits.mismatch) && !hits.fuzzy;
    if hits.year_mismatch.is_none() && !unknown {
        return None;
    }
    if !hits.war_words && hits.year_mismatch.is_none() {
        return Some(help());
    }
    let mut reply = no_match(catalog, style, today);
    let near: Vec<&Event> = search::events(&catalog.store, &hits.hits)
        .into_iter()
        .take(3)
        .collect();
    let what = match hits.year_mismatch {
        Some(year) => format!(
            "لا حدث في ذاكرتي يطابق سؤالك في سنة {}.",
            arabic::digits(year, style.digits)
        ),
        None if hits.unknown.is_empty() => "لم أجد في ذاكرتي حدثًا يطابق سؤالك.".to_owned(),
        None => format!(
            "لا أعرف «{}» في ذاكرتي عن هذه الحرب.",
            escape(&hits.unknown.join(" "))
        ),
    };
    if near.is_empty() {
        reply.html = keep_rtl(&format!("{what}\n{}", reply.html));
    } else {
        let lines: Vec<String> = near.iter().map(|e| event_line(e, style)).collect();
        reply.html = keep_rtl(&format!("{what}\nأقرب ما لدي:\n{}", lines.join("\n")));
        reply.buttons = near.iter().map(|e| pick_button(e, Intent::What)).collect();
    }
    Some(reply)
}

/// Events that are one story — of one kind, days apart, each linked to the others
/// through `related`, as a surrender signed on 29 April and taking effect on 2 May
/// — oldest first.
fn one_story<'a>(events: &[&'a Event]) -> Option<Vec<&'a Event>> {
    let all_linked = events
        .iter()
        .enumerate()
        .all(|(i, a)| events[i + 1..].iter().all(|b| same_story(a, b)));
    if !all_linked || events.len() > 3 {
        return None;
    }
    let mut story = events.to_vec();
    story.sort_by_key(|e| e.date);
    Some(story)
}

/// Two events of one kind, days apart, linked through `related`.
fn same_story(a: &Event, b: &Event) -> bool {
    (a.related.contains(&b.id) || b.related.contains(&a.id))
        && a.kind == b.kind
        && (a.date - b.date).num_days().abs() <= 10
}

/// One answer for one story (the event asked about first), naming the rest of
/// it with a button each.
fn story_answer(story: &[&Event], asked: Intent, query: &str, style: Style) -> Reply {
    let mut reply = answer(story[0], asked, query, style);
    if story.len() == 1 {
        return reply;
    }
    let rest: Vec<String> = story[1..].iter().map(|e| event_line(e, style)).collect();
    reply.html = keep_rtl(&format!(
        "{}\nوفي القصة نفسها:\n{}",
        reply.html,
        rest.join("\n")
    ));
    reply
        .buttons
        .extend(story[1..].iter().map(|e| pick_button(e, asked)));
    reply
}

/// The answer about one event for one intent.
pub fn answer(event: &Event, asked: Intent, query: &str, style: Style) -> Reply {
    let title = format!("<b>{}</b>", escape(&event.title_ar));
    let body = match asked {
        Intent::When => match event.end {
            Some(_) => format!("دار ذلك {}.", escape(&render::span_ar(event, style))),
            None => format!("وقع ذلك في {}.", escape(&render::span_ar(event, style))),
        },
        Intent::Where => match &event.place_ar {
            Some(place) => format!("المكان: {}.", escape(place)),
            None => "لم يُسجَّل مكانه في بياناتي.".into(),
        },
        Intent::Who => who(event),
        Intent::HowMany => how_many(event, query, style),
        Intent::Why => {
            let mut text = lead(event, style);
            if let Some(outcome) = &event.facts.outcome {
                text.push_str(&format!("\nالنتيجة: {}", escape(outcome)));
            }
            text
        }
        Intent::What => lead(event, style),
    };
    Reply {
        kind: ReplyKind::Answer,
        events: vec![event.id.to_string()],
        html: keep_rtl(&format!("{title}\n{body}")),
        buttons: vec![Button {
            text: "📖 القصة كاملة".into(),
            action: Action::Full(event.id.clone()),
        }],
    }
}

fn who(event: &Event) -> String {
    let facts = &event.facts;
    let mut lines = Vec::new();
    if let Some(actor) = &facts.actor {
        lines.push(format!("من قام بذلك: {}", escape(actor)));
    }
    if !facts.sides.is_empty() {
        lines.push(format!("الأطراف: {}", escape(&facts.sides.join("، "))));
    }
    if !facts.commanders.is_empty() {
        lines.push(format!("القادة: {}", escape(&facts.commanders.join("، "))));
    }
    if lines.is_empty() {
        return "لم تُسجَّل أطرافه في بياناتي.".into();
    }
    lines.join("\n")
}

/// The figure asked about: the one whose keywords or label share most words
/// with the question; all figures when none is named.
fn how_many(event: &Event, query: &str, style: Style) -> String {
    let figures = &event.facts.figures;
    if figures.is_empty() {
        return "لا أرقام مسجلة لهذا الحدث في بياناتي.".into();
    }
    let words: Vec<String> = arabic::words(query)
        .iter()
        .map(|w| strip_article(w).to_owned())
        .collect();
    let overlap = |f: &crate::core::event::Figure| {
        f.keywords
            .iter()
            .chain(std::iter::once(&f.label))
            .flat_map(|k| arabic::words(k))
            .filter(|k| {
                words.iter().any(|w| {
                    w == strip_article(k)
                        || w.strip_prefix('و').is_some_and(|r| r == strip_article(k))
                })
            })
            .count()
    };
    // On a tie the figure listed first wins: editors list the main figures first.
    let best = figures
        .iter()
        .rev()
        .map(|f| (overlap(f), f))
        .max_by_key(|(n, _)| *n);
    let shown: Vec<&crate::core::event::Figure> = match best {
        Some((n, f)) if n > 0 => vec![f],
        _ => figures.iter().take(4).collect(),
    };
    let digits = |s: &str| match style.digits {
        arabic::Digits::Western => s.to_owned(),
        arabic::Digits::Eastern => arabic::digits(s, arabic::Digits::Eastern),
    };
    shown
        .iter()
        .map(|f| format!("{}: {}", escape(&f.label), escape(&digits(&f.value))))
        .collect::<Vec<_>>()
        .join("\n")
}

fn strip_article(w: &str) -> &str {
    match w.strip_prefix("ال") {
        Some(rest) if rest.chars().count() >= 2 => rest,
        _ => w,
    }
}

/// The summary's first paragraph, cut after a sentence near 400 characters.
fn lead(event: &Event, style: Style) -> String {
    let first = event
        .summary_ar
        .split("\n\n")
        .next()
        .unwrap_or_default()
        .trim();
    let mut out = String::new();
    for sentence in first.split_inclusive(['.', '؟', '!']) {
        if !out.is_empty() && out.chars().count() + sentence.chars().count() > 400 {
            break;
        }
        out.push_str(sentence);
    }
    let out = match style.digits {
        arabic::Digits::Western => out,
        arabic::Digits::Eastern => arabic::digits(&out, arabic::Digits::Eastern),
    };
    escape(out.trim())
}

fn pick_button(event: &Event, asked: Intent) -> Button {
    let title: String = event.title_ar.chars().take(40).collect();
    Button {
        text: title,
        action: Action::Pick(event.id.clone(), asked),
    }
}

/// «• title (date)», escaped.
fn event_line(e: &Event, style: Style) -> String {
    format!(
        "• {} ({})",
        escape(&e.title_ar),
        escape(&render::date_ar(e.date, style))
    )
}

/// Several events, each a line and a button.
pub fn list(events: &[&Event], asked: Intent, style: Style, heading: &str) -> Reply {
    let lines: Vec<String> = events.iter().map(|e| event_line(e, style)).collect();
    Reply {
        kind: ReplyKind::List,
        events: events.iter().map(|e| e.id.to_string()).collect(),
        html: keep_rtl(&format!("{}\n{}", escape(heading), lines.join("\n"))),
        // Telegram shows up to 100 buttons; ten keeps the keyboard readable.
        buttons: events
            .iter()
            .take(10)
            .map(|e| pick_button(e, asked))
            .collect(),
    }
}

/// Whether an event is remembered on that day, or runs through that month
/// (أيلول 1944 → the Gothic Line).
fn falls_in(e: &Event, date: DateQuery) -> bool {
    match date {
        DateQuery::Day { .. } => date.matches(e.date),
        DateQuery::Month { month, year } => {
            let first = NaiveDate::from_ymd_opt(year, month, 1);
            let last = first
                .and_then(|f| f.checked_add_months(chrono::Months::new(1)))
                .and_then(|d| d.pred_opt());
            match (first, last) {
                (Some(first), Some(last)) => e.date <= last && e.end.unwrap_or(e.date) >= first,
                _ => false,
            }
        }
    }
}

fn by_date(
    catalog: &Catalog,
    date: DateQuery,
    asked: Intent,
    style: Style,
    today: NaiveDate,
) -> Reply {
    let store = &catalog.store;
    let found: Vec<&Event> = store.all().iter().filter(|e| falls_in(e, date)).collect();
    match found.len() {
        0 => {
            let when = match date {
                DateQuery::Day { month, day, year } => {
                    let name = arabic::month_name(month, style.months);
                    match year {
                        Some(y) => format!(
                            "{} {name} {}",
                            arabic::digits(day, style.digits),
                            arabic::digits(y, style.digits)
                        ),
                        None => format!("{} {name}", arabic::digits(day, style.digits)),
                    }
                }
                DateQuery::Month { month, year } => format!(
                    "{} {}",
                    arabic::month_name(month, style.months),
                    arabic::digits(year, style.digits)
                ),
            };
            let mut reply = no_match(catalog, style, today);
            reply.html = keep_rtl(&format!("لا حدث مسجّلًا في {}.\n{}", escape(&when), reply.html));
            reply
        }
        1 if matches!(date, DateQuery::Day { .. }) => answer(
            found[0],
            if asked == Intent::When {
                Intent::What
            } else {
                asked
            },
            "",
            style,
        ),
        _ => list(&found, asked, style, "في هذا التاريخ:"),
    }
}

fn no_match(catalog: &Catalog, style: Style, today: NaiveDate) -> Reply {
    // Up to three suggestions: the next anniversaries from today.
    let store = &catalog.store;
    let mut suggestions: Vec<&Event> = Vec::new();
    let mut day = today;
    while suggestions.len() < 3 {
        match store.next_after(day, Default::default()) {
            Some((next, events)) => {
                suggestions.extend(events.into_iter().take(3 - suggestions.len()));
                day = next;
            }
            None => break,
        }
    }
    let lines: Vec<String> = suggestions.iter().map(|e| event_line(e, style)).collect();
    let mut html = "عذرًا، لم أجد حدثًا يطابق سؤالك. جرّب اسم المعركة أو تاريخها.".to_owned();
    if !lines.is_empty() {
        html.push_str(&format!("\nمن الذكريات القادمة:\n{}", lines.join("\n")));
    }
    Reply {
        kind: ReplyKind::NoMatch,
        events: Vec::new(),
        html: keep_rtl(&html),
        buttons: suggestions
            .iter()
            .map(|e| pick_button(e, Intent::What))
            .collect(),
    }
}

pub fn help() -> Reply {
    Reply {
        kind: ReplyKind::Help,
        events: Vec::new(),
        html: keep_rtl(HELP),
        buttons: Vec::new(),
    }
}

/// Battles, offensives and landings, for `/battles`.
pub fn battles(catalog: &Catalog, style: Style) -> Reply {
    let events: Vec<&Event> = catalog
        .store
        .all()
        .iter()
        .filter(|e| matches!(e.kind, Kind::Battle | Kind::Offensive | Kind::Landing))
        .collect();
    list(&events, Intent::What, style, "المعارك والهجمات والإنزالات:")
}

/// Every event, for `/event` with no argument.
pub fn all_events(catalog: &Catalog, style: Style) -> Reply {
    let events: Vec<&Event> = catalog.store.all().iter().collect();
    let mut reply = list(&events, Intent::What, style, "الأحداث في ذاكرتي:");
    reply.buttons.clear();
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn catalog() -> Catalog {
        Catalog::new(
            crate::data::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap(),
        )
    }

    fn ask(q: &str) -> Reply {
        reply(
            &catalog(),
            q,
            Style::default(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        )
    }

    #[test]
    fn intents_in_standard_and_dialect_arabic() {
        assert_eq!(intent("متى دخل الحلفاء روما؟"), Intent::When);
        assert_eq!(intent("إمتى دخلوا روما"), Intent::When);
        assert_eq!(intent("قديش عدد الضحايا"), Intent::HowMany);
        assert_eq!(intent("وين صارت معركة كاسينو"), Intent::Where);
        assert_eq!(intent("فين"), Intent::Where);
        assert_eq!(intent("من استولى على كاسينو"), Intent::Who);
        assert_eq!(intent("السادس من حزيران"), Intent::What);
        assert_eq!(intent("شو صار بروما"), Intent::What);
        assert_eq!(intent("ليش قصفوا الدير"), Intent::Why);
    }

    #[test]
    fn answers_from_the_facts() {
        let r = ask("متى دخل الحلفاء روما؟");
        assert_eq!(
            (r.kind, r.events.as_slice()),
            (ReplyKind::Answer, &["rome-liberation".to_owned()][..])
        );
        assert!(r.html.contains("4 يونيو 1944"), "{}", r.html);
        // Issue 10: the sourced figures, not the first post's (see the audit).
        let r = ask("كم عدد ضحايا مونتي كاسينو؟");
        assert!(r.html.contains("55 ألفًا من الحلفاء"), "{}", r.html);
        assert!(!r.html.contains("185 ألف"), "{}", r.html);
        let r = ask("كم قاذفة شاركت في قصف روما؟");
        assert!(
            r.html.contains("500 طائرة") && !r.html.contains("طن"),
            "{}",
            r.html
        );
        let r = ask("كم طنا من القنابل في قصف روما");
        assert!(r.html.contains("1060 طنًا"), "{}", r.html);
        let r = ask("من استولى على مونتي كاسينو؟");
        assert!(r.html.contains("الفيلق الثاني البولندي"), "{}", r.html);
        let r = ask("أين وقعت معركة مونتي كاسينو؟");
        assert!(r.html.contains("جبل كاسينو"), "{}", r.html);
        assert_eq!(
            r.buttons[0].action,
            Action::Full(EventId::parse("monte-cassino").unwrap())
        );
    }

    #[test]
    fn dates_list_or_answer() {
        assert_eq!(ask("ماذا حدث في 19 يوليو 1943؟").events, ["rome-bombing"]);
        assert_eq!(ask("4 يونيو 1984").kind, ReplyKind::NoMatch);
        let r = ask("أيلول 1944");
        assert_eq!(r.kind, ReplyKind::List);
        assert!(r.events.contains(&"gothic-line".to_owned()));
        assert_eq!(ask("3 سبتمبر 1943").kind, ReplyKind::List);
    }

    #[test]
    fn off_topic_gets_help_and_unknown_battles_get_suggestions() {
        assert_eq!(ask("مرحبا").kind, ReplyKind::Help);
        assert_eq!(ask("كيف الطقس في روما اليوم").kind, ReplyKind::Help);
        let r = ask("متى وقعت معركة ستالينغراد؟");
        assert_eq!(r.kind, ReplyKind::NoMatch);
        assert!(!r.buttons.is_empty() && r.buttons.len() <= 3);
    }

    #[test]
    fn long_queries_are_cut() {
        let q = "مونتي كاسينو ".repeat(100);
        assert_eq!(clip(&q).chars().count(), MAX_QUERY_CHARS);
        assert_eq!(ask(&q).kind, ReplyKind::Answer);
    }
}
