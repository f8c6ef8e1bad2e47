//! The `mlp` command: check, summarise, format and expand `.mlp` model specs; train,
//! compare and benchmark their models on MNIST.
//!
//! `main` only parses the command line and dispatches; each command lives in its own
//! module with a `run` function returning `Result<(), CliError>`, and the shared
//! [`spec_file`] module reads spec files and prints diagnostics. Progress, History files,
//! results tables and plots come from the `mlp_cli` library, which the notebook example
//! shares. Exit codes: 0 ok, 1 spec
//! or data errors, 2 usage or I/O errors (clap itself exits with 2 on a usage error).

#![forbid(unsafe_code)]

mod bench;
mod check;
mod checkpoint_args;
mod compare;
mod data_args;
mod error;
mod expand;
mod export;
mod fmt;
mod import;
mod import_keras;
mod memory_arg;
mod output;
mod predict;
mod spec_file;
mod summary;
mod threads_arg;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mlp_runtime::testing::CountingAllocator;

/// Counts heap allocations per thread, so `mlp bench` can report them per training step
/// (one thread-local increment per allocation: no measurable cost elsewhere).
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Declarative neural-network specs, Keras-exact.
#[derive(Debug, Parser)]
#[command(name = "mlp", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check spec files and report every mistake in them.
    Check {
        /// The `.mlp` files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the Keras `model.summary()` table of each model in a spec file.
    Summary {
        /// The `.mlp` file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Only this model (by default every model in the file).
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
    },
    /// Rewrite spec files in the canonical layout, keeping comments.
    Fmt {
        /// The `.mlp` files to format in place.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write nothing; list the files that would change and exit with 1 if any would.
        #[arg(long)]
        check: bool,
    },
    /// Print the Rust code that `include_mlp!` generates for a spec file.
    Expand {
        /// The `.mlp` file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Only this model (by default every model in the file).
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
    },
    /// Train one model of a spec on MNIST or your own data (CSV, `NumPy`), with Keras-like progress.
    Train(train::TrainArgs),
    /// Evaluate trained weights on data: Keras's evaluate line (loss and every metric).
    Evaluate(predict::EvaluateArgs),
    /// Write a trained model's predictions for data (outputs and predicted class).
    Predict(predict::PredictArgs),
    /// Train every model of some specs on the same data (MNIST or your own), several at once, and compare them.
    Compare(compare::CompareArgs),
    /// Measure the kernels' peak and each model's training and inference speed.
    Bench(bench::BenchArgs),
    /// Export a trained model: standalone `no_std` Rust or C99 with the weights compiled in, ONNX, or Keras's `.keras`.
    Export(export::ExportArgs),
    /// Import a model trained elsewhere (ONNX) as a `.mlp` spec and its weights.
    Import(import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check { files } => check::run(files),
        Command::Summary { file, model } => summary::run(file, model.as_deref()),
        Command::Fmt { files, check } => fmt::run(files, *check),
        Command::Expand { file, model } => expand::run(file, model.as_deref()),
        Command::Train(args) => train::run(args),
        Command::Evaluate(args) => predict::run_evaluate(args),
        Command::Predict(args) => predict::run_predict(args),
        Command::Compare(args) => compare::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error.report();
            ExitCode::from(error.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
