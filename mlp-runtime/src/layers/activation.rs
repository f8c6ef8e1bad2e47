//! Stand-alone activation layers (`ReLU`, `Sigmoid`, `Tanh`, `Softmax`, linear).

use crate::kernels::epilogue;
use mlp_spec::ir::Activation;

/// `y = act(x)` over `[batch, features]` (softmax per row). Reads `x`, writes `y`.
pub fn activation_forward(
    batch: usize,
    features: usize,
    act: Activation,
    x: &[f32],
    y: &mut [f32],
) {
    let n = batch * features;
    y[..n].copy_from_slice(&x[..n]);
    epilogue::bias_activation(batch, features, None, act, y);
}

/// `dx = dy ⊙ act'` computed from the forward OUTPUT `y` (see
/// [`epilogue::activation_backward`]). Reads `y`, `dy`; writes `dx`.
pub fn activation_backward(
    batch: usize,
    features: usize,
    act: Activation,
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) {
    let n = batch * features;
    dx[..n].copy_from_slice(&dy[..n]);
    epilogue::activation_backward(batch, features, act, y, dx);
}
