//! Answering questions over 10,000 synthetic events: p50 and p99 per query, as
//! ratios to a baseline measured in the same run (normalizing the same query,
//! which every answer must do anyway). Run: `cargo bench --bench answer`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dhikra::core::render::Style;
use dhikra::core::search::Catalog;
use dhikra::core::{answer, arabic};

mod common;
use common::name;

const EVENTS: usize = 10_000;
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let files = common::synthetic_files(EVENTS);
    let build = Instant::now();
    let store = dhikra::core::catalog::EventStore::from_files(files).expect("valid");
    let parsed = build.elapsed();
    let catalog = Catalog::new(store);
    let build = build.elapsed();
    println!("store parsed and validated in {parsed:.1?}; with the search index {build:.1?}");
    let today = NaiveDate::from_ymd_opt(2027, 6, 4).unwrap();
    let queries: Vec<String> = (0..2_000)
        .map(|i| match i % 5 {
            0 => format!("متى وقعت معركة {}؟", name(i * 3 % EVENTS)),
            1 => format!("كم عدد القتلى في {}", name(i * 7 % EVENTS)),
            2 => format!("{} {}", i % 28 + 1, ["يونيو", "حزيران", "جوان"][i % 3]),
            3 => name(i % EVENTS).replacen('ا', "ى", 1) + "ي", // a typo
            _ => "كيف الطقس اليوم".to_owned(),
        })
        .collect();
    let measure = |f: &dyn Fn(&str)| {
        let mut times: Vec<Duration> = queries
            .iter()
            .map(|q| {
                let t = Instant::now();
                f(q);
                t.elapsed()
            })
            .collect();
        times.sort();
        times
    };
    // Warm up, then measure the baseline and the full answer in the same run.
    let _ = measure(&|q| {
        black_box(answer::reply(&catalog, q, Style::default(), today));
    });
    let base = measure(&|q| {
        black_box(arabic::normalize(q));
    });
    let full = measure(&|q| {
        black_box(answer::reply(&catalog, q, Style::default(), today));
    });
    const KINDS: [&str; 5] = [
        "متى (name)",
        "كم (figure)",
        "date",
        "typo (fuzzy)",
        "off-topic",
    ];
    for (kind, label) in KINDS.iter().enumerate() {
        let mut t: Vec<Duration> = queries
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 == kind)
            .map(|(_, q)| {
                let s = Instant::now();
                black_box(answer::reply(&catalog, q, Style::default(), today));
                s.elapsed()
            })
            .collect();
        t.sort();
        println!(
            "  {label:<14} p50 {:.1?}  p99 {:.1?}",
            percentile(&t, 0.5),
            percentile(&t, 0.99)
        );
    }
    let (b50, b99, f50, f99) = (
        percentile(&base, 0.5),
        percentile(&base, 0.99),
        percentile(&full, 0.5),
        percentile(&full, 0.99),
    );
    println!(
        "answer over {EVENTS} synthetic events ({} queries; index built in {build:.1?})",
        queries.len()
    );
    println!("  baseline (normalize only): p50 {b50:.1?}  p99 {b99:.1?}");
    println!("  full answer:               p50 {f50:.1?}  p99 {f99:.1?}");
    println!(
        "  ratio to baseline:         p50 {:.1}x  p99 {:.1}x",
        f50.as_secs_f64() / b50.as_secs_f64().max(1e-9),
        f99.as_secs_f64() / b99.as_secs_f64().max(1e-9)
    );
}
