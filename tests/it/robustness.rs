//! No input makes Dhikra panic: arbitrary Unicode into the normalizer, the date
//! parser, the question path and the HTML splitter (property tests).

use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use dhikra::core::render::{self, Style};
use dhikra::core::search::Catalog;
use dhikra::core::{answer, arabic, dates};
use dhikra::telegram::callback::Callback;
use proptest::prelude::*;

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| {
        Catalog::new(
            dhikra::data::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap(),
        )
    })
}

/// Text biased towards what breaks Arabic handling: letters, tashkeel, tatweel,
/// both digit systems, direction marks, presentation forms, HTML specials, emoji.
fn arabicish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "مونتي",
        "كاسينو",
        "روما",
        "متى",
        "كم",
        "من",
        "يونيو",
        "حزيران",
        "جوان",
        "آب",
        "السادس",
        "٤",
        "١٩٤٤",
        "4",
        "1944",
        "-",
        "/",
        "\u{064B}",
        "\u{0640}",
        "\u{200F}",
        "\u{202E}",
        "\u{FEFF}",
        "ﻣﻮﻧﺘﻲ",
        "<b>",
        "&",
        "\"",
        "😀",
        " ",
        "\n",
        "؟",
        "ة",
        "ى",
        "ـــ",
        "ال",
        "و",
        "0",
        "31",
        "13",
        "فبراير",
        "29",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn normalize_never_panics_and_is_idempotent(s in any::<String>()) {
        let once = arabic::normalize(&s);
        prop_assert_eq!(arabic::normalize(&once), once.clone());
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
    }

    #[test]
    fn arabic_text_normalizes_idempotently(s in arabicish()) {
        let once = arabic::normalize(&s);
        prop_assert_eq!(arabic::normalize(&once), once);
    }

    #[test]
    fn the_date_parser_never_panics(s in any::<String>(), t in arabicish()) {
        let _ = dates::parse(&s);
        if let Some(dates::DateQuery::Day { month, day, year }) = dates::parse(&t) {
            prop_assert!(NaiveDate::from_ymd_opt(year.unwrap_or(2000), month, day).is_some());
        }
    }

    #[test]
    fn any_question_gets_a_safe_reply(s in any::<String>(), t in arabicish()) {
        let today = NaiveDate::from_ymd_opt(2027, 6, 4).unwrap();
        for q in [s, t] {
            let reply = answer::reply(catalog(), &q, Style::default(), today);
            // Nothing typed comes back raw: every tag in the reply is one of ours.
            for tag in reply.html.match_indices('<').map(|(i, _)| &reply.html[i..]) {
                prop_assert!(["<b>", "</b>", "<i>", "</i>", "<code>", "</code>"].iter().any(|ok| tag.starts_with(ok)), "unexpected tag in {}", reply.html);
            }
            prop_assert!(reply.buttons.iter().all(|b| Callback::from(&b.action).encode().len() <= 64));
        }
    }

    #[test]
    fn split_keeps_every_part_under_the_limit(s in arabicish(), emoji in 0usize..200, limit in 64usize..600) {
        let html = render::escape(&format!("{s}{}", "😀".repeat(emoji)));
        for part in render::split(&html, limit) {
            prop_assert!(render::utf16_len(&part) <= limit);
        }
    }
}
