//! The `dhikra run` and `dhikra post` processes: start-up refusals, a real run
//! against the fake Bot API with SIGTERM, SIGKILL mid-broadcast, and two
//! processes sharing one database.

use crate::support;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use support::fake_api::{FakeApi, TOKEN};
use support::{Sandbox, data_dir, event_toml, stderr, stdout};

/// Event files for today and tomorrow in UTC, so a run near midnight still has a post.
pub(crate) fn today_data() -> tempfile::TempDir {
    let today = Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let as_1944 = |d: chrono::NaiveDate| format!("1944-{}", d.format("%m-%d"));
    data_dir(&[
        ("today.toml", &event_toml("today", &as_1944(today), "اليوم")),
        (
            "tomorrow.toml",
            &event_toml("tomorrow", &as_1944(tomorrow), "الغد"),
        ),
    ])
}

pub(crate) fn target_block(first: i64, n: usize) -> String {
    (0..n as i64)
        .map(|i| format!("[[targets]]\nchat = {}\n", first - i))
        .collect()
}

fn sandbox(fake: &FakeApi, data: &std::path::Path, extra: &str) -> Sandbox {
    Sandbox::with_data(
        data,
        &format!(
            "timezone = \"UTC\"\npost_time = \"00:00\"\napi_url = \"{}\"\n[limits]\noverall_per_second = 1000\n{extra}",
            fake.url
        ),
    )
}

fn spawn(s: &Sandbox, args: &[&str]) -> Child {
    s.command(args)
        .env("TELOXIDE_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dhikra")
}

