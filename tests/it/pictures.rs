//! Issue 14 against the fake Bot API: the day's card opens the post (sendPhoto,
//! part 0 of the delivery log), one upload and its `file_id` reused, faults on the
//! picture never hold the text back, per-target options, and deep links.

use crate::support;

use chrono::{DateTime, TimeZone, Utc};
use dhikra::core::calendar::Clock;
use dhikra::publishing::{Outcome, Publisher};
use dhikra::shutdown::Shutdown;
use serde_json::json;
use std::sync::Arc;
use support::fake_api::{FakeApi, Fault, Sent};
use support::{TestClock, data_dir, publisher, test_config};

const CHANNEL: i64 = -1001000000001;
const GROUP: i64 = -1001000000002;
const OTHER: i64 = -1001000000003;
const ADMINS: i64 = 777;

/// 09:00 in Cairo on 4 June 2027.
fn nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 6, 4, 6, 0, 0).unwrap()
}

fn event(id: &str, date: &str, title: &str, related: &[&str]) -> String {
    let related: Vec<String> = related.iter().map(|r| format!("{r:?}")).collect();
    format!(
        r#"id = "{id}"
kind = "battle"
theatre = "italy"
coords = [41.9, 12.5]
title_ar = "{title}"
title_en = "{id}"
date = "{date}"
summary_ar = "نص عربي عن {title}."
related = [{}]
[[sources]]
title = "Reference"
url = "https://example.org/{id}"
"#,
        related.join(", ")
    )
}

/// Two events on 4 June (one related to a third, in May), one target per chat.
fn data() -> tempfile::TempDir {
    data_dir(&[
        (
            "rome.toml",
            &event("rome", "1944-06-04", "دخول روما", &["cassino"]),
        ),
        ("other.toml", &event("other", "1942-06-04", "حدث آخر", &[])),
        (
            "cassino.toml",
            &event("cassino", "1944-05-18", "كاسينو", &[]),
        ),
    ])
}

type Running = (
    Arc<Publisher>,
    Arc<TestClock>,
    tempfile::TempDir,
    tempfile::TempDir,
);

async fn at_nine(fake: &FakeApi, targets: &str) -> Running {
    let (data, db) = (data(), tempfile::tempdir().unwrap());
    let clock = TestClock::new(nine());
    let config = format!("admin_chat = {ADMINS}\n{targets}");
    let p = publisher(
        test_config(fake, data.path(), db.path(), &config),
        clock.clone(),
    )
    .await;
    (p, clock, data, db)
}

fn targets(ids: &[i64], options: &str) -> String {
    ids.iter()
        .map(|id| format!("[[targets]]\nchat = {id}\n{options}\n"))
        .collect()
}

async fn tick(p: &Publisher, clock: &TestClock) -> Vec<Outcome> {
    let report = p
        .publish_due(clock.now(), &Shutdown::never())
        .await
        .unwrap();
    report.results.into_iter().map(|r| r.outcome).collect()
}

fn only(photos: Vec<Sent>) -> Sent {
    assert_eq!(photos.len(), 1, "{photos:#?}");
    photos.into_iter().next().unwrap()
}

#[tokio::test]
async fn issue_14_the_card_opens_the_post_uploaded_once_and_its_id_reused() {
    let fake = FakeApi::start().await;
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL, GROUP, OTHER], "")).await;
    tick(&p, &clock).await;
    let photos = fake.photos();
    assert_eq!(photos.len(), 3, "one card per target");
    assert_eq!(
        photos.iter().filter(|p| p.uploaded).count(),
        1,
        "uploaded once"
    );
    let id = photos.iter().find(|p| p.uploaded).unwrap().file_id.clone();
    assert!(photos.iter().all(|p| p.file_id == id), "{photos:#?}");
    for chat in [CHANNEL, GROUP, OTHER] {
        let photo = only(fake.photos_to(chat));
        let text = fake.sent_to(chat);
        assert_eq!(text.len(), 1);
        assert!(
            photo.message_id < text[0].message_id,
            "the card comes first"
        );
        assert_eq!(photo.parse_mode.as_deref(), Some("HTML"));
        assert!(
            photo
                .text
                .starts_with("<b>في مثل هذا اليوم 4 يونيو 1942م</b>\n<b>حدث آخر</b>"),
            "{}",
            photo.text
        );
        assert!(photo.text.ends_with("وحدث آخر"), "{}", photo.text);
    }
    // The log holds the card as part 0: the next ticks send nothing again.
    for minute in 1..3 {
        clock.set(nine() + chrono::Duration::minutes(minute));
        tick(&p, &clock).await;
    }
    assert_eq!(fake.photos().len(), 3);
    assert_eq!(fake.sent().len(), 3);
    let log = p.sender.db.deliveries("2027-06-04").await.unwrap();
    assert_eq!(log.iter().filter(|d| d.part == 0).count(), 3, "{log:#?}");
    assert!(
        log.iter()
            .all(|d| d.parts == 2 && d.status.as_str() == "sent")
    );
}

