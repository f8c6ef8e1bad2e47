//! Adam, Keras 3 form:
//! `m += (g - m)·(1 - β1); v += (g² - v)·(1 - β2); w -= (m·α) / (sqrt(v) + ε)` with
//! `α = lr·sqrt(1 - β2^t) / (1 - β1^t)` (all in f32, as Keras computes it).

use crate::kernels::multiversion::multiversion;
use mlp_spec::ir::Regularizer;

/// The per-step scalars of Adam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamCoeffs {
    /// `lr·sqrt(1 - β2^t) / (1 - β1^t)`.
    pub alpha: f32,
    /// `1 - β1`.
    pub one_minus_beta1: f32,
    /// `1 - β2`.
    pub one_minus_beta2: f32,
    /// ε, added to `sqrt(v)`.
    pub epsilon: f32,
}

impl AdamCoeffs {
    /// The coefficients of iteration `t` (1-based).
    #[must_use]
    pub fn new(lr: f32, beta1: f32, beta2: f32, epsilon: f32, t: u64) -> AdamCoeffs {
        let tf = t as f32;
        let b1t = beta1.powf(tf);
        let b2t = beta2.powf(tf);
        AdamCoeffs {
            alpha: lr * (1.0 - b2t).sqrt() / (1.0 - b1t),
            one_minus_beta1: 1.0 - beta1,
            one_minus_beta2: 1.0 - beta2,
            epsilon,
        }
    }
}

/// One fused Adam pass over a tensor: `g` is the data gradient, `reg`'s gradient is added
/// on the fly. Reads `g`; reads and writes `w`, `m`, `v` (all the same length).
///
/// Vectorised for the CPU (see [`crate::kernels::multiversion`]); every path computes the
/// same f32 operations in the same order as the scalar formula, so results do not depend
/// on the instruction set.
pub fn adam_update(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    reg: Option<Regularizer>,
    c: &AdamCoeffs,
) {
    let n = w.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    match reg {
        None => adam_plain(w, g, m, v, *c),
        Some(r) => adam_regularized(w, g, m, v, r, *c),
    }
}

/// The Adam update of one element given its full gradient `gi`.
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into each instruction-set copy of the loops
fn adam_one(w: &mut f32, gi: f32, m: &mut f32, v: &mut f32, c: &AdamCoeffs) {
    *m += (gi - *m) * c.one_minus_beta1;
    *v += (gi * gi - *v) * c.one_minus_beta2;
    *w -= (*m * c.alpha) / (v.sqrt() + c.epsilon);
}

multiversion! {
    /// [`adam_update`] without a penalty (slices of equal length).
    fn adam_plain(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: AdamCoeffs) {
        for (((w, &gi), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            adam_one(w, gi, m, v, &c);
        }
    }
}

multiversion! {
    /// [`adam_update`] adding `reg`'s gradient (slices of equal length).
    fn adam_regularized(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        reg: Regularizer,
        c: AdamCoeffs,
    ) {
        for (((w, &gi), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let gi = gi + crate::regularize::gradient(reg, *w);
            adam_one(w, gi, m, v, &c);
        }
    }
}
