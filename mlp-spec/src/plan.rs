//! The execution plan: what runs for a model, on which buffer, fused or folded how.
//!
//! [`Plan::new`] lowers a checked [`ir::Model`] into pure data that every back end walks
//! without deciding anything of its own: `Network` (the runtime's interpreter) runs one
//! `match` per op, the code generator emits one function per op, and exporters walk the
//! inference sequence. Because both executors follow the same ops in the same order over
//! the same kernels, they agree bit for bit in training and in inference.
//!
//! A plan holds:
//! - the tensor table ([`ParamLayout`]) the ops refer to by [`TensorId`];
//! - the buffer table: every buffer a model owns besides its parameters (layer outputs,
//!   their gradients, batch statistics, folded weights, the softmax of a logits head),
//!   each with its length per batch row or in total;
//! - where each layer's output lives ([`Plan::outputs`]): its own buffer, or the value it
//!   aliases;
//! - the inference folds, run before an inference forward whenever parameters changed;
//! - three op sequences: inference forward, training forward, backward;
//! - the loss head.
//!
//! Invariants the plan guarantees (each back end relies on them and checks none):
//! 1. **Aliasing.** A `Flatten` only renames its input, and the final `Softmax` layer of a
//!    logits head (see [`Head::from_logits`]) is applied by the loss: both alias their
//!    input's value and run nothing, forward or backward. When that would leave the model
//!    output in the caller's `x` (a model made only of such layers), the last layer gets a
//!    buffer and a [`OpKind::Copy`] instead, so [`Head::out`] is always a buffer.
//! 2. **Reads and writes.** An op reads only `x` or buffers written earlier in the same
//!    sequence (or, for folds, parameters and state), and its destination buffers are
//!    distinct from each other and from its sources. Every destination is written over
//!    `batch` rows before anything reads it.
//! 3. **Training forward.** A `Dense` whose output only a 1-D `BatchNorm` reads, and
//!    whose activation is applied in its epilogue (rule 7), is fused with it into one
//!    [`OpKind::DenseBatchNorm`]; when a `LeakyReLU` or activation layer with a buffer of
//!    its own reads that `BatchNorm`'s output, it joins the same op. A `Dropout` of rate 0
//!    is a copy.
//! 4. **Inference forward.** Dropout is a copy. A 1-D `BatchNorm` right after a `Dense`
//!    with a linear activation is folded into that `Dense` ([`FoldSide::IntoPrevious`]);
//!    otherwise a `BatchNorm` reading a buffer (not `x`) right before a `Dense` is folded
//!    into it ([`FoldSide::IntoNext`]). A folded `BatchNorm` runs no op; the `Dense` runs
//!    on [`DenseWeights::Folded`] tensors that [`Plan::folds`] computes.
//! 5. **Backward**, last layer first: `Dense` and `BatchNorm` always run (they have
//!    parameter gradients); a layer without parameters runs only when it writes an input
//!    gradient. A layer writes an input gradient exactly when a layer with trainable
//!    parameters comes before it and its input is a buffer, not `x`. Every gradient
//!    buffer an op reads was written by the loss or by a later layer's backward op.
//! 6. **The head.** A logits head reads the final softmax's input: the last `Dense` then
//!    runs with a linear activation, forward and backward.
//! 7. **Pre-activations.** A `Dense` whose activation's derivative needs its input
//!    ([`Activation::derivative_needs_input`]: gelu, silu, softplus, …) keeps that input,
//!    its pre-activation, in a [`BufferKind::PreActivation`] buffer with a gradient of its
//!    own: in both modes it runs as a linear [`OpKind::Dense`] into the pre-activation and
//!    then an [`OpKind::Activation`] into its output (two ops of the same layer); backward,
//!    a [`BackKind::Activation`] (`x` the pre-activation) writes the pre-activation's
//!    gradient, then the [`BackKind::Dense`] runs with a linear activation on it. Every
//!    other `Dense` applies its activation in the GEMM epilogue, so a [`DenseOp::act`] and
//!    a [`BackKind::Dense`]'s `act` never need the input: the in-place backward derives
//!    `act'` from the output.
//!
//! The plan performs no I/O and allocates only while it is built.

use crate::ir::{self, Activation, LayerKind, Loss};
use crate::layout::{ParamLayout, Role};
use std::fmt;

/// Index of a buffer in [`Plan::buffers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BufferId(pub usize);

/// Index of a tensor in [`ParamLayout::tensors`] of [`Plan::layout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TensorId(pub usize);

/// Where an op reads a batch of activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// The caller's `x`, `batch · input size` floats.
    Input,
    /// A buffer of the plan.
    Buffer(BufferId),
}

/// How long a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// `n` floats per batch row: `max_batch · n` in all.
    PerRow(usize),
    /// `n` floats, whatever the batch.
    Fixed(usize),
}

/// What a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferKind {
    /// The output of layer `layer` (an index into `ir::Model::layers`).
    Output {
        /// The layer.
        layer: usize,
    },
    /// The gradient of the loss with respect to buffer `of` (a layer output).
    Gradient {
        /// The buffer it is the gradient of.
        of: BufferId,
    },
    /// The batch mean of `BatchNorm` layer `layer`'s input in the last training step.
    BatchMean {
        /// The `BatchNorm` layer.
        layer: usize,
    },
    /// `1 / sqrt(var + epsilon)` of `BatchNorm` layer `layer`'s input in the last
    /// training step.
    BatchInvStd {
        /// The `BatchNorm` layer.
        layer: usize,
    },
    /// The kernel of `Dense` layer `dense` with a `BatchNorm` folded in (inference only).
    FoldedKernel {
        /// The `Dense` layer.
        dense: usize,
    },
    /// The bias of `Dense` layer `dense` with a `BatchNorm` folded in (inference only).
    FoldedBias {
        /// The `Dense` layer.
        dense: usize,
    },
    /// The pre-activation of `Dense` layer `layer` (`x · kernel + bias`), kept when its
    /// activation's derivative needs its input (rule 7), `[batch, units]`.
    PreActivation {
        /// The `Dense` layer.
        layer: usize,
    },
    /// The softmax of a logits head's logits, `[batch, units]`.
    Probs,
}

/// One buffer of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// A unique identifier-safe name: the layer's name for its output (`dense_1`),
    /// `d_<name>` for a gradient, `<bn>_mean` / `<bn>_inv_std`, `<dense>_folded_kernel` /
    /// `<dense>_folded_bias`, `<dense>_preact`, `probs`. Generated code uses it as the field name.
    pub name: String,
    /// What it holds.
    pub kind: BufferKind,
    /// Its length.
    pub len: Len,
}

impl Buffer {
    /// Number of floats for batches of up to `max_batch` rows.
    #[must_use]
    pub fn floats(&self, max_batch: usize) -> usize {
        match self.len {
            Len::PerRow(n) => n.saturating_mul(max_batch),
            Len::Fixed(n) => n,
        }
    }
}

