//! Pass 4b: the semantic rules, each a small `check_<rule>` function called from one flat
//! list in [`check`].
//!
//! Input: bound models (pass 4a). Checks skip values already reported as wrong
//! ([`TVal::Error`], [`TLayer::Unknown`]), and shape inference treats them as unknown, so
//! one mistake produces one diagnostic. Invariant left behind when nothing was reported:
//! everything `ir.rs` promises (shapes, ranges, a fitting loss) holds, so `build` cannot
//! fail.

use crate::ast::Span;
use crate::bind::{TArg, TCall, TEntry, TLayer, TModel, TSetting, TVal};
use crate::build::{self, layer_kind};
use crate::diag::{code, Ctxt, Diagnostic};
use crate::ir::{Activation, Loss, Metric};
use crate::kw;
use crate::sig::{InitCallee, LayerCallee, Setting};
use crate::{MAX_EXTENT, MAX_PARAMS};

/// Runs every rule over every model.
pub(crate) fn check(cx: &mut Ctxt, models: &[TModel]) {
    check_file_has_model(cx, models);
    check_duplicate_models(cx, models);
    for m in models {
        check_has_input(cx, m);
        check_input_extents(cx, m);
        check_has_layers(cx, m);
        check_finite_numbers(cx, m);
        check_dense_units(cx, m);
        check_dropout_rate(cx, m);
        check_batchnorm_momentum(cx, m);
        check_positive_epsilon(cx, m);
        check_leaky_slope(cx, m);
        check_reg_factors(cx, m);
        check_uniform_bounds(cx, m);
        check_stddev(cx, m);
        check_learning_rate(cx, m);
        check_decay_rates(cx, m);
        check_batch_and_epochs(cx, m);
        check_seed(cx, m);
        check_validation_split(cx, m);
        check_huber_delta(cx, m);
        check_metric_thresholds(cx, m);
        check_normalization_axis(cx, m);
        check_normalization_comes_first(cx, m);
        check_dense_input_rank(cx, m);
        check_model_size(cx, m);
        check_loss_fits_output(cx, m);
        check_duplicate_metrics(cx, m);
        check_metrics_fit(cx, m);
        check_optimizer_options(cx, m);
        check_schedules(cx, m);
        check_callbacks(cx, m);
        check_class_weight(cx, m);
    }
}

// A file must define a model: `let reg = l2` alone.
fn check_file_has_model(cx: &mut Ctxt, models: &[TModel]) {
    if models.is_empty() {
        cx.push(
            Diagnostic::new(code::NO_MODEL, "the file defines no model", 0..0)
                .with_help("add `model Name { input [28, 28] … }`"),
        );
    }
}

// Model names are unique in a file: `model A {…} model A {…}`.
fn check_duplicate_models(cx: &mut Ctxt, models: &[TModel]) {
    for (i, m) in models.iter().enumerate() {
        if let Some(first) = models[..i].iter().find(|f| f.name.name == m.name.name) {
            cx.push(
                Diagnostic::new(
                    code::DUPLICATE_MODEL,
                    format!("model `{}` is defined twice", m.name.name),
                    m.name.span.clone(),
                )
                .with_label("defined again here")
                .with_secondary(first.name.span.clone(), "first defined here")
                .with_help("rename one of them"),
            );
        }
    }
}

// A model declares the shape of its input: `model A { Dense(10) }`.
fn check_has_input(cx: &mut Ctxt, m: &TModel) {
    if m.input.is_none() {
        cx.push(
            Diagnostic::new(
                code::NO_INPUT,
                format!("model `{}` has no `input`", m.name.name),
                m.name.span.clone(),
            )
            .with_help("declare the shape of one sample first, e.g. `input [28, 28]`"),
        );
    }
}

// Input extents are whole numbers in 1..=MAX_EXTENT, at least one: `input [0]`, `input []`.
fn check_input_extents(cx: &mut Ctxt, m: &TModel) {
    let Some(input) = &m.input else { return };
    if input.ok && input.dims.is_empty() {
        cx.push(
            Diagnostic::new(
                code::OUT_OF_RANGE,
                "the input shape is empty",
                input.span.clone(),
            )
            .with_help("give the extent of each axis of one sample, e.g. `[28, 28]` or `[784]`"),
        );
    }
    for (n, span) in &input.dims {
        if *n < 1 || *n > MAX_EXTENT as i64 {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    format!("an input extent must be between 1 and {MAX_EXTENT}, found {n}"),
                    span.clone(),
                )
                .with_label("out of range"),
            );
        }
    }
    let size = input
        .dims
        .iter()
        .try_fold(1i64, |acc, (n, _)| acc.checked_mul((*n).max(1)));
    if size.is_none_or(|s| s > MAX_EXTENT as i64)
        && input
            .dims
            .iter()
            .all(|(n, _)| *n >= 1 && *n <= MAX_EXTENT as i64)
    {
        cx.push(
            Diagnostic::new(
                code::OUT_OF_RANGE,
                format!("one input sample may hold at most {MAX_EXTENT} numbers"),
                input.span.clone(),
            )
            .with_label("too large"),
        );
    }
}

