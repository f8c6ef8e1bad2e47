//! ONNX import against files that `PyTorch` 2.15 and Keras 3.15 wrote (`fixtures/import/`,
//! made by `scripts/torch_onnx_fixtures.py`, see the README there), against `mlp export`'s
//! own files, and on broken graphs.
//!
//! The imported model runs through `Network::forward` and must compute what the source
//! framework computed (its recorded outputs) within 1e-5 relative; `PyTorch`'s weights must
//! arrive transposed and bit for bit, its `BatchNorm` with its own epsilon and momentum.

use mlp_codegen::export::Weights;
use mlp_onnx::proto::{
    attribute_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
    FLOAT, INT64,
};
use mlp_onnx::{import, ImportError, ImportOptions, Imported};
use mlp_runtime::ir::LayerKind;
use mlp_runtime::{Model, Network};
use prost::Message;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn options() -> ImportOptions {
    ImportOptions {
        name: Some("Net".to_owned()),
        source_name: "test.onnx".to_owned(),
    }
}

fn import_fixture(name: &str) -> Imported {
    let bytes = std::fs::read(fixtures().join(format!("{name}.onnx"))).expect("the fixture");
    import(&bytes, &options()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn reference(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join(format!("{name}.json"))).expect("JSON");
    serde_json::from_str(&text).expect("valid JSON")
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .flat_map(|x| match x.as_array() {
            Some(row) => row
                .iter()
                .map(|y| y.as_f64().expect("a number") as f32)
                .collect(),
            None => vec![x.as_f64().expect("a number") as f32],
        })
        .collect()
}

/// A network of the imported model holding the imported weights.
fn network(imported: &Imported, batch: usize) -> Network {
    let mut net = Network::new(&imported.model, 0, batch).expect("a network");
    net.params_mut().copy_from_slice(&imported.params);
    net.state_mut().copy_from_slice(&imported.state);
    net
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: output length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let e = (g - w).abs() / w.abs().max(1e-3);
        assert!(e <= 1e-5, "{what}: output {i}: mlp {g}, source {w} ({e:e})");
    }
}

#[test]
fn pytorch_and_keras_files_compute_what_their_framework_computed() {
    for name in [
        "torch_batchnorm",
        "torch_dynamo_batchnorm",
        "torch_dropout",
        "torch_mix",
        "torch_mix_legacy",
        "keras_mlp",
    ] {
        let imported = import_fixture(name);
        let r = reference(name);
        let x = floats(&r["inputs"]);
        let want = floats(&r["outputs"]);
        let batch = x.len() / imported.model.input_size();
        assert_eq!(batch, 8, "{name}: eight samples");
        let mut net = network(&imported, batch);
        let got = net.forward(&x, batch).to_vec();
        assert_close(&got, &want, name);
        // The spec written is the one compiled, in `mlp fmt`'s layout.
        assert_eq!(
            mlp_spec::format_source(&imported.source).expect("formats"),
            imported.source,
            "{name}"
        );
        let spec = mlp_spec::compile(&imported.source).expect("compiles");
        assert_eq!(spec.models[0], imported.model, "{name}");
    }
}

