//! Training API: [`fit`], [`evaluate`], [`predict`], with Keras 3 `fit` semantics.
//!
//! - Every epoch the training indices are shuffled (when `shuffle`) from the identity
//!   order with the RNG `rng::stream_rng(seed, STREAM_SHUFFLE, epoch)`, so an epoch's order
//!   depends on `(seed, epoch)` only and a run resumed at epoch k (`initial_epoch`, from a
//!   [`crate::checkpoint`]) sees the same batches as an uninterrupted one; batches of
//!   `batch_size` are gathered from those indices straight from the u8 images into one
//!   reused f32 buffer; the last partial batch is trained on.
//! - A non-finite training loss stops training with [`TrainError::NonFinite`] (unless
//!   [`FitOptions::on_nan`] says [`OnNan::Continue`]), before the epoch's checkpoint hook,
//!   so the last checkpoint written is the last good one.
//! - The reported loss is the mean over the epoch's samples (each batch's loss, which
//!   includes the weight penalty, weighted by its size); the metrics of the `train` block
//!   ([`crate::metrics`]) accumulate over the epoch from each step's training-mode outputs,
//!   as Keras's do.
//! - Before anything runs, the data is checked against the model: features against the
//!   input, targets against the loss and the output ([`TrainError::Targets`]).
//! - Validation metrics are computed on the whole validation set after each epoch.
//! - `validation_split` takes the last part of the data before shuffling; explicit
//!   validation data overrides it, as in Keras.

use crate::checkpoint::{CheckpointError, Snapshot, TrainingState};
use crate::data::{DataError, Dataset, TargetBuffer, TargetSet};
use crate::metrics::Metrics;
use crate::model::{Model, StepStats};
use crate::rng;
use mlp_spec::ir::{self, Loss};
use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;
use thiserror::Error;

/// Why training, evaluation or prediction refused to run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// The batch size is 0.
    #[error("the batch size must be at least 1")]
    ZeroBatch,
    /// The batch size exceeds what the model's buffers were sized for.
    #[error("batch size {batch} exceeds the model's largest batch {max}")]
    BatchTooLarge {
        /// Requested batch size.
        batch: usize,
        /// The model's `max_batch()`.
        max: usize,
    },
    /// A sample has a different number of features than the model's input.
    #[error("the data has {found} features per sample but the model's input takes {expected}")]
    FeatureMismatch {
        /// The model's input size.
        expected: usize,
        /// The data's features per sample.
        found: usize,
    },
    /// A label cannot be a target of the model's output.
    #[error("label {label} of sample {index} is not a class of the model's {units} outputs")]
    LabelOutOfRange {
        /// The sample's index.
        index: usize,
        /// The label.
        label: u32,
        /// Output units of the model.
        units: usize,
    },
    /// The targets do not fit the loss or the output layer; the message names both.
    #[error("{0}")]
    Targets(String),
    /// There is nothing to train on.
    #[error("the training set is empty")]
    EmptyDataset,
    /// `validation_split` could not be applied.
    #[error("validation split: {0}")]
    Split(#[from] DataError),
    /// The training loss became NaN or infinite (with [`OnNan::Stop`]).
    #[error(
        "the training loss became non-finite in epoch {} at step {}{}; lower the learning rate or check the data",
        .epoch + 1,
        .step + 1,
        .layer.as_ref().map(|l| format!(" (first non-finite output: layer `{l}`)")).unwrap_or_default()
    )]
    NonFinite {
        /// 0-based epoch.
        epoch: usize,
        /// 0-based step within the epoch.
        step: usize,
        /// The first layer whose output held a NaN or an infinity in that step, when the
        /// model tracks it ([`Model::first_non_finite_layer`]).
        layer: Option<String>,
    },
    /// A [`Progress::on_epoch_state`] hook failed (a checkpoint could not be written).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A callback could not do its work (a file it could not write, a monitored quantity
    /// this run does not log).
    #[error(transparent)]
    Callback(#[from] crate::callbacks::CallbackError),
}

/// What [`fit`] does when a training step's loss is NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnNan {
    /// Stop with [`TrainError::NonFinite`] (Keras's `TerminateOnNaN`); the default.
    #[default]
    Stop,
    /// Keep training (the loss and, soon after, the parameters stay NaN).
    Continue,
}

