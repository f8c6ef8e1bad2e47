//! `x86_64` instruction sets: AVX-512F (16 lanes, 32 registers) and AVX2 + FMA (8 lanes,
//! 16 registers), and the `#[target_feature]` entry points that instantiate the generic
//! driver for each.
//!
//! Invariant: the entry points are only called after the matching runtime feature check
//! (see `Isa::is_supported` in the parent module).
#![allow(unsafe_code)]
// Generic code must be inlined into the `#[target_feature]` entry point to be compiled
// with that instruction set: anywhere else the intrinsics would stay function calls.
#![allow(clippy::inline_always)]

use core::arch::x86_64::{
    __m256, __m256i, __m512, __mmask16, _mm256_broadcast_ss, _mm256_cmpgt_epi32, _mm256_fmadd_ps,
    _mm256_loadu_ps, _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_permute2f128_ps,
    _mm256_set1_epi32, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps,
    _mm256_unpackhi_ps, _mm256_unpacklo_ps, _mm512_fmadd_ps, _mm512_loadu_ps,
    _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_shuffle_f32x4, _mm512_shuffle_ps, _mm512_storeu_ps, _mm512_unpackhi_ps,
    _mm512_unpacklo_ps, _mm_prefetch, _MM_HINT_T0,
};

use super::blocked::{gemm_blocked, Pack};
use super::driver::{gemm, gemm_bt, gemv, rows, Gemm};
use super::simd::Simd;

/// AVX-512F: tiles up to 6 rows × 64 columns (24 accumulators of the 32 registers).
#[derive(Clone, Copy)]
pub(super) struct Avx512;

impl Simd for Avx512 {
    type V = __m512;
    type Mask = __mmask16;
    const LANES: usize = 16;
    const NV_MAX: usize = 4;

    #[inline(always)]
    unsafe fn zero() -> __m512 {
        _mm512_setzero_ps()
    }

    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m512 {
        _mm512_set1_ps(*p)
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m512 {
        _mm512_loadu_ps(p)
    }

    #[inline(always)]
    unsafe fn mask(len: usize) -> __mmask16 {
        debug_assert!((1..=16).contains(&len));
        (u32::MAX >> (32 - len)) as __mmask16
    }

    #[inline(always)]
    unsafe fn load_masked(p: *const f32, mask: __mmask16) -> __m512 {
        _mm512_maskz_loadu_ps(mask, p)
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m512) {
        _mm512_storeu_ps(p, v);
    }

    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: __m512, mask: __mmask16) {
        _mm512_mask_storeu_ps(p, mask, v);
    }

    #[inline(always)]
    unsafe fn fma(acc: __m512, x: __m512, y: __m512) -> __m512 {
        _mm512_fmadd_ps(x, y, acc)
    }

    #[inline(always)]
    unsafe fn column_block(g: &Gemm) {
        let nv = g.n.div_ceil(16);
        let tail = !g.n.is_multiple_of(16);
        let mask = Self::mask(g.n - (nv - 1) * 16);
        match (nv, tail) {
            (1, false) => rows::<Self, 12, 1, false, false>(g, mask),
            (1, true) => rows::<Self, 12, 1, true, false>(g, mask),
            (2, false) => rows::<Self, 8, 2, false, false>(g, mask),
            (2, true) => rows::<Self, 8, 2, true, false>(g, mask),
            (3, false) => rows::<Self, 6, 3, false, false>(g, mask),
            (3, true) => rows::<Self, 6, 3, true, false>(g, mask),
            (4, false) => rows::<Self, 6, 4, false, false>(g, mask),
            _ => rows::<Self, 6, 4, true, false>(g, mask),
        }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }

    // AVX-512 cores have 1–2 MiB of L2: a 512 KiB block.
    const NC: usize = 512;
    const PREBROADCAST: bool = false;
    const MR_PACK: usize = 6;

    #[inline(always)]
    unsafe fn packed_block(g: &Gemm) {
        let nv = g.n.div_ceil(16);
        let tail = !g.n.is_multiple_of(16);
        let mask = Self::mask(g.n - (nv - 1) * 16);
        match (nv, tail) {
            (1, false) => rows::<Self, 6, 1, false, false>(g, mask),
            (1, true) => rows::<Self, 6, 1, true, false>(g, mask),
            (2, false) => rows::<Self, 6, 2, false, false>(g, mask),
            (2, true) => rows::<Self, 6, 2, true, false>(g, mask),
            (3, false) => rows::<Self, 6, 3, false, false>(g, mask),
            (3, true) => rows::<Self, 6, 3, true, false>(g, mask),
            (4, false) => rows::<Self, 6, 4, false, false>(g, mask),
            _ => rows::<Self, 6, 4, true, false>(g, mask),
        }
    }

