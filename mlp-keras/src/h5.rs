//! `model.weights.h5`: the weights as Keras lays them out, written with `hdf5-pure` and
//! read back with every dataset checked against what the configuration says it must be
//! before any of its data is read.
//!
//! Layout (Keras 3's `H5IOStore`): a group per layer at `layers/<path>/vars` (the path
//! made from the layer's class, [`layer_paths`]) whose
//! datasets `0`, `1`, … are the layer's variables in Keras's order (the same order as
//! mlp's [`LayerKind::tensors`](mlp_spec::ir::LayerKind::tensors)); `optimizer/vars`
//! with `0` the step count (int64, a scalar), `1` the learning rate (float32 scalar), then
//! the optimiser's slots; an empty `vars` group for the model itself. Every `vars` group
//! carries a `name` attribute (the layer's, the optimiser's or the model's name), as
//! Keras writes it (it never reads it back).

use hdf5_pure::{AttrValue, DType, File, FileBuilder, FormatError};

use crate::{ExportError, KerasErrorKind};

/// Keras's `naming.to_snake_case` of a class name (`LeakyReLU` → `leaky_re_lu`,
/// `BatchNormalization` → `batch_normalization`): the two regular-expression passes
/// `(.)([A-Z][a-z]+)` → `\1_\2` and `([a-z])([A-Z])` → `\1_\2`, then lower case.
pub(crate) fn snake_case(class: &str) -> String {
    let s: Vec<char> = class
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut first = Vec::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < s.len() {
        let word =
            i + 2 < s.len() && s[i + 1].is_ascii_uppercase() && s[i + 2].is_ascii_lowercase();
        if word {
            let mut end = i + 3;
            while end < s.len() && s[end].is_ascii_lowercase() {
                end += 1;
            }
            first.push(s[i]);
            first.push('_');
            first.extend_from_slice(&s[i + 1..end]);
            i = end;
        } else {
            first.push(s[i]);
            i += 1;
        }
    }
    let mut out = String::with_capacity(first.len() + 4);
    let mut i = 0;
    while i < first.len() {
        if i + 1 < first.len() && first[i].is_ascii_lowercase() && first[i + 1].is_ascii_uppercase()
        {
            out.push(first[i]);
            out.push('_');
            out.push(first[i + 1]);
            i += 2;
        } else {
            out.push(first[i]);
            i += 1;
        }
    }
    out.to_lowercase()
}

/// The groups Keras saves a container's layers under, given their classes in the
/// container's order: each the snake-case class name, numbered from the second layer of
/// the same class on (`dense`, `dense_1`, `flatten`, `dense_2`), as Keras's
/// `_save_container_state` names them (never by the layers' own names).
pub(crate) fn layer_paths<'a>(classes: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used: Vec<(String, usize)> = Vec::new();
    classes
        .into_iter()
        .map(|class| {
            let name = snake_case(class);
            if let Some((_, count)) = used.iter_mut().find(|(n, _)| *n == name) {
                *count += 1;
                format!("{name}_{count}")
            } else {
                used.push((name.clone(), 0));
                name
            }
        })
        .collect()
}

/// The member's name, for messages.
const MEMBER: &str = crate::archive::WEIGHTS;

/// One variable to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Var<'a> {
    /// A float32 tensor of the given shape (`[]` for a scalar), row-major.
    F32(Vec<usize>, &'a [f32]),
    /// An owned float32 scalar.
    F32Scalar(f32),
    /// An int64 scalar (a step count, a `Normalization` count).
    I64Scalar(i64),
}

/// One `vars` group to write: where (`dense` under `layers/`, or `optimizer`), the
/// `name` attribute, and the variables.
#[derive(Debug, Clone)]
pub(crate) struct Group<'a> {
    /// The parent path (`layers/dense`, `optimizer`), `""` for the root's `vars`.
    pub(crate) path: String,
    /// The `name` attribute of the `vars` group.
    pub(crate) name: String,
    /// The datasets `0`, `1`, …
    pub(crate) vars: Vec<Var<'a>>,
}

