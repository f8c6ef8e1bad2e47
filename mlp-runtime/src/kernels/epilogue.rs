//! Element-wise epilogues fused after a GEMM, on caller-owned row-major buffers.
//!
//! All functions work on a `[rows, cols]` matrix stored contiguously in the first
//! `rows · cols` elements of the slice; nothing allocates.
//!
//! The activations follow Keras 3 on TensorFlow, formula for formula (the scalar functions
//! [`elu`], [`selu`], [`gelu`], … say which), so results agree with Keras to rounding; the
//! exponentials are [`super::math::exp`], as TensorFlow's CPU kernels use a polynomial
//! `exp` too. Derivatives come from the activation's output ([`activation_backward`],
//! in place, what `Dense` uses) or, for the activations whose derivative needs it
//! ([`Activation::derivative_needs_input`]), from its input
//! ([`activation_backward_from_input`]).

use super::math::{self, erfc, exp_neg_square};
use super::multiversion::multiversion;
use mlp_spec::ir::Activation;

/// TensorFlow's SELU `scale` (1.0507009873554805) as f32.
pub const SELU_SCALE: f32 = 1.050_701;
/// TensorFlow's SELU `scale · alpha` (1.7580993408473769) as f32.
pub const SELU_SCALE_ALPHA: f32 = 1.758_099_3;
/// TensorFlow's softplus threshold `ln(f32::EPSILON) + 2`: above `-THRESHOLD` softplus is
/// `x`, below `THRESHOLD` it is `e^x`, each within an ulp.
const SOFTPLUS_THRESHOLD: f32 = -13.942_385;
/// `√(2/π)`, TensorFlow's `0.7978845608028654`, for the tanh form of gelu.
const GELU_TANH_SCALE: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh form of gelu.
const GELU_TANH_CUBIC: f32 = 0.044_715;
/// Beyond this, TensorFlow's f32 `tanh` (Eigen's rational approximation) is exactly ±1,
/// where the correctly rounded value is still an ulp or two from 1; the tanh form of gelu
/// saturates there too, so that `1 + tanh` is 0 for very negative inputs as in Keras.
const TANH_SATURATION: f32 = 7.905_311;
/// `1/√(2π)`: the standard normal density at 0.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

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
        Activation::Sigmoid
        | Activation::Tanh
        | Activation::Softmax
        | Activation::Elu { .. }
        | Activation::Selu
        | Activation::Gelu { .. }
        | Activation::Silu
        | Activation::Softplus
        | Activation::LeakyRelu { .. } => {
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
        Activation::Elu { .. }
        | Activation::Selu
        | Activation::Gelu { .. }
        | Activation::Silu
        | Activation::Softplus
        | Activation::LeakyRelu { .. } => activate_elementwise(act, row),
    }
}

multiversion! {
    /// `y[i] = act(y[i])` for the element-wise activations of Keras 3 beyond the classic
    /// four, each loop vectorised where its function is plain arithmetic (the tanh form of
    /// gelu and softplus call the C library's `tanhf` / `log1pf`). Relu, sigmoid, tanh,
    /// linear and softmax are [`activate_row`]'s own and leave `y` unchanged here.
    fn activate_elementwise / activate_elementwise_on(act: Activation, y: &mut [f32]) {
        match act {
            Activation::Elu { alpha } => {
                for v in y.iter_mut() {
                    *v = elu(*v, alpha);
                }
            }
            Activation::Selu => {
                for v in y.iter_mut() {
                    *v = selu(*v);
                }
            }
            Activation::Gelu { approximate: false } => {
                for v in y.iter_mut() {
                    *v = gelu(*v);
                }
            }
            Activation::Gelu { approximate: true } => {
                for v in y.iter_mut() {
                    *v = gelu_tanh(*v);
                }
            }
            Activation::Silu => {
                for v in y.iter_mut() {
                    *v = silu(*v);
                }
            }
            Activation::Softplus => {
                for v in y.iter_mut() {
                    *v = softplus(*v);
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                for v in y.iter_mut() {
                    *v = leaky_relu(*v, negative_slope);
                }
            }
            Activation::Linear
            | Activation::Relu
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softmax => {}
        }
    }
}

/// Keras `elu`: `alpha·(e^x - 1)` for `x < 0`, else `x` (TensorFlow's `Elu` kernel, and
/// Keras's `where(x > 0, elu(x), alpha·elu(x))` when `alpha ≠ 1`).
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn elu(x: f32, alpha: f32) -> f32 {
    if x < 0.0 {
        alpha * (math::exp(x) - 1.0)
    } else {
        x
    }
}

/// Keras `selu`: `scale·alpha·(e^x - 1)` for `x < 0`, else `scale·x` (TensorFlow's `Selu`
/// kernel, [`SELU_SCALE`], [`SELU_SCALE_ALPHA`]).
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn selu(x: f32) -> f32 {
    if x < 0.0 {
        SELU_SCALE_ALPHA * (math::exp(x) - 1.0)
    } else {
        SELU_SCALE * x
    }
}

/// Keras `gelu(approximate = false)`: `0.5·x·erfc(-x/√2)`, as TensorFlow writes
/// `0.5·x·(1 + erf(x/√2))` (the `erfc` form keeps its accuracy for negative `x`).
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * erfc(-x * std::f32::consts::FRAC_1_SQRT_2)
}

