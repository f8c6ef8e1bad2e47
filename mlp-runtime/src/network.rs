//! `Network`: runs any IR model known only at run time by interpreting its
//! [`Plan`], one `match` on the op kind per step.
//!
//! The plan decides everything: which buffer each op reads and writes, what aliases, what
//! is fused in training and folded in inference, which layers compute an input gradient.
//! Generated code walks the same plan and calls the same building blocks in the same
//! order, so both agree bit for bit, in training and in inference.
//!
//! Every buffer is sized at construction for `max_batch`; `forward`, `evaluate_batch`,
//! `compute_gradients` and `train_step` allocate nothing afterwards. (An op's destination
//! buffers are moved out of the buffer table while it runs and moved back afterwards:
//! moving a `Vec` allocates nothing.)
//!
//! Order of operations of one training step (the contract generated code follows):
//! 1. the plan's training forward, op by op; dropout masks are keyed by
//!    `rng::dropout_key(seed, layer index, iterations)`;
//! 2. the loss head: [`loss::softmax_cross_entropy`] or [`loss::sigmoid_cross_entropy`] when
//!    the loss reads logits (the plan's `Head::logits`), else [`loss::probability_loss`] on
//!    the output; each writes the loss gradient;
//! 3. the penalty: [`regularize::total_penalty`] of the parameters before the update; the
//!    reported loss is `data loss + penalty`;
//! 4. the plan's backward ops, last layer first;
//! 5. [`optim::step`] (one fused pass per run of tensors sharing a regulariser, layout
//!    order, regularisation gradient included) with `t = iterations + 1`; then
//!    `iterations += 1`.
//!
//! An inference forward first recomputes the plan's folds when the parameters or state
//! changed since the last one, then runs the plan's inference forward; a logits head's
//! output is the softmax (or sigmoid) of the logits.

use crate::init;
use crate::kernels::{epilogue, FlushDenormals};
use crate::layers::{
    activation_backward, activation_forward, batch_norm_backward, batch_norm_fold_into_dense,
    batch_norm_fold_into_next_dense, batch_norm_forward_infer, batch_norm_forward_train,
    dense_backward, dense_batch_norm_forward_train, dense_forward, dropout_backward,
    dropout_forward, leaky_relu_backward, leaky_relu_forward, normalization_backward,
    normalization_forward, rescale_backward, rescale_forward, AfterBatchNorm, DenseBatchNormTrain,
};
use crate::layout::ParamLayout;
use crate::loss;
use crate::memory::{self, AllocError};
use crate::model::{Model, StepStats, Targets};
use crate::model_core::ModelCore;
use crate::optim;
use crate::regularize;
use crate::rng;
use mlp_spec::ir::{self, Activation};
use mlp_spec::plan::{
    AfterKind, BackKind, BatchNormOp, BufferId, DenseOp, DenseWeights, FoldSide, Logits, Op,
    OpKind, Plan, PlanError, TensorId, Value,
};
use thiserror::Error;

/// Why a `Network` cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetworkError {
    /// `max_batch` was 0.
    #[error("the largest batch must be at least 1")]
    ZeroBatch,
    /// The IR breaks one of its invariants (a hand-built IR, never one from `compile`).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The model does not fit in memory at this batch size.
    #[error(transparent)]
    Memory(#[from] AllocError),
}

/// A dynamic executor of an IR model (see the module docs).
#[derive(Debug, Clone)]
pub struct Network {
    core: ModelCore,
    plan: Plan,
    /// The plan's buffers, indexed by [`BufferId`].
    bufs: Vec<Vec<f32>>,
}

impl Network {
    /// Builds the network of `model`, initialises its parameters from `seed` (see
    /// [`init::init_params`]) and sizes every buffer for batches of up to `max_batch`.
    ///
    /// Before allocating anything it computes the bytes the model needs (the plan's
    /// [`memory`](mlp_spec::plan::Plan::memory)) and refuses when they exceed what the
    /// machine has available ([`memory::available`]).
    ///
    /// # Errors
    /// [`NetworkError`] when `max_batch` is 0, the IR breaks its invariants (no layers,
    /// a `Dense` on a non-flat input), or the model does not fit in memory.
    pub fn new(model: &ir::Model, seed: u64, max_batch: usize) -> Result<Network, NetworkError> {
        Network::with_memory_limit(model, seed, max_batch, None)
    }

