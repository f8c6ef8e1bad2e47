//! `mlp import` end to end: a `PyTorch` model (`mlp-onnx/tests/fixtures/import/`, written by
//! `PyTorch` 2.15) imported, then evaluated, used to predict and fine-tuned by `mlp train
//! --weights` on scikit-learn's iris (`$MLP_DATA/tabular`), and exported again; and broken
//! files, each refused with exit 1 naming the file and its first problem, leaving nothing
//! behind.

use std::fs;
use std::path::{Path, PathBuf};

use mlp_onnx::proto::{
    attribute_type, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
    FLOAT,
};
use mlp_runtime::{Model, Network};
use mlp_test_support::{assert_exit, listing, stderr, stdout, tabular_dir, Cli};
use prost::Message;

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mlp-onnx/tests/fixtures/import")
        .join(name)
}

fn reference(name: &str) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(fixture(name)).expect("JSON")).expect("valid")
}

fn rows(v: &serde_json::Value) -> Vec<Vec<f32>> {
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("a row")
                .iter()
                .map(|x| x.as_f64().expect("a number") as f32)
                .collect()
        })
        .collect()
}

fn iris() -> String {
    tabular_dir().join("iris.csv").display().to_string()
}

/// The parameters and state of the checkpoint `ckpt` of the spec `spec`.
fn weights(spec: &Path, ckpt: &Path) -> (Vec<f32>, Vec<f32>) {
    let ir = mlp_spec::compile(&fs::read_to_string(spec).expect("spec"))
        .expect("compiles")
        .models
        .remove(0);
    let mut net = Network::new(&ir, 0, 1).expect("a network");
    net.load(ckpt).expect("loads");
    (net.params().to_vec(), net.state().to_vec())
}

