//! Finite-difference gradient checks (central differences) for every layer, every loss,
//! every regulariser, and whole notebook-shaped models.
//!
//! Each layer check uses the scalar `L = Σ r ⊙ y` for a fixed random `r`, so the backward
//! pass is fed `dy = r`. Tolerances are a few percent relative at the checked entries
//! (which include the largest gradients), tight enough to catch a wrong sign or a missing
//! factor of 2.

mod common;

use common::{check_grad, dot, values};
use mlp_runtime::ir::{
    Activation, ActivationClass, LearningRate, Loss, Optimizer, OptimizerKind, Regularizer,
};
use mlp_runtime::layers::{
    activation_backward, activation_forward, batch_norm_backward, batch_norm_forward_train,
    dense_backward, dense_forward, dropout_backward, dropout_forward, leaky_relu_backward,
    leaky_relu_forward, rescale_backward, rescale_forward,
};
use mlp_runtime::Targets;
use mlp_runtime::{kernels::epilogue, loss, regularize, rng, Model, Network, ParamLayout};

const ACTS: [Activation; 17] = [
    Activation::Linear,
    Activation::Relu,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Softmax,
    Activation::Elu { alpha: 1.0 },
    Activation::Elu { alpha: 0.5 },
    // A negative alpha: the derivative then needs the input.
    Activation::Elu { alpha: -0.5 },
    Activation::Selu,
    Activation::Gelu { approximate: false },
    Activation::Gelu { approximate: true },
    Activation::Silu,
    Activation::Softplus,
    Activation::LeakyRelu {
        negative_slope: 0.2,
    },
    Activation::LeakyRelu {
        negative_slope: 0.0,
    },
    Activation::LeakyRelu {
        negative_slope: -0.3,
    },
    Activation::Elu { alpha: 0.0 },
];

/// A stand-alone `Activation(act)` layer.
fn activation_layer(act: Activation) -> mlp_runtime::ir::LayerKind {
    mlp_runtime::ir::LayerKind::Activation {
        activation: act,
        class: ActivationClass::Generic,
    }
}

/// Values in ±[0.1, 1): away from the kinks of relu-like functions at 0.
fn away_from_zero(n: usize, seed: u64) -> Vec<f32> {
    values(n, seed, -0.9, 0.9)
        .into_iter()
        .map(|v| if v < 0.0 { v - 0.1 } else { v + 0.1 })
        .collect()
}

#[test]
fn dense_every_activation() {
    let (b, i, u) = (5, 7, 4);
    for (s, act) in ACTS.into_iter().enumerate() {
        let x = values(b * i, 1 + s as u64, -1.0, 1.0);
        let w = values(i * u, 2, -0.6, 0.6);
        let bias = values(u, 3, -0.3, 0.3);
        let r = values(b * u, 4, -1.0, 1.0);
        // As the plan runs it: the activation in the epilogue, or, when its derivative
        // needs its input, a linear `Dense` into the pre-activation `z`, then the layer.
        let split = act.derivative_needs_input();
        let pre = |x: &[f32], w: &[f32], bias: &[f32]| {
            let mut z = vec![f32::NAN; b * u];
            let epilogue_act = if split { Activation::Linear } else { act };
            dense_forward(b, i, u, x, w, Some(bias), epilogue_act, &mut z);
            z
        };
        let fwd = |x: &[f32], w: &[f32], bias: &[f32]| {
            let z = pre(x, w, bias);
            if !split {
                return z;
            }
            let mut y = vec![f32::NAN; b * u];
            activation_forward(b, u, act, &z, &mut y);
            y
        };
        let (z, y) = (pre(&x, &w, &bias), fwd(&x, &w, &bias));
        let mut dz = r.clone();
        if split {
            activation_backward(b, u, act, &z, &y, &r, &mut dz);
        } else {
            epilogue::activation_backward(b, u, act, &y, &mut dz);
        }
        let (mut dw, mut db, mut dx) = (
            vec![f32::NAN; i * u],
            vec![f32::NAN; u],
            vec![f32::NAN; b * i],
        );
        dense_backward(b, i, u, &x, &w, &dz, &mut dw, Some(&mut db), Some(&mut dx));
        let what = format!("dense {act:?}");
        check_grad(
            &format!("{what} dx"),
            &x,
            &dx,
            None,
            1e-3,
            2e-2,
            2e-4,
            |x| dot(&r, &fwd(x, &w, &bias)),
        );
        check_grad(
            &format!("{what} dW"),
            &w,
            &dw,
            None,
            1e-3,
            2e-2,
            2e-4,
            |w| dot(&r, &fwd(&x, w, &bias)),
        );
        check_grad(
            &format!("{what} db"),
            &bias,
            &db,
            None,
            1e-3,
            2e-2,
            2e-4,
            |bb| dot(&r, &fwd(&x, &w, bb)),
        );
    }
}

