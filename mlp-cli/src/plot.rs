//! Line charts of a metric per epoch, drawn as PNG with plotters: a title, axis labels,
//! one coloured line (with dots) per series and a legend, as the notebook's
//! `plt.plot(np.arange(1, 11), history.history['val_loss'], color=…, label=…)` does.
//!
//! Text is rendered in pure Rust (`ab_glyph`) with the font file [`font_file`] names,
//! registered once per process. A missing font is an error naming the file, never a
//! panic; callers draw plots last, after every other result is saved.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::OutputError;
use mlp_runtime::fs::{write_atomic_by_path, WriteError};

/// The font plots use unless `$MLP_FONT` names another.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Width and height of every plot, in pixels (the notebook's 5 × 3 inch figures at 160 dpi).
pub const SIZE: (u32, u32) = (800, 480);

/// The family name the font is registered under (plotters' default sans-serif).
const FAMILY: &str = "sans-serif";

/// Matplotlib's named colours the notebook uses, and its default cycle for more lines.
pub mod colors {
    /// `'red'`.
    pub const RED: (u8, u8, u8) = (255, 0, 0);
    /// `'blue'`.
    pub const BLUE: (u8, u8, u8) = (0, 0, 255);
    /// `'green'` (matplotlib's is half-bright).
    pub const GREEN: (u8, u8, u8) = (0, 128, 0);
    /// Matplotlib's `tab10` cycle, for charts with any number of lines.
    pub const CYCLE: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
}

/// One line of a chart: a value per epoch (epoch 1 first).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Its legend entry.
    pub label: String,
    /// Its colour as RGB.
    pub color: (u8, u8, u8),
    /// The values, one per epoch.
    pub values: Vec<f32>,
}

/// A chart of some series against the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Drawn above the plot.
    pub title: String,
    /// Under the horizontal axis (`epoch`).
    pub x_label: String,
    /// Beside the vertical axis (`val_loss`).
    pub y_label: String,
    /// The lines, drawn and listed in the legend in this order.
    pub series: Vec<Series>,
}

/// The font file to use: `$MLP_FONT` if set and non-empty, else [`DEFAULT_FONT`].
#[must_use]
pub fn font_file() -> PathBuf {
    match std::env::var_os("MLP_FONT") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => PathBuf::from(DEFAULT_FONT),
    }
}

/// Draws `chart` into the PNG file `path` ([`SIZE`] pixels), atomically, with the font of
/// [`font_file`].
///
/// # Errors
///
/// [`OutputError::Font`] / [`OutputError::BadFont`] naming the font file if it cannot be
/// read or used; [`OutputError::Plot`] if drawing fails; [`OutputError::Write`] if the
/// file cannot be written (a full disk while the PNG is encoded into it included).
pub fn draw(path: &Path, chart: &Chart) -> Result<(), OutputError> {
    draw_with_font(path, chart, &font_file())
}

/// [`draw`] with the font read from `font`.
///
/// # Errors
///
/// As [`draw`].
pub fn draw_with_font(path: &Path, chart: &Chart, font: &Path) -> Result<(), OutputError> {
    register_font(font, path)?;
    write_atomic_by_path(path, "png", |temp| render(temp, chart)).map_err(|failure| match failure {
        Failure::Write(error) => OutputError::from(error),
        Failure::Save(source) => OutputError::Write {
            path: path.to_owned(),
            source,
        },
        Failure::Draw(message) => OutputError::Plot {
            path: path.to_owned(),
            message,
        },
    })
}

/// The font file registered so far, if any (plotters keeps fonts in a global table).
static REGISTERED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Registers the font in `font` as the sans-serif family, unless it already is.
fn register_font(font: &Path, plot: &Path) -> Result<(), OutputError> {
    let mut registered = REGISTERED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if registered.as_deref() == Some(font) {
        return Ok(());
    }
    let bytes = fs::read(font).map_err(|source| OutputError::Font {
        plot: plot.to_owned(),
        font: font.to_owned(),
        source,
    })?;
    // plotters keeps `&'static` font data; each distinct font file is leaked once.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).map_err(|_| {
        OutputError::BadFont {
            plot: plot.to_owned(),
            font: font.to_owned(),
        }
    })?;
    *registered = Some(font.to_owned());
    Ok(())
}

/// What went wrong while rendering into the temporary file.
#[derive(Debug)]
enum Failure {
    /// A step of the atomic writer.
    Write(WriteError),
    /// Encoding the PNG into the temporary file.
    Save(io::Error),
    /// Drawing the chart.
    Draw(String),
}

impl From<WriteError> for Failure {
    fn from(error: WriteError) -> Self {
        Failure::Write(error)
    }
}

fn draw_error(error: impl std::fmt::Display) -> Failure {
    Failure::Draw(error.to_string())
}

