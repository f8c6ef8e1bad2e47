//! Signatures: every layer, initialiser, regulariser, optimiser, loss, metric and
//! activation the language accepts, with its parameters in positional order, their types,
//! aliases and Keras 3 defaults; plus the `train` settings.
//!
//! This table is the single source of what the language means: `bind` types arguments
//! against it, `build` fills in its defaults.

use crate::ir::{Activation, Initializer};
use crate::kw;

/// The type a parameter expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// A whole number.
    Int,
    /// Any number.
    Float,
    /// `true` / `false`.
    Bool,
    /// An activation (`relu`, `elu(alpha = 0.5)`).
    Activation,
    /// An initialiser (`he_normal`, `normal(stddev = 0.1)`).
    Init,
    /// A regulariser (`l2`, `l1(0.01)`).
    Reg,
}

impl Ty {
    /// "a whole number", "an initialiser", …
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Ty::Int => "a whole number",
            Ty::Float => "a number",
            Ty::Bool => "`true` or `false`",
            Ty::Activation => "an activation",
            Ty::Init => "an initialiser",
            Ty::Reg => "a regulariser",
        }
    }
}

/// A parameter's default when it is not written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Dflt {
    /// The parameter must be written.
    Required,
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f32),
    /// A flag.
    Bool(bool),
    /// An activation.
    Activation(Activation),
    /// An initialiser.
    Init(Initializer),
    /// No regulariser.
    NoReg,
}

/// One parameter.
#[derive(Debug, PartialEq)]
pub(crate) struct Param {
    /// Accepted names; the first is canonical (used in messages and by the formatter).
    pub(crate) names: &'static [&'static str],
    /// Expected type.
    pub(crate) ty: Ty,
    /// Default.
    pub(crate) default: Dflt,
}

impl Param {
    pub(crate) fn name(&self) -> &'static str {
        self.names[0]
    }
}

/// A layer the language knows. [`crate::build::layer_kind`] maps each one to its
/// [`crate::ir::LayerKind`], which holds every fact about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayerCallee {
    Flatten,
    Dense,
    Dropout,
    BatchNorm,
    LeakyRelu,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    Activation,
    Rescale,
    Normalization,
}

/// An activation the language knows (a value of type [`Ty::Activation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivationCallee {
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    Elu,
    Selu,
    Gelu,
    Silu,
    Softplus,
    LeakyRelu,
}

/// An initialiser the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitCallee {
    Zeros,
    Ones,
    Constant,
    Uniform,
    Normal,
    TruncatedNormal,
    GlorotUniform,
    GlorotNormal,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
}

/// A regulariser the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegCallee {
    L1,
    L2,
    L1L2,
}

/// An optimiser the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptimizerCallee {
    Adam,
    Sgd,
    RmsProp,
}

/// A loss the language knows; [`crate::build::loss`] gives its [`crate::ir::Loss`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LossCallee {
    SparseCategoricalCrossentropy,
    CategoricalCrossentropy,
    BinaryCrossentropy,
    MeanSquaredError,
    MeanAbsoluteError,
    Huber,
}

/// A metric the language knows; [`crate::build::metric`] gives its [`crate::ir::Metric`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricCallee {
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    Precision,
    Recall,
    Auc,
}

/// A callable's signature: its names and parameters.
#[derive(Debug, PartialEq)]
pub(crate) struct Sig {
    /// Accepted names; the first is canonical.
    pub(crate) names: &'static [&'static str],
    /// Parameters in positional order.
    pub(crate) params: &'static [Param],
}

impl Sig {
    pub(crate) fn name(&self) -> &'static str {
        self.names[0]
    }

    /// The parameter called `name` (any alias), with its index.
    pub(crate) fn param(&self, name: &str) -> Option<(usize, &'static Param)> {
        self.params
            .iter()
            .enumerate()
            .find(|(_, p)| p.names.contains(&name))
    }
}

/// One row of a signature table: which callable of kind `C` (a layer, an initialiser, a
/// regulariser, an optimiser, a loss, a metric or an activation), and its signature.
#[derive(Debug)]
pub(crate) struct Entry<C: 'static> {
    /// Which callable.
    pub(crate) callee: C,
    /// What it accepts.
    pub(crate) sig: Sig,
}

