//! `mlp export SPEC --weights CKPT [--format rust|c|onnx|keras] -o FILE [--model NAME]`: a
//! trained model as standalone inference code with the weights compiled in — one
//! `#![no_std]` Rust module, or a C99 header plus the `.c` beside it (see
//! `mlp_codegen::export`) — as an ONNX file (see `mlp_onnx`), or as a Keras `.keras` file
//! with the optimiser state, for `keras.saving.load_model` (see `mlp_keras`).
//!
//! The checkpoint is loaded into a `Network` of the spec (every tensor name, shape and
//! value checked), whose inference folds give the exported weights, so the exported code
//! computes what `Network::forward` computes. Files are written atomically: a refused
//! export leaves nothing behind.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use mlp_codegen::export::{self, ExportOptions, Weights};
use mlp_runtime::{checkpoint, Model, Network};
use sha2::{Digest, Sha256};

use crate::error::CliError;
use crate::spec_file::SpecFile;
use crate::train::choose_model;

/// What to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One `#![no_std]`-compatible Rust module (`model.rs`).
    Rust,
    /// A C99 header (`model.h`) and its source (`model.c`, written beside it).
    C,
    /// An ONNX model (`model.onnx`, opset 17) for onnxruntime, tract and the rest.
    Onnx,
    /// A Keras 3 model (`model.keras`): architecture, weights, compile configuration and
    /// optimiser state, for `keras.saving.load_model`.
    Keras,
}

/// The flags of `mlp export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The `.mlp` file.
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// The model to export, when the file defines several.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The checkpoint to compile in (`mlp train --save`, or a `--checkpoint-dir` file).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// `rust`, `c`, `onnx` or `keras`.
    #[arg(long, value_enum, default_value = "rust")]
    pub format: Format,
    /// The output: `model.rs`, `model.h` (then `model.c` is written beside it),
    /// `model.onnx` or `model.keras`.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Exports the model (see the module docs).
///
/// # Errors
/// [`CliError`]: spec mistakes or an unknown model (exit 1), a checkpoint that does not
/// fit the spec (exit 1), an output name of the wrong kind (exit 2), I/O (exit 2).
pub fn run(args: &ExportArgs) -> Result<(), CliError> {
    let c_source = match args.format {
        Format::Rust | Format::Onnx | Format::Keras => None,
        Format::C => {
            if args.out.extension().and_then(|e| e.to_str()) != Some("h") {
                return Err(CliError::Usage(format!(
                    "`--format c` writes a header: name it `….h` (the `.c` goes beside it), not `{}`",
                    args.out.display()
                )));
            }
            Some(args.out.with_extension("c"))
        }
    };
    let file = SpecFile::read(&args.spec)?;
    let spec = file.compile()?;
    let model = choose_model(&spec, &args.spec, args.model.as_deref())?;
    let mut network = Network::new(model, 0, 1).map_err(|source| CliError::Network {
        model: model.name.clone(),
        source,
    })?;
    // Read once (bounded, as every checkpoint load is): loaded and hashed from the same bytes.
    // I/O is exit 2 as everywhere in the CLI; a checkpoint that does not fit, exit 1.
    let weights_error = |error: checkpoint::CheckpointError| match error.kind {
        checkpoint::CheckpointErrorKind::Io(source) => CliError::Io {
            action: "read",
            path: error.path,
            source,
        },
        _ => CliError::Weights {
            model: model.name.clone(),
            source: Box::new(error),
        },
    };
    let bytes =
        checkpoint::read(&args.weights, checkpoint::Limits::default()).map_err(weights_error)?;
    checkpoint::load_bytes(&mut network, &bytes)
        .map_err(|kind| weights_error(checkpoint::CheckpointError::new(&args.weights, kind)))?;
    if args.format == Format::Keras {
        // The whole model, optimiser state included, rather than an inference lowering.
        let keras = mlp_keras::export(&checkpoint::Snapshot::of(&network, None)).map_err(|e| {
            CliError::Keras(format!("cannot export `{}` as Keras: {e}", model.name))
        })?;
        return write_bytes(&args.out, &keras);
    }
    let options = ExportOptions {
        source_name: args.spec.to_string_lossy().replace('\\', "/"),
        checkpoint_sha256: hex(&Sha256::digest(&bytes)),
    };
    let (params, state) = (network.params().to_vec(), network.state().to_vec());
    let weights = Weights {
        params: &params,
        state: &state,
        folded: network.folded_weights(),
    };
    let bad = |e: export::ExportError| CliError::Usage(e.to_string());
    match c_source {
        None if args.format == Format::Onnx => {
            let spec_name = options.source_name.clone();
            let metadata = [
                ("mlp.spec", spec_name.as_str()),
                ("mlp.checkpoint_sha256", options.checkpoint_sha256.as_str()),
            ];
            let bytes = mlp_onnx::export(model, &weights, &metadata).map_err(bad)?;
            write_bytes(&args.out, &bytes)
        }
        None => {
            let text = export::rust(model, &weights, &options).map_err(bad)?;
            write(&args.out, &text)
        }
        Some(source_path) => {
            let header_name = args.out.file_name().map_or_else(
                || "model.h".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            let (header, source) =
                export::c(model, &weights, &options, &header_name).map_err(bad)?;
            write(&source_path, &source)?;
            write(&args.out, &header)
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    write_bytes(path, text.as_bytes())
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    mlp_runtime::fs::write_atomic(path, bytes).map_err(|e| CliError::Io {
        action: "write",
        path: path.to_owned(),
        source: e.source,
    })
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        // Writing into a `String` cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}
