//! Fast single-precision GEMM kernels on caller-owned, row-major, contiguous buffers.
//!
//! Three forms cover what the layers need (Dense forward, weight gradient, input
//! gradient): [`matmul`] (`a · b`), [`matmul_at`] (`aᵀ · b`) and [`matmul_bt`]
//! (`a · bᵀ`). Each has a naive twin in [`super::reference`] that the tests compare
//! against.
//!
//! Invariants:
//! - Tiles live in registers; the unblocked `matmul_bt` packs `bᵀ` into a fixed 32 KiB
//!   array on the stack.
//! - With `accumulate == false`, `c` is only written, never read (a NaN in `c` does not
//!   leak into the result).
//! - Nothing allocates per call. Large products are cache-blocked (module `blocked`) through
//!   one packing buffer per thread, allocated on the thread's first large product and
//!   kept; the small and batch-1 products of a training step never use it.
//! - The instruction set is chosen once per process ([`Isa::detected`]: AVX-512F, else
//!   AVX2 + FMA, else portable code, unless `MLP_ISA` pins one) and every call uses it,
//!   so two runs on one machine give bit-identical results. Different instruction sets
//!   may differ in the last bits (FMA rounds once, the portable path twice).
//! - The sum for each element of `c` is one chain over `p` in order (see module
//!   `driver`), whatever the blocking and however the threads split `c`: results are
//!   bit-identical for any thread count.
//! - Buffers may be longer than the shapes need (layers size them for the largest batch);
//!   only the leading `rows × cols` elements are touched.
#![allow(unsafe_code)]

mod blocked;
mod driver;
mod simd;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use driver::Gemm;

use super::parallel;
use simd::Portable;

/// An instruction-set path of the kernels: the GEMM and every multiversioned element-wise
/// kernel run the copy compiled for one of these.
///
/// Normal callers never name it: [`matmul`] and the other kernels use [`Isa::detected`],
/// the fastest path this CPU supports, or the one the `MLP_ISA` environment variable pins
/// (`portable`, `avx2` or `avx512`; see [`Isa::from_env_value`]). Tests and benchmarks run
/// every path on one machine through [`matmul_on`] and friends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust on arrays of four floats; compiles and runs everywhere.
    Portable,
    /// `x86_64` AVX2 + FMA, 8 lanes.
    Avx2,
    /// `x86_64` AVX-512F, 16 lanes.
    Avx512,
}

/// The environment variable that pins the instruction-set path for the whole process.
pub const ISA_ENV: &str = "MLP_ISA";

impl Isa {
    /// Every path, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The path's name as `MLP_ISA` spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the path.
    #[must_use]
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 | Isa::Avx512 => false,
        }
    }

    /// The fastest path this CPU supports.
    #[must_use]
    pub fn fastest() -> Isa {
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|isa| isa.is_supported())
            .unwrap_or(Isa::Portable)
    }

    /// The path for a value of `MLP_ISA`, and a warning to print when the value cannot be
    /// honoured. Pure apart from the CPU check, so it is tested directly.
    ///
    /// - `None` or an empty (or all-blank) value: [`Isa::fastest`], no warning.
    /// - `portable`, `avx2`, `avx512` (ASCII case and surrounding blanks ignored): that
    ///   path if this CPU supports it; otherwise [`Isa::fastest`] and a warning saying so.
    /// - Anything else: [`Isa::fastest`] and a warning listing the accepted values.
    #[must_use]
    pub fn from_env_value(value: Option<&str>) -> (Isa, Option<String>) {
        let Some(raw) = value else {
            return (Isa::fastest(), None);
        };
        let wanted = raw.trim();
        if wanted.is_empty() {
            return (Isa::fastest(), None);
        }
        let fallback = Isa::fastest();
        match Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(wanted))
        {
            Some(isa) if isa.is_supported() => (isa, None),
            Some(isa) => (
                fallback,
                Some(format!(
                    "warning: {ISA_ENV}={raw}: this CPU does not support the {} path; \
                     using {}",
                    isa.name(),
                    fallback.name()
                )),
            ),
            None => (
                fallback,
                Some(format!(
                    "warning: {ISA_ENV}={raw} is not one of portable, avx2, avx512; using {}",
                    fallback.name()
                )),
            ),
        }
    }

    /// The path every kernel uses in this process: chosen on first use from `MLP_ISA`
    /// ([`Isa::from_env_value`], printing its warning once on stderr) and cached, so a
    /// run never mixes paths and two runs on one machine with the same setting give
    /// bit-identical results.
    #[must_use]
    pub fn detected() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let value = std::env::var_os(ISA_ENV);
            let value = value.as_ref().map(|v| v.to_string_lossy());
            let (isa, warning) = Isa::from_env_value(value.as_deref());
            if let Some(warning) = warning {
                eprintln!("{warning}");
            }
            isa
        })
    }
}

