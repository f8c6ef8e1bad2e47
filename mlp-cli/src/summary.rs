//! `mlp summary FILE [--model NAME]`: the Keras `model.summary()` table of each model.
//!
//! Tables are printed in source order, separated by a blank line.

use std::path::Path;

use mlp_spec::ir::Model;

use crate::error::CliError;
use crate::output;
use crate::spec_file::SpecFile;

/// Prints the summary of every model in `path`, or only of the one called `model`.
///
/// # Errors
///
/// [`CliError::Spec`] if the spec has mistakes, [`CliError::UnknownModel`] if `model`
/// names none of its models, I/O errors on reading the file or writing the output.
pub fn run(path: &Path, model: Option<&str>) -> Result<(), CliError> {
    let file = SpecFile::read(path)?;
    let spec = file.compile()?;
    let models: Vec<&Model> = match model {
        None => spec.models.iter().collect(),
        Some(name) => {
            let found = spec.model(name).ok_or_else(|| CliError::UnknownModel {
                name: name.to_owned(),
                path: path.to_owned(),
                available: spec.models.iter().map(|m| m.name.clone()).collect(),
            })?;
            vec![found]
        }
    };
    let tables: Vec<String> = models.into_iter().map(mlp_spec::summary::summary).collect();
    output::print(&tables.join("\n"))
}
