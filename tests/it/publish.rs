//! Daily publishing against the fake Bot API: the schedule in local time (DST days
//! included), catch-up, exactly-once, and every Telegram fault class.

use crate::support;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dhikra::core::calendar::Clock;
use dhikra::publishing::Outcome;
use dhikra::shutdown::Shutdown;
use serde_json::json;
use support::fake_api::{FakeApi, Fault};
use support::{TestClock, data_dir, event_toml, publisher, test_config};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn never_stop() -> Shutdown {
    Shutdown::never()
}

const CHANNEL: i64 = -1001000000001;
const GROUP: i64 = -1001000000002;

fn targets(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| format!("[[targets]]\nchat = {id}\n"))
        .collect()
}

/// Events on the days the tests use: 4 June (shipped), Cairo's DST days of 2027.
fn dst_data() -> tempfile::TempDir {
    data_dir(&[
        ("june.toml", &event_toml("june", "1944-06-04", "يونيو")),
        ("spring.toml", &event_toml("spring", "1944-04-30", "الربيع")),
        ("autumn.toml", &event_toml("autumn", "1944-10-28", "الخريف")),
        ("after.toml", &event_toml("after", "1944-10-29", "بعد")),
    ])
}

#[tokio::test]
async fn the_post_goes_out_at_nine_local_exactly_once() {
    let fake = FakeApi::start().await;
    let (p, clock, _data, _db) =
        starting_at(&fake, &targets(&[CHANNEL]), utc(2027, 6, 4, 5, 59)).await;
    // 08:59 Cairo summer time: nothing yet.
    assert!(
        p.publish_due(clock.now(), &never_stop())
            .await
            .unwrap()
            .results
            .is_empty()
    );
    for minute in 0..3 {
        clock.set(utc(2027, 6, 4, 6, minute));
        p.publish_due(clock.now(), &never_stop()).await.unwrap();
    }
    let sent = fake.sent_to(CHANNEL);
    assert_eq!(sent.len(), 1, "exactly one post");
    assert!(sent[0].text.contains("في مثل هذا اليوم 4 يونيو 1944م"));
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
}

#[tokio::test]
async fn cairo_dst_change_days_post_at_nine_local() {
    let fake = FakeApi::start().await;
    let (p, clock, _data, _db) =
        starting_at(&fake, &targets(&[CHANNEL]), utc(2027, 4, 30, 5, 59)).await;
    // (08:59 local, 09:00 local) in UTC on each day: spring-forward day, fall-back day, day after.
    for (before, at) in [
        (utc(2027, 4, 30, 5, 59), utc(2027, 4, 30, 6, 0)),
        (utc(2027, 10, 28, 5, 59), utc(2027, 10, 28, 6, 0)),
        (utc(2027, 10, 29, 6, 59), utc(2027, 10, 29, 7, 0)),
    ] {
        let count = fake.sent_to(CHANNEL).len();
        clock.set(before);
        p.publish_due(before, &never_stop()).await.unwrap();
        assert_eq!(
            fake.sent_to(CHANNEL).len(),
            count,
            "nothing before 09:00 local ({before})"
        );
        clock.set(at);
        p.publish_due(at, &never_stop()).await.unwrap();
        p.publish_due(at + chrono::Duration::minutes(1), &never_stop())
            .await
            .unwrap();
        assert_eq!(
            fake.sent_to(CHANNEL).len(),
            count + 1,
            "one post at 09:00 local ({at})"
        );
    }
}

#[tokio::test]
async fn catch_up_after_a_restart_at_eleven_and_nothing_for_a_past_day() {
    let fake = FakeApi::start().await;
    let (data, db) = (dst_data(), tempfile::tempdir().unwrap());
    // The process was down at 09:00 and starts at 11:00 local (08:00 UTC).
    let clock = TestClock::new(utc(2027, 6, 4, 8, 0));
    let config = test_config(&fake, data.path(), db.path(), &targets(&[CHANNEL]));
    let p = publisher(config.clone(), clock.clone()).await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(CHANNEL).len(), 1, "caught up at 11:00");
    // A second process on the same database ("restart") does not send again.
    let again = publisher(config, clock.clone()).await;
    again.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);

    // Down all of 4 June; back at 00:30 on 5 June: 4 June's post is never sent.
    let fake = FakeApi::start().await;
    let db = tempfile::tempdir().unwrap();
    let clock = TestClock::new(utc(2027, 6, 4, 21, 30));
    let p = publisher(
        test_config(&fake, data.path(), db.path(), &targets(&[CHANNEL])),
        clock.clone(),
    )
    .await;
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(report.results.is_empty() && fake.sent().is_empty());
}