/// Allocates the calling thread's packing buffer for large products (about 600 KiB of
/// address space, its pages mapped only when a product touches them) unless it already
/// has one.
///
/// Products with `m ≥ 24` and `k · n ≥ 65 536` are cache-blocked through a buffer that
/// each thread allocates on its first such product and keeps. Calling this once per
/// thread beforehand (a model's constructor, a benchmark's set-up) moves that one
/// allocation out of the first training step; the kernel threads of
/// [`parallel::set_threads`] do it when they start.
pub fn reserve_packing_buffer() {
    blocked::reserve();
}

/// `m * k`, or a panic naming the kernel if it overflows (no buffer could be that long).
fn elems(rows: usize, cols: usize, what: &str) -> usize {
    match rows.checked_mul(cols) {
        Some(len) => len,
        None => panic!("{what}: {rows}×{cols} elements overflow usize"),
    }
}

/// The strides of `a` and `b` that tell the three public products apart (see
/// [`Gemm`]): `(rsa, csa, rsb)` as functions of `(m, k, n)`.
type Strides = fn(usize, usize, usize) -> (usize, usize, usize);

/// Checks the buffer lengths for an `m×k`-by-`k×n` product and handles the cases with
/// nothing to multiply; otherwise returns the problem with `a` and `b` laid out as
/// `strides` says (and `c` row-major, `n` wide). `None` when nothing is left to do.
fn prepare(
    name: &str,
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
    strides: Strides,
) -> Option<Gemm> {
    let (a_need, b_need, c_need) = (elems(m, k, name), elems(k, n, name), elems(m, n, name));
    assert!(
        a.len() >= a_need && b.len() >= b_need && c.len() >= c_need,
        "{name}: m={m} k={k} n={n} needs a≥{a_need}, b≥{b_need}, c≥{c_need} elements, \
         got {}, {}, {}",
        a.len(),
        b.len(),
        c.len()
    );
    if m == 0 || n == 0 {
        return None;
    }
    if k == 0 {
        if !accumulate {
            c[..c_need].fill(0.0);
        }
        return None;
    }
    let (rsa, csa, rsb) = strides(m, k, n);
    Some(Gemm {
        m,
        k,
        n,
        a: a.as_ptr(),
        rsa,
        csa,
        b: b.as_ptr(),
        rsb,
        c: c.as_mut_ptr(),
        rsc: n,
        accumulate,
    })
}

/// Smallest product, in multiply-adds, that is split across threads (about 1 µs of one
/// core's work; below it the hand-off costs more than it saves).
const PAR_MIN_MACS: usize = 1 << 18;

/// A problem shared with the worker threads (raw pointers are not `Sync` by themselves).
struct Shared(Gemm);

// SAFETY: the pieces handed to different threads write disjoint rows or columns of `c`
// and only read `a` and `b`; the caller's borrows outlive the parallel run.
unsafe impl Sync for Shared {}

impl Shared {
    /// The problem (a method, so closures capture the `Sync` wrapper, not the field).
    fn get(&self) -> &Gemm {
        &self.0
    }
}

/// How a problem is cut into independent pieces for `parts` threads: by rows of `c` when
/// there are enough, else by columns (at a multiple of 16, a vector's width), else not.
/// Each element of `c` is computed by the same code in the same order either way.
fn split(g: &Gemm, parts: usize) -> Option<bool> {
    if parts < 2 || g.m.saturating_mul(g.n).saturating_mul(g.k) < PAR_MIN_MACS {
        None
    } else if g.m >= 16 * parts {
        Some(true)
    } else if g.n >= 32 * parts {
        Some(false)
    } else {
        None
    }
}