/// One op of a forward sequence, with the layer and spec line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// What runs.
    pub kind: OpKind,
    /// The (first) layer it runs, an index into `ir::Model::layers`.
    pub layer: usize,
    /// The 1-based spec line of that layer.
    pub line: u32,
}

/// A `Dense` layer's affine map: `dst = act(src · kernel + bias)`, one GEMM with a fused
/// bias + activation epilogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseOp {
    /// `[batch, inputs]`.
    pub src: Value,
    /// `[batch, units]`.
    pub dst: BufferId,
    /// Input features.
    pub inputs: usize,
    /// Output units.
    pub units: usize,
    /// Applied in the epilogue (linear for a logits head's last `Dense`, and for a `Dense`
    /// that writes its pre-activation, rule 7); never one whose derivative needs its input.
    pub act: Activation,
    /// Which kernel and bias.
    pub weights: DenseWeights,
}

/// The kernel and bias a [`DenseOp`] multiplies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseWeights {
    /// The layer's own tensors (`bias` absent when `use_bias = false`).
    Params {
        /// `[inputs, units]`.
        kernel: TensorId,
        /// `[units]`.
        bias: Option<TensorId>,
    },
    /// Tensors with a `BatchNorm` folded in, computed by [`Plan::folds`].
    Folded {
        /// `[inputs, units]`.
        kernel: BufferId,
        /// `[units]`.
        bias: BufferId,
        /// The folded `BatchNorm` layer.
        batch_norm: usize,
    },
}

/// A `BatchNorm` layer's arguments, as ops and folds use them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormOp {
    /// Its input.
    pub src: Value,
    /// Its output.
    pub dst: BufferId,
    /// Rows per sample (`input size / features`; 1 for a flat input).
    pub rows: usize,
    /// Features (the input's last axis).
    pub features: usize,
    /// Trainable scale.
    pub gamma: TensorId,
    /// Trainable shift.
    pub beta: TensorId,
    /// Moving mean (state).
    pub moving_mean: TensorId,
    /// Moving variance (state).
    pub moving_variance: TensorId,
    /// Moving-statistics momentum.
    pub momentum: f32,
    /// Added to the variance.
    pub epsilon: f32,
    /// The batch mean written in training, read backward.
    pub mean: BufferId,
    /// The batch `1/sqrt(var + epsilon)` written in training, read backward.
    pub inv_std: BufferId,
}

/// The layer a fused [`OpKind::DenseBatchNorm`] applies after the `BatchNorm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AfterOp {
    /// What it computes.
    pub kind: AfterKind,
    /// Its output buffer.
    pub dst: BufferId,
    /// Its layer.
    pub layer: usize,
}

/// An element-wise layer fused after a `BatchNorm`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterKind {
    /// `LeakyReLU(slope)`.
    LeakyRelu {
        /// Slope for negative inputs.
        slope: f32,
    },
    /// An activation layer.
    Activation(Activation),
}

/// What one forward op computes.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// `dst[..batch·n] = src[..batch·n]`.
    Copy {
        /// Source.
        src: Value,
        /// Destination.
        dst: BufferId,
        /// Floats per row.
        n: usize,
    },
    /// A `Dense` layer.
    Dense(DenseOp),
    /// Training only: `Dense` → `BatchNorm` (→ `after`) in one pass, bit-identical to the
    /// separate ops. The `BatchNorm` reads the `Dense`'s destination.
    DenseBatchNorm {
        /// The `Dense` (always on its own parameters).
        dense: DenseOp,
        /// The `BatchNorm` on batch statistics (moving statistics updated).
        batch_norm: BatchNormOp,
        /// The activation layer after it, if it joins.
        after: Option<AfterOp>,
    },
    /// Training only: inverted dropout of `rate > 0`, mask keyed by `(seed, layer,
    /// iterations)`.
    Dropout {
        /// Source.
        src: Value,
        /// Destination.
        dst: BufferId,
        /// Floats per row.
        n: usize,
        /// Drop probability.
        rate: f32,
    },
    /// Training: `BatchNorm` on batch statistics, moving statistics updated.
    BatchNormTrain(BatchNormOp),
    /// Inference: `BatchNorm` on the moving statistics.
    BatchNormInfer(BatchNormOp),
    /// `LeakyReLU(slope)`.
    LeakyRelu {
        /// Source.
        src: Value,
        /// Destination.
        dst: BufferId,
        /// Floats per row.
        n: usize,
        /// Slope for negative inputs.
        slope: f32,
    },
    /// An activation layer over the last axis: each sample is `rows` rows of `cols`.
    Activation {
        /// Source.
        src: Value,
        /// Destination.
        dst: BufferId,
        /// Rows per sample.
        rows: usize,
        /// Columns (the last axis).
        cols: usize,
        /// The function.
        act: Activation,
    },
    /// `dst = src · scale + offset`.
    Rescale {
        /// Source.
        src: Value,
        /// Destination.
        dst: BufferId,
        /// Floats per row.
        n: usize,
        /// Multiplier.
        scale: f32,
        /// Added after scaling.
        offset: f32,
    },
}

/// One inference fold of a `BatchNorm` into a `Dense` next to it, with `g = gamma /
/// sqrt(moving_var + epsilon)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fold {
    /// On which side of the `Dense` the `BatchNorm` is.
    pub side: FoldSide,
    /// The `Dense` layer.
    pub dense: usize,
    /// Its input features.
    pub inputs: usize,
    /// Its units.
    pub units: usize,
    /// Its kernel.
    pub kernel: TensorId,
    /// Its bias, if any.
    pub bias: Option<TensorId>,
    /// The `BatchNorm` (its `src`, `dst` and batch-statistics buffers are unused here).
    pub batch_norm: BatchNormOp,
    /// The `BatchNorm` layer.
    pub batch_norm_layer: usize,
    /// Written: the folded kernel `[inputs, units]`.
    pub folded_kernel: BufferId,
    /// Written: the folded bias `[units]`.
    pub folded_bias: BufferId,
}

/// Where a folded `BatchNorm` sits relative to its `Dense`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldSide {
    /// `Dense` → `BatchNorm`: `kernel·g`, `bias·g + beta - moving_mean·g`; the `Dense`
    /// then writes the `BatchNorm`'s output.
    IntoPrevious,
    /// `BatchNorm` → `Dense`: `g·kernel` per input row, `bias + Σ (beta -
    /// moving_mean·g)·kernel`; the `Dense` then reads the `BatchNorm`'s input.
    IntoNext,
}

/// One op of the backward sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct BackOp {
    /// What runs.
    pub kind: BackKind,
    /// Its layer.
    pub layer: usize,
    /// The 1-based spec line of that layer.
    pub line: u32,
}

