//! `mlp bench [SPEC…] [--model NAME] [--threads N] [--data DIR] [--json FILE] [--quick]`:
//! measures, in one process, the kernels' peak and each model's training and inference
//! speed through the dynamic `Network`.
//!
//! Per run: the sustained GFLOP/s of a large square GEMM of our own kernels (the peak the
//! other rows are compared with). Per model: one training epoch over MNIST's training
//! images through `fit` (shuffle, u8 -> f32 gather, every step), reported as seconds per
//! epoch, microseconds per step, achieved GFLOP/s and % of the peak; the batch-1 forward
//! latency (median and 90th percentile over 10 000 calls); and inference throughput on the
//! 10 000 test images in batches of 1000. `--quick` shrinks every measurement (a tenth of
//! an epoch, fewer calls) so CI can run it; its numbers are indicative only. Times are
//! wall-clock: on a loaded machine they include time the process was not running.
//!
//! Generated code needs a compiled crate, so the generated-model and hand-written
//! `ndarray` rows live in the workspace's `benches/models.rs` (`cargo bench --bench
//! models`); this command covers any spec, through `Network`, without compiling Rust.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use mlp_runtime::data::{load_mnist, Dataset};
use mlp_runtime::ir::{LayerKind, Model as IrModel};
use mlp_runtime::kernels::{matmul, parallel};
use mlp_runtime::{fit, FitOptions, Model, Network};
use serde::Serialize;

use crate::error::CliError;
use crate::spec_file::SpecFile;
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
    /// Threads the kernels split large products across (results do not change).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = mlp_cli::parse_positive,
        allow_negative_numbers = true
    )]
    pub threads: usize,
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

/// The measurements of one model through `Network`.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Seconds per training epoch over the 60 000 training images (extrapolated from the
    /// steps run with `--quick`).
    pub epoch_s: f64,
    /// Microseconds per training step (batch of the spec).
    pub step_us: f64,
    /// Median batch-1 forward latency, microseconds.
    pub batch1_us: f64,
    /// 90th percentile batch-1 forward latency, microseconds.
    pub batch1_p90_us: f64,
    /// Images per second forwarded in batches of 1000.
    pub infer_img_s: f64,
    /// Floating-point operations per second sustained by training.
    pub gflops: f64,
    /// `gflops` as a percentage of the run's GEMM peak.
    pub percent_of_peak: f64,
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
    /// Peak GFLOP/s of a large GEMM of our kernels, measured in this run.
    pub peak_gflops: f64,
    /// The model through `Network`.
    pub network: Measured,
    /// Peak resident memory of the process so far, MiB (Linux only; 0 elsewhere).
    pub peak_rss_mib: f64,
}

/// Runs the benchmark over every requested model, prints a table and writes the JSON.
///
/// # Errors
///
/// Exit 2: unreadable spec, unwritable JSON file. Exit 1: spec mistakes, an unknown
/// `--model`, MNIST missing or malformed, a model that cannot be built or trained.
pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    let threads = parallel::set_threads(args.threads);
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
    let peak = peak_gflops(args.quick);
    println!("kernel peak (GEMM 512x512x512, {threads} thread(s)): {peak:.1} GFLOP/s");
    let mut reports = Vec::new();
    for (path, model) in &models {
        let network = measure(model, &data.train, &data.test, peak, args.quick)?;
        reports.push(Report {
            spec: path.display().to_string(),
            model: model.name.clone(),
            threads,
            peak_gflops: peak,
            network,
            peak_rss_mib: peak_rss_mib(),
        });
    }
    print!("{}", table(&reports));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&reports)
            .map_err(|e| CliError::Usage(format!("cannot encode the results: {e}")))?;
        mlp_cli::atomic::write(path, format!("{json}\n").as_bytes())?;
    }
    parallel::set_threads(1);
    Ok(())
}

