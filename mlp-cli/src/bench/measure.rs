//! The measurements themselves, one generic function for every [`Model`] (the generated
//! types and `Network` go through the same code), plus the hand-written baseline's epoch,
//! the kernels' peak and the process's peak memory.
//!
//! Training is measured in steady state: a warm-up `fit` over 300 steps' worth of samples
//! first (caches, branch predictors, the kernels' worker threads; it also checks the data
//! against the model), then full epochs through `fit` (shuffle, u8 -> f32 gather, every step),
//! continuing from the warmed-up model. The epoch time is the median of three (one tenth of
//! an epoch, once, with `--quick`). Heap allocations are counted on the calling thread
//! around a run of `train_step` calls on one gathered batch, after the warm-up.

use std::borrow::Cow;
use std::hint::black_box;
use std::time::Instant;

use mlp_cli::handwritten::HandWritten;
use mlp_runtime::data::{Dataset, TargetBuffer};
use mlp_runtime::ir::{LayerKind, Model as IrModel};
use mlp_runtime::kernels::matmul;
use mlp_runtime::testing::allocations;
use mlp_runtime::{fit, FitOptions, Model};
use serde::Serialize;

use crate::error::CliError;

/// The measurements of one model through one implementation (generated or `Network`).
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    /// Seconds per training epoch over the 60 000 training images, in steady state (median
    /// of three; extrapolated from a tenth of an epoch with `--quick`).
    pub epoch_s: f64,
    /// Microseconds per training step (batch of the spec), from the same epochs.
    pub step_us: f64,
    /// Median batch-1 forward latency, microseconds.
    pub batch1_us: f64,
    /// 90th percentile batch-1 forward latency, microseconds.
    pub batch1_p90_us: f64,
    /// Images per second forwarded in batches of 1000.
    pub infer_img_s: f64,
    /// Floating-point operations per second sustained by training.
    pub gflops: f64,
    /// `gflops` as a percentage of the run's FMA peak (for the threads in use).
    pub percent_of_peak: f64,
    /// Heap allocations per `train_step` after the warm-up, on the calling thread.
    pub allocs_per_step: f64,
}

/// The hand-written `ndarray` baseline's measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// Seconds per training epoch, measured as [`Measured::epoch_s`].
    pub epoch_s: f64,
}

/// What every measurement of one model shares.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The model as the user's spec describes it (batch, optimiser, `fit` options).
    pub ir: &'a IrModel,
    /// MNIST's training images.
    pub train: &'a Dataset,
    /// MNIST's test images.
    pub test: &'a Dataset,
    /// The run's FMA peak for the threads in use, GFLOP/s.
    pub peak: f64,
    /// Short measurements.
    pub quick: bool,
}

impl Setup<'_> {
    /// Training samples per timed epoch (a tenth of MNIST with `--quick`).
    fn epoch_samples(&self) -> usize {
        if self.quick {
            self.train.len().min(6000)
        } else {
            self.train.len()
        }
    }

    /// The samples of a timed epoch: all of them, or a copy of the first tenth with
    /// `--quick` (no copy of the whole set, which would only inflate the peak RSS).
    fn epoch_data(&self) -> Cow<'_, Dataset> {
        let samples = self.epoch_samples();
        if samples == self.train.len() {
            Cow::Borrowed(self.train)
        } else {
            Cow::Owned(self.train.slice(0..samples))
        }
    }

    /// Timed epochs whose median is reported.
    fn epochs(&self) -> usize {
        if self.quick {
            1
        } else {
            3
        }
    }

    /// Training samples of the warm-up before anything is timed or counted: 300 steps
    /// (20 with `--quick`).
    fn warm_up_samples(&self) -> usize {
        let steps = if self.quick { 20 } else { 300 };
        self.train.len().min(steps * self.batch())
    }

    /// The spec's batch size, at most the number of training samples (as `mlp train`
    /// does: buffers are never sized for samples that do not exist).
    fn batch(&self) -> usize {
        self.ir.train.batch.min(self.train.len()).max(1)
    }

    /// Seconds per full epoch and per step from the median time of the timed epochs.
    fn per_epoch_and_step(&self, mut times: Vec<f64>) -> (f64, f64) {
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
        let step_s = median / self.epoch_samples().div_ceil(self.batch()).max(1) as f64;
        (
            step_s * self.train.len().div_ceil(self.batch()) as f64,
            step_s,
        )
    }
}