/// What one backward op computes. `dy` is the gradient of the layer's output, `dx` the
/// gradient of its input (written when present).
#[derive(Debug, Clone, PartialEq)]
pub enum BackKind {
    /// `act'` in place on `dy` from the output `y` (unless linear; never an activation whose
    /// derivative needs its input, rule 7), then `dkernel = xᵀ·dy`, `dbias = Σ dy`,
    /// `dx = dy·kernelᵀ`.
    Dense {
        /// The forward input.
        x: Value,
        /// The forward output (read by `act'`).
        y: BufferId,
        /// Output gradient (overwritten by `act'`).
        dy: BufferId,
        /// Input gradient.
        dx: Option<BufferId>,
        /// Input features.
        inputs: usize,
        /// Units.
        units: usize,
        /// The activation the forward applied.
        act: Activation,
        /// The kernel (read, and its gradient written).
        kernel: TensorId,
        /// The bias (its gradient written).
        bias: Option<TensorId>,
    },
    /// `dx = dy · mask / (1 - rate)`, the forward's mask.
    Dropout {
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: BufferId,
        /// Floats per row.
        n: usize,
        /// Drop probability (> 0).
        rate: f32,
    },
    /// `dx = dy`.
    Copy {
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: BufferId,
        /// Floats per row.
        n: usize,
    },
    /// `dgamma`, `dbeta` and `dx` from the batch statistics of the training forward.
    BatchNorm {
        /// The layer (`src` is the forward input).
        op: BatchNormOp,
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: Option<BufferId>,
    },
    /// `dx = dy` where `x ≥ 0`, `slope·dy` elsewhere.
    LeakyRelu {
        /// The forward input.
        x: Value,
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: BufferId,
        /// Floats per row.
        n: usize,
        /// Slope.
        slope: f32,
    },
    /// `dx = act'(x) · dy`, from the output `y` where it suffices (the softmax Jacobian per
    /// row for softmax), from the input `x` where the derivative needs it.
    Activation {
        /// The forward input.
        x: Value,
        /// The forward output.
        y: BufferId,
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: BufferId,
        /// Rows per sample.
        rows: usize,
        /// Columns.
        cols: usize,
        /// The function.
        act: Activation,
    },
    /// `dx = dy · scale`.
    Rescale {
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: BufferId,
        /// Floats per row.
        n: usize,
        /// Multiplier.
        scale: f32,
    },
}

/// The loss head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The loss.
    pub loss: Loss,
    /// Whether the loss takes the logits of a final softmax (Keras's TensorFlow backend:
    /// exact, no clipping). `out` then holds the logits and `probs` their softmax.
    pub from_logits: bool,
    /// What the loss reads: the model output, or the logits.
    pub out: BufferId,
    /// Where the loss writes its gradient with respect to `out`.
    pub grad: BufferId,
    /// The softmax of the logits (a logits head only).
    pub probs: Option<BufferId>,
    /// Output units per sample.
    pub units: usize,
}

/// Why an IR cannot be planned (a hand-built IR that breaks its invariants; never one
/// from `compile`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model `{model}`: {problem}")]
pub struct PlanError {
    /// The model.
    pub model: String,
    /// What is wrong, naming the layer.
    pub problem: String,
}

/// The execution plan of one model (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The tensor table the ops refer to.
    pub layout: ParamLayout,
    /// Every buffer, in layer order (a layer's output, its gradient, then its other
    /// buffers), `probs` last.
    pub buffers: Vec<Buffer>,
    /// Per layer, where its output lives after a training forward: its own buffer, or the
    /// value it aliases.
    pub outputs: Vec<Value>,
    /// The inference folds, in layer order.
    pub folds: Vec<Fold>,
    /// Inference forward.
    pub infer: Vec<Op>,
    /// Training forward.
    pub train: Vec<Op>,
    /// Backward, last layer first.
    pub backward: Vec<BackOp>,
    /// The loss head.
    pub head: Head,
    /// Optimiser slots, each as long as the trainable parameters.
    pub optimizer_slots: usize,
}

/// The bytes a model holds, by kind (see [`Plan::memory`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// Trainable parameters.
    pub params: u64,
    /// Their gradients.
    pub grads: u64,
    /// The optimiser's slots.
    pub slots: u64,
    /// Non-trainable state.
    pub state: u64,
    /// Every buffer of the plan (activations, their gradients, batch statistics, folded
    /// weights, probabilities) at the batch.
    pub buffers: u64,
}

impl Memory {
    /// Everything, in bytes (saturating).
    #[must_use]
    pub fn total(&self) -> u64 {
        self.params
            .saturating_add(self.grads)
            .saturating_add(self.slots)
            .saturating_add(self.state)
            .saturating_add(self.buffers)
    }
}

impl fmt::Display for Memory {
    /// `1.23 MiB (parameters 205.66 KiB, gradients …, optimiser slots …, state …,
    /// buffers …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (parameters {}, gradients {}, optimiser slots {}, state {}, buffers {})",
            Bytes(self.total()),
            Bytes(self.params),
            Bytes(self.grads),
            Bytes(self.slots),
            Bytes(self.state),
            Bytes(self.buffers)
        )
    }
}

/// A byte count in binary units, two decimals: `512 B`, `1.50 KiB`, `6.36 GiB`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.2} {}", UNITS[unit])
    }
}

/// Per-layer facts the lowering derives first.
struct Flow {
    /// Where each layer reads.
    src: Vec<Option<usize>>,
    /// Whether each layer has a buffer of its own.
    own: Vec<bool>,
    /// Whether each layer writes an input gradient.
    dx: Vec<bool>,
    /// Whether each layer has a backward op.
    back: Vec<bool>,
}

impl Plan {
    /// Lowers `model` (see the module docs for what the plan guarantees).
    ///
    /// # Errors
    /// [`PlanError`] when the IR breaks its invariants: no layers, a `Dense` on an input
    /// that is not flat, a `BatchNorm` whose features do not divide its input.
    pub fn new(model: &ir::Model) -> Result<Plan, PlanError> {
        Lower::new(model)?.run()
    }

    /// The buffer `id`.
    #[must_use]
    pub fn buffer(&self, id: BufferId) -> &Buffer {
        &self.buffers[id.0]
    }

    /// The tensor `id`.
    #[must_use]
    pub fn tensor(&self, id: TensorId) -> &crate::layout::TensorInfo {
        &self.layout.tensors[id.0]
    }

    /// The bytes the model holds for batches of up to `max_batch` rows: parameters,
    /// gradients, optimiser slots, state and every buffer (f32 each), saturating instead of
    /// overflowing, so an estimate of a model too big for any machine is still a number.
    #[must_use]
    pub fn memory(&self, max_batch: usize) -> Memory {
        let bytes = |floats: usize| (floats as u64).saturating_mul(4);
        let trainable = bytes(self.layout.trainable_len);
        Memory {
            params: trainable,
            grads: trainable,
            slots: trainable.saturating_mul(self.optimizer_slots as u64),
            state: bytes(self.layout.state_len),
            buffers: self
                .buffers
                .iter()
                .map(|b| bytes(b.floats(max_batch)))
                .fold(0, u64::saturating_add),
        }
    }

