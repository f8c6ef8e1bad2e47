//! The [`Model`] trait: what `fit`, `evaluate` and `predict` need from a model. `Network`
//! (the dynamic executor) and every generated model implement it.
//!
//! Contract for implementors (checked by `fit`/`evaluate`/`predict`, `debug_assert`ed by
//! implementations): `1 ≤ batch ≤ max_batch()`, `x.len() ≥ batch · ir().input_size()` (raw
//! features, row-major), and targets that fit the loss and the output (see [`Targets`]:
//! `batch` class indices, each `< output units` when the output has ≥ 2 units, or
//! `batch · output units` values). Methods on the hot path allocate nothing.
//!
//! Buffers (see [`crate::layout`]): `params()` all trainable tensors, `state()` the
//! non-trainable ones, `grads()` mirrors `params()` and holds the gradient of the DATA loss
//! of the last `compute_gradients`/`train_step` (regularisation gradients are added inside
//! the optimiser pass; [`crate::regularize::add_gradients`] adds them for checks).
//!
//! Dropout masks of a training step are keyed by `(seed, layer, iterations())`, so
//! `compute_gradients` followed by `train_step` on the same batch see the same mask.

use mlp_spec::ir;

/// The targets of one batch, as a model's loss reads them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Targets<'a> {
    /// One class index per sample (at least `batch`). With an output of `units ≥ 2` the
    /// target row is `one_hot(label)`; with a single output unit the target is the index
    /// itself (`0.0` or `1.0` for a binary problem).
    Classes(&'a [u32]),
    /// `units` values per sample, row-major (at least `batch · units`).
    Values(&'a [f32]),
}

impl Targets<'_> {
    /// The target of output unit `j` of sample `r`, for an output of `units` units.
    #[inline]
    #[must_use]
    pub fn value(&self, r: usize, j: usize, units: usize) -> f32 {
        match *self {
            Targets::Classes(labels) => crate::loss::target(labels[r], j, units),
            Targets::Values(v) => v[r * units + j],
        }
    }

    /// The class of sample `r`: its index, or the arg-max of its target row (as Keras's
    /// categorical accuracy reads one-hot targets).
    #[inline]
    #[must_use]
    pub fn class(&self, r: usize, units: usize) -> usize {
        match *self {
            Targets::Classes(labels) => labels[r] as usize,
            Targets::Values(v) => crate::loss::argmax(&v[r * units..(r + 1) * units]),
        }
    }
}

/// Loss and accuracy count of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepStats {
    /// Mean loss over the batch plus the weight penalty (as Keras reports it), computed
    /// with the parameters BEFORE the step's update.
    pub loss: f32,
    /// Samples counted correct by Keras's `accuracy` for this output and these targets
    /// (see [`crate::loss::correct_count`]).
    pub correct: usize,
    /// Number of samples in the batch.
    pub batch: usize,
}

/// A trainable model with all parameters in one flat buffer.
pub trait Model {
    /// The model's IR (shapes, layers, training configuration).
    fn ir(&self) -> &ir::Model;

    /// Largest batch the model's buffers were sized for.
    fn max_batch(&self) -> usize;

    /// All trainable parameters, laid out as [`crate::layout::ParamLayout`] says.
    fn params(&self) -> &[f32];

    /// Mutable access to the trainable parameters (loading, gradient checks).
    fn params_mut(&mut self) -> &mut [f32];

    /// Non-trainable state (`BatchNorm` moving mean and variance), per the layout.
    fn state(&self) -> &[f32];

    /// Mutable access to the non-trainable state.
    fn state_mut(&mut self) -> &mut [f32];

    /// Data-loss gradients of the last `compute_gradients` / `train_step`, mirroring
    /// `params()`.
    fn grads(&self) -> &[f32];

    /// Number of optimiser steps taken so far (Keras's `optimizer.iterations`).
    fn iterations(&self) -> u64;

    /// Inference forward pass over `batch` rows of `x`; returns the outputs
    /// `[batch, output units]` (probabilities after a final softmax).
    fn forward(&mut self, x: &[f32], batch: usize) -> &[f32];

