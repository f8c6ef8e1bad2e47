//! Function multiversioning for element-wise kernels: one plain-Rust body compiled three
//! times (AVX-512F, AVX2 + FMA, the target's baseline) and dispatched on the instruction
//! set the GEMM detected ([`Isa::detected`](super::gemm::Isa::detected)).
//!
//! The bodies are ordinary loops over slices that LLVM vectorises with whatever the
//! enclosing `#[target_feature]` allows. Rust never contracts `a * b + c` into a fused
//! multiply-add and `sqrt`/`/` are correctly rounded on every path, so the three versions
//! compute bit-identical results: only the speed depends on the CPU. (Reductions are the
//! exception LLVM would reorder if allowed; it is not, so they stay sequential, and the
//! bodies that want vector reductions spell out their lanes themselves.)
#![allow(unsafe_code)]

/// Defines `fn $name(args)` whose body is compiled for AVX-512F, AVX2 + FMA and the
/// baseline and picked at run time (see the module docs), and `fn $on(isa, args)` that
/// runs the copy for a given [`Isa`](super::gemm::Isa) (tests compare every path). The body
/// must be plain safe Rust; argument types must not name generic parameters.
macro_rules! multiversion {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident / $on:ident ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            $on($crate::kernels::gemm::Isa::detected(), $($arg),*)
        }

        /// The same function on a chosen instruction-set path.
        ///
        /// # Panics
        /// If the CPU does not support `isa`.
        #[allow(dead_code)] // used by the tests
        pub(crate) fn $on(isa: $crate::kernels::gemm::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::inline_always)] // must inline into each `#[target_feature]` copy
            fn body($($arg: $ty),*) $(-> $ret)? $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            assert!(isa.is_supported(), "path {isa:?} is not supported on this CPU");
            match isa {
                #[cfg(target_arch = "x86_64")]
                #[allow(unsafe_code)]
                // SAFETY: the CPU supports AVX-512F (asserted above).
                $crate::kernels::gemm::Isa::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                #[allow(unsafe_code)]
                // SAFETY: the CPU supports AVX2 and FMA (asserted above).
                $crate::kernels::gemm::Isa::Avx2 => unsafe { avx2($($arg),*) },
                _ => body($($arg),*),
            }
        }
    };
}

pub(crate) use multiversion;
