//! The day card: a 1280×720 PNG for a day's post — the date, the first event's
//! title and place in Arabic on the right, a map of the region with a marker for
//! each event on the left.
//!
//! Pure: no I/O, no threads, no system fonts. The fonts (Amiri) and the land
//! polygons (Natural Earth) are embedded (see `assets.rs`); text is shaped with
//! cosmic-text (`Shaping::Advanced`, bidi, right-aligned) and drawn with its
//! `SwashCache` onto a tiny-skia pixmap.

mod assets;
mod map;
mod text;

#[cfg(test)]
mod tests;

use std::fmt;

use cosmic_text::{Color as TextColor, SwashCache};
use tiny_skia::{Color, Paint, Pixmap, Rect, Transform};

use crate::core::event::Event;
use crate::core::render::{self, Style as PostStyle};
use map::{MapColors, View};
use text::{Block, Clip, Style};

/// One event on the card.
#[derive(Clone, Debug, PartialEq)]
pub struct CardEvent {
    pub title: String,
    pub place: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

/// A day's card.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// The date line, e.g. «في مثل هذا اليوم 4 يونيو 1944م».
    pub date_line: String,
    /// At least one event, oldest first; the first one is the card's.
    pub events: Vec<CardEvent>,
}

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 720;
/// Nothing but the background and the frame is drawn closer to the edge than this.
pub const MARGIN: u32 = 48;

/// Why a card could not be drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardError {
    /// The card has no event.
    NoEvents,
    /// The pixmap could not be made.
    Pixmap,
    /// The embedded map could not be read or drawn.
    Map(String),
    /// PNG encoding failed.
    Encode(String),
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::NoEvents => write!(f, "a card needs at least one event"),
            CardError::Pixmap => write!(f, "could not make a {WIDTH}×{HEIGHT} pixmap"),
            CardError::Map(why) => write!(f, "map: {why}"),
            CardError::Encode(why) => write!(f, "PNG encoding: {why}"),
        }
    }
}

impl std::error::Error for CardError {}

/// The palette: ink-blue ground, warm amber accent, sand land.
mod palette {
    /// (r, g, b)
    pub type Rgb = (u8, u8, u8);
    pub const BACKGROUND: Rgb = (0x0d, 0x16, 0x26);
    pub const FRAME: Rgb = (0x6b, 0x58, 0x36);
    pub const SEA: Rgb = (0x14, 0x22, 0x3a);
    pub const GRATICULE: Rgb = (0x1a, 0x2b, 0x47);
    pub const LAND: Rgb = (0x62, 0x5d, 0x49);
    pub const PANEL_BORDER: Rgb = (0x2b, 0x3a, 0x55);
    pub const ACCENT: Rgb = (0xe6, 0xb4, 0x5e);
    pub const TITLE: Rgb = (0xf4, 0xee, 0xe2);
    pub const PLACE: Rgb = (0xb4, 0xc0, 0xd2);
    pub const MORE: Rgb = (0x8d, 0x9b, 0xb1);
    pub const FOOTER: Rgb = (0x6c, 0x7a, 0x92);
    pub const RULE: Rgb = (0x24, 0x32, 0x4c);
}

fn skia(c: palette::Rgb) -> Color {
    Color::from_rgba8(c.0, c.1, c.2, 255)
}

fn text_color(c: palette::Rgb) -> TextColor {
    TextColor::rgb(c.0, c.1, c.2)
}

/// The frame: two pixel-aligned lines in the margin, so the margin holds exactly
/// two colours. (left, top, right, bottom) insets in pixels and line width.
const FRAME_LINES: [(f32, f32); 2] = [(18.0, 2.0), (25.0, 1.0)];

// The layout, in pixels.
const MAP_WIDTH: f32 = 600.0;
const GUTTER: f32 = 48.0;
const TEXT_LEFT: f32 = MARGIN as f32 + MAP_WIDTH + GUTTER;
const TEXT_RIGHT: f32 = (WIDTH - MARGIN) as f32;
const TEXT_WIDTH: f32 = TEXT_RIGHT - TEXT_LEFT;
const TOP: f32 = MARGIN as f32;
const BOTTOM: f32 = (HEIGHT - MARGIN) as f32;

