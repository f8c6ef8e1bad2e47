//! The single-core floating-point peak of this machine, measured: the figure every GEMM
//! and training throughput is reported against (`mlp bench`'s "% of peak").
//!
//! [`fma_gflops`] runs 12 independent multiply-add chains (more than the FMA latency
//! times the number of FMA pipes of current `x86_64` cores, 4 × 2, so the pipes never wait
//! for a result) on one thread for about half a millisecond, fifteen times, and keeps the
//! best rate. Only registers are touched: the figure is the arithmetic ceiling, with no
//! memory traffic, which a kernel can approach but not pass (beyond the run-to-run noise
//! of a shared host).
#![allow(unsafe_code)]

use std::hint::black_box;
use std::time::Instant;

use super::gemm::Isa;

/// Independent accumulator chains per measurement (≥ 12; fits the 16 registers of AVX2
/// and SSE2 beside the two operands).
const CHAINS: usize = 12;
/// Loop iterations per timed run (each is `CHAINS` vector multiply-adds): about 0.4 ms on
/// a 4 GHz core with two multiply-add pipes.
const ITERS: u64 = 1 << 18;
/// Timed runs; the best is kept (the others absorb a descheduling or a clock ramp-up).
const RUNS: usize = 15;

/// The measured single-thread multiply-add peak of `isa`, in GFLOP/s (one fused or
/// unfused multiply-add counts as two floating-point operations).
///
/// - [`Isa::Avx512`]: `vfmadd` on 16 lanes; [`Isa::Avx2`]: `vfmadd` on 8 lanes;
///   [`Isa::Portable`]: separate multiply and add on arrays of 4 floats, as the portable
///   GEMM path compiles (SSE2 on `x86_64`, NEON on `aarch64`).
/// - Runs on the calling thread for a few milliseconds (best of 15 runs of `12 × 2¹⁸`
///   vector multiply-adds); allocates nothing and touches no memory but the stack.
/// - An `isa` this CPU does not support falls back to [`Isa::detected`] (use
///   [`Isa::is_supported`] to know beforehand).
#[must_use]
pub fn fma_gflops(isa: Isa) -> f64 {
    let isa = if isa.is_supported() {
        isa
    } else {
        Isa::detected()
    };
    let flops = flops_per_iteration(isa) as f64 * ITERS as f64;
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        let start = Instant::now();
        let sink = fma_chains(isa, black_box(ITERS));
        let secs = start.elapsed().as_secs_f64();
        black_box(sink);
        best = best.min(secs);
    }
    flops / best / 1e9
}

/// Floating-point operations in one iteration of [`fma_chains`] on `isa`.
#[doc(hidden)]
#[must_use]
pub fn flops_per_iteration(isa: Isa) -> u64 {
    let lanes = match isa {
        Isa::Portable => 4,
        Isa::Avx2 => 8,
        Isa::Avx512 => 16,
    };
    2 * (CHAINS * lanes) as u64
}

/// The timed loop of [`fma_gflops`]: `iters` iterations of `CHAINS` vector multiply-adds
/// on `isa`; returns a value depending on every chain so none is optimised away. Public
/// for the benchmarks, which time it themselves.
///
/// # Panics
/// If the CPU does not support `isa`.
#[doc(hidden)]
#[must_use]
pub fn fma_chains(isa: Isa, iters: u64) -> f32 {
    assert!(
        isa.is_supported(),
        "path {isa:?} is not supported on this CPU"
    );
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX-512F (asserted above).
        Isa::Avx512 => unsafe { x86::chains_avx512(iters) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU supports AVX2 and FMA (asserted above).
        Isa::Avx2 => unsafe { x86::chains_avx2(iters) },
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2 | Isa::Avx512 => portable_chains(iters),
        Isa::Portable => portable_chains(iters),
    }
}

/// The portable chains: `acc = acc * x + y` on vectors of 4 floats, multiply and add
/// rounded separately, which is what the portable GEMM path compiles to. On `x86_64` the
/// loop is written with the baseline SSE intrinsics (`mulps`, `addps`): LLVM does not keep
/// twelve `[f32; 4]` chains in vector registers across loop iterations by itself.
#[inline(never)]
fn portable_chains(iters: u64) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE is part of the `x86_64` baseline.
        unsafe { x86::chains_sse(iters) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // Values that stay finite and normal for any number of iterations (a fixed point
        // at 1.0: 1.0 * 0.5 + 0.5); distinct, hidden starting values keep the chains from
        // being merged into one.
        let x = black_box(0.5f32);
        let y = black_box(0.5f32);
        let mut acc: [f32; 4 * CHAINS] = black_box(core::array::from_fn(|i| 1.0 + i as f32));
        for _ in 0..iters {
            for v in &mut acc {
                *v = *v * x + y;
            }
        }
        acc.iter().sum()
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use core::arch::x86_64::{
        _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps, _mm512_add_ps,
        _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps, _mm_add_ps, _mm_mul_ps, _mm_set1_ps,
        _mm_storeu_ps,
    };
    use std::hint::black_box;

    /// `CHAINS` chains of `vfmadd` on 16 lanes.
    ///
    /// # Safety
    /// The CPU supports AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn chains_avx512(iters: u64) -> f32 {
        let x = _mm512_set1_ps(black_box(0.5));
        let y = _mm512_set1_ps(black_box(0.5));
        let mut acc = [x; CHAINS];
        for (i, a) in acc.iter_mut().enumerate() {
            // Distinct, hidden starting values keep the chains from being merged.
            *a = _mm512_set1_ps(black_box(1.0 + i as f32));
        }
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        let mut sum = acc[0];
        for &a in &acc[1..] {
            sum = _mm512_add_ps(sum, a);
        }
        _mm512_reduce_add_ps(sum)
    }

    /// `CHAINS` chains of `vfmadd` on 8 lanes.
    ///
    /// # Safety
    /// The CPU supports AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn chains_avx2(iters: u64) -> f32 {
        let x = _mm256_set1_ps(black_box(0.5));
        let y = _mm256_set1_ps(black_box(0.5));
        let mut acc = [x; CHAINS];
        for (i, a) in acc.iter_mut().enumerate() {
            // Distinct, hidden starting values keep the chains from being merged.
            *a = _mm256_set1_ps(black_box(1.0 + i as f32));
        }
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        let mut sum = acc[0];
        for &a in &acc[1..] {
            sum = _mm256_add_ps(sum, a);
        }
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
        lanes.iter().sum()
    }

    /// `CHAINS` chains of `mulps` + `addps` on 4 lanes (SSE, part of every `x86_64` CPU).
    ///
    /// # Safety
    /// None beyond the CPU having SSE, which every `x86_64` CPU has.
    #[target_feature(enable = "sse")]
    pub(super) unsafe fn chains_sse(iters: u64) -> f32 {
        let x = _mm_set1_ps(black_box(0.5));
        let y = _mm_set1_ps(black_box(0.5));
        let mut acc = [x; CHAINS];
        for (i, a) in acc.iter_mut().enumerate() {
            // Distinct, hidden starting values keep the chains from being merged.
            *a = _mm_set1_ps(black_box(1.0 + i as f32));
        }
        for _ in 0..iters {
            for a in &mut acc {
                *a = _mm_add_ps(_mm_mul_ps(*a, x), y);
            }
        }
        let mut sum = acc[0];
        for &a in &acc[1..] {
            sum = _mm_add_ps(sum, a);
        }
        let mut lanes = [0.0f32; 4];
        _mm_storeu_ps(lanes.as_mut_ptr(), sum);
        lanes.iter().sum()
    }
}
