//! Keras 3 `model.summary()` tables rendered from the IR.
//!
//! The layout is the one Keras 3 prints through `rich` in a notebook or an 80-column
//! terminal: line length 76 (`min(88, columns - 4)`), column boundaries at 45 % and 80 % of
//! it, a heavy-head box, a rule between rows, and the three totals lines below. Cell text
//! is wrapped the way `rich` wraps it: greedily at spaces, and a word longer than the cell
//! is cut into cell-wide pieces. So `batch_normalization (BatchNormalization)` takes two
//! lines, exactly as in Keras.
//!
//! Sizes count the bytes of each weight as Keras stores it ([`Role::keras_bytes`]: 4 per
//! `float32` parameter, 8 for a `Normalization`'s integer count) and are written with
//! Keras's `readable_memory_size`: divide by 1024 until the value drops below 1024, then
//! print two decimals and the unit (`0.00 B`, `768.00 B`, `207.16 KB`).
//!
//! [`Role::keras_bytes`]: crate::layout::Role::keras_bytes
//!
//! Keras ends its output with one blank line after the totals; [`summary`] stops at the
//! last totals line's newline and leaves any spacing between tables to the caller.

use std::fmt::Write as _;

use crate::ir::{Model, ParamCounts};

/// Width of the text inside each column, between the one-space paddings: `Layer (type)`,
/// `Output Shape`, `Param #`. With the borders and paddings the table is 76 characters.
const COLUMN_WIDTHS: [usize; 3] = [31, 22, 13];

/// How a cell's text is placed within its column.
#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Alignment of each column, headers included.
const ALIGNMENTS: [Align; 3] = [Align::Left, Align::Left, Align::Right];

/// One horizontal rule of the box: left corner, fill, column junction, right corner.
struct Rule {
    left: char,
    fill: char,
    junction: char,
    right: char,
}

const TOP: Rule = Rule {
    left: '┏',
    fill: '━',
    junction: '┳',
    right: '┓',
};
const BELOW_HEADER: Rule = Rule {
    left: '┡',
    fill: '━',
    junction: '╇',
    right: '┩',
};
const BETWEEN_ROWS: Rule = Rule {
    left: '├',
    fill: '─',
    junction: '┼',
    right: '┤',
};
const BOTTOM: Rule = Rule {
    left: '└',
    fill: '─',
    junction: '┴',
    right: '┘',
};

/// Renders the table Keras 3 prints for `model.summary()`, headed `Model: "<name>"`
/// with the model's own name.
///
/// Every line ends with `\n`; the last one is ` Non-trainable params: …`.
#[must_use]
pub fn summary(model: &Model) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = writeln!(out, "Model: \"{}\"", model.name);
    push_rule(&mut out, &TOP);
    push_row(&mut out, ["Layer (type)", "Output Shape", "Param #"], '┃');
    push_rule(&mut out, &BELOW_HEADER);
    for (index, layer) in model.layers.iter().enumerate() {
        if index > 0 {
            push_rule(&mut out, &BETWEEN_ROWS);
        }
        let name = format!("{} ({})", layer.name, layer.kind.keras_class());
        let shape = format_shape(&layer.output_shape);
        let params = format_count(layer.params.total);
        push_row(&mut out, [&name, &shape, &params], '│');
    }
    push_rule(&mut out, &BOTTOM);
    push_totals(&mut out, model.params, weight_bytes(model));
    out
}

/// Bytes of the model's trainable and non-trainable weights as Keras stores them (Keras's
/// `weight_memory_size`), saturating.
fn weight_bytes(model: &Model) -> (usize, usize) {
    let (mut trainable, mut non_trainable) = (0usize, 0usize);
    for layer in &model.layers {
        for t in layer.kind.tensors(&layer.input_shape) {
            let bytes = t
                .shape
                .iter()
                .fold(1usize, |a, &e| a.saturating_mul(e))
                .saturating_mul(t.role.keras_bytes());
            let sum = if t.role.is_trainable() {
                &mut trainable
            } else {
                &mut non_trainable
            };
            *sum = sum.saturating_add(bytes);
        }
    }
    (trainable, non_trainable)
}

/// A shape with the batch dimension in front, as Python prints the tuple:
/// `(None, 784)`, `(None, 28, 28)`, and `(None,)` for a scalar sample.
#[must_use]
pub fn format_shape(shape: &[usize]) -> String {
    let mut out = String::from("(None,");
    for extent in shape {
        let _ = write!(out, " {extent},");
    }
    if !shape.is_empty() {
        // Python writes a trailing comma only for one-element tuples.
        out.pop();
    }
    out.push(')');
    out
}

/// An integer with `,` between groups of three digits, as Python's `f"{n:,}"`.
#[must_use]
pub fn format_count(count: usize) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A byte count as Keras's `readable_memory_size` writes it: divided by 1024 while it is
/// at least 1024 (up to `PB`), then two decimals and the unit.
#[must_use]
pub fn format_size(bytes: usize) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.2} {}", UNITS[unit])
}

/// Appends the three totals lines below the table; `bytes` are the trainable and
/// non-trainable weights' sizes.
fn push_totals(out: &mut String, params: ParamCounts, bytes: (usize, usize)) {
    let (trainable, non_trainable) = bytes;
    let lines = [
        (
            "Total params",
            params.total,
            trainable.saturating_add(non_trainable),
        ),
        ("Trainable params", params.trainable, trainable),
        ("Non-trainable params", params.non_trainable, non_trainable),
    ];
    for (label, count, size) in lines {
        let _ = writeln!(
            out,
            " {label}: {} ({})",
            format_count(count),
            format_size(size)
        );
    }
}

