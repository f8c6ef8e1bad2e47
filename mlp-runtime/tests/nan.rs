//! The NaN guard: a non-finite training loss stops `fit` with the epoch, the step and the
//! first layer whose output went non-finite, keeping the last good checkpoint; `OnNan::
//! Continue` opts out.

use mlp_runtime::data::Dataset;
use mlp_runtime::ir;
use mlp_runtime::{
    fit, fit_with_progress, CheckpointDir, FitOptions, Model, Network, OnNan, TrainError,
};
use ndarray::{Array1, Array2};

/// A spec whose learning rate makes SGD overflow within a few steps on raw pixels.
const EXPLODING: &str = "
model Exploding {
    input [3, 4]
    Flatten
    Dense(16, activation = relu)
    Dense(3, activation = softmax)
    train {
        optimizer = sgd(lr = 1e30)
        loss = sparse_categorical_crossentropy
        batch = 8
        epochs = 3
    }
}
";

fn compile(source: &str) -> ir::Model {
    mlp_spec::compile(source)
        .unwrap()
        .models
        .into_iter()
        .next()
        .unwrap()
}

/// 3 classes of 12-pixel images; every pixel is at least 100, so a huge first kernel
/// overflows the first layer's output.
fn data(n: usize) -> Dataset {
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    let images = Array2::from_shape_fn((n, 12), |(r, c)| {
        (100 + (r * 31 + c * 17) % 100
            + if c / 4 == usize::from(labels[r]) {
                50
            } else {
                0
            }) as u8
    });
    Dataset::from_u8(images, vec![3, 4], Array1::from(labels), 3).unwrap()
}

fn opts(model: &ir::Model) -> FitOptions {
    FitOptions::from_config(&model.train)
}

#[test]
fn a_huge_learning_rate_stops_training_with_epoch_step_and_layer() {
    let model = compile(EXPLODING);
    let mut net = Network::new(&model, 0, 8).unwrap();
    let err = fit(&mut net, &data(64), None, &opts(&model)).unwrap_err();
    let TrainError::NonFinite { epoch, step, layer } = &err else {
        panic!("expected NonFinite, got {err}");
    };
    assert_eq!(*epoch, 0);
    // The first step's loss is computed with the initial (finite) parameters.
    assert!(*step >= 1, "step {step}");
    let layer = layer.as_deref().unwrap();
    assert!(["dense", "dense_1"].contains(&layer), "{layer}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "the training loss became non-finite in epoch 1 at step {}",
            step + 1
        )),
        "{msg}"
    );
    assert!(msg.contains(&format!("layer `{layer}`")), "{msg}");
}

#[test]
fn the_layer_named_is_the_first_whose_output_overflows() {
    // A normal learning rate, but one weight of the first kernel near f32::MAX: the first
    // layer's output (at least 100 × 3e38 for that unit) is infinite in the very first step.
    let model = compile(&EXPLODING.replace("lr = 1e30", "lr = 0.01"));
    let mut net = Network::new(&model, 0, 8).unwrap();
    net.params_mut()[0] = 3.0e38;
    let err = fit(&mut net, &data(16), None, &opts(&model)).unwrap_err();
    assert!(
        matches!(
            &err,
            TrainError::NonFinite { epoch: 0, step: 0, layer: Some(l) } if l == "dense"
        ),
        "{err}"
    );
}

#[test]
fn the_last_good_checkpoint_is_kept_and_continue_opts_out() {
    let good = compile(&EXPLODING.replace("lr = 1e30", "lr = 0.0001"));
    let bad = compile(EXPLODING);
    let dir = tempfile::tempdir().unwrap();
    let train = data(64);
    // Two good epochs, checkpointed.
    let mut net = Network::new(&good, 0, 8).unwrap();
    let mut saver = CheckpointDir::new(dir.path(), 3).unwrap();
    let o = FitOptions {
        epochs: 2,
        ..opts(&good)
    };
    fit_with_progress(&mut net, &train, None, &o, &mut saver).unwrap();
    // Same tensors, exploding learning rate: epoch 3 fails and writes nothing.
    let mut net = Network::new(&bad, 0, 8).unwrap();
    let state = CheckpointDir::resume(dir.path(), &mut net)
        .unwrap()
        .unwrap()
        .training
        .unwrap();
    let o = state.resume_options(&opts(&bad));
    let err = fit_with_progress(&mut net, &train, None, &o, &mut saver).unwrap_err();
    assert!(
        matches!(err, TrainError::NonFinite { epoch: 2, .. }),
        "{err}"
    );
    let listed: Vec<usize> = CheckpointDir::list(dir.path())
        .unwrap()
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    assert_eq!(listed, vec![1, 2]);
    let mut check = Network::new(&good, 5, 8).unwrap();
    let info = CheckpointDir::resume(dir.path(), &mut check)
        .unwrap()
        .unwrap();
    assert_eq!(info.training.unwrap().epoch, 2);
    assert!(check.params().iter().all(|v| v.is_finite()));

    // Opting out: training runs to the end with a non-finite loss, and the checkpoint
    // folder skips the non-finite epochs instead of failing.
    let mut net = Network::new(&bad, 0, 8).unwrap();
    let o = FitOptions {
        on_nan: OnNan::Continue,
        ..opts(&bad)
    };
    let cont = tempfile::tempdir().unwrap();
    let mut saver = CheckpointDir::new(cont.path(), 3).unwrap();
    let h = fit_with_progress(&mut net, &train, None, &o, &mut saver).unwrap();
    assert_eq!(h.epochs(), 3);
    assert!(h.loss.iter().all(|l| !l.is_finite()), "{:?}", h.loss);
    assert_eq!(saver.skipped(), 3);
    assert!(CheckpointDir::list(cont.path()).unwrap().is_empty());
}