#[tokio::test]
async fn issue_14_a_target_with_image_off_gets_text_only() {
    let fake = FakeApi::start().await;
    let config = format!(
        "{}{}",
        targets(&[CHANNEL], "image = false"),
        targets(&[GROUP], "")
    );
    let (p, clock, _d, _b) = at_nine(&fake, &config).await;
    let outcomes = tick(&p, &clock).await;
    assert!(fake.photos_to(CHANNEL).is_empty());
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
    assert_eq!(fake.photos_to(GROUP).len(), 1);
    assert!(outcomes.contains(&Outcome::Sent { parts: 1 }));
    assert!(outcomes.contains(&Outcome::Sent { parts: 2 }));
}

#[tokio::test]
async fn issue_14_a_picture_that_fails_lets_the_text_go_and_the_admins_hear_once() {
    let fake = FakeApi::start().await;
    for chat in [CHANNEL, GROUP] {
        fake.fail_photo(
            chat,
            [Fault::Error(400, "Bad Request: IMAGE_PROCESS_FAILED")],
        );
    }
    // OTHER has no fault: if it goes first, it uploads and the others reuse; the
    // faults then fall on the reuse — the same path.
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL, GROUP, OTHER], "")).await;
    let outcomes = tick(&p, &clock).await;
    for chat in [CHANNEL, GROUP] {
        assert!(fake.photos_to(chat).is_empty());
        assert_eq!(fake.sent_to(chat).len(), 1, "the text still goes out");
    }
    assert_eq!(fake.photos_to(OTHER).len(), 1);
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Sent { .. })),
        "{outcomes:?}"
    );
    let alerts = fake.sent_to(ADMINS);
    assert_eq!(alerts.len(), 1, "one alert for the picture: {alerts:#?}");
    assert!(alerts[0].text.contains("IMAGE_PROCESS_FAILED"));
    // Given up: the next tick neither retries the picture nor resends the text.
    clock.set(nine() + chrono::Duration::minutes(1));
    tick(&p, &clock).await;
    assert_eq!(fake.photos().len(), 1);
    assert_eq!(fake.sent().len(), 3 + 1);
}

#[tokio::test]
async fn issue_14_retry_after_on_the_picture_is_waited_out_and_the_order_kept() {
    let fake = FakeApi::start().await;
    fake.fail_photo(CHANNEL, [Fault::RetryAfter(1)]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "")).await;
    let outcomes = tick(&p, &clock).await;
    assert_eq!(outcomes, vec![Outcome::Sent { parts: 2 }]);
    let (photo, text) = (only(fake.photos_to(CHANNEL)), fake.sent_to(CHANNEL));
    assert!(photo.message_id < text[0].message_id);
    assert_eq!(fake.too_many_requests(), 1);
}

#[tokio::test]
async fn issue_14_a_long_retry_after_on_the_picture_defers_the_whole_post() {
    let fake = FakeApi::start().await;
    fake.fail_photo(CHANNEL, [Fault::RetryAfter(600)]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "")).await;
    let outcomes = tick(&p, &clock).await;
    assert!(
        matches!(outcomes[..], [Outcome::Deferred(_)]),
        "{outcomes:?}"
    );
    assert!(
        fake.sent_to(CHANNEL).is_empty(),
        "the text waits for its card"
    );
    clock.set(nine() + chrono::Duration::minutes(11));
    tick(&p, &clock).await;
    assert_eq!(fake.photos_to(CHANNEL).len(), 1);
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
}

#[tokio::test]
async fn issue_14_a_chat_that_refuses_the_picture_is_disabled_before_any_text() {
    let fake = FakeApi::start().await;
    fake.fail_photo(
        CHANNEL,
        [Fault::Error(
            403,
            "Forbidden: bot was kicked from the channel chat",
        )],
    );
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "")).await;
    let outcomes = tick(&p, &clock).await;
    assert!(
        matches!(outcomes[..], [Outcome::Disabled(_)]),
        "{outcomes:?}"
    );
    assert!(fake.sent_to(CHANNEL).is_empty());
    assert!(!p.sender.db.all_targets().await.unwrap()[0].enabled);
}

