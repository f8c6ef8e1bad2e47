//! `mlp`: describe a small neural network in a `.mlp` file or an `mlp! { … }` macro and get
//! Keras-exact, fused, allocation-free training code.
//!
//! This facade re-exports the language ([`spec`]) and the runtime ([`runtime`]).

pub use mlp_runtime as runtime;
pub use mlp_spec as spec;
