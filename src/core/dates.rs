//! Dates written in questions: «4 يونيو 1944», «٤ حزيران ١٩٤٤», «4 جوان»,
//! «السادس من حزيران», «04-06», «4/6/1944», ISO dates, and a month with a year
//! («أيلول 1944»). A month word counts only beside a number (آب is also "father",
//! مارس "he practised"), and month names are never matched fuzzily (يونيو/يوليو).

use std::sync::OnceLock;

use chrono::NaiveDate;

use crate::core::arabic;

/// A date asked about: a day of a month (perhaps of a year), or a month of a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateQuery {
    Day {
        month: u32,
        day: u32,
        year: Option<i32>,
    },
    Month {
        month: u32,
        year: i32,
    },
}

impl DateQuery {
    /// Whether `date` is the day (or in the month) asked about.
    pub fn matches(&self, date: NaiveDate) -> bool {
        use chrono::Datelike;
        match *self {
            DateQuery::Day { month, day, year } => {
                date.month() == month && date.day() == day && year.is_none_or(|y| y == date.year())
            }
            DateQuery::Month { month, year } => date.month() == month && date.year() == year,
        }
    }
}

fn months() -> &'static [(Vec<String>, u32)] {
    static MONTHS: OnceLock<Vec<(Vec<String>, u32)>> = OnceLock::new();
    MONTHS.get_or_init(|| {
        arabic::month_spellings()
            .into_iter()
            .map(|(name, m)| (name.split(' ').map(str::to_owned).collect(), m))
            .collect()
    })
}

fn ordinals() -> &'static [(Vec<String>, u32)] {
    static ORDINALS: OnceLock<Vec<(Vec<String>, u32)>> = OnceLock::new();
    ORDINALS.get_or_init(|| {
        const UNITS: [&str; 9] = [
            "الاول",
            "الثاني",
            "الثالث",
            "الرابع",
            "الخامس",
            "السادس",
            "السابع",
            "الثامن",
            "التاسع",
        ];
        let mut all: Vec<(String, u32)> = Vec::new();
        for (i, u) in UNITS.iter().enumerate() {
            all.push(((*u).to_owned(), i as u32 + 1));
        }
        all.push(("العاشر".into(), 10));
        all.push(("الحادي عشر".into(), 11));
        for (i, u) in UNITS.iter().enumerate().skip(1) {
            all.push((format!("{u} عشر"), i as u32 + 11));
        }
        all.push(("العشرين".into(), 20));
        all.push(("الحادي والعشرين".into(), 21));
        for (i, u) in UNITS.iter().enumerate().skip(1) {
            all.push((format!("{u} والعشرين"), i as u32 + 21));
        }
        all.push(("الثلاثين".into(), 30));
        all.push(("الحادي والثلاثين".into(), 31));
        let mut all: Vec<(Vec<String>, u32)> = all
            .into_iter()
            .map(|(s, n)| (s.split(' ').map(str::to_owned).collect(), n))
            .collect();
        // Longest first: «الثاني عشر» before «الثاني».
        all.sort_by_key(|(phrase, _)| std::cmp::Reverse(phrase.len()));
        all
    })
}

/// One clitic a month word may carry (بيونيو، وحزيران، لشهر…).
fn strip_clitic(word: &str) -> Option<&str> {
    ["و", "ف", "ب", "ل", "ك"]
        .iter()
        .find_map(|c| word.strip_prefix(c))
        .filter(|w| !w.is_empty())
}

/// The month starting at `words[i]`, with how many words it spans.
fn month_at(words: &[String], i: usize) -> Option<(u32, usize)> {
    for (phrase, m) in months() {
        if words.len() >= i + phrase.len() {
            let first_ok =
                words[i] == phrase[0] || strip_clitic(&words[i]) == Some(phrase[0].as_str());
            if first_ok && phrase[1..].iter().zip(&words[i + 1..]).all(|(p, w)| p == w) {
                return Some((*m, phrase.len()));
            }
        }
    }
    None
}

fn ordinal_at(words: &[String], i: usize) -> Option<(u32, usize)> {
    ordinals().iter().find_map(|(phrase, n)| {
        (words.len() >= i + phrase.len() && phrase.iter().zip(&words[i..]).all(|(p, w)| p == w))
            .then_some((*n, phrase.len()))
    })
}

fn number(word: &str) -> Option<u32> {
    (!word.is_empty() && word.len() <= 4 && word.bytes().all(|b| b.is_ascii_digit()))
        .then(|| word.parse().ok())
        .flatten()
}

fn as_year(n: u32) -> Option<i32> {
    (1000..=2999).contains(&n).then_some(n as i32)
}

fn day_query(month: u32, day: u32, year: Option<i32>) -> Option<DateQuery> {
    // Validate against a leap year so 29 February is accepted without a year.
    NaiveDate::from_ymd_opt(year.unwrap_or(2000), month, day)?;
    Some(DateQuery::Day { month, day, year })
}

/// Finds the first date in free text, if any.
pub fn parse(text: &str) -> Option<DateQuery> {
    numeric(text).or_else(|| worded(&arabic::normalize(text)))
}

/// `parse` for a caller that already has `arabic::normalize(text)`.
pub fn parse_normalized(text: &str, normalized: &str) -> Option<DateQuery> {
    numeric(text).or_else(|| worded(normalized))
}

