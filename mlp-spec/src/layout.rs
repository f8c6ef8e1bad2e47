//! Where every tensor of a model lives in its flat buffers.
//!
//! Derived from the IR alone, so the runtime (`Network`, checkpoints) and the code generator
//! (its `const` offsets) read one table and cannot disagree.
//!
//! Convention (shared by `Network` and generated code):
//! - All trainable parameters in ONE buffer (`params`), layer by layer in model order;
//!   within a `Dense`: kernel `[in, units]` row-major (Keras layout), then bias `[units]`
//!   (absent when `use_bias = false`); within a `BatchNorm`: gamma `[f]`, then beta `[f]`.
//! - Gradients mirror `params` exactly; optimiser slot `s` mirrors it at `s · trainable_len`
//!   (see the runtime's `optim` module).
//! - Non-trainable tensors (`BatchNorm` moving mean, then moving variance, per layer) live in
//!   a second buffer (`state`), same ordering rules.
//! - Tensor names are `<layer name>.<role>`: `dense.kernel`, `dense_1.bias`,
//!   `batch_normalization.gamma`, `batch_normalization.moving_variance`, …

use crate::ir::{self, Initializer, LayerKind, Regularizer};
use serde::Serialize;

/// What a tensor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    /// A `Dense` kernel `[in, units]`.
    Kernel,
    /// A `Dense` bias `[units]`.
    Bias,
    /// A `BatchNorm` scale `[features]`.
    Gamma,
    /// A `BatchNorm` shift `[features]`.
    Beta,
    /// A `BatchNorm` moving mean `[features]` (non-trainable).
    MovingMean,
    /// A `BatchNorm` moving variance `[features]` (non-trainable).
    MovingVariance,
}

impl Role {
    /// The role's suffix in tensor names (`kernel`, `bias`, `gamma`, `beta`, `moving_mean`,
    /// `moving_variance`), as Keras names the weights.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kernel => "kernel",
            Role::Bias => "bias",
            Role::Gamma => "gamma",
            Role::Beta => "beta",
            Role::MovingMean => "moving_mean",
            Role::MovingVariance => "moving_variance",
        }
    }
}

/// One tensor of a model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorInfo {
    /// `<layer name>.<role>`, e.g. `dense.kernel`.
    pub name: String,
    /// Index of the owning layer in `ir::Model::layers`.
    pub layer: usize,
    /// What the tensor is for.
    pub role: Role,
    /// Offset in `params` (trainable) or `state` (non-trainable).
    pub offset: usize,
    /// Shape (`[in, units]` for kernels, `[n]` otherwise).
    pub shape: Vec<usize>,
    /// Number of elements (product of `shape`).
    pub len: usize,
    /// Whether the tensor is in `params` (true) or `state` (false).
    pub trainable: bool,
    /// How the tensor is initialised.
    pub init: Initializer,
    /// Keras fans: `(in, units)` for kernels, `(n, n)` for 1-D tensors.
    pub fan_in: usize,
    /// See `fan_in`.
    pub fan_out: usize,
    /// Penalty added to the loss (and its gradient in the optimiser pass), if any.
    pub regularizer: Option<Regularizer>,
}

impl TensorInfo {
    /// The tensor's element range in its buffer.
    #[must_use]
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// The tensor table of a model (see the module docs for the convention).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamLayout {
    /// Every tensor, trainable and not, in model order.
    pub tensors: Vec<TensorInfo>,
    /// Length of the trainable `params` buffer (= gradients = one optimiser slot).
    pub trainable_len: usize,
    /// Length of the non-trainable `state` buffer.
    pub state_len: usize,
}

impl ParamLayout {
    /// Computes the layout of `model`.
    #[must_use]
    pub fn new(model: &ir::Model) -> ParamLayout {
        let mut tensors = Vec::new();
        let mut p = 0usize;
        let mut s = 0usize;
        for (li, layer) in model.layers.iter().enumerate() {
            let mut push = |role: Role,
                            shape: Vec<usize>,
                            init: Initializer,
                            regularizer: Option<Regularizer>| {
                let len: usize = shape.iter().product();
                let trainable = !matches!(role, Role::MovingMean | Role::MovingVariance);
                let (fan_in, fan_out) = if shape.len() == 2 {
                    (shape[0], shape[1])
                } else {
                    (len, len)
                };
                let cursor = if trainable { &mut p } else { &mut s };
                tensors.push(TensorInfo {
                    name: format!("{}.{}", layer.name, role.as_str()),
                    layer: li,
                    role,
                    offset: *cursor,
                    shape,
                    len,
                    trainable,
                    init,
                    fan_in,
                    fan_out,
                    regularizer,
                });
                *cursor += len;
            };
            match &layer.kind {
                LayerKind::Dense(d) => {
                    let inputs: usize = layer.input_shape.iter().product();
                    push(
                        Role::Kernel,
                        vec![inputs, d.units],
                        d.kernel_init,
                        d.kernel_reg,
                    );
                    if d.use_bias {
                        push(Role::Bias, vec![d.units], d.bias_init, d.bias_reg);
                    }
                }
                LayerKind::BatchNorm(_) => {
                    let f = *layer.input_shape.last().unwrap_or(&1);
                    push(Role::Gamma, vec![f], Initializer::Ones, None);
                    push(Role::Beta, vec![f], Initializer::Zeros, None);
                    push(Role::MovingMean, vec![f], Initializer::Zeros, None);
                    push(Role::MovingVariance, vec![f], Initializer::Ones, None);
                }
                LayerKind::Flatten
                | LayerKind::Dropout { .. }
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation(_)
                | LayerKind::Rescale { .. } => {}
            }
        }
        ParamLayout {
            tensors,
            trainable_len: p,
            state_len: s,
        }
    }

    /// The tensor of layer `layer` with role `role`, if the layer has one.
    #[must_use]
    pub fn tensor(&self, layer: usize, role: Role) -> Option<&TensorInfo> {
        self.tensors
            .iter()
            .find(|t| t.layer == layer && t.role == role)
    }

    /// The tensor called `name` (`dense.kernel`), if any.
    #[must_use]
    pub fn by_name(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The trainable tensors, in buffer order.
    pub fn trainable(&self) -> impl Iterator<Item = &TensorInfo> {
        self.tensors.iter().filter(|t| t.trainable)
    }
}
