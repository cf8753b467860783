//! The map: Natural Earth land in one filled path, a faint graticule, and the
//! event markers.

use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Mask, Paint, PathBuilder, Pixmap, Point, Rect,
    SpreadMode, Stroke, Transform,
};

use super::CardError;

/// The land file's bounding box, in degrees.
pub(crate) const LON_MIN: f64 = -15.0;
pub(crate) const LON_MAX: f64 = 63.0;
pub(crate) const LAT_MIN: f64 = -2.0;
pub(crate) const LAT_MAX: f64 = 52.0;

/// Longitudes are drawn `cos(REF_LAT)` as wide as latitudes, so that the
/// Mediterranean keeps its shape.
const REF_LAT: f64 = 35.0;
/// Where the view starts when the events leave the choice free: Morocco's
/// Atlantic coast to the Gulf and western Iran.
const DEFAULT_WEST: f64 = -10.0;
/// Degrees kept between an event and the edge of the view when the view moves.
const EDGE_PAD: f64 = 4.0;

/// One land ring in degrees (lon, lat), not closed.
pub(crate) type Ring = Vec<(f64, f64)>;

/// Reads `land.txt`: `#` lines are comments, then one ring a line.
pub(crate) fn parse_land(text: &str) -> Result<Vec<Ring>, CardError> {
    let mut rings = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut ring = Ring::new();
        for point in line.split_whitespace() {
            let parsed = point
                .split_once(',')
                .and_then(|(lon, lat)| Some((lon.parse().ok()?, lat.parse().ok()?)));
            match parsed {
                Some(p) => ring.push(p),
                None => {
                    return Err(CardError::Map(format!(
                        "land.txt line {}: bad point {point:?}",
                        n + 1
                    )));
                }
            }
        }
        if ring.len() >= 3 {
            rings.push(ring);
        }
    }
    if rings.is_empty() {
        return Err(CardError::Map("land.txt has no rings".into()));
    }
    Ok(rings)
}

/// A window on the map: which degrees land in which pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    /// The panel in pixels.
    pub rect: Rect,
    /// Longitude at the panel's left edge.
    pub west: f64,
    /// Pixels per degree of longitude and of latitude.
    pub px_lon: f64,
    pub px_lat: f64,
}

impl View {
    /// A view that fills `rect` top to bottom with the whole latitude range and
    /// shows as many longitudes as fit, moved east or west so that the events
    /// inside the land box are seen when they can all be.
    pub fn new(rect: Rect, events: &[(f64, f64)]) -> Self {
        let px_lat = f64::from(rect.height()) / (LAT_MAX - LAT_MIN);
        let mut px_lon = px_lat * REF_LAT.to_radians().cos();
        let mut span = f64::from(rect.width()) / px_lon;
        if span > LON_MAX - LON_MIN {
            span = LON_MAX - LON_MIN;
            px_lon = f64::from(rect.width()) / span;
        }
        let mut west = DEFAULT_WEST;
        let inside = events
            .iter()
            .filter(|(lat, lon)| in_box(*lat, *lon))
            .map(|&(_, lon)| lon);
        let (lo, hi) = inside.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), lon| {
            (lo.min(lon), hi.max(lon))
        });
        if lo <= hi && hi - lo <= span - 2.0 * EDGE_PAD {
            if lo - EDGE_PAD < west {
                west = lo - EDGE_PAD;
            }
            if hi + EDGE_PAD > west + span {
                west = hi + EDGE_PAD - span;
            }
        }
        west = west.clamp(LON_MIN, LON_MAX - span);
        View {
            rect,
            west,
            px_lon,
            px_lat,
        }
    }

    /// Pixel position of (lat, lon).
    pub fn project(&self, lat: f64, lon: f64) -> (f32, f32) {
        let x = f64::from(self.rect.left()) + (lon - self.west) * self.px_lon;
        let y = f64::from(self.rect.top()) + (LAT_MAX - lat) * self.px_lat;
        (x as f32, y as f32)
    }

    /// Whether (lat, lon) is drawn inside the panel, `inset` pixels from its edges.
    pub fn shows(&self, lat: f64, lon: f64, inset: f32) -> bool {
        if !in_box(lat, lon) {
            return false;
        }
        let (x, y) = self.project(lat, lon);
        x >= self.rect.left() + inset
            && x <= self.rect.right() - inset
            && y >= self.rect.top() + inset
            && y <= self.rect.bottom() - inset
    }
}

