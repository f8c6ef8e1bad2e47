//! Our GEMM kernels beside `matrixmultiply::sgemm` on the shapes the Dense layers of the
//! notebook models use (784-64-32-10 at batch 32, and batch-1 inference).
//!
//! Run with `cargo bench -p mlp-runtime --bench gemm`. Each shape is a benchmark argument
//! `MxKxN`; the throughput column counts floating-point operations (`2·m·k·n` items), so
//! `Gitem/s` reads as GFLOP/s. The allocation columns show that our kernels allocate
//! nothing while `matrixmultiply` allocates its packing buffer on every call.
//! `ours_avx2` and `ours_portable` pin the slower paths for comparison (on a CPU without
//! AVX2 + FMA, `ours_avx2` runs the portable path).
//!
//! Groups: `matmul`, `matmul_at`, `matmul_bt` (the notebook's layers, against
//! `matrixmultiply`); `large` (512³ and the layers of a 784-1024-1024-10 MLP at batch 256,
//! per path, cache-blocked against the unblocked driver); `batch1` (batch-1 products,
//! the streaming GEMV against the unblocked tiles and against copying the same bytes);
//! `peak` (the FMA loop of `kernels::peak`).
//!
//! After divan's tables, a summary measured by this file (best of several alternating
//! runs, one thread) prints every figure as a ratio: each GEMM against the measured FMA
//! peak of its path, before (unblocked) and after, the batch-1 GEMV against the copy, and
//! the portable path against AVX2. It is skipped when a filter is given (e.g.
//! `cargo bench --bench gemm -- large`), and `cargo bench --bench gemm -- summary` runs
//! only it.

// matrixmultiply's entry point is an `unsafe fn` taking raw pointers and strides.
#![allow(unsafe_code)]

use std::fmt;
use std::time::Instant;

use divan::counter::ItemsCount;
use divan::{black_box, AllocProfiler, Bencher};
use mlp_runtime::kernels::gemm::{
    matmul_at_on, matmul_at_unblocked_on, matmul_bt_on, matmul_bt_unblocked_on, matmul_on,
    matmul_unblocked_on, Isa,
};
use mlp_runtime::kernels::peak;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let listing = std::env::args().any(|a| a == "--list" || a == "--test");
    let only_summary = filters.iter().any(|f| f == "summary");
    if !only_summary {
        divan::main();
    }
    if !listing && (filters.is_empty() || only_summary) {
        summary::print();
    }
}

/// A product shape `m×k` by `k×n`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shape {
    m: usize,
    k: usize,
    n: usize,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.k, self.n)
    }
}

const fn shape(m: usize, k: usize, n: usize) -> Shape {
    Shape { m, k, n }
}

/// Dense forward `X[b×in] · W[in×out]`: the three layers at batch 32, then batch 1, then
/// a square product big enough to show the sustained peak.
const PLAIN: [Shape; 5] = [
    shape(32, 784, 64),
    shape(32, 64, 32),
    shape(32, 32, 10),
    shape(1, 784, 64),
    shape(256, 256, 256),
];
/// Weight gradient `X[b×in]ᵀ · dY[b×out]` (`m = in`, `k = batch`).
const AT: [Shape; 3] = [shape(784, 32, 64), shape(64, 32, 32), shape(32, 32, 10)];
/// Input gradient `dY[b×out] · W[in×out]ᵀ` (`k = out`, `n = in`).
const BT: [Shape; 3] = [shape(32, 64, 784), shape(32, 32, 64), shape(32, 10, 32)];

/// Which product a benchmark runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Plain,
    At,
    Bt,
}

/// Deterministic operands in [-1, 1) and an output buffer.
fn operands(s: Shape) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut state = 0x2545_f491_u32;
    let mut gen = |len: usize| -> Vec<f32> {
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    };
    (gen(s.m * s.k), gen(s.k * s.n), vec![0.0; s.m * s.n])
}

fn flops(s: Shape) -> ItemsCount {
    ItemsCount::new(2 * s.m * s.k * s.n)
}

