//! The bot token never appears in output: not on a network error, not when the
//! Bot API answers 401, not even at `RUST_LOG=trace`.

use crate::support;

use std::time::Duration;

use support::fake_api::FakeApi;
use support::{Sandbox, data_dir, event_toml, stderr, stdout};

/// A token the fake Bot API does not know: it answers 401 Unauthorized.
const TOKEN: &str = "777000:SECRET-never-print-me-0123456789abcdef";
const SECRET: &str = "SECRET-never-print-me-0123456789abcdef";

fn today_data() -> tempfile::TempDir {
    let today = chrono::Utc::now().date_naive();
    data_dir(&[(
        "today.toml",
        &event_toml("today", &format!("1944-{}", today.format("%m-%d")), "اليوم"),
    )])
}

fn run(s: &Sandbox, args: &[&str]) -> std::process::Output {
    s.command(args)
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("RUST_LOG", "trace")
        .output()
        .expect("run dhikra")
}

fn assert_no_token(out: &std::process::Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    assert!(!all.contains(SECRET), "the token leaked:\n{all}");
    assert!(
        !all.contains(&SECRET[..12]),
        "part of the token leaked:\n{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthorized_answer_does_not_print_the_token() {
    let fake = FakeApi::start().await;
    let data = today_data();
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\npost_time = \"00:00\"\napi_url = \"{}\"\n[[targets]]\nchat = -1001\n",
            fake.url
        ),
    );
    let out = tokio::task::spawn_blocking(move || (run(&s, &["run"]), run(&s, &["post"])))
        .await
        .unwrap();
    for o in [&out.0, &out.1] {
        assert!(!o.status.success());
        assert_no_token(o);
    }
    assert!(
        stderr(&out.0).contains("Unauthorized") || stderr(&out.0).contains("did not accept"),
        "{}",
        stderr(&out.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_error_does_not_print_the_token() {
    // A port with nothing listening: every request fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = today_data();
    let s = Sandbox::with_data(
        data.path(),
        &format!(
            "timezone = \"UTC\"\npost_time = \"00:00\"\napi_url = \"http://127.0.0.1:{port}\"\n[[targets]]\nchat = -1001\n[delivery]\nretry_min_delay_ms = 10\nretry_max_delay_ms = 50\n"
        ),
    );
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || (run(&s, &["run"]), run(&s, &["post"])))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(120));
    for o in [&out.0, &out.1] {
        assert_no_token(o);
    }
    assert!(!out.0.status.success());
    assert!(
        stderr(&out.0).contains("network error") || stderr(&out.0).contains("connect"),
        "{}",
        stderr(&out.0)
    );
}

/// Issue 13: a PostgreSQL password never appears either. The server cannot be
/// reached (port 1): the error names host, port and database, at trace level,
/// for `run`, `post` and `post --dry-run` alike, and the exit is non-zero.
#[test]
fn an_unreachable_database_is_named_without_its_password() {
    const PASSWORD: &str = "db-SECRET-never-print-9f8e7d";
    let data = today_data();
    let s = Sandbox::with_data(data.path(), "[[targets]]\nchat = -1001\n");
    for args in [&["run"][..], &["post"], &["post", "--dry-run"]] {
        let out = s
            .command(args)
            .env("TELOXIDE_TOKEN", TOKEN)
            .env("RUST_LOG", "trace")
            .env(
                "DHIKRA_DATABASE",
                format!("postgres://dhikra:{PASSWORD}@127.0.0.1:1/dhikra_prod"),
            )
            .output()
            .expect("run dhikra");
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(
            !all.contains(PASSWORD),
            "{args:?}: the password leaked:\n{all}"
        );
        assert!(
            !all.contains("db-SECRET"),
            "{args:?}: part of it leaked:\n{all}"
        );
        assert!(
            all.contains("postgres://dhikra@127.0.0.1:1/dhikra_prod"),
            "{args:?}: names the server:\n{all}"
        );
    }
}
