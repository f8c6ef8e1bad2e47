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
