//! `BatchNorm` over the last axis, Keras 3 semantics.
//!
//! Training: batch mean and biased variance; `y = x·inv + (beta - mean·inv)` with
//! `inv = gamma / sqrt(var + epsilon)` (TensorFlow's `batch_normalization`); moving
//! statistics updated as `m = m·momentum + batch_stat·(1 - momentum)` (variance biased, as
//! Keras). Inference uses the moving statistics.

/// Training forward over `x[batch, features]`. Writes the batch mean and `1/sqrt(var+eps)`
/// into `mean[..features]` and `inv_std[..features]` (needed by backward), `y`, and updates
/// `moving_mean` / `moving_var` in place. `batch` must be ≥ 1.
pub fn batch_norm_forward_train(
    batch: usize,
    features: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    momentum: f32,
    moving_mean: &mut [f32],
    moving_var: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
    y: &mut [f32],
) {
    let n = batch * features;
    let (x, y) = (&x[..n], &mut y[..n]);
    let (mean, inv_std) = (&mut mean[..features], &mut inv_std[..features]);
    let inv_batch = 1.0 / batch as f32;
    mean.fill(0.0);
    for row in x.chunks_exact(features) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    for m in mean.iter_mut() {
        *m *= inv_batch;
    }
    // Variance accumulated into inv_std, then turned into 1/sqrt(var + eps).
    inv_std.fill(0.0);
    for row in x.chunks_exact(features) {
        for ((s, &v), &m) in inv_std.iter_mut().zip(row).zip(mean.iter()) {
            let d = v - m;
            *s += d * d;
        }
    }
    for f in 0..features {
        let var = inv_std[f] * inv_batch;
        moving_mean[f] = moving_mean[f] * momentum + mean[f] * (1.0 - momentum);
        moving_var[f] = moving_var[f] * momentum + var * (1.0 - momentum);
        inv_std[f] = 1.0 / (var + epsilon).sqrt();
    }
    normalize(features, x, mean, inv_std, gamma, beta, y);
}

/// Inference forward with the moving statistics. Reads everything but `y`; writes `y`.
pub fn batch_norm_forward_infer(
    batch: usize,
    features: usize,
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    moving_mean: &[f32],
    moving_var: &[f32],
    y: &mut [f32],
) {
    let n = batch * features;
    for row in y[..n]
        .chunks_exact_mut(features)
        .zip(x[..n].chunks_exact(features))
    {
        let (out, inp) = row;
        for f in 0..features {
            let inv = gamma[f] / (moving_var[f] + epsilon).sqrt();
            out[f] = inp[f] * inv + (beta[f] - moving_mean[f] * inv);
        }
    }
}

/// `y = x·inv + (beta - mean·inv)`, `inv = gamma·inv_std`.
fn normalize(
    features: usize,
    x: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    gamma: &[f32],
    beta: &[f32],
    y: &mut [f32],
) {
    for (out, inp) in y.chunks_exact_mut(features).zip(x.chunks_exact(features)) {
        for f in 0..features {
            let inv = gamma[f] * inv_std[f];
            out[f] = inp[f] * inv + (beta[f] - mean[f] * inv);
        }
    }
}

/// Training backward, with `mean` and `inv_std` from the forward pass and `x̂ = (x -
/// mean)·inv_std`: `dgamma = Σ dy·x̂`, `dbeta = Σ dy`, and when `dx` is given
/// `dx = gamma·inv_std/N · (N·dy - dbeta - x̂·dgamma)`.
///
/// Reads `x`, `gamma`, `mean`, `inv_std`, `dy`; overwrites `dgamma`, `dbeta`, `dx`.
pub fn batch_norm_backward(
    batch: usize,
    features: usize,
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    dy: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    let n = batch * features;
    let (x, dy) = (&x[..n], &dy[..n]);
    let (dgamma, dbeta) = (&mut dgamma[..features], &mut dbeta[..features]);
    dgamma.fill(0.0);
    dbeta.fill(0.0);
    for (xr, gr) in x.chunks_exact(features).zip(dy.chunks_exact(features)) {
        for f in 0..features {
            let xhat = (xr[f] - mean[f]) * inv_std[f];
            dgamma[f] += gr[f] * xhat;
            dbeta[f] += gr[f];
        }
    }
    if let Some(dx) = dx {
        let nb = batch as f32;
        for ((dr, xr), gr) in dx[..n]
            .chunks_exact_mut(features)
            .zip(x.chunks_exact(features))
            .zip(dy.chunks_exact(features))
        {
            for f in 0..features {
                let xhat = (xr[f] - mean[f]) * inv_std[f];
                dr[f] = gamma[f] * inv_std[f] / nb * (nb * gr[f] - dbeta[f] - xhat * dgamma[f]);
            }
        }
    }
}
