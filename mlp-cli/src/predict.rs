//! `mlp predict SPEC --weights CKPT --data PATH [--out FILE.csv|FILE.npy]` and
//! `mlp evaluate SPEC --weights CKPT --data PATH`: a trained model on data of the user's.
//!
//! The checkpoint is loaded into a `Network` of the spec; one written for another spec is
//! refused, naming the first tensor that differs. `predict` writes one row per sample: the
//! outputs and, for a classifier, the predicted class, as its original string label when
//! the training data named its classes (the checkpoint's `labels`). Without `--out` it
//! prints the CSV. `evaluate` prints Keras's evaluate line (loss and every metric).
//! Files are written atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use mlp_runtime::ir::{Loss, Model as IrModel};
use mlp_runtime::{checkpoint, evaluate, predict, Model, Network};

use crate::data_args::DataArgs;
use crate::error::CliError;
use crate::spec_file::SpecFile;
use crate::train::choose_model;

/// The spec, the model and its weights.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// The `.mlp` file.
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// The model (required when the file defines several).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The trained weights: `mlp train --save FILE`, or a `--checkpoint-dir` file.
    #[arg(long, value_name = "CKPT")]
    pub weights: PathBuf,
    /// Samples per batch [default: the spec's].
    #[arg(long, value_name = "N", value_parser = mlp_cli::parse_positive, allow_negative_numbers = true)]
    pub batch: Option<usize>,
}

/// The flags of `mlp predict`.
#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// The spec, `--model`, `--weights`, `--batch`.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The inputs (targets, if the file has them, are ignored): see `mlp train --help`.
    #[command(flatten)]
    pub data: DataArgs,
    /// Write the predictions here, as CSV or `NumPy` `.npy` (the outputs) by extension
    /// [default: print CSV].
    #[arg(long, short = 'o', value_name = "FILE.csv|FILE.npy")]
    pub out: Option<PathBuf>,
}

/// The flags of `mlp evaluate`.
#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    /// The spec, `--model`, `--weights`, `--batch`.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The data, with targets: see `mlp train --help`.
    #[command(flatten)]
    pub data: DataArgs,
}

/// A loaded model and the class names its checkpoint carries.
struct Loaded {
    network: Network,
    labels: Option<Vec<String>>,
}

fn load(args: &ModelArgs, spec: &IrModel) -> Result<Loaded, CliError> {
    let batch = args.batch.unwrap_or(spec.train.batch).max(1);
    let mut network = Network::new(spec, 0, batch).map_err(|source| CliError::Network {
        model: spec.name.clone(),
        source,
    })?;
    let info = network
        .load(&args.weights)
        .map_err(|error| match error.kind {
            checkpoint::CheckpointErrorKind::Io(source) => CliError::Io {
                action: "read",
                path: error.path,
                source,
            },
            _ => CliError::Weights {
                model: spec.name.clone(),
                source: Box::new(error),
            },
        })?;
    let labels = info.training.and_then(|t| t.labels);
    Ok(Loaded { network, labels })
}

/// Prints Keras's evaluate line for the model on `--data`.
///
/// # Errors
/// Exit 1: spec mistakes, an unknown `--model`, weights of another model, data that does
/// not fit the model. Exit 2: files that cannot be read.
pub fn run_evaluate(args: &EvaluateArgs) -> Result<(), CliError> {
    let file = SpecFile::read(&args.model.spec)?;
    let spec = file.compile()?;
    let model = choose_model(&spec, &args.model.spec, args.model.model.as_deref())?;
    let data = args.data.load(model)?;
    crate::train::check_data_shape(model, &args.model.spec, &data.train, &data.source)?;
    crate::train::check_targets(model, &data)?;
    let mut loaded = load(&args.model, model)?;
    let batch = loaded.network.max_batch();
    let result =
        evaluate(&mut loaded.network, &data.train, batch).map_err(|source| CliError::Use {
            action: "evaluate",
            model: model.name.clone(),
            source: Box::new(source),
        })?;
    let steps = data.train.len().div_ceil(batch);
    println!("{steps}/{steps} - {result}");
    Ok(())
}

