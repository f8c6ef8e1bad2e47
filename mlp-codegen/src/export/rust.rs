//! The exported model as one `#![no_std]`-compatible Rust module.

use super::{act_name, Array, ExportError, ExportOptions, Place, Program, Step, StepKind, Weights};
use crate::lit::float_text;
use mlp_spec::ir::{self, Activation};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The Rust module of `model` with `weights` compiled in (see the [module docs](super)).
///
/// # Errors
/// [`ExportError`] when the model cannot be planned or the weights do not fit it.
pub fn rust(
    model: &ir::Model,
    weights: &Weights,
    options: &ExportOptions,
) -> Result<String, ExportError> {
    let p = super::program(model, weights)?;
    super::check_code_activations(&model.name, &p)?;
    let mut out = String::new();
    header(&mut out, &p, options);
    consts(&mut out, &p);
    predict(&mut out, &p);
    helpers(&mut out, &p);
    for a in &p.arrays {
        array(&mut out, a);
    }
    Ok(out)
}

fn header(out: &mut String, p: &Program, options: &ExportOptions) {
    let from = if options.source_name.is_empty() {
        String::new()
    } else {
        format!(" from `{}`", options.source_name)
    };
    let sha = options.checkpoint_sha256.as_str();
    let _ = writeln!(
        out,
        "//! `{}`, inference only: exported by `mlp export`{from}.",
        p.name
    );
    let _ = writeln!(out, "//!");
    if !sha.is_empty() {
        let _ = writeln!(out, "//! Checkpoint sha256 `{sha}`.");
        let _ = writeln!(out, "//!");
    }
    let _ = writeln!(
        out,
        "//! {} parameters compiled in: {} bytes of weights (flash on a device) and {} bytes",
        p.params,
        p.weight_bytes(),
        p.ram_bytes()
    );
    let _ = writeln!(out, "//! of scratch (`SCRATCH` floats, RAM) per call.");
    let _ = writeln!(
        out,
        "//! `#![no_std]`-compatible: no allocation and no dependency. `@generated`: do not edit."
    );
    out.push('\n');
}

fn consts(out: &mut String, p: &Program) {
    let _ = writeln!(out, "/// Features of one input sample.");
    let _ = writeln!(out, "pub const INPUTS: usize = {};", p.inputs);
    let what = if p.head.is_some() {
        "Probabilities"
    } else {
        "Outputs"
    };
    let _ = writeln!(out, "/// {what} of one sample.");
    let _ = writeln!(out, "pub const OUTPUTS: usize = {};", p.outputs);
    let _ = writeln!(
        out,
        "/// Floats of scratch a call needs (planned at generation time: the largest pair of"
    );
    let _ = writeln!(out, "/// buffers alive at once).");
    let _ = writeln!(out, "pub const SCRATCH: usize = {};", p.scratch());
    let _ = writeln!(out, "/// Where the scratch's second half starts.");
    let _ = writeln!(out, "const HALF: usize = {};\n", p.half_a);
}

fn place(p: Place, len: usize) -> String {
    match p {
        Place::Input => format!("&x[..{len}]"),
        Place::A => format!("a[..{len}]"),
        Place::B => format!("b[..{len}]"),
        Place::Output => "out[..]".to_owned(),
    }
}

fn src(p: Place, len: usize) -> String {
    match p {
        Place::Input => format!("&x[..{len}]"),
        Place::A | Place::B | Place::Output => format!("&{}", place(p, len)),
    }
}

fn dst(p: Place, len: usize) -> String {
    format!("&mut {}", place(p, len))
}

/// The floats a step reads.
fn input_len(step: &Step) -> usize {
    match &step.kind {
        StepKind::Dense { inputs, .. } => *inputs,
        StepKind::BatchNorm { .. }
        | StepKind::LeakyRelu { .. }
        | StepKind::Activation { .. }
        | StepKind::Rescale { .. }
        | StepKind::Copy { .. } => step.len,
    }
}

