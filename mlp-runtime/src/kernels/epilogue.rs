//! Element-wise epilogues fused after a GEMM, on caller-owned row-major buffers.
//!
//! All functions work on a `[rows, cols]` matrix stored contiguously in the first
//! `rows · cols` elements of the slice; nothing allocates.

use super::multiversion::multiversion;
use mlp_spec::ir::Activation;

/// `y[r, c] = act(y[r, c] + bias[c])` for every row (`bias` skipped when `None`). Softmax is
/// taken over each row after the bias is added.
///
/// Reads `bias[..cols]`; reads and writes `y[..rows·cols]`.
pub fn bias_activation(
    rows: usize,
    cols: usize,
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    let y = &mut y[..rows * cols];
    if cols == 0 {
        return;
    }
    let bias = bias.map_or(&[][..], |b| &b[..cols]);
    match act {
        // The hot cases, vectorised: the same operations, in the same order, as below.
        Activation::Relu => bias_relu(cols, bias, y),
        Activation::Linear => bias_add(cols, bias, y),
        Activation::Sigmoid | Activation::Tanh | Activation::Softmax => {
            for row in y.chunks_exact_mut(cols) {
                for (v, &bb) in row.iter_mut().zip(bias) {
                    *v += bb;
                }
                activate_row(act, row);
            }
        }
    }
}

multiversion! {
    /// `y[r, c] = max(y[r, c] + bias[c], 0)` (bias skipped when empty); `cols >= 1`.
    fn bias_relu / bias_relu_on(cols: usize, bias: &[f32], y: &mut [f32]) {
        for row in y.chunks_exact_mut(cols) {
            if bias.is_empty() {
                for v in row.iter_mut() {
                    *v = v.max(0.0);
                }
            } else {
                for (v, &bb) in row.iter_mut().zip(bias) {
                    *v = (*v + bb).max(0.0);
                }
            }
        }
    }
}

multiversion! {
    /// `y[r, c] += bias[c]` (nothing when `bias` is empty); `cols >= 1`.
    fn bias_add / bias_add_on(cols: usize, bias: &[f32], y: &mut [f32]) {
        if bias.is_empty() {
            return;
        }
        for row in y.chunks_exact_mut(cols) {
            for (v, &bb) in row.iter_mut().zip(bias) {
                *v += bb;
            }
        }
    }
}

/// Applies `act` to one row in place (softmax over the row).
#[inline]
pub fn activate_row(act: Activation, row: &mut [f32]) {
    match act {
        Activation::Linear => {}
        Activation::Relu => {
            for v in row {
                *v = v.max(0.0);
            }
        }
        Activation::Sigmoid => {
            for v in row {
                *v = sigmoid(*v);
            }
        }
        Activation::Tanh => {
            for v in row {
                *v = v.tanh();
            }
        }
        Activation::Softmax => softmax_row(row),
    }
}

/// `1 / (1 + e^-x)`.
#[inline]
#[must_use]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Numerically stable softmax of one row in place: `e^(x - max) / Σ e^(x - max)`, with the
/// vectorisable [`super::math::exp`] (the same values as the loss's softmax).
#[inline]
pub fn softmax_row(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = super::math::exp(*v - max);
    }
    let mut sum = 0.0f32;
    for &v in row.iter() {
        sum += v;
    }
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `dy[r, c] *= act'(·)` expressed through the activation's OUTPUT `y` (relu: `y > 0`,
/// sigmoid: `y(1-y)`, tanh: `1-y²`, linear: 1; softmax: `dy ← y ⊙ (dy - Σ dy⊙y)` per row).
///
/// Reads `y[..rows·cols]`; reads and writes `dy[..rows·cols]`.
pub fn activation_backward(rows: usize, cols: usize, act: Activation, y: &[f32], dy: &mut [f32]) {
    let n = rows * cols;
    let (y, dy) = (&y[..n], &mut dy[..n]);
    match act {
        Activation::Linear => {}
        Activation::Relu => relu_backward(y, dy),
        Activation::Sigmoid => {
            for (g, &o) in dy.iter_mut().zip(y) {
                *g *= o * (1.0 - o);
            }
        }
        Activation::Tanh => {
            for (g, &o) in dy.iter_mut().zip(y) {
                *g *= 1.0 - o * o;
            }
        }
        Activation::Softmax => {
            if cols == 0 {
                return;
            }
            for (g, o) in dy.chunks_exact_mut(cols).zip(y.chunks_exact(cols)) {
                let dot: f32 = g.iter().zip(o).map(|(a, b)| a * b).sum();
                for (gi, &oi) in g.iter_mut().zip(o) {
                    *gi = oi * (*gi - dot);
                }
            }
        }
    }
}

