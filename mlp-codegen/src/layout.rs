//! The tensor table of a model, computed at code-generation time.
//!
//! Same convention as `mlp_runtime::ParamLayout` (a test checks they agree on every spec):
//! trainable tensors in one buffer, layer by layer in model order (`Dense`: kernel
//! `[in, units]` then bias; `BatchNorm`: gamma then beta); non-trainable tensors
//! (`BatchNorm` moving mean then moving variance) in a second buffer. A tensor's index in
//! [`Layout::tensors`] is also the index of its initialiser's random stream.

use mlp_spec::ir::{self, Initializer, LayerKind, Regularizer};

/// What a tensor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Kernel,
    Bias,
    Gamma,
    Beta,
    MovingMean,
    MovingVariance,
}

impl Role {
    /// The role's suffix in tensor names, as Keras names the weights.
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

/// One tensor of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Index of the owning layer.
    pub layer: usize,
    pub role: Role,
    /// Offset in `params` (trainable) or `state`.
    pub offset: usize,
    pub shape: Vec<usize>,
    pub len: usize,
    pub trainable: bool,
    pub init: Initializer,
    /// Keras fans: `(in, units)` for kernels, `(n, n)` for 1-D tensors.
    pub fan_in: usize,
    pub fan_out: usize,
    pub regularizer: Option<Regularizer>,
}

/// Every tensor, trainable and not, in model order.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub tensors: Vec<Tensor>,
    pub trainable_len: usize,
    pub state_len: usize,
}

impl Layout {
    pub fn new(model: &ir::Model) -> Layout {
        let mut tensors = Vec::new();
        let (mut p, mut s) = (0usize, 0usize);
        for (li, layer) in model.layers.iter().enumerate() {
            let mut push = |role: Role, shape: Vec<usize>, init, regularizer| {
                let len: usize = shape.iter().product();
                let trainable = !matches!(role, Role::MovingMean | Role::MovingVariance);
                let (fan_in, fan_out) = if shape.len() == 2 {
                    (shape[0], shape[1])
                } else {
                    (len, len)
                };
                let cursor = if trainable { &mut p } else { &mut s };
                tensors.push(Tensor {
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
        Layout {
            tensors,
            trainable_len: p,
            state_len: s,
        }
    }

    /// The tensor of layer `layer` with role `role`.
    pub fn tensor(&self, layer: usize, role: Role) -> Option<&Tensor> {
        self.tensors
            .iter()
            .find(|t| t.layer == layer && t.role == role)
    }

    /// The trainable tensors, in buffer order.
    pub fn trainable(&self) -> impl Iterator<Item = &Tensor> {
        self.tensors.iter().filter(|t| t.trainable)
    }
}
