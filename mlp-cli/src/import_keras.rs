//! `mlp import MODEL.keras -o NET.mlp [--weights NET.safetensors] [--name NAME]`: a Keras
//! `Sequential` model as a readable spec (laid out as `mlp fmt` lays it out) and a
//! checkpoint of its weights and optimiser state, which `mlp evaluate`, `mlp predict`,
//! `mlp train --resume`-style loading and `mlp export` accept (see `mlp_keras`).
//!
//! Both files are written atomically, the checkpoint first; if the spec then cannot be
//! written, the new checkpoint is removed, so a failed import leaves nothing behind.

use std::path::Path;

use mlp_runtime::checkpoint;

use crate::error::CliError;

/// Imports the `.keras` file `input` as the spec `out` and the checkpoint `weights`
/// (default `out` with the extension `.safetensors`), the model named `name` (default:
/// its name in the file).
///
/// # Errors
/// [`CliError::Usage`] (exit 2) for a name that is no identifier or an output that is the
/// input; [`CliError::Io`] (exit 2) when a file cannot be read or written;
/// [`CliError::Keras`] (exit 1) for a file mlp cannot import, naming the file and its first
/// problem.
pub fn run_keras(
    input: &Path,
    out: &Path,
    weights: Option<&Path>,
    name: Option<&str>,
) -> Result<(), CliError> {
    if let Some(name) = name {
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            return Err(CliError::Usage(format!(
                "--name `{name}` is not a model name (letters, digits and `_`, not starting \
                 with a digit)"
            )));
        }
    }
    let weights = weights.map_or_else(|| out.with_extension("safetensors"), Path::to_owned);
    if weights == out || out == input || weights == input {
        return Err(CliError::Usage(format!(
            "the spec `{}`, the checkpoint `{}` and the model `{}` must be three different files",
            out.display(),
            weights.display(),
            input.display()
        )));
    }
    let options = mlp_keras::ImportOptions {
        name: name.map(str::to_owned),
        limits: mlp_keras::Limits::default(),
    };
    let imported = mlp_keras::import(input, &options).map_err(|e| match e.kind {
        mlp_keras::KerasErrorKind::Io(source) => CliError::Io {
            action: "read",
            path: e.path,
            source,
        },
        _ => CliError::Keras(e.to_string()),
    })?;
    let bytes = checkpoint::to_bytes(&imported.snapshot()).map_err(|kind| {
        CliError::Keras(format!(
            "{}: cannot write the weights as a checkpoint: {kind}",
            input.display()
        ))
    })?;
    let write = |path: &Path, bytes: &[u8]| {
        mlp_runtime::fs::write_atomic(path, bytes).map_err(|e| CliError::Io {
            action: "write",
            path: path.to_owned(),
            source: e.source,
        })
    };
    let existed = weights.exists();
    write(&weights, &bytes)?;
    if let Err(e) = write(out, imported.spec.as_bytes()) {
        if !existed {
            // Best effort: the checkpoint without its spec is of no use.
            let _ = std::fs::remove_file(&weights);
        }
        return Err(e);
    }
    println!(
        "imported `{}` ({} layers, {} parameters{}) from {}: wrote {} and {}",
        imported.model.name,
        imported.model.layers.len(),
        imported.model.params.total,
        if imported.iterations > 0 {
            format!(", optimizer state after {} steps", imported.iterations)
        } else {
            String::new()
        },
        input.display(),
        out.display(),
        weights.display()
    );
    Ok(())
}
