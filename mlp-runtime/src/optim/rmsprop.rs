//! `RMSprop`, Keras 3 form (not centred; `keras/src/optimizers/rmsprop.py`):
//! `a = rho·a + (1 - rho)·g²`, `inc = lr·g / sqrt(a + ε)`; without momentum `w -= inc`,
//! with momentum `m = momentum·m + inc; w -= m`. `1 - rho` is taken in f64 from the
//! written decimal, as Keras subtracts the Python float.
//!
//! Each rule is one loop compiled per instruction set (`kernels::multiversion`) and instantiated
//! once per penalty kind (none / `reg`), so the hot loop does not branch on the penalty.
//! Every path computes the f32 operations of the formulas above in the same order (`sqrt`
//! and `/` are correctly rounded everywhere), so results do not depend on the instruction
//! set.

use super::full_gradient;
use crate::kernels::multiversion::multiversion;
use mlp_spec::ir::Regularizer;

/// One fused `RMSprop` pass over a tensor. `mom` must be `Some` when `momentum > 0`
/// (it is ignored otherwise). Reads `g`; reads and writes `w`, `avg`, `mom` (all as long
/// as `w`).
///
/// Vectorised for the CPU (compiled per instruction set, like [`super::adam_update`]);
/// bit-identical on every path.
pub fn rmsprop_update(
    w: &mut [f32],
    g: &[f32],
    avg: &mut [f32],
    mom: Option<&mut [f32]>,
    reg: Option<Regularizer>,
    c: Coeffs,
    momentum: f32,
) {
    let n = w.len();
    let (g, avg) = (&g[..n], &mut avg[..n]);
    match mom.filter(|_| momentum > 0.0) {
        Some(m) => rmsprop_momentum(w, g, avg, &mut m[..n], reg, c, momentum),
        None => rmsprop_plain(w, g, avg, reg, c),
    }
}

/// The hyper-parameters both rules share, as f32.
#[derive(Debug, Clone, Copy)]
pub struct Coeffs {
    /// The step's learning rate.
    pub lr: f32,
    /// `f32(rho)`.
    pub rho: f32,
    /// `f32(1 - rho)`, the difference taken in f64.
    pub one_minus_rho: f32,
    /// `f32(epsilon)`, added to the mean square under the square root.
    pub epsilon: f32,
}

/// Updates the mean square `avg` of one element and returns the increment
/// `lr·gi / sqrt(avg + ε)`.
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into each instruction-set copy of the loops
fn increment(gi: f32, avg: &mut f32, c: Coeffs) -> f32 {
    *avg = c.rho * *avg + c.one_minus_rho * (gi * gi);
    (c.lr * gi) / (*avg + c.epsilon).sqrt()
}

/// `w -= inc`. Inlined with `reg`'s variant known at each call site, so
/// [`full_gradient`]'s match folds away.
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into each instruction-set copy of the loops
fn plain_loop(w: &mut [f32], g: &[f32], avg: &mut [f32], reg: Option<Regularizer>, c: Coeffs) {
    for ((w, &gi), avg) in w.iter_mut().zip(g).zip(avg.iter_mut()) {
        let gi = full_gradient(gi, *w, reg);
        *w -= increment(gi, avg, c);
    }
}

/// `m = momentum·m + inc; w -= m`; inlined like [`plain_loop`].
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into each instruction-set copy of the loops
fn momentum_loop(
    w: &mut [f32],
    g: &[f32],
    avg: &mut [f32],
    mom: &mut [f32],
    reg: Option<Regularizer>,
    c: Coeffs,
    momentum: f32,
) {
    for (((w, &gi), avg), m) in w.iter_mut().zip(g).zip(avg.iter_mut()).zip(mom.iter_mut()) {
        let gi = full_gradient(gi, *w, reg);
        let inc = increment(gi, avg, c);
        *m = momentum * *m + inc;
        *w -= *m;
    }
}

multiversion! {
    /// [`rmsprop_update`] without momentum (slices of equal length).
    fn rmsprop_plain / rmsprop_plain_on(
        w: &mut [f32],
        g: &[f32],
        avg: &mut [f32],
        reg: Option<Regularizer>,
        c: Coeffs,
    ) {
        match reg {
            None => plain_loop(w, g, avg, None, c),
            Some(r) => plain_loop(w, g, avg, Some(r), c),
        }
    }
}

