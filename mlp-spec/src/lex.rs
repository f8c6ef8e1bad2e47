//! A small scanner over raw source text, independent of the grammar.
//!
//! It knows only brackets, names, strings and comments, which is enough to enforce the
//! nesting limit *before* the (recursive) parser runs, to describe where a syntax error
//! happened ("in the arguments of `Dense`"), and to collect the `//` comments that
//! `format_source` must keep. It never fails: anything it does not recognise is `Other`.

use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// `(`, `[` or `{`.
    Open(char),
    /// `)`, `]` or `}`.
    Close(char),
    /// A name.
    Ident,
    /// A `//` comment (not `///`).
    Comment,
    /// A `///` doc comment.
    DocComment,
    /// Anything else (numbers, strings, punctuation).
    Other,
}

/// Splits `source` into tokens with byte spans; whitespace is skipped.
pub(crate) fn tokens(source: &str) -> Vec<(Tok, Range<usize>)> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let is_doc = bytes.get(i + 2) == Some(&b'/') && bytes.get(i + 3) != Some(&b'/');
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                out.push((
                    if is_doc {
                        Tok::DocComment
                    } else {
                        Tok::Comment
                    },
                    start..i,
                ));
                continue;
            }
            b'(' | b'[' | b'{' => Tok::Open(c as char),
            b')' | b']' | b'}' => Tok::Close(c as char),
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push((Tok::Other, start..i));
                continue;
            }
            c if c.is_ascii_digit() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                out.push((Tok::Other, start..i));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((Tok::Ident, start..i));
                continue;
            }
            _ => Tok::Other,
        };
        // One character (possibly multi-byte).
        i += source[i..].chars().next().map_or(1, char::len_utf8);
        out.push((tok, start..i));
    }
    out
}

/// Byte offset of the first bracket that opens nesting level `max + 1`, if any.
pub(crate) fn too_deep(source: &str, max: usize) -> Option<Range<usize>> {
    let mut depth = 0usize;
    for (tok, span) in tokens(source) {
        match tok {
            Tok::Open(_) => {
                depth += 1;
                if depth > max {
                    return Some(span);
                }
            }
            Tok::Close(_) => depth = depth.saturating_sub(1),
            Tok::Ident | Tok::Comment | Tok::DocComment | Tok::Other => {}
        }
    }
    None
}

/// The innermost bracket still open at byte `offset`, with the name written before it
/// (`Dense` for `Dense(`, `train` for `train {`, the model name for `model Net {`).
pub(crate) fn open_bracket_at(source: &str, offset: usize) -> Option<(char, Option<String>)> {
    let toks = tokens(source);
    let mut stack: Vec<(char, Option<String>)> = Vec::new();
    for (idx, (tok, span)) in toks.iter().enumerate() {
        if span.start >= offset {
            break;
        }
        match tok {
            Tok::Open(c) => {
                let name = idx
                    .checked_sub(1)
                    .and_then(|p| toks.get(p))
                    .filter(|(t, _)| *t == Tok::Ident)
                    .map(|(_, s)| source[s.clone()].to_owned());
                stack.push((*c, name));
            }
            Tok::Close(_) => {
                stack.pop();
            }
            Tok::Ident | Tok::Comment | Tok::DocComment | Tok::Other => {}
        }
    }
    stack.pop()
}

/// A `//` comment and whether code precedes it on its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    /// The comment, `//` included, trailing whitespace removed.
    pub(crate) text: String,
    /// Where it starts.
    pub(crate) start: usize,
    /// Whether code precedes it on the same line.
    pub(crate) trailing: bool,
    /// Whether an empty line follows it (kept by the formatter).
    pub(crate) blank_after: bool,
}

/// Every `//` comment of `source` (doc comments excluded: they belong to the AST).
pub(crate) fn comments(source: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    let mut last_code_line_end: Option<usize> = None;
    for (tok, span) in tokens(source) {
        match tok {
            Tok::Comment => {
                let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
                let trailing = last_code_line_end.is_some_and(|end| end > line_start);
                let rest = &source[span.end..];
                let gap = &rest[..rest.len() - rest.trim_start().len()];
                out.push(Comment {
                    text: source[span.clone()].trim_end().to_owned(),
                    start: span.start,
                    trailing,
                    blank_after: gap.matches('\n').count() >= 2 && !rest.trim_start().is_empty(),
                });
            }
            Tok::Open(_) | Tok::Close(_) | Tok::Ident | Tok::DocComment | Tok::Other => {
                last_code_line_end = Some(span.end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_know_whether_they_trail_code() {
        let src = "// own\nDense(1) // trail\n  // own too\n\"a // not\"";
        let c = comments(src);
        assert_eq!(c.len(), 3);
        assert!(!c[0].trailing);
        assert!(c[1].trailing);
        assert_eq!(c[1].text, "// trail");
        assert!(!c[2].trailing);
    }

    #[test]
    fn nesting_limit_points_at_the_first_bracket_too_deep() {
        assert_eq!(too_deep("[[[]]]", 3), None);
        assert_eq!(too_deep("[[[[]]]]", 3), Some(3..4));
        assert_eq!(too_deep("\"[[[[\"", 1), None);
    }

    #[test]
    fn open_bracket_names_the_call() {
        let src = "model A { Dense(64 relu";
        assert_eq!(
            open_bracket_at(src, src.len()),
            Some(('(', Some("Dense".to_owned())))
        );
        assert_eq!(open_bracket_at(src, 9), Some(('{', Some("A".to_owned()))));
    }
}