/// The bytes of a weights file holding `layers` (under `layers/`), then `optimizer` (if
/// any), then the model's own empty `vars` group named `model`.
pub(crate) fn write(
    model: &str,
    layers: &[Group<'_>],
    optimizer: Option<&Group<'_>>,
) -> Result<Vec<u8>, ExportError> {
    let mut file = FileBuilder::new();
    let mut layers_group = file.create_group("layers");
    for layer in layers {
        let mut parent = layers_group.create_group(&layer.path);
        let vars = vars_group(&mut parent, layer);
        parent.add_group(vars);
        layers_group.add_group(parent.finish());
    }
    file.add_group(layers_group.finish());
    if let Some(opt) = optimizer {
        let mut parent = file.create_group(&opt.path);
        let vars = vars_group(&mut parent, opt);
        parent.add_group(vars);
        file.add_group(parent.finish());
    }
    let mut root_vars = file.create_group("vars");
    root_vars.set_attr("name", AttrValue::VarLenString(model.to_owned()));
    file.add_group(root_vars.finish());
    file.finish().map_err(|e| ExportError::Encode {
        what: MEMBER,
        message: e.to_string(),
    })
}

/// The `vars` group of `group`, built inside `parent`.
fn vars_group(parent: &mut hdf5_pure::GroupBuilder, group: &Group<'_>) -> hdf5_pure::FinishedGroup {
    let mut vars = parent.create_group("vars");
    vars.set_attr("name", AttrValue::VarLenString(group.name.clone()));
    for (i, var) in group.vars.iter().enumerate() {
        let name = i.to_string();
        let ds = vars.create_dataset(&name);
        match var {
            Var::F32(shape, data) => {
                let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
                ds.with_f32_data(data).with_shape(&dims);
            }
            Var::F32Scalar(x) => {
                ds.with_f32_data(&[*x]).with_shape(&[]);
            }
            Var::I64Scalar(n) => {
                ds.with_i64_data(&[*n]).with_shape(&[]);
            }
        }
    }
    vars.finish()
}

/// A parsed weights file.
pub(crate) struct Weights {
    file: File,
    /// The file's length in bytes: no uncompressed dataset holds more.
    len: u64,
}

/// What a variable must be, for [`Weights::read_f32`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect<'a> {
    /// Its shape (`[]` for a scalar).
    pub(crate) shape: &'a [usize],
    /// What it is, for messages: ``the kernel of layer `dense` ``.
    pub(crate) what: &'a str,
}

impl Weights {
    /// Parses `bytes` as HDF5 (metadata checksums verified).
    pub(crate) fn parse(bytes: Vec<u8>) -> Result<Weights, KerasErrorKind> {
        let len = bytes.len() as u64;
        let file = File::from_bytes(bytes).map_err(|e| KerasErrorKind::Weights {
            at: MEMBER.to_owned(),
            message: format!("not a readable HDF5 file: {e}"),
        })?;
        Ok(Weights { file, len })
    }

    /// The number of variables in `<parent>/vars`, `None` when there is no such group.
    pub(crate) fn var_count(&self, parent: &str) -> Result<Option<usize>, KerasErrorKind> {
        let path = format!("{parent}/vars");
        match self.file.group(&path) {
            Ok(group) => {
                let names = group.datasets().map_err(|e| bad(&path, &e))?;
                Ok(Some(names.len()))
            }
            Err(hdf5_pure::Error::Format(FormatError::PathNotFound(_))) => Ok(None),
            Err(e) => Err(bad(&path, &e)),
        }
    }

