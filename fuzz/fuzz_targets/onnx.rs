//! ONNX import (`mlp_onnx::import`) on arbitrary bytes: an error, never a panic, never an
//! allocation sized by a claim. An import that succeeds is consistent: its spec text is in
//! `mlp fmt`'s layout and compiles to exactly its model; its weights fill the model's
//! parameter layout with finite values; and, without a `BatchNorm` (which `mlp export`
//! folds), exporting the model back to ONNX and importing that gives the same weights bit
//! for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_codegen::export::Weights;
use mlp_runtime::ir::LayerKind;
use mlp_runtime::{Model, Network, ParamLayout};
use mlp_onnx::{import, ImportOptions};

fuzz_target!(|data: &[u8]| {
    let options = ImportOptions {
        name: Some("Fuzz".to_owned()),
        source_name: "fuzz.onnx".to_owned(),
    };
    let imported = match import(data, &options) {
        Ok(imported) => imported,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let formatted = mlp_spec::format_source(&imported.source).expect("the spec formats");
    assert_eq!(formatted, imported.source, "the spec is formatted");
    let spec = mlp_spec::compile(&imported.source).expect("the spec compiles");
    assert_eq!(spec.models, [imported.model.clone()]);
    let layout = ParamLayout::new(&imported.model);
    assert_eq!(imported.params.len(), layout.trainable_len);
    assert_eq!(imported.state.len(), layout.state_len);
    assert!(imported.params.iter().chain(&imported.state).all(|v| v.is_finite()));
    let folds = imported
        .model
        .layers
        .iter()
        .any(|l| matches!(l.kind, LayerKind::BatchNorm(_)));
    // Small models only: the round trip builds a network.
    if folds || imported.model.params.total > 1 << 16 {
        return;
    }
    let Ok(mut net) = Network::new(&imported.model, 0, 1) else {
        return;
    };
    net.params_mut().copy_from_slice(&imported.params);
    net.state_mut().copy_from_slice(&imported.state);
    let weights = Weights {
        params: &imported.params,
        state: &imported.state,
        folded: net.folded_weights(),
    };
    let bytes = mlp_onnx::export(&imported.model, &weights, &[]).expect("exports");
    let again = import(&bytes, &options).expect("mlp's own export imports");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&again.params), bits(&imported.params));
    assert_eq!(bits(&again.state), bits(&imported.state));
});
