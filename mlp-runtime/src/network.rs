//! `Network`: runs any IR model known only at run time, with the same building blocks, in
//! the same order, as generated code does, so both agree bit for bit on the same seed.
//!
//! Every buffer is sized at construction for `max_batch`; `forward`, `evaluate_batch`,
//! `compute_gradients` and `train_step` allocate nothing afterwards.
//!
//! Order of operations of one training step (the contract generated code follows):
//! 1. forward, layer by layer, in training mode: `Flatten` is free (same buffer);
//!    `Dense` = [`dense_forward`] (GEMM + bias + activation epilogue); `Dropout` =
//!    [`dropout_forward`] keyed by `rng::dropout_key(seed, layer index, iterations)`;
//!    `BatchNorm` = [`batch_norm_forward_train`]; `LeakyRelu`, activation layers and
//!    `Rescale` their forward functions. A `Dense` whose output goes to a `BatchNorm`
//!    (optionally followed by a `LeakyRelu` or activation layer that is not the logits
//!    head's `Softmax`) runs in training as one [`dense_batch_norm_forward_train`],
//!    bit-identical to the separate calls but with fewer passes over memory. When [`loss::uses_softmax_logits`], the final
//!    softmax is NOT applied by its layer: `Dense` runs with a linear activation (or the
//!    `Softmax` layer is skipped) and [`loss::softmax_cross_entropy`] turns the logits into
//!    probabilities, the loss and `(p - onehot)/batch`; otherwise
//!    [`loss::probability_loss`] on the last output gives the loss and its gradient.
//! 2. penalty: [`regularize::total_penalty`] of the parameters before the update; the
//!    reported loss is `data loss + penalty`.
//! 3. backward, layer by layer in reverse: `Dense` = activation derivative in place on its
//!    output gradient ([`epilogue::activation_backward`], skipped for the logits head),
//!    then [`dense_backward`]; input gradients are only computed for layers that have a
//!    parameterised layer before them.
//! 4. [`optim::step`] (one fused pass per tensor, layout order, regularisation gradient
//!    included) with `t = iterations + 1`; then `iterations += 1`.

use crate::init;
use crate::kernels::{epilogue, FlushDenormals};
use crate::layers::{
    activation_backward, activation_forward, batch_norm_backward, batch_norm_forward_infer,
    batch_norm_forward_train, dense_backward, dense_batch_norm_forward_train, dense_forward,
    dropout_backward, dropout_forward, leaky_relu_backward, leaky_relu_forward, rescale_backward,
    rescale_forward, AfterBatchNorm,
};
use crate::layout::{ParamLayout, Role};
use crate::loss;
use crate::model::{Model, StepStats};
use crate::optim;
use crate::regularize;
use crate::rng;
use mlp_spec::ir::{self, Activation, LayerKind};
use thiserror::Error;

/// Why a `Network` cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetworkError {
    /// `max_batch` was 0.
    #[error("the largest batch must be at least 1")]
    ZeroBatch,
    /// The model has no layers.
    #[error("model `{0}` has no layers")]
    NoLayers(String),
    /// The IR breaks one of its invariants (a hand-built IR, never one from `compile`).
    #[error("model `{model}`, layer `{layer}`: {problem}")]
    BadLayer {
        /// The model.
        model: String,
        /// The layer's name.
        layer: String,
        /// What is wrong.
        problem: String,
    },
}

/// Where a layer reads its input from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Src {
    /// The caller's `x`.
    Input,
    /// Activation buffer `k`.
    Buf(usize),
}

/// One layer, resolved to offsets and sizes.
#[derive(Debug, Clone, Copy)]
enum Op {
    Flatten,
    Dense {
        inputs: usize,
        units: usize,
        act: Activation,
        kernel: usize,
        bias: Option<usize>,
    },
    Dropout {
        rate: f32,
        n: usize,
    },
    BatchNorm {
        features: usize,
        gamma: usize,
        beta: usize,
        moving_mean: usize,
        moving_var: usize,
        momentum: f32,
        epsilon: f32,
        scratch: usize,
    },
    LeakyRelu {
        slope: f32,
        n: usize,
    },
    Activation {
        act: Activation,
        n: usize,
    },
    Rescale {
        scale: f32,
        offset: f32,
        n: usize,
    },
}

