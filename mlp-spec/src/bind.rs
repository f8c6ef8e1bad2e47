//! Pass 4a: bind arguments to signatures and type every value.
//!
//! Each layer, initialiser, regulariser, optimiser, loss, metric and activation is looked
//! up in [`crate::sig`]; its arguments are matched to parameters (positional first, then
//! named) and typed. Constant expressions (`1 / 255`) are evaluated here, in f64, then
//! rounded to f32 where a number is expected; where a whole number is expected they must
//! give one exactly. Reported here: unknown names (with "did you mean"), unknown /
//! duplicate / missing / surplus arguments, values of the wrong type, number literals that
//! do not fit, division by zero and expressions that overflow, unknown or duplicate
//! `train` settings, and a second `input` or `train` in one model.
//!
//! Invariant left behind: every [`TArg`] sits at a valid parameter index of its
//! signature and holds a value of that parameter's type, or [`TVal::Error`] when a mistake
//! was already reported; a layer that could not be identified is [`TLayer::Unknown`].
//! Later checks skip `Error`/`Unknown` so one mistake is reported once.

use crate::ast::{self, Arith, BinOp, Span, Value, ValueKind};
use crate::diag::{code, did_you_mean, Ctxt, Diagnostic};
use crate::kw;
use crate::sig::{
    self, ActivationCallee, CallbackCallee, Dflt, Entry, InitCallee, LayerCallee, LossCallee,
    MetricCallee, OptimizerCallee, RegCallee, ScheduleCallee, Setting, Sig, Ty,
};

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TVal {
    Int(i64),
    /// A number as written (f64, as Python keeps it).
    Float(f64),
    Bool(bool),
    Activation(ActivationCall),
    Init(InitCall),
    Reg(RegCall),
    /// A learning-rate schedule.
    Schedule(ScheduleCall),
    /// A word or a string's contents.
    Text(String),
    /// Whole numbers.
    IntList(Vec<i64>),
    /// Numbers.
    FloatList(Vec<f64>),
    /// A mistake already reported.
    Error,
}

impl TVal {
    /// The whole number, if this is one.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            TVal::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number rounded to f32 (as Keras casts layer hyper-parameters), if this is a
    /// (non-integer-typed) number.
    pub(crate) fn as_float(&self) -> Option<f32> {
        self.as_f64().map(|f| f as f32)
    }

    /// The number as written, if this is a (non-integer-typed) number.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            TVal::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The flag, if this is one.
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            TVal::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The word or string, if this is one.
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            TVal::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// A bound argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TArg {
    /// Index into `sig.params`.
    pub(crate) param: usize,
    pub(crate) value: TVal,
    /// The value's span.
    pub(crate) span: Span,
}

/// A bound call: layer, initialiser, regulariser or optimiser (which one [`Bound`] says).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TCall {
    pub(crate) sig: &'static Sig,
    pub(crate) args: Vec<TArg>,
    /// The whole call (or bare name).
    pub(crate) span: Span,
}

/// A bound call of a known kind: which callable `C` names (a [`LayerCallee`],
/// [`InitCallee`], …), and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bound<C> {
    /// Which callable.
    pub(crate) callee: C,
    /// Its bound arguments.
    pub(crate) call: TCall,
}

/// A bound layer.
pub(crate) type LayerCall = Bound<LayerCallee>;
/// A bound activation.
pub(crate) type ActivationCall = Bound<ActivationCallee>;
/// A bound initialiser.
pub(crate) type InitCall = Bound<InitCallee>;
/// A bound regulariser.
pub(crate) type RegCall = Bound<RegCallee>;
/// A bound optimiser.
pub(crate) type OptimizerCall = Bound<OptimizerCallee>;
/// A bound loss.
pub(crate) type LossCall = Bound<LossCallee>;
/// A bound metric.
pub(crate) type MetricCall = Bound<MetricCallee>;
/// A bound learning-rate schedule.
pub(crate) type ScheduleCall = Bound<ScheduleCallee>;
/// A bound callback.
pub(crate) type CallbackCall = Bound<CallbackCallee>;

impl TCall {
    /// The bound argument for the parameter called `name`, if written.
    pub(crate) fn arg(&self, name: &str) -> Option<&TArg> {
        let (idx, _) = self.sig.param(name)?;
        self.args.iter().find(|a| a.param == idx)
    }

    /// The value of parameter `name`, written or default; `None` for an erroneous or
    /// missing required value.
    pub(crate) fn value(&self, name: &str) -> Option<TVal> {
        let (idx, param) = self.sig.param(name)?;
        match self.args.iter().find(|a| a.param == idx) {
            Some(a) if a.value == TVal::Error => None,
            Some(a) => Some(a.value.clone()),
            None => match param.default {
                Dflt::Int(i) => Some(TVal::Int(i)),
                Dflt::Float(f) => Some(TVal::Float(f)),
                Dflt::Bool(b) => Some(TVal::Bool(b)),
                Dflt::Text(t) => Some(TVal::Text(t.to_owned())),
                // Activation, initialiser and regulariser defaults are filled in by `build`.
                Dflt::Required
                | Dflt::Unset
                | Dflt::Activation(_)
                | Dflt::Init(_)
                | Dflt::NoReg => None,
            },
        }
    }

    pub(crate) fn float(&self, name: &str) -> Option<f32> {
        self.value(name)?.as_float()
    }

