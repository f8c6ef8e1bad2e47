//! Every name the language knows, in one place: keywords, layer names, argument names,
//! initialisers, regularisers, optimisers, losses, metrics and activations. Other modules
//! refer to these constants, never to string literals (`serde_derive`'s `internals/symbol.rs`).

// Keywords.
/// `model Name { … }`.
pub const MODEL: &str = "model";
/// `let name = value`.
pub const LET: &str = "let";
/// `input [28, 28]`.
pub const INPUT: &str = "input";
/// `train { … }`.
pub const TRAIN: &str = "train";
/// Boolean literal.
pub const TRUE: &str = "true";
/// Boolean literal.
pub const FALSE: &str = "false";

// Layers.
/// `Flatten`.
pub const FLATTEN: &str = "Flatten";
/// `Dense(units, …)`.
pub const DENSE: &str = "Dense";
/// `Dropout(rate)`.
pub const DROPOUT: &str = "Dropout";
/// `BatchNorm(momentum, epsilon)`.
pub const BATCH_NORM: &str = "BatchNorm";
/// Keras's spelling, an alias of [`BATCH_NORM`].
pub const BATCH_NORMALIZATION: &str = "BatchNormalization";
/// `LeakyReLU(slope)`.
pub const LEAKY_RELU: &str = "LeakyReLU";
/// `ReLU`.
pub const RELU_LAYER: &str = "ReLU";
/// `Sigmoid`.
pub const SIGMOID_LAYER: &str = "Sigmoid";
/// `Tanh`.
pub const TANH_LAYER: &str = "Tanh";
/// `Softmax`.
pub const SOFTMAX_LAYER: &str = "Softmax";
/// `Activation(name)`: Keras's generic activation layer.
pub const ACTIVATION_LAYER: &str = "Activation";
/// `Rescale(scale, offset)`.
pub const RESCALE: &str = "Rescale";
/// Keras's spelling, an alias of [`RESCALE`].
pub const RESCALING: &str = "Rescaling";
/// `Normalization(axis = -1)`: Keras's feature normalisation, adapted from the data.
pub const NORMALIZATION: &str = "Normalization";

// Layer and call arguments.
/// Dense: number of units.
pub const UNITS: &str = "units";
/// Dense: activation.
pub const ACTIVATION: &str = "activation";
/// Dense: kernel initialiser.
pub const INIT: &str = "init";
/// Keras name of [`INIT`].
pub const KERNEL_INITIALIZER: &str = "kernel_initializer";
/// Dense: bias initialiser.
pub const BIAS_INIT: &str = "bias_init";
/// Keras name of [`BIAS_INIT`].
pub const BIAS_INITIALIZER: &str = "bias_initializer";
/// Dense: kernel regulariser.
pub const REG: &str = "reg";
/// Keras name of [`REG`].
pub const KERNEL_REGULARIZER: &str = "kernel_regularizer";
/// Dense: bias regulariser.
pub const BIAS_REG: &str = "bias_reg";
/// Keras name of [`BIAS_REG`].
pub const BIAS_REGULARIZER: &str = "bias_regularizer";
/// Dense: whether there is a bias.
pub const USE_BIAS: &str = "use_bias";
/// Dropout: drop probability.
pub const RATE: &str = "rate";
/// `BatchNorm` / `SGD` / `RMSprop`: momentum.
pub const MOMENTUM: &str = "momentum";
/// `BatchNorm` / `Adam` / `RMSprop`: epsilon.
pub const EPSILON: &str = "epsilon";
/// `LeakyReLU`: negative slope.
pub const SLOPE: &str = "slope";
/// Keras 2 name of [`SLOPE`] (the notebook writes `alpha=0.2`).
pub const ALPHA: &str = "alpha";
/// Keras 3 name of [`SLOPE`].
pub const NEGATIVE_SLOPE: &str = "negative_slope";
/// Rescale: multiplier.
pub const SCALE: &str = "scale";
/// Rescale: added after scaling.
pub const OFFSET: &str = "offset";
/// Initialiser argument: lower bound.
pub const MIN: &str = "min";
/// Keras name of [`MIN`].
pub const MINVAL: &str = "minval";
/// Initialiser argument: upper bound.
pub const MAX: &str = "max";
/// Keras name of [`MAX`].
pub const MAXVAL: &str = "maxval";
/// Initialiser argument: mean.
pub const MEAN: &str = "mean";
/// Initialiser argument: standard deviation.
pub const STDDEV: &str = "stddev";
/// `constant(value)`.
pub const VALUE: &str = "value";
/// Optimiser argument: learning rate.
pub const LR: &str = "lr";
/// Keras name of [`LR`].
pub const LEARNING_RATE: &str = "learning_rate";
/// Adam: first-moment decay.
pub const BETA1: &str = "beta1";
/// Keras name of [`BETA1`].
pub const BETA_1: &str = "beta_1";
/// Adam: second-moment decay.
pub const BETA2: &str = "beta2";
/// Keras name of [`BETA2`].
pub const BETA_2: &str = "beta_2";
/// `gelu`: the tanh approximation.
pub const APPROXIMATE: &str = "approximate";
/// SGD: Nesterov momentum.
pub const NESTEROV: &str = "nesterov";
/// `RMSprop`: decay of the squared-gradient average.
pub const RHO: &str = "rho";
/// `Normalization`: the axis it normalises (only -1).
pub const AXIS: &str = "axis";
/// Cross-entropies: whether the output is logits.
pub const FROM_LOGITS: &str = "from_logits";
/// Huber: where the loss turns linear.
pub const DELTA: &str = "delta";
/// `binary_accuracy`: decision threshold; also accepted for [`THRESHOLDS`].
pub const THRESHOLD: &str = "threshold";
/// `precision` / `recall`: decision threshold (Keras's name).
pub const THRESHOLDS: &str = "thresholds";
/// `auc`: number of thresholds.
pub const NUM_THRESHOLDS: &str = "num_thresholds";

