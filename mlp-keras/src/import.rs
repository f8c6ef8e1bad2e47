//! A `.keras` file read back as an mlp spec and its weights.
//!
//! Order of work, each step on input the one before validated: the archive (within the
//! [`Limits`]), `config.json` as JSON, the model's structure (a `Sequential`, or a
//! functional model that is a plain chain of layers), every layer's config (each setting
//! checked; anything mlp cannot represent refused, naming the layer), the spec text,
//! mlp's own checks on it, and only then `model.weights.h5`: every variable the compiled
//! model needs, checked for presence, type and shape before its data is read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use mlp_runtime::checkpoint::{slot_names, Snapshot};
use mlp_runtime::layout::{ParamLayout, Role};
use mlp_runtime::{Network, NetworkError};
use mlp_spec::ir;
use serde_json::Value;

use crate::archive::{self, Members};
use crate::compile::{self, Extras};
use crate::config::{self, layer_place, SpecLayer};
use crate::h5::{Expect, Weights};
use crate::json::{self, Bad, Obj};
use crate::optimizer::{self, var_index};
use crate::spec::{self, Parts};
use crate::{KerasError, KerasErrorKind, Limits};

/// How [`import`] reads a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The model's name in the spec. Default: the name mlp exported the model under
    /// (kept in `metadata.json`), else Keras's model name in upper camel case
    /// (`sequential` → `Sequential`).
    pub name: Option<String>,
    /// Size limits.
    pub limits: Limits,
}

/// A Keras model as an mlp spec and its weights.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The spec, laid out as `mlp fmt` lays it out.
    pub spec: String,
    /// Its compiled model.
    pub model: ir::Model,
    /// The trainable parameters, in the model's layout.
    pub params: Vec<f32>,
    /// The non-trainable state (`BatchNorm` moving statistics, `Normalization`
    /// statistics).
    pub state: Vec<f32>,
    /// The optimiser's slots in mlp's order (zeros when the file holds no optimiser
    /// state).
    pub optimizer: Vec<f32>,
    /// The optimiser's step count (`optimizer.iterations`; 0 without optimiser state).
    pub iterations: u64,
    /// The seed of dropout masks: the one mlp exported with, else the `train` seed.
    pub seed: u64,
    /// The Keras version `metadata.json` names, if any.
    pub keras_version: Option<String>,
    /// Keras's name of each layer, in the model's order (the spec names layers as a
    /// fresh Keras model would: `dense`, `dense_1`, …; the file may use other names).
    pub keras_layer_names: Vec<String>,
}

impl Imported {
    /// The model and weights as a checkpoint snapshot (write it with
    /// [`mlp_runtime::checkpoint::write`]).
    #[must_use]
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot {
            ir: &self.model,
            seed: Some(self.seed),
            iterations: self.iterations,
            params: &self.params,
            state: &self.state,
            optimizer: Some(&self.optimizer),
            training: None,
            learning_rate: self.model.train.optimizer.initial_learning_rate() as f32,
        }
    }

    /// A [`Network`] of the model holding the weights, for batches of up to `max_batch`.
    ///
    /// # Errors
    /// [`NetworkError`] when the model's buffers cannot be allocated.
    pub fn network(&self, max_batch: usize) -> Result<Network, NetworkError> {
        use mlp_runtime::Model as _;
        let mut net = Network::new(&self.model, self.seed, max_batch)?;
        net.params_mut().copy_from_slice(&self.params);
        net.state_mut().copy_from_slice(&self.state);
        if let Some(slots) = net.optimizer_slots_mut() {
            slots.copy_from_slice(&self.optimizer);
        }
        net.set_iterations(self.iterations);
        Ok(net)
    }
}

