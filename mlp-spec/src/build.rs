//! Pass 5: build the IR from checked, bound models.
//!
//! Runs only when no pass reported anything, so every value it reads is present, typed
//! and in range (`check`'s invariant); a value that is nevertheless missing falls back to
//! its Keras default rather than panicking. Fills in defaults from [`crate::sig`], names
//! layers as Keras numbers them in a fresh model, infers shapes and counts parameters.

use std::collections::HashMap;

use crate::bind::{
    ActivationCall, InitCall, LayerCall, LossCall, MetricCall, OptimizerCall, RegCall, TCall,
    TClassWeight, TLayer, TModel, TSetting, TVal,
};
use crate::diag::line_col;
use crate::ir::{
    self, Activation, ActivationClass, Initializer, LayerKind, ParamCounts, Regularizer,
};
use crate::kw;
use crate::sig::{
    ActivationCallee, Dflt, InitCallee, LayerCallee, LossCallee, MetricCallee, OptimizerCallee,
    RegCallee,
};

/// Builds the IR of every model.
pub(crate) fn build(source: &str, models: &[TModel]) -> ir::Spec {
    ir::Spec {
        models: models.iter().map(|m| model(source, m)).collect(),
    }
}

fn line_of(source: &str, offset: usize) -> u32 {
    u32::try_from(line_col(source, offset).0).unwrap_or(u32::MAX)
}