#[tokio::test]
async fn a_catch_up_window_limits_late_posts() {
    let fake = FakeApi::start().await;
    let (p, clock, _data, _db) = starting_at(
        &fake,
        &format!("catch_up_minutes = 60\n{}", targets(&[CHANNEL])),
        utc(2027, 6, 4, 8, 0),
    )
    .await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(fake.sent().is_empty(), "11:00 is past 09:00 + 60 minutes");
}

type Running = (
    std::sync::Arc<dhikra::publishing::Publisher>,
    std::sync::Arc<TestClock>,
    tempfile::TempDir,
    tempfile::TempDir,
);

/// A publisher over the test events (4 June and Cairo's DST days) with a fresh
/// database, its clock at `start`.
async fn starting_at(fake: &FakeApi, extra: &str, start: DateTime<Utc>) -> Running {
    let (data, db) = (dst_data(), tempfile::tempdir().unwrap());
    let clock = TestClock::new(start);
    let p = publisher(
        test_config(fake, data.path(), db.path(), extra),
        clock.clone(),
    )
    .await;
    (p, clock, data, db)
}

/// `starting_at` 09:00 Cairo time on 4 June 2027.
async fn at_nine(fake: &FakeApi, extra: &str) -> Running {
    starting_at(fake, extra, utc(2027, 6, 4, 6, 0)).await
}

#[tokio::test]
async fn retry_after_is_honoured_then_the_same_part_is_sent() {
    let fake = FakeApi::start().await;
    fake.fail(CHANNEL, [Fault::RetryAfter(1)]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL])).await;
    let started = std::time::Instant::now();
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited retry_after"
    );
    // The day's card and the one text part.
    assert!(matches!(
        report.results[0].outcome,
        Outcome::Sent { parts: 2 }
    ));
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
}

#[tokio::test]
async fn a_long_retry_after_defers_to_a_later_tick() {
    let fake = FakeApi::start().await;
    fake.fail(CHANNEL, [Fault::RetryAfter(3600)]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL])).await;
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(
        matches!(report.results[0].outcome, Outcome::Deferred(_)),
        "{:?}",
        report.results
    );
    clock.set(utc(2027, 6, 4, 6, 30));
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(fake.sent().is_empty(), "not before retry_after");
    clock.set(utc(2027, 6, 4, 7, 1));
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
}

#[tokio::test]
async fn kicked_blocked_and_missing_chats_are_disabled_and_the_rest_still_get_it() {
    let fake = FakeApi::start().await;
    let (kicked, not_member, missing, ok) = (
        -1001000000011,
        -1001000000012,
        -1001000000013,
        -1001000000014,
    );
    fake.fail(
        kicked,
        [Fault::Error(
            403,
            "Forbidden: bot was kicked from the channel chat",
        )],
    );
    // teloxide knows no variant for this text: it arrives as ApiError::Unknown.
    fake.fail(
        not_member,
        [Fault::Error(
            403,
            "Forbidden: bot is not a member of the channel chat",
        )],
    );
    fake.fail(missing, [Fault::Error(400, "Bad Request: chat not found")]);
    let admin_chat = 777;
    let (p, clock, _d, _b) = at_nine(
        &fake,
        &format!(
            "admin_chat = {admin_chat}\n{}",
            targets(&[kicked, not_member, missing, ok])
        ),
    )
    .await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(ok).len(), 1);
    let targets = p.sender.db.all_targets().await.unwrap();
    for chat in [kicked, not_member, missing] {
        let t = targets.iter().find(|t| t.chat_id == Some(chat)).unwrap();
        assert!(!t.enabled, "{chat} should be disabled");
        assert!(
            t.disabled_reason
                .as_deref()
                .unwrap_or("")
                .contains(if chat == missing {
                    "chat not found"
                } else {
                    "Forbidden"
                })
        );
    }
    assert_eq!(targets.len(), 4, "disabled targets are kept");
    assert_eq!(
        fake.sent_to(admin_chat).len(),
        3,
        "one alert per disabled target"
    );
    // A disabled target gets nothing on the next tick.
    clock.set(utc(2027, 6, 4, 6, 5));
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(fake.sent_to(kicked).is_empty());
}