    /// Inference forward pass plus loss (incl. penalty) and accuracy count against the
    /// targets `y`; no state changes.
    fn evaluate_batch(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats;

    /// Training-mode forward (dropout active, `BatchNorm` on batch statistics, so the moving
    /// statistics ARE updated) and backward, filling `grads()`; parameters, optimiser state
    /// and `iterations()` are left unchanged.
    fn compute_gradients(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats;

    /// One training step: `compute_gradients`, then the optimiser pass (with regularisation
    /// gradients), then `iterations() += 1`.
    fn train_step(&mut self, x: &[f32], y: Targets<'_>, batch: usize) -> StepStats;

    /// The outputs `[batch, output units]` of the last forward pass (inference, or the
    /// training-mode forward of the last `compute_gradients` / `train_step`) over `batch`
    /// rows: what [`Model::forward`] returns, the probabilities of a final softmax or
    /// sigmoid even when the loss read its logits. The metrics of `fit` and `evaluate`
    /// read them.
    fn outputs(&self, batch: usize) -> &[f32];

    /// Keras 3 `model.summary()` table of the model.
    fn summary(&self) -> String {
        mlp_spec::summary::summary(self.ir())
    }

    /// Seed of initialisation and dropout masks, for checkpoints.
    ///
    /// Default: `None` (the implementation does not expose it); [`crate::checkpoint`]
    /// refuses to save or load such a model. `Network` and generated models override it.
    fn rng_seed(&self) -> Option<u64> {
        None
    }

    /// The optimiser's state (`optim::slots · trainable_len` floats, see [`crate::optim`]).
    ///
    /// Default: `None` (not exposed); [`crate::checkpoint`] refuses to save or load such a
    /// model, since a checkpoint without it could not resume exactly.
    fn optimizer_slots(&self) -> Option<&[f32]> {
        None
    }

    /// Mutable access to the optimiser's state (restoring a checkpoint); `None` by
    /// default, as [`Model::optimizer_slots`].
    fn optimizer_slots_mut(&mut self) -> Option<&mut [f32]> {
        None
    }

    /// Sets `iterations()` (restoring a checkpoint), which keys the optimiser's bias
    /// correction and the dropout masks.
    ///
    /// Default: does nothing; [`crate::checkpoint::load`] checks `iterations()` afterwards
    /// and reports a model that ignored it. Implementations returning `Some` from
    /// [`Model::optimizer_slots`] override it.
    fn set_iterations(&mut self, iterations: u64) {
        let _ = iterations;
    }

    /// The learning rate the next optimiser step uses: a schedule's value at
    /// `iterations()`, or the current constant rate.
    ///
    /// Default: the IR's initial rate.
    fn learning_rate(&self) -> f32 {
        self.ir().train.optimizer.initial_learning_rate() as f32
    }

    /// Sets the constant learning rate (Keras's `optimizer.learning_rate.assign`, as
    /// `reduce_lr_on_plateau` does); a scheduled rate ignores it.
    ///
    /// Default: does nothing (`fit` then reports the rate it could not set).
    fn set_learning_rate(&mut self, learning_rate: f32) {
        let _ = learning_rate;
    }

    /// Sets the seed of the dropout masks (restoring a checkpoint; the parameters drawn
    /// from the old seed at construction are left alone).
    ///
    /// Default: does nothing; [`crate::checkpoint::load`] checks [`Model::rng_seed`]
    /// afterwards and reports a model that ignored it.
    fn set_rng_seed(&mut self, seed: u64) {
        let _ = seed;
    }

    /// Index (in `ir().layers`) of the first layer whose output of the last training-mode
    /// forward pass over `batch` rows holds a NaN or an infinity, if any; called by `fit`
    /// only after a non-finite loss, to name the culprit.
    ///
    /// Default: `None` (not tracked).
    fn first_non_finite_layer(&self, batch: usize) -> Option<usize> {
        let _ = batch;
        None
    }

    /// Saves a checkpoint of the model (parameters, state, optimiser state, iterations,
    /// seed, spec) to `path` atomically; see [`crate::checkpoint::save`].
    ///
    /// # Errors
    /// [`crate::checkpoint::CheckpointError`] when the model does not expose its optimiser
    /// state, holds a non-finite value, or the file cannot be written.
    fn save(&self, path: &std::path::Path) -> Result<(), crate::checkpoint::CheckpointError> {
        crate::checkpoint::save(self, path, None)
    }

    /// Loads a checkpoint written for a model of the same shape, validating all of it
    /// before changing anything; see [`crate::checkpoint::load`].
    ///
    /// # Errors
    /// [`crate::checkpoint::CheckpointError`] naming the file and the first problem (I/O,
    /// format, the first tensor whose name, dtype or shape differs, a non-finite value).
    fn load(
        &mut self,
        path: &std::path::Path,
    ) -> Result<crate::checkpoint::CheckpointInfo, crate::checkpoint::CheckpointError> {
        crate::checkpoint::load(self, path)
    }
}
