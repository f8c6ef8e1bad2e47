//! The intermediate representation: what a checked spec *means*.
//!
//! Plain serde data, produced by the last pass of the front end (`build IR`). Every Keras
//! default is filled in, every shape is known and every parameter is counted, so that the
//! runtime (`Network`) and the code generator never re-derive semantics from syntax.
//!
//! Invariants (established by the checks before the IR is built):
//! - `Model::layers` is non-empty; `layers[i].input_shape == layers[i-1].output_shape`
//!   and `layers[0].input_shape == Model::input`.
//! - Every shape excludes the batch dimension and every extent is ≥ 1.
//! - `Dense` only ever sees a 1-D input (`[features]`).
//! - `Normalization` comes before every layer but `Flatten` and `Rescale`, and its
//!   `features` is its input's last extent.
//! - Hyper-parameters are in range (`0 ≤ rate < 1`, `0 ≤ momentum < 1`, `epsilon > 0`,
//!   regularisation factors finite and ≥ 0, `units ≥ 1`, Huber's `delta > 0`, metric
//!   thresholds in `[0, 1]`, `num_thresholds` in `2..=2^24`).
//! - No two metrics share a [`Metric::keras_name`], and each fits the loss's targets and
//!   the output.
//! - Layer floats are `f32`, as Keras casts them to `float32`; optimiser, schedule and
//!   `BatchNorm` momentum hyper-parameters are the `f64` written, because Keras derives
//!   constants such as `1 - beta_1` from the Python float before casting.

use serde::{Deserialize, Serialize};

pub use crate::callbacks::{Callback, ClassWeight, Mode};
use crate::layout::{LayerTensor, Role};
pub use crate::optimizer::{Clip, LearningRate, Optimizer, OptimizerKind, Schedule};

/// Every model of one spec file, in source order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// The models, in the order they were written.
    pub models: Vec<Model>,
}

impl Spec {
    /// The model called `name`, if the file defines one.
    #[must_use]
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// One sequential model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// The model's name as written (`Baseline`); also the generated type's name.
    pub name: String,
    /// The `///` doc comment lines above `model`, without the `///` and one leading space.
    pub doc: Vec<String>,
    /// 1-based source line of the `model` keyword.
    pub line: u32,
    /// Shape of one input sample, without the batch dimension (`[28, 28]`).
    pub input: Vec<usize>,
    /// Layers in order, with shapes and parameter counts.
    pub layers: Vec<Layer>,
    /// Training configuration, defaults filled in when no `train` block was written.
    pub train: TrainConfig,
    /// Total / trainable / non-trainable parameter counts.
    pub params: ParamCounts,
}

impl Model {
    /// Shape of one output sample (the last layer's output shape).
    #[must_use]
    pub fn output_shape(&self) -> &[usize] {
        self.layers
            .last()
            .map_or(self.input.as_slice(), |l| l.output_shape.as_slice())
    }

    /// Number of input features of one sample (product of `input`).
    #[must_use]
    pub fn input_size(&self) -> usize {
        self.input.iter().product()
    }

    /// Number of output features of one sample (product of the output shape).
    #[must_use]
    pub fn output_size(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Whether the loss is computed from the logits of the final softmax (exact, as Keras's
    /// TensorFlow backend does): the loss is a (sparse) categorical cross-entropy and the
    /// last layer is `Dense(…, activation = softmax)` or a `Softmax` layer. The runtime and
    /// the generated code then end the forward pass of training on the softmax's input.
    #[must_use]
    pub fn loss_uses_softmax_logits(&self) -> bool {
        self.logits_head() == Some(Activation::Softmax)
    }

    /// The final activation the loss applies itself, from its logits, as Keras's
    /// TensorFlow backend does: the softmax ending a model trained with a (sparse)
    /// categorical cross-entropy, or the sigmoid ending one trained with binary
    /// cross-entropy (neither with `from_logits`). The final activation is the last
    /// layer's: `Dense(…, activation = …)` or a stand-alone activation layer.
    #[must_use]
    pub fn logits_head(&self) -> Option<Activation> {
        let loss = self.train.loss;
        if loss.from_logits() {
            return None;
        }
        let last = self.layers.last().and_then(|l| l.kind.final_activation())?;
        let fits = match last {
            Activation::Softmax => loss.is_categorical(),
            Activation::Sigmoid => matches!(loss, Loss::BinaryCrossentropy { .. }),
            _ => false,
        };
        fits.then_some(last)
    }
}

/// Parameter counts, as Keras's `model.summary()` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ParamCounts {
    /// All parameters (trainable + non-trainable).
    pub total: usize,
    /// Parameters updated by the optimiser.
    pub trainable: usize,
    /// Parameters not updated by the optimiser (`BatchNorm` moving statistics).
    pub non_trainable: usize,
}

/// One layer with its resolved shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// Keras's name for the layer in a fresh model: `dense`, `dense_1`, `flatten`,
    /// `batch_normalization`, `leaky_re_lu`, `dropout_1`, …
    pub name: String,
    /// What the layer does, every argument resolved.
    pub kind: LayerKind,
    /// Shape of one input sample.
    pub input_shape: Vec<usize>,
    /// Shape of one output sample.
    pub output_shape: Vec<usize>,
    /// Trainable and non-trainable parameters of this layer.
    pub params: ParamCounts,
    /// 1-based source line the layer was written on (generated code cites it).
    pub line: u32,
}

