//! Checkpoints: a model's whole training state in one [safetensors] file, written
//! atomically, read back only after every byte of it has been validated.
//!
//! # Format (version [`FORMAT_VERSION`])
//! A standard safetensors file (readable by any safetensors library; the same state always
//! gives the same bytes) holding, in this order, all little-endian `F32` unless said
//! otherwise:
//! - every tensor of the model's [`ParamLayout`] under its Keras name and shape:
//!   `dense.kernel [784, 64]`, `dense.bias [64]`, `batch_normalization.gamma`,
//!   `batch_normalization.moving_mean`, … (the names `model.summary()` shows);
//! - the optimiser's state per tensor, `optimizer.<slot>.<tensor>`, with Keras's slot names:
//!   Adam `momentum` (m) and `velocity` (v); SGD with momentum `momentum`; `RMSprop`
//!   `velocity` (mean square) and, with momentum, `momentum`;
//! - when written by `fit` (a [`TrainingState`]), the History so far: `history.loss`,
//!   `history.accuracy`, `history.val_loss`, `history.val_accuracy` (`[epochs]`, or `[0]`
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
//!
//! [safetensors]: https://huggingface.co/docs/safetensors

use crate::layout::ParamLayout;
use crate::model::Model;
use crate::optim;
use crate::train::{History, Progress};
use mlp_spec::ir::{self, Optimizer};
use safetensors::tensor::{Dtype, Metadata, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

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
}

/// History tensor names.
mod history_key {
    pub const LOSS: &str = "history.loss";
    pub const ACCURACY: &str = "history.accuracy";
    pub const VAL_LOSS: &str = "history.val_loss";
    pub const VAL_ACCURACY: &str = "history.val_accuracy";
    pub const EPOCH_SECONDS: &str = "history.epoch_seconds";
}

/// A checkpoint problem, with the file it concerns.
#[derive(Debug, Error)]
#[error("{}: {kind}", path.display())]
pub struct CheckpointError {
    /// The checkpoint file (or folder, for [`CheckpointDir`] problems).
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
    /// The file is larger than [`Limits::max_bytes`].
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
    /// The model does not expose what a checkpoint must hold (see [`Model::rng_seed`],
    /// [`Model::optimizer_slots`], [`Model::set_iterations`]).
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

/// Bounds on what [`load_with`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 1 GiB: the notebook's models need about
    /// 0.6 MB). Checked before anything is read; the safetensors parser also caps the JSON
    /// header at 100 MB and checks every offset against the file's length.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bytes: 1 << 30 }
    }
}

/// Where `fit` stands: what a checkpoint needs beyond the model to resume exactly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainingState {
    /// Epochs completed; resume with `FitOptions::initial_epoch` set to it.
    pub epoch: usize,
    /// `FitOptions::seed` of the run (keys each epoch's shuffle).
    pub shuffle_seed: u64,
    /// Metrics of the completed epochs.
    pub history: History,
}

impl TrainingState {
    /// `opts` set to continue this run: `initial_epoch = epoch`, `seed = shuffle_seed`.
    #[must_use]
    pub fn resume_options(&self, opts: &crate::FitOptions) -> crate::FitOptions {
        crate::FitOptions {
            initial_epoch: self.epoch,
            seed: self.shuffle_seed,
            ..opts.clone()
        }
    }
}

/// What a checkpoint holds, borrowed from a model (see [`Snapshot::of`]).
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// The model's IR.
    pub ir: &'a ir::Model,
    /// [`Model::rng_seed`].
    pub seed: Option<u64>,
    /// [`Model::iterations`].
    pub iterations: u64,
    /// [`Model::params`].
    pub params: &'a [f32],
    /// [`Model::state`].
    pub state: &'a [f32],
    /// [`Model::optimizer_slots`].
    pub optimizer: Option<&'a [f32]>,
    /// Where `fit` stands, when the snapshot comes from `fit`.
    pub training: Option<&'a TrainingState>,
}