/// One planned layer: its op, where it reads and writes, whether it needs an input gradient.
#[derive(Debug, Clone, Copy)]
struct Step {
    op: Op,
    src: Src,
    dst: usize,
    /// A `Flatten` sharing its input's buffer: nothing to run forward or backward.
    alias: bool,
    needs_dx: bool,
}

/// A dynamic executor of an IR model (see the module docs).
#[derive(Debug, Clone)]
pub struct Network {
    ir: ir::Model,
    layout: ParamLayout,
    seed: u64,
    max_batch: usize,
    iterations: u64,
    params: Vec<f32>,
    grads: Vec<f32>,
    state: Vec<f32>,
    opt_state: Vec<f32>,
    steps: Vec<Step>,
    /// Activation buffers, `max_batch · features` each.
    bufs: Vec<Vec<f32>>,
    /// Gradient buffers mirroring `bufs`.
    dbufs: Vec<Vec<f32>>,
    /// Per `BatchNorm` layer: `[mean; features] ++ [inv_std; features]`.
    bn_scratch: Vec<Vec<f32>>,
    /// Softmax output of the logits head (`max_batch · units`), empty without one.
    probs: Vec<f32>,
    /// Whether the loss is computed from the final softmax's logits.
    logits_head: bool,
    /// Output units.
    units: usize,
}

