//! Pass 5: build the IR from checked, bound models.
//!
//! Runs only when no pass reported anything, so every value it reads is present, typed
//! and in range (`check`'s invariant); a value that is nevertheless missing falls back to
//! its Keras default rather than panicking. Fills in defaults from [`crate::sig`], names
//! layers as Keras numbers them in a fresh model, infers shapes and counts parameters.

use std::collections::HashMap;

use crate::bind::{TCall, TLayer, TModel, TSetting, TVal};
use crate::check::layer_params;
use crate::diag::line_col;
use crate::ir::{self, Activation, Initializer, LayerKind, ParamCounts, Regularizer};
use crate::kw;
use crate::sig::{Callee, Dflt, Setting};

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
        let kind = layer_kind(c);
        let output_shape = match &kind {
            LayerKind::Flatten => vec![shape.iter().product()],
            LayerKind::Dense(d) => vec![d.units],
            _ => shape.clone(),
        };
        let (units, use_bias) = match &kind {
            LayerKind::Dense(d) => (d.units, d.use_bias),
            _ => (0, false),
        };
        let (trainable, non_trainable) = layer_params(c.callee(), &shape, units, use_bias);
        let params = ParamCounts {
            total: (trainable + non_trainable) as usize,
            trainable: trainable as usize,
            non_trainable: non_trainable as usize,
        };
        let base = keras_base_name(c.callee());
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
            line: line_of(source, c.span.start),
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

/// Keras's base layer name (`dense`, `batch_normalization`, `leaky_re_lu`, …); a
/// stand-alone sigmoid or tanh is a Keras `Activation` layer, named `activation`.
fn keras_base_name(callee: Callee) -> &'static str {
    match callee {
        Callee::Flatten => "flatten",
        Callee::Dense => "dense",
        Callee::Dropout => "dropout",
        Callee::BatchNorm => "batch_normalization",
        Callee::LeakyRelu => "leaky_re_lu",
        Callee::Relu => "re_lu",
        Callee::Softmax => "softmax",
        Callee::Rescale => "rescaling",
        _ => "activation",
    }
}

fn float(c: &TCall, name: &str) -> f32 {
    c.float(name)
        .unwrap_or_else(|| match c.sig.param(name).map(|(_, p)| p.default) {
            Some(Dflt::Float(f)) => f,
            _ => 0.0,
        })
}

fn layer_kind(c: &TCall) -> LayerKind {
    match c.callee() {
        Callee::Flatten => LayerKind::Flatten,
        Callee::Dense => LayerKind::Dense(ir::Dense {
            units: c.int(kw::UNITS).unwrap_or(1).max(1) as usize,
            activation: match c.value(kw::ACTIVATION) {
                Some(TVal::Activation(a)) => a,
                _ => Activation::Linear,
            },
            kernel_init: init(c, kw::INIT),
            bias_init: init(c, kw::BIAS_INIT),
            kernel_reg: reg(c, kw::REG),
            bias_reg: reg(c, kw::BIAS_REG),
            use_bias: !matches!(c.value(kw::USE_BIAS), Some(TVal::Bool(false))),
        }),
        Callee::Dropout => LayerKind::Dropout {
            rate: float(c, kw::RATE),
        },
        Callee::BatchNorm => LayerKind::BatchNorm(ir::BatchNorm {
            momentum: float(c, kw::MOMENTUM),
            epsilon: float(c, kw::EPSILON),
        }),
        Callee::LeakyRelu => LayerKind::LeakyRelu {
            slope: float(c, kw::SLOPE),
        },
        Callee::Relu => LayerKind::Activation(Activation::Relu),
        Callee::Sigmoid => LayerKind::Activation(Activation::Sigmoid),
        Callee::Tanh => LayerKind::Activation(Activation::Tanh),
        Callee::Softmax => LayerKind::Activation(Activation::Softmax),
        Callee::Rescale => LayerKind::Rescale {
            scale: float(c, kw::SCALE),
            offset: float(c, kw::OFFSET),
        },
        _ => {
            debug_assert!(false, "not a layer: {:?}", c.callee());
            LayerKind::Flatten
        }
    }
}