/// Writes (or prints) the model's predictions for `--data`.
///
/// # Errors
/// As [`run_evaluate`], plus an `--out` file that cannot be written (exit 2).
pub fn run_predict(args: &PredictArgs) -> Result<(), CliError> {
    let format = match &args.out {
        None => Out::Stdout,
        Some(path) => Out::from_path(path)?,
    };
    if let Some(path) = &args.out {
        crate::train::check_folder(path)?;
    }
    let file = SpecFile::read(&args.model.spec)?;
    let spec = file.compile()?;
    let model = choose_model(&spec, &args.model.spec, args.model.model.as_deref())?;
    let data = args.data.load_inputs(model)?;
    crate::train::check_data_shape(model, &args.model.spec, &data.train, &data.source)?;
    let mut loaded = load(&args.model, model)?;
    let x = data.train.features.to_f32();
    let outputs = predict(&mut loaded.network, x.view()).map_err(|source| CliError::Use {
        action: "predict",
        model: model.name.clone(),
        source: Box::new(source),
    })?;
    let classes = classifier(model).then(|| {
        outputs
            .rows()
            .into_iter()
            .map(|row| {
                let row = row.as_slice().unwrap_or(&[]);
                if row.len() == 1 {
                    usize::from(row[0] > 0.5)
                } else {
                    mlp_runtime::loss::argmax(row)
                }
            })
            .collect::<Vec<_>>()
    });
    let bytes = match format {
        Out::Npy => npy_f32(outputs.nrows(), outputs.ncols(), outputs.iter().copied()),
        Out::Csv | Out::Stdout => {
            csv(&outputs, classes.as_deref(), loaded.labels.as_deref()).into_bytes()
        }
    };
    if let Some(path) = &args.out {
        mlp_runtime::fs::write_atomic(path, &bytes).map_err(|e| CliError::Io {
            action: "write",
            path: e.path.clone(),
            source: e.source,
        })?;
        eprintln!(
            "Predictions for {} samples written to {}",
            outputs.nrows(),
            path.display()
        );
    } else {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error of ours.
        let _ = out.write_all(&bytes).and_then(|()| out.flush());
    }
    Ok(())
}

/// Whether the model's outputs are class scores: a cross-entropy loss.
fn classifier(model: &IrModel) -> bool {
    model.train.loss.is_categorical() || matches!(model.train.loss, Loss::BinaryCrossentropy { .. })
}

/// Where predictions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Stdout,
    Csv,
    Npy,
}

impl Out {
    fn from_path(path: &Path) -> Result<Out, CliError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(Out::Csv),
            Some("npy") => Ok(Out::Npy),
            _ => Err(CliError::Usage(format!(
                "--out `{}`: predictions are written as `.csv` or `.npy`",
                path.display()
            ))),
        }
    }
}

/// The predictions as CSV: `output_0,…[,class]`, one row per sample; a class is its name
/// when `labels` names the classes.
fn csv(
    outputs: &ndarray::Array2<f32>,
    classes: Option<&[usize]>,
    labels: Option<&[String]>,
) -> String {
    let mut text = String::new();
    let header: Vec<String> = (0..outputs.ncols())
        .map(|j| format!("output_{j}"))
        .collect();
    text.push_str(&header.join(","));
    if classes.is_some() {
        text.push_str(",class");
    }
    text.push('\n');
    for (r, row) in outputs.rows().into_iter().enumerate() {
        let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
        text.push_str(&cells.join(","));
        if let Some(classes) = classes {
            let class = classes.get(r).copied().unwrap_or(0);
            match labels.and_then(|l| l.get(class)) {
                Some(name) => {
                    let _ = write!(text, ",{}", csv_cell(name));
                }
                None => {
                    let _ = write!(text, ",{class}");
                }
            }
        }
        text.push('\n');
    }
    text
}

/// A CSV cell, quoted when it holds a delimiter, a quote or a line break (RFC 4180).
fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A `NumPy` `.npy` (format 1.0) of `rows × cols` little-endian f32 values in C order.
fn npy_f32(rows: usize, cols: usize, values: impl Iterator<Item = f32>) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + header length (2) + dict + padding + '\n', to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let padding = unpadded.next_multiple_of(64) - unpadded;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(10 + header_len + rows * cols * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&u16::try_from(header_len).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}
