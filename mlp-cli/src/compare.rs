//! `mlp compare SPEC… [--plot FILE.png] [--metric val_loss] [--out DIR] [--epochs N]
//! [--jobs N] [--seed N] [--data DIR] [--quiet] [--on-write-error stop|continue]`: trains
//! every model of the given specs through the dynamic `Network`, several at once, then
//! writes into `--out` each History (`<name>.history.json` and `.csv`), `results.md`, and
//! one plot of the chosen metric per epoch with a line per model (`--plot`, by default
//! `<out>/compare.png`).
//!
//! A model is named by its spec file's stem, or `stem.Model` when the file defines
//! several. Every spec is checked before anything trains; plots are drawn last. Every file
//! is written atomically: one that cannot be written stops the command naming it (exit 2),
//! or with `--on-write-error continue` is a warning and the other files are still written.

use std::fs;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use mlp_cli::jobs::{self, Job};
use mlp_cli::plot::{self, colors, Chart, Series};
use mlp_cli::progress::{Mode, Reporter};
use mlp_cli::results::{self, Row};
use mlp_cli::{history, OutputError};
use mlp_runtime::data::Mnist;
use mlp_runtime::ir::Model;
use mlp_runtime::{FitOptions, History, Network};

use crate::checkpoint_args::OnWriteErrorArg;
use crate::error::{CliError, Failures};
use crate::spec_file::SpecFile;
use crate::train::{check_data_shape, check_folder, check_png};

/// The metric a comparison plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Metric {
    /// Training loss.
    Loss,
    /// Training accuracy.
    Accuracy,
    /// Validation loss.
    ValLoss,
    /// Validation accuracy.
    ValAccuracy,
}

impl Metric {
    /// Its Keras key (`val_loss`).
    fn key(self) -> &'static str {
        match self {
            Metric::Loss => "loss",
            Metric::Accuracy => "accuracy",
            Metric::ValLoss => "val_loss",
            Metric::ValAccuracy => "val_accuracy",
        }
    }

    /// Its values in `history`.
    fn values(self, history: &History) -> &[f32] {
        match self {
            Metric::Loss => &history.loss,
            Metric::Accuracy => history.accuracy(),
            Metric::ValLoss => &history.val_loss,
            Metric::ValAccuracy => history.val_accuracy(),
        }
    }
}

/// The flags of `mlp compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// The `.mlp` files; every model in them is trained.
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// `--max-memory SIZE` (per model).
    #[command(flatten)]
    pub memory: crate::memory_arg::MemoryArg,
    /// The comparison plot [default: <out>/compare.png].
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// The metric to plot.
    #[arg(long, value_enum, default_value = "val_loss")]
    pub metric: Metric,
    /// Folder for results.md and the histories (created if missing).
    #[arg(long, value_name = "DIR", default_value = "compare")]
    pub out: PathBuf,
    /// Epochs per model [default: each spec's].
    #[arg(long, value_name = "N", value_parser = mlp_cli::parse_positive, allow_negative_numbers = true)]
    pub epochs: Option<usize>,
    /// Models trained at once [default: one per core].
    #[arg(long, value_name = "N", value_parser = mlp_cli::parse_positive, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Seed of every model [default: each spec's].
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,
    /// `--data PATH`, `--target`, `--features`, the CSV flags, `--validation-data`,
    /// `--validation-split` (as `mlp train`; every model trains on the same data).
    #[command(flatten)]
    pub data: crate::data_args::DataArgs,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// What a History, results.md or plot file that cannot be written (disk full,
    /// read-only folder) does; the previous file is left intact either way (the `--out`
    /// folder itself is created before training, and a failure there always stops).
    #[arg(long, value_name = "WHAT", value_enum, default_value = "stop")]
    pub on_write_error: OnWriteErrorArg,
}

/// The data line of `results.md`: what trained and what validated.
fn describe(source: &str, args: &CompareArgs) -> String {
    let validation = match (&args.data.validation_data, args.data.validation_split) {
        (Some(path), _) => format!("validation on `{}`", path.display()),
        (None, Some(split)) => format!("validation on the last {split} of it (validation_split)"),
        (None, None) if args.data.data.is_none() || source.starts_with("the images") => {
            "validation on the test images unless a spec sets validation_split".to_owned()
        }
        (None, None) => {
            "validation as each spec's validation_split says (none without one)".to_owned()
        }
    };
    format!("Trained on {source}; {validation}.")
}

/// A model to compare and its name.
struct Entry {
    name: String,
    model: Model,
    /// The spec file it came from.
    path: PathBuf,
}

