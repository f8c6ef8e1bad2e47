//! Keras 3's own `.keras` files for mlp models: [`export`] writes one that
//! `keras.saving.load_model` opens (Keras 3.15: the same architecture, weights, compile
//! configuration and, when saved, optimiser state, so `model.fit` continues where mlp
//! stopped); [`import`] reads a Keras `Sequential` model back as a readable `.mlp` spec
//! and its weights.
//!
//! # The file
//! A zip archive (members stored, as Keras writes them) of:
//! - `config.json`: the serialised `Sequential` — an `InputLayer` with the spec's input
//!   shape, then each layer under its Keras class and name with the config Keras 3.15
//!   writes for it (the table in `config.rs`'s docs), and the `compile_config`
//!   (optimiser with its hyper-parameters, loss, metrics);
//! - `model.weights.h5`: HDF5 (written and read by the pure-Rust `hdf5-pure`) with each
//!   layer's variables at `layers/<path>/vars/<i>` (`<path>` the snake-case class,
//!   numbered per class: `dense`, `dense_1`, as Keras names them) in Keras's order (a `Dense`'s kernel
//!   `[in, units]` and bias; a `BatchNormalization`'s gamma, beta, moving mean and
//!   variance; a `Normalization`'s mean, variance and int64 count), float32, contiguous;
//!   and `optimizer/vars`: the step count (int64), the learning rate, then the slots in
//!   Keras's order (Adam's `m`, `v` tensor by tensor; `RMSprop`'s velocities, then its
//!   momentums; SGD's momentums);
//! - `metadata.json`: the Keras version the file is written for and an `mlp` entry Keras
//!   ignores: the model's name and doc comment, the `train` settings Keras's config has no
//!   place for (batch, epochs, seed, validation split, shuffle) and the dropout seed, so
//!   that mlp → `.keras` → mlp gives back the same model, bit for bit.
//!
//! # Invariants
//! - Export writes only what Keras reads back as the same model: an activation argument
//!   Keras's serialised activations cannot carry (`elu(alpha = 0.5)` in a `Dense`) is
//!   refused naming the layer, never approximated. The same snapshot gives the same bytes.
//! - Import refuses, naming the layer and the setting, anything mlp would compute
//!   differently: an unknown layer class, a functional model with branches, a frozen
//!   layer, a constraint, a non-float32 dtype policy, an unsupported initialiser, loss,
//!   metric or optimiser setting. Numbers are kept as the `f32` Keras computes with.
//! - Reading is bounded and checked before it allocates: the file and each member within
//!   [`Limits`] (a member's claimed size checked first, what is read capped whatever it
//!   claims); every weight's dtype and shape compared with what the configuration says
//!   before its data is read, so a huge claimed dataset is refused, not allocated.
//!   Errors name the file, the member and the place (layer, weight path) of the first
//!   problem; nothing panics on any input.
//!
//! # Modules
//! `archive` (the zip), `json` (an ordered JSON writer; typed reads naming the place),
//! `config` (layers both ways), `compile` (optimiser, loss, metrics, mlp's `train`
//! extras), `optimizer` (the one reader of the IR's optimiser), `h5` (the weights file),
//! `spec` (spec text), `export`, `import`, `error`.

#![forbid(unsafe_code)]
// Every float comparison here is exact on purpose: a value against a Keras default, or
// a value against the same value read back.
#![allow(clippy::float_cmp)]

mod archive;
mod compile;
mod config;
mod error;
mod export;
mod h5;
mod import;
mod json;
mod optimizer;
mod spec;

pub use error::{ExportError, KerasError, KerasErrorKind};
pub use export::{config_text, export};
pub use import::{import, import_bytes, ImportOptions, Imported};

/// The Keras version whose file layout and layer configs [`export`] writes
/// (`metadata.json`'s `keras_version`).
pub const KERAS_VERSION: &str = "3.15.1";

/// Bounds on what [`import`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `.keras` file, and largest `model.weights.h5` in it, in bytes (default
    /// 1 GiB, as for checkpoints).
    pub max_bytes: u64,
    /// Largest `config.json` or `metadata.json`, in bytes (default 16 MiB; a Sequential's
    /// config takes a few KB per layer).
    pub max_json_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 1 << 30,
            max_json_bytes: 16 << 20,
        }
    }
}