impl Network {
    /// Builds the network of `model`, initialises its parameters from `seed` (see
    /// [`init::init_params`]) and sizes every buffer for batches of up to `max_batch`.
    ///
    /// # Errors
    /// [`NetworkError`] when `max_batch` is 0 or the IR breaks its invariants (no layers,
    /// a `Dense` on a non-flat input).
    pub fn new(model: &ir::Model, seed: u64, max_batch: usize) -> Result<Network, NetworkError> {
        if max_batch == 0 {
            return Err(NetworkError::ZeroBatch);
        }
        if model.layers.is_empty() {
            return Err(NetworkError::NoLayers(model.name.clone()));
        }
        let layout = ParamLayout::new(model);
        let logits_head = loss::uses_softmax_logits(model);
        let last = model.layers.len() - 1;
        let mut steps = Vec::with_capacity(model.layers.len());
        let mut bufs: Vec<Vec<f32>> = Vec::new();
        let mut bn_scratch = Vec::new();
        let mut src = Src::Input;
        let mut seen_params = false;
        for (i, layer) in model.layers.iter().enumerate() {
            let n: usize = layer.output_shape.iter().product();
            let bad = |problem: &str| NetworkError::BadLayer {
                model: model.name.clone(),
                layer: layer.name.clone(),
                problem: problem.to_owned(),
            };
            let offset = |role: Role| layout.tensor(i, role).map(|t| t.offset);
            let op = match &layer.kind {
                LayerKind::Flatten => Op::Flatten,
                LayerKind::Dense(d) => {
                    if layer.input_shape.len() != 1 {
                        return Err(bad("Dense needs a flat input"));
                    }
                    let act = if i == last && logits_head {
                        Activation::Linear
                    } else {
                        d.activation
                    };
                    Op::Dense {
                        inputs: layer.input_shape[0],
                        units: d.units,
                        act,
                        kernel: offset(Role::Kernel).ok_or_else(|| bad("no kernel"))?,
                        bias: offset(Role::Bias),
                    }
                }
                LayerKind::Dropout { rate } => Op::Dropout { rate: *rate, n },
                LayerKind::BatchNorm(b) => {
                    let features = *layer.input_shape.last().unwrap_or(&1);
                    if !n.is_multiple_of(features) {
                        return Err(bad("shape mismatch"));
                    }
                    bn_scratch.push(vec![0.0; 2 * features]);
                    Op::BatchNorm {
                        features,
                        gamma: offset(Role::Gamma).ok_or_else(|| bad("no gamma"))?,
                        beta: offset(Role::Beta).ok_or_else(|| bad("no beta"))?,
                        moving_mean: offset(Role::MovingMean).ok_or_else(|| bad("no mean"))?,
                        moving_var: offset(Role::MovingVariance).ok_or_else(|| bad("no var"))?,
                        momentum: b.momentum,
                        epsilon: b.epsilon,
                        scratch: bn_scratch.len() - 1,
                    }
                }
                LayerKind::LeakyRelu { slope } => Op::LeakyRelu { slope: *slope, n },
                LayerKind::Activation(act) => Op::Activation { act: *act, n },
                LayerKind::Rescale { scale, offset } => Op::Rescale {
                    scale: *scale,
                    offset: *offset,
                    n,
                },
            };
            let in_size: usize = layer.input_shape.iter().product();
            // Flatten only renames: it shares its input's buffer (the caller's `x` too,
            // unless it is the output layer).
            let alias = matches!(op, Op::Flatten) && (src != Src::Input || i != last);
            let dst = match src {
                Src::Buf(k) if alias => k,
                _ if alias => usize::MAX,
                _ => {
                    bufs.push(vec![0.0; max_batch * n.max(in_size)]);
                    bufs.len() - 1
                }
            };
            steps.push(Step {
                op,
                src,
                dst,
                alias,
                needs_dx: seen_params && src != Src::Input,
            });
            if layer.params.trainable > 0 {
                seen_params = true;
            }
            if !alias {
                src = Src::Buf(dst);
            }
        }
        let dbufs = bufs.clone();
        let units = model.output_size();
        let mut params = vec![0.0; layout.trainable_len];
        let mut state = vec![0.0; layout.state_len];
        init::init_params(&layout, seed, &mut params, &mut state);
        let slots = optim::slots(&model.train.optimizer);
        Ok(Network {
            ir: model.clone(),
            seed,
            max_batch,
            iterations: 0,
            grads: vec![0.0; layout.trainable_len],
            opt_state: vec![0.0; slots * layout.trainable_len],
            params,
            state,
            steps,
            bufs,
            dbufs,
            bn_scratch,
            probs: if logits_head {
                vec![0.0; max_batch * units]
            } else {
                Vec::new()
            },
            logits_head,
            units,
            layout,
        })
    }

    /// The tensor table of this network's buffers.
    #[must_use]
    pub fn layout(&self) -> &ParamLayout {
        &self.layout
    }

    /// The seed of initialisation and dropout masks.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The optimiser state (`optim::slots · trainable_len` floats, see [`crate::optim`]).
    #[must_use]
    pub fn optimizer_state(&self) -> &[f32] {
        &self.opt_state
    }