/// A layer's meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LayerKind {
    /// Reshape `[d0, d1, …]` to `[d0·d1·…]`.
    Flatten,
    /// `y = activation(x · kernel + bias)`; kernel is `[in, units]` (Keras layout), bias `[units]`.
    Dense(Dense),
    /// Inverted dropout: in training, each unit is zeroed with probability `rate` and the kept
    /// ones are scaled by `1 / (1 - rate)`; identity in inference.
    Dropout {
        /// Probability of dropping a unit, in `[0, 1)`.
        rate: f32,
    },
    /// Batch normalisation over the last axis.
    BatchNorm(BatchNorm),
    /// `y = x` for `x ≥ 0`, `slope · x` otherwise.
    LeakyRelu {
        /// Slope for negative inputs (Keras 3 default 0.3; the notebook uses 0.2).
        slope: f32,
    },
    /// A stand-alone activation layer: `ReLU`, `Sigmoid`, `Tanh`, `Softmax`, or
    /// `Activation(name)` for any activation.
    Activation {
        /// The function.
        activation: Activation,
        /// Which Keras layer class it is (its summary type and name).
        class: ActivationClass,
    },
    /// `y = x · scale + offset` (Keras `Rescaling`).
    Rescale {
        /// Multiplier.
        scale: f32,
        /// Added after scaling (default 0).
        offset: f32,
    },
    /// Keras `Normalization(axis = -1)`: `y = (x - mean) / max(sqrt(variance), 1e-7)`,
    /// element `j` of a sample using `mean[j % features]` and `variance[j % features]`.
    /// Its tensors are non-trainable state: `mean` `[features]` (initially 0),
    /// `variance` `[features]` (initially 1) and `count` `[]` (a 0-d tensor, one f32,
    /// initially 0), which Keras's `adapt` sets from the training data (population mean
    /// and variance per feature, over every sample and every row of a sample; `count`
    /// the number of values each statistic is taken over). Only `Flatten` and `Rescale`
    /// may come before it, so mlp adapts it on the raw input passed through those.
    Normalization {
        /// The last extent of its input (the axis it normalises).
        features: usize,
    },
}

/// A `Dense` layer's resolved arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    /// Number of output units (≥ 1).
    pub units: usize,
    /// Activation applied after the affine map (default `Linear`).
    pub activation: Activation,
    /// Kernel initialiser (default `GlorotUniform`).
    pub kernel_init: Initializer,
    /// Bias initialiser (default `Zeros`).
    pub bias_init: Initializer,
    /// Penalty on the kernel (default none).
    pub kernel_reg: Option<Regularizer>,
    /// Penalty on the bias (default none).
    pub bias_reg: Option<Regularizer>,
    /// Whether the layer has a bias (default true).
    pub use_bias: bool,
}

/// A `BatchNorm` layer's resolved arguments. Parameters, in order: gamma, beta (trainable),
/// moving mean, moving variance (non-trainable), each `[features]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BatchNorm {
    /// Moving-statistics momentum in `[0, 1)` (default 0.99), the f64 the spec wrote:
    /// `moving = moving · f32(momentum) + batch · f32(1 - momentum)`, the difference taken
    /// in f64 as Keras takes it from the Python float.
    pub momentum: f64,
    /// Added to the variance before the square root (default 1e-3).
    pub epsilon: f32,
}