#[tokio::test]
async fn issue_14_silent_pinned_and_previewed_as_configured() {
    let fake = FakeApi::start().await;
    let config = format!(
        "{}{}",
        targets(&[CHANNEL], "silent = true\npin = true\nlink_preview = true"),
        targets(&[GROUP], "")
    );
    let (p, clock, _d, _b) = at_nine(&fake, &config).await;
    tick(&p, &clock).await;
    let (photo, text) = (only(fake.photos_to(CHANNEL)), &fake.sent_to(CHANNEL)[0]);
    assert!(photo.silent && text.silent);
    assert!(!text.no_preview, "link previews on");
    let pins = fake.calls("pinChatMessage");
    assert_eq!(pins.len(), 1, "only the target that asked: {pins:?}");
    assert_eq!(pins[0]["chat_id"], json!(CHANNEL));
    assert_eq!(
        pins[0]["message_id"],
        json!(photo.message_id),
        "the day's first message"
    );
    // The default: notified, no preview, not pinned.
    let (photo, text) = (only(fake.photos_to(GROUP)), &fake.sent_to(GROUP)[0]);
    assert!(!photo.silent && !text.silent && text.no_preview);
    clock.set(nine() + chrono::Duration::minutes(1));
    tick(&p, &clock).await;
    assert_eq!(fake.calls("pinChatMessage").len(), 1, "pinned once");
}

#[tokio::test]
async fn issue_14_a_missing_pin_right_is_reported_and_the_post_still_goes() {
    let fake = FakeApi::start().await;
    fake.refuse_pins(CHANNEL);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "pin = true")).await;
    let outcomes = tick(&p, &clock).await;
    assert_eq!(outcomes, vec![Outcome::Sent { parts: 2 }]);
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
    let alerts = fake.sent_to(ADMINS);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert!(
        alerts[0].text.contains("not enough rights"),
        "{}",
        alerts[0].text
    );
    assert!(p.sender.db.all_targets().await.unwrap()[0].enabled);
}

#[tokio::test]
async fn issue_14_with_the_picture_failing_the_first_text_is_the_one_pinned() {
    let fake = FakeApi::start().await;
    fake.fail_photo(
        CHANNEL,
        [Fault::Error(400, "Bad Request: IMAGE_PROCESS_FAILED")],
    );
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "pin = true")).await;
    tick(&p, &clock).await;
    let pins = fake.calls("pinChatMessage");
    assert_eq!(pins.len(), 1);
    assert_eq!(
        pins[0]["message_id"],
        json!(fake.sent_to(CHANNEL)[0].message_id)
    );
}

/// Related events link to the bot's deep link, and the link's `/start <id>`
/// opens that story in a private chat.
#[tokio::test]
async fn issue_14_related_events_are_deep_links_that_open_their_story() {
    let fake = FakeApi::start().await;
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "")).await;
    tick(&p, &clock).await;
    let text = &fake.sent_to(CHANNEL)[0].text;
    assert!(
        text.contains("ذات صلة: <a href=\"https://t.me/DhikraBot?start=cassino\">كاسينو</a>"),
        "{text}"
    );
    let data = data();
    let bot = support::spawn_bot_with_data("", data.path()).await;
    bot.fake
        .push_update(support::updates::message(42, 42, 1, "/start cassino"));
    let sent = bot
        .fake
        .wait_for(std::time::Duration::from_secs(10), "the story", |s| {
            !s.is_empty()
        })
        .await;
    assert!(sent[0].text.contains("<b>كاسينو</b>"), "{}", sent[0].text);
    assert!(sent[0].text.contains("نص عربي عن كاسينو."));
    bot.stop().await;
}

