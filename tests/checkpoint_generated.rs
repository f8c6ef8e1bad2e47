//! Checkpoints of generated models: the same file format as `Network`'s, in both
//! directions, and exact resume of a generated model from a checkpoint folder.

use mlp::prelude::*;
use mlp::runtime::checkpoint;
use mlp::runtime::{fit_continue, fit_with_progress, CheckpointDir, Network, Silent};
use ndarray::{Array1, Array2};

mlp! {
    /// Every kind of checkpointed tensor (kernel, bias, `BatchNorm` parameters and moving
    /// statistics, both Adam slots) and dropout, whose masks depend on the seed and the
    /// iteration count.
    model Ckpt {
        input [3, 4]
        Flatten
        Dense(10, activation = relu)
        BatchNorm
        Dropout(0.25)
        Dense(3, activation = softmax)
        train {
            optimizer = adam(lr = 0.01)
            loss = sparse_categorical_crossentropy
            metrics = [accuracy]
            batch = 8
            epochs = 4
            seed = 5
        }
    }
}

fn data(n: usize, salt: u64) -> Dataset {
    let labels: Vec<u8> = (0..n)
        .map(|i| (mlp::runtime::rng::mix64(i as u64 ^ salt) % 3) as u8)
        .collect();
    let images = Array2::from_shape_fn((n, 12), |(r, c)| {
        let noise = (mlp::runtime::rng::mix64((r * 12 + c) as u64 + salt) % 70) as u8;
        noise
            + if c / 4 == usize::from(labels[r]) {
                160
            } else {
                0
            }
    });
    Dataset::from_u8(images, vec![3, 4], Array1::from(labels), 3).unwrap()
}

fn everything<M: Model>(m: &M) -> (Vec<u32>, u64, Option<u64>) {
    let bits = m
        .params()
        .iter()
        .chain(m.state())
        .chain(m.optimizer_slots().unwrap())
        .map(|v| v.to_bits())
        .collect();
    (bits, m.iterations(), m.rng_seed())
}

/// The History without its wall-clock times, as bits: the losses, then every metric
/// series by key.
fn history_bits(h: &History) -> Vec<(String, Vec<u32>)> {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect();
    let mut out = vec![
        ("loss".to_owned(), bits(&h.loss)),
        ("val_loss".to_owned(), bits(&h.val_loss)),
    ];
    out.extend(h.metrics.iter().map(|(k, v)| (k.clone(), bits(v))));
    out
}

#[test]
fn generated_and_network_checkpoints_are_interchangeable() {
    let dir = tempfile::tempdir().unwrap();
    let options = FitOptions {
        epochs: 2,
        ..FitOptions::from_config(&Ckpt::new(0).ir().train)
    };
    let mut generated = Ckpt::new(5);
    fit(&mut generated, &data(40, 1), None, &options).unwrap();
    let from_generated = dir.path().join("generated.safetensors");
    generated.save(&from_generated).unwrap();

    // Into a Network built with another seed: everything comes from the file.
    let mut net = Network::new(generated.ir(), 77, 8).unwrap();
    net.load(&from_generated).unwrap();
    assert_eq!(everything(&net), everything(&generated));
    // Both continue identically, dropout masks included.
    fit(&mut generated, &data(24, 2), None, &options).unwrap();
    fit(&mut net, &data(24, 2), None, &options).unwrap();
    assert_eq!(everything(&net), everything(&generated));

    // And back: a Network's checkpoint loads into a generated model.
    let from_network = dir.path().join("network.safetensors");
    net.save(&from_network).unwrap();
    let mut fresh = Ckpt::new(1);
    fresh.load(&from_network).unwrap();
    assert_eq!(everything(&fresh), everything(&net));
    // The bytes are the same whoever wrote them.
    generated.save(&from_generated).unwrap();
    let written = std::fs::read(&from_network).unwrap();
    assert!(std::fs::read(&from_generated).unwrap() == written);
    let bytes = checkpoint::to_bytes(&checkpoint::Snapshot::of(&fresh, None)).unwrap();
    assert!(bytes == written);
}

#[test]
fn a_generated_model_resumes_exactly_from_its_checkpoint_folder() {
    let (train, val) = (data(60, 3), data(20, 4));
    let options = FitOptions::from_config(&Ckpt::new(0).ir().train);
    let mut whole = Ckpt::new(5);
    let full = fit(&mut whole, &train, Some(&val), &options).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut first = Ckpt::new(5);
    let mut saver = CheckpointDir::new(dir.path(), 1).unwrap();
    let partial = FitOptions {
        epochs: 2,
        ..options.clone()
    };
    fit_with_progress(&mut first, &train, Some(&val), &partial, &mut saver).unwrap();

    let mut resumed = Ckpt::new(123);
    let state = CheckpointDir::resume(dir.path(), &mut resumed)
        .unwrap()
        .unwrap()
        .training
        .unwrap();
    let o = state.resume_options(&options);
    let h = fit_continue(
        &mut resumed,
        &train,
        Some(&val),
        &o,
        &mut Silent,
        state.history,
    )
    .unwrap();
    assert_eq!(history_bits(&h), history_bits(&full));
    assert_eq!(everything(&resumed), everything(&whole));
}
