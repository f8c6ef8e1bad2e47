//! Elementary functions as branch-free f32 arithmetic, so loops over them vectorise
//! (a call into the C library's `expf` cannot): [`exp`], and [`exp_in_place`] compiled per
//! instruction set.
//!
//! TensorFlow's CPU kernels compute `exp` the same way (a range reduction and a
//! polynomial, Eigen's `pexp`), not through the C library. Ours is the classic Cephes
//! `expf`: `x = n·ln(2) + r` with `|r| ≤ ln(2)/2` (Cody–Waite, two constants),
//! `e^r ≈ 1 + r + r²·P(r)` with a degree-5 `P`, then `2^n` built from the exponent bits.
//! Within 2 ulp of the exact value (1 ulp at worst over two million points spanning the
//! whole range, against f64). Every step is a plain f32 operation that Rust never
//! contracts into a fused multiply-add, so every instruction-set path gives the same bits.
//!
//! Edge cases: `exp(NaN)` is NaN, `exp(+∞)` and anything above `ln f32::MAX` is `+∞`;
//! results below `f32::MIN_POSITIVE` (`x < -87.336`) are `0`, as under the flush-to-zero
//! mode every model computes in (see [`super::fp`]).

use super::multiversion::multiversion;

/// Largest `x` with a finite `e^x` in f32.
const MAX_X: f32 = 88.722_83;
/// Smallest `x` with a normal `e^x` in f32 (`ln f32::MIN_POSITIVE`).
const MIN_X: f32 = -87.336_55;
/// `1 / ln 2`.
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` in two parts (Cody–Waite): `C1` has few mantissa bits, so `n · C1` is exact.
const C1: f32 = 0.693_359_4;
const C2: f32 = -2.121_944_4e-4;
/// `1.5 · 2^23`: adding it rounds an f32 of magnitude below 2^22 to an integer (round to
/// nearest even), which then sits in the low mantissa bits.
const ROUND: f32 = 12_582_912.0;
/// Cephes `expf` polynomial, highest degree first.
const P: [f32; 6] = [
    1.987_569_2e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5, // Cephes: 5.0000001201e-1, which is 0.5 in f32
];

/// `2^k` for `-126 ≤ k ≤ 127`, from its exponent bits.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// `e^x` in f32 (see the module docs: within 2 ulp; NaN, ±∞ and tiny results handled).
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn exp(x: f32) -> f32 {
    let xc = x.clamp(MIN_X, MAX_X);
    // n = round(x / ln 2), in [-126, 128].
    let t = xc * LOG2_E + ROUND;
    let n = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let nf = t - ROUND;
    let r = (xc - nf * C1) - nf * C2;
    let mut p = P[0];
    for &c in &P[1..] {
        p = p * r + c;
    }
    let e = p * (r * r) + r + 1.0;
    // 2^n in two halves, so n = 128 (x near MAX_X) and n = -126 stay representable.
    let half = n >> 1;
    let y = e * pow2(half) * pow2(n - half);
    if x > MAX_X {
        f32::INFINITY
    } else if x < MIN_X {
        0.0
    } else {
        y
    }
}

multiversion! {
    /// `x[i] = e^x[i]` for every element, with [`exp`].
    pub fn exp_in_place / exp_in_place_on(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = exp(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{exp, exp_in_place_on, MAX_X, MIN_X};
    use crate::kernels::gemm::Isa;

    /// Distance in units in the last place between two positive finite floats.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn within_two_ulp_of_the_exact_value_over_the_whole_range() {
        let mut worst = (0, 0.0f32);
        let steps = 2_000_000;
        for i in 0..=steps {
            let x = MIN_X + (MAX_X - MIN_X) * (i as f32 / steps as f32);
            let exact = f64::from(x).exp();
            if exact >= f64::from(f32::MAX) || exact < f64::from(f32::MIN_POSITIVE) {
                continue;
            }
            let d = ulps(exp(x), exact as f32);
            if d > worst.0 {
                worst = (d, x);
            }
        }
        assert!(worst.0 <= 2, "{} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exact_and_special_values() {
        assert_eq!(exp(0.0).to_bits(), 1.0f32.to_bits(), "e^0 is exactly 1");
        assert_eq!(exp(-0.0).to_bits(), 1.0f32.to_bits());
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(f32::INFINITY).to_bits(), f32::INFINITY.to_bits());
        assert_eq!(exp(89.0).to_bits(), f32::INFINITY.to_bits());
        assert_eq!(exp(f32::NEG_INFINITY).to_bits(), 0);
        assert_eq!(exp(-100.0).to_bits(), 0, "results below MIN_POSITIVE are 0");
        let top = exp(88.7);
        assert!(top.is_finite() && top > 3.0e38, "{top}");
        let bottom = exp(-87.3);
        assert!(bottom.is_normal(), "{bottom}");
    }

    #[test]
    fn every_instruction_set_path_gives_the_same_bits() {
        let xs: Vec<f32> = (0..1000)
            .map(|i| -90.0 + 180.0 * (i as f32 / 999.0))
            .chain([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0])
            .collect();
        let scalar: Vec<u32> = xs.iter().map(|&x| exp(x).to_bits()).collect();
        for isa in Isa::ALL.into_iter().filter(|isa| isa.is_supported()) {
            let mut v = xs.clone();
            exp_in_place_on(isa, &mut v);
            let got: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, scalar, "{isa:?}");
        }
    }
}