/// A subscribed chat's administrators set its options with `/settings`; a
/// member who is not one cannot, and a button pressed twice changes nothing more.
#[tokio::test]
async fn issue_14_a_subscribed_group_sets_its_options_with_buttons() {
    use support::updates::{callback, message};
    let (group, admin, member) = (-100_555, 11, 12);
    let bot = support::spawn_bot("").await;
    let fake = &bot.fake;
    fake.set_member(group, admin, "creator");
    fake.push_update(message(group, admin, 1, "/subscribe"));
    fake.push_update(message(group, admin, 2, "/settings"));
    let sent = fake
        .wait_for(std::time::Duration::from_secs(10), "the settings", |s| {
            s.len() >= 2
        })
        .await;
    assert!(
        sent[1].text.contains("صورة اليوم مع المنشور: مفعّل"),
        "{}",
        sent[1].text
    );
    let buttons = sent[1].reply_markup.as_ref().expect("buttons").to_string();
    assert!(
        buttons.contains("opt:image:0") && buttons.contains("opt:pin:1"),
        "{buttons}"
    );

    fake.push_update(callback(group, member, "opt:pin:1"));
    fake.push_update(callback(group, admin, "opt:image:0"));
    fake.wait_for_calls("editMessageText", 1, std::time::Duration::from_secs(10))
        .await;
    let target = bot.db.target_by_chat(group).await.unwrap().unwrap();
    assert!(!target.image, "the administrator turned the picture off");
    assert!(!target.pin, "a member cannot turn pinning on");
    let edit = &fake.calls("editMessageText")[0];
    assert!(
        edit["text"]
            .as_str()
            .unwrap()
            .contains("صورة اليوم مع المنشور: معطّل")
    );
    assert!(edit["reply_markup"].to_string().contains("opt:image:1"));
    let answers = fake.calls("answerCallbackQuery");
    assert!(
        answers
            .iter()
            .any(|a| a["text"] == json!("هذا الخيار لمشرفي المجموعة فقط.")),
        "{answers:?}"
    );
    bot.stop().await;
}

/// A configured channel's options belong to the operator: `/settings` in a
/// private chat that is a config target shows them without buttons.
#[tokio::test]
async fn issue_14_a_configured_chat_shows_its_options_without_buttons() {
    let user = 4321;
    let bot = support::spawn_bot(&format!("[[targets]]\nchat = {user}\npin = true\n")).await;
    bot.fake
        .push_update(support::updates::message(user, user, 1, "/settings"));
    let sent = bot
        .fake
        .wait_for(std::time::Duration::from_secs(10), "the settings", |s| {
            !s.is_empty()
        })
        .await;
    assert!(
        sent[0].text.contains("تثبيت منشور اليوم: مفعّل"),
        "{}",
        sent[0].text
    );
    assert!(sent[0].text.contains("مشغّل البوت"));
    assert!(sent[0].reply_markup.is_none());
    bot.stop().await;
}

/// A card never comes after its text: a post whose text went out before the
/// target took pictures (the option turned on that day) gets no late card.
#[tokio::test]
async fn issue_14_no_card_is_sent_after_the_text_of_the_same_day() {
    use dhikra::db::Slot;
    let fake = FakeApi::start().await;
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL], "")).await;
    let target = p.sender.db.targets().await.unwrap().remove(0);
    let slot = Slot {
        target: target.id,
        key: "2027-06-04",
        part: 1,
    };
    let (db, now) = (&p.sender.db, clock.now());
    db.claim(slot, 1, "earlier", std::time::Duration::from_secs(300), now)
        .await
        .unwrap();
    db.mark_sent(slot, 99, now).await.unwrap();
    let outcomes = tick(&p, &clock).await;
    assert_eq!(outcomes, vec![Outcome::AlreadySent]);
    assert!(fake.photos().is_empty());
    assert!(fake.sent().is_empty());
}

/// `/today` in a chat opens with the day's card too, then the post.
#[tokio::test]
async fn issue_14_today_opens_with_the_card() {
    let bot = support::spawn_bot("").await;
    bot.clock.set(nine());
    bot.fake
        .push_update(support::updates::message(42, 42, 1, "/today"));
    let sent = bot
        .fake
        .wait_for(std::time::Duration::from_secs(10), "the post", |s| {
            !s.is_empty()
        })
        .await;
    let photo = only(bot.fake.photos_to(42));
    assert!(photo.uploaded);
    assert!(photo.text.contains("4 يونيو"), "{}", photo.text);
    assert!(photo.message_id < sent[0].message_id);
    bot.stop().await;
}

/// Under Telegram's limits (the fake enforcing them), every target gets its card
/// and text once, with one upload and no 429.
#[tokio::test]
async fn issue_14_cards_go_out_within_telegrams_limits() {
    let fake = FakeApi::start().await;
    fake.enforce_overall(30);
    fake.enforce_per_chat(std::time::Duration::from_millis(1000));
    let ids: Vec<i64> = (0..40).map(|i| -1_002_000_000_000 - i).collect();
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&ids, "")).await;
    let outcomes = tokio::time::timeout(std::time::Duration::from_secs(60), tick(&p, &clock))
        .await
        .expect("the broadcast ends");
    assert!(
        outcomes.iter().all(|o| *o == Outcome::Sent { parts: 2 }),
        "{outcomes:?}"
    );
    assert_eq!(fake.photos().len(), 40);
    assert_eq!(fake.photos().iter().filter(|p| p.uploaded).count(), 1);
    assert_eq!(fake.too_many_requests(), 0);
}
