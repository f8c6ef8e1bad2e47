//! The committed mlp-exported file that Keras 3.15 opened (`tests/fixtures/mlp_export/`,
//! see the README there): today's export of the same checkpoint must give the same bytes,
//! so what Keras accepted then is what mlp writes now; and what Keras reported for it
//! (`keras_report.json`: the architecture it loaded, its outputs, the optimizer's step
//! count before and after one `fit` step) must agree with mlp.

mod common;

use std::path::PathBuf;

use mlp_keras::{export, import, ImportOptions};
use mlp_runtime::checkpoint::{self, Snapshot};
use mlp_runtime::{Model, Network};
use serde_json::Value;

fn dir() -> PathBuf {
    common::fixtures().join("mlp_export")
}

fn network() -> Network {
    let text = std::fs::read_to_string(dir().join("exported.mlp")).unwrap();
    let model = mlp_spec::compile(&text).unwrap().models[0].clone();
    let mut net = Network::new(&model, 0, 8).unwrap();
    checkpoint::load(&mut net, &dir().join("exported.safetensors")).unwrap();
    net
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

/// `v` with every number rounded to f32 (and back, to stay a JSON number).
fn as_f32(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::from(f64::from(n.as_f64().unwrap() as f32)),
        Value::Array(items) => Value::Array(items.iter().map(as_f32).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), as_f32(v))).collect())
        }
        other => other.clone(),
    }
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn todays_export_of_the_checkpoint_is_the_file_keras_accepted() {
    let net = network();
    let bytes = export(&Snapshot::of(&net, None)).unwrap();
    let committed = std::fs::read(dir().join("exported.keras")).unwrap();
    assert!(
        bytes == committed,
        "the export changed: re-run the Keras check (README)"
    );
}

#[test]
fn keras_loaded_the_same_model_and_computed_what_mlp_computes() {
    let reports = json("keras_report.json");
    let [report] = reports.as_array().unwrap().as_slice() else {
        panic!("one report")
    };
    assert_eq!(report["problems"], Value::Array(vec![]));
    assert_eq!(report["keras_version"], "3.15.1");
    let mut net = network();
    assert_eq!(report["iterations_loaded"].as_u64(), Some(net.iterations()));
    assert_eq!(
        report["iterations_after_fit"].as_u64(),
        Some(net.iterations() + 1)
    );
    let layers: Vec<(String, String)> = net
        .ir()
        .layers
        .iter()
        .map(|l| (l.name.clone(), l.keras_class().to_owned()))
        .collect();
    let keras_layers: Vec<(String, String)> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(keras_layers, layers);
    // The compile config Keras reported after loading is the one mlp writes (numbers as
    // float32: Keras reports its learning rate back from a float32 variable).
    let ours: Value = serde_json::from_str(&mlp_keras::config_text(net.ir()).unwrap()).unwrap();
    assert_eq!(
        as_f32(&report["compile_config"]),
        as_f32(&ours["compile_config"])
    );

    let inputs = json("exported.json");
    let x = f32s(&inputs["inputs"]);
    let got = net.forward(&x, 8).to_vec();
    let keras = f32s(&report["keras_outputs"]);
    assert_eq!(got.len(), keras.len());
    for (g, k) in got.iter().zip(&keras) {
        assert!(
            (g - k).abs() <= 1e-5 * k.abs().max(1e-6),
            "mlp {g} vs Keras {k}"
        );
    }
}

#[test]
fn the_committed_file_imports_as_the_checkpoint() {
    let net = network();
    let back = import(&dir().join("exported.keras"), &ImportOptions::default()).unwrap();
    assert_eq!(back.params, net.params());
    assert_eq!(back.state, net.state());
    assert_eq!(back.optimizer, net.optimizer_slots().unwrap());
    assert_eq!(back.iterations, net.iterations());
    assert_eq!(back.model.train, net.ir().train);
    assert_eq!(back.model.doc, net.ir().doc);
}
