//! A trained model as standalone inference code: one `#![no_std]`-compatible Rust module
//! ([`rust`]) or one C99 header and source ([`c`]) with the weights compiled in, no
//! allocator, and no dependency on `mlp` or any other crate.
//!
//! The export walks the plan's inference sequence (`BatchNorm` folded as `Network` folds it,
//! Dropout a no-op) and lowers it to a [`Program`]: a list of [`Step`]s over three memory
//! places — the caller's input, two halves of a scratch array the caller provides, and the
//! caller's output. Each step's result goes to the scratch half its input is not in, so
//! the scratch needs only the largest pair of live buffers (the largest output of an even
//! step plus the largest of an odd one), planned here, at generation time. A logits head
//! ends with the softmax over the output, so `predict` returns what `Network::forward`
//! returns.
//!
//! The arithmetic is plain scalar code written for LLVM (or a C compiler) to vectorise:
//! `Dense` as `y = bias; y += x[i]·kernel[i, ·]` row by row, the activations with the same
//! polynomial `exp` as the runtime's softmax (so no libm is needed, even in C).

mod c;
mod rust;

pub use c::c;
pub use rust::rust;

use mlp_spec::ir::{self, Activation};
use mlp_spec::plan::{BufferId, DenseWeights, OpKind, Plan, PlanError, TensorId, Value};
use thiserror::Error;

/// The trained values an export compiles in.
#[derive(Debug, Clone)]
pub struct Weights<'a> {
    /// The trainable parameters (the layout's `params`).
    pub params: &'a [f32],
    /// The non-trainable state (moving statistics).
    pub state: &'a [f32],
    /// The plan's folded kernels and biases, by buffer (what `Network` computes before an
    /// inference forward).
    pub folded: Vec<(BufferId, &'a [f32])>,
}

/// What the generated file's header says about where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// The spec's path as the user named it.
    pub source_name: String,
    /// The checkpoint's sha256, hex.
    pub checkpoint_sha256: String,
}

/// Why a model cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExportError {
    /// The IR cannot be planned.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The model uses something this export format cannot express.
    #[error("cannot export `{model}`: {what}")]
    Unsupported {
        /// The model.
        model: String,
        /// What.
        what: String,
    },
    /// The weights do not fit the model (another model's checkpoint).
    #[error("the weights do not fit model `{model}`: {problem}")]
    Weights {
        /// The model.
        model: String,
        /// What is missing or of the wrong length.
        problem: String,
    },
}

/// Where a step reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The caller's input row.
    Input,
    /// `scratch[..half]`.
    A,
    /// `scratch[half..]`.
    B,
    /// The caller's output row.
    Output,
}

/// One step of an exported forward pass.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// `dst = act(src · kernel + bias)`.
    Dense {
        /// Input features.
        inputs: usize,
        /// Units.
        units: usize,
        /// The kernel's static name.
        kernel: String,
        /// The bias's static name, if any.
        bias: Option<String>,
        /// Applied after.
        act: Activation,
    },
    /// `BatchNorm` on its moving statistics, `rows` rows of `features` per sample:
    /// `y = x·inv + shift`, with `inv = gamma / sqrt(moving_var + epsilon)` and
    /// `shift = beta - moving_mean·inv` computed at export time in f32, as the runtime
    /// computes them.
    BatchNorm {
        /// Rows per sample.
        rows: usize,
        /// Features.
        features: usize,
        /// The static name of `inv`.
        inv: String,
        /// The static name of `shift`.
        shift: String,
    },
    /// `LeakyReLU(slope)` over `n` floats.
    LeakyRelu {
        /// Floats.
        n: usize,
        /// Slope.
        slope: f32,
    },
    /// An activation over `rows` rows of `cols`.
    Activation {
        /// Rows per sample.
        rows: usize,
        /// Columns.
        cols: usize,
        /// The function.
        act: Activation,
    },
    /// `dst = src·scale + offset` over `n` floats.
    Rescale {
        /// Floats.
        n: usize,
        /// Multiplier.
        scale: f32,
        /// Offset.
        offset: f32,
    },
    /// `dst = src` over `n` floats (the last step, into the output).
    Copy {
        /// Floats.
        n: usize,
    },
}

