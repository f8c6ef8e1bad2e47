//! ONNX export of an `mlp` model: its inference forward as an ONNX graph (opset 17, IR
//! version 8), the trained weights as initializers. And the reverse, [`import()`]: an MLP
//! that `PyTorch`, Keras or `mlp export` wrote to ONNX, as a `.mlp` spec and its weights
//! (see the [`import`](mod@import) module).
//!
//! The graph is the lowering `mlp export` uses for Rust and C ([`mlp_codegen::export`]):
//! the plan's inference sequence with every `BatchNorm` folded as `Network` folds it (or,
//! where none is folded, as `x·inv + shift` with `inv` and `shift` computed in f32 as the
//! runtime computes them), Dropout gone. Each step becomes standard operators:
//!
//! | step | ONNX |
//! |---|---|
//! | `Dense` | `Gemm` (or `MatMul` without a bias), then its activation |
//! | `BatchNorm` (not folded) | `Mul`, `Add` (broadcast over the last axis) |
//! | `LeakyReLU` | `LeakyRelu(alpha)` |
//! | activation | `Relu`, `Sigmoid`, `Tanh`, `Softmax(axis = -1)` |
//! | `Rescale` | `Mul`, `Add` |
//!
//! The input is `input` `[batch, …the spec's input shape]` (flattened by a leading
//! `Flatten` when it has more than one axis), the output `output` `[batch, units]`: the
//! probabilities after a final softmax, as `Network::forward` returns them. The batch
//! extent is named (`batch`), so any batch size runs.

#![forbid(unsafe_code)]

pub mod import;
pub mod proto;

pub use import::{import, model_name_from, ImportError, ImportOptions, Imported};

use mlp_codegen::export::{self, ExportError, Place, Program, StepKind, Weights};
use mlp_spec::ir::{self, Activation};
use prost::Message;
use proto::{
    attribute_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto, TensorTypeProto,
    TypeProto, ValueInfoProto, FLOAT,
};

/// The ONNX operator set the graph uses.
pub const OPSET: i64 = 17;

/// `model` with `weights` as ONNX bytes (see the crate docs); `metadata` goes into the
/// model's `metadata_props` (e.g. the spec's path and the checkpoint's sha256).
///
/// # Errors
/// [`ExportError`] when the model cannot be planned or the weights do not fit it.
pub fn export(
    model: &ir::Model,
    weights: &Weights,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, ExportError> {
    let program = export::program(model, weights)?;
    let graph = graph(model, &program);
    let onnx = ModelProto {
        ir_version: 8,
        producer_name: "mlp".to_owned(),
        producer_version: env!("CARGO_PKG_VERSION").to_owned(),
        doc_string: format!("{}, inference only, exported by mlp.", model.name),
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        metadata_props: metadata
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: (*k).to_owned(),
                value: (*v).to_owned(),
            })
            .collect(),
    };
    Ok(onnx.encode_to_vec())
}

/// A float tensor value `[batch, dims…]`.
fn value(name: &str, dims: &[usize]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        dim_value: None,
        dim_param: Some("batch".to_owned()),
    }];
    dim.extend(dims.iter().map(|&d| Dimension {
        dim_value: Some(d as i64),
        dim_param: None,
    }));
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

fn tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    }
}

/// Builds the nodes and initializers.
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    count: usize,
}

impl Builder {
    fn fresh(&mut self, base: &str) -> String {
        self.count += 1;
        format!("{base}_{}", self.count)
    }