/// Best GFLOP/s of a 512³ product (our kernels, the current thread count).
fn peak_gflops(quick: bool) -> f64 {
    let n = 512;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 * 0.02).collect();
    let mut c = vec![0.0f32; n * n];
    let reps = if quick { 3 } else { 20 };
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let start = Instant::now();
        matmul(n, n, n, &a, &b, &mut c, false);
        best = best.min(start.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

/// Floating-point operations of one training step over `batch` samples: per `Dense`,
/// `2·batch·in·units` each for the forward product and the weight gradient, and for the
/// input gradient unless nothing before the layer learns (the element-wise work and the
/// optimiser are not counted, as usual for GEMM-bound models).
fn step_flops(model: &IrModel, batch: usize) -> f64 {
    let mut flops = 0.0;
    let mut learns_before = false;
    for layer in &model.layers {
        if let LayerKind::Dense(d) = &layer.kind {
            let inputs: usize = layer.input_shape.iter().product();
            let one = 2.0 * (batch * inputs * d.units) as f64;
            flops += if learns_before { 3.0 * one } else { 2.0 * one };
        }
        learns_before |= layer.params.trainable > 0;
    }
    flops
}

/// All measurements of one model.
fn measure(
    model: &IrModel,
    train: &Dataset,
    test: &Dataset,
    peak: f64,
    quick: bool,
) -> Result<Measured, CliError> {
    let build = |max_batch: usize| {
        Network::new(model, model.train.seed, max_batch).map_err(|source| CliError::Network {
            model: model.name.clone(),
            source,
        })
    };
    let batch = model.train.batch.max(1);
    // Training: one epoch (a tenth with --quick), timed around `fit`.
    let samples = if quick {
        train.len().min(6000)
    } else {
        train.len()
    };
    let subset = train.slice(0..samples);
    let mut net = build(batch)?;
    let options = FitOptions {
        epochs: 1,
        validation_split: None,
        ..FitOptions::from_config(&model.train)
    };
    let start = Instant::now();
    fit(&mut net, &subset, None, &options).map_err(|source| CliError::Train {
        model: model.name.clone(),
        source: Box::new(source),
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let steps = samples.div_ceil(batch).max(1);
    let step_s = seconds / steps as f64;
    let epoch_s = step_s * train.len().div_ceil(batch) as f64;
    let gflops = step_flops(model, batch) / step_s / 1e9;

    // Batch-1 latency over single calls.
    let features = model.input_size();
    let mut one = build(1)?;
    let mut x = vec![0.0f32; features];
    test.gather_batch(&[0], &mut x);
    let calls = if quick { 1000 } else { 10_000 };
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        std::hint::black_box(one.forward(std::hint::black_box(&x), 1));
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let batch1_us = times[times.len() / 2];
    let batch1_p90_us = times[times.len() * 9 / 10];

    // Throughput: the test images in batches of 1000 (best of a few passes).
    let infer_batch = 1000;
    let mut big = build(infer_batch)?;
    let images = if quick {
        test.len().min(2000)
    } else {
        test.len()
    };
    let mut xs = vec![0.0f32; images * features];
    let idx: Vec<usize> = (0..images).collect();
    test.gather_batch(&idx, &mut xs);
    let mut best = f64::INFINITY;
    for _ in 0..if quick { 2 } else { 10 } {
        let start = Instant::now();
        for chunk in xs.chunks(infer_batch * features) {
            std::hint::black_box(big.forward(chunk, chunk.len() / features));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(Measured {
        epoch_s,
        step_us: step_s * 1e6,
        batch1_us,
        batch1_p90_us,
        infer_img_s: images as f64 / best,
        gflops,
        percent_of_peak: 100.0 * gflops / peak,
    })
}

/// Peak resident set size of this process in MiB (`VmHWM`), 0 where unknown.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The results as a plain-text table.
fn table(reports: &[Report]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:>9} {:>9} {:>8} {:>8} {:>10} {:>8} {:>7} {:>8}",
        "model (Network)",
        "s/epoch",
        "µs/step",
        "GFLOP/s",
        "% peak",
        "batch-1 µs",
        "p90 µs",
        "M img/s",
        "RSS MiB"
    );
    for r in reports {
        let m = &r.network;
        let _ = writeln!(
            out,
            "{:<24} {:>9.3} {:>9.1} {:>8.1} {:>8.1} {:>10.2} {:>8.2} {:>7.2} {:>8.1}",
            r.model,
            m.epoch_s,
            m.step_us,
            m.gflops,
            m.percent_of_peak,
            m.batch1_us,
            m.batch1_p90_us,
            m.infer_img_s / 1e6,
            r.peak_rss_mib
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::step_flops;

    /// The figure: one epoch of the baseline is about 12.9 GFLOP.
    #[test]
    fn baseline_epoch_flops_match_the_hand_count() {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/notebook/baseline.mlp"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let spec = mlp_spec::compile(&source).unwrap_or_else(|e| panic!("{e:?}"));
        let model = &spec.models[0];
        // Hand count per sample: 2·(784·64)·2 (forward + dW, no dX for the first layer)
        // + 2·(64·32)·3 + 2·(32·10)·3 = 200 704 + 12 288 + 1 920 = 214 912.
        let per_sample = 214_912.0;
        assert!((step_flops(model, 32) - 32.0 * per_sample).abs() < 1e-6);
        let epoch = 60_000.0 * per_sample / 1e9;
        assert!((epoch - 12.9).abs() < 0.05, "epoch GFLOP {epoch}");
    }
}
