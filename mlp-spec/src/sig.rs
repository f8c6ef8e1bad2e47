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
    /// A learning rate: a number or a schedule (`exponential_decay(0.01, 100, 0.9)`).
    Rate,
    /// A word or a string (`val_loss`, `"ckpt_{epoch}.safetensors"`).
    Text,
    /// A list of whole numbers (`[100, 200]`).
    IntList,
    /// A list of numbers (`[0.1, 0.01, 0.001]`).
    FloatList,
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
            Ty::Rate => "a learning rate (a number or a schedule)",
            Ty::Text => "a name or a string",
            Ty::IntList => "a list of whole numbers",
            Ty::FloatList => "a list of numbers",
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
    /// A number (as written: Keras keeps hyper-parameters as Python floats).
    Float(f64),
    /// Nothing: the parameter is optional and has no value unless written.
    Unset,
    /// A word or string.
    Text(&'static str),
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
    AdamW,
    Nadam,
    Adamax,
    Adagrad,
    Adadelta,
    Lion,
    Sgd,
    RmsProp,
}

/// A learning-rate schedule the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScheduleCallee {
    ExponentialDecay,
    InverseTimeDecay,
    PolynomialDecay,
    PiecewiseConstant,
    CosineDecay,
    CosineDecayRestarts,
}

/// A callback the language knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallbackCallee {
    EarlyStopping,
    ReduceLrOnPlateau,
    ModelCheckpoint,
    CsvLogger,
    TensorBoard,
    TerminateOnNan,
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

/// `learning_rate` with Keras's default `d`.
const fn rate(d: f64) -> Param {
    p(&[kw::LR, kw::LEARNING_RATE], Ty::Rate, Dflt::Float(d))
}

/// An optimiser's parameters: its own (`$own`, Keras's positional order), then the options
/// every Keras 3 optimiser takes, `weight_decay` defaulting to `$wd`.
macro_rules! optimizer_params {
    ($wd:expr; $($own:expr),* $(,)?) => {
        &[
            $($own,)*
            p(&[kw::WEIGHT_DECAY], Ty::Float, $wd),
            p(&[kw::CLIPNORM], Ty::Float, Dflt::Unset),
            p(&[kw::CLIPVALUE], Ty::Float, Dflt::Unset),
            p(&[kw::GLOBAL_CLIPNORM], Ty::Float, Dflt::Unset),
        ]
    };
}

const fn beta1(d: f64) -> Param {
    p(&[kw::BETA1, kw::BETA_1], Ty::Float, Dflt::Float(d))
}

const fn beta2(d: f64) -> Param {
    p(&[kw::BETA2, kw::BETA_2], Ty::Float, Dflt::Float(d))
}

const fn epsilon() -> Param {
    p(&[kw::EPSILON], Ty::Float, Dflt::Float(1e-7))
}

const fn flag(names: &'static [&'static str]) -> Param {
    p(names, Ty::Bool, Dflt::Bool(false))
}