// A model has at least one layer: `model A { input [4] }`.
fn check_has_layers(cx: &mut Ctxt, m: &TModel) {
    if m.layers.is_empty() {
        cx.push(
            Diagnostic::new(
                code::NO_LAYERS,
                format!("model `{}` has no layers", m.name.name),
                m.name.span.clone(),
            )
            .with_help(
                "add layers after `input`, e.g. `Flatten` and `Dense(10, activation = softmax)`",
            ),
        );
    }
}

// Every number is finite as an f32: `l2(1e40)`.
fn check_finite_numbers(cx: &mut Ctxt, m: &TModel) {
    for call in m.calls() {
        for a in &call.args {
            if let TVal::Float(f) = a.value {
                if !(f as f32).is_finite() {
                    let p = call.sig.params[a.param].name();
                    cx.push(
                        Diagnostic::new(
                            code::OUT_OF_RANGE,
                            format!("{} is too large for a 32-bit float", param_name(call, p)),
                            a.span.clone(),
                        )
                        .with_label("not finite as f32")
                        .with_help("f32 numbers must stay below 3.4e38 in magnitude"),
                    );
                }
            }
        }
    }
    for e in &m.train {
        if let TSetting::ValidationSplit(f) = e.value {
            if !f.is_finite() {
                cx.push(Diagnostic::new(
                    code::OUT_OF_RANGE,
                    "this number is too large for a 32-bit float",
                    e.span.clone(),
                ));
            }
        }
    }
}

/// Reports `arg` (parameter `param` of `call`, by any of its names) as out of range
/// unless `ok`.
fn range(cx: &mut Ctxt, call: &TCall, param: &str, rule: &str, ok: impl Fn(f64) -> bool) {
    let Some(a) = call.arg(param) else { return };
    let param = call.sig.params[a.param].name();
    let (v, shown) = match a.value {
        TVal::Float(f) if f.is_finite() => (f, format!("{f:?}")),
        TVal::Int(i) => (i as f64, i.to_string()),
        _ => return,
    };
    if !ok(v) {
        cx.push(out_of_range(a, &param_name(call, param), rule, &shown));
    }
}

/// "`rate` of `Dropout`", or "the factor of `l2`" where the parameter is named like
/// its call.
fn param_name(call: &TCall, param: &str) -> String {
    if param == call.sig.name() {
        format!("the factor of `{param}`")
    } else {
        format!("`{param}` of `{}`", call.sig.name())
    }
}

fn out_of_range(a: &TArg, what: &str, rule: &str, shown: &str) -> Diagnostic {
    Diagnostic::new(
        code::OUT_OF_RANGE,
        format!("{what} must be {rule}, found {shown}"),
        a.span.clone(),
    )
    .with_label("out of range")
}

/// The calls of the layers `callee` names.
fn layers_of(m: &TModel, callee: LayerCallee) -> impl Iterator<Item = &TCall> {
    m.known_layers()
        .filter(move |l| l.callee == callee)
        .map(|l| &l.call)
}

// Dense has 1..=MAX_EXTENT units: `Dense(0)`.
fn check_dense_units(cx: &mut Ctxt, m: &TModel) {
    for c in layers_of(m, LayerCallee::Dense) {
        range(
            cx,
            c,
            kw::UNITS,
            &format!("between 1 and {MAX_EXTENT}"),
            |v| (1.0..=MAX_EXTENT as f64).contains(&v),
        );
    }
}

// Dropout's rate is in [0, 1): `Dropout(1.0)`, `Dropout(-0.1)`.
fn check_dropout_rate(cx: &mut Ctxt, m: &TModel) {
    for c in layers_of(m, LayerCallee::Dropout) {
        range(cx, c, kw::RATE, "in [0, 1)", |v| (0.0..1.0).contains(&v));
    }
}

// BatchNorm's momentum is in [0, 1): `BatchNorm(momentum = 1.5)`.
fn check_batchnorm_momentum(cx: &mut Ctxt, m: &TModel) {
    for c in layers_of(m, LayerCallee::BatchNorm) {
        range(cx, c, kw::MOMENTUM, "in [0, 1)", |v| {
            (0.0..1.0).contains(&v)
        });
    }
}

// Every epsilon is > 0: `BatchNorm(epsilon = 0)`, `adam(epsilon = -1)`.
fn check_positive_epsilon(cx: &mut Ctxt, m: &TModel) {
    for c in m.calls() {
        range(cx, c, kw::EPSILON, "greater than 0", |v| v > 0.0);
    }
}

// LeakyReLU's slope is ≥ 0 (Keras 3 rejects negative slopes): `LeakyReLU(-0.2)`.
fn check_leaky_slope(cx: &mut Ctxt, m: &TModel) {
    for c in layers_of(m, LayerCallee::LeakyRelu) {
        range(cx, c, kw::SLOPE, "at least 0", |v| v >= 0.0);
    }
}

