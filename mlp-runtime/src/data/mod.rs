//! Datasets ([`Dataset`]: u8 or f32 features of any sample shape, class or value targets)
//! and their readers: MNIST from IDX files (plain or gzipped) or Keras's `mnist.npz`, found
//! through `--data`, `$MLP_DATA/mnist`, the user cache, or a verified download.
//!
//! Invariants of every [`Dataset`]: see `dataset.rs`. Readers never allocate
//! from an unchecked header: each claimed size is checked against [`Limits`] and, for plain
//! files, against the file's length before the data is allocated; compressed streams are
//! read only up to the claim (see `input.rs`).
//!
//! Module map: `dataset` is the in-memory set and its batch gathers; `csv`, `npy`, `npz`
//! and `idx` read the formats, `input` is their shared bounded reader, `lookup` finds a dataset on disk, `download` fetches one into the cache.

mod csv;
mod dataset;
mod download;
mod error;
mod idx;
mod input;
mod lookup;
mod npy;
mod npz;

pub use self::csv::{
    read_csv, read_csv_from, ColumnRef, CsvOptions, CsvTable, CsvTargets, MAX_LABELS,
};
pub use dataset::{Dataset, Features, TargetBuffer, TargetSet};
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

/// MNIST's two halves.
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// The 60 000 training images.
    pub train: Dataset,
    /// The 10 000 test images (the notebook validates on these).
    pub test: Dataset,
}
