//! The checkpoint flags of `mlp train`: `--save FILE` (the trained model), `--checkpoint-dir
//! DIR` (a checkpoint after every epoch, keeping the last `--keep N`), `--resume DIR` (carry
//! on from the newest checkpoint there, exactly as if never interrupted), `--on-nan
//! stop|continue` and `--on-write-error stop|continue` (whose [`OnWriteErrorArg`] `mlp
//! compare` shares).
//!
//! Paths are checked before any training; checkpoints are written atomically by
//! `mlp_runtime::checkpoint`, so an interrupted run leaves the last complete one. Exit codes:
//! an unreadable or unwritable path is 2 (I/O), a checkpoint that is broken or of another
//! model is 1 (data).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use mlp_runtime::checkpoint::{
    self, compare_spec, CheckpointErrorKind, DirLock, Snapshot, TrainingState,
};
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

/// What a file that cannot be written (disk full, quota, read-only folder) does: the
/// `--on-write-error` of `mlp train` and `mlp compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnWriteErrorArg {
    /// Stop with an error naming the file (the previous file, if any, is left as it was).
    Stop,
    /// Warn on standard error naming the file, and carry on (training, the other files).
    Continue,
}

impl OnWriteErrorArg {
    /// The outcome of writing one file, as this choice treats it: `Ok(true)` when it was
    /// written; with `Continue`, a file that could not be written ([`CliError::Io`] or
    /// [`OutputError::Write`](mlp_cli::OutputError::Write)) is a warning naming it
    /// ([`warn_write`]) and `Ok(false)`.
    ///
    /// # Errors
    ///
    /// Any error with `Stop`; with `Continue`, the errors that are not about writing a file
    /// (a font that cannot be read, a plot that cannot be drawn).
    pub fn tolerate(self, result: Result<(), CliError>) -> Result<bool, CliError> {
        match result {
            Ok(()) => Ok(true),
            Err(CliError::Io { path, source, .. }) if self == OnWriteErrorArg::Continue => {
                warn_write(&path, &source);
                Ok(false)
            }
            Err(CliError::Output(mlp_cli::OutputError::Write { path, source }))
                if self == OnWriteErrorArg::Continue =>
            {
                warn_write(&path, &source);
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }
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
    /// interrupted run); start from scratch if it holds none, or if it does not exist and
    /// is also the `--checkpoint-dir` (then it is created).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Resume even when this run's training configuration (optimiser, learning rate, loss,
    /// batch, …, from the spec and the flags) differs from the checkpoint's, listing what
    /// changed; this run's is used.
    #[arg(long)]
    pub allow_config_change: bool,
    /// What a NaN or infinite training loss does.
    #[arg(long, value_name = "WHAT", value_enum, default_value = "stop")]
    pub on_nan: OnNanArg,
    /// What a checkpoint, History or plot file that cannot be written (disk full, read-only
    /// folder) does; the previous file is left intact either way.
    #[arg(long, value_name = "WHAT", value_enum, default_value = "stop")]
    pub on_write_error: OnWriteErrorArg,
}

/// The checkpoint folder a run holds ([`CheckpointArgs::lock`]); released when dropped.
#[derive(Debug, Default)]
pub struct Locks {
    /// The `--checkpoint-dir`'s lock, until the saver takes it.
    checkpoint: Option<DirLock>,
    /// Whether the `--checkpoint-dir` did not exist and was created for this run.
    created: bool,
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
            let created_later = !dir.exists() && self.checkpoint_dir.as_deref() == Some(dir);
            if !created_later {
                std::fs::read_dir(dir).map_err(|e| CliError::Io {
                    action: "read",
                    path: dir.clone(),
                    source: std::io::Error::new(
                        e.kind(),
                        format!(
                            "{e} (to start from scratch while it is missing, pass it as \
                             --checkpoint-dir too)"
                        ),
                    ),
                })?;
            }
        }
        Ok(())
    }

