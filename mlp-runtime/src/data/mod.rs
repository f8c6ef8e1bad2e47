//! Datasets: MNIST-shaped image/label sets read from IDX files (plain or gzipped) or Keras's
//! `mnist.npz`, found through `--data`, `$MLP_DATA/mnist`, the user cache, or a verified
//! download.
//!
//! Invariants of every [`Dataset`] built here: `images` has one row per label and
//! `product(sample_shape)` columns, and every label is `< classes`. Readers never allocate
//! from an unchecked header: each claimed size is checked against [`Limits`] and, for plain
//! files, against the file's length before the data is allocated; compressed streams are
//! read only up to the claim (see `input.rs`).
//!
//! Module map: `idx` and `npz` read the two formats, `input` is their shared bounded
//! reader, `lookup` finds a dataset on disk, `download` fetches one into the cache.

mod csv;
mod download;
mod error;
mod idx;
mod input;
mod lookup;
mod npy;
mod npz;

use std::ops::Range;
use std::path::Path;

use ndarray::{s, Array1, Array2, Array3};

pub use self::csv::{
    read_csv, read_csv_from, ColumnRef, CsvOptions, CsvTable, CsvTargets, MAX_LABELS,
};
pub use download::{download, Remote, RemoteFile, MNIST_FILES, MNIST_MIRRORS};
pub use error::DataError;
pub use idx::{read_idx, read_idx_from};
pub use idx::{
    read_idx_images, read_idx_images_from, read_idx_images_with, read_idx_labels,
    read_idx_labels_from, read_idx_labels_with, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC,
};
pub use lookup::{load_idx_dir, load_idx_dir_with, load_mnist, load_mnist_with, LoadOptions};
pub use npy::{read_npy, read_npy_from, NpyArray, NpyData};
pub use npz::{
    read_mnist_npz, read_mnist_npz_from, read_mnist_npz_with, MAX_NPY_HEADER, MNIST_NPZ_MEMBERS,
};
pub use npz::{read_npz_arrays, read_npz_arrays_from};

/// Number of classes of MNIST and Fashion-MNIST.
pub const MNIST_CLASSES: usize = 10;