/// Piece `part` of `parts` of `g` (rows when `by_rows`, else columns), or `None` if empty.
/// `bt` says `b` is the `n × k` matrix of `matmul_bt` (a column of `c` is a row of `b`).
fn piece_of(g: &Gemm, by_rows: bool, bt: bool, parts: usize, part: usize) -> Option<Gemm> {
    if by_rows {
        let (i0, i1) = parallel::piece(g.m, parts, 8, part);
        // SAFETY (pointer arithmetic): `i0 <= m`, so the moved pointers stay within (or
        // one past) the rows the caller checked.
        (i1 > i0).then(|| Gemm {
            m: i1 - i0,
            a: g.a.wrapping_add(i0 * g.rsa),
            c: g.c.wrapping_add(i0 * g.rsc),
            ..*g
        })
    } else {
        let (j0, j1) = parallel::piece(g.n, parts, 16, part);
        (j1 > j0).then(|| Gemm {
            n: j1 - j0,
            b: g.b.wrapping_add(if bt { j0 * g.k } else { j0 }),
            c: g.c.wrapping_add(j0),
            ..*g
        })
    }
}

/// Narrowest batch-1 product run by the streaming GEMV: below it `b` is small enough to
/// stay in L2, and the register tile (one row, all columns in registers) is faster.
const GEMV_MIN_COLS: usize = 128;

/// Which loop nest runs a product (the result is the same bits either way).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driver {
    /// A batch-1 `a · b` or `aᵀ · b` streams `b` once ([`driver::gemv`]); other products
    /// are cache-blocked when large ([`blocked::worth_blocking`]), else run the register
    /// tiles straight on the operands.
    Auto,
    /// Always the register tiles straight on the operands (the driver before blocking;
    /// kept so the benchmarks can show the difference).
    Unblocked,
}

/// Runs `g` on `isa`, split across the kernel threads when it is large enough. `bt` says
/// `g.b` is the `n × k` matrix of `matmul_bt` (a column of `c` is a row of `b`).
fn run(isa: Isa, g: &Gemm, bt: bool, driver: Driver) {
    assert!(
        isa.is_supported(),
        "GEMM path {isa:?} is not supported on this CPU"
    );
    let threads = parallel::threads();
    match split(g, threads) {
        None => run_one(isa, g, bt, driver),
        Some(by_rows) => {
            // More pieces than threads for large products, claimed dynamically: a worker
            // that starts late (a loaded machine) still takes a share.
            let width = if by_rows { g.m / 16 } else { g.n / 32 };
            let macs = g.m * g.n * g.k;
            let parts = (macs / PAR_MIN_MACS)
                .clamp(threads, 4 * threads)
                .min(width.max(threads));
            let shared = Shared(*g);
            parallel::run(parts, &|part| {
                if let Some(piece) = piece_of(shared.get(), by_rows, bt, parts, part) {
                    run_one(isa, &piece, bt, driver);
                }
            });
        }
    }
}

/// Runs a checked problem (or piece) on `isa` on this thread, through the loop nest that
/// suits its size.
fn run_one(isa: Isa, g: &Gemm, bt: bool, driver: Driver) {
    if driver == Driver::Auto && g.m == 1 && !bt && g.n >= GEMV_MIN_COLS {
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512F support was asserted in `run`; the caller checked `g`'s
            // bounds, and `g.m == 1`.
            Isa::Avx512 => unsafe { x86::gemv_avx512(g) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2 + FMA support was asserted in `run`; as above.
            Isa::Avx2 => unsafe { x86::gemv_avx2(g) },
            // SAFETY: portable code needs no CPU feature; as above.
            Isa::Portable => unsafe { driver::gemv::<Portable>(g) },
            #[cfg(not(target_arch = "x86_64"))]
            // SAFETY: unreachable (the assert in `run` fails first); as the portable arm.
            Isa::Avx2 | Isa::Avx512 => unsafe { driver::gemv::<Portable>(g) },
        }
        return;
    }
    if driver == Driver::Auto && blocked::worth_blocking(g) {
        let done = blocked::with_buffers(|pack| match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX-512F support was asserted in `run`; the caller checked `g`'s
            // bounds; `pack` is this thread's buffer.
            Isa::Avx512 => unsafe { x86::gemm_blocked_avx512(g, bt, pack) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: AVX2 + FMA support was asserted in `run`; as above.
            Isa::Avx2 => unsafe { x86::gemm_blocked_avx2(g, bt, pack) },
            // SAFETY: portable code needs no CPU feature; as above.
            Isa::Portable => unsafe { blocked::gemm_blocked::<Portable>(g, bt, pack) },
            #[cfg(not(target_arch = "x86_64"))]
            // SAFETY: unreachable (the assert in `run` fails first); as the portable arm.
            Isa::Avx2 | Isa::Avx512 => unsafe { blocked::gemm_blocked::<Portable>(g, bt, pack) },
        });
        if done.is_some() {
            return;
        }
    }
    if bt {
        run_bt_unblocked(isa, g);
    } else {
        run_unblocked(isa, g);
    }
}

