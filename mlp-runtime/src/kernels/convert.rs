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
    pub fn u8_to_f32 / u8_to_f32_on(src: &[u8], dst: &mut [f32]) {
        let dst = &mut dst[..src.len()];
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = f32::from(s);
        }
    }
}

/// Bytes per cache line assumed by [`prefetch`].
const LINE: usize = 64;

/// Hints the CPU to bring `data` into the cache (every 64-byte line of it) because it will
/// be read soon; no effect on results, a no-op off `x86_64`.
///
/// A shuffled batch reads rows scattered over the whole dataset (MNIST's 47 MB of pixels
/// do not fit the last-level cache), so prefetching the next rows while one is converted
/// hides most of the memory latency.
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let base = data.as_ptr().cast::<i8>();
        let len = core::mem::size_of_val(data);
        let mut off = 0;
        while off < len {
            // SAFETY: `off < len`, so `base + off` points inside `data`'s bytes (`add`
            // stays in bounds); SSE is part of the `x86_64` baseline, and a prefetch is a
            // hint that never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(off)) };
            off += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

#[cfg(test)]
mod tests {
    use super::{prefetch, u8_to_f32_on};
    use crate::kernels::gemm::Isa;

    #[test]
    fn every_path_converts_every_byte_and_writes_nothing_else() {
        let src: Vec<u8> = (0..=255u8).chain(0..=100).collect();
        for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
            for len in [0, 1, 15, 16, 17, 63, 64, 65, src.len()] {
                let mut dst = vec![f32::NAN; len + 5];
                u8_to_f32_on(isa, &src[..len], &mut dst);
                for (i, &d) in dst[..len].iter().enumerate() {
                    assert_eq!(
                        d.to_bits(),
                        f32::from(src[i]).to_bits(),
                        "{isa:?} len {len} at {i}"
                    );
                }
                assert!(
                    dst[len..].iter().all(|v| v.is_nan()),
                    "{isa:?} wrote past {len}"
                );
            }
        }
        // A hint only: any slice, even an empty one, is fine.
        prefetch(&src);
        prefetch::<u8>(&[]);
    }
}