    /// [`Network::new`], also refusing a model that needs more than `limit` bytes (a
    /// `--max-memory` flag).
    ///
    /// # Errors
    /// As [`Network::new`].
    pub fn with_memory_limit(
        model: &ir::Model,
        seed: u64,
        max_batch: usize,
        limit: Option<u64>,
    ) -> Result<Network, NetworkError> {
        if max_batch == 0 {
            return Err(NetworkError::ZeroBatch);
        }
        let plan = Plan::new(model)?;
        memory::check(plan.memory(max_batch).total(), limit)?;
        let mut core = ModelCore::try_new(
            model.clone(),
            seed,
            max_batch,
            plan.layout.trainable_len,
            plan.layout.state_len,
        )?;
        init::init_params(&plan.layout, seed, &mut core.params, &mut core.state);
        let bufs = plan
            .buffers
            .iter()
            .map(|b| memory::zeros(b.floats(max_batch), &b.name))
            .collect::<Result<_, _>>()?;
        Ok(Network { core, plan, bufs })
    }

    /// The tensor table of this network's buffers.
    #[must_use]
    pub fn layout(&self) -> &ParamLayout {
        &self.plan.layout
    }

    /// The execution plan this network interprets.
    #[must_use]
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The seed of initialisation and dropout masks.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.core.seed
    }

    /// The optimiser state (`optim::slots · trainable_len` floats, see [`crate::optim`]).
    #[must_use]
    pub fn optimizer_state(&self) -> &[f32] {
        &self.core.slots
    }

    /// The plan's folded kernels and biases, current for the parameters and state (what
    /// an inference forward multiplies with), by buffer: what an export compiles in.
    pub fn folded_weights(&mut self) -> Vec<(BufferId, &[f32])> {
        self.fold();
        self.plan
            .folds
            .iter()
            .flat_map(|f| [f.folded_kernel, f.folded_bias])
            .map(|b| (b, &self.bufs[b.0][..]))
            .collect()
    }

    /// Recomputes the inference folds unless they are current.
    fn fold(&mut self) {
        if self.core.folded {
            return;
        }
        let (params, state) = (&self.core.params, &self.core.state);
        for fold in &self.plan.folds {
            let b = &fold.batch_norm;
            let mut fk = std::mem::take(&mut self.bufs[fold.folded_kernel.0]);
            let mut fb = std::mem::take(&mut self.bufs[fold.folded_bias.0]);
            let kernel = &params[self.plan.range(fold.kernel)];
            let bias = fold.bias.map(|t| &params[self.plan.range(t)]);
            let gamma = &params[self.plan.range(b.gamma)];
            let beta = &params[self.plan.range(b.beta)];
            let mm = &state[self.plan.range(b.moving_mean)];
            let mv = &state[self.plan.range(b.moving_variance)];
            match fold.side {
                FoldSide::IntoPrevious => batch_norm_fold_into_dense(
                    fold.inputs,
                    fold.units,
                    kernel,
                    bias,
                    gamma,
                    beta,
                    b.epsilon,
                    mm,
                    mv,
                    &mut fk,
                    &mut fb,
                ),
                FoldSide::IntoNext => batch_norm_fold_into_next_dense(
                    fold.inputs,
                    fold.units,
                    gamma,
                    beta,
                    b.epsilon,
                    mm,
                    mv,
                    kernel,
                    bias,
                    &mut fk,
                    &mut fb,
                ),
            }
            self.bufs[fold.folded_kernel.0] = fk;
            self.bufs[fold.folded_bias.0] = fb;
        }
        self.core.folded = true;
    }

    /// Runs one forward sequence of the plan (`training`: the training sequence).
    fn run_forward(&mut self, x: &[f32], batch: usize, training: bool) {
        debug_assert!(batch >= 1 && batch <= self.core.max_batch);
        debug_assert!(x.len() >= batch * self.core.ir.input_size());
        let ops = if training {
            &self.plan.train
        } else {
            &self.plan.infer
        };
        for op in ops {
            run_op(&self.plan, &mut self.core, &mut self.bufs, x, batch, op);
        }
    }

    /// The loss head on the last forward; in training also writes the loss gradient.
    fn head_loss(&mut self, y: Targets<'_>, batch: usize, training: bool) -> StepStats {
        let head = self.plan.head;
        let n = batch * head.units;
        let mut grad = std::mem::take(&mut self.bufs[head.grad.0]);
        let data = match (head.probs, head.logits) {
            (Some(p), Some(logits)) => {
                let mut probs = std::mem::take(&mut self.bufs[p.0]);
                let from = match logits {
                    Logits::Softmax => loss::softmax_cross_entropy,
                    Logits::Sigmoid => loss::sigmoid_cross_entropy,
                };
                let data = from(
                    batch,
                    head.units,
                    &self.bufs[head.out.0],
                    y,
                    &mut probs,
                    training.then(|| &mut grad[..n]),
                );
                self.bufs[p.0] = probs;
                data
            }
            _ => loss::probability_loss(
                head.loss,
                batch,
                head.units,
                &self.bufs[head.out.0],
                y,
                training.then(|| &mut grad[..n]),
            ),
        };
        self.bufs[head.grad.0] = grad;
        let penalty = regularize::total_penalty(&self.plan.layout, &self.core.params);
        StepStats {
            loss: data.loss + penalty,
            correct: data.correct,
            batch,
        }
    }

    /// Runs the plan's backward ops, filling `grads`; expects the loss gradient.
    fn run_backward(&mut self, x: &[f32], batch: usize) {
        for op in &self.plan.backward {
            run_back(
                &self.plan,
                &mut self.core,
                &mut self.bufs,
                x,
                batch,
                op.layer,
                &op.kind,
            );
        }
    }
}