/// Optimisers with Keras 3 defaults: each one's own parameters in Keras's positional
/// order, then `weight_decay`, `clipnorm`, `clipvalue`, `global_clipnorm` (`adamw` takes
/// `weight_decay` second, as Keras's `AdamW` does, and defaults it to 0.004).
pub(crate) const OPTIMIZERS: &[Entry<OptimizerCallee>] = &[
    Entry {
        callee: OptimizerCallee::Adam,
        sig: Sig {
            names: &[kw::ADAM],
            params: optimizer_params!(Dflt::Unset;
                rate(0.001), beta1(0.9), beta2(0.999), epsilon(), flag(&[kw::AMSGRAD])),
        },
    },
    Entry {
        callee: OptimizerCallee::AdamW,
        sig: Sig {
            names: &[kw::ADAMW],
            params: &[
                rate(0.001),
                p(&[kw::WEIGHT_DECAY], Ty::Float, Dflt::Float(0.004)),
                beta1(0.9),
                beta2(0.999),
                epsilon(),
                flag(&[kw::AMSGRAD]),
                p(&[kw::CLIPNORM], Ty::Float, Dflt::Unset),
                p(&[kw::CLIPVALUE], Ty::Float, Dflt::Unset),
                p(&[kw::GLOBAL_CLIPNORM], Ty::Float, Dflt::Unset),
            ],
        },
    },
    Entry {
        callee: OptimizerCallee::Nadam,
        sig: Sig {
            names: &[kw::NADAM],
            params: optimizer_params!(Dflt::Unset; rate(0.001), beta1(0.9), beta2(0.999), epsilon()),
        },
    },
    Entry {
        callee: OptimizerCallee::Adamax,
        sig: Sig {
            names: &[kw::ADAMAX],
            params: optimizer_params!(Dflt::Unset; rate(0.001), beta1(0.9), beta2(0.999), epsilon()),
        },
    },
    Entry {
        callee: OptimizerCallee::Adagrad,
        sig: Sig {
            names: &[kw::ADAGRAD],
            params: optimizer_params!(Dflt::Unset;
                rate(0.001),
                p(&[kw::INITIAL_ACCUMULATOR_VALUE], Ty::Float, Dflt::Float(0.1)),
                epsilon(),
            ),
        },
    },
    Entry {
        callee: OptimizerCallee::Adadelta,
        sig: Sig {
            names: &[kw::ADADELTA],
            params: optimizer_params!(Dflt::Unset;
                rate(0.001),
                p(&[kw::RHO], Ty::Float, Dflt::Float(0.95)),
                epsilon(),
            ),
        },
    },
    Entry {
        callee: OptimizerCallee::Lion,
        sig: Sig {
            names: &[kw::LION],
            params: optimizer_params!(Dflt::Unset; rate(0.001), beta1(0.9), beta2(0.99)),
        },
    },
    Entry {
        callee: OptimizerCallee::Sgd,
        sig: Sig {
            names: &[kw::SGD],
            params: optimizer_params!(Dflt::Unset;
                rate(0.01),
                p(&[kw::MOMENTUM], Ty::Float, Dflt::Float(0.0)),
                flag(&[kw::NESTEROV]),
            ),
        },
    },
    Entry {
        callee: OptimizerCallee::RmsProp,
        sig: Sig {
            names: &[kw::RMSPROP],
            params: optimizer_params!(Dflt::Unset;
                rate(0.001),
                p(&[kw::RHO], Ty::Float, Dflt::Float(0.9)),
                p(&[kw::MOMENTUM], Ty::Float, Dflt::Float(0.0)),
                epsilon(),
                flag(&[kw::CENTERED]),
            ),
        },
    },
];

/// `initial_learning_rate`, required.
const INITIAL: Param = p(&[kw::INITIAL_LEARNING_RATE], Ty::Float, Dflt::Required);
/// `decay_steps`, required.
const DECAY_STEPS: Param = p(&[kw::DECAY_STEPS], Ty::Int, Dflt::Required);

/// Learning-rate schedules (`keras.optimizers.schedules`), Keras's positional order and
/// defaults.
pub(crate) const SCHEDULES: &[Entry<ScheduleCallee>] = &[
    Entry {
        callee: ScheduleCallee::ExponentialDecay,
        sig: Sig {
            names: &[kw::EXPONENTIAL_DECAY],
            params: &[
                INITIAL,
                DECAY_STEPS,
                p(&[kw::DECAY_RATE], Ty::Float, Dflt::Required),
                p(&[kw::STAIRCASE], Ty::Bool, Dflt::Bool(false)),
            ],
        },
    },
    Entry {
        callee: ScheduleCallee::InverseTimeDecay,
        sig: Sig {
            names: &[kw::INVERSE_TIME_DECAY],
            params: &[
                INITIAL,
                DECAY_STEPS,
                p(&[kw::DECAY_RATE], Ty::Float, Dflt::Required),
                p(&[kw::STAIRCASE], Ty::Bool, Dflt::Bool(false)),
            ],
        },
    },
    Entry {
        callee: ScheduleCallee::PolynomialDecay,
        sig: Sig {
            names: &[kw::POLYNOMIAL_DECAY],
            params: &[
                INITIAL,
                DECAY_STEPS,
                p(&[kw::END_LEARNING_RATE], Ty::Float, Dflt::Float(0.0001)),
                p(&[kw::POWER], Ty::Float, Dflt::Float(1.0)),
                p(&[kw::CYCLE], Ty::Bool, Dflt::Bool(false)),
            ],
        },
    },
    Entry {
        callee: ScheduleCallee::PiecewiseConstant,
        sig: Sig {
            names: &[kw::PIECEWISE_CONSTANT, kw::PIECEWISE_CONSTANT_DECAY],
            params: &[
                p(&[kw::BOUNDARIES], Ty::IntList, Dflt::Required),
                p(&[kw::VALUES], Ty::FloatList, Dflt::Required),
            ],
        },
    },
    Entry {
        callee: ScheduleCallee::CosineDecay,
        sig: Sig {
            names: &[kw::COSINE_DECAY],
            params: &[
                INITIAL,
                DECAY_STEPS,
                p(&[kw::ALPHA], Ty::Float, Dflt::Float(0.0)),
                p(&[kw::WARMUP_TARGET], Ty::Float, Dflt::Unset),
                p(&[kw::WARMUP_STEPS], Ty::Int, Dflt::Int(0)),
            ],
        },
    },
    Entry {
        callee: ScheduleCallee::CosineDecayRestarts,
        sig: Sig {
            names: &[kw::COSINE_DECAY_RESTARTS],
            params: &[
                INITIAL,
                p(&[kw::FIRST_DECAY_STEPS], Ty::Int, Dflt::Required),
                p(&[kw::T_MUL], Ty::Float, Dflt::Float(2.0)),
                p(&[kw::M_MUL], Ty::Float, Dflt::Float(1.0)),
                p(&[kw::ALPHA], Ty::Float, Dflt::Float(0.0)),
            ],
        },
    },
];

