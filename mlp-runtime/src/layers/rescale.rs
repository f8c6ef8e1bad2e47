//! `Rescale(scale, offset)`: `y = x·scale + offset` (Keras `Rescaling`).

/// Forward over `n` elements. Reads `x`, writes `y`.
pub fn rescale_forward(n: usize, scale: f32, offset: f32, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y[..n].iter_mut().zip(&x[..n]) {
        *o = v * scale + offset;
    }
}

/// Backward: `dx = dy·scale`. Reads `dy`, writes `dx`.
pub fn rescale_backward(n: usize, scale: f32, dy: &[f32], dx: &mut [f32]) {
    for (d, &g) in dx[..n].iter_mut().zip(&dy[..n]) {
        *d = g * scale;
    }
}