#[test]
fn dense_without_bias_and_without_input_gradient() {
    let (b, i, u) = (3, 4, 2);
    let x = values(b * i, 1, -1.0, 1.0);
    let w = values(i * u, 2, -1.0, 1.0);
    let r = values(b * u, 3, -1.0, 1.0);
    let mut dw = vec![f32::NAN; i * u];
    dense_backward(b, i, u, &x, &w, &r, &mut dw, None, None);
    check_grad("dense no bias dW", &w, &dw, None, 1e-3, 1e-2, 1e-4, |w| {
        let mut y = vec![0.0; b * u];
        dense_forward(b, i, u, &x, w, None, Activation::Linear, &mut y);
        dot(&r, &y)
    });
}

#[test]
fn activation_layers() {
    let (b, f) = (4, 6);
    for (s, act) in ACTS.into_iter().enumerate() {
        let x = away_from_zero(b * f, 10 + s as u64);
        let r = values(b * f, 20, -1.0, 1.0);
        let fwd = |x: &[f32]| {
            let mut y = vec![f32::NAN; b * f];
            activation_forward(b, f, act, x, &mut y);
            y
        };
        let mut dx = vec![f32::NAN; b * f];
        activation_backward(b, f, act, &x, &fwd(&x), &r, &mut dx);
        check_grad(&format!("{act:?}"), &x, &dx, None, 1e-3, 2e-2, 1e-4, |x| {
            dot(&r, &fwd(x))
        });
    }
}

#[test]
fn leaky_relu_and_rescale() {
    let n = 30;
    let x = away_from_zero(n, 5);
    let r = values(n, 6, -1.0, 1.0);
    let mut dx = vec![f32::NAN; n];
    leaky_relu_backward(n, 0.2, &x, &r, &mut dx);
    check_grad("leaky_relu", &x, &dx, None, 1e-3, 1e-2, 1e-4, |x| {
        let mut y = vec![0.0; n];
        leaky_relu_forward(n, 0.2, x, &mut y);
        dot(&r, &y)
    });
    rescale_backward(n, 1.0 / 255.0, &r, &mut dx);
    check_grad("rescale", &x, &dx, None, 1e-2, 1e-2, 1e-5, |x| {
        let mut y = vec![0.0; n];
        rescale_forward(n, 1.0 / 255.0, 0.5, x, &mut y);
        dot(&r, &y)
    });
    // Normalization over 5 features (6 rows of 5); one feature of zero variance, whose
    // divisor is Keras's floor 1e-7 (its gradient is then huge but exact).
    let (mean, mut var) = (values(5, 7, -1.0, 1.0), values(5, 8, 0.5, 2.0));
    var[4] = 0.0;
    let mut dx = vec![f32::NAN; n];
    mlp_runtime::layers::normalization_backward(6, 5, &var, &r, &mut dx);
    check_grad("normalization", &x, &dx[..], None, 1e-3, 1e-2, 1e-4, |x| {
        let mut y = vec![0.0; n];
        mlp_runtime::layers::normalization_forward(6, 5, &mean, &var, x, &mut y);
        dot(&r, &y)
    });
}

#[test]
fn dropout_uses_the_forward_mask() {
    let n = 200;
    let x = values(n, 7, -1.0, 1.0);
    let r = values(n, 8, -1.0, 1.0);
    let key = rng::dropout_key(3, 1, 17);
    let mut dx = vec![f32::NAN; n];
    dropout_backward(n, 0.3, key, &r, &mut dx);
    check_grad("dropout", &x, &dx, None, 1e-2, 1e-2, 1e-5, |x| {
        let mut y = vec![0.0; n];
        dropout_forward(n, 0.3, key, x, &mut y);
        dot(&r, &y)
    });
}