/// Which Keras layer class a stand-alone activation layer is. Keras has classes of its own
/// for some activations (`ReLU`, `Softmax`) and the generic `Activation(name)` for every
/// one, and names and prints the two differently (`re_lu (ReLU)` and
/// `activation (Activation)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActivationClass {
    /// Keras's own class for the activation: `ReLU` (`re_lu`) for [`Activation::Relu`],
    /// `Softmax` (`softmax`) for [`Activation::Softmax`]. Written `ReLU`, `Softmax`. Only
    /// those two have one; with any other activation it means [`ActivationClass::Generic`].
    Dedicated,
    /// Keras's `Activation` class (`activation`): written `Activation(name)`, and the
    /// `Sigmoid` and `Tanh` layers (Keras has no classes of their own for them).
    Generic,
}

/// Element-wise activation functions, with Keras 3's formulas (its TensorFlow backend's).
///
/// Every one but softmax acts on each element alone. The backward pass of most can be
/// computed from the output alone; [`Activation::derivative_needs_input`] names those that
/// need the input too.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    /// Identity.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    /// `x` for `x > 0`, `alpha·(e^x - 1)` otherwise (Keras `elu`, `alpha` default 1).
    Elu {
        /// Scale of the negative part (any finite number; Keras default 1).
        alpha: f32,
    },
    /// `scale·x` for `x > 0`, `scale·alpha·(e^x - 1)` otherwise, with TensorFlow's
    /// constants `scale = 1.0507009873554805`, `alpha = 1.6732632423543772` (Keras `selu`).
    Selu,
    /// `0.5·x·(1 + erf(x/√2))`, or with `approximate` the tanh form
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))` (Keras `gelu`, default exact).
    Gelu {
        /// Whether to use the tanh approximation (Keras default false).
        approximate: bool,
    },
    /// `x·sigmoid(x)` (Keras `silu`, alias `swish`).
    Silu,
    /// `log(1 + e^x)`, as TensorFlow computes it: `x` above 13.94, `e^x` below -13.94
    /// (Keras `softplus`).
    Softplus,
    /// `x` for `x > 0`, `negative_slope·x` otherwise (Keras `activations.leaky_relu`,
    /// `negative_slope` default 0.2; the `LeakyReLU` layer is [`LayerKind::LeakyRelu`]).
    LeakyRelu {
        /// Slope for negative inputs (any finite number; Keras default 0.2).
        negative_slope: f32,
    },
}

impl Activation {
    /// Keras's own layer class for the activation and its base name, if it has one:
    /// `("ReLU", "re_lu")`, `("Softmax", "softmax")`. Every other activation is only ever
    /// an `Activation` layer.
    #[must_use]
    pub fn dedicated_layer(self) -> Option<(&'static str, &'static str)> {
        match self {
            Activation::Relu => Some(("ReLU", "re_lu")),
            Activation::Softmax => Some(("Softmax", "softmax")),
            Activation::Linear
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Elu { .. }
            | Activation::Selu
            | Activation::Gelu { .. }
            | Activation::Silu
            | Activation::Softplus
            | Activation::LeakyRelu { .. } => None,
        }
    }

    /// Whether the derivative needs the activation's input `x`: true when it cannot be
    /// computed from the output `y` alone. Gelu, silu and softplus are not monotonic or
    /// have derivatives that are no function of `y`; elu and leaky relu follow from `y`'s
    /// sign and value only while their negative part keeps a negative sign (`alpha ≥ 0`,
    /// `negative_slope ≥ 0`). Relu, sigmoid, tanh, softmax, selu and linear never need it.
    ///
    /// A `Dense` with such an activation keeps its pre-activation (see the plan).
    #[must_use]
    pub fn derivative_needs_input(self) -> bool {
        match self {
            Activation::Gelu { .. } | Activation::Silu | Activation::Softplus => true,
            Activation::Elu { alpha } => alpha.is_sign_negative() && alpha != 0.0,
            Activation::LeakyRelu { negative_slope } => {
                negative_slope.is_sign_negative() && negative_slope != 0.0
            }
            Activation::Linear
            | Activation::Relu
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softmax
            | Activation::Selu => false,
        }
    }
}

/// Weight initialisers with Keras 3 semantics. `fan_in`/`fan_out` are the kernel's
/// `[in, out]` extents.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Initializer {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// `Constant(value)`.
    Constant(f32),
    /// `RandomUniform(min, max)`; Keras default `(-0.05, 0.05)`.
    Uniform {
        /// Lower bound (inclusive).
        min: f32,
        /// Upper bound (exclusive).
        max: f32,
    },
    /// `RandomNormal(mean, stddev)`; Keras default `(0, 0.05)`. Not truncated.
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// `TruncatedNormal(mean, stddev)`: normal, redrawn outside `mean ± 2·stddev`.
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
    },
    /// `U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))`.
    GlorotUniform,
    /// Truncated normal, `stddev = sqrt(2 / (fan_in + fan_out)) / 0.87962566103423978`.
    GlorotNormal,
    /// Truncated normal, `stddev = sqrt(2 / fan_in) / 0.87962566103423978`.
    HeNormal,
    /// `U(-l, l)`, `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal, `stddev = sqrt(1 / fan_in) / 0.87962566103423978`.
    LecunNormal,
    /// `U(-l, l)`, `l = sqrt(3 / fan_in)`.
    LecunUniform,
}

