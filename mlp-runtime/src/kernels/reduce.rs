//! Reductions with a fixed summation order that still vectorises: `LANES` independent
//! partial sums (element `i` goes to partial `i % LANES`, in order), combined in lane order
//! at the end, then the tail in order. The order depends only on the length, so every
//! instruction-set path, and every run, gives the same bits.

use super::multiversion::multiversion;

/// Independent partial sums per reduction (two AVX-512 vectors of f64).
const LANES: usize = 16;

multiversion! {
    /// `(Σ|w|, Σw²)` of `w`, accumulated in f64 in the order the module docs give.
    /// Reads `w`.
    pub fn abs_and_square_sums / abs_and_square_sums_on(w: &[f32]) -> (f64, f64) {
        let mut abs = [0.0f64; LANES];
        let mut squares = [0.0f64; LANES];
        let chunks = w.chunks_exact(LANES);
        let tail = chunks.remainder();
        for chunk in chunks {
            for ((a, s), &v) in abs.iter_mut().zip(squares.iter_mut()).zip(chunk) {
                let v = f64::from(v);
                *a += v.abs();
                *s += v * v;
            }
        }
        let (mut a, mut s) = (0.0f64, 0.0f64);
        for (&pa, &ps) in abs.iter().zip(&squares) {
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