    /// Runs every layer forward. In training mode, dropout and batch statistics are active
    /// (moving statistics updated). Leaves the logits (for a logits head) or the output in
    /// the last buffer.
    fn run_forward(&mut self, x: &[f32], batch: usize, training: bool) {
        debug_assert!(batch >= 1 && batch <= self.max_batch);
        debug_assert!(x.len() >= batch * self.ir.input_size());
        // Steps before this index were already run by a fused `Dense` → `BatchNorm` block.
        let mut done = 0;
        for li in 0..self.steps.len() {
            if li < done {
                continue;
            }
            if training {
                if let Some(n) = self.dense_batch_norm_train(li, x, batch) {
                    done = li + n;
                    continue;
                }
            }
            let step = &self.steps[li];
            if self.logits_head
                && li + 1 == self.steps.len()
                && matches!(step.op, Op::Activation { .. })
            {
                // The final Softmax layer: its input already holds the logits.
                let (src, dst) = io(x, &mut self.bufs, step.src, step.dst);
                let n = batch * self.units;
                dst[..n].copy_from_slice(&src[..n]);
                continue;
            }
            if step.alias {
                continue;
            }
            let (src, dst) = io(x, &mut self.bufs, step.src, step.dst);
            match step.op {
                Op::Flatten => {
                    let n = batch * self.ir.input_size();
                    dst[..n].copy_from_slice(&src[..n]);
                }
                Op::Dense {
                    inputs,
                    units,
                    act,
                    kernel,
                    bias,
                } => dense_forward(
                    batch,
                    inputs,
                    units,
                    src,
                    &self.params[kernel..kernel + inputs * units],
                    bias.map(|b| &self.params[b..b + units]),
                    act,
                    dst,
                ),
                Op::Dropout { rate, n } => {
                    if training && rate > 0.0 {
                        let key = rng::dropout_key(self.seed, li, self.iterations);
                        dropout_forward(batch * n, rate, key, src, dst);
                    } else {
                        dst[..batch * n].copy_from_slice(&src[..batch * n]);
                    }
                }
                Op::BatchNorm {
                    features,
                    gamma,
                    beta,
                    moving_mean,
                    moving_var,
                    momentum,
                    epsilon,
                    scratch,
                } => {
                    let rows = batch
                        * (self.ir.layers[li].input_shape.iter().product::<usize>() / features);
                    let g = &self.params[gamma..gamma + features];
                    let b = &self.params[beta..beta + features];
                    if training {
                        let (mm, mv) =
                            moving_pair(&mut self.state, moving_mean, moving_var, features);
                        let (mean, inv_std) = self.bn_scratch[scratch].split_at_mut(features);
                        batch_norm_forward_train(
                            rows, features, src, g, b, epsilon, momentum, mm, mv, mean, inv_std,
                            dst,
                        );
                    } else {
                        batch_norm_forward_infer(
                            rows,
                            features,
                            src,
                            g,
                            b,
                            epsilon,
                            &self.state[moving_mean..moving_mean + features],
                            &self.state[moving_var..moving_var + features],
                            dst,
                        );
                    }
                }
                Op::LeakyRelu { slope, n } => leaky_relu_forward(batch * n, slope, src, dst),
                Op::Activation { act, n } => {
                    let cols = *self.ir.layers[li].output_shape.last().unwrap_or(&1);
                    activation_forward(batch * n / cols, cols, act, src, dst);
                }
                Op::Rescale { scale, offset, n } => {
                    rescale_forward(batch * n, scale, offset, src, dst);
                }
            }
        }
    }

    /// When step `li` is a `Dense` whose output only a `BatchNorm` reads next (optionally
    /// followed by a `LeakyRelu` or activation layer on the `BatchNorm`'s output), runs them
    /// in training mode as one [`dense_batch_norm_forward_train`] (bit-identical to the
    /// separate calls) and returns how many steps it ran; otherwise runs nothing.
    fn dense_batch_norm_train(&mut self, li: usize, x: &[f32], batch: usize) -> Option<usize> {
        let dense = *self.steps.get(li)?;
        let bn = *self.steps.get(li + 1)?;
        let Op::Dense {
            inputs,
            units,
            act,
            kernel,
            bias,
        } = dense.op
        else {
            return None;
        };
        let Op::BatchNorm {
            features,
            gamma,
            beta,
            moving_mean,
            moving_var,
            momentum,
            epsilon,
            scratch,
        } = bn.op
        else {
            return None;
        };
        let d = dense.dst;
        if dense.alias || bn.alias || features != units || bn.src != Src::Buf(d) || bn.dst != d + 1
        {
            return None;
        }
        let (after, ran) = match self.steps.get(li + 2) {
            Some(s)
                if !s.alias
                    && s.src == Src::Buf(d + 1)
                    && s.dst == d + 2
                    && !(self.logits_head && li + 3 == self.steps.len()) =>
            {
                match s.op {
                    Op::LeakyRelu { slope, .. } => (AfterBatchNorm::LeakyRelu(slope), 3),
                    Op::Activation { act, .. } => (AfterBatchNorm::Activation(act), 3),
                    _ => (AfterBatchNorm::Nothing, 2),
                }
            }
            _ => (AfterBatchNorm::Nothing, 2),
        };
        let (lo, hi) = self.bufs.split_at_mut(d);
        let src: &[f32] = match dense.src {
            Src::Input => x,
            Src::Buf(k) => lo.get(k)?,
        };
        let (z, rest) = hi.split_first_mut()?;
        let (y, rest) = rest.split_first_mut()?;
        let out = if ran == 3 {
            Some(&mut rest.first_mut()?[..])
        } else {
            None
        };
        let (mm, mv) = moving_pair(&mut self.state, moving_mean, moving_var, features);
        let (mean, inv_std) = self.bn_scratch[scratch].split_at_mut(features);
        dense_batch_norm_forward_train(
            batch,
            inputs,
            units,
            src,
            &self.params[kernel..kernel + inputs * units],
            bias.map(|b| &self.params[b..b + units]),
            act,
            &self.params[gamma..gamma + features],
            &self.params[beta..beta + features],
            epsilon,
            momentum,
            mm,
            mv,
            mean,
            inv_std,
            z,
            y,
            after,
            out,
        );
        Some(ran)
    }

