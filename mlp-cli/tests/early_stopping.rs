//! `early_stopping` through `mlp train` on real MNIST, as a user runs it: the notebook's
//! baseline with a cosine schedule, a few epochs, then `mlp evaluate` of the `--save`d
//! weights on the test set `mlp train` validated on.
//!
//! Keras's rule (`keras/src/callbacks/early_stopping.py`): an epoch improves when
//! `val_loss + min_delta < best`; training stops at the first epoch (not the first) whose
//! count of epochs without improvement reaches `patience`; with `restore_best_weights` the
//! best epoch's weights are put back when training ends, stopped early or not. A
//! `min_delta` larger than any loss makes every epoch after the first a non-improvement,
//! whatever the run's numbers, so the stop and the restored epoch are known in advance.
//!
//! MNIST comes from `$MLP_DATA` (the folder holding `mnist/`), else from the repository's
//! sibling `shared/data`, as in CI.

use std::fs;
use std::path::Path;

use mlp_test_support::{assert_exit, mnist_dir, stdout, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

/// The notebook's baseline, Adam on a cosine schedule over 3 epochs, with `early_stopping`.
fn spec(patience: usize, min_delta: f64) -> String {
    format!(
        "model Baseline {{
    input [28, 28]
    Flatten
    Dense(64, activation = relu)
    Dense(32, activation = relu)
    Dense(10, activation = softmax)

    train {{
        optimizer = adam(learning_rate = cosine_decay(0.001, decay_steps = 5625))
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 32
        epochs = 3
        callbacks = [early_stopping(monitor = val_loss, min_delta = {min_delta}, patience = {patience}, restore_best_weights = true)]
    }}
}}
"
    )
}

/// What one `mlp train --history h.json --save w.safetensors` recorded.
struct Run {
    val_loss: Vec<f64>,
    stopped_epoch: Option<u64>,
    /// `mlp evaluate` of the saved weights on the test set: (loss, accuracy) as printed.
    evaluated: (f64, f64),
}

fn train(dir: &Path, spec_text: &str) -> Run {
    fs::write(dir.join("es.mlp"), spec_text).expect("write the spec");
    let mnist = mnist_dir();
    let mnist = mnist.to_str().expect("utf-8 path");
    let output = MLP.run(
        dir,
        &[
            "train",
            "es.mlp",
            "--data",
            mnist,
            "--seed",
            "3",
            "--quiet",
            "--history",
            "h.json",
            "--save",
            "w.safetensors",
        ],
    );
    assert_exit(&output, 0);
    let history: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("h.json")).expect("history"))
            .expect("History JSON");
    let series = |key: &str| -> Vec<f64> {
        history[key]
            .as_array()
            .unwrap_or_else(|| panic!("no `{key}` in {history}"))
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect()
    };
    let val_loss = series("val_loss");
    assert_eq!(series("loss").len(), val_loss.len(), "{history}");
    let stopped_epoch = history
        .get("stopped_epoch")
        .map(|v| v.as_u64().expect("stopped_epoch is an epoch index"));

    // The test images are what `mlp train` validated on.
    let images = Path::new(mnist).join("t10k-images-idx3-ubyte.gz");
    let labels = Path::new(mnist).join("t10k-labels-idx1-ubyte.gz");
    let output = MLP.run(
        dir,
        &[
            "evaluate",
            "es.mlp",
            "--weights",
            "w.safetensors",
            "--data",
            images.to_str().expect("utf-8 path"),
            "--target",
            labels.to_str().expect("utf-8 path"),
        ],
    );
    assert_exit(&output, 0);
    Run {
        val_loss,
        stopped_epoch,
        evaluated: evaluate_line(&stdout(&output)),
    }
}

/// (loss, accuracy) of Keras's evaluate line `313/313 - loss: 0.1403 - accuracy: 0.9627`.
fn evaluate_line(out: &str) -> (f64, f64) {
    let line = out.lines().next().unwrap_or_default();
    assert!(line.starts_with("313/313 - "), "{out}");
    let value = |key: &str| -> f64 {
        let rest = line
            .split_once(key)
            .unwrap_or_else(|| panic!("no `{key}` in {line}"))
            .1;
        rest.split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no number after `{key}` in {line}"))
    };
    (value("loss: "), value("accuracy: "))
}

/// Asserts the saved weights are epoch `best`'s: their test loss is its `val_loss` (to the
/// 4 printed decimals), and tells apart the last epoch's.
#[track_caller]
fn assert_restored(run: &Run, best: usize) {
    let (loss, _) = run.evaluated;
    let want = run.val_loss[best];
    assert!(
        (loss - want).abs() <= 6e-5,
        "evaluate gives loss {loss}, epoch {} had val_loss {want} ({:?})",
        best + 1,
        run.val_loss
    );
    let last = *run.val_loss.last().expect("an epoch");
    assert!(
        (last - want).abs() > 1e-3,
        "the last epoch's val_loss {last} cannot be told from the best's {want}"
    );
}

#[test]
fn early_stopping_stops_after_patience_and_restores_the_best_epoch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = train(dir.path(), &spec(1, 1000.0));
    assert!(
        run.val_loss[0] < 1000.0,
        "epoch 1's val_loss {} is no longer beyond improvement",
        run.val_loss[0]
    );
    // Epoch 1 (index 0) is the first best; epoch 2 does not improve by 1000, which is
    // patience 1: stop there, of the 3 epochs, and put epoch 1's weights back.
    assert_eq!(run.val_loss.len(), 2, "{:?}", run.val_loss);
    assert_eq!(run.stopped_epoch, Some(1));
    assert_restored(&run, 0);
}

#[test]
fn restore_best_weights_also_restores_when_training_ran_to_the_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Patience 3 is never reached in 3 epochs: no stop, no `stopped_epoch`, but Keras's
    // `on_train_end` still restores the best epoch (the first: none after it improves
    // by 1000).
    let run = train(dir.path(), &spec(3, 1000.0));
    assert_eq!(run.val_loss.len(), 3, "{:?}", run.val_loss);
    assert_eq!(run.stopped_epoch, None);
    assert_restored(&run, 0);
}

#[test]
fn without_min_delta_the_saved_weights_are_the_lowest_val_loss_epoch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = train(dir.path(), &spec(1, 0.0));
    // Keras's rule replayed on the recorded val_loss (as f32, as the callback compares).
    let (mut best, mut best_epoch, mut wait, mut stopped) = (f32::INFINITY, 0, 0, None);
    for (epoch, &v) in run.val_loss.iter().enumerate() {
        let v = v as f32;
        wait += 1;
        if v < best {
            (best, best_epoch, wait) = (v, epoch, 0);
        } else if wait >= 1 && epoch > 0 {
            stopped = Some(epoch as u64);
            break;
        }
    }
    let epochs_run = stopped.map_or(3, |s| s as usize + 1);
    assert_eq!(run.val_loss.len(), epochs_run, "{:?}", run.val_loss);
    assert_eq!(run.stopped_epoch, stopped, "{:?}", run.val_loss);
    let (loss, accuracy) = run.evaluated;
    assert!(
        (loss - run.val_loss[best_epoch]).abs() <= 6e-5,
        "evaluate gives loss {loss}, the best epoch {} had {} ({:?})",
        best_epoch + 1,
        run.val_loss[best_epoch],
        run.val_loss
    );
    // Three epochs of the baseline on raw pixels already classify most digits.
    assert!(accuracy > 0.85, "accuracy {accuracy}");
}
