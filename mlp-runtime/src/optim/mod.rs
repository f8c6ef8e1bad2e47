//! Optimisers, Keras 3 update rules, as ONE fused pass per tensor over the flat parameter
//! buffer that also adds the tensor's regularisation gradient (`l1·sign(w) + 2·l2·w`).
//!
//! State layout: an optimiser with `k` slots ([`slots`]) owns a buffer of
//! `k · trainable_len` floats; slot `s` of the parameter at flat index `i` is at
//! `s · trainable_len + i` (Adam: slot 0 = m, slot 1 = v; SGD with momentum: slot 0 =
//! velocity; `RMSprop`: slot 0 = velocity (mean square), slot 1 = momentum when
//! `momentum > 0`). `t` is the 1-based iteration number of the step being taken.

pub mod adam;
pub mod rmsprop;
pub mod sgd;

pub use adam::{adam_update, AdamCoeffs};
pub use rmsprop::rmsprop_update;
pub use sgd::sgd_update;

use crate::layout::ParamLayout;
use mlp_spec::ir::{Optimizer, Regularizer};

/// Number of state slots (each `trainable_len` floats) `opt` needs.
#[must_use]
pub fn slots(opt: &Optimizer) -> usize {
    opt.slots()
}

/// Updates one tensor: `w` its parameters, `g` their data-loss gradient, `state` the WHOLE
/// optimiser buffer (`slots(opt) · trainable_len`), `offset` the tensor's offset in the
/// parameter buffer, `reg` its penalty. `t` is the 1-based iteration.
pub fn update_tensor(
    opt: &Optimizer,
    t: u64,
    trainable_len: usize,
    offset: usize,
    w: &mut [f32],
    g: &[f32],
    state: &mut [f32],
    reg: Option<Regularizer>,
) {
    let n = w.len();
    match *opt {
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            epsilon,
        } => {
            let c = AdamCoeffs::new(lr, beta1, beta2, epsilon, t);
            let (m, v) = state.split_at_mut(trainable_len);
            adam_update(
                w,
                g,
                &mut m[offset..offset + n],
                &mut v[offset..offset + n],
                reg,
                &c,
            );
        }
        Optimizer::Sgd {
            lr,
            momentum,
            nesterov,
        } => {
            let vel = (momentum != 0.0).then(|| &mut state[offset..offset + n]);
            sgd_update(w, g, vel, reg, lr, momentum, nesterov);
        }
        Optimizer::RmsProp {
            lr,
            rho,
            momentum,
            epsilon,
        } => {
            let (a, rest) = state.split_at_mut(trainable_len);
            let mom = if momentum > 0.0 {
                Some(&mut rest[offset..offset + n])
            } else {
                None
            };
            rmsprop_update(
                w,
                g,
                &mut a[offset..offset + n],
                mom,
                reg,
                lr,
                rho,
                momentum,
                epsilon,
            );
        }
    }
}

/// One optimiser step over every trainable tensor of `layout`, in layout order: one pass per
/// [`update_runs`](crate::layout::ParamLayout::update_runs) run (adjacent tensors sharing a
/// regulariser), which computes exactly what one pass per tensor would.
pub fn step(
    opt: &Optimizer,
    t: u64,
    layout: &ParamLayout,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) {
    for run in layout.update_runs() {
        let r = run.range;
        update_tensor(
            opt,
            t,
            layout.trainable_len,
            r.start,
            &mut params[r.clone()],
            &grads[r],
            state,
            run.regularizer,
        );
    }
}

/// `g + reg'(w)` (the data gradient plus the penalty's gradient).
#[inline]
pub(crate) fn full_gradient(g: f32, w: f32, reg: Option<Regularizer>) -> f32 {
    match reg {
        Some(r) => g + crate::regularize::gradient(r, w),
        None => g,
    }
}
