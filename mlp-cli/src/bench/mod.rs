//! `mlp bench [SPEC…] [--model NAME] [--threads N] [--data DIR] [--json FILE] [--quick]`:
//! measures, in one process and one run, the kernels' peak and each model's training and
//! inference speed, three ways: the code `include_mlp!` generates (for a spec compiled into
//! this binary, see [`compiled`]), the dynamic `Network` (any spec), and a hand-written
//! `ndarray` loop (models it covers, see [`mlp_cli::handwritten`]).
//!
//! Per run: the machine's FMA peak per core, measured with independent multiply-add chains
//! on the detected instruction set (the peak every other figure is compared with, times the
//! threads in use), and the sustained GFLOP/s of a large square GEMM of our own kernels. Per model and implementation ([`measure`]: one generic
//! function, so generated code and `Network` are measured identically):
//! - training in steady state: a warm-up `fit` of 300 steps, then one epoch over MNIST's
//!   60 000 training images through `fit` (shuffle, u8 -> f32 gather, every step), three
//!   times, continuing from the warmed-up model; the median is reported as seconds per
//!   epoch, microseconds per step, achieved GFLOP/s (forward and backward products, see
//!   [`measure::step_flops`]) and % of the peak;
//! - heap allocations per `train_step` (counted by the binary's global allocator on the
//!   calling thread, over 200 steps after the warm-up);
//! - the batch-1 forward latency, median and 90th percentile over 10 000 calls;
//! - inference throughput on the 10 000 test images in batches of 1000 (best of ten).
//!
//! The hand-written baseline's epoch is measured like the training rows (warm-up, median of
//! three). Peak RSS is the process's high-water mark after each model. `--quick` shrinks
//! every measurement (20 warm-up steps, a tenth of an epoch once, fewer calls) so CI can run
//! it; its numbers are indicative only. Times are wall-clock: on a loaded machine they
//! include time the process was not running.

mod compiled;
mod measure;

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use mlp_cli::handwritten::HandWritten;
use mlp_runtime::data::{load_mnist, DataError};
use mlp_runtime::ir::Model as IrModel;
use mlp_runtime::kernels::parallel;
use mlp_runtime::Network;
use serde::Serialize;

use self::measure::{measure, measure_handwritten, peak_gflops, peak_rss_mib, Baseline};
use self::measure::{Measured, Setup};
use crate::error::CliError;
use crate::spec_file::SpecFile;
use crate::threads_arg::ThreadsArg;
use crate::train::choose_model;

/// The flags of `mlp bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The `.mlp` files to measure (every model of each, unless `--model`).
    #[arg(required = true, value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Only this model of each file.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// `--threads N`.
    #[command(flatten)]
    pub threads: ThreadsArg,
    /// `--max-memory SIZE`.
    #[command(flatten)]
    pub memory: crate::memory_arg::MemoryArg,
    /// Folder holding MNIST (else `$MLP_DATA/mnist`, the user cache, or a download).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Short measurements (CI smoke run): indicative numbers only.
    #[arg(long)]
    pub quick: bool,
}

/// One model's entry of the JSON report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The spec file.
    pub spec: String,
    /// The model.
    pub model: String,
    /// Kernel threads in effect.
    pub threads: usize,
    /// The machine's FMA peak for the threads in use, GFLOP/s, measured in this run with
    /// independent multiply-add chains (`kernels::peak::fma_gflops` × threads): what every
    /// `percent_of_peak` is relative to.
    pub peak_gflops: f64,
    /// GFLOP/s of a 512³ GEMM of our kernels on one thread, measured in this run.
    pub gemm_peak_gflops: f64,
    /// Peak resident memory of the process so far, MiB (Linux only; 0 elsewhere).
    pub peak_rss_mib: f64,
    /// The generated type, when the spec's model is compiled into this binary.
    pub generated: Option<Measured>,
    /// The model through `Network`.
    pub network: Measured,
    /// The hand-written `ndarray` loop, when it covers the model.
    pub ndarray_baseline: Option<Baseline>,
    /// Why a row is missing, for the table (not in the JSON).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// Runs the benchmark over every requested model, prints a table and writes the JSON.
