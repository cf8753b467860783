//! The shipped event store and `dhikra validate` / `dhikra events`.

use crate::support;
use support::{Sandbox, data_dir, event_toml, stderr, stdout};

use dhikra::core::catalog::EventStore;

fn shipped() -> EventStore {
    dhikra::data::load(&support::root().join("data"))
        .unwrap_or_else(|e| panic!("shipped data is invalid:\n{e}"))
}

#[test]
fn shipped_data_validates() {
    let s = Sandbox::new("");
    let out = s.run(&["validate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok: "));
}

#[test]
fn the_seed_events_exist_with_their_dates() {
    let store = shipped();
    for (id, date) in [
        ("rome-liberation", "1944-06-04"),
        ("normandy-landings", "1944-06-06"),
        ("churchill-approval", "1943-07-16"),
        ("rome-bombing", "1943-07-19"),
        ("rome-open-city", "1943-08-14"),
        ("monte-cassino", "1944-01-17"),
        ("gothic-line", "1944-09-10"),
        ("spring-offensive-1945", "1945-04-06"),
        ("german-surrender-italy", "1945-04-29"),
    ] {
        let e = store.get(id).unwrap_or_else(|| panic!("missing {id}"));
        assert_eq!(e.date.to_string(), date, "{id}");
    }
}

/// Issue 10 (the fact-check of November 2026): where the first post's figures are
/// contradicted by the sources, the post states the sourced figure and its note
/// names the first post's; the wrong claims are gone.
/// See: ../shared/content/audit-2026-11.md
#[test]
fn issue_10_the_audit_fixes_stay_applied() {
    let store = shipped();
    let get = |id: &str| store.get(id).unwrap_or_else(|| panic!("missing {id}"));
    let note = |id: &str| get(id).note_ar.clone().unwrap_or_default();
    let cassino = get("monte-cassino");
    assert!(
        !cassino.summary_ar.contains("185 ألف"),
        "{}",
        cassino.summary_ar
    );
    assert!(
        cassino.summary_ar.contains("55 ألف"),
        "{}",
        cassino.summary_ar
    );
    assert!(note("monte-cassino").contains("185 ألف ضحية"));
    let bombing = get("rome-bombing");
    assert!(!bombing.summary_ar.contains("1168") && !bombing.summary_ar.contains("1,168"));
    for seed in ["500 قاذفة", "1168 طنًا", "3000"] {
        assert!(
            note("rome-bombing").contains(seed),
            "the note lacks «{seed}»"
        );
    }
    for sourced in ["719", "1659", "1060"] {
        assert!(
            note("rome-bombing").contains(sourced),
            "the note lacks «{sourced}»"
        );
    }
    let open_city = &get("rome-open-city").summary_ar;
    assert!(open_city.contains("الغارة الثانية") && !open_city.contains("آخر غارات"));
    assert!(
        !get("sicily-landing")
            .summary_ar
            .contains("أول هجوم على أرض إيطالية")
    );
    assert!(get("sicily-landing").summary_ar.contains("بانتيليريا"));
    assert!(
        !get("calabria-landing")
            .summary_ar
            .contains("أول جيش من الحلفاء يطأ")
    );
    assert!(
        !get("normandy-landings")
            .aliases
            .iter()
            .any(|a| a == "يوم النصر")
    );
    let churchill = &get("churchill-approval").summary_ar;
    assert!(churchill.contains("«أوافق، WSC 16.7.43»") && !churchill.contains("بكلمتين"));
    assert_eq!(get("gothic-line").title_ar, "معارك الخط القوطي");
    for id in ["german-surrender-italy", "surrender-effective"] {
        assert!(
            get(id)
                .summary_ar
                .contains("الثانية بعد ظهر 2 مايو 1945 بتوقيت إيطاليا")
        );
    }
    let olive = &get("operation-olive").sources;
    assert!(
        !olive.iter().any(|s| s.title.contains("Grapeshot")),
        "{olive:?}"
    );
}

/// Issue 10: readers see public sources only, in the project's voice to readers.
#[test]
fn issue_10_no_post_cites_an_editors_reference() {
    let store = shipped();
    for md in store.days_covered() {
        let events = store.on_month_day(md);
        for part in dhikra::core::render::post(&events, &store, Default::default()) {
            for phrase in [
                "النص الأول للمشروع",
                "المصدر الأول",
                "المنشور الأول",
                "مرجع تحريري",
            ] {
                assert!(!part.contains(phrase), "{md}: «{phrase}» in\n{part}");
            }
        }
    }
}