/// Runs a checked strided problem (or piece) on `isa` with the unblocked driver.
fn run_unblocked(isa: Isa, g: &Gemm) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F support was asserted in `run`; the caller checked `g`'s bounds.
        Isa::Avx512 => unsafe { x86::gemm_avx512(g) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 + FMA support was asserted in `run`; the caller checked `g`'s bounds.
        Isa::Avx2 => unsafe { x86::gemm_avx2(g) },
        // SAFETY: portable code needs no CPU feature; the caller checked `g`'s bounds.
        Isa::Portable => unsafe { driver::gemm::<Portable>(g) },
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: unreachable (the assert in `run` fails first); same as the portable arm.
        Isa::Avx2 | Isa::Avx512 => unsafe { driver::gemm::<Portable>(g) },
    }
}

/// Runs a checked `a · bᵀ` problem (or piece) on `isa` with the unblocked driver.
fn run_bt_unblocked(isa: Isa, g: &Gemm) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX-512F support was asserted in `run`; the caller checked `g`'s bounds.
        Isa::Avx512 => unsafe { x86::gemm_bt_avx512(g) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 + FMA support was asserted in `run`; the caller checked `g`'s bounds.
        Isa::Avx2 => unsafe { x86::gemm_bt_avx2(g) },
        // SAFETY: portable code needs no CPU feature; the caller checked `g`'s bounds.
        Isa::Portable => unsafe { driver::gemm_bt::<Portable>(g) },
        #[cfg(not(target_arch = "x86_64"))]
        // SAFETY: unreachable (the assert in `run` fails first); same as the portable arm.
        Isa::Avx2 | Isa::Avx512 => unsafe { driver::gemm_bt::<Portable>(g) },
    }
}

/// Matrix product `c = a · b`, or `c += a · b` when `accumulate`.
///
/// - Shapes: `a` is `m×k`, `b` is `k×n`, `c` is `m×n`; all row-major and contiguous
///   (`a[i * k + p]`, `b[p * n + j]`, `c[i * n + j]`).
/// - Reads the first `m·k` elements of `a` and `k·n` of `b`; writes the first `m·n` of
///   `c`, which it reads only when `accumulate`. Longer buffers are fine; the rest is
///   untouched. `c` cannot alias `a` or `b` (it is borrowed mutably).
/// - Any dimension may be 0; `k == 0` sets `c` to zero (or leaves it when accumulating).
/// - Sums run over `p` in order, fused multiply-adds on the SIMD paths.
///
/// Used by Dense forward: `Y[batch×out] = X[batch×in] · W[in×out]`.
///
/// # Panics
/// If a buffer is shorter than its shape says (a caller bug: shapes come from a checked
/// spec), or if a shape's element count overflows `usize`.
pub fn matmul(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    matmul_on(Isa::detected(), m, k, n, a, b, c, accumulate);
}

/// Transposed-right product `c = a · bᵀ`, or `c += a · bᵀ` when `accumulate`.
///
/// - Shapes: `a` is `m×k`, `b` is `n×k`, `c` is `m×n`; all row-major and contiguous
///   (`a[i * k + p]`, `b[j * k + p]`, `c[i * n + j]`).
/// - Reads the first `m·k` elements of `a` and `n·k` of `b`; writes the first `m·n` of
///   `c`, which it reads only when `accumulate`. `c` cannot alias `a` or `b`.
/// - Any dimension may be 0; `k == 0` sets `c` to zero (or leaves it when accumulating).
/// - Copies a panel of `bᵀ` (up to 64 columns × 128 steps of `k`) at a time into a stack
///   buffer, so the sum for one element runs over `p` in order, resuming from `c` every
///   128 steps.
///
/// Used by Dense backward for the input gradient: `dX[batch×in] = dY[batch×out] ·
/// W[in×out]ᵀ` (so `k = out`, `n = in`).
///
/// # Panics
/// If a buffer is shorter than its shape says, or if a shape overflows `usize`.
pub fn matmul_bt(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    matmul_bt_on(Isa::detected(), m, k, n, a, b, c, accumulate);
}

