//! `Normalization` (Keras `keras.layers.Normalization(axis = -1)`): `y = (x - mean) /
//! max(sqrt(variance), 1e-7)` per feature of the last axis, with the statistics adapted
//! from the training data beforehand ([`adapt_statistics`]) and constant in training.

/// Keras's `backend.epsilon()`, the floor of the standard deviation.
pub const EPSILON: f32 = 1e-7;

/// The divisor of feature `f`: `max(sqrt(variance), 1e-7)`.
#[inline]
#[must_use]
pub fn divisor(variance: f32) -> f32 {
    variance.sqrt().max(EPSILON)
}

/// Forward over `rows` rows of `n` floats, feature `j % mean.len()` of each element `j`
/// (Keras divides, so this divides too). Reads `x`, `mean`, `variance`; writes `y`.
pub fn normalization_forward(
    rows: usize,
    n: usize,
    mean: &[f32],
    variance: &[f32],
    x: &[f32],
    y: &mut [f32],
) {
    let features = mean.len();
    if features == 0 || n == 0 {
        return;
    }
    for (xr, yr) in x[..rows * n]
        .chunks_exact(features)
        .zip(y[..rows * n].chunks_exact_mut(features))
    {
        for (((o, &v), &m), &var) in yr.iter_mut().zip(xr).zip(mean).zip(variance) {
            *o = (v - m) / divisor(var);
        }
    }
}

/// Backward: `dx = dy / max(sqrt(variance), 1e-7)` (the statistics are constants). Reads
/// `dy`, `variance`; writes `dx`.
pub fn normalization_backward(rows: usize, n: usize, variance: &[f32], dy: &[f32], dx: &mut [f32]) {
    let features = variance.len();
    if features == 0 || n == 0 {
        return;
    }
    for (g, d) in dy[..rows * n]
        .chunks_exact(features)
        .zip(dx[..rows * n].chunks_exact_mut(features))
    {
        for ((o, &gi), &var) in d.iter_mut().zip(g).zip(variance) {
            *o = gi / divisor(var);
        }
    }
}

/// A visitor of every sample: called with a function, it calls that function with each
/// sample's floats (see [`adapt_statistics`]).
pub type ForEachRow<'a> = dyn Fn(&mut dyn FnMut(&[f32])) + 'a;

/// Keras's `adapt` on an array: the population mean and variance (`ddof = 0`) of each
/// feature (`j % features` of each row's element `j`), two passes accumulated in f64 and
/// rounded once to f32. `for_each_row(f)` must call `f` with every sample's floats as the
/// layer sees them (it is called twice). Writes `mean` and `variance` (`features` each);
/// with no rows, mean 0 and variance 1 (Keras's initial values).
pub fn adapt_statistics(for_each_row: &ForEachRow<'_>, mean: &mut [f32], variance: &mut [f32]) {
    let features = mean.len().max(1);
    let mut sum = vec![0.0f64; features];
    let mut count = 0u64;
    for_each_row(&mut |row: &[f32]| {
        for chunk in row.chunks_exact(features) {
            for (s, &v) in sum.iter_mut().zip(chunk) {
                *s += f64::from(v);
            }
            count += 1;
        }
    });
    if count == 0 {
        mean.fill(0.0);
        variance.fill(1.0);
        return;
    }
    let means: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
    let mut squares = vec![0.0f64; features];
    for_each_row(&mut |row: &[f32]| {
        for chunk in row.chunks_exact(features) {
            for ((q, &v), &m) in squares.iter_mut().zip(chunk).zip(&means) {
                let d = f64::from(v) - m;
                *q += d * d;
            }
        }
    });
    for (((m, v), &mu), &q) in mean
        .iter_mut()
        .zip(variance.iter_mut())
        .zip(&means)
        .zip(&squares)
    {
        *m = mu as f32;
        *v = (q / count as f64) as f32;
    }
}
