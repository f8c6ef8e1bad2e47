//! `fit`, `evaluate`, `predict` on small synthetic data: determinism, Keras bookkeeping,
//! error cases.

mod common;

use mlp_runtime::data::Dataset;
use mlp_runtime::Targets;
use mlp_runtime::{
    evaluate, fit, predict, predict_u8, FitOptions, History, Model, Network, TrainError,
};
use ndarray::{Array1, Array2};

/// 3 classes of 12-pixel images: class c lights pixels 4c..4c+4 (plus noise).
fn synthetic(n: usize, seed: u64) -> Dataset {
    let noise = common::values(n * 12, seed, 0.0, 60.0);
    let labels: Vec<u8> = (0..n)
        .map(|i| ((i * 7 + seed as usize) % 3) as u8)
        .collect();
    let images = Array2::from_shape_fn((n, 12), |(r, c)| {
        let on = c / 4 == usize::from(labels[r]);
        (noise[r * 12 + c] + if on { 180.0 } else { 0.0 }) as u8
    });
    Dataset::from_u8(images, vec![3, 4], Array1::from(labels), 3).unwrap()
}

/// The `train` block of the models here.
const TRAIN: &str = "train {
    optimizer = adam
    loss = sparse_categorical_crossentropy
    metrics = [accuracy]
}";

fn small_model() -> mlp_runtime::ir::Model {
    common::compile(&format!(
        "model Small {{
            input [3, 4]
            Flatten
            Dense(8, activation = relu)
            Dropout(0.1)
            Dense(3, activation = softmax)
            {TRAIN}
        }}"
    ))
}

fn opts(epochs: usize, batch_size: usize, seed: u64) -> FitOptions {
    FitOptions {
        epochs,
        batch_size,
        shuffle: true,
        seed,
        validation_split: None,
        ..FitOptions::default()
    }
}

/// The History without its wall-clock times, as bits: the losses, then every metric
/// series by key.
fn bits(h: &History) -> Vec<(String, Vec<u32>)> {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect();
    let mut out = vec![
        ("loss".to_owned(), bits(&h.loss)),
        ("val_loss".to_owned(), bits(&h.val_loss)),
    ];
    out.extend(h.metrics.iter().map(|(k, v)| (k.clone(), bits(v))));
    out
}

#[test]
fn same_seed_same_history_bit_for_bit() {
    let (train, val) = (synthetic(203, 1), synthetic(50, 2));
    let run = |seed| {
        let mut net = Network::new(&small_model(), seed, 16).unwrap();
        let h = fit(&mut net, &train, Some(&val), &opts(3, 16, seed)).unwrap();
        (h, net.params().to_vec())
    };
    let (a, pa) = run(5);
    let (b, pb) = run(5);
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(pa, pb);
    let (c, _) = run(6);
    assert_ne!(bits(&a), bits(&c));
}

