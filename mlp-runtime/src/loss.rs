//! Losses and the accuracy count, Keras 3 (TensorFlow backend) semantics; all losses are
//! means over the batch.
//!
//! Targets ([`Targets`]) are class indices or value rows. A class index stands for
//! `one_hot(label)` when the output has `units ≥ 2`, and for the value of the label itself
//! (`0.0` or `1.0` for binary problems) with a single output unit ([`target`]).
//!
//! - From logits ([`softmax_cross_entropy`], [`sigmoid_cross_entropy`]): after a final
//!   softmax under a (sparse) categorical cross-entropy, after a final sigmoid under binary
//!   cross-entropy (Keras's TensorFlow backend reads the activation's logits), and for a
//!   loss written with `from_logits = true`. Exact, no clipping: the softmax form is
//!   `logsumexp(z)·Σt - Σ t·z` with gradient `(p·Σt - t) / batch`; the sigmoid form is
//!   `max(z, 0) - z·t + log(1 + exp(-|z|))`, mean over the last axis, with gradient
//!   `(σ(z) - t) / (units·batch)`.
//! - Otherwise from the output ([`probability_loss`]): sparse CE as TensorFlow does it,
//!   `log(clip(p))` fed to a softmax cross-entropy (`-log clip(p_y) + log Σ clip(p_j)`);
//!   categorical CE as Keras does it, `p / Σp` then clipped, `-Σ t·log(q)`; binary CE
//!   `-(t·log c + (1-t)·log(1-c))`, `c = clip(p)`; mse, mae and huber (`½e²` for
//!   `|e| ≤ δ`, else `δ|e| - ½δ²`), each a mean over the last axis. Clipping is to
//!   `[1e-7, 1 - 1e-7]` and passes no gradient outside it; `|e|` has gradient 0 at 0.
//! - Accuracy ([`correct_count`]), as Keras's `accuracy` picks its variant: binary
//!   (`(p > 0.5) == t`) for a single output unit, sparse categorical (arg-max equals the
//!   class) for class targets, categorical (arg-max equals the target's arg-max) for
//!   value rows.

use crate::kernels::epilogue;
use crate::kernels::math::exp_in_place;
use crate::model::Targets;
use mlp_spec::ir::{self, Activation, Loss};

/// Keras's `epsilon()` used for clipping probabilities.
pub const EPSILON: f32 = 1e-7;

/// One batch's loss (mean over its samples, without any weight penalty) and how many of its
/// samples the accuracy metric counts as correct.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BatchLoss {
    /// Mean loss over the batch.
    pub loss: f32,
    /// Samples counted correct by the accuracy metric.
    pub correct: usize,
}

/// The target value of output unit `j` for class index `label` (see the module docs).
#[inline]
#[must_use]
pub fn target(label: u32, j: usize, units: usize) -> f32 {
    if units == 1 {
        label as f32
    } else if label as usize == j {
        1.0
    } else {
        0.0
    }
}

/// Whether `model`'s loss is computed from the logits of its final softmax: the loss is a
/// (sparse) categorical cross-entropy and the last layer is `Dense(…, activation = softmax)`
/// or a `Softmax` activation layer. `Network` and generated code then end the forward pass
/// with [`softmax_cross_entropy`] on the softmax's input.
#[must_use]
pub fn uses_softmax_logits(model: &ir::Model) -> bool {
    model.loss_uses_softmax_logits()
}

