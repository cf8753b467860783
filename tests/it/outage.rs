//! Issue 13: `dhikra run` on PostgreSQL when the database goes away mid-run.
//! Each test puts a proxy of its own (`support::pg_proxy`) between one process
//! and the server, and cuts it: every connection of that process dies (the
//! server ends their backends, and the advisory lock of the lead with them),
//! and no new one gets through until the proxy is restored — as after a server
//! restart or a network cut, and without touching any other test's connections.

use crate::run::{Reaped, signal, target_block, today_data, wait_exit};
use crate::support;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use dhikra::config::Database;
use dhikra::db::{Db, DeliveryStatus};
use dhikra::service::outage::{PAUSED, RESUMED};
use dhikra::telegram::reply::TRY_AGAIN;
use support::fake_api::{FakeApi, Sent, TOKEN};
use support::pg_proxy::PgProxy;
use support::{Sandbox, stderr};

const ADMIN_CHAT: i64 = -1009000000000;

/// The sandbox's config, its database made (directly, not through the proxy),
/// and a `dhikra run` on it through `proxy`, logging to `run.log`.
fn start_run(s: &Sandbox, scratch: &str, proxy: &PgProxy) -> Reaped {
    let made = s
        .command(&["post", "--dry-run"])
        .env("DHIKRA_DATABASE", scratch)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let log = std::fs::File::create(s.dir.path().join("run.log")).unwrap();
    s.command(&["run"])
        .env("DHIKRA_DATABASE", proxy.url.expose())
        .env("TELOXIDE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .map(Reaped)
        .expect("spawn dhikra")
}

/// The alerts in `sent` that say `text`.
fn alerts(sent: &[Sent], text: &str) -> usize {
    let to_admins = sent.iter().filter(|m| m.chat_id == ADMIN_CHAT);
    to_admins.filter(|m| m.text.contains(text)).count()
}

/// Messages sent to the targets (negative ids other than the admin chat).
/// Counted on one copy of what was sent: the fake Bot API shares this
/// process's two threads, and delaying it bunches the bot's sends into 429s.
fn posts(sent: &[Sent]) -> impl Iterator<Item = &Sent> {
    sent.iter()
        .filter(|m| m.chat_id < 0 && m.chat_id != ADMIN_CHAT)
}

/// Issue 13: a leader whose database goes away keeps answering questions,
/// alerts the admins once, tells a `/subscribe` to try again (it had no
/// answer at all before), sends nothing
/// while the day's post falls due, and once the database is back leads again
/// and sends that post exactly once (and says so, once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_a_leader_without_its_database_answers_and_posts_once_it_is_back() {
    let scratch = dhikra::db::testing::Scratch::new().await;
    let proxy = PgProxy::start(&scratch.url).await;
    let fake = FakeApi::start().await;
    let data = today_data();
    // The post falls due in the outage: the first minute at least 15 s away.
    let soon = Utc::now() + chrono::Duration::seconds(15);
    let due =
        soon.with_second(0).unwrap().with_nanosecond(0).unwrap() + chrono::Duration::minutes(1);
    let (n, first) = (3, -1009000000001);
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\npost_time = \"{}\"\nadmin_chat = {ADMIN_CHAT}\napi_url = \"{}\"\n{}",
            due.format("%H:%M"),
            fake.url,
            target_block(first, n)
        ),
    );
    let mut run = start_run(&s, scratch.url.expose(), &proxy);
    fake.wait_for_calls("getUpdates", 1, Duration::from_secs(20))
        .await;
    assert_eq!(posts(&fake.sent()).count(), 0, "not due yet");

    proxy.cut();
    fake.wait_for(Duration::from_secs(20), "the pause alert", |sent| {
        alerts(sent, PAUSED) == 1
    })
    .await;
    support::ask(
        &fake,
        7101,
        "متى دخل الحلفاء روما؟",
        Duration::from_secs(20),
        "an answer without the database",
    )
    .await;
    // Needs the database: the user is told to try again, never a panic.
    fake.push_update(support::updates::message(7102, 7102, 2, "/subscribe"));
    fake.wait_for(Duration::from_secs(20), "try again later", |sent| {
        sent.iter()
            .any(|m| m.chat_id == 7102 && m.text.contains(TRY_AGAIN))
    })
    .await;
    let wait = (due - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(3);
    tokio::time::sleep(wait).await;
    assert_eq!(
        posts(&fake.sent()).count(),
        0,
        "the post fell due without its database: nothing sent"
    );
    assert!(run.0.try_wait().unwrap().is_none(), "still running");

    proxy.restore();
    let back = Instant::now();
    fake.wait_for(
        Duration::from_secs(30),
        "the day's post once the database is back",
        |_| (0..n as i64).all(|i| !fake.sent_to(first - i).is_empty()),
    )
    .await;
    let resumed_in = back.elapsed();
    eprintln!("issue 13: the day's post went out {resumed_in:?} after the database came back");
    fake.wait_for(Duration::from_secs(10), "the resume alert", |sent| {
        alerts(sent, RESUMED) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await; // a second copy would show
    for i in 0..n as i64 {
        assert_eq!(fake.sent_to(first - i).len(), 1, "target {}", first - i);
    }
    assert_eq!(
        (alerts(&fake.sent(), PAUSED), alerts(&fake.sent(), RESUMED)),
        (1, 1)
    );
    assert!(
        resumed_in < Duration::from_secs(15),
        "resumed in {resumed_in:?}"
    );
    assert_eq!(fake.conflicts(), 0, "a second getUpdates poller");

    signal(&run.0, "TERM");
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut run.0, Duration::from_secs(20)))
            .await
            .unwrap();
    let log = std::fs::read_to_string(s.dir.path().join("run.log")).unwrap();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("a handler failed") && log.contains("database"),
        "/subscribe's failure is logged\n{log}"
    );
}