    /// Checks the float32 variable `<parent>/vars/<index>` without reading its data: it
    /// exists, is float32, has exactly `expect.shape`, and the file is large enough to
    /// hold it (so nothing is allocated for a shape the file merely claims).
    pub(crate) fn check_f32(
        &self,
        parent: &str,
        index: usize,
        expect: Expect<'_>,
    ) -> Result<hdf5_pure::Dataset, KerasErrorKind> {
        let path = format!("{parent}/vars/{index}");
        let ds = self.dataset(&path, expect.what)?;
        let dtype = ds.dtype().map_err(|e| bad(&path, &e))?;
        if dtype != DType::F32 {
            return Err(at(
                &path,
                format!(
                    "{} is stored as {}, not float32",
                    expect.what,
                    dtype_name(&dtype)
                ),
            ));
        }
        check_shape(&ds, &path, expect)?;
        let values = expect
            .shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64));
        match values.and_then(|n| n.checked_mul(4)) {
            Some(bytes) if bytes <= self.len => Ok(ds),
            _ => Err(at(
                &path,
                format!(
                    "{} claims {} float32 values, more than the {}-byte weights file holds",
                    expect.what,
                    tuple(&expect.shape.iter().map(|&d| d as u64).collect::<Vec<_>>()),
                    self.len
                ),
            )),
        }
    }

    /// The float32 variable `<parent>/vars/<index>`, after [`Weights::check_f32`]; every
    /// value must be finite.
    pub(crate) fn read_f32(
        &self,
        parent: &str,
        index: usize,
        expect: Expect<'_>,
    ) -> Result<Vec<f32>, KerasErrorKind> {
        let path = format!("{parent}/vars/{index}");
        let ds = self.check_f32(parent, index, expect)?;
        let data = ds.read_f32().map_err(|e| bad(&path, &e))?;
        let len: usize = expect.shape.iter().product();
        if data.len() != len {
            return Err(at(
                &path,
                format!("{} holds {} values, not {len}", expect.what, data.len()),
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(at(
                &path,
                format!(
                    "{} holds a non-finite value ({}) at index {i}",
                    expect.what, data[i]
                ),
            ));
        }
        Ok(data)
    }

    /// The integer scalar `<parent>/vars/<index>` (any integer type; Keras writes int64).
    pub(crate) fn read_int_scalar(
        &self,
        parent: &str,
        index: usize,
        what: &str,
    ) -> Result<i64, KerasErrorKind> {
        let path = format!("{parent}/vars/{index}");
        let ds = self.dataset(&path, what)?;
        let dtype = ds.dtype().map_err(|e| bad(&path, &e))?;
        let integer = matches!(
            dtype,
            DType::I8
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U8
                | DType::U16
                | DType::U32
                | DType::U64
        );
        if !integer {
            return Err(at(
                &path,
                format!("{what} is stored as {}, not an integer", dtype_name(&dtype)),
            ));
        }
        check_shape(&ds, &path, Expect { shape: &[], what })?;
        match ds.read_i64().map_err(|e| bad(&path, &e))?[..] {
            [n] => Ok(n),
            ref other => Err(at(
                &path,
                format!("{what} holds {} values, not 1", other.len()),
            )),
        }
    }

    fn dataset(&self, path: &str, what: &str) -> Result<hdf5_pure::Dataset, KerasErrorKind> {
        match self.file.dataset(path) {
            Ok(ds) => Ok(ds),
            Err(hdf5_pure::Error::Format(FormatError::PathNotFound(_))) => {
                Err(at(path, format!("{what} is missing")))
            }
            Err(e) => Err(bad(path, &e)),
        }
    }
}

/// Checks the dataset's shape against `expect` without reading its data.
fn check_shape(
    ds: &hdf5_pure::Dataset,
    path: &str,
    expect: Expect<'_>,
) -> Result<(), KerasErrorKind> {
    let shape = ds.shape().map_err(|e| bad(path, &e))?;
    let fits = shape.len() == expect.shape.len()
        && shape
            .iter()
            .zip(expect.shape)
            .all(|(&found, &want)| found == want as u64);
    if fits {
        Ok(())
    } else {
        let want: Vec<u64> = expect.shape.iter().map(|&d| d as u64).collect();
        Err(at(
            path,
            format!(
                "{} has shape {} but the layer needs {}",
                expect.what,
                tuple(&shape),
                tuple(&want)
            ),
        ))
    }
}

/// A shape as Python prints it: `(784, 64)`, `(64,)`, `()`.
pub(crate) fn tuple(shape: &[u64]) -> String {
    if let [one] = shape {
        format!("({one},)")
    } else {
        let parts: Vec<String> = shape.iter().map(u64::to_string).collect();
        format!("({})", parts.join(", "))
    }
}

fn dtype_name(dtype: &DType) -> String {
    match dtype {
        DType::F32 => "float32".to_owned(),
        DType::F64 => "float64".to_owned(),
        DType::I8 => "int8".to_owned(),
        DType::I16 => "int16".to_owned(),
        DType::I32 => "int32".to_owned(),
        DType::I64 => "int64".to_owned(),
        DType::U8 => "uint8".to_owned(),
        DType::U16 => "uint16".to_owned(),
        DType::U32 => "uint32".to_owned(),
        DType::U64 => "uint64".to_owned(),
        other => format!("{other}"),
    }
}

fn at(path: &str, message: String) -> KerasErrorKind {
    KerasErrorKind::Weights {
        at: format!("{MEMBER}: {path}"),
        message,
    }
}

fn bad(path: &str, error: &hdf5_pure::Error) -> KerasErrorKind {
    at(path, format!("cannot be read: {error}"))
}

#[cfg(test)]
mod tests {
    use super::{layer_paths, snake_case};

    #[test]
    fn class_names_become_keras_paths() {
        for (class, snake) in [
            ("Dense", "dense"),
            ("LeakyReLU", "leaky_re_lu"),
            ("ReLU", "re_lu"),
            ("BatchNormalization", "batch_normalization"),
            ("InputLayer", "input_layer"),
            ("LayerNormalization", "layer_normalization"),
            ("Conv2D", "conv2d"),
            ("GlobalAveragePooling1D", "global_average_pooling1d"),
        ] {
            assert_eq!(snake_case(class), snake, "{class}");
        }
        assert_eq!(
            layer_paths(["Flatten", "Dense", "ReLU", "Dense", "Dense", "ReLU"]),
            ["flatten", "dense", "re_lu", "dense_1", "dense_2", "re_lu_1"]
        );
    }
}
