//! Input conversion: raw u8 features (pixels 0..255, fed unscaled as the notebook does) to
//! the f32 rows the first layer reads, and a cache prefetch for the rows of the next
//! samples of a shuffled batch.
#![allow(unsafe_code)]

use super::multiversion::multiversion;

multiversion! {
    /// `dst[i] = src[i] as f32` for `i < src.len()` (exact: every u8 is an f32). Reads
    /// `src`; writes the first `src.len()` elements of `dst`.
    ///
    /// # Panics
    /// If `dst` is shorter than `src`.
    pub fn u8_to_f32(src: &[u8], dst: &mut [f32]) {
        let dst = &mut dst[..src.len()];
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f32::from(s);
        }
    }
}

/// Bytes per cache line assumed by [`prefetch`].
const LINE: usize = 64;

/// Hints the CPU to bring `bytes` into the cache (every 64-byte line of it) because it will
/// be read soon; no effect on results, a no-op off `x86_64`.
///
/// A shuffled batch reads rows scattered over the whole dataset (MNIST's 47 MB of pixels
/// do not fit the last-level cache), so prefetching the next rows while one is converted
/// hides most of the memory latency.
#[inline]
pub fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut off = 0;
        while off < bytes.len() {
            let line = bytes[off..].as_ptr().cast::<i8>();
            // SAFETY: SSE is part of the `x86_64` baseline; a prefetch is a hint that never
            // faults, and `line` points inside `bytes` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line) };
            off += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
