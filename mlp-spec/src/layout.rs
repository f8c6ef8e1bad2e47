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
//! - Non-trainable tensors (`BatchNorm` moving mean, then moving variance; `Normalization`
//!   mean, variance, then count, per layer) live in a second buffer (`state`), same
//!   ordering rules. A `Normalization` count is a 0-d tensor (shape `[]`): one f32.
//! - Tensor names are `<layer name>.<role>`: `dense.kernel`, `dense_1.bias`,
//!   `batch_normalization.gamma`, `batch_normalization.moving_variance`,
//!   `normalization.mean`, `normalization.count`, … (Keras's weight paths with `.` for `/`).

use crate::ir::{self, Initializer, Regularizer};
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
    /// A `Normalization` mean `[features]` (non-trainable).
    Mean,
    /// A `Normalization` variance `[features]` (non-trainable).
    Variance,
    /// A `Normalization` count `[]`: a 0-d tensor, one f32 here (Keras keeps it as an
    /// integer; see [`Role::keras_bytes`]); non-trainable.
    Count,
}

impl Role {
    /// The role's suffix in tensor names (`kernel`, `bias`, `gamma`, `beta`, `moving_mean`,
    /// `moving_variance`, `mean`, `variance`, `count`), as Keras names the weights.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Kernel => "kernel",
            Role::Bias => "bias",
            Role::Gamma => "gamma",
            Role::Beta => "beta",
            Role::MovingMean => "moving_mean",
            Role::MovingVariance => "moving_variance",
            Role::Mean => "mean",
            Role::Variance => "variance",
            Role::Count => "count",
        }
    }

    /// Bytes per element of a tensor of this role as Keras stores it, which its
    /// `model.summary()` sizes count: 8 for a `Normalization` count (Keras's `dtype="int"`,
    /// int64 on its TensorFlow backend), 4 (float32) for every other tensor. mlp itself
    /// stores every element as one f32.
    #[must_use]
    pub fn keras_bytes(self) -> usize {
        match self {
            Role::Count => 8,
            Role::Kernel
            | Role::Bias
            | Role::Gamma
            | Role::Beta
            | Role::MovingMean
            | Role::MovingVariance
            | Role::Mean
            | Role::Variance => 4,
        }
    }

    /// Whether tensors of this role are updated by the optimiser (and so live in
    /// `params`); the `BatchNorm` moving statistics and the `Normalization` statistics
    /// are not (they live in `state`).
    #[must_use]
    pub fn is_trainable(self) -> bool {
        match self {
            Role::Kernel | Role::Bias | Role::Gamma | Role::Beta => true,
            Role::MovingMean | Role::MovingVariance | Role::Mean | Role::Variance | Role::Count => {
                false
            }
        }
    }
}

/// One tensor of a layer before it is placed in a buffer, as
/// [`LayerKind::tensors`](crate::ir::LayerKind::tensors) lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerTensor {
    /// What the tensor is for.
    pub role: Role,
    /// Shape (`[in, units]` for kernels, `[]` for a `Normalization` count, `[n]` otherwise).
    pub shape: Vec<usize>,
    /// How the tensor is initialised.
    pub init: Initializer,
    /// Penalty added to the loss, if any.
    pub regularizer: Option<Regularizer>,
    /// Keras fan-in: `in` for a kernel `[in, units]`, `n` for a 1-D tensor `[n]`, 1 for a
    /// 0-d one.
    pub fan_in: usize,
    /// Keras fan-out: `units` for a kernel `[in, units]`, `n` for a 1-D tensor `[n]`, 1
    /// for a 0-d one.
    pub fan_out: usize,
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
    /// Shape (`[in, units]` for kernels, `[]` for a `Normalization` count, `[n]` otherwise).
    pub shape: Vec<usize>,
    /// Number of elements (product of `shape`).
    pub len: usize,
    /// Whether the tensor is in `params` (true) or `state` (false).
    pub trainable: bool,
    /// How the tensor is initialised.
    pub init: Initializer,
    /// Keras fans: `(in, units)` for kernels, `(n, n)` for 1-D tensors, `(1, 1)` for 0-d ones.
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
            for t in layer.kind.tensors(&layer.input_shape) {
                let len: usize = t.shape.iter().product();
                let trainable = t.role.is_trainable();
                let cursor = if trainable { &mut p } else { &mut s };
                tensors.push(TensorInfo {
                    name: format!("{}.{}", layer.name, t.role.as_str()),
                    layer: li,
                    role: t.role,
                    offset: *cursor,
                    shape: t.shape,
                    len,
                    trainable,
                    init: t.init,
                    fan_in: t.fan_in,
                    fan_out: t.fan_out,
                    regularizer: t.regularizer,
                });
                *cursor += len;
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

    /// The optimiser's passes: maximal runs of trainable tensors that are adjacent in
    /// `params` and share a regulariser, in buffer order. Every optimiser update is
    /// element-wise, so one pass over a run computes exactly what one pass per tensor
    /// would; fewer, longer passes cost less call overhead and split better across
    /// threads. Allocates nothing.
    pub fn update_runs(&self) -> impl Iterator<Item = UpdateRun> + '_ {
        let mut tensors = self.trainable().peekable();
        std::iter::from_fn(move || {
            let first = tensors.next()?;
            let mut run = UpdateRun {
                range: first.range(),
                regularizer: first.regularizer,
                tensors: 1,
            };
            while let Some(next) =
                tensors.next_if(|t| t.offset == run.range.end && t.regularizer == run.regularizer)
            {
                run.range.end += next.len;
                run.tensors += 1;
            }
            Some(run)
        })
    }
}