/// Reads the `.keras` file at `path` (see the module docs).
///
/// # Errors
/// [`KerasError`] naming `path` and the first problem: I/O, a file or member over the
/// limits, not a zip archive, a missing member, invalid JSON, a model mlp cannot
/// represent (naming the layer and the setting), a spec mlp's checks refuse, unreadable
/// HDF5, a missing weight or one of the wrong type or shape (naming its path).
pub fn import(path: &Path, options: &ImportOptions) -> Result<Imported, KerasError> {
    let bytes =
        read_bounded(path, options.limits.max_bytes).map_err(|kind| KerasError::new(path, kind))?;
    import_bytes(&bytes, options).map_err(|kind| KerasError::new(path, kind))
}

/// Reads a file of at most `max_bytes`, refusing a larger one before reading it.
fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>, KerasErrorKind> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "is not a regular file").into());
    }
    let too_large = |size| KerasErrorKind::TooLarge {
        what: "the file".to_owned(),
        size,
        limit: max_bytes,
    };
    if meta.len() > max_bytes {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`import`] on the bytes of a `.keras` file (errors without the path).
///
/// # Errors
/// As [`import`].
pub fn import_bytes(bytes: &[u8], options: &ImportOptions) -> Result<Imported, KerasErrorKind> {
    if bytes.len() as u64 > options.limits.max_bytes {
        return Err(KerasErrorKind::TooLarge {
            what: "the file".to_owned(),
            size: bytes.len() as u64,
            limit: options.limits.max_bytes,
        });
    }
    let Members {
        metadata,
        config,
        weights,
    } = archive::read(bytes, options.limits)?;
    let config: Value = parse_json(archive::CONFIG, &config)?;
    let meta = match metadata {
        Some(bytes) => Metadata::read(&parse_json(archive::METADATA, &bytes)?)?,
        None => Metadata::default(),
    };
    let parsed = parse_model(&config)?;
    let name = options
        .name
        .clone()
        .or_else(|| meta.mlp.as_ref().map(|m| m.model.clone()))
        .unwrap_or_else(|| spec::model_name(&parsed.name));
    let spec_text = write_spec(&name, &parsed, meta.mlp.as_ref())?;
    let model = compile_spec(&spec_text)?;
    let weights = Weights::parse(weights)?;
    let (params, state) = read_layers(&weights, &model, &parsed)?;
    let (optimizer, iterations) = read_optimizer(&weights, &model, parsed.train.is_some())?;
    let seed = meta
        .mlp
        .as_ref()
        .and_then(|m| m.seed)
        .unwrap_or(model.train.seed);
    Ok(Imported {
        spec: spec_text,
        model,
        params,
        state,
        optimizer,
        iterations,
        seed,
        keras_version: meta.keras_version,
        keras_layer_names: parsed.layers.iter().map(|l| l.keras_name.clone()).collect(),
    })
}

fn parse_json(member: &'static str, bytes: &[u8]) -> Result<Value, KerasErrorKind> {
    serde_json::from_slice(bytes).map_err(|e| KerasErrorKind::Json {
        member,
        message: e.to_string(),
    })
}

/// What `metadata.json` says.
#[derive(Debug, Default)]
struct Metadata {
    keras_version: Option<String>,
    /// mlp's own entry, in files mlp wrote.
    mlp: Option<MlpMetadata>,
}

#[derive(Debug)]
struct MlpMetadata {
    model: String,
    doc: Vec<String>,
    extras: Extras,
    seed: Option<u64>,
}

impl Metadata {
    fn read(value: &Value) -> Result<Metadata, KerasErrorKind> {
        let bad = |b: Bad| KerasErrorKind::Config {
            at: archive::METADATA.to_owned(),
            message: b.0,
        };
        let top = Obj::of(value, "the file").map_err(bad)?;
        let keras_version = top
            .get("keras_version")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mlp = match top.get_or_null("mlp") {
            Value::Null => None,
            v => Some(MlpMetadata::read(v).map_err(|b| bad(Bad(format!("`mlp`: {}", b.0))))?),
        };
        Ok(Metadata { keras_version, mlp })
    }
}