// Regularisation factors are ≥ 0: `l2(-0.001)`.
fn check_reg_factors(cx: &mut Ctxt, m: &TModel) {
    for r in m.regs() {
        range(cx, &r.call, kw::L1, "at least 0", |v| v >= 0.0);
        range(cx, &r.call, kw::L2, "at least 0", |v| v >= 0.0);
    }
}

// A uniform initialiser's bounds are ordered: `uniform(0.1, -0.1)`.
fn check_uniform_bounds(cx: &mut Ctxt, m: &TModel) {
    let uniforms = m.inits().filter(|i| i.callee == InitCallee::Uniform);
    for c in uniforms.map(|i| &i.call) {
        let (Some(lo), Some(hi)) = (c.float(kw::MIN), c.float(kw::MAX)) else {
            continue;
        };
        if lo.is_finite() && hi.is_finite() && lo >= hi {
            let span = c
                .arg(kw::MAX)
                .or(c.arg(kw::MIN))
                .map_or(c.span.clone(), |a| a.span.clone());
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    format!("`uniform` needs min < max, found min {lo} and max {hi}"),
                    span,
                )
                .with_help("write `uniform(min, max)` with min below max"),
            );
        }
    }
}

// An initialiser's stddev (`normal`, `truncated_normal`) is > 0: `normal(stddev = 0)`.
fn check_stddev(cx: &mut Ctxt, m: &TModel) {
    for i in m.inits() {
        range(cx, &i.call, kw::STDDEV, "greater than 0", |v| v > 0.0);
    }
}

// Learning rates are > 0: `adam(lr = 0)`.
fn check_learning_rate(cx: &mut Ctxt, m: &TModel) {
    for o in m.optimizers() {
        range(cx, &o.call, kw::LR, "greater than 0", |v| v > 0.0);
    }
}

// Optimiser decay rates and momenta are in [0, 1): `adam(beta1 = 1)`, `sgd(momentum = 2)`.
fn check_decay_rates(cx: &mut Ctxt, m: &TModel) {
    for o in m.optimizers() {
        for p in [kw::BETA1, kw::BETA2, kw::RHO, kw::MOMENTUM] {
            range(cx, &o.call, p, "in [0, 1)", |v| (0.0..1.0).contains(&v));
        }
    }
}

// Weight decay is ≥ 0, clipping values > 0, and Keras takes one clipping mode only:
// `adam(clipnorm = 1, clipvalue = 0.5)`; Adagrad's accumulators start ≥ 0.
fn check_optimizer_options(cx: &mut Ctxt, m: &TModel) {
    for o in m.optimizers() {
        let c = &o.call;
        range(cx, c, kw::WEIGHT_DECAY, "at least 0", |v| v >= 0.0);
        range(cx, c, kw::INITIAL_ACCUMULATOR_VALUE, "at least 0", |v| {
            v >= 0.0
        });
        let clips: Vec<&TArg> = [kw::CLIPNORM, kw::GLOBAL_CLIPNORM, kw::CLIPVALUE]
            .iter()
            .filter_map(|p| c.arg(p))
            .collect();
        for p in [kw::CLIPNORM, kw::GLOBAL_CLIPNORM, kw::CLIPVALUE] {
            range(cx, c, p, "greater than 0", |v| v > 0.0);
        }
        if let [first, second, ..] = clips.as_slice() {
            let name = |a: &TArg| c.sig.params[a.param].name();
            cx.push(
                Diagnostic::new(
                    code::CONFLICTING_OPTIONS,
                    format!(
                        "`{}` takes one of `clipnorm`, `global_clipnorm` and `clipvalue`, not both `{}` and `{}`",
                        c.sig.name(),
                        name(first),
                        name(second)
                    ),
                    second.span.clone(),
                )
                .with_label("second clipping mode")
                .with_secondary(first.span.clone(), "first set here")
                .with_help("Keras allows only one gradient-clipping mode per optimiser: keep one"),
            );
        }
    }
}