    /// The element range of tensor `id` in its buffer (`params` or `state`).
    #[must_use]
    pub fn range(&self, id: TensorId) -> std::ops::Range<usize> {
        self.tensor(id).range()
    }

    /// The buffers layer `i` writes in a training forward, if it has one of its own (an
    /// aliasing layer has none).
    #[must_use]
    pub fn own_output(&self, layer: usize) -> Option<BufferId> {
        match self.outputs.get(layer)? {
            Value::Buffer(b) if self.buffer(*b).kind == (BufferKind::Output { layer }) => Some(*b),
            Value::Buffer(_) | Value::Input => None,
        }
    }
}

/// The state of one lowering.
struct Lower<'a> {
    m: &'a ir::Model,
    layout: ParamLayout,
    flow: Flow,
    from_logits: bool,
    buffers: Vec<Buffer>,
    /// Per layer: its output buffer, gradient buffer, batch-statistics pair, folded pair,
    /// pre-activation and its gradient.
    out_buf: Vec<Option<BufferId>>,
    grad_buf: Vec<Option<BufferId>>,
    stats: Vec<Option<(BufferId, BufferId)>>,
    folded: Vec<Option<(BufferId, BufferId)>>,
    preact: Vec<Option<(BufferId, BufferId)>>,
}

impl<'a> Lower<'a> {
    fn new(m: &'a ir::Model) -> Result<Lower<'a>, PlanError> {
        let bad = |problem: String| PlanError {
            model: m.name.clone(),
            problem,
        };
        if m.layers.is_empty() {
            return Err(bad("it has no layers".to_owned()));
        }
        for layer in &m.layers {
            match &layer.kind {
                LayerKind::Dense(_) if layer.input_shape.len() != 1 => {
                    return Err(bad(format!(
                        "layer `{}`: a Dense needs a flat input",
                        layer.name
                    )));
                }
                LayerKind::BatchNorm(_) => {
                    let f = layer.input_shape.last().copied().unwrap_or(0);
                    let n: usize = layer.input_shape.iter().product();
                    if f == 0 || !n.is_multiple_of(f) {
                        return Err(bad(format!(
                            "layer `{}`: its features do not divide its input",
                            layer.name
                        )));
                    }
                }
                LayerKind::Dense(_)
                | LayerKind::Flatten
                | LayerKind::Dropout { .. }
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. } => {}
            }
        }
        let from_logits = m.loss_uses_softmax_logits();
        let flow = flow(m, from_logits);
        let n = m.layers.len();
        Ok(Lower {
            m,
            layout: ParamLayout::new(m),
            flow,
            from_logits,
            buffers: Vec::new(),
            out_buf: vec![None; n],
            grad_buf: vec![None; n],
            stats: vec![None; n],
            folded: vec![None; n],
            preact: vec![None; n],
        })
    }