impl MlpMetadata {
    fn read(value: &Value) -> Result<MlpMetadata, Bad> {
        let obj = Obj::of(value, "it")?;
        let model = obj.string("model")?.to_owned();
        let doc = match obj.get_or_null("doc") {
            Value::Null => Vec::new(),
            Value::Array(lines) => lines
                .iter()
                .map(|l| match l {
                    Value::String(s) if !s.contains(['\n', '\r']) => Ok(s.clone()),
                    other => Err(Bad(format!(
                        "`doc` holds {}, not a line of text",
                        json::short(other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(Bad(format!(
                    "`doc` is {}, not a list of lines",
                    json::describe(other)
                )))
            }
        };
        let extras =
            Extras::from_json(obj.obj("train")?).map_err(|b| Bad(format!("`train`: {}", b.0)))?;
        let seed = match obj.get_or_null("seed") {
            Value::Null => None,
            Value::Number(n) => Some(
                n.as_u64()
                    .ok_or_else(|| Bad("`seed` must be a whole number ≥ 0".to_owned()))?,
            ),
            other => {
                return Err(Bad(format!(
                    "`seed` is {}, not a number",
                    json::describe(other)
                )))
            }
        };
        Ok(MlpMetadata {
            model,
            doc,
            extras,
            seed,
        })
    }
}

/// The model `config.json` describes, as spec lines.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    /// Keras's name of the model.
    pub(crate) name: String,
    /// The input shape.
    pub(crate) input: Vec<usize>,
    /// The layers in order.
    pub(crate) layers: Vec<SpecLayer>,
    /// The `train` block's optimiser, loss and metrics lines, when compiled.
    pub(crate) train: Option<Vec<(&'static str, String)>>,
}

fn at_config(message: String) -> KerasErrorKind {
    KerasErrorKind::Config {
        at: archive::CONFIG.to_owned(),
        message,
    }
}

/// Reads the model of `config.json` (see the module docs).
pub(crate) fn parse_model(config: &Value) -> Result<Parsed, KerasErrorKind> {
    let top = Obj::of(config, "the file").map_err(|b| at_config(b.0))?;
    let class = top.string("class_name").map_err(|b| at_config(b.0))?;
    let inner = top.obj("config").map_err(|b| at_config(b.0))?;
    let chain = match class {
        "Sequential" => sequential_layers(inner)?,
        "Functional" | "Model" => functional_chain(inner)?,
        other => {
            return Err(at_config(format!(
                "the model is a `{other}`; mlp imports Sequential models (and functional \
                 models that are a plain chain of layers)"
            )))
        }
    };
    inner
        .expect(
            "trainable",
            &Value::Bool(true),
            "mlp trains every layer; a frozen model is not supported",
        )
        .map_err(|b| at_config(b.0))?;
    let name = match inner.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => "sequential".to_owned(),
    };
    let mut layers = chain.layers.iter();
    let input = match layers.clone().next() {
        Some(first) if first.class == "InputLayer" => {
            layers.next();
            config::input_layer(first.config)
                .map_err(|b| at_layer(0, &first.name, "InputLayer", b))?
        }
        _ => {
            let shape = inner
                .get("build_input_shape")
                .filter(|v| !v.is_null())
                .or_else(|| top.get("build_config").and_then(|b| b.get("input_shape")));
            match shape {
                Some(v) => {
                    config::batch_shape_of(v, "build_input_shape").map_err(|b| at_config(b.0))?
                }
                None => {
                    return Err(at_config(
                        "the model has no InputLayer and no build shape: its input shape is \
                         unknown"
                            .to_owned(),
                    ))
                }
            }
        }
    };
    let mut shape = input.clone();
    let mut spec_layers = Vec::new();
    for (i, layer) in layers.enumerate() {
        let index = i + 1;
        if matches!(
            layer.class.as_str(),
            "InputLayer" | "Sequential" | "Functional" | "Model"
        ) {
            return Err(at_layer(
                index,
                &layer.name,
                &layer.class,
                Bad(format!(
                    "a nested `{}` is not supported; mlp imports one flat chain of layers",
                    layer.class
                )),
            ));
        }
        let (spec_layer, output) =
            config::layer(&layer.class, &layer.name, &layer.path, layer.config, &shape)
                .map_err(|b| at_layer(index, &layer.name, &layer.class, b))?;
        spec_layers.push(spec_layer);
        shape = output;
    }
    if spec_layers.is_empty() {
        return Err(at_config("the model has no layers".to_owned()));
    }
    let train = compile::train_lines(top.get_or_null("compile_config")).map_err(|b| {
        KerasErrorKind::Config {
            at: format!("{}: compile_config", archive::CONFIG),
            message: b.0,
        }
    })?;
    Ok(Parsed {
        name,
        input,
        layers: spec_layers,
        train,
    })
}

fn at_layer(index: usize, name: &str, class: &str, bad: Bad) -> KerasErrorKind {
    KerasErrorKind::Config {
        at: format!("{}: {}", archive::CONFIG, layer_place(index, name, class)),
        message: bad.0,
    }
}

/// One serialised layer.
struct RawLayer<'a> {
    class: String,
    name: String,
    config: Obj<'a>,
    /// Where Keras saved its variables, under `layers/` ([`crate::h5::layer_paths`]).
    path: String,
}

/// The layers of a model in order (an `InputLayer` first, if the model has one).
struct Chain<'a> {
    layers: Vec<RawLayer<'a>>,
}

/// Reads one serialised layer object (`class_name`, `config.name`).
fn raw_layer(value: &Value, position: usize) -> Result<RawLayer<'_>, KerasErrorKind> {
    let bad = |b: Bad| at_config(format!("entry {position} of `layers`: {}", b.0));
    let obj = Obj::of(value, "it").map_err(bad)?;
    let class = obj.string("class_name").map_err(bad)?.to_owned();
    let config = obj.obj("config").map_err(bad)?;
    let name = match config.get("name").or_else(|| obj.get("name")) {
        Some(Value::String(s)) if !s.is_empty() && !s.contains('/') => s.clone(),
        Some(other) => {
            return Err(bad(Bad(format!(
                "the layer's name {} is not usable as a weights path",
                json::short(other)
            ))))
        }
        None => return Err(bad(Bad("the layer has no `name`".to_owned()))),
    };
    Ok(RawLayer {
        class,
        name,
        config,
        path: String::new(),
    })
}

/// Sets each layer's weights path from the classes of `layers`, in the order Keras walks
/// the container.
fn number_paths(layers: &mut [RawLayer<'_>]) {
    let paths = crate::h5::layer_paths(layers.iter().map(|l| l.class.as_str()));
    for (layer, path) in layers.iter_mut().zip(paths) {
        layer.path = path;
    }
}

/// The layer list of a `Sequential` config.
fn sequential_layers(inner: Obj<'_>) -> Result<Chain<'_>, KerasErrorKind> {
    let Value::Array(items) = inner.req("layers").map_err(|b| at_config(b.0))? else {
        return Err(at_config("`config.layers` is not a list".to_owned()));
    };
    let mut layers = items
        .iter()
        .enumerate()
        .map(|(i, v)| raw_layer(v, i))
        .collect::<Result<Vec<_>, _>>()?;
    // A Sequential's `layers`, which Keras saves, leave its InputLayer out.
    let skip = usize::from(layers.first().is_some_and(|l| l.class == "InputLayer"));
    number_paths(&mut layers[skip..]);
    Ok(Chain { layers })
}

/// The layers of a functional model, in order from its input to its output, when they
/// form one chain; otherwise the first layer where the graph branches or merges.
fn functional_chain(inner: Obj<'_>) -> Result<Chain<'_>, KerasErrorKind> {
    let Value::Array(items) = inner.req("layers").map_err(|b| at_config(b.0))? else {
        return Err(at_config("`config.layers` is not a list".to_owned()));
    };
    let branches = "mlp imports a chain of layers (a Sequential model), not a functional model \
                    with branches";
    let mut layers = Vec::with_capacity(items.len());
    let mut inputs: Vec<Vec<String>> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let layer = raw_layer(item, i)?;
        let nodes = match item.get("inbound_nodes") {
            Some(Value::Array(nodes)) => nodes.as_slice(),
            _ => &[],
        };
        if nodes.len() > 1 {
            return Err(at_layer(
                i,
                &layer.name,
                &layer.class,
                Bad(format!(
                    "the layer is called {} times (a shared layer); {branches}",
                    nodes.len()
                )),
            ));
        }
        let mut sources = Vec::new();
        for node in nodes {
            keras_histories(node, &mut sources, 0);
        }
        if sources.len() > 1 || (sources.is_empty() && layer.class != "InputLayer") {
            let names: Vec<String> = sources.iter().map(|s| format!("`{s}`")).collect();
            return Err(at_layer(
                i,
                &layer.name,
                &layer.class,
                Bad(format!(
                    "the layer takes {} inputs ({}); {branches}",
                    sources.len(),
                    names.join(", ")
                )),
            ));
        }
        inputs.push(sources);
        layers.push(layer);
    }
    // A functional model's `layers`, which Keras saves, include its InputLayer.
    number_paths(&mut layers);
    let single = |key: &str| -> Result<String, KerasErrorKind> {
        let value = inner.get_or_null(key);
        let first = match value {
            Value::Array(items) => match items.first() {
                Some(Value::String(s)) if items.len() == 3 => Some(s.clone()),
                Some(Value::Array(inner_items)) if items.len() == 1 => inner_items
                    .first()
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            },
            _ => None,
        };
        first.ok_or_else(|| {
            at_config(format!(
                "`config.{key}` = {} is not one layer: mlp models have one input and one output",
                json::short(value)
            ))
        })
    };
    let input = single("input_layers")?;
    let output = single("output_layers")?;
    let mut order = Vec::with_capacity(layers.len());
    let Some(start) = layers.iter().position(|l| l.name == input) else {
        return Err(at_config(format!(
            "the input layer `{input}` is not in `layers`"
        )));
    };
    order.push(start);
    let mut current = input.clone();
    loop {
        let next: Vec<usize> = (0..layers.len())
            .filter(|&j| inputs[j].first() == Some(&current))
            .collect();
        match next[..] {
            [] => break,
            [j] => {
                if order.contains(&j) {
                    return Err(at_config(format!(
                        "the layers form a cycle at `{}`",
                        layers[j].name
                    )));
                }
                order.push(j);
                current.clone_from(&layers[j].name);
            }
            _ => {
                let i = order[order.len() - 1];
                let names: Vec<String> = next
                    .iter()
                    .map(|&j| format!("`{}`", layers[j].name))
                    .collect();
                return Err(at_layer(
                    i,
                    &layers[i].name,
                    &layers[i].class,
                    Bad(format!(
                        "the layer's output feeds {} layers ({}); {branches}",
                        next.len(),
                        names.join(", ")
                    )),
                ));
            }
        }
    }
    if current != output {
        return Err(at_config(format!(
            "the chain from `{input}` ends at `{current}`, not at the output `{output}`"
        )));
    }
    if let Some(j) = (0..layers.len()).find(|j| !order.contains(j)) {
        return Err(at_layer(
            j,
            &layers[j].name,
            &layers[j].class,
            Bad(format!(
                "the layer is not on the path from the input to the output; {branches}"
            )),
        ));
    }
    let mut slots: Vec<Option<RawLayer<'_>>> = layers.into_iter().map(Some).collect();
    let layers = order.iter().filter_map(|&j| slots[j].take()).collect();
    Ok(Chain { layers })
}

/// Collects the layer names of every `keras_history` in a serialised call, depth-limited
/// (`serde_json`'s own limit bounds the nesting anyway).
fn keras_histories(value: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(history)) = map.get("keras_history") {
                if let Some(Value::String(name)) = history.first() {
                    if !out.contains(name) {
                        out.push(name.clone());
                    }
                }
            }
            for v in map.values() {
                keras_histories(v, out, depth + 1);
            }
        }
        Value::Array(items) => {
            for v in items {
                keras_histories(v, out, depth + 1);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// The spec text, laid out by mlp's formatter.
fn write_spec(
    name: &str,
    parsed: &Parsed,
    mlp: Option<&MlpMetadata>,
) -> Result<String, KerasErrorKind> {
    let mut train = parsed.train.clone().unwrap_or_default();
    if let Some(m) = mlp {
        train.extend(m.extras.spec_lines());
    }
    let parts = Parts {
        name,
        doc: mlp.map_or(&[], |m| m.doc.as_slice()),
        input: &parsed.input,
        layers: parsed.layers.iter().map(|l| l.text.as_str()).collect(),
        train,
    };
    let text = spec::text(&parts);
    mlp_spec::format_source(&text).map_err(|d| KerasErrorKind::Spec {
        diagnostics: d.render("imported.mlp", &text),
        spec: text.clone(),
    })
}

/// Compiles the spec (one model).
fn compile_spec(text: &str) -> Result<ir::Model, KerasErrorKind> {
    let refused = |diagnostics: String| KerasErrorKind::Spec {
        diagnostics,
        spec: text.to_owned(),
    };
    let spec = mlp_spec::compile(text).map_err(|d| refused(d.render("imported.mlp", text)))?;
    spec.models
        .into_iter()
        .next()
        .ok_or_else(|| refused("the spec defines no model".to_owned()))
}

/// Every layer's variables, into the model's `params` and `state`: first every variable
/// is checked (presence, type, shape, size against the file), then the buffers are
/// allocated and filled, so a configuration or file that claims a huge model is refused
/// before anything is allocated for it.
fn read_layers(
    weights: &Weights,
    model: &ir::Model,
    parsed: &Parsed,
) -> Result<(Vec<f32>, Vec<f32>), KerasErrorKind> {
    let layout = ParamLayout::new(model);
    let what = |keras: &str, t: &mlp_runtime::TensorInfo| {
        format!(
            "the {} of layer `{keras}`",
            t.role.as_str().replace('_', " ")
        )
    };
    for (li, spec_layer) in parsed.layers.iter().enumerate() {
        let keras = &spec_layer.keras_name;
        let parent = format!("layers/{}", spec_layer.weights_path);
        let tensors: Vec<_> = layout.tensors.iter().filter(|t| t.layer == li).collect();
        if spec_layer.constant_stats.is_some() {
            continue;
        }
        let found = weights.var_count(&parent)?;
        if found.unwrap_or(0) != tensors.len() {
            let message = match found {
                None => format!(
                    "layer `{keras}` ({}) has no weights in the file, but needs {}",
                    spec_layer.class,
                    tensors.len()
                ),
                Some(n) => format!(
                    "layer `{keras}` ({}) has {n} variables in the file, but needs {}",
                    spec_layer.class,
                    tensors.len()
                ),
            };
            return Err(KerasErrorKind::Weights {
                at: format!("{}: {parent}/vars", archive::WEIGHTS),
                message,
            });
        }
        for (j, t) in tensors.iter().enumerate() {
            let what = what(keras, t);
            if t.role == Role::Count {
                weights.read_int_scalar(&parent, j, &what)?;
            } else {
                let expect = Expect {
                    shape: &t.shape,
                    what: &what,
                };
                weights.check_f32(&parent, j, expect)?;
            }
        }
    }
    let mut params = vec![0.0f32; layout.trainable_len];
    let mut state = vec![0.0f32; layout.state_len];
    for (li, spec_layer) in parsed.layers.iter().enumerate() {
        let keras = &spec_layer.keras_name;
        let parent = format!("layers/{}", spec_layer.weights_path);
        let tensors = layout.tensors.iter().filter(|t| t.layer == li);
        for (j, t) in tensors.enumerate() {
            let dest = if t.trainable {
                &mut params[t.range()]
            } else {
                &mut state[t.range()]
            };
            if let Some((mean, variance)) = &spec_layer.constant_stats {
                // Statistics given in the config: the layer has no variables.
                match t.role {
                    Role::Mean => dest.copy_from_slice(mean),
                    Role::Variance => dest.copy_from_slice(variance),
                    Role::Count
                    | Role::Kernel
                    | Role::Bias
                    | Role::Gamma
                    | Role::Beta
                    | Role::MovingMean
                    | Role::MovingVariance => dest.fill(0.0),
                }
                continue;
            }
            let what = what(keras, t);
            if t.role == Role::Count {
                let n = weights.read_int_scalar(&parent, j, &what)?;
                if n < 0 {
                    return Err(KerasErrorKind::Weights {
                        at: format!("{}: {parent}/vars/{j}", archive::WEIGHTS),
                        message: format!("{what} is {n}, not a count"),
                    });
                }
                dest[0] = n as f32;
            } else {
                let expect = Expect {
                    shape: &t.shape,
                    what: &what,
                };
                dest.copy_from_slice(&weights.read_f32(&parent, j, expect)?);
            }
        }
    }
    Ok((params, state))
}

/// The optimiser's step count and slots, zeros when the file holds none.
fn read_optimizer(
    weights: &Weights,
    model: &ir::Model,
    compiled: bool,
) -> Result<(Vec<f32>, u64), KerasErrorKind> {
    let layout = ParamLayout::new(model);
    let n_slots = slot_names(&model.train.optimizer).len();
    // The layers' variables, as large as the slots, were read already: this allocation
    // is no larger than what the file held.
    let mut slots = vec![0.0f32; n_slots * layout.trainable_len];
    let parent = "optimizer";
    let at = |path: String| format!("{}: {path}", archive::WEIGHTS);
    let Some(held) = weights.var_count(parent)? else {
        return Ok((slots, 0));
    };
    if !compiled {
        return Err(KerasErrorKind::Weights {
            at: at(format!("{parent}/vars")),
            message: "the file holds optimizer variables but config.json no compile_config"
                .to_owned(),
        });
    }
    let hyper = optimizer::from_ir(&model.train.optimizer);
    let trainable: Vec<_> = layout.trainable().collect();
    let full = 2 + n_slots * trainable.len();
    if held != full && held != 2 {
        return Err(KerasErrorKind::Weights {
            at: at(format!("{parent}/vars")),
            message: format!(
                "holds {held} variables; {} over this model's {} trainable tensors has {full} \
                 (the step count, the learning rate and {n_slots} slot(s) per tensor), or 2 \
                 before its first step",
                hyper.kind.class(),
                trainable.len()
            ),
        });
    }
    let steps = weights.read_int_scalar(parent, 0, "the optimizer's step count")?;
    let iterations = u64::try_from(steps).map_err(|_| KerasErrorKind::Weights {
        at: at(format!("{parent}/vars/0")),
        message: format!("the optimizer's step count is {steps}, not a count"),
    })?;
    let lr = weights.read_f32(
        parent,
        1,
        Expect {
            shape: &[],
            what: "the learning rate",
        },
    )?[0];
    if lr != hyper.learning_rate as f32 {
        return Err(KerasErrorKind::Weights {
            at: at(format!("{parent}/vars/1")),
            message: format!(
                "the learning rate variable is {lr} but the config's learning_rate is {} \
                 (mlp keeps one learning rate)",
                hyper.learning_rate as f32
            ),
        });
    }
    if held == 2 {
        return Ok((slots, iterations));
    }
    let names = slot_names(&model.train.optimizer);
    for (s, slot) in names.iter().enumerate() {
        for (t, tensor) in trainable.iter().enumerate() {
            let index = var_index(hyper.kind, s, t, n_slots, trainable.len());
            let what = format!("the {slot} of `{}`", tensor.name);
            let data = weights.read_f32(
                parent,
                index,
                Expect {
                    shape: &tensor.shape,
                    what: &what,
                },
            )?;
            let base = s * layout.trainable_len + tensor.offset;
            slots[base..base + tensor.len].copy_from_slice(&data);
        }
    }
    Ok((slots, iterations))
}
