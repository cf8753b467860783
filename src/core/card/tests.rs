use std::collections::BTreeSet;
use std::time::Instant;

use tiny_skia::Pixmap;

use super::*;

/// The committed golden card of 4 June 1944. Made by the ignored test
/// `bless_golden` and looked at by a person; never made by `golden_card`.
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/card-06-04.png");

fn event(title: &str, place: Option<&str>, lat: f64, lon: f64) -> CardEvent {
    CardEvent {
        title: title.to_string(),
        place: place.map(str::to_string),
        lat,
        lon,
    }
}

fn rome() -> Card {
    Card {
        date_line: "في مثل هذا اليوم 4 يونيو 1944م".to_string(),
        events: vec![event(
            "قوات الحلفاء تدخل روما",
            Some("روما، إيطاليا"),
            41.9,
            12.5,
        )],
    }
}

fn three_events() -> Card {
    Card {
        date_line: "في مثل هذا اليوم 21 يونيو 1942م".to_string(),
        events: vec![
            event(
                "قصف جوي إيطالي على الإسكندرية",
                Some("الإسكندرية، مصر"),
                31.2,
                29.9,
            ),
            event("سقوط طبرق في يد روميل", Some("طبرق، ليبيا"), 32.08, 23.96),
            event("قافلة Harpoon تصل إلى مالطا", Some("مالطا"), 35.9, 14.5),
        ],
    }
}

fn long_title() -> Card {
    Card {
        date_line: "في مثل هذا اليوم 8 نوفمبر 1942م".to_string(),
        events: vec![
            event(
                "Operation Torch: الحلفاء ينزلون على سواحل المغرب والجزائر في أكبر عملية إنزال برمائي حتى ذلك الحين، بقيادة الجنرال دوايت أيزنهاور، ويبدؤون الزحف شرقًا نحو تونس لملاقاة قوات المحور المنسحبة من مصر وليبيا",
                Some("الدار البيضاء ووهران والجزائر العاصمة"),
                33.6,
                -7.6,
            ),
            event("إنزال في وهران", Some("وهران"), 35.7, -0.6),
            event("إنزال في الجزائر", Some("الجزائر"), 36.75, 3.05),
        ],
    }
}

fn medium_title() -> Card {
    Card {
        date_line: "في مثل هذا اليوم 9 يوليو 1943م".to_string(),
        events: vec![event(
            "بدء عملية هاسكي: إنزال قوات الحلفاء البريطانية والأمريكية والكندية على السواحل الجنوبية لجزيرة صقلية",
            Some("صقلية، إيطاليا"),
            37.0,
            14.3,
        )],
    }
}

/// Many events, some at the corners of the land box and outside it.
fn crowded() -> Card {
    let mut events = vec![event(
        "معركة العلمين الثانية تبدأ بقصف مدفعي هائل",
        Some("العلمين، مصر"),
        30.83,
        28.95,
    )];
    for (lat, lon) in [
        (52.0, -15.0),
        (-2.0, 63.0),
        (51.5, 62.0),
        (-1.0, -14.0),
        (70.0, 10.0),
        (f64::NAN, 1.0),
        (35.9, 14.5),
        (33.3, 44.4),
        (35.7, 51.4),
        (36.1, -5.35),
        (31.8, 35.2),
    ] {
        events.push(event("حدث", None, lat, lon));
    }
    Card {
        date_line: "في مثل هذا اليوم 23 أكتوبر 1942م".to_string(),
        events,
    }
}

fn rgba(p: &Pixmap, x: u32, y: u32) -> [u8; 4] {
    let c = p.pixel(x, y).expect("pixel in range").demultiply();
    [c.red(), c.green(), c.blue(), c.alpha()]
}

fn opaque(c: palette::Rgb) -> [u8; 4] {
    [c.0, c.1, c.2, 255]
}

