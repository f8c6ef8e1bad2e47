//! Optimisers, Keras 3 update rules, as ONE fused pass per run of tensors over the flat
//! parameter buffer that also adds the tensors' regularisation gradient
//! (`l1·sign(w) + 2·l2·w`), clips the gradient, applies weight decay and updates.
//!
//! The order is Keras's (`BaseOptimizer._backend_apply_gradients`): the gradient of the
//! loss (penalties included) is clipped (`clipnorm` per tensor, `global_clipnorm` over
//! all, or `clipvalue`), then every variable decays (`w -= w·wd·lr`), then the rule of
//! the optimiser updates it with the clipped gradient. The learning rate is one scalar
//! per step ([`current_learning_rate`]): a schedule's value at `iterations`, or the
//! model's current rate (which `reduce_lr_on_plateau` may lower).
//!
//! State layout: an optimiser with `k` slots ([`slots`]) owns a buffer of
//! `k · trainable_len` floats; slot `s` of the parameter at flat index `i` is at
//! `s · trainable_len + i`, the slots in Keras's order
//! ([`mlp_spec::ir::Optimizer::slot_names`]).
//!
//! Hyper-parameters are the f64 the spec wrote; each rule below derives its constants as
//! the Keras source does — `1 - beta_1` in f64 where Keras subtracts the Python float
//! (Adam, Adamax, `RMSprop`, Adadelta), in f32 where it casts first (Nadam, Lion).

pub mod adam;
pub mod rmsprop;
pub mod schedule;
pub mod sgd;

pub use adam::{adam_update, AdamCoeffs};
pub use rmsprop::rmsprop_update;
pub use sgd::sgd_update;

use crate::layout::ParamLayout;
use mlp_spec::ir::{Clip, LearningRate, Optimizer, OptimizerKind, Regularizer};

/// Number of state slots (each `trainable_len` floats) `opt` needs.
#[must_use]
pub fn slots(opt: &Optimizer) -> usize {
    opt.slots()
}

/// What an optimiser keeps between steps besides its slots: the current learning rate (a
/// constant rate's variable, which callbacks may change) and Nadam's running product
/// `u_product`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptimizerScalars {
    /// The rate of a constant-rate optimiser (ignored under a schedule).
    pub learning_rate: f32,
    /// Nadam's `u_product` after `iterations` steps (1 before the first).
    pub u_product: f32,
}

impl OptimizerScalars {
    /// The scalars of a fresh optimiser.
    #[must_use]
    pub fn new(opt: &Optimizer) -> OptimizerScalars {
        OptimizerScalars {
            learning_rate: opt.initial_learning_rate() as f32,
            u_product: 1.0,
        }
    }

    /// Recomputes what follows from the iteration count (Nadam's `u_product`, replayed
    /// step by step in f32 as Keras accumulates it) after `iterations` steps, as when a
    /// checkpoint is restored.
    pub fn replay(&mut self, opt: &Optimizer, iterations: u64) {
        self.u_product = 1.0;
        if let OptimizerKind::Nadam { beta1, .. } = opt.kind {
            for t in 1..=iterations {
                self.u_product = next_u_product(self.u_product, beta1 as f32, t);
            }
        }
    }
}

/// Nadam's `u_product · beta_1 · (1 - 0.5·0.96^t)` (`Nadam._backend_update_step`).
fn next_u_product(u: f32, beta1: f32, t: u64) -> f32 {
    u * beta1 * (1.0 - 0.5 * 0.96f32.powf(t as f32))
}

/// The learning rate the next step uses: the schedule's value at `iterations`, or the
/// current constant rate.
#[must_use]
pub fn current_learning_rate(opt: &Optimizer, scalars: &OptimizerScalars, iterations: u64) -> f32 {
    match &opt.learning_rate {
        LearningRate::Constant(_) => scalars.learning_rate,
        LearningRate::Schedule(s) => schedule::learning_rate(s, iterations),
    }
}

