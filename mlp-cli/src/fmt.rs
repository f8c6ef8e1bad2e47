//! `mlp fmt FILE… [--check]`: rewrite specs in the canonical layout.
//!
//! A file is replaced atomically ([`mlp_runtime::fs`]): the new text goes to a temporary
//! file in the same directory, which is then renamed over the original (keeping its
//! permissions), so an interrupted run never leaves a half-written spec. Files already formatted are not
//! touched. With `--check` nothing is written; each file that would change is named.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Failures};
use crate::spec_file::SpecFile;

/// Formats every file in `files` in place, or with `check` only reports those that
/// would change.
///
/// # Errors
///
/// The failure of the single file, or a count of the failed files: spec errors and
/// files that would be reformatted (exit 1), I/O errors (exit 2).
pub fn run(files: &[PathBuf], check: bool) -> Result<(), CliError> {
    let outcome = if check {
        "failed the format check"
    } else {
        "could not be formatted"
    };
    let mut failures = Failures::new(files.len(), outcome);
    for path in files {
        failures.record(format_file(path, check));
    }
    failures.finish()
}

fn format_file(path: &Path, check: bool) -> Result<(), CliError> {
    let file = SpecFile::read(path)?;
    let formatted = file.format()?;
    if formatted == file.source {
        Ok(())
    } else if check {
        Err(CliError::WouldReformat {
            path: path.to_owned(),
        })
    } else {
        write_atomically(path, &formatted)
    }
}

/// Replaces the file at `path` (or, through a symbolic link, the file it points to) by
/// `text`, atomically and keeping its permissions ([`mlp_runtime::fs`]).
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    mlp_runtime::fs::write_atomic(path, text.as_bytes())
        .map_err(|error| CliError::io("write", path, error.source))
}
