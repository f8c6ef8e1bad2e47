//! `config.json`, both ways: an mlp model as Keras 3.15's serialised `Sequential` (every
//! layer under its Keras class with the config Keras writes for it), and a serialised
//! Keras model read back as the lines of an mlp spec, every setting checked.
//!
//! | mlp | Keras class | notes |
//! |---|---|---|
//! | `input [d…]` | `InputLayer(batch_shape = [None, d…])` | |
//! | `Flatten` | `Flatten` | `data_format = "channels_last"` |
//! | `Dense(…)` | `Dense` | initialisers, regularisers, activation by name |
//! | `Dropout(r)` | `Dropout(rate = r)` | |
//! | `BatchNorm(m, e)` | `BatchNormalization(momentum, epsilon)` | `center`, `scale`, default initialisers |
//! | `LeakyReLU(s)` | `LeakyReLU(negative_slope = s)` | |
//! | `ReLU`, `Softmax` | `ReLU`, `Softmax` | |
//! | `Sigmoid`, `Tanh`, `Activation(f)` | `Activation(f)` | |
//! | `Rescale(s, o)` | `Rescaling(scale, offset)` | |
//! | `Normalization` | `Normalization(axis = -1)` | statistics as its three variables |
//!
//! Keras serialises an activation by its name only, so `elu(alpha ≠ 1)`,
//! `gelu(approximate = true)` and `leaky_relu(negative_slope ≠ 0.2)` as activations have no
//! Keras form: export refuses them naming the layer.

use mlp_spec::ir::{self, Activation, Initializer, LayerKind, Regularizer};
use mlp_spec::kw;
use serde_json::Value;

use crate::json::{self, Bad, Obj, J};
use crate::spec::number;
use crate::ExportError;

/// `"module"` of Keras's layers.
const LAYERS_MODULE: &str = "keras.layers";

/// The serialised object `{"module", "class_name", "config", "registered_name": null}`.
pub(crate) fn object(module: &'static str, class: &str, config: J) -> J {
    J::obj([
        ("module", J::str(module)),
        ("class_name", J::str(class)),
        ("config", config),
        ("registered_name", J::Null),
    ])
}

/// Keras's float32 dtype policy, as every layer's `dtype`.
pub(crate) fn float32_policy() -> J {
    object(
        "keras",
        "DTypePolicy",
        J::obj([("name", J::str("float32"))]),
    )
}

