//! `BatchNorm` moving statistics after several steps against a hand computation, `Dropout`
//! keep-rate and scaling, and inference behaviour of both.

mod common;

use common::{batch_norm, dense, model, values};
use mlp_runtime::ir::{Activation, LayerKind, LearningRate, Loss, Optimizer, OptimizerKind};
use mlp_runtime::layers::dropout_forward;
use mlp_runtime::Targets;
use mlp_runtime::{rng, Model, Network};

#[test]
fn batch_norm_moving_statistics_follow_keras() {
    // Input [2] -> BatchNorm -> Dense(3, softmax). With SGD lr 0 the BatchNorm input is the
    // raw batch, so the moving statistics are known in closed form.
    let sgd0 = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.0),
        weight_decay: None,
        clip: None,
    };
    let m = model(
        "Bn",
        &[2],
        vec![batch_norm(), dense(3, Activation::Softmax)],
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        sgd0.clone(),
    );
    let mut net = Network::new(&m, 1, 4).unwrap();
    let batches: [&[f32]; 3] = [
        &[1.0, 10.0, 3.0, 20.0, 5.0, 30.0],
        &[0.0, -1.0, 2.0, 1.0],
        &[4.0, 4.0, 6.0, 8.0, 8.0, 0.0, 10.0, 4.0],
    ];
    let (mut mm, mut mv) = ([0.0f64; 2], [1.0f64; 2]);
    for x in batches {
        let b = x.len() / 2;
        net.train_step(x, Targets::Classes(&vec![0; b]), b);
        for f in 0..2 {
            let col: Vec<f64> = (0..b).map(|r| f64::from(x[r * 2 + f])).collect();
            let mean = col.iter().sum::<f64>() / b as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / b as f64; // biased
            mm[f] = mm[f] * 0.99 + mean * 0.01;
            mv[f] = mv[f] * 0.99 + var * 0.01;
        }
    }
    let state = net.state();
    for f in 0..2 {
        assert!(
            (f64::from(state[f]) - mm[f]).abs() < 1e-5,
            "mean {f}: {state:?} vs {mm:?}"
        );
        assert!(
            (f64::from(state[2 + f]) - mv[f]).abs() < 1e-4,
            "var {f}: {state:?} vs {mv:?}"
        );
    }
    // Inference uses the moving statistics: gamma 1, beta 0 => (x - mm)/sqrt(mv + eps).
    let bn_only = model(
        "BnOnly",
        &[2],
        vec![batch_norm()],
        Loss::MeanSquaredError,
        sgd0,
    );
    let mut net2 = Network::new(&bn_only, 1, 1).unwrap();
    net2.state_mut().copy_from_slice(&[1.0, 2.0, 4.0, 9.0]);
    let y = net2.forward(&[3.0, 2.0], 1).to_vec();
    assert!(
        (f64::from(y[0]) - 2.0 / (4.001f64).sqrt()).abs() < 1e-6,
        "{y:?}"
    );
    assert!(y[1].abs() < 1e-7, "{y:?}");
}

#[test]
fn batch_norm_training_output_is_normalised() {
    let sgd0 = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.0),
        weight_decay: None,
        clip: None,
    };
    let m = model(
        "BnOnly",
        &[3],
        vec![batch_norm()],
        Loss::MeanSquaredError,
        sgd0,
    );
    let mut net = Network::new(&m, 1, 50).unwrap();
    let x = values(150, 3, -5.0, 20.0);
    // Training mode normalises with the batch statistics: y has mean 0 and variance
    // var/(var+eps) ≈ 1 per feature. Against the one-hot target [1, 0, 0] (label 0) the mse
    // is the mean over features of E[(y - t)²] = (2 + 1 + 1) / 3.
    let t = net.compute_gradients(&x, Targets::Classes(&[0; 50]), 50);
    assert!((t.loss - 4.0 / 3.0).abs() < 1e-3, "{}", t.loss);
}

#[test]
fn dropout_keep_rate_and_scaling() {
    let n = 200_000;
    let x = vec![1.0f32; n];
    let mut y = vec![f32::NAN; n];
    for rate in [0.2f32, 0.5] {
        dropout_forward(n, rate, rng::dropout_key(9, 2, 5), &x, &mut y);
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        assert!(
            (zeros - f64::from(rate)).abs() < 0.005,
            "rate {rate}: dropped {zeros}"
        );
        let kept = 1.0 / (1.0 - rate);
        assert!(
            y.iter()
                .all(|&v| v.to_bits() == 0 || v.to_bits() == kept.to_bits()),
            "rate {rate}: kept values not 1/(1-r)"
        );
        let mean = y.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        assert!(
            (mean - 1.0).abs() < 0.01,
            "inverted dropout keeps the mean: {mean}"
        );
    }
    // A different step gives a different mask.
    let mut y2 = vec![0.0f32; n];
    dropout_forward(n, 0.5, rng::dropout_key(9, 2, 6), &x, &mut y2);
    assert_ne!(y, y2);
}

#[test]
fn dropout_is_identity_in_inference() {
    let sgd = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.1),
        weight_decay: None,
        clip: None,
    };
    let m = model(
        "Drop",
        &[4],
        vec![
            LayerKind::Dropout { rate: 0.5 },
            dense(3, Activation::Softmax),
        ],
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        sgd.clone(),
    );
    let without = model(
        "NoDrop",
        &[4],
        vec![dense(3, Activation::Softmax)],
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        sgd,
    );
    let mut a = Network::new(&m, 5, 2).unwrap();
    let mut b = Network::new(&without, 5, 2).unwrap();
    b.params_mut().copy_from_slice(a.params());
    let x = values(8, 4, 0.0, 1.0);
    assert_eq!(a.forward(&x, 2).to_vec(), b.forward(&x, 2).to_vec());
}
