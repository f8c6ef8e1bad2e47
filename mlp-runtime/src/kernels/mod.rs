//! Compute kernels on caller-owned `f32` buffers. Nothing here allocates.
//!
//! Every fast kernel has a naive counterpart in [`mod@reference`] that it is tested against.
//! Matrices are row-major and contiguous unless a doc says otherwise. [`epilogue`] holds the
//! element-wise passes fused after a GEMM (bias + activation, activation derivatives,
//! column sums).

pub mod convert;
pub mod epilogue;
pub mod fp;
pub mod gemm;
pub mod math;
pub(crate) mod multiversion;
pub mod parallel;
pub mod peak;
pub mod reduce;
pub mod reference;

pub use fp::FlushDenormals;
pub use gemm::{matmul, matmul_at, matmul_bt};