#[test]
fn same_card_same_bytes() {
    let a = draw(&rome()).unwrap();
    let b = draw(&rome()).unwrap();
    assert!(a == b, "two draws of one card differ");
    let c = draw(&three_events()).unwrap();
    assert_ne!(a, c, "different cards gave the same bytes");
}

#[test]
fn png_is_1280_by_720_and_small() {
    for card in [rome(), three_events(), long_title()] {
        let png = draw(&card).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoded = Pixmap::decode_png(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1280, 720));
        // Opaque, so dropping alpha lost nothing: the decoded card is the drawn one.
        assert!(decoded.pixels().iter().all(|p| p.alpha() == 255));
        assert!(decoded.data() == draw_pixmap(&card).unwrap().data());
        assert_eq!((WIDTH, HEIGHT), (1280, 720));
        assert!(png.len() <= 300 * 1024, "PNG is {} bytes", png.len());
    }
}

#[test]
fn no_events_is_an_error() {
    let card = Card {
        date_line: "في مثل هذا اليوم".to_string(),
        events: vec![],
    };
    assert_eq!(draw(&card).unwrap_err(), CardError::NoEvents);
}

#[test]
fn only_background_and_frame_in_the_margin() {
    let allowed = [opaque(palette::BACKGROUND), opaque(palette::FRAME)];
    let m = MARGIN;
    for card in [rome(), three_events(), long_title(), crowded()] {
        let p = draw_pixmap(&card).unwrap();
        let mut seen = BTreeSet::new();
        let mut inside = BTreeSet::new();
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let c = rgba(&p, x, y);
                let in_margin = x < m || x >= WIDTH - m || y < m || y >= HEIGHT - m;
                if in_margin {
                    assert!(
                        allowed.contains(&c),
                        "pixel ({x}, {y}) in the margin is {c:?}"
                    );
                    seen.insert(c);
                } else {
                    inside.insert(c);
                }
            }
        }
        // The gutter between the map and the text column is empty: the text
        // wraps inside its column.
        let gutter = (MARGIN + 600 + 2)..(MARGIN + 600 + 48);
        for y in MARGIN..HEIGHT - MARGIN {
            for x in gutter.clone() {
                assert_eq!(rgba(&p, x, y), allowed[0], "pixel ({x}, {y}) in the gutter");
            }
        }
        // Not vacuous: both colours are there, and much is drawn inside.
        assert_eq!(seen.len(), 2, "margin colours: {seen:?}");
        assert!(inside.len() > 100, "only {} colours inside", inside.len());
        // The first event's accent marker and text are drawn.
        assert!(inside.contains(&opaque(palette::ACCENT)));
        assert!(inside.contains(&opaque(palette::LAND)));
    }
}

/// Arabic is shaped: a word is not its letters side by side.
#[test]
fn arabic_is_joined() {
    let mut fs = text::font_system();
    let word = "الحلفاء";
    let (word_w, word_glyphs) = text::shape_line(&mut fs, word, 40.0, false);
    let mut letters_w = 0.0;
    let mut letter_ids = Vec::new();
    for ch in word.chars() {
        let (w, glyphs) = text::shape_line(&mut fs, &ch.to_string(), 40.0, false);
        assert_eq!(glyphs.len(), 1, "{ch} alone is one glyph");
        letters_w += w;
        letter_ids.push(glyphs[0].0);
    }
    assert!(word_w > 0.0 && letters_w > 0.0);
    assert!(
        (word_w - letters_w).abs() > 2.0,
        "word {word_w} px, letters one by one {letters_w} px"
    );
    // No missing glyphs.
    assert!(word_glyphs.iter().all(|g| g.0 != 0));
    assert!(letter_ids.iter().all(|&id| id != 0));
    // Joined forms: the word uses glyphs that no isolated letter uses.
    let word_ids: Vec<u16> = word_glyphs.iter().map(|g| g.0).collect();
    assert_ne!(word_ids, letter_ids);
    let isolated: BTreeSet<u16> = letter_ids.iter().copied().collect();
    let joined = word_ids.iter().filter(|id| !isolated.contains(id)).count();
    assert!(
        joined >= 3,
        "only {joined} glyphs of the word are not isolated forms"
    );
    // Right to left: the first letter (byte 0) is the rightmost glyph.
    let rightmost = word_glyphs.last().unwrap();
    assert_eq!(
        rightmost.1, 0,
        "the word's first letter is not on the right"
    );
}

