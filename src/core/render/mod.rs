//! Turning events and answers into Telegram HTML: escaping, keeping Arabic lines
//! right-to-left, and splitting at Telegram's message limit. Knows Telegram's
//! limits, not teloxide.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::core::arabic::{self, Digits, MonthStyle};
use crate::core::catalog::EventStore;
use crate::core::event::Event;

/// Telegram's message limit, counted in UTF-16 code units to be safe.
pub const MESSAGE_LIMIT: usize = 4096;

/// Telegram's caption limit (a photo's text), in UTF-16 code units.
pub const CAPTION_LIMIT: usize = 1024;

/// U+200F RIGHT-TO-LEFT MARK: a strong RTL character Telegram sees first.
pub const RLM: char = '\u{200F}';

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Style {
    pub months: MonthStyle,
    pub digits: Digits,
}

/// Escapes text for Telegram's HTML parse mode (only `<`, `>`, `&` and `"` have entities).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// «4 يونيو 1944» in the chosen style.
pub fn date_ar(date: NaiveDate, style: Style) -> String {
    format!(
        "{} {} {}",
        arabic::digits(date.day(), style.digits),
        arabic::month_name(date.month(), style.months),
        arabic::digits(date.year(), style.digits)
    )
}

/// «4 يونيو» without the year.
pub fn day_month_ar(date: NaiveDate, style: Style) -> String {
    format!(
        "{} {}",
        arabic::digits(date.day(), style.digits),
        arabic::month_name(date.month(), style.months)
    )
}

/// «من 10 سبتمبر 1944 إلى 31 ديسمبر 1944», or the single date.
pub fn span_ar(event: &Event, style: Style) -> String {
    match event.end {
        Some(end) if end != event.date => {
            format!(
                "من {} إلى {}",
                date_ar(event.date, style),
                date_ar(end, style)
            )
        }
        _ => date_ar(event.date, style),
    }
}

/// Applies `digits` to the Western digits inside free text from the data files.
fn localize_digits(text: &str, style: Style) -> String {
    match style.digits {
        Digits::Western => text.to_owned(),
        Digits::Eastern => arabic::digits(text, Digits::Eastern),
    }
}

/// How a post is laid out beyond its [`Style`]: deep links and folding.
#[derive(Debug, Clone, Copy, Default)]
pub struct Layout<'a> {
    pub style: Style,
    /// The bot's @username: each «ذات صلة» item links to `t.me/<bot>?start=<id>`,
    /// which opens that event's story in a private chat. None: plain titles.
    pub bot: Option<&'a str>,
    /// A long story goes into an expandable blockquote, so a day's post stays
    /// readable in one screen (posts to channels; not a story asked for).
    pub fold: bool,
}

impl<'a> Layout<'a> {
    /// No links, no folding: the terminal's preview and tests.
    pub fn plain(style: Style) -> Self {
        Self {
            style,
            bot: None,
            fold: false,
        }
    }
}

/// A story longer than this (UTF-16 units of its paragraphs) is folded in a post.
/// About ten lines on a phone: the first lines stay visible above «Show more».
pub const FOLD_AFTER: usize = 700;

/// The HTML of one event's block in a daily post; `related` are the events it links to.
pub fn event_block(event: &Event, related: &[&Event], layout: Layout<'_>) -> String {
    let style = layout.style;
    let mut paragraphs = Vec::new();
    paragraphs.push(format!(
        "<b>في مثل هذا اليوم {}م</b>\n<b>{}</b>",
        escape(&date_ar(event.date, style)),
        escape(&event.title_ar)
    ));
    let story: Vec<String> = event
        .summary_ar
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| escape(&localize_digits(p, style)))
        .collect();
    let story = story.join("\n\n");
    if layout.fold && utf16_len(&story) > FOLD_AFTER {
        paragraphs.push(format!("<blockquote expandable>{story}</blockquote>"));
    } else if !story.is_empty() {
        paragraphs.push(story);
    }
    if let Some(note) = &event.note_ar {
        paragraphs.push(format!(
            "<i>ملاحظة: {}</i>",
            escape(&localize_digits(note, style))
        ));
    }
    if !related.is_empty() {
        let list: Vec<String> = related.iter().map(|r| related_item(r, layout)).collect();
        paragraphs.push(format!("ذات صلة: {}", list.join("، ")));
    }
    paragraphs.push(sources_html(event));
    paragraphs.join("\n\n")
}

