//! The notebook, end to end (what `cargo run --release --example notebook` runs): the seven
//! models of `specs/notebook/`, each summarised, trained on MNIST as the notebook does
//! (raw 0..255 pixels, Adam, batch 32, validation on the 10 000 test images), several at
//! once; then, in the output folder:
//!
//! 1. `<stem>.history.json` and `<stem>.history.csv` for every model, as soon as all
//!    have trained;
//! 2. `results.md`, one row per model ([`crate::results`]);
//! 3. the notebook's five comparison plots of `val_loss` per epoch ([`COMPARISONS`]), last,
//!    so a plotting failure (a missing font) loses no result.
//!
//! The models themselves come from the caller: the example compiles them from the specs
//! with `include_mlp!` and hands over one constructor per spec ([`NotebookModel`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use std::{fs, io};

use clap::Parser;
use mlp_runtime::data::{load_mnist, DataError};
use mlp_runtime::{FitOptions, Model, TrainError};

use crate::jobs::{self, Job};
use crate::plot::{self, colors, Chart, Series};
use crate::progress::{Mode, Reporter};
use crate::results::{self, Row};
use crate::{history, OutputError};

/// One model of the notebook: the stem of its spec file and a constructor taking a seed.
#[derive(Debug, Clone, Copy)]
pub struct NotebookModel {
    /// The spec file's stem (`baseline` for `specs/notebook/baseline.mlp`).
    pub stem: &'static str,
    /// A fresh model, initialised from the seed.
    pub build: fn(u64) -> Box<dyn Model + Send>,
}

/// One of the notebook's comparison plots.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// The PNG's file name.
    pub file: &'static str,
    /// The plot's title.
    pub title: &'static str,
    /// `(spec stem, legend label, colour)` of each line, as the notebook's `plt.plot` calls
    /// have them.
    pub lines: &'static [(&'static str, &'static str, (u8, u8, u8))],
}

/// The notebook's five `plt.plot` cells, in its order.
pub const COMPARISONS: [Comparison; 5] = [
    Comparison {
        file: "1_he_init.png",
        title: "Weight initialisation: glorot_uniform vs he_normal",
        lines: &[
            ("baseline", "No Setting", colors::RED),
            ("he_normal", "He init", colors::BLUE),
        ],
    },
    Comparison {
        file: "2_l2_l1.png",
        title: "Regularisation: L2(0.001) vs L1(0.001)",
        lines: &[
            ("baseline", "No Setting", colors::RED),
            ("l2", "L2", colors::BLUE),
            ("l1", "L1", colors::GREEN),
        ],
    },
    Comparison {
        file: "3_dropout_l1.png",
        title: "Dropout(0.2) with L1(0.01) vs L1(0.001)",
        lines: &[
            ("baseline", "No Setting", colors::RED),
            ("dropout", "Dropout", colors::BLUE),
            ("l1", "L1", colors::GREEN),
        ],
    },
    Comparison {
        file: "4_batchnorm.png",
        title: "Batch normalisation",
        lines: &[
            ("baseline", "No Setting", colors::RED),
            ("batchnorm", "Batch", colors::BLUE),
        ],
    },
    Comparison {
        file: "5_leaky_relu.png",
        title: "BatchNorm + LeakyReLU(0.2)",
        lines: &[
            ("baseline", "No Setting", colors::RED),
            ("leaky_relu", "Leaky", colors::BLUE),
        ],
    },
];

/// Reproduce the Keras notebook: train its seven MNIST models and plot their `val_loss`.
#[derive(Debug, Clone, Parser)]
#[command(name = "notebook")]
pub struct Args {
    /// Epochs per model [default: the spec's, 10].
    #[arg(long, value_name = "N", value_parser = crate::parse_positive)]
    pub epochs: Option<usize>,
    /// Seed of initialisation, shuffling and dropout [default: the spec's, 0].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Folder holding MNIST (else `$MLP_DATA/mnist`, the user cache, or a download).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Only these models, by spec stem (`baseline,he_normal,l2,l1,dropout,batchnorm,leaky_relu`).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub models: Option<Vec<String>>,
    /// Models trained at once [default: one per core].
    #[arg(long, value_name = "N", value_parser = crate::parse_positive)]
    pub jobs: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Folder the plots, histories and results.md are written to.
    #[arg(long, value_name = "DIR", default_value = "target/notebook")]
    pub out: PathBuf,
}

/// Why the notebook could not run to the end.
#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    /// `--models` named a model the notebook does not have.
    #[error("no notebook model `{name}`; the models are {}", available.join(", "))]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The stems of the notebook's models.
        available: Vec<String>,
    },
    /// MNIST could not be found or read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A model refused to train.
    #[error("cannot train `{model}`: {source}")]
    Train {
        /// The model's stem.
        model: String,
        /// Why.
        source: Box<TrainError>,
    },
    /// The output folder could not be created.
    #[error("cannot create `{}`: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A result file could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl NotebookError {
    /// The process exit code: 1 for data and training errors, 2 for usage and I/O.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            NotebookError::Data(_) | NotebookError::Train { .. } => 1,
            NotebookError::UnknownModel { .. }
            | NotebookError::CreateDir { .. }
            | NotebookError::Output(_) => 2,
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The results table's rows, in the notebook's order.
    pub rows: Vec<Row>,
    /// Every file written, in the order written.
    pub files: Vec<PathBuf>,
    /// Wall-clock seconds of the whole training (all models).
    pub training_seconds: f64,
}