// Initialisers.
/// All zeros.
pub const ZEROS: &str = "zeros";
/// All ones.
pub const ONES: &str = "ones";
/// `constant(value)`.
pub const CONSTANT: &str = "constant";
/// `RandomUniform`.
pub const UNIFORM: &str = "uniform";
/// Keras alias of [`UNIFORM`].
pub const RANDOM_UNIFORM: &str = "random_uniform";
/// `RandomNormal`.
pub const NORMAL: &str = "normal";
/// Keras alias of [`NORMAL`].
pub const RANDOM_NORMAL: &str = "random_normal";
/// `TruncatedNormal`.
pub const TRUNCATED_NORMAL: &str = "truncated_normal";
/// Glorot (Xavier) uniform.
pub const GLOROT_UNIFORM: &str = "glorot_uniform";
/// Alias of [`GLOROT_UNIFORM`].
pub const XAVIER_UNIFORM: &str = "xavier_uniform";
/// Glorot (Xavier) normal.
pub const GLOROT_NORMAL: &str = "glorot_normal";
/// Alias of [`GLOROT_NORMAL`].
pub const XAVIER_NORMAL: &str = "xavier_normal";
/// He normal.
pub const HE_NORMAL: &str = "he_normal";
/// He uniform.
pub const HE_UNIFORM: &str = "he_uniform";
/// `LeCun` normal.
pub const LECUN_NORMAL: &str = "lecun_normal";
/// `LeCun` uniform.
pub const LECUN_UNIFORM: &str = "lecun_uniform";

// Regularisers.
/// `l1(a)`.
pub const L1: &str = "l1";
/// `l2(a)`.
pub const L2: &str = "l2";
/// `l1_l2(l1 = a, l2 = b)`.
pub const L1_L2: &str = "l1_l2";

// Optimisers.
/// Adam.
pub const ADAM: &str = "adam";
/// Stochastic gradient descent.
pub const SGD: &str = "sgd";
/// `RMSprop`.
pub const RMSPROP: &str = "rmsprop";

// Train settings.
/// Optimiser.
pub const OPTIMIZER: &str = "optimizer";
/// Loss.
pub const LOSS: &str = "loss";
/// Metrics list.
pub const METRICS: &str = "metrics";
/// Batch size.
pub const BATCH: &str = "batch";
/// Keras name of [`BATCH`].
pub const BATCH_SIZE: &str = "batch_size";
/// Number of epochs.
pub const EPOCHS: &str = "epochs";
/// Random seed.
pub const SEED: &str = "seed";
/// Validation fraction.
pub const VALIDATION_SPLIT: &str = "validation_split";
/// Reshuffle every epoch.
pub const SHUFFLE: &str = "shuffle";

