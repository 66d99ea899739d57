//! Charts as PNG and SVG with plotters and a bundled font (no system fonts needed): the pieces
//! sweeps and single runs share (axis ranges, atomic PNG + SVG output) and the charts of a
//! finished run ([`run::plot_run`]).

pub mod run;

use std::path::{Path, PathBuf};

/// Width and height of every chart, pixels.
pub const SIZE: (u32, u32) = (1000, 640);

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Drawing failed (the plotting library's error).
    #[error("{path}: drawing")]
    Draw {
        /// The chart file.
        path: PathBuf,
        /// What plotters reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Writing the file failed.
    #[error("{path}")]
    Io {
        /// The chart file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A table the chart reads is missing or malformed.
    #[error("{path}: {message}")]
    Table {
        /// The table.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What drawing a chart can fail with (the plotting library's error, boxed).
pub type Drawn = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Boxes a plotters error.
pub fn err<E: std::error::Error + Send + Sync + 'static>(e: E) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(e)
}

/// Registers the bundled font once.
pub fn font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // the bundled font always parses; without it text would not render, never crash
        let _ = plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

/// An axis range holding every finite value, with a little padding.
pub fn range(v: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let lo = v.clone().filter(|x| x.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = v.filter(|x| x.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs().max(1e-12) * 1e-3);
    (lo - pad)..(hi + pad)
}

/// Writes `bytes` to `path` under a temporary name, renamed when whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    let io = |source| PlotError::Io { path: path.to_path_buf(), source };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial"));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// RGB pixels of a [`SIZE`] chart as PNG bytes.
pub fn encode_png(pixels: Vec<u8>, path: &Path) -> Result<Vec<u8>, PlotError> {
    let draw = |source: Box<dyn std::error::Error + Send + Sync>| PlotError::Draw { path: path.to_path_buf(), source };
    let image = image::RgbImage::from_raw(SIZE.0, SIZE.1, pixels).ok_or_else(|| draw("pixel buffer size".into()))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).map_err(|e| draw(Box::new(e)))?;
    Ok(bytes.into_inner())
}

/// Draws one chart twice, `DIR/NAME.png` and `DIR/NAME.svg`, in memory, then writes each
/// atomically (a kill or a full disk never leaves a chart that looks finished); pushes both
/// paths to `out`. The drawing expression sees the drawing area as `$r`.
#[macro_export]
macro_rules! both {
    ($dir:expr, $out:expr, $name:expr, |$r:ident| $draw:expr) => {{
        use plotters::prelude::IntoDrawingArea as _;
        let png = $dir.join(format!("{}.png", $name));
        let mut pixels = vec![0u8; $crate::SIZE.0 as usize * $crate::SIZE.1 as usize * 3];
        {
            let $r = plotters::prelude::BitMapBackend::with_buffer(&mut pixels, $crate::SIZE).into_drawing_area();
            $draw.map_err(|source| $crate::PlotError::Draw { path: png.clone(), source })?;
        }
        $crate::write_atomic(&png, &$crate::encode_png(pixels, &png)?)?;
        let svg = $dir.join(format!("{}.svg", $name));
        let mut text = String::new();
        {
            let $r = plotters::prelude::SVGBackend::with_string(&mut text, $crate::SIZE).into_drawing_area();
            $draw.map_err(|source| $crate::PlotError::Draw { path: svg.clone(), source })?;
        }
        $crate::write_atomic(&svg, text.as_bytes())?;
        $out.push(png);
        $out.push(svg);
    }};
}