impl<'a> Snapshot<'a> {
    /// The snapshot of `model` (and of `fit`'s `training` state, if any).
    pub fn of<M: Model + ?Sized>(model: &'a M, training: Option<&'a TrainingState>) -> Self {
        Snapshot {
            ir: model.ir(),
            seed: model.rng_seed(),
            iterations: model.iterations(),
            params: model.params(),
            state: model.state(),
            optimizer: model.optimizer_slots(),
            training,
        }
    }

    /// The first tensor (name, flat index, value) of the model holding a NaN or an
    /// infinity, if any.
    #[must_use]
    pub fn first_non_finite(&self) -> Option<(String, usize, f32)> {
        let plan = Plan::new(self.ir);
        plan.tensors.iter().find_map(|t| {
            let data = self.data_of(t)?;
            data.iter()
                .position(|v| !v.is_finite())
                .map(|i| (t.name.clone(), i, data[i]))
        })
    }

    /// The data of a planned model tensor (`None` for history tensors or missing buffers).
    fn data_of(&self, t: &Planned) -> Option<&'a [f32]> {
        match t.dest {
            Dest::Params(ref r) => self.params.get(r.clone()),
            Dest::State(ref r) => self.state.get(r.clone()),
            Dest::Optimizer(ref r) => self.optimizer.and_then(|o| o.get(r.clone())),
        }
    }
}

/// What [`load`] found in a checkpoint besides the tensors it copied into the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointInfo {
    /// Name of the model the checkpoint was written from.
    pub model: String,
    /// The IR of that model, as JSON.
    pub spec: String,
    /// Its seed (now the loaded model's, see [`Model::rng_seed`]).
    pub seed: u64,
    /// Its optimiser step count (now the loaded model's).
    pub iterations: u64,
    /// `fit`'s position, when the checkpoint was written during `fit`.
    pub training: Option<TrainingState>,
}

/// Keras's names of `opt`'s state slots, in slot order (see [`crate::optim`]).
#[must_use]
pub fn slot_names(opt: &Optimizer) -> &'static [&'static str] {
    let names: &'static [&'static str] = match *opt {
        Optimizer::Adam { .. } => &["momentum", "velocity"],
        Optimizer::Sgd { momentum, .. } if momentum != 0.0 => &["momentum"],
        Optimizer::Sgd { .. } => &[],
        Optimizer::RmsProp { momentum, .. } if momentum > 0.0 => &["velocity", "momentum"],
        Optimizer::RmsProp { .. } => &["velocity"],
    };
    debug_assert_eq!(names.len(), optim::slots(opt));
    names
}

/// Where a planned tensor lives in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dest {
    Params(std::ops::Range<usize>),
    State(std::ops::Range<usize>),
    Optimizer(std::ops::Range<usize>),
}

/// One model tensor of a checkpoint.
#[derive(Debug, Clone)]
struct Planned {
    name: String,
    shape: Vec<usize>,
    dest: Dest,
}

/// Every model tensor of a checkpoint of `ir`, in file-independent order: the layout's
/// tensors, then the optimiser's slots tensor by tensor.
struct Plan {
    tensors: Vec<Planned>,
    trainable_len: usize,
    state_len: usize,
    optimizer_len: usize,
}

impl Plan {
    fn new(ir: &ir::Model) -> Plan {
        let layout = ParamLayout::new(ir);
        let mut tensors: Vec<Planned> = layout
            .tensors
            .iter()
            .map(|t| Planned {
                name: t.name.clone(),
                shape: t.shape.clone(),
                dest: if t.trainable {
                    Dest::Params(t.range())
                } else {
                    Dest::State(t.range())
                },
            })
            .collect();
        let slots = slot_names(&ir.train.optimizer);
        for (s, slot) in slots.iter().enumerate() {
            for t in layout.trainable() {
                let base = s * layout.trainable_len;
                tensors.push(Planned {
                    name: format!("optimizer.{slot}.{}", t.name),
                    shape: t.shape.clone(),
                    dest: Dest::Optimizer(base + t.offset..base + t.offset + t.len),
                });
            }
        }
        Plan {
            tensors,
            trainable_len: layout.trainable_len,
            state_len: layout.state_len,
            optimizer_len: slots.len() * layout.trainable_len,
        }
    }
}