/// A step with its places and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What it computes.
    pub kind: StepKind,
    /// Its input.
    pub src: Place,
    /// Its output.
    pub dst: Place,
    /// Floats it writes.
    pub len: usize,
    /// The layer's name.
    pub layer: String,
    /// Its spec line.
    pub line: u32,
}

/// A static weight array.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Its name (`DENSE_KERNEL`, `DENSE_1_FOLDED_BIAS`).
    pub name: String,
    /// What it is, for its doc comment.
    pub doc: String,
    /// The values.
    pub values: Vec<f32>,
}

/// A forward pass lowered for export (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The model's name.
    pub name: String,
    /// Features of one input sample.
    pub inputs: usize,
    /// Floats of one output sample.
    pub outputs: usize,
    /// Floats of scratch half `A`.
    pub half_a: usize,
    /// Floats of scratch half `B`.
    pub half_b: usize,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The activation `predict` ends with over the output: the softmax or sigmoid of a
    /// logits head (whose loss applied it in training), else none.
    pub head: Option<Activation>,
    /// The weights, in first-use order.
    pub arrays: Vec<Array>,
    /// Parameters of the model (Keras's count).
    pub params: usize,
}

impl Program {
    /// Floats of scratch the caller provides.
    #[must_use]
    pub fn scratch(&self) -> usize {
        (self.half_a + self.half_b).max(1)
    }

    /// Bytes of weights (flash, on a device).
    #[must_use]
    pub fn weight_bytes(&self) -> usize {
        4 * self.arrays.iter().map(|a| a.values.len()).sum::<usize>()
    }

    /// Bytes of RAM a call needs besides the input and output: the scratch.
    #[must_use]
    pub fn ram_bytes(&self) -> usize {
        4 * self.scratch()
    }
}

/// Lowers `model`'s inference plan with `weights` (see the module docs).
///
/// # Errors
/// [`ExportError`] when the model cannot be planned or the weights do not fit it.
pub fn program(model: &ir::Model, weights: &Weights) -> Result<Program, ExportError> {
    let plan = Plan::new(model)?;
    let bad = |problem: String| ExportError::Weights {
        model: model.name.clone(),
        problem,
    };
    if weights.params.len() != plan.layout.trainable_len
        || weights.state.len() != plan.layout.state_len
    {
        return Err(bad(format!(
            "{} parameters and {} state values, the model has {} and {}",
            weights.params.len(),
            weights.state.len(),
            plan.layout.trainable_len,
            plan.layout.state_len
        )));
    }
    let mut lower = Lower {
        plan: &plan,
        model,
        weights,
        arrays: Vec::new(),
        places: Vec::new(),
        steps: Vec::new(),
        half: [0, 0],
    };
    for op in &plan.infer {
        lower.op(&op.kind, op.layer, op.line)?;
    }
    let head = plan.head;
    let last = lower.place(Value::Buffer(head.out));
    let outputs = head.units;
    let layer = model
        .layers
        .last()
        .map(|l| l.name.clone())
        .unwrap_or_default();
    let line = model.layers.last().map_or(0, |l| l.line);
    match lower.steps.last_mut() {
        // The last step writes its result straight into the output.
        Some(step) if step.dst == last && last != Place::Input => step.dst = Place::Output,
        _ => lower.steps.push(Step {
            kind: StepKind::Copy { n: outputs },
            src: last,
            dst: Place::Output,
            len: outputs,
            layer,
            line,
        }),
    }
    Ok(Program {
        name: model.name.clone(),
        inputs: model.input_size(),
        outputs,
        half_a: lower.half[0],
        half_b: lower.half[1],
        steps: lower.steps,
        head: head
            .logits
            .filter(|_| head.from_logits)
            .map(mlp_spec::plan::Logits::activation),
        arrays: lower.arrays,
        params: model.params.total,
    })
}

/// The state of one lowering.
struct Lower<'a> {
    plan: &'a Plan,
    model: &'a ir::Model,
    weights: &'a Weights<'a>,
    arrays: Vec<Array>,
    /// Where each buffer's value lives.
    places: Vec<(BufferId, Place)>,
    steps: Vec<Step>,
    /// Floats of each scratch half.
    half: [usize; 2],
}

