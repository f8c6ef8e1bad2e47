//! The `compile_config` of `config.json` (optimiser, loss, metrics) both ways, and the
//! `train` settings Keras has no place for (batch, epochs, seed, validation split,
//! shuffle), which mlp keeps in `metadata.json`.
//!
//! The IR's training configuration is read in two small functions only:
//! [`crate::optimizer::from_ir`] and [`Extras::of`]; loss and metrics are matched here.

use mlp_spec::ir::{self, Loss, Metric};
use mlp_spec::kw;
use serde_json::Value;

use crate::config::object;
use crate::json::{self, Bad, Obj, J};
use crate::optimizer::{self, Hyper, Kind};
use crate::spec::number;

/// Keras's compile config of `train`.
pub(crate) fn compile_config(train: &ir::TrainConfig) -> J {
    J::obj([
        (
            "optimizer",
            optimizer_object(&optimizer::from_ir(&train.optimizer)),
        ),
        ("loss", loss(train.loss)),
        ("loss_weights", J::Null),
        (
            "metrics",
            J::Arr(train.metrics.iter().map(|&m| metric(m)).collect()),
        ),
        ("weighted_metrics", J::Null),
        ("run_eagerly", J::Bool(false)),
        ("steps_per_execution", J::int(1)),
        ("jit_compile", J::Bool(false)),
    ])
}

/// A hyper-parameter as JSON: the shortest text of its f32 when it is one (what the IR
/// holds today), else of the f64.
fn hyper_number(x: f64) -> J {
    J::Num(number(x))
}

/// The serialised Keras optimiser.
fn optimizer_object(h: &Hyper) -> J {
    let mut config = J::obj([
        ("name", J::str(h.kind.name())),
        ("learning_rate", hyper_number(h.learning_rate)),
        ("weight_decay", J::Null),
        ("clipnorm", J::Null),
        ("global_clipnorm", J::Null),
        ("clipvalue", J::Null),
        ("use_ema", J::Bool(false)),
        ("ema_momentum", J::Num("0.99".into())),
        ("ema_overwrite_frequency", J::Null),
        ("loss_scale_factor", J::Null),
        ("gradient_accumulation_steps", J::Null),
    ]);
    for v in &h.values {
        config.push(v.keras, hyper_number(v.value));
    }
    if let Some(n) = h.nesterov {
        config.push("nesterov", J::Bool(n));
    }
    for &(key, value) in h.kind.fixed_keys() {
        config.push(key, J::Bool(value));
    }
    object("keras.optimizers", h.kind.class(), config)
}

/// The loss as Keras serialises it: its name (as `compile(loss = "…")` saves it), or the
/// loss object when it has a non-default argument.
fn loss(l: Loss) -> J {
    let losses = |class: &str, config: J| object("keras.losses", class, config);
    let reduction = || J::str("sum_over_batch_size");
    match l {
        Loss::SparseCategoricalCrossentropy { from_logits: true } => losses(
            "SparseCategoricalCrossentropy",
            J::obj([
                ("name", J::str(l.keras_name())),
                ("reduction", reduction()),
                ("from_logits", J::Bool(true)),
                ("ignore_class", J::Null),
            ]),
        ),
        Loss::CategoricalCrossentropy { from_logits: true }
        | Loss::BinaryCrossentropy { from_logits: true } => losses(
            if l.is_categorical() {
                "CategoricalCrossentropy"
            } else {
                "BinaryCrossentropy"
            },
            J::obj([
                ("name", J::str(l.keras_name())),
                ("reduction", reduction()),
                ("from_logits", J::Bool(true)),
                ("label_smoothing", J::f32(0.0)),
                ("axis", J::int(-1)),
            ]),
        ),
        // Keras 3.15's `Huber.get_config` leaves `delta` out, but `from_config` takes it.
        Loss::Huber { delta } if delta != 1.0 => losses(
            "Huber",
            J::obj([
                ("name", J::str("huber_loss")),
                ("reduction", reduction()),
                ("delta", J::f32(delta)),
            ]),
        ),
        Loss::SparseCategoricalCrossentropy { from_logits: false }
        | Loss::CategoricalCrossentropy { from_logits: false }
        | Loss::BinaryCrossentropy { from_logits: false }
        | Loss::MeanSquaredError
        | Loss::MeanAbsoluteError
        | Loss::Huber { .. } => J::str(l.keras_name()),
    }
}