/// Bounds on what a reader accepts, checked before allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest data section of one file, in bytes (after decompression; headers are not
    /// counted). A header that claims more is refused before anything is allocated, and a
    /// compressed stream is never decompressed past it. Default: 1 GiB (MNIST's largest
    /// file holds 47 040 000 bytes).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 1 << 30 }
    }
}

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
    /// Builds a dataset from parts, checking the invariants: one image row per label,
    /// `product(sample_shape)` columns, every label `< classes`, `classes` in 1..=256.
    ///
    /// # Errors
    /// [`DataError::InvalidDataset`] naming the first broken invariant.
    pub fn new(
        images: Array2<u8>,
        sample_shape: Vec<usize>,
        labels: Array1<u8>,
        classes: usize,
    ) -> Result<Self, DataError> {
        let invalid = |reason: String| Err(DataError::InvalidDataset { reason });
        if !(1..=256).contains(&classes) {
            return invalid(format!(
                "{classes} classes; u8 labels allow 1 to 256 classes"
            ));
        }
        let features = sample_shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if features != Some(images.ncols()) {
            return invalid(format!(
                "images have {} features per sample but the sample shape {sample_shape:?} holds {}",
                images.ncols(),
                features.map_or_else(|| "too many".to_owned(), |f| f.to_string())
            ));
        }
        if images.nrows() != labels.len() {
            return invalid(format!(
                "{} images but {} labels",
                images.nrows(),
                labels.len()
            ));
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= classes)
        {
            return invalid(format!(
                "label {label} of sample {index} is not a class (expected 0..={})",
                classes - 1
            ));
        }
        Ok(Self {
            images,
            sample_shape,
            labels,
            classes,
        })
    }

    /// Builds a dataset from `(count, rows, columns)` images and their labels, as read from
    /// the two named files; errors name those files.
    ///
    /// # Errors
    /// [`DataError::CountMismatch`] if the counts differ, [`DataError::LabelOutOfRange`]
    /// for the first label `>= classes`, [`DataError::InvalidDataset`] if `classes` is not
    /// in 1..=256.
    pub fn from_arrays(
        images: Array3<u8>,
        labels: Array1<u8>,
        classes: usize,
        images_path: &Path,
        labels_path: &Path,
    ) -> Result<Self, DataError> {
        let (count, rows, cols) = images.dim();
        if count != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: images_path.to_owned(),
                labels_path: labels_path.to_owned(),
                images: count,
                labels: labels.len(),
            });
        }
        if let Some((index, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| usize::from(l) >= classes)
        {
            return Err(DataError::LabelOutOfRange {
                path: labels_path.to_owned(),
                index,
                label,
                classes,
            });
        }
        let images = images
            .into_shape_with_order((count, rows * cols))
            .map_err(|e| DataError::InvalidDataset {
                reason: format!("{}: {e}", images_path.display()),
            })?;
        Self::new(images, vec![rows, cols], labels, classes)
    }

    /// Reads an IDX image file and an IDX label file (each plain or gzipped) into a
    /// dataset of `classes` classes.
    ///
    /// # Errors
    /// Any error of [`read_idx_images_with`] and [`read_idx_labels_with`], then those of
    /// [`Dataset::from_arrays`].
    pub fn from_idx(
        images_path: &Path,
        labels_path: &Path,
        classes: usize,
        limits: Limits,
    ) -> Result<Self, DataError> {
        let labels = read_idx_labels_with(labels_path, limits)?;
        let images = read_idx_images_with(images_path, limits)?;
        Self::from_arrays(images, labels, classes, images_path, labels_path)
    }

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

    /// How many samples of each class there are; `classes` entries.
    #[must_use]
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &label in &self.labels {
            if let Some(count) = counts.get_mut(usize::from(label)) {
                *count += 1;
            }
        }
        counts
    }

    /// Copies the images of the samples `indices` into `out` as f32, row after row: raw
    /// 0..255 values, `indices.len() * features()` floats, the rest of `out` untouched.
    /// Allocates nothing.
    ///
    /// Panics if `out` is shorter than `indices.len() * features()` or an index is
    /// `>= len()`: both are bugs of the caller, which sizes `out` for its largest batch and
    /// draws indices from `0..len()`.
    pub fn gather_batch(&self, indices: &[usize], out: &mut [f32]) {
        let features = self.features();
        // Rows are independent: with kernel threads on, each gathers a block of them.
        crate::kernels::parallel::for_row_blocks(out, indices.len(), features, &|first, block| {
            let rows = block.len() / features.max(1);
            self.gather_rows(&indices[first..first + rows], block);
        });
    }

    /// Asks the CPU to start loading the images of the samples `indices` into its caches,
    /// so that a later [`Dataset::gather_batch`] of them does not wait for memory. `fit`
    /// calls it for the next batch before each training step: a shuffled batch reads rows
    /// scattered over the whole dataset, which does not fit the last-level cache. No effect
    /// on any result; a no-op off `x86_64`. Out-of-range indices are skipped.
    pub fn prefetch_batch(&self, indices: &[usize]) {
        for &index in indices {
            if index < self.len() {
                if let Some(src) = self.images.row(index).to_slice() {
                    crate::kernels::convert::prefetch(src);
                }
            }
        }
    }

    /// [`Dataset::gather_batch`] on the calling thread.
    fn gather_rows(&self, indices: &[usize], out: &mut [f32]) {
        // How many samples ahead to prefetch: enough to cover DRAM latency, few enough to
        // stay in L1 (a few 784-byte MNIST rows).
        const AHEAD: usize = 4;
        let features = self.features();
        let out = &mut out[..indices.len() * features];
        if features == 0 {
            return;
        }
        for (r, (&index, dst)) in indices
            .iter()
            .zip(out.chunks_exact_mut(features))
            .enumerate()
        {
            if let Some(next) = indices
                .get(r + AHEAD)
                .and_then(|&i| self.images.row(i).to_slice())
            {
                crate::kernels::convert::prefetch(next);
            }
            let row = self.images.row(index);
            if let Some(src) = row.to_slice() {
                crate::kernels::convert::u8_to_f32(src, dst);
            } else {
                for (d, &s) in dst.iter_mut().zip(row.iter()) {
                    *d = f32::from(s);
                }
            }
        }
    }

    /// Copies the labels of the samples `indices` into the first `indices.len()` entries of
    /// `out`. Allocates nothing.
    ///
    /// Panics if `out` is shorter than `indices` or an index is `>= len()` (caller bugs, as
    /// for [`Dataset::gather_batch`]).
    pub fn gather_labels(&self, indices: &[usize], out: &mut [u8]) {
        for (&index, dst) in indices.iter().zip(&mut out[..indices.len()]) {
            *dst = self.labels[index];
        }
    }

    /// A copy of the samples in `range`, clipped to `0..len()`.
    #[must_use]
    pub fn slice(&self, range: Range<usize>) -> Dataset {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        Dataset {
            images: self.images.slice(s![start..end, ..]).to_owned(),
            sample_shape: self.sample_shape.clone(),
            labels: self.labels.slice(s![start..end]).to_owned(),
            classes: self.classes,
        }
    }

    /// Splits off the last `fraction` of the samples, as Keras's `validation_split` does
    /// (before any shuffling): the first `floor(len * (1 - fraction))` samples train, the
    /// rest validate. Returns `(training, validation)`.
    ///
    /// # Errors
    /// [`DataError::BadSplit`] if `fraction` is not in (0, 1) or either side would be
    /// empty (Keras refuses the same cases).
    pub fn split_last(&self, fraction: f64) -> Result<(Dataset, Dataset), DataError> {
        let samples = self.len();
        // Keras: split_at = int(math.floor(batch_dim * (1.0 - validation_split))).
        let split_at = (samples as f64 * (1.0 - fraction)).floor();
        let valid =
            fraction > 0.0 && fraction < 1.0 && split_at >= 1.0 && split_at < samples as f64;
        if !valid {
            return Err(DataError::BadSplit { fraction, samples });
        }
        let split_at = split_at as usize;
        Ok((self.slice(0..split_at), self.slice(split_at..samples)))
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
