//! Whole-model benchmarks of the notebook baseline (784-64-32-10, `ReLU`, softmax, Adam,
//! batch 32): the code `include_mlp!` generates, the dynamic `Network` running the same IR,
//! and a hand-written `ndarray` + `matrixmultiply` loop of the same model
//! (`mlp_cli::handwritten`, the copy `mlp bench` measures too), side by side so their
//! ratios come from one run.
//!
//! `exported` rows run `baseline::predict`, the standalone `no_std` export of the same model
//! (`include_mlp!(…, weights = …)`), one sample at a time.
//!
//! Rows: one training epoch over 60 000 images (`fit`, one epoch, no validation: shuffle,
//! gather u8 -> f32, 1875 steps), the batch-1 forward pass, and 10 000 images forward in
//! batches of 1000. Data: real MNIST from `$MLP_DATA/mnist` or the user cache when present
//! (nothing is downloaded), else deterministic synthetic pixels of the same shape.
//!
//! Run with `cargo bench --bench models` (with `MLP_DATA` pointing at the data). Every row
//! runs on one core except those of `two_threads`.

use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use mlp::runtime::data::{load_mnist_with, Dataset, LoadOptions};
use mlp::runtime::{fit, FitOptions, Model, Network};
use mlp_cli::handwritten;
use ndarray::{Array1, Array2};

mlp::include_mlp!("specs/notebook/baseline.mlp");

// The same model as standalone inference code (what `mlp export --format rust` writes), with
// the weights of a one-epoch checkpoint compiled in: `baseline::predict`.
mlp::include_mlp!(
    "specs/notebook/baseline.mlp",
    weights = "tests/fixtures/baseline-1epoch.safetensors"
);

fn main() {
    divan::main();
}

/// Training images: MNIST's 60 000 when found, else synthetic.
fn train_set() -> &'static Dataset {
    static DATA: OnceLock<Dataset> = OnceLock::new();
    DATA.get_or_init(|| {
        let options = LoadOptions {
            remote: None,
            ..LoadOptions::from_env(None)
        };
        match load_mnist_with(&options) {
            Ok(mnist) => mnist.train,
            Err(_) => synthetic(60_000),
        }
    })
}

/// `n` deterministic 28×28 images (pixel values spread like MNIST's: mostly 0) and labels.
fn synthetic(n: usize) -> Dataset {
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let images = Array2::from_shape_fn((n, 784), |_| {
        let r = next();
        if r % 5 < 4 {
            0
        } else {
            (r >> 8) as u8
        }
    });
    let labels = Array1::from_shape_fn(n, |_| (next() % 10) as u8);
    match Dataset::from_u8(images, vec![28, 28], labels, 10) {
        Ok(d) => d,
        Err(e) => panic!("synthetic dataset: {e}"),
    }
}

/// `rows` test-like f32 inputs taken from the training images.
fn inputs(rows: usize) -> Vec<f32> {
    let data = train_set();
    let idx: Vec<usize> = (0..rows).map(|i| i % data.len()).collect();
    let mut x = vec![0.0; rows * data.features()];
    data.gather_batch(&idx, &mut x);
    x
}

/// One epoch of `fit`, no validation, a new shuffle each sample.
fn bench_fit<M: Model>(bencher: Bencher, model: &mut M) {
    let data = train_set();
    let mut epoch = 0u64;
    bencher.bench_local(|| {
        epoch += 1;
        let options = FitOptions {
            epochs: 1,
            seed: epoch,
            ..FitOptions::default()
        };
        black_box(fit(model, data, None, &options).ok().map(|h| h.loss[0]))
    });
}

