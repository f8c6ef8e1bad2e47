//! Validating checkpoint bytes against a model's IR: the safetensors header, the metadata,
//! then every expected tensor in layout order, then no unexpected one (module docs of
//! [`super`]). Nothing here touches a model.

use super::state::{Dest, Plan};
use super::{
    history_key, key, CheckpointErrorKind, CheckpointHeader, CheckpointInfo, TrainingState,
};
use super::{FORMAT, FORMAT_VERSION};
use crate::metrics::metric_name;
use crate::train::History;
use mlp_spec::ir;
use safetensors::tensor::{Dtype, Metadata, SafeTensors};
use std::collections::{BTreeMap, HashMap};

/// A fully validated checkpoint, owned.
pub(super) struct Decoded {
    pub(super) info: CheckpointInfo,
    pub(super) params: Vec<f32>,
    pub(super) state: Vec<f32>,
    pub(super) optimizer: Vec<f32>,
}

/// Parses and validates `bytes` as a checkpoint for a model of IR `ir`.
pub(super) fn decode(ir: &ir::Model, bytes: &[u8]) -> Result<Decoded, CheckpointErrorKind> {
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
    check_format(&meta)?;
    let seed: u64 = meta.parse(key::SEED)?;
    let iterations: u64 = meta.parse(key::ITERATIONS)?;
    let epoch: Option<usize> = meta.parse_opt(key::EPOCH)?;
    let shuffle_seed: Option<u64> = meta.parse_opt(key::SHUFFLE_SEED)?;
    let learning_rate: Option<f32> = meta.parse_opt(key::LEARNING_RATE)?;
    if learning_rate.is_some_and(|lr| !(lr.is_finite() && lr >= 0.0)) {
        return Err(CheckpointErrorKind::Metadata(
            "`learning_rate` is not a learning rate (a finite number ≥ 0)".to_owned(),
        ));
    }
    let model_name = meta.get(key::MODEL)?.to_owned();
    let spec = meta.get(key::SPEC)?.to_owned();

    let plan = Plan::new(ir);
    let mut decoded = Decoded {
        info: CheckpointInfo {
            model: model_name,
            spec,
            seed,
            iterations,
            learning_rate,
            training: None,
        },
        params: vec![0.0; plan.trainable_len],
        state: vec![0.0; plan.state_len],
        optimizer: vec![0.0; plan.optimizer_len],
    };
    let history_names = history_names(ir);
    let mut expected: Vec<&str> = Vec::with_capacity(plan.tensors.len() + history_names.len());
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
            let history = decode_history(&file, epoch, ir)?;
            expected.extend(history_names.iter().map(String::as_str));
            let labels = match meta.0.get(key::LABELS) {
                None => None,
                Some(text) => match serde_json::from_str::<Vec<String>>(text) {
                    Ok(names) if !names.is_empty() => Some(names),
                    _ => {
                        return Err(CheckpointErrorKind::Metadata(format!(
                            "metadata `{}` must be a non-empty JSON array of class names",
                            key::LABELS
                        )))
                    }
                },
            };
            decoded.info.training = Some(TrainingState {
                epoch,
                shuffle_seed,
                history,
                labels,
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

/// Parses and validates only the model's own tensors (parameters and state, in layout
/// order) of checkpoint `bytes` for a model of IR `ir`: optimiser state and History, when
/// the file holds them, are neither needed nor read, so a checkpoint written with another
/// optimiser or metrics still gives its weights. Any other tensor is refused.
pub(super) fn decode_weights(
    ir: &ir::Model,
    bytes: &[u8],
) -> Result<(Vec<f32>, Vec<f32>), CheckpointErrorKind> {
    let (n, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| CheckpointErrorKind::Format(e.to_string()))?;
    let file = Parsed {
        header,
        data: bytes.get(8 + n..).unwrap_or(&[]),
    };
    let empty = HashMap::new();
    let meta = Meta(file.header.metadata().as_ref().unwrap_or(&empty));
    check_format(&meta)?;
    let plan = Plan::new(ir);
    let mut params = vec![0.0; plan.trainable_len];
    let mut state = vec![0.0; plan.state_len];
    let mut expected: Vec<&str> = Vec::with_capacity(plan.tensors.len());
    for t in &plan.tensors {
        let dest = match t.dest {
            Dest::Params(ref r) => &mut params[r.clone()],
            Dest::State(ref r) => &mut state[r.clone()],
            Dest::Optimizer(_) => continue,
        };
        expected.push(&t.name);
        let view = tensor(&file, &t.name, &ir.name)?;
        check_view(&view, &t.name, Dtype::F32, &t.shape, &ir.name)?;
        read_f32(view.data, dest);
        if let Some(index) = dest.iter().position(|v| !v.is_finite()) {
            return Err(CheckpointErrorKind::NonFinite {
                tensor: t.name.clone(),
                index,
                value: dest[index],
            });
        }
    }
    if let Some(extra) = file.header.offset_keys().into_iter().find(|name| {
        !expected.contains(&name.as_str())
            && !name.starts_with("optimizer.")
            && !name.starts_with(history_key::PREFIX)
    }) {
        return Err(CheckpointErrorKind::Unexpected {
            tensor: extra,
            model: ir.name.clone(),
        });
    }
    Ok((params, state))
}

/// Checks the `format` and `format_version` metadata.
fn check_format(meta: &Meta<'_>) -> Result<(), CheckpointErrorKind> {
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
    Ok(())
}

/// The metadata of checkpoint `bytes` (validated as far as the header goes), without
/// reading any tensor or needing the model.
pub(super) fn header(bytes: &[u8]) -> Result<CheckpointHeader, CheckpointErrorKind> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| CheckpointErrorKind::Format(e.to_string()))?;
    let empty = HashMap::new();
    let meta = Meta(header.metadata().as_ref().unwrap_or(&empty));
    check_format(&meta)?;
    Ok(CheckpointHeader {
        model: meta.get(key::MODEL)?.to_owned(),
        spec: meta.get(key::SPEC)?.to_owned(),
        iterations: meta.parse(key::ITERATIONS)?,
        epoch: meta.parse_opt(key::EPOCH)?,
    })
}

/// The names of the History tensors of a checkpoint of `ir`: loss, every metric, their
/// validation forms, and the epoch times.
fn history_names(ir: &ir::Model) -> Vec<String> {
    let metrics = ir.train.metrics.iter().map(|&m| metric_name(m));
    let mut names = vec![
        history_key::LOSS.to_owned(),
        history_key::VAL_LOSS.to_owned(),
    ];
    for m in metrics {
        names.push(format!("{}{m}", history_key::PREFIX));
        names.push(format!("{}val_{m}", history_key::PREFIX));
    }
    names.push(history_key::EPOCH_SECONDS.to_owned());
    names
}

/// The History tensors of a checkpoint at `epoch` completed epochs (the last `n ≤ epoch`
/// of them, all of the same length `n`; the validation series may be empty, all
/// together).
fn decode_history(
    file: &Parsed<'_>,
    epoch: usize,
    ir: &ir::Model,
) -> Result<History, CheckpointErrorKind> {
    let model = ir.name.as_str();
    // The History covers the last `n ≤ epoch` epochs: all of them, unless the run was
    // started at `initial_epoch > 0` without the History before it (Keras's `fit`).
    let loss_view = tensor(file, history_key::LOSS, model)?;
    let n = match *loss_view.shape {
        [n] if n <= epoch => n,
        _ => epoch,
    };
    let f32s = |name: &str, len: Option<usize>| -> Result<Vec<f32>, CheckpointErrorKind> {
        let view = tensor(file, name, model)?;
        let found = view.shape.first().copied().unwrap_or(0);
        // A validation series is empty or as long as the others (its length is fixed by
        // the validation loss).
        let len = len.unwrap_or(if found == 0 { 0 } else { n });
        check_view(&view, name, Dtype::F32, &[len], model)?;
        let mut out = vec![0.0f32; len];
        read_f32(view.data, &mut out);
        Ok(out)
    };
    let loss = f32s(history_key::LOSS, Some(n))?;
    let val_loss = f32s(history_key::VAL_LOSS, None)?;
    let mut metrics = BTreeMap::new();
    for &m in &ir.train.metrics {
        let m = metric_name(m);
        let train = f32s(&format!("{}{m}", history_key::PREFIX), Some(n))?;
        let val = f32s(
            &format!("{}val_{m}", history_key::PREFIX),
            Some(val_loss.len()),
        )?;
        metrics.insert(m.to_owned(), train);
        if !val.is_empty() {
            metrics.insert(format!("val_{m}"), val);
        }
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
        val_loss,
        metrics,
        epoch_seconds,
        stopped_epoch: None,
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