/// An owned little-endian tensor for [`encode`].
struct Owned {
    /// The safetensors dtype name (`F32`, `F64`).
    dtype: &'static str,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Owned {
    fn f32(shape: Vec<usize>, data: &[f32]) -> Owned {
        Owned {
            dtype: "F32",
            shape,
            bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn f64(data: &[f64]) -> Owned {
        Owned {
            dtype: "F64",
            shape: vec![data.len()],
            bytes: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// A safetensors file of `tensors`, in the given order, with `meta` as `__metadata__`.
///
/// Written here rather than by `safetensors::serialize` so that the same state always gives
/// the same bytes (its metadata is a `HashMap`, serialised in a random order) and tensors
/// appear in model order. Layout, as the format requires: the header's length (u64 LE),
/// the JSON header padded with spaces to a multiple of 8 bytes, then the tensors' data
/// back to back from offset 0; the caller puts 8-byte dtypes first to keep them aligned.
fn encode(
    meta: &BTreeMap<&str, String>,
    tensors: &[(String, Owned)],
) -> Result<Vec<u8>, serde_json::Error> {
    let mut header = format!("{{\"__metadata__\":{}", serde_json::to_string(meta)?);
    let mut offset = 0usize;
    for (name, t) in tensors {
        let end = offset + t.bytes.len();
        // Writing into a String cannot fail.
        let _ = write!(
            header,
            ",{}:{{\"dtype\":\"{}\",\"shape\":{},\"data_offsets\":[{offset},{end}]}}",
            serde_json::to_string(name)?,
            t.dtype,
            serde_json::to_string(&t.shape)?,
        );
        offset = end;
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, t) in tensors {
        out.extend_from_slice(&t.bytes);
    }
    Ok(out)
}

/// The bytes of a checkpoint of `snapshot`.
///
/// # Errors
/// [`CheckpointErrorKind::Unsupported`] when the snapshot lacks the seed or optimiser
/// state, [`CheckpointErrorKind::NonFinite`] when a model tensor holds a NaN or an
/// infinity, [`CheckpointErrorKind::Metadata`] when a buffer's length disagrees with the
/// model's layout.
pub fn to_bytes(snapshot: &Snapshot<'_>) -> Result<Vec<u8>, CheckpointErrorKind> {
    let ir = snapshot.ir;
    let unsupported = |what| CheckpointErrorKind::Unsupported {
        model: ir.name.clone(),
        what,
    };
    let seed = snapshot.seed.ok_or_else(|| unsupported("seed"))?;
    let optimizer = snapshot
        .optimizer
        .ok_or_else(|| unsupported("optimizer state"))?;
    let plan = Plan::new(ir);
    for (what, len, expected) in [
        ("parameter", snapshot.params.len(), plan.trainable_len),
        ("state", snapshot.state.len(), plan.state_len),
        ("optimizer", optimizer.len(), plan.optimizer_len),
    ] {
        if len != expected {
            return Err(CheckpointErrorKind::Metadata(format!(
                "the model's {what} buffer has {len} values but its layout needs {expected}"
            )));
        }
    }
    if let Some((tensor, index, value)) = snapshot.first_non_finite() {
        return Err(CheckpointErrorKind::NonFinite {
            tensor,
            index,
            value,
        });
    }
    // The only 8-byte dtype goes first, so every tensor stays aligned to its size.
    let mut tensors: Vec<(String, Owned)> = Vec::with_capacity(plan.tensors.len() + 5);
    if let Some(t) = snapshot.training {
        tensors.push((
            history_key::EPOCH_SECONDS.to_owned(),
            Owned::f64(&t.history.epoch_seconds),
        ));
    }
    tensors.extend(plan.tensors.iter().map(|t| {
        let data = snapshot.data_of(t).unwrap_or(&[]);
        (t.name.clone(), Owned::f32(t.shape.clone(), data))
    }));
    let spec = serde_json::to_string(ir)
        .map_err(|e| CheckpointErrorKind::Metadata(format!("cannot encode the spec: {e}")))?;
    let mut meta = BTreeMap::from([
        (key::FORMAT, FORMAT.to_owned()),
        (key::VERSION, FORMAT_VERSION.to_string()),
        (key::MODEL, ir.name.clone()),
        (key::SPEC, spec),
        (key::SEED, seed.to_string()),
        (key::ITERATIONS, snapshot.iterations.to_string()),
    ]);
    if let Some(t) = snapshot.training {
        meta.insert(key::EPOCH, t.epoch.to_string());
        meta.insert(key::SHUFFLE_SEED, t.shuffle_seed.to_string());
        let h = &t.history;
        for (name, data) in [
            (history_key::LOSS, &h.loss),
            (history_key::ACCURACY, &h.accuracy),
            (history_key::VAL_LOSS, &h.val_loss),
            (history_key::VAL_ACCURACY, &h.val_accuracy),
        ] {
            tensors.push((name.to_owned(), Owned::f32(vec![data.len()], data)));
        }
    }
    encode(&meta, &tensors)
        .map_err(|e| CheckpointErrorKind::Metadata(format!("cannot encode the header: {e}")))
}

/// Writes a checkpoint of `model` (and of `fit`'s `training` state, if given) to `path`,
/// atomically (see the module docs).
///
/// # Errors
/// [`CheckpointError`] naming `path`: the model does not expose its seed or optimiser
/// state, a tensor holds a non-finite value (nothing is written), or the file cannot be
/// written (the previous file at `path`, if any, is left as it was).
pub fn save<M: Model + ?Sized>(
    model: &M,
    path: &Path,
    training: Option<&TrainingState>,
) -> Result<(), CheckpointError> {
    write(&Snapshot::of(model, training), path)
}

/// Writes `snapshot` to `path` atomically; see [`save`].
///
/// # Errors
/// As [`save`].
pub fn write(snapshot: &Snapshot<'_>, path: &Path) -> Result<(), CheckpointError> {
    let bytes = to_bytes(snapshot).map_err(|k| CheckpointError::new(path, k))?;
    crate::fs::write_atomic(path, &bytes).map_err(|e| CheckpointError::new(e.path, e.source))
}

pub use crate::fs::write_atomic;

/// Loads the checkpoint at `path` into `model` with the default [`Limits`]; see
/// [`load_with`].
///
/// # Errors
/// As [`load_with`].
pub fn load<M: Model + ?Sized>(
    model: &mut M,
    path: &Path,
) -> Result<CheckpointInfo, CheckpointError> {
    load_with(model, path, Limits::default())
}

/// Loads the checkpoint at `path` into `model`: parameters, state, optimiser state,
/// iterations and seed. The whole file is validated first (module docs); on error the
/// model is unchanged.
///
/// # Errors
/// [`CheckpointError`] naming `path` and the first problem: I/O, a file over
/// `limits.max_bytes`, not safetensors, not an mlp checkpoint or of a newer version, the
/// first tensor (in layout order) that is missing or has another dtype or shape, a
/// non-finite value, an unexpected tensor, or a model that does not expose its optimiser
/// state.
pub fn load_with<M: Model + ?Sized>(
    model: &mut M,
    path: &Path,
    limits: Limits,
) -> Result<CheckpointInfo, CheckpointError> {
    let bytes = read_bounded(path, limits.max_bytes).map_err(|k| CheckpointError::new(path, k))?;
    load_bytes(model, &bytes).map_err(|k| CheckpointError::new(path, k))
}

/// Reads a file of at most `max_bytes` bytes, refusing a larger one before reading.
fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, CheckpointErrorKind> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "is a folder, not a checkpoint file"
        } else {
            // A device or a pipe would be read up to the limit before being refused.
            "is not a regular file"
        };
        return Err(io::Error::new(io::ErrorKind::InvalidInput, what).into());
    }
    if meta.len() > max_bytes {
        return Err(CheckpointErrorKind::TooLarge {
            size: meta.len(),
            limit: max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The file may have grown since `metadata`: never read past the limit.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(CheckpointErrorKind::TooLarge {
            size: bytes.len() as u64,
            limit: max_bytes,
        });
    }
    Ok(bytes)
}

/// [`load_with`] on the bytes of a checkpoint already in memory (errors without a path).
///
/// # Errors
/// As [`load_with`], as a [`CheckpointErrorKind`].
pub fn load_bytes<M: Model + ?Sized>(
    model: &mut M,
    bytes: &[u8],
) -> Result<CheckpointInfo, CheckpointErrorKind> {
    let decoded = decode(model.ir(), bytes)?;
    let model_name = model.ir().name.clone();
    let unsupported = |what| CheckpointErrorKind::Unsupported {
        model: model_name.clone(),
        what,
    };
    // Everything is validated; the cheap, checkable setters go first so that a model that
    // ignores them is reported before its buffers change.
    let (old_seed, old_iterations) = (model.rng_seed(), model.iterations());
    if old_seed.is_none() {
        return Err(unsupported("seed"));
    }
    match model.optimizer_slots_mut() {
        Some(o) if o.len() == decoded.optimizer.len() => {}
        Some(_) => {
            return Err(CheckpointErrorKind::Metadata(format!(
                "model `{model_name}`'s optimizer buffer disagrees with its layout"
            )))
        }
        None => return Err(unsupported("optimizer state")),
    }
    model.set_iterations(decoded.info.iterations);
    model.set_rng_seed(decoded.info.seed);
    if model.iterations() != decoded.info.iterations || model.rng_seed() != Some(decoded.info.seed)
    {
        model.set_iterations(old_iterations);
        if let Some(s) = old_seed {
            model.set_rng_seed(s);
        }
        return Err(unsupported("setters of iterations and seed"));
    }
    model.params_mut().copy_from_slice(&decoded.params);
    model.state_mut().copy_from_slice(&decoded.state);
    if let Some(o) = model.optimizer_slots_mut() {
        o.copy_from_slice(&decoded.optimizer);
    }
    Ok(decoded.info)
}

/// A fully validated checkpoint, owned.
struct Decoded {
    info: CheckpointInfo,
    params: Vec<f32>,
    state: Vec<f32>,
    optimizer: Vec<f32>,
}

/// Parses and validates `bytes` as a checkpoint for a model of IR `ir`.
fn decode(ir: &ir::Model, bytes: &[u8]) -> Result<Decoded, CheckpointErrorKind> {
    // The parser checks the header's length against the file and every tensor's offsets
    // against the data (contiguous, covering it exactly, matching dtype × shape), with
    // overflow-checked arithmetic, before anything is allocated from the header.
    let (n, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| CheckpointErrorKind::Format(e.to_string()))?;
    let file = Parsed {
        header,
        data: bytes.get(8 + n..).unwrap_or(&[]),
    };
    let empty = HashMap::new();
    let meta = Meta(file.header.metadata().as_ref().unwrap_or(&empty));
    match meta.get(key::FORMAT) {
        Ok(FORMAT) => {}
        Ok(other) => {
            return Err(CheckpointErrorKind::Metadata(format!(
                "a safetensors file of format `{other}`, not an mlp checkpoint"
            )))
        }
        Err(_) => {
            return Err(CheckpointErrorKind::Metadata(
                "a safetensors file without the `format` metadata of an mlp checkpoint".into(),
            ))
        }
    }
    let version: u32 = meta.parse(key::VERSION)?;
    if version != FORMAT_VERSION {
        return Err(CheckpointErrorKind::Metadata(format!(
            "checkpoint format version {version}; this build reads version {FORMAT_VERSION}"
        )));
    }
    let seed: u64 = meta.parse(key::SEED)?;
    let iterations: u64 = meta.parse(key::ITERATIONS)?;
    let epoch: Option<usize> = meta.parse_opt(key::EPOCH)?;
    let shuffle_seed: Option<u64> = meta.parse_opt(key::SHUFFLE_SEED)?;
    let model_name = meta.get(key::MODEL)?.to_owned();
    let spec = meta.get(key::SPEC)?.to_owned();

    let plan = Plan::new(ir);
    let mut decoded = Decoded {
        info: CheckpointInfo {
            model: model_name,
            spec,
            seed,
            iterations,
            training: None,
        },
        params: vec![0.0; plan.trainable_len],
        state: vec![0.0; plan.state_len],
        optimizer: vec![0.0; plan.optimizer_len],
    };
    let mut expected: Vec<&str> = Vec::with_capacity(plan.tensors.len() + 5);
    for t in &plan.tensors {
        expected.push(&t.name);
        let view = tensor(&file, &t.name, &ir.name)?;
        check_view(&view, &t.name, Dtype::F32, &t.shape, &ir.name)?;
        let dest = match t.dest {
            Dest::Params(ref r) => &mut decoded.params[r.clone()],
            Dest::State(ref r) => &mut decoded.state[r.clone()],
            Dest::Optimizer(ref r) => &mut decoded.optimizer[r.clone()],
        };
        read_f32(view.data, dest);
        if let Some(index) = dest.iter().position(|v| !v.is_finite()) {
            return Err(CheckpointErrorKind::NonFinite {
                tensor: t.name.clone(),
                index,
                value: dest[index],
            });
        }
    }
    match (epoch, shuffle_seed) {
        (Some(epoch), Some(shuffle_seed)) => {
            let history = decode_history(&file, epoch, &ir.name)?;
            expected.extend([
                history_key::LOSS,
                history_key::ACCURACY,
                history_key::VAL_LOSS,
                history_key::VAL_ACCURACY,
                history_key::EPOCH_SECONDS,
            ]);
            decoded.info.training = Some(TrainingState {
                epoch,
                shuffle_seed,
                history,
            });
        }
        (None, None) => {}
        _ => {
            return Err(CheckpointErrorKind::Metadata(format!(
                "metadata `{}` and `{}` must come together",
                key::EPOCH,
                key::SHUFFLE_SEED
            )))
        }
    }
    // Unexpected tensors, reported in file order (model order for our files; other
    // safetensors writers sort by dtype, then name), so the message is stable.
    if let Some(extra) = file
        .header
        .offset_keys()
        .into_iter()
        .find(|n| !expected.contains(&n.as_str()))
    {
        return Err(CheckpointErrorKind::Unexpected {
            tensor: extra,
            model: ir.name.clone(),
        });
    }
    Ok(decoded)
}

/// The History tensors of a checkpoint at `epoch` completed epochs (the last `n ≤ epoch`
/// of them, all of the same length `n`; validation metrics may be empty).
fn decode_history(
    file: &Parsed<'_>,
    epoch: usize,
    model: &str,
) -> Result<History, CheckpointErrorKind> {
    // The History covers the last `n ≤ epoch` epochs: all of them, unless the run was
    // started at `initial_epoch > 0` without the History before it (Keras's `fit`).
    let loss_view = tensor(file, history_key::LOSS, model)?;
    let n = match *loss_view.shape {
        [n] if n <= epoch => n,
        _ => epoch,
    };
    let f32s = |name: &str, optional: bool| -> Result<Vec<f32>, CheckpointErrorKind> {
        let view = tensor(file, name, model)?;
        let found = view.shape.first().copied().unwrap_or(0);
        let len = if optional && found == 0 { 0 } else { n };
        check_view(&view, name, Dtype::F32, &[len], model)?;
        let mut out = vec![0.0f32; len];
        read_f32(view.data, &mut out);
        Ok(out)
    };
    let loss = f32s(history_key::LOSS, false)?;
    let accuracy = f32s(history_key::ACCURACY, false)?;
    let val_loss = f32s(history_key::VAL_LOSS, true)?;
    let val_accuracy = f32s(history_key::VAL_ACCURACY, true)?;
    if val_loss.len() != val_accuracy.len() {
        return Err(CheckpointErrorKind::Shape {
            tensor: history_key::VAL_ACCURACY.to_owned(),
            model: model.to_owned(),
            expected: vec![val_loss.len()],
            found: vec![val_accuracy.len()],
        });
    }
    let name = history_key::EPOCH_SECONDS;
    let view = tensor(file, name, model)?;
    check_view(&view, name, Dtype::F64, &[n], model)?;
    let epoch_seconds = view
        .data
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b)
        })
        .collect();
    Ok(History {
        loss,
        accuracy,
        val_loss,
        val_accuracy,
        epoch_seconds,
    })
}

/// A parsed, validated safetensors header and the data it describes.
struct Parsed<'d> {
    header: Metadata,
    data: &'d [u8],
}

