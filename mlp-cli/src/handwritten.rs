//! The notebook baseline (784-64-32-10, `ReLU`, softmax, Adam, batch 32) written by hand
//! with plain `ndarray` (whose `dot` multiplies through `matrixmultiply`): the "written by
//! hand" row of the performance issue, reimplemented so that its ratio to the generated
//! model and to `Network` is measured in the same run.
//!
//! It is deliberately what a competent user would write without this crate: `dot` for
//! every product (allocating its result), `Zip`/`mapv` for the element-wise parts, Keras's
//! Adam update in f32. Initialisation is Glorot-uniform from a small LCG; the numbers are
//! not meant to match the generated model bit for bit, only to do the same work.

use mlp::runtime::data::Dataset;
use mlp::runtime::rng;
use ndarray::{Array1, Array2, ArrayView2, Axis, Zip};

/// One parameter tensor with its Adam moments.
struct Param<D: ndarray::Dimension> {
    w: ndarray::Array<f32, D>,
    m: ndarray::Array<f32, D>,
    v: ndarray::Array<f32, D>,
}

impl<D: ndarray::Dimension> Param<D> {
    fn new(w: ndarray::Array<f32, D>) -> Self {
        let m = ndarray::Array::zeros(w.raw_dim());
        let v = ndarray::Array::zeros(w.raw_dim());
        Param { w, m, v }
    }

    /// Keras 3 Adam: `m += (g - m)(1-β1)`, `v += (g² - v)(1-β2)`, `w -= α m / (√v + ε)`.
    fn adam(&mut self, g: &ndarray::Array<f32, D>, alpha: f32) {
        Zip::from(&mut self.w)
            .and(&mut self.m)
            .and(&mut self.v)
            .and(g)
            .for_each(|w, m, v, &g| {
                *m += (g - *m) * 0.1;
                *v += (g * g - *v) * 0.001;
                *w -= (*m * alpha) / (v.sqrt() + 1e-7);
            });
    }
}

/// A Glorot-uniform `[fan_in, fan_out]` matrix from a deterministic LCG.
fn glorot(fan_in: usize, fan_out: usize, state: &mut u64) -> Array2<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
    Array2::from_shape_fn((fan_in, fan_out), |_| {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = (*state >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * u - 1.0) * limit
    })
}

/// The hand-written baseline model.
pub struct HandWritten {
    w1: Param<ndarray::Ix2>,
    b1: Param<ndarray::Ix1>,
    w2: Param<ndarray::Ix2>,
    b2: Param<ndarray::Ix1>,
    w3: Param<ndarray::Ix2>,
    b3: Param<ndarray::Ix1>,
    t: i32,
}

impl HandWritten {
    /// A fresh model from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        HandWritten {
            w1: Param::new(glorot(784, 64, &mut state)),
            b1: Param::new(Array1::zeros(64)),
            w2: Param::new(glorot(64, 32, &mut state)),
            b2: Param::new(Array1::zeros(32)),
            w3: Param::new(glorot(32, 10, &mut state)),
            b3: Param::new(Array1::zeros(10)),
            t: 0,
        }
    }

    /// Hidden activations and logits of `x`.
    fn forward(&self, x: ArrayView2<f32>) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
        let h1 = (x.dot(&self.w1.w) + &self.b1.w).mapv_into(|v| v.max(0.0));
        let h2 = (h1.dot(&self.w2.w) + &self.b2.w).mapv_into(|v| v.max(0.0));
        let z = h2.dot(&self.w3.w) + &self.b3.w;
        (h1, h2, z)
    }

    /// Softmax probabilities of `x` (inference).
    pub fn predict(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let (_, _, mut z) = self.forward(x);
        for mut row in z.rows_mut() {
            let max = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
        z
    }

    /// One Adam step on a batch; returns the mean cross-entropy.
    pub fn train_step(&mut self, x: ArrayView2<f32>, labels: &[u8]) -> f32 {
        let batch = x.nrows() as f32;
        let (h1, h2, z) = self.forward(x);
        // Softmax cross-entropy from the logits; dz = (p - onehot) / batch.
        let mut dz = z;
        let mut loss = 0.0;
        for (mut row, &y) in dz.rows_mut().into_iter().zip(labels) {
            let max = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let zy = row[usize::from(y)];
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            loss += sum.ln() + max - zy;
            row.mapv_inplace(|v| v / sum / batch);
            row[usize::from(y)] -= 1.0 / batch;
        }
        let gw3 = h2.t().dot(&dz);
        let gb3 = dz.sum_axis(Axis(0));
        let mut dh2 = dz.dot(&self.w3.w.t());
        Zip::from(&mut dh2).and(&h2).for_each(|d, &h| {
            if h <= 0.0 {
                *d = 0.0;
            }
        });
        let gw2 = h1.t().dot(&dh2);
        let gb2 = dh2.sum_axis(Axis(0));
        let mut dh1 = dh2.dot(&self.w2.w.t());
        Zip::from(&mut dh1).and(&h1).for_each(|d, &h| {
            if h <= 0.0 {
                *d = 0.0;
            }
        });
        let gw1 = x.t().dot(&dh1);
        let gb1 = dh1.sum_axis(Axis(0));
        self.t += 1;
        let alpha = 1e-3 * (1.0 - 0.999f32.powi(self.t)).sqrt() / (1.0 - 0.9f32.powi(self.t));
        self.w1.adam(&gw1, alpha);
        self.b1.adam(&gb1, alpha);
        self.w2.adam(&gw2, alpha);
        self.b2.adam(&gb2, alpha);
        self.w3.adam(&gw3, alpha);
        self.b3.adam(&gb3, alpha);
        loss / batch
    }

    /// One epoch over `data` in shuffled batches of `batch` (as `fit` does: reshuffle,
    /// gather the u8 pixels into f32, train, last partial batch included); returns the
    /// mean loss.
    pub fn epoch(&mut self, data: &Dataset, batch: usize, epoch: u64) -> f32 {
        let mut order: Vec<usize> = (0..data.len()).collect();
        rng::shuffle(
            &mut order,
            &mut rng::stream_rng(0, rng::STREAM_SHUFFLE, epoch),
        );
        let features = data.features();
        let mut x = Array2::<f32>::zeros((batch, features));
        let mut labels = vec![0u8; batch];
        let mut total = 0.0f64;
        for idx in order.chunks(batch) {
            for (r, &i) in idx.iter().enumerate() {
                x.row_mut(r)
                    .zip_mut_with(&data.images.row(i), |d, &s| *d = f32::from(s));
                labels[r] = data.labels[i];
            }
            let rows = x.slice_axis(Axis(0), ndarray::Slice::from(..idx.len()));
            let loss = self.train_step(rows, &labels[..idx.len()]);
            total += f64::from(loss) * idx.len() as f64;
        }
        (total / data.len() as f64) as f32
    }
}
