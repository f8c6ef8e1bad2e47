//! Reading checkpoints: the file read within [`Limits`], validated whole by `decode`,
//! and only then copied into the model.

use super::decode::{decode, decode_weights, header};
use super::{CheckpointError, CheckpointErrorKind, CheckpointHeader, CheckpointInfo};
use crate::model::Model;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

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
    let bytes = read(path, limits)?;
    load_bytes(model, &bytes).map_err(|k| CheckpointError::new(path, k))
}

/// Reads the metadata of the checkpoint at `path` (within the default [`Limits`]) without
/// loading it into a model: which model it was written for, its IR, its step count and
/// epoch. Only the header is validated; [`load`] validates the rest.
///
/// # Errors
/// [`CheckpointError`] naming `path`: I/O, a file over the limit, not safetensors, not an
/// mlp checkpoint of this version, missing or malformed metadata.
pub fn read_header(path: &Path) -> Result<CheckpointHeader, CheckpointError> {
    let bytes = read_bounded(path, Limits::default().max_bytes)
        .map_err(|k| CheckpointError::new(path, k))?;
    header(&bytes).map_err(|k| CheckpointError::new(path, k))
}

/// Reads a file of at most `max_bytes` bytes, refusing a larger one before reading.
/// The bytes of the checkpoint file at `path`, refused before anything is read when it
/// is not a file or is larger than `limits.max_bytes` (what [`load_with`] reads; for a
/// caller that also needs the bytes themselves, e.g. to hash them, before [`load_bytes`]).
///
/// # Errors
/// [`CheckpointError`] naming `path`: I/O, not a file, too large.
pub fn read(path: &Path, limits: Limits) -> Result<Vec<u8>, CheckpointError> {
    read_bounded(path, limits.max_bytes).map_err(|k| CheckpointError::new(path, k))
}

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
    // A rate a callback lowered resumes lowered, unless the spec's rate itself changed
    // since (then the spec's new rate is what the user asked for).
    if let Some(lr) = decoded.info.learning_rate {
        let stored = serde_json::from_str::<mlp_spec::ir::Model>(&decoded.info.spec)
            .map(|m| m.train.optimizer.initial_learning_rate());
        let current = model.ir().train.optimizer.initial_learning_rate();
        if stored.is_ok_and(|s| s.to_bits() == current.to_bits()) {
            model.set_learning_rate(lr);
        }
    }
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

/// Loads only the trained values of the checkpoint at `path` (within the default
/// [`Limits`]) into `model`: its parameters and non-trainable state (moving statistics,
/// `Normalization` statistics). The optimiser state, step count and seed stay as they
/// are, so training from here starts a fresh optimiser on trained weights (fine-tuning;
/// `mlp train --weights`). The file's optimiser state and History, if any, are not read,
/// so it may come from a run with another optimiser. On error the model is unchanged.
///
/// # Errors
/// [`CheckpointError`] naming `path` and the first problem: I/O, a file over the limit,
/// not an mlp checkpoint of this version, the first model tensor (in layout order)
/// missing or of another dtype or shape, a non-finite value, a tensor that is neither
/// the model's nor optimiser state nor History.
pub fn load_weights<M: Model + ?Sized>(model: &mut M, path: &Path) -> Result<(), CheckpointError> {
    let bytes = read(path, Limits::default())?;
    let (params, state) =
        decode_weights(model.ir(), &bytes).map_err(|k| CheckpointError::new(path, k))?;
    model.params_mut().copy_from_slice(&params);
    model.state_mut().copy_from_slice(&state);
    Ok(())
}
