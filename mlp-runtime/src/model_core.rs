//! [`ModelCore`]: the buffers and counters every model holds, whatever executes it.
//!
//! `Network` and every generated model keep their parameters, gradients, state, optimiser
//! slots, seed, iteration count and IR in one `ModelCore`, and implement the accessor half
//! of [`Model`](crate::Model) through [`model_core_accessors!`](crate::model_core_accessors)
//! instead of each writing the same dozen methods. What differs between executors (the
//! forward, loss, backward and optimiser code) stays with them.

use crate::memory::{self, AllocError};
use mlp_spec::ir;

/// Everything a model owns besides its activation buffers (see the module docs).
#[derive(Debug, Clone)]
pub struct ModelCore {
    /// The model's IR.
    pub ir: ir::Model,
    /// Seed of initialisation and dropout masks.
    pub seed: u64,
    /// Largest batch the activation buffers hold (≥ 1).
    pub max_batch: usize,
    /// Optimiser steps taken so far (Keras's `optimizer.iterations`).
    pub iterations: u64,
    /// Trainable parameters, one range per tensor of the layout.
    pub params: Vec<f32>,
    /// Data-loss gradients of the last training step, mirroring `params`.
    pub grads: Vec<f32>,
    /// Non-trainable tensors (`BatchNorm` moving statistics).
    pub state: Vec<f32>,
    /// Optimiser state: `optim::slots` slots of `params.len()` floats each.
    pub slots: Vec<f32>,
    /// The optimiser's scalars: the current learning rate and Nadam's running product.
    pub optimizer: crate::optim::OptimizerScalars,
    /// Whether the inference folds (`BatchNorm` into `Dense`) match `params` and `state`;
    /// cleared by everything that may change them.
    pub folded: bool,
}

impl ModelCore {
    /// Zeroed buffers for `ir` (parameters are not initialised here): `trainable` floats of
    /// parameters, gradients and each optimiser slot, `state` floats of state, for batches
    /// of up to `max_batch` rows (at least 1). Each buffer is allocated through
    /// [`memory::zeros`], so running out of memory is an error, not an abort.
    ///
    /// # Errors
    /// [`AllocError::Refused`] naming the buffer the allocator refused.
    pub fn try_new(
        ir: ir::Model,
        seed: u64,
        max_batch: usize,
        trainable: usize,
        state: usize,
    ) -> Result<Self, AllocError> {
        let opt = &ir.train.optimizer;
        let slots = opt.slots().saturating_mul(trainable);
        // The GEMM's per-thread packing buffer, so a large model's first training step on
        // this thread allocates nothing either.
        crate::kernels::gemm::reserve_packing_buffer();
        Ok(ModelCore {
            seed,
            max_batch: max_batch.max(1),
            iterations: 0,
            params: memory::zeros(trainable, "the parameters")?,
            grads: memory::zeros(trainable, "the gradients")?,
            state: memory::zeros(state, "the state")?,
            slots: initial_slots(opt, slots, trainable)?,
            optimizer: crate::optim::OptimizerScalars::new(opt),
            folded: false,
            ir,
        })
    }
}

/// The optimiser slots of a fresh optimiser: zeros, but Adagrad's accumulators start at
/// its `initial_accumulator_value`.
fn initial_slots(
    opt: &ir::Optimizer,
    len: usize,
    trainable: usize,
) -> Result<Vec<f32>, AllocError> {
    let mut slots = memory::zeros(len, "the optimiser slots")?;
    if trainable > 0 {
        for (s, chunk) in slots.chunks_exact_mut(trainable).enumerate() {
            chunk.fill(opt.slot_initial_value(s));
        }
    }
    Ok(slots)
}

/// The accessor methods of [`Model`](crate::Model) for a type holding a
/// [`ModelCore`] in the field named by the argument: `ir`, `max_batch`, `params`,
/// `params_mut`, `state`, `state_mut`, `grads`, `iterations`, `rng_seed`,
/// `optimizer_slots`, `optimizer_slots_mut`, `set_iterations`, `set_rng_seed`,
/// `learning_rate`, `set_learning_rate`. Write it
/// inside the `impl Model for …` block. The mutable parameter and state accessors mark the
/// inference folds stale.
#[macro_export]
macro_rules! model_core_accessors {
    ($core:ident) => {
        fn ir(&self) -> &$crate::ir::Model {
            &self.$core.ir
        }

        fn max_batch(&self) -> usize {
            self.$core.max_batch
        }

        fn params(&self) -> &[f32] {
            &self.$core.params
        }

        fn params_mut(&mut self) -> &mut [f32] {
            self.$core.folded = false;
            &mut self.$core.params
        }

        fn state(&self) -> &[f32] {
            &self.$core.state
        }

        fn state_mut(&mut self) -> &mut [f32] {
            self.$core.folded = false;
            &mut self.$core.state
        }

        fn grads(&self) -> &[f32] {
            &self.$core.grads
        }

        fn iterations(&self) -> u64 {
            self.$core.iterations
        }

        fn rng_seed(&self) -> ::core::option::Option<u64> {
            ::core::option::Option::Some(self.$core.seed)
        }

        fn optimizer_slots(&self) -> ::core::option::Option<&[f32]> {
            ::core::option::Option::Some(&self.$core.slots)
        }

        fn optimizer_slots_mut(&mut self) -> ::core::option::Option<&mut [f32]> {
            ::core::option::Option::Some(&mut self.$core.slots)
        }

        fn set_iterations(&mut self, iterations: u64) {
            self.$core.iterations = iterations;
            self.$core
                .optimizer
                .replay(&self.$core.ir.train.optimizer, iterations);
        }

        fn learning_rate(&self) -> f32 {
            $crate::optim::current_learning_rate(
                &self.$core.ir.train.optimizer,
                &self.$core.optimizer,
                self.$core.iterations,
            )
        }

        fn set_learning_rate(&mut self, learning_rate: f32) {
            self.$core.optimizer.learning_rate = learning_rate;
        }

        fn set_rng_seed(&mut self, seed: u64) {
            self.$core.seed = seed;
        }
    };
}
