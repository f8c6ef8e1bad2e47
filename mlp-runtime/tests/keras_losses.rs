//! Losses, their gradients and the metrics against values real Keras 3.15 / TensorFlow 2.21
//! computed on fixed inputs (`tests/fixtures/keras_tabular/losses.json`, written by
//! `scripts/keras_tabular.py`; see that folder's README). Nothing here needs TensorFlow.

mod common;

use mlp_runtime::ir::{self, Loss, Metric};
use mlp_runtime::loss::{probability_loss, sigmoid_cross_entropy};
use mlp_runtime::metrics::Metrics;
use mlp_runtime::{Model, Network, Targets};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/keras_tabular/losses.json"
    );
    let text = std::fs::read_to_string(path).expect("the Keras fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().expect("a number") as f32],
        other => panic!("not a number or array: {other}"),
    }
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / w.abs().max(1.0);
        assert!(
            err <= tol,
            "{what}[{i}]: got {g}, Keras {w} (error {err:e})"
        );
    }
}

/// `input [3]; Dense(2, activation)` with the fixture's kernel and bias, trained with
/// `loss`.
fn dense_net(kernel: &Value, bias: &Value, activation: &str, loss: Loss) -> Network {
    let spec = format!(
        "model M {{\n    input [3]\n    Dense(2, activation = {activation})\n    train {{\n        loss = mse\n        metrics = []\n    }}\n}}\n"
    );
    let mut model = common::compile(&spec);
    model.train.loss = loss;
    let mut net = Network::new(&model, 0, 8).expect("a network");
    let params: Vec<f32> = floats(kernel).into_iter().chain(floats(bias)).collect();
    net.params_mut().copy_from_slice(&params);
    net
}

/// The data loss and the kernel gradient of one `compute_gradients` over the fixture's x.
fn loss_and_kernel_grad(net: &mut Network, x: &[f32], y: &[f32]) -> (f32, Vec<f32>) {
    let rows = x.len() / 3;
    let stats = net.compute_gradients(x, Targets::Values(y), rows);
    (stats.loss, net.grads()[..6].to_vec())
}

#[test]
fn binary_crossentropy_after_a_sigmoid_reads_its_logits_as_keras_does() {
    let f = fixture();
    let (dense, bce) = (&f["dense"], &f["bce"]);
    assert_eq!(bce["path_taken"], "logits");
    let x = floats(&dense["x"]);
    let y = floats(&bce["y_true"]);
    let mut net = dense_net(
        &dense["kernel"],
        &dense["bias"],
        "sigmoid",
        Loss::BinaryCrossentropy { from_logits: false },
    );
    let (loss, grad) = loss_and_kernel_grad(&mut net, &x, &y);
    let keras = floats(&bce["loss_keras_path"])[0];
    close("bce loss", &[loss], &[keras], 1e-6);
    // The clipped-probability path gives a very different value: we are not on it.
    let clipped = floats(&bce["loss_clipped_probability_path"])[0];
    assert!((loss - clipped).abs() > 1.0);
    close(
        "bce kernel gradient",
        &grad,
        &floats(&bce["grad_kernel_keras_path"]),
        1e-6,
    );
    // The outputs are the sigmoid's probabilities, as Keras's predict returns them.
    let out = net.forward(&x, 5).to_vec();
    close("sigmoid outputs", &out, &floats(&dense["sigmoid"]), 1e-6);
}

#[test]
fn binary_crossentropy_from_logits_on_a_linear_output() {
    let f = fixture();
    let (dense, bce) = (&f["dense"], &f["bce"]);
    let x = floats(&dense["x"]);
    let y = floats(&bce["y_true"]);
    let mut net = dense_net(
        &dense["kernel"],
        &dense["bias"],
        "linear",
        Loss::BinaryCrossentropy { from_logits: true },
    );
    let (loss, grad) = loss_and_kernel_grad(&mut net, &x, &y);
    close(
        "bce from logits",
        &[loss],
        &floats(&bce["loss_from_logits_on_linear_model"]),
        1e-6,
    );
    close(
        "bce from logits gradient",
        &grad,
        &floats(&bce["grad_kernel_from_logits_on_linear_model"]),
        1e-6,
    );
}

