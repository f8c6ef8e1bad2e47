//! A model written by hand with plain `ndarray` (whose `dot` multiplies through
//! `matrixmultiply`): the "written by hand" row of the performance issue, reimplemented so
//! that its ratio to the generated model and to `Network` is measured in the same run
//! (`mlp bench` and the workspace's `benches/models.rs` both use this one copy).
//!
//! It covers the models a user would write such a loop for: a stack of `Dense` layers
//! (`Flatten` layers are no-ops on the row-major batch) with `ReLU` on every hidden layer
//! and softmax on the last, trained with Adam on a (sparse) categorical cross-entropy,
//! without weight penalties. [`HandWritten::new`] refuses anything else with the reason.
//!
//! It is deliberately what a competent user writes without this crate: `dot` for every
//! product (allocating its result), `Zip`/`mapv` for the element-wise parts, Keras's Adam
//! update in f32. Every kernel is Glorot-uniform from a small LCG and every bias starts at
//! zero, whatever the spec's initialisers say: the numbers are not meant to match the
//! generated model bit for bit, only to do the same work per step.

use mlp_runtime::data::Dataset;
use mlp_runtime::ir::{Activation, LayerKind, LearningRate, Loss, Model as IrModel, OptimizerKind};
use mlp_runtime::rng;
use ndarray::{Array, Array1, Array2, ArrayView2, Axis, Dimension, Ix1, Ix2, Zip};

/// Why a model is outside what the hand-written baseline covers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the hand-written ndarray baseline covers only Dense stacks (ReLU hidden, softmax last, \
     Adam, categorical cross-entropy, no penalties): {0}"
)]
pub struct Unsupported(pub String);

/// Adam's hyper-parameters, as the spec gives them.
#[derive(Debug, Clone, Copy)]
struct AdamConfig {
    lr: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
}

/// One parameter tensor with its Adam moments.
#[derive(Debug)]
struct Param<D: Dimension> {
    w: Array<f32, D>,
    m: Array<f32, D>,
    v: Array<f32, D>,
}

impl<D: Dimension> Param<D> {
    fn new(w: Array<f32, D>) -> Self {
        let m = Array::zeros(w.raw_dim());
        let v = Array::zeros(w.raw_dim());
        Param { w, m, v }
    }