// Losses.
/// Sparse categorical cross-entropy.
pub const SPARSE_CATEGORICAL_CROSSENTROPY: &str = "sparse_categorical_crossentropy";
/// Categorical cross-entropy.
pub const CATEGORICAL_CROSSENTROPY: &str = "categorical_crossentropy";
/// Mean squared error (a loss and a metric).
pub const MSE: &str = "mse";
/// Alias of [`MSE`].
pub const MEAN_SQUARED_ERROR: &str = "mean_squared_error";
/// Binary cross-entropy.
pub const BINARY_CROSSENTROPY: &str = "binary_crossentropy";
/// Mean absolute error (a loss and a metric).
pub const MAE: &str = "mae";
/// Alias of [`MAE`].
pub const MEAN_ABSOLUTE_ERROR: &str = "mean_absolute_error";
/// Huber loss.
pub const HUBER: &str = "huber";

// Metrics.
/// Accuracy.
pub const ACCURACY: &str = "accuracy";
/// Alias of [`ACCURACY`].
pub const ACC: &str = "acc";
/// Binary accuracy.
pub const BINARY_ACCURACY: &str = "binary_accuracy";
/// Categorical accuracy (one-hot targets).
pub const CATEGORICAL_ACCURACY: &str = "categorical_accuracy";
/// Sparse categorical accuracy (class-index targets).
pub const SPARSE_CATEGORICAL_ACCURACY: &str = "sparse_categorical_accuracy";
/// Root mean squared error.
pub const ROOT_MEAN_SQUARED_ERROR: &str = "root_mean_squared_error";
/// Alias of [`ROOT_MEAN_SQUARED_ERROR`].
pub const RMSE: &str = "rmse";
/// Precision.
pub const PRECISION: &str = "precision";
/// Recall.
pub const RECALL: &str = "recall";
/// Area under the ROC curve.
pub const AUC: &str = "auc";

// Activations.
/// Identity.
pub const LINEAR: &str = "linear";
/// `max(x, 0)`.
pub const RELU: &str = "relu";
/// Logistic sigmoid.
pub const SIGMOID: &str = "sigmoid";
/// Hyperbolic tangent.
pub const TANH: &str = "tanh";
/// Softmax.
pub const SOFTMAX: &str = "softmax";
/// Exponential linear unit.
pub const ELU: &str = "elu";
/// Scaled exponential linear unit.
pub const SELU: &str = "selu";
/// Gaussian error linear unit.
pub const GELU: &str = "gelu";
/// `x·sigmoid(x)`.
pub const SILU: &str = "silu";
/// Keras alias of [`SILU`].
pub const SWISH: &str = "swish";
/// `log(1 + e^x)`.
pub const SOFTPLUS: &str = "softplus";
/// Leaky rectifier as an activation (the layer is [`LEAKY_RELU`]).
pub const LEAKY_RELU_ACTIVATION: &str = "leaky_relu";

// Optimisers added with schedules, weight decay and clipping (Keras 3 names).
/// `adamw(…)`.
pub const ADAMW: &str = "adamw";
/// `nadam(…)`.
pub const NADAM: &str = "nadam";
/// `adamax(…)`.
pub const ADAMAX: &str = "adamax";
/// `adagrad(…)`.
pub const ADAGRAD: &str = "adagrad";
/// `adadelta(…)`.
pub const ADADELTA: &str = "adadelta";
/// `lion(…)`.
pub const LION: &str = "lion";
/// Adam / `AdamW`: AMSGrad.
pub const AMSGRAD: &str = "amsgrad";
/// `RMSprop`: centred.
pub const CENTERED: &str = "centered";
/// Adagrad: the accumulators' start value.
pub const INITIAL_ACCUMULATOR_VALUE: &str = "initial_accumulator_value";
/// Every optimiser: decoupled weight decay.
pub const WEIGHT_DECAY: &str = "weight_decay";
/// Every optimiser: per-tensor gradient norm clipping.
pub const CLIPNORM: &str = "clipnorm";
/// Every optimiser: global gradient norm clipping.
pub const GLOBAL_CLIPNORM: &str = "global_clipnorm";
/// Every optimiser: element-wise gradient clipping.
pub const CLIPVALUE: &str = "clipvalue";