// Schedules: rates > 0 (a warm-up may start from 0, as in Keras's own `CosineDecay`
// example), periods ≥ 1, `piecewise_constant` with one more value than boundaries,
// boundaries increasing; `cosine_decay_restarts`' multipliers > 0: `cosine_decay(0, 100)`.
fn check_schedules(cx: &mut Ctxt, m: &TModel) {
    let schedules = m.optimizers().filter_map(|o| match o.call.value(kw::LR) {
        Some(TVal::Schedule(s)) => Some(s),
        _ => None,
    });
    for s in schedules {
        let c = &s.call;
        if c.arg(kw::WARMUP_TARGET).is_some() {
            range(cx, c, kw::INITIAL_LEARNING_RATE, "at least 0", |v| v >= 0.0);
        } else {
            range(cx, c, kw::INITIAL_LEARNING_RATE, "greater than 0", |v| {
                v > 0.0
            });
        }
        range(cx, c, kw::WARMUP_TARGET, "greater than 0", |v| v > 0.0);
        for p in [kw::DECAY_STEPS, kw::FIRST_DECAY_STEPS] {
            range(cx, c, p, "at least 1", |v| v >= 1.0);
        }
        range(cx, c, kw::WARMUP_STEPS, "at least 0", |v| v >= 0.0);
        range(cx, c, kw::DECAY_RATE, "at least 0", |v| v >= 0.0);
        range(cx, c, kw::END_LEARNING_RATE, "at least 0", |v| v >= 0.0);
        range(cx, c, kw::ALPHA, "in [0, 1]", |v| (0.0..=1.0).contains(&v));
        for p in [kw::T_MUL, kw::M_MUL, kw::POWER] {
            range(cx, c, p, "greater than 0", |v| v > 0.0);
        }
        let (Some(b), Some(v)) = (c.arg(kw::BOUNDARIES), c.arg(kw::VALUES)) else {
            continue;
        };
        let (TVal::IntList(bs), TVal::FloatList(vs)) = (&b.value, &v.value) else {
            continue;
        };
        if vs.len() != bs.len() + 1 {
            cx.push(
                Diagnostic::new(
                    code::LENGTH_MISMATCH,
                    format!(
                        "`piecewise_constant` needs one more value than boundaries, found {} boundaries and {} values",
                        bs.len(),
                        vs.len()
                    ),
                    v.span.clone(),
                )
                .with_secondary(b.span.clone(), "the boundaries")
                .with_help("`values[0]` applies up to `boundaries[0]`, `values[i]` up to `boundaries[i]`, the last one after the last boundary"),
            );
        }
        if bs.iter().any(|&x| x < 0) || bs.windows(2).any(|w| w[0] >= w[1]) {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    "`piecewise_constant`'s boundaries must be steps ≥ 0 in increasing order",
                    b.span.clone(),
                )
                .with_label("not increasing steps"),
            );
        }
        if vs.iter().any(|&x| !(x >= 0.0 && (x as f32).is_finite())) {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    "`piecewise_constant`'s values must be learning rates ≥ 0",
                    v.span.clone(),
                )
                .with_label("out of range"),
            );
        }
    }
}

/// The quantities `fit` logs for `m`: `loss`, each metric's Keras key, and their `val_`
/// forms.
fn logged_keys(m: &TModel) -> Vec<String> {
    let metrics: Vec<String> = match m.metrics() {
        Some(ms) => ms
            .iter()
            .map(|c| build::metric(c).keras_name().to_owned())
            .collect(),
        None if m.setting(Setting::Metrics).is_some() => Vec::new(),
        None => vec![Metric::Accuracy.keras_name().to_owned()],
    };
    let mut keys = vec!["loss".to_owned()];
    keys.extend(metrics);
    let val: Vec<String> = keys.iter().map(|k| format!("val_{k}")).collect();
    keys.extend(val);
    keys
}

