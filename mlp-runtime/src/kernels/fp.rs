//! The floating-point environment models compute in: denormals flushed to zero, as
//! TensorFlow computes.
//!
//! TensorFlow sets the CPU's flush-to-zero and denormals-are-zero modes around every op
//! kernel and in every thread of its pools ("TensorFlow flushes denormals to zero and
//! rounds to nearest"), so Keras training on a CPU never sees a denormal: a result below
//! `f32::MIN_POSITIVE` becomes ±0, and a denormal input reads as ±0. Our models do the
//! same: `Network` and generated code hold a [`FlushDenormals`] guard in every
//! `forward`, `evaluate_batch`, `compute_gradients` and `train_step`.
//!
//! It also matters for speed: Adam's first moment decays by β1 = 0.9 a step wherever a
//! gradient is zero (MNIST's border pixels, inactive `ReLU` units), so after ~800 steps
//! one weight in seven has a denormal moment, and arithmetic on denormals is slow (the
//! baseline's epoch took ~20 % longer on one core with them; see docs/PERFORMANCE.md).
//!
//! Invariants:
//! - The guard restores the caller's mode when dropped, so code outside a model call is
//!   unaffected.
//! - Work handed to the kernel threads ([`super::parallel`]) runs in the mode of the
//!   thread that handed it over, so results do not depend on the thread count.
//! - On CPUs other than `x86_64` the guard does nothing (denormals are kept).
//!
//! A caveat on Rust's rules: `core::arch`'s documentation says that changing MXCSR's
//! denormal bits outside a single `asm!` block is undefined behaviour, because the compiler
//! may assume the default floating-point environment (for example when it folds constants
//! at compile time). The guard spans ordinary Rust code, as TensorFlow's does C++ code, so
//! it relies on what the compiler does in practice: our kernels compute with run-time
//! values, and a constant folded at compile time would at worst keep a denormal that the
//! hardware would have flushed. The tests check the behaviour (`denormal_results_flush_inside_the_guard_only`,
//! the two-thread test in `tests/parallel.rs`, and `tests/generated.rs`).
#![allow(unsafe_code)]

/// MXCSR bits: flush-to-zero (15) and denormals-are-zero (6).
#[cfg(target_arch = "x86_64")]
const FLUSH: u32 = (1 << 15) | (1 << 6);

/// The calling thread's floating-point control word (MXCSR on `x86_64`, 0 elsewhere).
#[inline]
#[must_use]
pub(crate) fn mode() -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut csr = 0u32;
        // SAFETY: `stmxcsr` stores the 4-byte MXCSR (part of the x86_64 baseline, SSE) into
        // the local it is given, nothing else; reading the mode changes nothing.
        unsafe {
            core::arch::asm!(
                "stmxcsr [{}]",
                in(reg) &raw mut csr,
                options(nostack, preserves_flags)
            );
        }
        csr
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Sets the calling thread's floating-point control word to `csr` (a value read by
/// [`mode`]).
#[inline]
pub(crate) fn set_mode(csr: u32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY (as far as the hardware goes): `ldmxcsr` loads a control word that `stmxcsr`
    // produced (possibly with the FTZ/DAZ bits set), so no reserved bit is set, no exception
    // is unmasked and the rounding mode is unchanged; it changes only this thread's
    // denormal handling. See the module docs for what this means for Rust's own rules.
    unsafe {
        core::arch::asm!(
            "ldmxcsr [{}]",
            in(reg) &raw const csr,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = csr;
}

/// While alive, the calling thread flushes denormals to zero (inputs and results); the
/// previous mode comes back when it is dropped. See the module docs.
///
/// ```
/// use mlp_runtime::kernels::FlushDenormals;
/// let tiny = std::hint::black_box(f32::MIN_POSITIVE);
/// let flushed = {
///     let _guard = FlushDenormals::new();
///     tiny * std::hint::black_box(0.5)
/// };
/// # #[cfg(target_arch = "x86_64")]
/// assert_eq!(flushed, 0.0);
/// assert!((tiny * std::hint::black_box(0.5)).is_subnormal());
/// ```
///
/// The mode is the thread's, so the guard cannot move to another thread (where its drop
/// would restore the wrong thread's mode):
///
/// ```compile_fail
/// use mlp_runtime::kernels::FlushDenormals;
/// let guard = FlushDenormals::new();
/// std::thread::spawn(move || drop(guard));
/// ```
#[derive(Debug)]
#[must_use = "the mode is restored when the guard is dropped"]
pub struct FlushDenormals {
    saved: u32,
    /// The mode belongs to the thread that set it: the guard is neither `Send` nor `Sync`,
    /// so it is dropped (and the mode restored) on that thread.
    _thread: std::marker::PhantomData<*const ()>,
}

impl FlushDenormals {
    /// Enters the flushing mode (a no-op on CPUs other than `x86_64`).
    pub fn new() -> FlushDenormals {
        let saved = mode();
        #[cfg(target_arch = "x86_64")]
        if saved & FLUSH != FLUSH {
            set_mode(saved | FLUSH);
        }
        FlushDenormals {
            saved,
            _thread: std::marker::PhantomData,
        }
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        FlushDenormals::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if self.saved & FLUSH != FLUSH {
            set_mode(self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FlushDenormals;

    /// `f32::MIN_POSITIVE / 4` through an opaque multiply, so the compiler cannot fold it.
    fn tiny_product() -> f32 {
        std::hint::black_box(f32::MIN_POSITIVE) * std::hint::black_box(0.25)
    }

    #[test]
    fn denormal_results_flush_inside_the_guard_only() {
        assert!(
            tiny_product().is_subnormal(),
            "denormals are kept by default"
        );
        {
            let _guard = FlushDenormals::new();
            let inside = tiny_product();
            if cfg!(target_arch = "x86_64") {
                assert_eq!(inside.to_bits(), 0, "flushed to +0 inside the guard");
                // A denormal input reads as zero too.
                let denormal = std::hint::black_box(f32::from_bits(1));
                assert_eq!((denormal * std::hint::black_box(1.0f32)).to_bits(), 0);
            }
            {
                let _nested = FlushDenormals::new();
            }
            if cfg!(target_arch = "x86_64") {
                assert_eq!(tiny_product().to_bits(), 0, "a nested guard keeps the mode");
            }
        }
        assert!(tiny_product().is_subnormal(), "the mode is restored");
    }
}