/// Issue 13: PostgreSQL restarted in the middle of a broadcast to 200
/// targets. The leader sends nothing once it knows its lead is gone; when the
/// server is back it leads again and the broadcast resumes: no target gets a
/// part twice, and every target not left `unknown` (a request on the wire at
/// the cut) gets it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_postgres_restarted_mid_broadcast_resumes_it_without_a_second_copy() {
    let scratch = dhikra::db::testing::Scratch::new().await;
    let proxy = PgProxy::start(&scratch.url).await;
    let fake = FakeApi::start().await;
    fake.enforce_overall(30);
    fake.set_send_delay(Duration::from_millis(5));
    let data = today_data();
    let (n, first) = (200, -1009100000001);
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\npost_time = \"00:00\"\nadmin_chat = {ADMIN_CHAT}\napi_url = \"{}\"\n{}",
            fake.url,
            target_block(first, n)
        ),
    );
    let mut run = start_run(&s, scratch.url.expose(), &proxy);
    fake.wait_for(
        Duration::from_secs(30),
        "a third of the broadcast",
        |sent| posts(sent).count() >= n / 3,
    )
    .await;
    proxy.cut();
    let cut = Instant::now();
    fake.wait_for(Duration::from_secs(20), "the pause alert", |sent| {
        alerts(sent, PAUSED) == 1
    })
    .await;
    let paused = (posts(&fake.sent()).count(), cut.elapsed());
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(posts(&fake.sent()).count(), paused.0, "sent while paused");
    assert!(paused.0 < n, "cut mid-broadcast ({} of {n} sent)", paused.0);

    proxy.restore();
    let back = Instant::now();
    fake.wait_for(Duration::from_secs(20), "the broadcast resuming", |sent| {
        posts(sent).count() > paused.0
    })
    .await;
    let resumed_in = back.elapsed();
    fake.wait_for(
        Duration::from_secs(60),
        "the rest of the broadcast",
        |sent| {
            let chats: HashSet<i64> = posts(sent).map(|m| m.chat_id).collect();
            chats.len() >= n - 8
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await; // the last few, or a second copy
    let db = Db::open(&Database::Postgres(scratch.url.clone()))
        .await
        .unwrap();
    let key = Utc::now().date_naive().to_string();
    let rows = db.deliveries(&key).await.unwrap();
    let unknown = |id: i64| {
        rows.iter()
            .any(|d| d.target_id == id && d.status == DeliveryStatus::Unknown)
    };
    let mut copies: HashMap<i64, usize> = HashMap::new();
    for m in posts(&fake.sent()) {
        *copies.entry(m.chat_id).or_default() += 1;
    }
    let mut short = Vec::new();
    for t in db.targets().await.unwrap() {
        let copies = copies.get(&t.chat_id.unwrap()).copied().unwrap_or(0);
        assert!(copies <= 1, "{}: {copies} copies", t.chat_key);
        if copies == 0 && !unknown(t.id) {
            short.push(t.chat_key.clone());
        }
    }
    assert!(short.is_empty(), "never sent: {short:?}");
    let rows = db.deliveries(&key).await.unwrap();
    let ambiguous = rows
        .iter()
        .filter(|d| d.status == DeliveryStatus::Unknown)
        .count();
    eprintln!(
        "issue 13: paused {:?} after the cut with {} of {n} sent; resumed {resumed_in:?} after the server came back; finished {:?} after; {ambiguous} unknown",
        paused.1,
        paused.0,
        back.elapsed()
    );
    assert!(
        ambiguous <= 8,
        "at most the in-flight sends are ambiguous: {ambiguous}"
    );
    assert_eq!(alerts(&fake.sent(), PAUSED), 1);
    assert_eq!(alerts(&fake.sent(), RESUMED), 1);
    assert_eq!(fake.conflicts(), 0, "a second getUpdates poller");
    let since = |t: &Instant| {
        t.saturating_duration_since(cut).as_millis() as i128
            - cut.saturating_duration_since(*t).as_millis() as i128
    };
    assert_eq!(
        fake.too_many_requests(),
        0,
        "429s provoked, at (ms from the cut) {:?}; the server back at {}",
        fake.too_many_at().iter().map(since).collect::<Vec<_>>(),
        since(&back)
    );

    signal(&run.0, "TERM");
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut run.0, Duration::from_secs(20)))
            .await
            .unwrap();
    assert!(status.success(), "{status:?}");
}

