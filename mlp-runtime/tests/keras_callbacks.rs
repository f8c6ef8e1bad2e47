//! Callbacks against real Keras 3.15 (`tests/fixtures/keras_training/callbacks.json`,
//! written by `scripts/keras_training_fixtures.py`; see its README): model A
//! (4 → Dense(5, relu) → Dense(3, softmax)) from the stored initial weights, Adam at 0.05,
//! batch 8, no shuffling, validated on the stored validation rows. For every case: the
//! epochs run, the epoch `early_stopping` stopped at, which epoch's weights training ends
//! with (a restore), the History (`learning_rate` included) and the CSV file `csv_logger`
//! writes, byte for byte.
#![allow(clippy::float_cmp)] // learning rates are compared exactly, as Keras assigns them

use std::path::PathBuf;

use mlp_runtime::data::{Dataset, TargetSet};
use mlp_runtime::{fit, FitOptions, Model, Network};
use ndarray::{Array1, Array2};
use serde_json::Value;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/keras_training/callbacks.json");
    let text = std::fs::read_to_string(&path).expect("callbacks.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn optimizers() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/keras_training/optimizers.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("optimizers.json")).expect("JSON")
}

fn f32s(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(f32s).collect(),
        Value::Number(n) => vec![n.as_f64().expect("number") as f32],
        Value::String(s) => vec![s.parse::<f32>().unwrap_or(f32::NAN)],
        _ => panic!("not numbers: {v}"),
    }
}

fn dataset(x: &Value, y: &Value) -> Dataset {
    let x = f32s(x);
    let labels: Vec<u32> = f32s(y).iter().map(|&v| v as u32).collect();
    let rows = labels.len();
    let x = Array2::from_shape_vec((rows, 4), x).expect("rows of 4");
    Dataset::from_arrays(
        x.view(),
        TargetSet::Classes {
            labels: Array1::from(labels),
            classes: 3,
            names: None,
        },
    )
    .expect("dataset")
}

/// Model A with `callbacks`, its weights set to the fixture's initial ones.
fn model_a(callbacks: &str, epochs: usize) -> Network {
    let source = format!(
        "model A {{ input [4] Dense(5, activation = relu) Dense(3, activation = softmax)
           train {{ optimizer = adam(learning_rate = 0.05) loss = sparse_categorical_crossentropy
                    metrics = [accuracy] batch = 8 epochs = {epochs} shuffle = false
                    callbacks = [{callbacks}] }} }}"
    );
    let spec = mlp_spec::compile(&source).unwrap_or_else(|e| panic!("{e:?}"));
    let mut net = Network::new(&spec.models[0], 0, 8).expect("network");
    let init = &optimizers()["initial_weights"]["model_a"];
    set_weights(&mut net, init);
    net
}

/// Copies Keras's `<layer>/<weight>` values into the model's tensors (`<layer>.<role>`).
fn set_weights(net: &mut Network, weights: &Value) {
    let tensors: Vec<_> = net.layout().tensors.clone();
    for t in &tensors {
        let key = t.name.replace('.', "/");
        let values = f32s(&weights[&key]);
        assert_eq!(values.len(), t.len, "{key}");
        let buf = if t.trainable {
            net.params_mut()
        } else {
            net.state_mut()
        };
        buf[t.offset..t.offset + t.len].copy_from_slice(&values);
    }
}

fn weights_of(net: &Network) -> Vec<f32> {
    net.params().to_vec()
}

fn keras_weights(v: &Value, net: &Network) -> Vec<f32> {
    let mut out = vec![0.0; net.params().len()];
    for t in net.layout().tensors.iter().filter(|t| t.trainable) {
        let key = t.name.replace('.', "/");
        out[t.offset..t.offset + t.len].copy_from_slice(&f32s(&v[&key]));
    }
    out
}

fn close(a: f32, b: f32, rel: f32) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-3) || (a.is_nan() && b.is_nan())
}