/// Cross-entropy from softmax logits: writes `probs = softmax(logits)` row by row, returns
/// the mean loss (`logsumexp(z) - z[label]` for a class, `logsumexp(z)·Σt - Σ t·z` for a
/// target row) and the accuracy count, and when `dlogits` is given writes
/// `(p·Σt - t) / batch` into it (`(p - onehot) / batch` for a class).
///
/// Reads `logits[..batch·classes]` and the targets; writes `probs`, `dlogits`.
pub fn softmax_cross_entropy(
    batch: usize,
    classes: usize,
    logits: &[f32],
    y: Targets<'_>,
    probs: &mut [f32],
    mut dlogits: Option<&mut [f32]>,
) -> BatchLoss {
    let n = batch * classes;
    let inv_batch = 1.0 / batch as f32;
    let mut total = 0.0f64;
    if classes == 0 {
        return BatchLoss::default();
    }
    // `z - max(z)` row by row, then one vectorised `exp` over the whole batch.
    for (z, p) in logits[..n]
        .chunks_exact(classes)
        .zip(probs[..n].chunks_exact_mut(classes))
    {
        let max = row_max(z);
        for (pi, &zi) in p.iter_mut().zip(z) {
            *pi = zi - max;
        }
    }
    exp_in_place(&mut probs[..n]);
    for r in 0..batch {
        let z = &logits[r * classes..(r + 1) * classes];
        let p = &mut probs[r * classes..(r + 1) * classes];
        let max = row_max(z);
        let mut sum = 0.0f32;
        for &pi in p.iter() {
            sum += pi;
        }
        let inv = 1.0 / sum;
        for pi in p.iter_mut() {
            *pi *= inv;
        }
        let lse = sum.ln() + max;
        match y {
            Targets::Classes(labels) => {
                let label = labels[r] as usize;
                total += f64::from(lse - z[label]);
                if let Some(d) = dlogits.as_deref_mut() {
                    let d = &mut d[r * classes..(r + 1) * classes];
                    for (j, (di, &pi)) in d.iter_mut().zip(p.iter()).enumerate() {
                        *di = (pi - if j == label { 1.0 } else { 0.0 }) * inv_batch;
                    }
                }
            }
            Targets::Values(v) => {
                let t = &v[r * classes..(r + 1) * classes];
                let (mut t_sum, mut tz) = (0.0f32, 0.0f32);
                for (&tj, &zj) in t.iter().zip(z) {
                    t_sum += tj;
                    tz += tj * zj;
                }
                total += f64::from(lse * t_sum - tz);
                if let Some(d) = dlogits.as_deref_mut() {
                    let d = &mut d[r * classes..(r + 1) * classes];
                    for ((di, &pi), &tj) in d.iter_mut().zip(p.iter()).zip(t) {
                        *di = (pi * t_sum - tj) * inv_batch;
                    }
                }
            }
        }
    }
    BatchLoss {
        loss: (total / batch as f64) as f32,
        correct: correct_count(batch, classes, &probs[..n], y),
    }
}

/// Binary cross-entropy from sigmoid logits (TensorFlow's
/// `sigmoid_cross_entropy_with_logits`, mean over the last axis, then over the batch):
/// writes `probs = σ(logits)` (the same sigmoid as the layers'), returns the mean loss and
/// the accuracy count on `probs`, and when `dlogits` is given writes
/// `(σ(z) - t) / (units·batch)` into it.
///
/// Reads `logits[..batch·units]` and the targets; writes `probs`, `dlogits`.
pub fn sigmoid_cross_entropy(
    batch: usize,
    units: usize,
    logits: &[f32],
    y: Targets<'_>,
    probs: &mut [f32],
    mut dlogits: Option<&mut [f32]>,
) -> BatchLoss {
    let n = batch * units;
    if units == 0 {
        return BatchLoss::default();
    }
    probs[..n].copy_from_slice(&logits[..n]);
    epilogue::bias_activation(batch, units, None, Activation::Sigmoid, &mut probs[..n]);
    let scale = 1.0 / (units * batch) as f32;
    let inv_units = 1.0 / units as f32;
    let mut total = 0.0f64;
    for r in 0..batch {
        let mut l = 0.0f32;
        for j in 0..units {
            let i = r * units + j;
            let (z, t) = (logits[i], y.value(r, j, units));
            l += z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
            if let Some(d) = dlogits.as_deref_mut() {
                d[i] = (probs[i] - t) * scale;
            }
        }
        total += f64::from(l * inv_units);
    }
    BatchLoss {
        loss: (total / batch as f64) as f32,
        correct: correct_count(batch, units, &probs[..n], y),
    }
}