    fn layer(&self, i: usize) -> &'a ir::Layer {
        &self.m.layers[i]
    }

    fn kind(&self, i: usize) -> Option<&'a LayerKind> {
        self.m.layers.get(i).map(|l| &l.kind)
    }

    fn is_dense(&self, i: usize) -> bool {
        matches!(self.kind(i), Some(LayerKind::Dense(_)))
    }

    fn is_flat_batch_norm(&self, i: usize) -> bool {
        matches!(self.kind(i), Some(LayerKind::BatchNorm(_)))
            && self.layer(i).input_shape.len() == 1
    }

    /// Rule 7: `Dense` `i` writes its pre-activation, then applies its activation as an
    /// op of its own.
    fn splits_activation(&self, i: usize) -> bool {
        match self.kind(i) {
            Some(LayerKind::Dense(d)) => self.dense_act(i, d).derivative_needs_input(),
            Some(
                LayerKind::Flatten
                | LayerKind::Dropout { .. }
                | LayerKind::BatchNorm(_)
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. },
            )
            | None => false,
        }
    }

    /// Rule 3: `Dense` `i` runs fused with the `BatchNorm` `i + 1` in training.
    fn fuses_batch_norm(&self, i: usize) -> bool {
        self.is_dense(i)
            && !self.splits_activation(i)
            && self.is_flat_batch_norm(i + 1)
            && self.flow.own[i]
            && self.flow.src[i + 1] == Some(i)
    }

    /// Rule 3: the activation layer that joins the fused op of `Dense` `i`.
    fn fused_after(&self, i: usize) -> Option<usize> {
        let a = i + 2;
        (self.fuses_batch_norm(i)
            && matches!(
                self.kind(a),
                Some(LayerKind::LeakyRelu { .. } | LayerKind::Activation { .. })
            )
            && self.flow.own[a]
            && self.flow.src[a] == Some(i + 1))
        .then_some(a)
    }

    /// Rule 4: the `BatchNorm` after `Dense` `i` folds into it.
    fn folds_next_batch_norm(&self, i: usize) -> bool {
        matches!(self.kind(i), Some(LayerKind::Dense(d)) if d.activation == Activation::Linear)
            && self.is_flat_batch_norm(i + 1)
            && self.flow.own[i]
            && self.flow.src[i + 1] == Some(i)
    }

    /// Rule 4: the `BatchNorm` before `Dense` `i` folds into it.
    fn folds_previous_batch_norm(&self, i: usize) -> bool {
        i >= 1
            && self.is_dense(i)
            && self.is_flat_batch_norm(i - 1)
            && !(i >= 2 && self.folds_next_batch_norm(i - 2))
            && !self.folds_next_batch_norm(i)
            && self.flow.own[i]
            && self.flow.src[i] == Some(i - 1)
            && self.flow.src[i - 1].is_some()
    }

    /// The `BatchNorm` folded into `Dense` `i` in inference, if any.
    fn fold_of(&self, i: usize) -> Option<(usize, FoldSide)> {
        if self.folds_next_batch_norm(i) {
            Some((i + 1, FoldSide::IntoPrevious))
        } else if self.folds_previous_batch_norm(i) {
            Some((i - 1, FoldSide::IntoNext))
        } else {
            None
        }
    }

    /// Whether `BatchNorm` `i` is folded into a `Dense` next to it.
    fn is_folded(&self, i: usize) -> bool {
        (i >= 1 && self.folds_next_batch_norm(i - 1))
            || (i + 1 < self.m.layers.len() && self.folds_previous_batch_norm(i + 1))
    }

    fn push(&mut self, name: String, kind: BufferKind, len: Len) -> BufferId {
        self.buffers.push(Buffer { name, kind, len });
        BufferId(self.buffers.len() - 1)
    }

    /// Allocates every buffer, in layer order.
    fn allocate(&mut self) {
        let last = self.m.layers.len() - 1;
        let head_out = self.head_layer();
        for i in 0..=last {
            let layer = self.layer(i);
            if !self.flow.own[i] {
                continue;
            }
            let n: usize = layer.output_shape.iter().product();
            let out = self.push(
                layer.name.clone(),
                BufferKind::Output { layer: i },
                Len::PerRow(n),
            );
            self.out_buf[i] = Some(out);
            let needs_grad = i == head_out
                || (0..=last).any(|j| self.flow.dx[j] && self.source_layer(j) == Some(i));
            if needs_grad {
                self.grad_buf[i] = Some(self.push(
                    format!("d_{}", layer.name),
                    BufferKind::Gradient { of: out },
                    Len::PerRow(n),
                ));
            }
            if let Some((_, _)) = self.fold_of(i) {
                let (inputs, units) = dense_extent(layer);
                let k = self.push(
                    format!("{}_folded_kernel", layer.name),
                    BufferKind::FoldedKernel { dense: i },
                    Len::Fixed(inputs * units),
                );
                let b = self.push(
                    format!("{}_folded_bias", layer.name),
                    BufferKind::FoldedBias { dense: i },
                    Len::Fixed(units),
                );
                self.folded[i] = Some((k, b));
            }
            if self.splits_activation(i) {
                let name = format!("{}_preact", layer.name);
                let pre = self.push(
                    name.clone(),
                    BufferKind::PreActivation { layer: i },
                    Len::PerRow(n),
                );
                let d_pre = self.push(
                    format!("d_{name}"),
                    BufferKind::Gradient { of: pre },
                    Len::PerRow(n),
                );
                self.preact[i] = Some((pre, d_pre));
            }
            if let LayerKind::BatchNorm(_) = layer.kind {
                let f = features(layer);
                let mean = self.push(
                    format!("{}_mean", layer.name),
                    BufferKind::BatchMean { layer: i },
                    Len::Fixed(f),
                );
                let inv = self.push(
                    format!("{}_inv_std", layer.name),
                    BufferKind::BatchInvStd { layer: i },
                    Len::Fixed(f),
                );
                self.stats[i] = Some((mean, inv));
            }
        }
    }

    /// The layer whose own buffer layer `i` reads, following aliases (`None`: `x`).
    fn source_layer(&self, i: usize) -> Option<usize> {
        self.flow.src[i]
    }

    /// The layer whose own buffer holds the head's input.
    fn head_layer(&self) -> usize {
        let last = self.m.layers.len() - 1;
        if self.flow.own[last] {
            last
        } else {
            // Rule 1 gives the last layer a buffer when it would alias `x`.
            self.flow.src[last].unwrap_or(last)
        }
    }

    fn value(&self, src: Option<usize>) -> Value {
        match src.and_then(|k| self.out_buf[k]) {
            Some(b) => Value::Buffer(b),
            None => Value::Input,
        }
    }

    fn tensor(&self, i: usize, role: Role) -> Result<TensorId, PlanError> {
        self.layout
            .tensors
            .iter()
            .position(|t| t.layer == i && t.role == role)
            .map(TensorId)
            .ok_or_else(|| PlanError {
                model: self.m.name.clone(),
                problem: format!(
                    "layer `{}` has no {} tensor",
                    self.layer(i).name,
                    role.as_str()
                ),
            })
    }

    fn out(&self, i: usize) -> BufferId {
        // `allocate` gave every own layer a buffer; callers only ask for own layers.
        self.out_buf[i].unwrap_or(BufferId(usize::MAX))
    }

    fn grad(&self, i: usize) -> BufferId {
        self.grad_buf[i].unwrap_or(BufferId(usize::MAX))
    }

    /// The activation of `Dense` `i` (linear for a logits head's last `Dense`).
    fn dense_act(&self, i: usize, d: &ir::Dense) -> Activation {
        if self.from_logits && i + 1 == self.m.layers.len() {
            Activation::Linear
        } else {
            d.activation
        }
    }

    /// The pre-activation buffer of `Dense` `i` and its gradient (rule 7; callers only ask
    /// for a `Dense` that splits its activation).
    fn preact(&self, i: usize) -> (BufferId, BufferId) {
        self.preact[i].unwrap_or((BufferId(usize::MAX), BufferId(usize::MAX)))
    }

    /// The affine map of `Dense` `i`: into its output with its activation in the
    /// epilogue, or, rule 7, linear into its pre-activation.
    fn dense_op(&self, i: usize, d: &ir::Dense) -> Result<DenseOp, PlanError> {
        let (inputs, units) = dense_extent(self.layer(i));
        let (dst, act) = if self.splits_activation(i) {
            (self.preact(i).0, Activation::Linear)
        } else {
            (self.out(i), self.dense_act(i, d))
        };
        Ok(DenseOp {
            src: self.value(self.flow.src[i]),
            dst,
            inputs,
            units,
            act,
            weights: DenseWeights::Params {
                kernel: self.tensor(i, Role::Kernel)?,
                bias: self.tensor(i, Role::Bias).ok(),
            },
        })
    }

    fn batch_norm_op(&self, i: usize, b: ir::BatchNorm) -> Result<BatchNormOp, PlanError> {
        let layer = self.layer(i);
        let f = features(layer);
        let n: usize = layer.input_shape.iter().product();
        let (mean, inv_std) = self.stats[i].unwrap_or((BufferId(usize::MAX), BufferId(usize::MAX)));
        Ok(BatchNormOp {
            src: self.value(self.flow.src[i]),
            dst: self.out(i),
            rows: n / f,
            features: f,
            gamma: self.tensor(i, Role::Gamma)?,
            beta: self.tensor(i, Role::Beta)?,
            moving_mean: self.tensor(i, Role::MovingMean)?,
            moving_variance: self.tensor(i, Role::MovingVariance)?,
            momentum: b.momentum,
            epsilon: b.epsilon,
            mean,
            inv_std,
        })
    }

    /// The forward op of layer `i` shared by both modes (element-wise layers and copies).
    fn common_op(&self, i: usize) -> Option<OpKind> {
        let layer = self.layer(i);
        let src = self.value(self.flow.src[i]);
        let dst = self.out(i);
        let n: usize = layer.output_shape.iter().product();
        match &layer.kind {
            LayerKind::Flatten => Some(OpKind::Copy { src, dst, n }),
            LayerKind::LeakyRelu { slope } => Some(OpKind::LeakyRelu {
                src,
                dst,
                n,
                slope: *slope,
            }),
            LayerKind::Activation {
                activation: act, ..
            } => {
                if self.is_head_softmax(i) {
                    // Rule 1: the head's softmax has a buffer only when it reads `x`
                    // itself: a copy of the logits.
                    return Some(OpKind::Copy { src, dst, n });
                }
                let cols = layer.output_shape.last().copied().unwrap_or(1).max(1);
                Some(OpKind::Activation {
                    src,
                    dst,
                    rows: n / cols,
                    cols,
                    act: *act,
                })
            }
            LayerKind::Rescale { scale, offset } => Some(OpKind::Rescale {
                src,
                dst,
                n,
                scale: *scale,
                offset: *offset,
            }),
            LayerKind::Dense(_) | LayerKind::Dropout { .. } | LayerKind::BatchNorm(_) => None,
        }
    }

    /// Rule 7: the activation op after the linear `Dense` `i` that splits its activation.
    fn preact_activation_op(&self, i: usize, d: &ir::Dense) -> OpKind {
        OpKind::Activation {
            src: Value::Buffer(self.preact(i).0),
            dst: self.out(i),
            rows: 1,
            cols: d.units,
            act: self.dense_act(i, d),
        }
    }

    fn is_head_softmax(&self, i: usize) -> bool {
        self.from_logits
            && i + 1 == self.m.layers.len()
            && matches!(self.kind(i), Some(LayerKind::Activation { .. }))
    }

    fn op(&self, i: usize, kind: OpKind) -> Op {
        Op {
            kind,
            layer: i,
            line: self.layer(i).line,
        }
    }

    fn train_ops(&self) -> Result<Vec<Op>, PlanError> {
        let mut ops = Vec::new();
        let mut skip_until = 0;
        for i in 0..self.m.layers.len() {
            if i < skip_until || !self.flow.own[i] {
                continue;
            }
            let layer = self.layer(i);
            let n: usize = layer.output_shape.iter().product();
            let kind = match &layer.kind {
                LayerKind::Dense(d) if self.fuses_batch_norm(i) => {
                    let Some(LayerKind::BatchNorm(b)) = self.kind(i + 1) else {
                        continue;
                    };
                    let after = match self.fused_after(i) {
                        Some(a) => {
                            let kind = match self.kind(a) {
                                Some(LayerKind::LeakyRelu { slope }) => {
                                    AfterKind::LeakyRelu { slope: *slope }
                                }
                                Some(LayerKind::Activation {
                                    activation: act, ..
                                }) => AfterKind::Activation(*act),
                                // `fused_after` only names the two kinds above.
                                Some(
                                    LayerKind::Flatten
                                    | LayerKind::Dense(_)
                                    | LayerKind::Dropout { .. }
                                    | LayerKind::BatchNorm(_)
                                    | LayerKind::Rescale { .. },
                                )
                                | None => continue,
                            };
                            Some(AfterOp {
                                kind,
                                dst: self.out(a),
                                layer: a,
                            })
                        }
                        None => None,
                    };
                    skip_until = i + if after.is_some() { 3 } else { 2 };
                    OpKind::DenseBatchNorm {
                        dense: self.dense_op(i, d)?,
                        batch_norm: self.batch_norm_op(i + 1, *b)?,
                        after,
                    }
                }
                LayerKind::Dense(d) => OpKind::Dense(self.dense_op(i, d)?),
                LayerKind::BatchNorm(b) => OpKind::BatchNormTrain(self.batch_norm_op(i, *b)?),
                LayerKind::Dropout { rate } if *rate > 0.0 => OpKind::Dropout {
                    src: self.value(self.flow.src[i]),
                    dst: self.out(i),
                    n,
                    rate: *rate,
                },
                LayerKind::Dropout { .. } => OpKind::Copy {
                    src: self.value(self.flow.src[i]),
                    dst: self.out(i),
                    n,
                },
                LayerKind::Flatten
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. } => match self.common_op(i) {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            ops.push(self.op(i, kind));
            if let LayerKind::Dense(d) = &layer.kind {
                if self.splits_activation(i) {
                    ops.push(self.op(i, self.preact_activation_op(i, d)));
                }
            }
        }
        Ok(ops)
    }

    fn infer_ops(&self) -> Result<Vec<Op>, PlanError> {
        let mut ops = Vec::new();
        for i in 0..self.m.layers.len() {
            if !self.flow.own[i] {
                continue;
            }
            let layer = self.layer(i);
            let n: usize = layer.output_shape.iter().product();
            let kind = match &layer.kind {
                LayerKind::Dense(d) => {
                    let mut op = self.dense_op(i, d)?;
                    if let (Some((bn, side)), Some((kernel, bias))) =
                        (self.fold_of(i), self.folded[i])
                    {
                        op.weights = DenseWeights::Folded {
                            kernel,
                            bias,
                            batch_norm: bn,
                        };
                        match side {
                            FoldSide::IntoPrevious => op.dst = self.out(bn),
                            FoldSide::IntoNext => op.src = self.value(self.flow.src[bn]),
                        }
                    }
                    OpKind::Dense(op)
                }
                LayerKind::BatchNorm(_) if self.is_folded(i) => continue,
                LayerKind::BatchNorm(b) => OpKind::BatchNormInfer(self.batch_norm_op(i, *b)?),
                LayerKind::Dropout { .. } => OpKind::Copy {
                    src: self.value(self.flow.src[i]),
                    dst: self.out(i),
                    n,
                },
                LayerKind::Flatten
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. } => match self.common_op(i) {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            ops.push(self.op(i, kind));
            if let LayerKind::Dense(d) = &layer.kind {
                if self.splits_activation(i) {
                    ops.push(self.op(i, self.preact_activation_op(i, d)));
                }
            }
        }
        Ok(ops)
    }

    fn folds(&self) -> Result<Vec<Fold>, PlanError> {
        let mut folds = Vec::new();
        for i in 0..self.m.layers.len() {
            let (Some((bn, side)), Some((folded_kernel, folded_bias))) =
                (self.fold_of(i), self.folded[i])
            else {
                continue;
            };
            let (Some(LayerKind::BatchNorm(b)), Some(LayerKind::Dense(_))) =
                (self.kind(bn), self.kind(i))
            else {
                continue;
            };
            let (inputs, units) = dense_extent(self.layer(i));
            folds.push(Fold {
                side,
                dense: i,
                inputs,
                units,
                kernel: self.tensor(i, Role::Kernel)?,
                bias: self.tensor(i, Role::Bias).ok(),
                batch_norm: self.batch_norm_op(bn, *b)?,
                batch_norm_layer: bn,
                folded_kernel,
                folded_bias,
            });
        }
        Ok(folds)
    }

    fn backward_ops(&self) -> Result<Vec<BackOp>, PlanError> {
        let mut ops = Vec::new();
        for i in (0..self.m.layers.len()).rev() {
            if !self.flow.back[i] {
                continue;
            }
            let layer = self.layer(i);
            let n: usize = layer.output_shape.iter().product();
            let x = self.value(self.flow.src[i]);
            let dy = self.grad(i);
            let dx = self.flow.dx[i].then(|| self.source_layer(i).map(|k| self.grad(k)));
            let dx = dx.flatten();
            // Rule 5: a layer without parameters only runs when it writes `dx`.
            let need = |dx: Option<BufferId>| {
                dx.ok_or_else(|| PlanError {
                    model: self.m.name.clone(),
                    problem: format!("layer `{}` has no input gradient", layer.name),
                })
            };
            let kind = match &layer.kind {
                LayerKind::Dense(d) => {
                    // Rule 7: the activation's backward first, into the pre-activation's
                    // gradient, which the linear `Dense` backward then reads.
                    let (y, dy, act) = if self.splits_activation(i) {
                        let (pre, d_pre) = self.preact(i);
                        ops.push(BackOp {
                            kind: BackKind::Activation {
                                x: Value::Buffer(pre),
                                y: self.out(i),
                                dy,
                                dx: d_pre,
                                rows: 1,
                                cols: d.units,
                                act: self.dense_act(i, d),
                            },
                            layer: i,
                            line: layer.line,
                        });
                        (pre, d_pre, Activation::Linear)
                    } else {
                        (self.out(i), dy, self.dense_act(i, d))
                    };
                    BackKind::Dense {
                        x,
                        y,
                        dy,
                        dx,
                        inputs: dense_extent(layer).0,
                        units: d.units,
                        act,
                        kernel: self.tensor(i, Role::Kernel)?,
                        bias: self.tensor(i, Role::Bias).ok(),
                    }
                }
                LayerKind::BatchNorm(b) => BackKind::BatchNorm {
                    op: self.batch_norm_op(i, *b)?,
                    dy,
                    dx,
                },
                LayerKind::Dropout { rate } if *rate > 0.0 => BackKind::Dropout {
                    dy,
                    dx: need(dx)?,
                    n,
                    rate: *rate,
                },
                LayerKind::Dropout { .. } => BackKind::Copy {
                    dy,
                    dx: need(dx)?,
                    n,
                },
                LayerKind::LeakyRelu { slope } => BackKind::LeakyRelu {
                    x,
                    dy,
                    dx: need(dx)?,
                    n,
                    slope: *slope,
                },
                LayerKind::Activation {
                    activation: act, ..
                } => {
                    let cols = layer.output_shape.last().copied().unwrap_or(1).max(1);
                    BackKind::Activation {
                        x,
                        y: self.out(i),
                        dy,
                        dx: need(dx)?,
                        rows: n / cols,
                        cols,
                        act: *act,
                    }
                }
                LayerKind::Rescale { scale, .. } => BackKind::Rescale {
                    dy,
                    dx: need(dx)?,
                    n,
                    scale: *scale,
                },
                // Own only when it copies `x` as the output (rule 1): nothing before it.
                LayerKind::Flatten => continue,
            };
            ops.push(BackOp {
                kind,
                layer: i,
                line: layer.line,
            });
        }
        Ok(ops)
    }

    fn run(mut self) -> Result<Plan, PlanError> {
        self.allocate();
        let head_layer = self.head_layer();
        let probs = self.from_logits.then(|| {
            let units = self.m.output_size();
            self.push("probs".to_owned(), BufferKind::Probs, Len::PerRow(units))
        });
        let head = Head {
            loss: self.m.train.loss,
            from_logits: self.from_logits,
            out: self.out(head_layer),
            grad: self.grad(head_layer),
            probs,
            units: self.m.output_size(),
        };
        let outputs = (0..self.m.layers.len())
            .map(|i| {
                if self.flow.own[i] {
                    self.value(Some(i))
                } else {
                    self.value(self.flow.src[i])
                }
            })
            .collect();
        let folds = self.folds()?;
        let infer = self.infer_ops()?;
        let train = self.train_ops()?;
        let backward = self.backward_ops()?;
        Ok(Plan {
            layout: self.layout,
            buffers: self.buffers,
            outputs,
            folds,
            infer,
            train,
            backward,
            head,
            optimizer_slots: self.m.train.optimizer.slots(),
        })
    }
}

/// Rules 1 and 5 over the layers: sources after aliasing, own buffers, input gradients.
fn flow(m: &ir::Model, from_logits: bool) -> Flow {
    let n = m.layers.len();
    let last = n - 1;
    let mut flow = Flow {
        src: Vec::with_capacity(n),
        own: Vec::with_capacity(n),
        dx: Vec::with_capacity(n),
        back: Vec::with_capacity(n),
    };
    // The layer whose buffer holds the current value (`None`: `x`).
    let mut current: Option<usize> = None;
    let mut seen_params = false;
    for (i, layer) in m.layers.iter().enumerate() {
        let head_softmax =
            from_logits && i == last && matches!(layer.kind, LayerKind::Activation { .. });
        let aliases = matches!(layer.kind, LayerKind::Flatten) || head_softmax;
        let own = !aliases || (i == last && current.is_none());
        let dx = seen_params && current.is_some() && own;
        let back = own
            && match layer.kind {
                LayerKind::Dense(_) | LayerKind::BatchNorm(_) => true,
                LayerKind::Flatten => false,
                LayerKind::Dropout { .. }
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. } => dx,
            };
        flow.src.push(current);
        flow.own.push(own);
        flow.dx.push(dx);
        flow.back.push(back);
        if layer.params.trainable > 0 {
            seen_params = true;
        }
        if own {
            current = Some(i);
        }
    }
    flow
}

