//! The `.mlp` language: text -> AST (with spans) -> checks -> IR.
//!
//! [`compile`] runs these passes in this order; each leaves an invariant the next relies
//! on. Diagnostics are collected, not thrown: a pass reports every mistake it finds and
//! the driver stops only between passes, so one run shows all of a file's mistakes
//! without one mistake causing ten.
//!
//! 1. **limits + parse** (`parse`): the file is at most [`MAX_SOURCE_LEN`] bytes and
//!    brackets nest at most [`MAX_NESTING`] deep (checked before the recursive parser
//!    runs); then the pest grammar (`grammar.pest`) accepts the text. A syntax error is
//!    translated into words and stops the run. *Leaves:* a parse tree.
//! 2. **lower to AST** (`parse`): the tree becomes [`ast::File`], every node with its
//!    byte span; `///` lines attach to the `model` below them (elsewhere: an error).
//!    *Leaves:* what was written, nothing interpreted.
//! 3. **resolve `let` names** (`resolve`): each name that refers to an earlier `let` is
//!    replaced by its value; duplicate, unused, shadowing and out-of-order `let`s are
//!    reported. The run stops here on anything but unused `let`s (which cannot cascade).
//!    *Leaves:* models without `let` names.
//! 4. **check**: (a) `bind` matches each layer's, initialiser's, regulariser's,
//!    optimiser's, loss's, metric's and activation's arguments to its signature (`sig`)
//!    and types every value, evaluating constant expressions (`1 / 255`), reporting
//!    unknown names with "did you mean"; (b) `check` runs the semantic rules (ranges,
//!    shapes, where `Normalization` may go, the loss and the metrics against the output,
//!    duplicate models and metrics, missing `input`/layers), each a `check_<rule>`
//!    function. Both halves always run; erroneous values are
//!    marked so the rules skip them. The run stops here on any diagnostic.
//!    *Leaves:* everything `ir.rs` promises holds.
//! 5. **build IR** (`build`): Keras defaults filled in, layers named as Keras names them
//!    in a fresh model, shapes inferred, parameters counted. Cannot fail.
//!
//! [`format_source`] reuses passes 1-2 and prints the AST back in canonical layout.
//! Spans are byte ranges into the source string, which is all a caller (the `mlp!` macro)
//! needs to map a diagnostic back to its own tokens.

#![forbid(unsafe_code)]
// A `match` whose other arm reports a diagnostic reads better than `if let … else`.
#![allow(clippy::single_match_else)]

pub mod ast;
pub mod diag;
pub mod ir;
pub mod kw;
pub mod layout;
pub mod plan;
pub mod summary;

mod bind;
mod build;
mod callbacks;
mod check;
mod fmt;
mod lex;
mod optimizer;
mod parse;
mod render;
mod resolve;
mod sig;

pub use diag::{Diagnostic, Diagnostics, Label, SourcedDiagnostic};

/// Largest accepted source file, in bytes (1 MiB).
pub const MAX_SOURCE_LEN: usize = 1 << 20;
/// Deepest accepted nesting of `(`, `[` and `{`.
pub const MAX_NESTING: usize = 32;
/// Largest accepted extent: input axis, input sample size, `Dense` units (2^24).
pub const MAX_EXTENT: usize = 1 << 24;
/// Largest accepted parameter count of one model (2^32).
pub const MAX_PARAMS: u64 = 1 << 32;

/// Compiles spec text into its IR.
///
/// # Errors
///
/// Every mistake found, as [`Diagnostics`] (sorted by position; render them with
/// [`Diagnostics::render`]). Never panics, whatever the input.
pub fn compile(source: &str) -> Result<ir::Spec, Diagnostics> {
    let mut cx = diag::Ctxt::default();
    let file = parse::parse(&mut cx, source);
    cx.checkpoint()?;
    let Some(file) = file else {
        return Err(Diagnostics::default());
    };
    let (models, lets) = resolve::resolve(&mut cx, &file);
    if cx.has_other_than(&[diag::code::UNUSED_LET]) {
        cx.checkpoint()?;
    }
    let bound = bind::bind(&mut cx, &models, &lets);
    check::check(&mut cx, &bound);
    cx.checkpoint()?;
    Ok(build::build(source, &bound))
}

/// Parses spec text into its AST (passes 1-2), without resolving or checking anything.
///
/// # Errors
///
/// The syntax error, a limit exceeded, or misplaced doc comments.
pub fn parse(source: &str) -> Result<ast::File, Diagnostics> {
    let mut cx = diag::Ctxt::default();
    let file = parse::parse(&mut cx, source);
    cx.checkpoint()?;
    file.ok_or_default()
}

/// The canonical layout of a spec, for `mlp fmt`: four-space indents, one item per line,
/// `name = value` with single spaces, one blank line between top-level items and before
/// `train`. Comments and doc comments survive; numbers are kept exactly as written, and
/// constant expressions with their parentheses as written and one space around each
/// binary operator (`1 / 255`); formatting a formatted text changes nothing. The text need only be syntactically valid.
///
/// # Errors
///
/// The same as [`parse`].
pub fn format_source(source: &str) -> Result<String, Diagnostics> {
    let file = parse(source)?;
    Ok(fmt::format(source, &file))
}

trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, Diagnostics>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, Diagnostics> {
        self.ok_or_else(Diagnostics::default)
    }
}