fn predict(out: &mut String, p: &Program) {
    let _ = writeln!(
        out,
        "/// The model's output for one sample `x` (what `mlp`'s `Network::forward` returns), into"
    );
    let _ = writeln!(out, "/// `out`; `scratch` holds the buffers in between.");
    let _ = writeln!(
        out,
        "pub fn predict(x: &[f32; INPUTS], scratch: &mut [f32; SCRATCH], out: &mut [f32; OUTPUTS]) {{"
    );
    let uses = |which: Place| p.steps.iter().any(|s| s.src == which || s.dst == which);
    let (a, b) = (uses(Place::A), uses(Place::B));
    let names = match (a, b) {
        (true, true) => "(a, b)",
        (true, false) => "(a, _)",
        (false, true) => "(_, b)",
        (false, false) => "(_, _)",
    };
    let _ = writeln!(out, "    let {names} = scratch.split_at_mut(HALF);");
    for step in &p.steps {
        let (s, d) = (src(step.src, input_len(step)), dst(step.dst, step.len));
        let _ = writeln!(out, "    // `{}` (spec line {}).", step.layer, step.line);
        match &step.kind {
            StepKind::Dense {
                kernel, bias, act, ..
            } => {
                let bias = bias
                    .as_ref()
                    .map_or_else(|| "None".to_owned(), |b| format!("Some(&{b})"));
                let _ = writeln!(out, "    dense({s}, &{kernel}, {bias}, {d});");
                activation(out, *act, 1, step.len, step.dst);
            }
            StepKind::BatchNorm { inv, shift, .. } => {
                let _ = writeln!(out, "    batch_norm({s}, &{inv}, &{shift}, {d});");
            }
            StepKind::LeakyRelu { slope, .. } => {
                let _ = writeln!(out, "    leaky_relu({s}, {}, {d});", float_text(*slope));
            }
            StepKind::Activation { rows, cols, act } => {
                let _ = writeln!(
                    out,
                    "    {d}.copy_from_slice({s});",
                    d = place(step.dst, step.len)
                );
                activation(out, *act, *rows, *cols, step.dst);
            }
            StepKind::Rescale { scale, offset, .. } => {
                let _ = writeln!(
                    out,
                    "    rescale({s}, {}, {}, {d});",
                    float_text(*scale),
                    float_text(*offset)
                );
            }
            StepKind::Copy { .. } => {
                let _ = writeln!(
                    out,
                    "    {}.copy_from_slice({s});",
                    place(step.dst, step.len)
                );
            }
        }
    }
    if let Some(head) = p.head {
        let _ = writeln!(out, "    // The logits head's {}.", act_name(head));
        activation(out, head, 1, p.outputs, Place::Output);
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(
        out,
        "/// [`predict`] over the rows of `x` (`INPUTS` floats each) into the rows of `out`"
    );
    let _ = writeln!(
        out,
        "/// (`OUTPUTS` each), as many as both hold; returns how many rows it computed."
    );
    let _ = writeln!(
        out,
        "pub fn predict_batch(x: &[f32], scratch: &mut [f32; SCRATCH], out: &mut [f32]) -> usize {{"
    );
    let _ = writeln!(out, "    let mut rows = 0;");
    let _ = writeln!(
        out,
        "    for (xr, yr) in x.chunks_exact(INPUTS).zip(out.chunks_exact_mut(OUTPUTS)) {{"
    );
    let _ = writeln!(out, "        let rows_of = (<&[f32; INPUTS]>::try_from(xr), <&mut [f32; OUTPUTS]>::try_from(yr));");
    let _ = writeln!(out, "        if let (Ok(xr), Ok(yr)) = rows_of {{");
    let _ = writeln!(out, "            predict(xr, scratch, yr);");
    let _ = writeln!(out, "            rows += 1;");
    let _ = writeln!(out, "        }}");
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out, "    rows");
    let _ = writeln!(out, "}}\n");
}