#[tokio::test]
async fn a_group_upgraded_to_a_supergroup_is_followed() {
    let fake = FakeApi::start().await;
    let (old, new) = (-4001, -1004001);
    fake.fail(old, [Fault::Migrate(new)]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[old])).await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(new).len(), 1);
    assert_eq!(
        p.sender.db.targets().await.unwrap()[0].chat_id,
        Some(new),
        "new id stored"
    );
}

#[tokio::test]
async fn unparsable_html_is_resent_as_plain_text_and_alerted() {
    let fake = FakeApi::start().await;
    fake.fail(
        CHANNEL,
        [Fault::Error(
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3",
        )],
    );
    let (p, clock, _d, _b) =
        at_nine(&fake, &format!("admin_chat = 777\n{}", targets(&[CHANNEL]))).await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    let sent = fake.sent_to(CHANNEL);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].parse_mode, None);
    assert!(!sent[0].text.contains("<b>"));
    assert_eq!(fake.sent_to(777).len(), 1);
}

#[tokio::test]
async fn network_trouble_is_retried_with_backoff() {
    let fake = FakeApi::start().await;
    fake.fail(CHANNEL, [Fault::Garbage, Fault::Garbage]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL])).await;
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(matches!(report.results[0].outcome, Outcome::Sent { .. }));
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
}

#[tokio::test]
async fn persistent_network_trouble_fails_and_alerts_the_admins() {
    let fake = FakeApi::start().await;
    fake.fail(CHANNEL, std::iter::repeat_n(Fault::Garbage, 10));
    let (p, clock, _d, _b) =
        at_nine(&fake, &format!("admin_chat = 777\n{}", targets(&[CHANNEL]))).await;
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(
        matches!(report.results[0].outcome, Outcome::Failed(_)),
        "{:?}",
        report.results
    );
    assert!(fake.sent_to(CHANNEL).is_empty());
    assert_eq!(fake.sent_to(777).len(), 1);
    // Bounded: 1 attempt + 3 retries.
    assert_eq!(
        fake.calls("sendMessage")
            .iter()
            .filter(|c| c["chat_id"] == json!(CHANNEL))
            .count(),
        4
    );
}

/// Teloxide sleeps 10 s on any 5xx before returning it, so this one test is slow.
#[tokio::test]
async fn a_server_error_is_transient() {
    let fake = FakeApi::start().await;
    fake.fail(CHANNEL, [Fault::ServerError(502)]);
    let (p, clock, _d, _b) = at_nine(&fake, &targets(&[CHANNEL])).await;
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(
        matches!(report.results[0].outcome, Outcome::Sent { .. }),
        "{:?}",
        report.results
    );
}

/// A day whose post needs several messages: four events of nearly the longest
/// summary `validate` allows (one message each).
fn long_day() -> tempfile::TempDir {
    let long = "جملة عربية طويلة في ملخص الحدث. ".repeat(85);
    let files: Vec<(String, String)> = (1..=4)
        .map(|i| {
            let id = format!("long-{i}");
            let event = event_toml(&id, "1944-06-04", &format!("طويل{i}"))
                .replace(&format!("نص عربي عن طويل{i}."), &long);
            (format!("{id}.toml"), event)
        })
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, e)| (f.as_str(), e.as_str()))
        .collect();
    data_dir(&refs)
}