pub(crate) fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("dhikra did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn run_without_a_token_says_how_to_get_one() {
    let s = Sandbox::new("");
    let out = s.run(&["run"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("@BotFather"), "{}", stderr(&out));
}

#[test]
fn run_refuses_invalid_data_with_the_validation_messages() {
    let data = data_dir(&[("bad.toml", &event_toml("bad", "1944-02-30", "سيئ"))]);
    let s = Sandbox::with_data(data.path(), "");
    let out = s
        .command(&["run"])
        .env("TELOXIDE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("bad.toml:6:8: field `date`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_posts_the_days_post_and_stops_cleanly_on_sigterm() {
    let fake = FakeApi::start().await;
    let data = today_data();
    let s = sandbox(&fake, data.path(), &target_block(-1003000000001, 2));
    let mut child = spawn(&s, &["run"]);
    fake.wait_for(
        Duration::from_secs(20),
        "the catch-up post to both targets",
        |sent| sent.len() >= 2,
    )
    .await;
    fake.wait_for_calls("getUpdates", 1, Duration::from_secs(10))
        .await;
    assert_eq!(fake.calls("setMyCommands").len(), 1);
    signal(&child, "TERM");
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut child, Duration::from_secs(15)))
            .await
            .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(fake.sent().len(), 2, "one post per target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_killed_mid_broadcast_then_rerun_sends_each_target_one_copy() {
    let fake = FakeApi::start().await;
    fake.set_send_delay(Duration::from_millis(30));
    let data = today_data();
    let n = 60;
    let first = -1004000000001;
    let s = sandbox(&fake, data.path(), &target_block(first, n));
    let mut child = spawn(&s, &["post"]);
    fake.wait_for(
        Duration::from_secs(20),
        "a third of the broadcast",
        |sent| sent.len() >= n / 3,
    )
    .await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap(); // reap it, so its pid is gone
    let before = fake.sent().len();
    assert!(before < n, "killed mid-broadcast ({before} of {n} sent)");

    let out = s
        .command(&["post"])
        .env("TELOXIDE_TOKEN", TOKEN)
        .output()
        .unwrap();
    let summary = stdout(&out);
    let db = dhikra::db::Db::open_sqlite(&s.database()).await.unwrap();
    let key = Utc::now().date_naive().to_string();
    let unknown: Vec<i64> = db
        .deliveries(&key)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.status == dhikra::db::DeliveryStatus::Unknown)
        .map(|d| d.target_id)
        .collect();
    let targets = db.targets().await.unwrap();
    for t in &targets {
        let copies = fake.sent_to(t.chat_id.unwrap()).len();
        if unknown.contains(&t.id) {
            assert!(copies <= 1, "{}: {copies} copies", t.chat_key);
        } else {
            assert_eq!(copies, 1, "{}: {copies} copies\n{summary}", t.chat_key);
        }
    }
    assert!(
        unknown.len() <= 8,
        "at most the in-flight sends are ambiguous: {unknown:?}"
    );
    assert!(summary.contains("already sent"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_post_processes_on_one_database_never_double_post() {
    let fake = FakeApi::start().await;
    fake.set_send_delay(Duration::from_millis(10));
    let data = today_data();
    let n = 40;
    let first = -1005000000001;
    let s = sandbox(&fake, data.path(), &target_block(first, n));
    // Create the database first so both processes race on claims, not on migrations.
    assert!(s.run(&["post", "--dry-run"]).status.success());
    let a = spawn(&s, &["post"]);
    let b = spawn(&s, &["post"]);
    let (oa, ob) = tokio::task::spawn_blocking(move || {
        (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    assert!(
        oa.status.success() && ob.status.success(),
        "{}\n{}",
        stderr(&oa),
        stderr(&ob)
    );
    for i in 0..n as i64 {
        assert_eq!(fake.sent_to(first - i).len(), 1, "target {}", first - i);
    }
}

#[test]
fn dry_run_shows_what_would_go_where_without_telegram() {
    let data = today_data();
    // No api_url and no token: a dry run must not need either.
    let s = Sandbox::with_data(
        data.path(),
        "timezone = \"UTC\"\n[[targets]]\nchat = -1001\n[[targets]]\nchat = \"@some_channel\"\n",
    );
    let out = s.run(&["post", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("-1001: would send 1 part(s)"), "{text}");
    assert!(text.contains("@some_channel: would send"), "{text}");
}

/// Guards `post --dry-run` once a post went out with its card: the card's row
/// (part 0) was counted as a text part, and "parts − sent" underflowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_counts_the_card_apart_from_the_text() {
    let fake = FakeApi::start().await;
    let data = today_data();
    let s = sandbox(
        &fake,
        data.path(),
        "[[targets]]\nchat = -1001\n[[targets]]\nchat = -1002\nimage = false\n",
    );
    let before = stdout(&s.run(&["post", "--dry-run"]));
    assert!(
        before.contains("-1001: would send 1 part(s) and the card"),
        "{before}"
    );
    assert!(before.contains("-1002: would send 1 part(s)\n"), "{before}");
    let mut post = s.command(&["post"]);
    post.env("TELOXIDE_TOKEN", TOKEN);
    let out = tokio::task::spawn_blocking(move || post.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fake.photos_to(-1001).len(), 1);
    let after = s.run(&["post", "--dry-run"]);
    assert!(after.status.success(), "{}", stderr(&after));
    let after = stdout(&after);
    assert!(after.contains("-1001: skip (already sent)"), "{after}");
    assert!(after.contains("-1002: skip (already sent)"), "{after}");
}

#[test]
fn post_refuses_another_day_without_force() {
    let data = today_data();
    let s = Sandbox::with_data(data.path(), "timezone = \"UTC\"");
    let tomorrow = Utc::now()
        .date_naive()
        .succ_opt()
        .unwrap()
        .succ_opt()
        .unwrap()
        .to_string();
    let out = s
        .command(&["post", "--date", &tomorrow])
        .env("TELOXIDE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
}

/// Issue 15: two `dhikra run` on one SQLite file. The first leads (polls and
/// sends), the second stands by: no 409 from a second poller, no 429 from two
/// senders pacing apart. `kill -9` the leader mid-broadcast: the standby takes
/// over, finishes the broadcast (each target at most one copy, exactly one
/// unless the killed send is `unknown`) and answers a question within 30 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_two_runs_on_one_database_take_turns_to_lead() {
    two_runs_take_turns_to_lead(None, 150).await;
}

/// Issue 13: the same with two replicas on one PostgreSQL database (the lead is
/// an advisory lock on the leader's own connection) and 200 targets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_two_replicas_on_postgres_take_turns_to_lead() {
    let scratch = dhikra::db::testing::Scratch::new().await;
    two_runs_take_turns_to_lead(Some(&scratch.url), 200).await;
}

async fn two_runs_take_turns_to_lead(postgres: Option<&dhikra::config::PostgresUrl>, n: usize) {
    let fake = FakeApi::start().await;
    fake.enforce_overall(30);
    fake.set_send_delay(Duration::from_millis(5));
    let data = today_data();
    let first = -1006000000001;
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\npost_time = \"00:00\"\napi_url = \"{}\"\n{}",
            fake.url,
            target_block(first, n)
        ),
    );
    let database = match postgres {
        Some(url) => dhikra::config::Database::Postgres(url.clone()),
        None => dhikra::config::Database::Sqlite(s.database()),
    };
    // Replicas read the server from the environment, as deployments would.
    let on = |mut cmd: std::process::Command| {
        if let Some(url) = postgres {
            cmd.env("DHIKRA_DATABASE", url.expose());
        }
        cmd
    };
    // Create the database first so the two race on the lead, not on migrations.
    let created = on(s.command(&["post", "--dry-run"])).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let replica = || {
        on(s.command(&["run"]))
            .env("TELOXIDE_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Reaped)
            .expect("spawn dhikra")
    };
    let mut a = replica();
    fake.wait_for_calls("getUpdates", 1, Duration::from_secs(20))
        .await;
    let mut b = replica();

    fake.wait_for(
        Duration::from_secs(30),
        "a third of the broadcast",
        |sent| sent.len() >= n / 3,
    )
    .await;
    a.0.kill().unwrap(); // SIGKILL
    a.0.wait().unwrap();
    let killed = Instant::now();
    let db = dhikra::db::Db::open(&database).await.unwrap();
    let key = Utc::now().date_naive().to_string();
    let unknown = || async {
        let rows = db.deliveries(&key).await.unwrap();
        rows.into_iter()
            .filter(|d| d.status == dhikra::db::DeliveryStatus::Unknown)
            .count()
    };
    fake.wait_for(
        Duration::from_secs(30),
        "the standby finishing the broadcast",
        |sent| {
            let chats: std::collections::HashSet<i64> = sent.iter().map(|m| m.chat_id).collect();
            chats.len() >= n - 8
        },
    )
    .await;
    // A question answered by the new leader.
    support::ask(
        &fake,
        7001,
        "متى دخل الحلفاء روما؟",
        Duration::from_secs(30),
        "an answer from the new leader",
    )
    .await;
    assert!(
        killed.elapsed() < Duration::from_secs(30),
        "took over in {:?}",
        killed.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // the rest of the broadcast
    let ambiguous = unknown().await;
    let rows = db.deliveries(&key).await.unwrap();
    let mut short = Vec::new();
    for t in db.targets().await.unwrap() {
        let copies = fake.sent_to(t.chat_id.unwrap()).len();
        let is_unknown = rows
            .iter()
            .any(|d| d.target_id == t.id && d.status == dhikra::db::DeliveryStatus::Unknown);
        assert!(copies <= 1, "{}: {copies} copies", t.chat_key);
        if copies == 0 && !is_unknown {
            short.push(t.chat_key.clone());
        }
    }
    assert!(short.is_empty(), "never sent: {short:?}");
    assert!(
        ambiguous <= 8,
        "at most the in-flight sends are ambiguous: {ambiguous}"
    );
    assert_eq!(fake.conflicts(), 0, "a second getUpdates poller");
    assert_eq!(
        (fake.too_many_requests(), fake.too_many_per_chat()),
        (0, 0),
        "429s provoked (all, per chat); overall ones at {:?} from the kill",
        fake.too_many_at()
            .iter()
            .map(|t| t.saturating_duration_since(killed).as_millis() as i128
                - killed.saturating_duration_since(*t).as_millis() as i128)
            .collect::<Vec<_>>()
    );
    signal(&b.0, "TERM");
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut b.0, Duration::from_secs(15)))
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// A replica killed when the test ends, passing or failing: a failed assertion
/// must not leave a `dhikra run` polling a fake that is gone.
pub(crate) struct Reaped(pub(crate) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 15: `dhikra post` while a `dhikra run` leads hands the post to it, so
/// one process paces every message (README, "Running two processes").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_post_hands_its_work_to_the_running_leader() {
    let fake = FakeApi::start().await;
    fake.enforce_overall(30);
    let data = today_data();
    let (n, first) = (20, -1007000000001);
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            // Post time in an hour: the run does not post by itself during the test.
            "timezone = \"UTC\"\npost_time = \"{}\"\ncatch_up_minutes = 0\napi_url = \"{}\"\n{}",
            (Utc::now() + chrono::Duration::hours(1)).format("%H:%M"),
            fake.url,
            target_block(first, n)
        ),
    );
    assert!(s.run(&["post", "--dry-run"]).status.success());
    let mut run = spawn(&s, &["run"]);
    fake.wait_for_calls("getUpdates", 1, Duration::from_secs(20))
        .await;
    let post = spawn(&s, &["post"]);
    let out = tokio::task::spawn_blocking(move || post.wait_with_output().unwrap())
        .await
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("leads this database") && text.contains("sent 20"),
        "{text}"
    );
    for i in 0..n as i64 {
        assert_eq!(fake.sent_to(first - i).len(), 1, "target {i}");
    }
    assert_eq!(fake.too_many_requests(), 0);
    signal(&run, "TERM");
    let status = tokio::task::spawn_blocking(move || wait_exit(&mut run, Duration::from_secs(15)))
        .await
        .unwrap();
    assert!(status.success());
}