/// A weight penalty: `loss += l1 · Σ|w| + l2 · Σw²` (no ½; gradient `l1·sign(w) + 2·l2·w`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regularizer {
    /// L1 factor (≥ 0, finite).
    pub l1: f32,
    /// L2 factor (≥ 0, finite).
    pub l2: f32,
}

/// The `train { … }` block, Keras defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimiser (default `adam()`).
    pub optimizer: Optimizer,
    /// Loss (default `sparse_categorical_crossentropy`).
    pub loss: Loss,
    /// Metrics reported besides the loss (default `[accuracy]`).
    pub metrics: Vec<Metric>,
    /// Mini-batch size (default 32).
    pub batch: usize,
    /// Number of epochs (default 10).
    pub epochs: usize,
    /// Seed of initialisation, shuffling and dropout masks (default 0).
    pub seed: u64,
    /// Fraction of the training data held out for validation, taken from the end before
    /// shuffling (default none: validate on the test set).
    pub validation_split: Option<f32>,
    /// Whether to reshuffle the training data every epoch (default true).
    pub shuffle: bool,
    /// Keras callbacks run by `fit`, in the order written (default none).
    pub callbacks: Vec<Callback>,
    /// Per-class loss weights (Keras `class_weight`; default none).
    pub class_weight: Option<ClassWeight>,
}

/// Loss functions with Keras semantics; all are means over the batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Loss {
    /// Integer class targets. With `from_logits` the output is taken as logits; after a
    /// final softmax the loss is computed from that softmax's logits (as Keras's TensorFlow
    /// backend does); otherwise from probabilities clipped to `[1e-7, 1 - 1e-7]`.
    SparseCategoricalCrossentropy {
        /// Whether the model's output is logits (Keras `from_logits`, default false).
        from_logits: bool,
    },
    /// One-hot (or probability) targets; same rules as the sparse form.
    CategoricalCrossentropy {
        /// Whether the model's output is logits (Keras `from_logits`, default false).
        from_logits: bool,
    },
    /// Binary cross-entropy, mean over the last axis, then over the batch. With
    /// `from_logits`, or after a final sigmoid (from that sigmoid's logits, as Keras's
    /// TensorFlow backend does), `max(z, 0) - z·t + log(1 + exp(-|z|))`; otherwise on
    /// probabilities clipped to `[1e-7, 1 - 1e-7]`.
    BinaryCrossentropy {
        /// Whether the model's output is logits (Keras `from_logits`, default false).
        from_logits: bool,
    },
    /// Mean squared error over the last axis, then over the batch.
    MeanSquaredError,
    /// Mean absolute error over the last axis, then over the batch.
    MeanAbsoluteError,
    /// Huber loss over the last axis, then over the batch: `½e²` for `|e| ≤ delta`, else
    /// `delta·|e| - ½delta²`.
    Huber {
        /// Where the loss turns from quadratic to linear (Keras default 1.0, > 0).
        delta: f32,
    },
}

impl Loss {
    /// Whether this is a (sparse) categorical cross-entropy.
    #[must_use]
    pub fn is_categorical(self) -> bool {
        matches!(
            self,
            Loss::SparseCategoricalCrossentropy { .. } | Loss::CategoricalCrossentropy { .. }
        )
    }