/// The per-step scalars of one optimiser step, computed once by [`begin_step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The learning rate of this step.
    pub lr: f32,
    /// The 1-based iteration being taken.
    pub t: u64,
    /// `global_clipnorm`'s scale of every gradient (1 without it).
    pub global_scale: f32,
    /// Coefficients of the rule.
    coeffs: Coeffs,
}

/// The rule's per-step coefficients, each computed as Keras computes it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Coeffs {
    Adam(AdamCoeffs),
    Nadam {
        one_minus_beta1: f32,
        one_minus_beta2: f32,
        u_t: f32,
        u_t_1: f32,
        u_product_t: f32,
        u_product_t_1: f32,
        one_minus_beta2_power: f32,
        epsilon: f32,
    },
    Adamax {
        one_minus_beta1: f32,
        beta2: f32,
        one_minus_beta1_power: f32,
        epsilon: f32,
    },
    Adagrad {
        epsilon: f32,
    },
    Adadelta {
        rho: f32,
        one_minus_rho: f32,
        epsilon: f32,
    },
    Lion {
        beta1: f32,
        one_minus_beta1: f32,
        beta2: f32,
        one_minus_beta2: f32,
    },
    Sgd {
        momentum: f32,
    },
    RmsProp {
        rho: f32,
        one_minus_rho: f32,
        momentum: f32,
        epsilon: f32,
    },
}

/// Starts optimiser step `iterations + 1`: the learning rate and the rule's coefficients;
/// advances Nadam's `u_product` in `scalars`.
pub fn begin_step(opt: &Optimizer, scalars: &mut OptimizerScalars, iterations: u64) -> Step {
    let lr = current_learning_rate(opt, scalars, iterations);
    let t = iterations + 1;
    let tf = t as f32;
    let f = |x: f64| x as f32;
    let coeffs = match opt.kind {
        OptimizerKind::Adam {
            beta1,
            beta2,
            epsilon,
            ..
        }
        | OptimizerKind::AdamW {
            beta1,
            beta2,
            epsilon,
            ..
        } => Coeffs::Adam(AdamCoeffs::new(lr, beta1, beta2, epsilon, t)),
        OptimizerKind::Nadam {
            beta1,
            beta2,
            epsilon,
        } => {
            let (b1, b2) = (f(beta1), f(beta2));
            scalars.u_product = next_u_product(scalars.u_product, b1, t);
            let u_t = b1 * (1.0 - 0.5 * 0.96f32.powf(tf));
            let u_t_1 = b1 * (1.0 - 0.5 * 0.96f32.powf((t + 1) as f32));
            Coeffs::Nadam {
                one_minus_beta1: 1.0 - b1,
                one_minus_beta2: 1.0 - b2,
                u_t,
                u_t_1,
                u_product_t: scalars.u_product,
                u_product_t_1: scalars.u_product * u_t_1,
                one_minus_beta2_power: 1.0 - b2.powf(tf),
                epsilon: f(epsilon),
            }
        }
        OptimizerKind::Adamax {
            beta1,
            beta2,
            epsilon,
        } => Coeffs::Adamax {
            one_minus_beta1: f(1.0 - beta1),
            beta2: f(beta2),
            one_minus_beta1_power: 1.0 - f(beta1).powf(tf),
            epsilon: f(epsilon),
        },
        OptimizerKind::Adagrad { epsilon, .. } => Coeffs::Adagrad {
            epsilon: f(epsilon),
        },
        OptimizerKind::Adadelta { rho, epsilon } => Coeffs::Adadelta {
            rho: f(rho),
            one_minus_rho: f(1.0 - rho),
            epsilon: f(epsilon),
        },
        OptimizerKind::Lion { beta1, beta2 } => Coeffs::Lion {
            beta1: f(beta1),
            one_minus_beta1: 1.0 - f(beta1),
            beta2: f(beta2),
            one_minus_beta2: 1.0 - f(beta2),
        },
        OptimizerKind::Sgd { momentum, .. } => Coeffs::Sgd {
            momentum: f(momentum),
        },
        OptimizerKind::RmsProp {
            rho,
            momentum,
            epsilon,
            ..
        } => Coeffs::RmsProp {
            rho: f(rho),
            one_minus_rho: f(1.0 - rho),
            momentum: f(momentum),
            epsilon: f(epsilon),
        },
    };
    Step {
        lr,
        t,
        global_scale: 1.0,
        coeffs,
    }
}