#[test]
fn regression_losses_and_their_gradients_match_keras() {
    let f = fixture();
    let (dense, reg) = (&f["dense"], &f["regression_model"]);
    let x = floats(&dense["x"]);
    let y = floats(&reg["y_true"]);
    for (key, loss) in [
        ("mse", Loss::MeanSquaredError),
        ("mae", Loss::MeanAbsoluteError),
        ("huber_delta_1.0", Loss::Huber { delta: 1.0 }),
        ("huber_delta_0.5", Loss::Huber { delta: 0.5 }),
    ] {
        let mut net = dense_net(&reg["kernel"], &reg["bias"], "linear", loss);
        let (value, grad) = loss_and_kernel_grad(&mut net, &x, &y);
        let want = &f["model_losses"][key];
        close(key, &[value], &floats(&want["value"]), 1e-6);
        close(key, &grad, &floats(&want["grad_kernel"]), 1e-6);
    }
}

#[test]
fn losses_on_literal_outputs_match_keras_with_their_gradients() {
    let f = fixture();
    let lit = &f["literal_losses"];
    let (t, p) = (floats(&lit["y_true"]), floats(&lit["y_pred"]));
    let (batch, units) = (3, 4);
    for (key, loss) in [
        ("mse", Loss::MeanSquaredError),
        ("mae", Loss::MeanAbsoluteError),
        ("huber_delta_1.0", Loss::Huber { delta: 1.0 }),
        ("huber_delta_0.5", Loss::Huber { delta: 0.5 }),
    ] {
        let mut d = vec![0.0; batch * units];
        let got = probability_loss(loss, batch, units, &p, Targets::Values(&t), Some(&mut d));
        close(key, &[got.loss], &floats(&lit[key]["value"]), 1e-6);
        close(key, &d, &floats(&lit[key]["grad_y_pred"]), 1e-6);
    }
    let bce = &lit["binary_crossentropy_on_probabilities"];
    let (t, p) = (floats(&bce["y_true"]), floats(&bce["y_pred"]));
    let mut d = vec![0.0; batch * units];
    let got = probability_loss(
        Loss::BinaryCrossentropy { from_logits: false },
        batch,
        units,
        &p,
        Targets::Values(&t),
        Some(&mut d),
    );
    close(
        "bce on probabilities",
        &[got.loss],
        &floats(&bce["value"]),
        1e-6,
    );
    close(
        "bce on probabilities: gradient",
        &d,
        &floats(&bce["grad_y_pred"]),
        1e-5,
    );
    let logits = &lit["binary_crossentropy_from_logits"];
    let t = floats(&logits["y_true"]);
    let z = floats(&lit["y_pred"]);
    let (mut probs, mut d) = (vec![0.0; batch * units], vec![0.0; batch * units]);
    let got = sigmoid_cross_entropy(
        batch,
        units,
        &z,
        Targets::Values(&t),
        &mut probs,
        Some(&mut d),
    );
    close(
        "bce from logits",
        &[got.loss],
        &floats(&logits["value"]),
        1e-6,
    );
    close(
        "bce from logits: gradient",
        &d,
        &floats(&logits["grad_y_pred"]),
        1e-6,
    );
}

/// A model with `units` outputs reporting `metrics`.
fn with_metrics(units: usize, metrics: Vec<Metric>) -> ir::Model {
    let act = if units == 1 { "sigmoid" } else { "softmax" };
    let loss = if units == 1 {
        "binary_crossentropy"
    } else {
        "categorical_crossentropy"
    };
    let mut m = common::compile(&format!(
        "model M {{\n    input [2]\n    Dense({units}, activation = {act})\n    train {{\n        loss = {loss}\n    }}\n}}\n"
    ));
    m.train.metrics = metrics;
    m
}

fn result(metrics: &mut Metrics, name: &str) -> f32 {
    mlp_runtime::metric_value(metrics.results(), name).expect("the metric")
}

