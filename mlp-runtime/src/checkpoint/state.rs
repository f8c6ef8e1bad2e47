//! What a checkpoint holds: the [`Snapshot`] borrowed from a model when writing, the
//! [`TrainingState`] of `fit`, the [`CheckpointInfo`] found when reading, and the `Plan`
//! of model tensors (names, shapes, where each lives in the model's buffers) that writing
//! and reading both follow.

use crate::layout::ParamLayout;
use crate::model::Model;
use crate::optim;
use crate::train::History;
use mlp_spec::ir::{self, Optimizer};

/// Where `fit` stands: what a checkpoint needs beyond the model to resume exactly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrainingState {
    /// Epochs completed; resume with `FitOptions::initial_epoch` set to it.
    pub epoch: usize,
    /// `FitOptions::seed` of the run (keys each epoch's shuffle).
    pub shuffle_seed: u64,
    /// Metrics of the completed epochs.
    pub history: History,
    /// The class names of the training data, when it named its classes (string labels of
    /// a CSV column): `mlp predict` prints them back. Saved as the `labels` metadata entry
    /// (a JSON array).
    pub labels: Option<Vec<String>>,
}

impl TrainingState {
    /// `opts` set to continue this run: `initial_epoch = epoch`, `seed = shuffle_seed`.
    #[must_use]
    pub fn resume_options(&self, opts: &crate::FitOptions) -> crate::FitOptions {
        crate::FitOptions {
            initial_epoch: self.epoch,
            seed: self.shuffle_seed,
            ..opts.clone()
        }
    }
}

/// What a checkpoint holds, borrowed from a model (see [`Snapshot::of`]).
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// The model's IR.
    pub ir: &'a ir::Model,
    /// [`Model::rng_seed`].
    pub seed: Option<u64>,
    /// [`Model::iterations`].
    pub iterations: u64,
    /// [`Model::params`].
    pub params: &'a [f32],
    /// [`Model::state`].
    pub state: &'a [f32],
    /// [`Model::optimizer_slots`].
    pub optimizer: Option<&'a [f32]>,
    /// Where `fit` stands, when the snapshot comes from `fit`.
    pub training: Option<&'a TrainingState>,
    /// [`Model::learning_rate`]: the rate the next step uses (kept, so that a rate
    /// lowered by `reduce_lr_on_plateau` resumes lowered).
    pub learning_rate: f32,
}

impl<'a> Snapshot<'a> {
    /// The snapshot of `model` (and of `fit`'s `training` state, if any).
    pub fn of<M: Model + ?Sized>(model: &'a M, training: Option<&'a TrainingState>) -> Self {
        Snapshot {
            ir: model.ir(),
            seed: model.rng_seed(),
            iterations: model.iterations(),
            params: model.params(),
            state: model.state(),
            optimizer: model.optimizer_slots(),
            training,
            learning_rate: model.learning_rate(),
        }
    }

    /// The first tensor (name, flat index, value) of the model holding a NaN or an
    /// infinity, if any.
    #[must_use]
    pub fn first_non_finite(&self) -> Option<(String, usize, f32)> {
        let plan = Plan::new(self.ir);
        plan.tensors.iter().find_map(|t| {
            let data = self.data_of(t)?;
            data.iter()
                .position(|v| !v.is_finite())
                .map(|i| (t.name.clone(), i, data[i]))
        })
    }

    /// The data of a planned model tensor (`None` for history tensors or missing buffers).
    pub(super) fn data_of(&self, t: &Planned) -> Option<&'a [f32]> {
        match t.dest {
            Dest::Params(ref r) => self.params.get(r.clone()),
            Dest::State(ref r) => self.state.get(r.clone()),
            Dest::Optimizer(ref r) => self.optimizer.and_then(|o| o.get(r.clone())),
        }
    }
}

/// What [`load`](super::load) found in a checkpoint besides the tensors it copied into the model.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointInfo {
    /// Name of the model the checkpoint was written from.
    pub model: String,
    /// The IR of that model, as JSON.
    pub spec: String,
    /// Its seed (now the loaded model's, see [`Model::rng_seed`]).
    pub seed: u64,
    /// Its optimiser step count (now the loaded model's).
    pub iterations: u64,
    /// The constant learning rate it was at, when it recorded one (now the loaded
    /// model's; a scheduled rate follows `iterations`).
    pub learning_rate: Option<f32>,
    /// `fit`'s position, when the checkpoint was written during `fit`.
    pub training: Option<TrainingState>,
}

/// Keras's names of `opt`'s state slots, in slot order (see [`crate::optim`]).
#[must_use]
pub fn slot_names(opt: &Optimizer) -> &'static [&'static str] {
    let names = opt.slot_names();
    debug_assert_eq!(names.len(), optim::slots(opt));
    names
}

/// Where a planned tensor lives in the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Dest {
    Params(std::ops::Range<usize>),
    State(std::ops::Range<usize>),
    Optimizer(std::ops::Range<usize>),
}

/// One model tensor of a checkpoint.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub(super) name: String,
    pub(super) shape: Vec<usize>,
    pub(super) dest: Dest,
}

/// Every model tensor of a checkpoint of `ir`, in file-independent order: the layout's
/// tensors, then the optimiser's slots tensor by tensor.
pub(super) struct Plan {
    pub(super) tensors: Vec<Planned>,
    pub(super) trainable_len: usize,
    pub(super) state_len: usize,
    pub(super) optimizer_len: usize,
}

impl Plan {
    pub(super) fn new(ir: &ir::Model) -> Plan {
        let layout = ParamLayout::new(ir);
        let mut tensors: Vec<Planned> = layout
            .tensors
            .iter()
            .map(|t| Planned {
                name: t.name.clone(),
                shape: t.shape.clone(),
                dest: if t.trainable {
                    Dest::Params(t.range())
                } else {
                    Dest::State(t.range())
                },
            })
            .collect();
        let slots = slot_names(&ir.train.optimizer);
        for (s, slot) in slots.iter().enumerate() {
            for t in layout.trainable() {
                let base = s * layout.trainable_len;
                tensors.push(Planned {
                    name: format!("optimizer.{slot}.{}", t.name),
                    shape: t.shape.clone(),
                    dest: Dest::Optimizer(base + t.offset..base + t.offset + t.len),
                });
            }
        }
        Plan {
            tensors,
            trainable_len: layout.trainable_len,
            state_len: layout.state_len,
            optimizer_len: slots.len() * layout.trainable_len,
        }
    }
}

/// What a checkpoint's metadata says, read without a model (see
/// [`read_header`](super::read_header)): enough to decide whether to load it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointHeader {
    /// Name of the model the checkpoint was written from.
    pub model: String,
    /// The IR of that model, as JSON (compare it with [`compare_spec`](super::compare_spec)).
    pub spec: String,
    /// Its optimiser step count.
    pub iterations: u64,
    /// Epochs completed, when written during `fit`.
    pub epoch: Option<usize>,
}
