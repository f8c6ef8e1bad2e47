//! ONNX import: an MLP exported by `PyTorch` (`torch.onnx.export` of an `nn.Sequential`),
//! by Keras (`model.export(format = "onnx")`, tf2onnx) or by `mlp export` back into a
//! readable `.mlp` spec and its weights.
//!
//! [`import`] runs these passes, in order:
//!
//! 1. **decode**: the bytes as an `onnx.ModelProto` (`prost`, which checks every length
//!    against the bytes present and nests at most 100 messages deep), after a scan of the
//!    wire format has bounded the memory the decoded messages take (an empty message is
//!    2 bytes in the file and a hundred in memory: at most [`MAX_DECODED_RATIO`] times the
//!    file, plus 64 MiB). A tensor is read only
//!    when a supported node uses it, and only after the product of its dimensions (checked
//!    arithmetic, at most [`MAX_ELEMENTS`]) matches the data the file holds for it, so no
//!    allocation is sized by a claim.
//! 2. **graph**: one graph input besides the initializers (`[batch, …]`, float, fixed
//!    extents after the batch), one output; every value produced once; every node input
//!    provided (no dangling names); a topological order exists (no cycle). Constants are
//!    the initializers, `Constant` nodes and `Identity` nodes of constants.
//! 3. **chain**: from the input, each computed value feeds exactly one node until the
//!    output; no node is left off the path. A value feeding several nodes is a branch,
//!    refused, unless those nodes are an activation written out element-wise (silu as
//!    `x·sigmoid(x)`, gelu as `0.5·x·(1 + erf(x/√2))` or its tanh form, in any order of
//!    operations): a region of `Mul`, `Div`, `Add`, `Sub`, `Pow`, `Erf`, `Tanh`,
//!    `Sigmoid` on scalar constants that joins again, told by what it computes. Each node becomes, or merges into, a layer:
//!
//! | ONNX | layer |
//! |---|---|
//! | `Gemm` (`transA = 0`; `transB`, `alpha`, `beta` applied), `MatMul` by a constant, then `Add` of a `[units]` constant | `Dense` (kernel `[in, units]`: `PyTorch`'s `[out, in]` transposed) |
//! | `Relu`, `Sigmoid`, `Tanh`, `Softmax` (last axis), `Elu`, `Selu`, `Softplus`, `Gelu`, `LeakyRelu`, element-wise silu and gelu | the `Dense`'s `activation` when right after one, else an activation layer |
//! | `BatchNormalization` (inference) | `BatchNorm(momentum, epsilon)` with its own values, the running statistics as `moving_mean` / `moving_variance` |
//! | `Mul` then `Add` of `[features]` constants (how Keras, tf2onnx and `mlp export` write an inference `BatchNorm` or `Normalization`) | folded into the `Dense` before it (if linear) or after it, with a note |
//! | `Mul`, `Add`, `Sub` of a scalar | `Rescale(scale, offset)` |
//! | `Flatten` (axis 1), `Reshape` to `[batch, n]` | `Flatten` |
//! | `Dropout` | `Dropout(rate)` |
//! | `Identity`, `Cast` to float | nothing |
//!
//!    Anything else is an [`ImportError::Unsupported`] naming the node, its op and this
//!    list; never an approximation.
//! 4. **spec**: the layers as `.mlp` text (a `train` block guessed from the output layer:
//!    the file does not say how the model was trained), formatted as `mlp fmt` does,
//!    compiled by `mlp-spec` and checked to mean exactly the layers read (every number
//!    round-trips bit for bit); the weights placed in the compiled model's parameter
//!    layout.

#![allow(
    clippy::float_cmp,
    reason = "values read from the file are compared with exact constants (1, 0, selu's): a near match would be an approximation"
)]

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use mlp_spec::ir::{self, Activation, LayerKind};
use mlp_spec::layout::{ParamLayout, Role};
use prost::Message;
use thiserror::Error;

use crate::proto::{
    attribute_type, AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, BOOL, EXTERNAL,
    FLOAT, INT32, INT64,
};

/// The most elements one tensor may claim (2^32, `mlp-spec`'s largest model).
pub const MAX_ELEMENTS: u64 = 1 << 32;

/// What the import knows, for the message of an unsupported op.
pub const SUPPORTED: &str = "Gemm, MatMul, Add, Sub, Mul (by a constant), Relu, Sigmoid, Tanh, \
     Softmax, Elu, Selu, Softplus, Gelu, LeakyRelu, silu and gelu written out element-wise, \
     BatchNormalization, Flatten, Reshape (to [batch, n]), Dropout, Identity, Cast (to float) \
     and Constant";

/// How to import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The model's name in the spec [default: `Imported`]; see [`model_name_from`].
    pub name: Option<String>,
    /// Where the file came from (its name), for the spec's doc comment [default: none].
    pub source_name: String,
}

/// An imported model.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The `.mlp` spec text, in `mlp fmt`'s layout.
    pub source: String,
    /// The compiled spec.
    pub model: ir::Model,
    /// The trainable parameters, in the model's [`ParamLayout`] order.
    pub params: Vec<f32>,
    /// The non-trainable state (moving statistics), in layout order.
    pub state: Vec<f32>,
    /// What the import did that a reader should know (a scale and shift folded into a
    /// `Dense`, `alpha`/`beta` multiplied in), one sentence each.
    pub notes: Vec<String>,
}

/// Why a file cannot be imported: the first problem found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// The bytes are not an ONNX model.
    #[error("not an ONNX model (truncated or corrupt protobuf): {0}")]
    Decode(String),
    /// The messages in the file would take far more memory than the file: many empty ones.
    #[error("its {bytes} bytes would decode into about {decoded} bytes of messages (many of them empty), more than the {limit} allowed")]
    Inflated {
        /// The file's size.
        bytes: usize,
        /// The decoded size estimated by a scan of the wire format.
        decoded: usize,
        /// The most allowed.
        limit: usize,
    },
    /// The model holds no graph.
    #[error("the model has no graph")]
    NoGraph,
    /// The graph does not have one input besides its initializers.
    #[error("the graph has {count} inputs besides its initializers ({names}); an MLP has one")]
    Inputs {
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// The graph does not have one output.
    #[error("the graph has {count} outputs ({names}); an MLP has one")]
    Outputs {
        /// How many.
        count: usize,
        /// Their names.
        names: String,
    },
    /// The graph's input or output is not a float tensor `[batch, …]` of known extents.
    #[error("graph {which} `{name}`: {problem}")]
    Signature {
        /// `input` or `output`.
        which: &'static str,
        /// Its name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// Two nodes (or a node and an initializer) produce the same value.
    #[error("value `{value}` is produced twice (by {first} and by {second})")]
    Duplicate {
        /// The value.
        value: String,
        /// The first producer.
        first: String,
        /// The second.
        second: String,
    },
    /// A node reads a value nothing provides.
    #[error(
        "node `{node}` ({op}) reads `{value}`, which no node, initializer or graph input provides"
    )]
    Dangling {
        /// The node.
        node: String,
        /// Its op.
        op: String,
        /// The missing value.
        value: String,
    },
    /// The nodes cannot be ordered.
    #[error("the graph has a cycle through node `{node}` ({op})")]
    Cycle {
        /// A node on the cycle (the first in file order that cannot be ordered).
        node: String,
        /// Its op.
        op: String,
    },
    /// A computed value feeds several nodes, or a node reads several computed values.
    #[error("{0}; mlp imports a plain chain of layers")]
    Branch(String),
    /// A node is neither a constant nor on the path from the input to the output.
    #[error("node `{node}` ({op}) is not on the path from the graph's input to its output")]
    Stray {
        /// The node.
        node: String,
        /// Its op.
        op: String,
    },
    /// The path from the input ends before the graph's output.
    #[error("value `{value}` feeds no node and is not the graph's output `{output}`")]
    Unreached {
        /// Where the path stops.
        value: String,
        /// The graph's output.
        output: String,
    },
    /// An op the import does not know.
    #[error("node `{node}`: op `{op}` is not supported; mlp imports {SUPPORTED}")]
    Unsupported {
        /// The node.
        node: String,
        /// Its op (with its domain, if not the default one).
        op: String,
    },
    /// A known op used in a way no layer expresses, or with bad attributes or constants.
    #[error("node `{node}` ({op}): {problem}")]
    Node {
        /// The node.
        node: String,
        /// Its op.
        op: String,
        /// What is wrong.
        problem: String,
    },
    /// A tensor's data does not match its claims.
    #[error("tensor `{name}`: {problem}")]
    Tensor {
        /// The tensor.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The model name asked for is not one a spec can use.
    #[error("`{0}` is not a model name: use letters, digits and `_`, not starting with a digit")]
    Name(String),
    /// The generated spec failed to compile or means something else than what was read:
    /// a bug of the importer (or a model beyond the language's limits).
    #[error("the spec made from the graph is not valid: {0}")]
    Spec(String),
}

