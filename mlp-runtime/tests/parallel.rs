//! Splitting kernels across threads (`kernels::parallel::set_threads`) never changes a
//! result: GEMMs split by rows or by columns, the Adam pass split by ranges, and whole
//! training runs are bit-identical to one thread.
//!
//! (On a one-core machine `set_threads(2)` stays at 1 and these tests compare one thread
//! with itself.)

use mlp_runtime::kernels::{matmul, matmul_at, matmul_bt, parallel};
use mlp_runtime::testing::{allocations, CountingAllocator};
use mlp_runtime::Targets;
use mlp_runtime::{Model, Network};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Deterministic values in [-1, 1).
fn values(n: usize, salt: u64) -> Vec<f32> {
    let mut s = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `f(threads)` for 1 and 2 threads, compared bit for bit.
fn same_with_two_threads(what: &str, f: impl Fn() -> Vec<f32>) {
    parallel::set_threads(1);
    let one = f();
    let threads = parallel::set_threads(2);
    let two = f();
    parallel::set_threads(1);
    assert_eq!(
        bits(&one),
        bits(&two),
        "{what} differs with {threads} threads"
    );
}

#[test]
fn split_gemms_are_bit_identical() {
    // (m, k, n): row splits (m large), column splits (m small, n wide), ragged sizes, and
    // shapes below the splitting threshold.
    let shapes = [
        (32, 784, 64),
        (1000, 784, 64),
        (784, 32, 64),
        (3, 700, 200),
        (37, 300, 45),
        (1, 784, 64),
        (129, 129, 129),
    ];
    for (m, k, n) in shapes {
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let c0 = values(m * n, 3);
        for accumulate in [false, true] {
            same_with_two_threads(&format!("matmul {m}x{k}x{n} acc={accumulate}"), || {
                let mut c = c0.clone();
                matmul(m, k, n, &a, &b, &mut c, accumulate);
                c
            });
            // aᵀ is k×m: reuse `a` read as k×m.
            same_with_two_threads(&format!("matmul_at {m}x{k}x{n} acc={accumulate}"), || {
                let mut c = c0.clone();
                matmul_at(m, k, n, &a, &b, &mut c, accumulate);
                c
            });
            // b read as n×k.
            same_with_two_threads(&format!("matmul_bt {m}x{k}x{n} acc={accumulate}"), || {
                let mut c = c0.clone();
                matmul_bt(m, k, n, &a, &b, &mut c, accumulate);
                c
            });
        }
    }
}

/// The notebook baseline's shape with an L1+L2 penalty on the first kernel.
fn network_ir() -> mlp_runtime::ir::Model {
    let spec = mlp_spec::compile(
        "model Net {
            input [784]
            Dense(64, activation = relu, reg = l1_l2(l1 = 0.0001, l2 = 0.001))
            Dense(32, activation = relu)
            Dense(10, activation = softmax)
            train { optimizer = adam(lr = 0.001) }
        }",
    )
    .unwrap_or_else(|e| panic!("spec: {e:?}"));
    spec.models[0].clone()
}

#[test]
fn split_adam_and_whole_training_runs_are_bit_identical() {
    let ir = &network_ir();
    let x: Vec<f32> = values(64 * 784, 7)
        .iter()
        .map(|v| (v + 1.0) * 127.0)
        .collect();
    let labels: Vec<u32> = (0..64).map(|i| (i * 7 % 10) as u32).collect();
    same_with_two_threads("training", || {
        let mut net = Network::new(ir, 5, 64).unwrap_or_else(|e| panic!("{e}"));
        for step in 0..6 {
            let rows = if step % 2 == 0 { 64 } else { 33 };
            net.train_step(&x, Targets::Classes(&labels), rows);
        }
        let mut out = net.params().to_vec();
        out.extend_from_slice(net.forward(&x, 64));
        out
    });
}

#[test]
fn split_steps_allocate_nothing_on_the_calling_thread() {
    let ir = network_ir();
    let x = vec![100.0f32; 1000 * 784];
    let labels = vec![3u32; 1000];
    let mut net = Network::new(&ir, 1, 1000).unwrap_or_else(|e| panic!("{e}"));
    parallel::set_threads(2);
    // The pool exists now; warm up once.
    net.train_step(&x, Targets::Classes(&labels), 1000);
    let before = allocations();
    net.train_step(&x, Targets::Classes(&labels), 1000);
    net.train_step(&x, Targets::Classes(&labels), 32);
    let _ = net.forward(&x, 1000);
    let after = allocations();
    parallel::set_threads(1);
    assert_eq!(after - before, 0, "allocations in split training steps");
}

#[test]
fn split_batch_gathers_convert_every_row_and_allocate_nothing() {
    use mlp_runtime::data::Dataset;
    let n = 50;
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i * 31 % 256) as u8).collect();
    let images =
        ndarray::Array2::from_shape_vec((n, 784), pixels.clone()).unwrap_or_else(|e| panic!("{e}"));
    let labels = ndarray::Array1::from_iter((0..n).map(|i| (i % 10) as u8));
    let data = Dataset::from_u8(images, vec![28, 28], labels, 10).unwrap_or_else(|e| panic!("{e}"));
    // 37 rows (split 19 + 18 with two threads), in a shuffled order with repeats.
    let indices: Vec<usize> = (0..37).map(|i| (i * 17 + 3) % n).collect();
    for threads in [1, 2] {
        parallel::set_threads(threads);
        let mut out = vec![-1.0f32; 40 * 784];
        data.gather_batch(&indices, &mut out);
        let before = allocations();
        data.gather_batch(&indices, &mut out);
        let allocated = allocations() - before;
        parallel::set_threads(1);
        assert_eq!(
            allocated, 0,
            "allocations in a gather with {threads} threads"
        );
        for (r, &index) in indices.iter().enumerate() {
            let expected: Vec<f32> = pixels[index * 784..(index + 1) * 784]
                .iter()
                .map(|&p| f32::from(p))
                .collect();
            assert_eq!(
                bits(&out[r * 784..(r + 1) * 784]),
                bits(&expected),
                "row {r} with {threads} threads"
            );
        }
        // Rows past the batch are untouched.
        assert!(out[37 * 784..]
            .iter()
            .all(|&v| v.to_bits() == (-1.0f32).to_bits()));
    }
}

#[test]
fn kernel_threads_compute_in_the_callers_denormal_mode() {
    use mlp_runtime::kernels::FlushDenormals;
    // Products of 1e-20 · 1e-20 = 1e-40 are denormal: kept by default, zero when flushed.
    let (m, k, n) = (256, 64, 64);
    let a = vec![1e-20f32; m * k];
    let b = vec![1e-20f32; k * n];
    let product = || {
        let mut c = vec![1.0f32; m * n];
        matmul(m, k, n, &a, &b, &mut c, false);
        c
    };
    same_with_two_threads("product with denormals kept", product);
    same_with_two_threads("product with denormals flushed", || {
        let _flush = FlushDenormals::new();
        product()
    });
    parallel::set_threads(2);
    let kept = product();
    let flushed = {
        let _flush = FlushDenormals::new();
        product()
    };
    parallel::set_threads(1);
    assert!(
        kept.iter().all(|v| v.is_subnormal()),
        "denormals kept outside the guard"
    );
    if cfg!(target_arch = "x86_64") {
        assert!(
            flushed.iter().all(|v| v.to_bits() == 0),
            "every row, on either thread, flushed to +0 inside the guard"
        );
    }
}