const fn p(names: &'static [&'static str], ty: Ty, default: Dflt) -> Param {
    Param { names, ty, default }
}

const NO_PARAMS: &[Param] = &[];

/// Layers. Defaults are Keras 3's.
pub(crate) const LAYERS: &[Entry<LayerCallee>] = &[
    Entry {
        callee: LayerCallee::Flatten,
        sig: Sig {
            names: &[kw::FLATTEN],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LayerCallee::Dense,
        sig: Sig {
            names: &[kw::DENSE],
            params: &[
                p(&[kw::UNITS], Ty::Int, Dflt::Required),
                p(
                    &[kw::ACTIVATION],
                    Ty::Activation,
                    Dflt::Activation(Activation::Linear),
                ),
                p(
                    &[kw::INIT, kw::KERNEL_INITIALIZER],
                    Ty::Init,
                    Dflt::Init(Initializer::GlorotUniform),
                ),
                p(
                    &[kw::BIAS_INIT, kw::BIAS_INITIALIZER],
                    Ty::Init,
                    Dflt::Init(Initializer::Zeros),
                ),
                p(&[kw::REG, kw::KERNEL_REGULARIZER], Ty::Reg, Dflt::NoReg),
                p(&[kw::BIAS_REG, kw::BIAS_REGULARIZER], Ty::Reg, Dflt::NoReg),
                p(&[kw::USE_BIAS], Ty::Bool, Dflt::Bool(true)),
            ],
        },
    },
    Entry {
        callee: LayerCallee::Dropout,
        sig: Sig {
            names: &[kw::DROPOUT],
            params: &[p(&[kw::RATE], Ty::Float, Dflt::Required)],
        },
    },
    Entry {
        callee: LayerCallee::BatchNorm,
        sig: Sig {
            names: &[kw::BATCH_NORM, kw::BATCH_NORMALIZATION],
            params: &[
                p(&[kw::MOMENTUM], Ty::Float, Dflt::Float(0.99)),
                p(&[kw::EPSILON], Ty::Float, Dflt::Float(1e-3)),
            ],
        },
    },
    Entry {
        callee: LayerCallee::LeakyRelu,
        sig: Sig {
            names: &[kw::LEAKY_RELU],
            params: &[p(
                &[kw::SLOPE, kw::ALPHA, kw::NEGATIVE_SLOPE],
                Ty::Float,
                Dflt::Float(0.3),
            )],
        },
    },
    Entry {
        callee: LayerCallee::Relu,
        sig: Sig {
            names: &[kw::RELU_LAYER],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LayerCallee::Sigmoid,
        sig: Sig {
            names: &[kw::SIGMOID_LAYER],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LayerCallee::Tanh,
        sig: Sig {
            names: &[kw::TANH_LAYER],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LayerCallee::Softmax,
        sig: Sig {
            names: &[kw::SOFTMAX_LAYER],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LayerCallee::Activation,
        sig: Sig {
            names: &[kw::ACTIVATION_LAYER],
            params: &[p(&[kw::ACTIVATION], Ty::Activation, Dflt::Required)],
        },
    },
    Entry {
        callee: LayerCallee::Rescale,
        sig: Sig {
            names: &[kw::RESCALE, kw::RESCALING],
            params: &[
                p(&[kw::SCALE], Ty::Float, Dflt::Required),
                p(&[kw::OFFSET], Ty::Float, Dflt::Float(0.0)),
            ],
        },
    },
    Entry {
        callee: LayerCallee::Normalization,
        sig: Sig {
            names: &[kw::NORMALIZATION],
            params: &[p(&[kw::AXIS], Ty::Int, Dflt::Int(-1))],
        },
    },
];

const MEAN_STDDEV: &[Param] = &[
    p(&[kw::MEAN], Ty::Float, Dflt::Float(0.0)),
    p(&[kw::STDDEV], Ty::Float, Dflt::Float(0.05)),
];

/// Initialisers, by their Keras names. `uniform` / `normal` default to Keras's
/// `RandomUniform(-0.05, 0.05)` / `RandomNormal(0, 0.05)`.
pub(crate) const INITS: &[Entry<InitCallee>] = &[
    Entry {
        callee: InitCallee::Zeros,
        sig: Sig {
            names: &[kw::ZEROS],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::Ones,
        sig: Sig {
            names: &[kw::ONES],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::Constant,
        sig: Sig {
            names: &[kw::CONSTANT],
            params: &[p(&[kw::VALUE], Ty::Float, Dflt::Float(0.0))],
        },
    },
    Entry {
        callee: InitCallee::Uniform,
        sig: Sig {
            names: &[kw::UNIFORM, kw::RANDOM_UNIFORM],
            params: &[
                p(&[kw::MIN, kw::MINVAL], Ty::Float, Dflt::Float(-0.05)),
                p(&[kw::MAX, kw::MAXVAL], Ty::Float, Dflt::Float(0.05)),
            ],
        },
    },
    Entry {
        callee: InitCallee::Normal,
        sig: Sig {
            names: &[kw::NORMAL, kw::RANDOM_NORMAL],
            params: MEAN_STDDEV,
        },
    },
    Entry {
        callee: InitCallee::TruncatedNormal,
        sig: Sig {
            names: &[kw::TRUNCATED_NORMAL],
            params: MEAN_STDDEV,
        },
    },
    Entry {
        callee: InitCallee::GlorotUniform,
        sig: Sig {
            names: &[kw::GLOROT_UNIFORM, kw::XAVIER_UNIFORM],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::GlorotNormal,
        sig: Sig {
            names: &[kw::GLOROT_NORMAL, kw::XAVIER_NORMAL],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::HeNormal,
        sig: Sig {
            names: &[kw::HE_NORMAL],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::HeUniform,
        sig: Sig {
            names: &[kw::HE_UNIFORM],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::LecunNormal,
        sig: Sig {
            names: &[kw::LECUN_NORMAL],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: InitCallee::LecunUniform,
        sig: Sig {
            names: &[kw::LECUN_UNIFORM],
            params: NO_PARAMS,
        },
    },
];

/// Regularisers. A bare `l1` / `l2` means a factor of 0.01 (Keras); `l1_l2` defaults both
/// factors to 0 (Keras `L1L2(l1=0.0, l2=0.0)`).
pub(crate) const REGS: &[Entry<RegCallee>] = &[
    Entry {
        callee: RegCallee::L1,
        sig: Sig {
            names: &[kw::L1],
            params: &[p(&[kw::L1], Ty::Float, Dflt::Float(0.01))],
        },
    },
    Entry {
        callee: RegCallee::L2,
        sig: Sig {
            names: &[kw::L2],
            params: &[p(&[kw::L2], Ty::Float, Dflt::Float(0.01))],
        },
    },
    Entry {
        callee: RegCallee::L1L2,
        sig: Sig {
            names: &[kw::L1_L2],
            params: &[
                p(&[kw::L1], Ty::Float, Dflt::Float(0.0)),
                p(&[kw::L2], Ty::Float, Dflt::Float(0.0)),
            ],
        },
    },
];

/// Optimisers with Keras 3 defaults.
pub(crate) const OPTIMIZERS: &[Entry<OptimizerCallee>] = &[
    Entry {
        callee: OptimizerCallee::Adam,
        sig: Sig {
            names: &[kw::ADAM],
            params: &[
                p(&[kw::LR, kw::LEARNING_RATE], Ty::Float, Dflt::Float(0.001)),
                p(&[kw::BETA1, kw::BETA_1], Ty::Float, Dflt::Float(0.9)),
                p(&[kw::BETA2, kw::BETA_2], Ty::Float, Dflt::Float(0.999)),
                p(&[kw::EPSILON], Ty::Float, Dflt::Float(1e-7)),
            ],
        },
    },
    Entry {
        callee: OptimizerCallee::Sgd,
        sig: Sig {
            names: &[kw::SGD],
            params: &[
                p(&[kw::LR, kw::LEARNING_RATE], Ty::Float, Dflt::Float(0.01)),
                p(&[kw::MOMENTUM], Ty::Float, Dflt::Float(0.0)),
                p(&[kw::NESTEROV], Ty::Bool, Dflt::Bool(false)),
            ],
        },
    },
    Entry {
        callee: OptimizerCallee::RmsProp,
        sig: Sig {
            names: &[kw::RMSPROP],
            params: &[
                p(&[kw::LR, kw::LEARNING_RATE], Ty::Float, Dflt::Float(0.001)),
                p(&[kw::RHO], Ty::Float, Dflt::Float(0.9)),
                p(&[kw::MOMENTUM], Ty::Float, Dflt::Float(0.0)),
                p(&[kw::EPSILON], Ty::Float, Dflt::Float(1e-7)),
            ],
        },
    },
];

/// A `train` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    Optimizer,
    Loss,
    Metrics,
    Batch,
    Epochs,
    Seed,
    ValidationSplit,
    Shuffle,
}

/// `train` settings with their accepted names (the first canonical).
pub(crate) const SETTINGS: &[(&[&str], Setting)] = &[
    (&[kw::OPTIMIZER], Setting::Optimizer),
    (&[kw::LOSS], Setting::Loss),
    (&[kw::METRICS], Setting::Metrics),
    (&[kw::BATCH, kw::BATCH_SIZE], Setting::Batch),
    (&[kw::EPOCHS], Setting::Epochs),
    (&[kw::SEED], Setting::Seed),
    (&[kw::VALIDATION_SPLIT], Setting::ValidationSplit),
    (&[kw::SHUFFLE], Setting::Shuffle),
];

const FROM_LOGITS: &[Param] = &[p(&[kw::FROM_LOGITS], Ty::Bool, Dflt::Bool(false))];

/// Losses, by their Keras names, each optionally called with its Keras arguments
/// (`huber(delta = 0.5)`, `binary_crossentropy(from_logits = true)`). Defaults are Keras
/// 3's: `from_logits = false`, `delta = 1.0`.
pub(crate) const LOSSES: &[Entry<LossCallee>] = &[
    Entry {
        callee: LossCallee::SparseCategoricalCrossentropy,
        sig: Sig {
            names: &[kw::SPARSE_CATEGORICAL_CROSSENTROPY],
            params: FROM_LOGITS,
        },
    },
    Entry {
        callee: LossCallee::CategoricalCrossentropy,
        sig: Sig {
            names: &[kw::CATEGORICAL_CROSSENTROPY],
            params: FROM_LOGITS,
        },
    },
    Entry {
        callee: LossCallee::BinaryCrossentropy,
        sig: Sig {
            names: &[kw::BINARY_CROSSENTROPY],
            params: FROM_LOGITS,
        },
    },
    Entry {
        callee: LossCallee::MeanSquaredError,
        sig: Sig {
            names: &[kw::MSE, kw::MEAN_SQUARED_ERROR],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LossCallee::MeanAbsoluteError,
        sig: Sig {
            names: &[kw::MAE, kw::MEAN_ABSOLUTE_ERROR],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: LossCallee::Huber,
        sig: Sig {
            names: &[kw::HUBER],
            params: &[p(&[kw::DELTA], Ty::Float, Dflt::Float(1.0))],
        },
    },
];

/// A decision threshold: Keras's `thresholds` (`Precision`, `Recall`), `threshold` too.
const THRESHOLDS: &[Param] = &[p(
    &[kw::THRESHOLDS, kw::THRESHOLD],
    Ty::Float,
    Dflt::Float(0.5),
)];

/// Metrics, by their Keras names, each optionally called with its Keras arguments
/// (`precision(thresholds = 0.7)`, `auc(num_thresholds = 100)`). Defaults are Keras 3's.
pub(crate) const METRICS: &[Entry<MetricCallee>] = &[
    Entry {
        callee: MetricCallee::Accuracy,
        sig: Sig {
            names: &[kw::ACCURACY, kw::ACC],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: MetricCallee::BinaryAccuracy,
        sig: Sig {
            names: &[kw::BINARY_ACCURACY],
            params: &[p(
                &[kw::THRESHOLD, kw::THRESHOLDS],
                Ty::Float,
                Dflt::Float(0.5),
            )],
        },
    },
    Entry {
        callee: MetricCallee::CategoricalAccuracy,
        sig: Sig {
            names: &[kw::CATEGORICAL_ACCURACY],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: MetricCallee::SparseCategoricalAccuracy,
        sig: Sig {
            names: &[kw::SPARSE_CATEGORICAL_ACCURACY],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: MetricCallee::MeanAbsoluteError,
        sig: Sig {
            names: &[kw::MAE, kw::MEAN_ABSOLUTE_ERROR],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: MetricCallee::MeanSquaredError,
        sig: Sig {
            names: &[kw::MSE, kw::MEAN_SQUARED_ERROR],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: MetricCallee::RootMeanSquaredError,
        sig: Sig {
            names: &[kw::ROOT_MEAN_SQUARED_ERROR, kw::RMSE],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: MetricCallee::Precision,
        sig: Sig {
            names: &[kw::PRECISION],
            params: THRESHOLDS,
        },
    },
    Entry {
        callee: MetricCallee::Recall,
        sig: Sig {
            names: &[kw::RECALL],
            params: THRESHOLDS,
        },
    },
    Entry {
        callee: MetricCallee::Auc,
        sig: Sig {
            names: &[kw::AUC],
            params: &[p(&[kw::NUM_THRESHOLDS], Ty::Int, Dflt::Int(200))],
        },
    },
];

/// Activations, by their Keras names, each optionally called with its Keras arguments
/// (`elu(alpha = 0.5)`). Defaults are those of Keras 3's `keras.activations` functions.
pub(crate) const ACTIVATIONS: &[Entry<ActivationCallee>] = &[
    Entry {
        callee: ActivationCallee::Linear,
        sig: Sig {
            names: &[kw::LINEAR],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Relu,
        sig: Sig {
            names: &[kw::RELU],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Sigmoid,
        sig: Sig {
            names: &[kw::SIGMOID],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Tanh,
        sig: Sig {
            names: &[kw::TANH],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Softmax,
        sig: Sig {
            names: &[kw::SOFTMAX],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Elu,
        sig: Sig {
            names: &[kw::ELU],
            params: &[p(&[kw::ALPHA], Ty::Float, Dflt::Float(1.0))],
        },
    },
    Entry {
        callee: ActivationCallee::Selu,
        sig: Sig {
            names: &[kw::SELU],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Gelu,
        sig: Sig {
            names: &[kw::GELU],
            params: &[p(&[kw::APPROXIMATE], Ty::Bool, Dflt::Bool(false))],
        },
    },
    Entry {
        callee: ActivationCallee::Silu,
        sig: Sig {
            names: &[kw::SILU, kw::SWISH],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::Softplus,
        sig: Sig {
            names: &[kw::SOFTPLUS],
            params: NO_PARAMS,
        },
    },
    Entry {
        callee: ActivationCallee::LeakyRelu,
        sig: Sig {
            names: &[kw::LEAKY_RELU_ACTIVATION],
            params: &[p(
                &[kw::NEGATIVE_SLOPE, kw::ALPHA],
                Ty::Float,
                Dflt::Float(0.2),
            )],
        },
    },
];

/// The entry called `name` in `table`.
pub(crate) fn find<C>(table: &'static [Entry<C>], name: &str) -> Option<&'static Entry<C>> {
    table.iter().find(|e| e.sig.names.contains(&name))
}

/// Every name of every entry of `table`.
pub(crate) fn names<C>(table: &'static [Entry<C>]) -> impl Iterator<Item = &'static str> {
    table.iter().flat_map(|e| e.sig.names.iter().copied())
}

/// Whether `name` is a built-in name (so a `let` may not take it).
pub(crate) fn is_builtin(name: &str) -> bool {
    find(LAYERS, name).is_some()
        || find(INITS, name).is_some()
        || find(REGS, name).is_some()
        || find(OPTIMIZERS, name).is_some()
        || find(LOSSES, name).is_some()
        || find(METRICS, name).is_some()
        || find(ACTIVATIONS, name).is_some()
        || name == kw::TRUE
        || name == kw::FALSE
}
