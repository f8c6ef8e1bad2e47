//! `mlp export --format keras` and `mlp import` end to end, on the committed fixtures of
//! `mlp-keras/tests/fixtures/` (files Keras 3.15 saved, and one mlp exported that Keras
//! opened): the export reproduces the file Keras accepted; an imported Keras model
//! predicts through `mlp predict` what Keras predicted, and exports again; files mlp
//! cannot import fail with exit 1 naming the file and the layer, leaving nothing behind.

use std::path::{Path, PathBuf};

use mlp_test_support::{assert_exit, stderr, stdout, Cli};
use serde_json::Value;

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mlp-keras/tests/fixtures")
}

fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn export_writes_the_file_keras_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixtures().join("mlp_export");
    let out = dir.path().join("model.keras");
    let output = MLP.run(
        dir.path(),
        &[
            "export",
            &arg(&src.join("exported.mlp")),
            "--weights",
            &arg(&src.join("exported.safetensors")),
            "--format",
            "keras",
            "-o",
            &arg(&out),
        ],
    );
    assert_exit(&output, 0);
    let written = std::fs::read(&out).unwrap();
    let committed = std::fs::read(src.join("exported.keras")).unwrap();
    assert!(
        written == committed,
        "mlp export --format keras changed its output"
    );
}

#[test]
fn export_refuses_a_model_keras_cannot_express_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("net.mlp");
    std::fs::write(
        &spec,
        "model Net {\n    input [4]\n    Dense(3, activation = elu(alpha = 0.5))\n    \
         Dense(2, activation = softmax)\n}\n",
    )
    .unwrap();
    // An untrained checkpoint of it is enough: the model is what Keras cannot express.
    let ckpt = dir.path().join("net.safetensors");
    let model = mlp_spec::compile(&std::fs::read_to_string(&spec).unwrap())
        .unwrap()
        .models[0]
        .clone();
    let net = mlp_runtime::Network::new(&model, 0, 1).unwrap();
    mlp_runtime::checkpoint::save(&net, &ckpt, None).unwrap();
    let out = dir.path().join("net.keras");
    let output = MLP.run(
        dir.path(),
        &[
            "export",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--format",
            "keras",
            "-o",
            "net.keras",
        ],
    );
    assert_exit(&output, 1);
    assert_eq!(
        stderr(&output),
        "error: cannot export `Net` as Keras: layer 1 `dense` (Dense): activation \
         `elu(alpha = 0.5)` has no Keras form: Keras saves an activation by its name alone, \
         which means alpha = 1.0\n"
    );
    assert!(!out.exists());
}

#[test]
fn an_imported_keras_model_predicts_what_keras_predicted_and_exports_again() {
    let dir = tempfile::tempdir().unwrap();
    let keras = fixtures().join("keras");
    let output = MLP.run(
        dir.path(),
        &[
            "import",
            &arg(&keras.join("tabular.keras")),
            "-o",
            "net.mlp",
        ],
    );
    assert_exit(&output, 0);
    assert!(stdout(&output).starts_with(
        "imported `Tabular` (4 layers, 158 parameters, optimizer state after 12 steps) from "
    ));
    let spec = std::fs::read_to_string(dir.path().join("net.mlp")).unwrap();
    assert!(
        spec.starts_with("model Tabular {\n    input [5]\n    Normalization\n"),
        "{spec}"
    );
    assert_exit(&MLP.run(dir.path(), &["check", "net.mlp"]), 0);

    // Keras's inputs as a CSV of the model's five features.
    let recorded: Value =
        serde_json::from_str(&std::fs::read_to_string(keras.join("tabular.json")).unwrap())
            .unwrap();
    let values: Vec<f64> = recorded["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let mut csv = String::from("a,b,c,d,e\n");
    for row in values.chunks(5) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    std::fs::write(dir.path().join("x.csv"), csv).unwrap();
    let output = MLP.run(
        dir.path(),
        &[
            "predict",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--data",
            "x.csv",
        ],
    );
    assert_exit(&output, 0);
    let printed = stdout(&output);
    let mut lines = printed.lines();
    assert_eq!(lines.next(), Some("output_0,output_1,output_2,class"));
    let mine: Vec<f32> = lines
        .flat_map(|l| {
            l.split(',')
                .take(3)
                .map(|v| v.parse::<f32>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let theirs: Vec<f32> = recorded["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(mine.len(), theirs.len());
    for (m, k) in mine.iter().zip(&theirs) {
        assert!(
            (m - k).abs() <= 1e-5 * k.abs().max(1e-6),
            "mlp {m} vs Keras {k}"
        );
    }

    // Back out as Keras, and in again: the same spec and weights.
    let output = MLP.run(
        dir.path(),
        &[
            "export",
            "net.mlp",
            "--weights",
            "net.safetensors",
            "--format",
            "keras",
            "-o",
            "again.keras",
        ],
    );
    assert_exit(&output, 0);
    let output = MLP.run(
        dir.path(),
        &[
            "import",
            "again.keras",
            "-o",
            "again.mlp",
            "--weights",
            "again.safetensors",
        ],
    );
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.mlp")).unwrap(),
        spec
    );
    assert_eq!(
        std::fs::read(dir.path().join("again.safetensors")).unwrap(),
        std::fs::read(dir.path().join("net.safetensors")).unwrap()
    );
}

#[test]
fn import_takes_a_name_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let keras = arg(&fixtures().join("keras/leaky.keras"));
    let output = MLP.run(
        dir.path(),
        &["import", &keras, "-o", "n.mlp", "--name", "Leaky2"],
    );
    assert_exit(&output, 0);
    let spec = std::fs::read_to_string(dir.path().join("n.mlp")).unwrap();
    assert!(spec.starts_with("model Leaky2 {\n"), "{spec}");
    let output = MLP.run(
        dir.path(),
        &["import", &keras, "-o", "m.mlp", "--name", "2x"],
    );
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("--name `2x` is not a model name"));
    assert!(!dir.path().join("m.mlp").exists());
}

#[test]
fn files_mlp_cannot_import_fail_naming_the_file_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.keras"), b"PK\x03\x04 not really").unwrap();
    let branches = fixtures().join("keras/functional_branches.keras");
    let unknown = fixtures().join("keras/unknown_layer.keras");
    for (input, code, expected) in [
        (
            arg(&branches),
            1,
            format!(
                "error: {}: config.json: layer 3 `add` (Add): the layer takes 2 inputs",
                branches.display()
            ),
        ),
        (
            arg(&unknown),
            1,
            format!(
                "error: {}: config.json: layer 2 `layer_normalization` (LayerNormalization): \
                 layer class `LayerNormalization` is not supported",
                unknown.display()
            ),
        ),
        (
            "junk.keras".to_owned(),
            1,
            "error: junk.keras: not a valid .keras file (a zip archive): ".to_owned(),
        ),
        (
            "missing.keras".to_owned(),
            2,
            "error: cannot read `missing.keras`: ".to_owned(),
        ),
        (
            // `.onnx` goes to the ONNX importer (`tests/import.rs`).
            "model.onnx".to_owned(),
            2,
            "error: cannot read `model.onnx`: ".to_owned(),
        ),
    ] {
        let output = MLP.run(dir.path(), &["import", &input, "-o", "out.mlp"]);
        assert_exit(&output, code);
        let err = stderr(&output);
        assert!(err.starts_with(&expected), "{input}:\n{err}\n{expected}");
        assert!(!dir.path().join("out.mlp").exists(), "{input}");
        assert!(!dir.path().join("out.safetensors").exists(), "{input}");
    }
}