#[test]
fn pytorch_linear_weights_arrive_transposed_and_batchnorm_keeps_its_own_settings() {
    let imported = import_fixture("torch_batchnorm");
    let modules = reference("torch_batchnorm")["modules"].clone();
    let modules = modules.as_array().expect("modules");
    let layout = mlp_runtime::ParamLayout::new(&imported.model);
    let tensor = |name: &str| -> Vec<f32> {
        let t = layout
            .tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tensor {name}"));
        if t.trainable {
            imported.params[t.range()].to_vec()
        } else {
            imported.state[t.range()].to_vec()
        }
    };
    let (mut dense, mut bn) = (0, 0);
    for m in modules {
        match m["type"].as_str() {
            Some("Linear") => {
                let prefix = if dense == 0 {
                    "dense".to_owned()
                } else {
                    format!("dense_{dense}")
                };
                dense += 1;
                let w: Vec<Vec<f32>> = m["weight"]
                    .as_array()
                    .expect("rows")
                    .iter()
                    .map(floats)
                    .collect();
                let (outs, ins) = (w.len(), w[0].len());
                let kernel = tensor(&format!("{prefix}.kernel"));
                assert_eq!(kernel.len(), outs * ins);
                for o in 0..outs {
                    for i in 0..ins {
                        assert_eq!(
                            kernel[i * outs + o].to_bits(),
                            w[o][i].to_bits(),
                            "{prefix}.kernel[{i}, {o}] is PyTorch's weight[{o}, {i}]"
                        );
                    }
                }
                assert_eq!(tensor(&format!("{prefix}.bias")), floats(&m["bias"]));
            }
            Some("BatchNorm1d") => {
                let prefix = if bn == 0 {
                    "batch_normalization".to_owned()
                } else {
                    format!("batch_normalization_{bn}")
                };
                bn += 1;
                let layer = imported
                    .model
                    .layers
                    .iter()
                    .find(|l| l.name == prefix)
                    .expect("the BatchNorm layer");
                let LayerKind::BatchNorm(b) = &layer.kind else {
                    panic!("{prefix} is {:?}", layer.kind)
                };
                let torch_momentum = m["momentum"].as_f64().expect("momentum");
                let eps = m["eps"].as_f64().expect("eps");
                // Keras's momentum keeps `1 - momentum` of PyTorch's.
                assert_eq!(
                    (b.momentum as f32).to_bits(),
                    ((1.0 - torch_momentum) as f32).to_bits(),
                    "{prefix}"
                );
                assert_eq!(b.epsilon.to_bits(), (eps as f32).to_bits(), "{prefix}");
                for (role, key) in [
                    ("gamma", "weight"),
                    ("beta", "bias"),
                    ("moving_mean", "running_mean"),
                    ("moving_variance", "running_var"),
                ] {
                    assert_eq!(
                        tensor(&format!("{prefix}.{role}")),
                        floats(&m[key]),
                        "{prefix}.{role}"
                    );
                }
            }
            other => panic!("unexpected module {other:?}"),
        }
    }
    assert_eq!((dense, bn), (3, 2));
    // Trained statistics, not the initial 0 and 1.
    assert!(tensor("batch_normalization.moving_mean")
        .iter()
        .any(|v| v.abs() > 0.1));
}

#[test]
fn the_pytorch_batchnorm_model_reads_as_its_layers() {
    let imported = import_fixture("torch_batchnorm");
    let want = "\
/// Imported by `mlp import` from `test.onnx`, written by pytorch 2.15.0 (ONNX opset 17).
model Net {
    input [4]
    Dense(16) // /0/Gemm
    BatchNorm(momentum = 0.7, epsilon = 0.0002) // /1/BatchNormalization
    ReLU // /2/Relu
    Dense(8) // /3/Gemm
    BatchNorm(momentum = 0.95, epsilon = 0.00005) // /4/BatchNormalization
    Tanh // /5/Tanh
    Dense(3, activation = softmax) // /6/Gemm, /7/Softmax

    train {
        // A guess from the output layer (a softmax over classes): the ONNX file does not say how the model was trained.
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
    }
}
";
    assert_eq!(imported.source, want);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
}

#[test]
fn decomposed_gelu_and_silu_are_read_as_the_activations() {
    // The TorchScript exporter at opset 17 writes GELU as Div, Erf, Add, Mul, Mul and
    // SiLU as Sigmoid, Mul; the dynamo exporter at opset 20 writes a Gelu node.
    for name in ["torch_mix_legacy", "torch_mix"] {
        let imported = import_fixture(name);
        let acts: Vec<String> = imported
            .model
            .layers
            .iter()
            .map(|l| match &l.kind {
                LayerKind::Dense(d) => format!("{:?}", d.activation),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            acts,
            [
                "LeakyRelu { negative_slope: 0.05 }",
                "Tanh",
                "Sigmoid",
                "Elu { alpha: 0.7 }",
                "Gelu { approximate: false }",
                "Silu",
                "Softmax"
            ],
            "{name}"
        );
    }
    // A branch that computes something else is still a branch: x·tanh(x).
    let bytes = graph(
        vec![
            node("Tanh", "t", &["x"], "tx"),
            node("Mul", "m", &["x", "tx"], "y"),
        ],
        Vec::new(),
        &[3],
        3,
    );
    let text = error(&bytes).to_string();
    assert!(
        text.starts_with("value `x` feeds 2 nodes (`t` (Tanh), `m` (Mul)): the graph branches"),
        "{text}"
    );
}

#[test]
fn keras_batchnorm_in_inference_form_is_folded_with_a_note() {
    let imported = import_fixture("keras_mlp");
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.contains("batch_normalization")
                && n.contains("folded into the Dense after them")),
        "{:?}",
        imported.notes
    );
    let kinds: Vec<&str> = imported
        .model
        .layers
        .iter()
        .map(|l| l.kind.keras_class())
        .collect();
    assert_eq!(kinds, ["Flatten", "Dense", "Dense", "Dense", "Dense"]);
}