///
/// # Errors
///
/// Exit 2: unreadable spec, unwritable JSON file. Exit 1: spec mistakes, an unknown
/// `--model`, MNIST missing or malformed, a model that cannot be built or trained.
pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    if let Some(path) = &args.json {
        // Before minutes of measuring, not after.
        crate::train::check_folder(path)?;
    }
    let threads = args.threads.apply();
    let mut models = Vec::new();
    for path in &args.specs {
        let file = SpecFile::read(path)?;
        let spec = file.compile()?;
        match &args.model {
            Some(name) => {
                models.push((path.clone(), choose_model(&spec, path, Some(name))?.clone()));
            }
            None => models.extend(spec.models.iter().map(|m| (path.clone(), m.clone()))),
        }
    }
    let data = load_mnist(args.data.as_deref())?;
    for (set, what) in [(&data.train, "training"), (&data.test, "test")] {
        if set.is_empty() {
            return Err(DataError::InvalidDataset {
                reason: format!(
                    "the {what} set is empty; `mlp bench` trains on the training images and \
                     measures inference on the test images"
                ),
            }
            .into());
        }
    }
    // Every model must fit the data before anything is measured, so a mistake in the last
    // model of a file does not cost the others' results.
    for (path, model) in &models {
        crate::train::check_data_shape(
            model,
            path,
            &data.train,
            &crate::data_args::mnist_source(args.data.as_deref()),
        )?;
        // The largest batch the measurements use (10 000 test images in batches of 1000).
        let batch = model.train.batch.max(1000);
        let needed = mlp_spec::plan::Plan::new(model).map_or(0, |plan| plan.memory(batch).total());
        mlp_runtime::memory::check(needed, args.memory.max_memory).map_err(|e| {
            CliError::Network {
                model: model.name.clone(),
                source: mlp_runtime::NetworkError::Memory(e),
            }
        })?;
        let units = model.output_size();
        let too_big = data
            .train
            .labels()
            .into_iter()
            .chain(data.test.labels())
            .flat_map(|l| l.iter().copied())
            .max();
        if let Some(label) = too_big.filter(|&l| units >= 2 && l as usize >= units) {
            return Err(DataError::InvalidDataset {
                reason: format!(
                    "`{}` in `{}` has {units} output classes, the data has label {label}",
                    model.name,
                    path.display()
                ),
            }
            .into());
        }
    }
    let isa = mlp_runtime::kernels::gemm::Isa::detected();
    let fma = mlp_runtime::kernels::peak::fma_gflops(isa);
    let peak = fma * threads as f64;
    let gemm = peak_gflops(args.quick);
    println!(
        "kernel peak: FMA {fma:.1} GFLOP/s per core ({isa:?}, independent chains; {peak:.1} on {threads} thread(s)), GEMM 512x512x512 {gemm:.1} GFLOP/s ({:.0} % of the FMA peak)",
        100.0 * gemm / fma
    );
    let mut reports = Vec::new();
    for (path, model) in &models {
        let setup = Setup {
            ir: model,
            train: &data.train,
            test: &data.test,
            peak,
            quick: args.quick,
        };
        let mut notes = Vec::new();
        let generated = if let Some(c) = compiled::find(model) {
            Some((c.measure)(&setup)?)
        } else {
            notes.push(format!(
                "generated: not compiled into this binary (it holds specs/notebook/*.mlp: {})",
                compiled::COMPILED.map(|c| c.stem).join(", ")
            ));
            None
        };
        let network = measure_network(&setup)?;
        let ndarray_baseline = match HandWritten::new(model, model.train.seed) {
            Ok(hand) => Some(measure_handwritten(&setup, hand)),
            Err(why) => {
                notes.push(format!("ndarray: {why}"));
                None
            }
        };
        reports.push(Report {
            spec: path.display().to_string(),
            model: model.name.clone(),
            threads,
            peak_gflops: peak,
            gemm_peak_gflops: gemm,
            peak_rss_mib: peak_rss_mib(),
            generated,
            network,
            ndarray_baseline,
            notes,
        });
    }
    print!("{}", table(&reports));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&reports)
            .map_err(|e| CliError::Usage(format!("cannot encode the results: {e}")))?;
        mlp_runtime::fs::write_atomic(path, format!("{json}\n").as_bytes())
            .map_err(mlp_cli::OutputError::from)?;
    }
    parallel::set_threads(1);
    Ok(())
}

