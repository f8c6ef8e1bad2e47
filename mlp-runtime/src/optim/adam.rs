//! Adam, Keras 3 form:
//! `m += (g - m)·(1 - β1); v += (g² - v)·(1 - β2); w -= (m·α) / (sqrt(v) + ε)` with
//! `α = lr·sqrt(1 - β2^t) / (1 - β1^t)` (in f32 from `f32(β)`, as Keras computes it), and
//! `1 - β1`, `1 - β2` taken in f64 from the written decimals, as Keras subtracts the Python
//! floats before casting.

use crate::kernels::multiversion::multiversion;
use crate::kernels::parallel;
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
    /// The coefficients of iteration `t` (1-based) for the hyper-parameters as written.
    #[must_use]
    pub fn new(lr: f32, beta1: f64, beta2: f64, epsilon: f64, t: u64) -> AdamCoeffs {
        let tf = t as f32;
        let b1t = (beta1 as f32).powf(tf);
        let b2t = (beta2 as f32).powf(tf);
        AdamCoeffs {
            alpha: lr * (1.0 - b2t).sqrt() / (1.0 - b1t),
            one_minus_beta1: (1.0 - beta1) as f32,
            one_minus_beta2: (1.0 - beta2) as f32,
            epsilon: epsilon as f32,
        }
    }
}

/// One fused Adam pass over a tensor: `g` is the data gradient, `reg`'s gradient is added
/// on the fly. Reads `g`; reads and writes `w`, `m`, `v` (all the same length).
///
/// Vectorised for the CPU (compiled per instruction set, like the GEMM kernels, and split
/// across [`crate::kernels::parallel`] threads when large); every path computes the
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
    let c = *c;
    // Split across the kernel threads when large (element-wise: same results).
    parallel::for_ranges3(w, m, v, g, &|w, m, v, g| match reg {
        None => adam_plain(w, g, m, v, c),
        Some(r) => adam_regularized(w, g, m, v, r, c),
    });
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
    fn adam_plain / adam_plain_on(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: AdamCoeffs) {
        for (((w, &gi), m), v) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            adam_one(w, gi, m, v, &c);
        }
    }
}

multiversion! {
    /// [`adam_update`] adding `reg`'s gradient (slices of equal length).
    fn adam_regularized / adam_regularized_on(
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

#[cfg(test)]
mod tests {
    use super::{adam_plain_on, adam_regularized_on, AdamCoeffs};
    use crate::kernels::gemm::Isa;
    use crate::optim::sgd::tests::{bits, values};
    use mlp_spec::ir::Regularizer;

    /// The scalar Keras formula, written out independently of the kernel.
    fn reference(
        w: &mut [f32],
        g: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        reg: Option<Regularizer>,
        c: &AdamCoeffs,
    ) {
        for i in 0..w.len() {
            let mut gi = g[i];
            if let Some(r) = reg {
                let sign = if w[i] > 0.0 {
                    1.0
                } else if w[i] < 0.0 {
                    -1.0
                } else {
                    0.0
                };
                gi += r.l1 * sign + 2.0 * r.l2 * w[i];
            }
            m[i] += (gi - m[i]) * c.one_minus_beta1;
            v[i] += (gi * gi - v[i]) * c.one_minus_beta2;
            w[i] -= (m[i] * c.alpha) / (v[i].sqrt() + c.epsilon);
        }
    }

    /// Every instruction-set path, three steps, with and without a penalty, bit for bit
    /// against the scalar formula at sizes around the vector widths.
    #[test]
    fn every_path_matches_the_scalar_formula_bit_for_bit() {
        let reg = Regularizer {
            l1: 0.01,
            l2: 0.001,
        };
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            for n in [0, 1, 7, 16, 17, 33, 1000] {
                for with_reg in [false, true] {
                    let (mut w, mut m, mut v) = (values(n, 1), vec![0.0; n], vec![0.0; n]);
                    let (mut rw, mut rm, mut rv) = (w.clone(), m.clone(), v.clone());
                    for t in 1..=3 {
                        let g = values(n, 10 + t);
                        let c = AdamCoeffs::new(0.01, 0.9, 0.999, 1e-7, t);
                        if with_reg {
                            adam_regularized_on(isa, &mut w, &g, &mut m, &mut v, reg, c);
                            reference(&mut rw, &g, &mut rm, &mut rv, Some(reg), &c);
                        } else {
                            adam_plain_on(isa, &mut w, &g, &mut m, &mut v, c);
                            reference(&mut rw, &g, &mut rm, &mut rv, None, &c);
                        }
                    }
                    let what = format!("{isa:?} n={n} reg={with_reg}");
                    assert_eq!(bits(&w), bits(&rw), "w {what}");
                    assert_eq!(bits(&m), bits(&rm), "m {what}");
                    assert_eq!(bits(&v), bits(&rv), "v {what}");
                }
            }
        }
    }
}
