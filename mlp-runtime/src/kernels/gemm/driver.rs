//! The GEMM driver, generic over an instruction set ([`Simd`]).
//!
//! One strided problem form covers all three public kernels: `c[i, j] (+)= Σ_p
//! a[i * rsa + p * csa] · b[p * rsb + j]`, with `b`'s rows contiguous. `matmul` is
//! `(rsa, csa) = (k, 1)`, `matmul_at` is `(1, m)`; `matmul_bt` first packs `bᵀ` panel by
//! panel into a stack buffer ([`gemm_bt`]).
//!
//! The register tile: `MR` rows × `NV` vectors of `c` live in registers for the whole
//! `k` loop; each step loads `NV` vectors of one row of `b`, broadcasts `a[i, p]` for each
//! of the `MR` rows and issues `MR × NV` fused multiply-adds. Nothing is packed for
//! `matmul`/`matmul_at` because `b`'s rows are already contiguous and the shapes of this
//! crate are small enough for `b` to stay in L1/L2.
//!
//! Summation order for one element of `c`: one chain of multiply-adds over `p` in order,
//! starting from `0` (or from `c`'s prior value when accumulating). A kernel that splits
//! the reduction into blocks of `k` (the `matmul_bt` panels here, the cache blocks of
//! [`super::blocked`]) stores the partial sum and resumes the chain from it, which gives
//! the same bits as one pass. So the result depends only on the instruction set, never on
//! blocking, tile shapes or how the threads split `c`.
#![allow(unsafe_code)]
// Generic code must be inlined into the `#[target_feature]` entry point to be compiled
// with that instruction set: anywhere else the intrinsics would stay function calls.
#![allow(clippy::inline_always)]

use core::mem::MaybeUninit;

use super::simd::Simd;

/// A strided GEMM problem on raw pointers: `c[i * rsc + j] (+)= Σ_{p<k}
/// a[i * rsa + p * csa] · b[p * rsb + j]` for `i < m`, `j < n`.
///
/// Contract (checked by the public functions before building one): `m, n >= 1`; every
/// element named by the formula is in bounds of its buffer; `c` does not overlap `a` or
/// `b`. With `accumulate == false`, `c` is only written.
#[derive(Clone, Copy)]
pub(super) struct Gemm {
    /// Rows of `c`.
    pub m: usize,
    /// Length of the reduction.
    pub k: usize,
    /// Columns of `c`.
    pub n: usize,
    /// Element `(0, 0)` of `a`.
    pub a: *const f32,
    /// Distance between rows `i` and `i + 1` of `a`.
    pub rsa: usize,
    /// Distance between `p` and `p + 1` in `a`.
    pub csa: usize,
    /// Element `(0, 0)` of `b`; its rows are contiguous.
    pub b: *const f32,
    /// Distance between rows `p` and `p + 1` of `b`.
    pub rsb: usize,
    /// Element `(0, 0)` of `c`; its rows are contiguous.
    pub c: *mut f32,
    /// Distance between rows `i` and `i + 1` of `c`.
    pub rsc: usize,
    /// Start every sum from `c`'s value (`c += …`, or resuming a partial sum) instead
    /// of from zero; only then is `c` read.
    pub accumulate: bool,
}

impl Gemm {
    /// The same problem restricted to rows `i0..` (pointers moved, `m` reduced).
    #[inline(always)]
    unsafe fn at_row(&self, i0: usize) -> Self {
        Self {
            m: self.m - i0,
            a: self.a.add(i0 * self.rsa),
            c: self.c.add(i0 * self.rsc),
            ..*self
        }
    }
}

/// Computes rows `0..MR` of `g` (all `g.n` columns, `g.n <= NV * LANES`, the last vector
/// masked when `TAIL`) with an `MR × NV` register tile. With `PRE`, `a` is a sliver packed
/// with each element already repeated `LANES` times (see [`Simd::PREBROADCAST`]): the
/// "element" at `a[i * rsa + p * csa]` is the vector there.
///
/// # Safety
/// `g` satisfies the [`Gemm`] contract (with `PRE`, for `LANES` floats at each element of
/// `a`) and `g.m >= MR`; `g.n == NV * LANES` when `!TAIL`.
#[inline(always)]
unsafe fn tile<S: Simd, const MR: usize, const NV: usize, const TAIL: bool, const PRE: bool>(
    g: &Gemm,
    mask: S::Mask,
) {
    let mut acc = [[S::zero(); NV]; MR];
    if g.accumulate {
        // The sum for each element continues from what `c` holds, so a reduction split
        // into blocks of `k` gives the same bits as one pass (see the module docs).
        load_tile::<S, MR, NV, TAIL>(g, &mut acc, mask);
    }
    let mut a_row = [g.a; MR];
    for (r, ar) in a_row.iter_mut().enumerate() {
        *ar = g.a.add(r * g.rsa);
    }
    for p in 0..g.k {
        let bv = load_b::<S, NV, TAIL>(g.b.add(p * g.rsb), mask);
        let off = p * g.csa;
        for r in 0..MR {
            let x = if PRE {
                S::load(a_row[r].add(off))
            } else {
                S::splat(a_row[r].add(off))
            };
            for v in 0..NV {
                acc[r][v] = S::fma(acc[r][v], x, bv[v]);
            }
        }
    }
    store_tile::<S, MR, NV, TAIL>(g, &acc, mask);
}

