//! mlp → `.keras` → mlp: every model of the repository's specs that Keras can express
//! comes back with the same IR (but for source lines) and bit-identical weights, moving
//! statistics, optimiser slots and step count; the others are refused naming the layer.

mod common;

use common::{spec_models, trained};
use mlp_keras::{export, import_bytes, ImportOptions};
use mlp_runtime::checkpoint::Snapshot;
use mlp_runtime::{ir, Model};

/// `model` without its source lines (an imported spec is laid out anew).
fn without_lines(mut model: ir::Model) -> ir::Model {
    model.line = 0;
    for layer in &mut model.layers {
        layer.line = 0;
    }
    model
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_exportable_spec_comes_back_bit_for_bit() {
    let mut refused = Vec::new();
    let mut exported = 0;
    for (file, model) in spec_models() {
        let net = trained(&model, 3);
        assert_eq!(net.iterations(), 3);
        let snapshot = Snapshot::of(&net, None);
        let bytes = match export(&snapshot) {
            Ok(bytes) => bytes,
            Err(e) => {
                refused.push((model.name.clone(), e.to_string()));
                continue;
            }
        };
        exported += 1;
        let what = format!("{file}: {}", model.name);
        // The same snapshot gives the same bytes.
        assert_eq!(export(&snapshot).unwrap(), bytes, "{what}");
        let back = import_bytes(&bytes, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(back.model.name, model.name, "{what}");
        assert_eq!(
            without_lines(back.model.clone()),
            without_lines(model.clone()),
            "{what}"
        );
        assert_eq!(bits(&back.params), bits(net.params()), "{what}: params");
        assert_eq!(bits(&back.state), bits(net.state()), "{what}: state");
        assert_eq!(
            bits(&back.optimizer),
            bits(net.optimizer_slots().unwrap()),
            "{what}: optimizer slots"
        );
        assert_eq!(back.iterations, 3, "{what}");
        assert_eq!(back.seed, net.rng_seed().unwrap(), "{what}");
        // The spec written is what `mlp fmt` would write.
        assert_eq!(
            mlp_spec::format_source(&back.spec).unwrap(),
            back.spec,
            "{what}"
        );
        // Exporting the import again gives the same file.
        assert_eq!(export(&back.snapshot()).unwrap(), bytes, "{what}");
    }
    assert_eq!(exported, 15, "{refused:?}");
    assert_eq!(
        refused,
        [
            (
                "Smooth".to_owned(),
                "layer 9 `dense_5` (Dense): activation `leaky_relu(negative_slope = 0.1)` has \
                 no Keras form: Keras saves an activation by its name alone, which means \
                 negative_slope = 0.2; a LeakyReLU layer keeps its slope"
                    .to_owned()
            ),
            (
                "Layers".to_owned(),
                "layer 3 `activation` (Activation): activation `gelu(approximate = true)` has \
                 no Keras form: Keras saves an activation by its name alone, which means the \
                 exact gelu"
                    .to_owned()
            ),
            (
                "EarlyStopping".to_owned(),
                "the weights do not fit model `EarlyStopping`: a learning-rate schedule \
                 cannot be written to a `.keras` file yet"
                    .to_owned()
            ),
        ]
    );
}