    /// The last buffer (logits for a logits head, else the output).
    fn last_buf(&self) -> usize {
        self.steps.last().map_or(0, |s| s.dst)
    }

    /// Forward + loss; in training mode also writes the gradient of the loss with respect to
    /// the last buffer into its gradient buffer.
    fn forward_loss(
        &mut self,
        x: &[f32],
        labels: &[u8],
        batch: usize,
        training: bool,
    ) -> StepStats {
        debug_assert!(labels.len() >= batch);
        self.run_forward(x, batch, training);
        let last = self.last_buf();
        let units = self.units;
        let grad = if training {
            Some(&mut self.dbufs[last][..batch * units])
        } else {
            None
        };
        let data = if self.logits_head {
            loss::softmax_cross_entropy(
                batch,
                units,
                &self.bufs[last],
                labels,
                &mut self.probs,
                grad,
            )
        } else {
            loss::probability_loss(
                self.ir.train.loss,
                batch,
                units,
                &self.bufs[last],
                labels,
                grad,
            )
        };
        let penalty = regularize::total_penalty(&self.layout, &self.params);
        StepStats {
            loss: data.loss + penalty,
            correct: data.correct,
            batch,
        }
    }

    /// Backward through every layer, filling `grads`; expects the last buffer's gradient.
    fn run_backward(&mut self, x: &[f32], batch: usize) {
        let nsteps = self.steps.len();
        for li in (0..nsteps).rev() {
            let step = self.steps[li];
            if self.logits_head && li + 1 == nsteps && matches!(step.op, Op::Activation { .. }) {
                // Final Softmax layer of a logits head: the head's gradient is already the
                // gradient of its input.
                if let Src::Buf(k) = step.src {
                    let n = batch * self.units;
                    let (d_in, d_out) = pair_mut(&mut self.dbufs, k, step.dst);
                    d_in[..n].copy_from_slice(&d_out[..n]);
                }
                continue;
            }
            match step.op {
                Op::Flatten => {
                    // Same buffer, nothing to do (or the very first layer: no input grad).
                }
                Op::Dense {
                    inputs,
                    units,
                    act,
                    kernel,
                    bias,
                } => {
                    let n = batch * units;
                    epilogue::activation_backward(
                        batch,
                        units,
                        act,
                        &self.bufs[step.dst],
                        &mut self.dbufs[step.dst][..n],
                    );
                    let (xin, dy, dx) = back_io(x, &self.bufs, &mut self.dbufs, step);
                    let (dk, db) = self.grads[kernel..].split_at_mut(inputs * units);
                    let db = bias.map(|b| {
                        let off = b - kernel - inputs * units;
                        &mut db[off..off + units]
                    });
                    dense_backward(
                        batch,
                        inputs,
                        units,
                        xin,
                        &self.params[kernel..kernel + inputs * units],
                        dy,
                        dk,
                        db,
                        dx,
                    );
                }
                Op::Dropout { rate, n } => {
                    let (_, dy, dx) = back_io(x, &self.bufs, &mut self.dbufs, step);
                    if let Some(dx) = dx {
                        if rate > 0.0 {
                            let key = rng::dropout_key(self.seed, li, self.iterations);
                            dropout_backward(batch * n, rate, key, dy, dx);
                        } else {
                            dx[..batch * n].copy_from_slice(&dy[..batch * n]);
                        }
                    }
                }
                Op::BatchNorm {
                    features,
                    gamma,
                    beta,
                    scratch,
                    ..
                } => {
                    let rows = batch
                        * (self.ir.layers[li].input_shape.iter().product::<usize>() / features);
                    let (xin, dy, dx) = back_io(x, &self.bufs, &mut self.dbufs, step);
                    let (mean, inv_std) = self.bn_scratch[scratch].split_at(features);
                    let (dg, db) = if gamma < beta {
                        let (a, b) = self.grads.split_at_mut(beta);
                        (&mut a[gamma..gamma + features], &mut b[..features])
                    } else {
                        let (a, b) = self.grads.split_at_mut(gamma);
                        (&mut b[..features], &mut a[beta..beta + features])
                    };
                    batch_norm_backward(
                        rows,
                        features,
                        xin,
                        &self.params[gamma..gamma + features],
                        mean,
                        inv_std,
                        dy,
                        dg,
                        db,
                        dx,
                    );
                }
                Op::LeakyRelu { slope, n } => {
                    let (xin, dy, dx) = back_io(x, &self.bufs, &mut self.dbufs, step);
                    if let Some(dx) = dx {
                        leaky_relu_backward(batch * n, slope, xin, dy, dx);
                    }
                }
                Op::Activation { act, n } => {
                    let cols = *self.ir.layers[li].output_shape.last().unwrap_or(&1);
                    let (_, dy, dx) = back_io(x, &self.bufs, &mut self.dbufs, step);
                    if let Some(dx) = dx {
                        activation_backward(
                            batch * n / cols,
                            cols,
                            act,
                            &self.bufs[step.dst],
                            dy,
                            dx,
                        );
                    }
                }
                Op::Rescale { scale, n, .. } => {
                    let (_, dy, dx) = back_io(x, &self.bufs, &mut self.dbufs, step);
                    if let Some(dx) = dx {
                        rescale_backward(batch * n, scale, dy, dx);
                    }
                }
            }
        }
    }
}

