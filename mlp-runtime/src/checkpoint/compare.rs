//! Comparing the model a checkpoint was written for (its `spec` metadata, the IR as JSON)
//! with the model it is about to be loaded into, so that resuming a run under another spec
//! is refused with the first difference named instead of loading weights into a model they
//! were not trained for.
//!
//! The comparison walks the two IRs as JSON values, so it needs no change when the IR
//! grows a field or a layer kind: a new field is compared like every other. What is
//! compared:
//! - the architecture: the input shape and every layer (kind and arguments, shapes, names,
//!   parameter counts); any top-level field not named below counts as architecture too;
//! - the training configuration (`train`): optimiser and its hyper-parameters, loss,
//!   metrics, batch size, validation split, shuffling, but not `epochs` (resuming to train
//!   longer is the point) nor `seed` (a resumed run keeps the checkpoint's seeds);
//! - never: the model's name, doc comment and source lines, which change nothing trained.

use serde_json::Value;
use std::fmt;

use mlp_spec::ir;

use super::CheckpointErrorKind;

/// Top-level IR fields that do not affect training or the weights.
const COSMETIC: [&str; 3] = ["name", "doc", "line"];
/// Layer fields that do not affect training or the weights.
const LAYER_COSMETIC: [&str; 1] = ["line"];
/// The IR field holding the training configuration.
const TRAIN: &str = "train";
/// Training-configuration fields a resumed run may change freely.
const TRAIN_FREE: [&str; 2] = ["epochs", "seed"];

/// One difference between the checkpoint's model and the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecChange {
    /// Where: ``layer 2 `dense_1`: units``, `optimizer.learning_rate`, `batch`, ….
    pub what: String,
    /// The value in the checkpoint, as text (`absent` when it has none).
    pub checkpoint: String,
    /// The value in the current model, as text.
    pub current: String,
}

impl fmt::Display for SpecChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} in the checkpoint, {} in the spec",
            self.what, self.checkpoint, self.current
        )
    }
}

/// How the model a checkpoint was written for differs from the current one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpecChanges {
    /// The first architecture difference, if any: the weights do not belong to this model.
    pub architecture: Option<SpecChange>,
    /// Every training-configuration difference (see the module docs for what counts).
    pub training: Vec<SpecChange>,
}

impl SpecChanges {
    /// Whether the two models agree in everything compared.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.architecture.is_none() && self.training.is_empty()
    }
}

/// Compares `stored`, the `spec` metadata of a checkpoint (see
/// [`CheckpointInfo::spec`](super::CheckpointInfo::spec)), with `current`.
///
/// # Errors
/// [`CheckpointErrorKind::Metadata`] when `stored` is not JSON.
pub fn compare_spec(stored: &str, current: &ir::Model) -> Result<SpecChanges, CheckpointErrorKind> {
    let stored: Value = serde_json::from_str(stored).map_err(|e| {
        CheckpointErrorKind::Metadata(format!("the `spec` metadata is not valid JSON: {e}"))
    })?;
    // Through text, as the checkpoint's was written: an f32 becomes its shortest decimal
    // (`0.003921569`) there, but its exact f64 value (`0.003921568859368563`) in a `Value`.
    let current = serde_json::to_string(current)
        .and_then(|text| serde_json::from_str::<Value>(&text))
        .map_err(|e| {
            CheckpointErrorKind::Metadata(format!("cannot describe the current model: {e}"))
        })?;
    Ok(compare_values(&stored, &current))
}