/// Whether (lat, lon) is a finite point in the land file's box.
pub(crate) fn in_box(lat: f64, lon: f64) -> bool {
    (LAT_MIN..=LAT_MAX).contains(&lat) && (LON_MIN..=LON_MAX).contains(&lon)
}

/// Colours of the map.
pub(crate) struct MapColors {
    pub sea: Color,
    pub graticule: Color,
    pub land: Color,
    pub border: Color,
    pub accent: Color,
    pub ink: Color,
    /// Laid over the lower part of the map, fading in towards the bottom, so
    /// that the desert weighs less than the sea.
    pub shade: Color,
}

fn paint(color: Color) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color(color);
    paint.anti_alias = true;
    paint
}

/// A rectangle with rounded corners.
pub(crate) fn rounded_rect(rect: Rect, radius: f32) -> Option<tiny_skia::Path> {
    let (l, t, r, b) = (rect.left(), rect.top(), rect.right(), rect.bottom());
    let k = radius * 0.552_284_8; // cubic approximation of a quarter circle
    let mut pb = PathBuilder::new();
    pb.move_to(l + radius, t);
    pb.line_to(r - radius, t);
    pb.cubic_to(r - radius + k, t, r, t + radius - k, r, t + radius);
    pb.line_to(r, b - radius);
    pb.cubic_to(r, b - radius + k, r - radius + k, b, r - radius, b);
    pb.line_to(l + radius, b);
    pb.cubic_to(l + radius - k, b, l, b - radius + k, l, b - radius);
    pb.line_to(l, t + radius);
    pb.cubic_to(l, t + radius - k, l + radius - k, t, l + radius, t);
    pb.close();
    pb.finish()
}

/// A ring around a dot, on a soft halo.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Marker {
    pub ring: f32,
    pub ring_width: f32,
    pub dot: f32,
    /// Halo radius and opacity.
    pub halo: Option<(f32, f32)>,
}

impl Marker {
    pub const FIRST: Marker = Marker {
        ring: 13.0,
        ring_width: 3.0,
        dot: 5.5,
        halo: Some((25.0, 0.22)),
    };
    pub const OTHER: Marker = Marker {
        ring: 8.0,
        ring_width: 2.0,
        dot: 3.5,
        halo: Some((15.0, 0.16)),
    };
    /// The small one beside the place's name.
    pub const PIN: Marker = Marker {
        ring: 7.0,
        ring_width: 1.8,
        dot: 2.8,
        halo: None,
    };

    pub fn draw(
        &self,
        pixmap: &mut Pixmap,
        x: f32,
        y: f32,
        accent: Color,
        ink: Color,
        mask: Option<&Mask>,
    ) {
        let id = Transform::identity();
        if let Some((radius, opacity)) = self.halo {
            let mut halo = accent;
            halo.set_alpha(opacity);
            if let Some(p) = PathBuilder::from_circle(x, y, radius) {
                pixmap.fill_path(&p, &paint(halo), FillRule::Winding, id, mask);
            }
        }
        if let Some(p) = PathBuilder::from_circle(x, y, self.ring) {
            let under = Stroke {
                width: self.ring_width + 2.5,
                ..Stroke::default()
            };
            pixmap.stroke_path(&p, &paint(ink), &under, id, mask);
            let ring = Stroke {
                width: self.ring_width,
                ..Stroke::default()
            };
            pixmap.stroke_path(&p, &paint(accent), &ring, id, mask);
        }
        if let Some(p) = PathBuilder::from_circle(x, y, self.dot) {
            pixmap.fill_path(&p, &paint(accent), FillRule::Winding, id, mask);
        }
    }
}

