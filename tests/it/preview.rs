//! `dhikra preview`: the exact post of a day, the golden 4 June post, days without events.

use crate::support;
use support::{Sandbox, root, stdout};

#[test]
fn the_fourth_of_june_post_matches_the_golden_file() {
    let s = Sandbox::new("");
    let out = s.run(&["preview", "--date", "06-04", "--html"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let golden = std::fs::read_to_string(root().join("tests/golden/preview-06-04.html")).unwrap();
    assert_eq!(
        stdout(&out),
        golden,
        "regenerate with: cargo run -- preview --date 06-04 --html > tests/golden/preview-06-04.html"
    );
}

#[test]
fn the_fourth_of_june_post_reads_like_the_seed() {
    let s = Sandbox::new("");
    let text = stdout(&s.run(&["preview", "--date", "1944-06-04"]));
    assert!(
        text.starts_with("في مثل هذا اليوم 4 يونيو 1944م\n"),
        "{text}"
    );
    assert!(text.contains("قوات الحلفاء تدخل روما"));
    assert!(text.contains("إنزال نورماندي (6 يونيو 1944)"));
    assert!(!text.contains('<'), "plain preview must not show tags");
}

#[test]
fn month_style_and_digits_come_from_the_config() {
    let s = Sandbox::new("month_names = \"levantine\"\ndigits = \"eastern\"");
    let text = stdout(&s.run(&["preview", "--date", "06-04"]));
    assert!(
        text.starts_with("في مثل هذا اليوم ٤ حزيران ١٩٤٤م"),
        "{text}"
    );
}

#[test]
fn a_day_without_events_names_the_next_anniversary() {
    // Data of its own: the shipped store fills more days every release.
    let data = support::data_dir(&[(
        "normandy.toml",
        &support::event_toml("normandy", "1944-06-06", "نورماندي"),
    )]);
    let s = Sandbox::with_data(data.path(), "");
    let out = s.run(&["preview", "--date", "2027-06-05"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("No event on 2027-06-05"), "{text}");
    assert!(
        text.contains("2027-06-06") && text.contains("معركة نورماندي"),
        "{text}"
    );
}

#[test]
fn a_bad_date_argument_is_explained() {
    let s = Sandbox::new("");
    let out = s.run(&["preview", "--date", "02-30"]);
    assert!(!out.status.success());
    assert!(support::stderr(&out).contains("--date"));
}

/// Issue 14: `dhikra preview --image` writes the day's card, a 1280×720 PNG.
#[test]
fn preview_writes_the_days_card() {
    let s = Sandbox::new("");
    let path = s.dir.path().join("card.png");
    let out = s.run(&[
        "preview",
        "--date",
        "06-04",
        "--image",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let png = std::fs::read(&path).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1280, 720));
}

/// Issue 14: every day with a post has a card that draws.
#[test]
fn every_day_has_a_card() {
    use dhikra::core::card::{self, Card};
    let store = dhikra::data::load(&root().join("data")).unwrap();
    for day in store.days_covered() {
        let events = store.on_month_day(day);
        let card = Card::of_day(&events, Default::default()).expect("a day with events");
        let png = card::draw(&card).unwrap_or_else(|e| panic!("{day}: {e}"));
        assert!(png.len() < 1_000_000, "{day}: {} bytes", png.len());
    }
}