// Callbacks: the monitored quantity is one `fit` logs (with did-you-mean), `mode` is
// `auto`/`min`/`max`, `factor` in (0, 1), patience and cooldown ≥ 0, paths non-empty;
// `reduce_lr_on_plateau` needs a constant learning rate (Keras cannot set a schedule's).
fn check_callbacks(cx: &mut Ctxt, m: &TModel) {
    let Some(callbacks) = m.callbacks() else {
        return;
    };
    let keys = logged_keys(m);
    let scheduled = m
        .optimizers()
        .any(|o| matches!(o.call.value(kw::LR), Some(TVal::Schedule(_))));
    for cb in callbacks {
        let c = &cb.call;
        if let Some(a) = c.arg(kw::MONITOR) {
            if let TVal::Text(name) = &a.value {
                if !keys.iter().any(|k| k == name) {
                    let help = crate::diag::did_you_mean(name, keys.iter().map(String::as_str))
                        .or_else(|| {
                            Some(format!(
                                "`fit` logs {}",
                                keys.iter()
                                    .map(|k| format!("`{k}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        });
                    cx.push(
                        Diagnostic::new(
                            code::UNKNOWN_MONITOR,
                            format!(
                                "`{}` monitors `{name}`, which this model does not log",
                                c.sig.name()
                            ),
                            a.span.clone(),
                        )
                        .with_label("not a logged quantity")
                        .with_help_opt(help),
                    );
                }
            }
        }
        if let Some(a) = c.arg(kw::MODE) {
            if let TVal::Text(mode) = &a.value {
                if ![kw::AUTO, kw::MIN, kw::MAX].contains(&mode.as_str()) {
                    cx.push(
                        Diagnostic::new(
                            code::OUT_OF_RANGE,
                            format!(
                                "`mode` of `{}` must be `auto`, `min` or `max`, found `{mode}`",
                                c.sig.name()
                            ),
                            a.span.clone(),
                        )
                        .with_label("unknown mode"),
                    );
                }
            }
        }
        range(cx, c, kw::FACTOR, "in [0, 1)", |v| (0.0..1.0).contains(&v));
        for p in [kw::PATIENCE, kw::COOLDOWN, kw::START_FROM_EPOCH] {
            range(cx, c, p, "at least 0", |v| v >= 0.0);
        }
        range(cx, c, kw::MIN_LR, "at least 0", |v| v >= 0.0);
        range(cx, c, kw::MIN_DELTA, "at least 0", |v| v >= 0.0);
        for p in [kw::PATH, kw::FILENAME, kw::LOG_DIR, kw::SEPARATOR] {
            if let Some(a) = c.arg(p) {
                if a.value == TVal::Text(String::new()) {
                    cx.push(
                        Diagnostic::new(
                            code::OUT_OF_RANGE,
                            format!("`{p}` of `{}` must not be empty", c.sig.name()),
                            a.span.clone(),
                        )
                        .with_label("empty"),
                    );
                }
            }
        }
        if scheduled && cb.callee == crate::sig::CallbackCallee::ReduceLrOnPlateau {
            cx.push(
                Diagnostic::new(
                    code::CONFLICTING_OPTIONS,
                    "`reduce_lr_on_plateau` cannot change a scheduled learning rate",
                    c.span.clone(),
                )
                .with_help("use a constant `learning_rate`, or the schedule alone (Keras refuses to set a schedule's rate too)"),
            );
        }
    }
}

// Class weights are ≥ 0 and finite, classes ≥ 0: `class_weight = {0: -1}`. Training does
// not apply class weights yet, so any `class_weight` is refused rather than ignored.
fn check_class_weight(cx: &mut Ctxt, m: &TModel) {
    if let Some(e) = m.setting(Setting::ClassWeight) {
        cx.push(
            Diagnostic::new(
                code::CONFLICTING_OPTIONS,
                "`class_weight` is not supported yet: training would ignore it",
                e.span.clone(),
            )
            .with_label("not applied by this version of mlp")
            .with_help("remove it, or weight the classes by resampling the training data"),
        );
    }
    let Some(TSetting::ClassWeight(crate::bind::TClassWeight::Map(entries))) =
        m.setting(Setting::ClassWeight).map(|e| &e.value)
    else {
        return;
    };
    for (class, weight, span) in entries {
        if !(0..=i64::from(u32::MAX)).contains(class) {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    format!("class {class} is not a class index"),
                    span.clone(),
                )
                .with_label("classes are 0, 1, 2, …"),
            );
        }
        if !(*weight >= 0.0 && (*weight as f32).is_finite()) {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    format!("the weight of class {class} must be a number ≥ 0, found {weight}"),
                    span.clone(),
                )
                .with_label("out of range"),
            );
        }
    }
}

/// The whole-number setting `s` (`batch`, `epochs`, `seed`), if written without mistakes.
fn int_setting(m: &TModel, s: Setting) -> Option<(i64, &TEntry)> {
    let e = m.setting(s)?;
    match e.value {
        TSetting::Batch(i) | TSetting::Epochs(i) | TSetting::Seed(i) => Some((i, e)),
        _ => None,
    }
}

// Batch size and epochs are ≥ 1: `batch = 0`.
fn check_batch_and_epochs(cx: &mut Ctxt, m: &TModel) {
    for (s, name) in [(Setting::Batch, kw::BATCH), (Setting::Epochs, kw::EPOCHS)] {
        if let Some((i, e)) = int_setting(m, s) {
            if !(1..=i64::from(u32::MAX)).contains(&i) {
                cx.push(
                    Diagnostic::new(
                        code::OUT_OF_RANGE,
                        format!("`{name}` must be between 1 and {}, found {i}", u32::MAX),
                        e.span.clone(),
                    )
                    .with_label("out of range"),
                );
            }
        }
    }
}

// The seed is ≥ 0: `seed = -1`.
fn check_seed(cx: &mut Ctxt, m: &TModel) {
    if let Some((i, e)) = int_setting(m, Setting::Seed) {
        if i < 0 {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    format!("`seed` must be at least 0, found {i}"),
                    e.span.clone(),
                )
                .with_label("out of range"),
            );
        }
    }
}

// The validation split is in (0, 1): `validation_split = 1.5`.
fn check_validation_split(cx: &mut Ctxt, m: &TModel) {
    let Some(e) = m.setting(Setting::ValidationSplit) else {
        return;
    };
    if let TSetting::ValidationSplit(f) = e.value {
        if f.is_finite() && !(f > 0.0 && f < 1.0) {
            cx.push(
                Diagnostic::new(
                    code::OUT_OF_RANGE,
                    format!("`validation_split` must be between 0 and 1 (exclusive), found {f}"),
                    e.span.clone(),
                )
                .with_label("out of range")
                .with_help("leave it out to validate on the test set"),
            );
        }
    }
}