/// A batch shape `[null, d…]`.
pub(crate) fn batch_shape(shape: &[usize]) -> J {
    J::Arr(
        std::iter::once(J::Null)
            .chain(shape.iter().map(|&d| J::int(d as u64)))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Export: the IR as Keras's config.
// ---------------------------------------------------------------------------------------

/// The serialised `Sequential` of `model`: the `InputLayer`, then each layer with its
/// config and (for the layers that have a `build` in Keras) its `build_config`.
///
/// # Errors
/// [`ExportError::Layer`] for a layer Keras cannot express.
pub(crate) fn sequential(model: &ir::Model, compile_config: J) -> Result<J, ExportError> {
    let input = object(
        LAYERS_MODULE,
        "InputLayer",
        J::obj([
            ("batch_shape", batch_shape(&model.input)),
            ("dtype", J::str("float32")),
            ("sparse", J::Bool(false)),
            ("ragged", J::Bool(false)),
            ("name", J::str("input_layer")),
            ("optional", J::Bool(false)),
        ]),
    );
    let mut layers = vec![input];
    for (i, layer) in model.layers.iter().enumerate() {
        layers.push(layer_object(i + 1, layer)?);
    }
    let build = J::obj([("input_shape", batch_shape(&model.input))]);
    let config = J::obj([
        ("name", J::str(model.name.clone())),
        ("trainable", J::Bool(true)),
        ("dtype", float32_policy()),
        ("layers", J::Arr(layers)),
        ("build_input_shape", batch_shape(&model.input)),
    ]);
    let mut seq = object("keras", "Sequential", config);
    seq.push("build_config", build);
    seq.push("compile_config", compile_config);
    Ok(seq)
}

/// One layer as Keras serialises it.
fn layer_object(index: usize, layer: &ir::Layer) -> Result<J, ExportError> {
    let class = layer.keras_class();
    let refuse = |message: String| ExportError::Layer {
        index,
        layer: layer.name.clone(),
        class,
        message,
    };
    let mut config = J::obj([
        ("name", J::str(layer.name.clone())),
        ("trainable", J::Bool(true)),
        ("dtype", float32_policy()),
    ]);
    let mut builds = true;
    match &layer.kind {
        LayerKind::Flatten => config.push("data_format", J::str("channels_last")),
        LayerKind::Dense(d) => {
            let activation = activation_name(d.activation).map_err(|m| refuse(m.0))?;
            for (key, value) in [
                ("units", J::int(d.units as u64)),
                ("activation", J::str(activation)),
                ("use_bias", J::Bool(d.use_bias)),
                ("kernel_initializer", initializer(d.kernel_init)),
                ("bias_initializer", initializer(d.bias_init)),
                ("kernel_regularizer", regularizer(d.kernel_reg)),
                ("bias_regularizer", regularizer(d.bias_reg)),
                ("kernel_constraint", J::Null),
                ("bias_constraint", J::Null),
                ("quantization_config", J::Null),
            ] {
                config.push(key, value);
            }
        }
        LayerKind::Dropout { rate } => {
            builds = false;
            config.push("rate", J::f32(*rate));
            config.push("seed", J::Null);
            config.push("noise_shape", J::Null);
        }
        LayerKind::BatchNorm(bn) => {
            let zeros = || initializer(Initializer::Zeros);
            let ones = || initializer(Initializer::Ones);
            for (key, value) in [
                ("axis", J::int(-1)),
                ("momentum", J::f32(bn.momentum as f32)),
                ("epsilon", J::f32(bn.epsilon)),
                ("center", J::Bool(true)),
                ("scale", J::Bool(true)),
                ("beta_initializer", zeros()),
                ("gamma_initializer", ones()),
                ("moving_mean_initializer", zeros()),
                ("moving_variance_initializer", ones()),
                ("beta_regularizer", J::Null),
                ("gamma_regularizer", J::Null),
                ("beta_constraint", J::Null),
                ("gamma_constraint", J::Null),
                ("synchronized", J::Bool(false)),
                ("renorm", J::Bool(false)),
                ("renorm_clipping", J::Null),
                ("renorm_momentum", J::f32(0.99)),
            ] {
                config.push(key, value);
            }
        }
        LayerKind::LeakyRelu { slope } => {
            builds = false;
            config.push("negative_slope", J::f32(*slope));
        }
        LayerKind::Activation { activation, .. } => {
            builds = false;
            // The class decides the config: `ReLU` and `Softmax` have their own.
            match class {
                "ReLU" => {
                    config.push("max_value", J::Null);
                    config.push("negative_slope", J::f32(0.0));
                    config.push("threshold", J::f32(0.0));
                }
                "Softmax" => config.push("axis", J::int(-1)),
                _ => {
                    let name = activation_name(*activation).map_err(|m| refuse(m.0))?;
                    config.push("activation", J::str(name));
                }
            }
        }
        LayerKind::Rescale { scale, offset } => {
            config.push("scale", J::f32(*scale));
            config.push("offset", J::f32(*offset));
        }
        LayerKind::Normalization { .. } => {
            config.push("axis", J::Arr(vec![J::int(-1)]));
            config.push("invert", J::Bool(false));
            config.push("mean", J::Null);
            config.push("variance", J::Null);
        }
    }
    let mut obj = object(LAYERS_MODULE, class, config);
    if builds {
        obj.push(
            "build_config",
            J::obj([("input_shape", batch_shape(&layer.input_shape))]),
        );
    }
    Ok(obj)
}

/// Keras's name of an activation function, or why Keras cannot name it: its serialised
/// activations are names only, which carry no arguments.
fn activation_name(a: Activation) -> Result<&'static str, Bad> {
    let no_args = |what: String, default: &str, hint: &str| {
        Bad(format!(
            "activation `{what}` has no Keras form: Keras saves an activation by its name \
             alone, which means {default}{hint}"
        ))
    };
    Ok(match a {
        Activation::Linear => kw::LINEAR,
        Activation::Relu => kw::RELU,
        Activation::Sigmoid => kw::SIGMOID,
        Activation::Tanh => kw::TANH,
        Activation::Softmax => kw::SOFTMAX,
        Activation::Elu { alpha: 1.0 } => kw::ELU,
        Activation::Elu { alpha } => {
            return Err(no_args(
                format!("elu(alpha = {})", number(alpha.into())),
                "alpha = 1.0",
                "",
            ))
        }
        Activation::Selu => kw::SELU,
        Activation::Gelu { approximate: false } => kw::GELU,
        Activation::Gelu { approximate: true } => {
            return Err(no_args(
                "gelu(approximate = true)".to_owned(),
                "the exact gelu",
                "",
            ))
        }
        Activation::Silu => kw::SILU,
        Activation::Softplus => kw::SOFTPLUS,
        Activation::LeakyRelu {
            negative_slope: 0.2,
        } => kw::LEAKY_RELU_ACTIVATION,
        Activation::LeakyRelu { negative_slope } => {
            return Err(no_args(
                format!(
                    "leaky_relu(negative_slope = {})",
                    number(negative_slope.into())
                ),
                "negative_slope = 0.2",
                "; a LeakyReLU layer keeps its slope",
            ))
        }
    })
}

/// An initialiser as Keras serialises it.
fn initializer(init: Initializer) -> J {
    let init_object = |class: &str, config: J| object("keras.initializers", class, config);
    let fans = |class: &str| {
        init_object(
            class,
            J::obj([
                ("seed", J::Null),
                ("input_axes", J::Null),
                ("output_axes", J::Null),
            ]),
        )
    };
    match init {
        Initializer::Zeros => init_object("Zeros", J::obj([])),
        Initializer::Ones => init_object("Ones", J::obj([])),
        Initializer::Constant(value) => init_object("Constant", J::obj([("value", J::f32(value))])),
        Initializer::Uniform { min, max } => init_object(
            "RandomUniform",
            J::obj([
                ("seed", J::Null),
                ("minval", J::f32(min)),
                ("maxval", J::f32(max)),
            ]),
        ),
        Initializer::Normal { mean, stddev } => init_object(
            "RandomNormal",
            J::obj([
                ("seed", J::Null),
                ("mean", J::f32(mean)),
                ("stddev", J::f32(stddev)),
            ]),
        ),
        Initializer::TruncatedNormal { mean, stddev } => init_object(
            "TruncatedNormal",
            J::obj([
                ("seed", J::Null),
                ("mean", J::f32(mean)),
                ("stddev", J::f32(stddev)),
            ]),
        ),
        Initializer::GlorotUniform => fans("GlorotUniform"),
        Initializer::GlorotNormal => fans("GlorotNormal"),
        Initializer::HeNormal => fans("HeNormal"),
        Initializer::HeUniform => fans("HeUniform"),
        Initializer::LecunNormal => fans("LecunNormal"),
        Initializer::LecunUniform => fans("LecunUniform"),
    }
}

/// A regulariser as Keras serialises it: `L1` when only the L1 factor is set, `L2` when
/// only the L2 one is, `L1L2` otherwise.
fn regularizer(reg: Option<Regularizer>) -> J {
    let Some(r) = reg else { return J::Null };
    let reg_object = |class: &str, config: J| object("keras.regularizers", class, config);
    match (r.l1 != 0.0, r.l2 != 0.0) {
        (true, false) => reg_object("L1", J::obj([("l1", J::f32(r.l1))])),
        (false, true) => reg_object("L2", J::obj([("l2", J::f32(r.l2))])),
        _ => reg_object("L1L2", J::obj([("l1", J::f32(r.l1)), ("l2", J::f32(r.l2))])),
    }
}

// ---------------------------------------------------------------------------------------
// Import: Keras's config as spec lines.
// ---------------------------------------------------------------------------------------

/// One Keras layer read as a line of the spec.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpecLayer {
    /// Keras's name of the layer.
    pub(crate) keras_name: String,
    /// Where its variables are: `layers/<weights_path>/vars`.
    pub(crate) weights_path: String,
    /// Keras's class.
    pub(crate) class: String,
    /// The spec line (`Dense(64, activation = relu)`).
    pub(crate) text: String,
    /// A `Normalization` given its statistics in the config (`mean`, `variance`, one
    /// value per feature) rather than adapted: it has no variables.
    pub(crate) constant_stats: Option<(Vec<f32>, Vec<f32>)>,
}