/// Issue 13: a leader cut off from its database while another replica takes
/// the lead stops polling at Telegram's first 409 (a newer getUpdates ends the
/// older one), so the new leader is the only poller: a question asked then is
/// answered once, and the 409s stop. Before, the two took turns ending each
/// other's requests for as long as the cut lasted. Once its database is back
/// it stands by (no polling, no sending) while the other leads, and takes the
/// lead when that one stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_a_cut_off_leader_stops_polling_and_stands_by_once_another_replica_leads() {
    let scratch = dhikra::db::testing::Scratch::new().await;
    let proxy = PgProxy::start(&scratch.url).await;
    let fake = FakeApi::start().await;
    let data = today_data();
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\nadmin_chat = {ADMIN_CHAT}\napi_url = \"{}\"\n",
            fake.url
        ),
    );
    let mut cut_off = start_run(&s, scratch.url.expose(), &proxy);
    fake.wait_for_calls("getUpdates", 1, Duration::from_secs(20))
        .await;
    let mut other = s
        .command(&["run"])
        .env("DHIKRA_DATABASE", scratch.url.expose())
        .env("TELOXIDE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Reaped)
        .expect("spawn the second replica");

    proxy.cut();
    // The other replica leads once the cut-off one's heartbeat lapses, and polls.
    let started = Instant::now();
    while fake.conflicts() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the other replica never polled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Until the cut-off one yields: no 409 for 5 s (it takes a loaded
    // machine a few seconds to stop a poller; two pollers never go quiet).
    let (mut settled, mut quiet) = (fake.conflicts(), Instant::now());
    while quiet.elapsed() < Duration::from_secs(5) {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "two processes still poll: {settled} conflicts"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = fake.conflicts();
        if now != settled {
            (settled, quiet) = (now, Instant::now());
        }
    }
    support::ask(
        &fake,
        7201,
        "متى دخل الحلفاء روما؟",
        Duration::from_secs(20),
        "the answer",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.conflicts(), settled, "two processes still poll");
    let answers = fake.sent().iter().filter(|m| m.chat_id == 7201).count();
    assert_eq!(answers, 1, "one answer");
    assert!(cut_off.0.try_wait().unwrap().is_none(), "still running");

    // The database is back, and the other replica leads: standing by.
    proxy.restore();
    let log = || std::fs::read_to_string(s.dir.path().join("run.log")).unwrap();
    let standing_by = Instant::now();
    while !log().contains("another replica leads now") {
        assert!(
            standing_by.elapsed() < Duration::from_secs(30),
            "it never stood by:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    support::ask(
        &fake,
        7202,
        "متى دخل الحلفاء روما؟",
        Duration::from_secs(20),
        "the second answer",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.conflicts(), settled, "the one standing by polls again");
    let second = fake.sent().iter().filter(|m| m.chat_id == 7202).count();
    assert_eq!(second, 1, "one answer");

    // The leader stops: the one standing by takes over and answers.
    signal(&other.0, "TERM");
    let b = tokio::task::spawn_blocking(move || wait_exit(&mut other.0, Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(b.success(), "{b:?}");
    support::ask(
        &fake,
        7203,
        "متى دخل الحلفاء روما؟",
        Duration::from_secs(40),
        "an answer from the one that took over",
    )
    .await;

    signal(&cut_off.0, "TERM");
    let a = tokio::task::spawn_blocking(move || wait_exit(&mut cut_off.0, Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(a.success(), "{a:?}\n{}", log());
    assert!(log().contains("no more polling here"), "{}", log());
}