/// Imports the ONNX model in `bytes` (see the module docs).
///
/// # Errors
/// The first problem found, as an [`ImportError`]. Never panics, whatever the bytes.
pub fn import(bytes: &[u8], options: &ImportOptions) -> Result<Imported, ImportError> {
    let name = match &options.name {
        Some(n) if is_model_name(n) => n.clone(),
        Some(n) => return Err(ImportError::Name(n.clone())),
        None => "Imported".to_owned(),
    };
    check_decoded_size(bytes)?;
    let model = ModelProto::decode(bytes).map_err(|e| ImportError::Decode(e.to_string()))?;
    let graph = model.graph.as_ref().ok_or(ImportError::NoGraph)?;
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(1, |o| o.version);
    let g = Graph::new(graph, opset)?;
    let mut chain = Chain {
        g: &g,
        shape: g.input_shape.clone(),
        layers: Vec::new(),
        notes: Vec::new(),
    };
    chain.walk()?;
    let Chain {
        layers, mut notes, ..
    } = chain;
    let layers = fold_affines(layers, &mut notes)?;
    if layers.is_empty() {
        return Err(ImportError::Spec(
            "the graph computes nothing (no layer between input and output)".to_owned(),
        ));
    }
    let about = About {
        source: &options.source_name,
        producer: &model.producer_name,
        version: &model.producer_version,
        opset,
    };
    let text = spec_text(&name, &g.input_shape, &layers, &about);
    let source = mlp_spec::format_source(&text)
        .map_err(|d| ImportError::Spec(d.render("import.mlp", &text)))?;
    let spec = mlp_spec::compile(&source)
        .map_err(|d| ImportError::Spec(d.render("import.mlp", &source)))?;
    let compiled = spec
        .models
        .into_iter()
        .next()
        .ok_or_else(|| ImportError::Spec("no model".to_owned()))?;
    check_meaning(&compiled, &layers)?;
    let (params, state) = place_weights(&compiled, &layers)?;
    Ok(Imported {
        source,
        model: compiled,
        params,
        state,
        notes,
    })
}

/// A spec model name from a file stem: `torch_mlp` → `TorchMlp`, `2layer` → `M2layer`,
/// and `Imported` when nothing usable is left.
#[must_use]
pub fn model_name_from(stem: &str) -> String {
    let mut out = String::new();
    for word in stem.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        return "Imported".to_owned();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'M');
    }
    out
}

/// Whether `name` is an identifier the spec grammar accepts as a model name.
fn is_model_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(name, "model" | "let" | "input" | "train")
}

// ---------------------------------------------------------------------------------------
// The decoded size

/// Decoded messages may take at most this many times the file's bytes (plus 64 MiB).
pub const MAX_DECODED_RATIO: usize = 4;

/// The messages of `proto.rs`, for the size scan.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    ValueInfo,
    Type,
    TensorType,
    Shape,
    Dimension,
    /// `OperatorSetIdProto`, `StringStringEntryProto`: strings and scalars only.
    Leaf,
}

/// What a field of a message holds, as decoded.
enum Field {
    Message(Kind),
    /// A string or bytes: its length.
    Bytes,
    /// A repeated number of `width` bytes in memory (packed or not).
    Numbers(usize),
    /// Skipped by the decoder, or a plain scalar inside the struct.
    Other,
}

fn field(kind: Kind, number: u64) -> Field {
    use Field::{Bytes, Message, Numbers, Other};
    match (kind, number) {
        (Kind::Model, 7) => Message(Kind::Graph),
        (Kind::Model, 8 | 14) | (Kind::Tensor, 13) => Message(Kind::Leaf),
        (Kind::Graph, 1) => Message(Kind::Node),
        (Kind::Graph | Kind::Attribute, 5) => Message(Kind::Tensor),
        (Kind::Graph, 11 | 12) => Message(Kind::ValueInfo),
        (Kind::Node, 5) => Message(Kind::Attribute),
        (Kind::ValueInfo, 2) => Message(Kind::Type),
        (Kind::Type, 1) => Message(Kind::TensorType),
        (Kind::TensorType, 2) => Message(Kind::Shape),
        (Kind::Shape, 1) => Message(Kind::Dimension),
        (Kind::Model, 2 | 3 | 6)
        | (Kind::Graph, 2 | 10)
        | (Kind::Node, 1 | 2 | 3 | 4 | 6 | 7)
        | (Kind::Attribute, 1 | 4)
        | (Kind::Tensor, 8 | 9 | 12)
        | (Kind::ValueInfo, 1)
        | (Kind::Dimension, 2)
        | (Kind::Leaf, 1 | 2) => Bytes,
        // dims, int64_data, ints (and the names' Vec slots, counted with `Bytes`).
        (Kind::Tensor, 1 | 7) | (Kind::Attribute, 8) => Numbers(8),
        (Kind::Tensor, 4 | 5) | (Kind::Attribute, 7) => Numbers(4),
        _ => Other,
    }
}

