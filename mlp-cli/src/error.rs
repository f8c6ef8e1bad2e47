//! What can make a command fail, the exit code of each failure, and how failures of
//! several files are gathered.
//!
//! Commands over several files report each file's failure as soon as it is found (so the
//! user sees every file's problems) and carry on; [`Failures::finish`] then returns one
//! error carrying the worst exit code.

use std::io;
use std::path::{Path, PathBuf};

use mlp_cli::OutputError;
use mlp_runtime::data::DataError;
use mlp_runtime::{NetworkError, TrainError};

/// Exit code for spec or data errors.
pub const EXIT_SPEC: u8 = 1;
/// Exit code for usage or I/O errors (clap uses the same for a bad command line).
pub const EXIT_IO: u8 = 2;

/// A failed command or file.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done: `read`, `write`.
        action: &'static str,
        /// The file, as the user named it.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A file is not UTF-8 text.
    #[error("cannot read `{}`: it is not UTF-8 text", path.display())]
    NotText {
        /// The file, as the user named it.
        path: PathBuf,
    },
    /// Writing to standard output failed (other than the reader going away).
    #[error("cannot write to standard output: {0}")]
    Stdout(io::Error),
    /// A spec has errors. Its diagnostics and their count have already been printed, so
    /// [`CliError::report`] prints nothing more.
    #[error("`{}` has {count} error{s}", path.display(), s = plural(*count))]
    Spec {
        /// The spec file.
        path: PathBuf,
        /// How many diagnostics were printed.
        count: usize,
    },
    /// `--model NAME` named no model of the file.
    #[error(
        "no model named `{name}` in `{}`; {}",
        path.display(),
        available_models(available)
    )]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The spec file.
        path: PathBuf,
        /// The models the file defines, in source order.
        available: Vec<String>,
    },
    /// The command line is valid for clap but not usable (a history file that is neither
    /// `.json` nor `.csv`, a spec with several models and no `--model`, …).
    #[error("{0}")]
    Usage(String),
    /// MNIST could not be found or read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A model's network could not be built.
    #[error("cannot build `{model}`: {source}")]
    Network {
        /// The model's name.
        model: String,
        /// Why.
        source: NetworkError,
    },
    /// A checkpoint does not fit the model it was given as weights of.
    #[error("cannot use the weights for `{model}`: {source}")]
    Weights {
        /// The model's name.
        model: String,
        /// Why.
        source: Box<mlp_runtime::CheckpointError>,
    },
    /// The data's targets do not fit the model's loss or output layer.
    #[error("{place} do not fit `{model}`: {source}")]
    Targets {
        /// Where the targets came from: the CSV column and file, the array.
        place: String,
        /// The model's name.
        model: String,
        /// Why, naming the loss and the output layer.
        source: Box<TrainError>,
    },
    /// A model refused to train.
    #[error("cannot train `{model}`: {source}")]
    Train {
        /// The model's name.
        model: String,
        /// Why.
        source: Box<TrainError>,
    },
    /// A trained model cannot be evaluated or predict on the data given.
    #[error("cannot {action} with `{model}`: {source}")]
    Use {
        /// `evaluate` or `predict`.
        action: &'static str,
        /// The model's name.
        model: String,
        /// Why.
        source: Box<TrainError>,
    },
    /// A checkpoint cannot be resumed from: another architecture, or another training
    /// configuration without `--allow-config-change`.
    #[error("cannot resume from `{}`: {reason}", path.display())]
    Resume {
        /// The checkpoint file.
        path: PathBuf,
        /// Why, naming the difference.
        reason: String,
    },
    /// A model file of another framework (ONNX, `.keras`) cannot be imported.
    #[error("cannot import `{}`: {message}", path.display())]
    Import {
        /// The file.
        path: PathBuf,
        /// The first problem found.
        message: String,
    },
    /// A result file (history, plot, table) could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// `fmt --check` found a file whose layout would change.
    #[error("`{}` would be reformatted", path.display())]
    WouldReformat {
        /// The spec file.
        path: PathBuf,
    },
    /// A Keras `.keras` file cannot be read, or a model cannot be written as one (the
    /// message names the file, the layer and the setting).
    #[error("{0}")]
    Keras(String),
    /// Some of several files failed; each failure has already been reported.
    #[error("{failed} of {total} files {outcome}")]
    Files {
        /// Files that failed.
        failed: usize,
        /// Files looked at.
        total: usize,
        /// What happened to the failed ones: `failed the check`, ….
        outcome: &'static str,
        /// The worst exit code among the failures.
        exit_code: u8,
    },
}

impl CliError {
    /// Wraps an I/O error on `path`.
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        CliError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// The process exit code: 1 for spec or data errors, 2 for usage or I/O errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Io { .. }
            | CliError::NotText { .. }
            | CliError::Stdout(_)
            | CliError::Usage(_)
            | CliError::Output(_) => EXIT_IO,
            CliError::Spec { .. }
            | CliError::UnknownModel { .. }
            | CliError::WouldReformat { .. }
            | CliError::Data(_)
            | CliError::Network { .. }
            | CliError::Resume { .. }
            | CliError::Weights { .. }
            | CliError::Targets { .. }
            | CliError::Train { .. }
            | CliError::Use { .. }
            | CliError::Import { .. }
            | CliError::Keras(_) => EXIT_SPEC,
            CliError::Files { exit_code, .. } => *exit_code,
        }
    }

    /// Prints the error on standard error as `error: …`, unless it was printed already.
    pub fn report(&self) {
        if !matches!(self, CliError::Spec { .. }) {
            eprintln!("error: {self}");
        }
    }
}

/// The failures of a command over several files.
///
/// With one file, its failure is kept and returned by [`Failures::finish`] for `main` to
/// report; with several, each failure is reported as it is recorded and `finish` returns
/// a count of them.
#[derive(Debug)]
pub struct Failures {
    total: usize,
    outcome: &'static str,
    failed: usize,
    exit_code: u8,
    only: Option<CliError>,
}

impl Failures {
    /// Starts a tally over `total` files; `outcome` completes "N of M files …"
    /// (`failed the check`).
    pub fn new(total: usize, outcome: &'static str) -> Self {
        Failures {
            total,
            outcome,
            failed: 0,
            exit_code: 0,
            only: None,
        }
    }

    /// Records one file's result.
    pub fn record(&mut self, result: Result<(), CliError>) {
        let Err(error) = result else {
            return;
        };
        self.failed += 1;
        self.exit_code = self.exit_code.max(error.exit_code());
        if self.total == 1 {
            self.only = Some(error);
        } else {
            error.report();
        }
    }

    /// Succeeds if every file did.
    ///
    /// # Errors
    ///
    /// The single file's own error, or a count of the failed files carrying the worst
    /// exit code among them.
    pub fn finish(self) -> Result<(), CliError> {
        if let Some(error) = self.only {
            return Err(error);
        }
        if self.failed == 0 {
            return Ok(());
        }
        Err(CliError::Files {
            failed: self.failed,
            total: self.total,
            outcome: self.outcome,
            exit_code: self.exit_code,
        })
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

fn available_models(names: &[String]) -> String {
    if names.is_empty() {
        return "the file defines no models".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    format!("it defines {}", quoted.join(", "))
}
