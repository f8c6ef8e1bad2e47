//! Layer forward and backward passes as free functions on caller-owned slices.
//!
//! `Network` and generated code call exactly these functions in the same order, which is
//! what makes them agree bit for bit. Conventions: activations are `[batch, features]`
//! row-major; a backward function reads the upstream gradient `dy` and writes the input
//! gradient `dx` (skipped when `None`, as for the first layer) and parameter gradients
//! (overwritten, never accumulated). Nothing here allocates.

pub mod activation;
pub mod batch_norm;
pub mod dense;
pub mod dense_batch_norm;
pub mod dropout;
pub mod leaky_relu;
pub mod normalization;
pub mod rescale;

pub use activation::{activation_backward, activation_forward};
pub use batch_norm::{
    batch_norm_backward, batch_norm_fold_into_dense, batch_norm_fold_into_next_dense,
    batch_norm_forward_infer, batch_norm_forward_train,
};
pub use dense::{dense_backward, dense_forward};
pub use dense_batch_norm::{dense_batch_norm_forward_train, AfterBatchNorm, DenseBatchNormTrain};
pub use dropout::{dropout_backward, dropout_forward};
pub use leaky_relu::{leaky_relu_backward, leaky_relu_forward};
pub use normalization::{adapt_statistics, normalization_backward, normalization_forward};
pub use rescale::{rescale_backward, rescale_forward};