/// Draws the card as PNG bytes.
impl Card {
    /// The card of a day's post: its events, oldest first, under the post's own
    /// date line; `None` for a day without events. An event without coordinates
    /// gets no marker (validation gives every shipped event one).
    pub fn of_day(events: &[&Event], style: PostStyle) -> Option<Card> {
        let first = events.first()?;
        let date_line = format!("في مثل هذا اليوم {}م", render::date_ar(first.date, style));
        let events = events
            .iter()
            .map(|e| CardEvent {
                title: e.title_ar.clone(),
                place: e.place_ar.clone(),
                lat: e.coords.map_or(f64::NAN, |c| c.lat),
                lon: e.coords.map_or(f64::NAN, |c| c.lon),
            })
            .collect();
        Some(Card { date_line, events })
    }
}

impl Card {
    /// The photo's caption in Telegram HTML: the date line, the card's title and
    /// how many events follow, within Telegram's 1,024 UTF-16 units (a title
    /// that would pass it is cut at a word with «…»).
    pub fn caption(&self) -> String {
        let more = self
            .events
            .len()
            .checked_sub(1)
            .and_then(more_events)
            .map(|m| format!("\n{}", render::escape(&m)))
            .unwrap_or_default();
        let head = format!("<b>{}</b>\n", render::escape(&self.date_line));
        let title = self.events.first().map_or("", |e| e.title.as_str());
        let room = render::CAPTION_LIMIT
            .saturating_sub(render::utf16_len(&head) + render::utf16_len(&more) + 8);
        let title = render::escape(&shorten(title, room));
        render::keep_rtl(&format!("{head}<b>{title}</b>{more}"))
    }
}

/// `text` within `room` UTF-16 units once escaped, cut at a space with «…».
fn shorten(text: &str, room: usize) -> String {
    if render::utf16_len(&render::escape(text)) <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        let next = if out.is_empty() {
            word.to_owned()
        } else {
            format!("{out} {word}")
        };
        // Escaping can grow a character sixfold (`&quot;`): count it escaped.
        if render::utf16_len(&render::escape(&next)) + 2 > room {
            break;
        }
        out = next;
    }
    out.push('…');
    out
}

pub fn draw(card: &Card) -> Result<Vec<u8>, CardError> {
    encode(&draw_pixmap(card)?, png::Compression::Fast)
}