/// Where a layer sits, for messages: ``layer 3 `dense_1` (Dense)``.
pub(crate) fn layer_place(index: usize, name: &str, class: &str) -> String {
    format!("layer {index} `{name}` ({class})")
}

/// The Keras layer classes mlp reads, for messages.
const SUPPORTED_CLASSES: &str = "InputLayer, Dense, Dropout, Flatten, BatchNormalization, \
    LeakyReLU, ReLU, Softmax, Activation, Rescaling, Normalization";

/// Activations by Keras name, as the spec writes them.
const ACTIVATIONS: &[&str] = &[
    kw::LINEAR,
    kw::RELU,
    kw::SIGMOID,
    kw::TANH,
    kw::SOFTMAX,
    kw::ELU,
    kw::SELU,
    kw::GELU,
    kw::SILU,
    kw::SWISH,
    kw::SOFTPLUS,
    kw::LEAKY_RELU_ACTIVATION,
];

/// The input shape (without the batch axis) of an `InputLayer` config.
pub(crate) fn input_layer(config: Obj<'_>) -> Result<Vec<usize>, Bad> {
    config.refuse_unknown(&[
        "batch_shape",
        "batch_input_shape",
        "dtype",
        "sparse",
        "ragged",
        "name",
        "optional",
    ])?;
    check_input_dtype(config)?;
    config.expect("sparse", &Value::Bool(false), "mlp has no sparse inputs")?;
    config.expect("ragged", &Value::Bool(false), "mlp has no ragged inputs")?;
    config.expect("optional", &Value::Bool(false), "mlp's input is required")?;
    let shape = config
        .get("batch_shape")
        .filter(|v| !v.is_null())
        .or_else(|| config.get("batch_input_shape"))
        .ok_or_else(|| Bad("`batch_shape` is missing".to_owned()))?;
    batch_shape_of(shape, "batch_shape")
}

