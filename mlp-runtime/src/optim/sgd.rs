//! SGD, Keras 3 form. Without momentum `w -= lr·g`; with momentum
//! `v = -lr·g + momentum·v`, then `w += v`, or with Nesterov `w += -lr·g + momentum·v`
//! (using the new `v`).
//!
//! Each rule is one loop compiled per instruction set (`kernels::multiversion`); the loops are
//! instantiated once per penalty kind (none / `reg`) and, with momentum, per Nesterov flag,
//! so the hot loop branches on neither. Every path computes the f32 operations of the
//! formulas above in the same order, so results do not depend on the instruction set.

use super::full_gradient;
use crate::kernels::multiversion::multiversion;
use mlp_spec::ir::Regularizer;

/// One fused SGD pass over a tensor. `velocity` must be `Some` (same length as `w`) when
/// `momentum != 0`; it is ignored otherwise. Reads `g`; reads and writes `w`, `velocity`.
///
/// Vectorised for the CPU (compiled per instruction set, like [`super::adam_update`]);
/// bit-identical on every path.
pub fn sgd_update(
    w: &mut [f32],
    g: &[f32],
    velocity: Option<&mut [f32]>,
    reg: Option<Regularizer>,
    lr: f32,
    momentum: f32,
    nesterov: bool,
) {
    let n = w.len();
    let g = &g[..n];
    match velocity {
        Some(vel) if momentum != 0.0 => {
            sgd_momentum(w, g, &mut vel[..n], reg, lr, momentum, nesterov);
        }
        _ => sgd_plain(w, g, reg, lr),
    }
}

/// `w -= lr·(g + reg'(w))`. Inlined with `reg`'s variant known at each call site, so
/// [`full_gradient`]'s match folds away.
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into each instruction-set copy of the loops
fn plain_loop(w: &mut [f32], g: &[f32], reg: Option<Regularizer>, lr: f32) {
    for (w, &gi) in w.iter_mut().zip(g) {
        let gi = full_gradient(gi, *w, reg);
        *w -= gi * lr;
    }
}

/// The momentum rule (`NESTEROV` or not); inlined like [`plain_loop`].
#[inline(always)]
#[allow(clippy::inline_always)] // inlined into each instruction-set copy of the loops
fn momentum_loop<const NESTEROV: bool>(
    w: &mut [f32],
    g: &[f32],
    vel: &mut [f32],
    reg: Option<Regularizer>,
    lr: f32,
    momentum: f32,
) {
    for ((w, &gi), vel) in w.iter_mut().zip(g).zip(vel.iter_mut()) {
        let gi = full_gradient(gi, *w, reg);
        *vel = -gi * lr + *vel * momentum;
        if NESTEROV {
            *w += -gi * lr + *vel * momentum;
        } else {
            *w += *vel;
        }
    }
}

multiversion! {
    /// [`sgd_update`] without momentum (slices of equal length).
    fn sgd_plain / sgd_plain_on(w: &mut [f32], g: &[f32], reg: Option<Regularizer>, lr: f32) {
        match reg {
            None => plain_loop(w, g, None, lr),
            Some(r) => plain_loop(w, g, Some(r), lr),
        }
    }
}

