//! Elementary functions as branch-free f32 arithmetic, so loops over them vectorise
//! (a call into the C library's `expf` cannot): [`exp`], and [`exp_in_place`] compiled per
//! instruction set; [`exp_neg_square`] and [`erfc`] for the exact gelu.
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

/// Mantissa bits kept by the high part in [`exp_neg_square`]: with 12 of the 24 bits
/// cleared, `hi²` is exact in f32.
const SPLIT_MASK: u32 = 0xFFFF_F000;

/// `e^(-x²)` in f32, accurate to a few ulp even where `x²` is large: `x = hi + lo` with
/// `hi` holding the top 12 mantissa bits, so `hi²` is exact and `x² - hi² = lo·(x + hi)`
/// is small; then `e^(-hi²) · e^(-lo·(x + hi))`. (Rounding `x²` first would cost
/// `x²·2^-24` in the exponent: 5e-6 relative at `x = 9`.) NaN gives NaN; `|x| = ∞` gives 0.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn exp_neg_square(x: f32) -> f32 {
    // e^(-16²) is 0 in f32; the clamp keeps `lo` finite for |x| = ∞ (NaN stays NaN).
    let x = x.abs().clamp(0.0, 16.0);
    let hi = f32::from_bits(x.to_bits() & SPLIT_MASK);
    let lo = x - hi;
    exp(-(hi * hi)) * exp(-(lo * (x + hi)))
}

/// `erf(x) = x·T(x²)` for `|x| < 1`: Cephes `erff` (S. L. Moshier), highest degree first.
const ERF_T: [f32; 7] = [
    7.853_861_5e-5,
    -8.010_193_7e-4,
    5.188_327_7e-3,
    -2.685_381_3e-2,
    1.128_358_54e-1,
    -3.761_262_6e-1,
    // Cephes's 1.128379165726710, which rounds to 2/√π in f32.
    std::f32::consts::FRAC_2_SQRT_PI,
];
/// `erfc(x) = e^(-x²)·(1/x)·P(1/x²)` for `1 ≤ x < 2`: Cephes `erfcf`'s `P`.
const ERFC_P: [f32; 9] = [
    2.326_82e-2,
    -1.387_039_4e-1,
    3.687_424_7e-1,
    -5.824_733e-1,
    6.210_004_7e-1,
    -4.944_515_2e-1,
    3.404_88e-1,
    -2.741_127e-1,
    5.638_259_6e-1,
];
/// `erfc(x) = e^(-x²)·(1/x)·R(1/x²)` for `x ≥ 2`: Cephes `erfcf`'s `R`.
const ERFC_R: [f32; 8] = [
    -1.047_766_4e1,
    1.297_72e1,
    -7.495_518_7,
    2.921_019,
    -1.015_265_2,
    4.218_463_3e-1,
    -2.820_767_5e-1,
    5.641_895e-1,
];
/// Above this, `erfc(x)` is below the smallest normal f32 (`erfc(9.2) ≈ 1.2e-38`).
const ERFC_MAX_X: f32 = 10.0;

/// Horner's rule, highest degree first.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
fn poly(x: f32, c: &[f32]) -> f32 {
    let mut p = c[0];
    for &k in &c[1..] {
        p = p * x + k;
    }
    p
}

