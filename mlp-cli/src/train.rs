//! `mlp train SPEC [--model NAME] [--epochs N] [--batch N] [--seed N] [--data PATH …]
//! [--weights CKPT] [--history FILE.json|FILE.csv] [--plot FILE.png] [--quiet]`: trains one
//! model of a spec through the dynamic `Network` on MNIST or the user's data (see `data_args`), with
//! Keras-like progress.
//!
//! Validation is on `--validation-data`, else on the `validation_split` tail (flag or
//! spec), else on MNIST's 10 000 test images or a `.npz`'s `x_test`.
//! Flags override the spec's `train` block. Output paths are checked before training, so
//! a typo costs no training time; each file is written atomically after training.

use std::path::{Path, PathBuf};

use clap::Args;
use mlp_cli::plot::{self, colors, Chart, Series};
use mlp_cli::progress::{Mode, Reporter};
use mlp_cli::{history, OutputError};
use mlp_runtime::ir::{Model, Spec};
use mlp_runtime::{fit_continue, FitOptions, Network, TrainError};

use crate::checkpoint_args::{self, CheckpointArgs};
use crate::data_args::DataArgs;
use crate::error::CliError;
use crate::spec_file::SpecFile;
use crate::threads_arg::ThreadsArg;

/// The flags of `mlp train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// The `.mlp` file.
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// The model to train (required when the file defines several).
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Epochs [default: the spec's].
    #[arg(long, value_name = "N", value_parser = mlp_cli::parse_positive, allow_negative_numbers = true)]
    pub epochs: Option<usize>,
    /// Samples per step [default: the spec's].
    #[arg(long, value_name = "N", value_parser = mlp_cli::parse_positive, allow_negative_numbers = true)]
    pub batch: Option<usize>,
    /// Seed of initialisation, shuffling and dropout [default: the spec's].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// A `train` setting, as the spec writes it, overriding or adding to the spec's
    /// (repeatable): `--set 'optimizer = adamw(learning_rate = cosine_decay(0.001, 5000))'`,
    /// `--set 'callbacks = [early_stopping(patience = 2, restore_best_weights = true)]'`.
    #[arg(long = "set", value_name = "KEY = VALUE")]
    pub set: Vec<String>,
    /// `--data PATH`, `--target`, `--features`, the CSV flags, `--validation-data`,
    /// `--validation-split`.
    #[command(flatten)]
    pub data: DataArgs,
    /// Write the History here, as JSON or CSV by the file's extension.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Draw the training and validation loss per epoch into this PNG file.
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// `--threads N`.
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// `--max-memory SIZE`.
    #[command(flatten)]
    pub memory: crate::memory_arg::MemoryArg,
    /// Start from the parameters and statistics of this checkpoint (`mlp import`'s
    /// weights, or an `mlp train --save` file of the same architecture) with a fresh
    /// optimiser: fine-tuning. `Normalization` keeps the checkpoint's statistics.
    #[arg(long, value_name = "CKPT", conflicts_with = "resume")]
    pub weights: Option<PathBuf>,
    /// Checkpoints: `--save`, `--checkpoint-dir`, `--keep`, `--resume`,
    /// `--allow-config-change`, `--on-nan`, `--on-write-error`.
    #[command(flatten)]
    pub checkpoint: CheckpointArgs,
}

