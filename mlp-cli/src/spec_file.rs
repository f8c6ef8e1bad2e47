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

    /// This spec with `settings` (`KEY = VALUE`, the `train` block's syntax: `epochs = 5`,
    /// `callbacks = [early_stopping(patience = 2)]`) written into the `train` block of
    /// the model called `model` (every model when `None`): a setting already there is
    /// replaced, a new one added, a missing block created. The result is compiled like
    /// the file, so every value is checked as if written in it (diagnostics show the
    /// edited line).
    ///
    /// # Errors
    ///
    /// [`CliError::Usage`] for a setting that is not `KEY = VALUE`; the file's
    /// diagnostics if it does not parse.
    pub fn with_settings(self, settings: &[String], model: Option<&str>) -> Result<Self, CliError> {
        if settings.is_empty() {
            return Ok(self);
        }
        let mut parsed = Vec::new();
        for s in settings {
            let (key, value) = s.split_once('=').ok_or_else(|| {
                CliError::Usage(format!(
                    "--set `{s}`: write a `train` setting as `KEY = VALUE` (`--set 'epochs = 5'`)"
                ))
            })?;
            let key = key.trim();
            let ident = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident || value.trim().is_empty() {
                return Err(CliError::Usage(format!(
                    "--set `{s}`: write a `train` setting as `KEY = VALUE` (`--set 'epochs = 5'`)"
                )));
            }
            parsed.push((key.to_owned(), value.trim().to_owned()));
        }
        let file = mlp_spec::parse(&self.source).map_err(|d| self.report(&d))?;
        // (byte offset, bytes replaced, text), applied from the end.
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        let models = file.items.iter().filter_map(|i| match i {
            mlp_spec::ast::Item::Model(m) => Some(m),
            mlp_spec::ast::Item::Let(_) => None,
        });
        for m in models.filter(|m| model.is_none_or(|n| m.name.name == n)) {
            let train = m.items.iter().find_map(|i| match i {
                mlp_spec::ast::ModelItem::Train(t) => Some(t),
                _ => None,
            });
            let mut added = String::new();
            for (key, value) in &parsed {
                let line = format!("{key} = {value}");
                match train.and_then(|t| t.entries.iter().find(|e| e.key.name == *key)) {
                    Some(e) => edits.push((e.span.start, e.span.end - e.span.start, line)),
                    None => {
                        added.push_str("\n        ");
                        added.push_str(&line);
                    }
                }
            }
            if !added.is_empty() {
                match train {
                    Some(t) => edits.push((t.close.start, 0, format!("{added}\n    "))),
                    None => {
                        edits.push((m.close.start, 0, format!("\n    train {{{added}\n    }}\n")))
                    }
                }
            }
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut source = self.source;
        for (at, len, text) in edits {
            source.replace_range(at..at + len, &text);
        }
        Ok(SpecFile {
            path: self.path,
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