/// Our kernel for `form` on `isa` (falls back to the portable path if `isa` is missing).
fn ours(bencher: Bencher, form: Form, isa: Isa, s: Shape) {
    let isa = if isa.is_supported() {
        isa
    } else {
        Isa::Portable
    };
    let (a, b, mut c) = operands(s);
    let kernel = match form {
        Form::Plain => matmul_on,
        Form::At => matmul_at_on,
        Form::Bt => matmul_bt_on,
    };
    bencher.counter(flops(s)).bench_local(|| {
        kernel(
            isa,
            s.m,
            s.k,
            s.n,
            black_box(&a),
            black_box(&b),
            black_box(&mut c),
            false,
        );
    });
}

/// `matrixmultiply::sgemm` on the same problem, expressed through its strides.
fn theirs(bencher: Bencher, form: Form, s: Shape) {
    let (a, b, mut c) = operands(s);
    let (m, k, n) = (s.m, s.k, s.n);
    // Strides (row, column) of the left operand as m×k and the right one as k×n.
    let ((rsa, csa), (rsb, csb)) = match form {
        Form::Plain => ((k, 1), (n, 1)),
        Form::At => ((1, m), (n, 1)),
        Form::Bt => ((k, 1), (1, k)),
    };
    bencher.counter(flops(s)).bench_local(|| {
        let (a, b, c) = (black_box(&a), black_box(&b), black_box(&mut c));
        // SAFETY: `a` holds m·k, `b` k·n and `c` m·n floats, and the strides above
        // address exactly those elements; `c` does not overlap `a` or `b`.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                rsa as isize,
                csa as isize,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    });
}

/// `c = a · b` (Dense forward).
mod matmul {
    use super::{ours, theirs, Bencher, Form, Isa, Shape, PLAIN};

    #[divan::bench(args = PLAIN)]
    fn ours_detected(bencher: Bencher, s: Shape) {
        ours(bencher, Form::Plain, Isa::detected(), s);
    }

    #[divan::bench(args = PLAIN)]
    fn matrixmultiply(bencher: Bencher, s: Shape) {
        theirs(bencher, Form::Plain, s);
    }

    #[divan::bench(args = PLAIN)]
    fn ours_avx2(bencher: Bencher, s: Shape) {
        ours(bencher, Form::Plain, Isa::Avx2, s);
    }

    #[divan::bench(args = PLAIN)]
    fn ours_portable(bencher: Bencher, s: Shape) {
        ours(bencher, Form::Plain, Isa::Portable, s);
    }
}

/// `c = aᵀ · b` (Dense weight gradient).
mod matmul_at {
    use super::{ours, theirs, Bencher, Form, Isa, Shape, AT};

    #[divan::bench(args = AT)]
    fn ours_detected(bencher: Bencher, s: Shape) {
        ours(bencher, Form::At, Isa::detected(), s);
    }

    #[divan::bench(args = AT)]
    fn matrixmultiply(bencher: Bencher, s: Shape) {
        theirs(bencher, Form::At, s);
    }

    #[divan::bench(args = AT)]
    fn ours_avx2(bencher: Bencher, s: Shape) {
        ours(bencher, Form::At, Isa::Avx2, s);
    }

    #[divan::bench(args = AT)]
    fn ours_portable(bencher: Bencher, s: Shape) {
        ours(bencher, Form::At, Isa::Portable, s);
    }
}

/// `c = a · bᵀ` (Dense input gradient).
mod matmul_bt {
    use super::{ours, theirs, Bencher, Form, Isa, Shape, BT};

    #[divan::bench(args = BT)]
    fn ours_detected(bencher: Bencher, s: Shape) {
        ours(bencher, Form::Bt, Isa::detected(), s);
    }

    #[divan::bench(args = BT)]
    fn matrixmultiply(bencher: Bencher, s: Shape) {
        theirs(bencher, Form::Bt, s);
    }

    #[divan::bench(args = BT)]
    fn ours_avx2(bencher: Bencher, s: Shape) {
        ours(bencher, Form::Bt, Isa::Avx2, s);
    }

    #[divan::bench(args = BT)]
    fn ours_portable(bencher: Bencher, s: Shape) {
        ours(bencher, Form::Bt, Isa::Portable, s);
    }
}