/// `(inputs, units)` of a `Dense` layer.
fn dense_extent(layer: &ir::Layer) -> (usize, usize) {
    let inputs = layer.input_shape.first().copied().unwrap_or(0);
    let units = layer.output_shape.last().copied().unwrap_or(0);
    (inputs, units)
}

/// Features of a `BatchNorm` layer (its input's last axis).
fn features(layer: &ir::Layer) -> usize {
    layer.input_shape.last().copied().unwrap_or(1)
}

// ---------------------------------------------------------------------------------------
// Display: the plan as readable text (snapshots, `mlp expand --plan`).

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = Printer(self);
        writeln!(f, "buffers:")?;
        for (i, b) in self.buffers.iter().enumerate() {
            let len = match b.len {
                Len::PerRow(n) => format!("[batch, {n}]"),
                Len::Fixed(n) => format!("[{n}]"),
            };
            let what = match b.kind {
                BufferKind::Output { layer } => format!("output of layer {layer}"),
                BufferKind::Gradient { of } => format!("gradient of {}", p.buf(of)),
                BufferKind::BatchMean { layer } => format!("batch mean of layer {layer}"),
                BufferKind::BatchInvStd { layer } => format!("batch 1/std of layer {layer}"),
                BufferKind::FoldedKernel { dense } => format!("folded kernel of layer {dense}"),
                BufferKind::FoldedBias { dense } => format!("folded bias of layer {dense}"),
                BufferKind::PreActivation { layer } => format!("pre-activation of layer {layer}"),
                BufferKind::Probs => "softmax of the logits".to_owned(),
            };
            writeln!(f, "  b{i:<3} {:<30} {len:<14} {what}", b.name)?;
        }
        writeln!(f, "outputs:")?;
        for (i, v) in self.outputs.iter().enumerate() {
            let alias = if self.own_output(i).is_some() {
                ""
            } else {
                " (alias)"
            };
            writeln!(f, "  layer {i} -> {}{alias}", p.value(*v))?;
        }
        writeln!(f, "folds:")?;
        for fold in &self.folds {
            let side = match fold.side {
                FoldSide::IntoPrevious => "into the Dense before it",
                FoldSide::IntoNext => "into the Dense after it",
            };
            writeln!(
                f,
                "  layer {} {side} (layer {}): {}, {} -> {}, {}",
                fold.batch_norm_layer,
                fold.dense,
                p.tensor(fold.kernel),
                p.opt_tensor(fold.bias),
                p.buf(fold.folded_kernel),
                p.buf(fold.folded_bias)
            )?;
        }
        for (title, ops) in [("inference:", &self.infer), ("training:", &self.train)] {
            writeln!(f, "{title}")?;
            for op in ops {
                writeln!(
                    f,
                    "  layer {} (line {}): {}",
                    op.layer,
                    op.line,
                    p.op(&op.kind)
                )?;
            }
        }
        writeln!(f, "backward:")?;
        for op in &self.backward {
            writeln!(
                f,
                "  layer {} (line {}): {}",
                op.layer,
                op.line,
                p.back(&op.kind)
            )?;
        }
        let h = &self.head;
        write!(f, "head: {:?} on {}", h.loss, p.buf(h.out))?;
        if let Some(probs) = h.probs {
            write!(f, " (logits; softmax into {})", p.buf(probs))?;
        }
        writeln!(f, ", gradient into {}, {} units", p.buf(h.grad), h.units)
    }
}