impl ParamLayout {
    /// The passes one step of `opt` makes: [`ParamLayout::update_runs`], split into single
    /// tensors under `clipnorm`, which scales each tensor by its own norm.
    pub fn update_runs_for<'a>(
        &'a self,
        opt: &crate::ir::Optimizer,
    ) -> impl Iterator<Item = UpdateRun> + 'a {
        let per_tensor = matches!(opt.clip, Some(crate::ir::Clip::Norm(_)));
        let mut tensors = self.trainable();
        let mut merged = self.update_runs();
        std::iter::from_fn(move || {
            if per_tensor {
                tensors.next().map(|t| UpdateRun {
                    range: t.range(),
                    regularizer: t.regularizer,
                    tensors: 1,
                })
            } else {
                merged.next()
            }
        })
    }
}

/// One optimiser pass of [`ParamLayout::update_runs`].
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRun {
    /// The elements of `params` (and of the gradients and each optimiser slot) it updates.
    pub range: std::ops::Range<usize>,
    /// The regulariser every tensor of the run has.
    pub regularizer: Option<Regularizer>,
    /// How many consecutive trainable tensors the run covers.
    pub tensors: usize,
}

#[cfg(test)]
mod tests {
    use super::{ParamLayout, UpdateRun};
    use crate::ir::Regularizer;

    fn runs(source: &str) -> Vec<UpdateRun> {
        let spec = crate::compile(source).unwrap_or_else(|e| panic!("{e:?}"));
        ParamLayout::new(&spec.models[0]).update_runs().collect()
    }

    #[test]
    fn tensors_without_penalties_form_one_run() {
        let all = runs(include_str!("../../specs/notebook/baseline.mlp"));
        // 784·64 + 64 + 64·32 + 32 + 32·10 + 10 parameters, six tensors, one pass.
        assert_eq!(
            all,
            [UpdateRun {
                range: 0..52_650,
                regularizer: None,
                tensors: 6
            }]
        );
    }

    #[test]
    fn a_change_of_regulariser_starts_a_new_run() {
        let all = runs(include_str!("../../specs/notebook/l2.mlp"));
        let l2 = Some(Regularizer { l1: 0.0, l2: 0.001 });
        // The two hidden kernels carry the penalty; their biases and the output layer do
        // not, so the last bias, kernel and bias share one run.
        let expected: Vec<(usize, usize, Option<Regularizer>, usize)> = vec![
            (0, 50_176, l2, 1),
            (50_176, 50_240, None, 1),
            (50_240, 52_288, l2, 1),
            (52_288, 52_650, None, 3),
        ];
        let got: Vec<_> = all
            .iter()
            .map(|r| (r.range.start, r.range.end, r.regularizer, r.tensors))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn tensor_lengths_agree_with_parameter_counts() {
        for source in [
            include_str!("../../specs/notebook/batchnorm.mlp"),
            include_str!("../../specs/notebook/l2.mlp"),
            include_str!("../../specs/examples/zoo.mlp"),
            include_str!("../../specs/examples/tabular.mlp"),
        ] {
            let spec = crate::compile(source).unwrap_or_else(|e| panic!("{e:?}"));
            for model in &spec.models {
                let layout = ParamLayout::new(model);
                assert_eq!(
                    layout.trainable_len, model.params.trainable,
                    "{}",
                    model.name
                );
                assert_eq!(
                    layout.state_len, model.params.non_trainable,
                    "{}",
                    model.name
                );
                for (li, layer) in model.layers.iter().enumerate() {
                    let len: usize = layout
                        .tensors
                        .iter()
                        .filter(|t| t.layer == li)
                        .map(|t| t.len)
                        .sum();
                    assert_eq!(len, layer.params.total, "{}", layer.name);
                }
            }
        }
    }

    #[test]
    fn runs_cover_every_trainable_element_once_in_order() {
        for source in [
            include_str!("../../specs/notebook/batchnorm.mlp"),
            include_str!("../../specs/examples/zoo.mlp"),
        ] {
            let spec = crate::compile(source).unwrap_or_else(|e| panic!("{e:?}"));
            for model in &spec.models {
                let layout = ParamLayout::new(model);
                let mut next = 0;
                let mut tensors = 0;
                for run in layout.update_runs() {
                    assert_eq!(run.range.start, next);
                    assert!(run.range.end > run.range.start);
                    next = run.range.end;
                    tensors += run.tensors;
                }
                assert_eq!(next, layout.trainable_len);
                assert_eq!(tensors, layout.trainable().count());
            }
        }
    }
}
