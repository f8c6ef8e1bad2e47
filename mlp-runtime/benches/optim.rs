//! One optimiser update over the notebook baseline's 52 650 trainable parameters
//! (784-64-32-10 with biases), as one flat tensor: Adam, SGD (plain, momentum, Nesterov)
//! and `RMSprop` (plain, momentum), each without a penalty and with an L2 regulariser.
//!
//! Run with `cargo bench -p mlp-runtime --bench optim`. The throughput column counts
//! parameters updated (`Gitem/s` = billions of parameters per second). The buffers are
//! updated in place from one iteration to the next; the hyper-parameters keep every value
//! finite and normal over any number of iterations (the gradient is fixed, so the
//! optimiser slots converge and `w` drifts linearly at worst).
//!
//! Everything runs on one thread except `adam_two_threads`, the same Adam pass split across
//! the kernel pool ([`parallel::set_threads`]`(2)`): the measure of whether splitting an
//! update of this size pays for the hand-off.

use std::fmt;

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use mlp_runtime::ir::Regularizer;
use mlp_runtime::kernels::parallel;
use mlp_runtime::optim::{adam_update, rmsprop_update, sgd_update, AdamCoeffs};

fn main() {
    divan::main();
}

/// Trainable parameters of the notebook baseline: `784·64 + 64 + 64·32 + 32 + 32·10 + 10`.
const PARAMS: usize = 52_650;

/// Whether the tensor carries a weight penalty.
#[derive(Clone, Copy)]
enum Penalty {
    None,
    L2,
}

impl Penalty {
    fn regularizer(self) -> Option<Regularizer> {
        match self {
            Penalty::None => None,
            Penalty::L2 => Some(Regularizer { l1: 0.0, l2: 1e-4 }),
        }
    }
}

impl fmt::Display for Penalty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Penalty::None => "none",
            Penalty::L2 => "l2",
        })
    }
}

const PENALTIES: [Penalty; 2] = [Penalty::None, Penalty::L2];

/// Deterministic values in [-scale, scale), none of them zero.
fn values(len: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let x = ((state >> 8) | 1) as f32 / (1u32 << 23) as f32 - 1.0;
            x * scale
        })
        .collect()
}

/// Weights, gradient, and two optimiser slots (zero, as Keras starts them).
fn buffers() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    (
        values(PARAMS, 0x2545_f491, 0.1),
        values(PARAMS, 0x9e37_79b9, 0.01),
        vec![0.0; PARAMS],
        vec![0.0; PARAMS],
    )
}

#[divan::bench(args = PENALTIES)]
fn adam(bencher: Bencher, p: Penalty) {
    adam_on_threads(bencher, p, 1);
}

#[divan::bench(args = PENALTIES)]
fn adam_two_threads(bencher: Bencher, p: Penalty) {
    adam_on_threads(bencher, p, 2);
}

/// Adam with the kernel pool at `threads` (restored to one thread afterwards).
fn adam_on_threads(bencher: Bencher, p: Penalty, threads: usize) {
    parallel::set_threads(threads);
    let (mut w, g, mut m, mut v) = buffers();
    let reg = p.regularizer();
    let c = AdamCoeffs::new(1e-3, 0.9, 0.999, 1e-7, 10);
    bencher.counter(ItemsCount::new(PARAMS)).bench_local(|| {
        adam_update(
            black_box(&mut w),
            black_box(&g),
            black_box(&mut m),
            black_box(&mut v),
            reg,
            &c,
        );
    });
    parallel::set_threads(1);
}

/// SGD with `momentum` (0: the plain rule) and `nesterov`.
fn sgd(bencher: Bencher, p: Penalty, momentum: f32, nesterov: bool) {
    let (mut w, g, mut vel, _) = buffers();
    let reg = p.regularizer();
    bencher.counter(ItemsCount::new(PARAMS)).bench_local(|| {
        let vel = (momentum != 0.0).then_some(black_box(&mut vel[..]));
        sgd_update(
            black_box(&mut w),
            black_box(&g),
            vel,
            reg,
            0.01,
            momentum,
            nesterov,
        );
    });
}

#[divan::bench(args = PENALTIES)]
fn sgd_plain(bencher: Bencher, p: Penalty) {
    sgd(bencher, p, 0.0, false);
}

#[divan::bench(args = PENALTIES)]
fn sgd_momentum(bencher: Bencher, p: Penalty) {
    sgd(bencher, p, 0.9, false);
}

#[divan::bench(args = PENALTIES)]
fn sgd_nesterov(bencher: Bencher, p: Penalty) {
    sgd(bencher, p, 0.9, true);
}

/// `RMSprop` with `momentum` (0: no momentum slot).
fn rmsprop(bencher: Bencher, p: Penalty, momentum: f32) {
    let (mut w, g, mut avg, mut mom) = buffers();
    let reg = p.regularizer();
    bencher.counter(ItemsCount::new(PARAMS)).bench_local(|| {
        let mom = (momentum > 0.0).then_some(black_box(&mut mom[..]));
        rmsprop_update(
            black_box(&mut w),
            black_box(&g),
            black_box(&mut avg),
            mom,
            reg,
            mlp_runtime::optim::rmsprop::Coeffs {
                lr: 1e-3,
                rho: 0.9,
                one_minus_rho: 0.1,
                epsilon: 1e-7,
            },
            momentum,
        );
    });
}

#[divan::bench(args = PENALTIES)]
fn rmsprop_plain(bencher: Bencher, p: Penalty) {
    rmsprop(bencher, p, 0.0);
}

#[divan::bench(args = PENALTIES)]
fn rmsprop_momentum(bencher: Bencher, p: Penalty) {
    rmsprop(bencher, p, 0.9);
}