multiversion! {
    /// [`rmsprop_update`] with momentum (slices of equal length).
    fn rmsprop_momentum / rmsprop_momentum_on(
        w: &mut [f32],
        g: &[f32],
        avg: &mut [f32],
        mom: &mut [f32],
        reg: Option<Regularizer>,
        c: Coeffs,
        momentum: f32,
    ) {
        match reg {
            None => momentum_loop(w, g, avg, mom, None, c, momentum),
            Some(r) => momentum_loop(w, g, avg, mom, Some(r), c, momentum),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{rmsprop_momentum_on, rmsprop_plain_on, rmsprop_update, Coeffs};
    use crate::kernels::gemm::Isa;
    use crate::optim::full_gradient;
    use crate::optim::sgd::tests::{bits, values, LENGTHS, REG};
    use mlp_spec::ir::Regularizer;

    /// The scalar loop `rmsprop_update` was before it was vectorised, kept verbatim:
    /// every path must reproduce it bit for bit.
    fn reference(
        w: &mut [f32],
        g: &[f32],
        avg: &mut [f32],
        mom: Option<&mut [f32]>,
        reg: Option<Regularizer>,
        lr: f32,
        rho: f32,
        momentum: f32,
        epsilon: f32,
    ) {
        let n = w.len();
        let avg = &mut avg[..n];
        let mut mom = mom.filter(|_| momentum > 0.0);
        let one_minus_rho = (1.0 - f64::from(rho)) as f32;
        for i in 0..n {
            let gi = full_gradient(g[i], w[i], reg);
            avg[i] = rho * avg[i] + one_minus_rho * (gi * gi);
            let inc = (lr * gi) / (avg[i] + epsilon).sqrt();
            match mom.as_deref_mut() {
                Some(m) => {
                    m[i] = momentum * m[i] + inc;
                    w[i] -= m[i];
                }
                None => w[i] -= inc,
            }
        }
    }

    fn coeffs(lr: f32, rho: f32, epsilon: f32) -> Coeffs {
        Coeffs {
            lr,
            rho,
            one_minus_rho: (1.0 - f64::from(rho)) as f32,
            epsilon,
        }
    }

    /// Every instruction-set path, three steps, with and without momentum and a penalty,
    /// bit for bit against the scalar loop. The mean square starts at zero (as Keras
    /// starts it), so the first step also covers `sqrt(0 + ε)` where `g = 0`.
    #[test]
    fn every_path_matches_the_scalar_loop_bit_for_bit() {
        let (lr, rho, momentum, epsilon) = (0.01, 0.9, 0.5, 1e-7);
        let c = coeffs(lr, rho, epsilon);
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            for n in LENGTHS {
                for reg in [None, Some(REG)] {
                    for with_momentum in [false, true] {
                        let (mut w, mut avg, mut mom) = (values(n, 1), vec![0.0; n], values(n, 2));
                        let (mut rw, mut ravg, mut rmom) = (w.clone(), avg.clone(), mom.clone());
                        for t in 1..=3 {
                            let g = values(n, 10 + t);
                            if with_momentum {
                                rmsprop_momentum_on(
                                    isa, &mut w, &g, &mut avg, &mut mom, reg, c, momentum,
                                );
                                let m = Some(&mut rmom[..]);
                                reference(
                                    &mut rw, &g, &mut ravg, m, reg, lr, rho, momentum, epsilon,
                                );
                            } else {
                                rmsprop_plain_on(isa, &mut w, &g, &mut avg, reg, c);
                                reference(&mut rw, &g, &mut ravg, None, reg, lr, rho, 0.0, epsilon);
                            }
                        }
                        let what = format!(
                            "{isa:?} n={n} reg={} momentum={with_momentum}",
                            reg.is_some()
                        );
                        assert_eq!(bits(&w), bits(&rw), "w {what}");
                        assert_eq!(bits(&avg), bits(&ravg), "mean square {what}");
                        assert_eq!(bits(&mom), bits(&rmom), "momentum {what}");
                    }
                }
            }
        }
    }

    /// The public entry point picks the right rule: a momentum slot passed with
    /// `momentum = 0` is left alone, and longer slices are cut to `w`'s length.
    #[test]
    fn rmsprop_update_dispatches_like_the_scalar_loop() {
        let n = 37;
        for momentum in [0.0, 0.7] {
            for reg in [None, Some(REG)] {
                let (mut w, mut avg, mut mom) = (values(n, 3), values(n + 2, 4), values(n + 5, 5));
                for a in &mut avg {
                    *a = a.abs();
                }
                let (mut rw, mut ravg, mut rmom) = (w.clone(), avg.clone(), mom.clone());
                let g = values(n + 3, 6);
                let (lr, rho, eps) = (0.01, 0.95, 1e-6);
                rmsprop_update(
                    &mut w,
                    &g,
                    &mut avg,
                    Some(&mut mom),
                    reg,
                    coeffs(lr, rho, eps),
                    momentum,
                );
                let m = Some(&mut rmom[..]);
                reference(&mut rw, &g, &mut ravg, m, reg, lr, rho, momentum, eps);
                let what = format!("momentum={momentum} reg={reg:?}");
                assert_eq!(bits(&w), bits(&rw), "w {what}");
                assert_eq!(bits(&avg), bits(&ravg), "mean square {what}");
                assert_eq!(bits(&mom), bits(&rmom), "momentum {what}");
                if momentum == 0.0 {
                    assert_eq!(
                        bits(&mom),
                        bits(&values(n + 5, 5)),
                        "momentum moved: {what}"
                    );
                }
            }
        }
    }
}