#[tokio::test]
async fn a_long_post_resumes_at_the_first_part_not_sent() {
    let fake = FakeApi::start().await;
    let data = long_day();
    let db = tempfile::tempdir().unwrap();
    let clock = TestClock::new(utc(2027, 6, 4, 6, 0));
    let p = publisher(
        test_config(&fake, data.path(), db.path(), &targets(&[CHANNEL])),
        clock.clone(),
    )
    .await;
    // Part 1 goes through; part 2 is told to wait an hour.
    fake.fail(CHANNEL, [Fault::Pass, Fault::RetryAfter(3600)]);
    let report = p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(
        matches!(report.results[0].outcome, Outcome::Deferred(_)),
        "{:?}",
        report.results
    );
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
    clock.set(utc(2027, 6, 4, 7, 1));
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    let sent = fake.sent_to(CHANNEL);
    assert!(
        sent.len() >= 3,
        "four long events need several parts, got {}",
        sent.len()
    );
    assert!(sent[0].text.starts_with("<b>في مثل هذا اليوم"));
    let distinct: std::collections::HashSet<&str> = sent.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        distinct.len(),
        sent.len(),
        "no part sent twice (part 1 above all)"
    );
    assert!(sent.last().unwrap().text.contains("المصادر:"));
}

#[tokio::test]
async fn the_limiter_keeps_under_telegrams_per_chat_limit() {
    let fake = FakeApi::start().await;
    fake.enforce_per_chat(Duration::from_millis(950));
    let data = long_day();
    let db = tempfile::tempdir().unwrap();
    let clock = TestClock::new(utc(2027, 6, 4, 6, 0));
    let p = publisher(
        test_config(&fake, data.path(), db.path(), &targets(&[CHANNEL, GROUP])),
        clock.clone(),
    )
    .await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert!(fake.sent_to(CHANNEL).len() >= 3);
    assert_eq!(fake.sent_to(CHANNEL).len(), fake.sent_to(GROUP).len());
    assert_eq!(fake.too_many_requests(), 0, "no 429 provoked");
}

#[tokio::test]
async fn usernames_are_resolved_once_to_numeric_ids() {
    let fake = FakeApi::start().await;
    fake.add_chat("@dhikra_channel", CHANNEL, "channel");
    let (p, clock, _d, _b) = at_nine(&fake, "[[targets]]\nchat = \"@dhikra_channel\"\n").await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    clock.set(utc(2027, 6, 4, 6, 1));
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(CHANNEL).len(), 1);
    assert_eq!(fake.calls("getChat").len(), 1, "resolved once");
    let t = &p.sender.db.targets().await.unwrap()[0];
    assert_eq!(
        (t.chat_id, t.kind.as_deref()),
        (Some(CHANNEL), Some("channel"))
    );
}

#[tokio::test]
async fn a_forum_topic_target_posts_into_its_topic() {
    let fake = FakeApi::start().await;
    let (p, clock, _d, _b) =
        at_nine(&fake, &format!("[[targets]]\nchat = {GROUP}\ntopic = 42\n")).await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    assert_eq!(fake.sent_to(GROUP)[0].thread_id, Some(42));
}

/// Issue 10: an operator can run an Italy-only channel (`theatres` on a target);
/// a target without the key gets every theatre.
#[tokio::test]
async fn a_target_gets_only_the_theatres_it_asked_for() {
    let fake = FakeApi::start().await;
    let italy = event_toml("rome", "1944-06-04", "روما");
    let desert = event_toml("desert", "1942-06-04", "الصحراء")
        .replace("theatre = \"italy\"", "theatre = \"north-africa\"");
    let data = data_dir(&[("rome.toml", &italy), ("desert.toml", &desert)]);
    let db = tempfile::tempdir().unwrap();
    let clock = TestClock::new(utc(2027, 6, 4, 6, 0));
    let config = format!(
        "[[targets]]\nchat = {CHANNEL}\ntheatres = [\"italy\"]\n[[targets]]\nchat = {GROUP}\n"
    );
    let p = publisher(
        test_config(&fake, data.path(), db.path(), &config),
        clock.clone(),
    )
    .await;
    p.publish_due(clock.now(), &never_stop()).await.unwrap();
    let channel: String = fake
        .sent_to(CHANNEL)
        .iter()
        .map(|m| m.text.clone())
        .collect();
    let group: String = fake.sent_to(GROUP).iter().map(|m| m.text.clone()).collect();
    assert!(
        channel.contains("معركة روما") && !channel.contains("معركة الصحراء"),
        "{channel}"
    );
    assert!(
        group.contains("معركة روما") && group.contains("معركة الصحراء"),
        "{group}"
    );
}
