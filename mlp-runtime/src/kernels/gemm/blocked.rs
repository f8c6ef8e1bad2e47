//! Cache blocking for products whose operands leave L2 (the BLIS loop nest, with the
//! register tiles of [`super::driver`] as the micro-kernel).
//!
//! Loops, outermost first:
//! 1. `NC` columns of `c` ([`Simd::NC`]: 512 on AVX-512, 256 elsewhere);
//! 2. `KC = 256` steps of `k`: pack the `KC × NC` block of `b` into slivers `NR = NV_MAX ·
//!    LANES` columns wide, each contiguous (256–512 KiB, which stays in L2);
//! 3. `MC = 96` rows of `c`: when `a`'s rows are strided (`matmul_at`), pack the `MC × KC`
//!    block of `a` into slivers of `MR_PACK` rows; contiguous rows (`matmul`,
//!    `matmul_bt`) are read in place;
//! 4. `MR_PACK` rows (one sliver of `a`, 6 KiB, which stays in L1; the portable path packs
//!    it here, pre-broadcast);
//! 5. the slivers of `b`, one `MR_PACK × NR` register tile each, streaming `b` from L2.
//!
//! The packing storage is one buffer per thread, allocated on the thread's first blocked
//! product and reused for the life of the thread ([`with_buffers`]); nothing allocates per
//! call.
//!
//! Summation order: each `KC` block resumes every element's chain from the partial sum
//! stored in `c` (the tiles start from `c` whenever `accumulate` or `pc > 0`), so results
//! are bit-identical to the unblocked driver's, whatever the block sizes.
#![allow(unsafe_code)]
// Generic code must be inlined into the `#[target_feature]` entry point to be compiled
// with that instruction set: anywhere else the intrinsics would stay function calls.
#![allow(clippy::inline_always)]

use std::cell::RefCell;

use super::driver::Gemm;
use super::simd::Simd;

/// Reduction steps per packed block.
pub(super) const KC: usize = 256;
/// Widest packed block of `b` of any instruction set ([`Simd::NC`]).
pub(super) const NC_MAX: usize = 512;
/// Rows of `a` packed at once when its rows are strided (`matmul_at`): 16 slivers of 6,
/// so each step of `k` reads 384 contiguous bytes instead of 24.
pub(super) const MC: usize = 96;
/// Floats of the packed `a`: one `MC × KC` block, or one pre-broadcast sliver (at most
/// `MC / 4` rows of `LANES ≤ 4` copies; see [`Simd::PREBROADCAST`]).
const A_FLOATS: usize = MC * KC;

/// Floats in one thread's packing buffer: the `KC × NC` block of `b`, then the packed `a`.
const PACK_FLOATS: usize = KC * NC_MAX + A_FLOATS;

/// A cache line of floats, so the packed slivers start on line boundaries.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

thread_local! {
    /// This thread's packing buffer, allocated on first use.
    static PACK: RefCell<Option<Box<[Line]>>> = const { RefCell::new(None) };
}

/// Where the packed operands go; both regions are writable for the sizes
/// [`PACK_FLOATS`] describes and owned by the calling thread for the duration of a call.
#[derive(Clone, Copy)]
pub(super) struct Pack {
    /// `KC × NC_MAX` floats for the block of `b`.
    b: *mut f32,
    /// `A_FLOATS` floats for the packed `a`.
    a: *mut f32,
}

/// A zeroed packing buffer, from `alloc_zeroed`: the system maps its pages on first
/// touch, so a thread that never runs a large product pays no memory for it.
fn new_buffer() -> Box<[Line]> {
    let buf = Box::<[Line]>::new_zeroed_slice(PACK_FLOATS / 16);
    // SAFETY: all-zero bytes are a valid `Line` (sixteen `0.0` floats).
    unsafe { buf.assume_init() }
}

/// Allocates this thread's packing buffer now if it has none (see
/// [`super::reserve_packing_buffer`]).
pub(super) fn reserve() {
    let _ = PACK.try_with(|cell| {
        if let Ok(mut guard) = cell.try_borrow_mut() {
            guard.get_or_insert_with(new_buffer);
        }
    });
}