/// The spec text of a Keras callback config.
fn spec_of(callback: &Value) -> String {
    let class = callback["class_name"].as_str().expect("class_name");
    let name = match class {
        "EarlyStopping" => "early_stopping",
        "ReduceLROnPlateau" => "reduce_lr_on_plateau",
        "CSVLogger" => "csv_logger",
        "ModelCheckpoint" => "model_checkpoint",
        "TerminateOnNaN" => "terminate_on_nan",
        other => panic!("unknown callback {other}"),
    };
    let args: Vec<String> = callback["args"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let k = if k == "filepath" { "path" } else { k.as_str() };
                    match v {
                        Value::String(s) => format!("{k} = \"{s}\""),
                        Value::Bool(b) => format!("{k} = {b}"),
                        other => format!("{k} = {other}"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{name}({})", args.join(", "))
}

fn data() -> (Dataset, Dataset) {
    let d = &optimizers()["data"];
    (dataset(&d["x"], &d["y"]), dataset(&d["x_val"], &d["y_val"]))
}

fn check_history(what: &str, got: &mlp_runtime::History, expect: &Value) {
    for (key, series) in expect.as_object().expect("history") {
        let want = f32s(series);
        let have: Vec<f32> = match key.as_str() {
            "loss" => got.loss.clone(),
            "val_loss" => got.val_loss.clone(),
            k => got.metric(k).to_vec(),
        };
        assert_eq!(have.len(), want.len(), "{what}: epochs of `{key}`");
        for (e, (h, w)) in have.iter().zip(&want).enumerate() {
            assert!(
                close(*h, *w, 2e-4),
                "{what}: `{key}` epoch {e}: mlp {h}, Keras {w}"
            );
        }
    }
}

#[test]
fn early_stopping_stops_and_restores_as_keras_does() {
    let fx = fixture();
    let (train, val) = data();
    let cases = fx["early_stopping"].as_object().expect("cases");
    assert!(cases.len() >= 10);
    for (name, case) in cases {
        let epochs = case["epochs_requested"].as_u64().expect("epochs") as usize;
        let mut net = model_a(&spec_of(&case["callback"]), epochs);
        let opts = FitOptions::from_config(&net.ir().train.clone());
        let history =
            fit(&mut net, &train, Some(&val), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        let run = case["epochs_run"].as_u64().expect("epochs_run") as usize;
        assert_eq!(history.epochs(), run, "{name}: epochs run");
        let stopped = case["stopped_epoch"].as_u64().expect("stopped_epoch") as usize;
        assert_eq!(
            history.stopped_epoch.unwrap_or(0),
            stopped,
            "{name}: stopped epoch"
        );
        check_history(name, &history, &case["history"]);
        let want = keras_weights(&case["final_weights"], &net);
        let got = weights_of(&net);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                close(*g, *w, 2e-3),
                "{name}: final weight {i}: mlp {g}, Keras {w}"
            );
        }
    }
}

#[test]
fn reduce_lr_on_plateau_logs_and_lowers_the_rate_as_keras_does() {
    let fx = fixture();
    let (train, val) = data();
    for (name, case) in fx["reduce_lr_on_plateau"].as_object().expect("cases") {
        let epochs = case["epochs_requested"].as_u64().expect("epochs") as usize;
        let mut net = model_a(&spec_of(&case["callback"]), epochs);
        let opts = FitOptions::from_config(&net.ir().train.clone());
        let history =
            fit(&mut net, &train, Some(&val), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The learning-rate trajectory is exact (f32 as Keras assigns it).
        let want = f32s(&case["history"]["learning_rate"]);
        assert_eq!(
            history.metric("learning_rate"),
            want.as_slice(),
            "{name}: learning_rate"
        );
        check_history(name, &history, &case["history"]);
        let final_lr = case["final_learning_rate"].as_f64().expect("final") as f32;
        assert_eq!(net.learning_rate(), final_lr, "{name}: final rate");
    }
}

#[test]
fn csv_logger_writes_the_file_keras_writes() {
    let fx = fixture();
    let (train, val) = data();
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, case) in fx["csv_logger"].as_object().expect("cases") {
        let path = dir.path().join(format!("{name}.csv"));
        let csv = format!("csv_logger(\"{}\")", path.display());
        let plateau = "reduce_lr_on_plateau(monitor = val_loss, factor = 0.5, patience = 1)";
        let callbacks = match name.as_str() {
            "after_reduce_lr" => format!("{plateau}, {csv}"),
            "before_reduce_lr" => format!("{csv}, {plateau}"),
            _ => csv,
        };
        let validation = name != "no_validation";
        let epochs = if validation { 3 } else { 2 };
        let mut net = model_a(&callbacks, epochs);
        let opts = FitOptions::from_config(&net.ir().train.clone());
        if validation {
            fit(&mut net, &train, Some(&val), &opts).expect("fit");
        } else {
            let _ = fit(&mut net, &train, None, &opts);
        }
        let text = std::fs::read_to_string(&path).expect("csv written");
        let want = case["text"].as_str().expect("text");
        // Same columns, rows and line ends; values to the printed digits of Keras's f32s.
        let (got_lines, want_lines): (Vec<&str>, Vec<&str>) =
            (text.split("\r\n").collect(), want.split("\r\n").collect());
        assert_eq!(
            got_lines.len(),
            want_lines.len(),
            "{name}: rows\n{text}\n{want}"
        );
        assert_eq!(got_lines[0], want_lines[0], "{name}: header");
        for (g, w) in got_lines.iter().zip(&want_lines).skip(1) {
            let (g, w): (Vec<&str>, Vec<&str>) = (g.split(',').collect(), w.split(',').collect());
            assert_eq!(g.len(), w.len(), "{name}: columns");
            for (a, b) in g.iter().zip(&w) {
                match (a.parse::<f32>(), b.parse::<f32>()) {
                    (Ok(x), Ok(y)) => assert!(close(x, y, 2e-4), "{name}: {a} vs {b}"),
                    _ => assert_eq!(a, b, "{name}"),
                }
            }
        }
    }
}

#[test]
fn model_checkpoint_writes_the_files_keras_writes() {
    let fx = fixture();
    let (train, val) = data();
    for (name, case) in fx["model_checkpoint"].as_object().expect("cases") {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cb = case["callback"].clone();
        let pattern = dir
            .path()
            .join("ckpt_{epoch:02d}_{val_loss:.4f}.weights.h5");
        cb["args"]["filepath"] = Value::String(pattern.display().to_string());
        let mut net = model_a(&spec_of(&cb), 8);
        let opts = FitOptions::from_config(&net.ir().train.clone());
        fit(&mut net, &train, Some(&val), &opts).expect("fit");
        let mut files: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let want: Vec<String> = case["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f.as_str().expect("name").to_owned())
            .collect();
        assert_eq!(files, want, "{name}");
    }
}