/// [`measure`] over `Network`, for any model.
fn measure_network(setup: &Setup<'_>) -> Result<Measured, CliError> {
    let ir: &IrModel = setup.ir;
    measure(setup, |max_batch| {
        Network::new(ir, ir.train.seed, max_batch).map_err(|source| CliError::Network {
            model: ir.name.clone(),
            source,
        })
    })
}

/// How `ours` compares with `theirs` (times: lower is better): `1.28x faster` or
/// `1.28x slower`, never a ratio below 1 called faster.
fn speedup(theirs: f64, ours: f64) -> String {
    let ratio = theirs / ours;
    if !ratio.is_finite() || ratio <= 0.0 {
        "not comparable".to_owned()
    } else if ratio >= 1.0 {
        format!("{ratio:.2}x faster")
    } else {
        format!("{:.2}x slower", 1.0 / ratio)
    }
}

/// A duration in seconds, with a unit that keeps three significant digits when it is
/// small (`0.00082 s` is shown as `820 µs`, not `0.000`).
fn duration(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.3} s")
    } else if seconds >= 1e-3 {
        format!("{:.3} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

/// The results as a plain-text table: per model a row per implementation, the notes on
/// missing rows, and the ratios between the rows.
fn table(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        let _ = writeln!(
            out,
            "\n{} ({}), {} thread(s), peak RSS {:.1} MiB",
            r.model, r.spec, r.threads, r.peak_rss_mib
        );
        let _ = writeln!(
            out,
            "  {:<10} {:>10} {:>9} {:>8} {:>7} {:>10} {:>8} {:>8} {:>11}",
            "",
            "epoch",
            "µs/step",
            "GFLOP/s",
            "% peak",
            "batch-1 µs",
            "p90 µs",
            "M img/s",
            "allocs/step"
        );
        for (name, m) in [
            ("generated", r.generated.as_ref()),
            ("Network", Some(&r.network)),
        ] {
            let Some(m) = m else { continue };
            let _ = writeln!(
                out,
                "  {:<10} {:>10} {:>9.1} {:>8.1} {:>7.1} {:>10.2} {:>8.2} {:>8.2} {:>11}",
                name,
                duration(m.epoch_s),
                m.step_us,
                m.gflops,
                m.percent_of_peak,
                m.batch1_us,
                m.batch1_p90_us,
                m.infer_img_s / 1e6,
                m.allocs_per_step
            );
        }
        if let Some(b) = &r.ndarray_baseline {
            let _ = writeln!(out, "  {:<10} {:>10}", "ndarray", duration(b.epoch_s));
        }
        for note in &r.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        let above_peak = [r.generated.as_ref(), Some(&r.network)]
            .into_iter()
            .flatten()
            .any(|m| m.percent_of_peak > 100.0);
        if above_peak {
            let _ = writeln!(
                out,
                "  note: % peak is relative to the FMA peak measured above; over 100 % means \
                 the clock ran faster while measuring the model than while measuring the peak"
            );
        }
        let n = &r.network;
        if let Some(g) = &r.generated {
            let _ = writeln!(
                out,
                "  generated vs Network: epoch {}, step {}, batch-1 {}, inference {}",
                speedup(n.epoch_s, g.epoch_s),
                speedup(n.step_us, g.step_us),
                speedup(n.batch1_us, g.batch1_us),
                speedup(g.infer_img_s, n.infer_img_s)
            );
        }
        if let Some(b) = &r.ndarray_baseline {
            if let Some(g) = &r.generated {
                let _ = writeln!(
                    out,
                    "  generated vs ndarray: epoch {}",
                    speedup(b.epoch_s, g.epoch_s)
                );
            }
            let _ = writeln!(
                out,
                "  Network vs ndarray: epoch {}",
                speedup(b.epoch_s, n.epoch_s)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{duration, speedup};

    #[test]
    fn a_ratio_below_one_is_called_slower() {
        assert_eq!(speedup(2.0, 1.0), "2.00x faster");
        assert_eq!(speedup(0.78, 1.0), "1.28x slower");
        assert_eq!(speedup(1.0, 1.0), "1.00x faster");
        assert_eq!(speedup(1.0, 0.0), "not comparable");
    }

    #[test]
    fn tiny_epochs_keep_their_digits() {
        assert_eq!(duration(2.5), "2.500 s");
        assert_eq!(duration(0.0534), "53.400 ms");
        assert_eq!(duration(0.000_82), "820.0 µs");
    }
}
