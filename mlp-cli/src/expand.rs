//! `mlp expand FILE [--model NAME]`: the Rust code `include_mlp!` generates for a spec,
//! formatted by prettyplease, so it can be reviewed as text.

use std::path::Path;

use mlp_spec::ir::Spec;

use crate::error::CliError;
use crate::output;
use crate::spec_file::SpecFile;

/// Prints the generated code of every model in `path`, or only of the one called `model`.
///
/// # Errors
///
/// [`CliError::Spec`] if the spec has mistakes, [`CliError::UnknownModel`] if `model`
/// names none of its models, I/O errors on reading the file or writing the output.
pub fn run(path: &Path, model: Option<&str>) -> Result<(), CliError> {
    let file = SpecFile::read(path)?;
    let spec = file.compile()?;
    let spec = match model {
        None => spec,
        Some(name) => {
            let found = spec.model(name).ok_or_else(|| CliError::UnknownModel {
                name: name.to_owned(),
                path: path.to_owned(),
                available: spec.models.iter().map(|m| m.name.clone()).collect(),
            })?;
            Spec {
                models: vec![found.clone()],
            }
        }
    };
    let options = mlp_codegen::Options {
        // The path as the user wrote it; the generated docs cite `path:line`.
        source_name: path.to_string_lossy().replace('\\', "/"),
        source: file.source.clone(),
    };
    output::print(&mlp_codegen::expand(&spec, &options))
}