#[test]
fn fit_learns_and_reports_keras_keys() {
    let (train, val) = (synthetic(300, 3), synthetic(90, 4));
    let mut net = Network::new(&small_model(), 1, 32).unwrap();
    let h = fit(&mut net, &train, Some(&val), &opts(6, 32, 0)).unwrap();
    assert_eq!(h.loss.len(), 6);
    assert_eq!(h.val_accuracy().len(), 6);
    assert_eq!(h.epoch_seconds.len(), 6);
    assert!(h.loss[5] < h.loss[0], "{:?}", h.loss);
    assert!(h.val_accuracy()[5] > 0.9, "{:?}", h.val_accuracy());
    // val metrics are evaluate() on the whole validation set after the epoch.
    let e = evaluate(&mut net, &val, 7).unwrap();
    let (vl, va) = (e.loss, e.accuracy());
    assert!((vl - h.val_loss[5]).abs() < 1e-5 && (va - h.val_accuracy()[5]).abs() < 1e-6);
    let json = serde_json::to_value(&h).unwrap();
    for key in [
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "epoch_seconds",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
}

#[test]
fn epoch_loss_weights_the_partial_batch_by_its_size() {
    // 10 samples in batches of 4: steps of 4, 4 and 2 samples. Replaying the same steps by
    // hand on a second network gives the per-step losses to average.
    let train = synthetic(10, 7);
    let m = common::compile(&format!(
        "model Plain {{ input [3, 4] Flatten Dense(3, activation = softmax) {TRAIN} }}"
    ));
    let mut a = Network::new(&m, 2, 4).unwrap();
    let no_shuffle = FitOptions {
        shuffle: false,
        ..opts(1, 4, 0)
    };
    let h = fit(&mut a, &train, None, &no_shuffle).unwrap();
    let mut b = Network::new(&m, 2, 4).unwrap();
    let mut total = 0.0f64;
    for (start, len) in [(0, 4), (4, 4), (8, 2)] {
        let x: Vec<f32> = train
            .images()
            .expect("u8 features")
            .rows()
            .into_iter()
            .skip(start)
            .take(len)
            .flat_map(|r| r.iter().map(|&v| f32::from(v)).collect::<Vec<_>>())
            .collect();
        let y: Vec<u32> = train
            .labels()
            .expect("class targets")
            .iter()
            .skip(start)
            .take(len)
            .copied()
            .collect();
        total += f64::from(b.train_step(&x, Targets::Classes(&y), len).loss) * len as f64;
    }
    assert!(
        ((total / 10.0) as f32 - h.loss[0]).abs() < 1e-6,
        "{} vs {}",
        total / 10.0,
        h.loss[0]
    );
    assert_eq!(a.params(), b.params());
    assert!(h.val_loss.is_empty());
}

#[test]
fn validation_split_takes_the_tail() {
    let train = synthetic(100, 8);
    let mut net = Network::new(&small_model(), 1, 8).unwrap();
    let o = FitOptions {
        validation_split: Some(0.2),
        ..opts(1, 8, 0)
    };
    let h = fit(&mut net, &train, None, &o).unwrap();
    let va = evaluate(&mut net, &train.slice(80..100), 8)
        .unwrap()
        .accuracy();
    assert_eq!(h.val_accuracy(), [va]);
}

#[test]
fn predict_matches_forward_and_sums_to_one() {
    let data = synthetic(37, 9);
    let mut net = Network::new(&small_model(), 1, 16).unwrap();
    let p = predict_u8(&mut net, data.images().expect("u8 features").view()).unwrap();
    assert_eq!(p.dim(), (37, 3));
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    let pf = predict(
        &mut net,
        data.images().expect("u8 features").mapv(f32::from).view(),
    )
    .unwrap();
    assert_eq!(p, pf);
}

#[test]
fn errors_instead_of_panics() {
    let data = synthetic(20, 10);
    let mut net = Network::new(&small_model(), 1, 8).unwrap();
    assert!(matches!(
        fit(&mut net, &data, None, &opts(1, 0, 0)),
        Err(TrainError::ZeroBatch)
    ));
    assert!(matches!(
        fit(&mut net, &data, None, &opts(1, 9, 0)),
        Err(TrainError::BatchTooLarge { batch: 9, max: 8 })
    ));
    let wide = Dataset::from_u8(Array2::zeros((4, 13)), vec![13], Array1::zeros(4), 3).unwrap();
    assert!(matches!(
        evaluate(&mut net, &wide, 4),
        Err(TrainError::FeatureMismatch {
            expected: 12,
            found: 13
        })
    ));
    assert!(matches!(
        predict(&mut net, Array2::zeros((2, 5)).view()),
        Err(TrainError::FeatureMismatch { .. })
    ));
    let bad_labels = Dataset::from_u8(
        Array2::zeros((4, 12)),
        vec![12],
        Array1::from(vec![0, 1, 5, 2]),
        6,
    )
    .unwrap();
    assert!(matches!(
        fit(&mut net, &bad_labels, None, &opts(1, 4, 0)),
        Err(TrainError::LabelOutOfRange {
            index: 2,
            label: 5,
            units: 3
        })
    ));
    let o = FitOptions {
        validation_split: Some(1.5),
        ..opts(1, 4, 0)
    };
    assert!(matches!(
        fit(&mut net, &data, None, &o),
        Err(TrainError::Split(_))
    ));
    assert!(Network::new(&small_model(), 1, 0).is_err());
}

/// `fit` prefetches the next batch's rows; indices past the end are skipped, not a panic.
#[test]
fn prefetching_skips_indices_past_the_end() {
    let data = synthetic(10, 1);
    data.prefetch_batch(&[0, 9, 9, 3, 10, usize::MAX]);
    data.prefetch_batch(&[]);
}

/// Text labels (named classes, as a CSV column of strings gives them) need a cross-entropy
/// loss and one unit per class; the message lists the names. Numeric class indices under a
/// regression loss stay accepted (one-hot rows, or the index itself with one unit).
#[test]
fn named_classes_need_a_cross_entropy_and_enough_units() {
    use mlp_runtime::check_targets;
    use mlp_runtime::data::TargetSet;
    let model = |units: usize, loss: &str| {
        let activation = if units == 1 { "sigmoid" } else { "softmax" };
        common::compile(&format!(
            "model M {{\n input [2]\n Dense({units}, activation = {activation})\n train {{ loss = {loss} }}\n}}\n"
        ))
    };
    let named = |names: &[&str]| TargetSet::Classes {
        labels: Array1::from(vec![0u32, 1, 0]),
        classes: names.len(),
        names: Some(names.iter().map(|n| (*n).to_owned()).collect()),
    };
    let species = named(&["setosa", "versicolor", "virginica"]);
    let message = |result: Result<(), TrainError>| match result {
        Err(TrainError::Targets(message)) => message,
        other => panic!("expected a targets error, got {other:?}"),
    };
    let mse = message(check_targets(&model(3, "mse"), &species));
    assert!(
        mse.contains("`mean_squared_error`")
            && mse.contains("text labels (3 classes: `setosa`, `versicolor`, `virginica`)"),
        "{mse}"
    );
    let mae = message(check_targets(&model(1, "mae"), &named(&["no", "yes"])));
    assert!(mae.contains("`mean_absolute_error`"), "{mae}");
    let units = message(check_targets(
        &model(2, "sparse_categorical_crossentropy"),
        &species,
    ));
    assert!(
        units.contains("3 classes (`setosa`, `versicolor`, `virginica`)")
            && units.contains("has 2 units; give it 3 units"),
        "{units}"
    );
    let many: Vec<String> = (0..12).map(|i| format!("c{i:02}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let listed = message(check_targets(
        &model(1, "binary_crossentropy"),
        &named(&many),
    ));
    assert!(listed.contains("`c09`, and 2 more"), "{listed}");
    // Fits: names with a cross-entropy and enough units; numbers under mse.
    check_targets(&model(3, "sparse_categorical_crossentropy"), &species).unwrap();
    check_targets(&model(3, "categorical_crossentropy"), &species).unwrap();
    check_targets(&model(1, "binary_crossentropy"), &named(&["no", "yes"])).unwrap();
    let numbers = TargetSet::classes(Array1::from(vec![0u32, 2, 1]), 3);
    check_targets(&model(3, "mse"), &numbers).unwrap();
}
