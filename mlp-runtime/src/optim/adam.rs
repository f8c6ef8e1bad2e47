//! Adam, Keras 3 form:
//! `m += (g - m)·(1 - β1); v += (g² - v)·(1 - β2); w -= (m·α) / (sqrt(v) + ε)` with
//! `α = lr·sqrt(1 - β2^t) / (1 - β1^t)` (all in f32, as Keras computes it).

use super::full_gradient;
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
    for i in 0..n {
        let gi = full_gradient(g[i], w[i], reg);
        m[i] += (gi - m[i]) * c.one_minus_beta1;
        v[i] += (gi * gi - v[i]) * c.one_minus_beta2;
        w[i] -= (m[i] * c.alpha) / (v[i].sqrt() + c.epsilon);
    }
}