/// A metric as Keras serialises it: its name, or the metric object when it has a
/// non-default argument.
fn metric(m: Metric) -> J {
    let metrics = |class: &str, config: J| object("keras.metrics", class, config);
    match m {
        Metric::BinaryAccuracy { threshold } if threshold != 0.5 => metrics(
            "BinaryAccuracy",
            J::obj([
                ("name", J::str(m.keras_name())),
                ("dtype", J::str("float32")),
                ("threshold", J::f32(threshold)),
            ]),
        ),
        Metric::Precision { threshold } | Metric::Recall { threshold } if threshold != 0.5 => {
            metrics(
                if matches!(m, Metric::Precision { .. }) {
                    "Precision"
                } else {
                    "Recall"
                },
                J::obj([
                    ("name", J::str(m.keras_name())),
                    ("dtype", J::str("float32")),
                    ("thresholds", J::f32(threshold)),
                    ("top_k", J::Null),
                    ("class_id", J::Null),
                ]),
            )
        }
        Metric::Auc { num_thresholds } if num_thresholds != 200 => metrics(
            "AUC",
            J::obj([
                ("name", J::str(m.keras_name())),
                ("dtype", J::str("float32")),
                ("num_thresholds", J::int(num_thresholds as u64)),
                ("curve", J::str("ROC")),
                ("summation_method", J::str("interpolation")),
                ("multi_label", J::Bool(false)),
                ("num_labels", J::Null),
                ("label_weights", J::Null),
                ("from_logits", J::Bool(false)),
            ]),
        ),
        Metric::Accuracy
        | Metric::BinaryAccuracy { .. }
        | Metric::CategoricalAccuracy
        | Metric::SparseCategoricalAccuracy
        | Metric::MeanAbsoluteError
        | Metric::MeanSquaredError
        | Metric::RootMeanSquaredError
        | Metric::Precision { .. }
        | Metric::Recall { .. }
        | Metric::Auc { .. } => J::str(m.keras_name()),
    }
}

/// The `train` settings Keras's files have no place for, kept in `metadata.json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Extras {
    /// `batch`.
    pub(crate) batch: u64,
    /// `epochs`.
    pub(crate) epochs: u64,
    /// `seed`.
    pub(crate) seed: u64,
    /// `validation_split`.
    pub(crate) validation_split: Option<f64>,
    /// `shuffle`.
    pub(crate) shuffle: bool,
}

impl Extras {
    /// The settings of `train` (the one reader of these `TrainConfig` fields).
    pub(crate) fn of(train: &ir::TrainConfig) -> Extras {
        Extras {
            batch: train.batch as u64,
            epochs: train.epochs as u64,
            seed: train.seed,
            validation_split: train.validation_split.map(f64::from),
            shuffle: train.shuffle,
        }
    }

    /// As the `train` entry of `metadata.json`'s `mlp` object.
    pub(crate) fn to_json(&self) -> J {
        J::obj([
            ("batch", J::int(self.batch)),
            ("epochs", J::int(self.epochs)),
            ("seed", J::int(self.seed)),
            (
                "validation_split",
                self.validation_split.map_or(J::Null, hyper_number),
            ),
            ("shuffle", J::Bool(self.shuffle)),
        ])
    }

    /// Reads them back from `metadata.json`.
    pub(crate) fn from_json(obj: Obj<'_>) -> Result<Extras, Bad> {
        let count = |key: &str| -> Result<u64, Bad> {
            match obj.int(key)? {
                n if n >= 1 => Ok(n as u64),
                n => Err(Bad(format!("`{key}` = {n} must be at least 1"))),
            }
        };
        let seed = match obj.req("seed")? {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| Bad("`seed` must be a whole number from 0 to 2^64 - 1".to_owned()))?;
        let validation_split = match obj.get_or_null("validation_split") {
            Value::Null => None,
            v => Some(json::number(v, "validation_split")?),
        };
        Ok(Extras {
            batch: count("batch")?,
            epochs: count("epochs")?,
            seed,
            validation_split,
            shuffle: obj.bool_or("shuffle", true)?,
        })
    }

    /// The spec's `name = value` lines of the settings that differ from mlp's defaults.
    pub(crate) fn spec_lines(&self) -> Vec<(&'static str, String)> {
        let defaults = ir::TrainConfig::default();
        let d = Extras::of(&defaults);
        let mut lines = Vec::new();
        if self.batch != d.batch {
            lines.push((kw::BATCH, self.batch.to_string()));
        }
        if self.epochs != d.epochs {
            lines.push((kw::EPOCHS, self.epochs.to_string()));
        }
        if self.seed != d.seed {
            lines.push((kw::SEED, self.seed.to_string()));
        }
        if let Some(v) = self.validation_split {
            lines.push((kw::VALIDATION_SPLIT, number(v)));
        }
        if self.shuffle != d.shuffle {
            lines.push((kw::SHUFFLE, self.shuffle.to_string()));
        }
        lines
    }
}

