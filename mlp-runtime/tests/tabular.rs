//! Training on real tabular data (scikit-learn's iris, wine and Boston housing CSVs)
//! against Keras 3.15's own runs of the same models on the same split
//! (`tests/fixtures/keras_tabular/results.json`, written by `scripts/keras_tabular.py`; see
//! that folder's README).
//!
//! Everything about a model comes from the fixture at test time: its layers, loss,
//! metrics, learning rate, batch and epochs (turned into a `.mlp` spec), the data file and
//! the lines before its data, the row permutation and the split point. The validation set
//! is the last 20% of the permuted rows, as Keras's `validation_split = 0.2` cuts it;
//! `Normalization` is adapted on the training rows (and its statistics checked against
//! the ones Keras adapted); each model trains through `Network` for the fixture's seeds
//! (model seed and shuffling seed both `seed`).
//!
//! TensorFlow's initialisation and shuffling streams are not ours, so a run is not compared
//! with a run: the mean of our five final validation values must lie within Keras's range
//! over its five seeds widened by a margin `m` (see [`margin`]):
//! `keras.min - m <= ours.mean <= keras.max + m`. The comparison table (ours: mean and
//! min–max; Keras: the same, read from the fixture) goes to stderr:
//! `cargo test --release -p mlp-runtime --test tabular -- --nocapture`.
//!
//! The data are read from `$MLP_DATA/tabular` (see `mlp_test_support::data_dir`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use mlp_runtime::data::{read_csv, CsvOptions, CsvTargets, Dataset, Limits, TargetSet};
use mlp_runtime::{adapt, fit, FitOptions, Model, Network, ParamLayout, Role};
use ndarray::{Array2, Axis};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/keras_tabular/results.json"
    );
    let text = std::fs::read_to_string(path).expect("the Keras fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

fn num(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("not a number in the fixture: {v}"))
}

fn count(v: &Value) -> usize {
    v.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or_else(|| panic!("not a count in the fixture: {v}"))
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string in the fixture: {v}"))
}

fn list(v: &Value) -> &[Value] {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list in the fixture: {v}"))
}

/// The `.mlp` spec of the fixture's `models.<name>.spec`: Keras's layer list, loss, metrics
/// and Adam settings in our language. Anything the translation does not know fails the
/// test rather than being skipped.
fn spec_of(name: &str, spec: &Value) -> String {
    let mut body = String::new();
    for layer in list(&spec["layers"]) {
        let layer = text(layer);
        let args = layer
            .split_once('(')
            .and_then(|(kind, rest)| Some((kind, rest.strip_suffix(')')?)))
            .unwrap_or_else(|| panic!("layer `{layer}`"));
        let line = match args {
            ("Input", units) => format!("input [{units}]"),
            ("Normalization", "axis=-1") => "Normalization".to_owned(),
            ("Dense", args) => match args.split_once(", ").unwrap_or((args, "linear")) {
                (units, "linear") => format!("Dense({units})"),
                (units, activation) => format!("Dense({units}, activation = {activation})"),
            },
            _ => panic!("layer `{layer}` has no translation"),
        };
        body.push_str("    ");
        body.push_str(&line);
        body.push('\n');
    }
    assert_eq!(text(&spec["optimizer"]), "adam", "{name}: optimizer");
    let metrics: Vec<&str> = list(&spec["metrics"])
        .iter()
        .map(|m| match text(m) {
            "accuracy" => "accuracy",
            "mae" => "mae",
            "AUC" => "auc",
            "Precision" => "precision",
            "Recall" => "recall",
            other => panic!("metric `{other}` has no translation"),
        })
        .collect();
    assert_eq!(spec["shuffle"], Value::Bool(true), "{name}: shuffle");
    format!(
        "model M {{\n{body}    train {{\n        optimizer = adam(learning_rate = {})\n        loss = {}\n        metrics = [{}]\n        batch = {}\n        epochs = {}\n    }}\n}}\n",
        num(&spec["learning_rate"]),
        text(&spec["loss"]),
        metrics.join(", "),
        count(&spec["batch_size"]),
        count(&spec["epochs"]),
    )
}

