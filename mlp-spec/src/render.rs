//! The plain, colourless, 80-column rendering of a [`Diagnostic`], in rustc's layout.
//!
//! Deterministic (snapshot tests pin it): no terminal queries, no colour, tabs shown as
//! one space, lines longer than the width cropped around their underlines with `…`.

use std::fmt::Write as _;
use std::ops::Range;

use crate::diag::{line_col, Diagnostic};

/// Total width of the rendering.
const WIDTH: usize = 80;

/// One underline to draw.
struct Mark {
    line: usize,
    /// Character columns, 0-based, end exclusive (at least one wide).
    cols: Range<usize>,
    primary: bool,
    text: String,
}

pub(crate) fn render(d: &Diagnostic, file_name: &str, source: &str) -> String {
    let lines: Vec<&str> = source.split('\n').collect();
    let mut marks = vec![mark(source, &d.span, true, primary_text(d))];
    for l in d.labels.iter().filter(|l| l.span != d.span) {
        marks.push(mark(source, &l.span, false, l.text.clone()));
    }
    let mut shown: Vec<usize> = marks.iter().map(|m| m.line).collect();
    shown.sort_unstable();
    shown.dedup();
    let gutter = shown.last().map_or(1, |l| l.to_string().len());
    let pad = " ".repeat(gutter);
    let (line, col) = line_col(source, d.span.start);

    let mut out = String::new();
    let _ = writeln!(out, "error[{}]: {}", d.code, d.message);
    let _ = writeln!(out, "{pad}--> {file_name}:{line}:{col}");
    let _ = writeln!(out, "{pad} |");
    let text_width = WIDTH - gutter - 3;
    for (i, &ln) in shown.iter().enumerate() {
        if i > 0 && ln > shown[i - 1] + 1 {
            let _ = writeln!(out, "{}", ".".repeat(gutter.max(3)));
        }
        let raw = lines
            .get(ln - 1)
            .copied()
            .unwrap_or("")
            .trim_end_matches('\r');
        let chars: Vec<char> = raw
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        let here: Vec<&Mark> = marks.iter().filter(|m| m.line == ln).collect();
        let first = here.iter().map(|m| m.cols.start).min().unwrap_or(0);
        let (from, to) = window(chars.len(), first, text_width);
        let mut text: String = chars[from..to].iter().collect();
        if from > 0 {
            text.replace_range(..text.chars().next().map_or(0, char::len_utf8), "…");
        }
        if to < chars.len() {
            text.pop();
            text.push('…');
        }
        let _ = writeln!(out, "{:>gutter$} | {}", ln, text.trim_end());
        for m in here {
            let start = m
                .cols
                .start
                .saturating_sub(from)
                .min(text_width.saturating_sub(1));
            let len = m.cols.len().min(text_width - start).max(1);
            let ch = if m.primary { "^" } else { "-" };
            let mut row = format!("{pad} | {}{}", " ".repeat(start), ch.repeat(len));
            let label_len = m.text.chars().count();
            if label_len > 0 && start + len + 1 + label_len <= text_width {
                let _ = write!(row, " {}", m.text);
            } else if label_len > 0 {
                // Too long beside the underline: on its own line, as far right as fits.
                let col = start.min(text_width.saturating_sub(label_len));
                let _ = write!(row, "\n{pad} | {}{}", " ".repeat(col), m.text);
            }
            let _ = writeln!(out, "{}", row.trim_end());
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} |");
        let lead = format!("{pad} = help: ");
        let _ = writeln!(out, "{}", wrap(&lead, help));
    }
    out
}

fn primary_text(d: &Diagnostic) -> String {
    d.labels
        .iter()
        .find(|l| l.span == d.span)
        .map(|l| l.text.clone())
        .unwrap_or_default()
}

fn mark(source: &str, span: &Range<usize>, primary: bool, text: String) -> Mark {
    let (line, col) = line_col(source, span.start);
    let end = span.end.max(span.start);
    let (end_line, end_col) = line_col(source, end);
    let start = col - 1;
    let stop = if end_line == line {
        (end_col - 1).max(start + 1)
    } else {
        // A span over several lines: underline to the end of its first line.
        let line_text = source.split('\n').nth(line - 1).unwrap_or("");
        line_text.chars().count().max(start + 1)
    };
    Mark {
        line,
        cols: start..stop,
        primary,
        text,
    }
}

/// The `[from, to)` character window of a line of `len` characters that fits `width`
/// and shows column `focus` with some context before it.
fn window(len: usize, focus: usize, width: usize) -> (usize, usize) {
    if len <= width {
        return (0, len);
    }
    let from = focus.saturating_sub(width / 4).min(len - width);
    (from, from + width)
}

/// `lead` followed by `text`, word-wrapped at [`WIDTH`] with a hanging indent.
fn wrap(lead: &str, text: &str) -> String {
    let indent = " ".repeat(lead.chars().count());
    let mut out = lead.to_owned();
    let mut col = out.chars().count();
    let mut first = true;
    for word in text.split(' ') {
        let w = word.chars().count();
        if !first && col + 1 + w > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            col = indent.len();
        } else if !first {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += w;
        first = false;
    }
    out
}
