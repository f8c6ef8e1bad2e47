//! Inverted `Dropout(rate)`: in training each element is kept when its uniform number is
//! `≥ rate` (as TensorFlow's `dropout` does) and scaled by `1 / (1 - rate)`; identity in
//! inference (callers simply skip the layer, or copy).
//!
//! The mask is never stored: element `i` of the `[batch, features]` buffer uses
//! [`rng::uniform_at(key, i)`](crate::rng::uniform_at) with `key =
//! rng::dropout_key(seed, layer, step)`, so backward recomputes it.

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
    let scale = 1.0 / (1.0 - rate);
    for (i, (o, &v)) in y[..n].iter_mut().zip(&x[..n]).enumerate() {
        *o = if keep(key, i, rate) { v * scale } else { 0.0 };
    }
}

/// Backward with the same `key`: `dx = dy / (1 - rate)` where kept, else 0.
/// Reads `dy`, writes `dx`.
pub fn dropout_backward(n: usize, rate: f32, key: u64, dy: &[f32], dx: &mut [f32]) {
    dropout_forward(n, rate, key, dy, dx);
}
