//! SGD, Keras 3 form. Without momentum `w -= lr·g`; with momentum
//! `v = -lr·g + momentum·v`, then `w += v`, or with Nesterov `w += -lr·g + momentum·v`
//! (using the new `v`).

use super::full_gradient;
use mlp_spec::ir::Regularizer;

/// One fused SGD pass over a tensor. `velocity` must be `Some` (same length as `w`) when
/// `momentum != 0`; it is ignored otherwise. Reads `g`; reads and writes `w`, `velocity`.
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
