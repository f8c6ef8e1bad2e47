//! Datasets: MNIST-shaped image/label sets read from IDX files (plain or gzipped) or Keras's
//! `mnist.npz`, found through `--data`, `$MLP_DATA/mnist`, the user cache, or a verified
//! download.

use ndarray::{Array1, Array2};

/// A labelled image set held as u8, exactly as stored on disk (no f32 copy).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One row per sample, `features = product(sample_shape)` columns, raw 0..255 pixels.
    pub images: Array2<u8>,
    /// Shape of one sample (`[28, 28]` for MNIST).
    pub sample_shape: Vec<usize>,
    /// One class index per sample, each `< classes`.
    pub labels: Array1<u8>,
    /// Number of classes (10 for MNIST).
    pub classes: usize,
}

impl Dataset {
    /// Number of samples.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features of one sample.
    #[must_use]
    pub fn features(&self) -> usize {
        self.images.ncols()
    }
}

/// MNIST's two halves.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// The 60 000 training images.
    pub train: Dataset,
    /// The 10 000 test images (the notebook validates on these).
    pub test: Dataset,
}
