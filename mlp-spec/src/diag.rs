//! Diagnostics as data, a collector for them, and their rendering.
//!
//! A [`Diagnostic`] is a stable code, a message, a byte span into the source, optional
//! secondary labels and an optional help line. Passes push them into a `Ctxt` and carry
//! on, so one run reports every mistake of a file; the driver stops only between passes
//! (`serde_derive`'s `Ctxt`). Rendering goes through miette: [`Diagnostics::render`] is the
//! plain form (no colour, 80 columns, `file:line:col`, the source line, an underline and
//! the help), [`Diagnostic::to_report`] gives a `miette::Report` for coloured terminals.

use std::fmt;
use std::fmt::Write as _;
use std::ops::Range;

use miette::{LabeledSpan, NamedSource, SourceSpan};

/// The stable diagnostic codes. A code never changes meaning; new mistakes get new codes.
pub mod code {
    /// The file is larger than [`crate::MAX_SOURCE_LEN`].
    pub const FILE_TOO_LARGE: &str = "E0001";
    /// Brackets nest deeper than [`crate::MAX_NESTING`].
    pub const NESTING_TOO_DEEP: &str = "E0002";
    /// The text does not follow the grammar.
    pub const SYNTAX: &str = "E0100";
    /// A number literal that does not fit.
    pub const BAD_NUMBER: &str = "E0101";
    /// A `///` doc comment that does not precede a `model`.
    pub const STRAY_DOC_COMMENT: &str = "E0102";
    /// A name that is neither a `let` nor known where it is used.
    pub const UNDEFINED_NAME: &str = "E0200";
    /// A `let` that is never used.
    pub const UNUSED_LET: &str = "E0201";
    /// Two `let`s with the same name.
    pub const DUPLICATE_LET: &str = "E0202";
    /// A `let` named like a built-in (`let relu = …`).
    pub const LET_SHADOWS_BUILTIN: &str = "E0203";
    /// A `let` that refers to itself or to a later `let`.
    pub const LET_ORDER: &str = "E0204";
    /// Unknown layer type.
    pub const UNKNOWN_LAYER: &str = "E0300";
    /// Unknown argument name.
    pub const UNKNOWN_ARGUMENT: &str = "E0301";
    /// A required argument is missing.
    pub const MISSING_ARGUMENT: &str = "E0302";
    /// The same argument given twice.
    pub const DUPLICATE_ARGUMENT: &str = "E0303";
    /// A value of the wrong type.
    pub const WRONG_TYPE: &str = "E0304";
    /// More positional arguments than parameters, or positional after named.
    pub const TOO_MANY_ARGUMENTS: &str = "E0305";
    /// Unknown initialiser.
    pub const UNKNOWN_INITIALIZER: &str = "E0306";
    /// Unknown regulariser.
    pub const UNKNOWN_REGULARIZER: &str = "E0307";
    /// Unknown optimiser.
    pub const UNKNOWN_OPTIMIZER: &str = "E0308";
    /// Unknown loss.
    pub const UNKNOWN_LOSS: &str = "E0309";
    /// Unknown metric.
    pub const UNKNOWN_METRIC: &str = "E0310";
    /// Unknown activation.
    pub const UNKNOWN_ACTIVATION: &str = "E0311";
    /// Unknown `train` setting.
    pub const UNKNOWN_SETTING: &str = "E0312";
    /// The same `train` setting twice.
    pub const DUPLICATE_SETTING: &str = "E0313";
    /// Two `input` declarations or two `train` blocks in one model.
    pub const DUPLICATE_SECTION: &str = "E0314";
    /// The same metric twice in `metrics` (two metrics Keras would report under one name).
    pub const DUPLICATE_METRIC: &str = "E0315";
    /// A hyper-parameter outside its valid range.
    pub const OUT_OF_RANGE: &str = "E0400";
    /// A constant expression that divides by zero (`1 / 0`).
    pub const DIVISION_BY_ZERO: &str = "E0401";
    /// A model without `input`.
    pub const NO_INPUT: &str = "E0500";
    /// A model without layers.
    pub const NO_LAYERS: &str = "E0501";
    /// A layer that cannot take its input's shape (`Dense` after `input [28, 28]`).
    pub const SHAPE_MISMATCH: &str = "E0502";
    /// A loss that does not fit the model's output.
    pub const LOSS_MISMATCH: &str = "E0503";
    /// Two models with the same name.
    pub const DUPLICATE_MODEL: &str = "E0504";
    /// A model with more parameters than [`crate::MAX_PARAMS`].
    pub const MODEL_TOO_LARGE: &str = "E0505";
    /// A file that defines no model.
    pub const NO_MODEL: &str = "E0506";
    /// A layer where it cannot go (a `Normalization` after a layer other than `Flatten`
    /// or `Rescale`).
    pub const MISPLACED_LAYER: &str = "E0507";
    /// A metric that does not fit the loss's targets or the model's output
    /// (`sparse_categorical_accuracy` on one output unit).
    pub const METRIC_MISMATCH: &str = "E0508";
    /// Unknown learning-rate schedule.
    pub const UNKNOWN_SCHEDULE: &str = "E0316";
    /// Unknown callback.
    pub const UNKNOWN_CALLBACK: &str = "E0317";
    /// Two options that exclude each other (`clipnorm` and `clipvalue`).
    pub const CONFLICTING_OPTIONS: &str = "E0318";
    /// A callback watching a quantity the model does not log (`monitor = val_acuracy`).
    pub const UNKNOWN_MONITOR: &str = "E0509";
    /// Lists that must have matching lengths do not (`piecewise_constant` boundaries and
    /// values).
    pub const LENGTH_MISMATCH: &str = "E0510";
}

