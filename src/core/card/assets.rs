//! The embedded assets: the only place that names their paths.
//! Licences and sources: `assets/fonts/README.md`, `assets/map/README.md`.

/// Amiri Regular (SIL OFL 1.1).
pub(crate) static AMIRI_REGULAR: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/Amiri-Regular.ttf"
));
/// Amiri Bold (SIL OFL 1.1).
pub(crate) static AMIRI_BOLD: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/fonts/Amiri-Bold.ttf"
));
/// Natural Earth land rings, one per line `lon,lat lon,lat …` (public domain).
pub(crate) static LAND: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/map/land.txt"));
