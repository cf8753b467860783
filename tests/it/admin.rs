//! Admin commands through the fake Bot API: who may use them, confirmed reposts
//! (once, however often «تأكيد» is pressed; never after expiry), /reload keeping
//! the last good data, /status, /targets and the audit log.

use crate::support;

use std::time::Duration;

use support::spawn_bot;
use support::updates::{callback, message};

const ADMIN: i64 = 9001;
const STRANGER: i64 = 9002;
const CHANNEL_A: i64 = -1008000000001;
const CHANNEL_B: i64 = -1008000000002;
const WAIT: Duration = Duration::from_secs(10);

fn config() -> String {
    format!(
        "admins = [{ADMIN}]\n[[targets]]\nchat = {CHANNEL_A}\n[[targets]]\nchat = {CHANNEL_B}\n"
    )
}

/// Sends an admin's `/repost …` and waits for the preview and its buttons;
/// returns what was sent and the «تأكيد» callback data.
async fn ask_to_repost(
    bot: &support::BotHandle,
    command: &str,
) -> (Vec<support::fake_api::Sent>, String) {
    bot.fake.push_update(message(ADMIN, ADMIN, 1, command));
    let sent = bot
        .fake
        .wait_for(WAIT, "the preview and buttons", |s| {
            s.iter().any(|m| m.reply_markup.is_some())
        })
        .await;
    let confirm = confirm_button(&sent);
    (sent, confirm)
}

/// The «تأكيد» callback data from the last message that has one.
pub(crate) fn confirm_button(sent: &[support::fake_api::Sent]) -> String {
    sent.iter()
        .rev()
        .find_map(|m| {
            m.reply_markup.as_ref()?["inline_keyboard"][0][0]["callback_data"]
                .as_str()
                .filter(|d| d.starts_with("rp:ok:"))
                .map(str::to_owned)
        })
        .expect("a confirmation button")
}

async fn audit_rows(bot: &support::BotHandle) -> Vec<(Option<i64>, String, String)> {
    bot.db
        .recent_audit(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.user_id, e.action, e.outcome.to_string()))
        .collect()
}