/// The large products of the performance issue, each with the form it exercises.
const LARGE: [(Form, Shape); 6] = [
    (Form::Plain, shape(512, 512, 512)),
    (Form::At, shape(512, 512, 512)),
    (Form::Bt, shape(512, 512, 512)),
    // 784-1024-1024-10 at batch 256, the 1024→1024 layer: forward, weight gradient
    // (m = in, k = batch), input gradient (k = out, n = in).
    (Form::Plain, shape(256, 1024, 1024)),
    (Form::At, shape(1024, 256, 1024)),
    (Form::Bt, shape(256, 1024, 1024)),
];

/// Batch-1 forward products of the 784-1024-1024-10 MLP, and of the notebook's first
/// layer.
const BATCH1: [Shape; 4] = [
    shape(1, 784, 1024),
    shape(1, 1024, 1024),
    shape(1, 1024, 10),
    shape(1, 784, 64),
];

/// A kernel entry point (`matmul_on` and friends).
type Kernel = fn(Isa, usize, usize, usize, &[f32], &[f32], &mut [f32], bool);

/// The entry point for `form`, cache-blocked (the default driver) or not.
fn kernel(form: Form, blocked: bool) -> Kernel {
    match (form, blocked) {
        (Form::Plain, true) => matmul_on,
        (Form::At, true) => matmul_at_on,
        (Form::Bt, true) => matmul_bt_on,
        (Form::Plain, false) => matmul_unblocked_on,
        (Form::At, false) => matmul_at_unblocked_on,
        (Form::Bt, false) => matmul_bt_unblocked_on,
    }
}

/// Form and shape as one benchmark argument, e.g. `atb 1024x256x1024`.
#[derive(Clone, Copy)]
struct Case(Form, Shape);

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = match self.0 {
            Form::Plain => "ab",
            Form::At => "atb",
            Form::Bt => "abt",
        };
        write!(f, "{form} {}", self.1)
    }
}

fn large_cases() -> Vec<Case> {
    LARGE.iter().map(|&(f, s)| Case(f, s)).collect()
}

/// `kernel(form, blocked)` on `isa` (the portable path if `isa` is missing).
fn bench_case(bencher: Bencher, isa: Isa, case: Case, blocked: bool) {
    let isa = if isa.is_supported() {
        isa
    } else {
        Isa::Portable
    };
    let Case(form, s) = case;
    let (a, b, mut c) = operands(s);
    let kernel = kernel(form, blocked);
    bencher.counter(flops(s)).bench_local(|| {
        kernel(
            isa,
            s.m,
            s.k,
            s.n,
            black_box(&a),
            black_box(&b),
            black_box(&mut c),
            false,
        );
    });
}

/// Large products per path: cache-blocked (`*_blocked`, what `matmul` runs) against the
/// unblocked driver (`*_unblocked`, the code before blocking).
mod large {
    use super::{bench_case, large_cases, Bencher, Case, Isa};

    #[divan::bench(args = large_cases())]
    fn avx512_blocked(bencher: Bencher, case: Case) {
        bench_case(bencher, Isa::Avx512, case, true);
    }

    #[divan::bench(args = large_cases())]
    fn avx512_unblocked(bencher: Bencher, case: Case) {
        bench_case(bencher, Isa::Avx512, case, false);
    }

    #[divan::bench(args = large_cases())]
    fn avx2_blocked(bencher: Bencher, case: Case) {
        bench_case(bencher, Isa::Avx2, case, true);
    }

    #[divan::bench(args = large_cases())]
    fn avx2_unblocked(bencher: Bencher, case: Case) {
        bench_case(bencher, Isa::Avx2, case, false);
    }

    #[divan::bench(args = large_cases())]
    fn portable_blocked(bencher: Bencher, case: Case) {
        bench_case(bencher, Isa::Portable, case, true);
    }

    #[divan::bench(args = large_cases())]
    fn portable_unblocked(bencher: Bencher, case: Case) {
        bench_case(bencher, Isa::Portable, case, false);
    }
}

/// Batch-1 `x · W`: the streaming GEMV (`*_gemv`, what `matmul` runs for one row) against
/// the unblocked register tiles, and `copy`, a `copy_from_slice` of `W`'s bytes (the time
/// to read the weights once, plus writing them).
mod batch1 {
    use super::{bench_case, black_box, Bencher, Case, Form, Isa, Shape, BATCH1};
    use divan::counter::BytesCount;