/// Parses the command line, runs the notebook over `models`, prints any error; the
/// example's whole `main`.
#[must_use]
pub fn main(models: &[NotebookModel]) -> ExitCode {
    let args = Args::parse();
    match run(&args, models) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs the notebook over `models` (in their order) as `args` say: summaries, training,
/// histories, `results.md`, the five plots (see the module docs).
///
/// # Errors
///
/// [`NotebookError`]: an unknown `--models` name, MNIST not found or malformed, a model
/// that refuses to train, or a file that cannot be written. Files written before a
/// failure are kept (each is complete: every write is atomic).
pub fn run(args: &Args, models: &[NotebookModel]) -> Result<Report, NotebookError> {
    let chosen = choose(models, args.models.as_deref())?;
    let reporter = Reporter::new(Mode::detect(args.quiet));
    fs::create_dir_all(&args.out).map_err(|source| NotebookError::CreateDir {
        path: args.out.clone(),
        source,
    })?;
    let data = load_mnist(args.data.as_deref())?;

    let mut jobs = Vec::with_capacity(chosen.len());
    for spec in &chosen {
        let mut model = (spec.build)(args.seed.unwrap_or(0));
        let config = model.ir().train.clone();
        let seed = args.seed.unwrap_or(config.seed);
        if seed != 0 && args.seed.is_none() {
            // The spec fixes its own seed: initialise from that one.
            model = (spec.build)(seed);
        }
        reporter.println(&model.summary());
        let mut options = FitOptions::from_config(&config);
        options.seed = seed;
        if let Some(epochs) = args.epochs {
            options.epochs = epochs;
        }
        jobs.push(Job {
            name: spec.stem.to_owned(),
            model,
            options,
        });
    }
    let epochs = jobs.first().map_or(0, |job| job.options.epochs);
    let threads = args.jobs.unwrap_or_else(jobs::default_threads);
    let threads = threads.clamp(1, jobs.len().max(1));
    reporter.println(&format!(
        "Training {} model{} for {epochs} epoch{}, {threads} at a time…",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        if epochs == 1 { "" } else { "s" },
    ));
    let start = Instant::now();
    let outcomes = jobs::train_all(jobs, &data, threads, &reporter);
    let training_seconds = start.elapsed().as_secs_f64();

    let mut files = Vec::new();
    let mut rows = Vec::new();
    let mut histories = Vec::new();
    let mut failure = None;
    for outcome in outcomes {
        match outcome.history {
            Ok(history) => {
                for extension in ["json", "csv"] {
                    let path = args
                        .out
                        .join(format!("{}.history.{extension}", outcome.name));
                    history::write(&path, &history)?;
                    files.push(path);
                }
                rows.push(Row::new(&outcome.name, outcome.params, &history));
                histories.push((outcome.name, history));
            }
            Err(source) => {
                failure.get_or_insert(NotebookError::Train {
                    model: outcome.name,
                    source: Box::new(source),
                });
            }
        }
    }
    let results_path = args.out.join("results.md");
    let text = results_markdown(&rows, epochs, threads, training_seconds);
    mlp_runtime::fs::write_atomic(&results_path, text.as_bytes()).map_err(OutputError::from)?;
    files.push(results_path);
    if let Some(error) = failure {
        return Err(error);
    }

    for comparison in &COMPARISONS {
        let Some(chart) = comparison_chart(comparison, &histories) else {
            continue;
        };
        let path = args.out.join(comparison.file);
        plot::draw(&path, &chart)?;
        files.push(path);
    }
    reporter.println(&format!(
        "\n{}\nTrained in {:.1}s. Wrote {} files into {}",
        results::table(&rows),
        training_seconds,
        files.len(),
        args.out.display()
    ));
    Ok(Report {
        rows,
        files,
        training_seconds,
    })
}

/// The models `names` asks for, in the notebook's order (all of them without `names`).
fn choose<'m>(
    models: &'m [NotebookModel],
    names: Option<&[String]>,
) -> Result<Vec<&'m NotebookModel>, NotebookError> {
    let Some(names) = names else {
        return Ok(models.iter().collect());
    };
    for name in names {
        if !models.iter().any(|model| model.stem == name.as_str()) {
            return Err(NotebookError::UnknownModel {
                name: name.clone(),
                available: models.iter().map(|model| model.stem.to_owned()).collect(),
            });
        }
    }
    Ok(models
        .iter()
        .filter(|model| names.iter().any(|name| name == model.stem))
        .collect())
}

/// The chart of `comparison`, if every model it compares was trained.
#[must_use]
pub fn comparison_chart(
    comparison: &Comparison,
    histories: &[(String, mlp_runtime::History)],
) -> Option<Chart> {
    let mut series = Vec::with_capacity(comparison.lines.len());
    for &(stem, label, color) in comparison.lines {
        let (_, history) = histories.iter().find(|(name, _)| name == stem)?;
        series.push(Series {
            label: label.to_owned(),
            color,
            values: history.val_loss.clone(),
        });
    }
    Some(Chart {
        title: comparison.title.to_owned(),
        x_label: "epoch".to_owned(),
        y_label: "val_loss".to_owned(),
        series,
    })
}

/// `results.md`: a heading, how the models were trained, and the table.
fn results_markdown(rows: &[Row], epochs: usize, threads: usize, seconds: f64) -> String {
    format!(
        "# Notebook results\n\n\
         MNIST, raw 0..255 pixels, Adam, batch 32, {epochs} epoch{}, validation on the 10,000 test \
         images; {threads} model{} trained at once; {seconds:.1} s of training in all. \
         s/epoch is the median wall-clock time of an epoch (training and validation).\n\n{}",
        if epochs == 1 { "" } else { "s" },
        if threads == 1 { "" } else { "s" },
        results::table(rows)
    )
}