/// Keras `gelu(approximate = true)`: `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + saturating_tanh(GELU_TANH_SCALE * (x + GELU_TANH_CUBIC * (x * x * x))))
}

/// `tanh(x)`, exactly ±1 beyond [`TANH_SATURATION`] as TensorFlow's is.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
fn saturating_tanh(x: f32) -> f32 {
    if x.abs() > TANH_SATURATION {
        1.0f32.copysign(x)
    } else {
        x.tanh()
    }
}

/// Keras `silu` / `swish`: `x·sigmoid(x)`, `sigmoid(x) = 1 / (1 + e^-x)`.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn silu(x: f32) -> f32 {
    x * (1.0 / (1.0 + math::exp(-x)))
}

/// Keras `softplus`: `log(1 + e^x)` as TensorFlow's kernel computes it: `x` above 13.94,
/// `e^x` below -13.94 (each within an ulp there, and free of overflow), `log1p(e^x)`
/// between.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn softplus(x: f32) -> f32 {
    let e = math::exp(x);
    if x > -SOFTPLUS_THRESHOLD {
        x
    } else if x < SOFTPLUS_THRESHOLD {
        e
    } else {
        e.ln_1p()
    }
}

/// Keras `activations.leaky_relu`: `x` for `x > 0`, else `negative_slope·x` (TensorFlow's
/// `LeakyRelu` kernel).
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn leaky_relu(x: f32, negative_slope: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        x * negative_slope
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
/// sigmoid: `y(1-y)`, tanh: `1-y²`, linear: 1; softmax: `dy ← y ⊙ (dy - Σ dy⊙y)` per row;
/// elu: `y + alpha` where `y < 0`, else 1 (`alpha` at `y = 0`); selu: `y + scale·alpha`
/// where `y < 0`, else `scale`; leaky relu: 1 where `y > 0`, else `negative_slope` — each
/// TensorFlow's gradient kernel).
///
/// Must not be called for an activation whose derivative needs its input
/// ([`Activation::derivative_needs_input`]: gelu, silu, softplus, elu or leaky relu with a
/// negative parameter); the plan never does (debug builds assert it), and `dy` is then
/// left unchanged. Use [`activation_backward_from_input`] for those.
///
/// Reads `y[..rows·cols]`; reads and writes `dy[..rows·cols]`.
pub fn activation_backward(rows: usize, cols: usize, act: Activation, y: &[f32], dy: &mut [f32]) {
    debug_assert!(
        !act.derivative_needs_input(),
        "{act:?}'s derivative needs its input"
    );
    let n = rows * cols;
    let (y, dy) = (&y[..n], &mut dy[..n]);
    match act {
        // Gelu, silu and softplus: not derivable from the output (asserted above).
        Activation::Linear | Activation::Gelu { .. } | Activation::Silu | Activation::Softplus => {}
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
        Activation::Elu { alpha } => {
            for (g, &o) in dy.iter_mut().zip(y) {
                let d = if o < 0.0 {
                    o + alpha
                } else if o > 0.0 {
                    1.0
                } else {
                    alpha
                };
                *g *= d;
            }
        }
        Activation::Selu => {
            for (g, &o) in dy.iter_mut().zip(y) {
                *g = if o < 0.0 {
                    *g * (o + SELU_SCALE_ALPHA)
                } else {
                    *g * SELU_SCALE
                };
            }
        }
        Activation::LeakyRelu { negative_slope } => {
            for (g, &o) in dy.iter_mut().zip(y) {
                *g = if o > 0.0 { *g } else { *g * negative_slope };
            }
        }
    }
}

/// `dy[r, c] *= act'(x[r, c])` from the activation's INPUT `x`, for the element-wise
/// activations whose derivative may need it (TensorFlow's gradients): gelu
/// `0.5·erfc(-x/√2) + x·φ(x)` with `φ(x) = e^(-x²/2)/√(2π)` (its tanh form by the chain
/// rule), silu `s·(1 + x·(1 - s))` with `s = sigmoid(x)`, softplus `sigmoid(x)`, elu 1 for
/// `x > 0` else `alpha·e^x`, leaky relu 1 for `x > 0` else `negative_slope`.
///
/// Linear, relu, sigmoid, tanh, selu and softmax are computed from their output
/// ([`activation_backward`]); debug builds assert they are not passed here, and `dy` is
/// then left unchanged.
///
/// Reads `x[..rows·cols]`; reads and writes `dy[..rows·cols]`.
pub fn activation_backward_from_input(
    rows: usize,
    cols: usize,
    act: Activation,
    x: &[f32],
    dy: &mut [f32],
) {
    let n = rows * cols;
    let (x, dy) = (&x[..n], &mut dy[..n]);
    match act {
        Activation::Gelu { approximate: false } => {
            for (g, &v) in dy.iter_mut().zip(x) {
                let u = v * std::f32::consts::FRAC_1_SQRT_2;
                *g *= 0.5 * erfc(-u) + v * FRAC_1_SQRT_2PI * exp_neg_square(u);
            }
        }
        Activation::Gelu { approximate: true } => {
            for (g, &v) in dy.iter_mut().zip(x) {
                let v2 = v * v;
                let t = saturating_tanh(GELU_TANH_SCALE * (v + GELU_TANH_CUBIC * (v2 * v)));
                let dt = (1.0 - t * t) * GELU_TANH_SCALE * (1.0 + 3.0 * GELU_TANH_CUBIC * v2);
                *g *= 0.5 * (1.0 + t) + 0.5 * v * dt;
            }
        }
        Activation::Silu => {
            for (g, &v) in dy.iter_mut().zip(x) {
                let s = 1.0 / (1.0 + math::exp(-v));
                *g *= s * (1.0 + v * (1.0 - s));
            }
        }
        Activation::Softplus => {
            for (g, &v) in dy.iter_mut().zip(x) {
                *g /= math::exp(-v) + 1.0;
            }
        }
        Activation::Elu { alpha } => {
            for (g, &v) in dy.iter_mut().zip(x) {
                *g *= if v > 0.0 { 1.0 } else { alpha * math::exp(v) };
            }
        }
        Activation::LeakyRelu { negative_slope } => {
            for (g, &v) in dy.iter_mut().zip(x) {
                *g = if v > 0.0 { *g } else { *g * negative_slope };
            }
        }
        Activation::Linear
        | Activation::Relu
        | Activation::Sigmoid
        | Activation::Tanh
        | Activation::Selu
        | Activation::Softmax => {
            debug_assert!(false, "{act:?}'s derivative comes from its output");
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
    use super::{
        activate_elementwise_on, bias_add_on, bias_relu_on, column_sums_on, elu, gelu, gelu_tanh,
        leaky_relu, relu_backward_on, selu, silu, softplus,
    };
    use crate::kernels::gemm::Isa;
    use mlp_spec::ir::Activation;

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

    /// A scalar activation function.
    type Scalar = fn(f32) -> f32;

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

                let scaled: Vec<f32> = y0.iter().map(|v| v * 9.0).collect();
                let scalar: [(Activation, Scalar); 7] = [
                    (Activation::Elu { alpha: 0.7 }, |v| elu(v, 0.7)),
                    (Activation::Selu, selu),
                    (Activation::Gelu { approximate: false }, gelu),
                    (Activation::Gelu { approximate: true }, gelu_tanh),
                    (Activation::Silu, silu),
                    (Activation::Softplus, softplus),
                    (
                        Activation::LeakyRelu {
                            negative_slope: 0.3,
                        },
                        |v| leaky_relu(v, 0.3),
                    ),
                ];
                for (act, f) in scalar {
                    let mut got = scaled.clone();
                    activate_elementwise_on(isa, act, &mut got);
                    let want: Vec<f32> = scaled.iter().map(|&v| f(v)).collect();
                    // Bit for bit, but any NaN as any NaN: Rust leaves the sign and payload
                    // of a NaN an operation creates (here `-∞ · 0`) unspecified.
                    let canon = |v: &[f32]| -> Vec<u32> {
                        v.iter()
                            .map(|x| if x.is_nan() { f32::NAN } else { *x }.to_bits())
                            .collect()
                    };
                    assert_eq!(canon(&got), canon(&want), "{act:?} {isa:?} {rows}x{cols}");
                }
            }
        }
    }
}
