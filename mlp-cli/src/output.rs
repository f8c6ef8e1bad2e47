//! Writing results to standard output.

use std::io::{self, Write};

use crate::error::CliError;

/// Writes `text` to standard output. A reader that goes away early (`mlp summary … |
/// head`) is not an error.
///
/// # Errors
///
/// [`CliError::Stdout`] if standard output cannot be written for another reason.
pub fn print(text: &str) -> Result<(), CliError> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Stdout(error)),
        _ => Ok(()),
    }
}