fn struct_size(kind: Kind) -> usize {
    use crate::proto::{
        AttributeProto, Dimension, GraphProto, OperatorSetIdProto, TensorShapeProto,
        TensorTypeProto, TypeProto, ValueInfoProto,
    };
    use std::mem::size_of;
    match kind {
        Kind::Model => size_of::<ModelProto>(),
        Kind::Graph => size_of::<GraphProto>(),
        Kind::Node => size_of::<NodeProto>(),
        Kind::Attribute => size_of::<AttributeProto>(),
        Kind::Tensor => size_of::<TensorProto>(),
        Kind::ValueInfo => size_of::<ValueInfoProto>(),
        Kind::Type => size_of::<TypeProto>(),
        Kind::TensorType => size_of::<TensorTypeProto>(),
        Kind::Shape => size_of::<TensorShapeProto>(),
        Kind::Dimension => size_of::<Dimension>(),
        Kind::Leaf => {
            size_of::<OperatorSetIdProto>().max(size_of::<crate::proto::StringStringEntryProto>())
        }
    }
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The bytes the decoded form of message `kind` in `bytes` takes, about (strings and
/// vectors at their length, without allocator slack); `None` when the wire format is
/// broken, which the decoder then reports.
fn decoded_size(kind: Kind, bytes: &[u8]) -> Option<usize> {
    let mut total = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let (number, wire) = (key >> 3, key & 7);
        let f = field(kind, number);
        match wire {
            0 => {
                varint(bytes, &mut at)?;
                if let Field::Numbers(w) = f {
                    total = total.checked_add(w)?;
                }
            }
            1 | 5 => {
                at = at.checked_add(if wire == 1 { 8 } else { 4 })?;
                if let Field::Numbers(w) = f {
                    total = total.checked_add(w)?;
                }
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                let end = at.checked_add(len).filter(|&e| e <= bytes.len())?;
                let body = &bytes[at..end];
                let size = match f {
                    Field::Message(k) => struct_size(k).checked_add(decoded_size(k, body)?)?,
                    // A packed run: at most one number per byte.
                    Field::Numbers(w) => len.checked_mul(w)?,
                    // A string in a `Vec<String>` slot, or bytes.
                    Field::Bytes => len.checked_add(24)?,
                    Field::Other => 0,
                };
                total = total.checked_add(size)?;
                at = end;
            }
            _ => return None,
        }
    }
    (at == bytes.len()).then_some(total)
}

/// Refuses a file whose decoded messages would take more than [`MAX_DECODED_RATIO`]
/// times its size plus 64 MiB, before decoding it.
fn check_decoded_size(bytes: &[u8]) -> Result<(), ImportError> {
    let limit = bytes
        .len()
        .saturating_mul(MAX_DECODED_RATIO)
        .saturating_add(64 << 20);
    match decoded_size(Kind::Model, bytes) {
        Some(decoded) if decoded > limit => Err(ImportError::Inflated {
            bytes: bytes.len(),
            decoded,
            limit,
        }),
        // A broken wire format is left for the decoder to report, in its words.
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// Tensors

/// A decoded constant.
#[derive(Debug, Clone, PartialEq)]
struct Tensor {
    dims: Vec<usize>,
    data: Data,
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl Tensor {
    fn len(&self) -> usize {
        match &self.data {
            Data::F32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }
}

/// A shape for a message: `[2, 3]`, or its first axes and a count when it is long (a
/// file may claim a million axes).
fn dims_text<T: std::fmt::Debug>(dims: &[T]) -> String {
    if dims.len() <= 8 {
        format!("{dims:?}")
    } else {
        format!("{:?} and {} more axes", &dims[..8], dims.len() - 8)
    }
}

fn type_name(t: i32) -> String {
    let name = match t {
        0 => "UNDEFINED",
        1 => "FLOAT",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "STRING",
        9 => "BOOL",
        10 => "FLOAT16",
        11 => "DOUBLE",
        12 => "UINT32",
        13 => "UINT64",
        16 => "BFLOAT16",
        _ => return format!("data type {t}"),
    };
    name.to_owned()
}

/// Decodes `t`, checking its claimed size against the data it holds before allocating.
fn decode_tensor(t: &TensorProto) -> Result<Tensor, ImportError> {
    let bad = |problem: String| ImportError::Tensor {
        name: t.name.clone(),
        problem,
    };
    if t.data_location == EXTERNAL || !t.external_data.is_empty() {
        return Err(bad(
            "its data is stored outside the file (ONNX external data), which mlp does not read"
                .to_owned(),
        ));
    }
    let mut dims = Vec::with_capacity(t.dims.len().min(8));
    let mut elements: u64 = 1;
    for &d in &t.dims {
        let d = u64::try_from(d).map_err(|_| bad(format!("negative dimension {d}")))?;
        elements = elements
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| {
                bad(format!(
                    "its dimensions {} claim more than {MAX_ELEMENTS} elements",
                    dims_text(&t.dims)
                ))
            })?;
        dims.push(usize::try_from(d).map_err(|_| bad(format!("dimension {d} is too large")))?);
    }
    // At most 2^32 elements, so these products fit in u64 and the count in usize.
    let n = usize::try_from(elements).map_err(|_| bad("too many elements".to_owned()))?;
    let short = |present: usize, unit: &str, width: u64| {
        bad(format!(
            "its dimensions {} claim {elements} elements ({} bytes) but it holds {present} {unit}",
            dims_text(&t.dims),
            elements * width
        ))
    };
    let data = match t.data_type {
        FLOAT => {
            if !t.raw_data.is_empty() || t.float_data.is_empty() {
                if t.raw_data.len() as u64 != elements * 4 {
                    return Err(short(t.raw_data.len(), "bytes", 4));
                }
                Data::F32(
                    t.raw_data
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect(),
                )
            } else if t.float_data.len() == n {
                Data::F32(t.float_data.clone())
            } else {
                return Err(short(t.float_data.len(), "floats", 4));
            }
        }
        INT64 => {
            if !t.raw_data.is_empty() || t.int64_data.is_empty() {
                if t.raw_data.len() as u64 != elements * 8 {
                    return Err(short(t.raw_data.len(), "bytes", 8));
                }
                Data::I64(
                    t.raw_data
                        .chunks_exact(8)
                        .map(|c| {
                            i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                        })
                        .collect(),
                )
            } else if t.int64_data.len() == n {
                Data::I64(t.int64_data.clone())
            } else {
                return Err(short(t.int64_data.len(), "integers", 8));
            }
        }
        BOOL => {
            if t.raw_data.len() as u64 != elements {
                return Err(short(t.raw_data.len(), "bytes", 1));
            }
            Data::I64(t.raw_data.iter().map(|&b| i64::from(b)).collect())
        }
        INT32 => {
            if !t.raw_data.is_empty() || t.int32_data.is_empty() {
                if t.raw_data.len() as u64 != elements * 4 {
                    return Err(short(t.raw_data.len(), "bytes", 4));
                }
                Data::I64(
                    t.raw_data
                        .chunks_exact(4)
                        .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                        .collect(),
                )
            } else if t.int32_data.len() == n {
                Data::I64(t.int32_data.iter().map(|&v| i64::from(v)).collect())
            } else {
                return Err(short(t.int32_data.len(), "integers", 4));
            }
        }
        other => {
            return Err(bad(format!(
                "a tensor of type {}; mlp reads FLOAT weights (and INT64 shapes)",
                type_name(other)
            )))
        }
    };
    Ok(Tensor { dims, data })
}

// ---------------------------------------------------------------------------------------
// The graph

/// Who provides a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Input,
    Initializer(usize),
    Node(usize),
}

/// The checked graph (pass 2).
struct Graph<'a> {
    proto: &'a GraphProto,
    opset: i64,
    source: HashMap<&'a str, Source>,
    consumers: HashMap<&'a str, Vec<usize>>,
    /// Whether each node computes a constant (`Constant`, `Identity` of a constant).
    constant: Vec<bool>,
    input: &'a str,
    input_shape: Vec<usize>,
    output: &'a str,
    output_units: Option<usize>,
}

fn node_label(n: &NodeProto, index: usize) -> String {
    if n.name.is_empty() {
        format!("#{index}")
    } else {
        n.name.clone()
    }
}

fn op_label(n: &NodeProto) -> String {
    if n.domain.is_empty() || n.domain == "ai.onnx" {
        n.op_type.clone()
    } else {
        format!("{}.{}", n.domain, n.op_type)
    }
}

impl<'a> Graph<'a> {
    fn new(proto: &'a GraphProto, opset: i64) -> Result<Graph<'a>, ImportError> {
        let mut source: HashMap<&str, Source> = HashMap::new();
        let describe = |s: Source| match s {
            Source::Input => "the graph input".to_owned(),
            Source::Initializer(i) => format!("initializer #{i}"),
            Source::Node(i) => format!("node `{}`", node_label(&proto.node[i], i)),
        };
        let add = |source: &mut HashMap<&'a str, Source>, name: &'a str, s: Source| {
            if let Some(&first) = source.get(name) {
                return Err(ImportError::Duplicate {
                    value: name.to_owned(),
                    first: describe(first),
                    second: describe(s),
                });
            }
            source.insert(name, s);
            Ok(())
        };
        for (i, t) in proto.initializer.iter().enumerate() {
            add(&mut source, &t.name, Source::Initializer(i))?;
        }
        // Older exporters list the initializers among the inputs too.
        let inputs: Vec<_> = proto
            .input
            .iter()
            .filter(|v| !source.contains_key(v.name.as_str()))
            .collect();
        if inputs.len() != 1 {
            return Err(ImportError::Inputs {
                count: inputs.len(),
                names: quote_list(inputs.iter().map(|v| v.name.as_str())),
            });
        }
        let input = inputs[0];
        add(&mut source, &input.name, Source::Input)?;
        if proto.output.len() != 1 {
            return Err(ImportError::Outputs {
                count: proto.output.len(),
                names: quote_list(proto.output.iter().map(|v| v.name.as_str())),
            });
        }
        let output = &proto.output[0];
        for (i, n) in proto.node.iter().enumerate() {
            for o in n.output.iter().filter(|o| !o.is_empty()) {
                add(&mut source, o, Source::Node(i))?;
            }
        }
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in proto.node.iter().enumerate() {
            for v in n.input.iter().filter(|v| !v.is_empty()) {
                if !source.contains_key(v.as_str()) {
                    return Err(ImportError::Dangling {
                        node: node_label(n, i),
                        op: op_label(n),
                        value: v.clone(),
                    });
                }
                let list = consumers.entry(v.as_str()).or_default();
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }
        if !source.contains_key(output.name.as_str()) {
            return Err(ImportError::Signature {
                which: "output",
                name: output.name.clone(),
                problem: "no node, initializer or input provides it".to_owned(),
            });
        }
        let order = topological_order(proto, &source)?;
        let mut constant = vec![false; proto.node.len()];
        for &i in &order {
            let n = &proto.node[i];
            let default_domain = n.domain.is_empty() || n.domain == "ai.onnx";
            let is_const = match n.op_type.as_str() {
                "Constant" => n.input.is_empty(),
                "Identity" if n.input.len() == 1 => match source.get(n.input[0].as_str()) {
                    Some(Source::Initializer(_)) => true,
                    Some(Source::Node(j)) => constant[*j],
                    Some(Source::Input) | None => false,
                },
                _ => false,
            };
            constant[i] = is_const && default_domain;
        }
        let input_shape = signature(input, "input")?.ok_or_else(|| ImportError::Signature {
            which: "input",
            name: input.name.clone(),
            problem: "it has no shape; mlp needs the extents of one sample".to_owned(),
        })?;
        let output_units = match signature(output, "output")? {
            Some(s) if s.len() == 1 => Some(s[0]),
            _ => None,
        };
        Ok(Graph {
            proto,
            opset,
            source,
            consumers,
            constant,
            input: &input.name,
            input_shape,
            output: &output.name,
            output_units,
        })
    }

    fn node(&self, i: usize) -> &'a NodeProto {
        &self.proto.node[i]
    }

    fn is_const(&self, v: &str) -> bool {
        match self.source.get(v) {
            Some(Source::Initializer(_)) => true,
            Some(Source::Node(j)) => self.constant[*j],
            Some(Source::Input) | None => false,
        }
    }

    /// The value of constant `v`, decoded and checked.
    fn constant(&self, v: &str) -> Result<Tensor, ImportError> {
        let mut v = v;
        // `Identity` chains are at most as long as the node list.
        for _ in 0..=self.proto.node.len() {
            match self.source.get(v) {
                Some(Source::Initializer(i)) => return decode_tensor(&self.proto.initializer[*i]),
                Some(Source::Node(j)) if self.constant[*j] => {
                    let n = self.node(*j);
                    if n.op_type == "Identity" {
                        v = &n.input[0];
                        continue;
                    }
                    return constant_node(n, *j);
                }
                _ => break,
            }
        }
        Err(ImportError::Tensor {
            name: v.to_owned(),
            problem: "is not a constant".to_owned(),
        })
    }

    fn consumers(&self, v: &str) -> &[usize] {
        self.consumers.get(v).map_or(&[], Vec::as_slice)
    }
}

fn quote_list<'s>(names: impl Iterator<Item = &'s str>) -> String {
    let names: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Kahn's algorithm over the nodes; the first node (in file order) left over is on a cycle
/// or behind one.
fn topological_order(
    proto: &GraphProto,
    source: &HashMap<&str, Source>,
) -> Result<Vec<usize>, ImportError> {
    let n = proto.node.len();
    let mut pending = vec![0usize; n];
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in proto.node.iter().enumerate() {
        let mut deps = HashSet::new();
        for v in node.input.iter().filter(|v| !v.is_empty()) {
            if let Some(Source::Node(j)) = source.get(v.as_str()) {
                deps.insert(*j);
            }
        }
        pending[i] = deps.len();
        for j in deps {
            after[j].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        for &k in &after[i] {
            pending[k] -= 1;
            if pending[k] == 0 {
                ready.push(k);
            }
        }
    }
    if order.len() < n {
        let mut placed = vec![false; n];
        for &i in &order {
            placed[i] = true;
        }
        if let Some(i) = (0..n).find(|&i| !placed[i]) {
            let node = &proto.node[i];
            return Err(ImportError::Cycle {
                node: node_label(node, i),
                op: op_label(node),
            });
        }
    }
    Ok(order)
}

/// The shape of one sample of a graph input or output (`[batch, …]` less the batch), or
/// `None` when it has no shape; refused when it is not float or an extent is unknown.
fn signature(
    v: &crate::proto::ValueInfoProto,
    which: &'static str,
) -> Result<Option<Vec<usize>>, ImportError> {
    let bad = |problem: String| ImportError::Signature {
        which,
        name: v.name.clone(),
        problem,
    };
    let Some(tensor) = v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref()) else {
        return if which == "input" {
            Err(bad("it is not a tensor".to_owned()))
        } else {
            Ok(None)
        };
    };
    if tensor.elem_type != FLOAT {
        return Err(bad(format!(
            "its elements are {}; mlp models take and give FLOAT",
            type_name(tensor.elem_type)
        )));
    }
    let Some(shape) = &tensor.shape else {
        return Ok(None);
    };
    if shape.dim.len() < 2 {
        return Err(bad(format!(
            "it has {} axis(es); mlp needs [batch, features…]",
            shape.dim.len()
        )));
    }
    let mut out = Vec::with_capacity(shape.dim.len() - 1);
    for (axis, d) in shape.dim.iter().enumerate().skip(1) {
        match d.dim_value {
            Some(e) if e >= 1 && e <= mlp_spec::MAX_EXTENT as i64 => out.push(e as usize),
            Some(e) => return Err(bad(format!("axis {axis} has extent {e}"))),
            None => {
                return Err(bad(format!(
                    "axis {axis} has no fixed extent (`{}`); only the batch axis may vary",
                    d.dim_param.as_deref().unwrap_or("?")
                )))
            }
        }
    }
    Ok(Some(out))
}

/// The value of a `Constant` node.
fn constant_node(n: &NodeProto, index: usize) -> Result<Tensor, ImportError> {
    let bad = |problem: &str| ImportError::Node {
        node: node_label(n, index),
        op: op_label(n),
        problem: problem.to_owned(),
    };
    let [a] = n.attribute.as_slice() else {
        return Err(bad("a Constant has exactly one attribute"));
    };
    match a.name.as_str() {
        "value" => {
            a.t.as_ref()
                .ok_or_else(|| bad("attribute `value` holds no tensor"))
                .and_then(|t| {
                    decode_tensor(t).map_err(|e| match e {
                        ImportError::Tensor { problem, .. } => ImportError::Tensor {
                            name: format!("{} (value of node `{}`)", t.name, node_label(n, index)),
                            problem,
                        },
                        other => other,
                    })
                })
        }
        "value_float" => Ok(Tensor {
            dims: Vec::new(),
            data: Data::F32(vec![a.f]),
        }),
        "value_floats" => Ok(Tensor {
            dims: vec![a.floats.len()],
            data: Data::F32(a.floats.clone()),
        }),
        "value_int" => Ok(Tensor {
            dims: Vec::new(),
            data: Data::I64(vec![a.i]),
        }),
        "value_ints" => Ok(Tensor {
            dims: vec![a.ints.len()],
            data: Data::I64(a.ints.clone()),
        }),
        other => Err(bad(&format!(
            "a Constant's `{other}` attribute is not read by mlp"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// The chain of layers (pass 3)

/// A layer read from the graph, with its weights.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Flatten,
    Dense {
        inputs: usize,
        units: usize,
        /// `[inputs, units]`, row-major.
        kernel: Vec<f32>,
        bias: Option<Vec<f32>>,
        activation: Activation,
    },
    BatchNorm {
        momentum: f32,
        epsilon: f32,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        mean: Vec<f32>,
        variance: Vec<f32>,
    },
    Dropout(f32),
    /// A stand-alone activation.
    Activation(Activation),
    LeakyRelu(f32),
    Rescale {
        scale: f32,
        offset: f32,
    },
    /// `x·scale + shift` per feature, to be folded into a `Dense`.
    Affine {
        scale: Vec<f32>,
        shift: Option<Vec<f32>>,
        nodes: String,
    },
}

/// A piece with the nodes it came from.
#[derive(Debug, Clone, PartialEq)]
struct Layer {
    piece: Piece,
    nodes: Vec<String>,
}

struct Chain<'g, 'a> {
    g: &'g Graph<'a>,
    /// The current value's shape (one sample).
    shape: Vec<usize>,
    layers: Vec<Layer>,
    notes: Vec<String>,
}

/// One node being read.
struct At<'a> {
    node: &'a NodeProto,
    label: String,
}

impl At<'_> {
    fn err(&self, problem: impl Into<String>) -> ImportError {
        ImportError::Node {
            node: self.label.clone(),
            op: op_label(self.node),
            problem: problem.into(),
        }
    }

    fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    fn int(&self, name: &str, default: i64) -> Result<i64, ImportError> {
        match self.attr(name) {
            None => Ok(default),
            Some(a) if a.r#type == attribute_type::INT || a.r#type == 0 => Ok(a.i),
            Some(_) => Err(self.err(format!("attribute `{name}` is not an integer"))),
        }
    }

    fn float(&self, name: &str, default: f32) -> Result<f32, ImportError> {
        let v = match self.attr(name) {
            None => default,
            Some(a) if a.r#type == attribute_type::FLOAT || a.r#type == 0 => a.f,
            Some(_) => return Err(self.err(format!("attribute `{name}` is not a number"))),
        };
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.err(format!("attribute `{name}` is {v}")))
        }
    }

    fn string(&self, name: &str, default: &str) -> Result<String, ImportError> {
        match self.attr(name) {
            None => Ok(default.to_owned()),
            Some(a) if a.r#type == attribute_type::STRING || a.r#type == 0 => {
                Ok(String::from_utf8_lossy(&a.s).into_owned())
            }
            Some(_) => Err(self.err(format!("attribute `{name}` is not a string"))),
        }
    }
}

/// The activation ops, by ONNX name.
fn activation_of(at: &At<'_>, opset: i64) -> Result<Option<Activation>, ImportError> {
    let act = match at.node.op_type.as_str() {
        "Relu" => Activation::Relu,
        "Sigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        "Softplus" => Activation::Softplus,
        "Softmax" => {
            let default = if opset >= 13 { -1 } else { 1 };
            let axis = at.int("axis", default)?;
            if axis != -1 && axis != 1 {
                return Err(at.err(format!(
                    "softmax over axis {axis}; mlp's softmax is over the features (axis 1 of [batch, features])"
                )));
            }
            Activation::Softmax
        }
        "Elu" => Activation::Elu {
            alpha: at.float("alpha", 1.0)?,
        },
        "LeakyRelu" => Activation::LeakyRelu {
            negative_slope: at.float("alpha", 0.01)?,
        },
        "Selu" => {
            // TensorFlow's (and ONNX's default) constants, as f32.
            let (alpha, gamma) = (
                at.float("alpha", 1.673_263_2)?,
                at.float("gamma", 1.050_701)?,
            );
            if alpha != 1.673_263_2 || gamma != 1.050_701 {
                return Err(at.err(format!(
                    "selu with alpha {alpha} and gamma {gamma}; mlp's selu has Keras's constants (1.6732632, 1.050701)"
                )));
            }
            Activation::Selu
        }
        "Gelu" => match at.string("approximate", "none")?.as_str() {
            "none" => Activation::Gelu { approximate: false },
            "tanh" => Activation::Gelu { approximate: true },
            other => return Err(at.err(format!("unknown gelu approximation `{other}`"))),
        },
        _ => return Ok(None),
    };
    Ok(Some(act))
}

/// What a binary op's constant operand is.
enum Operand {
    Scalar(f32),
    PerFeature(Vec<f32>),
}

impl<'a> Chain<'_, 'a> {
    fn walk(&mut self) -> Result<(), ImportError> {
        let g = self.g;
        let mut visited: Vec<bool> = g.constant.clone();
        let mut value: &str = g.input;
        loop {
            let consumers = g.consumers(value);
            if value == g.output {
                if let Some(&i) = consumers.first() {
                    return Err(ImportError::Branch(format!(
                        "the graph's output `{value}` also feeds node `{}`",
                        node_label(g.node(i), i)
                    )));
                }
                break;
            }
            value = match consumers {
                [] => {
                    return Err(ImportError::Unreached {
                        value: value.to_owned(),
                        output: g.output.to_owned(),
                    })
                }
                &[i] => {
                    visited[i] = true;
                    self.node(i, value)?
                }
                _ => match self.region(value) {
                    Some((nodes, out)) => {
                        for i in nodes {
                            visited[i] = true;
                        }
                        out
                    }
                    None => return Err(branch(g, value, consumers)),
                },
            };
        }
        if let Some(i) = visited.iter().position(|v| !v) {
            let n = g.node(i);
            return Err(ImportError::Stray {
                node: node_label(n, i),
                op: op_label(n),
            });
        }
        if let Some(units) = g.output_units {
            if self.shape != [units] {
                return Err(ImportError::Signature {
                    which: "output",
                    name: g.output.to_owned(),
                    problem: format!(
                        "it says {units} features per sample, the nodes compute {:?}",
                        self.shape
                    ),
                });
            }
        }
        Ok(())
    }

    /// An activation written as several element-wise nodes that all start from `x` and
    /// join again (silu as `x·sigmoid(x)`, gelu as `0.5·x·(1 + erf(x/√2))` or its tanh
    /// form, as exporters decompose them): the smallest region of nodes reading only `x`,
    /// each other's outputs and scalar constants, with one value leaving it. The region
    /// is told by what it computes, in f64, at [`PROBES`]: it must agree with one of
    /// mlp's activations within 1e-6 everywhere, else it is a branch. Returns the nodes and
    /// the region's output.
    fn region(&mut self, x: &'a str) -> Option<(Vec<usize>, &'a str)> {
        const MAX_NODES: usize = 16;
        let g = self.g;
        let mut nodes: Vec<usize> = Vec::new();
        let mut produced: Vec<&str> = vec![x];
        let (act, out) = loop {
            // Open values: produced here and read outside (or the graph's output).
            let open: Vec<&str> = produced
                .iter()
                .copied()
                .filter(|v| *v == g.output || g.consumers(v).iter().any(|c| !nodes.contains(c)))
                .collect();
            if let [single] = open[..] {
                let closed = single != x
                    && !g.consumers(x).iter().any(|c| !nodes.contains(c))
                    // No value computed for nothing.
                    && produced.iter().all(|v| *v == single || !g.consumers(v).is_empty());
                if closed {
                    // A closed region: done if it computes an activation, else it may
                    // be one once the nodes after it are in (`x·(1 + erf(…))·0.5`).
                    if let Some(act) = self.identify(&nodes, x, single) {
                        break (act, single);
                    }
                }
            }
            if nodes.len() == MAX_NODES {
                return None;
            }
            // The next node: one reading only produced values and constants.
            let next = produced.iter().find_map(|v| {
                g.consumers(v).iter().copied().find(|c| {
                    !nodes.contains(c)
                        && g.node(*c).input.iter().all(|i| {
                            i.is_empty() || produced.contains(&i.as_str()) || g.is_const(i)
                        })
                })
            })?;
            let n = g.node(next);
            if !matches!(
                n.op_type.as_str(),
                "Mul" | "Div" | "Add" | "Sub" | "Erf" | "Tanh" | "Sigmoid" | "Pow"
            ) || !n.domain.is_empty()
                || n.output.len() != 1
            {
                return None;
            }
            nodes.push(next);
            produced.push(n.output[0].as_str());
        };
        let labels = nodes.iter().map(|&i| node_label(g.node(i), i)).collect();
        self.activation(act, labels);
        Some((nodes, out))
    }

    /// The activation the region of `nodes` from `x` to `out` computes, if it is one of
    /// mlp's.
    fn identify(&self, nodes: &[usize], x: &str, out: &str) -> Option<Activation> {
        [
            Activation::Silu,
            Activation::Gelu { approximate: false },
            Activation::Gelu { approximate: true },
        ]
        .into_iter()
        .find(|&act| {
            PROBES.iter().all(|&t| {
                let want = reference_activation(act, t);
                self.evaluate(nodes, x, out, t)
                    .is_some_and(|got| (got - want).abs() <= 1e-6 * want.abs().max(1e-3))
            })
        })
    }

    /// The region's output `out` for input `t`, in f64 (`None` if a node cannot be
    /// computed: an operand that is not a scalar constant).
    fn evaluate(&self, nodes: &[usize], x: &str, out: &str, t: f64) -> Option<f64> {
        let g = self.g;
        let mut values: Vec<(&str, f64)> = vec![(x, t)];
        let get = |values: &Vec<(&str, f64)>, v: &str| -> Option<f64> {
            if let Some((_, value)) = values.iter().find(|(name, _)| *name == v) {
                return Some(*value);
            }
            match g.constant(v).ok()?.data {
                Data::F32(c) if c.len() == 1 => Some(f64::from(c[0])),
                Data::F32(_) | Data::I64(_) => None,
            }
        };
        for &i in nodes {
            let n = g.node(i);
            let a = get(&values, n.input.first()?)?;
            let b = || get(&values, n.input.get(1)?);
            let y = match n.op_type.as_str() {
                "Mul" => a * b()?,
                "Div" => a / b()?,
                "Add" => a + b()?,
                "Sub" => a - b()?,
                "Pow" => a.powf(b()?),
                "Erf" => erf(a),
                "Tanh" => a.tanh(),
                "Sigmoid" => 1.0 / (1.0 + (-a).exp()),
                _ => return None,
            };
            values.push((n.output.first()?.as_str(), y));
        }
        get(&values, out)
    }

    /// Reads node `i`, whose data input is `x`; returns its data output.
    fn node(&mut self, i: usize, x: &str) -> Result<&'a str, ImportError> {
        let g = self.g;
        let node = g.node(i);
        let at = At {
            node,
            label: node_label(node, i),
        };
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(ImportError::Unsupported {
                node: at.label,
                op: op_label(node),
            });
        }
        // Every other input is a constant; the first output is the data, the rest unused.
        for v in node.input.iter().filter(|v| !v.is_empty() && *v != x) {
            if !g.is_const(v) {
                return Err(ImportError::Branch(format!(
                    "node `{}` ({}) reads two computed values, `{x}` and `{v}`",
                    at.label,
                    op_label(node)
                )));
            }
        }
        let Some(out) = node.output.first().filter(|o| !o.is_empty()) else {
            return Err(at.err("it has no output"));
        };
        for extra in node.output.iter().skip(1).filter(|o| !o.is_empty()) {
            if !g.consumers(extra).is_empty() || extra == g.output {
                return Err(at.err(format!(
                    "its extra output `{extra}` is used (only training computes it)"
                )));
            }
        }
        let position = node.input.iter().position(|v| v == x).unwrap_or(0);
        let label = at.label.clone();
        let nodes = vec![label.clone()];
        match node.op_type.as_str() {
            "Identity" => {}
            "Cast" => {
                if at.int("to", 0)? != i64::from(FLOAT) {
                    return Err(at.err("a cast to another type than FLOAT"));
                }
            }
            "Dropout" => self.dropout(&at, nodes)?,
            "Flatten" => {
                let rank = self.shape.len() as i64 + 1;
                let axis = at.int("axis", 1)?;
                if axis != 1 && axis + rank != 1 {
                    return Err(at.err(format!(
                        "flatten at axis {axis}; mlp flattens everything but the batch (axis 1)"
                    )));
                }
                self.flatten(nodes);
            }
            "Reshape" => self.reshape(&at, nodes)?,
            "Gemm" => self.gemm(&at, position, nodes)?,
            "MatMul" => {
                if position != 0 {
                    return Err(
                        at.err("a constant multiplied by the data (mlp's Dense computes x·kernel)")
                    );
                }
                let b = g.constant(node.input.get(1).map_or("", String::as_str))?;
                let kernel = self.kernel(&at, b, false)?;
                self.dense(kernel, None, nodes);
            }
            "Add" | "Sub" | "Mul" | "Div" => self.arithmetic(&at, position, nodes)?,
            "BatchNormalization" => self.batch_norm(&at, nodes)?,
            _ => match activation_of(&at, g.opset)? {
                Some(act) => {
                    if matches!(act, Activation::Softmax) && self.shape.len() != 1 {
                        return Err(at.err(format!(
                            "softmax over a {:?} sample; add a Flatten before it",
                            self.shape
                        )));
                    }
                    self.activation(act, nodes);
                }
                None => {
                    return Err(ImportError::Unsupported {
                        node: label,
                        op: op_label(node),
                    })
                }
            },
        }
        Ok(out.as_str())
    }

    fn push(&mut self, piece: Piece, nodes: Vec<String>) {
        self.layers.push(Layer { piece, nodes });
    }

    fn flatten(&mut self, nodes: Vec<String>) {
        if self.shape.len() > 1 {
            let n = self.shape.iter().product();
            self.shape = vec![n];
            self.push(Piece::Flatten, nodes);
        } else if let Some(last) = self.layers.last_mut() {
            // A flatten of a flat sample does nothing; the node is still named.
            last.nodes.extend(nodes);
        }
    }

    fn dropout(&mut self, at: &At<'_>, nodes: Vec<String>) -> Result<(), ImportError> {
        let n = at.node;
        let mut rate = at.float("ratio", 0.5)?;
        if let Some(r) = n.input.get(1).filter(|v| !v.is_empty()) {
            rate = self.scalar(at, r, "ratio")?;
        }
        if let Some(t) = n.input.get(2).filter(|v| !v.is_empty()) {
            let mode = self.g.constant(t)?;
            let on = match &mode.data {
                Data::F32(v) => v.iter().any(|&x| x != 0.0),
                Data::I64(v) => v.iter().any(|&x| x != 0),
            };
            if on {
                return Err(at.err("dropout in training mode; export the model in eval mode"));
            }
        }
        if !(0.0..1.0).contains(&rate) {
            return Err(at.err(format!("dropout ratio {rate} is not in [0, 1)")));
        }
        self.push(Piece::Dropout(rate), nodes);
        Ok(())
    }

    fn reshape(&mut self, at: &At<'_>, nodes: Vec<String>) -> Result<(), ImportError> {
        let shape_name = at.node.input.get(1).map_or("", String::as_str);
        let t = self.g.constant(shape_name)?;
        let Data::I64(target) = &t.data else {
            return Err(at.err("its shape is not integers"));
        };
        let allow_zero = at.int("allowzero", 0)? != 0;
        let n: usize = self.shape.iter().product();
        let n_i64 = i64::try_from(n).unwrap_or(i64::MAX);
        let batch_kept = |d: i64| d == -1 || (d == 0 && !allow_zero);
        let flat = match target.as_slice() {
            [b, f] if batch_kept(*b) => *f == n_i64 || (*f == -1 && *b != -1),
            _ => false,
        };
        if !flat {
            return Err(at.err(format!(
                "a reshape of [batch, {}] to {}; mlp reshapes only to [batch, {n}] (a Flatten)",
                self.shape
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                dims_text(target)
            )));
        }
        self.flatten(nodes);
        Ok(())
    }

    /// A scalar constant input.
    fn scalar(&self, at: &At<'_>, v: &str, what: &str) -> Result<f32, ImportError> {
        let t = self.g.constant(v)?;
        match &t.data {
            Data::F32(x) if x.len() == 1 => finite(at, x[0], what),
            _ => Err(at.err(format!("its {what} `{v}` is not one number"))),
        }
    }

    /// A 2-D constant as a `[in, units]` kernel (transposed when `transposed`).
    fn kernel(
        &self,
        at: &At<'_>,
        b: Tensor,
        transposed: bool,
    ) -> Result<(usize, usize, Vec<f32>), ImportError> {
        let Data::F32(values) = b.data else {
            return Err(at.err("its weight matrix is not float"));
        };
        let [rows, cols] = b.dims[..] else {
            return Err(at.err(format!(
                "its weight has shape {}; a Dense needs a matrix",
                dims_text(&b.dims)
            )));
        };
        check_finite(at, &values, "weight")?;
        let (inputs, units) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };
        if self.shape != [inputs] {
            return Err(at.err(format!(
                "its weight is [{rows}, {cols}]{}, which takes {inputs} features, but its input has shape {:?}{}",
                if transposed { " (transposed)" } else { "" },
                self.shape,
                if self.shape.len() > 1 { " (a Dense needs a Flatten before it)" } else { "" }
            )));
        }
        let kernel = if transposed {
            // PyTorch's `[out, in]` as Keras's `[in, out]`.
            let mut k = vec![0.0; values.len()];
            for o in 0..units {
                for i in 0..inputs {
                    k[i * units + o] = values[o * inputs + i];
                }
            }
            k
        } else {
            values
        };
        Ok((inputs, units, kernel))
    }

    fn dense(
        &mut self,
        (inputs, units, kernel): (usize, usize, Vec<f32>),
        bias: Option<Vec<f32>>,
        nodes: Vec<String>,
    ) {
        self.shape = vec![units];
        self.push(
            Piece::Dense {
                inputs,
                units,
                kernel,
                bias,
                activation: Activation::Linear,
            },
            nodes,
        );
    }

    fn gemm(
        &mut self,
        at: &At<'_>,
        position: usize,
        nodes: Vec<String>,
    ) -> Result<(), ImportError> {
        let n = at.node;
        if position != 0 {
            return Err(at.err("the data is not its first operand (mlp's Dense computes x·kernel)"));
        }
        if at.int("transA", 0)? != 0 {
            return Err(at.err("transA = 1 transposes the batch (mlp's Dense computes x·kernel)"));
        }
        let transposed = at.int("transB", 0)? != 0;
        let (alpha, beta) = (at.float("alpha", 1.0)?, at.float("beta", 1.0)?);
        let b = self.g.constant(n.input.get(1).map_or("", String::as_str))?;
        let (inputs, units, mut kernel) = self.kernel(at, b, transposed)?;
        if alpha != 1.0 {
            for w in &mut kernel {
                *w *= alpha;
            }
            self.notes.push(format!(
                "node `{}`: Gemm's alpha = {alpha} multiplied into the kernel",
                at.label
            ));
        }
        let bias = match n.input.get(2).filter(|v| !v.is_empty()) {
            None => None,
            Some(c) => {
                let t = self.g.constant(c)?;
                let mut bias = per_unit(at, &t, units, "bias")?;
                if beta != 1.0 {
                    for b in &mut bias {
                        *b *= beta;
                    }
                    self.notes.push(format!(
                        "node `{}`: Gemm's beta = {beta} multiplied into the bias",
                        at.label
                    ));
                }
                Some(bias)
            }
        };
        self.dense((inputs, units, kernel), bias, nodes);
        Ok(())
    }

    /// The constant operand of a binary op, as a scalar or a per-feature vector.
    fn operand(&self, at: &At<'_>, position: usize) -> Result<Operand, ImportError> {
        let other = at
            .node
            .input
            .get(1 - position.min(1))
            .map_or("", String::as_str);
        if at.node.input.len() != 2 {
            return Err(at.err("it does not have two operands"));
        }
        let t = self.g.constant(other)?;
        let Data::F32(values) = &t.data else {
            return Err(at.err(format!("its operand `{other}` is not float")));
        };
        check_finite(at, values, "operand")?;
        if t.dims.iter().all(|&d| d == 1) && values.len() == 1 {
            return Ok(Operand::Scalar(values[0]));
        }
        let features = self.shape.last().copied().unwrap_or(0);
        let fits = self.shape.len() == 1
            && (t.dims == [features] || t.dims == [1, features])
            && values.len() == features;
        if fits {
            Ok(Operand::PerFeature(values.clone()))
        } else {
            Err(at.err(format!(
                "its operand `{other}` of shape {} does not broadcast per feature over a {:?} sample",
                dims_text(&t.dims),
                self.shape
            )))
        }
    }

    fn arithmetic(
        &mut self,
        at: &At<'_>,
        position: usize,
        nodes: Vec<String>,
    ) -> Result<(), ImportError> {
        let op = at.node.op_type.as_str();
        if matches!(op, "Sub" | "Div") && position != 0 {
            return Err(at.err(format!(
                "a constant {} the data has no layer in mlp",
                if op == "Sub" { "minus" } else { "divided by" }
            )));
        }
        let operand = self.operand(at, position)?;
        let last = self.layers.last_mut();
        match (op, operand) {
            ("Mul", Operand::Scalar(c)) => self.push(Piece::Rescale { scale: c, offset: 0.0 }, nodes),
            ("Add" | "Sub", Operand::Scalar(c)) => {
                let c = if op == "Sub" { -c } else { c };
                match last {
                    Some(Layer {
                        piece: Piece::Rescale { offset, .. },
                        nodes: n,
                    }) if *offset == 0.0 => {
                        *offset = c;
                        n.extend(nodes);
                    }
                    _ => self.push(Piece::Rescale { scale: 1.0, offset: c }, nodes),
                }
            }
            ("Mul", Operand::PerFeature(scale)) => self.push(
                Piece::Affine {
                    scale,
                    shift: None,
                    nodes: nodes.join("`, `"),
                },
                nodes,
            ),
            ("Add", Operand::PerFeature(b)) => match last {
                Some(Layer {
                    piece:
                        Piece::Dense {
                            bias: bias @ None,
                            activation: Activation::Linear,
                            ..
                        },
                    nodes: n,
                }) => {
                    *bias = Some(b);
                    n.extend(nodes);
                }
                Some(Layer {
                    piece:
                        Piece::Affine {
                            shift: shift @ None,
                            nodes: names,
                            ..
                        },
                    nodes: n,
                }) => {
                    *shift = Some(b);
                    for node in &nodes {
                        let _ = write!(names, "`, `{node}");
                    }
                    n.extend(nodes);
                }
                _ => {
                    return Err(at.err(
                        "a per-feature Add that is neither the bias of a Dense (MatMul) nor the shift after a per-feature Mul",
                    ))
                }
            },
            ("Sub" | "Div", Operand::PerFeature(_)) => {
                return Err(at.err(format!(
                    "a per-feature {op} has no layer in mlp (a Normalization in this form cannot be recovered exactly)"
                )))
            }
            ("Div", Operand::Scalar(c)) => {
                return Err(at.err(format!(
                    "a division by {c}: mlp's Rescale multiplies, and x / {c} is not always x·(1/{c}) in f32"
                )))
            }
            _ => return Err(at.err("an arithmetic op mlp does not read")),
        }
        Ok(())
    }

    fn batch_norm(&mut self, at: &At<'_>, nodes: Vec<String>) -> Result<(), ImportError> {
        let n = at.node;
        if at.int("training_mode", 0)? != 0 {
            return Err(
                at.err("batch normalisation in training mode; export the model in eval mode")
            );
        }
        if at.int("spatial", 1)? != 1 {
            return Err(at.err("spatial = 0 (statistics per element) has no layer in mlp"));
        }
        let [features] = self.shape[..] else {
            return Err(at.err(format!(
                "batch normalisation over axis 1 of a {:?} sample; mlp normalises a flat sample's features",
                self.shape
            )));
        };
        let epsilon = at.float("epsilon", 1e-5)?;
        let momentum = at.float("momentum", 0.9)?;
        if epsilon <= 0.0 {
            return Err(at.err(format!("epsilon {epsilon} is not positive")));
        }
        if !(0.0..1.0).contains(&momentum) {
            return Err(at.err(format!("momentum {momentum} is not in [0, 1)")));
        }
        if n.input.len() != 5 {
            return Err(at.err("it needs five inputs: X, scale, B, mean, var"));
        }
        let get = |k: usize, what: &str| -> Result<Vec<f32>, ImportError> {
            let t = self.g.constant(&n.input[k])?;
            per_unit(at, &t, features, what)
        };
        let gamma = get(1, "scale")?;
        let beta = get(2, "bias")?;
        let mean = get(3, "running mean")?;
        let variance = get(4, "running variance")?;
        if let Some(v) = variance.iter().find(|v| **v < 0.0) {
            return Err(at.err(format!("a negative running variance {v}")));
        }
        self.push(
            Piece::BatchNorm {
                momentum,
                epsilon,
                gamma,
                beta,
                mean,
                variance,
            },
            nodes,
        );
        Ok(())
    }

    /// An activation: into the `Dense` right before it when that one is linear, else a layer.
    fn activation(&mut self, act: Activation, nodes: Vec<String>) {
        if let Some(Layer {
            piece: Piece::Dense { activation, .. },
            nodes: n,
        }) = self.layers.last_mut()
        {
            if *activation == Activation::Linear {
                *activation = act;
                n.extend(nodes);
                return;
            }
        }
        let piece = match act {
            Activation::LeakyRelu { negative_slope } => Piece::LeakyRelu(negative_slope),
            other => Piece::Activation(other),
        };
        self.push(piece, nodes);
    }
}

