//! Checkpoints: a model's whole training state in one [safetensors] file, written
//! atomically, read back only after every byte of it has been validated.
//!
//! # Format (version [`FORMAT_VERSION`])
//! A standard safetensors file (readable by any safetensors library; the same state always
//! gives the same bytes) holding, in this order, all little-endian `F32` unless said
//! otherwise:
//! - every tensor of the model's [`ParamLayout`](crate::layout::ParamLayout) under its Keras name and shape:
//!   `dense.kernel [784, 64]`, `dense.bias [64]`, `batch_normalization.gamma`,
//!   `batch_normalization.moving_mean`, … (the names `model.summary()` shows);
//! - the optimiser's state per tensor, `optimizer.<slot>.<tensor>`, with Keras's slot names:
//!   Adam `momentum` (m) and `velocity` (v); SGD with momentum `momentum`; `RMSprop`
//!   `velocity` (mean square) and, with momentum, `momentum`;
//! - when written by `fit` (a [`TrainingState`]), the History so far: `history.loss`,
//!   `history.val_loss`, and `history.<metric>`, `history.val_<metric>` for every metric
//!   of the `train` block under its Keras name (`history.accuracy`) (`[epochs]`, or `[0]`
//!   without validation) and `history.epoch_seconds` (`F64`, first in the file to keep it
//!   8-byte aligned);
//! - string metadata (`__metadata__`): `format` = [`FORMAT`], `format_version`, `model`
//!   (its name), `spec` (the model's IR as JSON: layers, shapes, defaults, training
//!   configuration), `seed`, `iterations`, and with a training state `epoch` (epochs
//!   completed) and `shuffle_seed`.
//!
//! The RNG state is `seed` plus `iterations` plus `shuffle_seed` and `epoch`: every random
//! draw after initialisation is counter-based (dropout masks keyed by `(seed, layer,
//! iterations)`, each epoch's shuffle by `(shuffle_seed, epoch)`, see [`crate::rng`] and
//! [`crate::train`]), so no generator state needs storing and a resumed run is
//! bit-identical to an uninterrupted one.
//!
//! # Invariants
//! - Writes are atomic ([`crate::fs`]): a temporary file in the target's folder, `fsync`,
//!   rename over the target, `fsync` of the folder. A crash at any moment leaves either the old file or the
//!   new one, never a torn one; [`CheckpointDir`] writes the new epoch before deleting old
//!   ones, so a checkpoint folder always holds a loadable checkpoint once one was written.
//! - Nothing non-finite is written ([`save`] refuses) and nothing is changed by [`load`]
//!   until the whole file is validated: size under [`Limits::max_bytes`] before reading,
//!   header length and tensor offsets against the file (the safetensors parser), format
//!   and version, then every expected tensor in layout order (present, dtype, shape, all
//!   finite), then no unexpected tensor. The first problem is reported with the file's
//!   path and, for a tensor problem, the tensor's name.
//! - One run writes a checkpoint folder at a time: [`CheckpointDir`] holds an advisory
//!   `flock` on [`LOCK_FILE`] in it for its lifetime, released by the kernel when the
//!   process ends however it ends, so a crash never leaves the folder locked.
//!
//! # Modules
//! `state` (what a checkpoint holds, and the plan of its tensors), `save` (encoding and
//! writing), `load` (reading within [`Limits`], then copying into the model), `decode`
//! (validating bytes against the model's IR), `dir` ([`CheckpointDir`]: one file per epoch,
//! the last `keep` kept), `lock` ([`DirLock`]: one run per folder), `compare` (the
//! checkpoint's model against the current one, before resuming), `error`. Everything public is re-exported here.
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

mod compare;
mod decode;
mod dir;
mod error;
mod load;
mod lock;
mod save;
mod state;

pub use crate::fs::write_atomic;
pub use compare::{compare_spec, SpecChange, SpecChanges};
pub use dir::CheckpointDir;
pub use error::{CheckpointError, CheckpointErrorKind};
pub use load::{load, load_bytes, load_weights, load_with, read, read_header, Limits};
pub use lock::{DirLock, LOCK_FILE};
pub use save::{save, to_bytes, write};
pub use state::{slot_names, CheckpointHeader, CheckpointInfo, Snapshot, TrainingState};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "mlp-checkpoint";
/// The version written; [`load`] reads this version only and names a newer one.
pub const FORMAT_VERSION: u32 = 1;
/// File name extension of checkpoints.
pub const EXTENSION: &str = "safetensors";

/// Metadata keys.
mod key {
    pub const FORMAT: &str = "format";
    pub const VERSION: &str = "format_version";
    pub const MODEL: &str = "model";
    pub const SPEC: &str = "spec";
    pub const SEED: &str = "seed";
    pub const ITERATIONS: &str = "iterations";
    pub const EPOCH: &str = "epoch";
    pub const SHUFFLE_SEED: &str = "shuffle_seed";
    pub const LABELS: &str = "labels";
    pub const LEARNING_RATE: &str = "learning_rate";
}

/// History tensor names.
mod history_key {
    pub const PREFIX: &str = "history.";
    pub const LOSS: &str = "history.loss";
    pub const VAL_LOSS: &str = "history.val_loss";
    pub const EPOCH_SECONDS: &str = "history.epoch_seconds";
}
