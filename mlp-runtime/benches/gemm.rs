//! Our GEMM kernels beside `matrixmultiply::sgemm` on the shapes the Dense layers of the
//! notebook models use (784-64-32-10 at batch 32, and batch-1 inference).
//!
//! Run with `cargo bench -p mlp-runtime --bench gemm`. Each shape is a benchmark argument
//! `MxKxN`; the throughput column counts floating-point operations (`2·m·k·n` items), so
//! `Gitem/s` reads as GFLOP/s. The allocation columns show that our kernels allocate
//! nothing while `matrixmultiply` allocates its packing buffer on every call.
//! `ours_avx2` and `ours_portable` pin the slower paths for comparison (on a CPU without
//! AVX2 + FMA, `ours_avx2` runs the portable path).

// matrixmultiply's entry point is an `unsafe fn` taking raw pointers and strides.
#![allow(unsafe_code)]

use std::fmt;

use divan::counter::ItemsCount;
use divan::{black_box, AllocProfiler, Bencher};
use mlp_runtime::kernels::gemm::{
    matmul_at_on, matmul_at_unblocked_on, matmul_bt_on, matmul_bt_unblocked_on, matmul_on,
    matmul_unblocked_on, Isa,
};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

/// A product shape `m×k` by `k×n`.
#[derive(Clone, Copy)]
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
#[derive(Clone, Copy)]
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

/// Large products: 512³ and the layers of a 784-1024-1024-10 MLP at batch 256.
mod large {
    use super::{black_box, flops, operands, Bencher, Isa, Shape};
    use super::{
        matmul_at_on, matmul_at_unblocked_on, matmul_bt_on, matmul_bt_unblocked_on, matmul_on,
        matmul_unblocked_on,
    };

    const SHAPES: [(&str, Shape); 4] = [
        ("ab 512x512x512", super::shape(512, 512, 512)),
        ("ab 256x1024x1024", super::shape(256, 1024, 1024)),
        ("atb 1024x256x1024", super::shape(1024, 256, 1024)),
        ("abt 256x1024x1024", super::shape(256, 1024, 1024)),
    ];

    type K = fn(Isa, usize, usize, usize, &[f32], &[f32], &mut [f32], bool);

    fn go(bencher: Bencher, isa: Isa, which: usize, blocked: bool) {
        let (name, s) = SHAPES[which];
        let kernel: K = match (name.split(' ').next(), blocked) {
            (Some("ab"), true) => matmul_on,
            (Some("ab"), false) => matmul_unblocked_on,
            (Some("atb"), true) => matmul_at_on,
            (Some("atb"), false) => matmul_at_unblocked_on,
            (_, true) => matmul_bt_on,
            (_, false) => matmul_bt_unblocked_on,
        };
        let (a, b, mut c) = operands(s);
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

    #[divan::bench(args = [0, 1, 2, 3], sample_count = 20)]
    fn avx512_blocked(bencher: Bencher, w: usize) {
        go(bencher, Isa::Avx512, w, true);
    }
    #[divan::bench(args = [0, 1, 2, 3], sample_count = 20)]
    fn avx512_unblocked(bencher: Bencher, w: usize) {
        go(bencher, Isa::Avx512, w, false);
    }
    #[divan::bench(args = [0, 1, 2, 3], sample_count = 20)]
    fn avx2_blocked(bencher: Bencher, w: usize) {
        go(bencher, Isa::Avx2, w, true);
    }
    #[divan::bench(args = [0, 1, 2, 3], sample_count = 20)]
    fn avx2_unblocked(bencher: Bencher, w: usize) {
        go(bencher, Isa::Avx2, w, false);
    }
    #[divan::bench(args = [0, 1, 2, 3], sample_count = 20)]
    fn portable_blocked(bencher: Bencher, w: usize) {
        go(bencher, Isa::Portable, w, true);
    }
    #[divan::bench(args = [0, 1, 2, 3], sample_count = 20)]
    fn portable_unblocked(bencher: Bencher, w: usize) {
        go(bencher, Isa::Portable, w, false);
    }
}
