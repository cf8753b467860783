//! Drawing the day's card: every shipped day's card, drawn in turn, p50 and
//! the slowest per card (goal ≤ 50 ms on these 2 cores), and as a baseline from
//! the same run, encoding a blank 1280×720 picture as PNG (the part no card can
//! skip). Run: `cargo bench --bench card`.

use std::path::Path;
use std::time::{Duration, Instant};

use dhikra::core::calendar::LeapDayRule;
use dhikra::core::card::{self, Card};
use dhikra::core::render::Style;

fn main() {
    let store = dhikra::data::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data")).unwrap();
    let cards: Vec<Card> = store
        .days_covered()
        .into_iter()
        .filter_map(|day| {
            let date = chrono::NaiveDate::from_ymd_opt(2028, day.month(), day.day())?;
            Card::of_day(&store.on_date(date, LeapDayRule::Feb28), Style::default())
        })
        .collect();
    // The first draw loads the fonts into the text engine: counted apart.
    let first = Instant::now();
    card::draw(&cards[0]).unwrap();
    let first = first.elapsed();
    let mut times: Vec<Duration> = Vec::with_capacity(cards.len());
    let mut bytes = 0;
    for c in &cards {
        let t = Instant::now();
        bytes += card::draw(c).unwrap().len();
        times.push(t.elapsed());
    }
    times.sort();
    let blank = tiny_skia::Pixmap::new(card::WIDTH, card::HEIGHT).unwrap();
    let mut base: Vec<Duration> = (0..20)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(blank.encode_png().unwrap());
            t.elapsed()
        })
        .collect();
    base.sort();
    let (p50, max, b50) = (
        times[times.len() / 2],
        times[times.len() - 1],
        base[base.len() / 2],
    );
    println!(
        "{} cards (every day with a post), {} KB on average",
        cards.len(),
        bytes / cards.len() / 1024
    );
    println!("  first draw (fonts loaded) {first:.1?}");
    println!("  per card p50 {p50:.1?}, slowest {max:.1?} (goal ≤ 50 ms)");
    println!(
        "  baseline: a blank 1280×720 PNG {b50:.1?}; a card costs {:.1}× that",
        p50.as_secs_f64() / b50.as_secs_f64()
    );
}