/// The in-place activation of `rows` rows of `cols` floats at `at`.
fn activation(out: &mut String, act: Activation, rows: usize, cols: usize, at: Place) {
    let n = rows * cols;
    let target = dst(at, n);
    let call = match act {
        // Gelu and softplus are refused by `check_code_activations`.
        Activation::Linear | Activation::Gelu { .. } | Activation::Softplus => return,
        Activation::Relu => format!("relu({target})"),
        Activation::Sigmoid => format!("sigmoid({target})"),
        Activation::Tanh => format!("tanh({target})"),
        Activation::Softmax if rows == 1 => format!("softmax({target})"),
        Activation::Softmax => {
            format!("for row in ({target}).chunks_exact_mut({cols}) {{ softmax(row); }}")
        }
        Activation::Elu { alpha } => format!("elu({target}, {})", float_text(alpha)),
        Activation::Selu => format!("selu({target})"),
        Activation::Silu => format!("silu({target})"),
        Activation::LeakyRelu { negative_slope } => {
            format!(
                "leaky_relu_in_place({target}, {})",
                float_text(negative_slope)
            )
        }
    };
    let _ = writeln!(out, "    {call}; // {}", act_name(act));
}

/// The helper functions the steps call (only those, so nothing is dead code).
fn helpers(out: &mut String, p: &Program) {
    let mut used = BTreeSet::new();
    for step in &p.steps {
        match &step.kind {
            StepKind::Dense { act, .. } => {
                used.insert("dense");
                used.extend(act_helpers(*act));
            }
            StepKind::BatchNorm { .. } => {
                used.insert("batch_norm");
            }
            StepKind::LeakyRelu { .. } => {
                used.insert("leaky_relu");
            }
            StepKind::Activation { act, .. } => used.extend(act_helpers(*act)),
            StepKind::Rescale { .. } => {
                used.insert("rescale");
            }
            StepKind::Copy { .. } => {}
        }
    }
    if let Some(head) = p.head {
        used.extend(act_helpers(head));
    }
    for (name, code) in HELPERS {
        if used.contains(name) {
            out.push_str(code);
            out.push('\n');
        }
    }
}

fn act_helpers(act: Activation) -> Vec<&'static str> {
    match act {
        Activation::Linear | Activation::Gelu { .. } | Activation::Softplus => vec![],
        Activation::Relu => vec!["relu"],
        Activation::Sigmoid => vec!["sigmoid", "exp"],
        Activation::Tanh => vec!["tanh", "exp"],
        Activation::Softmax => vec!["softmax", "exp"],
        Activation::Elu { .. } => vec!["elu", "exp"],
        Activation::Selu => vec!["selu", "exp"],
        Activation::Silu => vec!["silu", "exp"],
        Activation::LeakyRelu { .. } => vec!["leaky_relu_in_place"],
    }
}

