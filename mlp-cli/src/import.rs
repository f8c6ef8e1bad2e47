//! `mlp import FILE.onnx -o net.mlp [--weights net.safetensors] [--name NAME]`: a model
//! trained elsewhere as a readable spec plus its weights, which `mlp train --weights`
//! fine-tunes and `mlp evaluate`, `predict` and `export` take as they are.
//!
//! The format is told by the file's extension: `.onnx` (`PyTorch`'s `torch.onnx.export`,
//! Keras's `model.export(format = "onnx")`, tf2onnx, `mlp export`; see `mlp_onnx::import`).
//! `.keras` files (Keras 3 `Sequential` models) go to [`crate::import_keras`].
//!
//! Everything is computed before anything is written: the file is read (at most
//! [`MAX_BYTES`]), converted, the spec compiled and the checkpoint encoded. The two
//! files are then written atomically, the weights first; if the spec then cannot be
//! written, the weights file this run created is removed again, so a failed import leaves
//! nothing behind.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::Args;
use mlp_runtime::checkpoint::{self, Snapshot};
use mlp_runtime::ir;
use mlp_runtime::{Model, Network};

use crate::error::CliError;
use crate::train::check_folder;

/// The largest model file read (1 GiB, as for checkpoints).
pub const MAX_BYTES: u64 = 1 << 30;

/// The flags of `mlp import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The model to import: `model.onnx`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The spec to write (`net.mlp`).
    #[arg(short, long, value_name = "FILE.mlp")]
    pub out: PathBuf,
    /// The checkpoint to write the weights to [default: beside the spec, `net.safetensors`].
    #[arg(long, value_name = "CKPT")]
    pub weights: Option<PathBuf>,
    /// The model's name in the spec [default: from the file's name, `torch_mlp.onnx` →
    /// `TorchMlp`].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// A model converted from another format: what an importer gives, whatever the format.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The spec text, in `mlp fmt`'s layout.
    pub source: String,
    /// The compiled spec.
    pub model: ir::Model,
    /// Trainable parameters in the model's layout order.
    pub params: Vec<f32>,
    /// Non-trainable state in layout order.
    pub state: Vec<f32>,
    /// Things the user should know about the conversion, one sentence each.
    pub notes: Vec<String>,
}

/// Imports the model (see the module docs).
///
/// # Errors
/// Exit 1: a file that cannot be imported (naming it and the first problem). Exit 2: an
/// unknown extension, unusable output paths, I/O.
pub fn run(args: &ImportArgs) -> Result<(), CliError> {
    let weights = args
        .weights
        .clone()
        .unwrap_or_else(|| args.out.with_extension(checkpoint::EXTENSION));
    if weights == args.out {
        return Err(CliError::Usage(format!(
            "the spec and the weights would both be written to `{}`",
            args.out.display()
        )));
    }
    check_folder(&args.out)?;
    check_folder(&weights)?;
    let extension = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let converted = match extension.as_deref() {
        Some("onnx") => import_onnx(args)?,
        Some("keras") => {
            return crate::import_keras::run_keras(
                &args.file,
                &args.out,
                Some(&weights),
                args.name.as_deref(),
            )
        }
        _ => {
            return Err(CliError::Usage(format!(
                "cannot tell the format of `{}`: `mlp import` reads `.onnx` and `.keras` files",
                args.file.display()
            )))
        }
    };
    write(&converted, &args.out, &weights)?;
    for note in &converted.notes {
        eprintln!("note: {note}");
    }
    let m = &converted.model;
    println!(
        "Imported `{}` ({} layers, {} parameters) from {}: spec {}, weights {}",
        m.name,
        m.layers.len(),
        m.params.total,
        args.file.display(),
        args.out.display(),
        weights.display()
    );
    Ok(())
}

fn import_onnx(args: &ImportArgs) -> Result<Converted, CliError> {
    let bytes = read_bounded(&args.file)?;
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let options = mlp_onnx::ImportOptions {
        name: Some(
            args.name
                .clone()
                .unwrap_or_else(|| mlp_onnx::model_name_from(&stem)),
        ),
        source_name: args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let imported = mlp_onnx::import(&bytes, &options).map_err(|e| CliError::Import {
        path: args.file.clone(),
        message: e.to_string(),
    })?;
    Ok(Converted {
        source: imported.source,
        model: imported.model,
        params: imported.params,
        state: imported.state,
        notes: imported.notes,
    })
}

/// The bytes of `path`, refused before reading when it is not a file or is over
/// [`MAX_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, CliError> {
    let io = |source| CliError::io("read", path, source);
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::other("it is not a regular file")));
    }
    if meta.len() > MAX_BYTES {
        return Err(CliError::Import {
            path: path.to_owned(),
            message: format!(
                "the file has {} bytes, more than the {MAX_BYTES} this command reads",
                meta.len()
            ),
        });
    }
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(meta.len()).unwrap_or(usize::MAX))
        .map_err(|e| io(std::io::Error::other(e.to_string())))?;
    // The file may have grown since `metadata`: never read past the limit.
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(CliError::Import {
            path: path.to_owned(),
            message: format!("the file has more than the {MAX_BYTES} bytes this command reads"),
        });
    }
    Ok(bytes)
}

/// Encodes the checkpoint, then writes the weights and the spec (see the module docs).
fn write(converted: &Converted, spec_path: &Path, weights_path: &Path) -> Result<(), CliError> {
    let model = &converted.model;
    let mut network =
        Network::new(model, model.train.seed, 1).map_err(|source| CliError::Network {
            model: model.name.clone(),
            source,
        })?;
    network.params_mut().copy_from_slice(&converted.params);
    network.state_mut().copy_from_slice(&converted.state);
    let bytes =
        checkpoint::to_bytes(&Snapshot::of(&network, None)).map_err(|kind| CliError::Weights {
            model: model.name.clone(),
            source: Box::new(checkpoint::CheckpointError::new(weights_path, kind)),
        })?;
    let existed = weights_path.exists();
    let write = |path: &Path, bytes: &[u8]| {
        mlp_runtime::fs::write_atomic(path, bytes)
            .map_err(|e| CliError::io("write", &e.path, e.source))
    };
    write(weights_path, &bytes)?;
    if let Err(error) = write(spec_path, converted.source.as_bytes()) {
        if !existed {
            // Best effort: the error to report is the spec's.
            let _ = std::fs::remove_file(weights_path);
        }
        return Err(error);
    }
    Ok(())
}
