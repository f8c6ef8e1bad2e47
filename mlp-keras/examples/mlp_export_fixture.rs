//! Writes the mlp-exported fixture of `mlp-keras/tests/fixtures/mlp_export/`: the model
//! of `exported.mlp` trained 5 steps on deterministic synthetic data, saved as a checkpoint
//! (`exported.safetensors`), exported as `exported.keras`, with `exported.json` (8 input
//! rows, mlp's outputs for them, the step count, the layers, targets and the outputs after
//! one more step) for `scripts/keras_load_check.py`:
//!
//! ```sh
//! cargo run --release -p mlp-keras --example mlp_export_fixture
//! /tmp/venv-keras/bin/python scripts/keras_load_check.py mlp-keras/tests/fixtures/mlp_export \
//!     --report mlp-keras/tests/fixtures/mlp_export/keras_report.json
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;

use mlp_runtime::checkpoint::{self, Snapshot};
use mlp_runtime::Model;

fn main() {
    let dir = common::fixtures().join("mlp_export");
    let text = std::fs::read_to_string(dir.join("exported.mlp")).expect("the spec");
    let model = mlp_spec::compile(&text).expect("compiles").models[0].clone();
    let mut net = common::trained(&model, 5);
    checkpoint::save(&net, &dir.join("exported.safetensors"), None).expect("checkpoint");
    let bytes = mlp_keras::export(&Snapshot::of(&net, None)).expect("exports");
    std::fs::write(dir.join("exported.keras"), bytes).expect("write");
    let rows = 8;
    let x = common::inputs(&model, rows, 7);
    let y = net.forward(&x, rows).to_vec();
    let t = common::targets(&model, rows, 7);
    let targets: Vec<f32> = match &t {
        common::OwnedTargets::Classes(c) => c.iter().map(|&v| v as f32).collect(),
        common::OwnedTargets::Values(v) => v.clone(),
    };
    let mut stepped = common::trained(&model, 5);
    stepped.train_step(&x, t.view(), rows);
    let after = stepped.forward(&x, rows).to_vec();
    let layers: Vec<String> = model
        .layers
        .iter()
        .map(|l| format!("[\"{}\", \"{}\"]", l.name, l.keras_class()))
        .collect();
    let mut json = String::new();
    let _ = writeln!(
        json,
        "{{\"spec\": \"mlp-keras/tests/fixtures/mlp_export/exported.mlp\", \"model\": \"{}\", \
         \"input_shape\": {:?}, \"rows\": {rows}, \"inputs\": {x:?}, \"outputs\": {y:?}, \
         \"iterations\": {}, \"layers\": [{}], \"target_kind\": \"classes\", \
         \"targets\": {targets:?}, \"outputs_after_step\": {after:?}, \"dropout\": true}}",
        model.name,
        model.input,
        net.iterations(),
        layers.join(", ")
    );
    std::fs::write(dir.join("exported.json"), json).expect("write");
    println!("wrote {}", dir.display());
}
