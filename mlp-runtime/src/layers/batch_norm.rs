//! `BatchNorm` over the last axis, Keras 3 semantics.
//!
//! Training: batch mean and biased variance; `y = x·inv + (beta - mean·inv)` with
//! `inv = gamma / sqrt(var + epsilon)` (TensorFlow's `batch_normalization`); moving
//! statistics updated as `m = m·momentum + batch_stat·(1 - momentum)` (variance biased, as
//! Keras), both factors given as f32 with `1 - momentum` taken in f64 from the written
//! momentum, as Keras takes it from the Python float. Inference uses the moving statistics.

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
    one_minus_momentum: f32,
    moving_mean: &mut [f32],
    moving_var: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
    y: &mut [f32],
) {
    let n = batch * features;
    let (x, y) = (&x[..n], &mut y[..n]);
    let (mean, inv_std) = (&mut mean[..features], &mut inv_std[..features]);
    mean.fill(0.0);
    for row in x.chunks_exact(features) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    finish_statistics(
        batch,
        features,
        x,
        epsilon,
        momentum,
        one_minus_momentum,
        moving_mean,
        moving_var,
        mean,
        inv_std,
    );
    normalize(features, x, mean, inv_std, gamma, beta, y);
}

/// Completes a training batch's statistics once `mean` holds the per-feature SUMS of `x`'s
/// rows: divides them into the mean, accumulates the biased variance over the rows in row
/// order into `inv_std`, updates the moving statistics
/// (`m = m·momentum + batch_stat·(1 - momentum)`) and leaves `1/sqrt(var + eps)` in
/// `inv_std`. Shared by [`batch_norm_forward_train`] and the fused Dense + `BatchNorm`
/// kernel, so both compute the same bits.
pub(crate) fn finish_statistics(
    batch: usize,
    features: usize,
    x: &[f32],
    epsilon: f32,
    momentum: f32,
    one_minus_momentum: f32,
    moving_mean: &mut [f32],
    moving_var: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
) {
    let inv_batch = 1.0 / batch as f32;
    for m in mean.iter_mut() {
        *m *= inv_batch;
    }
    inv_std.fill(0.0);
    for row in x.chunks_exact(features) {
        for ((s, &v), &m) in inv_std.iter_mut().zip(row).zip(mean.iter()) {
            let d = v - m;
            *s += d * d;
        }
    }
    for f in 0..features {
        let var = inv_std[f] * inv_batch;
        moving_mean[f] = moving_mean[f] * momentum + mean[f] * one_minus_momentum;
        moving_var[f] = moving_var[f] * momentum + var * one_minus_momentum;
        inv_std[f] = 1.0 / (var + epsilon).sqrt();
    }
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

/// Folds an inference-mode `BatchNorm` into the linear `Dense` before it: with `g =
/// gamma / sqrt(moving_var + epsilon)` per unit, `folded_kernel[i, j] = kernel[i, j]·g[j]`
/// and `folded_bias[j] = bias[j]·g[j] + (beta[j] - moving_mean[j]·g[j])` (`bias` 0 when
/// `None`), so one `dense_forward` with the folded tensors computes what `dense_forward`
/// then [`batch_norm_forward_infer`] compute, up to rounding: the fold reassociates
/// `(x·kernel + bias)·g` into `x·(kernel·g) + bias·g`.
///
/// `kernel` and `folded_kernel` are `[inputs, units]`; everything per unit has `units`
/// floats. Reads all but the `folded_*` outputs, which it overwrites.
pub fn batch_norm_fold_into_dense(
    inputs: usize,
    units: usize,
    kernel: &[f32],
    bias: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    moving_mean: &[f32],
    moving_var: &[f32],
    folded_kernel: &mut [f32],
    folded_bias: &mut [f32],
) {
    let n = inputs * units;
    let (gamma, beta) = (&gamma[..units], &beta[..units]);
    let (moving_mean, moving_var) = (&moving_mean[..units], &moving_var[..units]);
    // `g` goes into `folded_bias` first, then the bias over it.
    let g = &mut folded_bias[..units];
    for j in 0..units {
        g[j] = gamma[j] / (moving_var[j] + epsilon).sqrt();
    }
    for (out, row) in folded_kernel[..n]
        .chunks_exact_mut(units)
        .zip(kernel[..n].chunks_exact(units))
    {
        for ((o, &w), &g) in out.iter_mut().zip(row).zip(g.iter()) {
            *o = w * g;
        }
    }
    for j in 0..units {
        let b = bias.map_or(0.0, |b| b[j]);
        g[j] = b * g[j] + (beta[j] - moving_mean[j] * g[j]);
    }
}

/// Folds an inference-mode `BatchNorm` over `inputs` features into the `Dense` after it:
/// with `g = gamma / sqrt(moving_var + epsilon)` and `shift = beta - moving_mean·g` per
/// input, `folded_kernel[i, j] = g[i]·kernel[i, j]` and `folded_bias[j] = bias[j] + Σ_i
/// shift[i]·kernel[i, j]` (`bias` 0 when `None`), so one `dense_forward` with the folded
/// tensors on the `BatchNorm`'s input computes what [`batch_norm_forward_infer`] then
/// `dense_forward` compute, up to rounding (the fold reassociates the sums).
///
/// `kernel` and `folded_kernel` are `[inputs, units]`; `gamma`, `beta` and the moving
/// statistics have `inputs` floats, `bias` and `folded_bias` `units`. Overwrites the
/// `folded_*` outputs.
pub fn batch_norm_fold_into_next_dense(
    inputs: usize,
    units: usize,
    gamma: &[f32],
    beta: &[f32],
    epsilon: f32,
    moving_mean: &[f32],
    moving_var: &[f32],
    kernel: &[f32],
    bias: Option<&[f32]>,
    folded_kernel: &mut [f32],
    folded_bias: &mut [f32],
) {
    let n = inputs * units;
    let folded_bias = &mut folded_bias[..units];
    match bias {
        Some(b) => folded_bias.copy_from_slice(&b[..units]),
        None => folded_bias.fill(0.0),
    }
    for (i, (out, row)) in folded_kernel[..n]
        .chunks_exact_mut(units)
        .zip(kernel[..n].chunks_exact(units))
        .enumerate()
    {
        let g = gamma[i] / (moving_var[i] + epsilon).sqrt();
        let shift = beta[i] - moving_mean[i] * g;
        for ((o, b), &w) in out.iter_mut().zip(folded_bias.iter_mut()).zip(row) {
            *o = g * w;
            *b += shift * w;
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

#[cfg(test)]
mod tests {
    use super::{
        batch_norm_fold_into_dense, batch_norm_fold_into_next_dense, batch_norm_forward_infer,
    };
    use crate::layers::dense_forward;
    use mlp_spec::ir::Activation;

    /// A small deterministic value in about `[-1, 1)`, varied by `i` and `salt`.
    fn value(i: usize, salt: usize) -> f32 {
        let k = (i * 7919 + salt * 104_729) % 2003;
        k as f32 / 1001.5 - 1.0
    }

    #[test]
    fn folded_dense_matches_dense_then_batch_norm() {
        let (batch, inputs, units) = (5, 7, 4);
        let x: Vec<f32> = (0..batch * inputs).map(|i| value(i, 1) * 3.0).collect();
        let kernel: Vec<f32> = (0..inputs * units).map(|i| value(i, 2)).collect();
        let bias: Vec<f32> = (0..units).map(|i| value(i, 3)).collect();
        let gamma: Vec<f32> = (0..units).map(|i| 1.5 + value(i, 4)).collect();
        let beta: Vec<f32> = (0..units).map(|i| value(i, 5)).collect();
        let mean: Vec<f32> = (0..units).map(|i| value(i, 6) * 0.5).collect();
        let var: Vec<f32> = (0..units).map(|i| 0.2 + value(i, 7).abs()).collect();
        for bias in [Some(&bias[..]), None] {
            let mut z = vec![0.0; batch * units];
            dense_forward(
                batch,
                inputs,
                units,
                &x,
                &kernel,
                bias,
                Activation::Linear,
                &mut z,
            );
            let mut want = vec![0.0; batch * units];
            batch_norm_forward_infer(
                batch, units, &z, &gamma, &beta, 1e-3, &mean, &var, &mut want,
            );

            let (mut fk, mut fb) = (vec![0.0; inputs * units], vec![0.0; units]);
            batch_norm_fold_into_dense(
                inputs, units, &kernel, bias, &gamma, &beta, 1e-3, &mean, &var, &mut fk, &mut fb,
            );
            let mut got = vec![0.0; batch * units];
            dense_forward(
                batch,
                inputs,
                units,
                &x,
                &fk,
                Some(&fb),
                Activation::Linear,
                &mut got,
            );
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{g} vs {w}");
            }
            // Not merely a copy of the unfolded output: BatchNorm changed the values.
            assert!(z.iter().zip(&want).any(|(a, b)| (a - b).abs() > 0.1));
        }
    }

    #[test]
    fn dense_with_the_batch_norm_before_it_folded_matches_batch_norm_then_dense() {
        let (batch, inputs, units) = (5, 4, 6);
        let x: Vec<f32> = (0..batch * inputs).map(|i| value(i, 11) * 3.0).collect();
        let kernel: Vec<f32> = (0..inputs * units).map(|i| value(i, 12)).collect();
        let bias: Vec<f32> = (0..units).map(|i| value(i, 13)).collect();
        let gamma: Vec<f32> = (0..inputs).map(|i| 1.5 + value(i, 14)).collect();
        let beta: Vec<f32> = (0..inputs).map(|i| value(i, 15)).collect();
        let mean: Vec<f32> = (0..inputs).map(|i| value(i, 16) * 0.5).collect();
        let var: Vec<f32> = (0..inputs).map(|i| 0.2 + value(i, 17).abs()).collect();
        for bias in [Some(&bias[..]), None] {
            let mut normed = vec![0.0; batch * inputs];
            batch_norm_forward_infer(
                batch,
                inputs,
                &x,
                &gamma,
                &beta,
                1e-3,
                &mean,
                &var,
                &mut normed,
            );
            let mut want = vec![0.0; batch * units];
            dense_forward(
                batch,
                inputs,
                units,
                &normed,
                &kernel,
                bias,
                Activation::Relu,
                &mut want,
            );

            let (mut fk, mut fb) = (vec![0.0; inputs * units], vec![0.0; units]);
            batch_norm_fold_into_next_dense(
                inputs, units, &gamma, &beta, 1e-3, &mean, &var, &kernel, bias, &mut fk, &mut fb,
            );
            let mut got = vec![0.0; batch * units];
            dense_forward(
                batch,
                inputs,
                units,
                &x,
                &fk,
                Some(&fb),
                Activation::Relu,
                &mut got,
            );
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "{g} vs {w}");
            }
            let mut unnormed = vec![0.0; batch * units];
            dense_forward(
                batch,
                inputs,
                units,
                &x,
                &kernel,
                bias,
                Activation::Relu,
                &mut unnormed,
            );
            assert!(unnormed.iter().zip(&want).any(|(a, b)| (a - b).abs() > 0.1));
        }
    }
}