/// Draws the panel: sea, graticule, land, border, then the markers (the first
/// event last, on top, and larger). `events` are (lat, lon), oldest first.
pub(crate) fn draw_map(
    pixmap: &mut Pixmap,
    view: &View,
    rings: &[Ring],
    events: &[(f64, f64)],
    colors: &MapColors,
) -> Result<(), CardError> {
    let no_path = || CardError::Map("empty path".into());
    let radius = 14.0;
    let panel = rounded_rect(view.rect, radius).ok_or_else(no_path)?;
    let mut mask =
        Mask::new(pixmap.width(), pixmap.height()).ok_or_else(|| CardError::Map("mask".into()))?;
    mask.fill_path(&panel, FillRule::Winding, true, Transform::identity());
    let id = Transform::identity();
    pixmap.fill_path(&panel, &paint(colors.sea), FillRule::Winding, id, None);
    draw_graticule(pixmap, view, colors, &mask);
    let land = land_path(view, rings).ok_or_else(no_path)?;
    pixmap.fill_path(
        &land,
        &paint(colors.land),
        FillRule::Winding,
        id,
        Some(&mask),
    );
    shade_south(pixmap, view, colors, &mask);
    // Markers, drawn last-first so the first event is on top.
    for (i, &(lat, lon)) in events.iter().enumerate().rev() {
        if !view.shows(lat, lon, 4.0) {
            continue;
        }
        let (x, y) = view.project(lat, lon);
        let marker = if i == 0 { Marker::FIRST } else { Marker::OTHER };
        marker.draw(pixmap, x, y, colors.accent, colors.ink, Some(&mask));
    }
    // A thin border around the panel, inside it.
    let r = view.rect;
    let inner = Rect::from_ltrb(
        r.left() + 0.5,
        r.top() + 0.5,
        r.right() - 0.5,
        r.bottom() - 0.5,
    )
    .ok_or_else(no_path)?;
    let border = rounded_rect(inner, radius - 0.5).ok_or_else(no_path)?;
    let stroke = Stroke {
        width: 1.0,
        ..Stroke::default()
    };
    pixmap.stroke_path(&border, &paint(colors.border), &stroke, id, None);
    Ok(())
}

/// One-pixel lines every 10 degrees, under the land.
fn draw_graticule(pixmap: &mut Pixmap, view: &View, colors: &MapColors, mask: &Mask) {
    let mut grid = paint(colors.graticule);
    grid.anti_alias = false;
    let mut lon = (view.west / 10.0).ceil() * 10.0;
    while lon <= LON_MAX {
        let (x, _) = view.project(LAT_MAX, lon);
        if let Some(r) = Rect::from_xywh(x.round(), view.rect.top(), 1.0, view.rect.height()) {
            pixmap.fill_rect(r, &grid, Transform::identity(), Some(mask));
        }
        lon += 10.0;
    }
    let mut lat = (LAT_MIN / 10.0).ceil() * 10.0;
    while lat <= LAT_MAX {
        let (_, y) = view.project(lat, view.west);
        if let Some(r) = Rect::from_xywh(view.rect.left(), y.round(), view.rect.width(), 1.0) {
            pixmap.fill_rect(r, &grid, Transform::identity(), Some(mask));
        }
        lat += 10.0;
    }
}

/// Every ring in one path, so that rings that meet along a cut of the data
/// (the box's edges, the Caspian seam) fill without a seam. Never stroked.
fn land_path(view: &View, rings: &[Ring]) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::with_capacity(2048, 2048);
    for ring in rings {
        let mut points = ring.iter();
        if let Some(&(lon, lat)) = points.next() {
            let (x, y) = view.project(lat, lon);
            pb.move_to(x, y);
            for &(lon, lat) in points {
                let (x, y) = view.project(lat, lon);
                pb.line_to(x, y);
            }
            pb.close();
        }
    }
    pb.finish()
}

/// Shades the south: transparent down to 45 % of the height, then darker, so
/// the desert does not outweigh the sea.
fn shade_south(pixmap: &mut Pixmap, view: &View, colors: &MapColors, mask: &Mask) {
    let mut clear = colors.shade;
    clear.set_alpha(0.0);
    let top = view.rect.top() + view.rect.height() * 0.45;
    let stops = vec![
        GradientStop::new(0.0, clear),
        GradientStop::new(1.0, colors.shade),
    ];
    let (from, to) = (
        Point::from_xy(0.0, top),
        Point::from_xy(0.0, view.rect.bottom()),
    );
    let Some(shader) = LinearGradient::new(from, to, stops, SpreadMode::Pad, Transform::identity())
    else {
        return;
    };
    let shade = Paint {
        shader,
        anti_alias: false,
        ..Paint::default()
    };
    if let Some(r) = Rect::from_ltrb(view.rect.left(), top, view.rect.right(), view.rect.bottom()) {
        pixmap.fill_rect(r, &shade, Transform::identity(), Some(mask));
    }
}