/// Trains the chosen model of `args.spec` and writes the requested files.
///
/// # Errors
///
/// Exit 2: unusable output paths or flags, unreadable spec file, unwritable outputs.
/// Exit 1: spec mistakes, an unknown `--model`, MNIST missing or malformed, a model that
/// cannot be built or trained.
pub fn run(args: &TrainArgs) -> Result<(), CliError> {
    if let Some(path) = &args.history {
        history::Format::from_path(path)?;
        check_folder(path)?;
    }
    if let Some(path) = &args.plot {
        check_png(path)?;
        check_folder(path)?;
    }
    args.checkpoint.check()?;
    let file = SpecFile::read(&args.spec)?.with_settings(&args.set, args.model.as_deref())?;
    let spec = file.compile()?;
    let model = choose_model(&spec, &args.spec, args.model.as_deref())?;

    let mut options = FitOptions::from_config(&model.train);
    if let Some(epochs) = args.epochs {
        options.epochs = epochs;
    }
    if let Some(batch) = args.batch {
        options.batch_size = batch;
    }
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    options.on_nan = args.checkpoint.on_nan();
    if let Some(split) = args.data.validation_split {
        options.validation_split = Some(split);
    }
    let mut data = args.data.load(model)?;
    check_data_shape(model, &args.spec, &data.train, &data.source)?;
    check_targets(model, &data)?;
    args.threads.apply();
    // A batch larger than the data is the whole data; capping it keeps the network from
    // sizing its buffers for samples that do not exist.
    options.batch_size = options.batch_size.min(data.train.len().max(1));
    // A `validation_split` (flag or spec, unless --validation-data) is taken here, in place,
    // as `fit` would take it (the last fraction, before shuffling, the fraction through the
    // shortest decimal form of the f32): the training part keeps the loaded rows' storage,
    // so the data is held once, not twice. `fit` then gets the tail as its validation set.
    let split = match (
        options.validation_split.take(),
        args.data.validation_data.is_some(),
    ) {
        (Some(fraction), false) => {
            let fraction = fraction
                .to_string()
                .parse::<f64>()
                .unwrap_or(f64::from(fraction));
            let tail = data
                .train
                .split_off_last(fraction)
                .map_err(|e| checkpoint_args::train_error(&model.name, TrainError::Split(e)))?;
            Some(tail)
        }
        _ => None,
    };
    // Taken before any training: a second run on the same folder is refused at once.
    let mut locks = args.checkpoint.lock()?;
    // The network's IR carries the run's effective training configuration (the flags over
    // the spec), so that a checkpoint records what was run and a resumed run is compared
    // with it.
    let mut effective = model.clone();
    effective.train.epochs = options.epochs;
    effective.train.batch = options.batch_size;
    effective.train.seed = options.seed;
    let mut network = Network::with_memory_limit(
        &effective,
        options.seed,
        options.batch_size,
        args.memory.max_memory,
    )
    .map_err(|source| CliError::Network {
        model: model.name.clone(),
        source,
    })?;
    let reporter = Reporter::new(Mode::detect(args.quiet));
    let history =
        args.checkpoint
            .resume(&locks, &mut network, &model.name, &mut options, &|line| {
                reporter.println(line);
            })?;
    if let Some(path) = &args.weights {
        mlp_runtime::checkpoint::load_weights(&mut network, path).map_err(|error| {
            match error.kind {
                mlp_runtime::checkpoint::CheckpointErrorKind::Io(source) => CliError::Io {
                    action: "read",
                    path: error.path,
                    source,
                },
                _ => CliError::Weights {
                    model: model.name.clone(),
                    source: Box::new(error),
                },
            }
        })?;
    }
    // Normalization layers are adapted on the training rows (after the split), before
    // training; a resumed run, or one from `--weights`, keeps its checkpoint's statistics.
    if options.initial_epoch == 0 && args.weights.is_none() {
        mlp_runtime::adapt(&mut network, &data.train, 0..data.train.len())
            .map_err(|source| checkpoint_args::train_error(&model.name, source))?;
    }
    if args.checkpoint.resume.is_some() && options.initial_epoch >= options.epochs {
        let limit = match args.epochs {
            Some(epochs) => format!("--epochs {epochs}"),
            None => format!("the spec's epochs = {}", options.epochs),
        };
        reporter.println(&format!(
            "checkpoint at epoch {} ≥ {limit}: nothing to train",
            options.initial_epoch
        ));
    }
    let mut saver = args.checkpoint.saver(&model.name, &mut locks)?;
    let mut progress = reporter.model(None);
    // Explicit validation data wins over a split, as in Keras; a split's tail wins over
    // MNIST's test set or a `.npz`'s `x_test`.
    let validation = match (&split, &data.validation) {
        (Some(tail), _) => Some(tail),
        (None, v) => v.as_ref(),
    };
    let trained = fit_continue(
        &mut network,
        &data.train,
        validation,
        &options,
        &mut (&mut progress, &mut saver),
        history,
    )
    .map_err(|source| checkpoint_args::train_error(&model.name, source))?;
    drop(progress);
    let carry_on = args.checkpoint.continue_on_write_error();
    // With `--on-write-error continue`, a file that cannot be written is a warning and the
    // other files are still written.
    let written = |result: Result<(), CliError>, done: Option<String>| -> Result<(), CliError> {
        match result {
            Ok(()) => {
                if let Some(done) = done {
                    reporter.println(&done);
                }
                Ok(())
            }
            Err(CliError::Io { path, source, .. }) if carry_on => {
                checkpoint_args::warn_write(&path, &source);
                Ok(())
            }
            Err(CliError::Output(OutputError::Write { path, source })) if carry_on => {
                checkpoint_args::warn_write(&path, &source);
                Ok(())
            }
            Err(error) => Err(error),
        }
    };
    written(
        args.checkpoint
            .save(&network, &options, &trained, data.train.class_names()),
        args.checkpoint
            .save
            .as_ref()
            .map(|path| format!("Model saved to {}", path.display())),
    )?;

    if let Some(path) = &args.history {
        written(
            history::write(path, &trained).map_err(CliError::from),
            Some(format!("History written to {}", path.display())),
        )?;
    }
    if let Some(path) = &args.plot {
        let chart = Chart {
            title: format!("{}: loss per epoch", model.name),
            x_label: "epoch".to_owned(),
            y_label: "loss".to_owned(),
            series: vec![
                Series {
                    label: "loss".to_owned(),
                    color: colors::BLUE,
                    values: trained.loss.clone(),
                },
                Series {
                    label: "val_loss".to_owned(),
                    color: colors::RED,
                    values: trained.val_loss.clone(),
                },
            ],
        };
        written(
            plot::draw(path, &chart).map_err(CliError::from),
            Some(format!("Plot drawn in {}", path.display())),
        )?;
    }
    Ok(())
}

