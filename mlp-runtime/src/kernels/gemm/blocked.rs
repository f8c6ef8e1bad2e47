//! Cache blocking for products whose operands leave L2 (the BLIS loop nest, with the
//! register tiles of [`super::driver`] as the micro-kernel).
//!
//! Loops, outermost first: `NC` columns of `c` → `KC` steps of `k` (pack the `KC × NC`
//! block of `b` into slivers `NR = NV_MAX · LANES` columns wide, each contiguous) → `MR`
//! rows of `c` (the `MR × KC` sliver of `a`, packed when its rows are not contiguous) →
//! the slivers of `b`, one register tile each. The packed `b` block (256 KiB) stays in L2
//! while every row sliver streams it; the `a` sliver (6 KiB) stays in L1.
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
/// Columns per packed block of `b`: a multiple of every instruction set's sliver width.
pub(super) const NC: usize = 256;
/// Tallest row sliver of any instruction set.
pub(super) const MR_MAX: usize = 8;

/// Floats in one thread's packing buffer: the `KC × NC` block of `b`, then one `MR_MAX ×
/// KC` sliver of `a`.
const PACK_FLOATS: usize = KC * NC + MR_MAX * KC;

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
    /// `KC × NC` floats for the block of `b`.
    b: *mut f32,
    /// `MR_MAX × KC` floats for a sliver of `a`.
    a: *mut f32,
}

/// Runs `f` with this thread's packing buffer (allocating it on the thread's first call).
/// Returns `None`, without running `f`, if the buffer is already in use further up this
/// thread's stack (which no kernel does) or the thread is being torn down: the caller then
/// runs the unblocked driver, which needs no buffer and gives the same bits.
pub(super) fn with_buffers(f: impl FnOnce(Pack)) -> Option<()> {
    PACK.try_with(|cell| {
        let mut guard = cell.try_borrow_mut().ok()?;
        let buf =
            guard.get_or_insert_with(|| vec![Line([0.0; 16]); PACK_FLOATS / 16].into_boxed_slice());
        let base = buf.as_mut_ptr().cast::<f32>();
        // SAFETY (pointer arithmetic): the buffer holds `PACK_FLOATS` floats, so the `a`
        // region starting at `KC * NC` is inside it.
        f(Pack {
            b: base,
            a: base.wrapping_add(KC * NC),
        });
        Some(())
    })
    .ok()
    .flatten()
}

/// Whether `g` is large enough for blocking to pay: more than a few row tiles, and a `b`
/// too big to stay in L2 beside `a` (256 KiB or more).
pub(super) fn worth_blocking(g: &Gemm) -> bool {
    g.m >= 24 && g.k.saturating_mul(g.n) >= KC * NC
}

/// Copies `kc` rows of `cols` floats (`b[p * ldb + j]`) into a sliver `dst[p * NR + j]`.
///
/// # Safety
/// The source elements are readable; `dst` is writable for `kc * NR` floats; `1 <= cols
/// <= NR`.
#[inline(always)]
unsafe fn pack_rows<S: Simd>(b: *const f32, ldb: usize, cols: usize, kc: usize, dst: *mut f32) {
    let nr = S::NV_MAX * S::LANES;
    let full = cols / S::LANES;
    let rest = cols - full * S::LANES;
    let mask = S::mask(rest.max(1));
    for p in 0..kc {
        let (src, out) = (b.add(p * ldb), dst.add(p * nr));
        for v in 0..full {
            S::store(out.add(v * S::LANES), S::load(src.add(v * S::LANES)));
        }
        if rest > 0 {
            let at = full * S::LANES;
            S::store_masked(out.add(at), S::load_masked(src.add(at), mask), mask);
        }
    }
}

/// Copies the `rows × kc` sliver of `a` (`a[r * rsa + p * csa]`) into `dst[p * MR + r]`.
///
/// # Safety
/// The source elements are readable; `dst` is writable for `kc * MR` floats; `rows <= MR
/// <= MR_MAX`.
#[inline(always)]
unsafe fn pack_a<S: Simd>(
    a: *const f32,
    rsa: usize,
    csa: usize,
    rows: usize,
    kc: usize,
    dst: *mut f32,
) {
    let mr = S::MR_PACK;
    if rsa == 1 && rows <= S::LANES {
        // `aᵀ` (matmul_at): each step's `rows` floats are contiguous.
        let mask = S::mask(rows);
        for p in 0..kc {
            S::store_masked(dst.add(p * mr), S::load_masked(a.add(p * csa), mask), mask);
        }
    } else {
        for p in 0..kc {
            for r in 0..rows {
                *dst.add(p * mr + r) = *a.add(r * rsa + p * csa);
            }
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
    debug_assert!(NC.is_multiple_of(nr) && mr <= MR_MAX);
    // Rows of `a` already contiguous in `p` are read in place: their sliver stays in L1.
    let pack_a_sliver = g.csa != 1;
    let mut jc = 0;
    while jc < g.n {
        let nc = (g.n - jc).min(NC);
        let slivers = nc.div_ceil(nr);
        let mut pc = 0;
        while pc < g.k {
            let kc = (g.k - pc).min(KC);
            for s in 0..slivers {
                let j0 = jc + s * nr;
                let cols = (nc - s * nr).min(nr);
                let dst = pack.b.add(s * kc * nr);
                if bt {
                    S::pack_bt(g.b.add(j0 * g.k + pc), g.k, cols, kc, dst);
                } else {
                    pack_rows::<S>(g.b.add(pc * g.rsb + j0), g.rsb, cols, kc, dst);
                }
            }
            let mut ic = 0;
            while ic < g.m {
                let rows = (g.m - ic).min(mr);
                let a_src = g.a.add(ic * g.rsa + pc * g.csa);
                let (a, rsa, csa) = if pack_a_sliver {
                    pack_a::<S>(a_src, g.rsa, g.csa, rows, kc, pack.a);
                    (pack.a.cast_const(), 1, mr)
                } else {
                    (a_src, g.rsa, g.csa)
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
                        c: g.c.add(ic * g.rsc + jc + s * nr),
                        rsc: g.rsc,
                        accumulate: g.accumulate || pc > 0,
                    };
                    S::packed_block(&tile);
                }
                ic += mr;
            }
            pc += kc;
        }
        jc += nc;
    }
}
