//! Passes 1 and 2: parse the text with the pest grammar, then lower the parse tree to the
//! AST ([`crate::ast`]).
//!
//! Before pest runs, the size and nesting limits are enforced, so the recursive parser
//! never sees pathological input. A pest error is translated here, at the boundary, into
//! words ("expected `)` after the arguments of `Dense`"); rule names never leave this
//! module. Lowering reports doc comments that do not precede a `model`.

use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{self, Span};
use crate::diag::{code, Ctxt, Diagnostic};
use crate::lex;
use crate::{MAX_NESTING, MAX_SOURCE_LEN};

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct Grammar;

/// Parses `source` into an AST. On a syntax error, one diagnostic is pushed (pest stops at
/// the first) and `None` is returned.
pub(crate) fn parse(cx: &mut Ctxt, source: &str) -> Option<ast::File> {
    if source.len() > MAX_SOURCE_LEN {
        cx.push(
            Diagnostic::new(
                code::FILE_TOO_LARGE,
                format!(
                    "the file is {} bytes long; the limit is {MAX_SOURCE_LEN}",
                    source.len()
                ),
                0..0,
            )
            .with_help("split the models over several files"),
        );
        return None;
    }
    if let Some(span) = lex::too_deep(source, MAX_NESTING) {
        cx.push(
            Diagnostic::new(
                code::NESTING_TOO_DEEP,
                format!("brackets nest more than {MAX_NESTING} deep"),
                span,
            )
            .with_label("this bracket is too deep")
            .with_help("no spec needs this much nesting; look for unbalanced brackets"),
        );
        return None;
    }
    match Grammar::parse(Rule::file, source) {
        Ok(mut pairs) => {
            let file = pairs.next()?;
            Some(lower_file(cx, file))
        }
        Err(err) => {
            cx.push(syntax_error(source, &err));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Syntax errors in words.

/// What a rule means to a person, or `None` for rules not worth naming.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::rparen => "`)`",
        Rule::lparen | Rule::paren => "`(`",
        Rule::rbrack => "`]`",
        Rule::lbrack => "`[`",
        Rule::rbrace => "`}`",
        Rule::lbrace => "`{`",
        Rule::comma | Rule::sep => "`,`",
        Rule::eq => "`=`",
        Rule::ident | Rule::name => "a name",
        Rule::value | Rule::call | Rule::arg | Rule::named_arg => "a value",
        Rule::number | Rule::expr | Rule::term | Rule::factor => "a number",
        Rule::string => "a string",
        Rule::list => "a list",
        Rule::map | Rule::map_entry => "a map",
        Rule::colon => "`:`",
        Rule::layer => "a layer",
        Rule::input_decl | Rule::kw_input => "`input`",
        Rule::train_block | Rule::kw_train => "`train`",
        Rule::entry => "a setting (`loss = …`)",
        Rule::let_decl | Rule::kw_let => "`let`",
        Rule::model | Rule::kw_model | Rule::file => "`model`",
        Rule::EOI => "end of file",
        _ => return None,
    })
}

