//! `mlp fmt FILE… [--check]`: rewrite specs in the canonical layout.
//!
//! A file is replaced atomically: the new text goes to a temporary file in the same
//! directory, which is then renamed over the original (keeping its permissions), so an
//! interrupted run never leaves a half-written spec. Files already formatted are not
//! touched. With `--check` nothing is written; each file that would change is named.

use std::fs;
use std::io::Write;
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
/// `text`, via a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let failed = |error| CliError::io("write", path, error);
    let target = fs::canonicalize(path).map_err(failed)?;
    let directory = target.parent().unwrap_or(Path::new("."));
    let permissions = fs::metadata(&target).map_err(failed)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(".mlp-fmt-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(failed)?;
    temp.write_all(text.as_bytes()).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    fs::set_permissions(temp.path(), permissions).map_err(failed)?;
    temp.persist(&target).map_err(|error| failed(error.error))?;
    Ok(())
}