/// Encodes the pixmap as an 8-bit RGB PNG (a quarter less data than the RGBA
/// that `Pixmap::encode_png` writes). The card is opaque — the background is
/// filled first and everything is blended over it — so premultiplied RGB is
/// the colour itself and alpha is dropped.
fn encode(pixmap: &Pixmap, compression: png::Compression) -> Result<Vec<u8>, CardError> {
    let err = |e: png::EncodingError| CardError::Encode(e.to_string());
    let mut rgb = Vec::with_capacity(pixmap.data().len() / 4 * 3);
    for px in pixmap.data().chunks_exact(4) {
        rgb.extend_from_slice(&px[..3]);
    }
    let mut out = Vec::with_capacity(128 * 1024);
    let mut encoder = png::Encoder::new(&mut out, pixmap.width(), pixmap.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(compression);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// Draws the card on a pixmap.
pub fn draw_pixmap(card: &Card) -> Result<Pixmap, CardError> {
    let first = card.events.first().ok_or(CardError::NoEvents)?;
    let mut pixmap = Pixmap::new(WIDTH, HEIGHT).ok_or(CardError::Pixmap)?;
    pixmap.fill(skia(palette::BACKGROUND));
    draw_frame(&mut pixmap);

    // Left: the map.
    let rings = map::parse_land(assets::LAND)?;
    let points: Vec<(f64, f64)> = card.events.iter().map(|e| (e.lat, e.lon)).collect();
    let panel = Rect::from_xywh(TOP, TOP, MAP_WIDTH, BOTTOM - TOP).ok_or(CardError::Pixmap)?;
    let view = View::new(panel, &points);
    let colors = MapColors {
        sea: skia(palette::SEA),
        graticule: skia(palette::GRATICULE),
        land: skia(palette::LAND),
        border: skia(palette::PANEL_BORDER),
        accent: skia(palette::ACCENT),
        ink: skia(palette::BACKGROUND),
        shade: {
            let mut c = skia(palette::BACKGROUND);
            c.set_alpha(0.5);
            c
        },
    };
    map::draw_map(&mut pixmap, &view, &rings, &points, &colors)?;

    // Right: the text.
    draw_text(&mut pixmap, card, first)?;
    Ok(pixmap)
}

fn draw_frame(pixmap: &mut Pixmap) {
    let mut paint = Paint::default();
    paint.set_color(skia(palette::FRAME));
    paint.anti_alias = false;
    let (w, h) = (WIDTH as f32, HEIGHT as f32);
    for (inset, width) in FRAME_LINES {
        let sides = [
            Rect::from_xywh(inset, inset, w - 2.0 * inset, width),
            Rect::from_xywh(inset, h - inset - width, w - 2.0 * inset, width),
            Rect::from_xywh(inset, inset, width, h - 2.0 * inset),
            Rect::from_xywh(w - inset - width, inset, width, h - 2.0 * inset),
        ];
        for rect in sides.into_iter().flatten() {
            pixmap.fill_rect(rect, &paint, Transform::identity(), None);
        }
    }
}

/// «وحدث آخر», «وحدثان آخران», «و3 أحداث أخرى» … «و10 أحداث أخرى», «و11 حدثًا آخر» …
pub fn more_events(n: usize) -> Option<String> {
    match n {
        0 => None,
        1 => Some("وحدث آخر".to_string()),
        2 => Some("وحدثان آخران".to_string()),
        3..=10 => Some(format!("و{n} أحداث أخرى")),
        _ => Some(format!("و{n} حدثًا آخر")),
    }
}

const FOOTER_NAME: &str = "ذكرى";
const FOOTER_REST: &str = " — في مثل هذا اليوم";

/// What writes on the card: the pixmap, the fonts, the glyph cache, the margins.
struct Pen<'a> {
    pixmap: &'a mut Pixmap,
    fs: cosmic_text::FontSystem,
    cache: SwashCache,
    clip: Clip,
}

impl Pen<'_> {
    fn write(&mut self, block: &mut Block, y: f32) {
        let (fs, cache) = (&mut self.fs, &mut self.cache);
        text::draw_block(self.pixmap, fs, cache, block, TEXT_LEFT, y, self.clip);
    }

    /// A one-pixel-sharp rectangle in a plain colour.
    fn rect(&mut self, r: Option<Rect>, color: palette::Rgb) {
        let mut paint = Paint::default();
        paint.set_color(skia(color));
        paint.anti_alias = false;
        if let Some(r) = r {
            self.pixmap
                .fill_rect(r, &paint, Transform::identity(), None);
        }
    }
}

const fn style(size: f32, bold: bool, color: palette::Rgb) -> (f32, bool, palette::Rgb) {
    (size, bold, color)
}

fn text_style((size, bold, color): (f32, bool, palette::Rgb), leading: f32) -> Style {
    Style {
        size,
        leading,
        bold,
        color: text_color(color),
    }
}

fn draw_text(pixmap: &mut Pixmap, card: &Card, first: &CardEvent) -> Result<(), CardError> {
    let clip = Clip {
        x0: MARGIN as i32,
        y0: MARGIN as i32,
        x1: (WIDTH - MARGIN) as i32,
        y1: (HEIGHT - MARGIN) as i32,
    };
    let mut pen = Pen {
        pixmap,
        fs: text::font_system(),
        cache: SwashCache::new(),
        clip,
    };
    let rule_y = draw_footer(&mut pen);
    let mut main = Main::layout(&mut pen.fs, card, first, TOP + 16.0, rule_y - 16.0);
    main.draw(&mut pen);
    Ok(())
}

/// The footer at the bottom of the column, a hairline above it; returns where
/// the hairline is.
fn draw_footer(pen: &mut Pen<'_>) -> f32 {
    let footer_style = text_style(style(22.0, false, palette::FOOTER), 1.6);
    let name_style = Style {
        bold: true,
        color: text_color(palette::ACCENT),
        ..footer_style
    };
    let runs = [(FOOTER_NAME, name_style), (FOOTER_REST, footer_style)];
    let mut footer = text::layout(&mut pen.fs, &runs, Some(TEXT_WIDTH));
    let footer_top = BOTTOM - footer.height();
    let rule_y = footer_top - 14.0;
    pen.rect(
        Rect::from_xywh(TEXT_LEFT, rule_y.round(), TEXT_WIDTH, 1.0),
        palette::RULE,
    );
    pen.write(&mut footer, footer_top);
    rule_y
}