impl Step {
    /// This step with `global_clipnorm`'s scale, given the sum of the squares of every
    /// gradient element (penalties included: [`squared_norm`] summed over the runs).
    /// Keras's `clip_by_global_norm`: `clip · min(1/norm, 1/clip)`, NaN for a non-finite
    /// norm. A no-op without `global_clipnorm`.
    #[must_use]
    // `norm - norm` is Keras's: 0 for a finite norm, NaN otherwise.
    #[allow(clippy::eq_op)]
    pub fn with_global_norm(mut self, opt: &Optimizer, squared: f64) -> Step {
        if let Some(Clip::GlobalNorm(c)) = opt.clip {
            let c = c as f32;
            let norm = squared.sqrt() as f32;
            self.global_scale = c * (1.0 / norm).min(1.0 / c) + (norm - norm);
        }
        self
    }
}

/// Σ (g + reg'(w))² over a run, in f64 (for `global_clipnorm` and `clipnorm`).
#[must_use]
pub fn squared_norm(w: &[f32], g: &[f32], reg: Option<Regularizer>) -> f64 {
    w.iter()
        .zip(g)
        .map(|(&w, &g)| {
            let gi = f64::from(full_gradient(g, w, reg));
            gi * gi
        })
        .sum()
}

/// Updates one run: `w` its parameters, `g` their data-loss gradient, `state` the WHOLE
/// optimiser buffer (`slots(opt) · trainable_len`), `offset` the run's offset in the
/// parameter buffer, `reg` its penalty; `step` from [`begin_step`].
pub fn update(
    opt: &Optimizer,
    step: &Step,
    trainable_len: usize,
    offset: usize,
    w: &mut [f32],
    g: &[f32],
    state: &mut [f32],
    reg: Option<Regularizer>,
) {
    let n = w.len();
    let g = &g[..n];
    let plain = opt.clip.is_none() && opt.weight_decay.is_none();
    // The vectorised kernels of the three original rules, when nothing else applies.
    if plain {
        match (opt.kind, step.coeffs) {
            (OptimizerKind::Adam { amsgrad: false, .. }, Coeffs::Adam(c)) => {
                let (m, v) = state.split_at_mut(trainable_len);
                adam_update(
                    w,
                    g,
                    &mut m[offset..offset + n],
                    &mut v[offset..offset + n],
                    reg,
                    &c,
                );
                return;
            }
            (OptimizerKind::Sgd { momentum, nesterov }, _) => {
                let vel = (momentum != 0.0).then(|| &mut state[offset..offset + n]);
                sgd_update(w, g, vel, reg, step.lr, momentum as f32, nesterov);
                return;
            }
            (
                OptimizerKind::RmsProp {
                    centered: false,
                    momentum,
                    ..
                },
                Coeffs::RmsProp {
                    rho,
                    one_minus_rho,
                    epsilon,
                    ..
                },
            ) => {
                let (a, rest) = state.split_at_mut(trainable_len);
                let mom = (momentum > 0.0).then(|| &mut rest[offset..offset + n]);
                rmsprop_update(
                    w,
                    g,
                    &mut a[offset..offset + n],
                    mom,
                    reg,
                    rmsprop::Coeffs {
                        lr: step.lr,
                        rho,
                        one_minus_rho,
                        epsilon,
                    },
                    momentum as f32,
                );
                return;
            }
            _ => {}
        }
    }
    general(opt, step, trainable_len, offset, w, g, state, reg);
}