/// A secondary underline with a short text (`first defined here`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Byte range into the source.
    pub span: Range<usize>,
    /// Text shown under the underline.
    pub text: String,
}

/// One mistake in a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable code, `E0101`; see [`code`].
    pub code: &'static str,
    /// What is wrong, one line, lower case, no final full stop.
    pub message: String,
    /// Byte range into the source of the offending text (may be empty at end of file).
    pub span: Range<usize>,
    /// Underlines with text; a label whose span equals `span` annotates the primary one.
    pub labels: Vec<Label>,
    /// How to fix it, when we can say ("did you mean `he_normal`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with no labels and no help.
    #[must_use]
    pub fn new(code: &'static str, message: impl Into<String>, span: Range<usize>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds a text under the primary span.
    #[must_use]
    pub fn with_label(mut self, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span: self.span.clone(),
            text: text.into(),
        });
        self
    }

    /// Adds a secondary underline.
    #[must_use]
    pub fn with_secondary(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line if there is one.
    #[must_use]
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }

    /// 1-based line and column (in characters) of the start of the span in `source`.
    #[must_use]
    pub fn line_col(&self, source: &str) -> (usize, usize) {
        line_col(source, self.span.start)
    }

    /// The plain rendering: no colour, at most 80 columns, `file:line:col`, the source
    /// line(s), an underline (`^` for the primary span, `-` for labels elsewhere) and the
    /// help line:
    ///
    /// ```text
    /// error[E0306]: unknown initialiser `he_norml`
    ///  --> net.mlp:3:22
    ///   |
    /// 3 |     Dense(64, init = he_norml)
    ///   |                      ^^^^^^^^ not a known initialiser or `let` name
    ///   |
    ///   = help: did you mean `he_normal`?
    /// ```
    #[must_use]
    pub fn render(&self, file_name: &str, source: &str) -> String {
        crate::render::render(self, file_name, source)
    }

    /// This diagnostic together with its source, as a `miette::Diagnostic`.
    #[must_use]
    pub fn with_source(&self, file_name: &str, source: &str) -> SourcedDiagnostic {
        SourcedDiagnostic {
            diagnostic: self.clone(),
            source: NamedSource::new(file_name, source.to_owned()),
        }
    }

    /// A `miette::Report` (for coloured terminal output through miette's hook).
    #[must_use]
    pub fn to_report(&self, file_name: &str, source: &str) -> miette::Report {
        miette::Report::new(self.with_source(file_name, source))
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// 1-based line and column (in characters) of byte `offset` in `source`.
#[must_use]
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// A [`Diagnostic`] bundled with its named source text; implements `miette::Diagnostic`.
#[derive(Debug)]
pub struct SourcedDiagnostic {
    diagnostic: Diagnostic,
    source: NamedSource<String>,
}

impl fmt::Display for SourcedDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for SourcedDiagnostic {}

impl miette::Diagnostic for SourcedDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = &self.diagnostic;
        let len = self.source.inner().len();
        let clamp = |r: &Range<usize>| -> SourceSpan {
            let start = r.start.min(len);
            let end = r.end.clamp(start, len);
            (start, end - start).into()
        };
        let mut labels = Vec::with_capacity(d.labels.len() + 1);
        let primary_text = d
            .labels
            .iter()
            .find(|l| l.span == d.span)
            .map(|l| l.text.clone());
        labels.push(LabeledSpan::new_primary_with_span(
            primary_text,
            clamp(&d.span),
        ));
        for label in d.labels.iter().filter(|l| l.span != d.span) {
            labels.push(LabeledSpan::new_with_span(
                Some(label.text.clone()),
                clamp(&label.span),
            ));
        }
        Some(Box::new(labels.into_iter()))
    }
}