const MONITOR: Param = p(&[kw::MONITOR], Ty::Text, Dflt::Text("val_loss"));
const MODE: Param = p(&[kw::MODE], Ty::Text, Dflt::Text(kw::AUTO));

/// Callbacks (`keras.callbacks`), Keras's positional order and defaults.
pub(crate) const CALLBACKS: &[Entry<CallbackCallee>] = &[
    Entry {
        callee: CallbackCallee::EarlyStopping,
        sig: Sig {
            names: &[kw::EARLY_STOPPING],
            params: &[
                MONITOR,
                p(&[kw::MIN_DELTA], Ty::Float, Dflt::Float(0.0)),
                p(&[kw::PATIENCE], Ty::Int, Dflt::Int(0)),
                MODE,
                p(&[kw::BASELINE], Ty::Float, Dflt::Unset),
                p(&[kw::RESTORE_BEST_WEIGHTS], Ty::Bool, Dflt::Bool(false)),
                p(&[kw::START_FROM_EPOCH], Ty::Int, Dflt::Int(0)),
            ],
        },
    },
    Entry {
        callee: CallbackCallee::ReduceLrOnPlateau,
        sig: Sig {
            names: &[kw::REDUCE_LR_ON_PLATEAU],
            params: &[
                MONITOR,
                p(&[kw::FACTOR], Ty::Float, Dflt::Float(0.1)),
                p(&[kw::PATIENCE], Ty::Int, Dflt::Int(10)),
                MODE,
                p(&[kw::MIN_DELTA], Ty::Float, Dflt::Float(1e-4)),
                p(&[kw::COOLDOWN], Ty::Int, Dflt::Int(0)),
                p(&[kw::MIN_LR], Ty::Float, Dflt::Float(0.0)),
            ],
        },
    },
    Entry {
        callee: CallbackCallee::ModelCheckpoint,
        sig: Sig {
            names: &[kw::MODEL_CHECKPOINT],
            params: &[
                p(&[kw::PATH, kw::FILEPATH], Ty::Text, Dflt::Required),
                MONITOR,
                p(&[kw::SAVE_BEST_ONLY], Ty::Bool, Dflt::Bool(false)),
                p(&[kw::SAVE_WEIGHTS_ONLY], Ty::Bool, Dflt::Bool(false)),
                MODE,
            ],
        },
    },
    Entry {
        callee: CallbackCallee::CsvLogger,
        sig: Sig {
            names: &[kw::CSV_LOGGER],
            params: &[
                p(&[kw::FILENAME], Ty::Text, Dflt::Required),
                p(&[kw::SEPARATOR], Ty::Text, Dflt::Text(",")),
                p(&[kw::APPEND], Ty::Bool, Dflt::Bool(false)),
            ],
        },
    },
    Entry {
        callee: CallbackCallee::TensorBoard,
        sig: Sig {
            names: &[kw::TENSORBOARD],
            params: &[p(&[kw::LOG_DIR], Ty::Text, Dflt::Text("logs"))],
        },
    },
    Entry {
        callee: CallbackCallee::TerminateOnNan,
        sig: Sig {
            names: &[kw::TERMINATE_ON_NAN],
            params: NO_PARAMS,
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
    Callbacks,
    ClassWeight,
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
    (&[kw::CALLBACKS], Setting::Callbacks),
    (&[kw::CLASS_WEIGHT], Setting::ClassWeight),
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
        || find(SCHEDULES, name).is_some()
        || find(CALLBACKS, name).is_some()
        || name == kw::TRUE
        || name == kw::FALSE
}
