//! Fast GEMM kernels (work in progress: currently forwards to the reference).

/// `c[m×n] = a[m×k] · b[k×n]` (or `+=` when `accumulate`). Row-major, contiguous.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    super::reference::matmul(m, k, n, a, b, c, accumulate);
}

/// `c[m×n] = a[m×k] · b[n×k]ᵀ` (or `+=` when `accumulate`).
pub fn matmul_bt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    super::reference::matmul_bt(m, k, n, a, b, c, accumulate);
}

/// `c[m×n] = a[k×m]ᵀ · b[k×n]` (or `+=` when `accumulate`).
pub fn matmul_at(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    super::reference::matmul_at(m, k, n, a, b, c, accumulate);
}
