//! Stand-alone activation layers (`ReLU`, `Sigmoid`, `Tanh`, `Softmax`, `Activation(name)`),
//! and the activation op after a `Dense` that keeps its pre-activation.

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

/// `dx = dy ⊙ act'`, computed from the forward OUTPUT `y` where that suffices
/// ([`epilogue::activation_backward`]), from the forward INPUT `x` where the derivative
/// needs it ([`Activation::derivative_needs_input`],
/// [`epilogue::activation_backward_from_input`]). Reads `x`, `y`, `dy`; writes `dx`.
pub fn activation_backward(
    batch: usize,
    features: usize,
    act: Activation,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) {
    let n = batch * features;
    dx[..n].copy_from_slice(&dy[..n]);
    if act.derivative_needs_input() {
        epilogue::activation_backward_from_input(batch, features, act, x, dx);
    } else {
        epilogue::activation_backward(batch, features, act, y, dx);
    }
}