/// `x` or a buffer.
fn value<'a>(bufs: &'a [Vec<f32>], x: &'a [f32], v: Value) -> &'a [f32] {
    match v {
        Value::Input => x,
        Value::Buffer(b) => &bufs[b.0],
    }
}

/// Moves buffer `b` out of the table (no allocation); [`put`] moves it back.
fn take(bufs: &mut [Vec<f32>], b: BufferId) -> Vec<f32> {
    std::mem::take(&mut bufs[b.0])
}

/// Moves buffer `b` back into the table.
fn put(bufs: &mut [Vec<f32>], b: BufferId, v: Vec<f32>) {
    bufs[b.0] = v;
}

/// Two disjoint tensors of one buffer, both mutable (tensors never overlap).
fn pair_mut(
    buf: &mut [f32],
    a: std::ops::Range<usize>,
    b: std::ops::Range<usize>,
) -> (&mut [f32], &mut [f32]) {
    match buf.get_disjoint_mut([a, b]) {
        Ok([a, b]) => (a, b),
        // The layout gives every tensor its own range; unreachable for a plan's tensors.
        Err(_) => (&mut [], &mut []),
    }
}

/// A dense op's kernel and bias (its own parameters or the folded buffers).
fn dense_weights<'a>(
    plan: &Plan,
    params: &'a [f32],
    bufs: &'a [Vec<f32>],
    d: &DenseOp,
) -> (&'a [f32], Option<&'a [f32]>) {
    match d.weights {
        DenseWeights::Params { kernel, bias } => (
            &params[plan.range(kernel)],
            bias.map(|b| &params[plan.range(b)]),
        ),
        DenseWeights::Folded { kernel, bias, .. } => (&bufs[kernel.0], Some(&bufs[bias.0][..])),
    }
}

fn params_of<'a>(plan: &Plan, params: &'a [f32], t: TensorId) -> &'a [f32] {
    &params[plan.range(t)]
}