/// `[null | n, d…]` as `[d…]`, every `d` a whole number ≥ 1 within mlp's limit.
pub(crate) fn batch_shape_of(value: &Value, key: &str) -> Result<Vec<usize>, Bad> {
    let Value::Array(items) = value else {
        return Err(Bad(format!(
            "`{key}` is {}, not a list",
            json::describe(value)
        )));
    };
    if items.len() < 2 {
        return Err(Bad(format!(
            "`{key}` = {} has no axis besides the batch",
            json::short(value)
        )));
    }
    items[1..]
        .iter()
        .map(|d| match json::integer(d, key) {
            Ok(n) if n >= 1 && n as u64 <= mlp_spec::MAX_EXTENT as u64 => Ok(n as usize),
            _ => Err(Bad(format!(
                "`{key}` = {} must give every axis but the batch a size from 1 to {}",
                json::short(value),
                mlp_spec::MAX_EXTENT
            ))),
        })
        .collect()
}

fn check_input_dtype(config: Obj<'_>) -> Result<(), Bad> {
    match config.get_or_null("dtype") {
        Value::Null => Ok(()),
        Value::String(s) if s == "float32" => Ok(()),
        other => Err(Bad(format!(
            "`dtype` = {} is not supported (mlp's inputs are float32)",
            json::short(other)
        ))),
    }
}

/// Checks the keys every layer has: `trainable` (mlp trains every layer) and `dtype`
/// (mlp computes in float32).
fn check_common(config: Obj<'_>) -> Result<(), Bad> {
    config.expect(
        "trainable",
        &Value::Bool(true),
        "mlp trains every layer; frozen layers are not supported",
    )?;
    let policy = match config.get_or_null("dtype") {
        Value::Null => return Ok(()),
        Value::String(s) => s.as_str(),
        v @ Value::Object(_) => {
            let obj = Obj::of(v, "`dtype`")?;
            let inner = obj.obj("config")?;
            inner.string("name")?
        }
        other => {
            return Err(Bad(format!(
                "`dtype` is {}, not a dtype policy",
                json::describe(other)
            )))
        }
    };
    if policy == "float32" {
        Ok(())
    } else {
        Err(Bad(format!(
            "dtype policy `{policy}` is not supported (mlp computes in float32)"
        )))
    }
}