#[test]
fn batch_norm_training() {
    let (b, f) = (6, 5);
    let x = values(b * f, 9, -2.0, 3.0);
    let gamma = values(f, 10, 0.5, 1.5);
    let beta = values(f, 11, -0.5, 0.5);
    let r = values(b * f, 12, -1.0, 1.0);
    let fwd = |x: &[f32], g: &[f32], be: &[f32], mean: &mut [f32], inv: &mut [f32]| {
        let (mut mm, mut mv) = (vec![0.0; f], vec![1.0; f]);
        let mut y = vec![f32::NAN; b * f];
        batch_norm_forward_train(
            b, f, x, g, be, 1e-3, 0.99, 0.01, &mut mm, &mut mv, mean, inv, &mut y,
        );
        y
    };
    let (mut mean, mut inv) = (vec![0.0; f], vec![0.0; f]);
    fwd(&x, &gamma, &beta, &mut mean, &mut inv);
    let (mut dg, mut dbe, mut dx) = (vec![f32::NAN; f], vec![f32::NAN; f], vec![f32::NAN; b * f]);
    batch_norm_backward(
        b,
        f,
        &x,
        &gamma,
        &mean,
        &inv,
        &r,
        &mut dg,
        &mut dbe,
        Some(&mut dx),
    );
    let mut s = (vec![0.0; f], vec![0.0; f]);
    check_grad("bn dx", &x, &dx, None, 1e-2, 2e-2, 2e-4, |x| {
        dot(&r, &fwd(x, &gamma, &beta, &mut s.0, &mut s.1))
    });
    check_grad("bn dgamma", &gamma, &dg, None, 1e-2, 1e-2, 1e-4, |g| {
        dot(&r, &fwd(&x, g, &beta, &mut s.0, &mut s.1))
    });
    check_grad("bn dbeta", &beta, &dbe, None, 1e-2, 1e-2, 1e-4, |be| {
        dot(&r, &fwd(&x, &gamma, be, &mut s.0, &mut s.1))
    });
}

#[test]
fn softmax_cross_entropy_from_logits() {
    let (b, c) = (6, 4);
    let z = values(b * c, 13, -3.0, 3.0);
    let labels: Vec<u32> = (0..b).map(|i| (i % c) as u32).collect();
    let mut p = vec![f32::NAN; b * c];
    let mut dz = vec![f32::NAN; b * c];
    let out =
        loss::softmax_cross_entropy(b, c, &z, Targets::Classes(&labels), &mut p, Some(&mut dz));
    // Independent value: mean of -log softmax(z)[label], computed in f64.
    let expect: f64 = (0..b)
        .map(|r| {
            let row = &z[r * c..(r + 1) * c];
            let lse = row.iter().map(|&v| f64::from(v).exp()).sum::<f64>().ln();
            lse - f64::from(row[labels[r] as usize])
        })
        .sum::<f64>()
        / b as f64;
    assert!(
        (f64::from(out.loss) - expect).abs() < 1e-5,
        "{} vs {expect}",
        out.loss
    );
    check_grad("softmax xent", &z, &dz, None, 1e-2, 1e-2, 1e-4, |z| {
        let mut p = vec![0.0; b * c];
        f64::from(
            loss::softmax_cross_entropy(b, c, z, Targets::Classes(&labels), &mut p, None).loss,
        )
    });
}