/// The fixture's training and validation sets of `model`: its dataset's CSV read as
/// `scripts/keras_tabular.py` reads it, rows in the fixture's permutation, targets as the
/// model's spec says (`last column`, or `1.0 if class == 0 else 0.0`), split at `split_at`.
fn splits(f: &Value, model: &str, ir: &mlp_runtime::ir::Model) -> (Dataset, Dataset) {
    let spec = &f["models"][model]["spec"];
    let d = &f["datasets"][text(&spec["dataset"])];
    let header = d["header"].as_array();
    let opts = CsvOptions {
        // The lines before the data; a header line among them is read as the header.
        skip_rows: count(&d["lines_skipped"]) - usize::from(header.is_some()),
        has_header: header.is_some(),
        ..CsvOptions::default()
    };
    let path = mlp_test_support::tabular_dir().join(text(&d["file"]));
    let table = read_csv(&path, &opts, Limits::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = count(&d["n"]);
    assert_eq!(table.rows(), n, "{model}: rows of {}", path.display());
    assert_eq!(table.features.ncols(), count(&d["n_features"]), "{model}");
    if let Some(header) = header {
        let names: Vec<&str> = header.iter().map(text).collect();
        assert_eq!(table.feature_names, names[..names.len() - 1], "{model}");
    }
    let CsvTargets::Numbers(y) = &table.targets else {
        panic!("{model}: the target column is numbers")
    };
    let permutation: Vec<usize> = list(&d["permutation"]).iter().map(count).collect();
    assert_eq!(permutation.len(), n);
    let x = table.features.select(Axis(0), &permutation);
    let y = y.select(Axis(0), &permutation);
    let y: Array2<f32> = match text(&spec["target"]) {
        "last column" => y,
        "1.0 if class == 0 else 0.0" => y.mapv(|c| if c == 0.0 { 1.0 } else { 0.0 }),
        other => panic!("{model}: target `{other}` has no translation"),
    };
    let data = Dataset::from_arrays(x.view(), TargetSet::Values(y))
        .expect("a valid dataset")
        .with_targets_for(ir);
    let split_at = count(&d["split_at"]);
    // Keras's validation_split rule, which the fixture's split_at must follow.
    assert_eq!(split_at, (n as f64 * (1.0 - 0.2)).floor() as usize);
    let (train, val) = (data.slice(0..split_at), data.slice(split_at..n));
    if let Some(counts) = d["train_class_counts"].as_array() {
        if train.classes().is_some() {
            let want: Vec<usize> = counts.iter().map(count).collect();
            assert_eq!(train.label_counts(), want, "{model}: training classes");
            let want: Vec<usize> = list(&d["val_class_counts"]).iter().map(count).collect();
            assert_eq!(val.label_counts(), want, "{model}: validation classes");
        }
    }
    if let Some(mean) = d["train_target_mean"].as_f64() {
        let TargetSet::Values(t) = &train.targets else {
            panic!("{model}: value targets")
        };
        let ours = t.iter().map(|&v| f64::from(v)).sum::<f64>() / t.len() as f64;
        assert!(
            (ours - mean).abs() < 1e-4,
            "{model}: target mean {ours} vs {mean}"
        );
    }
    (train, val)
}

/// Our `Normalization` statistics after `adapt` equal Keras's (seed 0's, which are every
/// seed's: the same rows): the data, the permutation and the split are the same.
fn check_normalization(name: &str, net: &Network, keras: &Value) {
    let layout = ParamLayout::new(net.ir());
    let index = net
        .ir()
        .layers
        .iter()
        .position(|l| l.name == "normalization")
        .expect("a Normalization layer");
    for (role, key) in [(Role::Mean, "mean"), (Role::Variance, "variance")] {
        let range = layout.tensor(index, role).expect("the tensor").range();
        let ours = &net.state()[range];
        let want: Vec<f64> = list(&keras[key]).iter().map(num).collect();
        assert_eq!(ours.len(), want.len(), "{name}: {key}");
        for (j, (&o, &w)) in ours.iter().zip(&want).enumerate() {
            // Keras sums in f32 through TensorFlow's reductions; ours in another order.
            let error = (f64::from(o) - w).abs() / w.abs().max(1e-3);
            assert!(
                error < 1e-5,
                "{name}: {key}[{j}] = {o}, Keras {w} (relative error {error:e})"
            );
        }
    }
}

/// Mean, min and max of `values`.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, min, max)
}

/// How far outside Keras's seed range `[min, max]` our mean may lie.
///
/// Half Keras's range: with five seeds each side, the expected range of five draws of a
/// normal distribution is about 2.33σ, so half of it is about 1.16σ, while the mean of our
/// five runs has a standard error of σ/√5 ≈ 0.45σ. Two trainers with the same distribution
/// of outcomes put our mean inside `[min − range/2, max + range/2]` all but always; a
/// shifted distribution (a semantics bug) does not stay inside.
///
/// At least one validation sample's worth for the counting metrics (accuracy: `1/n_val`;
/// precision and recall: one over the validation positives), whose values are multiples of
/// that step: five seeds that happened to agree (a range of 0) do not make one sample's
/// difference a failure.
fn margin(key: &str, range: f64, n_val: usize, positives: usize) -> f64 {
    let step = match key {
        "val_accuracy" => 1.0 / n_val as f64,
        "val_precision" | "val_recall" => 1.0 / positives.max(1) as f64,
        _ => 0.0,
    };
    (range / 2.0).max(step)
}

