//! Keras → `.keras` → mlp: files saved by Keras 3.15 (`scripts/keras_io_fixtures.py`)
//! read back as specs whose `Network` computes what Keras computed, with the optimiser
//! state Keras saved, so one more training step in mlp lands where Keras's did.

mod common;

use std::path::PathBuf;

use mlp_keras::{import, ImportOptions, Imported};
use mlp_runtime::checkpoint::slot_names;
use mlp_runtime::layout::ParamLayout;
use mlp_runtime::{Model, Targets};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    common::fixtures().join("keras").join(name)
}

/// The `.keras` fixture `name` and the JSON Keras recorded for it.
fn load(name: &str) -> (Imported, Value) {
    let imported = import(
        &fixture(&format!("{name}.keras")),
        &ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap();
    (imported, serde_json::from_str(&text).unwrap())
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The largest `|got - want| / max(|want|, 1e-6)`.
fn relative(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1e-6))
        .fold(0.0, f32::max)
}

/// Checks the imported model's outputs against Keras's, and every optimiser slot against
/// the variable Keras named for it (`adam/<model>_<layer>_<weight>_<slot>`).
fn check_outputs_and_slots(imported: &Imported, keras: &Value) {
    let mut net = imported.network(8).unwrap();
    let x = f32s(&keras["inputs"]);
    let rows = keras["rows"].as_u64().unwrap() as usize;
    let got = net.forward(&x, rows).to_vec();
    let err = relative(&got, &f32s(&keras["outputs"]));
    assert!(
        err <= 1e-5,
        "{}: outputs differ by {err:e}",
        imported.model.name
    );

    assert_eq!(imported.iterations, keras["iterations"].as_u64().unwrap());
    let layout = ParamLayout::new(&imported.model);
    let slots = slot_names(&imported.model.train.optimizer);
    let vars = keras["optimizer_variables"].as_object().unwrap();
    assert_eq!(vars.len(), slots.len() * layout.trainable().count());
    for (s, slot) in slots.iter().enumerate() {
        for t in layout.trainable() {
            let layer = &imported.keras_layer_names[t.layer];
            let suffix = format!("_{layer}_{}_{slot}", t.role.as_str());
            let (path, var) = vars
                .iter()
                .find(|(path, _)| path.ends_with(&suffix))
                .unwrap_or_else(|| panic!("no Keras variable ends with {suffix}"));
            let base = s * layout.trainable_len + t.offset;
            let mine = &imported.optimizer[base..base + t.len];
            assert_eq!(mine, f32s(&var["values"]).as_slice(), "{path}");
        }
    }
}

/// One training step in mlp on the batch Keras stepped on lands where Keras's did.
fn check_step(imported: &Imported, keras: &Value, classes: bool) {
    let mut net = imported.network(8).unwrap();
    let x = f32s(&keras["inputs"]);
    let rows = keras["rows"].as_u64().unwrap() as usize;
    let step = &keras["step"];
    let targets = f32s(&step["targets"]);
    let labels: Vec<u32> = targets.iter().map(|&t| t as u32).collect();
    let y = if classes {
        Targets::Classes(&labels)
    } else {
        Targets::Values(&targets)
    };
    net.train_step(&x, y, rows);
    assert_eq!(net.iterations(), step["iterations_after"].as_u64().unwrap());
    let got = net.forward(&x, rows).to_vec();
    let err = relative(&got, &f32s(&step["outputs_after"]));
    assert!(
        err <= 1e-4,
        "{}: after one step, outputs differ by {err:e}",
        imported.model.name
    );
}

#[test]
fn a_normalized_classifier_with_dropout_reads_back() {
    let (imported, keras) = load("tabular");
    assert_eq!(
        imported.spec,
        "model Tabular {
    input [5]
    Normalization
    Dense(16, activation = relu)
    Dropout(0.2)
    Dense(3, activation = softmax)

    train {
        optimizer = adam(lr = 0.01, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7)
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
    }
}
"
    );
    assert_eq!(imported.keras_version.as_deref(), Some("3.15.1"));
    assert_eq!(
        imported.keras_layer_names,
        ["normalization", "dense", "dropout", "dense_1"]
    );
    check_outputs_and_slots(&imported, &keras);
}

#[test]
fn batch_norm_leaky_relu_and_their_settings_read_back() {
    let (imported, keras) = load("leaky");
    assert_eq!(
        imported.spec,
        "model Leaky {
    input [2, 4]
    Flatten
    Dense(12, init = he_normal, bias_init = constant(0.05), reg = l2(0.001))
    BatchNorm(momentum = 0.9, epsilon = 0.0001)
    LeakyReLU(0.1)
    Dense(4, activation = softmax, init = uniform(-0.2, 0.2), bias_reg = l1(0.0001))

    train {
        optimizer = adam(lr = 0.005, beta1 = 0.9, beta2 = 0.99, epsilon = 1e-7)
        loss = categorical_crossentropy
        metrics = [categorical_accuracy]
    }
}
"
    );
    check_outputs_and_slots(&imported, &keras);
    check_step(&imported, &keras, false);
}

#[test]
fn rmsprop_state_metric_arguments_and_rescaling_read_back() {
    let (imported, keras) = load("rmsprop");
    assert_eq!(
        imported.spec,
        "model Rmsprop {
    input [3]
    Rescale(0.5, offset = 0.1)
    Dense(4, activation = tanh, init = glorot_normal)
    Dense(1, activation = sigmoid)

    train {
        optimizer = rmsprop(lr = 0.01, rho = 0.9, momentum = 0.9, epsilon = 1e-7)
        loss = binary_crossentropy
        metrics = [auc(num_thresholds = 50), precision(thresholds = 0.3)]
    }
}
"
    );
    check_outputs_and_slots(&imported, &keras);
    check_step(&imported, &keras, true);
}