    /// Takes the checkpoint folder for this run, `--checkpoint-dir` (created if missing),
    /// and checks that no run holds the `--resume` folder when it is another one.
    ///
    /// # Errors
    /// [`CliError::Io`] (exit 2) naming the folder when another run holds it (with its
    /// pid), or when the folder or its lock file cannot be created.
    pub fn lock(&self) -> Result<Locks, CliError> {
        let busy = |e: mlp_runtime::CheckpointError| match e.kind {
            CheckpointErrorKind::Io(source) => CliError::Io {
                action: "lock",
                path: e.path,
                source,
            },
            kind => CliError::Io {
                action: "use",
                path: e.path,
                source: std::io::Error::other(kind.to_string()),
            },
        };
        // The folder resumed from first: a refused run creates nothing.
        if let Some(dir) = self.resume.as_deref().filter(|d| d.is_dir()) {
            let same = self
                .checkpoint_dir
                .as_deref()
                .is_some_and(|c| c.is_dir() && same_folder(c, dir));
            if !same {
                // Only read: refused if a run holds it, but not taken (nothing is created).
                DirLock::ensure_free(dir).map_err(busy)?;
            }
        }
        let created = self.checkpoint_dir.as_deref().is_some_and(|d| !d.exists());
        let checkpoint = match &self.checkpoint_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| CliError::io("create", dir, e))?;
                Some(DirLock::acquire(dir).map_err(busy)?)
            }
            None => None,
        };
        Ok(Locks {
            checkpoint,
            created,
        })
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
    /// continue its run; returns the History so far (empty without one). What was resumed
    /// (or that there was nothing to resume) is told through `say`, one line each.
    ///
    /// # Errors
    /// A broken checkpoint, one of another architecture, or one of another training
    /// configuration without `--allow-config-change` (exit 1); an unreadable one (exit 2).
    pub fn resume(
        &self,
        locks: &Locks,
        network: &mut Network,
        model: &str,
        options: &mut FitOptions,
        say: &dyn Fn(&str),
    ) -> Result<History, CliError> {
        let Some(dir) = &self.resume else {
            return Ok(History::default());
        };
        let Some(path) =
            CheckpointDir::latest(dir).map_err(|e| checkpoint_error(model, "read", e))?
        else {
            let why = if locks.created && self.checkpoint_dir.as_deref() == Some(dir) {
                "did not exist (created it)"
            } else {
                "holds no checkpoint"
            };
            say(&format!("`{}` {why}: training from scratch", dir.display()));
            return Ok(History::default());
        };
        let header =
            checkpoint::read_header(&path).map_err(|e| checkpoint_error(model, "read", e))?;
        let changes = compare_spec(&header.spec, network.ir()).map_err(|kind| {
            checkpoint_error(
                model,
                "read",
                mlp_runtime::CheckpointError::new(&path, kind),
            )
        })?;
        if let Some(change) = changes.architecture {
            return Err(CliError::Resume {
                path,
                reason: format!("it was written for another architecture: {change}"),
            });
        }
        if !changes.training.is_empty() {
            // The configuration may come from the flags as well as the spec: "this run".
            let listed: Vec<String> = changes
                .training
                .iter()
                .map(|c| {
                    format!(
                        "{} {} in the checkpoint, {} in this run",
                        c.what, c.checkpoint, c.current
                    )
                })
                .collect();
            if !self.allow_config_change {
                return Err(CliError::Resume {
                    path,
                    reason: format!(
                        "its training configuration differs from this run's: {}; pass \
                         --allow-config-change to resume with this run's",
                        listed.join("; ")
                    ),
                });
            }
            say(&format!(
                "training configuration changed since the checkpoint (--allow-config-change): {}",
                listed.join("; ")
            ));
        }
        let info =
            checkpoint::load(network, &path).map_err(|e| checkpoint_error(model, "read", e))?;
        // A checkpoint without `fit`'s position (written by `Model::save`) gives weights and
        // optimiser state only: training starts at epoch 0 with the flags' options.
        let Some(state) = info.training else {
            say(&format!(
                "resumed `{}` (saved outside training, at step {}): training starts at epoch 1",
                path.display(),
                info.iterations
            ));
            return Ok(History::default());
        };
        say(&format!(
            "resumed `{}`: epoch {}, step {}",
            path.display(),
            state.epoch,
            info.iterations
        ));
        *options = state.resume_options(options);
        Ok(state.history)
    }

    /// Whether a file that cannot be written only warns (`--on-write-error continue`).
    #[must_use]
    pub fn continue_on_write_error(&self) -> bool {
        self.on_write_error == OnWriteErrorArg::Continue
    }

    /// The per-epoch checkpoint hook (`--checkpoint-dir`, holding its lock from `locks`),
    /// or one that does nothing.
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the folder cannot be listed (or locked, if `locks` lacks it).
    pub fn saver(&self, model: &str, locks: &mut Locks) -> Result<Saver, CliError> {
        let dir = match (&self.checkpoint_dir, locks.checkpoint.take()) {
            (Some(_), Some(lock)) => CheckpointDir::with_lock(lock, self.keep),
            (Some(dir), None) => CheckpointDir::new(dir, self.keep),
            (None, _) => return Ok(Saver::default()),
        };
        dir.map(|d| Saver {
            dir: Some(d),
            continue_on_write_error: self.continue_on_write_error(),
        })
        .map_err(|e| checkpoint_error(model, "write", e))
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
        labels: Option<&[String]>,
    ) -> Result<(), CliError> {
        let Some(path) = &self.save else {
            return Ok(());
        };
        let state = TrainingState {
            epoch: history.epochs(),
            shuffle_seed: options.seed,
            history: history.clone(),
            labels: labels.map(<[String]>::to_vec),
        };
        checkpoint::save(network, path, Some(&state))
            .map_err(|e| checkpoint_error(&network.ir().name, "write", e))
    }
}

/// Whether `a` and `b` name the same folder (both must exist to be told apart from a
/// spelling difference; otherwise they are compared as written).
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// The `--checkpoint-dir` hook of `fit`, or nothing.
#[derive(Debug, Default)]
pub struct Saver {
    dir: Option<CheckpointDir>,
    /// `--on-write-error continue`: a checkpoint that cannot be written is a warning.
    continue_on_write_error: bool,
}

impl Progress for Saver {
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        let Some(dir) = &mut self.dir else {
            return Ok(());
        };
        match dir.on_epoch_state(snapshot) {
            Err(e)
                if self.continue_on_write_error && matches!(e.kind, CheckpointErrorKind::Io(_)) =>
            {
                warn_write(&e.path, &e.kind);
                Ok(())
            }
            other => other,
        }
    }
}

/// The warning of `--on-write-error continue` for a file that could not be written.
pub fn warn_write(path: &Path, why: &dyn std::fmt::Display) {
    eprintln!(
        "warning: cannot write `{}`: {why}; carrying on (--on-write-error continue)",
        path.display()
    );
}

/// A checkpoint problem as a CLI error: I/O is exit 2 (`action` says what failed: `read`,
/// `write`), the rest (a broken checkpoint, one of another model, non-finite values) exit 1.
fn checkpoint_error(model: &str, action: &'static str, error: CheckpointError) -> CliError {
    match error.kind {
        CheckpointErrorKind::Io(source) => CliError::Io {
            action,
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
        TrainError::Checkpoint(e) => checkpoint_error(model, "write", e),
        other => CliError::Train {
            model: model.to_owned(),
            source: Box::new(other),
        },
    }
}