/// Where a multi-node activation is probed (see `Chain::region`).
const PROBES: [f64; 14] = [
    -6.0, -3.0, -2.0, -1.5, -1.0, -0.5, -0.1, 0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0,
];

/// The activations a region may compute, in f64, with the same `erf` as the region.
fn reference_activation(act: Activation, x: f64) -> f64 {
    match act {
        Activation::Gelu { approximate: false } => 0.5 * x * (1.0 + erf(x / 2f64.sqrt())),
        Activation::Gelu { approximate: true } => {
            let inner = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
            0.5 * x * (1.0 + inner.tanh())
        }
        Activation::Silu => x / (1.0 + (-x).exp()),
        _ => f64::NAN,
    }
}

/// `erf(x)` to about 1e-7 (Abramowitz and Stegun 7.1.26): it only tells which function a
/// region computes, against references that use it too.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let y = 1.0 - poly * (-x * x).exp();
    if x < 0.0 {
        -y
    } else {
        y
    }
}

fn branch(g: &Graph<'_>, value: &str, consumers: &[usize]) -> ImportError {
    let names = consumers
        .iter()
        .map(|&i| {
            let n = g.node(i);
            format!("`{}` ({})", node_label(n, i), op_label(n))
        })
        .collect::<Vec<_>>()
        .join(", ");
    ImportError::Branch(format!(
        "value `{value}` feeds {} nodes ({names}): the graph branches",
        consumers.len()
    ))
}

