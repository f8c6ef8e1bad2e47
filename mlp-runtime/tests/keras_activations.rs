//! Every activation beyond the classic four against real Keras: forward values and
//! derivatives at fixed points (large of both signs, near 0, the formula thresholds), in
//! `tests/fixtures/keras_activations.json`, written by `scripts/keras_activations.py`
//! from Keras 3 on TensorFlow (the fixture names the versions).
//!
//! Tolerance: `|ours - keras| ≤ 4e-6·|keras| + 1.2e-7`. Both sides compute the same
//! formulas in f32 but with different `exp`, `erfc` and `tanh` approximations, each a few
//! ulp from exact. Measured: every value but one agrees within 1e-6 relative (+ the
//! absolute part); the exception, the tanh-form gelu derivative at -2.5, sums two terms of
//! opposite sign and differs by 5e-6 relative (2e-7 absolute). The absolute part covers
//! elu and selu just below 0, where both compute `e^x - 1` as TensorFlow does, whose error
//! is an ulp of 1 (1.2e-7), not of the tiny result. A wrong constant, formula, threshold
//! or branch is off by far more (e.g. selu's `scale` at `x = 0` by 5%).

use mlp_runtime::ir::Activation;
use mlp_runtime::kernels::FlushDenormals;
use mlp_runtime::layers::{activation_backward, activation_forward};

const RTOL: f64 = 4e-6;
const ATOL: f64 = 1.2e-7;

/// The fixture's case names and the activation each one means.
fn activation(name: &str) -> Activation {
    match name {
        "elu" => Activation::Elu { alpha: 1.0 },
        "elu_alpha_0.5" => Activation::Elu { alpha: 0.5 },
        "selu" => Activation::Selu,
        "gelu" => Activation::Gelu { approximate: false },
        "gelu_approximate" => Activation::Gelu { approximate: true },
        "silu" => Activation::Silu,
        "softplus" => Activation::Softplus,
        "leaky_relu" => Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        "leaky_relu_0.1" => Activation::LeakyRelu {
            negative_slope: 0.1,
        },
        other => panic!("the fixture has a case this test does not know: {other}"),
    }
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

/// Where `got` is further from `want` than the tolerance: `(index, got, want)`.
fn misses(got: &[f32], want: &[f32]) -> Vec<(usize, f32, f32)> {
    got.iter()
        .zip(want)
        .enumerate()
        .filter(|(_, (&g, &w))| {
            let (g, w) = (f64::from(g), f64::from(w));
            g.is_nan() || (g - w).abs() > RTOL * w.abs() + ATOL
        })
        .map(|(i, (&g, &w))| (i, g, w))
        .collect()
}

#[test]
fn forward_and_derivative_match_keras() {
    // Models compute with denormals flushed; so does this test.
    let _ftz = FlushDenormals::new();
    let text = include_str!("fixtures/keras_activations.json");
    let fixture: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
    let x = floats(&fixture["x"]);
    let n = x.len();
    assert!(n >= 50, "the fixture has {n} points");
    let cases = fixture["activations"].as_object().expect("cases");
    assert_eq!(cases.len(), 9, "every case of the script");
    let mut report = Vec::new();
    for (name, case) in cases {
        let act = activation(name);
        let (want_y, want_dy) = (floats(&case["y"]), floats(&case["dy"]));
        let mut y = vec![f32::NAN; n];
        activation_forward(1, n, act, &x, &mut y);
        let ones = vec![1.0f32; n];
        let mut dx = vec![f32::NAN; n];
        activation_backward(1, n, act, &x, &y, &ones, &mut dx);
        for (what, got, want) in [("forward", &y, &want_y), ("derivative", &dx, &want_dy)] {
            for (i, g, w) in misses(got, want) {
                report.push(format!(
                    "{name} {what} at x = {:e}: ours {g:e}, Keras {w:e}",
                    x[i]
                ));
            }
        }
    }
    assert!(
        report.is_empty(),
        "{} misses:\n{}",
        report.len(),
        report.join("\n")
    );
}