/// Joins `["a", "b", "c"]` as "a, b or c".
fn one_of(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The text found at `offset`, for "found …".
fn found_at(source: &str, offset: usize) -> (String, Span) {
    let rest = &source[offset.min(source.len())..];
    let toks = lex::tokens(rest);
    match toks.first() {
        None => ("end of file".to_owned(), offset..offset),
        Some((_, span)) => {
            let text = &rest[span.clone()];
            let shown: String = text.chars().take(24).collect();
            (format!("`{shown}`"), offset + span.start..offset + span.end)
        }
    }
}

fn syntax_error(source: &str, err: &pest::error::Error<Rule>) -> Diagnostic {
    let offset = match err.location {
        pest::error::InputLocation::Pos(p) | pest::error::InputLocation::Span((p, _)) => p,
    };
    let mut expected: Vec<&str> = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().filter_map(|r| describe(*r)).collect()
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut seen = Vec::new();
    expected.retain(|w| {
        let fresh = !seen.contains(w);
        seen.push(w);
        fresh
    });
    // Skip the whitespace and comments pest jumped over, so the underline sits on a token.
    let (found, span) = found_at(source, offset);
    let context = lex::open_bracket_at(source, span.start);
    let closing = expected.contains(&"`)`");
    let (message, help) = match (&context, closing) {
        (Some(('(', Some(name))), true) => (
            format!("expected `)` after the arguments of `{name}`, found {found}"),
            Some("separate arguments with `,`".to_owned()),
        ),
        _ => {
            let want = if expected.is_empty() {
                "something else".to_owned()
            } else {
                one_of(&expected)
            };
            let place = match &context {
                Some(('(', Some(name))) => format!(" in the arguments of `{name}`"),
                Some(('[', _)) => " in the list".to_owned(),
                Some(('{', Some(name))) if name == crate::kw::TRAIN => {
                    " in the `train` block".to_owned()
                }
                Some(('{', Some(name))) => format!(" in model `{name}`"),
                _ => String::new(),
            };
            (format!("expected {want}{place}, found {found}"), None)
        }
    };
    let help = help.or_else(|| syntax_help(&expected, context.as_ref()));
    Diagnostic::new(code::SYNTAX, message, span)
        .with_label("unexpected here")
        .with_help_opt(help)
}

fn syntax_help(expected: &[&str], context: Option<&(char, Option<String>)>) -> Option<String> {
    if context.is_none() && expected.contains(&"`model`") {
        return Some(
            "a file holds `let name = value` and `model Name { … }` items; layers go inside a model"
                .to_owned(),
        );
    }
    if expected.contains(&"a setting (`loss = …`)") {
        return Some("settings are written `name = value`".to_owned());
    }
    None
}

// ---------------------------------------------------------------------------------------
// Lowering: parse tree -> AST.

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    s.start()..s.end()
}

/// Inner pairs without punctuation.
fn meaningful(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| {
        !matches!(
            p.as_rule(),
            Rule::sep
                | Rule::eq
                | Rule::comma
                | Rule::colon
                | Rule::lparen
                | Rule::rparen
                | Rule::lbrack
                | Rule::rbrack
                | Rule::lbrace
                | Rule::rbrace
                | Rule::kw_let
                | Rule::kw_model
                | Rule::kw_input
                | Rule::kw_train
                | Rule::EOI
        )
    })
}

fn lower_ident(pair: &Pair<'_, Rule>) -> ast::Ident {
    ast::Ident {
        name: pair.as_str().to_owned(),
        span: span_of(pair),
    }
}

fn lower_doc(pair: &Pair<'_, Rule>) -> ast::Doc {
    let raw = pair.as_str();
    let text = raw.strip_prefix("///").unwrap_or(raw);
    let text = text.strip_prefix(' ').unwrap_or(text).trim_end();
    ast::Doc {
        text: text.to_owned(),
        span: span_of(pair),
    }
}

fn stray_docs(cx: &mut Ctxt, docs: &mut Vec<ast::Doc>) {
    for doc in docs.drain(..) {
        cx.push(
            Diagnostic::new(
                code::STRAY_DOC_COMMENT,
                "a `///` doc comment must come right before `model`",
                doc.span,
            )
            .with_help("use `//` for other comments"),
        );
    }
}

fn lower_file(cx: &mut Ctxt, file: Pair<'_, Rule>) -> ast::File {
    let mut items = Vec::new();
    let mut docs = Vec::new();
    for pair in meaningful(file) {
        match pair.as_rule() {
            Rule::doc_comment => docs.push(lower_doc(&pair)),
            Rule::let_decl => {
                stray_docs(cx, &mut docs);
                items.push(ast::Item::Let(lower_let(pair)));
            }
            Rule::model => {
                let doc = std::mem::take(&mut docs);
                items.push(ast::Item::Model(lower_model(cx, pair, doc)));
            }
            _ => {}
        }
    }
    stray_docs(cx, &mut docs);
    ast::File { items }
}