fn finite(at: &At<'_>, v: f32, what: &str) -> Result<f32, ImportError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(at.err(format!("its {what} is {v}")))
    }
}

fn check_finite(at: &At<'_>, values: &[f32], what: &str) -> Result<(), ImportError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(at.err(format!("its {what} holds {} at index {i}", values[i]))),
        None => Ok(()),
    }
}

/// A `[units]` vector from `t`: `[units]`, `[1, units]`, or one number for all.
fn per_unit(at: &At<'_>, t: &Tensor, units: usize, what: &str) -> Result<Vec<f32>, ImportError> {
    let Data::F32(values) = &t.data else {
        return Err(at.err(format!("its {what} is not float")));
    };
    check_finite(at, values, what)?;
    if t.len() == units && (t.dims == [units] || t.dims == [1, units]) {
        Ok(values.clone())
    } else if values.len() == 1 && t.dims.iter().all(|&d| d == 1) {
        Ok(vec![values[0]; units])
    } else {
        Err(at.err(format!(
            "its {what} has shape {}, expected [{units}]",
            dims_text(&t.dims)
        )))
    }
}

/// A scale and shift waiting for the `Dense` after it: scale, shift, the nodes' names as
/// one string, and the node list.
type Pending = (Vec<f32>, Vec<f32>, String, Vec<String>);