/// The moving mean and moving variance of a `BatchNorm` (`features` floats each, at
/// offsets `mean` and `var` of `state`, not overlapping), both mutable.
fn moving_pair(
    state: &mut [f32],
    mean: usize,
    var: usize,
    features: usize,
) -> (&mut [f32], &mut [f32]) {
    let (lo, hi) = state.split_at_mut(var.max(mean));
    if mean < var {
        (&mut lo[mean..mean + features], &mut hi[..features])
    } else {
        (&mut hi[..features], &mut lo[var..var + features])
    }
}

/// `(input, output buffer)` of a layer.
fn io<'a>(
    x: &'a [f32],
    bufs: &'a mut [Vec<f32>],
    src: Src,
    dst: usize,
) -> (&'a [f32], &'a mut [f32]) {
    match src {
        Src::Input => (x, &mut bufs[dst]),
        Src::Buf(k) => {
            let (a, b) = pair_mut(bufs, k, dst);
            (a, b)
        }
    }
}

/// `(forward input, output gradient, input gradient if needed)` of a layer.
fn back_io<'a>(
    x: &'a [f32],
    bufs: &'a [Vec<f32>],
    dbufs: &'a mut [Vec<f32>],
    step: Step,
) -> (&'a [f32], &'a mut [f32], Option<&'a mut [f32]>) {
    match step.src {
        Src::Input => (x, &mut dbufs[step.dst], None),
        Src::Buf(k) if k == step.dst => (&bufs[k], &mut dbufs[k], None),
        Src::Buf(k) => {
            let (d_in, d_out) = pair_mut(dbufs, k, step.dst);
            (&bufs[k], d_out, step.needs_dx.then_some(d_in))
        }
    }
}

