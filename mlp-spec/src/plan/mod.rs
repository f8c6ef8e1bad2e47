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
//! 6. **The head.** A logits head reads the final softmax's (or, under binary
//!    cross-entropy, the final sigmoid's) input: the last `Dense` then runs with a linear
//!    activation, forward and backward.
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
//! 8. **Normalization.** A `Normalization` layer runs the same [`OpKind::Normalize`] in
//!    both modes, reading its `mean` and `variance` state tensors and never writing them
//!    (they are set by adapting the layer before training, outside the plan). It has no
//!    trainable parameters, so by rule 5 it runs backward ([`BackKind::Normalize`]) only
//!    when it writes an input gradient, which a checked model never needs: only `Flatten`
//!    and `Rescale` may come before it.
//!
//! The plan performs no I/O and allocates only while it is built.

mod lower;
mod memory;
mod print;

pub use memory::{Bytes, Memory};

use crate::ir::{self, Activation, Loss};
use crate::layout::ParamLayout;

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
    /// The softmax or sigmoid of the logits the loss reads, `[batch, units]`.
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
    /// Moving-statistics momentum, rounded to f32.
    pub momentum: f32,
    /// `1 - momentum`, taken in f64 from the written momentum and then rounded (as Keras
    /// takes it from the Python float).
    pub one_minus_momentum: f32,
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
    /// Both modes, a `Normalization` layer: `dst[j] = (src[j] - mean[f]) /
    /// max(sqrt(variance[f]), 1e-7)` with `f = j % features` for each element `j` of a
    /// row (Keras's formula; 1e-7 is Keras's `backend.epsilon()`).
    Normalize {
        /// Source.
        src: Value,
        /// Destination.
        dst: BufferId,
        /// Floats per row (a multiple of `features`).
        n: usize,
        /// The normalised axis's extent (the input's last).
        features: usize,
        /// Mean per feature (state, `[features]`).
        mean: TensorId,
        /// Variance per feature (state, `[features]`).
        variance: TensorId,
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
    /// `dx[j] = dy[j] / max(sqrt(variance[j % features]), 1e-7)` (the statistics are
    /// constants). Only when an input gradient is needed (rule 8).
    Normalize {
        /// Output gradient.
        dy: BufferId,
        /// Input gradient.
        dx: BufferId,
        /// Floats per row.
        n: usize,
        /// The normalised axis's extent.
        features: usize,
        /// Variance per feature (state, `[features]`).
        variance: TensorId,
    },
}

/// The loss head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// The loss.
    pub loss: Loss,
    /// Whether the loss applies the model's final activation itself, from its logits
    /// ([`ir::Model::logits_head`]: a final softmax under a cross-entropy, a final sigmoid
    /// under binary cross-entropy; Keras's TensorFlow backend, exact, no clipping). `out`
    /// then holds the logits and `probs` the activation of them, which is the model's
    /// output.
    pub from_logits: bool,
    /// How the loss reads `out`: as the logits of a softmax or of a sigmoid (a logits
    /// head, or a loss written with `from_logits = true`), or as the output itself.
    pub logits: Option<Logits>,
    /// What the loss reads: the model output, or the logits.
    pub out: BufferId,
    /// Where the loss writes its gradient with respect to `out`.
    pub grad: BufferId,
    /// The softmax or sigmoid of the logits, whenever the loss reads logits.
    pub probs: Option<BufferId>,
    /// Output units per sample.
    pub units: usize,
}

/// The activation whose logits a loss reads (see [`Head::logits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// Softmax over each row: the cross-entropies.
    Softmax,
    /// Element-wise sigmoid: binary cross-entropy.
    Sigmoid,
}

impl Logits {
    /// The activation itself.
    #[must_use]
    pub fn activation(self) -> ir::Activation {
        match self {
            Logits::Softmax => ir::Activation::Softmax,
            Logits::Sigmoid => ir::Activation::Sigmoid,
        }
    }
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

impl Plan {
    /// Lowers `model` (see the module docs for what the plan guarantees).
    ///
    /// # Errors
    /// [`PlanError`] when the IR breaks its invariants: no layers, a `Dense` on an input
    /// that is not flat, a `BatchNorm` whose features do not divide its input, a
    /// `Normalization` whose `features` is not its input's last extent.
    pub fn new(model: &ir::Model) -> Result<Plan, PlanError> {
        lower::Lower::new(model)?.run()
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
