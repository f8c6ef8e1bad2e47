//! Writing checkpoints: a [`Snapshot`] encoded as safetensors bytes, in a fixed order so the
//! same state always gives the same bytes, then written atomically by [`crate::fs`].

use super::state::{Plan, Snapshot, TrainingState};
use super::{history_key, key, CheckpointError, CheckpointErrorKind, FORMAT, FORMAT_VERSION};
use crate::model::Model;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

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
    if matches!(
        ir.train.optimizer.learning_rate,
        mlp_spec::ir::LearningRate::Constant(_)
    ) {
        // `{:?}` round-trips the f32 exactly.
        meta.insert(key::LEARNING_RATE, format!("{:?}", snapshot.learning_rate));
    }
    if let Some(t) = snapshot.training {
        meta.insert(key::EPOCH, t.epoch.to_string());
        meta.insert(key::SHUFFLE_SEED, t.shuffle_seed.to_string());
        if let Some(labels) = &t.labels {
            let json = serde_json::to_string(labels).map_err(|e| {
                CheckpointErrorKind::Metadata(format!("cannot encode the class names: {e}"))
            })?;
            meta.insert(key::LABELS, json);
        }
        let h = &t.history;
        for (name, data) in [
            (history_key::LOSS, &h.loss),
            (history_key::VAL_LOSS, &h.val_loss),
        ] {
            tensors.push((name.to_owned(), Owned::f32(vec![data.len()], data)));
        }
        // Every metric of the model, training and validation (an empty validation series
        // without validation data), whether or not the History holds it.
        let empty = Vec::new();
        for &m in &ir.train.metrics {
            let m = crate::metrics::metric_name(m);
            for key in [m.to_owned(), format!("val_{m}")] {
                let data = h.metrics.get(&key).unwrap_or(&empty);
                tensors.push((
                    format!("{}{key}", history_key::PREFIX),
                    Owned::f32(vec![data.len()], data),
                ));
            }
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