    #[inline(always)]
    unsafe fn pack_bt(b: *const f32, ldb: usize, rows: usize, kc: usize, dst: *mut f32) {
        const W: usize = 64;
        let mut jb = 0;
        while jb < rows {
            let jrows = (rows - jb).min(16);
            let mut pb = 0;
            while pb < kc {
                let plen = (kc - pb).min(16);
                let mask = Self::mask(plen);
                let mut r = [_mm512_setzero_ps(); 16];
                for (t, x) in r.iter_mut().enumerate() {
                    if t < jrows {
                        *x = _mm512_maskz_loadu_ps(mask, b.add((jb + t) * ldb + pb));
                    }
                }
                transpose16(&mut r);
                for (t, &x) in r.iter().enumerate() {
                    if t < plen {
                        _mm512_storeu_ps(dst.add((pb + t) * W + jb), x);
                    }
                }
                pb += 16;
            }
            jb += 16;
        }
    }
}

/// Transposes a 16×16 block held as 16 row vectors, in registers.
#[inline(always)]
unsafe fn transpose16(r: &mut [__m512; 16]) {
    // Stage 1: interleave pairs of rows (2×2 blocks of single floats).
    let mut t = [_mm512_setzero_ps(); 16];
    for q in 0..8 {
        t[2 * q] = _mm512_unpacklo_ps(r[2 * q], r[2 * q + 1]);
        t[2 * q + 1] = _mm512_unpackhi_ps(r[2 * q], r[2 * q + 1]);
    }
    // Stage 2: 2×2 blocks of pairs, within each 128-bit lane.
    for q in 0..4 {
        let b = 4 * q;
        r[b] = _mm512_shuffle_ps::<0x44>(t[b], t[b + 2]);
        r[b + 1] = _mm512_shuffle_ps::<0xEE>(t[b], t[b + 2]);
        r[b + 2] = _mm512_shuffle_ps::<0x44>(t[b + 1], t[b + 3]);
        r[b + 3] = _mm512_shuffle_ps::<0xEE>(t[b + 1], t[b + 3]);
    }
    // Stage 3: 128-bit lanes between row groups 4 apart.
    for h in 0..2 {
        let b = 8 * h;
        for q in 0..4 {
            t[b + q] = _mm512_shuffle_f32x4::<0x88>(r[b + q], r[b + q + 4]);
            t[b + q + 4] = _mm512_shuffle_f32x4::<0xDD>(r[b + q], r[b + q + 4]);
        }
    }
    // Stage 4: 128-bit lanes between row groups 8 apart.
    for q in 0..8 {
        r[q] = _mm512_shuffle_f32x4::<0x88>(t[q], t[q + 8]);
        r[q + 8] = _mm512_shuffle_f32x4::<0xDD>(t[q], t[q + 8]);
    }
}

/// AVX2 + FMA: tiles up to 6 rows × 16 columns (12 accumulators of the 16 registers).
#[derive(Clone, Copy)]
pub(super) struct Avx2;

impl Simd for Avx2 {
    type V = __m256;
    type Mask = __m256i;
    const LANES: usize = 8;
    const NV_MAX: usize = 2;

    #[inline(always)]
    unsafe fn zero() -> __m256 {
        _mm256_setzero_ps()
    }

    #[inline(always)]
    unsafe fn splat(p: *const f32) -> __m256 {
        _mm256_broadcast_ss(&*p)
    }

    #[inline(always)]
    unsafe fn load(p: *const f32) -> __m256 {
        _mm256_loadu_ps(p)
    }