/// One forward op.
fn run_op(
    plan: &Plan,
    core: &mut ModelCore,
    bufs: &mut [Vec<f32>],
    x: &[f32],
    batch: usize,
    op: &Op,
) {
    match &op.kind {
        OpKind::Copy { src, dst, n } => {
            let mut out = take(bufs, *dst);
            let n = batch * n;
            out[..n].copy_from_slice(&value(bufs, x, *src)[..n]);
            put(bufs, *dst, out);
        }
        OpKind::Dense(d) => {
            let mut out = take(bufs, d.dst);
            let (kernel, bias) = dense_weights(plan, &core.params, bufs, d);
            dense_forward(
                batch,
                d.inputs,
                d.units,
                value(bufs, x, d.src),
                kernel,
                bias,
                d.act,
                &mut out,
            );
            put(bufs, d.dst, out);
        }
        OpKind::DenseBatchNorm {
            dense,
            batch_norm: b,
            after,
        } => {
            let mut z = take(bufs, dense.dst);
            let mut y = take(bufs, b.dst);
            let mut mean = take(bufs, b.mean);
            let mut inv_std = take(bufs, b.inv_std);
            let mut out = after.map(|a| take(bufs, a.dst));
            let fused = match after.map(|a| a.kind) {
                None => AfterBatchNorm::Nothing,
                Some(AfterKind::LeakyRelu { slope }) => AfterBatchNorm::LeakyRelu(slope),
                Some(AfterKind::Activation(act)) => AfterBatchNorm::Activation(act),
            };
            let (kernel, bias) = dense_weights(plan, &core.params, bufs, dense);
            let (mm, mv) = pair_mut(
                &mut core.state,
                plan.range(b.moving_mean),
                plan.range(b.moving_variance),
            );
            dense_batch_norm_forward_train(DenseBatchNormTrain {
                batch,
                inputs: dense.inputs,
                units: dense.units,
                x: value(bufs, x, dense.src),
                kernel,
                bias,
                act: dense.act,
                gamma: params_of(plan, &core.params, b.gamma),
                beta: params_of(plan, &core.params, b.beta),
                epsilon: b.epsilon,
                momentum: b.momentum,
                one_minus_momentum: b.one_minus_momentum,
                moving_mean: mm,
                moving_var: mv,
                mean: &mut mean,
                inv_std: &mut inv_std,
                z: &mut z,
                y: &mut y,
                after: fused,
                out: out.as_deref_mut(),
            });
            put(bufs, dense.dst, z);
            put(bufs, b.dst, y);
            put(bufs, b.mean, mean);
            put(bufs, b.inv_std, inv_std);
            if let (Some(a), Some(out)) = (after, out) {
                put(bufs, a.dst, out);
            }
        }
        OpKind::Dropout { src, dst, n, rate } => {
            let mut out = take(bufs, *dst);
            let key = rng::dropout_key(core.seed, op.layer, core.iterations);
            dropout_forward(batch * n, *rate, key, value(bufs, x, *src), &mut out);
            put(bufs, *dst, out);
        }
        OpKind::BatchNormTrain(b) => batch_norm_train(plan, core, bufs, x, batch, b),
        OpKind::BatchNormInfer(b) => {
            let mut out = take(bufs, b.dst);
            batch_norm_forward_infer(
                batch * b.rows,
                b.features,
                value(bufs, x, b.src),
                params_of(plan, &core.params, b.gamma),
                params_of(plan, &core.params, b.beta),
                b.epsilon,
                &core.state[plan.range(b.moving_mean)],
                &core.state[plan.range(b.moving_variance)],
                &mut out,
            );
            put(bufs, b.dst, out);
        }
        OpKind::LeakyRelu { src, dst, n, slope } => {
            let mut out = take(bufs, *dst);
            leaky_relu_forward(batch * n, *slope, value(bufs, x, *src), &mut out);
            put(bufs, *dst, out);
        }
        OpKind::Activation {
            src,
            dst,
            rows,
            cols,
            act,
        } => {
            let mut out = take(bufs, *dst);
            activation_forward(batch * rows, *cols, *act, value(bufs, x, *src), &mut out);
            put(bufs, *dst, out);
        }
        OpKind::Rescale {
            src,
            dst,
            n,
            scale,
            offset,
        } => {
            let mut out = take(bufs, *dst);
            rescale_forward(batch * n, *scale, *offset, value(bufs, x, *src), &mut out);
            put(bufs, *dst, out);
        }
        OpKind::Normalize {
            src,
            dst,
            n,
            mean,
            variance,
            ..
        } => {
            let mut out = take(bufs, *dst);
            normalization_forward(
                batch,
                *n,
                &core.state[plan.range(*mean)],
                &core.state[plan.range(*variance)],
                value(bufs, x, *src),
                &mut out,
            );
            put(bufs, *dst, out);
        }
    }
}

