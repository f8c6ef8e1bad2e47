//! The plan as readable text (the plan snapshots).

use super::{
    AfterKind, BackKind, BatchNormOp, BufferId, BufferKind, DenseOp, DenseWeights, FoldSide, Len,
    OpKind, Plan, TensorId, Value,
};
use std::fmt;

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
                BufferKind::Probs => "activation of the logits".to_owned(),
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
        write!(f, "head: {} on {}", h.loss.keras_name(), p.buf(h.out))?;
        if let (Some(probs), Some(logits)) = (h.probs, h.logits) {
            let act = match logits {
                super::Logits::Softmax => "softmax",
                super::Logits::Sigmoid => "sigmoid",
            };
            let whose = if h.from_logits { "" } else { ", from_logits" };
            write!(f, " (logits{whose}; {act} into {})", p.buf(probs))?;
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
            OpKind::Normalize {
                src,
                dst,
                n,
                features,
                mean,
                variance,
            } => format!(
                "normalize {} -> {}, {n} over {features} features, {} {}",
                self.value(*src),
                self.buf(*dst),
                self.tensor(*mean),
                self.tensor(*variance)
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
            BackKind::Normalize {
                dy,
                dx,
                n,
                features,
                variance,
            } => format!(
                "normalize {} -> {}, {n} over {features} features, {}",
                self.buf(*dy),
                self.buf(*dx),
                self.tensor(*variance)
            ),
        }
    }
}