/// The hand-written baseline with the generated model's shapes and optimiser.
fn hand_written() -> handwritten::HandWritten {
    match handwritten::HandWritten::new(Baseline::new(0).ir(), 0) {
        Ok(model) => model,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `f` with the kernels split across `threads` threads, then back to one.
fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    mlp::runtime::kernels::parallel::set_threads(threads);
    let r = f();
    mlp::runtime::kernels::parallel::set_threads(1);
    r
}

/// The rows above that use both cores (`kernels::parallel::set_threads(2)`); results are
/// bit-identical to one thread.
mod two_threads {
    use super::{bench_fit, inputs, with_threads, Baseline, Bencher, ItemsCount, Model};
    use divan::black_box;

    #[divan::bench(sample_count = 5, sample_size = 1)]
    fn train_epoch_generated(bencher: Bencher) {
        with_threads(2, || bench_fit(bencher, &mut Baseline::new(0)));
    }

    #[divan::bench(sample_count = 20)]
    fn infer_10k_generated(bencher: Bencher) {
        let mut model = Baseline::with_max_batch(1000, 0);
        let x = inputs(10_000);
        with_threads(2, || {
            bencher
                .counter(ItemsCount::new(10_000usize))
                .bench_local(|| {
                    let mut acc = 0.0;
                    for chunk in x.chunks_exact(1000 * 784) {
                        acc += model.forward(black_box(chunk), 1000)[0];
                    }
                    black_box(acc)
                });
        });
    }
}

/// One training epoch over 60 000 images.
mod train_epoch {
    use super::{bench_fit, black_box, hand_written, train_set, Baseline, Bencher, Model, Network};

    #[divan::bench(sample_count = 5, sample_size = 1)]
    fn generated(bencher: Bencher) {
        bench_fit(bencher, &mut Baseline::new(0));
    }

    #[divan::bench(sample_count = 5, sample_size = 1)]
    fn network(bencher: Bencher) {
        let ir = Baseline::new(0).ir().clone();
        match Network::new(&ir, 0, 32) {
            Ok(mut net) => bench_fit(bencher, &mut net),
            Err(e) => panic!("{e}"),
        }
    }

    #[divan::bench(sample_count = 5, sample_size = 1)]
    fn handwritten(bencher: Bencher) {
        let data = train_set();
        let mut model = hand_written();
        let mut epoch = 0;
        bencher.bench_local(|| {
            epoch += 1;
            black_box(model.epoch(data, 32, epoch))
        });
    }
}

/// Inference on one image (latency).
mod forward_batch1 {
    use super::{black_box, hand_written, inputs, Baseline, Bencher, Model, Network};
    use ndarray::ArrayView2;

    #[divan::bench]
    fn generated(bencher: Bencher) {
        let mut model = Baseline::new(0);
        let x = inputs(1);
        bencher.bench_local(|| black_box(model.forward(black_box(&x), 1)[0]));
    }

    #[divan::bench]
    fn network(bencher: Bencher) {
        let ir = Baseline::new(0).ir().clone();
        let mut net = match Network::new(&ir, 0, 1) {
            Ok(net) => net,
            Err(e) => panic!("{e}"),
        };
        let x = inputs(1);
        bencher.bench_local(|| black_box(net.forward(black_box(&x), 1)[0]));
    }

    #[divan::bench]
    fn exported(bencher: Bencher) {
        let x: [f32; super::baseline::INPUTS] = match inputs(1).try_into() {
            Ok(x) => x,
            Err(v) => panic!("one image, not {} floats", v.len()),
        };
        let mut scratch = [0.0; super::baseline::SCRATCH];
        let mut out = [0.0; super::baseline::OUTPUTS];
        bencher.bench_local(|| {
            super::baseline::predict(black_box(&x), &mut scratch, &mut out);
            black_box(out[0])
        });
    }

    #[divan::bench]
    fn handwritten(bencher: Bencher) {
        let model = hand_written();
        let x = inputs(1);
        let view = match ArrayView2::from_shape((1, 784), &x) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        };
        bencher.bench_local(|| black_box(model.predict(black_box(view))[[0, 0]]));
    }
}

/// 10 000 images forward in batches of 1000 (throughput; items are images).
mod infer_10k {
    use super::{black_box, hand_written, inputs, Baseline, Bencher, ItemsCount, Model, Network};
    use ndarray::ArrayView2;

    const IMAGES: usize = 10_000;
    const BATCH: usize = 1000;

    fn run<M: Model>(bencher: Bencher, model: &mut M) {
        let x = inputs(IMAGES);
        bencher.counter(ItemsCount::new(IMAGES)).bench_local(|| {
            let mut acc = 0.0;
            for chunk in x.chunks_exact(BATCH * 784) {
                acc += model.forward(black_box(chunk), BATCH)[0];
            }
            black_box(acc)
        });
    }

    #[divan::bench(sample_count = 20)]
    fn generated(bencher: Bencher) {
        run(bencher, &mut Baseline::with_max_batch(BATCH, 0));
    }

    #[divan::bench(sample_count = 20)]
    fn network(bencher: Bencher) {
        let ir = Baseline::new(0).ir().clone();
        match Network::new(&ir, 0, BATCH) {
            Ok(mut net) => run(bencher, &mut net),
            Err(e) => panic!("{e}"),
        }
    }

    #[divan::bench(sample_count = 20)]
    fn exported(bencher: Bencher) {
        let x = inputs(IMAGES);
        let mut scratch = [0.0; super::baseline::SCRATCH];
        let mut out = vec![0.0; IMAGES * super::baseline::OUTPUTS];
        bencher.counter(ItemsCount::new(IMAGES)).bench_local(|| {
            black_box(super::baseline::predict_batch(
                black_box(&x),
                &mut scratch,
                &mut out,
            ));
            black_box(out[0])
        });
    }

    #[divan::bench(sample_count = 20)]
    fn handwritten(bencher: Bencher) {
        let model = hand_written();
        let x = inputs(IMAGES);
        bencher.counter(ItemsCount::new(IMAGES)).bench_local(|| {
            let mut acc = 0.0;
            for chunk in x.chunks_exact(BATCH * 784) {
                if let Ok(view) = ArrayView2::from_shape((BATCH, 784), chunk) {
                    acc += model.predict(black_box(view))[[0, 0]];
                }
            }
            black_box(acc)
        });
    }
}
