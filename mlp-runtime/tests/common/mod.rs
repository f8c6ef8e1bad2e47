//! Shared test helpers: the notebook's seven models compiled from their spec files (at
//! other sizes too), hand-built IR for small variants, finite-difference gradient checks,
//! and the MNIST location.

#![allow(dead_code)] // each test binary uses a different subset

use mlp_runtime::ir::{
    self, Activation, BatchNorm, Dense, Initializer, Layer, LayerKind, LearningRate, Loss, Metric,
    Optimizer, OptimizerKind, ParamCounts, TrainConfig,
};

/// Keras's `Dense(units, activation)` with default init and no penalty.
pub fn dense(units: usize, activation: Activation) -> LayerKind {
    LayerKind::Dense(Dense {
        units,
        activation,
        kernel_init: Initializer::GlorotUniform,
        bias_init: Initializer::Zeros,
        kernel_reg: None,
        bias_reg: None,
        use_bias: true,
    })
}

/// Keras-default `BatchNormalization()`.
pub fn batch_norm() -> LayerKind {
    LayerKind::BatchNorm(BatchNorm {
        momentum: 0.99,
        epsilon: 1e-3,
    })
}

/// Keras's default Adam.
pub fn adam() -> Optimizer {
    Optimizer {
        kind: OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        },
        learning_rate: LearningRate::Constant(0.001),
        weight_decay: None,
        clip: None,
    }
}

/// Builds a model IR the way the front end would: shapes, Keras names, parameter counts.
pub fn model(
    name: &str,
    input: &[usize],
    kinds: Vec<LayerKind>,
    loss: Loss,
    optimizer: Optimizer,
) -> ir::Model {
    let mut shape = input.to_vec();
    let mut layers = Vec::new();
    let mut counters = std::collections::HashMap::<&str, usize>::new();
    let mut total = ParamCounts::default();
    for kind in kinds {
        let base = kind.keras_base_name();
        let k = counters.entry(base).or_insert(0);
        let lname = if *k == 0 {
            base.to_owned()
        } else {
            format!("{base}_{k}")
        };
        *k += 1;
        let (out, params) = match &kind {
            LayerKind::Flatten => (vec![shape.iter().product()], ParamCounts::default()),
            LayerKind::Dense(d) => {
                let p = shape[0] * d.units + if d.use_bias { d.units } else { 0 };
                (
                    vec![d.units],
                    ParamCounts {
                        total: p,
                        trainable: p,
                        non_trainable: 0,
                    },
                )
            }
            LayerKind::BatchNorm(_) => {
                let f = *shape.last().unwrap();
                (
                    shape.clone(),
                    ParamCounts {
                        total: 4 * f,
                        trainable: 2 * f,
                        non_trainable: 2 * f,
                    },
                )
            }
            _ => (shape.clone(), ParamCounts::default()),
        };
        total.total += params.total;
        total.trainable += params.trainable;
        total.non_trainable += params.non_trainable;
        layers.push(Layer {
            name: lname,
            kind,
            input_shape: shape.clone(),
            output_shape: out.clone(),
            params,
            line: 1,
        });
        shape = out;
    }
    ir::Model {
        name: name.to_owned(),
        doc: Vec::new(),
        line: 1,
        input: input.to_vec(),
        layers,
        train: TrainConfig {
            optimizer,
            loss,
            metrics: vec![Metric::Accuracy],
            batch: 32,
            epochs: 10,
            seed: 0,
            validation_split: None,
            shuffle: true,
            callbacks: Vec::new(),
            class_weight: None,
        },
        params: total,
    }
}

/// The notebook's seven spec files (`specs/notebook/<stem>.mlp`), by stem.
pub const NOTEBOOK: [&str; 7] = [
    "baseline",
    "he_normal",
    "l2",
    "l1",
    "dropout",
    "batchnorm",
    "leaky_relu",
];

