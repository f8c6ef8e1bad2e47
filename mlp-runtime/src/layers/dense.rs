//! `Dense`: `y = act(x · kernel + bias)`, kernel `[inputs, units]` (Keras layout).

use crate::kernels::{self, epilogue};
use mlp_spec::ir::Activation;

/// Forward: `y[batch, units] = act(x[batch, inputs] · kernel[inputs, units] + bias)`, one
/// GEMM followed by the fused bias + activation epilogue.
///
/// Reads `x`, `kernel`, `bias`; writes `y[..batch·units]`. `y` must not alias `x`.
pub fn dense_forward(
    batch: usize,
    inputs: usize,
    units: usize,
    x: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
) {
    kernels::matmul(batch, inputs, units, x, kernel, y, false);
    epilogue::bias_activation(batch, units, bias, act, y);
}

/// Backward, given `dz = ∂L/∂(x·kernel + bias)` (apply
/// [`activation_backward`](super::activation_backward) to `dy` first):
/// `dkernel = xᵀ · dz` (`[inputs, units]`), `dbias = Σ_rows dz`, and, when `dx` is given,
/// `dx = dz · kernelᵀ` (`[batch, inputs]`; the first layer passes `None`).
///
/// Reads `x`, `kernel`, `dz`; overwrites `dkernel`, `dbias`, `dx`.
pub fn dense_backward(
    batch: usize,
    inputs: usize,
    units: usize,
    x: &[f32],
    kernel: &[f32],
    dz: &[f32],
    dkernel: &mut [f32],
    dbias: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
) {
    kernels::matmul_at(inputs, batch, units, x, dz, dkernel, false);
    if let Some(db) = dbias {
        epilogue::column_sums(batch, units, dz, db);
    }
    if let Some(dx) = dx {
        kernels::matmul_bt(batch, units, inputs, dz, kernel, dx, false);
    }
}