/// A network of `spec` with deterministic, non-trivial weights and statistics.
fn trained(spec: &str) -> Network {
    let ir = mlp_spec::compile(spec).expect("compiles").models.remove(0);
    let mut net = Network::new(&ir, 7, 16).expect("a network");
    for (i, p) in net.params_mut().iter_mut().enumerate() {
        *p += 0.01 * (i as f32 * 0.7).sin();
    }
    let layout = net.layout().clone();
    for t in layout.tensors.iter().filter(|t| !t.trainable) {
        for (k, s) in net.state_mut()[t.range()].iter_mut().enumerate() {
            *s = match t.role {
                mlp_runtime::Role::MovingVariance | mlp_runtime::Role::Variance => {
                    0.5 + (k as f32 * 0.3).cos().abs()
                }
                mlp_runtime::Role::Count => 10.0,
                _ => (k as f32 * 0.9).sin() * 0.5,
            };
        }
    }
    net
}

fn exported(net: &mut Network) -> Vec<u8> {
    let ir = net.ir().clone();
    let (params, state) = (net.params().to_vec(), net.state().to_vec());
    let weights = Weights {
        params: &params,
        state: &state,
        folded: net.folded_weights(),
    };
    mlp_onnx::export(&ir, &weights, &[]).expect("exports")
}

fn inputs(n: usize, features: usize) -> Vec<f32> {
    (0..n * features)
        .map(|i| (i as f32 * 0.37).sin() * 2.0)
        .collect()
}

#[test]
fn mlp_export_then_import_gives_back_the_weights_bit_for_bit() {
    let spec = "model RoundTrip {
        input [2, 6]
        Rescale(0.5, offset = 0.25)
        Flatten
        Dense(16, activation = relu)
        Dropout(0.3)
        Dense(12, activation = elu(alpha = 0.5), use_bias = false)
        Dense(10, activation = selu)
        LeakyReLU(0.2)
        Dense(9, activation = tanh)
        Dense(8, activation = leaky_relu(negative_slope = 0.1))
        Dense(8)
        Activation(swish)
        Dense(7, activation = softplus)
        Dense(7, activation = gelu)
        Dense(7)
        Activation(gelu(approximate = true))
        Dense(6, activation = sigmoid)
        Sigmoid
        Dense(3, activation = softmax)
    }";
    let mut net = trained(spec);
    let bytes = exported(&mut net);
    let imported = import(&bytes, &options()).expect("imports");
    assert_eq!(imported.params.len(), net.params().len());
    for (i, (a, b)) in imported.params.iter().zip(net.params()).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "parameter {i}");
    }
    assert_eq!(imported.state, net.state());
    // Same tensors under the same names (Dropout is gone from an inference graph, so the
    // layers after it are numbered alike only because Dropout has no tensors).
    let names = |m: &mlp_runtime::ir::Model| -> Vec<String> {
        mlp_runtime::ParamLayout::new(m)
            .tensors
            .iter()
            .map(|t| format!("{} {:?}", t.name, t.shape))
            .collect()
    };
    assert_eq!(names(&imported.model), names(net.ir()));
    let x = inputs(16, 12);
    let want = net.forward(&x, 16).to_vec();
    let got = network(&imported, 16).forward(&x, 16).to_vec();
    assert_eq!(got, want);
}

#[test]
fn mlp_exports_with_folded_batchnorm_and_normalization_import_to_the_same_outputs() {
    let specs = [
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/notebook/batchnorm.mlp"),
        )
        .expect("the notebook spec"),
        // BatchNorm first (not folded by the export: a Mul and an Add), then after a linear
        // Dense (folded into it); Normalization before the first Dense.
        "model Folds {
            input [5]
            BatchNorm
            Dense(8)
            BatchNorm
            Dense(6, activation = relu)
            Dense(2, activation = softmax)
        }"
        .to_owned(),
        "model Tab {
            input [4]
            Normalization
            Dense(16, activation = relu)
            Dense(3, activation = softmax)
        }"
        .to_owned(),
    ];
    for spec in &specs {
        let mut net = trained(spec);
        let features = net.ir().input_size();
        let bytes = exported(&mut net);
        let imported = import(&bytes, &options()).expect("imports");
        let x = inputs(16, features);
        let want = net.forward(&x, 16).to_vec();
        let got = network(&imported, 16).forward(&x, 16).to_vec();
        assert_close(&got, &want, &net.ir().name);
    }
}