multiversion! {
    /// [`sgd_update`] with momentum (slices of equal length).
    fn sgd_momentum / sgd_momentum_on(
        w: &mut [f32],
        g: &[f32],
        vel: &mut [f32],
        reg: Option<Regularizer>,
        lr: f32,
        momentum: f32,
        nesterov: bool,
    ) {
        match (reg, nesterov) {
            (None, false) => momentum_loop::<false>(w, g, vel, None, lr, momentum),
            (None, true) => momentum_loop::<true>(w, g, vel, None, lr, momentum),
            (Some(r), false) => momentum_loop::<false>(w, g, vel, Some(r), lr, momentum),
            (Some(r), true) => momentum_loop::<true>(w, g, vel, Some(r), lr, momentum),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::{sgd_momentum_on, sgd_plain_on, sgd_update};
    use crate::kernels::gemm::Isa;
    use crate::optim::full_gradient;
    use mlp_spec::ir::Regularizer;

    /// Lengths around the vector widths (4, 8, 16 lanes) and one large odd one.
    pub(in crate::optim) const LENGTHS: [usize; 10] = [0, 1, 3, 7, 15, 16, 17, 33, 100, 1001];

    /// The penalty used by the tests: both terms, so `sign(0) = 0` matters.
    pub(in crate::optim) const REG: Regularizer = Regularizer {
        l1: 0.01,
        l2: 0.001,
    };

    /// Deterministic values in roughly [-1, 1), including exact zeros (the L1 sign).
    pub(in crate::optim) fn values(n: usize, salt: u64) -> Vec<f32> {
        let mut s = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if i % 11 == 0 {
                    0.0
                } else {
                    (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                }
            })
            .collect()
    }

    pub(in crate::optim) fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The scalar loop `sgd_update` was before it was vectorised, kept verbatim: every
    /// path must reproduce it bit for bit.
    fn reference(
        w: &mut [f32],
        g: &[f32],
        velocity: Option<&mut [f32]>,
        reg: Option<Regularizer>,
        lr: f32,
        momentum: f32,
        nesterov: bool,
    ) {
        let n = w.len();
        match velocity {
            Some(vel) if momentum != 0.0 => {
                let vel = &mut vel[..n];
                for i in 0..n {
                    let gi = full_gradient(g[i], w[i], reg);
                    vel[i] = -gi * lr + vel[i] * momentum;
                    if nesterov {
                        w[i] += -gi * lr + vel[i] * momentum;
                    } else {
                        w[i] += vel[i];
                    }
                }
            }
            _ => {
                for i in 0..n {
                    let gi = full_gradient(g[i], w[i], reg);
                    w[i] -= gi * lr;
                }
            }
        }
    }

    /// Every instruction-set path, three steps, every form (plain, momentum, Nesterov),
    /// with and without a penalty, bit for bit against the scalar loop.
    #[test]
    fn every_path_matches_the_scalar_loop_bit_for_bit() {
        let (lr, momentum) = (0.05, 0.9);
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            for n in LENGTHS {
                for reg in [None, Some(REG)] {
                    for form in ["plain", "momentum", "nesterov"] {
                        let nesterov = form == "nesterov";
                        let (mut w, mut vel) = (values(n, 1), values(n, 2));
                        let (mut rw, mut rvel) = (w.clone(), vel.clone());
                        for t in 1..=3 {
                            let g = values(n, 10 + t);
                            if form == "plain" {
                                sgd_plain_on(isa, &mut w, &g, reg, lr);
                                reference(&mut rw, &g, None, reg, lr, 0.0, false);
                            } else {
                                sgd_momentum_on(
                                    isa, &mut w, &g, &mut vel, reg, lr, momentum, nesterov,
                                );
                                let v = Some(&mut rvel[..]);
                                reference(&mut rw, &g, v, reg, lr, momentum, nesterov);
                            }
                        }
                        let what = format!("{isa:?} n={n} reg={} {form}", reg.is_some());
                        assert_eq!(bits(&w), bits(&rw), "w {what}");
                        assert_eq!(bits(&vel), bits(&rvel), "velocity {what}");
                    }
                }
            }
        }
    }

    /// The public entry point picks the right rule: a velocity passed with `momentum = 0`
    /// is left alone, and longer `g` / `velocity` slices are cut to `w`'s length.
    #[test]
    fn sgd_update_dispatches_like_the_scalar_loop() {
        let n = 37;
        for (momentum, nesterov) in [(0.0, false), (0.0, true), (0.8, false), (0.8, true)] {
            for reg in [None, Some(REG)] {
                let (mut w, mut vel) = (values(n, 3), values(n + 5, 4));
                let (mut rw, mut rvel) = (w.clone(), vel.clone());
                let g = values(n + 3, 5);
                sgd_update(&mut w, &g, Some(&mut vel), reg, 0.1, momentum, nesterov);
                reference(&mut rw, &g, Some(&mut rvel), reg, 0.1, momentum, nesterov);
                let what = format!("momentum={momentum} nesterov={nesterov} reg={reg:?}");
                assert_eq!(bits(&w), bits(&rw), "w {what}");
                assert_eq!(bits(&vel), bits(&rvel), "velocity {what}");
                if momentum == 0.0 {
                    assert_eq!(
                        bits(&vel),
                        bits(&values(n + 5, 4)),
                        "velocity moved: {what}"
                    );
                }
            }
        }
    }
}
