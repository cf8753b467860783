//! Shared test helpers: the `dhikra` binary with a temp config, and temp data folders.

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
theatre = "italy"
[[sources]]
title = "Reference"
url = "https://example.org/{id}"
"#
    )
}

pub mod fake_api;
pub mod pg_proxy;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use dhikra::config::{Config, Token};
use dhikra::core::calendar::Clock;
use dhikra::publishing::Publisher;
use dhikra::publishing::RetryPolicy;

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

/// The service as `dhikra run` builds it (`service::build`), but in-process, on
/// `clock`, with fast retries.
pub async fn service(config: Config, clock: Arc<TestClock>) -> dhikra::service::Service {
    let catalog =
        dhikra::data::share(dhikra::data::load_catalog(&config.data_dir).expect("valid test data"));
    let token = Token::new(fake_api::TOKEN).unwrap();
    let settings = dhikra::service::Settings {
        bot: dhikra::service::make_bot(&config, &token).unwrap(),
        catalog,
        clock,
        config_path: None,
        policy: Some(fast_retries()),
        config,
    };
    dhikra::service::build(settings).await.expect("service")
}

/// The publisher of `service(config, clock)`.
pub async fn publisher(config: Config, clock: Arc<TestClock>) -> Arc<Publisher> {
    service(config, clock).await.publisher
}

/// The bot's dispatcher running against a fake Bot API, with a temp database.
pub struct BotHandle {
    pub fake: fake_api::FakeApi,
    pub db: dhikra::db::Db,
    pub clock: Arc<TestClock>,
    /// Kept for its heartbeat, renewed while the bot runs.
    _service: dhikra::service::Service,
    shutdown: teloxide::dispatching::ShutdownToken,
    _dirs: (tempfile::TempDir,),
}

impl BotHandle {
    pub async fn stop(self) {
        if let Ok(done) = self.shutdown.shutdown() {
            done.await;
        }
    }
}

/// Like zero2prod's `spawn_app`: the handler tree as `dhikra run` wires it, on a
/// fake Bot API, with the shipped events and a temp database.
pub async fn spawn_bot(extra_config: &str) -> BotHandle {
    spawn_bot_with_data(extra_config, &root().join("data")).await
}

/// `spawn_bot` over another data folder (one a test may break, for `/reload`).
pub async fn spawn_bot_with_data(extra_config: &str, data: &Path) -> BotHandle {
    let fake = fake_api::FakeApi::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = test_config(&fake, data, dir.path(), extra_config);
    spawn_bot_with_config(fake, config, dir).await
}

/// `spawn_bot` with a config made by `test_config` on `fake` (and changed, say
/// to another database); `dir` is kept as long as the bot.
pub async fn spawn_bot_with_config(
    fake: fake_api::FakeApi,
    config: Config,
    dir: tempfile::TempDir,
) -> BotHandle {
    use teloxide::update_listeners::Polling;
    let clock = TestClock::new(Utc::now());
    let service = service(config, clock.clone()).await;
    // The lone process on its database leads, as `dhikra run` does once it
    // has the lead: a confirmed /repost is sent here, not handed over.
    service.health.set_role(dhikra::ops::Role::Leader);
    let mut dispatcher = service.dispatcher();
    let shutdown = dispatcher.shutdown_token();
    let listener = Polling::builder(service.bot.clone())
        .timeout(std::time::Duration::from_secs(1))
        .build();
    tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(
                listener,
                teloxide::error_handlers::LoggingErrorHandler::new(),
            )
            .await;
    });
    BotHandle {
        fake,
        db: service.db().clone(),
        clock,
        _service: service,
        shutdown,
        _dirs: (dir,),
    }
}

/// A user asks `text` in a private chat of their own (`chat`), and this waits
/// until the bot has sent that chat something: a process test's "is anyone
/// answering?".
pub async fn ask(
    fake: &fake_api::FakeApi,
    chat: i64,
    text: &str,
    within: std::time::Duration,
    what: &str,
) -> Vec<fake_api::Sent> {
    fake.push_update(updates::message(chat, chat, 1, text));
    fake.wait_for(within, what, |sent| sent.iter().any(|m| m.chat_id == chat))
        .await
}

/// Telegram update JSON, as the Bot API sends it.
pub mod updates {
    use serde_json::{Value, json};

    use super::fake_api::{BOT_ID, BOT_USERNAME, chat_json, user_json};

    pub fn message(chat: i64, user: i64, message_id: i64, text: &str) -> Value {
        let mut msg = json!({"message_id": message_id, "date": 1_780_000_000, "chat": chat_json(chat), "from": user_json(user), "text": text});
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .encode_utf16()
                .count();
            msg["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        json!({"message": msg})
    }

    pub fn in_topic(mut update: Value, thread: i64) -> Value {
        update["message"]["message_thread_id"] = json!(thread);
        update["message"]["is_topic_message"] = json!(true);
        update
    }

    pub fn replying_to_bot(mut update: Value, chat: i64) -> Value {
        let bot =
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Dhikra", "username": BOT_USERNAME});
        update["message"]["reply_to_message"] = json!({"message_id": 1, "date": 1_780_000_000, "chat": chat_json(chat), "from": bot, "text": "…"});
        update
    }

    pub fn callback(chat: i64, user: i64, data: &str) -> Value {
        let bot =
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Dhikra", "username": BOT_USERNAME});
        json!({"callback_query": {"id": "cb-1", "from": user_json(user), "chat_instance": "ci", "data": data,
            "message": {"message_id": 500, "date": 1_780_000_000, "chat": chat_json(chat), "from": bot, "text": "…"}}})
    }

    pub fn inline(user: i64, query: &str) -> Value {
        json!({"inline_query": {"id": "iq-1", "from": user_json(user), "query": query, "offset": ""}})
    }

    pub fn bot_added(chat: i64, by: i64) -> Value {
        let bot =
            json!({"id": BOT_ID, "is_bot": true, "first_name": "Dhikra", "username": BOT_USERNAME});
        json!({"my_chat_member": {"chat": chat_json(chat), "from": user_json(by), "date": 1_780_000_000,
            "old_chat_member": {"status": "left", "user": bot}, "new_chat_member": {"status": "member", "user": bot}}})
    }
}