    #[divan::bench(args = BATCH1)]
    fn avx512_gemv(bencher: Bencher, s: Shape) {
        bench_case(bencher, Isa::Avx512, Case(Form::Plain, s), true);
    }

    #[divan::bench(args = BATCH1)]
    fn avx512_tiles(bencher: Bencher, s: Shape) {
        bench_case(bencher, Isa::Avx512, Case(Form::Plain, s), false);
    }

    #[divan::bench(args = BATCH1)]
    fn avx2_gemv(bencher: Bencher, s: Shape) {
        bench_case(bencher, Isa::Avx2, Case(Form::Plain, s), true);
    }

    #[divan::bench(args = BATCH1)]
    fn portable_gemv(bencher: Bencher, s: Shape) {
        bench_case(bencher, Isa::Portable, Case(Form::Plain, s), true);
    }

    #[divan::bench(args = BATCH1)]
    fn copy(bencher: Bencher, s: Shape) {
        let src = vec![1.0f32; s.k * s.n];
        let mut dst = vec![0.0f32; s.k * s.n];
        bencher
            .counter(BytesCount::new(4 * s.k * s.n))
            .bench_local(|| black_box(&mut dst).copy_from_slice(black_box(&src)));
    }
}

/// The FMA peak loop of `kernels::peak` (what `fma_gflops` times), per path.
mod peak_loop {
    use super::{black_box, peak, Bencher, Isa, ItemsCount};

    /// Iterations per sample.
    const ITERS: u64 = 1 << 14;

    fn run(bencher: Bencher, isa: Isa) {
        let isa = if isa.is_supported() {
            isa
        } else {
            Isa::Portable
        };
        bencher
            .counter(ItemsCount::new(peak::flops_per_iteration(isa) * ITERS))
            .bench_local(|| peak::fma_chains(isa, black_box(ITERS)));
    }

    #[divan::bench]
    fn avx512(bencher: Bencher) {
        run(bencher, Isa::Avx512);
    }

    #[divan::bench]
    fn avx2(bencher: Bencher) {
        run(bencher, Isa::Avx2);
    }

    #[divan::bench]
    fn portable(bencher: Bencher) {
        run(bencher, Isa::Portable);
    }
}

/// The ratio summary printed after divan's tables (see the file docs).
mod summary {
    use super::{
        black_box, kernel, operands, peak, Form, Instant, Isa, Kernel, Shape, AT, BATCH1, BT,
        LARGE, PLAIN,
    };

    /// Alternating rounds per comparison; the best time of each side is kept.
    const ROUNDS: usize = 40;
    /// Target time of one timed run.
    const RUN_SECS: f64 = 1e-3;