    pub(crate) fn f64(&self, name: &str) -> Option<f64> {
        self.value(name)?.as_f64()
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.value(name)?.as_text().map(str::to_owned)
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.value(name)?.as_int()
    }

    /// Every call nested in this one's arguments, this one first.
    pub(crate) fn walk<'a>(&'a self, out: &mut Vec<&'a TCall>) {
        out.push(self);
        for a in &self.args {
            match &a.value {
                TVal::Activation(c) => c.call.walk(out),
                TVal::Init(c) => c.call.walk(out),
                TVal::Reg(c) => c.call.walk(out),
                TVal::Schedule(c) => c.call.walk(out),
                TVal::Int(_)
                | TVal::Float(_)
                | TVal::Bool(_)
                | TVal::Text(_)
                | TVal::IntList(_)
                | TVal::FloatList(_)
                | TVal::Error => {}
            }
        }
    }
}

/// A layer, or a name that is not one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TLayer {
    Known(LayerCall),
    Unknown(Span),
}

/// A typed `train` setting, one variant per [`Setting`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TSetting {
    Optimizer(OptimizerCall),
    Loss(LossCall),
    Metrics(Vec<MetricCall>),
    Batch(i64),
    Epochs(i64),
    Seed(i64),
    ValidationSplit(f32),
    Shuffle(bool),
    Callbacks(Vec<CallbackCall>),
    ClassWeight(TClassWeight),
    /// A mistake already reported.
    Error,
}

/// A typed `class_weight`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TClassWeight {
    /// `balanced`.
    Balanced,
    /// `{class: weight, …}` with each entry's span.
    Map(Vec<(i64, f64, Span)>),
}

/// A bound `train` entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TEntry {
    pub(crate) setting: Setting,
    pub(crate) value: TSetting,
    pub(crate) span: Span,
}

/// `input [..]` with one span per extent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TInput {
    pub(crate) dims: Vec<(i64, Span)>,
    pub(crate) span: Span,
    /// Whether every extent was a whole number.
    pub(crate) ok: bool,
}

/// A bound model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TModel {
    pub(crate) name: ast::Ident,
    pub(crate) doc: Vec<String>,
    pub(crate) keyword: Span,
    pub(crate) close: Span,
    pub(crate) input: Option<TInput>,
    pub(crate) layers: Vec<TLayer>,
    pub(crate) train: Vec<TEntry>,
    /// The `train` keyword, when a block was written.
    pub(crate) train_span: Option<Span>,
}

impl TModel {
    /// The written setting, if any.
    pub(crate) fn setting(&self, s: Setting) -> Option<&TEntry> {
        self.train.iter().find(|e| e.setting == s)
    }

    /// Every call of the model (layers and everything nested, the optimiser, the loss,
    /// the metrics).
    pub(crate) fn calls(&self) -> Vec<&TCall> {
        let mut out = Vec::new();
        for l in self.known_layers() {
            l.call.walk(&mut out);
        }
        for e in &self.train {
            match &e.value {
                TSetting::Optimizer(o) => o.call.walk(&mut out),
                TSetting::Loss(l) => l.call.walk(&mut out),
                TSetting::Metrics(ms) => {
                    for m in ms {
                        m.call.walk(&mut out);
                    }
                }
                TSetting::Callbacks(cs) => {
                    for c in cs {
                        c.call.walk(&mut out);
                    }
                }
                TSetting::Batch(_)
                | TSetting::Epochs(_)
                | TSetting::Seed(_)
                | TSetting::ValidationSplit(_)
                | TSetting::Shuffle(_)
                | TSetting::ClassWeight(_)
                | TSetting::Error => {}
            }
        }
        out
    }

    /// The loss, if one was written (and identified without mistakes in its arguments).
    pub(crate) fn loss(&self) -> Option<&LossCall> {
        match &self.setting(Setting::Loss)?.value {
            TSetting::Loss(l) if l.call.args.iter().all(|a| a.value != TVal::Error) => Some(l),
            _ => None,
        }
    }

    /// The metrics, if the setting was written without mistakes.
    pub(crate) fn metrics(&self) -> Option<&[MetricCall]> {
        match &self.setting(Setting::Metrics)?.value {
            TSetting::Metrics(ms) => Some(ms),
            _ => None,
        }
    }

    /// The layers that were identified, in order.
    pub(crate) fn known_layers(&self) -> impl Iterator<Item = &LayerCall> {
        self.layers.iter().filter_map(|l| match l {
            TLayer::Known(c) => Some(c),
            TLayer::Unknown(_) => None,
        })
    }

    /// The values of every argument of every identified layer.
    fn layer_values(&self) -> impl Iterator<Item = &TVal> {
        self.known_layers()
            .flat_map(|l| l.call.args.iter().map(|a| &a.value))
    }

    /// Every initialiser written in a layer's arguments.
    pub(crate) fn inits(&self) -> impl Iterator<Item = &InitCall> {
        self.layer_values().filter_map(|v| match v {
            TVal::Init(c) => Some(c),
            _ => None,
        })
    }

    /// Every regulariser written in a layer's arguments.
    pub(crate) fn regs(&self) -> impl Iterator<Item = &RegCall> {
        self.layer_values().filter_map(|v| match v {
            TVal::Reg(c) => Some(c),
            _ => None,
        })
    }