/// Loads `NV` vectors of one row of `b` (the last one masked when `TAIL`).
///
/// # Safety
/// The `NV * LANES` floats at `brow` (fewer when `TAIL`, as `mask` says) are readable.
#[inline(always)]
unsafe fn load_b<S: Simd, const NV: usize, const TAIL: bool>(
    brow: *const f32,
    mask: S::Mask,
) -> [S::V; NV] {
    let mut bv = [S::zero(); NV];
    for (v, x) in bv.iter_mut().enumerate() {
        *x = if TAIL && v + 1 == NV {
            S::load_masked(brow.add(v * S::LANES), mask)
        } else {
            S::load(brow.add(v * S::LANES))
        };
    }
    bv
}

/// Reads rows `0..MR` of `g.c` (`NV` vectors each, the last masked when `TAIL`) into
/// `acc`.
///
/// # Safety
/// As [`tile`].
#[inline(always)]
unsafe fn load_tile<S: Simd, const MR: usize, const NV: usize, const TAIL: bool>(
    g: &Gemm,
    acc: &mut [[S::V; NV]; MR],
    mask: S::Mask,
) {
    for (r, acc_r) in acc.iter_mut().enumerate() {
        *acc_r = load_b::<S, NV, TAIL>(g.c.add(r * g.rsc), mask);
    }
}

/// Writes an `MR × NV` tile to rows `0..MR` of `g.c` (masked lanes untouched).
///
/// # Safety
/// As [`tile`].
#[inline(always)]
unsafe fn store_tile<S: Simd, const MR: usize, const NV: usize, const TAIL: bool>(
    g: &Gemm,
    acc: &[[S::V; NV]; MR],
    mask: S::Mask,
) {
    for (r, acc_r) in acc.iter().enumerate() {
        let crow = g.c.add(r * g.rsc);
        for (v, &x) in acc_r.iter().enumerate() {
            let dst = crow.add(v * S::LANES);
            if TAIL && v + 1 == NV {
                S::store_masked(dst, x, mask);
            } else {
                S::store(dst, x);
            }
        }
    }
}

/// Computes all rows of `g` for one column block: tiles of `MR` rows, then the remaining
/// rows with tiles of 4, 2 and 1.
///
/// # Safety
/// As [`tile`], except that any `g.m` is allowed.
#[inline(always)]
pub(super) unsafe fn rows<
    S: Simd,
    const MR: usize,
    const NV: usize,
    const TAIL: bool,
    const PRE: bool,
>(
    g: &Gemm,
    mask: S::Mask,
) {
    let mut i = 0;
    while g.m - i >= MR {
        tile::<S, MR, NV, TAIL, PRE>(&g.at_row(i), mask);
        i += MR;
    }
    while g.m - i >= 4 {
        tile::<S, 4, NV, TAIL, PRE>(&g.at_row(i), mask);
        i += 4;
    }
    while g.m - i >= 2 {
        tile::<S, 2, NV, TAIL, PRE>(&g.at_row(i), mask);
        i += 2;
    }
    if g.m - i == 1 {
        tile::<S, 1, NV, TAIL, PRE>(&g.at_row(i), mask);
    }
}

/// Runs `g` block of columns by block of columns.
///
/// # Safety
/// `g` satisfies the [`Gemm`] contract.
#[inline(always)]
pub(super) unsafe fn gemm<S: Simd>(g: &Gemm) {
    let width = S::NV_MAX * S::LANES;
    let mut j = 0;
    while j < g.n {
        let block = Gemm {
            n: (g.n - j).min(width),
            b: g.b.add(j),
            c: g.c.add(j),
            ..*g
        };
        S::column_block(&block);
        j += width;
    }
}

/// Reduction steps per packed panel of `matmul_bt`.
const KC: usize = 128;
/// Widest panel any instruction set packs (`NV_MAX * LANES`).
pub(super) const PANEL_MAX: usize = 64;

