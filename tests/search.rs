//! The query table: what people type, and the events they must (or must not) get.

use std::path::Path;

use chrono::NaiveDate;
use dhikra::answer::{self, ReplyKind};
use dhikra::render::Style;
use dhikra::search::Catalog;
use dhikra::store::EventStore;

fn catalog() -> Catalog {
    Catalog::new(EventStore::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap())
}

/// (query, expected kind, expected first event id or "" for none)
const TABLE: &[(&str, ReplyKind, &str)] = &[
    // The seed's own spelling variants.
    ("خط الجوسيك", ReplyKind::Answer, "gothic-line"),
    ("خط الجوسك", ReplyKind::Answer, "gothic-line"),
    ("الخط القوطي", ReplyKind::Answer, "gothic-line"),
    ("خط كوستاف", ReplyKind::Answer, "monte-cassino"),
    ("خط جوستاف", ReplyKind::Answer, "monte-cassino"),
    ("مونتي كاسينو", ReplyKind::Answer, "monte-cassino"),
    ("مونت كاسينو", ReplyKind::Answer, "monte-cassino"),
    ("/event مونتي كاسينو", ReplyKind::Answer, "monte-cassino"),
    // Tashkeel, tatweel, elongation, presentation forms, invisible marks.
    ("مُونْتِي كَاسِينُو", ReplyKind::Answer, "monte-cassino"),
    ("مونتـــي كاسيـــنو", ReplyKind::Answer, "monte-cassino"),
    ("ﻣﻮﻧﺘﻲ ﻛﺎﺳﻴﻨﻮ", ReplyKind::Answer, "monte-cassino"),
    ("نورماااندي", ReplyKind::Answer, "normandy-landings"),
    ("\u{200f}أنزيو\u{200e}", ReplyKind::Answer, "anzio-landing"),
    ("إنزال صِقِلِّيَة", ReplyKind::Answer, "sicily-landing"),
    // Clitics onto known words.
    ("بمونتي كاسينو", ReplyKind::Answer, "monte-cassino"),
    ("وبصقلية", ReplyKind::Answer, "sicily-landing"),
    ("للخط القوطي", ReplyKind::Answer, "gothic-line"),
    // English names.
    ("Monte Cassino", ReplyKind::Answer, "monte-cassino"),
    ("Gothic Line", ReplyKind::Answer, "gothic-line"),
    ("D-Day", ReplyKind::Answer, "normandy-landings"),
    ("Operation Husky", ReplyKind::Answer, "sicily-landing"),
    (
        "when did the Anzio landing happen",
        ReplyKind::Answer,
        "anzio-landing",
    ),
    (
        "Ardeatine massacre",
        ReplyKind::Answer,
        "ardeatine-massacre",
    ),
    // Dates: both digit systems, three month systems, ordinals, numeric forms.
    ("4 يونيو 1944", ReplyKind::Answer, "rome-liberation"),
    ("٤ حزيران ١٩٤٤", ReplyKind::Answer, "rome-liberation"),
    ("4 جوان", ReplyKind::Answer, "rome-liberation"),
    ("السادس من حزيران", ReplyKind::Answer, "normandy-landings"),
    ("04-06", ReplyKind::Answer, "rome-liberation"),
    ("4/6/1944", ReplyKind::Answer, "rome-liberation"),
    ("1944-06-04", ReplyKind::Answer, "rome-liberation"),
    ("19 يوليه 1943", ReplyKind::Answer, "rome-bombing"),
    ("١٩ تموز ١٩٤٣", ReplyKind::Answer, "rome-bombing"),
    ("19 جويلية", ReplyKind::Answer, "rome-bombing"),
    ("14 أوت 1943", ReplyKind::Answer, "rome-open-city"),
    ("14 آب", ReplyKind::Answer, "rome-open-city"),
    ("22 كانون الثاني 1944", ReplyKind::Answer, "anzio-landing"),
    ("24 آذار", ReplyKind::Answer, "ardeatine-massacre"),
    ("24 مارس 1944", ReplyKind::Answer, "ardeatine-massacre"),
    ("25 أبريل", ReplyKind::Answer, "liberation-day-italy"),
    ("25 ابريل", ReplyKind::Answer, "liberation-day-italy"),
    ("25 إبريل", ReplyKind::Answer, "liberation-day-italy"),
    ("25 أفريل", ReplyKind::Answer, "liberation-day-italy"),
    ("12 شتنبر 1943", ReplyKind::Answer, "gran-sasso-raid"),
    (
        "ماذا حدث في 29 أبريل 1945؟",
        ReplyKind::Answer,
        "german-surrender-italy",
    ),
    ("أيلول 1944", ReplyKind::List, "gothic-line"),
    ("3 سبتمبر 1943", ReplyKind::List, "calabria-landing"),
    // Question words, standard.
    (
        "متى دخل الحلفاء روما؟",
        ReplyKind::Answer,
        "rome-liberation",
    ),
    (
        "كم عدد ضحايا مونتي كاسينو؟",
        ReplyKind::Answer,
        "monte-cassino",
    ),
    (
        "أين وقعت معركة مونتي كاسينو؟",
        ReplyKind::Answer,
        "monte-cassino",
    ),
    (
        "من استولى على مونتي كاسينو؟",
        ReplyKind::Answer,
        "monte-cassino",
    ),
    (
        "لماذا قصف دير مونتي كاسينو؟",
        ReplyKind::Answer,
        "cassino-abbey-bombing",
    ),
    (
        "ما هو إنزال نورماندي؟",
        ReplyKind::Answer,
        "normandy-landings",
    ),
    (
        "ماذا تعرف عن مجزرة الكهوف الأردياتينية",
        ReplyKind::Answer,
        "ardeatine-massacre",
    ),
    ("كم قاذفة في قصف روما", ReplyKind::Answer, "rome-bombing"),
    // Dialect question words.
    ("امتى نزلوا في انزيو", ReplyKind::Answer, "anzio-landing"),
    (
        "إمتى كانت عملية الزيتون",
        ReplyKind::Answer,
        "operation-olive",
    ),
    ("فين غارة غران ساسو", ReplyKind::Answer, "gran-sasso-raid"),
    (
        "وين صار إنزال ساليرنو",
        ReplyKind::Answer,
        "salerno-landing",
    ),
    (
        "شو صار في هدنة كاسيبيلي",
        ReplyKind::Answer,
        "cassibile-armistice",
    ),
    (
        "قديش ضحايا الكهوف الاردياتينية",
        ReplyKind::Answer,
        "ardeatine-massacre",
    ),
    ("مين حرر بولونيا", ReplyKind::Answer, "bologna-liberation"),
    (
        "ليش قصفوا دير كاسينو",
        ReplyKind::Answer,
        "cassino-abbey-bombing",
    ),
    // Names of people and places.
    ("إعدام موسوليني", ReplyKind::Answer, "mussolini-executed"),
    (
        "القبض على موسوليني",
        ReplyKind::Answer,
        "mussolini-captured",
    ),
    (
        "استسلام كازيرتا",
        ReplyKind::Answer,
        "german-surrender-italy",
    ),
    ("فلورنزا", ReplyKind::Answer, "florence-liberation"),
    ("روما", ReplyKind::List, ""),
    // Typos: only ever «هل تقصد».
    ("كاسيني", ReplyKind::DidYouMean, "monte-cassino"),
    ("نورمادني", ReplyKind::DidYouMean, "normandy-landings"),
    ("نورمنديي", ReplyKind::Answer, "normandy-landings"),
    ("كالابريه", ReplyKind::DidYouMean, "calabria-landing"),
    ("سالييييرنو", ReplyKind::Answer, "salerno-landing"),
    // Must not match an event.
    ("مرحبا", ReplyKind::Help, ""),
    ("السلام عليكم", ReplyKind::Help, ""),
    ("كيف الطقس في روما اليوم", ReplyKind::Help, ""),
    ("الطقس في روما", ReplyKind::Help, ""),
    ("hello", ReplyKind::Help, ""),
    ("ما سعر الدولار", ReplyKind::Help, ""),
    ("آب", ReplyKind::Help, ""),
    ("مارس الرياضة", ReplyKind::Help, ""),
    ("4 يونيو 1984", ReplyKind::NoMatch, ""),
    ("متى وقعت معركة ستالينغراد؟", ReplyKind::NoMatch, ""),
    ("معركة العلمين", ReplyKind::NoMatch, ""),
    ("30 فبراير", ReplyKind::NoMatch, ""),
    ("", ReplyKind::Help, ""),
    ("؟؟؟!!!", ReplyKind::Help, ""),
];

