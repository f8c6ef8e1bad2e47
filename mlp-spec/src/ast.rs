//! What was written: the syntax tree of a spec file, with a byte span on every node.
//!
//! Produced by `parse` (pass 2, "lower to AST"). Nothing here is checked beyond the
//! grammar: names may be unknown, arguments may be missing or of the wrong type, `let`
//! names are not yet substituted. A number literal is kept exactly as written, and a
//! constant expression (`1 / 255`) as its operators, operands and parentheses, so that
//! printing an AST (`format_source`) never changes a number.

use std::ops::Range;

/// A byte range into the source text.
pub type Span = Range<usize>;

/// A whole spec file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `let name = value`.
    Let(Let),
    /// `model Name { … }`.
    Model(Model),
}

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// `let name = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    /// The bound name.
    pub name: Ident,
    /// The bound value.
    pub value: Value,
    /// The whole declaration.
    pub span: Span,
}

/// One `///` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// The text after `///`, without one leading space, trailing whitespace removed.
    pub text: String,
    /// The whole comment, `///` included.
    pub span: Span,
}

/// `model Name { … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// `///` lines written right above `model`.
    pub doc: Vec<Doc>,
    /// The model's name.
    pub name: Ident,
    /// The `model` keyword.
    pub keyword: Span,
    /// The body, in source order.
    pub items: Vec<ModelItem>,
    /// The closing `}`.
    pub close: Span,
    /// From `model` to the closing `}` (doc comments excluded).
    pub span: Span,
}

/// An item of a model body.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelItem {
    /// `input [28, 28]`.
    Input(Input),
    /// A layer.
    Layer(Layer),
    /// `train { … }`.
    Train(Train),
}

/// `input [28, 28]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// The shape, a list value.
    pub shape: Value,
    /// The whole declaration.
    pub span: Span,
}

/// A layer: a name with optional arguments (`Flatten`, `Dense(64, activation = relu)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The layer's type as written.
    pub name: Ident,
    /// The parenthesised arguments, if any were written.
    pub args: Option<Args>,
    /// The whole layer.
    pub span: Span,
}

/// A parenthesised argument list.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Arguments in order.
    pub items: Vec<Arg>,
    /// From `(` to `)`.
    pub span: Span,
}

/// One argument: positional (`64`) or named (`activation = relu`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// The name for a named argument.
    pub name: Option<Ident>,
    /// The value.
    pub value: Value,
    /// The whole argument.
    pub span: Span,
}

/// `train { key = value … }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Train {
    /// Settings in order.
    pub entries: Vec<Entry>,
    /// The `train` keyword.
    pub keyword: Span,
    /// The closing `}`.
    pub close: Span,
    /// The whole block.
    pub span: Span,
}

/// One `key = value` setting of a `train` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The setting's name.
    pub key: Ident,
    /// Its value.
    pub value: Value,
    /// The whole setting.
    pub span: Span,
}

/// A value.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What kind of value.
    pub kind: ValueKind,
    /// Where it was written (for a substituted `let` name: where the `let` value was written).
    pub span: Span,
    /// Set by name resolution when this value replaced a `let` name: the name's span.
    pub used_at: Option<Span>,
}

/// The kinds of value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A number literal exactly as written (`64`, `-0.1`, `1e-3`, `1.`).
    Number(String),
    /// A constant expression over number literals (`1 / 255`, `-(0.5)`, `2 * 0.5`),
    /// evaluated by the binder.
    Arith(Arith),
    /// A string literal's contents, escapes kept as written.
    Str(String),
    /// A bare name (`relu`, `he_normal`, `l2`, a `let` name, `true`).
    Name(String),
    /// `[a, b, …]`.
    List(Vec<Value>),
    /// `{key: value, …}`, the entries in the order written.
    Map(Vec<(Value, Value)>),
    /// `name(args)`.
    Call(Ident, Args),
}

/// A constant arithmetic expression: `+ - * /`, unary minus and parentheses over number
/// literals. Every operand is a [`Value`] (with its span) that is a
/// [`ValueKind::Number`] or a [`ValueKind::Arith`]. Chains are flat, so the tree is only
/// as deep as the parentheses nest (at most [`crate::MAX_NESTING`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Arith {
    /// Operands of one precedence level, left to right: `a + b - c` (the operators
    /// [`BinOp::Add`] and [`BinOp::Sub`]) or `a * b / c` ([`BinOp::Mul`], [`BinOp::Div`]).
    Chain {
        /// The leftmost operand.
        first: Box<Value>,
        /// Each further operator with the operand to its right; never empty.
        rest: Vec<(BinOp, Value)>,
    },
    /// `-x`: `minus` (≥ 1) minus signs before an operand.
    Neg {
        /// How many `-` were written.
        minus: usize,
        /// The operand.
        operand: Box<Value>,
    },
    /// `(x)`, kept as written.
    Paren(Box<Value>),
}

/// A binary operator of a constant expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinOp {
    /// The operator as written: `+`, `-`, `*`, `/`.
    #[must_use]
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}

impl Value {
    /// Whether the number literal is written without a fraction or an exponent.
    #[must_use]
    pub fn is_integer_literal(text: &str) -> bool {
        !text.contains(['.', 'e', 'E'])
    }

    /// A short description of the value for messages: "`relu`", "a string", "a list", …
    #[must_use]
    pub fn describe(&self) -> String {
        match &self.kind {
            ValueKind::Number(text) => format!("the number `{text}`"),
            ValueKind::Arith(_) => format!("the expression `{}`", crate::fmt::value(self)),
            ValueKind::Str(text) => format!("the string \"{text}\""),
            ValueKind::Name(name) => format!("`{name}`"),
            ValueKind::List(_) => "a list".to_owned(),
            ValueKind::Map(_) => "a map".to_owned(),
            ValueKind::Call(name, _) => format!("`{}(…)`", name.name),
        }
    }
}