// ---------------------------------------------------------------------------------------
// Broken files

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        dim_value: None,
        dim_param: Some("batch".to_owned()),
    }];
    dim.extend(dims.iter().map(|&d| Dimension {
        dim_value: Some(d),
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

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: vec![output.to_owned()],
        name: name.to_owned(),
        op_type: op.to_owned(),
        ..NodeProto::default()
    }
}

fn floats_tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: FLOAT,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    }
}

fn graph(
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    input: &[i64],
    units: i64,
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        graph: Some(GraphProto {
            node: nodes,
            name: "g".to_owned(),
            initializer,
            input: vec![value("x", input)],
            output: vec![value("y", &[units])],
            ..GraphProto::default()
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        ..ModelProto::default()
    }
    .encode_to_vec()
}

/// `x [batch, 3]` → Gemm(w [2, 3], transB) → Relu → `y [batch, 2]`.
fn good_graph() -> (Vec<NodeProto>, Vec<TensorProto>) {
    let mut gemm = node("Gemm", "fc", &["x", "w", "b"], "h");
    gemm.attribute.push(AttributeProto {
        name: "transB".to_owned(),
        i: 1,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    });
    (
        vec![gemm, node("Relu", "act", &["h"], "y")],
        vec![
            floats_tensor("w", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            floats_tensor("b", &[2], &[0.5, -0.5]),
        ],
    )
}

fn error(bytes: &[u8]) -> ImportError {
    match import(bytes, &options()) {
        Ok(i) => panic!("imported:\n{}", i.source),
        Err(e) => e,
    }
}

#[test]
fn the_hand_built_good_graph_imports() {
    let (nodes, inits) = good_graph();
    let imported = import(&graph(nodes, inits, &[3], 2), &options()).expect("imports");
    assert!(imported
        .source
        .contains("Dense(2, activation = relu) // fc, act"));
    // Kernel [3, 2] = w transposed.
    assert_eq!(imported.params, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 0.5, -0.5]);
}

#[test]
fn truncated_and_random_bytes_are_not_onnx() {
    let bytes = std::fs::read(fixtures().join("torch_batchnorm.onnx")).expect("fixture");
    for cut in [bytes.len() / 2, bytes.len() - 1, 7] {
        let e = error(&bytes[..cut]);
        assert!(matches!(e, ImportError::Decode(_)), "cut at {cut}: {e}");
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let e = error(&random);
    assert!(
        matches!(e, ImportError::Decode(_) | ImportError::NoGraph),
        "{e}"
    );
    assert!(matches!(error(&[]), ImportError::NoGraph));
}

#[test]
fn a_cycle_is_refused_naming_a_node_on_it() {
    let (mut nodes, inits) = good_graph();
    // fc reads the Relu's output: fc → act → fc.
    nodes[0].input[0] = "y2".to_owned();
    nodes.push(node("Relu", "loop", &["y"], "y2"));
    nodes.push(node("Identity", "use_x", &["x"], "unused"));
    let e = error(&graph(nodes, inits, &[3], 2));
    assert_eq!(
        e,
        ImportError::Cycle {
            node: "fc".to_owned(),
            op: "Gemm".to_owned()
        }
    );
}

#[test]
fn an_unknown_op_is_named_with_the_node_and_what_is_supported() {
    let (mut nodes, inits) = good_graph();
    nodes[1].op_type = "Conv".to_owned();
    let e = error(&graph(nodes, inits, &[3], 2));
    let text = e.to_string();
    assert!(
        text.starts_with("node `act`: op `Conv` is not supported; mlp imports Gemm, MatMul"),
        "{text}"
    );
    assert!(text.contains("BatchNormalization"), "{text}");
}

#[test]
fn a_weight_of_the_wrong_shape_is_refused() {
    let (nodes, mut inits) = good_graph();
    inits[0] = floats_tensor("w", &[2, 4], &[0.0; 8]);
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(
        text,
        "node `fc` (Gemm): its weight is [2, 4] (transposed), which takes 4 features, but its input has shape [3]"
    );
    let (nodes, mut inits) = good_graph();
    inits[1] = floats_tensor("b", &[3], &[0.0; 3]);
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(
        text,
        "node `fc` (Gemm): its bias has shape [3], expected [2]"
    );
}

#[test]
fn a_huge_claimed_tensor_is_refused_before_allocating() {
    let (nodes, mut inits) = good_graph();
    inits[0] = TensorProto {
        dims: vec![1 << 20, 1 << 20],
        ..floats_tensor("w", &[], &[1.0])
    };
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert!(
        text.starts_with(
            "tensor `w`: its dimensions [1048576, 1048576] claim more than 4294967296 elements"
        ),
        "{text}"
    );
    let (nodes, mut inits) = good_graph();
    inits[0] = TensorProto {
        dims: vec![3, 1 << 20],
        ..floats_tensor("w", &[], &[1.0, 2.0])
    };
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(
        text,
        "tensor `w`: its dimensions [3, 1048576] claim 3145728 elements (12582912 bytes) but it holds 8 bytes"
    );
    let (nodes, mut inits) = good_graph();
    inits[0].dims = vec![-2, 3];
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(text, "tensor `w`: negative dimension -2");
}

#[test]
fn graphs_that_are_no_chain_are_refused() {
    // A branch: x feeds the Gemm and a Relu whose result is added back.
    let (mut nodes, inits) = good_graph();
    nodes.push(node("Sigmoid", "side", &["x"], "s"));
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert!(
        text.starts_with(
            "value `x` feeds 2 nodes (`fc` (Gemm), `side` (Sigmoid)): the graph branches"
        ),
        "{text}"
    );
    // A dangling input.
    let (mut nodes, inits) = good_graph();
    nodes[1].input[0] = "nowhere".to_owned();
    let e = error(&graph(nodes, inits, &[3], 2));
    assert_eq!(
        e.to_string(),
        "node `act` (Relu) reads `nowhere`, which no node, initializer or graph input provides"
    );
    // Two inputs.
    let (nodes, inits) = good_graph();
    let mut model = ModelProto::decode(graph(nodes, inits, &[3], 2).as_slice()).expect("decodes");
    if let Some(g) = model.graph.as_mut() {
        g.input.push(value("x2", &[3]));
    }
    let text = error(&model.encode_to_vec()).to_string();
    assert_eq!(
        text,
        "the graph has 2 inputs besides its initializers (`x`, `x2`); an MLP has one"
    );
    // A node off the path.
    let (mut nodes, mut inits) = good_graph();
    inits.push(floats_tensor("c", &[1], &[1.0]));
    nodes.push(node("Relu", "dead", &["c"], "d"));
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(
        text,
        "node `dead` (Relu) is not on the path from the graph's input to its output"
    );
    // An output that disagrees with the nodes.
    let (nodes, inits) = good_graph();
    let text = error(&graph(nodes, inits, &[3], 5)).to_string();
    assert_eq!(
        text,
        "graph output `y`: it says 5 features per sample, the nodes compute [2]"
    );
}

#[test]
fn weights_outside_the_file_and_other_types_are_refused() {
    let (nodes, mut inits) = good_graph();
    inits[0].data_location = 1;
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert!(
        text.contains("stored outside the file (ONNX external data)"),
        "{text}"
    );
    let (nodes, mut inits) = good_graph();
    inits[0].data_type = 11;
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(
        text,
        "tensor `w`: a tensor of type DOUBLE; mlp reads FLOAT weights (and INT64 shapes)"
    );
}

#[test]
fn a_reshape_that_is_no_flatten_and_bad_names_are_refused() {
    let (mut nodes, mut inits) = good_graph();
    nodes.insert(0, node("Reshape", "rs", &["x", "shape"], "x2"));
    nodes[1].input[0] = "x2".to_owned();
    inits.push(TensorProto {
        dims: vec![3],
        data_type: INT64,
        name: "shape".to_owned(),
        int64_data: vec![-1, 3, 1],
        ..TensorProto::default()
    });
    let text = error(&graph(nodes, inits, &[3], 2)).to_string();
    assert_eq!(
        text,
        "node `rs` (Reshape): a reshape of [batch, 3] to [-1, 3, 1]; mlp reshapes only to [batch, 3] (a Flatten)"
    );
    let (nodes, inits) = good_graph();
    let bad = ImportOptions {
        name: Some("2fast".to_owned()),
        ..options()
    };
    let e = import(&graph(nodes, inits, &[3], 2), &bad).expect_err("refused");
    assert_eq!(e, ImportError::Name("2fast".to_owned()));
    assert_eq!(mlp_onnx::model_name_from("torch_mlp-v2"), "TorchMlpV2");
    assert_eq!(mlp_onnx::model_name_from("2layer"), "M2layer");
    assert_eq!(mlp_onnx::model_name_from("--"), "Imported");
}

#[test]
fn the_fuzz_seeds_import_or_fail_as_intended() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/onnx");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the seeds") {
        let path = entry.expect("an entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let bytes = std::fs::read(&path).expect("readable");
        let result = import(&bytes, &options());
        match name.as_str() {
            "cycle" => assert!(
                matches!(result, Err(ImportError::Cycle { .. })),
                "{result:?}"
            ),
            "conv" => assert!(
                matches!(result, Err(ImportError::Unsupported { ref op, .. }) if op == "Conv"),
                "{result:?}"
            ),
            _ => {
                let imported = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(!imported.model.layers.is_empty());
            }
        }
        seen += 1;
    }
    assert!(seen >= 10, "{seen} seeds");
}

/// `x·W + b` then a per-feature `·s + t` (an inference `BatchNorm` after a linear layer):
/// folded into the Dense, computing what the graph computes.
#[test]
fn a_scale_and_shift_after_a_linear_dense_folds_into_it() {
    let (w, b) = ([0.5f32, -1.0, 2.0, 0.25, 1.5, -0.75], [0.1f32, -0.2]);
    let (s, t) = ([1.5f32, -0.5], [0.3f32, 2.0]);
    let bytes = graph(
        vec![
            node("MatMul", "mm", &["x", "w"], "m"),
            node("Add", "bias", &["m", "b"], "a"),
            node("Mul", "scale", &["a", "s"], "sc"),
            node("Add", "shift", &["sc", "t"], "y"),
        ],
        vec![
            floats_tensor("w", &[3, 2], &w),
            floats_tensor("b", &[2], &b),
            floats_tensor("s", &[2], &s),
            floats_tensor("t", &[2], &t),
        ],
        &[3],
        2,
    );
    let imported = import(&bytes, &options()).expect("imports");
    assert!(imported.notes[0].contains("folded into the Dense before them"));
    assert_eq!(imported.model.layers.len(), 1);
    let x = [1.0f32, -2.0, 0.5, 0.0, 3.0, -1.0];
    let got = network(&imported, 2).forward(&x, 2).to_vec();
    let mut want = Vec::new();
    for r in 0..2 {
        for j in 0..2 {
            let z: f64 = (0..3)
                .map(|i| f64::from(x[r * 3 + i]) * f64::from(w[i * 2 + j]))
                .sum::<f64>()
                + f64::from(b[j]);
            want.push((z * f64::from(s[j]) + f64::from(t[j])) as f32);
        }
    }
    assert_close(&got, &want, "fold");
}

#[test]
fn a_file_of_many_empty_messages_is_refused_before_decoding() {
    // 4 MiB of empty nodes (2 bytes each in the file, a NodeProto each in memory).
    let mut graph_body = Vec::new();
    for _ in 0..(2 << 20) {
        graph_body.extend_from_slice(&[0x0a, 0x00]); // field 1 (node), length 0
    }
    let mut bytes = vec![0x3a]; // field 7 (graph), length-delimited
    let mut len = graph_body.len();
    while len >= 0x80 {
        bytes.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
    bytes.extend_from_slice(&graph_body);
    let e = error(&bytes);
    let ImportError::Inflated {
        bytes: size,
        decoded,
        limit,
    } = e
    else {
        panic!("{e}")
    };
    assert_eq!(size, bytes.len());
    assert_eq!(limit, 4 * bytes.len() + (64 << 20));
    // At least one NodeProto per node.
    assert!(
        decoded >= (2 << 20) * std::mem::size_of::<NodeProto>(),
        "{decoded}"
    );
}
