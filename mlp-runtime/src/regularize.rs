//! Weight penalties (`l1`, `l2`, `l1_l2`), Keras semantics: `loss += l1·Σ|w| + l2·Σw²`
//! (no ½), gradient `l1·sign(w) + 2·l2·w` with `sign(0) = 0` (TensorFlow's `abs` gradient).
//!
//! The penalty is part of the reported loss and `val_loss`; the gradient is added inside the
//! optimiser pass (see [`crate::optim`]), never into the gradient buffer.

use crate::kernels;
use crate::layout::ParamLayout;
use mlp_spec::ir::Regularizer;

/// `l1·Σ|w| + l2·Σw²` of one tensor (accumulated in f64 in the fixed order of
/// [`kernels::reduce`], rounded once).
#[must_use]
pub fn penalty(reg: Regularizer, w: &[f32]) -> f32 {
    let (a, s) = kernels::reduce::abs_and_square_sums(w);
    (f64::from(reg.l1) * a + f64::from(reg.l2) * s) as f32
}

/// The penalty's derivative at one weight: `l1·sign(w) + 2·l2·w` (`sign(0) = 0`).
#[inline]
#[must_use]
pub fn gradient(reg: Regularizer, w: f32) -> f32 {
    let sign = if w > 0.0 {
        1.0
    } else if w < 0.0 {
        -1.0
    } else {
        0.0
    };
    reg.l1 * sign + 2.0 * reg.l2 * w
}

/// Sum of the penalties of every regularised tensor of `layout` over `params`.
#[must_use]
pub fn total_penalty(layout: &ParamLayout, params: &[f32]) -> f32 {
    layout
        .trainable()
        .filter_map(|t| t.regularizer.map(|r| penalty(r, &params[t.range()])))
        .sum()
}

/// `grads[i] += gradient(reg, params[i])` over every regularised tensor: turns the
/// data-loss gradient into the gradient of the full loss (used by gradient checks; the
/// training step adds it inside the optimiser pass instead).
pub fn add_gradients(layout: &ParamLayout, params: &[f32], grads: &mut [f32]) {
    for t in layout.trainable() {
        if let Some(r) = t.regularizer {
            for i in t.range() {
                grads[i] += gradient(r, params[i]);
            }
        }
    }
}
