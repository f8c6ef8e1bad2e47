//! Initialiser statistics over large draws: bounds, mean, standard deviation, truncation.

use mlp_runtime::init::{fill, tensor_rng};
use mlp_runtime::ir::Initializer;

fn stats(init: Initializer, fan_in: usize, fan_out: usize) -> (Vec<f32>, f64, f64) {
    let mut w = vec![f32::NAN; 200_000];
    fill(init, fan_in, fan_out, &mut tensor_rng(7, 3), &mut w);
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = w
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (w, mean, var.sqrt())
}

fn uniform_case(init: Initializer, fan_in: usize, fan_out: usize, limit: f64) {
    let (w, mean, sd) = stats(init, fan_in, fan_out);
    assert!(
        w.iter().all(|&v| f64::from(v).abs() <= limit),
        "{init:?} out of ±{limit}"
    );
    let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        f64::from(max) > 0.99 * limit,
        "{init:?} does not reach its limit: {max}"
    );
    assert!(mean.abs() < 0.01 * limit, "{init:?} mean {mean}");
    let expect = limit / 3f64.sqrt();
    assert!(
        (sd / expect - 1.0).abs() < 0.01,
        "{init:?} sd {sd} vs {expect}"
    );
}

fn truncated_case(init: Initializer, fan_in: usize, fan_out: usize, target_sd: f64) {
    // Keras divides by 0.8796… so that the TRUNCATED draws have the target deviation.
    let (w, mean, sd) = stats(init, fan_in, fan_out);
    let cut = 2.0 * target_sd / 0.879_625_661_034_239_8;
    assert!(
        w.iter().all(|&v| f64::from(v).abs() <= cut * (1.0 + 1e-6)),
        "{init:?} not truncated at 2σ"
    );
    let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        f64::from(max) > 0.98 * cut,
        "{init:?} never reaches 2σ: {max} vs {cut}"
    );
    assert!(mean.abs() < 0.01 * target_sd, "{init:?} mean {mean}");
    assert!(
        (sd / target_sd - 1.0).abs() < 0.01,
        "{init:?} sd {sd} vs {target_sd}"
    );
}

#[test]
fn uniform_family() {
    uniform_case(
        Initializer::Uniform {
            min: -0.05,
            max: 0.05,
        },
        784,
        64,
        0.05,
    );
    uniform_case(Initializer::GlorotUniform, 784, 64, (6.0f64 / 848.0).sqrt());
    uniform_case(Initializer::HeUniform, 784, 64, (6.0f64 / 784.0).sqrt());
    uniform_case(Initializer::LecunUniform, 64, 32, (3.0f64 / 64.0).sqrt());
}

#[test]
fn truncated_normal_family() {
    truncated_case(Initializer::HeNormal, 784, 64, (2.0f64 / 784.0).sqrt());
    truncated_case(Initializer::GlorotNormal, 64, 32, (2.0f64 / 96.0).sqrt());
    truncated_case(Initializer::LecunNormal, 32, 10, (1.0f64 / 32.0).sqrt());
}

#[test]
fn truncated_normal_with_explicit_stddev() {
    let (w, mean, _) = stats(
        Initializer::TruncatedNormal {
            mean: 1.0,
            stddev: 0.1,
        },
        1,
        1,
    );
    assert!(w.iter().all(|&v| (v - 1.0).abs() <= 0.2 + 1e-6));
    assert!((mean - 1.0).abs() < 1e-3);
}

#[test]
fn plain_normal_is_not_truncated() {
    let (w, mean, sd) = stats(
        Initializer::Normal {
            mean: 0.0,
            stddev: 0.05,
        },
        784,
        64,
    );
    assert!(mean.abs() < 5e-4, "{mean}");
    assert!((sd / 0.05 - 1.0).abs() < 0.01, "{sd}");
    // P(|z| > 2) = 4.55 % for an untruncated normal.
    let beyond = w.iter().filter(|&&v| v.abs() > 0.1).count() as f64 / w.len() as f64;
    assert!((beyond - 0.0455).abs() < 0.003, "{beyond}");
}

#[test]
fn constants_and_seeding() {
    let mut w = vec![f32::NAN; 10];
    fill(Initializer::Zeros, 1, 1, &mut tensor_rng(0, 0), &mut w);
    assert!(w.iter().all(|&v| v == 0.0));
    fill(Initializer::Ones, 1, 1, &mut tensor_rng(0, 0), &mut w);
    assert!(w.iter().all(|&v| v.to_bits() == 1.0f32.to_bits()));
    fill(
        Initializer::Constant(0.5),
        1,
        1,
        &mut tensor_rng(0, 0),
        &mut w,
    );
    assert!(w.iter().all(|&v| v.to_bits() == 0.5f32.to_bits()));
    let draw = |seed, tensor| {
        let mut w = vec![0.0f32; 16];
        fill(
            Initializer::GlorotUniform,
            4,
            4,
            &mut tensor_rng(seed, tensor),
            &mut w,
        );
        w
    };
    assert_eq!(draw(1, 0), draw(1, 0));
    assert_ne!(draw(1, 0), draw(2, 0));
    assert_ne!(draw(1, 0), draw(1, 1));
}