/// Runs `f` with this thread's packing buffer (allocating it on the thread's first call).
/// Returns `None`, without running `f`, if the buffer is already in use further up this
/// thread's stack (which no kernel does) or the thread is being torn down: the caller then
/// runs the unblocked driver, which needs no buffer and gives the same bits.
pub(super) fn with_buffers(f: impl FnOnce(Pack)) -> Option<()> {
    PACK.try_with(|cell| {
        let mut guard = cell.try_borrow_mut().ok()?;
        let buf = guard.get_or_insert_with(new_buffer);
        let base = buf.as_mut_ptr().cast::<f32>();
        // SAFETY (pointer arithmetic): the buffer holds `PACK_FLOATS` floats, so the `a`
        // region starting at `KC * NC_MAX` is inside it.
        f(Pack {
            b: base,
            a: base.wrapping_add(KC * NC_MAX),
        });
        Some(())
    })
    .ok()
    .flatten()
}

/// Whether `g` is large enough for blocking to pay: more than a few row tiles, and a `b`
/// too big to stay in L2 beside `a` (256 KiB or more).
pub(super) fn worth_blocking(g: &Gemm) -> bool {
    g.m >= 24 && g.k.saturating_mul(g.n) >= KC * 256
}

/// Packs `kc` rows × `nc` columns of `b` (`b[p * ldb + j]`) into slivers of `NR` columns:
/// column `j` of sliver `s` at step `p` goes to `dst[s * kc * NR + p * NR + j]`. Rows of `b`
/// are read whole and in order (one page after the other); the sliver stores land in L1.
/// Columns past `nc` in the last sliver are left unwritten (its tiles mask them).
///
/// # Safety
/// The source elements are readable; `dst` is writable for `nc.div_ceil(NR) * kc * NR`
/// floats; `nc >= 1`.
#[inline(always)]
unsafe fn pack_b_block<S: Simd>(b: *const f32, ldb: usize, nc: usize, kc: usize, dst: *mut f32) {
    let nr = S::NV_MAX * S::LANES;
    let full = nc / S::LANES;
    let rest = nc - full * S::LANES;
    let mask = S::mask(rest.max(1));
    for p in 0..kc {
        let src = b.add(p * ldb);
        for v in 0..full {
            let (s, j) = ((v * S::LANES) / nr, (v * S::LANES) % nr);
            S::store(
                dst.add(s * kc * nr + p * nr + j),
                S::load(src.add(v * S::LANES)),
            );
        }
        if rest > 0 {
            let at = full * S::LANES;
            let (s, j) = (at / nr, at % nr);
            let v = S::load_masked(src.add(at), mask);
            S::store_masked(dst.add(s * kc * nr + p * nr + j), v, mask);
        }
    }
}

/// Packs rows `0..rows` (`rows <= MC`) × steps `0..kc` of `a` (`a[r * rsa + p * csa]`)
/// into slivers of `MR_PACK` rows: row `r` of sliver `s` at step `p` goes to `dst[s *
/// MR_PACK * kc + p * MR_PACK + r]`. Rows past `rows` in the last sliver are left unwritten
/// (the tiles of a short sliver never read them).
///
/// # Safety
/// The source elements are readable; `dst` is writable for `rows.div_ceil(MR_PACK) *
/// MR_PACK * kc` floats, at most [`A_FLOATS`].
#[inline(always)]
unsafe fn pack_a_block<S: Simd>(
    a: *const f32,
    rsa: usize,
    csa: usize,
    rows: usize,
    kc: usize,
    dst: *mut f32,
) {
    let mr = S::MR_PACK;
    let slivers = rows.div_ceil(mr);
    if rsa == 1 && mr <= S::LANES {
        // `aᵀ` (matmul_at): each step's rows are contiguous, read as one run.
        let full = S::mask(mr);
        let last = S::mask(rows - (slivers - 1) * mr);
        for p in 0..kc {
            let src = a.add(p * csa);
            for s in 0..slivers {
                let mask = if s + 1 == slivers { last } else { full };
                let v = S::load_masked(src.add(s * mr), mask);
                S::store_masked(dst.add(s * mr * kc + p * mr), v, mask);
            }
        }
    } else {
        for s in 0..slivers {
            let n = (rows - s * mr).min(mr);
            for p in 0..kc {
                for r in 0..n {
                    *dst.add(s * mr * kc + p * mr + r) = *a.add((s * mr + r) * rsa + p * csa);
                }
            }
        }
    }
}

/// Packs one sliver of `rows <= MR_PACK` rows × `kc` steps of `a` with every element
/// repeated `LANES` times: `dst[(p * MR_PACK + r) * LANES + l] = a[r * rsa + p * csa]`.
///
/// # Safety
/// The source elements are readable; `dst` is writable for `kc * MR_PACK * LANES` floats,
/// at most [`A_FLOATS`].
#[inline(always)]
unsafe fn pack_a_broadcast<S: Simd>(
    a: *const f32,
    rsa: usize,
    csa: usize,
    rows: usize,
    kc: usize,
    dst: *mut f32,
) {
    let (mr, lanes) = (S::MR_PACK, S::LANES);
    for p in 0..kc {
        for r in 0..rows {
            S::store(
                dst.add((p * mr + r) * lanes),
                S::splat(a.add(r * rsa + p * csa)),
            );
        }
    }
}