/// Every diagnostic of one file, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Wraps a list, sorting it by position and dropping exact duplicates (a `let` used
    /// twice must not report its own mistake twice).
    #[must_use]
    pub fn new(mut list: Vec<Diagnostic>) -> Self {
        list.sort_by_key(|d| (d.span.start, d.span.end));
        let mut unique: Vec<Diagnostic> = Vec::with_capacity(list.len());
        for d in list {
            if !unique.contains(&d) {
                unique.push(d);
            }
        }
        Diagnostics { list: unique }
    }

    /// The diagnostics, in source order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.list.iter()
    }

    /// How many there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The plain rendering of every diagnostic (see [`Diagnostic::render`]), separated by
    /// blank lines, followed by a count line.
    #[must_use]
    pub fn render(&self, file_name: &str, source: &str) -> String {
        let mut out = String::new();
        for d in &self.list {
            out.push_str(&d.render(file_name, source));
            out.push('\n');
        }
        let n = self.list.len();
        let _ = writeln!(
            out,
            "{file_name}: {n} error{}",
            if n == 1 { "" } else { "s" }
        );
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.list.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d} (at bytes {}..{})", d.span.start, d.span.end)?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

/// The collector passes push into. Passes never stop at the first mistake; the driver
/// calls [`Ctxt::checkpoint`] between passes.
#[derive(Debug, Default)]
pub(crate) struct Ctxt {
    list: Vec<Diagnostic>,
}

impl Ctxt {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.list.push(d);
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether a diagnostic already starts where `span` starts.
    pub(crate) fn has_at(&self, span: &Range<usize>) -> bool {
        self.list.iter().any(|d| d.span.start == span.start)
    }

    /// Whether anything other than the given codes was reported.
    pub(crate) fn has_other_than(&self, codes: &[&str]) -> bool {
        self.list.iter().any(|d| !codes.contains(&d.code))
    }

    /// `Err` with everything collected so far if anything was; used between passes.
    pub(crate) fn checkpoint(&mut self) -> Result<(), Diagnostics> {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics::new(std::mem::take(&mut self.list)))
        }
    }
}

/// "did you mean `x`?" for the candidate closest to `word`, if one is close enough: an
/// edit distance of at most a third of the word's length (at least 1), or the same word
/// in another case (`dense` -> `Dense`).
#[must_use]
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        let d = if cand.to_ascii_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &cand.to_ascii_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, cand));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Damerau–Levenshtein distance (optimal string alignment) over chars: insertions,
/// deletions, substitutions and swaps of neighbours each cost 1.
#[must_use]
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_each_kind_of_edit_once() {
        assert_eq!(edit_distance("he_norml", "he_normal"), 1);
        assert_eq!(edit_distance("desne", "dense"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions_pick_the_closest_candidate_or_none() {
        let c = ["Dense", "Dropout", "Flatten"];
        assert_eq!(
            did_you_mean("Desne", c).as_deref(),
            Some("did you mean `Dense`?")
        );
        assert_eq!(
            did_you_mean("dense", c).as_deref(),
            Some("did you mean `Dense`?")
        );
        assert_eq!(did_you_mean("Conv2D", c), None);
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let src = "ab\nçd\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 1));
        assert_eq!(line_col(src, 5), (2, 2));
        assert_eq!(line_col(src, 100), (3, 1));
    }
}