/// The spec's training settings read from a compile config: `name = value` lines for
/// `optimizer`, `loss` and `metrics`, or `None` for a model saved without `compile()`.
pub(crate) fn train_lines(value: &Value) -> Result<Option<Vec<(&'static str, String)>>, Bad> {
    let compile = match value {
        Value::Null => return Ok(None),
        Value::Object(map) if map.is_empty() => return Ok(None),
        v => Obj::of(v, "`compile_config`")?,
    };
    compile.refuse_unknown(&[
        "optimizer",
        "loss",
        "loss_weights",
        "metrics",
        "weighted_metrics",
        "run_eagerly",
        "steps_per_execution",
        "jit_compile",
        "auto_scale_loss",
    ])?;
    compile.expect("loss_weights", &Value::Null, "mlp models have one output")?;
    match compile.get_or_null("weighted_metrics") {
        Value::Null => {}
        Value::Array(items) if items.is_empty() => {}
        other => {
            return Err(Bad(format!(
                "`weighted_metrics` = {} is not supported (mlp has no sample weights)",
                json::short(other)
            )))
        }
    }
    let optimizer = optimizer_text(compile.req("optimizer")?)
        .map_err(|b| Bad(format!("`optimizer`: {}", b.0)))?;
    let loss = loss_text(compile.req("loss")?).map_err(|b| Bad(format!("`loss`: {}", b.0)))?;
    let metrics = match compile.get_or_null("metrics") {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|m| metric_text(m).map_err(|b| Bad(format!("`metrics`: {}", b.0))))
            .collect::<Result<_, _>>()?,
        other => {
            return Err(Bad(format!(
                "`metrics` = {} is not supported (mlp takes a list of metrics)",
                json::short(other)
            )))
        }
    };
    Ok(Some(vec![
        (kw::OPTIMIZER, optimizer),
        (kw::LOSS, loss),
        (kw::METRICS, format!("[{}]", metrics.join(", "))),
    ]))
}

/// `(class, config)` of a serialised object, or of a bare name.
fn class_and_config<'a>(
    value: &'a Value,
    empty: &'a serde_json::Map<String, Value>,
) -> Result<(&'a str, Obj<'a>), Bad> {
    match value {
        Value::String(name) => Ok((name.as_str(), Obj { map: empty })),
        Value::Object(_) => {
            let obj = Obj::of(value, "it")?;
            let class = obj.string("class_name")?;
            let config = match obj.get_or_null("config") {
                Value::Null => Obj { map: empty },
                v => Obj::of(v, "`config`")?,
            };
            Ok((class, config))
        }
        other => Err(Bad(format!(
            "{} is not supported (expected a name or a serialised object)",
            json::short(other)
        ))),
    }
}

/// The optimiser as the spec writes it (`adam(lr = 0.001, …)`).
fn optimizer_text(value: &Value) -> Result<String, Bad> {
    let empty = serde_json::Map::new();
    let (class, config) = class_and_config(value, &empty)?;
    let kind = Kind::from_class(class).ok_or_else(|| {
        Bad(format!(
            "optimizer `{class}` is not supported; mlp has Adam, SGD and RMSprop"
        ))
    })?;
    let mut known = vec![
        "name",
        "learning_rate",
        "weight_decay",
        "clipnorm",
        "global_clipnorm",
        "clipvalue",
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
        "loss_scale_factor",
        "gradient_accumulation_steps",
        "nesterov",
    ];
    known.extend(kind.keys().iter().map(|k| k.0));
    known.extend(kind.fixed_keys().iter().map(|k| k.0));
    config.refuse_unknown(&known)?;
    match config.get_or_null("weight_decay") {
        Value::Null => {}
        v if v.as_f64() == Some(0.0) => {}
        v => {
            return Err(Bad(format!(
                "`weight_decay` = {} is not supported (mlp's penalties are regularisers)",
                json::short(v)
            )))
        }
    }
    for key in ["clipnorm", "global_clipnorm", "clipvalue"] {
        config.expect(key, &Value::Null, "mlp does not clip gradients")?;
    }
    config.expect(
        "use_ema",
        &Value::Bool(false),
        "mlp keeps no moving average of weights",
    )?;
    config.expect(
        "loss_scale_factor",
        &Value::Null,
        "mlp does not scale the loss",
    )?;
    match config.get_or_null("gradient_accumulation_steps") {
        Value::Null => {}
        v if v.as_i64() == Some(1) => {}
        v => {
            return Err(Bad(format!(
                "`gradient_accumulation_steps` = {} is not supported (mlp applies every \
                 batch's gradients)",
                json::short(v)
            )))
        }
    }
    for &(key, value) in kind.fixed_keys() {
        config.expect(key, &Value::Bool(value), "mlp has no such variant")?;
    }
    let learning_rate = match config.get_or_null("learning_rate") {
        Value::Null => kind.default_learning_rate(),
        v @ Value::Object(_) => {
            return Err(Bad(format!(
                "a learning-rate schedule ({}) is not supported (mlp's learning rate is a \
                 number)",
                json::short(v)
            )))
        }
        v => json::number(v, "learning_rate")?,
    };
    let values = kind
        .keys()
        .iter()
        .map(|&(keras, mlp, default)| {
            Ok(optimizer::Param {
                keras,
                mlp,
                value: config.f64_or(keras, default)?,
            })
        })
        .collect::<Result<Vec<_>, Bad>>()?;
    let nesterov = match kind {
        Kind::Sgd => Some(config.bool_or("nesterov", false)?),
        Kind::Adam | Kind::RmsProp => {
            config.expect("nesterov", &Value::Null, "only SGD has Nesterov momentum")?;
            None
        }
    };
    Ok(optimizer::spec_text(&Hyper {
        kind,
        learning_rate,
        values,
        nesterov,
    }))
}

