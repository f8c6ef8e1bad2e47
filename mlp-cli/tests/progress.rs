//! The plain (non-terminal) progress output of tiny training runs, pinned by snapshots
//! with the times masked: one line per epoch in Keras's words, labelled when several
//! models train at once. (`--quiet` is tested through the binary, in `train.rs`.)
//!
//! The data is synthetic (a few dozen 4-pixel images of 3 classes), so the runs take
//! milliseconds and need no MNIST.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use mlp_cli::jobs::{train_all, Job};
use mlp_cli::progress::{Mode, Reporter};
use mlp_runtime::data::{Dataset, Mnist};
use mlp_runtime::{fit_with_progress, FitOptions, Network};
use ndarray::{Array1, Array2};

/// A writer whose bytes the test reads back afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

/// `count` images of 4 pixels whose class is where the bright pixel is (0, 1 or 2).
fn dataset(count: usize, shift: usize) -> Dataset {
    let labels: Vec<u8> = (0..count).map(|i| ((i + shift) % 3) as u8).collect();
    let images = Array2::from_shape_fn((count, 4), |(i, j)| {
        let bright = usize::from(labels[i]) == j;
        if bright {
            200 + (i % 50) as u8
        } else {
            (i * 7 % 30) as u8
        }
    });
    Dataset::from_u8(images, vec![4], Array1::from(labels), 3).expect("a valid dataset")
}

fn model(name: &str) -> mlp_runtime::ir::Model {
    let source = format!(
        "model {name} {{\n    input [4]\n    Rescale(0.01)\n    Dense(5, activation = relu)\n    Dense(3, activation = softmax)\n    train {{\n        optimizer = adam(lr = 0.05)\n    }}\n}}\n"
    );
    let spec = mlp_spec::compile(&source).unwrap_or_else(|d| panic!("{d}"));
    spec.models.into_iter().next().expect("one model")
}

/// Replaces the time fields (`12ms 1ms/step`, `2.13s 870us/step`) by `<time>`.
fn mask_times(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split(" - ")
                .map(|field| {
                    if field.ends_with("/step") {
                        "<time>"
                    } else {
                        field
                    }
                })
                .collect::<Vec<_>>()
                .join(" - ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_model_prints_one_keras_line_per_epoch() {
    let captured = Captured::default();
    let reporter = Reporter::lines_to(captured.clone());
    assert_eq!(reporter.mode(), Mode::Lines);
    let ir = model("Tiny");
    let mut network = Network::new(&ir, 7, 8).expect("a network");
    let (train, test) = (dataset(40, 0), dataset(12, 1));
    let options = FitOptions {
        epochs: 3,
        batch_size: 8,
        seed: 7,
        ..FitOptions::default()
    };
    let mut progress = reporter.model(None);
    let history = fit_with_progress(&mut network, &train, Some(&test), &options, &mut progress)
        .expect("trains");
    assert_eq!(history.loss.len(), 3);
    let text = mask_times(&captured.text());
    // Every printed metric is the History's own, at Keras's four decimals.
    for (epoch, line) in text.lines().enumerate() {
        assert!(
            line.contains(&format!("val_loss: {:.4}", history.val_loss[epoch])),
            "{line}"
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn models_trained_at_once_are_labelled() {
    let captured = Captured::default();
    let reporter = Reporter::lines_to(captured.clone());
    let data = Mnist {
        train: dataset(40, 0),
        test: dataset(12, 1),
    };
    let jobs: Vec<Job> = ["first", "second_one"]
        .iter()
        .map(|name| Job {
            name: (*name).to_owned(),
            model: Box::new(Network::new(&model("M"), 1, 10).expect("a network")),
            options: FitOptions {
                epochs: 2,
                batch_size: 10,
                seed: 1,
                ..FitOptions::default()
            },
        })
        .collect();
    // One worker: the order of the lines is fixed.
    let outcomes = train_all(jobs, &data, 1, &reporter);
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].name, "first");
    assert_eq!(outcomes[0].params, 4 * 5 + 5 + 5 * 3 + 3);
    // Same model, seed and data: the same History.
    let histories: Vec<_> = outcomes
        .iter()
        .map(|o| o.history.as_ref().expect("trained"))
        .collect();
    assert_eq!(histories[0].loss, histories[1].loss);
    insta::assert_snapshot!(mask_times(&captured.text()));
}