#[tokio::test]
async fn a_non_admin_repost_posts_nothing_and_is_audited() {
    let bot = spawn_bot(&config()).await;
    bot.fake
        .push_update(message(STRANGER, STRANGER, 1, "/repost 06-04"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the refusal", |s| !s.is_empty())
        .await;
    assert!(sent[0].text.contains("للمشرفين فقط"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.fake.sent_to(CHANNEL_A).is_empty() && bot.fake.sent_to(CHANNEL_B).is_empty());
    assert!(
        audit_rows(&bot)
            .await
            .contains(&(Some(STRANGER), "repost".into(), "refused".into()))
    );
    // A non-admin pressing an admin's button is refused too.
    bot.fake
        .push_update(callback(STRANGER, STRANGER, "rp:ok:0000000000000000"));
    bot.fake
        .wait_for_calls("answerCallbackQuery", 1, WAIT)
        .await;
    assert!(
        audit_rows(&bot)
            .await
            .contains(&(Some(STRANGER), "button".into(), "refused".into()))
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_admin_repost_confirmed_twice_posts_exactly_once_per_target() {
    let bot = spawn_bot(&config()).await;
    let (sent, confirm) = ask_to_repost(&bot, "/repost 06-04").await;
    assert!(
        sent.iter()
            .any(|m| m.text.contains("في مثل هذا اليوم 4 يونيو 1944م")),
        "the preview is shown"
    );
    assert!(
        bot.fake.sent_to(CHANNEL_A).is_empty(),
        "nothing before the confirmation"
    );
    // Pressed twice (or by two admins at once).
    bot.fake.push_update(callback(ADMIN, ADMIN, &confirm));
    bot.fake.push_update(callback(ADMIN, ADMIN, &confirm));
    bot.fake
        .wait_for(WAIT, "the repost report", |s| {
            s.iter().any(|m| m.text.contains("انتهت إعادة النشر"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.fake.sent_to(CHANNEL_A).len(), 1);
    assert_eq!(bot.fake.sent_to(CHANNEL_B).len(), 1);
    assert!(
        bot.fake.sent_to(CHANNEL_A)[0]
            .text
            .contains("قوات الحلفاء تدخل روما")
    );
    let rows = audit_rows(&bot).await;
    assert!(
        rows.iter()
            .any(|(_, a, r)| a == "repost-confirm" && r == "started")
    );
    assert!(
        rows.iter()
            .any(|(_, a, r)| a == "repost-confirm" && r.contains("already"))
    );
    bot.stop().await;
}

#[tokio::test]
async fn an_expired_confirmation_posts_nothing() {
    let bot = spawn_bot(&config()).await;
    let (_, confirm) = ask_to_repost(&bot, "/repost rome-liberation").await;
    bot.clock
        .set(chrono::Utc::now() + chrono::Duration::minutes(11));
    bot.fake.push_update(callback(ADMIN, ADMIN, &confirm));
    bot.fake
        .wait_for(WAIT, "the expiry note", |s| {
            s.iter().any(|m| m.text.contains("انتهت صلاحية"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.fake.sent_to(CHANNEL_A).is_empty() && bot.fake.sent_to(CHANNEL_B).is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn cancel_stops_a_repost() {
    let bot = spawn_bot(&config()).await;
    let (sent, confirm) = ask_to_repost(&bot, "/repost 06-04 #1").await;
    assert!(
        sent.last().unwrap().text.contains("إلى 1 هدف"),
        "{}",
        sent.last().unwrap().text
    );
    bot.fake
        .push_update(callback(ADMIN, ADMIN, &confirm.replace("rp:ok:", "rp:no:")));
    bot.fake.push_update(callback(ADMIN, ADMIN, &confirm));
    bot.fake
        .wait_for(WAIT, "the cancel note", |s| {
            s.iter().any(|m| m.text.contains("أُلغيت"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(bot.fake.sent_to(CHANNEL_A).is_empty());
    bot.stop().await;
}

#[tokio::test]
async fn reload_with_a_broken_event_keeps_serving_the_old_data() {
    let data = tempfile::tempdir().unwrap();
    let events = data.path().join("events");
    std::fs::create_dir_all(&events).unwrap();
    for entry in std::fs::read_dir(support::root().join("data/events")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, events.join(path.file_name().unwrap())).unwrap();
    }
    let bot = support::spawn_bot_with_data(&config(), data.path()).await;
    let broken = std::fs::read_to_string(events.join("monte-cassino.toml"))
        .unwrap()
        .replace("date = \"1944-01-17\"", "date = \"1944-02-30\"");
    let date_line = 1 + broken
        .lines()
        .position(|l| l.starts_with("date ="))
        .unwrap();
    std::fs::write(events.join("monte-cassino.toml"), broken).unwrap();
    bot.fake.push_update(message(ADMIN, ADMIN, 1, "/reload"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the reload reply", |s| !s.is_empty())
        .await;
    assert!(
        sent[0].text.contains("ما زالت البيانات السابقة تعمل"),
        "{}",
        sent[0].text
    );
    assert!(
        sent[0].text.contains(&format!(
            "monte-cassino.toml:{date_line}:8: field `date`: 1944-02-30"
        )),
        "{}",
        sent[0].text
    );
    assert!(
        sent[0].text.contains("عدد المشكلات: 1\n"),
        "one problem, not a cascade: {}",
        sent[0].text
    );
    // The old data still answers.
    bot.fake
        .push_update(message(ADMIN, ADMIN, 2, "متى معركة مونتي كاسينو"));
    let sent = bot.fake.wait_for(WAIT, "an answer", |s| s.len() >= 2).await;
    assert!(sent[1].text.contains("17 يناير 1944"), "{}", sent[1].text);
    // Fixed, it reloads.
    let fixed = std::fs::read_to_string(events.join("monte-cassino.toml"))
        .unwrap()
        .replace("1944-02-30", "1944-01-17");
    std::fs::write(events.join("monte-cassino.toml"), fixed).unwrap();
    bot.fake.push_update(message(ADMIN, ADMIN, 3, "/reload"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the second reload", |s| s.len() >= 3)
        .await;
    let events = std::fs::read_dir(&events).unwrap().count();
    assert!(
        sent[2]
            .text
            .contains(&format!("أُعيد التحميل: {events} حدثًا")),
        "{}",
        sent[2].text
    );
    bot.stop().await;
}

#[tokio::test]
async fn status_shows_a_disabled_target_and_why() {
    let bot = spawn_bot(&config()).await;
    let target = bot
        .db
        .targets()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.chat_id == Some(CHANNEL_B))
        .unwrap();
    bot.db
        .disable_target(
            target.id,
            "Forbidden: bot was kicked from the channel chat",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    bot.fake.push_update(message(ADMIN, ADMIN, 1, "/status"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the status", |s| !s.is_empty())
        .await;
    let text = &sent[0].text;
    let store = dhikra::data::load(&support::root().join("data")).unwrap();
    let data = format!(
        "{} حدثًا على {} يومًا",
        store.len(),
        store.days_covered().len()
    );
    assert!(text.contains(&data), "{text}");
    assert!(
        text.contains(&format!(
            "{CHANNEL_B} — <b>معطّل</b>: Forbidden: bot was kicked"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{CHANNEL_A} — المنشور التالي:")),
        "{text}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn targets_can_be_disabled_and_enabled_by_an_admin() {
    let bot = spawn_bot(&config()).await;
    bot.fake.push_update(message(ADMIN, ADMIN, 1, "/targets"));
    let sent = bot.fake.wait_for(WAIT, "the list", |s| !s.is_empty()).await;
    let button = sent[0].reply_markup.as_ref().unwrap()["inline_keyboard"][0][0]["callback_data"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(button, "tg:off:1");
    bot.fake.push_update(callback(ADMIN, ADMIN, &button));
    bot.fake
        .wait_for(WAIT, "the switch", |s| s.len() >= 2)
        .await;
    assert!(!bot.db.targets().await.unwrap()[0].enabled);
    bot.fake
        .push_update(message(ADMIN, ADMIN, 2, "/targets enable #1"));
    bot.fake
        .wait_for(WAIT, "the enable", |s| s.len() >= 3)
        .await;
    assert!(bot.db.targets().await.unwrap()[0].enabled);
    bot.fake.push_update(message(ADMIN, ADMIN, 3, "/audit"));
    let sent = bot.fake.wait_for(WAIT, "the audit", |s| s.len() >= 4).await;
    assert!(
        sent[3].text.contains("target-disable") && sent[3].text.contains("targets"),
        "{}",
        sent[3].text
    );
    bot.stop().await;
}

/// `/preview` goes to the admin privately. Guards what an admin checks before
/// a repost: the card the channels will get (it used to be left out), then the text.
#[tokio::test]
async fn issue_14_admin_previews_show_the_card_before_the_text() {
    let bot = spawn_bot(&config()).await;
    bot.fake
        .push_update(message(ADMIN, ADMIN, 1, "/preview 06-04"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the preview", |s| !s.is_empty())
        .await;
    assert_eq!(sent[0].chat_id, ADMIN, "privately");
    assert!(sent[0].text.contains("في مثل هذا اليوم 4 يونيو 1944م"));
    let photos = bot.fake.photos_to(ADMIN);
    assert_eq!(photos.len(), 1, "one card");
    assert!(photos[0].text.contains("4 يونيو"), "{}", photos[0].text);
    assert!(
        photos[0].message_id < sent[0].message_id,
        "the card comes first"
    );

    let (sent, _) = ask_to_repost(&bot, "/repost 06-04").await;
    let photos = bot.fake.photos_to(ADMIN);
    assert_eq!(photos.len(), 2, "the repost's preview has the card too");
    let buttons = sent
        .iter()
        .rev()
        .find(|m| m.reply_markup.is_some())
        .unwrap();
    assert!(photos[1].message_id < buttons.message_id);
    assert!(
        bot.fake.photos_to(CHANNEL_A).is_empty(),
        "nothing before the confirmation"
    );
    bot.stop().await;
}

#[tokio::test]
async fn admin_commands_in_a_public_group_are_refused() {
    let bot = spawn_bot(&config()).await;
    bot.fake
        .push_update(message(-1009000000001, ADMIN, 1, "/status"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the refusal", |s| !s.is_empty())
        .await;
    assert!(sent[0].text.contains("للمشرفين فقط"));
    bot.stop().await;
}

/// A copy of the shipped data, which a test may change.
fn data_copy() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    let events = data.path().join("events");
    std::fs::create_dir_all(&events).unwrap();
    for entry in std::fs::read_dir(support::root().join("data/events")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, events.join(path.file_name().unwrap())).unwrap();
    }
    data
}

/// Issue 13: `/status` lists the processes seen in the last minute — host,
/// role, data version, seconds since seen — marking the one answering; the
/// data version is the same for the same data and changes on a reload.
#[tokio::test]
async fn status_lists_the_replicas_and_their_data_version() {
    let data = data_copy();
    let bot = support::spawn_bot_with_data(&config(), data.path()).await;
    let version = dhikra::data::version(&dhikra::data::shared(
        dhikra::data::load(&support::root().join("data")).unwrap(),
    ));
    let other = ("other:1:00000000000000bb", "other-host");
    let role = dhikra::db::ReplicaRole::Leader;
    bot.db
        .heartbeat(other.0, other.1, role, "0123456789ab")
        .await
        .unwrap();
    bot.fake.push_update(message(ADMIN, ADMIN, 1, "/status"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the status", |s| !s.is_empty())
        .await;
    let text = &sent[0].text;
    assert!(
        text.contains(&format!("(الإصدار <code>{version}</code>)")),
        "{text}"
    );
    let mine = format!(
        "• {} — standby — الإصدار <code>{version}</code> — قبل ",
        dhikra::publishing::host_label()
    );
    let line = |start: &str| text.lines().find(|l| l.contains(start)).map(str::to_owned);
    assert!(
        line(&mine).is_some_and(|l| l.ends_with(" ث — (هذه)")),
        "{text}"
    );
    let theirs = "• other-host — leader — الإصدار <code>0123456789ab</code> — قبل 0 ث";
    assert!(line(theirs).is_some_and(|l| l.ends_with(" ث")), "{text}");

    // Another title: a new version, here at once and in the heartbeat soon.
    let file = data.path().join("events/monte-cassino.toml");
    let changed = std::fs::read_to_string(&file)
        .unwrap()
        .replace("Battle of Monte Cassino\"", "Battle of Monte Cassino (I)\"");
    std::fs::write(&file, changed).unwrap();
    bot.fake.push_update(message(ADMIN, ADMIN, 2, "/reload"));
    bot.fake
        .wait_for(WAIT, "the reload", |s| s.len() >= 2)
        .await;
    bot.fake.push_update(message(ADMIN, ADMIN, 3, "/status"));
    let sent = bot
        .fake
        .wait_for(WAIT, "the status", |s| s.len() >= 3)
        .await;
    assert!(sent[1].text.contains("أُعيد التحميل"), "{}", sent[1].text);
    assert!(
        !sent[2].text.contains(&format!("<code>{version}</code>)")),
        "{}",
        sent[2].text
    );
    let deadline = std::time::Instant::now() + WAIT;
    let label = dhikra::publishing::host_label();
    loop {
        let seen = bot.db.replicas_seen(Duration::from_secs(60)).await.unwrap();
        let me = seen
            .iter()
            .find(|r| r.label == label)
            .expect("this process");
        if me.data_version != version {
            assert!(sent[2].text.contains(&me.data_version), "{}", sent[2].text);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the heartbeat kept {version}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.stop().await;
}

/// Issue 13: `/reload` on one replica reloads all. Two processes on one
/// PostgreSQL schema serving one data directory: an event added there, the
/// admin's `/reload` to the first, and the second serves it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_a_reload_on_one_replica_reloads_the_others() {
    let scratch = dhikra::db::testing::Scratch::new().await;
    let data = data_copy();
    let on_postgres = |fake: &support::fake_api::FakeApi, dir: &std::path::Path| {
        let mut config = support::test_config(fake, data.path(), dir, &config());
        config.database = dhikra::config::Database::Postgres(scratch.url.clone());
        config
    };
    let (fake, dir) = (
        support::fake_api::FakeApi::start().await,
        tempfile::tempdir().unwrap(),
    );
    let config = on_postgres(&fake, dir.path());
    let first = support::spawn_bot_with_config(fake, config, dir).await;
    let (fake, dir) = (
        support::fake_api::FakeApi::start().await,
        tempfile::tempdir().unwrap(),
    );
    let clock = support::TestClock::new(chrono::Utc::now());
    let second = support::service(on_postgres(&fake, dir.path()), clock).await;
    let follower = dhikra::service::reloads::subscribe(&second.context)
        .await
        .expect("PostgreSQL: replicas listen");
    tokio::spawn(follower.run());
    let catalog = &second.context.catalog;
    let before = (
        dhikra::data::version(catalog),
        dhikra::data::current(catalog).store.len(),
    );

    let added = support::event_toml("reload-witness", "1944-03-03", "شاهد");
    std::fs::write(data.path().join("events/reload-witness.toml"), added).unwrap();
    first.fake.push_update(message(ADMIN, ADMIN, 1, "/reload"));
    let sent = first
        .fake
        .wait_for(WAIT, "the reload", |s| !s.is_empty())
        .await;
    assert!(sent[0].text.contains("أُعيد التحميل"), "{}", sent[0].text);
    let deadline = std::time::Instant::now() + WAIT;
    while dhikra::data::version(catalog) == before.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second replica never reloaded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let current = dhikra::data::current(catalog);
    assert_eq!(current.store.len(), before.1 + 1);
    assert!(current.store.get("reload-witness").is_some());
    first.stop().await;
}