    #[inline(always)]
    unsafe fn mask(len: usize) -> __m256i {
        debug_assert!((1..=8).contains(&len));
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(len as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    #[inline(always)]
    unsafe fn load_masked(p: *const f32, mask: __m256i) -> __m256 {
        _mm256_maskload_ps(p, mask)
    }

    #[inline(always)]
    unsafe fn store(p: *mut f32, v: __m256) {
        _mm256_storeu_ps(p, v);
    }

    #[inline(always)]
    unsafe fn store_masked(p: *mut f32, v: __m256, mask: __m256i) {
        _mm256_maskstore_ps(p, mask, v);
    }

    #[inline(always)]
    unsafe fn fma(acc: __m256, x: __m256, y: __m256) -> __m256 {
        _mm256_fmadd_ps(x, y, acc)
    }

    #[inline(always)]
    unsafe fn column_block(g: &Gemm) {
        let nv = g.n.div_ceil(8);
        let tail = !g.n.is_multiple_of(8);
        let mask = Self::mask(g.n - (nv - 1) * 8);
        match (nv, tail) {
            (1, false) => rows::<Self, 8, 1, false, false>(g, mask),
            (1, true) => rows::<Self, 8, 1, true, false>(g, mask),
            (2, false) => rows::<Self, 6, 2, false, false>(g, mask),
            _ => rows::<Self, 6, 2, true, false>(g, mask),
        }
    }

    #[inline(always)]
    unsafe fn prefetch(p: *const f32) {
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }

    // AVX2 cores may have 512 KiB of L2: a 256 KiB block.
    const NC: usize = 256;
    const PREBROADCAST: bool = false;
    const MR_PACK: usize = 6;

    #[inline(always)]
    unsafe fn packed_block(g: &Gemm) {
        let nv = g.n.div_ceil(8);
        let tail = !g.n.is_multiple_of(8);
        let mask = Self::mask(g.n - (nv - 1) * 8);
        match (nv, tail) {
            (1, false) => rows::<Self, 6, 1, false, false>(g, mask),
            (1, true) => rows::<Self, 6, 1, true, false>(g, mask),
            (2, false) => rows::<Self, 6, 2, false, false>(g, mask),
            _ => rows::<Self, 6, 2, true, false>(g, mask),
        }
    }

    #[inline(always)]
    unsafe fn pack_bt(b: *const f32, ldb: usize, rows: usize, kc: usize, dst: *mut f32) {
        const W: usize = 16;
        let mut jb = 0;
        while jb < rows {
            let jrows = (rows - jb).min(8);
            let mut pb = 0;
            while pb < kc {
                let plen = (kc - pb).min(8);
                let mask = Self::mask(plen);
                let mut r = [_mm256_setzero_ps(); 8];
                for (t, x) in r.iter_mut().enumerate() {
                    if t < jrows {
                        *x = _mm256_maskload_ps(b.add((jb + t) * ldb + pb), mask);
                    }
                }
                transpose8(&mut r);
                for (t, &x) in r.iter().enumerate() {
                    if t < plen {
                        _mm256_storeu_ps(dst.add((pb + t) * W + jb), x);
                    }
                }
                pb += 8;
            }
            jb += 8;
        }
    }
}

/// Transposes an 8×8 block held as 8 row vectors, in registers.
#[inline(always)]
unsafe fn transpose8(r: &mut [__m256; 8]) {
    let mut t = [_mm256_setzero_ps(); 8];
    for q in 0..4 {
        t[2 * q] = _mm256_unpacklo_ps(r[2 * q], r[2 * q + 1]);
        t[2 * q + 1] = _mm256_unpackhi_ps(r[2 * q], r[2 * q + 1]);
    }
    let mut s = [_mm256_setzero_ps(); 8];
    for q in 0..2 {
        let b = 4 * q;
        s[b] = _mm256_shuffle_ps::<0x44>(t[b], t[b + 2]);
        s[b + 1] = _mm256_shuffle_ps::<0xEE>(t[b], t[b + 2]);
        s[b + 2] = _mm256_shuffle_ps::<0x44>(t[b + 1], t[b + 3]);
        s[b + 3] = _mm256_shuffle_ps::<0xEE>(t[b + 1], t[b + 3]);
    }
    for q in 0..4 {
        r[q] = _mm256_permute2f128_ps::<0x20>(s[q], s[q + 4]);
        r[q + 4] = _mm256_permute2f128_ps::<0x31>(s[q], s[q + 4]);
    }
}

/// [`gemm`] compiled for AVX-512F.
///
/// # Safety
/// The CPU supports AVX-512F; `g` satisfies the [`Gemm`] contract.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_avx512(g: &Gemm) {
    gemm::<Avx512>(g);
}

/// [`gemm_bt`] compiled for AVX-512F.
///
/// # Safety
/// The CPU supports AVX-512F; `g` satisfies the contract of [`gemm_bt`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_bt_avx512(g: &Gemm) {
    gemm_bt::<Avx512>(g);
}

/// [`gemm`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `g` satisfies the [`Gemm`] contract.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_avx2(g: &Gemm) {
    gemm::<Avx2>(g);
}

/// [`gemm_bt`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `g` satisfies the contract of [`gemm_bt`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_bt_avx2(g: &Gemm) {
    gemm_bt::<Avx2>(g);
}

/// [`gemm_blocked`] compiled for AVX-512F.
///
/// # Safety
/// The CPU supports AVX-512F; `g`, `bt` and `pack` satisfy the contract of
/// [`gemm_blocked`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemm_blocked_avx512(g: &Gemm, bt: bool, pack: Pack) {
    gemm_blocked::<Avx512>(g, bt, pack);
}

/// [`gemm_blocked`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `g`, `bt` and `pack` satisfy the contract of
/// [`gemm_blocked`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemm_blocked_avx2(g: &Gemm, bt: bool, pack: Pack) {
    gemm_blocked::<Avx2>(g, bt, pack);
}

/// [`gemv`] compiled for AVX-512F.
///
/// # Safety
/// The CPU supports AVX-512F; `g` satisfies the contract of [`gemv`].
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn gemv_avx512(g: &Gemm) {
    gemv::<Avx512>(g);
}

/// [`gemv`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `g` satisfies the contract of [`gemv`].
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn gemv_avx2(g: &Gemm) {
    gemv::<Avx2>(g);
}