/// Losses by Keras class and name, with mlp's name.
const LOSSES: &[(&str, &str)] = &[
    (
        "SparseCategoricalCrossentropy",
        kw::SPARSE_CATEGORICAL_CROSSENTROPY,
    ),
    ("CategoricalCrossentropy", kw::CATEGORICAL_CROSSENTROPY),
    ("BinaryCrossentropy", kw::BINARY_CROSSENTROPY),
    ("MeanSquaredError", kw::MEAN_SQUARED_ERROR),
    ("MeanAbsoluteError", kw::MEAN_ABSOLUTE_ERROR),
    ("Huber", kw::HUBER),
];

/// The loss as the spec writes it (`binary_crossentropy(from_logits = true)`).
fn loss_text(value: &Value) -> Result<String, Bad> {
    let empty = serde_json::Map::new();
    let (class, config) = class_and_config(value, &empty)?;
    let alias = match class {
        "mse" => kw::MEAN_SQUARED_ERROR,
        "mae" => kw::MEAN_ABSOLUTE_ERROR,
        "huber_loss" => kw::HUBER,
        other => other,
    };
    let name = LOSSES
        .iter()
        .find(|(c, n)| *c == alias || *n == alias)
        .map(|(_, n)| *n)
        .ok_or_else(|| {
            Bad(format!(
                "loss `{class}` is not supported; mlp has {}",
                LOSSES.iter().map(|l| l.1).collect::<Vec<_>>().join(", ")
            ))
        })?;
    config.refuse_unknown(&[
        "name",
        "reduction",
        "dtype",
        "from_logits",
        "ignore_class",
        "label_smoothing",
        "axis",
        "delta",
    ])?;
    match config.get_or_null("reduction") {
        Value::Null => {}
        Value::String(r) if r == "sum_over_batch_size" => {}
        other => {
            return Err(Bad(format!(
                "`reduction` = {} is not supported (mlp takes the mean over the batch, \
                 \"sum_over_batch_size\")",
                json::short(other)
            )))
        }
    }
    config.expect("ignore_class", &Value::Null, "mlp counts every class")?;
    config.expect(
        "label_smoothing",
        &Value::from(0.0),
        "mlp does not smooth labels",
    )?;
    config.expect(
        "axis",
        &Value::from(-1),
        "mlp takes the loss over the last axis",
    )?;
    let mut args = Vec::new();
    if name == kw::HUBER {
        let delta = config.f64_or("delta", 1.0)?;
        if delta as f32 != 1.0 {
            args.push(format!("{} = {}", kw::DELTA, number(delta)));
        }
    } else if config.bool_or("from_logits", false)? {
        args.push(format!("{} = true", kw::FROM_LOGITS));
    }
    Ok(if args.is_empty() {
        name.to_owned()
    } else {
        format!("{name}({})", args.join(", "))
    })
}