    /// Whether the loss was told the output is logits (`from_logits = true`).
    #[must_use]
    pub fn from_logits(self) -> bool {
        match self {
            Loss::SparseCategoricalCrossentropy { from_logits }
            | Loss::CategoricalCrossentropy { from_logits }
            | Loss::BinaryCrossentropy { from_logits } => from_logits,
            Loss::MeanSquaredError | Loss::MeanAbsoluteError | Loss::Huber { .. } => false,
        }
    }

    /// Keras's name of the loss (`sparse_categorical_crossentropy`, `huber`).
    #[must_use]
    pub fn keras_name(self) -> &'static str {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::Huber { .. } => "huber",
        }
    }
}

/// Metrics reported beside the loss, with Keras 3 semantics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Metric {
    /// `"accuracy"`: Keras picks the variant from the loss and the output: binary
    /// accuracy (threshold 0.5) for binary cross-entropy or a single output unit,
    /// categorical accuracy for categorical cross-entropy, sparse categorical accuracy
    /// otherwise.
    Accuracy,
    /// Fraction of output values on the right side of `threshold` (`p > threshold` is 1).
    BinaryAccuracy {
        /// Decision threshold (Keras default 0.5).
        threshold: f32,
    },
    /// Fraction of samples whose output arg-max equals the target row's arg-max.
    CategoricalAccuracy,
    /// Fraction of samples whose output arg-max equals the class index.
    SparseCategoricalAccuracy,
    /// Mean absolute error.
    MeanAbsoluteError,
    /// Mean squared error.
    MeanSquaredError,
    /// Square root of the mean squared error over all samples seen.
    RootMeanSquaredError,
    /// `TP / (TP + FP)` at `threshold`, over all outputs (binary and multi-label).
    Precision {
        /// Decision threshold (Keras default 0.5).
        threshold: f32,
    },
    /// `TP / (TP + FN)` at `threshold`, over all outputs.
    Recall {
        /// Decision threshold (Keras default 0.5).
        threshold: f32,
    },
    /// Area under the ROC curve, Keras's `AUC()`: confusion counts at `num_thresholds`
    /// evenly spaced thresholds, integrated with Keras's interpolation.
    Auc {
        /// Number of thresholds (Keras default 200; 2 to 2^24).
        num_thresholds: usize,
    },
}

impl Metric {
    /// The key Keras's `History` reports the metric under (and `val_` + it for the
    /// validation set): `accuracy`, `binary_accuracy`, `categorical_accuracy`,
    /// `sparse_categorical_accuracy`, `mae`, `mse`, `root_mean_squared_error`,
    /// `precision`, `recall`, `auc`. (Keras names a metric given as a string after the
    /// string itself, so `metrics=["mean_absolute_error"]` would report
    /// `mean_absolute_error`; mlp reports each metric under one name, the one above.)
    #[must_use]
    pub fn keras_name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BinaryAccuracy { .. } => "binary_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::MeanAbsoluteError => "mae",
            Metric::MeanSquaredError => "mse",
            Metric::RootMeanSquaredError => "root_mean_squared_error",
            Metric::Precision { .. } => "precision",
            Metric::Recall { .. } => "recall",
            Metric::Auc { .. } => "auc",
        }
    }
}

impl Default for TrainConfig {
    /// What a model without a `train` block trains with (each field's doc gives its
    /// default): Adam, sparse categorical cross-entropy, `[accuracy]`, batch 32, 10 epochs,
    /// seed 0, no validation split, shuffling on.
    fn default() -> Self {
        TrainConfig {
            optimizer: Optimizer::default(),
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            metrics: vec![Metric::Accuracy],
            batch: 32,
            epochs: 10,
            seed: 0,
            validation_split: None,
            shuffle: true,
            callbacks: Vec::new(),
            class_weight: None,
        }
    }
}

impl Layer {
    /// The Keras class name shown in `model.summary()` ([`LayerKind::keras_class`]).
    #[must_use]
    pub fn keras_class(&self) -> &'static str {
        self.kind.keras_class()
    }
}