fn model(source: &str, m: &TModel) -> ir::Model {
    let input: Vec<usize> = m
        .input
        .as_ref()
        .map(|i| i.dims.iter().map(|(n, _)| (*n).max(1) as usize).collect())
        .unwrap_or_default();
    let mut counters: HashMap<&'static str, usize> = HashMap::new();
    let mut shape = input.clone();
    let mut layers = Vec::with_capacity(m.layers.len());
    for l in &m.layers {
        let TLayer::Known(c) = l else {
            debug_assert!(false, "build runs only on checked models");
            continue;
        };
        let kind = layer_kind(c, Some(&shape));
        let output_shape = kind.output_shape(&shape);
        let params = kind.param_counts(&shape);
        let base = kind.keras_base_name();
        let n = counters.entry(base).or_insert(0);
        let name = if *n == 0 {
            base.to_owned()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        layers.push(ir::Layer {
            name,
            kind,
            input_shape: shape.clone(),
            output_shape: output_shape.clone(),
            params,
            line: line_of(source, c.call.span.start),
        });
        shape = output_shape;
    }
    let params = layers
        .iter()
        .fold(ParamCounts::default(), |acc, l| ParamCounts {
            total: acc.total + l.params.total,
            trainable: acc.trainable + l.params.trainable,
            non_trainable: acc.non_trainable + l.params.non_trainable,
        });
    ir::Model {
        name: m.name.name.clone(),
        doc: m.doc.clone(),
        line: line_of(source, m.keyword.start),
        input,
        layers,
        train: train(m),
        params,
    }
}

/// The number given for `name`, or the parameter's default (0 for none), rounded to f32.
fn float(c: &TCall, name: &str) -> f32 {
    float64(c, name) as f32
}

/// The number given for `name` as written, or the parameter's default (0 for none).
fn float64(c: &TCall, name: &str) -> f64 {
    c.f64(name)
        .unwrap_or_else(|| match c.sig.param(name).map(|(_, p)| p.default) {
            Some(Dflt::Float(f)) => f,
            _ => 0.0,
        })
}

/// The number given for `name`, if written (parameters without a default value).
fn optional(c: &TCall, name: &str) -> Option<f64> {
    c.f64(name)
}

/// A whole number ≥ 0 given for `name`, or the parameter's default.
fn count(c: &TCall, name: &str) -> u64 {
    u64::try_from(int(c, name)).unwrap_or(0)
}

/// The whole number given for `name`, or the parameter's default (0 for none).
fn int(c: &TCall, name: &str) -> i64 {
    c.int(name)
        .unwrap_or_else(|| match c.sig.param(name).map(|(_, p)| p.default) {
            Some(Dflt::Int(i)) => i,
            _ => 0,
        })
}

/// The flag given for `name`, or false.
fn flag(c: &TCall, name: &str) -> bool {
    c.value(name).and_then(|v| v.as_bool()) == Some(true)
}

/// What a bound layer means, defaults filled in. Total: every [`LayerCallee`] is a kind,
/// and every fact about it (name, shapes, parameters) is then [`LayerKind`]'s.
///
/// `input` is the layer's input shape, `None` where a mistake left it unknown (a
/// `Normalization`'s `features` then counts as 0).
///
/// `check` also calls it, on layers whose arguments may have been reported wrong: a
/// `units` that is missing, wrong or negative then counts as 0, which `build` never sees.
pub(crate) fn layer_kind(l: &LayerCall, input: Option<&[usize]>) -> LayerKind {
    let c = &l.call;
    match l.callee {
        LayerCallee::Flatten => LayerKind::Flatten,
        LayerCallee::Dense => LayerKind::Dense(ir::Dense {
            units: c.int(kw::UNITS).map_or(0, |u| u.max(0) as usize),
            activation: activation_arg(c),
            kernel_init: init(c, kw::INIT),
            bias_init: init(c, kw::BIAS_INIT),
            kernel_reg: reg(c, kw::REG),
            bias_reg: reg(c, kw::BIAS_REG),
            use_bias: use_bias(c),
        }),
        LayerCallee::Dropout => LayerKind::Dropout {
            rate: float(c, kw::RATE),
        },
        LayerCallee::BatchNorm => LayerKind::BatchNorm(ir::BatchNorm {
            momentum: float64(c, kw::MOMENTUM),
            epsilon: float(c, kw::EPSILON),
        }),
        LayerCallee::LeakyRelu => LayerKind::LeakyRelu {
            slope: float(c, kw::SLOPE),
        },
        LayerCallee::Relu => LayerKind::Activation {
            activation: Activation::Relu,
            class: ActivationClass::Dedicated,
        },
        LayerCallee::Sigmoid => LayerKind::Activation {
            activation: Activation::Sigmoid,
            class: ActivationClass::Generic,
        },
        LayerCallee::Tanh => LayerKind::Activation {
            activation: Activation::Tanh,
            class: ActivationClass::Generic,
        },
        LayerCallee::Softmax => LayerKind::Activation {
            activation: Activation::Softmax,
            class: ActivationClass::Dedicated,
        },
        LayerCallee::Activation => LayerKind::Activation {
            activation: activation_arg(c),
            class: ActivationClass::Generic,
        },
        LayerCallee::Rescale => LayerKind::Rescale {
            scale: float(c, kw::SCALE),
            offset: float(c, kw::OFFSET),
        },
        LayerCallee::Normalization => LayerKind::Normalization {
            features: input.and_then(<[usize]>::last).copied().unwrap_or(0),
        },
    }
}

/// The activation given for a layer's `activation` parameter, or its default (linear).
fn activation_arg(layer: &TCall) -> Activation {
    match layer.value(kw::ACTIVATION) {
        Some(TVal::Activation(a)) => activation(&a),
        _ => match layer.sig.param(kw::ACTIVATION).map(|(_, p)| p.default) {
            Some(Dflt::Activation(a)) => a,
            _ => Activation::Linear,
        },
    }
}

/// What a bound activation means, its Keras defaults filled in.
fn activation(a: &ActivationCall) -> Activation {
    let c = &a.call;
    match a.callee {
        ActivationCallee::Linear => Activation::Linear,
        ActivationCallee::Relu => Activation::Relu,
        ActivationCallee::Sigmoid => Activation::Sigmoid,
        ActivationCallee::Tanh => Activation::Tanh,
        ActivationCallee::Softmax => Activation::Softmax,
        ActivationCallee::Elu => Activation::Elu {
            alpha: float(c, kw::ALPHA),
        },
        ActivationCallee::Selu => Activation::Selu,
        ActivationCallee::Gelu => Activation::Gelu {
            approximate: flag(c, kw::APPROXIMATE),
        },
        ActivationCallee::Silu => Activation::Silu,
        ActivationCallee::Softplus => Activation::Softplus,
        ActivationCallee::LeakyRelu => Activation::LeakyRelu {
            negative_slope: float(c, kw::NEGATIVE_SLOPE),
        },
    }
}

/// Whether a `Dense` has a bias: unless `use_bias = false` was written.
fn use_bias(c: &TCall) -> bool {
    c.value(kw::USE_BIAS).and_then(|v| v.as_bool()) != Some(false)
}

/// The initialiser given for `param`, or the parameter's default.
fn init(layer: &TCall, param: &str) -> Initializer {
    match layer.value(param) {
        Some(TVal::Init(c)) => initializer(&c),
        _ => match layer.sig.param(param).map(|(_, p)| p.default) {
            Some(Dflt::Init(i)) => i,
            _ => Initializer::GlorotUniform,
        },
    }
}

fn initializer(i: &InitCall) -> Initializer {
    let c = &i.call;
    match i.callee {
        InitCallee::Zeros => Initializer::Zeros,
        InitCallee::Ones => Initializer::Ones,
        InitCallee::Constant => Initializer::Constant(float(c, kw::VALUE)),
        InitCallee::Uniform => Initializer::Uniform {
            min: float(c, kw::MIN),
            max: float(c, kw::MAX),
        },
        InitCallee::Normal => Initializer::Normal {
            mean: float(c, kw::MEAN),
            stddev: float(c, kw::STDDEV),
        },
        InitCallee::TruncatedNormal => Initializer::TruncatedNormal {
            mean: float(c, kw::MEAN),
            stddev: float(c, kw::STDDEV),
        },
        InitCallee::GlorotUniform => Initializer::GlorotUniform,
        InitCallee::GlorotNormal => Initializer::GlorotNormal,
        InitCallee::HeNormal => Initializer::HeNormal,
        InitCallee::HeUniform => Initializer::HeUniform,
        InitCallee::LecunNormal => Initializer::LecunNormal,
        InitCallee::LecunUniform => Initializer::LecunUniform,
    }
}

/// The regulariser given for `param`, if any.
fn reg(layer: &TCall, param: &str) -> Option<Regularizer> {
    match layer.value(param)? {
        TVal::Reg(r) => Some(regularizer(&r)),
        _ => None,
    }
}

fn regularizer(r: &RegCall) -> Regularizer {
    let c = &r.call;
    match r.callee {
        RegCallee::L1 => Regularizer {
            l1: float(c, kw::L1),
            l2: 0.0,
        },
        RegCallee::L2 => Regularizer {
            l1: 0.0,
            l2: float(c, kw::L2),
        },
        RegCallee::L1L2 => Regularizer {
            l1: float(c, kw::L1),
            l2: float(c, kw::L2),
        },
    }
}

/// What a bound optimiser means, its Keras defaults filled in, every hyper-parameter the
/// f64 written. `check` also calls it (the clipping and schedule rules).
pub(crate) fn optimizer(o: &OptimizerCall) -> ir::Optimizer {
    use ir::OptimizerKind as K;
    let c = &o.call;
    let kind = match o.callee {
        OptimizerCallee::Adam => K::Adam {
            beta1: float64(c, kw::BETA1),
            beta2: float64(c, kw::BETA2),
            epsilon: float64(c, kw::EPSILON),
            amsgrad: flag(c, kw::AMSGRAD),
        },
        OptimizerCallee::AdamW => K::AdamW {
            beta1: float64(c, kw::BETA1),
            beta2: float64(c, kw::BETA2),
            epsilon: float64(c, kw::EPSILON),
            amsgrad: flag(c, kw::AMSGRAD),
        },
        OptimizerCallee::Nadam => K::Nadam {
            beta1: float64(c, kw::BETA1),
            beta2: float64(c, kw::BETA2),
            epsilon: float64(c, kw::EPSILON),
        },
        OptimizerCallee::Adamax => K::Adamax {
            beta1: float64(c, kw::BETA1),
            beta2: float64(c, kw::BETA2),
            epsilon: float64(c, kw::EPSILON),
        },
        OptimizerCallee::Adagrad => K::Adagrad {
            initial_accumulator_value: float64(c, kw::INITIAL_ACCUMULATOR_VALUE),
            epsilon: float64(c, kw::EPSILON),
        },
        OptimizerCallee::Adadelta => K::Adadelta {
            rho: float64(c, kw::RHO),
            epsilon: float64(c, kw::EPSILON),
        },
        OptimizerCallee::Lion => K::Lion {
            beta1: float64(c, kw::BETA1),
            beta2: float64(c, kw::BETA2),
        },
        OptimizerCallee::Sgd => K::Sgd {
            momentum: float64(c, kw::MOMENTUM),
            nesterov: flag(c, kw::NESTEROV),
        },
        OptimizerCallee::RmsProp => K::RmsProp {
            rho: float64(c, kw::RHO),
            momentum: float64(c, kw::MOMENTUM),
            epsilon: float64(c, kw::EPSILON),
            centered: flag(c, kw::CENTERED),
        },
    };
    let learning_rate = match c.value(kw::LR) {
        Some(TVal::Schedule(sc)) => ir::LearningRate::Schedule(schedule(&sc)),
        _ => ir::LearningRate::Constant(float64(c, kw::LR)),
    };
    // Keras applies the first of clipnorm, global_clipnorm, clipvalue that is set and > 0
    // (`_clip_gradients`); `check` refuses two.
    let clip = optional(c, kw::CLIPNORM)
        .map(ir::Clip::Norm)
        .or_else(|| optional(c, kw::GLOBAL_CLIPNORM).map(ir::Clip::GlobalNorm))
        .or_else(|| optional(c, kw::CLIPVALUE).map(ir::Clip::Value));
    ir::Optimizer {
        kind,
        learning_rate,
        weight_decay: optional(c, kw::WEIGHT_DECAY).or_else(|| {
            match c.sig.param(kw::WEIGHT_DECAY).map(|(_, p)| p.default) {
                Some(Dflt::Float(f)) => Some(f),
                _ => None,
            }
        }),
        clip,
    }
}

/// What a bound schedule means, its Keras defaults filled in.
pub(crate) fn schedule(sc: &crate::bind::ScheduleCall) -> ir::Schedule {
    use crate::sig::ScheduleCallee as S;
    let c = &sc.call;
    let initial = float64(c, kw::INITIAL_LEARNING_RATE);
    match sc.callee {
        S::ExponentialDecay => ir::Schedule::ExponentialDecay {
            initial,
            decay_steps: count(c, kw::DECAY_STEPS),
            decay_rate: float64(c, kw::DECAY_RATE),
            staircase: flag(c, kw::STAIRCASE),
        },
        S::InverseTimeDecay => ir::Schedule::InverseTimeDecay {
            initial,
            decay_steps: count(c, kw::DECAY_STEPS),
            decay_rate: float64(c, kw::DECAY_RATE),
            staircase: flag(c, kw::STAIRCASE),
        },
        S::PolynomialDecay => ir::Schedule::PolynomialDecay {
            initial,
            decay_steps: count(c, kw::DECAY_STEPS),
            end: float64(c, kw::END_LEARNING_RATE),
            power: float64(c, kw::POWER),
            cycle: flag(c, kw::CYCLE),
        },
        S::PiecewiseConstant => ir::Schedule::PiecewiseConstant {
            boundaries: match c.value(kw::BOUNDARIES) {
                Some(TVal::IntList(b)) => {
                    b.iter().map(|&x| u64::try_from(x).unwrap_or(0)).collect()
                }
                _ => Vec::new(),
            },
            values: match c.value(kw::VALUES) {
                Some(TVal::FloatList(v)) => v,
                _ => Vec::new(),
            },
        },
        S::CosineDecay => ir::Schedule::CosineDecay {
            initial,
            decay_steps: count(c, kw::DECAY_STEPS),
            alpha: float64(c, kw::ALPHA),
            warmup_target: optional(c, kw::WARMUP_TARGET),
            warmup_steps: count(c, kw::WARMUP_STEPS),
        },
        S::CosineDecayRestarts => ir::Schedule::CosineDecayRestarts {
            initial,
            first_decay_steps: count(c, kw::FIRST_DECAY_STEPS),
            t_mul: float64(c, kw::T_MUL),
            m_mul: float64(c, kw::M_MUL),
            alpha: float64(c, kw::ALPHA),
        },
    }
}

/// `auto`, `min` or `max` (`check` refuses anything else).
fn mode(c: &TCall) -> ir::Mode {
    match c.text(kw::MODE).as_deref() {
        Some(kw::MIN) => ir::Mode::Min,
        Some(kw::MAX) => ir::Mode::Max,
        _ => ir::Mode::Auto,
    }
}

/// What a bound callback means, its Keras defaults filled in.
pub(crate) fn callback(cb: &crate::bind::CallbackCall) -> ir::Callback {
    use crate::sig::CallbackCallee as C;
    let c = &cb.call;
    let text = |name: &str| c.text(name).unwrap_or_default();
    let epochs = |name: &str| usize::try_from(int(c, name)).unwrap_or(0);
    match cb.callee {
        C::EarlyStopping => ir::Callback::EarlyStopping {
            monitor: text(kw::MONITOR),
            min_delta: float64(c, kw::MIN_DELTA),
            patience: epochs(kw::PATIENCE),
            mode: mode(c),
            baseline: optional(c, kw::BASELINE),
            restore_best_weights: flag(c, kw::RESTORE_BEST_WEIGHTS),
            start_from_epoch: epochs(kw::START_FROM_EPOCH),
        },
        C::ReduceLrOnPlateau => ir::Callback::ReduceLrOnPlateau {
            monitor: text(kw::MONITOR),
            factor: float64(c, kw::FACTOR),
            patience: epochs(kw::PATIENCE),
            mode: mode(c),
            min_delta: float64(c, kw::MIN_DELTA),
            cooldown: epochs(kw::COOLDOWN),
            min_lr: float64(c, kw::MIN_LR),
        },
        C::ModelCheckpoint => ir::Callback::ModelCheckpoint {
            path: text(kw::PATH),
            monitor: text(kw::MONITOR),
            save_best_only: flag(c, kw::SAVE_BEST_ONLY),
            save_weights_only: flag(c, kw::SAVE_WEIGHTS_ONLY),
            mode: mode(c),
        },
        C::CsvLogger => ir::Callback::CsvLogger {
            filename: text(kw::FILENAME),
            separator: text(kw::SEPARATOR),
            append: flag(c, kw::APPEND),
        },
        C::TensorBoard => ir::Callback::TensorBoard {
            log_dir: text(kw::LOG_DIR),
        },
        C::TerminateOnNan => ir::Callback::TerminateOnNan,
    }
}

/// What a bound loss means, its Keras defaults filled in. `check` also calls it, for the
/// loss-fits-output and metric rules.
pub(crate) fn loss(l: &LossCall) -> ir::Loss {
    let c = &l.call;
    let from_logits = flag(c, kw::FROM_LOGITS);
    match l.callee {
        LossCallee::SparseCategoricalCrossentropy => {
            ir::Loss::SparseCategoricalCrossentropy { from_logits }
        }
        LossCallee::CategoricalCrossentropy => ir::Loss::CategoricalCrossentropy { from_logits },
        LossCallee::BinaryCrossentropy => ir::Loss::BinaryCrossentropy { from_logits },
        LossCallee::MeanSquaredError => ir::Loss::MeanSquaredError,
        LossCallee::MeanAbsoluteError => ir::Loss::MeanAbsoluteError,
        LossCallee::Huber => ir::Loss::Huber {
            delta: float(c, kw::DELTA),
        },
    }
}

/// What a bound metric means, its Keras defaults filled in. `check` also calls it, for
/// the duplicate and fit rules.
pub(crate) fn metric(m: &MetricCall) -> ir::Metric {
    let c = &m.call;
    match m.callee {
        MetricCallee::Accuracy => ir::Metric::Accuracy,
        MetricCallee::BinaryAccuracy => ir::Metric::BinaryAccuracy {
            threshold: float(c, kw::THRESHOLD),
        },
        MetricCallee::CategoricalAccuracy => ir::Metric::CategoricalAccuracy,
        MetricCallee::SparseCategoricalAccuracy => ir::Metric::SparseCategoricalAccuracy,
        MetricCallee::MeanAbsoluteError => ir::Metric::MeanAbsoluteError,
        MetricCallee::MeanSquaredError => ir::Metric::MeanSquaredError,
        MetricCallee::RootMeanSquaredError => ir::Metric::RootMeanSquaredError,
        MetricCallee::Precision => ir::Metric::Precision {
            threshold: float(c, kw::THRESHOLDS),
        },
        MetricCallee::Recall => ir::Metric::Recall {
            threshold: float(c, kw::THRESHOLDS),
        },
        MetricCallee::Auc => ir::Metric::Auc {
            num_thresholds: usize::try_from(int(c, kw::NUM_THRESHOLDS)).unwrap_or(200),
        },
    }
}

fn train(m: &TModel) -> ir::TrainConfig {
    let mut t = ir::TrainConfig::default();
    for e in &m.train {
        match &e.value {
            TSetting::Optimizer(o) => t.optimizer = optimizer(o),
            TSetting::Loss(l) => t.loss = loss(l),
            TSetting::Metrics(ms) => t.metrics = ms.iter().map(metric).collect(),
            TSetting::Batch(i) => t.batch = (*i).max(1) as usize,
            TSetting::Epochs(i) => t.epochs = (*i).max(1) as usize,
            TSetting::Seed(i) => t.seed = (*i).max(0) as u64,
            TSetting::ValidationSplit(f) => t.validation_split = Some(*f),
            TSetting::Shuffle(b) => t.shuffle = *b,
            TSetting::Callbacks(cs) => t.callbacks = cs.iter().map(callback).collect(),
            TSetting::ClassWeight(cw) => {
                t.class_weight = Some(match cw {
                    TClassWeight::Balanced => ir::ClassWeight::Balanced,
                    TClassWeight::Map(entries) => ir::ClassWeight::Map(
                        entries
                            .iter()
                            .map(|(class, w, _)| (u32::try_from(*class).unwrap_or(0), *w))
                            .collect(),
                    ),
                });
            }
            TSetting::Error => debug_assert!(false, "build runs only on checked models"),
        }
    }
    t
}
