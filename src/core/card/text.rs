//! Arabic text: shaping and layout with cosmic-text, glyphs blended onto the pixmap.

use std::sync::Arc;

use cosmic_text::{
    Align, Attrs, Buffer, Color, Family, FontSystem, Metrics, Shaping, SwashCache, Weight, Wrap,
    fontdb,
};
use tiny_skia::Pixmap;

use super::assets;

/// The family name inside both Amiri files.
pub(crate) const FAMILY: &str = "Amiri";

/// U+200F RIGHT-TO-LEFT MARK: put before every text so that the paragraph is
/// right to left even when it starts with a Latin name or a digit.
const RLM: char = '\u{200F}';

/// A font system that knows only the embedded Amiri faces: no system font is
/// looked at, so the same card draws the same on every machine.
pub(crate) fn font_system() -> FontSystem {
    let mut db = fontdb::Database::new();
    db.load_font_source(fontdb::Source::Binary(Arc::new(assets::AMIRI_REGULAR)));
    db.load_font_source(fontdb::Source::Binary(Arc::new(assets::AMIRI_BOLD)));
    db.set_serif_family(FAMILY);
    db.set_sans_serif_family(FAMILY);
    FontSystem::new_with_locale_and_db("ar".to_string(), db)
}

/// How one piece of text looks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    /// Font size in pixels.
    pub size: f32,
    /// Line height as a multiple of the size.
    pub leading: f32,
    pub bold: bool,
    pub color: Color,
}

impl Style {
    fn attrs(&self) -> Attrs<'static> {
        Attrs::new()
            .family(Family::Name(FAMILY))
            .weight(if self.bold {
                Weight::BOLD
            } else {
                Weight::NORMAL
            })
            .color(self.color)
    }

    fn metrics(&self) -> Metrics {
        Metrics::new(self.size, (self.size * self.leading).round())
    }
}

/// One laid-out paragraph, right-aligned in a column of a given width.
pub(crate) struct Block {
    pub buffer: Buffer,
    pub color: Color,
}

impl Block {
    /// Number of wrapped lines.
    pub fn lines(&self) -> usize {
        self.buffer.layout_runs().count()
    }

    /// Baseline of the first line, from the block's top.
    pub fn first_baseline(&self) -> Option<f32> {
        self.buffer.layout_runs().next().map(|run| run.line_y)
    }

    /// Height of the line boxes.
    pub fn height(&self) -> f32 {
        self.buffer.layout_runs().map(|run| run.line_height).sum()
    }
}

/// Collapses runs of white space (new lines too) to one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lays out `spans` (text, style) as one right-to-left paragraph, wrapped to
/// `width` (or not wrapped with `None`), each line right-aligned. Sizes and
/// leading are the first span's; the others may change weight and colour.
pub(crate) fn layout(fs: &mut FontSystem, spans: &[(&str, Style)], width: Option<f32>) -> Block {
    let first = spans.first().map_or(
        Style {
            size: 16.0,
            leading: 1.5,
            bold: false,
            color: Color::rgb(0, 0, 0),
        },
        |s| s.1,
    );
    let mut buffer = Buffer::new(fs, first.metrics());
    buffer.set_wrap(Wrap::WordOrGlyph);
    buffer.set_size(width, None);
    let rlm = RLM.to_string();
    let mut rich: Vec<(&str, Attrs)> = vec![(rlm.as_str(), first.attrs())];
    for (text, style) in spans {
        rich.push((text, style.attrs()));
    }
    buffer.set_rich_text(rich, &first.attrs(), Shaping::Advanced, Some(Align::Right));
    buffer.shape_until_scroll(fs, false);
    Block {
        buffer,
        color: first.color,
    }
}