/// Options of [`fit`]; [`FitOptions::from_config`] takes them from a spec's `train` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Number of passes over the training data (default 10).
    pub epochs: usize,
    /// Samples per step (default 32); the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// Reshuffle the training data every epoch (default true).
    pub shuffle: bool,
    /// Seed of the shuffles (default 0; initialisation and dropout use the model's seed).
    pub seed: u64,
    /// Fraction of the training data held out for validation, from its end, before
    /// shuffling (default none). Ignored when validation data is passed to [`fit`].
    pub validation_split: Option<f32>,
    /// Epoch to start at, as Keras's `initial_epoch` (default 0): epochs
    /// `initial_epoch..epochs` are run. Resuming from a checkpoint taken after epoch k with
    /// `initial_epoch = k` continues the run exactly (see the module docs).
    #[serde(default)]
    pub initial_epoch: usize,
    /// What a non-finite training loss does (default [`OnNan::Stop`]); a
    /// `terminate_on_nan` callback instead ends training after that epoch without an
    /// error, as Keras's `TerminateOnNaN` does.
    #[serde(default)]
    pub on_nan: OnNan,
    /// Keras callbacks run at the end of every epoch, in order ([`crate::callbacks`]).
    #[serde(default)]
    pub callbacks: Vec<ir::Callback>,
}

impl Default for FitOptions {
    fn default() -> FitOptions {
        FitOptions {
            epochs: 10,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: None,
            initial_epoch: 0,
            on_nan: OnNan::Stop,
            callbacks: Vec::new(),
        }
    }
}

impl FitOptions {
    /// The options written in a spec's `train` block.
    #[must_use]
    pub fn from_config(config: &ir::TrainConfig) -> FitOptions {
        FitOptions {
            epochs: config.epochs,
            batch_size: config.batch,
            shuffle: config.shuffle,
            seed: config.seed,
            validation_split: config.validation_split,
            callbacks: config.callbacks.clone(),
            ..FitOptions::default()
        }
    }
}

/// Per-epoch metrics, under Keras's `history.history` keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    /// Mean training loss (incl. weight penalty) of each epoch.
    pub loss: Vec<f32>,
    /// Validation loss after each epoch (empty without validation data).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub val_loss: Vec<f32>,
    /// Every metric of each epoch by its Keras key: `accuracy`, `mae`, `auc`, … for
    /// training, the same with `val_` for validation (absent without validation data).
    #[serde(flatten)]
    pub metrics: BTreeMap<String, Vec<f32>>,
    /// Wall-clock seconds of each epoch (training plus validation).
    pub epoch_seconds: Vec<f64>,
    /// The 0-based epoch at which an `early_stopping` callback stopped training, if one
    /// did (Keras's `EarlyStopping.stopped_epoch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_epoch: Option<usize>,
}

impl History {
    /// Number of epochs recorded.
    #[must_use]
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// The series of metric `key` (`"accuracy"`, `"val_mae"`); empty when not recorded.
    #[must_use]
    pub fn metric(&self, key: &str) -> &[f32] {
        self.metrics.get(key).map_or(&[], Vec::as_slice)
    }

    /// Training accuracy of each epoch (empty when `accuracy` is not a metric).
    #[must_use]
    pub fn accuracy(&self) -> &[f32] {
        self.metric("accuracy")
    }

    /// Validation accuracy of each epoch (empty without validation data or accuracy).
    #[must_use]
    pub fn val_accuracy(&self) -> &[f32] {
        self.metric("val_accuracy")
    }

    /// This History with the series `key` set to `values` (for tools and tests building
    /// one by hand).
    #[must_use]
    pub fn with_metric(mut self, key: &str, values: Vec<f32>) -> History {
        self.metrics.insert(key.to_owned(), values);
        self
    }

