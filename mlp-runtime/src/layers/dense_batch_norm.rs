//! `Dense` → `BatchNorm` (→ activation layer) in training, fused into fewer passes.
//!
//! [`dense_batch_norm_forward_train`] performs, per element, exactly the floating-point
//! operations of [`dense_forward`](super::dense_forward), then
//! [`batch_norm_forward_train`](super::batch_norm_forward_train), then
//! [`leaky_relu_forward`](super::leaky_relu_forward) or
//! [`activation_forward`](super::activation_forward), in the same order (the batch mean and
//! variance are still summed over rows in row order), so its outputs are bit-identical to
//! the separate calls. What it saves is passes over memory: the bias + activation epilogue
//! of each row is followed at once by adding that row into the batch mean while it is in
//! cache, and the normalisation writes the activation's output in the same pass. The
//! variance stays a pass of its own: it needs the mean of the whole batch first.

use super::batch_norm;
use crate::kernels::{self, epilogue};
use mlp_spec::ir::Activation;

/// The layer after the `BatchNorm`, applied in the normalisation pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterBatchNorm {
    /// No activation layer: only the `BatchNorm` output is written.
    Nothing,
    /// `LeakyReLU(slope)`: `y = x` for `x ≥ 0`, `slope·x` otherwise.
    LeakyRelu(f32),
    /// A stand-alone activation layer (`ReLU`, `Sigmoid`, `Tanh`, `Softmax` per row,
    /// linear).
    Activation(Activation),
}

/// The arguments of [`dense_batch_norm_forward_train`], by name: the `Dense`'s inputs
/// (`batch` rows of `x`, `kernel`, `bias`, `act`), the `BatchNorm`'s (`gamma`, `beta`,
/// `epsilon`, `momentum` and the moving statistics it updates), and the buffers it writes.
#[derive(Debug)]
pub struct DenseBatchNormTrain<'a> {
    /// Rows (≥ 1).
    pub batch: usize,
    /// Input features.
    pub inputs: usize,
    /// `Dense` units (= `BatchNorm` features).
    pub units: usize,
    /// `[batch, inputs]`.
    pub x: &'a [f32],
    /// `[inputs, units]`.
    pub kernel: &'a [f32],
    /// `[units]`, or none.
    pub bias: Option<&'a [f32]>,
    /// The `Dense`'s activation.
    pub act: Activation,
    /// `BatchNorm` scale `[units]`.
    pub gamma: &'a [f32],
    /// `BatchNorm` shift `[units]`.
    pub beta: &'a [f32],
    /// Added to the variance.
    pub epsilon: f32,
    /// Moving-statistics momentum.
    pub momentum: f32,
    /// `1 - momentum`, taken in f64 (see [`super::batch_norm`]).
    pub one_minus_momentum: f32,
    /// Updated in place `[units]`.
    pub moving_mean: &'a mut [f32],
    /// Updated in place `[units]`.
    pub moving_var: &'a mut [f32],
    /// Written: the batch mean `[units]`.
    pub mean: &'a mut [f32],
    /// Written: `1/sqrt(var + epsilon)` `[units]`.
    pub inv_std: &'a mut [f32],
    /// Written: the `Dense` output `[batch, units]` (read by the `BatchNorm` backward).
    pub z: &'a mut [f32],
    /// Written: the `BatchNorm` output `[batch, units]`.
    pub y: &'a mut [f32],
    /// The layer applied after the `BatchNorm`.
    pub after: AfterBatchNorm,
    /// Written unless `after` is [`AfterBatchNorm::Nothing`]: its output `[batch, units]`.
    pub out: Option<&'a mut [f32]>,
}