/// «title (date)», the title a deep link to the event's story when the bot is known.
fn related_item(event: &Event, layout: Layout<'_>) -> String {
    let title = escape(&event.title_ar);
    let date = escape(&date_ar(event.date, layout.style));
    match layout.bot {
        // Event ids are slugs (a-z, 0-9, '-', ≤ 48), which Telegram's start
        // parameter accepts as they are.
        Some(bot) => format!(
            "<a href=\"https://t.me/{}?start={}\">{title}</a> ({date})",
            escape(bot),
            event.id
        ),
        None => format!("{title} ({date})"),
    }
}

/// The sources a reader can open. A source without an address is an editor's
/// reference (the project's first post, a printed book) and stays in the data only.
fn sources_html(event: &Event) -> String {
    let mut s = String::from("المصادر:");
    for source in &event.sources {
        if let Some(url) = &source.url {
            let (url, title) = (escape(url), escape(&source.title));
            s.push_str(&format!("\n• <a href=\"{url}\">{title}</a>"));
        }
    }
    s
}

/// The day's post: every event of the day in year order, as messages ready to send.
pub fn post(events: &[&Event], store: &EventStore, layout: Layout<'_>) -> Vec<String> {
    let body = events
        .iter()
        .map(|e| {
            let related: Vec<&Event> = e
                .related
                .iter()
                .filter_map(|id| store.get(id.as_str()))
                .collect();
            event_block(e, &related, layout)
        })
        .collect::<Vec<_>>()
        .join("\n\n— — —\n\n");
    split(&keep_rtl(&body), MESSAGE_LIMIT)
}

/// Prefixes RLM to every line whose first visible character is not an Arabic
/// letter, so Telegram does not lay a line that opens with «1944» or «WSC» out
/// left-to-right.
pub fn keep_rtl(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    // Preformatted text (paths, error lists) is left as it is.
    let mut in_pre = false;
    for (i, line) in html.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let opens_pre = line.trim_start().starts_with("<pre>");
        if !in_pre || opens_pre {
            match first_visible(line) {
                Some(c) if !arabic::is_arabic_letter(c) && c != RLM && !opens_pre => out.push(RLM),
                _ => {}
            }
        }
        if line.contains("<pre>") {
            in_pre = true;
        }
        if line.contains("</pre>") {
            in_pre = false;
        }
        out.push_str(line);
    }
    out
}

/// The first character of a line that Telegram shows (outside tags; an entity counts as a symbol).
fn first_visible(line: &str) -> Option<char> {
    let mut in_tag = false;
    for c in line.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c if c.is_whitespace() => {}
            c => return Some(c),
        }
    }
    None
}

/// What a reader sees: tags removed and entities decoded (for terminals and logs).
pub fn to_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c => out.push(c),
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// UTF-16 length, the unit of Telegram's limits.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits HTML into parts of at most `limit` UTF-16 units: between paragraphs when
/// possible, then after sentences, then between words, and only as a last resort
/// inside a word; never inside a tag or an entity. Tags open at a cut are closed
/// at the end of the part and reopened at the start of the next.
pub fn split(html: &str, limit: usize) -> Vec<String> {
    let html = html.trim();
    if html.is_empty() {
        return Vec::new();
    }
    if utf16_len(html) <= limit {
        return vec![html.to_owned()];
    }
    let tokens = tokenize(html);
    let shapes: Vec<Shape> = tokens.iter().map(|t| Shape::of(t)).collect();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut open: Vec<String> = Vec::new();
    while start < tokens.len() {
        let prefix: String = open.iter().map(|t| t.to_string()).collect();
        let end = cut(&tokens, &shapes, start, &open, utf16_len(&prefix), limit);
        let mut stack_at_end = open.clone();
        for t in &tokens[start..end] {
            apply_tag(&mut stack_at_end, t);
        }
        let mut part = prefix;
        for t in &tokens[start..end] {
            part.push_str(t);
        }
        for o in stack_at_end.iter().rev() {
            part.push_str(&close_tag(o));
        }
        let trimmed = trim_part(&part);
        if !trimmed.is_empty() {
            parts.push(trimmed);
        }
        open = stack_at_end;
        start = end;
        // Skip the separating whitespace so the next part does not open with it.
        while start < tokens.len()
            && tokens[start].trim().is_empty()
            && !tokens[start].starts_with('<')
        {
            start += 1;
        }
    }
    parts
}

fn trim_part(part: &str) -> String {
    part.trim_matches(|c: char| c.is_whitespace()).to_owned()
}