/// Every rule with clipping and weight decay, element by element (scalar code).
fn general(
    opt: &Optimizer,
    step: &Step,
    trainable_len: usize,
    offset: usize,
    w: &mut [f32],
    g: &[f32],
    state: &mut [f32],
    reg: Option<Regularizer>,
) {
    let n = w.len();
    let lr = step.lr;
    // clipnorm: `g·clip / max(norm, clip)` with the run's (one tensor's) norm.
    let clip = match opt.clip {
        Some(Clip::Norm(c)) => {
            let c = c as f32;
            let norm = squared_norm(w, g, reg).sqrt() as f32;
            GradClip::Norm {
                clip: c,
                denominator: norm.max(c),
            }
        }
        Some(Clip::GlobalNorm(_)) => GradClip::Scale(step.global_scale),
        Some(Clip::Value(v)) => GradClip::Value(v as f32),
        None => GradClip::None,
    };
    let wd = opt.weight_decay.map(|d| d as f32);
    let mut slots = state.chunks_exact_mut(trainable_len.max(1));
    let mut next = || slots.next().map(|s| &mut s[offset..offset + n]);
    let (s0, s1, s2) = (next(), next(), next());
    let (s0, s1, s2) = (
        s0.unwrap_or_default(),
        s1.unwrap_or_default(),
        s2.unwrap_or_default(),
    );
    for i in 0..n {
        let mut gi = full_gradient(g[i], w[i], reg);
        gi = clip.apply(gi);
        if let Some(wd) = wd {
            w[i] -= w[i] * wd * lr;
        }
        let wi = &mut w[i];
        match (opt.kind, step.coeffs) {
            (
                OptimizerKind::Adam { amsgrad, .. } | OptimizerKind::AdamW { amsgrad, .. },
                Coeffs::Adam(c),
            ) => {
                let (m, v) = (&mut s0[i], &mut s1[i]);
                *m += (gi - *m) * c.one_minus_beta1;
                *v += (gi * gi - *v) * c.one_minus_beta2;
                let v_used = if amsgrad {
                    let vh = &mut s2[i];
                    *vh = vh.max(*v);
                    *vh
                } else {
                    *v
                };
                *wi -= (*m * c.alpha) / (v_used.sqrt() + c.epsilon);
            }
            (
                OptimizerKind::Nadam { .. },
                Coeffs::Nadam {
                    one_minus_beta1,
                    one_minus_beta2,
                    u_t,
                    u_t_1,
                    u_product_t,
                    u_product_t_1,
                    one_minus_beta2_power,
                    epsilon,
                },
            ) => {
                let (m, v) = (&mut s0[i], &mut s1[i]);
                *m += (gi - *m) * one_minus_beta1;
                *v += (gi * gi - *v) * one_minus_beta2;
                let m_hat =
                    (u_t_1 * *m) / (1.0 - u_product_t_1) + ((1.0 - u_t) * gi) / (1.0 - u_product_t);
                let v_hat = *v / one_minus_beta2_power;
                *wi -= (m_hat * lr) / (v_hat.sqrt() + epsilon);
            }
            (
                OptimizerKind::Adamax { .. },
                Coeffs::Adamax {
                    one_minus_beta1,
                    beta2,
                    one_minus_beta1_power,
                    epsilon,
                },
            ) => {
                let (m, u) = (&mut s0[i], &mut s1[i]);
                *m += (gi - *m) * one_minus_beta1;
                *u = (beta2 * *u).max(gi.abs());
                *wi -= (lr * *m) / (one_minus_beta1_power * (*u + epsilon));
            }
            (OptimizerKind::Adagrad { .. }, Coeffs::Adagrad { epsilon }) => {
                let acc = &mut s0[i];
                *acc += gi * gi;
                *wi -= (lr * gi) / (*acc + epsilon).sqrt();
            }
            (
                OptimizerKind::Adadelta { .. },
                Coeffs::Adadelta {
                    rho,
                    one_minus_rho,
                    epsilon,
                },
            ) => {
                let (ag, ad) = (&mut s0[i], &mut s1[i]);
                *ag = rho * *ag + one_minus_rho * (gi * gi);
                let delta = -(((*ad + epsilon).sqrt() * gi) / (*ag + epsilon).sqrt());
                *ad = rho * *ad + one_minus_rho * (delta * delta);
                *wi += lr * delta;
            }
            (
                OptimizerKind::Lion { .. },
                Coeffs::Lion {
                    beta1,
                    one_minus_beta1,
                    beta2,
                    one_minus_beta2,
                },
            ) => {
                let m = &mut s0[i];
                *wi -= lr * sign(*m * beta1 + gi * one_minus_beta1);
                *m = *m * beta2 + gi * one_minus_beta2;
            }
            (OptimizerKind::Sgd { nesterov, .. }, Coeffs::Sgd { momentum }) => {
                if momentum == 0.0 {
                    *wi -= gi * lr;
                } else {
                    let m = &mut s0[i];
                    *m = *m * momentum - gi * lr;
                    if nesterov {
                        *wi += *m * momentum - gi * lr;
                    } else {
                        *wi += *m;
                    }
                }
            }
            (
                OptimizerKind::RmsProp { centered, .. },
                Coeffs::RmsProp {
                    rho,
                    one_minus_rho,
                    momentum,
                    epsilon,
                },
            ) => {
                let v = &mut s0[i];
                *v = rho * *v + one_minus_rho * (gi * gi);
                // Slots: velocity, then momentum (momentum > 0), then average_gradient.
                let (mom, avg) = match (momentum > 0.0, centered) {
                    (true, true) => (Some(&mut s1[i]), Some(&mut s2[i])),
                    (true, false) => (Some(&mut s1[i]), None),
                    (false, true) => (None, Some(&mut s1[i])),
                    (false, false) => (None, None),
                };
                let denominator = match avg {
                    Some(a) => {
                        *a = rho * *a + one_minus_rho * gi;
                        *v - *a * *a + epsilon
                    }
                    None => *v + epsilon,
                };
                let increment = (lr * gi) / denominator.sqrt();
                match mom {
                    Some(m) => {
                        *m = momentum * *m + increment;
                        *wi -= *m;
                    }
                    None => *wi -= increment,
                }
            }
            _ => debug_assert!(false, "coefficients of another optimiser"),
        }
    }
}

