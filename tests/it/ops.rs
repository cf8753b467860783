//! Running in production: `/healthz` and `/metrics`, and webhook mode with the
//! secret-token header, through the real binary and the fake Bot API.

use crate::run::{Reaped, signal, wait_exit};
use crate::support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::fake_api::{FakeApi, TOKEN};
use support::{Sandbox, data_dir, event_toml};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 request; returns (status, body), or None while nothing listens.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn wait_http(port: u16, path: &str, ok: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((status, body)) = http(port, "GET", path, &[], "")
            && ok(status, &body)
        {
            return (status, body);
        }
        assert!(
            Instant::now() < deadline,
            "{path} never answered as expected"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(s: &Sandbox, env: &[(&str, &str)]) -> Child {
    let mut cmd = s.command(&["run"]);
    cmd.env("TELOXIDE_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn dhikra")
}

fn today_data() -> tempfile::TempDir {
    let today = chrono::Utc::now().date_naive();
    data_dir(&[(
        "today.toml",
        &event_toml("today", &format!("1944-{}", today.format("%m-%d")), "اليوم"),
    )])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_are_served_on_the_ops_address() {
    let fake = FakeApi::start().await;
    let data = today_data();
    let port = free_port();
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\npost_time = \"00:00\"\napi_url = \"{}\"\n[ops]\nlisten = \"127.0.0.1:{port}\"\n[[targets]]\nchat = -1001\n",
            fake.url
        ),
    );
    let mut child = spawn(&s, &[]);
    fake.wait_for(Duration::from_secs(20), "the catch-up post", |sent| {
        !sent.is_empty()
    })
    .await;
    let (health, metrics) = tokio::task::spawn_blocking(move || {
        let health = wait_http(port, "/healthz", |s, _| s == 200);
        let metrics = wait_http(port, "/metrics", |s, b| {
            s == 200 && b.contains("dhikra_posts_sent_total")
        });
        (health, metrics)
    })
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // Ready, and the only process on its database leads (issue 15).
    assert_eq!(health.1.trim(), "ready\nleader");
    assert!(metrics.1.contains("dhikra_leader 1"), "{}", metrics.1);
    // Two messages: the day's card and the text.
    assert!(
        metrics
            .1
            .contains("dhikra_posts_sent_total{target=\"-1001\"} 2"),
        "{}",
        metrics.1
    );
    assert!(
        metrics
            .1
            .contains("dhikra_last_successful_post_timestamp_seconds"),
        "{}",
        metrics.1
    );
    assert!(
        metrics.1.contains("dhikra_targets_disabled 0"),
        "{}",
        metrics.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_takes_updates_with_the_secret_and_refuses_others() {
    let fake = FakeApi::start().await;
    let port = free_port();
    let s = Sandbox::new(&format!(
        "api_url = \"{}\"\n[webhook]\nlisten = \"127.0.0.1:{port}\"\nurl = \"https://bot.example.org/hook\"\n",
        fake.url
    ));
    let mut child = spawn(&s, &[("DHIKRA_WEBHOOK_SECRET", "s3cret-Token_1")]);
    let calls = fake
        .wait_for_calls("setWebhook", 1, Duration::from_secs(20))
        .await;
    assert_eq!(calls[0]["url"], json!("https://bot.example.org/hook"));
    assert_eq!(calls[0]["secret_token"], json!("s3cret-Token_1"));
    let update = json!({"update_id": 1, "message": {"message_id": 7, "date": 1_780_000_000,
        "chat": {"id": 5001, "type": "private", "first_name": "U"}, "from": {"id": 5001, "is_bot": false, "first_name": "U"},
        "text": "متى دخل الحلفاء روما؟"}})
    .to_string();
    let (refused, accepted) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        let refused = loop {
            if let Some(r) = http(
                port,
                "POST",
                "/hook",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Telegram-Bot-Api-Secret-Token", "wrong"),
                ],
                &update,
            ) {
                break r;
            }
            assert!(Instant::now() < deadline, "the webhook never listened");
            std::thread::sleep(Duration::from_millis(50));
        };
        let accepted = http(
            port,
            "POST",
            "/hook",
            &[
                ("Content-Type", "application/json"),
                ("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1"),
            ],
            &update,
        );
        (refused, accepted)
    })
    .await
    .unwrap();
    assert_eq!(refused.0, 401, "a wrong secret is refused");
    assert_eq!(accepted.map(|r| r.0), Some(200));
    let sent = fake
        .wait_for(Duration::from_secs(10), "the answer", |s| !s.is_empty())
        .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sent.len(), 1, "only the update with the secret is answered");
    assert!(sent[0].text.contains("4 يونيو 1944"));
    assert!(
        fake.calls("getUpdates").is_empty(),
        "no long polling in webhook mode"
    );
}