/// `1944-06-04`, `4/6/1944`, `04-06`, `4.6.1944` (day before month, as written in Arabic).
fn numeric(text: &str) -> Option<DateQuery> {
    let folded: String = text
        .chars()
        .map(|c| match c {
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            c => c,
        })
        .collect();
    for token in folded.split(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '/' | '.'))) {
        let sep = match token.chars().find(|c| matches!(c, '-' | '/' | '.')) {
            Some(s) => s,
            None => continue,
        };
        let parts: Vec<&str> = token.split(sep).filter(|p| !p.is_empty()).collect();
        let nums: Vec<u32> = parts.iter().filter_map(|p| number(p)).collect();
        if nums.len() != parts.len() {
            continue;
        }
        let found = match (nums.as_slice(), parts.first().map(|p| p.len())) {
            ([y, m, d], Some(4)) => as_year(*y).and_then(|y| day_query(*m, *d, Some(y))),
            ([d, m, y], _) if parts[2].len() == 4 => {
                as_year(*y).and_then(|y| day_query(*m, *d, Some(y)))
            }
            ([d, m], _) if parts[0].len() <= 2 && parts[1].len() <= 2 => day_query(*m, *d, None),
            ([m, y], _) if parts[0].len() <= 2 && parts[1].len() == 4 => as_year(*y)
                .map(|year| DateQuery::Month { month: *m, year })
                .filter(|_| (1..=12).contains(m)),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// «4 يونيو 1944», «السادس من حزيران», «أيلول 1944», on normalized text.
fn worded(normalized: &str) -> Option<DateQuery> {
    let words: Vec<String> = normalized.split(' ').map(str::to_owned).collect();
    let mut i = 0;
    while i < words.len() {
        if let Some((month, len)) = month_at(&words, i) {
            // The day before the month: «4 يونيو», «4 من يونيو», «السادس من حزيران».
            let mut before = i;
            if before > 0 && words[before - 1] == "من" {
                before -= 1;
            }
            let day = (before > 0)
                .then(|| number(&words[before - 1]))
                .flatten()
                .filter(|d| (1..=31).contains(d))
                .or_else(|| {
                    ordinals().iter().find_map(|(phrase, n)| {
                        let start = before.checked_sub(phrase.len())?;
                        (ordinal_at(&words, start) == Some((*n, phrase.len()))).then_some(*n)
                    })
                });
            // The year after: «يونيو 1944», «يونيو عام 1944», «يونيو سنة 1944».
            let mut after = i + len;
            if after < words.len() && matches!(words[after].as_str(), "عام" | "سنه" | "من")
            {
                after += 1;
            }
            let year = words.get(after).and_then(|w| number(w)).and_then(as_year);
            match (day, year) {
                (Some(day), year) => {
                    if let Some(q) = day_query(month, day, year) {
                        return Some(q);
                    }
                }
                (None, Some(year)) => return Some(DateQuery::Month { month, year }),
                // A month word alone is not a date (آب "father", مارس "practised").
                (None, None) => {}
            }
            i += len;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(month: u32, day: u32, year: Option<i32>) -> Option<DateQuery> {
        Some(DateQuery::Day { month, day, year })
    }

    #[test]
    fn every_form_of_the_issue() {
        assert_eq!(parse("4 يونيو 1944"), day(6, 4, Some(1944)));
        assert_eq!(parse("٤ حزيران ١٩٤٤"), day(6, 4, Some(1944)));
        assert_eq!(parse("4 جوان"), day(6, 4, None));
        assert_eq!(parse("السادس من حزيران"), day(6, 6, None));
        assert_eq!(parse("04-06"), day(6, 4, None));
        assert_eq!(parse("4/6/1944"), day(6, 4, Some(1944)));
        assert_eq!(parse("1944-06-04"), day(6, 4, Some(1944)));
        assert_eq!(
            parse("أيلول 1944"),
            Some(DateQuery::Month {
                month: 9,
                year: 1944
            })
        );
        assert_eq!(parse("ماذا حدث في 19 يوليه 1943؟"), day(7, 19, Some(1943)));
        assert_eq!(parse("25 نيسان"), day(4, 25, None));
        assert_eq!(parse("الحادي عشر من مايو"), day(5, 11, None));
        assert_eq!(parse("10 أوت"), day(8, 10, None));
        assert_eq!(parse("3 شتنبر 1943"), day(9, 3, Some(1943)));
        assert_eq!(parse("13 تشرين الأول"), day(10, 13, None));
        assert_eq!(parse("22 كانون الثاني 1944"), day(1, 22, Some(1944)));
        assert_eq!(parse("في 4 من يونيو عام 1944"), day(6, 4, Some(1944)));
        assert_eq!(
            parse("ب4 يونيو"),
            None,
            "a digit glued to a clitic is not a day"
        );
        assert_eq!(parse("June 6"), None, "English day after month is not read");
        assert_eq!(parse("6 June 1944"), day(6, 6, Some(1944)));
    }

    #[test]
    fn a_month_word_alone_is_no_date() {
        assert_eq!(parse("آب الشهيد"), None);
        assert_eq!(parse("مارس الرياضة"), None);
        assert_eq!(parse("يونيو"), None);
    }

    #[test]
    fn months_are_never_fuzzy() {
        assert_eq!(parse("4 يونيو"), day(6, 4, None));
        assert_eq!(parse("4 يوليو"), day(7, 4, None));
        assert_eq!(
            parse("4 يونيوو"),
            day(6, 4, None),
            "elongation is folded, not fuzzed"
        );
        assert_eq!(parse("4 يونبو"), None);
    }

    #[test]
    fn impossible_dates_are_not_dates() {
        assert_eq!(parse("30 فبراير"), None);
        assert_eq!(parse("29/2"), day(2, 29, None));
        assert_eq!(parse("29/2/1943"), None);
        assert_eq!(parse("45-13"), None);
    }
}