/// Transposed-left product `c = aᵀ · b`, or `c += aᵀ · b` when `accumulate`.
///
/// - Shapes: `a` is `k×m`, `b` is `k×n`, `c` is `m×n`; all row-major and contiguous
///   (`a[p * m + i]`, `b[p * n + j]`, `c[i * n + j]`).
/// - Reads the first `k·m` elements of `a` and `k·n` of `b`; writes the first `m·n` of
///   `c`, which it reads only when `accumulate`. `c` cannot alias `a` or `b`.
/// - Any dimension may be 0; `k == 0` sets `c` to zero (or leaves it when accumulating).
/// - Sums run over `p` in order (a sum of rank-1 updates `a[p,:]ᵀ · b[p,:]`).
///
/// Used by Dense backward for the weight gradient: `dW[in×out] = X[batch×in]ᵀ ·
/// dY[batch×out]` (so `m = in`, `k = batch`).
///
/// # Panics
/// If a buffer is shorter than its shape says, or if a shape overflows `usize`.
pub fn matmul_at(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    matmul_at_on(Isa::detected(), m, k, n, a, b, c, accumulate);
}

/// The three products, as [`prepare`] and [`run`] tell them apart.
#[derive(Clone, Copy)]
enum Form {
    /// `a · b`
    Plain,
    /// `a · bᵀ`
    Bt,
    /// `aᵀ · b`
    At,
}

/// Checks and runs one product of `form` on `isa` with `driver`.
fn product(
    form: Form,
    isa: Isa,
    dims: (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
    driver: Driver,
) {
    let (name, strides): (&str, Strides) = match form {
        Form::Plain => ("matmul", |_, k, n| (k, 1, n)),
        Form::Bt => ("matmul_bt", |_, k, _| (k, 1, k)),
        Form::At => ("matmul_at", |m, _, n| (1, m, n)),
    };
    if let Some(g) = prepare(name, dims, a, b, c, accumulate, strides) {
        run(isa, &g, matches!(form, Form::Bt), driver);
    }
}

/// [`matmul`] on a chosen path. For tests and benchmarks.
///
/// # Panics
/// As [`matmul`], and if `isa` is not supported on this CPU.
#[doc(hidden)]
pub fn matmul_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    product(
        Form::Plain,
        isa,
        (m, k, n),
        a,
        b,
        c,
        accumulate,
        Driver::Auto,
    );
}

/// [`matmul_bt`] on a chosen path. For tests and benchmarks.
///
/// # Panics
/// As [`matmul_bt`], and if `isa` is not supported on this CPU.
#[doc(hidden)]
pub fn matmul_bt_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    product(Form::Bt, isa, (m, k, n), a, b, c, accumulate, Driver::Auto);
}

/// [`matmul_at`] on a chosen path. For tests and benchmarks.
///
/// # Panics
/// As [`matmul_at`], and if `isa` is not supported on this CPU.
#[doc(hidden)]
pub fn matmul_at_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    product(Form::At, isa, (m, k, n), a, b, c, accumulate, Driver::Auto);
}

/// [`matmul_on`] with the register tiles run straight on the operands, never cache-blocked
/// (the driver before blocking). Same bits as [`matmul_on`]; for benchmarks and tests.
///
/// # Panics
/// As [`matmul_on`].
#[doc(hidden)]
pub fn matmul_unblocked_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    product(
        Form::Plain,
        isa,
        (m, k, n),
        a,
        b,
        c,
        accumulate,
        Driver::Unblocked,
    );
}

/// [`matmul_bt_on`], never cache-blocked (see [`matmul_unblocked_on`]).
///
/// # Panics
/// As [`matmul_bt_on`].
#[doc(hidden)]
pub fn matmul_bt_unblocked_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    product(
        Form::Bt,
        isa,
        (m, k, n),
        a,
        b,
        c,
        accumulate,
        Driver::Unblocked,
    );
}

/// [`matmul_at_on`], never cache-blocked (see [`matmul_unblocked_on`]).
///
/// # Panics
/// As [`matmul_at_on`].
#[doc(hidden)]
pub fn matmul_at_unblocked_on(
    isa: Isa,
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) {
    product(
        Form::At,
        isa,
        (m, k, n),
        a,
        b,
        c,
        accumulate,
        Driver::Unblocked,
    );
}