/// Issue 13: replicas behind a load balancer must share one webhook secret
/// (Telegram sends every update with the secret of the last replica to set the
/// webhook), so with PostgreSQL and a webhook, no `DHIKRA_WEBHOOK_SECRET` is
/// refused before anything starts, saying why.
#[test]
fn issue_13_webhook_replicas_refuse_to_start_without_a_shared_secret() {
    let s = Sandbox::new(
        "[webhook]\nlisten = \"127.0.0.1:1\"\nurl = \"https://bot.example.org/hook\"\n",
    );
    // Nothing listens on port 1: the refusal must come before any connection.
    let database = "postgres://dhikra:pw-never-shown@127.0.0.1:1/dhikra";
    let start = |secret: Option<&str>| {
        let mut cmd = s.command(&["run"]);
        cmd.env("TELOXIDE_TOKEN", TOKEN)
            .env("DHIKRA_DATABASE", database);
        if let Some(secret) = secret {
            cmd.env("DHIKRA_WEBHOOK_SECRET", secret);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        support::stderr(&out)
    };
    let refused = start(None);
    assert!(
        refused.contains("set DHIKRA_WEBHOOK_SECRET") && refused.contains("must share one secret"),
        "{refused}"
    );
    assert!(!refused.contains("pw-never-shown"), "{refused}");
    // With the secret the start goes on, and stops at the unreachable database.
    let unreachable = start(Some("s3cret-Token_1"));
    assert!(
        !unreachable.contains("DHIKRA_WEBHOOK_SECRET") && unreachable.contains("database"),
        "{unreachable}"
    );
}

/// Starts `dhikra run` in webhook mode, stops it with SIGTERM, and counts the
/// `deleteWebhook` calls it made.
async fn webhook_deletions_on_a_clean_stop(database: Option<&str>) -> usize {
    let fake = FakeApi::start().await;
    let port = free_port();
    let s = Sandbox::new(&format!(
        "api_url = \"{}\"\n[webhook]\nlisten = \"127.0.0.1:{port}\"\nurl = \"https://bot.example.org/hook\"\n",
        fake.url
    ));
    let mut env = vec![("DHIKRA_WEBHOOK_SECRET", "s3cret-Token_1")];
    env.extend(database.map(|url| ("DHIKRA_DATABASE", url)));
    let mut child = spawn(&s, &env);
    fake.wait_for_calls("setWebhook", 1, Duration::from_secs(20))
        .await;
    // Stopped once it serves, not as it starts (see `service::stop_listening`).
    let refused = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(r) = http(port, "POST", "/hook", &[], "{}") {
                break r.0;
            }
            assert!(Instant::now() < deadline, "the webhook never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    assert_eq!(refused.await.unwrap(), 401, "no secret, no update");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("dhikra did not stop within 15 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "{status:?}");
    fake.calls("deleteWebhook").len()
}

/// One bot on SQLite cleans up after itself, as teloxide does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_webhook_bot_deletes_its_webhook_when_it_stops() {
    assert_eq!(webhook_deletions_on_a_clean_stop(None).await, 1);
}

/// Issue 13: a replica that stops leaves the webhook the others depend on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_a_stopping_replica_leaves_the_webhook_set() {
    let scratch = dhikra::db::testing::Scratch::new().await;
    let url = scratch.url.expose().to_owned();
    assert_eq!(webhook_deletions_on_a_clean_stop(Some(&url)).await, 0);
}