#[test]
fn a_pytorch_model_is_imported_evaluated_used_and_fine_tuned() {
    let dir = tempfile::tempdir().expect("a folder");
    let d = dir.path();
    let file = fixture("torch_batchnorm.onnx");
    let out = MLP.run(d, &["import", &file.display().to_string(), "-o", "net.mlp"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("Imported `TorchBatchnorm` (7 layers, 339 parameters)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(listing(d), ["net.mlp", "net.safetensors"]);
    // A spec `mlp check` and `mlp fmt --check` accept.
    assert_exit(&MLP.run(d, &["check", "net.mlp"]), 0);
    assert_exit(&MLP.run(d, &["fmt", "--check", "net.mlp"]), 0);
    let spec = fs::read_to_string(d.join("net.mlp")).expect("the spec");
    assert!(
        spec.contains("BatchNorm(momentum = 0.7, epsilon = 0.0002)"),
        "{spec}"
    );

    // `mlp predict` on PyTorch's test inputs gives PyTorch's outputs.
    let r = reference("torch_batchnorm.json");
    let (x, want) = (rows(&r["inputs"]), rows(&r["outputs"]));
    let mut csv = String::from("a,b,c,d\n");
    for row in &x {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    fs::write(d.join("x.csv"), csv).expect("writable");
    let out = MLP.run(
        d,
        &[
            "predict",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--data",
            "x.csv",
        ],
    );
    assert_exit(&out, 0);
    let printed = stdout(&out);
    let lines: Vec<&str> = printed.lines().skip(1).collect();
    assert_eq!(lines.len(), want.len(), "{printed}");
    for (line, want) in lines.iter().zip(&want) {
        let got: Vec<f32> = line
            .split(',')
            .take(3)
            .map(|c| c.parse().expect("a number"))
            .collect();
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(1e-3),
                "mlp {g}, PyTorch {w}"
            );
        }
    }

    // Evaluated and fine-tuned on iris (4 features, 3 classes, as the model).
    let out = MLP.run(
        d,
        &[
            "evaluate",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--data",
            &iris(),
        ],
    );
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("accuracy"), "{}", stdout(&out));
    let out = MLP.run(
        d,
        &[
            "train",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--data",
            &iris(),
            "--epochs",
            "3",
            "--quiet",
            "--save",
            "tuned.safetensors",
        ],
    );
    assert_exit(&out, 0);
    let (before, before_state) = weights(&d.join("net.mlp"), &d.join("net.safetensors"));
    let (after, after_state) = weights(&d.join("net.mlp"), &d.join("tuned.safetensors"));
    assert_eq!(before.len(), after.len());
    assert_ne!(before, after, "training changed the weights");
    assert_ne!(
        before_state, after_state,
        "training moved the moving statistics"
    );
    // Fine-tuning starts from the imported weights: one tiny step stays close to them,
    // where a fresh start (Glorot, zero biases, unit statistics) would be far away.
    let out = MLP.run(
        d,
        &[
            "train",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--data",
            &iris(),
            "--epochs",
            "1",
            "--batch",
            "150",
            "--quiet",
            "--save",
            "step.safetensors",
        ],
    );
    assert_exit(&out, 0);
    let (step, _) = weights(&d.join("net.mlp"), &d.join("step.safetensors"));
    let far = before
        .iter()
        .zip(&step)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(far < 0.01, "one Adam step of 1e-3 moves a weight by {far}");
    // `--weights` and `--resume` do not go together.
    let out = MLP.run(
        d,
        &[
            "train",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--resume",
            "ck",
            "--data",
            &iris(),
        ],
    );
    assert_exit(&out, 2);

    // The imported model exports to ONNX again.
    let out = MLP.run(
        d,
        &[
            "export",
            "net.mlp",
            "--weights",
            "tuned.safetensors",
            "--format",
            "onnx",
            "-o",
            "back.onnx",
        ],
    );
    assert_exit(&out, 0);
    let out = MLP.run(
        d,
        &["import", "back.onnx", "-o", "back.mlp", "--name", "Back"],
    );
    assert_exit(&out, 0);
    // `mlp export` folds each BatchNorm into the Dense before it: three Dense layers.
    let back = fs::read_to_string(d.join("back.mlp")).expect("the spec");
    assert_eq!(back.matches("Dense(").count(), 3, "{back}");
    assert!(!back.contains("BatchNorm"), "{back}");
}

#[test]
fn keras_and_dynamo_exports_import_too() {
    let dir = tempfile::tempdir().expect("a folder");
    for name in ["keras_mlp", "torch_mix", "torch_dropout"] {
        let file = fixture(&format!("{name}.onnx")).display().to_string();
        let out = MLP.run(
            dir.path(),
            &[
                "import",
                &file,
                "-o",
                &format!("{name}.mlp"),
                "--weights",
                &format!("{name}.w.safetensors"),
            ],
        );
        assert_exit(&out, 0);
        assert_exit(&MLP.run(dir.path(), &["check", &format!("{name}.mlp")]), 0);
    }
}

// ---------------------------------------------------------------------------------------
// Bad files

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

fn tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: FLOAT,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    }
}