/// A training `BatchNorm` on its own.
fn batch_norm_train(
    plan: &Plan,
    core: &mut ModelCore,
    bufs: &mut [Vec<f32>],
    x: &[f32],
    batch: usize,
    b: &BatchNormOp,
) {
    let mut out = take(bufs, b.dst);
    let mut mean = take(bufs, b.mean);
    let mut inv_std = take(bufs, b.inv_std);
    let (mm, mv) = pair_mut(
        &mut core.state,
        plan.range(b.moving_mean),
        plan.range(b.moving_variance),
    );
    batch_norm_forward_train(
        batch * b.rows,
        b.features,
        value(bufs, x, b.src),
        params_of(plan, &core.params, b.gamma),
        params_of(plan, &core.params, b.beta),
        b.epsilon,
        b.momentum,
        b.one_minus_momentum,
        mm,
        mv,
        &mut mean,
        &mut inv_std,
        &mut out,
    );
    put(bufs, b.dst, out);
    put(bufs, b.mean, mean);
    put(bufs, b.inv_std, inv_std);
}

/// One backward op of layer `layer`.
fn run_back(
    plan: &Plan,
    core: &mut ModelCore,
    bufs: &mut [Vec<f32>],
    x: &[f32],
    batch: usize,
    layer: usize,
    op: &BackKind,
) {
    match op {
        BackKind::Dense {
            x: input,
            y,
            dy,
            dx,
            inputs,
            units,
            act,
            kernel,
            bias,
        } => {
            let mut d_out = take(bufs, *dy);
            let mut d_in = dx.map(|b| take(bufs, b));
            if *act != Activation::Linear {
                epilogue::activation_backward(
                    batch,
                    *units,
                    *act,
                    &bufs[y.0],
                    &mut d_out[..batch * units],
                );
            }
            let k = plan.range(*kernel);
            let (dk, db) = match bias {
                Some(b) => {
                    let (dk, db) = pair_mut(&mut core.grads, k.clone(), plan.range(*b));
                    (dk, Some(db))
                }
                None => (&mut core.grads[k.clone()], None),
            };
            dense_backward(
                batch,
                *inputs,
                *units,
                value(bufs, x, *input),
                &core.params[k],
                &d_out,
                dk,
                db,
                d_in.as_deref_mut(),
            );
            put(bufs, *dy, d_out);
            if let (Some(b), Some(v)) = (dx, d_in) {
                put(bufs, *b, v);
            }
        }
        BackKind::Dropout { dy, dx, n, rate } => {
            let mut d_in = take(bufs, *dx);
            let key = rng::dropout_key(core.seed, layer, core.iterations);
            dropout_backward(batch * n, *rate, key, &bufs[dy.0], &mut d_in);
            put(bufs, *dx, d_in);
        }
        BackKind::Copy { dy, dx, n } => {
            let mut d_in = take(bufs, *dx);
            let n = batch * n;
            d_in[..n].copy_from_slice(&bufs[dy.0][..n]);
            put(bufs, *dx, d_in);
        }
        BackKind::BatchNorm { op: b, dy, dx } => {
            let mut d_in = dx.map(|d| take(bufs, d));
            let (dg, db) = pair_mut(&mut core.grads, plan.range(b.gamma), plan.range(b.beta));
            batch_norm_backward(
                batch * b.rows,
                b.features,
                value(bufs, x, b.src),
                params_of(plan, &core.params, b.gamma),
                &bufs[b.mean.0],
                &bufs[b.inv_std.0],
                &bufs[dy.0],
                dg,
                db,
                d_in.as_deref_mut(),
            );
            if let (Some(d), Some(v)) = (dx, d_in) {
                put(bufs, *d, v);
            }
        }
        BackKind::LeakyRelu {
            x: input,
            dy,
            dx,
            n,
            slope,
        } => {
            let mut d_in = take(bufs, *dx);
            leaky_relu_backward(
                batch * n,
                *slope,
                value(bufs, x, *input),
                &bufs[dy.0],
                &mut d_in,
            );
            put(bufs, *dx, d_in);
        }
        BackKind::Activation {
            x: input,
            y,
            dy,
            dx,
            rows,
            cols,
            act,
        } => {
            let mut d_in = take(bufs, *dx);
            activation_backward(
                batch * rows,
                *cols,
                *act,
                value(bufs, x, *input),
                &bufs[y.0],
                &bufs[dy.0],
                &mut d_in,
            );
            put(bufs, *dx, d_in);
        }
        BackKind::Rescale { dy, dx, n, scale } => {
            let mut d_in = take(bufs, *dx);
            rescale_backward(batch * n, *scale, &bufs[dy.0], &mut d_in);
            put(bufs, *dx, d_in);
        }
        BackKind::Normalize {
            dy,
            dx,
            n,
            variance,
            ..
        } => {
            let mut d_in = take(bufs, *dx);
            normalization_backward(
                batch,
                *n,
                &core.state[plan.range(*variance)],
                &bufs[dy.0],
                &mut d_in,
            );
            put(bufs, *dx, d_in);
        }
    }
}