/// Issue 13: behind a load balancer every webhook replica serves updates,
/// leader or standby. A question reaching the standby is answered there; a
/// `/repost` confirmed there is handed to the leader (one process paces every
/// post), which sends it once to each target, and the standby reports it to
/// the admin. The two split the bot's rate limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "DHIKRA_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against"
)]
async fn issue_13_every_webhook_replica_serves_and_the_leader_sends_a_repost_confirmed_on_a_standby()
 {
    const ADMIN: i64 = 9001;
    const CHANNELS: [i64; 2] = [-1008000000001, -1008000000002];
    let scratch = dhikra::db::testing::Scratch::new().await;
    let fake = FakeApi::start().await;
    // An event a hundred days away: no daily post during the test.
    let day = chrono::Utc::now().date_naive() + chrono::Duration::days(100);
    let data = data_dir(&[(
        "hook.toml",
        &event_toml("hook", &format!("1944-{}", day.format("%m-%d")), "الخطاف"),
    )]);
    let replica = |hook: u16, ops: u16| {
        let s = Sandbox::with_data(
            data.path(),
            &format!(
                "timezone = \"UTC\"\napi_url = \"{}\"\nadmins = [{ADMIN}]\n[[targets]]\nchat = {}\n[[targets]]\nchat = {}\n[ops]\nlisten = \"127.0.0.1:{ops}\"\n[webhook]\nlisten = \"127.0.0.1:{hook}\"\nurl = \"https://bot.example.org/hook\"\n",
                fake.url, CHANNELS[0], CHANNELS[1]
            ),
        );
        let log = std::fs::File::create(s.dir.path().join("run.log")).unwrap();
        let child = s
            .command(&["run"])
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("DHIKRA_DATABASE", scratch.url.expose())
            .env("DHIKRA_WEBHOOK_SECRET", "s3cret-Token_1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map(Reaped)
            .expect("spawn a replica");
        (s, child)
    };
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let (_leader_dir, leader) = replica(ports[0], ports[1]);
    let ops = ports[1];
    tokio::task::spawn_blocking(move || wait_http(ops, "/healthz", |_, b| b.contains("leader")))
        .await
        .unwrap();
    let (standby_dir, standby) = replica(ports[2], ports[3]);
    let (hook, ops) = (ports[2], ports[3]);
    let post = move |update: serde_json::Value| {
        let body = update.to_string();
        let headers = [
            ("Content-Type", "application/json"),
            ("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1"),
        ];
        http(hook, "POST", "/hook", &headers, &body).map(|r| r.0)
    };
    let health = tokio::task::spawn_blocking(move || {
        // "starting" until it has asked for the lead.
        let health = wait_http(ops, "/healthz", |s, b| s == 200 && !b.contains("starting"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while post(json!({"update_id": 1})) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the standby never served its webhook"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        health
    })
    .await
    .unwrap();
    assert_eq!(health.1.trim(), "ready\nstandby");

    let mut question = support::updates::message(5001, 5001, 7, "متى معركة الخطاف؟");
    question["update_id"] = json!(2);
    assert_eq!(post(question), Some(200));
    fake.wait_for(Duration::from_secs(20), "the standby's answer", |sent| {
        sent.iter().any(|m| m.chat_id == 5001)
    })
    .await;

    let mut repost =
        support::updates::message(ADMIN, ADMIN, 8, &format!("/repost {}", day.format("%m-%d")));
    repost["update_id"] = json!(3);
    assert_eq!(post(repost), Some(200));
    let sent = fake
        .wait_for(
            Duration::from_secs(20),
            "the preview and its buttons",
            |s| {
                s.iter()
                    .any(|m| m.reply_markup.is_some() && m.chat_id == ADMIN)
            },
        )
        .await;
    let confirm = crate::admin::confirm_button(&sent);
    let mut press = support::updates::callback(ADMIN, ADMIN, &confirm);
    press["update_id"] = json!(4);
    assert_eq!(post(press), Some(200));
    let sent = fake
        .wait_for(Duration::from_secs(30), "the repost's report", |s| {
            s.iter().any(|m| m.text.contains("انتهت إعادة النشر"))
        })
        .await;
    let report = sent
        .iter()
        .find(|m| m.text.contains("انتهت إعادة النشر"))
        .unwrap();
    assert!(report.text.contains("أُرسل إلى 2 هدف"), "{}", report.text);
    for channel in CHANNELS {
        let texts = fake.sent_to(channel);
        let texts: Vec<_> = texts.iter().filter(|m| m.file_id.is_none()).collect();
        assert_eq!(texts.len(), 1, "one copy of the text to {channel}");
        assert!(texts[0].text.contains("معركة الخطاف"));
    }
    // Run by the leader: the standby handed it over through the database.
    let db = dhikra::db::Db::open(&dhikra::config::Database::Postgres(scratch.url.clone()))
        .await
        .unwrap();
    let request = db.post_request(1).await.unwrap().expect("a request");
    assert!(
        request.confirmation.is_some() && request.done_at.is_some(),
        "{request:?}"
    );

    for run in [&leader, &standby] {
        signal(&run.0, "TERM");
    }
    let (a, b) = tokio::task::spawn_blocking(move || {
        let (mut leader, mut standby) = (leader, standby);
        let a = wait_exit(&mut leader.0, Duration::from_secs(20));
        (a, wait_exit(&mut standby.0, Duration::from_secs(20)))
    })
    .await
    .unwrap();
    let log = std::fs::read_to_string(standby_dir.dir.path().join("run.log")).unwrap();
    assert!(a.success() && b.success(), "{a:?} {b:?}\n{log}");
    assert!(
        log.contains("sharing the bot's rate limits") && log.contains("replicas=2"),
        "{log}"
    );
}