/// Bidi: digits keep their order inside an Arabic line, and the year is left of
/// the month.
#[test]
fn numbers_in_arabic_lines() {
    let mut fs = text::font_system();
    let line = "في مثل هذا اليوم 4 يونيو 1944م";
    let (_, glyphs) = text::shape_line(&mut fs, line, 32.0, false);
    let x_of = |needle: &str| {
        let at = line.find(needle).unwrap();
        glyphs
            .iter()
            .filter(|g| g.1 >= at && g.1 < at + needle.len())
            .map(|g| g.2)
            .collect::<Vec<f32>>()
    };
    let year = line.find("1944").unwrap();
    let digit_x: Vec<f32> = (0..4)
        .map(|i| glyphs.iter().find(|g| g.1 == year + i).unwrap().2)
        .collect();
    assert!(
        digit_x.windows(2).all(|w| w[0] < w[1]),
        "1944 is not left to right: {digit_x:?}"
    );
    let month = x_of("يونيو");
    let day = line.find("4 ").unwrap();
    let four = glyphs.iter().find(|g| g.1 == day).unwrap().2;
    let fi = x_of("في ");
    let max = |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max);
    let min = |v: &[f32]| v.iter().copied().fold(f32::MAX, f32::min);
    assert!(
        max(&digit_x) < min(&month),
        "the year is not left of the month"
    );
    assert!(max(&month) < four, "the month is not left of the day");
    assert!(four < min(&fi), "the day is not left of «في»");
}

#[test]
fn arabic_plurals() {
    assert_eq!(more_events(0), None);
    assert_eq!(more_events(1).unwrap(), "وحدث آخر");
    assert_eq!(more_events(2).unwrap(), "وحدثان آخران");
    assert_eq!(more_events(3).unwrap(), "و3 أحداث أخرى");
    assert_eq!(more_events(10).unwrap(), "و10 أحداث أخرى");
    assert_eq!(more_events(11).unwrap(), "و11 حدثًا آخر");
    assert_eq!(more_events(120).unwrap(), "و120 حدثًا آخر");
}

#[test]
fn land_file_reads() {
    let rings = map::parse_land(assets::LAND).unwrap();
    assert_eq!(rings.len(), 56, "the header says 56 rings");
    let points: usize = rings.iter().map(Vec::len).sum();
    assert_eq!(points, 1735, "the header says 1735 points");
    assert!(
        rings
            .iter()
            .flatten()
            .all(|&(lon, lat)| map::in_box(lat, lon))
    );
}

/// Pixels whose channels differ by more than 8 somewhere.
fn differing_pixels(a: &Pixmap, b: &Pixmap) -> usize {
    a.pixels()
        .iter()
        .zip(b.pixels())
        .filter(|(a, b)| {
            let (a, b) = (a.demultiply(), b.demultiply());
            [
                a.red().abs_diff(b.red()),
                a.green().abs_diff(b.green()),
                a.blue().abs_diff(b.blue()),
                a.alpha().abs_diff(b.alpha()),
            ]
            .into_iter()
            .any(|d| d > 8)
        })
        .count()
}