    fn push(&mut self, prefix: &str, values: &[(&'static str, f32)]) {
        for &(name, v) in values {
            self.metrics
                .entry(format!("{prefix}{name}"))
                .or_default()
                .push(v);
        }
    }
}

/// Loss and metrics of a model over a dataset ([`evaluate`]), as Keras's `evaluate` line
/// prints them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Mean loss, weight penalty included.
    pub loss: f32,
    /// Every metric of the `train` block, by Keras name, in its order.
    pub metrics: Vec<(&'static str, f32)>,
}

impl Evaluation {
    /// The value of metric `name`, if the model reports it.
    #[must_use]
    pub fn metric(&self, name: &str) -> Option<f32> {
        self.metrics
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// The accuracy, or NaN when `accuracy` is not a metric.
    #[must_use]
    pub fn accuracy(&self) -> f32 {
        self.metric("accuracy").unwrap_or(f32::NAN)
    }
}

impl std::fmt::Display for Evaluation {
    /// Keras's `evaluate` line: `loss: 0.1234 - accuracy: 0.9650`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "loss: {:.4}", self.loss)?;
        for (name, v) in &self.metrics {
            write!(f, " - {name}: {v:.4}")?;
        }
        Ok(())
    }
}

/// Progress of one training step, for [`Progress::on_batch`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchEvent<'a> {
    /// 0-based epoch.
    pub epoch: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// 0-based step within the epoch.
    pub step: usize,
    /// Steps per epoch.
    pub steps: usize,
    /// This step's loss and accuracy count.
    pub stats: StepStats,
    /// Running mean loss of the epoch so far.
    pub loss: f32,
    /// Every metric over the epoch so far, by Keras name.
    pub metrics: &'a [(&'static str, f32)],
}

/// The end of an epoch, for [`Progress::on_epoch_end`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochEvent<'a> {
    /// 0-based epoch.
    pub epoch: usize,
    /// Number of epochs.
    pub epochs: usize,
    /// Mean training loss of the epoch.
    pub loss: f32,
    /// Every training metric of the epoch, by Keras name.
    pub metrics: &'a [(&'static str, f32)],
    /// Validation loss and metrics, when there is validation data.
    pub val: Option<&'a Evaluation>,
    /// Wall-clock seconds of the epoch.
    pub seconds: f64,
}