/// Appends one horizontal rule spanning the three columns (each one padding wider on
/// both sides than its text).
fn push_rule(out: &mut String, rule: &Rule) {
    out.push(rule.left);
    for (index, width) in COLUMN_WIDTHS.iter().enumerate() {
        if index > 0 {
            out.push(rule.junction);
        }
        out.extend(std::iter::repeat_n(rule.fill, width + 2));
    }
    out.push(rule.right);
    out.push('\n');
}

/// Appends one table row, wrapping each cell to its column; the row is as tall as its
/// tallest cell and shorter cells are padded with blank lines below their text.
fn push_row(out: &mut String, cells: [&str; 3], border: char) {
    let wrapped: Vec<Vec<&str>> = cells
        .iter()
        .zip(COLUMN_WIDTHS)
        .map(|(cell, width)| wrap(cell, width))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    for line in 0..height {
        out.push(border);
        for ((lines, width), align) in wrapped.iter().zip(COLUMN_WIDTHS).zip(ALIGNMENTS) {
            let text = lines.get(line).copied().unwrap_or("");
            let _ = match align {
                Align::Left => write!(out, " {text:<width$} "),
                Align::Right => write!(out, " {text:>width$} "),
            };
            out.push(border);
        }
        out.push('\n');
    }
}

/// Splits `text` into lines of at most `width` characters the way `rich` does: words
/// (runs of non-spaces with the spaces after them) fill a line greedily; a word that
/// does not fit moves to the next line; a word longer than `width` is cut into
/// `width`-character pieces. Trailing spaces are dropped from every line. Always at
/// least one line.
fn wrap(text: &str, width: usize) -> Vec<&str> {
    let mut lines = Vec::new();
    // Byte offset where the current line starts, and its length in characters so far.
    let mut line_start = 0;
    let mut line_len = 0;
    for (word_start, word) in words(text) {
        let word_len = word.trim_end_matches(' ').chars().count();
        if line_len + word_len <= width {
            line_len += word.chars().count();
            continue;
        }
        if word_len > width {
            // Fold the long word: every full piece ends a line; the last piece stays open.
            let mut piece_start = word_start;
            let chars: Vec<(usize, char)> = word.char_indices().collect();
            for chunk in chars.chunks(width) {
                if piece_start > line_start {
                    lines.push(&text[line_start..piece_start]);
                    line_start = piece_start;
                }
                line_len = chunk.len();
                piece_start = word_start + chunk.last().map_or(0, |(i, c)| i + c.len_utf8());
            }
        } else {
            if word_start > line_start {
                lines.push(&text[line_start..word_start]);
            }
            line_start = word_start;
            line_len = word.chars().count();
        }
    }
    lines.push(&text[line_start..]);
    lines
        .into_iter()
        .map(|line| line.trim_end_matches(' '))
        .collect()
}

/// The words of `text` with their byte offsets: each is a run of non-spaces followed by
/// the spaces after it (leading spaces form a word of their own).
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut offset = 0;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let body = rest.find(' ').unwrap_or(rest.len());
        let after = rest[body..]
            .find(|c| c != ' ')
            .map_or(rest.len(), |n| body + n);
        let word = &rest[..after];
        let start = offset;
        offset += after;
        rest = &rest[after..];
        Some((start, word))
    })
}

#[cfg(test)]
mod tests {
    use super::{format_count, format_shape, format_size, wrap};

    fn check_wrap(text: &str, width: usize, expected: &[&str]) {
        assert_eq!(wrap(text, width), expected, "wrap({text:?}, {width})");
    }

    #[test]
    fn wraps_like_rich() {
        check_wrap("dense (Dense)", 31, &["dense (Dense)"]);
        check_wrap(
            "batch_normalization (BatchNormalization)",
            31,
            &["batch_normalization", "(BatchNormalization)"],
        );
        check_wrap(
            "batch_normalization_10 (BatchNormalization)",
            31,
            &["batch_normalization_10", "(BatchNormalization)"],
        );
        // Fits exactly: 31 characters.
        check_wrap(
            "abcdefghijklmnopqrstuvwxy (ReLU)",
            32,
            &["abcdefghijklmnopqrstuvwxy (ReLU)"],
        );
        check_wrap("abc defg", 7, &["abc", "defg"]);
        check_wrap("abc defg", 8, &["abc defg"]);
        // A word wider than the column is cut into column-wide pieces.
        check_wrap("abcdefghij (X)", 4, &["abcd", "efgh", "ij", "(X)"]);
        check_wrap("ab abcdefghij", 4, &["ab", "abcd", "efgh", "ij"]);
        check_wrap("abcdefgh", 4, &["abcd", "efgh"]);
        check_wrap("", 4, &[""]);
    }

    #[test]
    fn counts_have_thousands_separators() {
        for (count, expected) in [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1_000, "1,000"),
            (52_650, "52,650"),
            (100_000, "100,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(format_count(count), expected);
        }
    }

    #[test]
    fn sizes_step_by_1024() {
        // Expected values worked out by hand from Keras's readable_memory_size.
        for (bytes, expected) in [
            (0, "0.00 B"),
            (768, "768.00 B"),
            (1_023, "1023.00 B"),
            (1_024, "1.00 KB"),
            (1_536, "1.50 KB"),
            (210_600, "205.66 KB"),
            (1_048_576, "1.00 MB"),
            (3 * 1_048_576 + 524_288, "3.50 MB"),
            (1_073_741_824, "1.00 GB"),
        ] {
            assert_eq!(format_size(bytes), expected, "{bytes} bytes");
        }
    }

    #[test]
    fn shapes_print_as_python_tuples() {
        assert_eq!(format_shape(&[784]), "(None, 784)");
        assert_eq!(format_shape(&[28, 28]), "(None, 28, 28)");
        assert_eq!(format_shape(&[]), "(None,)");
    }
}