/// Training forward of `Dense(units, act)` → `BatchNorm` → `after`, bit-identical to the
/// separate layer functions (see the module docs).
///
/// Writes the `Dense` output `z[..batch·units]` (read by the `BatchNorm` backward), the
/// `BatchNorm` output `y[..batch·units]` (read by a `LeakyReLU` backward), the batch mean
/// and `1/sqrt(var + epsilon)` into `mean[..units]` and `inv_std[..units]`, updates
/// `moving_mean` / `moving_var` in place and, unless `after` is
/// [`AfterBatchNorm::Nothing`], writes the activation's output `out[..batch·units]`
/// (`out` may be `None` then). `batch` must be ≥ 1; no output may alias `x`.
pub fn dense_batch_norm_forward_train(args: DenseBatchNormTrain<'_>) {
    let DenseBatchNormTrain {
        batch,
        inputs,
        units,
        x,
        kernel,
        bias,
        act,
        gamma,
        beta,
        epsilon,
        momentum,
        one_minus_momentum,
        moving_mean,
        moving_var,
        mean,
        inv_std,
        z,
        y,
        after,
        out,
    } = args;
    let n = batch * units;
    kernels::matmul(batch, inputs, units, x, kernel, z, false);
    let (z, y) = (&mut z[..n], &mut y[..n]);
    let (mean, inv_std) = (&mut mean[..units], &mut inv_std[..units]);
    if units == 0 {
        return;
    }
    // Pass 1: each row's bias + activation epilogue, then that row into the mean.
    mean.fill(0.0);
    for row in z.chunks_exact_mut(units) {
        epilogue::bias_activation(1, units, bias, act, row);
        for (m, &v) in mean.iter_mut().zip(row.iter()) {
            *m += v;
        }
    }
    // Pass 2: the variance, the moving statistics and 1/sqrt(var + eps).
    batch_norm::finish_statistics(
        batch,
        units,
        z,
        epsilon,
        momentum,
        one_minus_momentum,
        moving_mean,
        moving_var,
        mean,
        inv_std,
    );
    // Pass 3: normalise each row, then the activation layer on it.
    let (gamma, beta) = (&gamma[..units], &beta[..units]);
    let mut out = match after {
        AfterBatchNorm::Nothing => None,
        AfterBatchNorm::LeakyRelu(_) | AfterBatchNorm::Activation(_) => out.map(|o| &mut o[..n]),
    };
    for (r, (yr, zr)) in y
        .chunks_exact_mut(units)
        .zip(z.chunks_exact(units))
        .enumerate()
    {
        for f in 0..units {
            let inv = gamma[f] * inv_std[f];
            yr[f] = zr[f] * inv + (beta[f] - mean[f] * inv);
        }
        let Some(out) = out.as_deref_mut() else {
            continue;
        };
        let or = &mut out[r * units..(r + 1) * units];
        match after {
            AfterBatchNorm::Nothing => {}
            AfterBatchNorm::LeakyRelu(slope) => {
                for (o, &v) in or.iter_mut().zip(yr.iter()) {
                    *o = if v >= 0.0 { v } else { slope * v };
                }
            }
            AfterBatchNorm::Activation(a) => {
                or.copy_from_slice(yr);
                epilogue::bias_activation(1, units, None, a, or);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{dense_batch_norm_forward_train, AfterBatchNorm, DenseBatchNormTrain};
    use crate::layers::{
        activation_forward, batch_norm_forward_train, dense_forward, leaky_relu_forward,
    };
    use mlp_spec::ir::Activation;

    /// A small deterministic value in about `[-1, 1)`, varied by `i` and `salt`.
    fn value(i: usize, salt: usize) -> f32 {
        let k = (i * 7919 + salt * 104_729) % 2003;
        k as f32 / 1001.5 - 1.0
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Every output of the fused function against `dense_forward`, `batch_norm_forward_train`
    /// and the activation layer run separately, bit for bit, from NaN-prefilled buffers one
    /// row longer than needed (the spare row must stay NaN).
    #[test]
    fn fused_matches_the_separate_layers_bit_for_bit() {
        let (inputs, units) = (13, 9);
        let kernel: Vec<f32> = (0..inputs * units).map(|i| value(i, 2)).collect();
        let bias: Vec<f32> = (0..units).map(|i| value(i, 3) * 0.5).collect();
        let gamma: Vec<f32> = (0..units).map(|i| 1.5 + value(i, 4)).collect();
        let beta: Vec<f32> = (0..units).map(|i| value(i, 5)).collect();
        let moving0: Vec<f32> = (0..2 * units).map(|i| 0.2 + value(i, 6).abs()).collect();
        let afters = [
            AfterBatchNorm::Nothing,
            AfterBatchNorm::LeakyRelu(0.2),
            AfterBatchNorm::Activation(Activation::Relu),
            AfterBatchNorm::Activation(Activation::Sigmoid),
            AfterBatchNorm::Activation(Activation::Tanh),
            AfterBatchNorm::Activation(Activation::Softmax),
            AfterBatchNorm::Activation(Activation::Linear),
        ];
        let mut checked = 0;
        for batch in [1, 7, 32] {
            let x: Vec<f32> = (0..batch * inputs).map(|i| value(i, 1) * 3.0).collect();
            let len = (batch + 1) * units;
            for act in [Activation::Linear, Activation::Relu, Activation::Tanh] {
                for bias in [Some(&bias[..]), None] {
                    for after in afters {
                        let nan = || vec![f32::NAN; len];
                        let (mut z0, mut y0, mut o0) = (nan(), nan(), nan());
                        let (mut mean0, mut inv0) = (nan(), nan());
                        let (mut mm0, mut mv0) =
                            (moving0[..units].to_vec(), moving0[units..].to_vec());
                        dense_forward(batch, inputs, units, &x, &kernel, bias, act, &mut z0);
                        batch_norm_forward_train(
                            batch, units, &z0, &gamma, &beta, 1e-3, 0.99, 0.01, &mut mm0, &mut mv0,
                            &mut mean0, &mut inv0, &mut y0,
                        );
                        match after {
                            AfterBatchNorm::Nothing => {}
                            AfterBatchNorm::LeakyRelu(s) => {
                                leaky_relu_forward(batch * units, s, &y0, &mut o0);
                            }
                            AfterBatchNorm::Activation(a) => {
                                activation_forward(batch, units, a, &y0, &mut o0);
                            }
                        }

                        let (mut z1, mut y1, mut o1) = (nan(), nan(), nan());
                        let (mut mean1, mut inv1) = (nan(), nan());
                        let (mut mm1, mut mv1) =
                            (moving0[..units].to_vec(), moving0[units..].to_vec());
                        dense_batch_norm_forward_train(DenseBatchNormTrain {
                            batch,
                            inputs,
                            units,
                            x: &x,
                            kernel: &kernel,
                            bias,
                            act,
                            gamma: &gamma,
                            beta: &beta,
                            epsilon: 1e-3,
                            momentum: 0.99,
                            one_minus_momentum: 0.01,
                            moving_mean: &mut mm1,
                            moving_var: &mut mv1,
                            mean: &mut mean1,
                            inv_std: &mut inv1,
                            z: &mut z1,
                            y: &mut y1,
                            after,
                            out: Some(&mut o1),
                        });
                        let what =
                            format!("batch {batch}, {act:?}, bias {}, {after:?}", bias.is_some());
                        assert_eq!(bits(&z1), bits(&z0), "dense output, {what}");
                        assert_eq!(bits(&y1), bits(&y0), "batch norm output, {what}");
                        assert_eq!(bits(&o1), bits(&o0), "activation output, {what}");
                        assert_eq!(bits(&mean1), bits(&mean0), "mean, {what}");
                        assert_eq!(bits(&inv1), bits(&inv0), "inv_std, {what}");
                        assert_eq!(bits(&mm1), bits(&mm0), "moving mean, {what}");
                        assert_eq!(bits(&mv1), bits(&mv0), "moving variance, {what}");
                        // The outputs were written (not left NaN) and only where they belong.
                        let n = batch * units;
                        assert!(
                            z1[..n].iter().chain(&y1[..n]).all(|v| v.is_finite()),
                            "{what}"
                        );
                        assert!(z1[n..].iter().chain(&y1[n..]).all(|v| v.is_nan()), "{what}");
                        let written = after != AfterBatchNorm::Nothing;
                        assert!(o1[..n].iter().all(|v| v.is_finite() == written), "{what}");
                        assert!(o1[n..].iter().all(|v| v.is_nan()), "{what}");
                        // BatchNorm changed the values: the comparison is not of copies.
                        assert!(z1.iter().zip(&y1).take(n).any(|(a, b)| (a - b).abs() > 0.1));
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * 3 * 2 * afters.len());
    }
}