/// Input shape of every layer and the output shape of the last, `None` where unknown
/// (after a mistake already reported). Extents saturate rather than overflow.
pub(crate) fn infer_shapes(m: &TModel) -> (Vec<Option<Vec<usize>>>, Option<Vec<usize>>) {
    let mut cur: Option<Vec<usize>> = m.input.as_ref().and_then(|i| {
        let ok = i.ok
            && !i.dims.is_empty()
            && i.dims
                .iter()
                .all(|(n, _)| (1..=MAX_EXTENT as i64).contains(n));
        ok.then(|| i.dims.iter().map(|(n, _)| *n as usize).collect())
    });
    let mut inputs = Vec::with_capacity(m.layers.len());
    for layer in &m.layers {
        inputs.push(cur.clone());
        cur = match layer {
            TLayer::Known(l) if units_known(&l.call) => {
                layer_kind(l, cur.as_deref()).output_shape_after(cur.as_deref())
            }
            TLayer::Known(_) | TLayer::Unknown(_) => None,
        };
    }
    (inputs, cur)
}

/// Whether the layer's `units`, if it takes one, is known and in range; a wrong one was
/// reported, and leaves the output shape unknown.
fn units_known(c: &TCall) -> bool {
    c.sig.param(kw::UNITS).is_none()
        || c.int(kw::UNITS)
            .is_some_and(|u| (1..=MAX_EXTENT as i64).contains(&u))
}

// Dense takes a 1-D input: `input [28, 28]  Dense(64)` without `Flatten`.
fn check_dense_input_rank(cx: &mut Ctxt, m: &TModel) {
    let (inputs, _) = infer_shapes(m);
    for (layer, input) in m.layers.iter().zip(&inputs) {
        let (TLayer::Known(l), Some(shape)) = (layer, input) else {
            continue;
        };
        let c = &l.call;
        if l.callee == LayerCallee::Dense && shape.len() > 1 {
            let shown: Vec<String> = shape.iter().map(ToString::to_string).collect();
            cx.push(
                Diagnostic::new(
                    code::SHAPE_MISMATCH,
                    format!(
                        "`Dense` needs a flat input, but its input has shape [{}]",
                        shown.join(", ")
                    ),
                    c.span.clone(),
                )
                .with_label("multi-dimensional input")
                .with_help("add a `Flatten` layer before it"),
            );
        }
    }
}

// A model has at most MAX_PARAMS parameters: `Dense(10000000)` after a large input.
fn check_model_size(cx: &mut Ctxt, m: &TModel) {
    let (inputs, _) = infer_shapes(m);
    let mut total: u128 = 0;
    for (layer, input) in m.layers.iter().zip(&inputs) {
        let (TLayer::Known(l), Some(shape)) = (layer, input) else {
            continue;
        };
        let (t, n) = layer_kind(l, Some(shape)).param_counts_wide(shape);
        total += t + n;
    }
    if total > MAX_PARAMS as u128 {
        cx.push(
            Diagnostic::new(
                code::MODEL_TOO_LARGE,
                format!(
                    "model `{}` has {total} parameters; the limit is {MAX_PARAMS}",
                    m.name.name
                ),
                m.name.span.clone(),
            )
            .with_help("use fewer or smaller layers"),
        );
    }
}

/// What ends the model, for the loss check.
fn final_activation(layers: &[TLayer]) -> Option<(Activation, &TCall)> {
    let TLayer::Known(l) = layers.last()? else {
        return None;
    };
    // An `activation` already reported as unknown decides nothing.
    if l.call
        .arg(kw::ACTIVATION)
        .is_some_and(|a| matches!(a.value, TVal::Error))
    {
        return None;
    }
    let act = layer_kind(l, None)
        .final_activation()
        .unwrap_or(Activation::Linear);
    Some((act, &l.call))
}

