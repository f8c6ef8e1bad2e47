//! `mlp check FILE…`: report every mistake in every file.
//!
//! Prints nothing when all files are clean; otherwise each file's diagnostics, and exits
//! with the worst code (1 for spec errors, 2 when a file cannot be read).

use std::path::{Path, PathBuf};

use crate::error::{CliError, Failures};
use crate::spec_file::SpecFile;

/// Checks every file in `files`, reporting the problems of each.
///
/// # Errors
///
/// The failure of the single file, or a count of the failed files.
pub fn run(files: &[PathBuf]) -> Result<(), CliError> {
    let mut failures = Failures::new(files.len(), "failed the check");
    for path in files {
        failures.record(check_file(path));
    }
    failures.finish()
}

fn check_file(path: &Path) -> Result<(), CliError> {
    SpecFile::read(path)?.compile().map(drop)
}