/// Folds every per-feature scale and shift into the linear `Dense` before it, else into
/// the `Dense` after it, noting each fold; one with neither is refused.
fn fold_affines(layers: Vec<Layer>, notes: &mut Vec<String>) -> Result<Vec<Layer>, ImportError> {
    let mut out: Vec<Layer> = Vec::with_capacity(layers.len());
    let mut pending: Option<Pending> = None;
    for layer in layers {
        match layer.piece {
            Piece::Affine {
                scale,
                shift,
                nodes,
            } => {
                if pending.is_some() {
                    return Err(affine_error(
                        &nodes,
                        "another scale and shift right before it",
                    ));
                }
                let shift = shift.unwrap_or_else(|| vec![0.0; scale.len()]);
                if let Some(Layer {
                    piece:
                        Piece::Dense {
                            kernel,
                            bias,
                            units,
                            activation: Activation::Linear,
                            ..
                        },
                    nodes: n,
                }) = out.last_mut()
                {
                    // (x·W + b)·s + t = x·(W·diag(s)) + (b·s + t).
                    let units = *units;
                    for row in kernel.chunks_exact_mut(units) {
                        for (w, s) in row.iter_mut().zip(&scale) {
                            *w *= s;
                        }
                    }
                    let b = bias.get_or_insert_with(|| vec![0.0; units]);
                    for ((b, s), t) in b.iter_mut().zip(&scale).zip(&shift) {
                        *b = b.mul_add(*s, *t);
                    }
                    n.extend(layer.nodes);
                    notes.push(format!(
                        "nodes `{nodes}` (a per-feature scale and shift: an inference BatchNorm or Normalization) folded into the Dense before them"
                    ));
                } else {
                    pending = Some((scale, shift, nodes, layer.nodes));
                }
            }
            Piece::Dense {
                inputs,
                units,
                mut kernel,
                bias,
                activation,
            } if pending.is_some() => {
                let Some((scale, shift, names, mut nodes)) = pending.take() else {
                    continue;
                };
                // (x·s + t)·W + b = x·(diag(s)·W) + (t·W + b), the sums in f64.
                let mut b: Vec<f64> = bias.map_or_else(
                    || vec![0.0; units],
                    |b| b.iter().map(|&v| f64::from(v)).collect(),
                );
                for (i, row) in kernel.chunks_exact_mut(units).enumerate() {
                    for (j, w) in row.iter_mut().enumerate() {
                        b[j] += f64::from(shift[i]) * f64::from(*w);
                        *w *= scale[i];
                    }
                }
                nodes.extend(layer.nodes);
                notes.push(format!(
                    "nodes `{names}` (a per-feature scale and shift: an inference BatchNorm or Normalization) folded into the Dense after them"
                ));
                out.push(Layer {
                    piece: Piece::Dense {
                        inputs,
                        units,
                        kernel,
                        bias: Some(b.iter().map(|&v| v as f32).collect()),
                        activation,
                    },
                    nodes,
                });
            }
            piece => {
                if let Some((_, _, names, _)) = &pending {
                    return Err(affine_error(names, "no Dense right before or after it"));
                }
                out.push(Layer {
                    piece,
                    nodes: layer.nodes,
                });
            }
        }
    }
    if let Some((_, _, names, _)) = &pending {
        return Err(affine_error(names, "no Dense right before or after it"));
    }
    Ok(out)
}