/// The helper functions, by name, in the order they are written.
const HELPERS: [(&str, &str); 13] = [
    (
        "elu",
        "/// Keras `elu`: `alpha·(e^x - 1)` for `x < 0`, else `x`, in place.
fn elu(x: &mut [f32], alpha: f32) {
    for v in x {
        if *v < 0.0 {
            *v = alpha * (exp(*v) - 1.0);
        }
    }
}
",
    ),
    (
        "selu",
        "/// Keras `selu` (TensorFlow's constants), in place.
fn selu(x: &mut [f32]) {
    for v in x {
        *v = if *v < 0.0 { 1.758_099_3 * (exp(*v) - 1.0) } else { 1.050_701 * *v };
    }
}
",
    ),
    (
        "silu",
        "/// Keras `silu`: `x·sigmoid(x)`, in place.
fn silu(x: &mut [f32]) {
    for v in x {
        *v *= 1.0 / (1.0 + exp(-*v));
    }
}
",
    ),
    (
        "leaky_relu_in_place",
        "/// Keras `leaky_relu`: `x` for `x > 0`, `slope·x` otherwise, in place.
fn leaky_relu_in_place(x: &mut [f32], slope: f32) {
    for v in x {
        if *v < 0.0 {
            *v *= slope;
        }
    }
}
",
    ),
    (
        "dense",
        "/// `y = x · kernel + bias` (`kernel` row-major `[x.len(), y.len()]`), row by row.
fn dense(x: &[f32], kernel: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    match bias {
        Some(b) => y.copy_from_slice(b),
        None => y.fill(0.0),
    }
    for (&xi, row) in x.iter().zip(kernel.chunks_exact(y.len())) {
        for (yj, &w) in y.iter_mut().zip(row) {
            *yj += xi * w;
        }
    }
}
",
    ),
    (
        "batch_norm",
        "/// `y = x·inv + shift` per feature (`inv = gamma / sqrt(moving_var + epsilon)` and
/// `shift = beta - moving_mean·inv`, computed at export time).
fn batch_norm(x: &[f32], inv: &[f32], shift: &[f32], y: &mut [f32]) {
    for (row, inp) in y.chunks_exact_mut(inv.len()).zip(x.chunks_exact(inv.len())) {
        for f in 0..inv.len() {
            row[f] = inp[f] * inv[f] + shift[f];
        }
    }
}
",
    ),
    (
        "leaky_relu",
        "/// `y = x` for `x ≥ 0`, `slope·x` otherwise.
fn leaky_relu(x: &[f32], slope: f32, y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if v >= 0.0 { v } else { slope * v };
    }
}
",
    ),
    (
        "rescale",
        "/// `y = x·scale + offset`.
fn rescale(x: &[f32], scale: f32, offset: f32, y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v * scale + offset;
    }
}
",
    ),
    (
        "relu",
        "/// `max(x, 0)` in place.
fn relu(x: &mut [f32]) {
    for v in x {
        *v = v.max(0.0);
    }
}
",
    ),
    (
        "sigmoid",
        "/// `1 / (1 + e^-x)` in place.
fn sigmoid(x: &mut [f32]) {
    for v in x {
        *v = 1.0 / (1.0 + exp(-*v));
    }
}
",
    ),
    (
        "tanh",
        "/// `tanh(x)` in place: Cephes `tanhf` (an odd polynomial below 0.625, else
/// `1 - 2 / (e^2x + 1)`).
fn tanh(x: &mut [f32]) {
    for v in x {
        let z = v.abs();
        let t = if z < 0.625 {
            let s = *v * *v;
            ((((-5.704_988_7e-3 * s + 2.063_908_9e-2) * s - 5.373_971_6e-2) * s + 1.333_144_2e-1) * s
                - 3.333_328_2e-1)
                * s
                * *v
                + *v
        } else {
            let t = 1.0 - 2.0 / (exp(2.0 * z) + 1.0);
            if *v < 0.0 { -t } else { t }
        };
        *v = t;
    }
}
",
    ),
    (
        "softmax",
        "/// `e^(x - max) / Σ e^(x - max)` in place.
fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in x.iter_mut() {
        *v = exp(*v - max);
    }
    let mut sum = 0.0f32;
    for &v in x.iter() {
        sum += v;
    }
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}
",
    ),
    (
        "exp",
        "/// `e^x` in f32 without libm: the Cephes `expf` range reduction and polynomial, within
/// 2 ulp (the same function as `mlp`'s runtime).
fn exp(x: f32) -> f32 {
    const MAX_X: f32 = 88.722_83;
    const MIN_X: f32 = -87.336_55;
    const C1: f32 = 0.693_359_4;
    const C2: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0;
    const P: [f32; 6] = [1.987_569_2e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 0.5];
    let xc = x.clamp(MIN_X, MAX_X);
    let t = xc * core::f32::consts::LOG2_E + ROUND;
    let n = t.to_bits().cast_signed() - ROUND.to_bits().cast_signed();
    let nf = t - ROUND;
    let r = (xc - nf * C1) - nf * C2;
    let mut p = P[0];
    for &c in &P[1..] {
        p = p * r + c;
    }
    let e = p * (r * r) + r + 1.0;
    let half = n >> 1;
    let pow2 = |k: i32| f32::from_bits(((k + 127).cast_unsigned()) << 23);
    let y = e * pow2(half) * pow2(n - half);
    if x > MAX_X {
        f32::INFINITY
    } else if x < MIN_X {
        0.0
    } else {
        y
    }
}
",
    ),
];

fn array(out: &mut String, a: &Array) {
    let _ = writeln!(out, "/// {}", a.doc);
    let _ = writeln!(
        out,
        "#[allow(clippy::approx_constant, reason = \"trained weights, not mathematical constants\")]"
    );
    let _ = writeln!(out, "static {}: [f32; {}] = [", a.name, a.values.len());
    for chunk in a.values.chunks(8) {
        let line: Vec<String> = chunk.iter().map(|&v| float_text(v)).collect();
        let _ = writeln!(out, "    {},", line.join(", "));
    }
    let _ = writeln!(out, "];\n");
}
