//! `LeakyReLU(slope)`: `y = x` for `x ≥ 0`, `slope·x` otherwise (TensorFlow's
//! `leaky_relu`; its gradient is 1 where `x > 0`, `slope` elsewhere).

/// Forward over `n` elements. Reads `x`, writes `y`.
pub fn leaky_relu_forward(n: usize, slope: f32, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y[..n].iter_mut().zip(&x[..n]) {
        *o = if v >= 0.0 { v } else { slope * v };
    }
}

/// Backward: `dx = dy` where `x > 0`, `slope·dy` elsewhere. Reads `x` (the forward input)
/// and `dy`; writes `dx`.
pub fn leaky_relu_backward(n: usize, slope: f32, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((d, &g), &v) in dx[..n].iter_mut().zip(&dy[..n]).zip(&x[..n]) {
        *d = if v > 0.0 { g } else { slope * g };
    }
}
