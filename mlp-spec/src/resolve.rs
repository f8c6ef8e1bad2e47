//! Pass 3: resolve `let` names.
//!
//! Every bare name that refers to a `let` defined earlier in the file is replaced by a copy
//! of that `let`'s (already resolved) value, with `used_at` recording where the name was
//! written. Afterwards the `let` items are gone: the returned models contain no `let` name,
//! and every name left is either a built-in or unknown (reported by `bind`, which knows
//! what kind of value each position wants). Reported here: duplicate and unused `let`s,
//! `let`s named like a built-in, and uses before the definition.

use std::collections::HashMap;

use crate::ast::{self, Span, Value, ValueKind};
use crate::diag::{code, Ctxt, Diagnostic};
use crate::sig;

/// A `let` being tracked.
struct Binding {
    value: Value,
    name_span: Span,
    used: bool,
}

/// The models of `file` with `let` names substituted, and the `let` names (for "did you
/// mean" suggestions later).
pub(crate) fn resolve(cx: &mut Ctxt, file: &ast::File) -> (Vec<ast::Model>, Vec<String>) {
    // All lets, to tell "defined later" from "not defined".
    let mut later: HashMap<&str, Span> = HashMap::new();
    for item in &file.items {
        if let ast::Item::Let(l) = item {
            later
                .entry(l.name.name.as_str())
                .or_insert(l.name.span.clone());
        }
    }
    let mut scope: HashMap<String, Binding> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut early: Vec<String> = Vec::new();
    let mut models = Vec::new();
    for item in &file.items {
        match item {
            ast::Item::Let(l) => {
                let name = &l.name.name;
                if sig::is_builtin(name) {
                    cx.push(
                        Diagnostic::new(
                            code::LET_SHADOWS_BUILTIN,
                            format!("`let {name}` would hide the built-in `{name}`"),
                            l.name.span.clone(),
                        )
                        .with_help("choose another name"),
                    );
                    continue;
                }
                if let Some(first) = scope.get(name) {
                    cx.push(
                        Diagnostic::new(
                            code::DUPLICATE_LET,
                            format!("`{name}` is defined twice"),
                            l.name.span.clone(),
                        )
                        .with_label("defined again here")
                        .with_secondary(first.name_span.clone(), "first defined here")
                        .with_help("rename or remove one of them"),
                    );
                    continue;
                }
                let mut value = l.value.clone();
                substitute(cx, &mut value, &mut scope, &later, Some(name), &mut early);
                scope.insert(
                    name.clone(),
                    Binding {
                        value,
                        name_span: l.name.span.clone(),
                        used: false,
                    },
                );
                order.push(name.clone());
            }
            ast::Item::Model(m) => {
                let mut m = m.clone();
                for it in &mut m.items {
                    match it {
                        ast::ModelItem::Input(i) => {
                            substitute(cx, &mut i.shape, &mut scope, &later, None, &mut early);
                        }
                        ast::ModelItem::Layer(layer) => {
                            if let Some(args) = &mut layer.args {
                                for a in &mut args.items {
                                    substitute(
                                        cx,
                                        &mut a.value,
                                        &mut scope,
                                        &later,
                                        None,
                                        &mut early,
                                    );
                                }
                            }
                        }
                        ast::ModelItem::Train(t) => {
                            for e in &mut t.entries {
                                substitute(cx, &mut e.value, &mut scope, &later, None, &mut early);
                            }
                        }
                    }
                }
                models.push(m);
            }
        }
    }
    for name in &order {
        if let Some(b) = scope.get(name) {
            if !b.used && !early.contains(name) {
                cx.push(
                    Diagnostic::new(
                        code::UNUSED_LET,
                        format!("`{name}` is defined but never used"),
                        b.name_span.clone(),
                    )
                    .with_help("use it or remove the `let`"),
                );
            }
        }
    }
    (models, order)
}

/// Replaces `let` names inside `value`, recursively. `defining` is the `let` whose value
/// this is, to catch self-reference.
fn substitute(
    cx: &mut Ctxt,
    value: &mut Value,
    scope: &mut HashMap<String, Binding>,
    later: &HashMap<&str, Span>,
    defining: Option<&str>,
    early: &mut Vec<String>,
) {
    match &mut value.kind {
        ValueKind::Name(name) => {
            if let Some(b) = scope.get_mut(name.as_str()) {
                b.used = true;
                let used_at = value.span.clone();
                *value = b.value.clone();
                value.used_at = Some(used_at);
            } else if let Some(def) = later.get(name.as_str()) {
                let what = if defining == Some(name.as_str()) {
                    format!("`{name}` is used in its own definition")
                } else {
                    format!("`{name}` is used before its `let`")
                };
                cx.push(
                    Diagnostic::new(code::LET_ORDER, what, value.span.clone())
                        .with_secondary(def.clone(), "defined here")
                        .with_help("move the `let` above its first use"),
                );
                // Not also "unused" when its definition comes.
                early.push(name.clone());
            }
        }
        ValueKind::List(items) => {
            for v in items {
                substitute(cx, v, scope, later, defining, early);
            }
        }
        ValueKind::Map(entries) => {
            for (k, v) in entries {
                substitute(cx, k, scope, later, defining, early);
                substitute(cx, v, scope, later, defining, early);
            }
        }
        ValueKind::Call(_, args) => {
            for a in &mut args.items {
                substitute(cx, &mut a.value, scope, later, defining, early);
            }
        }
        // Expressions hold number literals only.
        ValueKind::Number(_) | ValueKind::Arith(_) | ValueKind::Str(_) => {}
    }
}