fn lower_let(pair: Pair<'_, Rule>) -> ast::Let {
    let span = span_of(&pair);
    let mut inner = meaningful(pair);
    let name = inner.next().map(|p| lower_ident(&p));
    let value = inner.next().map(lower_value);
    debug_assert!(
        name.is_some() && value.is_some(),
        "grammar: let ident = value"
    );
    ast::Let {
        name: name.unwrap_or_else(|| ast::Ident {
            name: String::new(),
            span: span.clone(),
        }),
        value: value.unwrap_or_else(|| empty_value(span.clone())),
        span,
    }
}

fn empty_value(span: Span) -> ast::Value {
    ast::Value {
        kind: ast::ValueKind::List(Vec::new()),
        span,
        used_at: None,
    }
}

fn lower_model(cx: &mut Ctxt, pair: Pair<'_, Rule>, doc: Vec<ast::Doc>) -> ast::Model {
    let span = span_of(&pair);
    let mut keyword = span.start..span.start;
    let mut close = span.end.saturating_sub(1)..span.end;
    let mut name = None;
    let mut items = Vec::new();
    let mut docs = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_model => keyword = span_of(&p),
            Rule::rbrace => close = span_of(&p),
            Rule::ident => name = Some(lower_ident(&p)),
            Rule::doc_comment => docs.push(lower_doc(&p)),
            Rule::input_decl => {
                stray_docs(cx, &mut docs);
                let span = span_of(&p);
                let shape = meaningful(p).next().map(lower_value);
                items.push(ast::ModelItem::Input(ast::Input {
                    shape: shape.unwrap_or_else(|| empty_value(span.clone())),
                    span,
                }));
            }
            Rule::train_block => {
                stray_docs(cx, &mut docs);
                items.push(ast::ModelItem::Train(lower_train(p)));
            }
            Rule::layer => {
                stray_docs(cx, &mut docs);
                items.push(ast::ModelItem::Layer(lower_layer(p)));
            }
            _ => {}
        }
    }
    stray_docs(cx, &mut docs);
    ast::Model {
        doc,
        name: name.unwrap_or_else(|| ast::Ident {
            name: String::new(),
            span: keyword.clone(),
        }),
        keyword,
        items,
        close,
        span,
    }
}

fn lower_train(pair: Pair<'_, Rule>) -> ast::Train {
    let span = span_of(&pair);
    let mut keyword = span.start..span.start;
    let mut close = span.end.saturating_sub(1)..span.end;
    let mut entries = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_train => keyword = span_of(&p),
            Rule::rbrace => close = span_of(&p),
            Rule::entry => {
                let espan = span_of(&p);
                let mut inner = meaningful(p);
                let key = inner.next().map(|k| lower_ident(&k));
                let value = inner.next().map(lower_value);
                if let (Some(key), Some(value)) = (key, value) {
                    entries.push(ast::Entry {
                        key,
                        value,
                        span: espan,
                    });
                }
            }
            _ => {}
        }
    }
    ast::Train {
        entries,
        keyword,
        close,
        span,
    }
}

fn lower_layer(pair: Pair<'_, Rule>) -> ast::Layer {
    let span = span_of(&pair);
    let mut name = None;
    let mut args = None;
    for p in meaningful(pair) {
        match p.as_rule() {
            Rule::ident => name = Some(lower_ident(&p)),
            Rule::args => args = Some(lower_args(p)),
            _ => {}
        }
    }
    ast::Layer {
        name: name.unwrap_or_else(|| ast::Ident {
            name: String::new(),
            span: span.clone(),
        }),
        args,
        span,
    }
}

fn lower_args(pair: Pair<'_, Rule>) -> ast::Args {
    let span = span_of(&pair);
    let items = meaningful(pair)
        .filter(|p| p.as_rule() == Rule::arg)
        .filter_map(|arg| {
            let aspan = span_of(&arg);
            let inner = meaningful(arg).next()?;
            Some(match inner.as_rule() {
                Rule::named_arg => {
                    let mut parts = meaningful(inner);
                    let name = parts.next().map(|n| lower_ident(&n));
                    let value = parts.next().map(lower_value)?;
                    ast::Arg {
                        name,
                        value,
                        span: aspan,
                    }
                }
                _ => ast::Arg {
                    name: None,
                    value: lower_value(inner),
                    span: aspan,
                },
            })
        })
        .collect();
    ast::Args { items, span }
}