/// The notebook's seven models with hidden widths `h1`, `h2` (64 and 32 in the notebook) on
/// `input`-shaped samples, as `(file stem, model)`: each spec file with its input shape and
/// widths replaced, compiled by `mlp_spec::compile`.
pub fn notebook(input: &[usize], h1: usize, h2: usize) -> Vec<(&'static str, ir::Model)> {
    let input = format!("input {input:?}");
    let (h1, h2) = (format!("Dense({h1}"), format!("Dense({h2}"));
    NOTEBOOK
        .iter()
        .map(|&stem| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../specs/notebook")
                .join(format!("{stem}.mlp"));
            let mut text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for (from, to) in [
                ("input [28, 28]", &input),
                ("Dense(64", &h1),
                ("Dense(32", &h2),
            ] {
                // Exactly one of each, or the spec changed shape and this helper must too.
                assert_eq!(text.matches(from).count(), 1, "{stem}.mlp: `{from}`");
                text = text.replacen(from, to, 1);
            }
            (stem, compile(&text))
        })
        .collect()
}

/// The one model of spec `text`, compiled by the real front end.
pub fn compile(text: &str) -> ir::Model {
    let mut spec = mlp_spec::compile(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    assert_eq!(spec.models.len(), 1, "{text}");
    spec.models.remove(0)
}

/// Deterministic pseudo-random values in `[lo, hi)` (a tiny LCG, independent of the
/// runtime's RNG).
pub fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            lo + (hi - lo) * ((s >> 40) as f32 / 16_777_216.0)
        })
        .collect()
}

/// Central-difference check of `analytic` (∂f/∂x at `x`) with step `eps`, at the indices
/// `which` (all when `None`). Fails when `|num - ana| > rtol·max(|num|, |ana|) + atol`,
/// where `atol` is raised to the f32 rounding noise of `f` (a few ulps of `f(x)` over `2·eps`).
/// Indices where the one-sided differences disagree (a relu kink within `±eps`) are
/// skipped, but at most a quarter of them.
pub fn check_grad(
    what: &str,
    x: &[f32],
    analytic: &[f32],
    which: Option<&[usize]>,
    eps: f32,
    rtol: f64,
    atol: f64,
    mut f: impl FnMut(&[f32]) -> f64,
) {
    let all: Vec<usize> = (0..x.len()).collect();
    let idx = which.unwrap_or(&all);
    let mut xp = x.to_vec();
    let f0 = f(&xp);
    let atol = atol.max(8.0 * f0.abs() * f64::from(f32::EPSILON) / f64::from(eps));
    let mut kinks = 0;
    for &i in idx {
        let orig = xp[i];
        xp[i] = orig + eps;
        let fp = f(&xp);
        xp[i] = orig - eps;
        let fm = f(&xp);
        xp[i] = orig;
        let hp = f64::from(orig + eps) - f64::from(orig);
        let hm = f64::from(orig) - f64::from(orig - eps);
        let (fwd, bwd) = ((fp - f0) / hp, (f0 - fm) / hm);
        let num = (fp - fm) / (hp + hm);
        let ana = f64::from(analytic[i]);
        let tol = |a: f64, b: f64| rtol * a.abs().max(b.abs()) + 2.0 * atol;
        if (fwd - bwd).abs() > tol(fwd, bwd) {
            kinks += 1;
            continue;
        }
        assert!(
            (num - ana).abs() <= rtol * num.abs().max(ana.abs()) + atol,
            "{what}: gradient mismatch at index {i}: numeric {num} vs analytic {ana}"
        );
    }
    assert!(
        kinks * 4 <= idx.len(),
        "{what}: {kinks} of {} checked entries sit on kinks",
        idx.len()
    );
}

/// `Σ r·y` in f64.
pub fn dot(r: &[f32], y: &[f32]) -> f64 {
    r.iter()
        .zip(y)
        .map(|(&a, &b)| f64::from(a) * f64::from(b))
        .sum()
}

/// The directory holding real MNIST (see `mlp_test_support::mnist_dir`).
pub fn mnist_dir() -> std::path::PathBuf {
    mlp_test_support::mnist_dir()
}