multiversion! {
    /// `dy = 0` where `y <= 0` (the `ReLU` derivative from its output), slices of equal
    /// length.
    fn relu_backward / relu_backward_on(y: &[f32], dy: &mut [f32]) {
        for (g, &o) in dy.iter_mut().zip(y) {
            *g = if o <= 0.0 { 0.0 } else { *g };
        }
    }
}

multiversion! {
    /// `out[c] = Σ_r x[r, c]` (column sums, e.g. a bias gradient), summed over `r` in order.
    /// Overwrites `out[..cols]`; reads `x[..rows·cols]`.
    pub fn column_sums / column_sums_on(rows: usize, cols: usize, x: &[f32], out: &mut [f32]) {
        let out = &mut out[..cols];
        out.fill(0.0);
        if cols == 0 {
            return;
        }
        for row in x[..rows * cols].chunks_exact(cols) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{bias_add_on, bias_relu_on, column_sums_on, relu_backward_on};
    use crate::kernels::gemm::Isa;

    /// Values with both signs, zeros, a NaN and an infinity.
    fn values(n: usize, salt: u32) -> Vec<f32> {
        (0..n)
            .map(|i| match (i as u32 * 7 + salt) % 13 {
                0 => 0.0,
                1 => -0.0,
                2 if i % 5 == 0 => f32::NAN,
                3 if i % 7 == 0 => f32::INFINITY,
                r => (r as f32 - 6.5) * 0.37,
            })
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Every instruction-set path of the element-wise epilogues against the scalar formula,
    /// bit for bit, at sizes around the vector widths.
    #[test]
    fn every_path_matches_the_scalar_formula_bit_for_bit() {
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            for (rows, cols) in [
                (1, 1),
                (3, 5),
                (2, 16),
                (4, 17),
                (7, 33),
                (32, 64),
                (5, 100),
            ] {
                let n = rows * cols;
                let y0 = values(n, 1);
                let bias = values(cols, 2);

                let mut want = y0.clone();
                for (i, v) in want.iter_mut().enumerate() {
                    *v = (*v + bias[i % cols]).max(0.0);
                }
                let mut got = y0.clone();
                bias_relu_on(isa, cols, &bias, &mut got);
                assert_eq!(bits(&got), bits(&want), "bias_relu {isa:?} {rows}x{cols}");

                let mut got = y0.clone();
                bias_relu_on(isa, cols, &[], &mut got);
                let want: Vec<f32> = y0.iter().map(|v| v.max(0.0)).collect();
                assert_eq!(bits(&got), bits(&want), "relu {isa:?} {rows}x{cols}");

                let mut got = y0.clone();
                bias_add_on(isa, cols, &bias, &mut got);
                let want: Vec<f32> = y0
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v + bias[i % cols])
                    .collect();
                assert_eq!(bits(&got), bits(&want), "bias_add {isa:?} {rows}x{cols}");

                let dy0 = values(n, 5);
                let mut got = dy0.clone();
                relu_backward_on(isa, &y0, &mut got);
                let want: Vec<f32> = dy0
                    .iter()
                    .zip(&y0)
                    .map(|(&g, &o)| if o <= 0.0 { 0.0 } else { g })
                    .collect();
                assert_eq!(
                    bits(&got),
                    bits(&want),
                    "relu_backward {isa:?} {rows}x{cols}"
                );

                let mut got = vec![f32::NAN; cols + 3];
                column_sums_on(isa, rows, cols, &dy0, &mut got);
                let mut want = vec![0.0f32; cols];
                for r in 0..rows {
                    for c in 0..cols {
                        want[c] += dy0[r * cols + c];
                    }
                }
                assert_eq!(bits(&got[..cols]), bits(&want), "column_sums {isa:?}");
                assert!(got[cols..].iter().all(|v| v.is_nan()), "wrote past cols");
            }
        }
    }
}