#[test]
fn binary_metrics_match_keras_including_ties_and_thresholds() {
    let f = fixture();
    let m = &f["metrics"];
    let (t, p) = (floats(&m["binary_y_true"]), floats(&m["binary_y_pred"]));
    let model = with_metrics(
        1,
        vec![
            Metric::Auc {
                num_thresholds: 200,
            },
            Metric::Precision { threshold: 0.5 },
            Metric::Recall { threshold: 0.5 },
            Metric::BinaryAccuracy { threshold: 0.5 },
            Metric::Accuracy,
        ],
    );
    let n = t.len();
    // One update, and the same data in two updates: the same results.
    for split in [n, n / 2] {
        let mut metrics = Metrics::new(&model, false);
        metrics.update(&p[..split], Targets::Values(&t[..split]), split, 1);
        metrics.update(&p[split..], Targets::Values(&t[split..]), n - split, 1);
        close(
            "auc",
            &[result(&mut metrics, "auc")],
            &floats(&m["auc_roc_200"]["value"]),
            1e-6,
        );
        close(
            "precision",
            &[result(&mut metrics, "precision")],
            &floats(&m["precision"]["value"]),
            1e-6,
        );
        close(
            "recall",
            &[result(&mut metrics, "recall")],
            &floats(&m["recall"]["value"]),
            1e-6,
        );
        let acc = floats(&m["binary_accuracy_0.5"]);
        close(
            "binary_accuracy",
            &[result(&mut metrics, "binary_accuracy")],
            &acc,
            1e-6,
        );
        // `accuracy` on one output unit is binary accuracy.
        close("accuracy", &[result(&mut metrics, "accuracy")], &acc, 1e-6);
    }
    let mut few = Metrics::new(
        &with_metrics(1, vec![Metric::Auc { num_thresholds: 3 }]),
        false,
    );
    few.update(&p, Targets::Values(&t), n, 1);
    close(
        "auc(3)",
        &[result(&mut few, "auc")],
        &floats(&m["auc_roc_3"]),
        1e-6,
    );
    // No positive prediction: precision is 0, not NaN.
    let mut none = Metrics::new(
        &with_metrics(1, vec![Metric::Precision { threshold: 0.5 }]),
        false,
    );
    none.update(&[0.1, 0.2], Targets::Values(&[1.0, 0.0]), 2, 1);
    assert_eq!(result(&mut none, "precision").to_bits(), 0.0f32.to_bits());
}

#[test]
fn categorical_and_regression_metrics_match_keras() {
    let f = fixture();
    let m = &f["metrics"];
    let classes: Vec<u32> = floats(&m["categorical_y_true"])
        .iter()
        .map(|&c| c as u32)
        .collect();
    let p = floats(&m["categorical_y_pred"]);
    let n = classes.len();
    let onehot: Vec<f32> = classes
        .iter()
        .flat_map(|&c| (0..3).map(move |j| if j == c as usize { 1.0 } else { 0.0 }))
        .collect();
    let model = with_metrics(
        3,
        vec![
            Metric::CategoricalAccuracy,
            Metric::SparseCategoricalAccuracy,
            Metric::Accuracy,
        ],
    );
    let want = floats(&m["categorical_accuracy"]);
    let mut sparse = Metrics::new(&model, true);
    sparse.update(&p, Targets::Classes(&classes), n, 3);
    close(
        "sparse_categorical_accuracy",
        &[result(&mut sparse, "sparse_categorical_accuracy")],
        &floats(&m["sparse_categorical_accuracy"]),
        1e-6,
    );
    close(
        "accuracy (classes)",
        &[result(&mut sparse, "accuracy")],
        &want,
        1e-6,
    );
    let mut dense = Metrics::new(&model, false);
    dense.update(&p, Targets::Values(&onehot), n, 3);
    close(
        "categorical_accuracy",
        &[result(&mut dense, "categorical_accuracy")],
        &want,
        1e-6,
    );
    close(
        "accuracy (one-hot)",
        &[result(&mut dense, "accuracy")],
        &want,
        1e-6,
    );

    let (t, p) = (
        floats(&m["regression_y_true"]),
        floats(&m["regression_y_pred"]),
    );
    let model = with_metrics(
        1,
        vec![
            Metric::MeanAbsoluteError,
            Metric::RootMeanSquaredError,
            Metric::MeanSquaredError,
        ],
    );
    let n = t.len();
    let mut metrics = Metrics::new(&model, false);
    metrics.update(&p[..7], Targets::Values(&t[..7]), 7, 1);
    metrics.update(&p[7..], Targets::Values(&t[7..]), n - 7, 1);
    close(
        "mae",
        &[result(&mut metrics, "mae")],
        &floats(&m["mean_absolute_error"]),
        1e-6,
    );
    let rmse = floats(&m["root_mean_squared_error"])[0];
    close(
        "rmse",
        &[result(&mut metrics, "root_mean_squared_error")],
        &[rmse],
        1e-6,
    );
    close("mse", &[result(&mut metrics, "mse")], &[rmse * rmse], 1e-5);
    // reset() forgets everything.
    metrics.reset();
    metrics.update(&[1.0], Targets::Values(&[3.0]), 1, 1);
    assert_eq!(result(&mut metrics, "mae").to_bits(), 2.0f32.to_bits());
}