    fn node(&mut self, op: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) {
        let name = self.fresh(&op.to_lowercase());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![output.to_owned()],
            name,
            op_type: op.to_owned(),
            attribute: attributes,
            ..NodeProto::default()
        });
    }

    fn constant(&mut self, base: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(base);
        self.initializers.push(tensor(&name, dims, values));
        name
    }

    /// `act(x)` as a new value (or `x` itself for linear).
    fn activation(&mut self, act: Activation, x: &str, base: &str) -> String {
        let (op, attributes) = match act {
            Activation::Linear => return x.to_owned(),
            // A leaky ReLU of slope 0 is a ReLU (and ONNX would read alpha 0 as unset).
            Activation::Relu
            | Activation::LeakyRelu {
                negative_slope: 0.0,
            } => ("Relu", Vec::new()),
            Activation::Sigmoid => ("Sigmoid", Vec::new()),
            Activation::Tanh => ("Tanh", Vec::new()),
            Activation::Softmax => ("Softmax", vec![int("axis", -1)]),
            Activation::Softplus => ("Softplus", Vec::new()),
            Activation::Elu { alpha } => ("Elu", vec![float("alpha", alpha)]),
            // TensorFlow's constants (ONNX's defaults are the same numbers, rounded).
            Activation::Selu => (
                "Selu",
                vec![float("alpha", 1.673_263_2), float("gamma", 1.050_701)],
            ),
            Activation::LeakyRelu { negative_slope } => {
                ("LeakyRelu", vec![float("alpha", negative_slope)])
            }
            Activation::Silu => {
                let s = self.fresh(base);
                self.node("Sigmoid", &[x], &s, Vec::new());
                let out = self.fresh(base);
                self.node("Mul", &[x, &s], &out, Vec::new());
                return out;
            }
            Activation::Gelu { approximate } => return self.gelu(x, base, approximate),
        };
        let out = self.fresh(base);
        self.node(op, &[x], &out, attributes);
        out
    }

    /// `0.5·x·(1 + erf(x/√2))`, or the tanh form, from opset-17 operators.
    fn gelu(&mut self, x: &str, base: &str, approximate: bool) -> String {
        let half = self.constant(&format!("{base}_half"), &[], &[0.5]);
        let one = self.constant(&format!("{base}_one"), &[], &[1.0]);
        let inner = self.fresh(base);
        let squashed = self.fresh(base);
        if approximate {
            let cubic = self.constant(&format!("{base}_cubic"), &[], &[0.044_715]);
            let scale = self.constant(&format!("{base}_scale"), &[], &[0.797_884_6]);
            let (x2, x3, t, u) = (
                self.fresh(base),
                self.fresh(base),
                self.fresh(base),
                self.fresh(base),
            );
            self.node("Mul", &[x, x], &x2, Vec::new());
            self.node("Mul", &[&x2, x], &x3, Vec::new());
            self.node("Mul", &[&x3, &cubic], &t, Vec::new());
            self.node("Add", &[x, &t], &u, Vec::new());
            self.node("Mul", &[&u, &scale], &inner, Vec::new());
            self.node("Tanh", &[&inner], &squashed, Vec::new());
        } else {
            let root2 = self.constant(&format!("{base}_sqrt2"), &[], &[std::f32::consts::SQRT_2]);
            self.node("Div", &[x, &root2], &inner, Vec::new());
            self.node("Erf", &[&inner], &squashed, Vec::new());
        }
        let (plus, halfx, out) = (self.fresh(base), self.fresh(base), self.fresh(base));
        self.node("Add", &[&squashed, &one], &plus, Vec::new());
        self.node("Mul", &[x, &half], &halfx, Vec::new());
        self.node("Mul", &[&halfx, &plus], &out, Vec::new());
        out
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_owned(),
        i,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.to_owned(),
        f,
        r#type: attribute_type::FLOAT,
        ..AttributeProto::default()
    }
}

fn graph(model: &ir::Model, p: &Program) -> GraphProto {
    let mut b = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
        count: 0,
    };
    // Kernels get their `[inputs, units]` shape; every other array stays 1-D.
    let mut kernels = Vec::new();
    for step in &p.steps {
        if let StepKind::Dense {
            inputs,
            units,
            kernel,
            ..
        } = &step.kind
        {
            kernels.push((kernel.clone(), [*inputs, *units]));
        }
    }
    for a in &p.arrays {
        match kernels.iter().find(|(k, _)| *k == a.name) {
            Some((_, dims)) => b.initializers.push(tensor(&a.name, dims, &a.values)),
            None => b
                .initializers
                .push(tensor(&a.name, &[a.values.len()], &a.values)),
        }
    }
    // Where each place's current value is.
    let mut names: [String; 4] = Default::default();
    let slot = |p: Place| match p {
        Place::Input => 0,
        Place::A => 1,
        Place::B => 2,
        Place::Output => 3,
    };
    names[0] = if model.input.len() > 1 {
        b.node("Flatten", &["input"], "input_flat", vec![int("axis", 1)]);
        "input_flat".to_owned()
    } else {
        "input".to_owned()
    };
    for step in &p.steps {
        let x = names[slot(step.src)].clone();
        let base = step.layer.clone();
        let y = match &step.kind {
            StepKind::Dense {
                kernel, bias, act, ..
            } => {
                let z = b.fresh(&base);
                match bias {
                    Some(bias) => b.node("Gemm", &[&x, kernel, bias], &z, Vec::new()),
                    None => b.node("MatMul", &[&x, kernel], &z, Vec::new()),
                }
                b.activation(*act, &z, &base)
            }
            StepKind::BatchNorm { inv, shift, .. } => {
                let scaled = b.fresh(&base);
                b.node("Mul", &[&x, inv], &scaled, Vec::new());
                let out = b.fresh(&base);
                b.node("Add", &[&scaled, shift], &out, Vec::new());
                out
            }
            StepKind::LeakyRelu { slope, .. } => {
                let out = b.fresh(&base);
                if *slope == 0.0 {
                    b.node("Relu", &[&x], &out, Vec::new());
                } else {
                    b.node("LeakyRelu", &[&x], &out, vec![float("alpha", *slope)]);
                }
                out
            }
            StepKind::Activation { act, .. } => b.activation(*act, &x, &base),
            StepKind::Rescale { scale, offset, .. } => {
                let s = b.constant(&format!("{base}_scale"), &[], &[*scale]);
                let o = b.constant(&format!("{base}_offset"), &[], &[*offset]);
                let scaled = b.fresh(&base);
                b.node("Mul", &[&x, &s], &scaled, Vec::new());
                let out = b.fresh(&base);
                b.node("Add", &[&scaled, &o], &out, Vec::new());
                out
            }
            StepKind::Copy { .. } => x,
        };
        names[slot(step.dst)] = y;
    }
    let mut last = names[3].clone();
    if let Some(head) = p.head {
        last = b.activation(head, &last, "probabilities");
    }
    b.node("Identity", &[&last], "output", Vec::new());
    GraphProto {
        node: b.nodes,
        name: model.name.clone(),
        initializer: b.initializers,
        doc_string: String::new(),
        input: vec![value("input", &model.input)],
        output: vec![value("output", &[p.outputs])],
    }
}