/// Lowers an `expr`, `term`, `factor` or `paren` pair. A chain of one operand is that
/// operand, so a lone literal stays an [`ast::ValueKind::Number`]. Chains are built flat,
/// so recursion here only follows parentheses (whose depth the nesting limit bounds).
fn lower_expr(pair: Pair<'_, Rule>) -> ast::Value {
    let span = span_of(&pair);
    let value = |kind| ast::Value {
        kind,
        span: span.clone(),
        used_at: None,
    };
    match pair.as_rule() {
        Rule::expr | Rule::term => {
            let mut parts = meaningful(pair);
            let Some(first) = parts.next() else {
                return empty_value(span);
            };
            let first = lower_expr(first);
            let mut rest = Vec::new();
            while let (Some(op), Some(operand)) = (parts.next(), parts.next()) {
                let op = match op.as_str() {
                    "+" => ast::BinOp::Add,
                    "-" => ast::BinOp::Sub,
                    "*" => ast::BinOp::Mul,
                    _ => ast::BinOp::Div,
                };
                rest.push((op, lower_expr(operand)));
            }
            if rest.is_empty() {
                first
            } else {
                value(ast::ValueKind::Arith(ast::Arith::Chain {
                    first: Box::new(first),
                    rest,
                }))
            }
        }
        Rule::factor => {
            let mut minus = 0;
            let mut operand = None;
            for p in meaningful(pair) {
                match p.as_rule() {
                    Rule::neg => minus += 1,
                    _ => operand = Some(lower_expr(p)),
                }
            }
            let Some(operand) = operand else {
                return empty_value(span);
            };
            if minus == 0 {
                operand
            } else {
                value(ast::ValueKind::Arith(ast::Arith::Neg {
                    minus,
                    operand: Box::new(operand),
                }))
            }
        }
        Rule::paren => match meaningful(pair).next() {
            Some(inner) => value(ast::ValueKind::Arith(ast::Arith::Paren(Box::new(
                lower_expr(inner),
            )))),
            None => empty_value(span),
        },
        _ => lower_value(pair),
    }
}

fn lower_value(pair: Pair<'_, Rule>) -> ast::Value {
    // `value` wraps exactly one alternative; accept the alternative itself too.
    let pair = if pair.as_rule() == Rule::value {
        match meaningful(pair.clone()).next() {
            Some(inner) => inner,
            None => return empty_value(span_of(&pair)),
        }
    } else {
        pair
    };
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::number => ast::ValueKind::Number(pair.as_str().to_owned()),
        Rule::expr | Rule::term | Rule::factor | Rule::paren => return lower_expr(pair),
        Rule::string => {
            let s = pair.as_str();
            let inner = s
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(s);
            ast::ValueKind::Str(inner.to_owned())
        }
        Rule::name => ast::ValueKind::Name(pair.as_str().to_owned()),
        Rule::list => ast::ValueKind::List(meaningful(pair).map(lower_value).collect()),
        Rule::map => ast::ValueKind::Map(
            meaningful(pair)
                .filter_map(|entry| {
                    let mut kv = meaningful(entry).map(lower_value);
                    Some((kv.next()?, kv.next()?))
                })
                .collect(),
        ),
        Rule::call => {
            let mut name = None;
            let mut args = None;
            for p in meaningful(pair) {
                match p.as_rule() {
                    Rule::ident => name = Some(lower_ident(&p)),
                    Rule::args => args = Some(lower_args(p)),
                    _ => {}
                }
            }
            match (name, args) {
                (Some(name), Some(args)) => ast::ValueKind::Call(name, args),
                _ => ast::ValueKind::List(Vec::new()),
            }
        }
        _ => ast::ValueKind::List(Vec::new()),
    };
    ast::Value {
        kind,
        span,
        used_at: None,
    }
}
