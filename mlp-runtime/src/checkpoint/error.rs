//! The checkpoint error: which file, and what is wrong with it.

use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// A checkpoint problem, with the file it concerns.
#[derive(Debug, Error)]
#[error("{}: {kind}", path.display())]
pub struct CheckpointError {
    /// The checkpoint file (or folder, for [`CheckpointDir`](super::CheckpointDir) problems).
    pub path: PathBuf,
    /// What went wrong.
    pub kind: CheckpointErrorKind,
}

/// What went wrong with a checkpoint.
#[derive(Debug, Error)]
pub enum CheckpointErrorKind {
    /// Reading, writing or renaming failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file is larger than [`Limits::max_bytes`](super::Limits::max_bytes).
    #[error("the file has {size} bytes, more than the limit of {limit} bytes for a checkpoint")]
    TooLarge {
        /// Size of the file in bytes.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a readable safetensors file (truncated, a header that lies about its length or
    /// its tensors' offsets, invalid JSON, …).
    #[error("not a valid safetensors file: {0}")]
    Format(String),
    /// The file is a safetensors file but not an mlp checkpoint of a version we read, or a
    /// metadata value is missing or malformed.
    #[error("{0}")]
    Metadata(String),
    /// A tensor the model needs is absent.
    #[error(
        "tensor `{tensor}` is missing (is this a checkpoint of another model than `{model}`?)"
    )]
    Missing {
        /// The tensor's name.
        tensor: String,
        /// The model being loaded into.
        model: String,
    },
    /// The file holds a tensor the model does not have.
    #[error("unexpected tensor `{tensor}`: model `{model}` has no tensor of that name")]
    Unexpected {
        /// The tensor's name.
        tensor: String,
        /// The model being loaded into.
        model: String,
    },
    /// A tensor's shape differs from the model's.
    #[error("tensor `{tensor}` has shape {found:?} but model `{model}` needs {expected:?}")]
    Shape {
        /// The tensor's name.
        tensor: String,
        /// The model being loaded into.
        model: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// A tensor has another element type than the format's.
    #[error("tensor `{tensor}` has dtype {found} but checkpoints store {expected}")]
    Dtype {
        /// The tensor's name.
        tensor: String,
        /// The format's dtype.
        expected: String,
        /// The file's dtype.
        found: String,
    },
    /// A tensor holds a NaN or an infinity.
    #[error("tensor `{tensor}` holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The tensor's name.
        tensor: String,
        /// Flat index of the first non-finite element.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Another run holds the checkpoint folder ([`DirLock`](super::DirLock)).
    #[error(
        "the folder is in use by another run{}; wait for it to end or choose another folder",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Locked {
        /// The process id the holder recorded, if it could.
        pid: Option<u32>,
    },
    /// The model does not expose what a checkpoint must hold (see [`Model::rng_seed`](crate::Model::rng_seed),
    /// [`Model::optimizer_slots`](crate::Model::optimizer_slots), [`Model::set_iterations`](crate::Model::set_iterations)).
    #[error("model `{model}` does not expose its {what}, which a checkpoint must hold")]
    Unsupported {
        /// The model.
        model: String,
        /// What is missing.
        what: &'static str,
    },
}

impl CheckpointError {
    /// An error about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: impl Into<CheckpointErrorKind>) -> Self {
        CheckpointError {
            path: path.into(),
            kind: kind.into(),
        }
    }
}