const BAR_GAP_ABOVE: f32 = 6.0;
const BAR_HEIGHT: f32 = 3.0;
const BAR_WIDTH: f32 = 72.0;
const BAR_GAP_BELOW: f32 = 22.0;
const PLACE_GAP: f32 = 14.0;
/// Room on the right of the place's name for a small marker.
const PIN_ROOM: f32 = 28.0;
const PLACE_SIZE: f32 = 30.0;

/// The main block, laid out: date, accent bar, title, place, the other events.
struct Main {
    top: f32,
    date: Block,
    title: Block,
    place: Option<Block>,
    more: Option<Block>,
}

impl Main {
    fn layout(
        fs: &mut cosmic_text::FontSystem,
        card: &Card,
        first: &CardEvent,
        area_top: f32,
        area_bottom: f32,
    ) -> Main {
        let date_style = text_style(style(32.0, false, palette::ACCENT), 1.6);
        let date = text::fit(
            fs,
            &text::one_line(&card.date_line),
            date_style,
            24.0,
            2,
            TEXT_WIDTH,
            f32::INFINITY,
        );
        let place_style = text_style(style(PLACE_SIZE, false, palette::PLACE), 1.6);
        let place = first
            .place
            .as_deref()
            .map(text::one_line)
            .filter(|p| !p.is_empty());
        let place = place.map(|p| {
            text::fit(
                fs,
                &p,
                place_style,
                22.0,
                2,
                TEXT_WIDTH - PIN_ROOM,
                f32::INFINITY,
            )
        });
        let more_style = text_style(style(26.0, false, palette::MORE), 1.6);
        let more = more_events(card.events.len() - 1)
            .map(|m| text::layout(fs, &[(&m, more_style)], Some(TEXT_WIDTH)));
        let fixed = date.height()
            + BAR_GAP_ABOVE
            + BAR_HEIGHT
            + BAR_GAP_BELOW
            + place.as_ref().map_or(0.0, |b| PLACE_GAP + b.height())
            + more.as_ref().map_or(0.0, Block::height);
        // The title: up to 3 lines, as large as fits the room left.
        let title_style = text_style(style(62.0, true, palette::TITLE), 1.5);
        let room = area_bottom - area_top - fixed;
        let title = text::fit(
            fs,
            &text::one_line(&first.title),
            title_style,
            32.0,
            3,
            TEXT_WIDTH,
            room,
        );
        let total = fixed + title.height();
        // Centred in the room, a little above the middle.
        let top = (area_top + (area_bottom - area_top - total) * 0.42).max(area_top);
        Main {
            top,
            date,
            title,
            place,
            more,
        }
    }

    fn draw(&mut self, pen: &mut Pen<'_>) {
        let mut y = self.top;
        pen.write(&mut self.date, y);
        y += self.date.height() + BAR_GAP_ABOVE;
        pen.rect(
            Rect::from_xywh(TEXT_RIGHT - BAR_WIDTH, y.round(), BAR_WIDTH, BAR_HEIGHT),
            palette::ACCENT,
        );
        y += BAR_HEIGHT + BAR_GAP_BELOW;
        pen.write(&mut self.title, y);
        y += self.title.height();
        if let Some(block) = self.place.as_mut() {
            y += PLACE_GAP;
            pen.write(block, y);
            if let Some(baseline) = block.first_baseline() {
                // Level with the middle of the Arabic letters' body.
                let pin_y = y + baseline - PLACE_SIZE * 0.28;
                let (accent, ink) = (skia(palette::ACCENT), skia(palette::BACKGROUND));
                map::Marker::PIN.draw(pen.pixmap, TEXT_RIGHT - 9.0, pin_y, accent, ink, None);
            }
            y += block.height();
        }
        if let Some(block) = self.more.as_mut() {
            pen.write(block, y);
        }
    }
}