#[test]
fn probability_losses() {
    let b = 5;
    for loss_kind in [
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        Loss::CategoricalCrossentropy { from_logits: false },
        Loss::MeanSquaredError,
        Loss::BinaryCrossentropy { from_logits: false },
    ] {
        for units in [1usize, 3] {
            if units == 1
                && matches!(
                    loss_kind,
                    Loss::SparseCategoricalCrossentropy { .. }
                        | Loss::CategoricalCrossentropy { .. }
                )
            {
                continue;
            }
            let o = values(b * units, 14 + units as u64, 0.05, 0.95);
            let labels: Vec<u32> = (0..b)
                .map(|i| (i % units.max(2)) as u32 % if units == 1 { 2 } else { 3 })
                .collect();
            let mut d = vec![f32::NAN; b * units];
            let _ = loss::probability_loss(
                loss_kind,
                b,
                units,
                &o,
                Targets::Classes(&labels),
                Some(&mut d),
            );
            check_grad(
                &format!("{loss_kind:?} units {units}"),
                &o,
                &d,
                None,
                1e-3,
                2e-2,
                1e-4,
                |o| {
                    f64::from(
                        loss::probability_loss(
                            loss_kind,
                            b,
                            units,
                            o,
                            Targets::Classes(&labels),
                            None,
                        )
                        .loss,
                    )
                },
            );
        }
    }
}

#[test]
fn value_target_losses() {
    // Regression losses on value rows, away from the kinks (|e| = 0, |e| = delta).
    let (b, units) = (4, 3);
    let o = values(b * units, 31, -2.0, 2.0);
    let t: Vec<f32> = o
        .iter()
        .enumerate()
        .map(|(i, &v)| v + if i % 2 == 0 { 0.3 } else { -1.7 })
        .collect();
    for loss_kind in [
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
        Loss::Huber { delta: 1.0 },
        Loss::Huber { delta: 0.5 },
        Loss::BinaryCrossentropy { from_logits: false },
    ] {
        // BCE takes targets in [0, 1] and probabilities.
        let (o, t): (Vec<f32>, Vec<f32>) = if matches!(loss_kind, Loss::BinaryCrossentropy { .. }) {
            (
                values(b * units, 32, 0.05, 0.95),
                values(b * units, 33, 0.0, 1.0),
            )
        } else {
            (o.clone(), t.clone())
        };
        let mut d = vec![f32::NAN; b * units];
        let _ = loss::probability_loss(loss_kind, b, units, &o, Targets::Values(&t), Some(&mut d));
        check_grad(
            &format!("{loss_kind:?} on values"),
            &o,
            &d,
            None,
            1e-3,
            2e-2,
            1e-4,
            |o| {
                f64::from(
                    loss::probability_loss(loss_kind, b, units, o, Targets::Values(&t), None).loss,
                )
            },
        );
    }
}