/// A failure of the step that encodes the finished bitmap into the temporary PNG file
/// (plotters' `present`). Every failure of that step is one of writing the file (the pixel
/// buffer is the backend's own and the format is PNG), so it is a write error; plotters'
/// error types there are not public, so the I/O error is recovered from the message: the
/// OS error std prints as `(os error N)`, else the whole message.
fn save_error(error: impl std::fmt::Display) -> Failure {
    let message = error.to_string();
    let code = message
        .split("(os error ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|code| code.parse::<i32>().ok());
    Failure::Save(code.map_or_else(|| io::Error::other(message), io::Error::from_raw_os_error))
}

/// The vertical range: the finite values' extent with 5 % room on each side.
fn y_range(chart: &Chart) -> (f64, f64) {
    let finite = chart
        .series
        .iter()
        .flat_map(|series| &series.values)
        .map(|&v| f64::from(v))
        .filter(|v| v.is_finite());
    let (low, high) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if low > high {
        return (0.0, 1.0);
    }
    let room = if high > low {
        (high - low) * 0.05
    } else {
        low.abs().max(1.0) * 0.05
    };
    (low - room, high + room)
}

/// Renders `chart` into the PNG file `temp`.
fn render(temp: &Path, chart: &Chart) -> Result<(), Failure> {
    let epochs = chart
        .series
        .iter()
        .map(|series| series.values.len())
        .max()
        .unwrap_or(0) as i32;
    let (y_low, y_high) = y_range(chart);
    let root = BitMapBackend::new(temp, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let mut plot = ChartBuilder::on(&root)
        .caption(&chart.title, (FAMILY, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0..epochs + 1, y_low..y_high)
        .map_err(draw_error)?;
    // Integer epochs on the x axis; the padding slots 0 and epochs + 1 stay unlabelled.
    let x_label = |x: &i32| {
        if (1..=epochs).contains(x) {
            x.to_string()
        } else {
            String::new()
        }
    };
    // Enough decimals to tell plotters' ticks (up to about a dozen) apart, at most four.
    let step = (y_high - y_low) / 12.0;
    let decimals = (-step.log10()).ceil().clamp(0.0, 4.0) as usize;
    let y_label = move |y: &f64| format!("{y:.decimals$}");
    plot.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels((epochs + 2) as usize)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(draw_error)?;
    for series in &chart.series {
        let (r, g, b) = series.color;
        let color = RGBColor(r, g, b);
        let points = series
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as i32 + 1, f64::from(v)));
        plot.draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(3))
            .map_err(draw_error)?
            .label(series.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
    }
    plot.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FAMILY, 16))
        .draw()
        .map_err(draw_error)?;
    root.present().map_err(save_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            title: "A title".to_owned(),
            x_label: "epoch".to_owned(),
            y_label: "val_loss".to_owned(),
            series: vec![
                Series {
                    label: "No Setting".to_owned(),
                    color: colors::RED,
                    values: vec![0.7, 0.4, 0.3],
                },
                Series {
                    label: "He init".to_owned(),
                    color: colors::BLUE,
                    values: vec![0.6, 0.35, f32::NAN],
                },
            ],
        }
    }

    /// Width and height from a PNG's IHDR chunk, after checking the signature.
    fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
        let signature = b"\x89PNG\r\n\x1a\n";
        if bytes.len() < 24 || &bytes[..8] != signature || &bytes[12..16] != b"IHDR" {
            return None;
        }
        let be = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Some((be(16), be(20)))
    }

    #[test]
    fn draws_a_png_of_the_stated_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chart.png");
        draw_with_font(&path, &chart(), Path::new(DEFAULT_FONT)).expect("drawn");
        let bytes = fs::read(&path).expect("written");
        assert_eq!(png_size(&bytes), Some(SIZE));
        assert!(bytes.len() > 5_000, "only {} bytes", bytes.len());
    }

    #[test]
    fn a_missing_font_is_an_error_naming_it_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("chart.png");
        let font = dir.path().join("NoSuchFont.ttf");
        let error = draw_with_font(&path, &chart(), &font).expect_err("no font");
        assert!(matches!(error, OutputError::Font { .. }));
        assert!(error.to_string().contains("NoSuchFont.ttf"), "{error}");
        assert_eq!(fs::read_dir(dir.path()).expect("listing").count(), 0);
    }

    #[test]
    fn a_file_that_is_not_a_font_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let font = dir.path().join("fake.ttf");
        fs::write(&font, b"not a font").expect("written");
        let path = dir.path().join("chart.png");
        let error = draw_with_font(&path, &chart(), &font).expect_err("bad font");
        assert!(matches!(error, OutputError::BadFont { .. }), "{error}");
        assert!(!path.exists());
    }

    #[test]
    fn a_failed_png_save_is_a_write_error_with_the_os_error() {
        // What plotters reports when the disk fills up while the PNG is written.
        let message = "backend error: Drawing backend error: ImageError(IoError(Custom { kind: \
                       Other, error: \"No space left on device (os error 28)\" }))";
        let Failure::Save(error) = save_error(message) else {
            panic!("not a write failure");
        };
        assert_eq!(error.raw_os_error(), Some(28));
        let Failure::Save(error) = save_error("InvalidBuffer") else {
            panic!("not a write failure");
        };
        assert_eq!(error.to_string(), "InvalidBuffer");
    }

    #[test]
    fn y_range_pads_the_finite_values() {
        let (low, high) = y_range(&chart());
        assert!((low - (0.3 - 0.02)).abs() < 1e-6 && (high - (0.7 + 0.02)).abs() < 1e-6);
        let empty = Chart {
            series: vec![],
            ..chart()
        };
        assert_eq!(y_range(&empty), (0.0, 1.0));
    }
}
