//! `mlp summary FILE [--model NAME]`: the Keras `model.summary()` table of each model.
//!
//! Tables are printed in source order, separated by a blank line; each is followed by the
//! memory training needs at the spec's batch size.

use std::fmt::Write as _;
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
    let tables: Vec<String> = models.into_iter().map(table).collect();
    output::print(&tables.join("\n"))
}

/// Keras's table, then the memory training needs at the spec's batch size (the plan's
/// estimate: what `mlp train` checks before allocating).
fn table(model: &Model) -> String {
    let mut text = mlp_spec::summary::summary(model);
    if let Ok(plan) = mlp_spec::plan::Plan::new(model) {
        let batch = model.train.batch;
        // Writing into a `String` cannot fail.
        let _ = writeln!(
            text,
            " Training memory (batch {batch}): {}",
            plan.memory(batch)
        );
    }
    text
}