    /// Best time per call of `f` and of `g` over `ROUNDS` runs each, alternating, each run
    /// repeating its function for about `RUN_SECS`: both see the same load.
    fn best_pair(mut f: impl FnMut(), mut g: impl FnMut()) -> (f64, f64) {
        let reps = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            f();
            let once = start.elapsed().as_secs_f64().max(1e-8);
            ((RUN_SECS / once) as usize).clamp(1, 100_000)
        };
        let (rf, rg) = (reps(&mut f), reps(&mut g));
        let time = |f: &mut dyn FnMut(), reps: usize| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        };
        let (mut bf, mut bg) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..ROUNDS {
            bf = bf.min(time(&mut f, rf));
            bg = bg.min(time(&mut g, rg));
        }
        (bf, bg)
    }

    /// One call of `kernel` on `isa` for shape `s`, overwriting `c`.
    fn call(kernel: Kernel, isa: Isa, s: Shape, a: &[f32], b: &[f32], c: &mut [f32]) {
        kernel(
            isa,
            s.m,
            s.k,
            s.n,
            black_box(a),
            black_box(b),
            black_box(c),
            false,
        );
    }

    /// Seconds per call of `form` on `isa`: (unblocked driver, default driver).
    fn gemm_pair(isa: Isa, form: Form, s: Shape) -> (f64, f64) {
        let (a, b, c) = operands(s);
        let (mut c1, mut c2) = (c.clone(), c);
        let (old, new) = (kernel(form, false), kernel(form, true));
        best_pair(
            || call(old, isa, s, &a, &b, &mut c1),
            || call(new, isa, s, &a, &b, &mut c2),
        )
    }

    fn gflops(s: Shape, secs: f64) -> f64 {
        2.0 * (s.m * s.k * s.n) as f64 / secs / 1e9
    }

    fn form_name(form: Form) -> &'static str {
        match form {
            Form::Plain => "a·b",
            Form::At => "aᵀ·b",
            Form::Bt => "a·bᵀ",
        }
    }

    pub(super) fn print() {
        let isas: Vec<Isa> = Isa::ALL.into_iter().filter(|i| i.is_supported()).collect();
        println!();
        println!("== summary (one thread; best of {ROUNDS} alternating runs) ==");
        println!("path in effect (Isa::detected): {}", Isa::detected().name());
        let peaks: Vec<(Isa, f64)> = isas.iter().map(|&i| (i, peak::fma_gflops(i))).collect();
        for (isa, p) in &peaks {
            println!(
                "FMA peak (kernels::peak::fma_gflops, {}): {p:.1} GFLOP/s",
                isa.name()
            );
        }
        let peak_of = |isa: Isa| peaks.iter().find(|(i, _)| *i == isa).map_or(1.0, |p| p.1);

        println!();
        println!("GEMM, % of the path's FMA peak; `unblocked` is the driver before blocking");
        println!(
            "{:<9} {:<6} {:<16} {:>22} {:>22}",
            "path", "form", "m×k×n", "unblocked GFLOP/s (%)", "now GFLOP/s (%)"
        );
        let notebook = PLAIN[..3]
            .iter()
            .map(|&s| (Form::Plain, s))
            .chain(AT.iter().map(|&s| (Form::At, s)))
            .chain(BT.iter().map(|&s| (Form::Bt, s)));
        let cases: Vec<(Form, Shape)> = LARGE.iter().copied().chain(notebook).collect();
        let mut large_now = Vec::new();
        for &isa in &isas {
            let p = peak_of(isa);
            for &(form, s) in &cases {
                let (old, new) = gemm_pair(isa, form, s);
                let (go, gn) = (gflops(s, old), gflops(s, new));
                println!(
                    "{:<9} {:<6} {:<16} {:>13.1} ({:>5.1} %) {:>13.1} ({:>5.1} %)",
                    isa.name(),
                    form_name(form),
                    s.to_string(),
                    go,
                    100.0 * go / p,
                    gn,
                    100.0 * gn / p
                );
                if LARGE.contains(&(form, s)) {
                    large_now.push(((isa, form, s), gn));
                }
            }
        }
        if Isa::Avx2.is_supported() {
            println!();
            println!("portable against avx2 on the large products (now):");
            let find = |key: (Isa, Form, Shape)| {
                large_now
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map_or(f64::NAN, |x| x.1)
            };
            for &(form, s) in &LARGE {
                let pt = find((Isa::Portable, form, s));
                let av = find((Isa::Avx2, form, s));
                println!(
                    "  {:<6} {:<16} portable {pt:>6.1} / avx2 {av:>6.1} GFLOP/s = {:>5.1} %",
                    form_name(form),
                    s.to_string(),
                    100.0 * pt / av
                );
            }
        }

        println!();
        println!("batch-1 x·W: unblocked tiles, the streaming GEMV, and copying W's bytes");
        println!(
            "{:<9} {:<14} {:>12} {:>12} {:>14} {:>12}",
            "path", "batch-1", "tiles µs", "now µs", "copy W µs", "now / copy"
        );
        for &isa in &isas {
            for &s in &BATCH1 {
                let (tiles, _) = gemm_pair(isa, Form::Plain, s);
                let src = vec![1.0f32; s.k * s.n];
                let mut dst = vec![0.0f32; s.k * s.n];
                let (a, b, mut c) = operands(s);
                let new = kernel(Form::Plain, true);
                let (copy, now) = best_pair(
                    || black_box(&mut dst).copy_from_slice(black_box(&src)),
                    || call(new, isa, s, &a, &b, &mut c),
                );
                println!(
                    "{:<9} {:<14} {:>12.2} {:>12.2} {:>14.2} {:>11.2}×",
                    isa.name(),
                    s.to_string(),
                    tiles * 1e6,
                    now * 1e6,
                    copy * 1e6,
                    now / copy
                );
            }
        }
    }
}