/// [`compare_spec`] on two IRs as JSON values.
fn compare_values(stored: &Value, current: &Value) -> SpecChanges {
    let mut changes = SpecChanges::default();
    let empty = serde_json::Map::new();
    let (a, b) = (
        stored.as_object().unwrap_or(&empty),
        current.as_object().unwrap_or(&empty),
    );
    // The input and the layers first (in that order), so the first difference reported is
    // the one a reader looks for; then any other field.
    let mut keys: Vec<&str> = vec!["input", "layers"];
    for k in a.keys().chain(b.keys()) {
        if !keys.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    for key in keys {
        if COSMETIC.contains(&key) || key == TRAIN {
            continue;
        }
        if changes.architecture.is_some() {
            break;
        }
        let (x, y) = (a.get(key), b.get(key));
        changes.architecture = if key == "layers" {
            first_layer_change(x, y)
        } else {
            let mut found = Vec::new();
            diff(&label(key), x, y, &mut found);
            found.into_iter().next()
        };
    }
    let (x, y) = (
        a.get(TRAIN).and_then(Value::as_object).unwrap_or(&empty),
        b.get(TRAIN).and_then(Value::as_object).unwrap_or(&empty),
    );
    for key in union(x, y) {
        if !TRAIN_FREE.contains(&key) {
            diff(key, x.get(key), y.get(key), &mut changes.training);
        }
    }
    changes
}

/// The path label of a top-level field.
fn label(key: &str) -> String {
    match key {
        "input" => "input shape".to_owned(),
        other => other.to_owned(),
    }
}

/// The first difference between two layer lists, labelled by the layer's index and name.
fn first_layer_change(stored: Option<&Value>, current: Option<&Value>) -> Option<SpecChange> {
    let none = Vec::new();
    let a = stored.and_then(Value::as_array).unwrap_or(&none);
    let b = current.and_then(Value::as_array).unwrap_or(&none);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let name = y.get("name").and_then(Value::as_str).unwrap_or("?");
        let empty = serde_json::Map::new();
        let (xo, yo) = (
            x.as_object().unwrap_or(&empty),
            y.as_object().unwrap_or(&empty),
        );
        let mut keys: Vec<&str> = vec!["kind", "input_shape", "output_shape", "name"];
        for k in union(xo, yo) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for key in keys {
            if LAYER_COSMETIC.contains(&key) {
                continue;
            }
            let mut found = Vec::new();
            // A layer's kind is its arguments: `units`, not `kind.units`.
            let path = if key == "kind" { "" } else { key };
            diff(path, xo.get(key), yo.get(key), &mut found);
            if let Some(mut change) = found.into_iter().next() {
                change.what = if change.what.is_empty() {
                    format!("layer {i} `{name}`:")
                } else {
                    format!("layer {i} `{name}`: {}", change.what)
                };
                return Some(change);
            }
        }
    }
    (a.len() != b.len()).then(|| SpecChange {
        what: "number of layers".to_owned(),
        checkpoint: a.len().to_string(),
        current: b.len().to_string(),
    })
}

/// The keys of two objects, the first's in its order, then the second's new ones.
fn union<'a>(
    a: &'a serde_json::Map<String, Value>,
    b: &'a serde_json::Map<String, Value>,
) -> Vec<&'a str> {
    let mut keys: Vec<&str> = a.keys().map(String::as_str).collect();
    for k in b.keys() {
        if !keys.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    keys
}

/// Appends every difference between `a` and `b` under `path` to `out`. An enum value
/// (serde's `{"Variant": {…}}`) of the same variant on both sides is compared field by
/// field; of different variants, as a whole.
fn diff(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<SpecChange>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, b) {
        (Some(x), Some(y)) if x == y => {}
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            match (variant(x), variant(y)) {
                (Some((vx, fx)), Some((vy, fy))) if vx == vy => diff(path, Some(fx), Some(fy), out),
                (None, None) => {
                    // A layer's size first: it is what a reader changed, and what every
                    // other difference (shapes, counts) follows from.
                    let mut keys = union(x, y);
                    keys.sort_by_key(|k| *k != "units");
                    for key in keys {
                        diff(&join(key), x.get(key), y.get(key), out);
                    }
                }
                _ => out.push(change(path, a, b)),
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y)))
            if x.len() == y.len() && x.iter().chain(y).any(Value::is_object) =>
        {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&join(&i.to_string()), Some(p), Some(q), out);
            }
        }
        _ => out.push(change(path, a, b)),
    }
}

/// The variant name and fields of a serde externally tagged enum value, `{"Adam": {…}}`.
fn variant(object: &serde_json::Map<String, Value>) -> Option<(&str, &Value)> {
    let mut entries = object.iter();
    match (entries.next(), entries.next()) {
        (Some((name, fields)), None) if name.starts_with(|c: char| c.is_ascii_uppercase()) => {
            Some((name, fields))
        }
        _ => None,
    }
}

fn change(path: &str, a: Option<&Value>, b: Option<&Value>) -> SpecChange {
    SpecChange {
        what: path.to_owned(),
        checkpoint: a.map_or_else(|| "absent".to_owned(), render),
        current: b.map_or_else(|| "absent".to_owned(), render),
    }
}

