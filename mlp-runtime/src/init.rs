//! Initialisers with Keras 3 semantics, seeded.
//!
//! Each tensor draws from its own [`ChaCha8Rng`](crate::rng::`ChaCha8Rng`) stream keyed by
//! `(seed, tensor index in the layout)` ([`tensor_rng`]), so adding a layer does not change
//! the draws of the layers before it, and `Network` and generated code (which both call
//! [`init_params`]) start from bit-identical parameters.
//!
//! Normals are drawn in f64 (Box–Muller) and rounded to f32; truncated normals are redrawn
//! outside `±2` standard deviations, as TensorFlow's `truncated_normal` does.

use crate::layout::ParamLayout;
use crate::rng;
use mlp_spec::ir::Initializer;
use rand_chacha::rand_core::RngCore;

/// Standard deviation of a standard normal truncated to `[-2, 2]`; Keras's variance-scaling
/// initialisers divide their stddev by it so the truncated draws keep the intended variance.
pub const TRUNCATED_STDDEV: f64 = 0.879_625_661_034_239_8;

/// The RNG stream of the tensor with index `tensor` (position in `ParamLayout::tensors`).
#[must_use]
pub fn tensor_rng(seed: u64, tensor: usize) -> rng::ChaCha8Rng {
    rng::stream_rng(seed, rng::STREAM_INIT, tensor as u64)
}

/// A standard normal truncated to `[-2, 2]` (redrawn outside).
pub fn truncated_standard_normal<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let z = rng::next_normal(rng);
        if z.abs() <= 2.0 {
            return z;
        }
    }
}

/// Fills `out` with `init`'s values for a tensor with Keras fans `fan_in`, `fan_out`
/// (kernel `[in, out]`: `(in, out)`; 1-D `[n]`: `(n, n)`), drawing from `rng`.
///
/// - `uniform(min, max)`: `min + (max - min)·u`; glorot/he/lecun uniform: `U(-l, l)`.
/// - `normal(mean, s)`: `mean + s·z`; glorot/he/lecun normal: truncated normal with
///   `s = sqrt(scale / fan) / 0.8796…` (`scale` 1 for glorot over `(in+out)/2`, 2 for he,
///   1 for lecun over `in`).
pub fn fill(
    init: Initializer,
    fan_in: usize,
    fan_out: usize,
    rng: &mut impl RngCore,
    out: &mut [f32],
) {
    let fi = fan_in.max(1) as f64;
    let fo = fan_out.max(1) as f64;
    let uniform = |rng: &mut dyn RngCore, out: &mut [f32], lo: f64, hi: f64| {
        for w in out.iter_mut() {
            *w = (lo + (hi - lo) * rng::next_f64(rng)) as f32;
        }
    };
    let truncated = |rng: &mut dyn RngCore, out: &mut [f32], mean: f64, sd: f64| {
        for w in out.iter_mut() {
            *w = (mean + sd * truncated_standard_normal(rng)) as f32;
        }
    };
    let rng: &mut dyn RngCore = rng;
    match init {
        Initializer::Zeros => out.fill(0.0),
        Initializer::Ones => out.fill(1.0),
        Initializer::Constant(c) => out.fill(c),
        Initializer::Uniform { min, max } => uniform(rng, out, f64::from(min), f64::from(max)),
        Initializer::Normal { mean, stddev } => {
            for w in out.iter_mut() {
                *w = (f64::from(mean) + f64::from(stddev) * rng::next_normal(rng)) as f32;
            }
        }
        Initializer::TruncatedNormal { mean, stddev } => {
            truncated(rng, out, f64::from(mean), f64::from(stddev));
        }
        Initializer::GlorotUniform => {
            let l = (6.0 / (fi + fo)).sqrt();
            uniform(rng, out, -l, l);
        }
        Initializer::HeUniform => {
            let l = (6.0 / fi).sqrt();
            uniform(rng, out, -l, l);
        }
        Initializer::LecunUniform => {
            let l = (3.0 / fi).sqrt();
            uniform(rng, out, -l, l);
        }
        Initializer::GlorotNormal => {
            truncated(rng, out, 0.0, (2.0 / (fi + fo)).sqrt() / TRUNCATED_STDDEV);
        }
        Initializer::HeNormal => truncated(rng, out, 0.0, (2.0 / fi).sqrt() / TRUNCATED_STDDEV),
        Initializer::LecunNormal => {
            truncated(rng, out, 0.0, (1.0 / fi).sqrt() / TRUNCATED_STDDEV);
        }
    }
}

/// Initialises every tensor of `layout`: trainable ones in `params`
/// (`layout.trainable_len` long), the others in `state` (`layout.state_len` long).
pub fn init_params(layout: &ParamLayout, seed: u64, params: &mut [f32], state: &mut [f32]) {
    for (i, t) in layout.tensors.iter().enumerate() {
        let buf = if t.trainable {
            &mut *params
        } else {
            &mut *state
        };
        fill(
            t.init,
            t.fan_in,
            t.fan_out,
            &mut tensor_rng(seed, i),
            &mut buf[t.range()],
        );
    }
}