/// `ops.sign`: -1, 0 or 1 (NaN stays NaN).
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        x
    }
}

/// How a gradient element is clipped.
#[derive(Debug, Clone, Copy)]
enum GradClip {
    None,
    /// `clipnorm`: `g·clip / denominator` with `denominator = max(norm, clip)`.
    Norm {
        clip: f32,
        denominator: f32,
    },
    /// `global_clipnorm`: `g·scale`.
    Scale(f32),
    /// `clipvalue`: `clip(g, -v, v)`.
    Value(f32),
}

impl GradClip {
    #[inline]
    fn apply(self, g: f32) -> f32 {
        match self {
            GradClip::None => g,
            GradClip::Norm { clip, denominator } => (g * clip) / denominator,
            GradClip::Scale(s) => g * s,
            GradClip::Value(v) => g.clamp(-v, v),
        }
    }
}

/// One optimiser step over every trainable tensor of `layout`, in layout order: the
/// global norm first under `global_clipnorm`, then one [`update`] per
/// [`ParamLayout::update_runs_for`] run.
/// Returns the learning rate used.
pub fn step(
    opt: &Optimizer,
    scalars: &mut OptimizerScalars,
    iterations: u64,
    layout: &ParamLayout,
    params: &mut [f32],
    grads: &[f32],
    state: &mut [f32],
) -> f32 {
    let mut s = begin_step(opt, scalars, iterations);
    if matches!(opt.clip, Some(Clip::GlobalNorm(_))) {
        let squared = layout
            .update_runs_for(opt)
            .map(|run| {
                let r = run.range;
                squared_norm(&params[r.clone()], &grads[r], run.regularizer)
            })
            .sum();
        s = s.with_global_norm(opt, squared);
    }
    for run in layout.update_runs_for(opt) {
        let r = run.range;
        update(
            opt,
            &s,
            layout.trainable_len,
            r.start,
            &mut params[r.clone()],
            &grads[r],
            state,
            run.regularizer,
        );
    }
    s.lr
}

/// `g + reg'(w)` (the data gradient plus the penalty's gradient).
#[inline]
pub(crate) fn full_gradient(g: f32, w: f32, reg: Option<Regularizer>) -> f32 {
    match reg {
        Some(r) => g + crate::regularize::gradient(r, w),
        None => g,
    }
}
