//! An mlp model (a checkpoint's [`Snapshot`]) as a `.keras` file.

use mlp_runtime::checkpoint::{slot_names, Snapshot};
use mlp_runtime::layout::{ParamLayout, Role, TensorInfo};
use mlp_spec::ir;

use crate::compile::{self, Extras};
use crate::h5::{self, Group, Var};
use crate::json::J;
use crate::optimizer::{self, var_index};
use crate::{archive, config, ExportError, KERAS_VERSION};

/// The bytes of a `.keras` file holding `snapshot`'s model (see the crate docs): its
/// architecture and compile configuration in `config.json`, its weights and, when the
/// snapshot has them, its optimiser's step count and slots in `model.weights.h5`, and
/// mlp's own settings (`train` settings Keras has no place for, doc comment, seed) in
/// `metadata.json`. The same snapshot always gives the same bytes.
///
/// # Errors
/// [`ExportError::Layer`] for a layer Keras cannot express, [`ExportError::Weights`] when
/// the snapshot's buffers do not fit its model, [`ExportError::Encode`] if a writer fails.
pub fn export(snapshot: &Snapshot<'_>) -> Result<Vec<u8>, ExportError> {
    let model = snapshot.ir;
    let config = config_text(model)?;
    let layout = ParamLayout::new(model);
    let weights_error = |message: String| ExportError::Weights {
        model: model.name.clone(),
        message,
    };
    for (what, len, expected) in [
        ("parameter", snapshot.params.len(), layout.trainable_len),
        ("state", snapshot.state.len(), layout.state_len),
    ] {
        if len != expected {
            return Err(weights_error(format!(
                "the {what} buffer has {len} values but the layout needs {expected}"
            )));
        }
    }
    if let Some((tensor, index, value)) = snapshot.first_non_finite() {
        return Err(weights_error(format!(
            "tensor `{tensor}` holds a non-finite value ({value}) at index {index}"
        )));
    }
    let data = |t: &TensorInfo| -> &[f32] {
        let buffer = if t.trainable {
            snapshot.params
        } else {
            snapshot.state
        };
        &buffer[t.range()]
    };
    let paths = h5::layer_paths(model.layers.iter().map(ir::Layer::keras_class));
    let mut layers = Vec::with_capacity(model.layers.len());
    for ((li, layer), path) in model.layers.iter().enumerate().zip(paths) {
        let mut vars = Vec::new();
        for t in layout.tensors.iter().filter(|t| t.layer == li) {
            vars.push(match t.role {
                Role::Count => Var::I64Scalar(count(data(t), &t.name).map_err(weights_error)?),
                Role::Kernel
                | Role::Bias
                | Role::Gamma
                | Role::Beta
                | Role::MovingMean
                | Role::MovingVariance
                | Role::Mean
                | Role::Variance => Var::F32(t.shape.clone(), data(t)),
            });
        }
        layers.push(Group {
            path,
            name: layer.name.clone(),
            vars,
        });
    }
    let optimizer = match snapshot.optimizer {
        Some(slots) => Some(optimizer_group(model, &layout, slots, snapshot.iterations)?),
        None => None,
    };
    let weights = h5::write(&model.name, &layers, optimizer.as_ref())?;
    let metadata = metadata(model, snapshot).to_text();
    archive::write(&[
        (archive::METADATA, metadata.as_bytes()),
        (archive::CONFIG, config.as_bytes()),
        (archive::WEIGHTS, &weights),
    ])
}

/// The text of `config.json` for `model` (architecture and compile configuration).
///
/// # Errors
/// [`ExportError::Layer`] for a layer Keras cannot express.
pub fn config_text(model: &ir::Model) -> Result<String, ExportError> {
    if let Some(message) = crate::optimizer::unsupported(&model.train.optimizer) {
        return Err(ExportError::Weights {
            model: model.name.clone(),
            message,
        });
    }
    let compile = compile::compile_config(&model.train);
    Ok(config::sequential(model, compile)?.to_text())
}

/// A `Normalization` count as Keras's int64.
fn count(data: &[f32], name: &str) -> Result<i64, String> {
    match data {
        [c] if c.fract() == 0.0 && *c >= 0.0 => Ok(*c as i64),
        [c] => Err(format!(
            "tensor `{name}` = {c} is not a count (Keras stores it as a whole number)"
        )),
        _ => Err(format!("tensor `{name}` has {} values, not 1", data.len())),
    }
}

/// The `optimizer/vars` group: the step count, the learning rate, then the slots in
/// Keras's order.
fn optimizer_group<'a>(
    model: &ir::Model,
    layout: &ParamLayout,
    slots: &'a [f32],
    iterations: u64,
) -> Result<Group<'a>, ExportError> {
    let weights_error = |message: String| ExportError::Weights {
        model: model.name.clone(),
        message,
    };
    let hyper = optimizer::from_ir(&model.train.optimizer);
    let n_slots = slot_names(&model.train.optimizer).len();
    if slots.len() != n_slots * layout.trainable_len {
        return Err(weights_error(format!(
            "the optimizer buffer has {} values but {n_slots} slots of the layout need {}",
            slots.len(),
            n_slots * layout.trainable_len
        )));
    }
    if let Some(i) = slots.iter().position(|v| !v.is_finite()) {
        return Err(weights_error(format!(
            "the optimizer state holds a non-finite value ({}) at index {i}",
            slots[i]
        )));
    }
    let steps = i64::try_from(iterations)
        .map_err(|_| weights_error(format!("{iterations} steps do not fit Keras's int64")))?;
    let trainable: Vec<&TensorInfo> = layout.trainable().collect();
    let mut order = vec![(0, 0); n_slots * trainable.len()];
    for s in 0..n_slots {
        for t in 0..trainable.len() {
            order[var_index(hyper.kind, s, t, n_slots, trainable.len()) - 2] = (s, t);
        }
    }
    let mut vars = vec![
        Var::I64Scalar(steps),
        Var::F32Scalar(hyper.learning_rate as f32),
    ];
    for (s, t) in order {
        let tensor = trainable[t];
        let base = s * layout.trainable_len + tensor.offset;
        vars.push(Var::F32(
            tensor.shape.clone(),
            &slots[base..base + tensor.len],
        ));
    }
    Ok(Group {
        path: "optimizer".to_owned(),
        name: hyper.kind.name().to_owned(),
        vars,
    })
}

/// `metadata.json`: the Keras version the file is written for, and mlp's own entry.
fn metadata(model: &ir::Model, snapshot: &Snapshot<'_>) -> J {
    let mut mlp = J::obj([
        ("version", J::str(env!("CARGO_PKG_VERSION"))),
        ("model", J::str(model.name.clone())),
        (
            "doc",
            J::Arr(model.doc.iter().map(|l| J::str(l.clone())).collect()),
        ),
        ("train", Extras::of(&model.train).to_json()),
    ]);
    if let Some(seed) = snapshot.seed {
        mlp.push("seed", J::int(seed));
    }
    J::obj([("keras_version", J::str(KERAS_VERSION)), ("mlp", mlp)])
}