/// Names for the `Display` of a plan.
struct Printer<'a>(&'a Plan);

impl Printer<'_> {
    fn buf(&self, b: BufferId) -> String {
        self.0
            .buffers
            .get(b.0)
            .map_or_else(|| format!("b{}?", b.0), |x| format!("b{}:{}", b.0, x.name))
    }

    fn value(&self, v: Value) -> String {
        match v {
            Value::Input => "x".to_owned(),
            Value::Buffer(b) => self.buf(b),
        }
    }

    fn tensor(&self, t: TensorId) -> String {
        self.0
            .layout
            .tensors
            .get(t.0)
            .map_or_else(|| format!("t{}?", t.0), |x| x.name.clone())
    }

    fn opt_tensor(&self, t: Option<TensorId>) -> String {
        t.map_or_else(|| "no bias".to_owned(), |t| self.tensor(t))
    }

    fn dense(&self, d: &DenseOp) -> String {
        let weights = match d.weights {
            DenseWeights::Params { kernel, bias } => {
                format!("{}, {}", self.tensor(kernel), self.opt_tensor(bias))
            }
            DenseWeights::Folded {
                kernel,
                bias,
                batch_norm,
            } => format!(
                "{}, {} (layer {batch_norm} folded)",
                self.buf(kernel),
                self.buf(bias)
            ),
        };
        format!(
            "dense {} -> {}, {}x{}, {:?}, {weights}",
            self.value(d.src),
            self.buf(d.dst),
            d.inputs,
            d.units,
            d.act
        )
    }

    fn batch_norm(&self, b: &BatchNormOp) -> String {
        format!(
            "{} -> {}, {}x{}, momentum {}, epsilon {}, stats {} {}",
            self.value(b.src),
            self.buf(b.dst),
            b.rows,
            b.features,
            b.momentum,
            b.epsilon,
            self.buf(b.mean),
            self.buf(b.inv_std)
        )
    }

    fn op(&self, op: &OpKind) -> String {
        match op {
            OpKind::Copy { src, dst, n } => {
                format!("copy {} -> {}, {n}", self.value(*src), self.buf(*dst))
            }
            OpKind::Dense(d) => self.dense(d),
            OpKind::DenseBatchNorm {
                dense,
                batch_norm,
                after,
            } => {
                let after = after.map_or_else(String::new, |a| {
                    let what = match a.kind {
                        AfterKind::LeakyRelu { slope } => format!("leaky_relu({slope})"),
                        AfterKind::Activation(act) => format!("{act:?}"),
                    };
                    format!(", then {what} -> {} (layer {})", self.buf(a.dst), a.layer)
                });
                format!(
                    "fused {}; batch_norm_train {}{after}",
                    self.dense(dense),
                    self.batch_norm(batch_norm)
                )
            }
            OpKind::Dropout { src, dst, n, rate } => format!(
                "dropout {} -> {}, {n}, rate {rate}",
                self.value(*src),
                self.buf(*dst)
            ),
            OpKind::BatchNormTrain(b) => format!("batch_norm_train {}", self.batch_norm(b)),
            OpKind::BatchNormInfer(b) => format!("batch_norm_infer {}", self.batch_norm(b)),
            OpKind::LeakyRelu { src, dst, n, slope } => format!(
                "leaky_relu {} -> {}, {n}, slope {slope}",
                self.value(*src),
                self.buf(*dst)
            ),
            OpKind::Activation {
                src,
                dst,
                rows,
                cols,
                act,
            } => format!(
                "activation {act:?} {} -> {}, {rows}x{cols}",
                self.value(*src),
                self.buf(*dst)
            ),
            OpKind::Rescale {
                src,
                dst,
                n,
                scale,
                offset,
            } => format!(
                "rescale {} -> {}, {n}, scale {scale}, offset {offset}",
                self.value(*src),
                self.buf(*dst)
            ),
        }
    }

    fn opt_buf(&self, b: Option<BufferId>) -> String {
        b.map_or_else(|| "none".to_owned(), |b| self.buf(b))
    }

    fn back(&self, op: &BackKind) -> String {
        match op {
            BackKind::Dense {
                x,
                y,
                dy,
                dx,
                inputs,
                units,
                act,
                kernel,
                bias,
            } => format!(
                "dense {act:?}' on {} (y {}), x {}, {inputs}x{units}, {} {} -> dx {}",
                self.buf(*dy),
                self.buf(*y),
                self.value(*x),
                self.tensor(*kernel),
                self.opt_tensor(*bias),
                self.opt_buf(*dx)
            ),
            BackKind::Dropout { dy, dx, n, rate } => format!(
                "dropout {} -> {}, {n}, rate {rate}",
                self.buf(*dy),
                self.buf(*dx)
            ),
            BackKind::Copy { dy, dx, n } => {
                format!("copy {} -> {}, {n}", self.buf(*dy), self.buf(*dx))
            }
            BackKind::BatchNorm { op, dy, dx } => format!(
                "batch_norm {} x {}, {}x{}, stats {} {} -> dx {}",
                self.buf(*dy),
                self.value(op.src),
                op.rows,
                op.features,
                self.buf(op.mean),
                self.buf(op.inv_std),
                self.opt_buf(*dx)
            ),
            BackKind::LeakyRelu {
                x,
                dy,
                dx,
                n,
                slope,
            } => format!(
                "leaky_relu {} x {} -> {}, {n}, slope {slope}",
                self.buf(*dy),
                self.value(*x),
                self.buf(*dx)
            ),
            BackKind::Activation {
                x,
                y,
                dy,
                dx,
                rows,
                cols,
                act,
            } => format!(
                "activation {act:?}' {} x {} y {} -> {}, {rows}x{cols}",
                self.buf(*dy),
                self.value(*x),
                self.buf(*y),
                self.buf(*dx)
            ),
            BackKind::Rescale { dy, dx, n, scale } => format!(
                "rescale {} -> {}, {n}, scale {scale}",
                self.buf(*dy),
                self.buf(*dx)
            ),
        }
    }
}
