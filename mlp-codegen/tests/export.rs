//! The standalone export of a small model with known weights, pinned as text (Rust and C),
//! so every change to what `mlp export` writes is reviewed.

use mlp_codegen::export::{self, ExportOptions, Weights};

const SPEC: &str = "model Tiny {\n input [3]\n Dense(4, activation = relu)\n Rescale(0.5, offset = 1)\n Dense(2, activation = softmax)\n}\n";

fn weights_of(n: usize) -> Vec<f32> {
    // Small exact binary fractions, varied in sign.
    (0..n).map(|i| (i as f32 - 10.0) / 16.0).collect()
}

#[test]
fn export_of_a_small_model() {
    let spec = mlp_spec::compile(SPEC).expect("compiles");
    let model = &spec.models[0];
    let plan = mlp_spec::plan::Plan::new(model).expect("plans");
    let params = weights_of(plan.layout.trainable_len);
    let weights = Weights {
        params: &params,
        state: &[],
        folded: Vec::new(),
    };
    let options = ExportOptions {
        source_name: "tiny.mlp".to_owned(),
        checkpoint_sha256: "00".repeat(32),
    };
    let rust = export::rust(model, &weights, &options).expect("exports");
    insta::assert_snapshot!("tiny_rust", rust);
    let (header, source) = export::c(model, &weights, &options, "tiny.h").expect("exports");
    insta::assert_snapshot!("tiny_c_header", header);
    insta::assert_snapshot!("tiny_c_source", source);
    // The same input gives the same text.
    assert_eq!(
        export::rust(model, &weights, &options).expect("exports"),
        rust
    );
}

#[test]
fn weights_of_another_length_are_refused() {
    let spec = mlp_spec::compile(SPEC).expect("compiles");
    let params = vec![0.0; 3];
    let weights = Weights {
        params: &params,
        state: &[],
        folded: Vec::new(),
    };
    let err =
        export::rust(&spec.models[0], &weights, &ExportOptions::default()).expect_err("refused");
    assert!(err.to_string().contains("3 parameters"), "{err}");
}