/// Prefetches `rows` rows of `kc` contiguous floats, `rsa` apart, one hint per cache line.
///
/// # Safety
/// None beyond [`Simd::prefetch`]'s (the addresses are not dereferenced).
#[inline(always)]
unsafe fn prefetch_rows<S: Simd>(a: *const f32, rsa: usize, rows: usize, kc: usize) {
    for r in 0..rows {
        let row = a.wrapping_add(r * rsa);
        for line in (0..kc).step_by(16) {
            S::prefetch(row.wrapping_add(line));
        }
    }
}

/// Runs `g` with the loop nest of the module docs. `bt` says `g.b` is the `n × k`
/// row-major matrix of `matmul_bt` (its slivers are transposed while packing).
///
/// # Safety
/// `g` satisfies the [`Gemm`] contract (for `bt`, the one of
/// [`gemm_bt`](super::driver::gemm_bt)); `pack` comes from [`with_buffers`] on this thread.
#[inline(always)]
pub(super) unsafe fn gemm_blocked<S: Simd>(g: &Gemm, bt: bool, pack: Pack) {
    let nr = S::NV_MAX * S::LANES;
    let mr = S::MR_PACK;
    debug_assert!(S::NC.is_multiple_of(nr) && S::NC <= NC_MAX && MC.is_multiple_of(mr));
    debug_assert!(KC * mr * S::LANES <= A_FLOATS);
    // Rows of `a` already contiguous in `p` are read in place (their sliver stays in L1);
    // strided ones are packed `MC` rows at a time. A pre-broadcast path packs each sliver
    // just before its tiles instead.
    let pack_block = !S::PREBROADCAST && g.csa != 1;
    let block_rows = if pack_block { MC } else { mr };
    let mut jc = 0;
    while jc < g.n {
        let nc = (g.n - jc).min(S::NC);
        let slivers = nc.div_ceil(nr);
        let mut pc = 0;
        while pc < g.k {
            let kc = (g.k - pc).min(KC);
            if bt {
                for s in 0..slivers {
                    let j0 = jc + s * nr;
                    let cols = (nc - s * nr).min(nr);
                    S::pack_bt(
                        g.b.add(j0 * g.k + pc),
                        g.k,
                        cols,
                        kc,
                        pack.b.add(s * kc * nr),
                    );
                }
            } else {
                pack_b_block::<S>(g.b.add(pc * g.rsb + jc), g.rsb, nc, kc, pack.b);
            }
            let mut ic = 0;
            while ic < g.m {
                let mc = (g.m - ic).min(block_rows);
                let a_block = g.a.add(ic * g.rsa + pc * g.csa);
                if pack_block {
                    pack_a_block::<S>(a_block, g.rsa, g.csa, mc, kc, pack.a);
                }
                let mut i0 = 0;
                while i0 < mc {
                    let rows = (mc - i0).min(mr);
                    let (a, rsa, csa) = if S::PREBROADCAST {
                        let src = a_block.add(i0 * g.rsa);
                        pack_a_broadcast::<S>(src, g.rsa, g.csa, rows, kc, pack.a);
                        (pack.a.cast_const(), S::LANES, mr * S::LANES)
                    } else if pack_block {
                        (pack.a.add(i0 * kc).cast_const(), 1, mr)
                    } else {
                        if i0 + mr < mc {
                            // The next sliver's rows come from L3 or memory; start them
                            // now, while this sliver's tiles run from L1 and L2.
                            prefetch_rows::<S>(a_block.add((i0 + mr) * g.rsa), g.rsa, mr, kc);
                        }
                        (a_block.add(i0 * g.rsa), g.rsa, g.csa)
                    };
                    for s in 0..slivers {
                        let tile = Gemm {
                            m: rows,
                            k: kc,
                            n: (nc - s * nr).min(nr),
                            a,
                            rsa,
                            csa,
                            b: pack.b.add(s * kc * nr),
                            rsb: nr,
                            c: g.c.add((ic + i0) * g.rsc + jc + s * nr),
                            rsc: g.rsc,
                            accumulate: g.accumulate || pc > 0,
                        };
                        S::packed_block(&tile);
                    }
                    i0 += mr;
                }
                ic += mc;
            }
            pc += kc;
        }
        jc += nc;
    }
}
