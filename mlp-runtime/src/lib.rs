//! Execution of mlp models: allocation-free kernels, Keras-exact layers, initialisers,
//! regularisers, losses, optimisers, training, data loading and the dynamic `Network`.
//!
//! The building blocks (`kernels`, `layers`, `init`, `regularize`, `loss`, `optim`, `rng`)
//! are free functions on caller-owned slices; [`Network`] and generated models call the
//! same functions in the same order (documented in [`network`]), and both implement
//! [`Model`], on which [`fit`], [`evaluate`] and [`predict`] work.

pub mod adapt;
pub mod callbacks;
pub mod checkpoint;
pub mod data;
pub mod fs;
pub mod init;
pub mod kernels;
pub mod layers;
pub mod layout;
pub mod loss;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod model_core;
pub mod network;
pub mod optim;
pub mod regularize;
pub mod rng;
pub mod tensorboard;
pub mod testing;
pub mod train;

pub use adapt::adapt;
pub use checkpoint::{CheckpointDir, CheckpointError, CheckpointInfo, TrainingState};
pub use layout::{ParamLayout, Role, TensorInfo};
pub use memory::AllocError;
pub use mlp_spec::ir;
pub use model::{Model, StepStats, Targets};
pub use model_core::ModelCore;
pub use network::{Network, NetworkError};
pub use train::{
    check_targets, evaluate, fit, fit_continue, fit_with_progress, metric_value, predict,
    predict_u8, BatchEvent, EpochEvent, Evaluation, FitOptions, History, OnNan, Progress, Silent,
    TrainError,
};
