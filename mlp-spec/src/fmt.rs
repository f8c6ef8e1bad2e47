//! The canonical printer behind [`crate::format_source`].
//!
//! The AST is printed as a list of lines, each remembering the source offset it came
//! from; the `//` comments (collected by [`crate::lex`]) are then put back: a comment that
//! follows code on its line trails the last printed line that starts at or before it, a
//! comment on its own line goes above the first printed line that starts after it. So
//! every comment survives, and printing the output again changes nothing.

use crate::ast::{self, Value, ValueKind};
use crate::lex;

const INDENT: &str = "    ";

/// One printed line.
struct Line {
    depth: usize,
    text: String,
    /// Source offset the line came from.
    start: usize,
    /// A closing brace: comments above it belong to the block's body (one level deeper).
    close: bool,
    /// A blank line goes before it (and before its leading comments).
    blank_before: bool,
}

/// Prints `file` (parsed from `source`) in canonical layout.
pub(crate) fn format(source: &str, file: &ast::File) -> String {
    let lines = print_file(file);
    let comments = lex::comments(source);
    let mut leading: Vec<Vec<&lex::Comment>> = vec![Vec::new(); lines.len() + 1];
    let mut trailing: Vec<Vec<&str>> = vec![Vec::new(); lines.len()];
    for c in &comments {
        if c.trailing {
            match lines.iter().rposition(|l| l.start <= c.start) {
                Some(i) => trailing[i].push(&c.text),
                None => leading[0].push(c),
            }
        } else {
            let i = lines
                .iter()
                .position(|l| l.start > c.start)
                .unwrap_or(lines.len());
            leading[i].push(c);
        }
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.blank_before && !out.is_empty() {
            out.push('\n');
        }
        let comment_depth = line.depth + usize::from(line.close);
        for c in &leading[i] {
            push_line(&mut out, comment_depth, &c.text);
            if c.blank_after && !line.close {
                out.push('\n');
            }
        }
        let mut text = line.text.clone();
        if !trailing[i].is_empty() {
            text.push(' ');
            text.push_str(&trailing[i].join(" "));
        }
        push_line(&mut out, line.depth, &text);
    }
    for c in &leading[lines.len()] {
        push_line(&mut out, 0, &c.text);
    }
    out
}

fn push_line(out: &mut String, depth: usize, text: &str) {
    for _ in 0..depth {
        out.push_str(INDENT);
    }
    out.push_str(text);
    out.push('\n');
}

fn print_file(file: &ast::File) -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, item) in file.items.iter().enumerate() {
        let blank = i > 0;
        match item {
            ast::Item::Let(l) => lines.push(Line {
                depth: 0,
                text: format!("let {} = {}", l.name.name, value(&l.value)),
                start: l.span.start,
                close: false,
                blank_before: blank,
            }),
            ast::Item::Model(m) => print_model(&mut lines, m, blank),
        }
    }
    lines
}

fn print_model(lines: &mut Vec<Line>, m: &ast::Model, blank: bool) {
    let mut blank = blank;
    for d in &m.doc {
        let text = if d.text.is_empty() {
            "///".to_owned()
        } else {
            format!("/// {}", d.text)
        };
        lines.push(Line {
            depth: 0,
            text,
            start: d.span.start,
            close: false,
            blank_before: blank,
        });
        blank = false;
    }
    lines.push(Line {
        depth: 0,
        text: format!("model {} {{", m.name.name),
        start: m.keyword.start,
        close: false,
        blank_before: blank,
    });
    for (i, item) in m.items.iter().enumerate() {
        match item {
            ast::ModelItem::Input(inp) => lines.push(Line {
                depth: 1,
                text: format!("input {}", value(&inp.shape)),
                start: inp.span.start,
                close: false,
                blank_before: false,
            }),
            ast::ModelItem::Layer(l) => lines.push(Line {
                depth: 1,
                text: layer(l),
                start: l.span.start,
                close: false,
                blank_before: false,
            }),
            ast::ModelItem::Train(t) => {
                lines.push(Line {
                    depth: 1,
                    text: "train {".to_owned(),
                    start: t.keyword.start,
                    close: false,
                    blank_before: i > 0,
                });
                for e in &t.entries {
                    lines.push(Line {
                        depth: 2,
                        text: format!("{} = {}", e.key.name, value(&e.value)),
                        start: e.span.start,
                        close: false,
                        blank_before: false,
                    });
                }
                lines.push(Line {
                    depth: 1,
                    text: "}".to_owned(),
                    start: t.close.start,
                    close: true,
                    blank_before: false,
                });
            }
        }
    }
    lines.push(Line {
        depth: 0,
        text: "}".to_owned(),
        start: m.close.start,
        close: true,
        blank_before: false,
    });
}

fn layer(l: &ast::Layer) -> String {
    match &l.args {
        Some(args) if !args.items.is_empty() => format!("{}({})", l.name.name, arg_list(args)),
        _ => l.name.name.clone(),
    }
}

fn arg_list(args: &ast::Args) -> String {
    let parts: Vec<String> = args
        .items
        .iter()
        .map(|a| match &a.name {
            Some(n) => format!("{} = {}", n.name, value(&a.value)),
            None => value(&a.value),
        })
        .collect();
    parts.join(", ")
}

/// A value in canonical form; numbers exactly as written, expressions with their
/// parentheses as written and one space around each binary operator (`1 / 255`).
pub(crate) fn value(v: &Value) -> String {
    match &v.kind {
        ValueKind::Number(t) | ValueKind::Name(t) => t.clone(),
        ValueKind::Arith(a) => match a {
            ast::Arith::Chain { first, rest } => {
                let mut out = value(first);
                for (op, operand) in rest {
                    out.push(' ');
                    out.push_str(op.symbol());
                    out.push(' ');
                    out.push_str(&value(operand));
                }
                out
            }
            ast::Arith::Neg { minus, operand } => {
                format!("{}{}", "-".repeat(*minus), value(operand))
            }
            ast::Arith::Paren(inner) => format!("({})", value(inner)),
        },
        ValueKind::Str(s) => format!("\"{s}\""),
        ValueKind::List(items) => {
            let parts: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", parts.join(", "))
        }
        ValueKind::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", value(k), value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        ValueKind::Call(name, args) => format!("{}({})", name.name, arg_list(args)),
    }
}