/// Tags, entities, words and whitespace runs; a tag or entity is never cut.
fn tokenize(html: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let len = if rest.starts_with('<') {
            rest.find('>').map_or(rest.len(), |e| e + 1)
        } else if rest.starts_with('&') {
            match rest.find(';') {
                Some(e) if e <= 8 => e + 1,
                _ => 1,
            }
        } else if bytes[i].is_ascii_whitespace() {
            rest.find(|c: char| !c.is_ascii_whitespace())
                .unwrap_or(rest.len())
        } else {
            // A word: up to whitespace, a tag or an entity. A very long word is cut
            // every 32 characters (at most 64 UTF-16 units), so any limit holds it.
            let end = rest
                .find(|c: char| c.is_ascii_whitespace() || c == '<' || c == '&')
                .unwrap_or(rest.len());
            let mut take = end;
            if rest[..end].chars().count() > 32 {
                take = rest.char_indices().nth(32).map_or(end, |(b, _)| b);
            }
            take.max(rest.chars().next().map_or(1, char::len_utf8))
        };
        tokens.push(&html[i..i + len]);
        i += len;
    }
    tokens
}

/// What a token is, as far as a cut beside it goes: read once per token, since
/// each token is ranked twice, as the one after a cut and the one before it
/// (reading the text at every rank was a fifth of the day check at start-up:
/// callgrind, 10,000 events).
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    paragraph: bool,
    line: bool,
    space: bool,
    tag: bool,
    sentence_end: bool,
}

impl Shape {
    fn of(t: &str) -> Self {
        Self {
            paragraph: t.as_bytes().windows(2).any(|w| w == b"\n\n"),
            line: t.as_bytes().contains(&b'\n'),
            space: !t.is_empty() && t.trim().is_empty(),
            tag: t.starts_with('<'),
            sentence_end: t.ends_with(['.', '!', '?', '؟', '؛', ':', '…', '»']),
        }
    }
}

/// How good a cut after token `i - 1` is: 4 between paragraphs, 3 after a line, 2 after
/// a sentence, 1 between words or at a tag, 0 inside a word.
fn boundary_rank(shapes: &[Shape], i: usize) -> u8 {
    let next = shapes.get(i).copied().unwrap_or_default();
    let prev = if i > 0 {
        shapes[i - 1]
    } else {
        Shape::default()
    };
    if next.paragraph || prev.paragraph {
        4
    } else if next.line || prev.line {
        3
    } else if next.space && prev.sentence_end {
        2
    } else if next.space || prev.space || next.tag || prev.tag {
        1
    } else {
        0
    }
}

fn tag_name(tag: &str) -> &str {
    let inner = tag.trim_start_matches('<').trim_start_matches('/');
    let end = inner
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(inner.len());
    &inner[..end]
}

fn apply_tag(stack: &mut Vec<String>, token: &str) {
    if !token.starts_with('<') {
        return;
    }
    if token.starts_with("</") {
        let name = tag_name(token);
        if let Some(pos) = stack.iter().rposition(|o| tag_name(o) == name) {
            stack.truncate(pos);
        }
    } else if !token.ends_with("/>") {
        stack.push(token.to_owned());
    }
}

/// Where the part that begins at token `start` ends: the best boundary that
/// fits `limit` with `used` units already taken and the tags open at its cut
/// closed. Only a tag changes what a cut must close, and what it would close is
/// worked out on the open tags in place (copying them at every token, then at
/// every tag, was most of `data::check_days` at start-up: perf, callgrind,
/// 10,000 events).
fn cut(
    tokens: &[&str],
    shapes: &[Shape],
    start: usize,
    open: &[String],
    mut used: usize,
    limit: usize,
) -> usize {
    let mut stack = open.to_vec();
    let mut closing = closing_len(&stack);
    let mut best: Option<(usize, u8)> = None;
    let mut i = start;
    while i < tokens.len() {
        let t = tokens[i];
        let len = utf16_len(t);
        let next_closing = if shapes[i].tag {
            closing_after(&stack, closing, t)
        } else {
            closing
        };
        if used + len + next_closing > limit {
            break;
        }
        used += len;
        apply_tag(&mut stack, t);
        closing = next_closing;
        i += 1;
        let rank = boundary_rank(shapes, i);
        if best.is_none_or(|b| rank >= b.1) {
            best = Some((i, rank));
        }
    }
    match best {
        _ if i >= tokens.len() => tokens.len(),
        Some((end, _)) => end,
        // A single token longer than the limit cannot be placed; take it alone
        // (tokens are at most one word or entity, so this needs a pathological word).
        None => start + 1,
    }
}

/// `closing_len` of `stack` once `tag` is applied to it (as `apply_tag` does),
/// without copying the stack.
fn closing_after(stack: &[String], closing: usize, tag: &str) -> usize {
    if tag.starts_with("</") {
        let name = tag_name(tag);
        match stack.iter().rposition(|o| tag_name(o) == name) {
            Some(pos) => closing_len(&stack[..pos]),
            None => closing,
        }
    } else if tag.ends_with("/>") {
        closing
    } else {
        closing + tag_name(tag).len() + 3
    }
}

