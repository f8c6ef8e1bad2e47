//! Keras 3's metrics, accumulated over an epoch (or an evaluation) from each batch's
//! outputs and targets ([`Model::outputs`](crate::Model::outputs)). Allocation-free after
//! [`Metrics::new`].
//!
//! Semantics, as in `keras/src/metrics/`:
//! - `accuracy` picks its variant as Keras's `compile` does: binary accuracy (threshold 0.5)
//!   for a single output unit, sparse categorical accuracy for class targets, categorical
//!   accuracy for target rows.
//! - Mean metrics (the accuracies, `mae`, `mse`) average a per-sample value (its mean over
//!   the output units) over every sample seen; `root_mean_squared_error` is the square root
//!   of the mean squared error over every value seen.
//! - `precision` and `recall` count true/false positives and false negatives over every
//!   output value, a prediction being positive when `p > threshold` and a target when it
//!   is non-zero; `0/0` is 0 (`divide_no_nan`).
//! - `auc` is Keras's `AUC()`: ROC curve, `num_thresholds` thresholds `-ε, 1/(n-1), …,
//!   (n-2)/(n-1), 1+ε`, predictions bucketed as Keras's evenly-spaced fast path does
//!   (`ceil(p·(n-1)) - 1`, at least 0) and targets weighting true (`t`) and false (`1-t`)
//!   counts; the area is the trapezoidal sum over the `(fpr, tpr)` points.

use crate::loss::argmax;
use crate::model::Targets;
use mlp_spec::ir::{self, Metric};

/// What one metric computes (its Keras variant, resolved).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    BinaryAccuracy(f32),
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    Mae,
    Mse,
    Rmse,
    Precision(f32),
    Recall(f32),
    Auc,
}

/// One metric's running state.
#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    name: &'static str,
    /// Mean metrics: sum of values and their count. Precision/recall: TP and FP (or FN).
    a: f64,
    b: f64,
    /// AUC: true and false weights per threshold bucket (`2·thresholds`).
    buckets: Vec<f64>,
}

/// The metrics of a model's `train` block, with their state.
#[derive(Debug, Clone)]
pub struct Metrics {
    entries: Vec<Entry>,
    values: Vec<(&'static str, f32)>,
}

impl Metrics {
    /// The metrics `model` reports, for targets that are class indices (`classes`) or
    /// value rows.
    #[must_use]
    pub fn new(model: &ir::Model, classes: bool) -> Metrics {
        let units = model.output_size();
        let entries: Vec<Entry> = model
            .train
            .metrics
            .iter()
            .map(|&m| {
                // `accuracy` resolves to one of the named variants, as in Keras.
                #[allow(clippy::match_same_arms)]
                let kind = match m {
                    Metric::Accuracy if units == 1 => Kind::BinaryAccuracy(0.5),
                    Metric::Accuracy if classes => Kind::SparseCategoricalAccuracy,
                    Metric::Accuracy => Kind::CategoricalAccuracy,
                    Metric::BinaryAccuracy { threshold } => Kind::BinaryAccuracy(threshold),
                    Metric::CategoricalAccuracy => Kind::CategoricalAccuracy,
                    Metric::SparseCategoricalAccuracy => Kind::SparseCategoricalAccuracy,
                    Metric::MeanAbsoluteError => Kind::Mae,
                    Metric::MeanSquaredError => Kind::Mse,
                    Metric::RootMeanSquaredError => Kind::Rmse,
                    Metric::Precision { threshold } => Kind::Precision(threshold),
                    Metric::Recall { threshold } => Kind::Recall(threshold),
                    Metric::Auc { .. } => Kind::Auc,
                };
                let buckets = match m {
                    Metric::Auc { num_thresholds } => vec![0.0; 2 * num_thresholds.max(2)],
                    _ => Vec::new(),
                };
                Entry {
                    kind,
                    name: metric_name(m),
                    a: 0.0,
                    b: 0.0,
                    buckets,
                }
            })
            .collect();
        let values = entries.iter().map(|e| (e.name, f32::NAN)).collect();
        Metrics { entries, values }
    }

    /// Whether there are no metrics.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The Keras History key of every metric, in the `train` block's order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|e| e.name)
    }

    /// Forgets everything seen (Keras's `reset_state`, at the start of each epoch).
    pub fn reset(&mut self) {
        for e in &mut self.entries {
            e.a = 0.0;
            e.b = 0.0;
            e.buckets.iter_mut().for_each(|b| *b = 0.0);
        }
    }

    /// Adds one batch: `out` is `[batch, units]` outputs, `y` the batch's targets.
    pub fn update(&mut self, out: &[f32], y: Targets<'_>, batch: usize, units: usize) {
        if units == 0 {
            return;
        }
        for e in &mut self.entries {
            update(e, out, y, batch, units);
        }
    }