/// All measurements of one implementation of `setup.ir`; `build(max_batch)` makes a fresh
/// instance whose buffers hold `max_batch` rows.
///
/// # Errors
///
/// Whatever `build` returns; a training failure (`fit` refusing the data).
pub fn measure<M: Model>(
    setup: &Setup<'_>,
    mut build: impl FnMut(usize) -> Result<M, CliError>,
) -> Result<Measured, CliError> {
    let ir = setup.ir;
    let batch = setup.batch();
    let features = ir.input_size();
    let mut model = build(batch)?;

    let train_error = |source| CliError::Train {
        model: ir.name.clone(),
        source: Box::new(source),
    };
    let options = |epoch: usize| FitOptions {
        epochs: 1,
        validation_split: None,
        seed: epoch as u64,
        batch_size: batch,
        ..FitOptions::from_config(&ir.train)
    };

    // Warm-up: a short `fit` (which also checks the data against the model).
    let warm_up = setup.train.slice(0..setup.warm_up_samples());
    fit(&mut model, &warm_up, None, &options(0)).map_err(train_error)?;

    // Allocations per step, on one gathered batch.
    let mut x = vec![0.0f32; batch * features];
    let mut targets = TargetBuffer::new(setup.train, batch);
    let idx: Vec<usize> = (0..batch).map(|i| i % setup.train.len()).collect();
    setup.train.gather_batch(&idx, &mut x);
    let y = setup.train.gather_targets(&idx, &mut targets);
    let counted = if setup.quick { 20 } else { 200 };
    let before = allocations();
    for _ in 0..counted {
        black_box(model.train_step(black_box(&x), y, batch));
    }
    let allocs_per_step = (allocations() - before) as f64 / counted as f64;

    // Steady-state epochs through `fit`.
    let subset = setup.epoch_data();
    let mut times = Vec::new();
    for epoch in 1..=setup.epochs() {
        let start = Instant::now();
        fit(&mut model, &subset, None, &options(epoch)).map_err(train_error)?;
        times.push(start.elapsed().as_secs_f64());
    }
    let (epoch_s, step_s) = setup.per_epoch_and_step(times);
    // Work actually done: every sample of an epoch (a partial last batch counts for its
    // own rows, not a full batch's).
    let gflops = step_flops(ir, 1) * setup.train.len() as f64 / epoch_s / 1e9;

    // Batch-1 latency over single calls.
    let mut one = build(1)?;
    let mut sample = vec![0.0f32; features];
    setup.test.gather_batch(&[0], &mut sample);
    let calls = if setup.quick { 1000 } else { 10_000 };
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        black_box(one.forward(black_box(&sample), 1));
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    let batch1_us = times[times.len() / 2];
    let batch1_p90_us = times[times.len() * 9 / 10];

    // Throughput: the test images in batches of 1000 (best of a few passes).
    let infer_batch = 1000;
    let mut big = build(infer_batch)?;
    let images = if setup.quick {
        setup.test.len().min(2000)
    } else {
        setup.test.len()
    };
    let mut xs = vec![0.0f32; images * features];
    let idx: Vec<usize> = (0..images).collect();
    setup.test.gather_batch(&idx, &mut xs);
    let mut best = f64::INFINITY;
    for _ in 0..if setup.quick { 2 } else { 10 } {
        let start = Instant::now();
        for chunk in xs.chunks(infer_batch * features) {
            black_box(big.forward(chunk, chunk.len() / features));
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
        percent_of_peak: 100.0 * gflops / setup.peak,
        allocs_per_step,
    })
}

/// The hand-written baseline's epoch, measured as [`measure`] measures training: a warm-up
/// epoch over as many samples, then the median of three epochs (one short one with
/// `--quick`). Call it only for data [`measure`] accepted for the same model (the
/// hand-written loop checks no labels).
pub fn measure_handwritten(setup: &Setup<'_>, mut model: HandWritten) -> Baseline {
    let batch = setup.batch();
    black_box(model.epoch(&setup.train.slice(0..setup.warm_up_samples()), batch, 0));
    let subset = setup.epoch_data();
    let times = (0..setup.epochs())
        .map(|epoch| {
            let start = Instant::now();
            black_box(model.epoch(&subset, batch, epoch as u64 + 1));
            start.elapsed().as_secs_f64()
        })
        .collect();
    Baseline {
        epoch_s: setup.per_epoch_and_step(times).0,
    }
}

/// Best GFLOP/s of a 512³ product (our kernels, the current thread count).
pub fn peak_gflops(quick: bool) -> f64 {
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
pub fn step_flops(model: &IrModel, batch: usize) -> f64 {
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

/// Peak resident set size of this process in MiB (`VmHWM`), 0 where unknown.
pub fn peak_rss_mib() -> f64 {
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

#[cfg(test)]
mod tests {
    use super::step_flops;
    use mlp_runtime::testing::allocations;

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

    /// `allocs_per_step` means something only if the binary counts allocations: `main.rs`
    /// installs the counting allocator, which this test binary shares.
    #[test]
    fn the_binary_counts_allocations() {
        let before = allocations();
        let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(16));
        drop(v);
        assert_eq!(allocations() - before, 1);
    }
}