/// The length of the closing tags of `stack` (`</b>` is the name and 3).
fn closing_len(stack: &[String]) -> usize {
    stack.iter().map(|o| tag_name(o).len() + 3).sum()
}

fn close_tag(open: &str) -> String {
    format!("</{}>", tag_name(open))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::core::event::{EventId, Facts, Kind, Source};

    fn sample(title: &str, summary: &str) -> Event {
        Event {
            id: EventId::parse("sample").unwrap(),
            kind: Kind::Battle,
            theatre: crate::core::event::Theatre::Italy,
            coords: None,
            title_ar: title.into(),
            title_en: "Sample".into(),
            aliases: vec![],
            date: NaiveDate::from_ymd_opt(1944, 6, 4).unwrap(),
            end: None,
            place_ar: None,
            summary_ar: summary.into(),
            note_ar: None,
            facts: Facts::default(),
            related: vec![],
            sources: vec![Source {
                title: "R & D".into(),
                url: Some("https://example.org/?a=1&b=2".into()),
            }],
        }
    }

    /// Issue 14: «ذات صلة» items open the related story through the bot's deep link.
    #[test]
    fn related_events_link_to_their_story_when_the_bot_is_known() {
        let e = sample("معركة", "نص");
        let mut r = sample("حدث <ذو صلة>", "نص");
        r.id = EventId::parse("rome-liberation").unwrap();
        let linked = Layout {
            bot: Some("DhikraBot"),
            ..Layout::default()
        };
        let html = event_block(&e, &[&r], linked);
        assert!(
            html.contains(
                "<a href=\"https://t.me/DhikraBot?start=rome-liberation\">حدث &lt;ذو صلة&gt;</a> (4 يونيو 1944)"
            ),
            "{html}"
        );
        let plain = event_block(&e, &[&r], Layout::default());
        assert!(!plain.contains("t.me"), "{plain}");
        assert!(
            plain.contains("حدث &lt;ذو صلة&gt; (4 يونيو 1944)"),
            "{plain}"
        );
    }

    /// Issue 14: a long story folds into an expandable blockquote in a post, and
    /// stays whole across a split (the tag is closed and reopened).
    #[test]
    fn a_long_story_folds_and_a_short_one_does_not() {
        let fold = Layout {
            fold: true,
            ..Layout::default()
        };
        let short = event_block(&sample("معركة", "نص قصير."), &[], fold);
        assert!(!short.contains("blockquote"), "{short}");
        let long_story = "جملة عربية طويلة بعض الشيء عن المعركة. ".repeat(40);
        let long = sample("معركة", &long_story);
        let folded = event_block(&long, &[], fold);
        assert!(folded.contains("<blockquote expandable>جملة"), "{folded}");
        assert!(!event_block(&long, &[], Layout::default()).contains("blockquote"));
        let huge = sample(
            "معركة",
            &"جملة عربية طويلة بعض الشيء عن المعركة. ".repeat(200),
        );
        let parts = post(&[&huge], &EventStore::default(), fold);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(utf16_len(p) <= MESSAGE_LIMIT);
            assert_eq!(
                p.matches("<blockquote").count(),
                p.matches("</blockquote>").count(),
                "{p}"
            );
        }
        assert!(
            parts[1].starts_with("<blockquote expandable>"),
            "{}",
            parts[1]
        );
    }

    /// Issue 10: readers see public sources only; an editor's reference stays in the data.
    #[test]
    fn a_source_without_an_address_is_not_shown() {
        let mut e = sample("معركة", "نص");
        e.sources.push(Source {
            title: "منشور تحريري".into(),
            url: None,
        });
        let parts = post(&[&e], &EventStore::default(), Layout::default());
        assert!(!parts[0].contains("منشور تحريري"), "{}", parts[0]);
        assert!(parts[0].contains("R &amp; D"), "{}", parts[0]);
    }

    #[test]
    fn titles_and_sources_are_escaped() {
        let e = sample("معركة <b>&", "نص");
        let parts = post(&[&e], &EventStore::default(), Layout::default());
        assert_eq!(parts.len(), 1);
        assert!(
            parts[0].contains("<b>معركة &lt;b&gt;&amp;</b>"),
            "{}",
            parts[0]
        );
        assert!(parts[0].contains("href=\"https://example.org/?a=1&amp;b=2\">R &amp; D</a>"));
    }

    #[test]
    fn a_ten_thousand_character_summary_splits_into_valid_parts() {
        let sentence = "دارت المعارك في الجبال شهورًا طويلة دون تقدم يذكر. ";
        let mut summary = String::new();
        while summary.chars().count() < 10_000 {
            summary.push_str(sentence);
        }
        let e = sample("معركة طويلة", &summary);
        let parts = post(&[&e], &EventStore::default(), Layout::default());
        assert!(parts.len() >= 3, "{}", parts.len());
        for p in &parts {
            assert!(utf16_len(p) <= MESSAGE_LIMIT);
            assert_eq!(p.matches("<b>").count(), p.matches("</b>").count());
            assert_eq!(p.matches("<a ").count(), p.matches("</a>").count());
            assert!(!p.ends_with('&') && !p.contains("&amp") || p.contains("&amp;"));
        }
        let words: usize = parts.iter().map(|p| p.matches("المعارك").count()).sum();
        assert_eq!(
            words,
            summary.matches("المعارك").count(),
            "no text lost or repeated"
        );
        assert!(parts[0].starts_with("<b>في مثل هذا اليوم 4 يونيو 1944م</b>"));
    }

    #[test]
    fn eastern_digits_and_levantine_months() {
        let e = sample("معركة", "في 4 يونيو 1944 دخلوا.");
        let style = Style {
            months: MonthStyle::Levantine,
            digits: Digits::Eastern,
        };
        let html = post(&[&e], &EventStore::default(), Layout::plain(style)).concat();
        assert!(html.contains("في مثل هذا اليوم ٤ حزيران ١٩٤٤م"), "{html}");
        assert!(html.contains("في ٤ يونيو ١٩٤٤ دخلوا"), "{html}");
    }

    #[test]
    fn escapes_html_specials() {
        assert_eq!(escape("<b>&\"x\""), "&lt;b&gt;&amp;&quot;x&quot;");
    }

    #[test]
    fn lines_opening_with_digits_or_latin_get_an_rlm() {
        let out = keep_rtl("في روما\n1944 عام\n<b>WSC</b> وافق\n<b>أوافق</b>");
        let lines: Vec<&str> = out.split('\n').collect();
        assert!(!lines[0].starts_with(RLM));
        assert!(lines[1].starts_with(RLM));
        assert!(lines[2].starts_with(RLM));
        assert!(!lines[3].starts_with(RLM));
        // Idempotent.
        assert_eq!(keep_rtl(&out), out);
    }

    #[test]
    fn preformatted_lines_get_no_marks() {
        let out = keep_rtl("خطأ:\n<pre>data/x.toml:1:1: bad\nline two</pre>\nبعده");
        assert_eq!(out, "خطأ:\n<pre>data/x.toml:1:1: bad\nline two</pre>\nبعده");
    }

    #[test]
    fn short_text_is_one_part() {
        assert_eq!(split("نص قصير", 4096), vec!["نص قصير".to_owned()]);
        assert!(split("  ", 4096).is_empty());
    }

    #[test]
    fn splits_on_paragraphs_first() {
        let a = "أ".repeat(3000);
        let b = "ب".repeat(3000);
        let parts = split(&format!("{a}\n\n{b}"), 4096);
        assert_eq!(parts, vec![a, b]);
    }

    #[test]
    fn long_paragraph_splits_after_sentences_and_keeps_tags_balanced() {
        let sentence = "هذه جملة عربية طويلة نسبيا &amp; فيها رمز. ";
        let html = format!("<b>{}</b>", sentence.repeat(400));
        let parts = split(&html, 4096);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(utf16_len(p) <= 4096, "{}", utf16_len(p));
            assert!(p.starts_with("<b>") && p.ends_with("</b>"), "{p:.40}");
            assert_eq!(p.matches("<b>").count(), p.matches("</b>").count());
            assert!(!p.contains("&amp") || p.matches("&amp;").count() == p.matches("&amp").count());
        }
        assert!(
            parts[..parts.len() - 1]
                .iter()
                .all(|p| p.trim_end_matches("</b>").ends_with('.'))
        );
        let rejoined: String = parts
            .iter()
            .map(|p| p.trim_start_matches("<b>").trim_end_matches("</b>"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(rejoined.matches("جملة").count(), 400);
    }

    #[test]
    fn counts_utf16_not_chars() {
        // Each emoji is two UTF-16 units.
        let text = "😀".repeat(3000);
        let parts = split(&text, 4096);
        assert!(parts.iter().all(|p| utf16_len(p) <= 4096));
        assert_eq!(parts.concat().chars().count(), 3000);
    }
}
