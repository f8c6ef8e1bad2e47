//! The errors: reading a `.keras` file ([`KerasError`], naming the file and the first
//! problem in it) and writing one ([`ExportError`], naming the layer Keras cannot
//! express).

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// A `.keras` file that cannot be imported, with the file it concerns.
#[derive(Debug, Error)]
#[error("{}: {kind}", path.display())]
pub struct KerasError {
    /// The `.keras` file.
    pub path: PathBuf,
    /// What is wrong with it (the first problem found).
    pub kind: KerasErrorKind,
}

impl KerasError {
    /// An error about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: KerasErrorKind) -> Self {
        KerasError {
            path: path.into(),
            kind,
        }
    }
}

/// What is wrong with a `.keras` file. Each message names the place: the archive member,
/// the layer (its position, Keras name and class) or the weight's path in
/// `model.weights.h5`.
#[derive(Debug, Error)]
pub enum KerasErrorKind {
    /// The file could not be read.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file, or a member of it, is larger than the [`Limits`](crate::Limits) allow.
    #[error("{what} has {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The file or member.
        what: String,
        /// Its size (declared, or read so far).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a readable zip archive (truncated, not a zip, a corrupt member).
    #[error("not a valid .keras file (a zip archive): {0}")]
    Archive(String),
    /// A member every `.keras` file has is absent.
    #[error(
        "the archive has no `{member}` (a .keras file holds metadata.json, config.json and \
         model.weights.h5; this one holds {})",
        list(present)
    )]
    Missing {
        /// The member.
        member: &'static str,
        /// The members it does hold.
        present: Vec<String>,
    },
    /// A JSON member is not valid JSON (or not UTF-8).
    #[error("{member} is not valid JSON: {message}")]
    Json {
        /// The member.
        member: &'static str,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The model's configuration asks for something mlp cannot represent, or is
    /// malformed: a functional model with branches, an unknown layer class, an
    /// unsupported setting.
    #[error("{at}: {message}")]
    Config {
        /// Where: `config.json`, ``config.json: layer 3 `dense_1` (Dense)``,
        /// `config.json: compile_config.optimizer`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// The weights file is not readable HDF5, or a weight is missing or does not fit
    /// the layer the configuration describes.
    #[error("{at}: {message}")]
    Weights {
        /// Where: `model.weights.h5`, or the weight's path in it
        /// (`model.weights.h5: layers/dense/vars/0`, the kernel of layer `dense`).
        at: String,
        /// What is wrong.
        message: String,
    },
    /// The spec written for the model does not pass mlp's checks (a combination Keras
    /// allows and mlp refuses, such as a loss that does not fit the output layer).
    #[error(
        "the model as an mlp spec is refused by mlp's checks:\n{diagnostics}\nthe spec:\n{spec}"
    )]
    Spec {
        /// The rendered diagnostics.
        diagnostics: String,
        /// The spec text that was checked.
        spec: String,
    },
}

/// A model that cannot be written as a `.keras` file, or weights that do not fit it.
#[derive(Debug, Error)]
pub enum ExportError {
    /// A layer or setting Keras has no form for (an activation argument Keras's
    /// serialised activations cannot carry, …).
    #[error("layer {index} `{layer}` ({class}): {message}")]
    Layer {
        /// Position of the layer in the model (1-based).
        index: usize,
        /// The layer's name.
        layer: String,
        /// Its Keras class.
        class: &'static str,
        /// What Keras cannot express.
        message: String,
    },
    /// The weights do not fit the model (buffer lengths disagree with its layout, a
    /// non-finite value, a `Normalization` count that is not a whole number).
    #[error("the weights do not fit model `{model}`: {message}")]
    Weights {
        /// The model.
        model: String,
        /// What disagrees.
        message: String,
    },
    /// The HDF5 or zip writer failed.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// `model.weights.h5` or the archive.
        what: &'static str,
        /// The writer's message.
        message: String,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "nothing".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}
