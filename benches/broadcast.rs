//! Broadcast: one day's post to N = 1,000 targets through a loopback fake Bot API
//! that enforces Telegram's limits, scaled up tenfold so a run takes seconds
//! (300 messages/s overall, 1/s per chat), text only and then with the day's card.
//! Reports the time as a ratio of the floor messages / rate (goal ≤ 1.05), the
//! 429s provoked (goal 0), duplicates (0), losses (0) and uploads (1 with cards).
//! Run: `cargo bench --bench broadcast`. With `DHIKRA_TEST_POSTGRES_URL` set, the
//! two broadcasts run again on PostgreSQL (a scratch schema each, dropped after),
//! their lines labelled `postgres`.

#[path = "../tests/it/support/fake_api.rs"]
#[allow(dead_code, reason = "a bench uses a part of the tests' fake Bot API")]
mod fake_api;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dhikra::config::{Config, PostgresUrl, Token};
use dhikra::core::calendar::{Clock, FixedClock};

const TARGETS: usize = 1_000;
const RATE: usize = 300;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    println!(
        "broadcast to {TARGETS} targets at {RATE} msg/s overall, 1/s per chat (fake Bot API enforcing both)"
    );
    broadcast("text only (image = false)", false, None).await;
    broadcast("with the day's card (the default)", true, None).await;
    if std::env::var(dhikra::db::testing::VAR).is_ok() {
        for (label, images) in [
            ("postgres: text only (image = false)", false),
            ("postgres: with the day's card (the default)", true),
        ] {
            let scratch = dhikra::db::testing::Scratch::new().await;
            broadcast(label, images, Some(&scratch.url)).await;
        }
    }
}

/// One broadcast on a fresh fake and database (a temporary SQLite file, or the
/// PostgreSQL schema `postgres` names); the floor is the messages sent (the
/// card counts as one) divided by the rate.
async fn broadcast(label: &str, images: bool, postgres: Option<&PostgresUrl>) {
    let fake = fake_api::FakeApi::start().await;
    fake.enforce_overall(RATE);
    fake.enforce_per_chat(Duration::from_millis(1000));
    let db = tempfile::tempdir().unwrap();
    let targets: String = (0..TARGETS as i64)
        .map(|i| {
            format!(
                "[[targets]]\nchat = {}\nimage = {images}\n",
                -1_002_000_000_000 - i
            )
        })
        .collect();
    let text = format!(
        "data_dir = {:?}\ndatabase = {:?}\napi_url = {:?}\ntimezone = \"UTC\"\npost_time = \"00:00\"\n[limits]\noverall_per_second = {RATE}\nper_chat_per_second = 1\ngroup_per_minute = 20\n{targets}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .display()
            .to_string(),
        match postgres {
            Some(url) => url.expose().to_owned(),
            None => db.path().join("b.db").display().to_string(),
        },
        fake.url
    );
    let config = Config::parse(Path::new("bench.toml"), &text, &|_| None).unwrap();
    // 4 June has a post; the clock is its 09:00 UTC.
    let now = chrono::DateTime::parse_from_rfc3339("2027-06-04T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(now));
    let store = dhikra::data::load(&config.data_dir).unwrap();
    let bot = dhikra::service::make_bot(&config, &Token::new(fake_api::TOKEN).unwrap()).unwrap();
    let service = dhikra::service::build(dhikra::service::Settings {
        catalog: dhikra::data::shared(store),
        bot,
        clock: Arc::clone(&clock),
        config_path: None,
        policy: None,
        config,
    })
    .await
    .unwrap();
    let (publisher, stop) = (&service.publisher, service.shutdown());

    let started = Instant::now();
    let report = publisher.publish_due(clock.now(), &stop).await.unwrap();
    let elapsed = started.elapsed();

    let (texts, photos) = (fake.sent(), fake.photos());
    let parts_per_target = texts.len() / TARGETS.max(1);
    let mut per_chat: HashMap<i64, usize> = HashMap::new();
    for m in texts.iter().chain(&photos) {
        *per_chat.entry(m.chat_id).or_default() += 1;
    }
    let expected = parts_per_target + usize::from(images);
    let duplicates: usize = per_chat.values().map(|n| n.saturating_sub(expected)).sum();
    let losses = TARGETS - per_chat.len();
    let messages = texts.len() + photos.len();
    let floor = Duration::from_secs_f64(messages as f64 / RATE as f64);
    println!("{label}:");
    println!(
        "  {messages} messages, time {elapsed:.2?}, floor messages/rate {floor:.2?}, ratio {:.3} (goal ≤ 1.05)",
        elapsed.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  429s provoked {} (goal 0), duplicates {duplicates} (goal 0), losses {losses} (goal 0), uploads {} of {} cards",
        fake.too_many_requests(),
        photos.iter().filter(|p| p.uploaded).count(),
        photos.len()
    );
    let first = texts.iter().chain(&photos).map(|m| m.at).min();
    let last = texts.iter().chain(&photos).map(|m| m.at).max();
    if let (Some(first), Some(last)) = (first, last) {
        println!(
            "  before the first message {:.0?}, after the last {:.0?}",
            first.duration_since(started),
            (started + elapsed).duration_since(last)
        );
    }
    println!("  {}", report.summary());
}
