//! The spec text of an imported model: numbers written so they read back as the values
//! Keras holds, the lines assembled, then laid out by `mlp fmt`'s formatter.

use std::fmt::Write as _;

use mlp_spec::kw;

use crate::json::float_text;

/// A number as spec (and JSON) text: the shortest text of its `f32` when the value is
/// exactly an `f32` (Keras's float32 variables and casts: `0.0010000000474974513` is
/// written `0.001`), else the shortest text of the `f64` (`0.999`, a Python float). Both
/// read back, in f64 and then rounded to f32 as the spec parser reads numbers, as the
/// `f32` Keras computes with.
pub(crate) fn number(x: f64) -> String {
    let single = x as f32;
    if f64::from(single) == x {
        float_text(single)
    } else {
        format!("{x:?}")
    }
}

/// What goes into a spec.
#[derive(Debug, Clone)]
pub(crate) struct Parts<'a> {
    /// The model's name.
    pub(crate) name: &'a str,
    /// Its doc comment lines.
    pub(crate) doc: &'a [String],
    /// The input shape.
    pub(crate) input: &'a [usize],
    /// The layer lines.
    pub(crate) layers: Vec<&'a str>,
    /// The `train` block's `name = value` lines (none: no block).
    pub(crate) train: Vec<(&'static str, String)>,
}

/// The spec text of `parts` (unformatted; [`mlp_spec::format_source`] lays it out).
pub(crate) fn text(parts: &Parts<'_>) -> String {
    let mut out = String::new();
    for line in parts.doc {
        out.push_str("///");
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    let dims: Vec<String> = parts.input.iter().map(usize::to_string).collect();
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{} {} {{\n{} [{}]\n",
        kw::MODEL,
        parts.name,
        kw::INPUT,
        dims.join(", ")
    );
    for layer in &parts.layers {
        out.push_str(layer);
        out.push('\n');
    }
    if !parts.train.is_empty() {
        let _ = writeln!(out, "{} {{", kw::TRAIN);
        for (key, value) in &parts.train {
            let _ = writeln!(out, "{key} = {value}");
        }
        out.push_str("}\n");
    }
    out.push_str("}\n");
    out
}

/// A model name from Keras's (`sequential` → `Sequential`, `my-model_2` → `MyModel2`):
/// the name itself when it is already an identifier starting with a capital letter,
/// otherwise its alphanumeric runs in upper camel case (`Model` when none is left, and a
/// leading digit prefixed with `Model`).
pub(crate) fn model_name(keras: &str) -> String {
    let is_ident = keras.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && keras.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if is_ident {
        return keras.to_owned();
    }
    let mut out = String::new();
    for word in keras.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        "Model".to_owned()
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("Model{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{model_name, number};

    #[test]
    fn numbers_read_back_as_keras_float32_values() {
        // An f32 Keras read back from a variable, a Python float, a whole number.
        assert_eq!(number(0.001_000_000_047_497_451_3), "0.001");
        assert_eq!(number(0.999), "0.999");
        assert_eq!(number(2.0), "2.0");
        assert_eq!(number(1e-7), "1e-7");
        for x in [
            0.001_000_000_047_497_451_3,
            0.999,
            1e-7,
            -0.5,
            0.003_921_568_627_450_98,
        ] {
            assert_eq!(number(x).parse::<f64>().unwrap() as f32, x as f32);
        }
    }

    #[test]
    fn keras_names_become_model_names() {
        assert_eq!(model_name("sequential"), "Sequential");
        assert_eq!(model_name("Baseline"), "Baseline");
        assert_eq!(model_name("my-model_2"), "MyModel2");
        assert_eq!(model_name("2nd"), "Model2nd");
        assert_eq!(model_name("--"), "Model");
    }
}
