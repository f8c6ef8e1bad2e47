//! Library side of the `mlp` command: the pieces `mlp train`, `mlp compare` and the
//! notebook example (`examples/notebook.rs`) share.
//!
//! - [`progress`]: Keras-like progress (bars on a terminal, one line per epoch otherwise).
//! - [`jobs`]: trains several models at once, one thread per job slot.
//! - [`history`]: a `History` as JSON or CSV; [`results`]: the `results.md` table;
//!   [`plot`]: line charts of a metric per epoch as PNG.
//! - [`notebook`]: the whole notebook run (the example is a thin `main` over it).
//! - [`handwritten`]: the notebook's kind of model written by hand with `ndarray`, the
//!   baseline `mlp bench` and the workspace's benches compare with.
//!
//! Every file is written atomically by [`mlp_runtime::fs`]: a temporary file in the
//! target's folder, renamed over the target once complete, so a failure never leaves a
//! partial file.

#![forbid(unsafe_code)]

pub mod handwritten;
pub mod history;
pub mod jobs;
pub mod notebook;
pub mod plot;
pub mod progress;
pub mod results;

use std::io;
use std::path::PathBuf;

/// Parses a count that must be at least 1 (`--epochs`, `--batch`, `--jobs`), for clap's
/// `value_parser`.
///
/// # Errors
///
/// A message for clap when `text` is not a whole number of at least 1.
pub fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

/// Parses a byte size for `--max-memory`: a whole number of bytes, or one followed by
/// `K`, `M`, `G` or `T` (binary: 1024, 1024², …; `KiB`, `MB`, `GB`… read the same).
///
/// # Errors
/// A message when `text` is not such a size, is 0, or overflows 64 bits.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 512M, 4G)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use K, M, G or T)"
            ))
        }
    };
    match n.checked_mul(1 << shift) {
        Some(0) => Err("must be more than 0 bytes".to_owned()),
        Some(bytes) => Ok(bytes),
        None => Err(format!("`{text}` is too large")),
    }
}

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The file (or its temporary sibling) could not be written or renamed.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A history file name has no `.json` or `.csv` extension.
    #[error("cannot tell the format of `{}`: name the history file `*.json` or `*.csv`", path.display())]
    HistoryFormat {
        /// The file.
        path: PathBuf,
    },
    /// The font that plots are labelled with could not be read.
    #[error(
        "cannot draw `{}`: cannot read the font file `{}` ({source}); install DejaVu Sans \
         (Debian/Ubuntu: `apt-get install fonts-dejavu-core`)",
        plot.display(),
        font.display()
    )]
    Font {
        /// The plot that was to be drawn.
        plot: PathBuf,
        /// The font file.
        font: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The font file is not a font plotters can use.
    #[error("cannot draw `{}`: `{}` is not a usable TrueType font", plot.display(), font.display())]
    BadFont {
        /// The plot that was to be drawn.
        plot: PathBuf,
        /// The font file.
        font: PathBuf,
    },
    /// Drawing or encoding the plot failed.
    #[error("cannot draw `{}`: {message}", path.display())]
    Plot {
        /// The plot.
        path: PathBuf,
        /// What plotters reported.
        message: String,
    },
}

impl From<mlp_runtime::fs::WriteError> for OutputError {
    fn from(error: mlp_runtime::fs::WriteError) -> Self {
        OutputError::Write {
            path: error.path,
            source: error.source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("2 gb"), Ok(2 << 30));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("4X").is_err());
        assert!(parse_bytes("G").is_err());
        assert!(parse_bytes("99999999999T").is_err());
    }
}