/// Issue 7: the record, not the seed, for Mussolini's capture and death.
#[test]
fn issue_7_mussolini_dates_follow_the_record() {
    let store = shipped();
    assert_eq!(
        store.get("mussolini-captured").unwrap().date.to_string(),
        "1945-04-27"
    );
    assert_eq!(
        store.get("mussolini-executed").unwrap().date.to_string(),
        "1945-04-28"
    );
    let note = store
        .get("german-surrender-italy")
        .unwrap()
        .note_ar
        .clone()
        .unwrap();
    assert!(
        note.contains("27 أبريل") && note.contains("28 أبريل"),
        "{note}"
    );
}

/// Issue 7: at least 30 days of the year have a post, every event is sourced and in Arabic.
#[test]
fn issue_7_at_least_thirty_days_have_a_post() {
    let store = shipped();
    let days = store.days_covered();
    let listing: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    println!("days with a post ({}): {}", days.len(), listing.join(" "));
    assert!(
        days.len() >= 30,
        "only {} days: {}",
        days.len(),
        listing.join(" ")
    );
    for e in store.all() {
        assert!(!e.sources.is_empty(), "{} has no source", e.id);
        assert!(
            dhikra::core::arabic::has_arabic_letter(&e.summary_ar),
            "{} has no Arabic summary",
            e.id
        );
    }
}