    /// The callbacks, if the setting was written without mistakes.
    pub(crate) fn callbacks(&self) -> Option<&[CallbackCall]> {
        match &self.setting(Setting::Callbacks)?.value {
            TSetting::Callbacks(cs) => Some(cs),
            _ => None,
        }
    }

    /// The optimiser, if one was written (and identified).
    pub(crate) fn optimizers(&self) -> impl Iterator<Item = &OptimizerCall> {
        self.train.iter().filter_map(|e| match &e.value {
            TSetting::Optimizer(c) => Some(c),
            _ => None,
        })
    }
}

/// Binds every model; `lets` are the `let` names (for suggestions).
pub(crate) fn bind(cx: &mut Ctxt, models: &[ast::Model], lets: &[String]) -> Vec<TModel> {
    let b = Binder { lets };
    models.iter().map(|m| b.model(cx, m)).collect()
}

struct Binder<'a> {
    lets: &'a [String],
}

/// What kind of name a position wants, for "unknown …" messages.
struct Want {
    /// "loss".
    what: &'static str,
    /// "losses".
    plural: &'static str,
    code: &'static str,
}

const WANT_ACTIVATION: Want = Want {
    what: "activation",
    plural: "activations",
    code: code::UNKNOWN_ACTIVATION,
};
const WANT_INITIALIZER: Want = Want {
    what: "initialiser",
    plural: "initialisers",
    code: code::UNKNOWN_INITIALIZER,
};
const WANT_REGULARIZER: Want = Want {
    what: "regulariser",
    plural: "regularisers",
    code: code::UNKNOWN_REGULARIZER,
};
const WANT_OPTIMIZER: Want = Want {
    what: "optimiser",
    plural: "optimisers",
    code: code::UNKNOWN_OPTIMIZER,
};
const WANT_SCHEDULE: Want = Want {
    what: "learning-rate schedule",
    plural: "schedules",
    code: code::UNKNOWN_SCHEDULE,
};
const WANT_CALLBACK: Want = Want {
    what: "callback",
    plural: "callbacks",
    code: code::UNKNOWN_CALLBACK,
};
const WANT_LOSS: Want = Want {
    what: "loss",
    plural: "losses",
    code: code::UNKNOWN_LOSS,
};
const WANT_METRIC: Want = Want {
    what: "metric",
    plural: "metrics",
    code: code::UNKNOWN_METRIC,
};

