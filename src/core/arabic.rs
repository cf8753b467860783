//! Arabic text: the one normalization used for both the search index and every
//! query, the month names of each region, and digits.

use serde::{Deserialize, Serialize};
use std::str::FromStr;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Arabic letters proper (not digits, punctuation or tashkeel).
pub fn is_arabic_letter(c: char) -> bool {
    matches!(c, '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' | '\u{0671}'..='\u{06D3}' | '\u{06FA}'..='\u{06FC}')
}

pub fn has_arabic_letter(s: &str) -> bool {
    s.chars().any(is_arabic_letter)
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}' | '\u{2060}' | '\u{00AD}')
}

fn is_tashkeel_or_tatweel(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}')
}

fn fold_letter(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' | 'ی' | 'ئ' => 'ي',
        'ؤ' => 'و',
        'ة' => 'ه',
        'ک' | 'گ' => 'ك',
        'پ' => 'ب',
        'چ' => 'ج',
        'ڤ' => 'ف',
        '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
        '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
        _ => c,
    }
}

/// The normalization of the search issue, in its order: NFKC; drop invisible and
/// direction marks; drop tashkeel and tatweel; fold letter variants and digits;
/// lowercase Latin; turn punctuation into spaces; collapse spaces and any letter
/// repeated three or more times (رووووما → روما).
pub fn normalize(input: &str) -> String {
    // Almost all text is already NFKC; the index normalizes every word of the
    // catalog at start-up, where decomposing anyway showed up in perf. Text of
    // plain letters skips even the check: its table lookups were half of
    // `normalize` in the 10,000-event start-up (perf).
    if input.chars().all(is_plain) || is_nfkc_quick(input.chars()) == IsNormalized::Yes {
        fold_chars(input.chars())
    } else {
        fold_chars(input.nfkc())
    }
}

/// ASCII and the basic Arabic letters: each is its own NFKC form and combines
/// with nothing (canonical combining class 0), so a text of only these is in
/// NFKC, as `is_nfkc_quick` finds (a test checks every one).
fn is_plain(c: char) -> bool {
    c.is_ascii() || matches!(c, '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}')
}