/// One tensor of a [`Parsed`] file.
struct View<'a> {
    dtype: Dtype,
    shape: &'a [usize],
    data: &'a [u8],
}

/// The tensor `name`, or [`CheckpointErrorKind::Missing`].
fn tensor<'a>(
    file: &'a Parsed<'_>,
    name: &str,
    model: &str,
) -> Result<View<'a>, CheckpointErrorKind> {
    let missing = || CheckpointErrorKind::Missing {
        tensor: name.to_owned(),
        model: model.to_owned(),
    };
    let info = file.header.info(name).ok_or_else(missing)?;
    let (start, end) = info.data_offsets;
    let data = file.data.get(start..end).ok_or_else(|| {
        CheckpointErrorKind::Format(format!("tensor `{name}` lies outside the file"))
    })?;
    Ok(View {
        dtype: info.dtype,
        shape: &info.shape,
        data,
    })
}

/// Checks a tensor's dtype, then its shape, then its byte length.
fn check_view(
    view: &View<'_>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
    model: &str,
) -> Result<(), CheckpointErrorKind> {
    if view.dtype != dtype {
        return Err(CheckpointErrorKind::Dtype {
            tensor: name.to_owned(),
            expected: dtype.to_string(),
            found: view.dtype.to_string(),
        });
    }
    if view.shape != shape {
        return Err(CheckpointErrorKind::Shape {
            tensor: name.to_owned(),
            model: model.to_owned(),
            expected: shape.to_vec(),
            found: view.shape.to_vec(),
        });
    }
    // The parser already matched offsets to dtype × shape; re-checked because the decoders
    // below index by it.
    let elements: usize = shape.iter().product();
    if view.data.len() != elements * (dtype.bitsize() / 8) {
        return Err(CheckpointErrorKind::Format(format!(
            "tensor `{name}` has {} bytes for {elements} elements",
            view.data.len()
        )));
    }
    Ok(())
}