    /// Keras 3 Adam: `m += (g - m)(1-β1)`, `v += (g² - v)(1-β2)`, `w -= α m / (√v + ε)`.
    fn adam(&mut self, g: &Array<f32, D>, alpha: f32, c: AdamConfig) {
        Zip::from(&mut self.w)
            .and(&mut self.m)
            .and(&mut self.v)
            .and(g)
            .for_each(|w, m, v, &g| {
                *m += (g - *m) * (1.0 - c.beta1);
                *v += (g * g - *v) * (1.0 - c.beta2);
                *w -= (*m * alpha) / (v.sqrt() + c.epsilon);
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

/// One `Dense` layer: kernel `[in, units]`, optional bias, `ReLU` or not (the last layer's
/// softmax is applied by the loss or by [`HandWritten::predict`]).
#[derive(Debug)]
struct DenseLayer {
    kernel: Param<Ix2>,
    bias: Option<Param<Ix1>>,
    relu: bool,
}

/// The hand-written model.
#[derive(Debug)]
pub struct HandWritten {
    layers: Vec<DenseLayer>,
    adam: AdamConfig,
    /// Optimiser steps taken.
    t: i32,
    /// Input features of one sample.
    features: usize,
}

impl HandWritten {
    /// A fresh model with the shapes and optimiser of `model`, kernels drawn from `seed`.
    ///
    /// # Errors
    ///
    /// [`Unsupported`] (with the reason) unless `model` is a stack of `Dense` layers (and
    /// `Flatten`s) with `ReLU` hidden activations and a softmax output, without weight
    /// penalties, trained with Adam on a sparse or one-hot categorical cross-entropy.
    pub fn new(model: &IrModel, seed: u64) -> Result<Self, Unsupported> {
        let unsupported = |why: &str| Err(Unsupported(why.to_owned()));
        let opt = &model.train.optimizer;
        let adam = match (opt.kind, &opt.learning_rate, opt.weight_decay, opt.clip) {
            (
                OptimizerKind::Adam {
                    beta1,
                    beta2,
                    epsilon,
                    amsgrad: false,
                },
                LearningRate::Constant(lr),
                None,
                None,
            ) => AdamConfig {
                lr: *lr as f32,
                beta1: beta1 as f32,
                beta2: beta2 as f32,
                epsilon: epsilon as f32,
            },
            _ => return unsupported("the optimiser is not plain Adam at a constant rate"),
        };
        if !matches!(
            model.train.loss,
            Loss::SparseCategoricalCrossentropy { from_logits: false }
                | Loss::CategoricalCrossentropy { from_logits: false }
        ) {
            return unsupported("the loss is not a categorical cross-entropy");
        }
        let dense: Vec<_> = model
            .layers
            .iter()
            .filter(|l| !matches!(l.kind, LayerKind::Flatten))
            .collect();
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        let mut layers = Vec::with_capacity(dense.len());
        for (i, layer) in dense.iter().enumerate() {
            let LayerKind::Dense(d) = &layer.kind else {
                return Err(Unsupported(format!(
                    "layer `{}` is a {}",
                    layer.name,
                    layer.keras_class()
                )));
            };
            let last = i + 1 == dense.len();
            let wanted = if last {
                Activation::Softmax
            } else {
                Activation::Relu
            };
            if d.activation != wanted {
                let role = if last { "last" } else { "hidden" };
                return Err(Unsupported(format!(
                    "the {role} layer `{}` does not use {wanted:?}",
                    layer.name
                )));
            }
            if d.kernel_reg.is_some() || d.bias_reg.is_some() {
                return Err(Unsupported(format!(
                    "layer `{}` has a weight penalty",
                    layer.name
                )));
            }
            let [inputs] = layer.input_shape[..] else {
                return Err(Unsupported(format!(
                    "layer `{}` takes a multi-dimensional input",
                    layer.name
                )));
            };
            layers.push(DenseLayer {
                kernel: Param::new(glorot(inputs, d.units, &mut state)),
                bias: d.use_bias.then(|| Param::new(Array1::zeros(d.units))),
                relu: !last,
            });
        }
        if layers.is_empty() {
            return unsupported("the model has no Dense layer");
        }
        Ok(HandWritten {
            layers,
            adam,
            t: 0,
            features: model.input_size(),
        })
    }

    /// Every layer's output for `x` `[batch, features]`: hidden activations after `ReLU`,
    /// and last the logits.
    fn forward(&self, x: ArrayView2<f32>) -> Vec<Array2<f32>> {
        let mut outputs: Vec<Array2<f32>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let mut z = match outputs.last() {
                Some(previous) => previous.dot(&layer.kernel.w),
                None => x.dot(&layer.kernel.w),
            };
            if let Some(bias) = &layer.bias {
                z += &bias.w;
            }
            if layer.relu {
                z.mapv_inplace(|v| v.max(0.0));
            }
            outputs.push(z);
        }
        outputs
    }

    /// Softmax probabilities of `x` `[batch, features]` (inference).
    #[must_use]
    pub fn predict(&self, x: ArrayView2<f32>) -> Array2<f32> {
        let mut z = self.forward(x).pop().unwrap_or_default();
        for mut row in z.rows_mut() {
            let max = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            row.mapv_inplace(|v| v / sum);
        }
        z
    }

    /// One Adam step on the batch `x` `[batch, features]` with integer `labels`; returns
    /// the mean cross-entropy.
    pub fn train_step(&mut self, x: ArrayView2<f32>, labels: &[u32]) -> f32 {
        let batch = x.nrows() as f32;
        let mut outputs = self.forward(x);
        // Softmax cross-entropy from the logits; dz = (p - onehot) / batch.
        let mut delta = outputs.pop().unwrap_or_default();
        let mut loss = 0.0;
        for (mut row, &y) in delta.rows_mut().into_iter().zip(labels) {
            let max = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let zy = row[y as usize];
            row.mapv_inplace(|v| (v - max).exp());
            let sum = row.sum();
            loss += sum.ln() + max - zy;
            row.mapv_inplace(|v| v / sum / batch);
            row[y as usize] -= 1.0 / batch;
        }
        // Backward, last layer first: weight and bias gradients, then the input gradient
        // through the previous layer's ReLU (none for the first layer).
        let mut grads = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let g_kernel = match i.checked_sub(1) {
                Some(previous) => outputs[previous].t().dot(&delta),
                None => x.t().dot(&delta),
            };
            let g_bias = layer.bias.as_ref().map(|_| delta.sum_axis(Axis(0)));
            if i > 0 {
                let mut d_input = delta.dot(&layer.kernel.w.t());
                Zip::from(&mut d_input)
                    .and(&outputs[i - 1])
                    .for_each(|d, &h| {
                        if h <= 0.0 {
                            *d = 0.0;
                        }
                    });
                delta = d_input;
            }
            grads.push((g_kernel, g_bias));
        }
        self.t = self.t.saturating_add(1);
        let c = self.adam;
        let alpha = c.lr * (1.0 - c.beta2.powi(self.t)).sqrt() / (1.0 - c.beta1.powi(self.t));
        for (layer, (g_kernel, g_bias)) in self.layers.iter_mut().zip(grads.iter().rev()) {
            layer.kernel.adam(g_kernel, alpha, c);
            if let (Some(bias), Some(g)) = (&mut layer.bias, g_bias) {
                bias.adam(g, alpha, c);
            }
        }
        loss / batch
    }

    /// One epoch over `data` in shuffled batches of `batch` (as `fit` does: reshuffle,
    /// gather the u8 pixels into f32, train, last partial batch included); returns the
    /// mean loss. `epoch` keys the shuffle.
    pub fn epoch(&mut self, data: &Dataset, batch: usize, epoch: u64) -> f32 {
        let batch = batch.max(1);
        let mut order: Vec<usize> = (0..data.len()).collect();
        rng::shuffle(
            &mut order,
            &mut rng::stream_rng(0, rng::STREAM_SHUFFLE, epoch),
        );
        let mut x = Array2::<f32>::zeros((batch, self.features));
        let mut labels = vec![0u32; batch];
        // The loop trains classifiers only (`new` refuses other losses).
        let Some(all_labels) = data.labels() else {
            return f32::NAN;
        };
        let mut total = 0.0f64;
        for idx in order.chunks(batch) {
            if let Some(rows) = x.as_slice_mut() {
                data.gather_batch(idx, rows);
            }
            for (r, &i) in idx.iter().enumerate() {
                labels[r] = all_labels[i];
            }
            let rows = x.slice_axis(Axis(0), ndarray::Slice::from(..idx.len()));
            let loss = self.train_step(rows, &labels[..idx.len()]);
            total += f64::from(loss) * idx.len() as f64;
        }
        (total / data.len().max(1) as f64) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::HandWritten;
    use ndarray::Array2;

    fn model(source: &str) -> mlp_runtime::ir::Model {
        let spec = mlp_spec::compile(source).unwrap_or_else(|e| panic!("{e:?}"));
        spec.models[0].clone()
    }

    #[test]
    fn covers_dense_relu_softmax_stacks_with_adam() {
        let ir = model(
            "model M { input [2, 3] Flatten Dense(5, activation = relu) \
             Dense(4, activation = relu, use_bias = false) Dense(3, activation = softmax) }",
        );
        let mut net = HandWritten::new(&ir, 1).unwrap_or_else(|e| panic!("{e}"));
        let x = Array2::from_shape_fn((4, 6), |(r, c)| ((r * 6 + c) % 7) as f32 * 0.3);
        let labels = [0u32, 1, 2, 1];
        let first = net.train_step(x.view(), &labels);
        let mut last = first;
        for _ in 0..200 {
            last = net.train_step(x.view(), &labels);
        }
        // Trained on one batch, the loss falls; the probabilities are a distribution.
        assert!(last < first, "loss {first} -> {last}");
        let p = net.predict(x.view());
        assert_eq!(p.dim(), (4, 3));
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-5, "{row}");
        }
    }

    #[test]
    fn refuses_what_it_does_not_implement() {
        for (source, reason) in [
            (
                "model M { input [4] Dense(3, activation = relu) Dropout(0.5) \
                 Dense(2, activation = softmax) }",
                "`dropout` is a Dropout",
            ),
            (
                "model M { input [4] Dense(3, activation = tanh) Dense(2, activation = softmax) }",
                "does not use Relu",
            ),
            (
                "model M { input [4] Dense(2, activation = softmax) train { optimizer = sgd() } }",
                "is not plain Adam",
            ),
            (
                "model M { input [4] Dense(3, activation = relu, reg = l2(0.01)) \
                 Dense(2, activation = softmax) }",
                "has a weight penalty",
            ),
            (
                "model M { input [4] Dense(2, activation = softmax) train { loss = mse } }",
                "loss is not",
            ),
        ] {
            match HandWritten::new(&model(source), 0) {
                Ok(_) => panic!("accepted {source}"),
                Err(e) => assert!(e.to_string().contains(reason), "{source}: {e}"),
            }
        }
    }
}