/// A packed panel of `bᵀ`, cache-line aligned so the kernel's loads never split lines.
#[repr(C, align(64))]
struct Panel([MaybeUninit<f32>; KC * PANEL_MAX]);

/// `c[m×n] (+)= a[m×k] · b[n×k]ᵀ`: packs `width` columns of `bᵀ` × `KC` steps at a time
/// into a stack panel and runs the [`gemm`] tiles on it.
///
/// # Safety
/// `g` describes `c[m×n] (+)= a[m×k] · bᵀ` with `a` row-major (`rsa == k`, `csa == 1`),
/// `g.b` pointing at a row-major `n × k` matrix (`rsb` is ignored) and `rsc == n`, and
/// otherwise satisfies the [`Gemm`] contract; `g.k >= 1`.
#[inline(always)]
pub(super) unsafe fn gemm_bt<S: Simd>(g: &Gemm) {
    let width = S::NV_MAX * S::LANES;
    debug_assert!(width <= PANEL_MAX);
    // 32 KiB on the stack is the point: no heap allocation per call.
    #[allow(clippy::large_stack_arrays)]
    let mut panel = Panel([MaybeUninit::uninit(); KC * PANEL_MAX]);
    if cfg!(debug_assertions) {
        // Poison the panel so a tile reading a column the packing left unwritten puts
        // NaN into `c`, which the tests catch (release builds skip the 32 KiB fill).
        panel.0.fill(MaybeUninit::new(f32::NAN));
    }
    let buf = panel.0.as_mut_ptr().cast::<f32>();
    let mut j = 0;
    while j < g.n {
        let cols = (g.n - j).min(width);
        let mut p = 0;
        while p < g.k {
            let kc = (g.k - p).min(KC);
            S::pack_bt(g.b.add(j * g.k + p), g.k, cols, kc, buf);
            let block = Gemm {
                m: g.m,
                k: kc,
                n: cols,
                a: g.a.add(p),
                rsa: g.rsa,
                csa: 1,
                b: buf,
                rsb: width,
                c: g.c.add(j),
                rsc: g.rsc,
                accumulate: g.accumulate || p > 0,
            };
            S::column_block(&block);
            p += kc;
        }
        j += width;
    }
}

/// Batch-1 product `c[1×n] (+)= a[1×k] · b[k×n]` streaming `b` once, row by row, with no
/// packing: for each group of `R` rows of `b`, every vector of `c` is loaded (from L1),
/// advanced by `R` multiply-adds, and stored. The sum for each element is the same chain
/// over `p` in order as the register tiles compute, so the bits are the same.
///
/// # Safety
/// `g` satisfies the [`Gemm`] contract and `g.m == 1`.
#[inline(always)]
pub(super) unsafe fn gemv<S: Simd>(g: &Gemm) {
    debug_assert_eq!(g.m, 1);
    let mut p = 0;
    while g.k - p >= 4 {
        gemv_rows::<S, 4>(g, p);
        p += 4;
    }
    while p < g.k {
        gemv_rows::<S, 1>(g, p);
        p += 1;
    }
}

/// Advances every element of `c` by rows `p..p + R` of `b` (see [`gemv`]); the first
/// group starts from zero unless `g.accumulate`.
///
/// # Safety
/// As [`gemv`], and `p + R <= g.k`.
#[inline(always)]
unsafe fn gemv_rows<S: Simd, const R: usize>(g: &Gemm, p: usize) {
    let fresh = p == 0 && !g.accumulate;
    let mut x = [S::zero(); R];
    let mut rows = [g.b; R];
    for r in 0..R {
        x[r] = S::splat(g.a.add((p + r) * g.csa));
        rows[r] = g.b.add((p + r) * g.rsb);
    }
    let full = g.n / S::LANES;
    for v in 0..full {
        let dst = g.c.add(v * S::LANES);
        let mut acc = if fresh { S::zero() } else { S::load(dst) };
        for r in 0..R {
            acc = S::fma(acc, x[r], S::load(rows[r].add(v * S::LANES)));
        }
        S::store(dst, acc);
    }
    let rest = g.n - full * S::LANES;
    if rest > 0 {
        let at = full * S::LANES;
        let mask = S::mask(rest);
        let dst = g.c.add(at);
        let mut acc = if fresh {
            S::zero()
        } else {
            S::load_masked(dst, mask)
        };
        for r in 0..R {
            acc = S::fma(acc, x[r], S::load_masked(rows[r].add(at), mask));
        }
        S::store_masked(dst, acc, mask);
    }
}