/// Decodes little-endian f32s into `out` (the caller checked `bytes.len() = 4·out.len()`).
fn read_f32(bytes: &[u8], out: &mut [f32]) {
    debug_assert_eq!(bytes.len(), 4 * out.len());
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

/// The `__metadata__` map with typed lookups.
struct Meta<'a>(&'a HashMap<String, String>);

impl Meta<'_> {
    fn get(&self, k: &str) -> Result<&str, CheckpointErrorKind> {
        self.0.get(k).map(String::as_str).ok_or_else(|| {
            CheckpointErrorKind::Metadata(format!("the metadata has no `{k}` entry"))
        })
    }

    fn parse<T: std::str::FromStr>(&self, k: &str) -> Result<T, CheckpointErrorKind> {
        let v = self.get(k)?;
        v.parse().map_err(|_| {
            CheckpointErrorKind::Metadata(format!("metadata `{k}` = {v:?} is not a valid number"))
        })
    }

    fn parse_opt<T: std::str::FromStr>(&self, k: &str) -> Result<Option<T>, CheckpointErrorKind> {
        if self.0.contains_key(k) {
            self.parse(k).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// A folder of per-epoch checkpoints, `epoch-0001.safetensors`, … (Keras's
/// `ModelCheckpoint` + `BackupAndRestore`): as a [`Progress`] hook it writes one after every
/// epoch and keeps the last `keep`; [`CheckpointDir::latest`] finds the one to resume from.
///
/// With `OnNan::Continue`, an epoch whose model holds a NaN or an infinity is not written,
/// so the newest checkpoint stays the last good one.
#[derive(Debug)]
pub struct CheckpointDir {
    dir: PathBuf,
    keep: usize,
    skipped: usize,
}

impl CheckpointDir {
    /// A checkpoint folder at `dir` (created if missing) keeping the last `keep` (at least
    /// 1) checkpoints. Temporary files left by an interrupted write are removed.
    ///
    /// # Errors
    /// [`CheckpointError`] naming `dir` when it cannot be created or listed, or is a file.
    pub fn new(dir: impl Into<PathBuf>, keep: usize) -> Result<CheckpointDir, CheckpointError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| CheckpointError::new(&dir, e))?;
        let entries = fs::read_dir(&dir).map_err(|e| CheckpointError::new(&dir, e))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".epoch-") && name.ends_with(".tmp") {
                // Best effort: a leftover temporary file is harmless, only untidy.
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(CheckpointDir {
            dir,
            keep: keep.max(1),
            skipped: 0,
        })
    }

    /// The folder.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of the checkpoint after `epoch` completed epochs.
    #[must_use]
    pub fn path_for(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("epoch-{epoch:04}.{EXTENSION}"))
    }

    /// Epochs not written because the model held non-finite values.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The checkpoints in `dir` as `(completed epochs, path)`, oldest first.
    ///
    /// # Errors
    /// [`CheckpointError`] naming `dir` when it cannot be listed.
    pub fn list(dir: &Path) -> Result<Vec<(usize, PathBuf)>, CheckpointError> {
        let entries = fs::read_dir(dir).map_err(|e| CheckpointError::new(dir, e))?;
        let mut found: Vec<(usize, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let epoch = name
                    .to_str()?
                    .strip_prefix("epoch-")?
                    .strip_suffix(&format!(".{EXTENSION}"))?
                    .parse()
                    .ok()?;
                Some((epoch, entry.path()))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// The newest checkpoint in `dir`, if any.
    ///
    /// # Errors
    /// As [`CheckpointDir::list`].
    pub fn latest(dir: &Path) -> Result<Option<PathBuf>, CheckpointError> {
        Ok(Self::list(dir)?.pop().map(|(_, p)| p))
    }

    /// Loads the newest checkpoint of `dir` into `model`; `Ok(None)` when there is none
    /// (start from scratch).
    ///
    /// # Errors
    /// As [`CheckpointDir::list`] and [`load`].
    pub fn resume<M: Model + ?Sized>(
        dir: &Path,
        model: &mut M,
    ) -> Result<Option<CheckpointInfo>, CheckpointError> {
        match Self::latest(dir)? {
            Some(path) => load(model, &path).map(Some),
            None => Ok(None),
        }
    }

    /// Writes `snapshot` as the checkpoint of its epoch, then deletes all but the newest
    /// `keep` checkpoints.
    fn write(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        if snapshot.first_non_finite().is_some() {
            self.skipped += 1;
            return Ok(());
        }
        let epoch = snapshot.training.map_or(0, |t| t.epoch);
        write(snapshot, &self.path_for(epoch))?;
        let all = Self::list(&self.dir)?;
        let excess = all.len().saturating_sub(self.keep);
        for (_, old) in all.into_iter().take(excess) {
            fs::remove_file(&old).map_err(|e| CheckpointError::new(&old, e))?;
        }
        Ok(())
    }
}

impl Progress for CheckpointDir {
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        self.write(snapshot)
    }
}
