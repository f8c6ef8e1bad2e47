//! Execution of mlp models: allocation-free kernels, Keras-exact layers, initialisers,
//! regularisers, losses, optimisers, training, data loading and the dynamic `Network`.

pub mod data;
pub mod kernels;

pub use mlp_spec::ir;