#[test]
fn the_query_table() {
    let c = catalog();
    let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let mut failures = Vec::new();
    for (query, kind, first) in TABLE {
        let query = query.strip_prefix("/event ").unwrap_or(query);
        let r = answer::reply(&c, query, Style::default(), today);
        let got_first = r.events.first().map(String::as_str).unwrap_or("");
        let ok_first = match (kind, first.is_empty()) {
            (ReplyKind::List, true) => r.events.len() > 1,
            (ReplyKind::List, false) => r.events.iter().any(|e| e == first),
            _ => got_first == *first,
        };
        if r.kind != *kind || !ok_first {
            failures.push(format!(
                "{query:?}: expected {kind:?} {first:?}, got {:?} {:?}",
                r.kind, r.events
            ));
        }
    }
    assert!(TABLE.len() >= 60, "{} queries", TABLE.len());
    assert!(
        TABLE
            .iter()
            .filter(|(_, k, _)| matches!(k, ReplyKind::Help | ReplyKind::NoMatch))
            .count()
            >= 10
    );
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        TABLE.len(),
        failures.join("\n")
    );
}

#[test]
fn a_typo_never_gets_a_confident_answer() {
    let c = catalog();
    let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    let r = answer::reply(&c, "متى معركة مونتي كاسيني", Style::default(), today);
    assert!(matches!(r.kind, ReplyKind::Answer | ReplyKind::DidYouMean));
    let r = answer::reply(&c, "كاسيني", Style::default(), today);
    assert_eq!(r.kind, ReplyKind::DidYouMean);
    assert!(r.html.contains("هل تقصد"));
    assert!(
        r.buttons
            .iter()
            .any(|b| b.data.starts_with("pick:monte-cassino:"))
    );
}

#[test]
fn answers_quote_the_seed_figures() {
    let c = catalog();
    let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
    for (q, needle) in [
        ("كم طلعة جوية في سماء روما", "110 آلاف طلعة"),
        ("كم عدد القتلى المدنيين في قصف روما", "نحو 3000 مدني إيطالي"),
        ("كم طنا من القنابل في قصف روما الاول", "1,168 طنًا"),
        ("كم ضحية في معركة مونتي كاسينو", "185 ألف ضحية"),
    ] {
        let r = answer::reply(&c, q, Style::default(), today);
        assert!(r.html.contains(needle), "{q}: {}", r.html);
    }
}