/// Every step of [`normalize`] after NFKC, in one pass into one string: the
/// elongated vowel letters (below) and the trailing space took a second pass
/// and two more strings (that pass alone 0.6 % of a 10,000-event start-up's
/// perf samples, `normalize` 3.2 %).
fn fold_chars(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::with_capacity(chars.size_hint().0 * 2);
    let mut last: Option<char> = None;
    let mut run = 0usize;
    for c in chars {
        if is_invisible(c) || is_tashkeel_or_tatweel(c) {
            continue;
        }
        let mut c = fold_letter(c);
        if c.is_uppercase() {
            c = c.to_lowercase().next().unwrap_or(c);
        }
        // Arabic letters first: `is_alphanumeric` looks them up in a slow table.
        if !(is_arabic_letter(c) || c.is_alphanumeric()) {
            c = ' ';
        }
        if c == ' ' && (last.is_none() || last == Some(' ')) {
            continue;
        }
        if Some(c) == last {
            run += 1;
            // A doubled letter is ordinary spelling; three or more is elongation,
            // and so is an Arabic vowel letter (ا و ي) doubled.
            if run >= 2 || matches!(c, 'ا' | 'و' | 'ي') {
                continue;
            }
        } else {
            run = 0;
        }
        out.push(c);
        last = Some(c);
    }
    // Spaces never open the text and never repeat: at most one ends it.
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Normalized words of `s`.
pub fn words(s: &str) -> Vec<String> {
    normalize(s)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How months are named in posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MonthStyle {
    /// يناير … ديسمبر (Egypt and the Gulf; the seed's own usage).
    #[default]
    Egyptian,
    /// كانون الثاني … كانون الأول (the Levant and Iraq).
    Levantine,
    /// جانفي … ديسمبر (Algeria and Tunisia).
    Maghrebi,
    /// «يونيو/حزيران».
    Both,
}

impl FromStr for MonthStyle {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "egyptian" => Ok(Self::Egyptian),
            "levantine" => Ok(Self::Levantine),
            "maghrebi" => Ok(Self::Maghrebi),
            "both" => Ok(Self::Both),
            _ => Err(format!(
                "`{s}` is not one of egyptian, levantine, maghrebi, both"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Digits {
    #[default]
    Western,
    Eastern,
}

impl FromStr for Digits {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "western" => Ok(Self::Western),
            "eastern" => Ok(Self::Eastern),
            _ => Err(format!("`{s}` is not one of western, eastern")),
        }
    }
}

const EGYPTIAN: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];
const LEVANTINE: [&str; 12] = [
    "كانون الثاني",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
    "تشرين الأول",
    "تشرين الثاني",
    "كانون الأول",
];
const MAGHREBI: [&str; 12] = [
    "جانفي",
    "فيفري",
    "مارس",
    "أفريل",
    "ماي",
    "جوان",
    "جويلية",
    "أوت",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// The month's name in `style`; `month` is 1-based.
pub fn month_name(month: u32, style: MonthStyle) -> String {
    let i = (month.clamp(1, 12) - 1) as usize;
    match style {
        MonthStyle::Egyptian => EGYPTIAN[i].to_owned(),
        MonthStyle::Levantine => LEVANTINE[i].to_owned(),
        MonthStyle::Maghrebi => MAGHREBI[i].to_owned(),
        MonthStyle::Both => format!("{}/{}", EGYPTIAN[i], LEVANTINE[i]),
    }
}

/// Every spelling of every month, normalized, with its number. Multi-word names
/// (كانون الثاني) are listed as they are; the date parser matches them as phrases.
pub fn month_spellings() -> Vec<(String, u32)> {
    const EXTRA: &[(&str, u32)] = &[
        ("إبريل", 4),
        ("ابريل", 4),
        ("ابريل", 4),
        ("أبريل", 4),
        ("يونيه", 6),
        ("يوليه", 7),
        ("اغسطس", 8),
        ("أغسطس", 8),
        ("اغسطوس", 8),
        ("اكتوبر", 10),
        ("فبراير", 2),
        ("فبرير", 2),
        ("يوليوز", 7),
        ("غشت", 8),
        ("شتنبر", 9),
        ("نونبر", 11),
        ("دجنبر", 12),
        ("ابريل", 4),
        ("أفريل", 4),
        ("افريل", 4),
        ("كانون ثاني", 1),
        ("كانون اول", 12),
        ("تشرين اول", 10),
        ("تشرين ثاني", 11),
        ("january", 1),
        ("february", 2),
        ("march", 3),
        ("april", 4),
        ("may", 5),
        ("june", 6),
        ("july", 7),
        ("august", 8),
        ("september", 9),
        ("october", 10),
        ("november", 11),
        ("december", 12),
    ];
    let mut all: Vec<(String, u32)> = Vec::new();
    for table in [&EGYPTIAN, &LEVANTINE, &MAGHREBI] {
        for (i, name) in table.iter().enumerate() {
            all.push((normalize(name), i as u32 + 1));
        }
    }
    for (name, m) in EXTRA {
        all.push((normalize(name), *m));
    }
    all.sort();
    all.dedup();
    // Longest first, so «كانون الثاني» wins over a shorter prefix.
    all.sort_by(|a, b| b.0.chars().count().cmp(&a.0.chars().count()).then(a.cmp(b)));
    all
}

/// Writes `n` in the chosen digits.
pub fn digits(n: impl std::fmt::Display, style: Digits) -> String {
    let s = n.to_string();
    match style {
        Digits::Western => s,
        Digits::Eastern => s
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from_u32('٠' as u32 + d).unwrap_or(c),
                None => c,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `is_plain` only lets through what the NFKC quick check passes.
    #[test]
    fn plain_letters_are_in_nfkc() {
        for c in (0u32..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|c| is_plain(*c))
        {
            assert_eq!(
                is_nfkc_quick(std::iter::once(c)),
                IsNormalized::Yes,
                "{c:?}"
            );
            let class = unicode_normalization::char::canonical_combining_class(c);
            assert_eq!(class, 0, "{c:?}");
        }
    }

    #[test]
    fn folds_the_seed_variants() {
        assert_eq!(normalize("خط الجوسيك"), "خط الجوسيك");
        assert_eq!(normalize("ﻣﻮﻧﺘﻲ ﻛﺎﺳﻴﻨﻮ"), "مونتي كاسينو");
        assert_eq!(normalize("مُونْتِي  كاسـيـنو"), "مونتي كاسينو");
        assert_eq!(normalize("رووووما"), "روما");
        assert_eq!(normalize("إيطاليا"), "ايطاليا");
        assert_eq!(normalize("الأولى"), "الاولي");
        assert_eq!(normalize("١٩٤٤ ۱۹۴۴"), "1944 1944");
        assert_eq!(normalize("\u{200F}Monte\u{00AD} Cassino!"), "monte cassino");
        assert_eq!(normalize("مدرسة"), "مدرسه");
    }

    #[test]
    fn keeps_doubled_consonants_and_zero() {
        // The tashkil crate deletes U+0660; we must fold it to 0.
        assert_eq!(normalize("١٠٠"), "100");
        assert_eq!(normalize("Cassino"), "cassino");
    }

    #[test]
    fn month_names_by_style() {
        assert_eq!(month_name(6, MonthStyle::Egyptian), "يونيو");
        assert_eq!(month_name(6, MonthStyle::Levantine), "حزيران");
        assert_eq!(month_name(6, MonthStyle::Maghrebi), "جوان");
        assert_eq!(month_name(6, MonthStyle::Both), "يونيو/حزيران");
        assert_eq!(digits(1944, Digits::Eastern), "١٩٤٤");
    }

    #[test]
    fn every_month_spelling_maps_to_one_month() {
        let all = month_spellings();
        for (name, m) in &all {
            let months: Vec<u32> = all
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, m)| *m)
                .collect();
            assert_eq!(months, vec![*m], "{name}");
        }
        assert!(all.iter().any(|(n, m)| n == "يونيه" && *m == 6));
        assert!(all.iter().any(|(n, m)| n == "اوت" && *m == 8));
    }
}