// The loss fits the output: sparse_categorical_crossentropy after `Dense(10)` (no softmax).
fn check_loss_fits_output(cx: &mut Ctxt, m: &TModel) {
    if m.layers.iter().any(|l| matches!(l, TLayer::Unknown(_))) {
        return;
    }
    let Some((loss, written)) = loss_of(m) else {
        return;
    };
    let (_, output) = infer_shapes(m);
    let (Some(output), Some((act, last))) = (output, final_activation(&m.layers)) else {
        return;
    };
    let name = loss.keras_name();
    let default_note = if written.is_none() {
        " (the default loss)"
    } else {
        ""
    };
    let ends_in_probabilities = matches!(act, Activation::Sigmoid | Activation::Softmax);
    let problem = match loss {
        Loss::SparseCategoricalCrossentropy { from_logits: true }
        | Loss::CategoricalCrossentropy { from_logits: true }
        | Loss::BinaryCrossentropy { from_logits: true }
            if ends_in_probabilities =>
        {
            Some((
                format!("`{name}(from_logits = true)` needs logits, but the last layer ends in an activation that makes probabilities"),
                "drop the final activation (a linear `Dense`), or leave `from_logits` false".to_owned(),
            ))
        }
        Loss::SparseCategoricalCrossentropy { from_logits }
        | Loss::CategoricalCrossentropy { from_logits } => {
            if act != Activation::Softmax && !from_logits {
                Some((
                    format!("`{name}`{default_note} needs a softmax output, but the last layer does not end in softmax"),
                    "end the model with `Dense(n, activation = softmax)` or a `Softmax` layer, or write `from_logits = true` for a linear output".to_owned(),
                ))
            } else if output.len() != 1 || output[0] < 2 {
                Some((
                    format!("`{name}`{default_note} needs at least 2 output units, found output shape {output:?}"),
                    "for two classes, use `binary_crossentropy` after `Dense(1, activation = sigmoid)`".to_owned(),
                ))
            } else {
                None
            }
        }
        Loss::BinaryCrossentropy { from_logits } => (!ends_in_probabilities && !from_logits)
            .then(|| {
                (
                    format!("`{name}` needs probabilities, but the last layer does not end in sigmoid"),
                    "end the model with `Dense(1, activation = sigmoid)`, or write `from_logits = true` for a linear output".to_owned(),
                )
            }),
        Loss::MeanSquaredError | Loss::MeanAbsoluteError | Loss::Huber { .. } => None,
    };
    if let Some((message, help)) = problem {
        let mut d = Diagnostic::new(code::LOSS_MISMATCH, message, last.span.clone())
            .with_label("the last layer")
            .with_help(help);
        if let Some(span) = written {
            d = d.with_secondary(span, "the loss is chosen here");
        }
        cx.push(d);
    }
}

/// The model's loss, and the span of its setting when one was written; Keras's default
/// without one. `None` when the setting was written with a mistake (already reported).
fn loss_of(m: &TModel) -> Option<(Loss, Option<Span>)> {
    match m.setting(Setting::Loss) {
        None => Some((
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            None,
        )),
        Some(e) => m.loss().map(|l| (build::loss(l), Some(e.span.clone()))),
    }
}

// Huber's delta is > 0: `huber(delta = 0)`.
fn check_huber_delta(cx: &mut Ctxt, m: &TModel) {
    if let Some(TSetting::Loss(l)) = m.setting(Setting::Loss).map(|e| &e.value) {
        range(cx, &l.call, kw::DELTA, "greater than 0", |v| v > 0.0);
    }
}

// Metric thresholds are in [0, 1] and `auc`'s `num_thresholds` in 2..=MAX_EXTENT:
// `precision(thresholds = 1.5)`, `auc(num_thresholds = 1)`.
fn check_metric_thresholds(cx: &mut Ctxt, m: &TModel) {
    let Some(metrics) = m.metrics() else { return };
    for c in metrics.iter().map(|x| &x.call) {
        range(cx, c, kw::THRESHOLD, "in [0, 1]", |v| {
            (0.0..=1.0).contains(&v)
        });
        range(
            cx,
            c,
            kw::NUM_THRESHOLDS,
            &format!("between 2 and {MAX_EXTENT}"),
            |v| (2.0..=MAX_EXTENT as f64).contains(&v),
        );
    }
}

// `Normalization` normalises the last axis only: `Normalization(axis = 0)`.
fn check_normalization_axis(cx: &mut Ctxt, m: &TModel) {
    let (inputs, _) = infer_shapes(m);
    for (layer, input) in m.layers.iter().zip(&inputs) {
        let TLayer::Known(l) = layer else { continue };
        if l.callee != LayerCallee::Normalization {
            continue;
        }
        let Some(a) = l.call.arg(kw::AXIS) else {
            continue;
        };
        let TVal::Int(axis) = a.value else { continue };
        if axis == -1 {
            continue;
        }
        let help = match input {
            Some(shape) if usize::try_from(axis).ok() == Some(shape.len()) => {
                format!("with the batch axis counted, axis {axis} is the last one here; write -1")
            }
            _ => "mlp normalises each feature of the last axis, Keras's default; leave `axis` out"
                .to_owned(),
        };
        cx.push(
            Diagnostic::new(
                code::OUT_OF_RANGE,
                format!("`Normalization` supports only `axis = -1` (the last axis), found {axis}"),
                a.span.clone(),
            )
            .with_label("unsupported axis")
            .with_help(help),
        );
    }
}