/// Metric names Keras and mlp both accept as strings.
const METRIC_NAMES: &[&str] = &[
    kw::ACCURACY,
    kw::ACC,
    kw::BINARY_ACCURACY,
    kw::CATEGORICAL_ACCURACY,
    kw::SPARSE_CATEGORICAL_ACCURACY,
    kw::MAE,
    kw::MEAN_ABSOLUTE_ERROR,
    kw::MSE,
    kw::MEAN_SQUARED_ERROR,
    kw::ROOT_MEAN_SQUARED_ERROR,
    kw::PRECISION,
    kw::RECALL,
    kw::AUC,
];

/// Metric classes with mlp's name.
const METRIC_CLASSES: &[(&str, &str)] = &[
    ("BinaryAccuracy", kw::BINARY_ACCURACY),
    ("CategoricalAccuracy", kw::CATEGORICAL_ACCURACY),
    ("SparseCategoricalAccuracy", kw::SPARSE_CATEGORICAL_ACCURACY),
    ("MeanAbsoluteError", kw::MAE),
    ("MeanSquaredError", kw::MSE),
    ("RootMeanSquaredError", kw::ROOT_MEAN_SQUARED_ERROR),
    ("Precision", kw::PRECISION),
    ("Recall", kw::RECALL),
    ("AUC", kw::AUC),
];

/// A metric as the spec writes it (`precision(thresholds = 0.3)`).
fn metric_text(value: &Value) -> Result<String, Bad> {
    if let Value::String(name) = value {
        return if METRIC_NAMES.contains(&name.as_str()) {
            Ok(name.clone())
        } else {
            Err(Bad(format!(
                "metric \"{name}\" is not supported; mlp has {}",
                METRIC_NAMES.join(", ")
            )))
        };
    }
    let empty = serde_json::Map::new();
    let (class, config) = class_and_config(value, &empty)?;
    let name =
        METRIC_CLASSES
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, n)| *n)
            .ok_or_else(|| {
                Bad(format!(
                "metric class `{class}` is not supported; mlp has {} (and \"accuracy\" by name)",
                METRIC_CLASSES.iter().map(|m| m.0).collect::<Vec<_>>().join(", ")
            ))
            })?;
    config.refuse_unknown(&[
        "name",
        "dtype",
        "threshold",
        "thresholds",
        "top_k",
        "class_id",
        "num_thresholds",
        "curve",
        "summation_method",
        "multi_label",
        "num_labels",
        "label_weights",
        "from_logits",
    ])?;
    config.expect("top_k", &Value::Null, "mlp counts every output")?;
    config.expect("class_id", &Value::Null, "mlp counts every output")?;
    let mut args = Vec::new();
    match name {
        n if n == kw::BINARY_ACCURACY => {
            let t = config.f64_or("threshold", 0.5)?;
            if t as f32 != 0.5 {
                args.push(format!("{} = {}", kw::THRESHOLD, number(t)));
            }
        }
        n if n == kw::PRECISION || n == kw::RECALL => {
            let t = match config.get_or_null("thresholds") {
                Value::Null => 0.5,
                Value::Array(items) if items.len() == 1 => json::number(&items[0], "thresholds")?,
                v @ Value::Array(_) => {
                    return Err(Bad(format!(
                        "`thresholds` = {} is not supported (mlp takes one threshold)",
                        json::short(v)
                    )))
                }
                v => json::number(v, "thresholds")?,
            };
            if t as f32 != 0.5 {
                args.push(format!("{} = {}", kw::THRESHOLDS, number(t)));
            }
        }
        n if n == kw::AUC => {
            config.expect(
                "curve",
                &Value::String("ROC".into()),
                "mlp's AUC is the ROC curve's",
            )?;
            config.expect(
                "summation_method",
                &Value::String("interpolation".into()),
                "mlp integrates by Keras's interpolation",
            )?;
            config.expect(
                "multi_label",
                &Value::Bool(false),
                "mlp's AUC pools every output",
            )?;
            config.expect(
                "label_weights",
                &Value::Null,
                "mlp weighs every label alike",
            )?;
            config.expect(
                "from_logits",
                &Value::Bool(false),
                "mlp's AUC reads probabilities",
            )?;
            config.expect(
                "thresholds",
                &Value::Null,
                "mlp spaces the thresholds evenly",
            )?;
            let n = match config.get_or_null("num_thresholds") {
                Value::Null => 200,
                v => json::integer(v, "num_thresholds")?,
            };
            if n != 200 {
                args.push(format!("{} = {n}", kw::NUM_THRESHOLDS));
            }
        }
        _ => {}
    }
    Ok(if args.is_empty() {
        name.to_owned()
    } else {
        format!("{name}({})", args.join(", "))
    })
}