/// The complementary error function `erfc(x) = 1 - erf(x)` in f32, with Cephes `erfcf`'s
/// polynomials (S. L. Moshier, Cephes Math Library 2.2): `1 - x·T(x²)` for `|x| < 1`,
/// `e^(-x²)·(1/x)·P(1/x²)` for `1 ≤ |x| < 2`, `e^(-x²)·(1/x)·R(1/x²)` above, and
/// `2 - erfc(-x)` for negative `x`; `e^(-x²)` by [`exp_neg_square`] (Cephes rounds `x²`
/// first and states 3.9e-6). Within 1e-6 relative of the exact value on `[-4, 9.2]`,
/// where the result is a normal f32 (the test measures it against a series evaluated in
/// f64; the worst case, 8e-7, is just below 1, where `1 - erf` cancels). Results below
/// the smallest normal f32 are 0; NaN gives NaN.
#[inline(always)]
#[allow(clippy::inline_always)] // must inline into each instruction-set copy of the loops
#[must_use]
pub fn erfc(x: f32) -> f32 {
    let a = x.abs().min(ERFC_MAX_X);
    let near = 1.0 - x * poly(x * x, &ERF_T);
    let q = 1.0 / a;
    let tail = exp_neg_square(a) * q * poly(q * q, if a < 2.0 { &ERFC_P } else { &ERFC_R });
    let tail = if x < 0.0 { 2.0 - tail } else { tail };
    if x.is_nan() {
        x
    } else if a < 1.0 {
        near
    } else {
        tail
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
    use super::{erfc, exp, exp_in_place_on, exp_neg_square, MAX_X, MIN_X};

    /// `erfc(x)` in f64, far more precise than f32: for `x < 3`, `1 - erf(x)` with
    /// `erf(x) = 2/√π · e^(-x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))` (positive terms, no
    /// cancellation; `1 - erf` loses at most 5 of f64's 16 digits there), and above,
    /// the continued fraction `e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))`
    /// evaluated backwards from 200 terms.
    fn erfc_reference(x: f64) -> f64 {
        if x < 0.0 {
            return 2.0 - erfc_reference(-x);
        }
        let front = (-x * x).exp() / std::f64::consts::PI.sqrt();
        if x < 3.0 {
            let (mut term, mut sum, mut n) = (x, x, 0.0);
            while term > 1e-18 * sum {
                n += 1.0;
                term *= 2.0 * x * x / (2.0 * n + 1.0);
                sum += term;
            }
            1.0 - 2.0 * front * sum
        } else {
            let mut t = x;
            for k in (1..=200).rev() {
                t = x + f64::from(k) / 2.0 / t;
            }
            front / t
        }
    }
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

    /// The bound `erfc`'s docs state: 1e-6 relative wherever the result is a normal f32.
    #[test]
    fn erfc_within_1e6_relative_of_a_high_precision_reference() {
        let (mut worst, mut at) = (0.0f64, 0.0f32);
        let steps = 400_000;
        for i in 0..=steps {
            let x = -4.0 + 13.2 * (i as f32 / steps as f32);
            let exact = erfc_reference(f64::from(x));
            if exact < f64::from(f32::MIN_POSITIVE) {
                continue;
            }
            let rel = (f64::from(erfc(x)) - exact).abs() / exact;
            if rel > worst {
                (worst, at) = (rel, x);
            }
        }
        assert!(worst <= 1e-6, "{worst:e} relative at x = {at}");
        for (x, want) in [
            (0.0, 1.0),
            (-0.0, 1.0),
            (f32::INFINITY, 0.0),
            (f32::NEG_INFINITY, 2.0),
        ] {
            assert_eq!(erfc(x).to_bits(), f32::to_bits(want), "erfc({x})");
        }
        assert!(erfc(f32::NAN).is_nan());
        assert_eq!(erfc(9.5).to_bits(), 0, "below the smallest normal f32");
    }

    #[test]
    fn exp_neg_square_keeps_its_accuracy_for_large_arguments() {
        for i in 0..=10_000 {
            let x = 9.3 * (i as f32 / 10_000.0);
            let exact = (-f64::from(x) * f64::from(x)).exp();
            if exact < f64::from(f32::MIN_POSITIVE) {
                continue;
            }
            let rel = (f64::from(exp_neg_square(x)) - exact).abs() / exact;
            assert!(rel < 4.0 * f64::from(f32::EPSILON), "{rel:e} at {x}");
        }
        assert_eq!(exp_neg_square(f32::INFINITY).to_bits(), 0);
        assert!(exp_neg_square(f32::NAN).is_nan());
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
