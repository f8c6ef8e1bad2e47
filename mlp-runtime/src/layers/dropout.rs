//! Inverted `Dropout(rate)`: in training each element is kept when its uniform number is
//! `≥ rate` (as TensorFlow's `dropout` does) and scaled by `1 / (1 - rate)`; identity in
//! inference (callers simply skip the layer, or copy).
//!
//! The mask is never stored: element `i` of the `[batch, features]` buffer uses
//! [`rng::uniform_at(key, i)`](crate::rng::uniform_at) with `key =
//! rng::dropout_key(seed, layer, step)`, so backward recomputes it.

use crate::kernels::multiversion::multiversion;
use crate::rng;

/// Whether element `index` is kept under `key`.
#[inline]
#[must_use]
pub fn keep(key: u64, index: usize, rate: f32) -> bool {
    rng::uniform_at(key, index) >= rate
}

/// Training forward over `n` elements: `y = x / (1 - rate)` where kept, else 0.
/// Reads `x`, writes `y`.
pub fn dropout_forward(n: usize, rate: f32, key: u64, x: &[f32], y: &mut [f32]) {
    masked_scale(rate, key, &x[..n], &mut y[..n]);
}

multiversion! {
    /// `y[i] = x[i] / (1 - rate)` where element `i` is kept, else 0 (equal lengths).
    fn masked_scale / masked_scale_on(rate: f32, key: u64, x: &[f32], y: &mut [f32]) {
        let scale = 1.0 / (1.0 - rate);
        for (i, (o, &v)) in y.iter_mut().zip(x).enumerate() {
            *o = if keep(key, i, rate) { v * scale } else { 0.0 };
        }
    }
}

/// Backward with the same `key`: `dx = dy / (1 - rate)` where kept, else 0.
/// Reads `dy`, writes `dx`.
pub fn dropout_backward(n: usize, rate: f32, key: u64, dy: &[f32], dx: &mut [f32]) {
    dropout_forward(n, rate, key, dy, dx);
}

#[cfg(test)]
mod tests {
    use super::{keep, masked_scale_on};
    use crate::kernels::gemm::Isa;

    /// Every instruction-set path against the scalar definition, bit for bit.
    #[test]
    fn every_path_matches_the_scalar_definition() {
        let x: Vec<f32> = (0..1000).map(|i| i as f32 * 0.25 - 100.0).collect();
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            for (rate, key) in [(0.2f32, 7u64), (0.5, u64::MAX), (0.9, 0)] {
                for n in [0, 1, 15, 16, 17, 1000] {
                    let mut y = vec![f32::NAN; n];
                    masked_scale_on(isa, rate, key, &x[..n], &mut y);
                    for (i, (&o, &v)) in y.iter().zip(&x).enumerate() {
                        let want = if keep(key, i, rate) {
                            v * (1.0 / (1.0 - rate))
                        } else {
                            0.0
                        };
                        assert_eq!(o.to_bits(), want.to_bits(), "{isa:?} rate {rate} at {i}");
                    }
                }
            }
        }
    }
}
