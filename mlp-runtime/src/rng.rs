//! Seeded randomness: one `seed` fixes initialisation, shuffling and dropout masks.
//!
//! - Dropout masks come from a counter-based generator: the uniform number of element
//!   `index` in training step `step` of layer `stream` is a pure function of
//!   `(seed, stream, step, index)` ([`dropout_key`] then [`uniform_at`]), so no mask is
//!   stored between forward and backward and a run is reproducible.
//! - Initialisers and shuffling draw from [`ChaCha8Rng`] streams derived with [`derive_seed`].
//!
//! Everything here is deterministic across platforms (integer arithmetic only, floats
//! produced from the high bits).

use rand_chacha::rand_core::{RngCore, SeedableRng};
pub use rand_chacha::ChaCha8Rng;

/// Weyl increment of `SplitMix64` (the golden ratio in 64-bit fixed point).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Stream tag mixed into the seed of initialiser draws.
pub const STREAM_INIT: u64 = 0x494E_4954; // "INIT"
/// Stream tag mixed into the seed of the per-epoch shuffles.
pub const STREAM_SHUFFLE: u64 = 0x5348_5546; // "SHUF"
/// Stream tag mixed into the seed of dropout masks.
pub const STREAM_DROPOUT: u64 = 0x4452_4F50; // "DROP"

/// `SplitMix64`'s finaliser: a bijective 64-bit mix with full avalanche.
#[inline]
#[must_use]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A 64-bit seed for the sub-stream `(stream, index)` of `seed`; distinct inputs give
/// (with overwhelming probability) unrelated outputs.
#[must_use]
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    mix64(mix64(mix64(seed ^ GOLDEN).wrapping_add(stream)).wrapping_add(index.wrapping_mul(GOLDEN)))
}

/// A [`ChaCha8Rng`] for the sub-stream `(stream, index)` of `seed`.
#[must_use]
pub fn stream_rng(seed: u64, stream: u64, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive_seed(seed, stream, index))
}

/// The key of the dropout mask of layer `layer` in training step `step` (the optimiser's
/// iteration count before the step, starting at 0).
#[inline]
#[must_use]
pub fn dropout_key(seed: u64, layer: usize, step: u64) -> u64 {
    derive_seed(derive_seed(seed, STREAM_DROPOUT, layer as u64), step, 0)
}

/// The uniform number in `[0, 1)` (24 random bits, exactly representable in f32) of
/// element `index` under `key`: `SplitMix64` evaluated at position `index`.
#[inline]
#[must_use]
pub fn uniform_at(key: u64, index: usize) -> f32 {
    let z = mix64(key.wrapping_add((index as u64).wrapping_add(1).wrapping_mul(GOLDEN)));
    // Through u32 (exact: the value is below 2^24) so vector code converts it directly.
    ((z >> 40) as u32) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform `f64` in `[0, 1)` with 53 random bits.
#[inline]
pub fn next_f64<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// A standard normal `f64` (Box–Muller, one of the pair; `1 - u` keeps the log finite).
#[inline]
pub fn next_normal<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - next_f64(rng);
    let u2 = next_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Shuffles `items` in place (Fisher–Yates, unbiased via rejection-free multiply-shift on
/// 64-bit draws, which is exact enough for any slice shorter than 2³²).
pub fn shuffle<T>(items: &mut [T], rng: &mut impl RngCore) {
    for i in (1..items.len()).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_at_is_a_pure_function_in_range() {
        let k = dropout_key(7, 1, 3);
        assert_eq!(uniform_at(k, 5).to_bits(), uniform_at(k, 5).to_bits());
        assert_ne!(dropout_key(7, 1, 3), dropout_key(7, 1, 4));
        assert_ne!(dropout_key(7, 1, 3), dropout_key(7, 2, 3));
        let mean: f64 = (0..100_000)
            .map(|i| f64::from(uniform_at(k, i)))
            .sum::<f64>()
            / 1e5;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((0..10_000).all(|i| (0.0..1.0).contains(&uniform_at(k, i))));
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<usize> = (0..1000).collect();
        shuffle(&mut v, &mut stream_rng(1, STREAM_SHUFFLE, 0));
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
    }
}