// `Normalization` comes first, after nothing but `Flatten` and `Rescale`:
// `Dense(8) Normalization()`, two `Normalization`s.
fn check_normalization_comes_first(cx: &mut Ctxt, m: &TModel) {
    for (i, layer) in m.layers.iter().enumerate() {
        let TLayer::Known(l) = layer else { continue };
        if l.callee != LayerCallee::Normalization {
            continue;
        }
        let before = m.layers[..i].iter().find_map(|b| match b {
            TLayer::Known(b)
                if !matches!(b.callee, LayerCallee::Flatten | LayerCallee::Rescale) =>
            {
                Some(b)
            }
            TLayer::Known(_) | TLayer::Unknown(_) => None,
        });
        let Some(before) = before else { continue };
        cx.push(
            Diagnostic::new(
                code::MISPLACED_LAYER,
                "`Normalization` must come first: only `Flatten` and `Rescale` may come before it",
                l.call.span.clone(),
            )
            .with_label("placed too late")
            .with_secondary(
                before.call.span.clone(),
                format!("`{}` comes before it", before.call.sig.name()),
            )
            .with_help(
                "mlp adapts `Normalization` (its mean and variance) on the raw input features \
                 before training, passed only through `Flatten` and `Rescale`; move it right \
                 after `input`",
            ),
        );
    }
}

// Each metric is listed once (by the name Keras reports it under): `metrics = [acc, accuracy]`.
fn check_duplicate_metrics(cx: &mut Ctxt, m: &TModel) {
    let Some(metrics) = m.metrics() else { return };
    for (i, x) in metrics.iter().enumerate() {
        let name = build::metric(x).keras_name();
        let Some(first) = metrics[..i]
            .iter()
            .find(|f| build::metric(f).keras_name() == name)
        else {
            continue;
        };
        cx.push(
            Diagnostic::new(
                code::DUPLICATE_METRIC,
                format!("the metric `{name}` is listed twice"),
                x.call.span.clone(),
            )
            .with_label("listed again here")
            .with_secondary(first.call.span.clone(), "first listed here")
            .with_help("Keras would report both under one name; keep one"),
        );
    }
}

// Each metric fits the targets the loss trains on and the output:
// `sparse_categorical_accuracy` after `Dense(1, activation = sigmoid)`, `precision` under
// `sparse_categorical_crossentropy` (class indices, not one target per output).
fn check_metrics_fit(cx: &mut Ctxt, m: &TModel) {
    if m.layers.iter().any(|l| matches!(l, TLayer::Unknown(_))) {
        return;
    }
    let (Some(metrics), Some((loss, written))) = (m.metrics(), loss_of(m)) else {
        return;
    };
    let (_, output) = infer_shapes(m);
    let Some(output) = output else { return };
    let loss_name = loss.keras_name();
    let default_note = if written.is_none() {
        " (the default loss)"
    } else {
        ""
    };
    let indices = matches!(loss, Loss::SparseCategoricalCrossentropy { .. });
    let classes = output.len() == 1 && output[0] >= 2;
    for x in metrics {
        let metric = build::metric(x);
        let name = metric.keras_name();
        let problem = match metric {
            Metric::SparseCategoricalAccuracy | Metric::CategoricalAccuracy if !classes => Some((
                format!(
                    "`{name}` needs at least 2 output units (one per class), found output shape {output:?}"
                ),
                "for one sigmoid unit, use `binary_accuracy` (or `accuracy`, which picks it)",
            )),
            Metric::SparseCategoricalAccuracy if !indices => Some((
                format!(
                    "`{name}` compares the arg-max with a class index, but `{loss_name}` trains on targets shaped like the output"
                ),
                "use `categorical_accuracy` (or `accuracy`, which picks it)",
            )),
            Metric::CategoricalAccuracy if indices => Some((
                format!(
                    "`{name}` compares the arg-max with a one-hot target, but `{loss_name}`{default_note} trains on class indices"
                ),
                "use `sparse_categorical_accuracy` (or `accuracy`, which picks it)",
            )),
            Metric::BinaryAccuracy { .. }
            | Metric::MeanAbsoluteError
            | Metric::MeanSquaredError
            | Metric::RootMeanSquaredError
            | Metric::Precision { .. }
            | Metric::Recall { .. }
            | Metric::Auc { .. }
                if indices =>
            {
                Some((
                    format!(
                        "`{name}` compares each output with a target of its own, but `{loss_name}`{default_note} trains on class indices"
                    ),
                    "with class indices, use `sparse_categorical_accuracy`; this metric needs one target per output unit (`binary_crossentropy`, `categorical_crossentropy`, a regression loss)",
                ))
            }
            // `accuracy` picks the variant that fits (Keras's rule).
            Metric::Accuracy
            | Metric::SparseCategoricalAccuracy
            | Metric::CategoricalAccuracy
            | Metric::BinaryAccuracy { .. }
            | Metric::MeanAbsoluteError
            | Metric::MeanSquaredError
            | Metric::RootMeanSquaredError
            | Metric::Precision { .. }
            | Metric::Recall { .. }
            | Metric::Auc { .. } => None,
        };
        let Some((message, help)) = problem else {
            continue;
        };
        let mut d = Diagnostic::new(code::METRIC_MISMATCH, message, x.call.span.clone())
            .with_label("does not fit")
            .with_help(help);
        if let Some(span) = &written {
            d = d.with_secondary(span.clone(), "the loss is chosen here");
        }
        cx.push(d);
    }
}
