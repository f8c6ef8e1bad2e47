//! Losses and the accuracy metric, Keras 3 (TensorFlow backend) semantics; all losses are
//! means over the batch.
//!
//! Targets come from the dataset's class indices (u8): with an output of `units ≥ 2`, the
//! target row is `one_hot(label)`; with a single output unit, the target is the label value
//! itself (`0.0` or `1.0` for binary problems). See [`target`].
//!
//! - Sparse / categorical cross-entropy after a final softmax ([`uses_softmax_logits`]):
//!   from the softmax's logits, `logsumexp(z) - z[label]`, no clipping; the gradient with
//!   respect to the logits is exactly `(p - onehot) / batch` ([`softmax_cross_entropy`]).
//! - Otherwise from probabilities ([`probability_loss`]): sparse CE as TensorFlow does it,
//!   `log(clip(p))` fed to a softmax cross-entropy (`-log clip(p_y) + log Σ clip(p_j)`);
//!   categorical CE as Keras does it, `p / Σp` then clipped, `-log(q_y)`; binary CE
//!   `-(t·log c + (1-t)·log(1-c))`, `c = clip(p)`, mean over the last axis; mse mean over the
//!   last axis. Clipping is to `[1e-7, 1 - 1e-7]` and passes no gradient outside it.
//! - Accuracy: arg-max (first maximum) equals the label when `units ≥ 2`; `(p > 0.5) ==
//!   label` when `units == 1` ([`correct_count`]).

use crate::kernels::math::exp_in_place;
use mlp_spec::ir::{self, Loss};

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
pub fn target(label: u8, j: usize, units: usize) -> f32 {
    if units == 1 {
        f32::from(label)
    } else if usize::from(label) == j {
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
/// the mean of `logsumexp(z) - z[label]` and the accuracy count, and when `dlogits` is given
/// writes `(p - onehot(label)) / batch` into it.
///
/// Reads `logits[..batch·classes]`, `labels[..batch]`; writes `probs`, `dlogits`.
pub fn softmax_cross_entropy(
    batch: usize,
    classes: usize,
    logits: &[f32],
    labels: &[u8],
    probs: &mut [f32],
    mut dlogits: Option<&mut [f32]>,
) -> BatchLoss {
    let n = batch * classes;
    let inv_batch = 1.0 / batch as f32;
    let mut total = 0.0f64;
    let mut correct = 0;
    if classes == 0 {
        return BatchLoss { loss: 0.0, correct };
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
        let y = usize::from(labels[r]);
        let max = row_max(z);
        let mut sum = 0.0f32;
        for &pi in p.iter() {
            sum += pi;
        }
        let inv = 1.0 / sum;
        for pi in p.iter_mut() {
            *pi *= inv;
        }
        total += f64::from(sum.ln() + max - z[y]);
        if argmax(p) == y {
            correct += 1;
        }
        if let Some(d) = dlogits.as_deref_mut() {
            let d = &mut d[r * classes..(r + 1) * classes];
            for (j, (di, &pi)) in d.iter_mut().zip(p.iter()).enumerate() {
                *di = (pi - if j == y { 1.0 } else { 0.0 }) * inv_batch;
            }
        }
    }
    debug_assert!(probs.len() >= n);
    BatchLoss {
        loss: (total / batch as f64) as f32,
        correct,
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
/// Reads `out`, `labels`; writes `dout`.
#[must_use]
pub fn probability_loss(
    loss: Loss,
    batch: usize,
    units: usize,
    out: &[f32],
    labels: &[u8],
    mut dout: Option<&mut [f32]>,
) -> BatchLoss {
    let inv_batch = 1.0 / batch as f32;
    let hi = 1.0 - EPSILON;
    let clip = |p: f32| p.clamp(EPSILON, hi);
    let passes = |p: f32| (EPSILON..=hi).contains(&p);
    let mut total = 0.0f64;
    for r in 0..batch {
        let o = &out[r * units..(r + 1) * units];
        let y = labels[r];
        let mut d = dout
            .as_deref_mut()
            .map(|d| &mut d[r * units..(r + 1) * units]);
        let sample = match loss {
            Loss::SparseCategoricalCrossentropy => {
                // TensorFlow: logits = log(clip(p)); loss = logsumexp(logits) - logits[y].
                let s: f32 = o.iter().map(|&p| clip(p)).sum();
                let yi = usize::from(y).min(units - 1);
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
            Loss::CategoricalCrossentropy => {
                // Keras: q = p / Σp, clipped; loss = -Σ t·log(q).
                let s: f32 = o.iter().sum();
                let mut l = 0.0f32;
                let mut gq_sum = 0.0f32; // Σ_k gq_k · q_k, for the normalisation's Jacobian
                for (j, &p) in o.iter().enumerate() {
                    let t = target(y, j, units);
                    let q = p / s;
                    l -= t * clip(q).ln();
                    if passes(q) {
                        gq_sum += -t / clip(q) * q;
                    }
                }
                if let Some(d) = d.as_deref_mut() {
                    for (j, (dj, &p)) in d.iter_mut().zip(o).enumerate() {
                        let t = target(y, j, units);
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
                    let e = p - target(y, j, units);
                    l += e * e;
                    if let Some(d) = d.as_deref_mut() {
                        d[j] = 2.0 * e * inv_units * inv_batch;
                    }
                }
                l * inv_units
            }
            Loss::BinaryCrossentropy => {
                let inv_units = 1.0 / units as f32;
                let mut l = 0.0f32;
                for (j, &p) in o.iter().enumerate() {
                    let t = target(y, j, units);
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
        correct: correct_count(batch, units, out, labels),
    }
}

/// Number of rows of `out[batch, units]` the accuracy metric counts as correct (see the
/// module docs).
#[must_use]
pub fn correct_count(batch: usize, units: usize, out: &[f32], labels: &[u8]) -> usize {
    (0..batch)
        .filter(|&r| {
            let o = &out[r * units..(r + 1) * units];
            if units == 1 {
                (o[0] > 0.5) == (labels[r] == 1)
            } else {
                argmax(o) == usize::from(labels[r])
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
