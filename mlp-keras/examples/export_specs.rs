//! Exports every model of the repository's specs as a `.keras` file, for
//! `scripts/keras_load_check.py` to open in Keras:
//!
//! ```sh
//! cargo run --release -p mlp-keras --example export_specs -- /tmp/keras-check
//! /tmp/venv-keras/bin/python scripts/keras_load_check.py /tmp/keras-check
//! ```
//!
//! Each model is trained 3 steps on deterministic synthetic data (so its weights, moving
//! statistics and optimiser slots hold something), then written as `<Model>.keras` with
//! `<Model>.json` beside it: the spec file, 8 input rows and mlp's outputs for them
//! (`Network::forward`), the optimiser's step count, the layers (Keras name, class) the
//! file should hold, targets for the rows and mlp's outputs after one more training step
//! on them (batch = the 8 rows). Models Keras cannot express are listed as skipped, with
//! why.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use mlp_runtime::checkpoint::Snapshot;
use mlp_runtime::Model;

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: export_specs DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir).expect("create the output folder");
    for (file, model) in common::spec_models() {
        let mut net = common::trained(&model, 3);
        let bytes = match mlp_keras::export(&Snapshot::of(&net, None)) {
            Ok(bytes) => bytes,
            Err(e) => {
                println!("skipped {file} {}: {e}", model.name);
                continue;
            }
        };
        let rows = 8;
        let x = common::inputs(&model, rows, 7);
        let y = net.forward(&x, rows).to_vec();
        // One more step on these rows, for Keras's `fit` to repeat from the same state.
        let t = common::targets(&model, rows, 7);
        let (kind, targets): (&str, Vec<f32>) = match &t {
            common::OwnedTargets::Classes(c) => ("classes", c.iter().map(|&v| v as f32).collect()),
            common::OwnedTargets::Values(v) => ("values", v.clone()),
        };
        let mut stepped = common::trained(&model, 3);
        stepped.train_step(&x, t.view(), rows);
        let after = stepped.forward(&x, rows).to_vec();
        let layers: Vec<String> = model
            .layers
            .iter()
            .map(|l| format!("[\"{}\", \"{}\"]", l.name, l.keras_class()))
            .collect();
        let mut json = String::new();
        let _ = write!(
            json,
            "{{\"spec\": \"{file}\", \"model\": \"{}\", \"input_shape\": {:?}, \"rows\": {rows}, \
             \"inputs\": {:?}, \"outputs\": {:?}, \"iterations\": {}, \"layers\": [{}], \
             \"target_kind\": \"{kind}\", \"targets\": {:?}, \"outputs_after_step\": {:?}, \
             \"dropout\": {}}}",
            model.name,
            model.input,
            x,
            y,
            net.iterations(),
            layers.join(", "),
            targets,
            after,
            model
                .layers
                .iter()
                .any(|l| matches!(l.kind, mlp_runtime::ir::LayerKind::Dropout { .. }))
        );
        std::fs::write(dir.join(format!("{}.keras", model.name)), bytes).expect("write");
        std::fs::write(dir.join(format!("{}.json", model.name)), json).expect("write");
        println!("exported {file} {}", model.name);
    }
}
