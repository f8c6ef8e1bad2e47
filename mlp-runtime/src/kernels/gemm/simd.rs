//! The vector operations the GEMM driver is written against, and the portable
//! implementation that compiles on every target.
//!
//! An implementation of [`Simd`] is one instruction set: a vector type of `LANES` floats,
//! a tail mask, and a table ([`Simd::column_block`]) that picks the register tile for a
//! block of columns. The driver in [`super::driver`] is generic over it and is
//! instantiated inside one `#[target_feature]` function per instruction set, so every
//! `#[inline(always)]` method below ends up compiled with that instruction set enabled.
//!
//! Invariant: every method that takes a pointer reads or writes exactly the elements its
//! doc names (masked lanes are never touched), so callers only need those to be in bounds.
#![allow(unsafe_code)]
// Generic code must be inlined into the `#[target_feature]` entry point to be compiled
// with that instruction set: anywhere else the intrinsics would stay function calls.
#![allow(clippy::inline_always)]

use super::driver::{rows, Gemm};

/// One instruction set's vector of `LANES` floats and the operations the kernels use.
///
/// All methods are `unsafe`: they may use instructions the CPU only has if the caller
/// checked for them, and the pointer methods dereference raw pointers.
pub(super) trait Simd: Copy {
    /// A vector of `LANES` floats.
    type V: Copy;
    /// Which lanes of the last vector of a row are real columns.
    type Mask: Copy;
    /// Floats per vector.
    const LANES: usize;
    /// Widest column block in vectors: a block is `NV_MAX * LANES` columns.
    const NV_MAX: usize;

    /// All lanes zero.
    unsafe fn zero() -> Self::V;
    /// All lanes `*p`. Reads one float.
    unsafe fn splat(p: *const f32) -> Self::V;
    /// Reads `LANES` floats from `p`.
    unsafe fn load(p: *const f32) -> Self::V;
    /// The mask of the first `len` lanes, `1 <= len <= LANES`.
    unsafe fn mask(len: usize) -> Self::Mask;
    /// Reads the masked lanes from `p`; the others are zero and are not read.
    unsafe fn load_masked(p: *const f32, mask: Self::Mask) -> Self::V;
    /// Writes `LANES` floats to `p`.
    unsafe fn store(p: *mut f32, v: Self::V);
    /// Writes the masked lanes to `p`; the others are not touched.
    unsafe fn store_masked(p: *mut f32, v: Self::V, mask: Self::Mask);
    /// `acc + x * y` per lane (fused where the instruction set has FMA).
    unsafe fn fma(acc: Self::V, x: Self::V, y: Self::V) -> Self::V;

    /// Runs `g` (at most `NV_MAX * LANES` columns, `g.n >= 1`) through the register tiles
    /// this instruction set uses for that width: picks the vector count and the tail mask,
    /// then calls [`rows`] with the tile height that fits the register file.
    ///
    /// # Safety
    /// `g` must satisfy the contract of [`Gemm`].
    unsafe fn column_block(g: &Gemm);

    /// Whether the blocked driver packs `a` with every element repeated `LANES` times, so
    /// its tiles load a ready vector instead of broadcasting (worth it where a broadcast
    /// costs a shuffle, as on SSE2).
    const PREBROADCAST: bool;

    /// Hints the CPU to bring the cache line holding `p` into L1 (no effect on results;
    /// `p` need not be valid memory).
    unsafe fn prefetch(p: *const f32);

    /// Columns per packed block of `b` in the blocked driver (a multiple of `NV_MAX *
    /// LANES`): `KC × NC` floats should sit in half of L2.
    const NC: usize;

    /// Height of the row slivers of the blocked driver ([`super::blocked`]): its tiles are
    /// `MR_PACK` rows × up to `NV_MAX` vectors.
    const MR_PACK: usize;

    /// Runs one tile of the blocked driver: `g.m <= MR_PACK` rows, `1 <= g.n <= NV_MAX *
    /// LANES` columns, through [`rows`] with a tile height of `MR_PACK` (so the tile never
    /// reads `a` past row `g.m` of a packed sliver), `a` pre-broadcast when
    /// [`Self::PREBROADCAST`].
    ///
    /// # Safety
    /// `g` must satisfy the contract of [`Gemm`].
    unsafe fn packed_block(g: &Gemm);