/// The spec line of one Keras layer, given the shape of its input; returns the line and
/// the layer's output shape.
pub(crate) fn layer(
    class: &str,
    name: &str,
    weights_path: &str,
    config: Obj<'_>,
    input: &[usize],
) -> Result<(SpecLayer, Vec<usize>), Bad> {
    check_common(config)?;
    let common = ["name", "trainable", "dtype"];
    let known = |extra: &[&'static str]| -> Vec<&'static str> {
        common.iter().chain(extra).copied().collect()
    };
    let mut output = input.to_vec();
    let mut constant_stats = None;
    let text = match class {
        "Flatten" => {
            config.refuse_unknown(&known(&["data_format"]))?;
            if input.len() > 1 {
                config.expect(
                    "data_format",
                    &Value::String("channels_last".into()),
                    "mlp flattens in row-major order",
                )?;
            }
            output = vec![input.iter().product()];
            kw::FLATTEN.to_owned()
        }
        "Dense" => {
            config.refuse_unknown(&known(&[
                "units",
                "activation",
                "use_bias",
                "kernel_initializer",
                "bias_initializer",
                "kernel_regularizer",
                "bias_regularizer",
                "activity_regularizer",
                "kernel_constraint",
                "bias_constraint",
                "quantization_config",
                "lora_rank",
                "lora_alpha",
            ]))?;
            for key in [
                "activity_regularizer",
                "kernel_constraint",
                "bias_constraint",
                "quantization_config",
                "lora_rank",
            ] {
                config.expect(key, &Value::Null, "mlp has no such setting")?;
            }
            if input.len() != 1 {
                return Err(Bad(format!(
                    "its input has shape {}: mlp's Dense needs a flat input (put a Flatten \
                     before it)",
                    shape_text(input)
                )));
            }
            let units = config.int("units")?;
            if units < 1 || units as u64 > mlp_spec::MAX_EXTENT as u64 {
                return Err(Bad(format!(
                    "`units` = {units} must be from 1 to {}",
                    mlp_spec::MAX_EXTENT
                )));
            }
            output = vec![units as usize];
            let mut args = vec![units.to_string()];
            let activation = activation(config.get_or_null("activation"), "activation")?;
            if activation != kw::LINEAR {
                args.push(format!("{} = {activation}", kw::ACTIVATION));
            }
            let init = init(config.req("kernel_initializer")?, "kernel_initializer")?;
            if init != kw::GLOROT_UNIFORM {
                args.push(format!("{} = {init}", kw::INIT));
            }
            let bias_init = init_or(config.get("bias_initializer"), "bias_initializer")?;
            if bias_init != kw::ZEROS {
                args.push(format!("{} = {bias_init}", kw::BIAS_INIT));
            }
            if let Some(r) = reg(
                config.get_or_null("kernel_regularizer"),
                "kernel_regularizer",
            )? {
                args.push(format!("{} = {r}", kw::REG));
            }
            if let Some(r) = reg(config.get_or_null("bias_regularizer"), "bias_regularizer")? {
                args.push(format!("{} = {r}", kw::BIAS_REG));
            }
            if !config.bool_or("use_bias", true)? {
                args.push(format!("{} = false", kw::USE_BIAS));
            }
            format!("{}({})", kw::DENSE, args.join(", "))
        }
        "Dropout" => {
            config.refuse_unknown(&known(&["rate", "seed", "noise_shape"]))?;
            config.expect("noise_shape", &Value::Null, "mlp drops each unit alone")?;
            let rate = config.f64("rate")?;
            format!("{}({})", kw::DROPOUT, number(rate))
        }
        "BatchNormalization" => {
            config.refuse_unknown(&known(&[
                "axis",
                "momentum",
                "epsilon",
                "center",
                "scale",
                "beta_initializer",
                "gamma_initializer",
                "moving_mean_initializer",
                "moving_variance_initializer",
                "beta_regularizer",
                "gamma_regularizer",
                "beta_constraint",
                "gamma_constraint",
                "synchronized",
                "renorm",
                "renorm_clipping",
                "renorm_momentum",
            ]))?;
            check_last_axis(config, input)?;
            let why = "mlp's BatchNorm always has gamma and beta";
            config.expect("center", &Value::Bool(true), why)?;
            config.expect("scale", &Value::Bool(true), why)?;
            for (key, expected) in [
                ("beta_initializer", kw::ZEROS),
                ("gamma_initializer", kw::ONES),
                ("moving_mean_initializer", kw::ZEROS),
                ("moving_variance_initializer", kw::ONES),
            ] {
                // Absent (or null): Keras's default, which is mlp's.
                let found = match config.get_or_null(key) {
                    Value::Null => continue,
                    v => init(v, key)?,
                };
                if found != expected {
                    return Err(Bad(format!(
                        "`{key}` = {found} is not supported (mlp's BatchNorm starts from \
                         {expected})"
                    )));
                }
            }
            for key in [
                "beta_regularizer",
                "gamma_regularizer",
                "beta_constraint",
                "gamma_constraint",
            ] {
                config.expect(key, &Value::Null, "mlp's BatchNorm has no such setting")?;
            }
            config.expect(
                "synchronized",
                &Value::Bool(false),
                "mlp trains on one device",
            )?;
            config.expect(
                "renorm",
                &Value::Bool(false),
                "mlp has no batch renormalisation",
            )?;
            config.expect(
                "renorm_clipping",
                &Value::Null,
                "mlp has no batch renormalisation",
            )?;
            let momentum = config.f64_or("momentum", 0.99)?;
            let epsilon = config.f64_or("epsilon", 1e-3)?;
            let mut args = Vec::new();
            if momentum as f32 != 0.99 {
                args.push(format!("{} = {}", kw::MOMENTUM, number(momentum)));
            }
            if epsilon as f32 != 1e-3 {
                args.push(format!("{} = {}", kw::EPSILON, number(epsilon)));
            }
            call(kw::BATCH_NORM, &args)
        }
        "LeakyReLU" => {
            config.refuse_unknown(&known(&["negative_slope", "alpha"]))?;
            let slope = match config.get("negative_slope") {
                Some(v) if !v.is_null() => json::number(v, "negative_slope")?,
                _ => config.f64_or("alpha", 0.3)?,
            };
            format!("{}({})", kw::LEAKY_RELU, number(slope))
        }
        "ReLU" => {
            config.refuse_unknown(&known(&["max_value", "negative_slope", "threshold"]))?;
            config.expect("max_value", &Value::Null, "mlp's ReLU has no cap")?;
            let zero = Value::from(0.0);
            config.expect("negative_slope", &zero, "use a LeakyReLU layer")?;
            config.expect("threshold", &zero, "mlp's ReLU cuts at 0")?;
            kw::RELU_LAYER.to_owned()
        }
        "Softmax" => {
            config.refuse_unknown(&known(&["axis"]))?;
            check_last_axis(config, input)?;
            kw::SOFTMAX_LAYER.to_owned()
        }
        "Activation" => {
            config.refuse_unknown(&known(&["activation"]))?;
            let activation = activation(config.req("activation")?, "activation")?;
            match activation.as_str() {
                s if s == kw::SIGMOID => kw::SIGMOID_LAYER.to_owned(),
                s if s == kw::TANH => kw::TANH_LAYER.to_owned(),
                _ => format!("{}({activation})", kw::ACTIVATION_LAYER),
            }
        }
        "Rescaling" => {
            config.refuse_unknown(&known(&["scale", "offset"]))?;
            let scale = scalar(config.req("scale")?, "scale")?;
            let offset = match config.get_or_null("offset") {
                Value::Null => 0.0,
                v => scalar(v, "offset")?,
            };
            let mut args = vec![number(scale)];
            if offset != 0.0 {
                args.push(format!("{} = {}", kw::OFFSET, number(offset)));
            }
            format!("{}({})", kw::RESCALE, args.join(", "))
        }
        "Normalization" => {
            config.refuse_unknown(&known(&["axis", "invert", "mean", "variance"]))?;
            check_last_axis(config, input)?;
            config.expect(
                "invert",
                &Value::Bool(false),
                "mlp's Normalization standardises",
            )?;
            let features = input.last().copied().unwrap_or(1);
            match (config.get_or_null("mean"), config.get_or_null("variance")) {
                (Value::Null, Value::Null) => {}
                (mean, variance) => {
                    constant_stats = Some((
                        stats(mean, "mean", features)?,
                        stats(variance, "variance", features)?,
                    ));
                }
            }
            kw::NORMALIZATION.to_owned()
        }
        other => {
            return Err(Bad(format!(
                "layer class `{other}` is not supported; mlp reads {SUPPORTED_CLASSES}"
            )))
        }
    };
    Ok((
        SpecLayer {
            keras_name: name.to_owned(),
            weights_path: weights_path.to_owned(),
            class: class.to_owned(),
            text,
            constant_stats,
        },
        output,
    ))
}

fn call(name: &str, args: &[String]) -> String {
    if args.is_empty() {
        name.to_owned()
    } else {
        format!("{name}({})", args.join(", "))
    }
}

/// A shape as Keras prints it, with the batch axis: `(None, 28, 28)`.
fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = std::iter::once("None".to_owned())
        .chain(shape.iter().map(usize::to_string))
        .collect();
    format!("({})", parts.join(", "))
}

