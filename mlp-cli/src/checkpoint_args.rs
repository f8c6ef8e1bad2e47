//! The checkpoint flags of `mlp train`: `--save FILE` (the trained model), `--checkpoint-dir
//! DIR` (a checkpoint after every epoch, keeping the last `--keep N`), `--resume DIR` (carry
//! on from the newest checkpoint there, exactly as if never interrupted) and `--on-nan
//! stop|continue`.
//!
//! Paths are checked before any training; checkpoints are written atomically by
//! `mlp_runtime::checkpoint`, so an interrupted run leaves the last complete one. Exit codes:
//! an unreadable or unwritable path is 2 (I/O), a checkpoint that is broken or of another
//! model is 1 (data).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use mlp_runtime::checkpoint::{self, CheckpointErrorKind, Snapshot, TrainingState};
use mlp_runtime::{
    CheckpointDir, CheckpointError, FitOptions, History, Model, Network, OnNan, Progress,
    TrainError,
};

use crate::error::CliError;
use crate::train::check_folder;

/// What a non-finite training loss does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnNanArg {
    /// Stop with an error naming the epoch, the step and the layer (the last checkpoint is
    /// the last good one).
    Stop,
    /// Keep training.
    Continue,
}

/// The checkpoint flags of `mlp train`.
#[derive(Debug, Clone, Args)]
pub struct CheckpointArgs {
    /// Save the trained model (parameters, optimiser state, History) to this safetensors
    /// file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Write a checkpoint into this folder after every epoch.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// How many checkpoints `--checkpoint-dir` keeps.
    #[arg(
        long,
        value_name = "N",
        default_value = "3",
        value_parser = mlp_cli::parse_positive,
        allow_negative_numbers = true
    )]
    pub keep: usize,
    /// Resume from the newest checkpoint in this folder (the `--checkpoint-dir` of an
    /// interrupted run); start from scratch if it holds none.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// What a NaN or infinite training loss does.
    #[arg(long, value_name = "WHAT", value_enum, default_value = "stop")]
    pub on_nan: OnNanArg,
}

impl CheckpointArgs {
    /// Checks the paths before any training.
    ///
    /// # Errors
    ///
    /// [`CliError::Usage`] for a folder given as `--save` or a file given as a folder;
    /// [`CliError::Output`] for a `--save` file whose folder is missing; [`CliError::Io`]
    /// for a `--resume` folder that cannot be read.
    pub fn check(&self) -> Result<(), CliError> {
        if let Some(path) = &self.save {
            if path.is_dir() {
                return Err(CliError::Usage(format!(
                    "cannot save to `{}`: it is a folder; name a file (`model.safetensors`)",
                    path.display()
                )));
            }
            check_folder(path)?;
        }
        for (flag, dir) in [
            ("--checkpoint-dir", &self.checkpoint_dir),
            ("--resume", &self.resume),
        ] {
            if let Some(dir) = dir.as_deref().filter(|d| d.exists() && !d.is_dir()) {
                return Err(CliError::Usage(format!(
                    "{flag} `{}` is a file; it takes a folder of checkpoints",
                    dir.display()
                )));
            }
        }
        if let Some(dir) = &self.resume {
            std::fs::read_dir(dir).map_err(|e| CliError::io("read", dir, e))?;
        }
        Ok(())
    }

    /// The runtime's [`OnNan`].
    #[must_use]
    pub fn on_nan(&self) -> OnNan {
        match self.on_nan {
            OnNanArg::Stop => OnNan::Stop,
            OnNanArg::Continue => OnNan::Continue,
        }
    }

    /// With `--resume`, loads the newest checkpoint into `network` and sets `options` to
    /// continue its run; returns the History so far (empty without one).
    ///
    /// # Errors
    ///
    /// A broken checkpoint or one of another model (exit 1), an unreadable one (exit 2).
    pub fn resume(
        &self,
        network: &mut Network,
        model: &str,
        options: &mut FitOptions,
    ) -> Result<History, CliError> {
        let Some(dir) = &self.resume else {
            return Ok(History::default());
        };
        let Some(info) =
            CheckpointDir::resume(dir, network).map_err(|e| checkpoint_error(model, e))?
        else {
            return Ok(History::default());
        };
        // A checkpoint without `fit`'s position (written by `Model::save`) gives weights and
        // optimiser state only: training starts at epoch 0 with the flags' options.
        let Some(state) = info.training else {
            return Ok(History::default());
        };
        *options = state.resume_options(options);
        Ok(state.history)
    }

    /// The per-epoch checkpoint hook (`--checkpoint-dir`), or one that does nothing.
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the folder cannot be created.
    pub fn saver(&self, model: &str) -> Result<Saver, CliError> {
        match &self.checkpoint_dir {
            Some(dir) => CheckpointDir::new(dir, self.keep)
                .map(|d| Saver(Some(d)))
                .map_err(|e| checkpoint_error(model, e)),
            None => Ok(Saver(None)),
        }
    }

    /// With `--save`, writes the trained `network` and its run (`options`, `history`).
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the file cannot be written (nothing is left behind), exit 1
    /// when the model holds non-finite values (after `--on-nan continue`).
    pub fn save(
        &self,
        network: &Network,
        options: &FitOptions,
        history: &History,
    ) -> Result<(), CliError> {
        let Some(path) = &self.save else {
            return Ok(());
        };
        let state = TrainingState {
            epoch: history.epochs(),
            shuffle_seed: options.seed,
            history: history.clone(),
        };
        checkpoint::save(network, path, Some(&state))
            .map_err(|e| checkpoint_error(&network.ir().name, e))
    }
}

/// The `--checkpoint-dir` hook of `fit`, or nothing.
#[derive(Debug)]
pub struct Saver(Option<CheckpointDir>);

impl Progress for Saver {
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        match &mut self.0 {
            Some(dir) => dir.on_epoch_state(snapshot),
            None => Ok(()),
        }
    }
}

/// A checkpoint problem as a CLI error: I/O is exit 2, the rest (a broken checkpoint, one
/// of another model, non-finite values) exit 1.
fn checkpoint_error(model: &str, error: CheckpointError) -> CliError {
    match error.kind {
        CheckpointErrorKind::Io(source) => CliError::Io {
            action: "use",
            path: error.path,
            source,
        },
        _ => CliError::Train {
            model: model.to_owned(),
            source: Box::new(TrainError::Checkpoint(error)),
        },
    }
}

/// A training failure as a CLI error, with checkpoint I/O failures as exit 2.
pub fn train_error(model: &str, error: TrainError) -> CliError {
    match error {
        TrainError::Checkpoint(e) => checkpoint_error(model, e),
        other => CliError::Train {
            model: model.to_owned(),
            source: Box::new(other),
        },
    }
}