#[test]
fn validate_reports_every_problem_with_file_line_and_field() {
    let bad_date = event_toml("alpha", "1943-02-30", "ألفا");
    let stem_mismatch = event_toml("beta", "1944-01-01", "بيتا");
    let dir = data_dir(&[
        ("alpha.toml", &bad_date),
        ("gamma.toml", &stem_mismatch),
        ("broken.toml", "id = \n"),
    ]);
    let s = Sandbox::with_data(dir.path(), "");
    let out = s.run(&["validate"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("alpha.toml:6:8: field `date`: 1943-02-30"),
        "{err}"
    );
    assert!(err.contains("gamma.toml:1:6: field `id`"), "{err}");
    assert!(err.contains("broken.toml:1:"), "{err}");
    assert!(err.contains("3 problem(s)"), "{err}");
}

#[test]
fn validate_takes_a_data_folder_argument() {
    let dir = data_dir(&[("alpha.toml", &event_toml("alpha", "1944-01-01", "ألفا"))]);
    let s = Sandbox::new("");
    let out = s.run(&["validate", "--data", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 events"));
}

#[test]
fn commands_refuse_invalid_data_with_the_same_messages() {
    let dir = data_dir(&[("alpha.toml", &event_toml("alpha", "1944-13-01", "ألفا"))]);
    let s = Sandbox::with_data(dir.path(), "");
    let out = s.run(&["events"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("alpha.toml:6:8: field `date`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn events_lists_id_date_and_title() {
    let s = Sandbox::new("");
    let text = stdout(&s.run(&["events"]));
    let line = text
        .lines()
        .find(|l| l.starts_with("rome-liberation"))
        .expect("rome-liberation listed");
    assert!(
        line.contains("1944-06-04") && line.contains("قوات الحلفاء تدخل روما"),
        "{line}"
    );
}

#[test]
fn a_bad_config_names_the_key() {
    let s = Sandbox::new("timezone = \"Mars/Olympus\"");
    let out = s.run(&["events"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("config key `timezone`"),
        "{}",
        stderr(&out)
    );
}

/// Issue 7: every day with a post renders a well-formed post: the date header,
/// balanced tags, within Telegram's limit, and its sources.
#[test]
fn issue_7_every_days_post_is_well_formed() {
    use chrono::NaiveDate;
    use dhikra::core::calendar::LeapDayRule;
    use dhikra::core::render::{self, Layout, Style};
    let store = shipped();
    // As a channel gets it: long stories folded, related events linked.
    let layout = Layout {
        bot: Some("DhikraBot"),
        fold: true,
        ..Layout::default()
    };
    for day in store.days_covered() {
        let date = NaiveDate::from_ymd_opt(2028, day.month(), day.day()).unwrap();
        let events = store.on_date(date, LeapDayRule::Feb28);
        let parts = render::post(&events, &store, layout);
        assert!(!parts.is_empty(), "{day}: no post");
        let all = parts.concat();
        for e in &events {
            let header = format!(
                "في مثل هذا اليوم {}م",
                render::date_ar(e.date, Style::default())
            );
            assert!(all.contains(&header), "{day}: no header «{header}»");
            assert!(
                all.contains(&render::escape(&e.title_ar)),
                "{day}: no title"
            );
        }
        assert!(all.contains("المصادر:"), "{day}: no sources");
        for part in &parts {
            assert!(render::utf16_len(part) <= render::MESSAGE_LIMIT);
            for tag in ["b", "i", "a", "blockquote"] {
                let opens = part.matches(&format!("<{tag}>")).count()
                    + part.matches(&format!("<{tag} ")).count();
                assert_eq!(
                    opens,
                    part.matches(&format!("</{tag}>")).count(),
                    "{day}: unbalanced <{tag}>"
                );
            }
            assert!(!part.contains("&lt;b&gt;"), "{day}: double-escaped markup");
        }
    }
}

/// Issue 10: the channel has a post on at least 150 days, and that number can
/// only grow; every event a reader sees has a source to open.
#[test]
fn issue_10_at_least_150_days_have_a_post() {
    let store = shipped();
    let days = store.days_covered().len();
    println!("{} events on {days} days", store.len());
    assert!(days >= 150, "only {days} days have a post");
    for e in store.all() {
        assert!(
            e.sources.iter().any(|s| s
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))),
            "{} has no source a reader can open",
            e.id
        );
        assert!(e.coords.is_some(), "{} has no place on the map", e.id);
    }
    // The busiest day still fits the limit `validate` enforces.
    for day in store.days_covered() {
        let parts =
            dhikra::core::render::post(&store.on_month_day(day), &store, Default::default());
        assert!(
            parts.len() <= dhikra::data::MAX_DAY_MESSAGES,
            "{day}: {} messages",
            parts.len()
        );
    }
}

/// Issue 10: `validate` refuses what would make a bad post, naming file, line
/// and field: a 2 MB summary, a source that is no web address, a figure no
/// question can reach, an unknown theatre, a `related` naming no event.
#[test]
fn issue_10_validate_refuses_what_would_make_a_bad_post() {
    let huge = "نص عربي طويل. ".repeat(150_000);
    let cases = [
        (
            "summary_ar",
            event_toml("huge", "1944-06-04", "ضخم").replace("نص عربي عن ضخم.", &huge),
        ),
        (
            "sources.url",
            event_toml("ftp", "1944-06-04", "ملف")
                .replace("https://example.org/ftp", "ftp://example.org/ftp"),
        ),
        (
            "facts.figures.keywords",
            event_toml("figure", "1944-06-04", "رقم")
                + "[facts]\n[[facts.figures]]\nlabel = \"القتلى\"\nvalue = \"10\"\nkeywords = []\n",
        ),
        (
            "theatre",
            event_toml("mars", "1944-06-04", "المريخ")
                .replace("theatre = \"italy\"", "theatre = \"mars\""),
        ),
        (
            "related",
            event_toml("lonely", "1944-06-04", "وحيد")
                .replace("date =", "related = [\"nobody\"]\ndate ="),
        ),
    ];
    for (field, text) in cases {
        let id = text
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("id = ")
            .trim_matches('"')
            .to_owned();
        let data = data_dir(&[(&format!("{id}.toml"), &text)]);
        let s = Sandbox::with_data(data.path(), "");
        let out = s.run(&["validate"]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{field}: accepted");
        assert!(
            err.contains(&format!("{id}.toml:")) && err.contains(field),
            "{field}: {err}"
        );
        assert!(
            err.len() < 2_000,
            "{field}: the error is not an echo of the file"
        );
    }
}

/// Issue 10: `dhikra calendar` prints the year as a 12-month grid and counts
/// the days with a post.
#[test]
fn issue_10_calendar_shows_the_covered_days() {
    let s = Sandbox::new("");
    let out = s.run(&["calendar"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let store = shipped();
    assert!(
        text.contains(&format!(
            "{} of 366 days have a post",
            store.days_covered().len()
        )),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.len() > 3 && ["Jan", "Feb", "Dec"].contains(&&l[..3]))
            .count(),
        3
    );
    // 4 June has the Allies in Rome (and whatever else the store holds that day).
    let june = text.lines().find(|l| l.starts_with("Jun")).unwrap();
    let chars: Vec<char> = june.chars().skip("Jun ".len()).collect();
    let cells: Vec<String> = chars
        .chunks(3)
        .map(|c| c.iter().collect::<String>().trim().to_owned())
        .collect();
    assert!(cells[3].parse::<usize>().is_ok_and(|n| n >= 1), "{june}");
}