impl Lower<'_> {
    fn place(&self, v: Value) -> Place {
        match v {
            Value::Input => Place::Input,
            Value::Buffer(b) => self
                .places
                .iter()
                .rev()
                .find(|(id, _)| *id == b)
                .map_or(Place::Input, |(_, p)| *p),
        }
    }

    /// The scratch half a step reading `src` writes (the other one), sized for `len`.
    fn dst_for(&mut self, src: Place, len: usize) -> Place {
        let (place, index) = match src {
            Place::A => (Place::B, 1),
            Place::B | Place::Input | Place::Output => (Place::A, 0),
        };
        self.half[index] = self.half[index].max(len);
        place
    }

    fn tensor(&mut self, t: TensorId) -> String {
        let info = self.plan.tensor(t);
        let name = info.name.replace('.', "_").to_uppercase();
        if !self.arrays.iter().any(|a| a.name == name) {
            let values = if info.trainable {
                &self.weights.params[info.range()]
            } else {
                &self.weights.state[info.range()]
            };
            self.arrays.push(Array {
                doc: format!("`{}` `{:?}`.", info.name, info.shape),
                name: name.clone(),
                values: values.to_vec(),
            });
        }
        name
    }

    fn folded(&mut self, b: BufferId) -> Result<String, ExportError> {
        let buffer = self.plan.buffer(b);
        let name = buffer.name.to_uppercase();
        let values = self
            .weights
            .folded
            .iter()
            .find(|(id, _)| *id == b)
            .map(|(_, v)| *v)
            .filter(|v| v.len() == buffer.floats(1))
            .ok_or_else(|| ExportError::Weights {
                model: self.model.name.clone(),
                problem: format!("no folded `{}` of {} floats", buffer.name, buffer.floats(1)),
            })?;
        if !self.arrays.iter().any(|a| a.name == name) {
            self.arrays.push(Array {
                doc: format!(
                    "`{}`: a `BatchNorm` folded in, as `Network` folds it.",
                    buffer.name
                ),
                name: name.clone(),
                values: values.to_vec(),
            });
        }
        Ok(name)
    }

    fn push(
        &mut self,
        kind: StepKind,
        src: Value,
        dst: BufferId,
        len: usize,
        layer: usize,
        line: u32,
    ) {
        let src = self.place(src);
        let place = self.dst_for(src, len);
        self.places.push((dst, place));
        self.steps.push(Step {
            kind,
            src,
            dst: place,
            len,
            layer: self.model.layers[layer].name.clone(),
            line,
        });
    }

    fn op(&mut self, op: &OpKind, layer: usize, line: u32) -> Result<(), ExportError> {
        match op {
            // A copy (Dropout in inference, a Flatten) renames: nothing to run.
            OpKind::Copy { src, dst, .. } => {
                let place = self.place(*src);
                self.places.push((*dst, place));
            }
            OpKind::Dense(d) => {
                let (kernel, bias) = match d.weights {
                    DenseWeights::Params { kernel, bias } => {
                        (self.tensor(kernel), bias.map(|b| self.tensor(b)))
                    }
                    DenseWeights::Folded { kernel, bias, .. } => {
                        (self.folded(kernel)?, Some(self.folded(bias)?))
                    }
                };
                let kind = StepKind::Dense {
                    inputs: d.inputs,
                    units: d.units,
                    kernel,
                    bias,
                    act: d.act,
                };
                self.push(kind, d.src, d.dst, d.units, layer, line);
            }
            OpKind::BatchNormInfer(b) => {
                let p = self.weights.params;
                let s = self.weights.state;
                let gamma = &p[self.plan.range(b.gamma)];
                let beta = &p[self.plan.range(b.beta)];
                let mm = &s[self.plan.range(b.moving_mean)];
                let mv = &s[self.plan.range(b.moving_variance)];
                // The runtime's `batch_norm_forward_infer` computes these per row, in f32.
                let inv: Vec<f32> = (0..b.features)
                    .map(|f| gamma[f] / (mv[f] + b.epsilon).sqrt())
                    .collect();
                let shift: Vec<f32> = (0..b.features).map(|f| beta[f] - mm[f] * inv[f]).collect();
                let name = self.model.layers[layer].name.to_uppercase();
                let (inv_name, shift_name) = (format!("{name}_INV"), format!("{name}_SHIFT"));
                self.arrays.push(Array {
                    name: inv_name.clone(),
                    doc: format!(
                        "`gamma / sqrt(moving_variance + epsilon)` of `{}`.",
                        self.model.layers[layer].name
                    ),
                    values: inv,
                });
                self.arrays.push(Array {
                    name: shift_name.clone(),
                    doc: format!(
                        "`beta - moving_mean·inv` of `{}`.",
                        self.model.layers[layer].name
                    ),
                    values: shift,
                });
                let kind = StepKind::BatchNorm {
                    rows: b.rows,
                    features: b.features,
                    inv: inv_name,
                    shift: shift_name,
                };
                self.push(kind, b.src, b.dst, b.rows * b.features, layer, line);
            }
            OpKind::Normalize {
                src,
                dst,
                n,
                features,
                mean,
                variance,
            } => {
                // As a `BatchNorm` step, `x·inv + shift` with `inv = 1 / max(sqrt(var),
                // 1e-7)`, `shift = -mean·inv`: within an ulp or two of the runtime's
                // `(x - mean) / max(sqrt(var), 1e-7)`.
                let s = self.weights.state;
                let (m, v) = (&s[self.plan.range(*mean)], &s[self.plan.range(*variance)]);
                let inv: Vec<f32> = v
                    .iter()
                    .map(|&var| 1.0 / mlp_runtime_free_divisor(var))
                    .collect();
                let shift: Vec<f32> = m.iter().zip(&inv).map(|(&mu, &i)| -mu * i).collect();
                let layer_name = self.model.layers[layer].name.clone();
                let name = layer_name.to_uppercase();
                let (inv_name, shift_name) = (format!("{name}_INV"), format!("{name}_SHIFT"));
                self.arrays.push(Array {
                    name: inv_name.clone(),
                    doc: format!("`1 / max(sqrt(variance), 1e-7)` of `{layer_name}`."),
                    values: inv,
                });
                self.arrays.push(Array {
                    name: shift_name.clone(),
                    doc: format!("`-mean·inv` of `{layer_name}`."),
                    values: shift,
                });
                let kind = StepKind::BatchNorm {
                    rows: n / features.max(&1),
                    features: *features,
                    inv: inv_name,
                    shift: shift_name,
                };
                self.push(kind, *src, *dst, *n, layer, line);
            }
            OpKind::LeakyRelu { src, dst, n, slope } => {
                let kind = StepKind::LeakyRelu {
                    n: *n,
                    slope: *slope,
                };
                self.push(kind, *src, *dst, *n, layer, line);
            }
            OpKind::Activation {
                src,
                dst,
                rows,
                cols,
                act,
            } => {
                let kind = StepKind::Activation {
                    rows: *rows,
                    cols: *cols,
                    act: *act,
                };
                self.push(kind, *src, *dst, rows * cols, layer, line);
            }
            OpKind::Rescale {
                src,
                dst,
                n,
                scale,
                offset,
            } => {
                let kind = StepKind::Rescale {
                    n: *n,
                    scale: *scale,
                    offset: *offset,
                };
                self.push(kind, *src, *dst, *n, layer, line);
            }
            // Training-only ops never appear in the inference sequence (plan invariant 4).
            OpKind::DenseBatchNorm { .. } | OpKind::Dropout { .. } | OpKind::BatchNormTrain(_) => {}
        }
        Ok(())
    }
}

pub(crate) use crate::lit::act_name;

/// Refuses a program with an activation the standalone code cannot compute without libm
/// (gelu needs `erf`, softplus `log1p`); ONNX has operators for them.
fn check_code_activations(model: &str, p: &Program) -> Result<(), ExportError> {
    for step in &p.steps {
        let act = match &step.kind {
            StepKind::Dense { act, .. } | StepKind::Activation { act, .. } => *act,
            StepKind::BatchNorm { .. }
            | StepKind::LeakyRelu { .. }
            | StepKind::Rescale { .. }
            | StepKind::Copy { .. } => continue,
        };
        if matches!(act, Activation::Gelu { .. } | Activation::Softplus) {
            return Err(ExportError::Unsupported {
                model: model.to_owned(),
                what: format!(
                    "`{}` uses {}, which the standalone Rust and C exports do not compute yet (export it as ONNX)",
                    step.layer,
                    act_name(act)
                ),
            });
        }
    }
    Ok(())
}

/// Keras's `Normalization` divisor, `max(sqrt(variance), 1e-7)` (the runtime's
/// `layers::normalization::divisor`; this crate does not depend on the runtime).
fn mlp_runtime_free_divisor(variance: f32) -> f32 {
    variance.sqrt().max(1e-7)
}