fn affine_error(nodes: &str, why: &str) -> ImportError {
    ImportError::Node {
        node: nodes.to_owned(),
        op: "Mul + Add".to_owned(),
        problem: format!(
            "a per-feature scale and shift has no layer in mlp and can only be folded into a linear Dense next to it, but there is {why}"
        ),
    }
}

// ---------------------------------------------------------------------------------------
// The spec (pass 4)

struct About<'s> {
    source: &'s str,
    producer: &'s str,
    version: &'s str,
    opset: i64,
}

/// A float as spec text that the spec compiler reads back as exactly `v`.
fn number(v: f32) -> String {
    let short = if v != 0.0 && !(1e-5..1e7).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    };
    if short.parse::<f64>().map(|x| x as f32) == Ok(v) {
        short
    } else {
        // The f64 that is exactly `v` always reads back as it.
        format!("{}", f64::from(v))
    }
}

fn activation_text(act: Activation) -> String {
    match act {
        Activation::Linear => "linear".to_owned(),
        Activation::Relu => "relu".to_owned(),
        Activation::Sigmoid => "sigmoid".to_owned(),
        Activation::Tanh => "tanh".to_owned(),
        Activation::Softmax => "softmax".to_owned(),
        Activation::Elu { alpha } => format!("elu(alpha = {})", number(alpha)),
        Activation::Selu => "selu".to_owned(),
        Activation::Gelu { approximate } => {
            if approximate {
                "gelu(approximate = true)".to_owned()
            } else {
                "gelu".to_owned()
            }
        }
        Activation::Silu => "silu".to_owned(),
        Activation::Softplus => "softplus".to_owned(),
        Activation::LeakyRelu { negative_slope } => {
            format!("leaky_relu(negative_slope = {})", number(negative_slope))
        }
    }
}