/// Two distinct buffers, the first mutable-as-shared by the caller's choice.
fn pair_mut(bufs: &mut [Vec<f32>], a: usize, b: usize) -> (&mut [f32], &mut [f32]) {
    debug_assert_ne!(a, b);
    if a < b {
        let (lo, hi) = bufs.split_at_mut(b);
        (&mut lo[a], &mut hi[0])
    } else {
        let (lo, hi) = bufs.split_at_mut(a);
        (&mut hi[0], &mut lo[b])
    }
}

impl Model for Network {
    fn ir(&self) -> &ir::Model {
        &self.ir
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn params(&self) -> &[f32] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    fn state(&self) -> &[f32] {
        &self.state
    }

    fn state_mut(&mut self) -> &mut [f32] {
        &mut self.state
    }

    fn grads(&self) -> &[f32] {
        &self.grads
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
        let _denormals = FlushDenormals::new();
        self.run_forward(x, batch, false);
        let n = batch * self.units;
        let last = self.last_buf();
        if self.logits_head {
            self.probs[..n].copy_from_slice(&self.bufs[last][..n]);
            epilogue::bias_activation(
                batch,
                self.units,
                None,
                Activation::Softmax,
                &mut self.probs,
            );
            &self.probs[..n]
        } else {
            &self.bufs[last][..n]
        }
    }

    fn evaluate_batch(&mut self, x: &[f32], labels: &[u8], batch: usize) -> StepStats {
        let _denormals = FlushDenormals::new();
        self.forward_loss(x, labels, batch, false)
    }

    fn compute_gradients(&mut self, x: &[f32], labels: &[u8], batch: usize) -> StepStats {
        let _denormals = FlushDenormals::new();
        let stats = self.forward_loss(x, labels, batch, true);
        self.run_backward(x, batch);
        stats
    }

    fn train_step(&mut self, x: &[f32], labels: &[u8], batch: usize) -> StepStats {
        let _denormals = FlushDenormals::new();
        let stats = self.compute_gradients(x, labels, batch);
        optim::step(
            &self.ir.train.optimizer,
            self.iterations + 1,
            &self.layout,
            &mut self.params,
            &self.grads,
            &mut self.opt_state,
        );
        self.iterations += 1;
        stats
    }

    fn rng_seed(&self) -> Option<u64> {
        Some(self.seed)
    }

    fn optimizer_slots(&self) -> Option<&[f32]> {
        Some(&self.opt_state)
    }

    fn optimizer_slots_mut(&mut self) -> Option<&mut [f32]> {
        Some(&mut self.opt_state)
    }

    fn set_iterations(&mut self, iterations: u64) {
        self.iterations = iterations;
    }

    fn set_rng_seed(&mut self, seed: u64) {
        self.seed = seed;
    }

    fn first_non_finite_layer(&self, batch: usize) -> Option<usize> {
        let batch = batch.min(self.max_batch);
        self.steps.iter().enumerate().find_map(|(li, step)| {
            // An aliasing Flatten writes nothing: its output is its input.
            if step.alias || step.dst >= self.bufs.len() {
                return None;
            }
            let n = batch * self.ir.layers[li].output_shape.iter().product::<usize>();
            let out = &self.bufs[step.dst];
            out[..n.min(out.len())]
                .iter()
                .any(|v| !v.is_finite())
                .then_some(li)
        })
    }
}