/// Every fact about a layer kind, one exhaustive `match` each: adding a variant makes the
/// compiler list every method here to extend (and the back ends' matches after them).
impl LayerKind {
    /// The Keras class name shown in `model.summary()`: `Dense`, `BatchNormalization`,
    /// `LeakyReLU`, `ReLU`, `Softmax`, `Activation` (`Activation(name)`, stand-alone
    /// sigmoid / tanh), `Rescaling`, `Normalization`, `Flatten`, `Dropout`.
    ///
    /// Stand-alone `ReLU` and `Softmax` have classes of their own in Keras
    /// ([`ActivationClass::Dedicated`]); the other activation layers are `Activation`.
    #[must_use]
    pub fn keras_class(&self) -> &'static str {
        match self {
            LayerKind::Flatten => "Flatten",
            LayerKind::Dense(_) => "Dense",
            LayerKind::Dropout { .. } => "Dropout",
            LayerKind::BatchNorm(_) => "BatchNormalization",
            LayerKind::LeakyRelu { .. } => "LeakyReLU",
            LayerKind::Activation { activation, class } => match class {
                ActivationClass::Dedicated => {
                    activation.dedicated_layer().map_or("Activation", |d| d.0)
                }
                ActivationClass::Generic => "Activation",
            },
            LayerKind::Rescale { .. } => "Rescaling",
            LayerKind::Normalization { .. } => "Normalization",
        }
    }

    /// Keras's base name for the layer (`dense`, `batch_normalization`, `leaky_re_lu`,
    /// `re_lu`, …): the snake-case class name, which Keras numbers per model (`dense`,
    /// `dense_1`, …) to name the layer and, after it, its weights. `Activation(name)` and
    /// a stand-alone sigmoid or tanh are Keras `Activation` layers, named `activation`.
    #[must_use]
    pub fn keras_base_name(&self) -> &'static str {
        match self {
            LayerKind::Flatten => "flatten",
            LayerKind::Dense(_) => "dense",
            LayerKind::Dropout { .. } => "dropout",
            LayerKind::BatchNorm(_) => "batch_normalization",
            LayerKind::LeakyRelu { .. } => "leaky_re_lu",
            LayerKind::Activation { activation, class } => match class {
                ActivationClass::Dedicated => {
                    activation.dedicated_layer().map_or("activation", |d| d.1)
                }
                ActivationClass::Generic => "activation",
            },
            LayerKind::Rescale { .. } => "rescaling",
            LayerKind::Normalization { .. } => "normalization",
        }
    }

    /// Shape of one output sample given the shape of one input sample: `Flatten` gives
    /// `[product]`, `Dense` gives `[units]`, every other layer keeps the shape.
    #[must_use]
    pub fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        // A known input always gives a known output; the fallback is never taken.
        self.output_shape_after(Some(input))
            .unwrap_or_else(|| input.to_vec())
    }

    /// [`LayerKind::output_shape`] for an input shape that may be unknown (`None`, after
    /// a mistake the checks already reported): `None` where the output depends on it.
    /// Extents saturate rather than overflow.
    pub(crate) fn output_shape_after(&self, input: Option<&[usize]>) -> Option<Vec<usize>> {
        match self {
            LayerKind::Flatten => {
                input.map(|s| vec![s.iter().fold(1usize, |a, &b| a.saturating_mul(b))])
            }
            LayerKind::Dense(d) => Some(vec![d.units]),
            LayerKind::Dropout { .. }
            | LayerKind::BatchNorm(_)
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Rescale { .. }
            | LayerKind::Normalization { .. } => input.map(<[usize]>::to_vec),
        }
    }

    /// Trainable and non-trainable parameters of the layer given its input shape, as
    /// `model.summary()` counts them: `Dense` has `in · units` (+ `units` with a bias)
    /// trainable; `BatchNorm` has `2 · features` trainable (gamma, beta) and `2 · features`
    /// non-trainable (moving mean and variance); `Normalization` has `2 · features + 1`
    /// non-trainable (mean, variance and the scalar count); the other layers have none. Agrees with
    /// the lengths of [`LayerKind::tensors`] (a test checks it).
    #[must_use]
    pub fn param_counts(&self, input: &[usize]) -> ParamCounts {
        let (trainable, non_trainable) = self.param_counts_wide(input);
        let narrow = |n: u128| usize::try_from(n).unwrap_or(usize::MAX);
        ParamCounts {
            total: narrow(trainable + non_trainable),
            trainable: narrow(trainable),
            non_trainable: narrow(non_trainable),
        }
    }

    /// [`LayerKind::param_counts`] as `(trainable, non-trainable)` in `u128`, which cannot
    /// overflow, for the size check on shapes not yet known to be in range.
    pub(crate) fn param_counts_wide(&self, input: &[usize]) -> (u128, u128) {
        match self {
            LayerKind::Dense(d) => {
                let fan_in = input.iter().map(|&e| e as u128).product::<u128>();
                let units = d.units as u128;
                (fan_in * units + if d.use_bias { units } else { 0 }, 0)
            }
            LayerKind::BatchNorm(_) => {
                let features = input.last().copied().unwrap_or(0) as u128;
                (2 * features, 2 * features)
            }
            LayerKind::Normalization { .. } => {
                let features = input.last().copied().unwrap_or(0) as u128;
                (0, 2 * features + 1)
            }
            LayerKind::Flatten
            | LayerKind::Dropout { .. }
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Rescale { .. } => (0, 0),
        }
    }

    /// The layer's tensors given its input shape, in the order the parameter layout
    /// stores them, with their initialisers, penalties and Keras fans (`(in, units)` for a
    /// kernel, `(n, n)` for a 1-D tensor): `Dense` has kernel `[in, units]` and bias
    /// `[units]` (absent without a bias); `BatchNorm` has gamma, beta, moving mean and
    /// moving variance, each `[features]`; `Normalization` has mean and variance, each
    /// `[features]`, and count `[]` (fans `(1, 1)`); the other layers have none.
    #[must_use]
    pub fn tensors(&self, input: &[usize]) -> Vec<LayerTensor> {
        match self {
            LayerKind::Dense(d) => {
                let inputs: usize = input.iter().product();
                let kernel = LayerTensor {
                    role: Role::Kernel,
                    shape: vec![inputs, d.units],
                    init: d.kernel_init,
                    regularizer: d.kernel_reg,
                    fan_in: inputs,
                    fan_out: d.units,
                };
                let bias = d.use_bias.then(|| LayerTensor {
                    role: Role::Bias,
                    shape: vec![d.units],
                    init: d.bias_init,
                    regularizer: d.bias_reg,
                    fan_in: d.units,
                    fan_out: d.units,
                });
                std::iter::once(kernel).chain(bias).collect()
            }
            LayerKind::BatchNorm(_) => {
                let f = *input.last().unwrap_or(&1);
                [
                    (Role::Gamma, Initializer::Ones),
                    (Role::Beta, Initializer::Zeros),
                    (Role::MovingMean, Initializer::Zeros),
                    (Role::MovingVariance, Initializer::Ones),
                ]
                .into_iter()
                .map(|(role, init)| LayerTensor {
                    role,
                    shape: vec![f],
                    init,
                    regularizer: None,
                    fan_in: f,
                    fan_out: f,
                })
                .collect()
            }
            LayerKind::Normalization { .. } => {
                let f = *input.last().unwrap_or(&1);
                [
                    (Role::Mean, vec![f], Initializer::Zeros),
                    (Role::Variance, vec![f], Initializer::Ones),
                    (Role::Count, Vec::new(), Initializer::Zeros),
                ]
                .into_iter()
                .map(|(role, shape, init)| {
                    let fan = shape.first().copied().unwrap_or(1);
                    LayerTensor {
                        role,
                        shape,
                        init,
                        regularizer: None,
                        fan_in: fan,
                        fan_out: fan,
                    }
                })
                .collect()
            }
            LayerKind::Flatten
            | LayerKind::Dropout { .. }
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Activation { .. }
            | LayerKind::Rescale { .. } => Vec::new(),
        }
    }

    /// The element-wise [`Activation`] the layer's output ends in, if any: a `Dense`'s
    /// `activation`, or a stand-alone activation layer's. `LeakyReLU` (not an
    /// [`Activation`]) and the layers that apply none give `None`.
    #[must_use]
    pub fn final_activation(&self) -> Option<Activation> {
        match self {
            LayerKind::Dense(d) => Some(d.activation),
            LayerKind::Activation { activation, .. } => Some(*activation),
            LayerKind::Flatten
            | LayerKind::Dropout { .. }
            | LayerKind::BatchNorm(_)
            | LayerKind::LeakyRelu { .. }
            | LayerKind::Rescale { .. }
            | LayerKind::Normalization { .. } => None,
        }
    }
}