/// Refuses an `axis` other than the last one (`-1`, `[-1]`, or its index counting the
/// batch axis).
fn check_last_axis(config: Obj<'_>, input: &[usize]) -> Result<(), Bad> {
    let last = input.len() as i64;
    let value = config.get_or_null("axis");
    let axis = match value {
        Value::Null => return Ok(()),
        Value::Array(items) if items.len() == 1 => json::integer(&items[0], "axis")?,
        v => json::integer(v, "axis").map_err(|_| {
            Bad(format!(
                "`axis` = {} is not supported (mlp works on the last axis only)",
                json::short(v)
            ))
        })?,
    };
    if axis == -1 || axis == last {
        Ok(())
    } else {
        Err(Bad(format!(
            "`axis` = {} is not supported (mlp works on the last axis only, -1 or {last})",
            json::short(value)
        )))
    }
}

/// A number, or a one-element list of one (Keras allows per-channel lists).
fn scalar(value: &Value, key: &str) -> Result<f64, Bad> {
    match value {
        Value::Array(items) if items.len() == 1 => json::number(&items[0], key),
        Value::Array(_) => Err(Bad(format!(
            "`{key}` = {} is not supported (mlp takes one number)",
            json::short(value)
        ))),
        v => json::number(v, key),
    }
}

/// `Normalization` statistics given in the config: one number for every feature, or one
/// per feature.
fn stats(value: &Value, key: &str, features: usize) -> Result<Vec<f32>, Bad> {
    let flat = flatten_numbers(value, key)?;
    match flat.len() {
        1 => Ok(vec![flat[0] as f32; features]),
        n if n == features => Ok(flat.iter().map(|&x| x as f32).collect()),
        n => Err(Bad(format!(
            "`{key}` has {n} values but the layer normalises {features} features"
        ))),
    }
}