/// The initialiser given for `param`, or the parameter's default.
fn init(layer: &TCall, param: &str) -> Initializer {
    match layer.value(param) {
        Some(TVal::Call(c)) => initializer(&c),
        _ => match layer.sig.param(param).map(|(_, p)| p.default) {
            Some(Dflt::Init(i)) => i,
            _ => Initializer::GlorotUniform,
        },
    }
}

fn initializer(c: &TCall) -> Initializer {
    match c.callee() {
        Callee::Zeros => Initializer::Zeros,
        Callee::Ones => Initializer::Ones,
        Callee::Constant => Initializer::Constant(float(c, kw::VALUE)),
        Callee::Uniform => Initializer::Uniform {
            min: float(c, kw::MIN),
            max: float(c, kw::MAX),
        },
        Callee::Normal => Initializer::Normal {
            mean: float(c, kw::MEAN),
            stddev: float(c, kw::STDDEV),
        },
        Callee::TruncatedNormal => Initializer::TruncatedNormal {
            mean: float(c, kw::MEAN),
            stddev: float(c, kw::STDDEV),
        },
        Callee::GlorotNormal => Initializer::GlorotNormal,
        Callee::HeNormal => Initializer::HeNormal,
        Callee::HeUniform => Initializer::HeUniform,
        Callee::LecunNormal => Initializer::LecunNormal,
        Callee::LecunUniform => Initializer::LecunUniform,
        _ => Initializer::GlorotUniform,
    }
}

/// The regulariser given for `param`, if any.
fn reg(layer: &TCall, param: &str) -> Option<Regularizer> {
    let Some(TVal::Call(c)) = layer.value(param) else {
        return None;
    };
    Some(match c.callee() {
        Callee::L1 => Regularizer {
            l1: float(&c, kw::L1),
            l2: 0.0,
        },
        Callee::L2 => Regularizer {
            l1: 0.0,
            l2: float(&c, kw::L2),
        },
        _ => Regularizer {
            l1: float(&c, kw::L1),
            l2: float(&c, kw::L2),
        },
    })
}

fn optimizer(c: &TCall) -> ir::Optimizer {
    match c.callee() {
        Callee::Sgd => ir::Optimizer::Sgd {
            lr: float(c, kw::LR),
            momentum: float(c, kw::MOMENTUM),
            nesterov: matches!(c.value(kw::NESTEROV), Some(TVal::Bool(true))),
        },
        Callee::RmsProp => ir::Optimizer::RmsProp {
            lr: float(c, kw::LR),
            rho: float(c, kw::RHO),
            momentum: float(c, kw::MOMENTUM),
            epsilon: float(c, kw::EPSILON),
        },
        _ => ir::Optimizer::Adam {
            lr: float(c, kw::LR),
            beta1: float(c, kw::BETA1),
            beta2: float(c, kw::BETA2),
            epsilon: float(c, kw::EPSILON),
        },
    }
}

fn train(m: &TModel) -> ir::TrainConfig {
    let mut t = ir::TrainConfig::default();
    for e in &m.train {
        match (e.setting, &e.value) {
            (Setting::Optimizer, TSetting::Optimizer(c)) => t.optimizer = optimizer(c),
            (Setting::Loss, TSetting::Loss(l)) => t.loss = *l,
            (Setting::Metrics, TSetting::Metrics(ms)) => t.metrics.clone_from(ms),
            (Setting::Batch, TSetting::Int(i)) => t.batch = (*i).max(1) as usize,
            (Setting::Epochs, TSetting::Int(i)) => t.epochs = (*i).max(1) as usize,
            (Setting::Seed, TSetting::Int(i)) => t.seed = (*i).max(0) as u64,
            (Setting::ValidationSplit, TSetting::Float(f)) => t.validation_split = Some(*f),
            (Setting::Shuffle, TSetting::Bool(b)) => t.shuffle = *b,
            _ => debug_assert!(false, "bind types settings"),
        }
    }
    t
}