/// Trains `model` (the fixture's name) for every seed and compares the final validation
/// values with Keras's, printing the table to stderr.
fn compare(model: &str) {
    let f = fixture();
    let keras = &f["models"][model];
    let spec = spec_of(model, &keras["spec"]);
    let ir = mlp_spec::compile(&spec)
        .unwrap_or_else(|e| panic!("{model}: {e:?}\n{spec}"))
        .models
        .remove(0);
    let (train, val) = splits(&f, model, &ir);
    let seeds: Vec<u64> = list(&f["protocol"]["seeds"])
        .iter()
        .map(|s| s.as_u64().expect("a seed"))
        .collect();
    let keys: Vec<&str> = keras["summary"]
        .as_object()
        .expect("the summary")
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("val_"))
        .collect();
    assert!(keys.contains(&"val_loss"), "{model}: {keys:?}");
    let started = Instant::now();
    let mut ours: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut epoch_seconds = Vec::new();
    for &seed in &seeds {
        let mut net = Network::new(&ir, seed, ir.train.batch).expect("a network");
        let adapted = adapt(&mut net, &train, 0..train.len()).expect("adapt");
        assert_eq!(adapted, 1, "{model}");
        check_normalization(model, &net, &keras["normalization_seed0"]);
        let opts = FitOptions {
            seed,
            ..FitOptions::from_config(&ir.train)
        };
        let history = fit(&mut net, &train, Some(&val), &opts).expect("training");
        assert_eq!(history.epochs(), ir.train.epochs);
        for &key in &keys {
            let series = if key == "val_loss" {
                &history.val_loss[..]
            } else {
                history.metric(key)
            };
            let last = *series
                .last()
                .unwrap_or_else(|| panic!("{model}: no `{key}` in our History"));
            assert!(last.is_finite(), "{model} seed {seed}: {key} = {last}");
            ours.entry(key).or_default().push(f64::from(last));
        }
        epoch_seconds.extend(history.epoch_seconds.iter().skip(1).copied());
    }
    let total = started.elapsed().as_secs_f64();
    epoch_seconds.sort_by(f64::total_cmp);
    let our_epoch = epoch_seconds[epoch_seconds.len() / 2];
    let keras_epoch = num(&keras["summary"]["seconds_per_epoch_median_after_first"]["mean"]);

    let n_val = val.len();
    let positives = match &val.targets {
        TargetSet::Values(t) if t.ncols() == 1 => t.iter().filter(|&&v| v != 0.0).count(),
        _ => 0,
    };
    let mut table = format!(
        "\n{model}: {} train / {n_val} validation rows, {} epochs, {} seeds; {total:.2} s for all seeds; seconds per epoch (median after the first) ours {:.1} µs, Keras {:.1} ms\n",
        train.len(),
        ir.train.epochs,
        seeds.len(),
        our_epoch * 1e6,
        keras_epoch * 1e3,
    );
    writeln!(
        table,
        "  {:<15} {:>10} {:>21}   {:>10} {:>21}   {:>8}  verdict",
        "metric", "ours mean", "ours min – max", "Keras mean", "Keras min – max", "margin"
    )
    .unwrap();
    let mut failures = Vec::new();
    for &key in &keys {
        let (mean, min, max) = spread(&ours[key]);
        let k = &keras["summary"][key];
        let (k_mean, k_min, k_max) = (num(&k["mean"]), num(&k["min"]), num(&k["max"]));
        let m = margin(key, k_max - k_min, n_val, positives);
        let inside = k_min - m <= mean && mean <= k_max + m;
        writeln!(
            table,
            "  {key:<15} {mean:>10.4} {:>21}   {k_mean:>10.4} {:>21}   {m:>8.4}  {}",
            format!("{min:.4} – {max:.4}"),
            format!("{k_min:.4} – {k_max:.4}"),
            if inside { "ok" } else { "OUTSIDE" }
        )
        .unwrap();
        if !inside {
            failures.push(format!(
                "{key}: our mean {mean:.6} outside Keras's [{k_min:.6} − {m:.6}, {k_max:.6} + {m:.6}] (ours per seed {:?})",
                ours[key]
            ));
        }
    }
    eprint!("{table}");
    assert!(
        failures.is_empty(),
        "{model}:\n{}\n{table}",
        failures.join("\n")
    );
}

#[test]
fn iris_matches_keras_seed_spread() {
    compare("iris");
}

#[test]
fn wine_matches_keras_seed_spread() {
    compare("wine");
}

#[test]
fn wine_binary_matches_keras_seed_spread() {
    compare("wine_binary");
}

#[test]
fn housing_matches_keras_seed_spread() {
    compare("housing");
}

/// The margin rule itself: half the range, or one sample of a counting metric.
#[test]
fn margins_are_half_the_range_or_one_sample() {
    assert!((margin("val_loss", 0.2, 30, 0) - 0.1).abs() < 1e-12);
    assert!((margin("val_accuracy", 0.0, 30, 0) - 1.0 / 30.0).abs() < 1e-12);
    assert!((margin("val_accuracy", 0.2, 30, 0) - 0.1).abs() < 1e-12);
    assert!((margin("val_recall", 0.0, 36, 13) - 1.0 / 13.0).abs() < 1e-12);
    assert!(margin("val_auc", 0.0, 36, 13).abs() < 1e-12);
}
