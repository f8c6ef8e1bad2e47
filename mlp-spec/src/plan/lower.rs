//! The lowering IR -> [`Plan`]: the rules of the module docs, applied layer by layer.

mod sequences;

use super::{
    BatchNormOp, Buffer, BufferId, BufferKind, DenseOp, DenseWeights, FoldSide, Head, Len, Logits,
    Op, OpKind, Plan, PlanError, TensorId, Value,
};
use crate::ir::{self, Activation, LayerKind};
use crate::layout::{ParamLayout, Role};

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

/// The state of one lowering.
pub(super) struct Lower<'a> {
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
    pub(super) fn new(m: &'a ir::Model) -> Result<Lower<'a>, PlanError> {
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
                LayerKind::Normalization { features } => {
                    let n: usize = layer.input_shape.iter().product();
                    if *features == 0 || layer.input_shape.last() != Some(features) {
                        return Err(bad(format!(
                            "layer `{}`: a Normalization's features must be its input's last extent",
                            layer.name
                        )));
                    }
                    debug_assert!(n.is_multiple_of(*features));
                }
                LayerKind::Dense(_)
                | LayerKind::Flatten
                | LayerKind::Dropout { .. }
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. } => {}
            }
        }
        let from_logits = m.logits_head().is_some();
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
                | LayerKind::Rescale { .. }
                | LayerKind::Normalization { .. },
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
            momentum: b.momentum as f32,
            // Keras: `1.0 - self.momentum` on the Python float, then cast.
            one_minus_momentum: (1.0 - b.momentum) as f32,
            epsilon: b.epsilon,
            mean,
            inv_std,
        })
    }

    /// The forward op of layer `i` shared by both modes (element-wise layers and copies).
    fn common_op(&self, i: usize) -> Result<Option<OpKind>, PlanError> {
        let layer = self.layer(i);
        let src = self.value(self.flow.src[i]);
        let dst = self.out(i);
        let n: usize = layer.output_shape.iter().product();
        Ok(match &layer.kind {
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
                    return Ok(Some(OpKind::Copy { src, dst, n }));
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
            LayerKind::Normalization { features } => Some(OpKind::Normalize {
                src,
                dst,
                n,
                features: *features,
                mean: self.tensor(i, Role::Mean)?,
                variance: self.tensor(i, Role::Variance)?,
            }),
            LayerKind::Dense(_) | LayerKind::Dropout { .. } | LayerKind::BatchNorm(_) => None,
        })
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

    pub(super) fn run(mut self) -> Result<Plan, PlanError> {
        self.allocate();
        let head_layer = self.head_layer();
        let loss = self.m.train.loss;
        let logits = (self.from_logits || loss.from_logits()).then(|| {
            if loss.is_categorical() {
                Logits::Softmax
            } else {
                Logits::Sigmoid
            }
        });
        let probs = logits.map(|_| {
            let units = self.m.output_size();
            self.push("probs".to_owned(), BufferKind::Probs, Len::PerRow(units))
        });
        let head = Head {
            loss,
            from_logits: self.from_logits,
            logits,
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
                | LayerKind::Rescale { .. }
                | LayerKind::Normalization { .. } => dx,
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