/// `loss::softmax_cross_entropy` or `loss::sigmoid_cross_entropy`.
type LogitsLoss =
    fn(usize, usize, &[f32], Targets<'_>, &mut [f32], Option<&mut [f32]>) -> loss::BatchLoss;

#[test]
fn logits_losses() {
    // Softmax and sigmoid cross-entropies from logits, with class and value targets.
    let (b, units) = (5, 3);
    let z = values(b * units, 41, -3.0, 3.0);
    let labels: Vec<u32> = (0..b).map(|i| (i % units) as u32).collect();
    let rows = values(b * units, 42, 0.0, 1.0);
    let probs_rows: Vec<f32> = rows
        .chunks(units)
        .flat_map(|r| {
            let s: f32 = r.iter().sum();
            r.iter().map(move |v| v / s).collect::<Vec<_>>()
        })
        .collect();
    let cases: [(&str, LogitsLoss, Targets<'_>); 4] = [
        (
            "softmax, classes",
            loss::softmax_cross_entropy,
            Targets::Classes(&labels),
        ),
        (
            "softmax, probability rows",
            loss::softmax_cross_entropy,
            Targets::Values(&probs_rows),
        ),
        (
            "sigmoid, classes (one-hot)",
            loss::sigmoid_cross_entropy,
            Targets::Classes(&labels),
        ),
        (
            "sigmoid, values",
            loss::sigmoid_cross_entropy,
            Targets::Values(&rows),
        ),
    ];
    for (what, f, y) in cases {
        let mut probs = vec![0.0; b * units];
        let mut d = vec![f32::NAN; b * units];
        let _ = f(b, units, &z, y, &mut probs, Some(&mut d));
        check_grad(what, &z, &d, None, 1e-3, 2e-2, 1e-4, |z| {
            let mut p = vec![0.0; b * units];
            f64::from(f(b, units, z, y, &mut p, None).loss)
        });
    }
}

#[test]
fn probability_loss_values_match_hand_formulas() {
    // One sample, 2 units, label 1: p = [0.25, 0.75].
    let p = [0.25f32, 0.75];
    let l = |k| loss::probability_loss(k, 1, 2, &p, Targets::Classes(&[1]), None).loss;
    let close = |a: f32, b: f64| (f64::from(a) - b).abs() < 1e-6;
    assert!(close(
        l(Loss::SparseCategoricalCrossentropy { from_logits: false }),
        -(0.75f64).ln()
    ));
    assert!(close(
        l(Loss::CategoricalCrossentropy { from_logits: false }),
        -(0.75f64).ln()
    ));
    assert!(close(
        l(Loss::MeanSquaredError),
        0.0625f64 // both errors are 0.25: (0.25² + 0.25²) / 2
    ));
    let bce = (-(1.0f64 - 0.25).ln() - (0.75f64).ln()) / 2.0;
    assert!(close(
        l(Loss::BinaryCrossentropy { from_logits: false }),
        bce
    ));
    // Clipping: p = 0 for the label gives -log(1e-7), not infinity.
    let z = loss::probability_loss(
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        1,
        2,
        &[1.0, 0.0],
        Targets::Classes(&[1]),
        None,
    )
    .loss;
    assert!(
        (f64::from(z) - (-(1e-7f64).ln() + (1.0f64 - 1e-7 + 1e-7).ln())).abs() < 1e-3,
        "{z}"
    );
}

#[test]
fn regularisers() {
    let w = away_from_zero(40, 15);
    for reg in [
        Regularizer { l1: 0.01, l2: 0.0 },
        Regularizer { l1: 0.0, l2: 0.01 },
        Regularizer {
            l1: 0.003,
            l2: 0.02,
        },
    ] {
        let g: Vec<f32> = w.iter().map(|&v| regularize::gradient(reg, v)).collect();
        check_grad(&format!("{reg:?}"), &w, &g, None, 1e-3, 1e-2, 1e-6, |w| {
            f64::from(regularize::penalty(reg, w))
        });
        let expect: f64 = w
            .iter()
            .map(|&v| {
                f64::from(reg.l1) * f64::from(v.abs())
                    + f64::from(reg.l2) * f64::from(v) * f64::from(v)
            })
            .sum();
        assert!((f64::from(regularize::penalty(reg, &w)) - expect).abs() < 1e-6);
    }
    assert!(regularize::gradient(Regularizer { l1: 1.0, l2: 1.0 }, 0.0) == 0.0);
}

/// Checks a whole model: the gradient of `loss + penalty` against central differences on
/// the entries of each tensor with the largest gradients plus a few others.
fn check_model(
    model: &mlp_runtime::ir::Model,
    x: &[f32],
    labels: &[u32],
    batch: usize,
    per_tensor: usize,
    eps: f32,
) {
    let mut net = Network::new(model, 42, batch).unwrap();
    let layout = ParamLayout::new(model);
    net.compute_gradients(x, Targets::Classes(labels), batch);
    let params = net.params().to_vec();
    let mut grads = net.grads().to_vec();
    regularize::add_gradients(&layout, &params, &mut grads);
    let mut which = Vec::new();
    for t in layout.trainable() {
        let mut idx: Vec<usize> = t.range().collect();
        idx.sort_by(|&a, &b| grads[b].abs().total_cmp(&grads[a].abs()));
        which.extend(idx.iter().take(per_tensor));
        which.extend(idx.iter().rev().step_by(t.len / 3 + 1).take(2));
    }
    let scale = grads.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    check_grad(
        &model.name,
        &params,
        &grads,
        Some(&which),
        eps,
        3e-2,
        1e-3 * f64::from(scale),
        |p| {
            net.params_mut().copy_from_slice(p);
            f64::from(
                net.compute_gradients(x, Targets::Classes(labels), batch)
                    .loss,
            )
        },
    );
}

#[test]
fn notebook_models_small() {
    let batch = 8;
    let x = values(batch * 20, 16, 0.0, 1.0);
    let labels: Vec<u32> = (0..batch).map(|i| (i * 3 % 10) as u32).collect();
    for (stem, model) in common::notebook(&[4, 5], 12, 9) {
        let _ = stem;
        check_model(&model, &x, &labels, batch, 4, 1e-3);
    }
}

#[test]
fn notebook_models_real_size_on_a_few_parameters() {
    let batch = 16;
    let x = values(batch * 784, 17, 0.0, 1.0);
    let labels: Vec<u32> = (0..batch).map(|i| (i % 10) as u32).collect();
    for (stem, model) in common::notebook(&[28, 28], 64, 32) {
        if matches!(stem, "dropout" | "leaky_relu") {
            check_model(&model, &x, &labels, batch, 2, 1e-3);
        }
    }
}

#[test]
fn other_heads_and_layers_in_a_model() {
    use common::{dense, model};
    use mlp_runtime::ir::LayerKind;
    let batch = 6;
    let x = values(batch * 6, 18, -1.0, 1.0);
    let labels: Vec<u32> = (0..batch).map(|i| (i % 3) as u32).collect();
    let sgd = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.01),
        weight_decay: None,
        clip: None,
    };
    let cases = vec![
        model(
            "SoftmaxLayer",
            &[6],
            vec![
                LayerKind::Rescale {
                    scale: 0.5,
                    offset: 0.1,
                },
                dense(5, Activation::Tanh),
                dense(3, Activation::Linear),
                activation_layer(Activation::Softmax),
            ],
            Loss::CategoricalCrossentropy { from_logits: false },
            sgd.clone(),
        ),
        model(
            "Mse",
            &[6],
            vec![dense(5, Activation::Sigmoid), dense(3, Activation::Softmax)],
            Loss::MeanSquaredError,
            sgd.clone(),
        ),
        model(
            "Bce",
            &[6],
            vec![
                dense(5, Activation::Tanh),
                LayerKind::Dropout { rate: 0.4 },
                dense(3, Activation::Sigmoid),
            ],
            Loss::BinaryCrossentropy { from_logits: false },
            sgd.clone(),
        ),
        model(
            "SparseNoLogits",
            &[6],
            vec![dense(5, Activation::Tanh), dense(3, Activation::Sigmoid)],
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            sgd.clone(),
        ),
    ];
    for m in &cases {
        check_model(m, &x, &labels, batch, 4, 1e-3);
    }
    let binary = model(
        "Binary",
        &[6],
        vec![dense(4, Activation::Tanh), dense(1, Activation::Sigmoid)],
        Loss::BinaryCrossentropy { from_logits: false },
        sgd,
    );
    let bl: Vec<u32> = (0..batch).map(|i| (i % 2) as u32).collect();
    check_model(&binary, &x, &bl, batch, 4, 1e-3);
}

