//! Naive reference kernels: obviously correct, slow. The fast kernels are tested against
//! these, and nothing on a hot path calls them.
//!
//! Each sums over `p` in order, in `f32`, one product rounded before each add; with
//! `accumulate == false` the output is written without being read.

/// `c[m×n] = a[m×k] · b[k×n]` (or `+=` when `accumulate`). Row-major, contiguous.
/// Reads `a`, `b` (and `c` when accumulating); writes `c`. `c` must not alias `a` or `b`.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                s += a[i * k + p] * b[p * n + j];
            }
            let dst = &mut c[i * n + j];
            *dst = if accumulate { *dst + s } else { s };
        }
    }
}

/// `c[m×n] = a[m×k] · b[n×k]ᵀ` (or `+=` when `accumulate`). Row-major, contiguous.
/// Reads `a`, `b` (and `c` when accumulating); writes `c`. `c` must not alias `a` or `b`.
pub fn matmul_bt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    debug_assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                s += a[i * k + p] * b[j * k + p];
            }
            let dst = &mut c[i * n + j];
            *dst = if accumulate { *dst + s } else { s };
        }
    }
}

/// `c[m×n] = a[k×m]ᵀ · b[k×n]` (or `+=` when `accumulate`). Row-major, contiguous.
/// Reads `a`, `b` (and `c` when accumulating); writes `c`. `c` must not alias `a` or `b`.
pub fn matmul_at(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    debug_assert!(a.len() >= k * m && b.len() >= k * n && c.len() >= m * n);
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f32;
            for p in 0..k {
                s += a[p * m + i] * b[p * n + j];
            }
            let dst = &mut c[i * n + j];
            *dst = if accumulate { *dst + s } else { s };
        }
    }
}