/// Text safe inside a `//` comment: one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn spec_text(name: &str, input: &[usize], layers: &[Layer], about: &About<'_>) -> String {
    let mut t = String::new();
    let from = if about.source.is_empty() {
        "an ONNX file".to_owned()
    } else {
        format!("`{}`", one_line(about.source))
    };
    let version = if about.version == "None" {
        ""
    } else {
        about.version
    };
    let by = match (about.producer, version) {
        ("", _) => String::new(),
        (p, "") => format!(", written by {}", one_line(p)),
        (p, v) => format!(", written by {} {}", one_line(p), one_line(v)),
    };
    let _ = writeln!(
        t,
        "/// Imported by `mlp import` from {from}{by} (ONNX opset {}).",
        about.opset
    );
    let _ = writeln!(t, "model {name} {{");
    let dims: Vec<String> = input.iter().map(ToString::to_string).collect();
    let _ = writeln!(t, "input [{}]", dims.join(", "));
    for layer in layers {
        let text = match &layer.piece {
            Piece::Flatten => "Flatten".to_owned(),
            Piece::Dense {
                units,
                bias,
                activation,
                ..
            } => {
                let mut args = vec![units.to_string()];
                if *activation != Activation::Linear {
                    args.push(format!("activation = {}", activation_text(*activation)));
                }
                if bias.is_none() {
                    args.push("use_bias = false".to_owned());
                }
                format!("Dense({})", args.join(", "))
            }
            Piece::BatchNorm {
                momentum, epsilon, ..
            } => format!(
                "BatchNorm(momentum = {}, epsilon = {})",
                number(*momentum),
                number(*epsilon)
            ),
            Piece::Dropout(rate) => format!("Dropout({})", number(*rate)),
            Piece::Activation(Activation::Relu) => "ReLU".to_owned(),
            Piece::Activation(Activation::Sigmoid) => "Sigmoid".to_owned(),
            Piece::Activation(Activation::Tanh) => "Tanh".to_owned(),
            Piece::Activation(Activation::Softmax) => "Softmax".to_owned(),
            Piece::Activation(act) => format!("Activation({})", activation_text(*act)),
            Piece::LeakyRelu(slope) => format!("LeakyReLU({})", number(*slope)),
            Piece::Rescale { scale, offset } => {
                if *offset == 0.0 {
                    format!("Rescale({})", number(*scale))
                } else {
                    format!("Rescale({}, offset = {})", number(*scale), number(*offset))
                }
            }
            // Folded before the spec is written.
            Piece::Affine { .. } => continue,
        };
        let nodes: Vec<String> = layer.nodes.iter().map(|n| one_line(n)).collect();
        let _ = writeln!(t, "{text} // {}", nodes.join(", "));
    }
    let (loss, metrics, why) = guess_training(layers);
    let _ = writeln!(t, "train {{");
    let _ = writeln!(
        t,
        "// A guess from the output layer ({why}): the ONNX file does not say how the model was trained."
    );
    let _ = writeln!(t, "loss = {loss}");
    let _ = writeln!(t, "metrics = [{metrics}]");
    let _ = writeln!(t, "}}");
    let _ = writeln!(t, "}}");
    t
}

/// The loss and metrics to fine-tune with, from the model's last layers.
fn guess_training(layers: &[Layer]) -> (&'static str, &'static str, &'static str) {
    let mut units = None;
    let mut last = Activation::Linear;
    for layer in layers {
        match &layer.piece {
            Piece::Dense {
                units: u,
                activation,
                ..
            } => {
                units = Some(*u);
                last = *activation;
            }
            Piece::Activation(a) => last = *a,
            Piece::LeakyRelu(s) => last = Activation::LeakyRelu { negative_slope: *s },
            Piece::Flatten
            | Piece::BatchNorm { .. }
            | Piece::Dropout(_)
            | Piece::Rescale { .. }
            | Piece::Affine { .. } => {}
        }
    }
    match (last, units) {
        (Activation::Softmax, Some(u)) if u >= 2 => (
            "sparse_categorical_crossentropy",
            "accuracy",
            "a softmax over classes",
        ),
        (Activation::Sigmoid, Some(1)) => ("binary_crossentropy", "accuracy", "one sigmoid unit"),
        (Activation::Linear, Some(u)) if u >= 2 && last_is_dense(layers) => (
            "sparse_categorical_crossentropy(from_logits = true)",
            "accuracy",
            "raw scores over classes, as PyTorch classifiers end; for a regression write loss = mse",
        ),
        _ => ("mse", "mae", "no softmax or sigmoid output: a regression"),
    }
}

fn last_is_dense(layers: &[Layer]) -> bool {
    layers
        .iter()
        .rev()
        .find(|l| !matches!(l.piece, Piece::Dropout(_)))
        .is_some_and(|l| matches!(l.piece, Piece::Dense { .. }))
}

/// Checks that the compiled spec means the layers read, number for number.
fn check_meaning(model: &ir::Model, layers: &[Layer]) -> Result<(), ImportError> {
    let pieces: Vec<&Piece> = layers.iter().map(|l| &l.piece).collect();
    if model.layers.len() != pieces.len() {
        return Err(ImportError::Spec(format!(
            "{} layers compiled from {} read",
            model.layers.len(),
            pieces.len()
        )));
    }
    for (layer, piece) in model.layers.iter().zip(pieces) {
        let same = match (&layer.kind, piece) {
            (LayerKind::Flatten, Piece::Flatten) => true,
            (
                LayerKind::Dense(d),
                Piece::Dense {
                    units,
                    bias,
                    activation,
                    inputs,
                    ..
                },
            ) => {
                d.units == *units
                    && d.use_bias == bias.is_some()
                    && same_activation(d.activation, *activation)
                    && layer.input_shape == [*inputs]
            }
            (
                LayerKind::BatchNorm(b),
                Piece::BatchNorm {
                    momentum, epsilon, ..
                },
            ) => {
                (b.momentum as f32).to_bits() == momentum.to_bits()
                    && b.epsilon.to_bits() == epsilon.to_bits()
            }
            (LayerKind::Dropout { rate }, Piece::Dropout(r)) => rate.to_bits() == r.to_bits(),
            (LayerKind::Activation { activation, .. }, Piece::Activation(a)) => {
                same_activation(*activation, *a)
            }
            (LayerKind::LeakyRelu { slope }, Piece::LeakyRelu(s)) => slope.to_bits() == s.to_bits(),
            (
                LayerKind::Rescale { scale, offset },
                Piece::Rescale {
                    scale: s,
                    offset: o,
                },
            ) => scale.to_bits() == s.to_bits() && offset.to_bits() == o.to_bits(),
            _ => false,
        };
        if !same {
            return Err(ImportError::Spec(format!(
                "layer `{}` compiled as {:?}, read as {piece:?}",
                layer.name, layer.kind
            )));
        }
    }
    Ok(())
}

fn same_activation(a: Activation, b: Activation) -> bool {
    match (a, b) {
        (Activation::Elu { alpha: x }, Activation::Elu { alpha: y })
        | (
            Activation::LeakyRelu { negative_slope: x },
            Activation::LeakyRelu { negative_slope: y },
        ) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// The weights in `model`'s parameter layout.
fn place_weights(model: &ir::Model, layers: &[Layer]) -> Result<(Vec<f32>, Vec<f32>), ImportError> {
    let layout = ParamLayout::new(model);
    let mut params = vec![0.0f32; layout.trainable_len];
    let mut state = vec![0.0f32; layout.state_len];
    for t in &layout.tensors {
        let piece = layers.get(t.layer).map(|l| &l.piece);
        let data: Option<&[f32]> = match (piece, t.role) {
            (Some(Piece::Dense { kernel, .. }), Role::Kernel) => Some(kernel),
            (Some(Piece::Dense { bias: Some(b), .. }), Role::Bias) => Some(b),
            (Some(Piece::BatchNorm { gamma, .. }), Role::Gamma) => Some(gamma),
            (Some(Piece::BatchNorm { beta, .. }), Role::Beta) => Some(beta),
            (Some(Piece::BatchNorm { mean, .. }), Role::MovingMean) => Some(mean),
            (Some(Piece::BatchNorm { variance, .. }), Role::MovingVariance) => Some(variance),
            _ => None,
        };
        let data = data.filter(|d| d.len() == t.len).ok_or_else(|| {
            ImportError::Spec(format!("no weights of {} values for `{}`", t.len, t.name))
        })?;
        let dest = if t.trainable {
            &mut params[t.range()]
        } else {
            &mut state[t.range()]
        };
        dest.copy_from_slice(data);
    }
    Ok((params, state))
}