/// The value of metric `name` in `metrics` (a [`BatchEvent`]'s or [`EpochEvent`]'s).
#[must_use]
pub fn metric_value(metrics: &[(&'static str, f32)], name: &str) -> Option<f32> {
    metrics.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// Hooks called by [`fit_with_progress`]; both default to doing nothing.
pub trait Progress {
    /// Called before the first step of each epoch with the number of steps.
    fn on_epoch_begin(&mut self, epoch: usize, epochs: usize, steps: usize) {
        let _ = (epoch, epochs, steps);
    }
    /// Called after every training step.
    fn on_batch(&mut self, event: &BatchEvent<'_>) {
        let _ = event;
    }
    /// Called after every epoch, validation included.
    fn on_epoch_end(&mut self, event: &EpochEvent<'_>) {
        let _ = event;
    }
    /// Called after [`Progress::on_epoch_end`] with everything a checkpoint of this point
    /// holds (see [`crate::checkpoint::CheckpointDir`]); an error stops [`fit`] with
    /// [`TrainError::Checkpoint`]. Not called after an epoch stopped by a non-finite loss.
    ///
    /// # Errors
    /// Whatever the hook reports; the default does nothing and never fails.
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        let _ = snapshot;
        Ok(())
    }
}

impl<P: Progress + ?Sized> Progress for &mut P {
    fn on_epoch_begin(&mut self, epoch: usize, epochs: usize, steps: usize) {
        (**self).on_epoch_begin(epoch, epochs, steps);
    }
    fn on_batch(&mut self, event: &BatchEvent<'_>) {
        (**self).on_batch(event);
    }
    fn on_epoch_end(&mut self, event: &EpochEvent<'_>) {
        (**self).on_epoch_end(event);
    }
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        (**self).on_epoch_state(snapshot)
    }
}

/// Both hooks, first `.0` then `.1` (e.g. a progress bar and a
/// [`crate::checkpoint::CheckpointDir`]).
impl<A: Progress, B: Progress> Progress for (A, B) {
    fn on_epoch_begin(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.0.on_epoch_begin(epoch, epochs, steps);
        self.1.on_epoch_begin(epoch, epochs, steps);
    }
    fn on_batch(&mut self, event: &BatchEvent<'_>) {
        self.0.on_batch(event);
        self.1.on_batch(event);
    }
    fn on_epoch_end(&mut self, event: &EpochEvent<'_>) {
        self.0.on_epoch_end(event);
        self.1.on_epoch_end(event);
    }
    fn on_epoch_state(&mut self, snapshot: &Snapshot<'_>) -> Result<(), CheckpointError> {
        self.0.on_epoch_state(snapshot)?;
        self.1.on_epoch_state(snapshot)
    }
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Trains `model` on `train` (see the module docs for the semantics), validating on
/// `validation` (or on the `validation_split` tail of `train`) after every epoch.
///
/// # Errors
/// [`TrainError`] when the batch size is 0 or larger than `model.max_batch()`, the data's
/// features differ from the model's input, a label is not a class of the output, the
/// training set is empty, or `validation_split` is out of range.
pub fn fit<M: Model + ?Sized>(
    model: &mut M,
    train: &Dataset,
    validation: Option<&Dataset>,
    opts: &FitOptions,
) -> Result<History, TrainError> {
    fit_with_progress(model, train, validation, opts, &mut Silent)
}

/// [`fit`] with progress hooks.
///
/// # Errors
/// As [`fit`].
pub fn fit_with_progress<M: Model + ?Sized>(
    model: &mut M,
    train: &Dataset,
    validation: Option<&Dataset>,
    opts: &FitOptions,
    progress: &mut dyn Progress,
) -> Result<History, TrainError> {
    fit_continue(model, train, validation, opts, progress, History::default())
}

/// [`fit_with_progress`] continuing `history`, the History of the epochs before
/// `opts.initial_epoch` (from [`crate::checkpoint::TrainingState`]): the epochs run are
/// appended to it, the snapshots given to [`Progress::on_epoch_state`] carry all of it, and
/// the whole History is returned.
///
/// # Errors
/// As [`fit`], plus [`TrainError::NonFinite`] and [`TrainError::Checkpoint`].
pub fn fit_continue<M: Model + ?Sized>(
    model: &mut M,
    train: &Dataset,
    validation: Option<&Dataset>,
    opts: &FitOptions,
    progress: &mut dyn Progress,
    history: History,
) -> Result<History, TrainError> {
    let split;
    let (train, validation) = match (validation, opts.validation_split) {
        (None, Some(fraction)) => {
            // Through the shortest decimal form, so `0.2f32` splits as Keras's `0.2` does
            // (`f64::from(0.2f32)` is 0.2000000029…, which would move the boundary).
            let fraction = fraction
                .to_string()
                .parse::<f64>()
                .unwrap_or(f64::from(fraction));
            split = train.split_last(fraction)?;
            (&split.0, Some(&split.1))
        }
        _ => (train, validation),
    };
    check_batch(model, opts.batch_size)?;
    check_data(model, train)?;
    if let Some(v) = validation {
        check_data(model, v)?;
    }
    if train.is_empty() {
        return Err(TrainError::EmptyDataset);
    }
    let features = train.features();
    let batch_size = opts.batch_size;
    let units = model.ir().output_size();
    let mut x = vec![0.0f32; batch_size * features];
    let mut targets = TargetBuffer::new(train, batch_size);
    let mut metrics = Metrics::new(model.ir(), train.classes().is_some());
    let mut val_metrics = validation.map(|v| Metrics::new(model.ir(), v.classes().is_some()));
    let mut val_targets = validation.map(|v| TargetBuffer::new(v, batch_size));
    let mut order: Vec<usize> = (0..train.len()).collect();
    let steps = train.len().div_ceil(batch_size);
    let mut training = TrainingState {
        epoch: opts.initial_epoch,
        shuffle_seed: opts.seed,
        history,
        labels: train.class_names().map(<[String]>::to_vec),
    };
    let mut callbacks = crate::callbacks::Callbacks::new(&opts.callbacks);
    callbacks.on_train_begin()?;
    let terminate_on_nan = callbacks.terminate_on_nan();
    for epoch in opts.initial_epoch..opts.epochs {
        let start = Instant::now();
        let mut nan_stop = false;
        if opts.shuffle {
            for (i, o) in order.iter_mut().enumerate() {
                *o = i;
            }
            let mut shuffler = rng::stream_rng(opts.seed, rng::STREAM_SHUFFLE, epoch as u64);
            rng::shuffle(&mut order, &mut shuffler);
        }
        progress.on_epoch_begin(epoch, opts.epochs, steps);
        metrics.reset();
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        for (step, idx) in order.chunks(batch_size).enumerate() {
            let b = idx.len();
            train.gather_batch(idx, &mut x);
            let y = train.gather_targets(idx, &mut targets);
            // The next batch's rows load from memory while this step computes.
            if let Some(next) = order.chunks(batch_size).nth(step + 1) {
                train.prefetch_batch(next);
            }
            let stats = model.train_step(&x, y, b);
            if !stats.loss.is_finite() && terminate_on_nan {
                nan_stop = true;
            } else if !stats.loss.is_finite() && opts.on_nan == OnNan::Stop {
                let layer = model
                    .first_non_finite_layer(b)
                    .and_then(|i| model.ir().layers.get(i))
                    .map(|l| l.name.clone());
                return Err(TrainError::NonFinite { epoch, step, layer });
            }
            metrics.update(model.outputs(b), y, b, units);
            loss_sum += f64::from(stats.loss) * b as f64;
            seen += b;
            progress.on_batch(&BatchEvent {
                epoch,
                epochs: opts.epochs,
                step,
                steps,
                stats,
                loss: (loss_sum / seen as f64) as f32,
                metrics: metrics.results(),
            });
            if nan_stop {
                break;
            }
        }
        let loss = (loss_sum / seen as f64) as f32;
        let history = &mut training.history;
        history.loss.push(loss);
        history.push("", metrics.results());
        let val = match (validation, val_metrics.as_mut(), val_targets.as_mut()) {
            (Some(v), Some(m), Some(t)) if !v.is_empty() => {
                let r = evaluate_unchecked(model, v, batch_size, &mut x, t, m);
                history.val_loss.push(r.loss);
                history.push("val_", &r.metrics);
                Some(r)
            }
            _ => None,
        };
        let mut logs: crate::callbacks::Logs = metrics
            .results()
            .iter()
            .map(|&(k, v)| (k.to_owned(), v))
            .collect();
        logs.insert("loss".to_owned(), loss);
        if let Some(r) = &val {
            logs.insert("val_loss".to_owned(), r.loss);
            for &(k, v) in &r.metrics {
                logs.insert(format!("val_{k}"), v);
            }
        }
        training.epoch = epoch + 1;
        let stop = callbacks.on_epoch_end(epoch, &mut logs, model, &training)? || nan_stop;
        let history = &mut training.history;
        // What callbacks added to the logs (`learning_rate`), as Keras's History (the
        // last callback) records it.
        if let Some(&lr) = logs.get("learning_rate") {
            history.push("", &[("learning_rate", lr)]);
        }
        history.stopped_epoch = callbacks.stopped_epoch();
        let seconds = start.elapsed().as_secs_f64();
        history.epoch_seconds.push(seconds);
        progress.on_epoch_end(&EpochEvent {
            epoch,
            epochs: opts.epochs,
            loss,
            metrics: metrics.results(),
            val: val.as_ref(),
            seconds,
        });
        progress.on_epoch_state(&Snapshot::of(model, Some(&training)))?;
        if stop {
            break;
        }
    }
    callbacks.on_train_end(model)?;
    Ok(training.history)
}

/// Mean loss (incl. weight penalty) and metrics of `model` over `data`, in batches of
/// `batch` rows, or of `model.max_batch()` rows when `batch` is larger (as Keras's
/// `evaluate(batch_size=…)` splits any amount of data; the mean is weighted by batch size,
/// so only rounding depends on the split). Inference mode. An empty set gives a NaN loss.
///
/// # Errors
/// [`TrainError`] when `batch` is 0, or the data does not fit the model (features,
/// targets).
pub fn evaluate<M: Model + ?Sized>(
    model: &mut M,
    data: &Dataset,
    batch: usize,
) -> Result<Evaluation, TrainError> {
    if batch == 0 {
        return Err(TrainError::ZeroBatch);
    }
    let batch = batch.min(model.max_batch().max(1));
    check_batch(model, batch)?;
    check_data(model, data)?;
    let mut x = vec![0.0f32; batch * data.features()];
    let mut targets = TargetBuffer::new(data, batch);
    let mut metrics = Metrics::new(model.ir(), data.classes().is_some());
    Ok(evaluate_unchecked(
        model,
        data,
        batch,
        &mut x,
        &mut targets,
        &mut metrics,
    ))
}

/// [`evaluate`] on already validated inputs with caller-owned gather buffers and metrics.
fn evaluate_unchecked<M: Model + ?Sized>(
    model: &mut M,
    data: &Dataset,
    batch: usize,
    x: &mut [f32],
    targets: &mut TargetBuffer,
    metrics: &mut Metrics,
) -> Evaluation {
    let units = model.ir().output_size();
    let mut loss_sum = 0.0f64;
    let mut idx: Vec<usize> = Vec::with_capacity(batch);
    let mut start = 0;
    metrics.reset();
    while start < data.len() {
        let end = (start + batch).min(data.len());
        idx.clear();
        idx.extend(start..end);
        data.gather_batch(&idx, x);
        let y = data.gather_targets(&idx, targets);
        let stats = model.evaluate_batch(x, y, idx.len());
        metrics.update(model.outputs(idx.len()), y, idx.len(), units);
        loss_sum += f64::from(stats.loss) * idx.len() as f64;
        start = end;
    }
    Evaluation {
        loss: (loss_sum / data.len() as f64) as f32,
        metrics: metrics.results().to_vec(),
    }
}

/// Outputs of `model` for every row of `x` (`[samples, input features]`), computed in
/// batches of up to `model.max_batch()` rows.
///
/// # Errors
/// [`TrainError::FeatureMismatch`] when `x` has the wrong number of columns.
pub fn predict<M: Model + ?Sized>(
    model: &mut M,
    x: ArrayView2<f32>,
) -> Result<Array2<f32>, TrainError> {
    predict_rows(model, x.nrows(), x.ncols(), |r, out| {
        for (o, &v) in out.iter_mut().zip(x.row(r)) {
            *o = v;
        }
    })
}

/// [`predict`] on raw u8 features (converted to f32 without scaling, as the notebook feeds
/// pixels).
///
/// # Errors
/// [`TrainError::FeatureMismatch`] when `x` has the wrong number of columns.
pub fn predict_u8<M: Model + ?Sized>(
    model: &mut M,
    x: ArrayView2<u8>,
) -> Result<Array2<f32>, TrainError> {
    predict_rows(model, x.nrows(), x.ncols(), |r, out| {
        for (o, &v) in out.iter_mut().zip(x.row(r)) {
            *o = f32::from(v);
        }
    })
}

/// Shared body of the predict functions: `fill(row, out)` writes one input row.
fn predict_rows<M: Model + ?Sized>(
    model: &mut M,
    rows: usize,
    cols: usize,
    fill: impl Fn(usize, &mut [f32]),
) -> Result<Array2<f32>, TrainError> {
    let expected = model.ir().input_size();
    if cols != expected {
        return Err(TrainError::FeatureMismatch {
            expected,
            found: cols,
        });
    }
    let units = model.ir().output_size();
    let batch = model.max_batch().max(1);
    let mut out = Array2::<f32>::zeros((rows, units));
    let mut buf = vec![0.0f32; batch * cols];
    let mut start = 0;
    while start < rows {
        let end = (start + batch).min(rows);
        for r in start..end {
            fill(r, &mut buf[(r - start) * cols..(r - start + 1) * cols]);
        }
        let y = model.forward(&buf, end - start);
        for (r, row) in y.chunks_exact(units.max(1)).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                out[[start + r, j]] = v;
            }
        }
        start = end;
    }
    Ok(out)
}