/// A value as a reader would write it: `32`, `[28, 28]`, `relu`, `Adam(lr = 0.001, …)`,
/// `none`.
fn render(value: &Value) -> String {
    match value {
        Value::Null => "none".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(object) => {
            if let Some((name, fields)) = variant(object) {
                return match fields {
                    Value::Object(fields) => format!("{name}({})", render_fields(fields)),
                    other => format!("{name}({})", render(other)),
                };
            }
            format!("({})", render_fields(object))
        }
    }
}

fn render_fields(fields: &serde_json::Map<String, Value>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k} = {}", render(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "
model Net {
    input [28, 28]
    Flatten
    Dense(32, activation = relu)
    Dense(32, activation = relu)
    Dense(10, activation = softmax)
    train {
        optimizer = adam(lr = 0.001)
        batch = 32
        epochs = 2
    }
}
";

    fn model(text: &str) -> ir::Model {
        mlp_spec::compile(text).unwrap().models.remove(0)
    }

    fn compare(stored: &str, current: &str) -> SpecChanges {
        let json = serde_json::to_string(&model(stored)).unwrap();
        compare_spec(&json, &model(current)).unwrap()
    }

    #[test]
    fn the_same_model_has_no_changes_whatever_its_epochs_seed_name_and_lines() {
        let other = SPEC
            .replace("epochs = 2", "epochs = 9\n        seed = 3")
            .replace("model Net", "\n\nmodel Other");
        assert!(compare(SPEC, &other).is_empty());
    }

    #[test]
    fn the_first_architecture_difference_is_named_with_the_layer() {
        let wider = SPEC.replacen(
            "Dense(32, activation = relu)\n    Dense(32",
            "Dense(32, activation = relu)\n    Dense(64",
            1,
        );
        let changes = compare(SPEC, &wider);
        assert_eq!(
            changes.architecture.unwrap().to_string(),
            "layer 2 `dense_1`: units 32 in the checkpoint, 64 in the spec"
        );
        let tanh = SPEC.replacen("activation = relu", "activation = tanh", 1);
        assert_eq!(
            compare(SPEC, &tanh).architecture.unwrap().to_string(),
            "layer 1 `dense`: activation Relu in the checkpoint, Tanh in the spec"
        );
        let input = SPEC.replace("[28, 28]", "[14, 14]");
        assert_eq!(
            compare(SPEC, &input).architecture.unwrap().to_string(),
            "input shape [28, 28] in the checkpoint, [14, 14] in the spec"
        );
        let deeper = SPEC.replace("Dense(10,", "Dense(16)\n    Dense(10,");
        assert_eq!(
            compare(SPEC, &deeper).architecture.unwrap().to_string(),
            "layer 3 `dense_2`: units 10 in the checkpoint, 16 in the spec"
        );
    }

    #[test]
    fn every_training_difference_is_listed() {
        let changed = SPEC
            .replace("adam(lr = 0.001)", "adam(lr = 0.01)")
            .replace("batch = 32", "batch = 64");
        let changes = compare(SPEC, &changed);
        assert!(changes.architecture.is_none());
        let listed: Vec<String> = changes.training.iter().map(ToString::to_string).collect();
        assert_eq!(
            listed,
            [
                "batch 32 in the checkpoint, 64 in the spec",
                "optimizer.learning_rate 0.001 in the checkpoint, 0.01 in the spec",
            ]
        );
        let sgd = SPEC.replace("adam(lr = 0.001)", "sgd");
        let listed: Vec<String> = compare(SPEC, &sgd)
            .training
            .iter()
            .map(ToString::to_string)
            .collect();
        // Another rule (listed whole) and sgd's default rate 0.01.
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert!(
            listed[0].starts_with("optimizer.kind Adam(amsgrad = false, beta1 = 0.9"),
            "{listed:?}"
        );
        assert_eq!(
            listed[1],
            "optimizer.learning_rate 0.001 in the checkpoint, 0.01 in the spec"
        );
    }

    #[test]
    fn a_spec_that_is_not_json_is_a_metadata_error() {
        assert!(matches!(
            compare_spec("{not json", &model(SPEC)),
            Err(CheckpointErrorKind::Metadata(_))
        ));
    }
}