/// Every activation in whole models, through `Network` and the plan: in a `Dense` (in its
/// epilogue, or with its pre-activation kept), in a `Dense` followed by a `BatchNorm`, as
/// an `Activation` layer, and as one fused after a `Dense` → `BatchNorm`.
#[test]
fn every_activation_in_models() {
    use common::{batch_norm, dense, model};
    let batch = 6;
    let x = values(batch * 6, 19, -1.5, 1.5);
    let labels: Vec<u32> = (0..batch).map(|i| (i % 3) as u32).collect();
    let sgd = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.01),
        weight_decay: None,
        clip: None,
    };
    for act in ACTS.into_iter().filter(|a| *a != Activation::Softmax) {
        let cases = [
            (
                "InDense",
                vec![dense(5, act), dense(3, Activation::Softmax)],
            ),
            (
                "InDenseBeforeBatchNorm",
                vec![dense(5, act), batch_norm(), dense(3, Activation::Softmax)],
            ),
            (
                "Layer",
                vec![
                    dense(5, Activation::Linear),
                    activation_layer(act),
                    dense(3, Activation::Softmax),
                ],
            ),
            (
                "FusedAfterBatchNorm",
                vec![
                    dense(5, Activation::Linear),
                    batch_norm(),
                    activation_layer(act),
                    dense(3, Activation::Softmax),
                ],
            ),
        ];
        for (what, layers) in cases {
            let name = format!("{what}{act:?}");
            let m = model(
                &name,
                &[6],
                layers,
                Loss::SparseCategoricalCrossentropy { from_logits: false },
                sgd.clone(),
            );
            check_model(&m, &x, &labels, batch, 4, 1e-3);
        }
    }
}
