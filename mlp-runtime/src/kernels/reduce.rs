//! Reductions with a fixed summation order that still vectorises: `LANES` independent
//! partial sums (element `i` goes to partial `i % LANES`, in order), combined in lane order
//! at the end, then the tail in order. The order depends only on the length, so every
//! instruction-set path, and every run, gives the same bits.
#![allow(unsafe_code)]

use super::gemm::Isa;
use super::multiversion::multiversion;

/// Independent partial sums per reduction (two AVX-512 vectors of f64).
const LANES: usize = 16;

/// `(Σ|w|, Σw²)` of `w`, accumulated in f64 in the order the module docs give.
/// Reads `w`.
#[must_use]
pub fn abs_and_square_sums(w: &[f32]) -> (f64, f64) {
    abs_and_square_sums_on(Isa::detected(), w)
}

/// [`abs_and_square_sums`] on a chosen path (tests compare every path).
///
/// # Panics
/// If the CPU does not support `isa`.
#[must_use]
pub(crate) fn abs_and_square_sums_on(isa: Isa, w: &[f32]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        assert!(
            isa.is_supported(),
            "path {isa:?} is not supported on this CPU"
        );
        // SAFETY: the CPU supports AVX-512F (asserted above).
        return unsafe { x86::abs_and_square_sums_avx512(w) };
    }
    // LLVM does not vectorise the f32 -> f64 partial sums by itself: other paths run the
    // plain loop (same operations, same order).
    plain_on(isa, w)
}

/// Combines the partial sums in lane order, then adds the tail in order.
#[inline]
fn finish(abs: &[f64; LANES], squares: &[f64; LANES], tail: &[f32]) -> (f64, f64) {
    let (mut a, mut s) = (0.0f64, 0.0f64);
    for (&pa, &ps) in abs.iter().zip(squares) {
        a += pa;
        s += ps;
    }
    for &v in tail {
        let v = f64::from(v);
        a += v.abs();
        s += v * v;
    }
    (a, s)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{finish, LANES};
    use core::arch::x86_64::{
        _mm256_loadu_ps, _mm512_abs_pd, _mm512_add_pd, _mm512_cvtps_pd, _mm512_mul_pd,
        _mm512_setzero_pd, _mm512_storeu_pd,
    };

    /// AVX-512F: partial sums `0..8` and `8..16` in two registers each; products and sums
    /// rounded separately (no FMA), as in the plain loop.
    ///
    /// # Safety
    /// The CPU supports AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn abs_and_square_sums_avx512(w: &[f32]) -> (f64, f64) {
        let chunks = w.chunks_exact(LANES);
        let tail = chunks.remainder();
        let (mut a0, mut a1) = (_mm512_setzero_pd(), _mm512_setzero_pd());
        let (mut s0, mut s1) = (_mm512_setzero_pd(), _mm512_setzero_pd());
        for chunk in chunks {
            // SAFETY: `chunk` holds 16 floats: two loads of 8.
            let (lo, hi) = unsafe {
                (
                    _mm512_cvtps_pd(_mm256_loadu_ps(chunk.as_ptr())),
                    _mm512_cvtps_pd(_mm256_loadu_ps(chunk.as_ptr().add(8))),
                )
            };
            a0 = _mm512_add_pd(a0, _mm512_abs_pd(lo));
            a1 = _mm512_add_pd(a1, _mm512_abs_pd(hi));
            s0 = _mm512_add_pd(s0, _mm512_mul_pd(lo, lo));
            s1 = _mm512_add_pd(s1, _mm512_mul_pd(hi, hi));
        }
        let mut abs = [0.0f64; LANES];
        let mut squares = [0.0f64; LANES];
        // SAFETY: each array holds 16 doubles: two stores of 8.
        unsafe {
            _mm512_storeu_pd(abs.as_mut_ptr(), a0);
            _mm512_storeu_pd(abs.as_mut_ptr().add(8), a1);
            _mm512_storeu_pd(squares.as_mut_ptr(), s0);
            _mm512_storeu_pd(squares.as_mut_ptr().add(8), s1);
        }
        finish(&abs, &squares, tail)
    }
}

multiversion! {
    /// The plain-loop form of [`abs_and_square_sums`].
    #[allow(dead_code)] // only the `plain_on` form is called
    fn plain / plain_on(w: &[f32]) -> (f64, f64) {
        let mut abs = [0.0f64; LANES];
        let mut squares = [0.0f64; LANES];
        let chunks = w.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            // Whole arrays by value, so the partial sums stay in vector registers.
            let v: [f64; LANES] = core::array::from_fn(|j| f64::from(chunk[j]));
            abs = core::array::from_fn(|j| abs[j] + v[j].abs());
            squares = core::array::from_fn(|j| squares[j] + v[j] * v[j]);
        }
        finish(&abs, &squares, tail)
    }
}

#[cfg(test)]
mod tests {
    use super::{abs_and_square_sums_on, LANES};
    use crate::kernels::gemm::Isa;

    /// Every path against the documented order written out, bit for bit, and against an
    /// exact-enough f64 sum.
    #[test]
    fn every_path_sums_in_the_documented_order() {
        for n in [0, 1, 15, 16, 17, 100, 50_176] {
            let w: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013)
                .collect();
            let full = n / LANES * LANES;
            let mut pa = [0.0f64; LANES];
            let mut ps = [0.0f64; LANES];
            for (i, &v) in w[..full].iter().enumerate() {
                pa[i % LANES] += f64::from(v).abs();
                ps[i % LANES] += f64::from(v) * f64::from(v);
            }
            let (mut a, mut s) = (pa.iter().sum::<f64>(), ps.iter().sum::<f64>());
            for &v in &w[full..] {
                a += f64::from(v).abs();
                s += f64::from(v) * f64::from(v);
            }
            let naive_a: f64 = w.iter().map(|&v| f64::from(v).abs()).sum();
            assert!((a - naive_a).abs() <= 1e-9 * naive_a.max(1.0));
            for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
                let (ga, gs) = abs_and_square_sums_on(isa, &w);
                assert_eq!(ga.to_bits(), a.to_bits(), "{isa:?} n={n} abs");
                assert_eq!(gs.to_bits(), s.to_bits(), "{isa:?} n={n} squares");
            }
        }
    }
}
