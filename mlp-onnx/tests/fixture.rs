//! The ONNX export of a small model with known weights against onnxruntime, without
//! needing Python here: `fixtures/tiny.onnx` is what this test exports (compared byte for
//! byte, so a change to the exporter shows up), and `fixtures/tiny_reference.json` holds
//! what onnxruntime computed from that file for fixed inputs (`fixtures/make_reference.py`;
//! see `fixtures/README.md`). `Network` must compute the same.

use mlp_codegen::export::Weights;
use mlp_runtime::{Model, Network};
use std::path::Path;

const SPEC: &str = "model Tiny {\n input [2, 3]\n Flatten\n Dense(4)\n BatchNorm\n ReLU\n Rescale(0.5, offset = 0.25)\n Dense(3, activation = softmax)\n}\n";

fn network() -> Network {
    let spec = mlp_spec::compile(SPEC).expect("compiles");
    let mut net = Network::new(&spec.models[0], 0, 4).expect("a network");
    for (i, p) in net.params_mut().iter_mut().enumerate() {
        *p = (i as f32 * 0.37).sin();
    }
    for (i, s) in net.state_mut().iter_mut().enumerate() {
        // Moving means in [-0.5, 0.5], variances in [0.5, 1.5].
        *s = 0.5 + (i as f32 * 0.61).cos().abs() - if i < 4 { 1.0 } else { 0.0 };
    }
    net
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn tiny_export_is_what_onnxruntime_checked_and_network_agrees() {
    let mut net = network();
    let ir = net.ir().clone();
    let (params, state) = (net.params().to_vec(), net.state().to_vec());
    let weights = Weights {
        params: &params,
        state: &state,
        folded: net.folded_weights(),
    };
    let bytes = mlp_onnx::export(&ir, &weights, &[("mlp.spec", "tiny")]).expect("exports");
    let path = fixtures().join("tiny.onnx");
    if std::env::var_os("MLP_WRITE_ONNX_FIXTURE").is_some() {
        std::fs::write(&path, &bytes).expect("writable");
    }
    let committed = std::fs::read(&path).expect("the committed fixture");
    assert!(
        committed == bytes,
        "the export of the tiny model changed: re-check it with onnxruntime (fixtures/README.md)"
    );

    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("tiny_reference.json")).expect("readable"),
    )
    .expect("JSON");
    let rows = |key: &str| -> Vec<f32> {
        reference[key]
            .as_array()
            .expect("rows")
            .iter()
            .flat_map(|r| {
                r.as_array()
                    .expect("a row")
                    .iter()
                    .map(|v| v.as_f64().expect("a number") as f32)
            })
            .collect()
    };
    let (x, want) = (rows("inputs"), rows("outputs"));
    let batch = x.len() / 6;
    let got = net.forward(&x, batch).to_vec();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let e = (g - w).abs() / w.abs().max(1e-3);
        assert!(
            e <= 1e-6,
            "output {i}: Network {g}, onnxruntime {w} ({e:e})"
        );
    }
}