// Learning-rate schedules.
/// `exponential_decay(…)`.
pub const EXPONENTIAL_DECAY: &str = "exponential_decay";
/// `inverse_time_decay(…)`.
pub const INVERSE_TIME_DECAY: &str = "inverse_time_decay";
/// `polynomial_decay(…)`.
pub const POLYNOMIAL_DECAY: &str = "polynomial_decay";
/// `piecewise_constant(…)`.
pub const PIECEWISE_CONSTANT: &str = "piecewise_constant";
/// Keras name of [`PIECEWISE_CONSTANT`].
pub const PIECEWISE_CONSTANT_DECAY: &str = "piecewise_constant_decay";
/// `cosine_decay(…)`.
pub const COSINE_DECAY: &str = "cosine_decay";
/// `cosine_decay_restarts(…)`.
pub const COSINE_DECAY_RESTARTS: &str = "cosine_decay_restarts";
/// A schedule's starting rate.
pub const INITIAL_LEARNING_RATE: &str = "initial_learning_rate";
/// A schedule's period.
pub const DECAY_STEPS: &str = "decay_steps";
/// Cosine restarts: the first period.
pub const FIRST_DECAY_STEPS: &str = "first_decay_steps";
/// A schedule's decay factor.
pub const DECAY_RATE: &str = "decay_rate";
/// Decay in whole periods.
pub const STAIRCASE: &str = "staircase";
/// Polynomial decay: the final rate.
pub const END_LEARNING_RATE: &str = "end_learning_rate";
/// Polynomial decay: the power.
pub const POWER: &str = "power";
/// Polynomial decay: restart.
pub const CYCLE: &str = "cycle";
/// Piecewise constant: step boundaries.
pub const BOUNDARIES: &str = "boundaries";
/// Piecewise constant: the rates.
pub const VALUES: &str = "values";
/// Cosine decay: warm-up target.
pub const WARMUP_TARGET: &str = "warmup_target";
/// Cosine decay: warm-up steps.
pub const WARMUP_STEPS: &str = "warmup_steps";
/// Cosine restarts: period growth.
pub const T_MUL: &str = "t_mul";
/// Cosine restarts: rate factor per restart.
pub const M_MUL: &str = "m_mul";

// Callbacks and weights.
/// `callbacks = […]`.
pub const CALLBACKS: &str = "callbacks";
/// `class_weight = {0: 1.0, 1: 5.0}` or `balanced`.
pub const CLASS_WEIGHT: &str = "class_weight";
/// `class_weight = balanced`.
pub const BALANCED: &str = "balanced";
/// `early_stopping(…)`.
pub const EARLY_STOPPING: &str = "early_stopping";
/// `reduce_lr_on_plateau(…)`.
pub const REDUCE_LR_ON_PLATEAU: &str = "reduce_lr_on_plateau";
/// `model_checkpoint(…)`.
pub const MODEL_CHECKPOINT: &str = "model_checkpoint";
/// `csv_logger(…)`.
pub const CSV_LOGGER: &str = "csv_logger";
/// `tensorboard(…)`.
pub const TENSORBOARD: &str = "tensorboard";
/// `terminate_on_nan`.
pub const TERMINATE_ON_NAN: &str = "terminate_on_nan";
/// The watched quantity.
pub const MONITOR: &str = "monitor";
/// Least improvement.
pub const MIN_DELTA: &str = "min_delta";
/// Epochs without improvement.
pub const PATIENCE: &str = "patience";
/// `auto` / `min` / `max`.
pub const MODE: &str = "mode";
/// A value to beat.
pub const BASELINE: &str = "baseline";
/// Restore the best weights.
pub const RESTORE_BEST_WEIGHTS: &str = "restore_best_weights";
/// Epochs before watching.
pub const START_FROM_EPOCH: &str = "start_from_epoch";
/// Rate reduction factor.
pub const FACTOR: &str = "factor";
/// Epochs after a reduction.
pub const COOLDOWN: &str = "cooldown";
/// The lowest rate.
pub const MIN_LR: &str = "min_lr";
/// A file path.
pub const PATH: &str = "path";
/// Keras's older name of [`PATH`].
pub const FILEPATH: &str = "filepath";
/// Only save improvements.
pub const SAVE_BEST_ONLY: &str = "save_best_only";
/// Save weights only.
pub const SAVE_WEIGHTS_ONLY: &str = "save_weights_only";
/// A file name.
pub const FILENAME: &str = "filename";
/// The CSV separator.
pub const SEPARATOR: &str = "separator";
/// Append instead of overwrite.
pub const APPEND: &str = "append";
/// The `TensorBoard` folder.
pub const LOG_DIR: &str = "log_dir";
/// `mode = auto`.
pub const AUTO: &str = "auto";