#[test]
fn golden_card() {
    let golden = Pixmap::load_png(GOLDEN).unwrap_or_else(|e| {
        panic!(
            "{GOLDEN} is missing or unreadable ({e}); make it with \
             `cargo test bless_golden -- --ignored`, look at it, and commit it"
        )
    });
    let now = draw_pixmap(&rome()).unwrap();
    assert_eq!(
        (golden.width(), golden.height()),
        (now.width(), now.height())
    );
    // At most 0.1 % of the pixels may differ (by more than 8 in a channel):
    // 0.5 % would let a changed word through (one word is about 0.26 %).
    let allowed = (WIDTH * HEIGHT) as usize / 1000;
    let differing = differing_pixels(&golden, &now);
    assert!(
        differing <= allowed,
        "{differing} pixels differ from the golden (at most {allowed} may)"
    );
    // The comparison sees a change of one word in the title.
    let mut other = rome();
    other.events[0].title = "قوات الحلفاء تدخل نابولي".to_string();
    let changed = differing_pixels(&golden, &draw_pixmap(&other).unwrap());
    assert!(
        changed > allowed,
        "another title differs in only {changed} pixels"
    );
}

/// Writes the golden card: `cargo test bless_golden -- --ignored`.
#[test]
#[ignore = "writes the golden file"]
fn bless_golden() {
    std::fs::write(GOLDEN, draw(&rome()).unwrap()).unwrap();
}

/// Writes sample cards to look at: `cargo test write_samples -- --ignored`.
#[test]
#[ignore = "writes sample files"]
fn write_samples() {
    let dir = std::env::temp_dir().display().to_string();
    for (name, card) in [
        ("three", three_events()),
        ("long", long_title()),
        ("crowded", crowded()),
        ("medium", medium_title()),
    ] {
        let path = format!("{dir}/dhikra-sample-{name}.png");
        std::fs::write(&path, draw(&card).unwrap()).unwrap();
        println!("{path}");
    }
}

/// `cargo test draw_timing -- --ignored --nocapture`
#[test]
#[ignore = "timing, prints only"]
fn draw_timing() {
    for (name, card) in [
        ("rome", rome()),
        ("three", three_events()),
        ("long", long_title()),
    ] {
        draw(&card).unwrap();
        let n = 20;
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            bytes += draw(&card).unwrap().len();
        }
        let per = start.elapsed() / n;
        let start = Instant::now();
        for _ in 0..n {
            draw_pixmap(&card).unwrap();
        }
        let pixmap = start.elapsed() / n;
        let p = draw_pixmap(&card).unwrap();
        for (name, c) in [
            ("fast", png::Compression::Fast),
            ("balanced", png::Compression::Balanced),
            ("high", png::Compression::High),
        ] {
            let start = Instant::now();
            let len = encode(&p, c).unwrap().len();
            println!("  rgb {name}: {:?}, {len} bytes", start.elapsed());
        }
        let start = Instant::now();
        let len = p.encode_png().unwrap().len();
        println!("  tiny-skia rgba: {:?}, {len} bytes", start.elapsed());
        let start = Instant::now();
        let fs = text::font_system();
        println!("  font system: {:?}", start.elapsed());
        drop(fs);
        println!(
            "{name}: draw {per:?} per card (pixmap only {pixmap:?}), {} bytes",
            bytes / n as usize
        );
    }
}

/// Issue 14: the photo's caption is the date and the title, escaped, and stays
/// within Telegram's 1,024 UTF-16 units whatever the title.
#[test]
fn caption_is_the_date_and_title_within_the_limit() {
    assert_eq!(
        rome().caption(),
        "<b>في مثل هذا اليوم 4 يونيو 1944م</b>\n<b>قوات الحلفاء تدخل روما</b>"
    );
    let three = three_events().caption();
    assert!(three.ends_with("\nوحدثان آخران"), "{three}");
    let mut huge = rome();
    huge.events[0].title = "عنوان \"طويل\" & <غريب> ".repeat(200);
    let caption = huge.caption();
    assert!(
        render::utf16_len(&caption) <= render::CAPTION_LIMIT,
        "{caption}"
    );
    assert!(caption.contains("&quot;طويل&quot; &amp; &lt;غريب&gt;"));
    assert!(caption.ends_with("…</b>"), "{caption}");
}