    /// Packs a panel of `bᵀ` for `matmul_bt`: `dst[p * width + j] = b[j * ldb + p]` for
    /// `p < kc`, `j < rows`, where `width` is `NV_MAX * LANES`. Columns `rows..width` may
    /// be left unwritten: the panel is then run as a block of `rows` columns, whose tiles
    /// never read past column `rows` (their last vector is masked).
    ///
    /// # Safety
    /// `b[j * ldb + p]` readable for `j < rows`, `p < kc`; `dst` writable for
    /// `kc * width` floats; `rows <= width`.
    unsafe fn pack_bt(b: *const f32, ldb: usize, rows: usize, kc: usize, dst: *mut f32);
}

/// Portable implementation: plain arrays of four floats that the compiler vectorises
/// with whatever the target's baseline has (SSE2 on `x86_64`, NEON on `aarch64`).
/// Products are rounded before the add (no FMA), so results can differ from the SIMD
/// paths in the last bits.
#[derive(Clone, Copy)]
pub(super) struct Portable;

/// Lanes per portable vector.
const PL: usize = 4;

impl Simd for Portable {
    type V = [f32; PL];
    type Mask = usize;
    const LANES: usize = PL;
    // Tiles of 4 × 2 vectors: 8 accumulators, 2 vectors of `b`, the broadcast and the
    // product's temporary stay within the 16 registers of SSE2 (whose two-operand
    // multiply needs the copy); wider tiles spill.
    const NV_MAX: usize = 2;

    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; PL]
    }

    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self::V {
        [*p; PL]
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        p.cast::<[f32; PL]>().read_unaligned()
    }

    #[inline(always)]
    unsafe fn mask(len: usize) -> Self::Mask {
        len
    }

    #[inline(always)]
    unsafe fn load_masked(p: *const f32, mask: Self::Mask) -> Self::V {
        // One arm per tail length (the same one for a whole block, so well predicted),
        // each with fixed-size accesses: no loop, no per-lane branch.
        match mask {
            1 => [*p, 0.0, 0.0, 0.0],
            2 => [*p, *p.add(1), 0.0, 0.0],
            3 => [*p, *p.add(1), *p.add(2), 0.0],
            _ => Self::load(p),
        }
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        p.cast::<[f32; PL]>().write_unaligned(v);
    }

    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: Self::V, mask: Self::Mask) {
        match mask {
            1 => *p = v[0],
            2 => p.cast::<[f32; 2]>().write_unaligned([v[0], v[1]]),
            3 => {
                p.cast::<[f32; 2]>().write_unaligned([v[0], v[1]]);
                *p.add(2) = v[2];
            }
            _ => Self::store(p, v),
        }
    }

    #[inline(always)]
    unsafe fn fma(acc: Self::V, x: Self::V, y: Self::V) -> Self::V {
        let mut r = acc;
        for l in 0..PL {
            r[l] += x[l] * y[l];
        }
        r
    }

    #[inline(always)]
    unsafe fn column_block(g: &Gemm) {
        let nv = g.n.div_ceil(PL);
        let tail = !g.n.is_multiple_of(PL);
        let mask = Self::mask(g.n - (nv - 1) * PL);
        match (nv, tail) {
            (1, false) => rows::<Self, 4, 1, false, false>(g, mask),
            (1, true) => rows::<Self, 4, 1, true, false>(g, mask),
            (2, false) => rows::<Self, 4, 2, false, false>(g, mask),
            _ => rows::<Self, 4, 2, true, false>(g, mask),
        }
    }

    #[inline(always)]
    unsafe fn prefetch(_p: *const f32) {}

    const NC: usize = 256;
    const PREBROADCAST: bool = true;
    const MR_PACK: usize = 4;

    #[inline(always)]
    unsafe fn packed_block(g: &Gemm) {
        let nv = g.n.div_ceil(PL);
        let tail = !g.n.is_multiple_of(PL);
        let mask = Self::mask(g.n - (nv - 1) * PL);
        match (nv, tail) {
            (1, false) => rows::<Self, 4, 1, false, true>(g, mask),
            (1, true) => rows::<Self, 4, 1, true, true>(g, mask),
            (2, false) => rows::<Self, 4, 2, false, true>(g, mask),
            _ => rows::<Self, 4, 2, true, true>(g, mask),
        }
    }

    #[inline(always)]
    unsafe fn pack_bt(b: *const f32, ldb: usize, rows: usize, kc: usize, dst: *mut f32) {
        let width = Self::NV_MAX * PL;
        for p in 0..kc {
            for j in 0..rows {
                *dst.add(p * width + j) = *b.add(j * ldb + p);
            }
        }
    }
}