fn flatten_numbers(value: &Value, key: &str) -> Result<Vec<f64>, Bad> {
    match value {
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(flatten_numbers(item, key)?);
            }
            Ok(out)
        }
        v => Ok(vec![json::number(v, key)?]),
    }
}

/// An activation by its Keras name, as the spec writes it.
fn activation(value: &Value, key: &str) -> Result<String, Bad> {
    match value {
        Value::Null => Ok(kw::LINEAR.to_owned()),
        Value::String(name) => {
            if ACTIVATIONS.contains(&name.as_str()) {
                Ok(name.clone())
            } else {
                Err(Bad(format!(
                    "`{key}` = \"{name}\" is not supported; mlp has {}",
                    ACTIVATIONS.join(", ")
                )))
            }
        }
        other => Err(Bad(format!(
            "`{key}` = {} is not supported (mlp reads activations by name: {})",
            json::short(other),
            ACTIVATIONS.join(", ")
        ))),
    }
}

/// An initialiser, `zeros` when absent or `null`.
fn init_or(value: Option<&Value>, key: &str) -> Result<String, Bad> {
    match value {
        None | Some(Value::Null) => Ok(kw::ZEROS.to_owned()),
        Some(v) => init(v, key),
    }
}

/// Keras's initialiser classes (and their snake-case names) with mlp's name for each,
/// for the ones that take no argument but a seed.
const FAN_INITS: &[(&str, &str)] = &[
    ("GlorotUniform", kw::GLOROT_UNIFORM),
    ("GlorotNormal", kw::GLOROT_NORMAL),
    ("HeNormal", kw::HE_NORMAL),
    ("HeUniform", kw::HE_UNIFORM),
    ("LecunNormal", kw::LECUN_NORMAL),
    ("LecunUniform", kw::LECUN_UNIFORM),
];

/// Keras's `VarianceScaling(scale, mode, distribution)` forms of the initialisers above.
const VARIANCE_SCALING: &[(f64, &str, &str, &str)] = &[
    (1.0, "fan_avg", "uniform", kw::GLOROT_UNIFORM),
    (1.0, "fan_avg", "truncated_normal", kw::GLOROT_NORMAL),
    (2.0, "fan_in", "truncated_normal", kw::HE_NORMAL),
    (2.0, "fan_in", "uniform", kw::HE_UNIFORM),
    (1.0, "fan_in", "truncated_normal", kw::LECUN_NORMAL),
    (1.0, "fan_in", "uniform", kw::LECUN_UNIFORM),
];

