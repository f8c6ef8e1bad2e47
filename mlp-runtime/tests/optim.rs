//! Optimiser golden values.
//!
//! The expected numbers were computed with an independent f64 Python implementation of the
//! Keras 3 update rules (one parameter `w = 1`, gradients 0.5, -0.25, 0.125):
//! ```text
//! Adam (lr .1, b1 .9, b2 .999, eps 1e-7, l2 .01 penalty => g += 2·.01·w):
//!   a = lr·sqrt(1-b2^t)/(1-b1^t); m += (g-m)(1-b1); v += (g²-v)(1-b2); w -= m·a/(sqrt(v)+eps)
//!   with b1^t, b2^t from f32(b1), f32(b2) (Keras casts before `power`) and 1-b1, 1-b2
//!   from the decimals (Keras subtracts the Python floats)
//! SGD (lr .1, momentum .9, l1 .01 penalty => g += .01·sign(w)):
//!   vel = -g·lr + vel·.9; w += vel  (nesterov: w += -g·lr + vel·.9)
//! RMSprop (lr .01, rho .9, eps 1e-7, momentum 0 or .5):
//!   a = .9a + .1g²; inc = lr·g/sqrt(a+eps); w -= inc  (momentum: m = .5m + inc; w -= m)
//! ```
//! Our f32 results must agree to 1e-6 relative.

use mlp_runtime::ir::{LearningRate, Optimizer, OptimizerKind, Regularizer};
use mlp_runtime::optim;

/// One optimiser step (`iterations` taken before it) over one tensor at `offset`.
fn update_tensor(
    opt: &Optimizer,
    iterations: u64,
    trainable_len: usize,
    offset: usize,
    w: &mut [f32],
    g: &[f32],
    state: &mut [f32],
    reg: Option<Regularizer>,
) {
    let mut scalars = optim::OptimizerScalars::new(opt);
    scalars.replay(opt, iterations);
    let step = optim::begin_step(opt, &mut scalars, iterations);
    optim::update(opt, &step, trainable_len, offset, w, g, state, reg);
}

const GRADS: [f32; 3] = [0.5, -0.25, 0.125];

fn run(opt: &Optimizer, reg: Option<Regularizer>) -> Vec<f32> {
    let mut w = [1.0f32];
    let mut state = vec![0.0f32; optim::slots(opt)];
    GRADS
        .iter()
        .enumerate()
        .map(|(t, &g)| {
            update_tensor(opt, t as u64, 1, 0, &mut w, &[g], &mut state, reg);
            w[0]
        })
        .collect()
}

fn check(what: &str, got: &[f32], expect: &[f64]) {
    for (g, e) in got.iter().zip(expect) {
        assert!(
            (f64::from(*g) - e).abs() <= 1e-6 * e.abs(),
            "{what}: got {got:?}, expected {expect:?}"
        );
    }
}

#[test]
fn adam_with_l2() {
    let opt = Optimizer {
        kind: OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        },
        learning_rate: LearningRate::Constant(0.1),
        weight_decay: None,
        clip: None,
    };
    let reg = Some(Regularizer { l1: 0.0, l2: 0.01 });
    check(
        "adam",
        &run(&opt, reg),
        &[
            0.900_001_275_696_495_7,
            0.869_146_801_956_219_7,
            0.830_499_962_026_255_5,
        ],
    );
    assert_eq!(optim::slots(&opt), 2);
}

#[test]
fn sgd_plain_momentum_nesterov() {
    let l1 = Some(Regularizer { l1: 0.01, l2: 0.0 });
    let plain = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.1),
        weight_decay: None,
        clip: None,
    };
    check("sgd", &run(&plain, None), &[0.95, 0.975, 0.9625]);
    assert_eq!(optim::slots(&plain), 0);
    let momentum = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: false,
        },
        learning_rate: LearningRate::Constant(0.1),
        weight_decay: None,
        clip: None,
    };
    check(
        "sgd momentum",
        &run(&momentum, l1),
        &[0.949, 0.9271, 0.89389],
    );
    let nesterov = Optimizer {
        kind: OptimizerKind::Sgd {
            momentum: 0.9,
            nesterov: true,
        },
        learning_rate: LearningRate::Constant(0.1),
        weight_decay: None,
        clip: None,
    };
    check(
        "sgd nesterov",
        &run(&nesterov, l1),
        &[0.9031, 0.90739, 0.864_001],
    );
}

#[test]
fn rmsprop_with_and_without_momentum() {
    let plain = Optimizer {
        kind: OptimizerKind::RmsProp {
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
        },
        learning_rate: LearningRate::Constant(0.01),
        weight_decay: None,
        clip: None,
    };
    check(
        "rmsprop",
        &run(&plain, None),
        &[
            0.968_377_286_643_679_7,
            0.983_121_456_617_157,
            0.975_575_106_463_123_2,
        ],
    );
    let mom = Optimizer {
        kind: OptimizerKind::RmsProp {
            rho: 0.9,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: false,
        },
        learning_rate: LearningRate::Constant(0.01),
        weight_decay: None,
        clip: None,
    };
    check(
        "rmsprop momentum",
        &run(&mom, None),
        &[
            0.968_377_286_643_679_7,
            0.967_310_099_938_996_9,
            0.959_230_156_432_621_6,
        ],
    );
    assert_eq!(optim::slots(&mom), 2);
}

#[test]
fn slots_mirror_the_parameter_buffer() {
    // Two tensors in one buffer of 3: the second tensor's Adam moments live at offset 2 of
    // each slot; the first tensor's are untouched by its update.
    let opt = Optimizer {
        kind: OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
        },
        learning_rate: LearningRate::Constant(0.1),
        weight_decay: None,
        clip: None,
    };
    let mut state = vec![0.0f32; 6];
    let mut w = [1.0f32];
    update_tensor(&opt, 0, 3, 2, &mut w, &[0.5], &mut state, None);
    assert_eq!(&state[..2], &[0.0, 0.0]);
    assert!((state[2] - 0.05).abs() < 1e-7, "m = {}", state[2]);
    assert_eq!(&state[3..5], &[0.0, 0.0]);
    assert!((state[5] - 0.000_25).abs() < 1e-8, "v = {}", state[5]); // f32(1 - 0.999), the difference taken in f64
}