/// Lays out `text` in the largest size from `style.size` down to `min_size`
/// (in steps of 2 px) that takes at most `max_lines` lines and `max_height`
/// pixels; when even `min_size` is too large, cuts words from the end (adding
/// «…») until the text fits in `max_lines` lines.
pub(crate) fn fit(
    fs: &mut FontSystem,
    text: &str,
    style: Style,
    min_size: f32,
    max_lines: usize,
    width: f32,
    max_height: f32,
) -> Block {
    let mut block = layout(fs, &[(text, style)], Some(width));
    let mut size = style.size;
    // Shaping does not depend on the size: only the layout is done again.
    while (block.lines() > max_lines || block.height() > max_height) && size - 2.0 >= min_size {
        size -= 2.0;
        block.buffer.set_metrics(Style { size, ..style }.metrics());
        block.buffer.shape_until_scroll(fs, false);
    }
    if block.lines() <= max_lines {
        return block;
    }
    // Too long even at the smallest size: keep what the first lines hold.
    let shown_end = block
        .buffer
        .layout_runs()
        .take(max_lines)
        .flat_map(|run| run.glyphs.iter())
        .map(|g| g.end)
        .max()
        .unwrap_or(0)
        .saturating_sub(RLM.len_utf8())
        .min(text.len());
    let shown = text.get(..shown_end).unwrap_or(text);
    let mut words: Vec<&str> = shown.split(' ').collect();
    let style = Style { size, ..style };
    while words.len() > 1 {
        words.pop();
        let shorter = format!("{}…", words.join(" "));
        let block = layout(fs, &[(&shorter, style)], Some(width));
        if block.lines() <= max_lines {
            return block;
        }
    }
    // One word that does not fit even alone is broken between glyphs by
    // `Wrap::WordOrGlyph`: keep what there is.
    block
}

/// A clip rectangle in pixels: `x0..x1` × `y0..y1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clip {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

/// Draws `block` with its column's top left corner at (`left`, `top`) (the
/// buffer's own origin); lines are right-aligned in the column. Glyph pixels
/// outside `clip` are dropped.
pub(crate) fn draw_block(
    pixmap: &mut Pixmap,
    fs: &mut FontSystem,
    cache: &mut SwashCache,
    block: &mut Block,
    left: f32,
    top: f32,
    clip: Clip,
) {
    let dx = left.round() as i32;
    let dy = top.round() as i32;
    let width = pixmap.width() as i32;
    let data = pixmap.data_mut();
    block
        .buffer
        .draw(fs, cache, block.color, |x, y, w, h, color| {
            blend_rect(data, width, dx + x, dy + y, w, h, color, clip);
        });
}

/// Blends a rectangle of one straight-alpha colour over premultiplied RGBA pixels.
#[allow(clippy::too_many_arguments)]
fn blend_rect(
    data: &mut [u8],
    stride: i32,
    x: i32,
    y: i32,
    w: u32,
    h: u32,
    color: Color,
    clip: Clip,
) {
    let alpha = u32::from(color.a());
    if alpha == 0 {
        return;
    }
    let xs = x.max(clip.x0);
    let xe = (x + w as i32).min(clip.x1);
    let ys = y.max(clip.y0);
    let ye = (y + h as i32).min(clip.y1);
    let src = [
        div255(u32::from(color.r()) * alpha),
        div255(u32::from(color.g()) * alpha),
        div255(u32::from(color.b()) * alpha),
        alpha,
    ];
    let inv = 255 - alpha;
    for py in ys..ye {
        for px in xs..xe {
            let i = ((py * stride + px) * 4) as usize;
            for c in 0..4 {
                let dst = u32::from(data[i + c]);
                data[i + c] = (src[c] + div255(dst * inv)) as u8;
            }
        }
    }
}

/// `v / 255`, rounded, for `v` ≤ 255 × 255.
fn div255(v: u32) -> u32 {
    let t = v + 128;
    (t + (t >> 8)) >> 8
}

/// A line shaped on its own, unwrapped: its width and its glyph ids in visual
/// order (left to right), with the byte where each glyph's cluster starts.
#[cfg(test)]
pub(crate) fn shape_line(
    fs: &mut FontSystem,
    text: &str,
    size: f32,
    bold: bool,
) -> (f32, Vec<(u16, usize, f32)>) {
    let style = Style {
        size,
        leading: 1.5,
        bold,
        color: Color::rgb(255, 255, 255),
    };
    let block = layout(fs, &[(text, style)], None);
    let rlm_len = RLM.len_utf8();
    let mut glyphs: Vec<(u16, usize, f32)> = block
        .buffer
        .layout_runs()
        .flat_map(|run| run.glyphs.iter())
        .filter(|g| g.start >= rlm_len)
        .map(|g| (g.glyph_id, g.start - rlm_len, g.x))
        .collect();
    glyphs.sort_by(|a, b| a.2.total_cmp(&b.2));
    let width = block
        .buffer
        .layout_runs()
        .flat_map(|run| run.glyphs.iter())
        .filter(|g| g.start >= rlm_len)
        .map(|g| g.w)
        .sum();
    (width, glyphs)
}