/// The largest element of a row (`-∞` for an empty one; NaN elements are skipped, as by
/// `f32::max`).
fn row_max(z: &[f32]) -> f32 {
    z.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// A loss computed from the model's output `out[batch, units]` (probabilities or values),
/// for every case [`uses_softmax_logits`] does not cover. Returns the batch mean and the
/// accuracy count; when `dout` is given writes `∂loss/∂out` into it.
///
/// A loss reading logits (`from_logits`) never comes here: the head calls
/// [`softmax_cross_entropy`] or [`sigmoid_cross_entropy`]. Sparse CE takes class targets
/// (`fit` checks them), the other losses either kind.
///
/// Reads `out` and the targets; writes `dout`.
#[must_use]
pub fn probability_loss(
    loss: Loss,
    batch: usize,
    units: usize,
    out: &[f32],
    y: Targets<'_>,
    mut dout: Option<&mut [f32]>,
) -> BatchLoss {
    let inv_batch = 1.0 / batch as f32;
    let hi = 1.0 - EPSILON;
    let clip = |p: f32| p.clamp(EPSILON, hi);
    let passes = |p: f32| (EPSILON..=hi).contains(&p);
    let mut total = 0.0f64;
    for r in 0..batch {
        let o = &out[r * units..(r + 1) * units];
        let t = |j: usize| y.value(r, j, units);
        let mut d = dout
            .as_deref_mut()
            .map(|d| &mut d[r * units..(r + 1) * units]);
        let sample = match loss {
            Loss::SparseCategoricalCrossentropy { .. } => {
                // TensorFlow: logits = log(clip(p)); loss = logsumexp(logits) - logits[y].
                let s: f32 = o.iter().map(|&p| clip(p)).sum();
                let yi = y.class(r, units).min(units - 1);
                if let Some(d) = d.as_deref_mut() {
                    for (j, (dj, &p)) in d.iter_mut().zip(o).enumerate() {
                        let q = clip(p) / s;
                        let t = if j == yi { 1.0 } else { 0.0 };
                        *dj = if passes(p) {
                            (q - t) / clip(p) * inv_batch
                        } else {
                            0.0
                        };
                    }
                }
                s.ln() - clip(o[yi]).ln()
            }
            Loss::CategoricalCrossentropy { .. } => {
                // Keras: q = p / Σp, clipped; loss = -Σ t·log(q).
                let s: f32 = o.iter().sum();
                let mut l = 0.0f32;
                let mut gq_sum = 0.0f32; // Σ_k gq_k · q_k, for the normalisation's Jacobian
                for (j, &p) in o.iter().enumerate() {
                    let t = t(j);
                    let q = p / s;
                    l -= t * clip(q).ln();
                    if passes(q) {
                        gq_sum += -t / clip(q) * q;
                    }
                }
                if let Some(d) = d.as_deref_mut() {
                    for (j, (dj, &p)) in d.iter_mut().zip(o).enumerate() {
                        let t = t(j);
                        let q = p / s;
                        let gq = if passes(q) { -t / clip(q) } else { 0.0 };
                        *dj = (gq - gq_sum) / s * inv_batch;
                    }
                }
                l
            }
            Loss::MeanSquaredError => {
                let inv_units = 1.0 / units as f32;
                let mut l = 0.0f32;
                for (j, &p) in o.iter().enumerate() {
                    let e = p - t(j);
                    l += e * e;
                    if let Some(d) = d.as_deref_mut() {
                        d[j] = 2.0 * e * inv_units * inv_batch;
                    }
                }
                l * inv_units
            }
            Loss::MeanAbsoluteError => {
                let inv_units = 1.0 / units as f32;
                let mut l = 0.0f32;
                for (j, &p) in o.iter().enumerate() {
                    let e = p - t(j);
                    l += e.abs();
                    if let Some(d) = d.as_deref_mut() {
                        let sign = if e > 0.0 {
                            1.0
                        } else if e < 0.0 {
                            -1.0
                        } else {
                            0.0
                        };
                        d[j] = sign * inv_units * inv_batch;
                    }
                }
                l * inv_units
            }
            Loss::Huber { delta } => {
                let inv_units = 1.0 / units as f32;
                let mut l = 0.0f32;
                for (j, &p) in o.iter().enumerate() {
                    let e = p - t(j);
                    let a = e.abs();
                    let (value, slope) = if a <= delta {
                        (0.5 * e * e, e)
                    } else {
                        (delta * a - 0.5 * delta * delta, delta * e.signum())
                    };
                    l += value;
                    if let Some(d) = d.as_deref_mut() {
                        d[j] = slope * inv_units * inv_batch;
                    }
                }
                l * inv_units
            }
            Loss::BinaryCrossentropy { .. } => {
                let inv_units = 1.0 / units as f32;
                let mut l = 0.0f32;
                for (j, &p) in o.iter().enumerate() {
                    let t = t(j);
                    let c = clip(p);
                    l -= t * c.ln() + (1.0 - t) * (1.0 - c).ln();
                    if let Some(d) = d.as_deref_mut() {
                        d[j] = if passes(p) {
                            (-t / c + (1.0 - t) / (1.0 - c)) * inv_units * inv_batch
                        } else {
                            0.0
                        };
                    }
                }
                l * inv_units
            }
        };
        total += f64::from(sample);
    }
    BatchLoss {
        loss: (total / batch as f64) as f32,
        correct: correct_count(batch, units, out, y),
    }
}

/// Number of rows of `out[batch, units]` Keras's `accuracy` counts as correct (see the
/// module docs).
#[must_use]
// Keras's binary accuracy compares the thresholded output with the target exactly.
#[allow(clippy::float_cmp)]
pub fn correct_count(batch: usize, units: usize, out: &[f32], y: Targets<'_>) -> usize {
    (0..batch)
        .filter(|&r| {
            let o = &out[r * units..(r + 1) * units];
            if units == 1 {
                f32::from(u8::from(o[0] > 0.5)) == y.value(r, 0, 1)
            } else {
                argmax(o) == y.class(r, units)
            }
        })
        .count()
}

/// Index of the first maximum of `row` (0 for an empty row).
#[inline]
#[must_use]
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best
}