/// `x [batch, 3]` → Gemm(w [2, 3], transB = 1, b) → Relu → `y [batch, 2]`, with `edit`
/// applied to its nodes and initializers.
fn onnx(edit: impl FnOnce(&mut Vec<NodeProto>, &mut Vec<TensorProto>)) -> Vec<u8> {
    let mut gemm = node("Gemm", "fc", &["x", "w", "b"], "h");
    gemm.attribute.push(AttributeProto {
        name: "transB".to_owned(),
        i: 1,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    });
    let mut nodes = vec![gemm, node("Relu", "act", &["h"], "y")];
    let mut inits = vec![
        tensor("w", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        tensor("b", &[2], &[0.5, -0.5]),
    ];
    edit(&mut nodes, &mut inits);
    ModelProto {
        ir_version: 8,
        graph: Some(GraphProto {
            node: nodes,
            name: "g".to_owned(),
            initializer: inits,
            input: vec![value("x", &[3])],
            output: vec![value("y", &[2])],
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

/// Imports `bytes` written as `model.onnx` and checks the refusal: exit 1, a first line
/// naming the file and containing `problem`, nothing written.
#[track_caller]
fn refused(bytes: &[u8], problem: &str) {
    let dir = tempfile::tempdir().expect("a folder");
    fs::write(dir.path().join("model.onnx"), bytes).expect("writable");
    let out = MLP.run(
        dir.path(),
        &[
            "import",
            "model.onnx",
            "-o",
            "net.mlp",
            "--weights",
            "net.safetensors",
        ],
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: cannot import `model.onnx`: ") && first.contains(problem),
        "wanted `{problem}` in:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        listing(dir.path()),
        ["model.onnx"],
        "nothing else is written"
    );
}

#[test]
fn the_control_graph_imports() {
    let dir = tempfile::tempdir().expect("a folder");
    fs::write(dir.path().join("model.onnx"), onnx(|_, _| {})).expect("writable");
    let out = MLP.run(dir.path(), &["import", "model.onnx", "-o", "net.mlp"]);
    assert_exit(&out, 0);
    assert_eq!(
        listing(dir.path()),
        ["model.onnx", "net.mlp", "net.safetensors"]
    );
}

#[test]
fn a_truncated_file_is_refused() {
    let bytes = fs::read(fixture("torch_mix.onnx")).expect("fixture");
    refused(
        &bytes[..bytes.len() / 2],
        "not an ONNX model (truncated or corrupt protobuf)",
    );
}

#[test]
fn random_bytes_are_refused() {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..2000)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    refused(&bytes, "not an ONNX model");
}

#[test]
fn a_cycle_is_refused() {
    refused(
        &onnx(|nodes, _| {
            nodes[0].input[0] = "back".to_owned();
            nodes.push(node("Relu", "again", &["y"], "back"));
            nodes.push(node("Identity", "keep", &["x"], "k"));
        }),
        "the graph has a cycle through node `fc` (Gemm)",
    );
}

#[test]
fn an_unknown_op_is_refused_naming_the_node_and_what_is_supported() {
    refused(
        &onnx(|nodes, _| nodes[1].op_type = "Conv".to_owned()),
        "node `act`: op `Conv` is not supported; mlp imports Gemm, MatMul",
    );
}

#[test]
fn mismatched_weight_shapes_are_refused() {
    refused(
        &onnx(|_, inits| inits[0] = tensor("w", &[2, 5], &[0.5; 10])),
        "node `fc` (Gemm): its weight is [2, 5] (transposed), which takes 5 features, but its input has shape [3]",
    );
    refused(
        &onnx(|_, inits| inits[1] = tensor("b", &[4], &[0.5; 4])),
        "its bias has shape [4], expected [2]",
    );
}

#[test]
fn a_huge_claimed_tensor_is_refused() {
    refused(
        &onnx(|_, inits| inits[0].dims = vec![1 << 31, 1 << 31, 3]),
        "tensor `w`: its dimensions [2147483648, 2147483648, 3] claim more than 4294967296 elements",
    );
    refused(
        &onnx(|_, inits| inits[0].dims = vec![1 << 30, 3]),
        "tensor `w`: its dimensions [1073741824, 3] claim 3221225472 elements (12884901888 bytes) but it holds 24 bytes",
    );
}

#[test]
fn the_extension_chooses_the_importer() {
    let dir = tempfile::tempdir().expect("a folder");
    // `.keras` goes to the Keras importer (`tests/keras_io.rs` tests it), which refuses
    // this non-zip file naming it; nothing is written.
    fs::write(dir.path().join("model.keras"), b"PK").expect("writable");
    let out = MLP.run(dir.path(), &["import", "model.keras", "-o", "net.mlp"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).starts_with("error: model.keras: not a valid .keras file"),
        "{}",
        stderr(&out)
    );
    let out = MLP.run(dir.path(), &["import", "model.pt", "-o", "net.mlp"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("cannot tell the format of `model.pt`"));
    // A missing output folder is found before anything is read or written.
    fs::write(dir.path().join("model.onnx"), onnx(|_, _| {})).expect("writable");
    let out = MLP.run(dir.path(), &["import", "model.onnx", "-o", "no/net.mlp"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("the folder `no` does not exist"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(dir.path()), ["model.keras", "model.onnx"]);
}

#[test]
fn a_file_that_would_decode_into_far_more_memory_is_refused() {
    // 2 MiB of empty graph nodes: 2 bytes each in the file, a whole message in memory.
    let mut body = Vec::new();
    for _ in 0..(1 << 20) {
        body.extend_from_slice(&[0x0a, 0x00]);
    }
    let mut bytes = vec![0x3a];
    let mut len = body.len();
    while len >= 0x80 {
        bytes.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
    bytes.extend_from_slice(&body);
    refused(&bytes, "would decode into about");
}
