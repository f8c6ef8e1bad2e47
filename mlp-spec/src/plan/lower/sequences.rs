//! The three op sequences and the folds, from the decisions of [`super::Lower`].

use super::{dense_extent, Lower};
use crate::ir::{Activation, LayerKind};
use crate::layout::Role;
use crate::plan::{
    AfterKind, AfterOp, BackKind, BackOp, BufferId, DenseWeights, Fold, FoldSide, Op, OpKind,
    PlanError, Value,
};

impl Lower<'_> {
    /// `dst = src` for layer `i` (`n` floats per row): Dropout in inference or of rate 0.
    fn copy_op(&self, i: usize, n: usize) -> OpKind {
        OpKind::Copy {
            src: self.value(self.flow.src[i]),
            dst: self.out(i),
            n,
        }
    }

    /// Pushes layer `i`'s op, then, for a `Dense` whose activation keeps its input (rule 7),
    /// the activation op after it.
    fn push_layer(&self, ops: &mut Vec<Op>, i: usize, kind: OpKind) {
        ops.push(self.op(i, kind));
        if let LayerKind::Dense(d) = &self.layer(i).kind {
            if self.splits_activation(i) {
                ops.push(self.op(i, self.preact_activation_op(i, d)));
            }
        }
    }

    pub(super) fn train_ops(&self) -> Result<Vec<Op>, PlanError> {
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
                                    | LayerKind::Rescale { .. }
                                    | LayerKind::Normalization { .. },
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
                LayerKind::Dropout { .. } => self.copy_op(i, n),
                LayerKind::Flatten
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. }
                | LayerKind::Normalization { .. } => match self.common_op(i)? {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            self.push_layer(&mut ops, i, kind);
        }
        Ok(ops)
    }

    pub(super) fn infer_ops(&self) -> Result<Vec<Op>, PlanError> {
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
                LayerKind::Dropout { .. } => self.copy_op(i, n),
                LayerKind::Flatten
                | LayerKind::LeakyRelu { .. }
                | LayerKind::Activation { .. }
                | LayerKind::Rescale { .. }
                | LayerKind::Normalization { .. } => match self.common_op(i)? {
                    Some(kind) => kind,
                    None => continue,
                },
            };
            self.push_layer(&mut ops, i, kind);
        }
        Ok(ops)
    }

    pub(super) fn folds(&self) -> Result<Vec<Fold>, PlanError> {
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

    pub(super) fn backward_ops(&self) -> Result<Vec<BackOp>, PlanError> {
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
                LayerKind::Normalization { features } => BackKind::Normalize {
                    dy,
                    dx: need(dx)?,
                    n,
                    features: *features,
                    variance: self.tensor(i, Role::Variance)?,
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
}
