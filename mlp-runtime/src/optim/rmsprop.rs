//! `RMSprop`, Keras 3 form (not centred): `a = rho·a + (1 - rho)·g²`,
//! `inc = lr·g / (sqrt(a) + ε)`; without momentum `w -= inc`, with momentum
//! `m = momentum·m + inc; w -= m`.

use super::full_gradient;
use mlp_spec::ir::Regularizer;

/// One fused `RMSprop` pass over a tensor. `mom` must be `Some` when `momentum > 0`.
/// Reads `g`; reads and writes `w`, `avg`, `mom`.
pub fn rmsprop_update(
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
    for i in 0..n {
        let gi = full_gradient(g[i], w[i], reg);
        avg[i] = rho * avg[i] + (1.0 - rho) * (gi * gi);
        let inc = lr * gi / (avg[i].sqrt() + epsilon);
        match mom.as_deref_mut() {
            Some(m) => {
                m[i] = momentum * m[i] + inc;
                w[i] -= m[i];
            }
            None => w[i] -= inc,
        }
    }
}