/// An initialiser as the spec writes it (`he_normal`, `uniform(-0.1, 0.1)`).
fn init(value: &Value, key: &str) -> Result<String, Bad> {
    let unsupported = |what: &str| {
        Bad(format!(
            "`{key}` = {what} is not supported; mlp has Zeros, Ones, Constant, RandomUniform, \
             RandomNormal, TruncatedNormal, GlorotUniform, GlorotNormal, HeNormal, HeUniform, \
             LecunNormal, LecunUniform"
        ))
    };
    let (class, config) = match value {
        Value::String(name) => (name.as_str(), None),
        Value::Object(_) => {
            let obj = Obj::of(value, &format!("`{key}`"))?;
            let class = obj
                .string("class_name")
                .map_err(|b| Bad(format!("`{key}`: {}", b.0)))?;
            let config = match obj.get_or_null("config") {
                Value::Null => None,
                v => Some(Obj::of(v, &format!("`{key}.config`"))?),
            };
            (class, config)
        }
        other => return Err(unsupported(&json::short(other))),
    };
    let empty = serde_json::Map::new();
    let config = config.unwrap_or(Obj { map: &empty });
    let f = |k: &str, default: f64| -> Result<f64, Bad> {
        config
            .f64_or(k, default)
            .map_err(|b| Bad(format!("`{key}`: {}", b.0)))
    };
    let refuse_unknown = |keys: &[&str]| {
        config
            .refuse_unknown(keys)
            .map_err(|b| Bad(format!("`{key}` ({class}): {}", b.0)))
    };
    let text = match class {
        "Zeros" | "zeros" => {
            refuse_unknown(&[])?;
            kw::ZEROS.to_owned()
        }
        "Ones" | "ones" => {
            refuse_unknown(&[])?;
            kw::ONES.to_owned()
        }
        "Constant" | "constant" => {
            refuse_unknown(&["value"])?;
            let v = config.get_or_null("value");
            let value = match v {
                Value::Null => 0.0,
                v => scalar(v, "value").map_err(|b| Bad(format!("`{key}`: {}", b.0)))?,
            };
            format!("{}({})", kw::CONSTANT, number(value))
        }
        "RandomUniform" | "random_uniform" | "uniform" => {
            refuse_unknown(&["seed", "minval", "maxval"])?;
            let (min, max) = (f("minval", -0.05)?, f("maxval", 0.05)?);
            if min as f32 == -0.05 && max as f32 == 0.05 {
                kw::UNIFORM.to_owned()
            } else {
                format!("{}({}, {})", kw::UNIFORM, number(min), number(max))
            }
        }
        "RandomNormal" | "random_normal" | "normal" | "TruncatedNormal" | "truncated_normal" => {
            refuse_unknown(&["seed", "mean", "stddev"])?;
            let name =
                if class.eq_ignore_ascii_case("truncatednormal") || class == "truncated_normal" {
                    kw::TRUNCATED_NORMAL
                } else {
                    kw::NORMAL
                };
            let (mean, stddev) = (f("mean", 0.0)?, f("stddev", 0.05)?);
            if mean == 0.0 && stddev as f32 == 0.05 {
                name.to_owned()
            } else {
                format!(
                    "{name}({} = {}, {} = {})",
                    kw::MEAN,
                    number(mean),
                    kw::STDDEV,
                    number(stddev)
                )
            }
        }
        "VarianceScaling" | "variance_scaling" => {
            refuse_unknown(&["seed", "scale", "mode", "distribution"])?;
            let scale = f("scale", 1.0)?;
            let mode = config
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("fan_in");
            let dist = config
                .get("distribution")
                .and_then(Value::as_str)
                .unwrap_or("truncated_normal");
            VARIANCE_SCALING
                .iter()
                .find(|(s, m, d, _)| *s == scale && *m == mode && *d == dist)
                .map(|(.., name)| (*name).to_owned())
                .ok_or_else(|| {
                    unsupported(&format!(
                        "VarianceScaling(scale = {}, mode = \"{mode}\", distribution = \"{dist}\")",
                        number(scale)
                    ))
                })?
        }
        other => {
            let snake = other.to_ascii_lowercase();
            let found = FAN_INITS
                .iter()
                .find(|(c, s)| *c == other || *s == other || *s == snake)
                .map(|(_, s)| *s);
            match found {
                Some(name) => {
                    refuse_unknown(&["seed", "input_axes", "output_axes"])?;
                    name.to_owned()
                }
                None => return Err(unsupported(other)),
            }
        }
    };
    Ok(text)
}

/// A regulariser as the spec writes it (`l2(0.001)`), `None` for `null`. The form follows
/// the factors, not Keras's class: `l1(a)` when only L1 is set, `l2(b)` when only L2
/// is, `l1_l2(l1 = a, l2 = b)` otherwise (as export chooses the class).
fn reg(value: &Value, key: &str) -> Result<Option<String>, Bad> {
    let unsupported = |what: &str| {
        Bad(format!(
            "`{key}` = {what} is not supported; mlp has L1, L2 and L1L2"
        ))
    };
    let (class, config) = match value {
        Value::Null => return Ok(None),
        Value::String(name) => (name.as_str(), None),
        Value::Object(_) => {
            let obj = Obj::of(value, &format!("`{key}`"))?;
            let class = obj
                .string("class_name")
                .map_err(|b| Bad(format!("`{key}`: {}", b.0)))?;
            let config = match obj.get_or_null("config") {
                Value::Null => None,
                v => Some(Obj::of(v, &format!("`{key}.config`"))?),
            };
            (class, config)
        }
        other => return Err(unsupported(&json::short(other))),
    };
    let empty = serde_json::Map::new();
    let config = config.unwrap_or(Obj { map: &empty });
    let f = |k: &str, default: f64| -> Result<f64, Bad> {
        config
            .f64_or(k, default)
            .map_err(|b| Bad(format!("`{key}`: {}", b.0)))
    };
    let (l1, l2) = match class {
        "L1" | "l1" => (f("l1", 0.01)?, 0.0),
        "L2" | "l2" => (0.0, f("l2", 0.01)?),
        "L1L2" | "l1_l2" => (f("l1", 0.0)?, f("l2", 0.0)?),
        other => return Err(unsupported(other)),
    };
    config
        .refuse_unknown(&["l1", "l2"])
        .map_err(|b| Bad(format!("`{key}` ({class}): {}", b.0)))?;
    let text = match (l1 != 0.0, l2 != 0.0) {
        (true, false) => format!("{}({})", kw::L1, number(l1)),
        (false, true) => format!("{}({})", kw::L2, number(l2)),
        _ => format!(
            "{}({} = {}, {} = {})",
            kw::L1_L2,
            kw::L1,
            number(l1),
            kw::L2,
            number(l2)
        ),
    };
    Ok(Some(text))
}