impl Model for Network {
    crate::model_core_accessors!(core);

    fn forward(&mut self, x: &[f32], batch: usize) -> &[f32] {
        let _denormals = FlushDenormals::new();
        self.fold();
        self.run_forward(x, batch, false);
        let head = self.plan.head;
        let n = batch * head.units;
        match (head.probs, head.logits) {
            (Some(p), Some(logits)) if head.from_logits => {
                let mut probs = take(&mut self.bufs, p);
                probs[..n].copy_from_slice(&self.bufs[head.out.0][..n]);
                epilogue::bias_activation(batch, head.units, None, logits.activation(), &mut probs);
                put(&mut self.bufs, p, probs);
                &self.bufs[p.0][..n]
            }
            _ => &self.bufs[head.out.0][..n],
        }
    }

    fn outputs(&self, batch: usize) -> &[f32] {
        let head = self.plan.head;
        let n = batch.min(self.core.max_batch) * head.units;
        match head.probs {
            Some(p) if head.from_logits => &self.bufs[p.0][..n],
            _ => &self.bufs[head.out.0][..n],
        }
    }

    fn evaluate_batch(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
        let _denormals = FlushDenormals::new();
        self.fold();
        self.run_forward(x, batch, false);
        self.head_loss(y, batch, false)
    }

    fn compute_gradients(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
        let _denormals = FlushDenormals::new();
        // The training forward updates the moving statistics.
        self.core.folded = false;
        self.run_forward(x, batch, true);
        let stats = self.head_loss(y, batch, true);
        self.run_backward(x, batch);
        stats
    }

    fn train_step(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats {
        let _denormals = FlushDenormals::new();
        let stats = self.compute_gradients(x, y, batch);
        let core = &mut self.core;
        optim::step(
            &core.ir.train.optimizer,
            &mut core.optimizer,
            core.iterations,
            &self.plan.layout,
            &mut core.params,
            &core.grads,
            &mut core.slots,
        );
        core.folded = false;
        core.iterations += 1;
        stats
    }

    fn first_non_finite_layer(&self, batch: usize) -> Option<usize> {
        let batch = batch.min(self.core.max_batch);
        (0..self.core.ir.layers.len()).find(|&li| {
            self.plan.own_output(li).is_some_and(|b| {
                let n = batch
                    * self.core.ir.layers[li]
                        .output_shape
                        .iter()
                        .product::<usize>();
                let out = &self.bufs[b.0];
                out[..n.min(out.len())].iter().any(|v| !v.is_finite())
            })
        })
    }
}