impl Binder<'_> {
    fn model(&self, cx: &mut Ctxt, m: &ast::Model) -> TModel {
        let mut out = TModel {
            name: m.name.clone(),
            doc: m.doc.iter().map(|d| d.text.clone()).collect(),
            keyword: m.keyword.clone(),
            close: m.close.clone(),
            input: None,
            layers: Vec::new(),
            train: Vec::new(),
            train_span: None,
        };
        let mut input_span: Option<Span> = None;
        for item in &m.items {
            match item {
                ast::ModelItem::Input(i) => {
                    if let Some(first) = &input_span {
                        cx.push(duplicate_section(kw::INPUT, &i.span, first));
                        continue;
                    }
                    input_span = Some(i.span.clone());
                    out.input = Some(self.input(cx, i));
                }
                ast::ModelItem::Layer(l) => out.layers.push(self.layer(cx, l)),
                ast::ModelItem::Train(t) => {
                    if let Some(first) = &out.train_span {
                        cx.push(duplicate_section(kw::TRAIN, &t.keyword, first));
                        continue;
                    }
                    out.train_span = Some(t.keyword.clone());
                    out.train = self.train(cx, t);
                }
            }
        }
        out
    }

    fn input(&self, cx: &mut Ctxt, i: &ast::Input) -> TInput {
        let mut dims = Vec::new();
        let mut ok = true;
        match &i.shape.kind {
            ValueKind::List(items) => {
                for v in items {
                    match self.typed(cx, v, Ty::Int).as_int() {
                        Some(n) => dims.push((n, v.span.clone())),
                        None => {
                            ok = false;
                            push_if_silent(
                                cx,
                                wrong_type(Ty::Int.describe(), v, "an input extent"),
                            );
                        }
                    }
                }
            }
            ValueKind::Number(_)
            | ValueKind::Arith(_)
            | ValueKind::Str(_)
            | ValueKind::Name(_)
            | ValueKind::Map(_)
            | ValueKind::Call(..) => {
                ok = false;
                cx.push(wrong_type(
                    "a list of whole numbers (`[28, 28]`)",
                    &i.shape,
                    "the input shape",
                ));
            }
        }
        TInput {
            dims,
            span: i.shape.span.clone(),
            ok,
        }
    }

    fn layer(&self, cx: &mut Ctxt, l: &ast::Layer) -> TLayer {
        let Some(entry) = sig::find(sig::LAYERS, &l.name.name) else {
            let help = did_you_mean(&l.name.name, sig::names(sig::LAYERS)).or_else(|| {
                Some(format!(
                    "the layers are {}",
                    sig::LAYERS
                        .iter()
                        .map(|e| format!("`{}`", e.sig.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            });
            cx.push(
                Diagnostic::new(
                    code::UNKNOWN_LAYER,
                    format!("unknown layer `{}`", l.name.name),
                    l.name.span.clone(),
                )
                .with_label("not a layer")
                .with_help_opt(help),
            );
            return TLayer::Unknown(l.span.clone());
        };
        let empty = Vec::new();
        let args = l.args.as_ref().map_or(&empty, |a| &a.items);
        TLayer::Known(self.bound(cx, entry, args, &l.name.span, l.span.clone()))
    }

    /// Binds `args` to `entry`'s signature, keeping which callable it is.
    fn bound<C: Copy>(
        &self,
        cx: &mut Ctxt,
        entry: &'static Entry<C>,
        args: &[ast::Arg],
        name_span: &Span,
        span: Span,
    ) -> Bound<C> {
        Bound {
            callee: entry.callee,
            call: self.call(cx, &entry.sig, args, name_span, span),
        }
    }

    /// Binds the activation, initialiser or regulariser (`ty`) that `v` names or calls, looked up in
    /// `table`; an unknown name is reported, any other value returns `None` unreported.
    fn callable<C: Copy>(
        &self,
        cx: &mut Ctxt,
        table: &'static [Entry<C>],
        v: &Value,
        ty: Ty,
    ) -> Option<Bound<C>> {
        let (name, args, name_span): (&str, &[ast::Arg], &Span) = match &v.kind {
            ValueKind::Name(n) => (n, &[], &v.span),
            ValueKind::Call(n, a) => (&n.name, &a.items, &n.span),
            ValueKind::Number(_)
            | ValueKind::Arith(_)
            | ValueKind::Str(_)
            | ValueKind::List(_)
            | ValueKind::Map(_) => return None,
        };
        match sig::find(table, name) {
            Some(e) => Some(self.bound(cx, e, args, name_span, v.span.clone())),
            None => {
                let fake = Value {
                    kind: ValueKind::Name(name.to_owned()),
                    span: name_span.clone(),
                    used_at: v.used_at.clone(),
                };
                self.unknown_name(cx, &fake, name, ty);
                None
            }
        }
    }

    /// Binds `args` to `sig`'s parameters. `name_span` is where the callee was named.
    fn call(
        &self,
        cx: &mut Ctxt,
        sig: &'static Sig,
        args: &[ast::Arg],
        name_span: &Span,
        span: Span,
    ) -> TCall {
        let mut bound: Vec<TArg> = Vec::new();
        let mut seen: Vec<Option<Span>> = vec![None; sig.params.len()];
        let mut named_seen = false;
        let mut positional = 0usize;
        for a in args {
            let idx = match &a.name {
                None => {
                    if named_seen {
                        cx.push(
                            Diagnostic::new(
                                code::TOO_MANY_ARGUMENTS,
                                format!(
                                    "positional argument after a named one in `{}`",
                                    sig.name()
                                ),
                                a.span.clone(),
                            )
                            .with_help("write positional arguments first"),
                        );
                        continue;
                    }
                    if positional >= sig.params.len() {
                        let takes = match sig.params.len() {
                            0 => "takes no arguments".to_owned(),
                            1 => "takes 1 argument".to_owned(),
                            n => format!("takes at most {n} arguments"),
                        };
                        cx.push(
                            Diagnostic::new(
                                code::TOO_MANY_ARGUMENTS,
                                format!("`{}` {takes}", sig.name()),
                                a.span.clone(),
                            )
                            .with_label("one too many")
                            .with_help(signature_help(sig)),
                        );
                        positional += 1;
                        continue;
                    }
                    positional += 1;
                    positional - 1
                }
                Some(name) => {
                    named_seen = true;
                    let Some((idx, _)) = sig.param(&name.name) else {
                        let candidates = sig.params.iter().flat_map(|p| p.names.iter().copied());
                        let help = did_you_mean(&name.name, candidates)
                            .or_else(|| Some(signature_help(sig)));
                        cx.push(
                            Diagnostic::new(
                                code::UNKNOWN_ARGUMENT,
                                format!("`{}` has no argument `{}`", sig.name(), name.name),
                                name.span.clone(),
                            )
                            .with_label("unknown argument")
                            .with_help_opt(help),
                        );
                        continue;
                    };
                    idx
                }
            };
            let param = &sig.params[idx];
            if let Some(first) = &seen[idx] {
                cx.push(
                    Diagnostic::new(
                        code::DUPLICATE_ARGUMENT,
                        format!(
                            "argument `{}` of `{}` is given twice",
                            param.name(),
                            sig.name()
                        ),
                        a.span.clone(),
                    )
                    .with_label("given again here")
                    .with_secondary(first.clone(), "first given here"),
                );
                continue;
            }
            seen[idx] = Some(a.span.clone());
            let value = self.typed_arg(cx, &a.value, param.ty, sig, param.name());
            bound.push(TArg {
                param: idx,
                value,
                span: a.value.span.clone(),
            });
        }
        for (idx, param) in sig.params.iter().enumerate() {
            if param.default == Dflt::Required && seen[idx].is_none() {
                let example = match param.ty {
                    Ty::Int => "64",
                    Ty::Activation => kw::RELU,
                    Ty::Text => "\"out.csv\"",
                    Ty::IntList => "[10, 20]",
                    Ty::FloatList => "[0.1, 0.01]",
                    Ty::Float | Ty::Bool | Ty::Init | Ty::Reg | Ty::Rate => "0.2",
                };
                cx.push(
                    Diagnostic::new(
                        code::MISSING_ARGUMENT,
                        format!("`{}` needs its `{}` argument", sig.name(), param.name()),
                        name_span.clone(),
                    )
                    .with_help(format!(
                        "write it like `{}({example})` or `{}({} = {example})`",
                        sig.name(),
                        sig.name(),
                        param.name()
                    )),
                );
            }
        }
        TCall {
            sig,
            args: bound,
            span,
        }
    }

    fn typed_arg(&self, cx: &mut Ctxt, v: &Value, ty: Ty, sig: &Sig, param: &str) -> TVal {
        let before = cx.len();
        let out = self.typed(cx, v, ty);
        if out == TVal::Error && cx.len() == before {
            cx.push(wrong_type(
                ty.describe(),
                v,
                &format!("`{param}` of `{}`", sig.name()),
            ));
        }
        out
    }

    /// Types `v` as `ty`. Unknown names are reported here; a plain type mismatch returns
    /// `Error` without a report, for the caller to word.
    fn typed(&self, cx: &mut Ctxt, v: &Value, ty: Ty) -> TVal {
        match (&v.kind, ty) {
            (ValueKind::Number(text), Ty::Int) => {
                if !Value::is_integer_literal(text) {
                    return TVal::Error;
                }
                match text.parse::<i64>() {
                    Ok(n) => TVal::Int(n),
                    Err(_) => {
                        cx.push(Diagnostic::new(
                            code::BAD_NUMBER,
                            format!("the number `{text}` is too large"),
                            v.span.clone(),
                        ));
                        TVal::Error
                    }
                }
            }
            (ValueKind::Number(text), Ty::Float | Ty::Rate) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => TVal::Float(x),
                Ok(_) => {
                    cx.push(Diagnostic::new(
                        code::BAD_NUMBER,
                        format!("the number `{text}` is too large"),
                        v.span.clone(),
                    ));
                    TVal::Error
                }
                Err(_) => {
                    cx.push(Diagnostic::new(
                        code::BAD_NUMBER,
                        format!("`{text}` is not a number"),
                        v.span.clone(),
                    ));
                    TVal::Error
                }
            },
            (ValueKind::Arith(_), Ty::Float | Ty::Rate) => {
                eval(cx, v).map_or(TVal::Error, TVal::Float)
            }
            (ValueKind::Name(_) | ValueKind::Call(..), Ty::Rate) => self
                .callable(cx, sig::SCHEDULES, v, ty)
                .map_or(TVal::Error, TVal::Schedule),
            (ValueKind::Str(s), Ty::Text) | (ValueKind::Name(s), Ty::Text) => TVal::Text(s.clone()),
            (ValueKind::List(items), Ty::IntList | Ty::FloatList) => {
                let item_ty = if ty == Ty::IntList {
                    Ty::Int
                } else {
                    Ty::Float
                };
                let mut ints = Vec::new();
                let mut floats = Vec::new();
                let mut ok = true;
                for item in items {
                    match self.typed(cx, item, item_ty) {
                        TVal::Int(i) => ints.push(i),
                        TVal::Float(f) => floats.push(f),
                        other => {
                            if other == TVal::Error {
                                push_if_silent(
                                    cx,
                                    wrong_type(item_ty.describe(), item, "an item of the list"),
                                );
                            }
                            ok = false;
                        }
                    }
                }
                match (ok, ty) {
                    (false, _) => TVal::Error,
                    (true, Ty::IntList) => TVal::IntList(ints),
                    (true, _) => TVal::FloatList(floats),
                }
            }
            (ValueKind::Arith(_), Ty::Int) => match eval(cx, v) {
                Some(x) if x.fract() == 0.0 && x.abs() <= MAX_EXACT_INT => TVal::Int(x as i64),
                Some(x) if x.fract() == 0.0 => {
                    cx.push(Diagnostic::new(
                        code::BAD_NUMBER,
                        format!("`{}` is too large", crate::fmt::value(v)),
                        v.span.clone(),
                    ));
                    TVal::Error
                }
                Some(x) => {
                    cx.push(
                        Diagnostic::new(
                            code::WRONG_TYPE,
                            format!("`{}` is {x}, not a whole number", crate::fmt::value(v)),
                            v.span.clone(),
                        )
                        .with_label("expected a whole number")
                        .with_help(
                            "where a whole number is expected, an expression must give one exactly",
                        ),
                    );
                    TVal::Error
                }
                None => TVal::Error,
            },
            (ValueKind::Name(n), Ty::Bool) if n == kw::TRUE => TVal::Bool(true),
            (ValueKind::Name(n), Ty::Bool) if n == kw::FALSE => TVal::Bool(false),
            (ValueKind::Name(_) | ValueKind::Call(..), Ty::Activation) => self
                .callable(cx, sig::ACTIVATIONS, v, ty)
                .map_or(TVal::Error, TVal::Activation),
            (ValueKind::Name(_) | ValueKind::Call(..), Ty::Init) => self
                .callable(cx, sig::INITS, v, ty)
                .map_or(TVal::Error, TVal::Init),
            (ValueKind::Name(_) | ValueKind::Call(..), Ty::Reg) => self
                .callable(cx, sig::REGS, v, ty)
                .map_or(TVal::Error, TVal::Reg),
            (ValueKind::Name(n), Ty::Int | Ty::Float | Ty::Bool | Ty::IntList | Ty::FloatList) => {
                if sig::is_builtin(n) {
                    TVal::Error
                } else {
                    self.unknown_name(cx, v, n, ty)
                }
            }
            _ => TVal::Error,
        }
    }

    /// Reports a name that is not known where it is used.
    fn unknown_name(&self, cx: &mut Ctxt, v: &Value, n: &str, ty: Ty) -> TVal {
        let (want, candidates): (&Want, Vec<&str>) =
            match ty {
                Ty::Activation => (&WANT_ACTIVATION, sig::names(sig::ACTIVATIONS).collect()),
                Ty::Init => (&WANT_INITIALIZER, sig::names(sig::INITS).collect()),
                Ty::Reg => (&WANT_REGULARIZER, sig::names(sig::REGS).collect()),
                Ty::Rate => (&WANT_SCHEDULE, sig::names(sig::SCHEDULES).collect()),
                Ty::Int | Ty::Float | Ty::Bool | Ty::Text | Ty::IntList | Ty::FloatList => {
                    let help = did_you_mean(n, self.lets.iter().map(String::as_str));
                    cx.push(
                        Diagnostic::new(
                            code::UNDEFINED_NAME,
                            format!("`{n}` is not defined"),
                            v.span.clone(),
                        )
                        .with_label(format!("expected {}", ty.describe()))
                        .with_help_opt(help.or_else(|| {
                            Some(format!("define it with `let {n} = …` or write a value"))
                        })),
                    );
                    return TVal::Error;
                }
            };
        cx.push(self.unknown(want, n, v, &candidates));
        TVal::Error
    }

    fn unknown(&self, want: &Want, n: &str, v: &Value, candidates: &[&str]) -> Diagnostic {
        let help = did_you_mean(
            n,
            candidates
                .iter()
                .copied()
                .chain(self.lets.iter().map(String::as_str)),
        )
        .or_else(|| {
            Some(format!(
                "known {}: {}",
                want.plural,
                candidates
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        });
        let mut d = Diagnostic::new(
            want.code,
            format!("unknown {} `{n}`", want.what),
            v.span.clone(),
        )
        .with_label(format!("not a known {} or `let` name", want.what))
        .with_help_opt(help);
        if let Some(at) = &v.used_at {
            d = d.with_secondary(at.clone(), "used here");
        }
        d
    }

    fn train(&self, cx: &mut Ctxt, t: &ast::Train) -> Vec<TEntry> {
        let mut out: Vec<TEntry> = Vec::new();
        for e in &t.entries {
            let Some((_, setting)) = sig::SETTINGS
                .iter()
                .find(|(names, _)| names.contains(&e.key.name.as_str()))
            else {
                let help = did_you_mean(
                    &e.key.name,
                    sig::SETTINGS.iter().flat_map(|(n, _)| n.iter().copied()),
                )
                .or_else(|| {
                    Some(format!(
                        "the settings are {}",
                        sig::SETTINGS
                            .iter()
                            .map(|(n, _)| format!("`{}`", n[0]))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                });
                cx.push(
                    Diagnostic::new(
                        code::UNKNOWN_SETTING,
                        format!("unknown `train` setting `{}`", e.key.name),
                        e.key.span.clone(),
                    )
                    .with_help_opt(help),
                );
                continue;
            };
            if let Some(first) = out.iter().find(|x| x.setting == *setting) {
                cx.push(
                    Diagnostic::new(
                        code::DUPLICATE_SETTING,
                        format!("`{}` is set twice", e.key.name),
                        e.key.span.clone(),
                    )
                    .with_label("set again here")
                    .with_secondary(first.span.clone(), "first set here"),
                );
                continue;
            }
            let value = self.setting(cx, *setting, &e.value, &e.key.name);
            out.push(TEntry {
                setting: *setting,
                value,
                span: e.span.clone(),
            });
        }
        out
    }

    fn setting(&self, cx: &mut Ctxt, s: Setting, v: &Value, key: &str) -> TSetting {
        let what = format!("`{key}`");
        match s {
            Setting::Optimizer => self
                .setting_call(
                    cx,
                    sig::OPTIMIZERS,
                    v,
                    &WANT_OPTIMIZER,
                    "an optimiser (`adam`, `sgd(lr = 0.1)`)",
                    &what,
                )
                .map_or(TSetting::Error, TSetting::Optimizer),
            Setting::Loss => self
                .setting_call(
                    cx,
                    sig::LOSSES,
                    v,
                    &WANT_LOSS,
                    "a loss (`sparse_categorical_crossentropy`, `huber(delta = 0.5)`)",
                    &what,
                )
                .map_or(TSetting::Error, TSetting::Loss),
            Setting::Metrics => {
                let items: Vec<&Value> = match &v.kind {
                    ValueKind::List(items) => items.iter().collect(),
                    ValueKind::Name(_) | ValueKind::Call(..) => vec![v],
                    ValueKind::Number(_)
                    | ValueKind::Arith(_)
                    | ValueKind::Str(_)
                    | ValueKind::Map(_) => {
                        cx.push(wrong_type("a list of metrics (`[accuracy]`)", v, &what));
                        return TSetting::Error;
                    }
                };
                let mut metrics = Vec::new();
                let mut ok = true;
                for m in items {
                    match self.setting_call(
                        cx,
                        sig::METRICS,
                        m,
                        &WANT_METRIC,
                        "a metric (`accuracy`, `auc(num_thresholds = 100)`)",
                        "an item of `metrics`",
                    ) {
                        Some(call) => metrics.push(call),
                        None => ok = false,
                    }
                }
                if ok {
                    TSetting::Metrics(metrics)
                } else {
                    TSetting::Error
                }
            }
            Setting::Batch => self
                .int_setting(cx, v, &what)
                .map_or(TSetting::Error, TSetting::Batch),
            Setting::Epochs => self
                .int_setting(cx, v, &what)
                .map_or(TSetting::Error, TSetting::Epochs),
            Setting::Seed => self
                .int_setting(cx, v, &what)
                .map_or(TSetting::Error, TSetting::Seed),
            Setting::ValidationSplit => match self.typed(cx, v, Ty::Float).as_float() {
                Some(f) => TSetting::ValidationSplit(f),
                None => {
                    push_if_silent(cx, wrong_type(Ty::Float.describe(), v, &what));
                    TSetting::Error
                }
            },
            Setting::Shuffle => match self.typed(cx, v, Ty::Bool).as_bool() {
                Some(b) => TSetting::Shuffle(b),
                None => {
                    push_if_silent(cx, wrong_type(Ty::Bool.describe(), v, &what));
                    TSetting::Error
                }
            },
            Setting::Callbacks => {
                let items: Vec<&Value> = match &v.kind {
                    ValueKind::List(items) => items.iter().collect(),
                    ValueKind::Name(_) | ValueKind::Call(..) => vec![v],
                    _ => {
                        cx.push(wrong_type(
                            "a list of callbacks (`[early_stopping(patience = 2)]`)",
                            v,
                            &what,
                        ));
                        return TSetting::Error;
                    }
                };
                let mut callbacks = Vec::new();
                let mut ok = true;
                for c in items {
                    match self.setting_call(
                        cx,
                        sig::CALLBACKS,
                        c,
                        &WANT_CALLBACK,
                        "a callback (`early_stopping(patience = 2)`, `terminate_on_nan`)",
                        "an item of `callbacks`",
                    ) {
                        Some(call) => callbacks.push(call),
                        None => ok = false,
                    }
                }
                if ok {
                    TSetting::Callbacks(callbacks)
                } else {
                    TSetting::Error
                }
            }
            Setting::ClassWeight => self.class_weight(cx, v, &what),
        }
    }

    /// Binds the callable of `table` (an optimiser, a loss, a metric) that `v` names or
    /// calls. An unknown name is reported as `want`; any other value as not `expected`
    /// for `place`.
    fn setting_call<C: Copy>(
        &self,
        cx: &mut Ctxt,
        table: &'static [Entry<C>],
        v: &Value,
        want: &Want,
        expected: &str,
        place: &str,
    ) -> Option<Bound<C>> {
        let (name, args, name_span): (&str, &[ast::Arg], &Span) = match &v.kind {
            ValueKind::Name(n) => (n, &[], &v.span),
            ValueKind::Call(n, a) => (&n.name, &a.items, &n.span),
            ValueKind::Number(_)
            | ValueKind::Arith(_)
            | ValueKind::Str(_)
            | ValueKind::List(_)
            | ValueKind::Map(_) => {
                cx.push(wrong_type(expected, v, place));
                return None;
            }
        };
        if let Some(entry) = sig::find(table, name) {
            return Some(self.bound(cx, entry, args, name_span, v.span.clone()));
        }
        let fake = Value {
            kind: ValueKind::Name(name.to_owned()),
            span: name_span.clone(),
            used_at: v.used_at.clone(),
        };
        let candidates: Vec<&str> = sig::names(table).collect();
        cx.push(self.unknown(want, name, &fake, &candidates));
        None
    }

    /// Types `class_weight`: `balanced` or `{class: weight, …}`.
    fn class_weight(&self, cx: &mut Ctxt, v: &Value, what: &str) -> TSetting {
        let expected = "`balanced` or a map of class to weight (`{0: 1.0, 1: 5.0}`)";
        match &v.kind {
            ValueKind::Name(n) if n == kw::BALANCED => {
                TSetting::ClassWeight(TClassWeight::Balanced)
            }
            ValueKind::Map(entries) => {
                let mut out: Vec<(i64, f64, Span)> = Vec::new();
                let mut ok = true;
                for (k, w) in entries {
                    let class = self.typed(cx, k, Ty::Int).as_int();
                    let weight = self.typed(cx, w, Ty::Float).as_f64();
                    match (class, weight) {
                        (Some(c), Some(x)) => {
                            if let Some((_, _, first)) = out.iter().find(|e| e.0 == c) {
                                cx.push(
                                    Diagnostic::new(
                                        code::DUPLICATE_ARGUMENT,
                                        format!(
                                            "class {c} is given twice in `{}`",
                                            kw::CLASS_WEIGHT
                                        ),
                                        k.span.clone(),
                                    )
                                    .with_label("given again here")
                                    .with_secondary(first.clone(), "first given here"),
                                );
                                ok = false;
                            } else {
                                out.push((c, x, k.span.clone()));
                            }
                        }
                        (None, _) => {
                            push_if_silent(
                                cx,
                                wrong_type("a class index", k, "a key of `class_weight`"),
                            );
                            ok = false;
                        }
                        (_, None) => {
                            push_if_silent(
                                cx,
                                wrong_type(Ty::Float.describe(), w, "a weight of `class_weight`"),
                            );
                            ok = false;
                        }
                    }
                }
                if ok {
                    TSetting::ClassWeight(TClassWeight::Map(out))
                } else {
                    TSetting::Error
                }
            }
            _ => {
                push_if_silent(cx, wrong_type(expected, v, what));
                TSetting::Error
            }
        }
    }

    /// Types a whole-number setting (`what` is its name), reporting any other value.
    fn int_setting(&self, cx: &mut Ctxt, v: &Value, what: &str) -> Option<i64> {
        let i = self.typed(cx, v, Ty::Int).as_int();
        if i.is_none() {
            push_if_silent(cx, wrong_type(Ty::Int.describe(), v, what));
        }
        i
    }
}

/// The largest magnitude up to which every whole f64 is exact (2^53): a whole-number
/// expression beyond it may not be the number written.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// The value of a number literal or constant expression, computed in f64 (as Python
/// would), left to right within a precedence level. Reports a literal too large for an
/// f64, a division by zero and a result that is not finite; `None` after a report, or for
/// a value that is no number (for the caller to report).
fn eval(cx: &mut Ctxt, v: &Value) -> Option<f64> {
    match &v.kind {
        ValueKind::Number(text) => match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Some(x),
            Ok(_) | Err(_) => {
                cx.push(Diagnostic::new(
                    code::BAD_NUMBER,
                    format!("the number `{text}` is too large"),
                    v.span.clone(),
                ));
                None
            }
        },
        ValueKind::Arith(a) => {
            let x = match a {
                Arith::Chain { first, rest } => {
                    let mut acc = eval(cx, first)?;
                    for (op, operand) in rest {
                        let y = eval(cx, operand)?;
                        acc = match op {
                            BinOp::Add => acc + y,
                            BinOp::Sub => acc - y,
                            BinOp::Mul => acc * y,
                            BinOp::Div if y == 0.0 => {
                                cx.push(
                                    Diagnostic::new(
                                        code::DIVISION_BY_ZERO,
                                        "division by zero",
                                        first.span.start..operand.span.end,
                                    )
                                    .with_secondary(operand.span.clone(), "this is 0"),
                                );
                                return None;
                            }
                            BinOp::Div => acc / y,
                        };
                    }
                    acc
                }
                Arith::Neg { minus, operand } => {
                    let y = eval(cx, operand)?;
                    if minus % 2 == 1 {
                        -y
                    } else {
                        y
                    }
                }
                Arith::Paren(inner) => eval(cx, inner)?,
            };
            if x.is_finite() {
                Some(x)
            } else {
                cx.push(
                    Diagnostic::new(
                        code::OUT_OF_RANGE,
                        format!("`{}` overflows", crate::fmt::value(v)),
                        v.span.clone(),
                    )
                    .with_label("not a finite number"),
                );
                None
            }
        }
        ValueKind::Str(_)
        | ValueKind::Name(_)
        | ValueKind::List(_)
        | ValueKind::Map(_)
        | ValueKind::Call(..) => None,
    }
}

/// Pushes `d` unless the value's own mistake was already reported at the same place.
fn push_if_silent(cx: &mut Ctxt, d: Diagnostic) {
    if !cx.has_at(&d.span) {
        cx.push(d);
    }
}

fn signature_help(sig: &Sig) -> String {
    if sig.params.is_empty() {
        return format!("write `{}` without arguments", sig.name());
    }
    let params: Vec<&str> = sig.params.iter().map(sig::Param::name).collect();
    format!("`{}` takes {}", sig.name(), params.join(", "))
}

fn duplicate_section(what: &str, span: &Span, first: &Span) -> Diagnostic {
    Diagnostic::new(
        code::DUPLICATE_SECTION,
        format!("a model has one `{what}`; this is the second"),
        span.clone(),
    )
    .with_secondary(first.clone(), "first one here")
    .with_help("merge them into one")
}

/// "expected X for Y, found Z".
fn wrong_type(expected: &str, v: &Value, place: &str) -> Diagnostic {
    let found = v.describe();
    let mut d = Diagnostic::new(
        code::WRONG_TYPE,
        format!("expected {expected} for {place}, found {found}"),
        v.span.clone(),
    )
    .with_label(format!("expected {expected}"));
    if let ValueKind::Name(n) = &v.kind {
        if sig::find(sig::ACTIVATIONS, n).is_some() {
            d = d.with_help(format!("`{n}` is an activation; write `activation = {n}`"));
        } else if sig::find(sig::INITS, n).is_some() {
            d = d.with_help(format!("`{n}` is an initialiser; write `init = {n}`"));
        } else if sig::find(sig::REGS, n).is_some() {
            d = d.with_help(format!("`{n}` is a regulariser; write `reg = {n}`"));
        }
    } else if let ValueKind::Str(s) = &v.kind {
        d = d.with_help(format!(
            "names and numbers are written without quotes: `{s}`"
        ));
    } else if let ValueKind::Number(t) = &v.kind {
        if expected == Ty::Int.describe() {
            d = d.with_help(format!(
                "`{t}` has a fraction or an exponent; write a whole number"
            ));
        }
    }
    if let Some(at) = &v.used_at {
        d = d.with_secondary(at.clone(), "used here");
    }
    d
}