/// Trains and compares every model of `args.specs`.
///
/// # Errors
///
/// Exit 2: an unusable plot path, unreadable specs, unwritable outputs (unless
/// `--on-write-error continue`, which warns naming each one). Exit 1: spec mistakes (every
/// file's are reported), MNIST missing or malformed, a model that cannot be built or
/// trained.
pub fn run(args: &CompareArgs) -> Result<(), CliError> {
    let plot_path = args
        .plot
        .clone()
        .unwrap_or_else(|| args.out.join("compare.png"));
    check_png(&plot_path)?;
    if args.plot.is_some() {
        check_folder(&plot_path)?;
    }
    let entries = read_specs(&args.specs)?;
    let Some(first) = entries.first() else {
        return Err(CliError::Usage("no models to compare".to_owned()));
    };
    // Read once, its targets in the form the first model's loss reads (a model whose loss
    // wants another is refused by `fit`, naming both).
    let loaded = args.data.load(&first.model)?;
    for entry in &entries {
        check_data_shape(&entry.model, &entry.path, &loaded.train, &loaded.source)?;
    }
    let described = describe(&loaded.source, args);
    let data = Mnist {
        test: loaded
            .validation
            .unwrap_or_else(|| loaded.train.slice(0..0)),
        train: loaded.train,
    };
    fs::create_dir_all(&args.out).map_err(|error| CliError::io("create", &args.out, error))?;

    let mut jobs = Vec::with_capacity(entries.len());
    for entry in &entries {
        let mut options = FitOptions::from_config(&entry.model.train);
        if let Some(epochs) = args.epochs {
            options.epochs = epochs;
        }
        if let Some(seed) = args.seed {
            options.seed = seed;
        }
        if let Some(split) = args.data.validation_split {
            options.validation_split = Some(split);
        }
        if args.data.validation_data.is_some() {
            options.validation_split = None;
        }
        options.batch_size = options.batch_size.min(data.train.len().max(1));
        let network = Network::with_memory_limit(
            &entry.model,
            options.seed,
            options.batch_size,
            args.memory.max_memory,
        )
        .map_err(|source| CliError::Network {
            model: entry.name.clone(),
            source,
        })?;
        jobs.push(Job {
            name: entry.name.clone(),
            model: Box::new(network),
            options,
        });
    }
    let threads = args.jobs.unwrap_or_else(jobs::default_threads);
    let reporter = Reporter::new(Mode::detect(args.quiet));
    let outcomes = jobs::train_all(jobs, &data, threads, &reporter);

    // With `--on-write-error continue`, a file that cannot be written is a warning (and is
    // listed at the end); any other failure to write stops.
    let mut unwritten: Vec<PathBuf> = Vec::new();
    let mut written = |path: &Path, result: Result<(), CliError>| -> Result<(), CliError> {
        if !args.on_write_error.tolerate(result)? {
            unwritten.push(path.to_owned());
        }
        Ok(())
    };
    let mut rows = Vec::new();
    let mut series = Vec::new();
    let mut failure = None;
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome.history {
            Ok(trained) => {
                for extension in ["json", "csv"] {
                    let path = args
                        .out
                        .join(format!("{}.history.{extension}", outcome.name));
                    written(
                        &path,
                        history::write(&path, &trained).map_err(CliError::from),
                    )?;
                }
                rows.push(Row::new(&outcome.name, outcome.params, &trained));
                series.push(Series {
                    label: outcome.name.clone(),
                    color: colors::CYCLE[index % colors::CYCLE.len()],
                    values: args.metric.values(&trained).to_vec(),
                });
            }
            Err(source) => {
                failure.get_or_insert(CliError::Train {
                    model: outcome.name,
                    source: Box::new(source),
                });
            }
        }
    }
    let table = results::table(&rows);
    let results_path = args.out.join("results.md");
    let text = format!("# Comparison\n\n{described}\n\n{table}");
    written(
        &results_path,
        mlp_runtime::fs::write_atomic(&results_path, text.as_bytes())
            .map_err(|error| CliError::from(OutputError::from(error))),
    )?;
    if let Some(error) = failure {
        return Err(error);
    }
    let chart = Chart {
        title: format!("{} per epoch", args.metric.key()),
        x_label: "epoch".to_owned(),
        y_label: args.metric.key().to_owned(),
        series,
    };
    written(
        &plot_path,
        plot::draw(&plot_path, &chart).map_err(CliError::from),
    )?;
    let wrote = if unwritten.is_empty() {
        format!(
            "Wrote {} and the histories into {}; plot: {}",
            results_path.display(),
            args.out.display(),
            plot_path.display()
        )
    } else {
        let names: Vec<String> = unwritten
            .iter()
            .map(|path| format!("`{}`", path.display()))
            .collect();
        format!(
            "Could not write {} (--on-write-error continue)",
            names.join(", ")
        )
    };
    reporter.println(&format!("\n{table}\n{wrote}"));
    Ok(())
}

/// Every model of every file, named (see the module docs); all files' diagnostics are
/// printed before failing.
fn read_specs(paths: &[PathBuf]) -> Result<Vec<Entry>, CliError> {
    let mut failures = Failures::new(paths.len(), "could not be read");
    let mut entries: Vec<Entry> = Vec::new();
    for path in paths {
        let result = SpecFile::read(path).and_then(|file| file.compile());
        match result {
            Ok(spec) => {
                let stem = stem(path);
                let several = spec.models.len() > 1;
                for model in spec.models {
                    let base = if several {
                        format!("{stem}.{}", model.name)
                    } else {
                        stem.clone()
                    };
                    let name = unique(&base, &entries);
                    entries.push(Entry {
                        name,
                        model,
                        path: path.clone(),
                    });
                }
            }
            Err(error) => failures.record(Err(error)),
        }
    }
    failures.finish()?;
    if entries.is_empty() {
        return Err(CliError::Usage(
            "the spec files define no models".to_owned(),
        ));
    }
    Ok(entries)
}

/// The file name without its extension.
fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "model".to_owned(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}

/// `base`, or `base-2`, `base-3`, … if an entry already has that name.
fn unique(base: &str, entries: &[Entry]) -> String {
    let taken = |name: &str| entries.iter().any(|entry| entry.name == name);
    if !taken(base) {
        return base.to_owned();
    }
    // Among `entries.len() + 1` candidates at least one is free.
    (2..=entries.len() + 2)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !taken(name))
        .unwrap_or_else(|| base.to_owned())
}