/// Checks `1 ≤ batch ≤ max_batch`.
fn check_batch<M: Model + ?Sized>(model: &M, batch: usize) -> Result<(), TrainError> {
    if batch == 0 {
        return Err(TrainError::ZeroBatch);
    }
    if batch > model.max_batch() {
        return Err(TrainError::BatchTooLarge {
            batch,
            max: model.max_batch(),
        });
    }
    Ok(())
}

/// Checks that `data` fits `model`: the feature count, and the targets against the loss
/// and the output layer (see [`check_targets`]).
fn check_data<M: Model + ?Sized>(model: &M, data: &Dataset) -> Result<(), TrainError> {
    let expected = model.ir().input_size();
    if data.features() != expected {
        return Err(TrainError::FeatureMismatch {
            expected,
            found: data.features(),
        });
    }
    check_targets(model.ir(), &data.targets)
}

/// Class names for a message: each in backquotes, the first 10 and how many more.
fn list_names(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut listed: Vec<String> = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
    if names.len() > SHOWN {
        listed.push(format!("and {} more", names.len() - SHOWN));
    }
    listed.join(", ")
}

/// Checks that `targets` fit `model`'s loss and output layer, with one message naming
/// both:
/// - sparse categorical cross-entropy needs class indices `< units`;
/// - the other losses take class indices (`< units`, a one-hot row, with `units ≥ 2`; the
///   index itself as the value with one unit) or rows of exactly `units` values;
/// - binary cross-entropy needs targets in `[0, 1]`;
/// - `sparse_categorical_accuracy` needs class indices;
/// - named classes (text labels) need a cross-entropy loss, and as many output units as
///   they have classes (two classes for a single unit): the message lists the names.
///
/// # Errors
/// [`TrainError::LabelOutOfRange`] for a class index the output cannot take,
/// [`TrainError::Targets`] for everything else.
pub fn check_targets(model: &ir::Model, targets: &TargetSet) -> Result<(), TrainError> {
    let units = model.output_size();
    let loss = model.train.loss;
    let loss_name = loss.keras_name();
    let output = format!(
        "the output layer `{}` has {units} unit{}",
        model.layers.last().map_or("?", |l| l.name.as_str()),
        if units == 1 { "" } else { "s" }
    );
    let binary = matches!(loss, Loss::BinaryCrossentropy { .. });
    match targets {
        TargetSet::Classes {
            labels,
            classes,
            names,
        } => {
            let limit = if units == 1 { 2 } else { units };
            if let Some(names) = names {
                let listed = list_names(names);
                if !loss.is_categorical() && !binary {
                    return Err(TrainError::Targets(format!(
                        "`{loss_name}` compares each output with a number, but the targets are text labels ({classes} classes: {listed}); {output}: classify with `sparse_categorical_crossentropy` and one unit per class, or give numeric targets"
                    )));
                }
                if *classes > limit {
                    return Err(TrainError::Targets(format!(
                        "the targets are text labels of {classes} classes ({listed}), but {output}; give it {classes} units, one per class"
                    )));
                }
            }
            if let Some((index, &label)) = labels
                .iter()
                .enumerate()
                .find(|(_, &l)| l as usize >= limit)
            {
                if units == 1 {
                    return Err(TrainError::Targets(format!(
                        "`{loss_name}` with a single output unit takes class 0 or 1, but sample {index} has class {label}; {output}: give it one unit per class"
                    )));
                }
                return Err(TrainError::LabelOutOfRange {
                    index,
                    label,
                    units,
                });
            }
        }
        TargetSet::Values(v) if v.ncols() == 0 => {
            return Err(TrainError::Targets(format!(
                "the data has no targets, and `{loss_name}` needs one per sample; {output}"
            )));
        }
        TargetSet::Values(v) => {
            if let Loss::SparseCategoricalCrossentropy { .. } = loss {
                return Err(TrainError::Targets(format!(
                    "`{loss_name}` needs class indices (whole numbers, or text labels), but the targets are {}; {output} (for one-hot or probability rows, use `categorical_crossentropy`)",
                    targets.describe()
                )));
            }
            if v.ncols() != units {
                return Err(TrainError::Targets(format!(
                    "`{loss_name}` compares each output with a target, but the targets are {} and {output}",
                    targets.describe()
                )));
            }
            if binary {
                if let Some(((r, c), t)) = v.indexed_iter().find(|(_, t)| !(0.0..=1.0).contains(*t))
                {
                    return Err(TrainError::Targets(format!(
                        "`{loss_name}` needs targets in [0, 1], but target {c} of sample {r} is {t}"
                    )));
                }
            }
        }
    }
    let sparse_metric = model
        .train
        .metrics
        .contains(&ir::Metric::SparseCategoricalAccuracy);
    if sparse_metric && !matches!(targets, TargetSet::Classes { .. }) {
        return Err(TrainError::Targets(format!(
            "`sparse_categorical_accuracy` needs class indices, but the targets are {}",
            targets.describe()
        )));
    }
    Ok(())
}