    /// Every metric's value over what was seen since the last reset, by Keras name.
    pub fn results(&mut self) -> &[(&'static str, f32)] {
        for (e, v) in self.entries.iter().zip(self.values.iter_mut()) {
            v.1 = result(e);
        }
        &self.values
    }
}

/// Keras's History key of `m`.
#[must_use]
pub fn metric_name(m: Metric) -> &'static str {
    match m {
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

// Keras's binary accuracy compares the thresholded output with the target exactly.
#[allow(clippy::float_cmp)]
fn update(e: &mut Entry, out: &[f32], y: Targets<'_>, batch: usize, units: usize) {
    let inv_units = 1.0 / units as f32;
    let rows = out[..batch * units].chunks_exact(units).enumerate();
    match e.kind {
        Kind::BinaryAccuracy(threshold) => {
            for (r, o) in rows {
                let hits = o
                    .iter()
                    .enumerate()
                    .filter(|&(j, &p)| f32::from(u8::from(p > threshold)) == y.value(r, j, units))
                    .count();
                e.a += f64::from(hits as f32 * inv_units);
            }
            e.b += batch as f64;
        }
        Kind::CategoricalAccuracy | Kind::SparseCategoricalAccuracy => {
            for (r, o) in rows {
                if argmax(o) == y.class(r, units) {
                    e.a += 1.0;
                }
            }
            e.b += batch as f64;
        }
        Kind::Mae | Kind::Mse | Kind::Rmse => {
            let square = e.kind != Kind::Mae;
            for (r, o) in rows {
                let mut s = 0.0f32;
                for (j, &p) in o.iter().enumerate() {
                    let d = p - y.value(r, j, units);
                    s += if square { d * d } else { d.abs() };
                }
                e.a += f64::from(s * inv_units);
            }
            e.b += batch as f64;
        }
        Kind::Precision(threshold) | Kind::Recall(threshold) => {
            let precision = matches!(e.kind, Kind::Precision(_));
            for (r, o) in rows {
                for (j, &p) in o.iter().enumerate() {
                    let (predicted, actual) = (p > threshold, y.value(r, j, units) != 0.0);
                    if predicted && actual {
                        e.a += 1.0;
                    } else if (precision && predicted && !actual)
                        || (!precision && !predicted && actual)
                    {
                        e.b += 1.0;
                    }
                }
            }
        }
        Kind::Auc => {
            let n = e.buckets.len() / 2;
            let scale = (n - 1) as f32;
            for (r, o) in rows {
                for (j, &p) in o.iter().enumerate() {
                    let t = y.value(r, j, units);
                    let bucket = ((p * scale).ceil() - 1.0).clamp(0.0, scale);
                    // `bucket` is a whole number in [0, n - 1] (NaN clamps to NaN: skip).
                    if bucket.is_nan() {
                        continue;
                    }
                    let i = bucket as usize;
                    e.buckets[2 * i] += f64::from(t);
                    e.buckets[2 * i + 1] += f64::from(1.0 - t);
                }
            }
        }
    }
}

fn divide_no_nan(a: f32, b: f32) -> f32 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

fn result(e: &Entry) -> f32 {
    match e.kind {
        Kind::BinaryAccuracy(_)
        | Kind::CategoricalAccuracy
        | Kind::SparseCategoricalAccuracy
        | Kind::Mae
        | Kind::Mse => divide_no_nan(e.a as f32, e.b as f32),
        Kind::Rmse => divide_no_nan(e.a as f32, e.b as f32).sqrt(),
        Kind::Precision(_) | Kind::Recall(_) => divide_no_nan(e.a as f32, (e.a + e.b) as f32),
        Kind::Auc => auc(&e.buckets),
    }
}

/// The ROC AUC of per-bucket `(true, false)` weights (see the module docs).
fn auc(buckets: &[f64]) -> f32 {
    let n = buckets.len() / 2;
    let total_true: f64 = buckets.iter().step_by(2).sum();
    let total_false: f64 = buckets.iter().skip(1).step_by(2).sum();
    // tp[i], fp[i]: the weights of predictions above threshold i (buckets ≥ i).
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let mut points = [(0.0f32, 0.0f32); 2];
    let mut area = 0.0f32;
    for i in (0..n).rev() {
        tp += buckets[2 * i];
        fp += buckets[2 * i + 1];
        let tpr = divide_no_nan(tp as f32, total_true as f32);
        let fpr = divide_no_nan(fp as f32, total_false as f32);
        points[0] = points[1];
        points[1] = (fpr, tpr);
        if i + 1 < n {
            // Keras sums (x[i] - x[i+1]) · (y[i] + y[i+1]) / 2 over increasing i; here i
            // decreases, so x[i] is the new point and x[i+1] the previous one.
            let (x_prev, y_prev) = points[0];
            area += (fpr - x_prev) * f32::midpoint(tpr, y_prev);
        }
    }
    area
}
