//! Reading a spec file and reporting its diagnostics: the part every command shares.
//!
//! Diagnostics go to standard error as miette renders them: `file:line:col`, the source
//! line, an underline and a help line; in colour only when standard error is a terminal
//! (and `NO_COLOR` is unset).

use std::fmt::Write as _;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::{env, fs};

use miette::{GraphicalReportHandler, GraphicalTheme};
use mlp_spec::ir::Spec;
use mlp_spec::Diagnostics;

use crate::error::CliError;

/// Line width of rendered diagnostics, as in the library's plain rendering.
const WIDTH: usize = 80;

/// A spec file's path, as the user wrote it, and its text.
#[derive(Debug)]
pub struct SpecFile {
    /// The path as given on the command line (diagnostics name the file this way).
    pub path: PathBuf,
    /// The whole file.
    pub source: String,
}

impl SpecFile {
    /// Reads the file at `path`.
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] if it cannot be read, [`CliError::NotText`] if it is not UTF-8.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let bytes = fs::read(path).map_err(|error| CliError::io("read", path, error))?;
        let source = String::from_utf8(bytes).map_err(|_| CliError::NotText {
            path: path.to_owned(),
        })?;
        Ok(SpecFile {
            path: path.to_owned(),
            source,
        })
    }

    /// Compiles the spec, printing its diagnostics if there are any.
    ///
    /// # Errors
    ///
    /// [`CliError::Spec`] (after the diagnostics are printed) if the spec has mistakes.
    pub fn compile(&self) -> Result<Spec, CliError> {
        mlp_spec::compile(&self.source).map_err(|diagnostics| self.report(&diagnostics))
    }

    /// The spec in canonical layout, printing its diagnostics if it does not parse.
    ///
    /// # Errors
    ///
    /// [`CliError::Spec`] (after the diagnostics are printed) if the spec cannot be read.
    pub fn format(&self) -> Result<String, CliError> {
        mlp_spec::format_source(&self.source).map_err(|diagnostics| self.report(&diagnostics))
    }

    /// Prints `diagnostics` on standard error and returns the error that counts them.
    fn report(&self, diagnostics: &Diagnostics) -> CliError {
        let name = self.path.display().to_string();
        eprint!("{}", render(diagnostics, &name, &self.source));
        CliError::Spec {
            path: self.path.clone(),
            count: diagnostics.len(),
        }
    }
}

/// Renders `diagnostics` with miette's graphical handler, each followed by a blank line,
/// then a count line; in colour only when standard error is a terminal and `NO_COLOR`
/// is not set (<https://no-color.org>).
fn render(diagnostics: &Diagnostics, name: &str, source: &str) -> String {
    let no_color = env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let theme = if io::stderr().is_terminal() && !no_color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(WIDTH)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let sourced = diagnostic.with_source(name, source);
        if handler.render_report(&mut out, &sourced).is_err() {
            // Only a failing `Display` makes rendering into a `String` fail: fall back
            // to the library's plain form rather than lose the message.
            out.push_str(&diagnostic.render(name, source));
        }
        out.push('\n');
    }
    let count = diagnostics.len();
    let s = if count == 1 { "" } else { "s" };
    let _ = writeln!(out, "{name}: {count} error{s}");
    out
}