/// The model called `name`, or the file's only model.
///
/// # Errors
///
/// [`CliError::UnknownModel`] if `name` names none of the models; [`CliError::Usage`] if
/// no name is given and the file defines several models (or none).
pub fn choose_model<'s>(
    spec: &'s Spec,
    path: &Path,
    name: Option<&str>,
) -> Result<&'s Model, CliError> {
    let available = || {
        spec.models
            .iter()
            .map(|m| m.name.clone())
            .collect::<Vec<_>>()
    };
    match name {
        Some(name) => spec.model(name).ok_or_else(|| CliError::UnknownModel {
            name: name.to_owned(),
            path: path.to_owned(),
            available: available(),
        }),
        None => match spec.models.as_slice() {
            [only] => Ok(only),
            [] => Err(CliError::Usage(format!(
                "`{}` defines no models",
                path.display()
            ))),
            _ => Err(CliError::Usage(format!(
                "`{}` defines {} models ({}); choose one with --model NAME",
                path.display(),
                spec.models.len(),
                available().join(", ")
            ))),
        },
    }
}

/// Refuses a plot file name that does not end in `.png`.
///
/// # Errors
///
/// [`CliError::Usage`] naming the file.
pub fn check_png(path: &Path) -> Result<(), CliError> {
    let png = path
        .extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("png"));
    if png {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "cannot draw `{}`: plots are PNG files; name it `*.png`",
            path.display()
        )))
    }
}

/// Refuses data whose samples do not have the model's input size, naming the image shape,
/// the model and where the data came from (before any buffer is sized or any step run).
///
/// # Errors
/// [`CliError::Data`] (exit 1) when the sizes differ.
pub fn check_data_shape(
    model: &Model,
    spec: &Path,
    data: &mlp_runtime::data::Dataset,
    source: &str,
) -> Result<(), CliError> {
    let (wanted, found) = (model.input_size(), data.features());
    if wanted == found {
        return Ok(());
    }
    let shape = |dims: &[usize]| {
        dims.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("×")
    };
    // The shape only when it says more than the count (`28×28`, not `13`).
    let with_shape = |count: usize, dims: &[usize]| {
        if dims.len() > 1 {
            format!("{count} ({})", shape(dims))
        } else {
            count.to_string()
        }
    };
    Err(mlp_runtime::data::DataError::InvalidDataset {
        reason: format!(
            "{source} have {} features per sample, but `{}` in `{}` takes {} input features",
            with_shape(found, &data.sample_shape),
            model.name,
            spec.display(),
            with_shape(wanted, &model.input),
        ),
    }
    .into())
}

/// Refuses targets that do not fit the model's loss or output layer (text labels under
/// `mse`, values outside `[0, 1]` under `binary_crossentropy`, more classes than units),
/// naming where they came from (the CSV column and file, the array) and the model, before
/// any buffer is sized or any step run.
///
/// # Errors
/// [`CliError::Targets`] (exit 1).
pub fn check_targets(model: &Model, data: &crate::data_args::Loaded) -> Result<(), CliError> {
    let sets = std::iter::once((&data.train, &data.targets)).chain(
        data.validation
            .as_ref()
            .zip(data.validation_targets.as_ref()),
    );
    for (set, place) in sets {
        mlp_runtime::check_targets(model, &set.targets).map_err(|source| CliError::Targets {
            place: place.clone(),
            model: model.name.clone(),
            source: Box::new(source),
        })?;
    }
    Ok(())
}

/// Refuses an output file whose folder does not exist, or that names a folder itself
/// (checked before any training, so a typo costs no training time).
///
/// # Errors
///
/// [`CliError::Output`] naming the file and what is wrong with it.
pub fn check_folder(path: &Path) -> Result<(), CliError> {
    let refuse = |why: String| {
        Err(CliError::Output(OutputError::Write {
            path: path.to_owned(),
            source: std::io::Error::other(why),
        }))
    };
    if path.is_dir() {
        return refuse("it is a folder; name a file inside it".to_owned());
    }
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.is_dir() => {
            refuse(format!("the folder `{}` does not exist", folder.display()))
        }
        _ => Ok(()),
    }
}
