//! Shared test helpers: the `dhikra` binary with a temp config, and temp data folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `data/` and `config/` live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temp folder holding a config that points at `data_dir` and a fresh database.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(extra_config: &str) -> Self {
        Self::with_data(&root().join("data"), extra_config)
    }

    pub fn with_data(data_dir: &Path, extra_config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "data_dir = {:?}\ndatabase = {:?}\n{extra_config}\n",
            data_dir.display().to_string(),
            dir.path().join("dhikra.db").display().to_string()
        );
        std::fs::write(dir.path().join("dhikra.toml"), config).expect("write config");
        Self { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("dhikra.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("dhikra.db")
    }

    /// `dhikra --config <sandbox> args...` with no token and no DHIKRA_* from the outside.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dhikra"));
        cmd.arg("--config").arg(self.config()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("DHIKRA_") || k.starts_with("TELOXIDE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "warn");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run dhikra")
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A data folder with the given event files (name, contents).
pub fn data_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("events")).expect("events dir");
    for (name, text) in files {
        std::fs::write(dir.path().join("events").join(name), text).expect("write event");
    }
    dir
}

/// A valid event file with the given id, date and alias.
pub fn event_toml(id: &str, date: &str, alias: &str) -> String {
    format!(
        r#"id = "{id}"
kind = "battle"
title_ar = "معركة {alias}"
title_en = "Battle {id}"
aliases = ["{alias}"]
date = "{date}"
summary_ar = "نص عربي عن {alias}."
[[sources]]
title = "Reference"
url = "https://example.org/{id}"
"#
    )
}

pub mod fake_api;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use dhikra::calendar::Clock;
use dhikra::config::{Config, Token};
use dhikra::delivery::RetryPolicy;
use dhikra::publish::Publisher;
use dhikra::store::EventStore;

/// A clock the test moves by hand.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn new(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(t)))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Settings for an in-process run against the fake Bot API, with a temp database.
pub fn test_config(fake: &fake_api::FakeApi, data: &Path, db_dir: &Path, extra: &str) -> Config {
    let text = format!(
        "data_dir = {:?}\ndatabase = {:?}\napi_url = {:?}\n{extra}\n",
        data.display().to_string(),
        db_dir.join("dhikra.db").display().to_string(),
        fake.url
    );
    Config::parse(Path::new("test.toml"), &text, &|_| None).expect("test config")
}

/// Retries fast enough for tests.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        min_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(20),
        max_retries: 3,
        max_inline_wait: std::time::Duration::from_secs(5),
        lease: std::time::Duration::from_secs(60),
    }
}

/// A publisher as `dhikra run` builds it, but in-process, on `clock`, with fast retries.
pub async fn publisher(config: Config, clock: Arc<TestClock>) -> Publisher {
    let store = EventStore::load(&config.data_dir).expect("valid test data");
    let token = Token::new(fake_api::TOKEN).unwrap();
    let bot = dhikra::app::make_bot(&config, &token).unwrap();
    let mut p =
        dhikra::app::publisher(Arc::new(config), dhikra::publish::shared(store), bot, clock)
            .await
            .expect("publisher");
    p.sender.policy = fast_retries();
    p
}
