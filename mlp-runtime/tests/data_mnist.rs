//! Real MNIST (through `$MLP_DATA`, or `../shared/data` beside the checkout), the
//! hard-coded download checksums against the canonical files, and the `Dataset` methods
//! training uses: `gather_batch`, `gather_targets`, `split_last`.

use std::path::PathBuf;

use mlp_runtime::data::{
    load_mnist, load_mnist_with, DataError, Dataset, Features, Limits, LoadOptions, TargetBuffer,
    MNIST_FILES,
};
use mlp_runtime::Targets;
use ndarray::{Array1, Array2, ShapeBuilder};
use sha2::{Digest, Sha256};

/// The folder holding `mnist/`: `$MLP_DATA`, else `shared/data` beside the checkout.
fn data_root() -> PathBuf {
    if let Some(root) = std::env::var_os("MLP_DATA").filter(|v| !v.is_empty()) {
        return PathBuf::from(root);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        manifest.join("../shared/data"),
        manifest.join("../../shared/data"),
    ];
    for candidate in &candidates {
        if candidate.join("mnist").is_dir() {
            return candidate.clone();
        }
    }
    panic!(
        "real MNIST not found: MLP_DATA is unset and neither {} nor {} holds mnist/",
        candidates[0].display(),
        candidates[1].display()
    );
}

/// Digit counts of the real files, from `shared/data/mnist/SOURCE.md` (counted there
/// independently of this code).
const TRAIN_COUNTS: [usize; 10] = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

#[test]
fn real_mnist_loads_through_mlp_data_and_through_data_dir() {
    let root = data_root();
    let options = LoadOptions {
        data_dir: None,
        mlp_data: Some(root.clone()),
        cache_dir: None,
        remote: None,
        limits: Limits::default(),
    };
    let mnist = load_mnist_with(&options).expect("real MNIST");
    for (set, count, counts) in [
        (&mnist.train, 60_000, TRAIN_COUNTS),
        (&mnist.test, 10_000, TEST_COUNTS),
    ] {
        assert_eq!(set.len(), count);
        assert_eq!(set.images().expect("u8 features").dim(), (count, 784));
        assert_eq!(set.sample_shape, vec![28, 28]);
        assert_eq!(set.classes(), Some(10));
        assert_eq!(set.label_counts(), counts);
        assert_eq!(
            set.images().expect("u8 features").iter().copied().max(),
            Some(255)
        );
        assert_eq!(
            set.images().expect("u8 features").iter().copied().min(),
            Some(0)
        );
    }
    // The first training digit is a 5, the first test digit a 7 (LeCun's page shows both).
    assert_eq!(mnist.train.labels().expect("class targets")[0], 5);
    assert_eq!(mnist.test.labels().expect("class targets")[0], 7);
    // Images are stored row by row: the 5's ink lies in rows 5 to 24, its only 255s in row 5;
    // its pixels add up to 27525 (both counted with Python's gzip module, independently).
    let first = mnist.train.images().expect("u8 features").row(0);
    let ink_rows: Vec<usize> = (0..28)
        .filter(|r| first.iter().skip(28 * r).take(28).any(|&p| p > 0))
        .collect();
    assert_eq!(ink_rows, (5..=24).collect::<Vec<_>>());
    assert!(first.iter().skip(28 * 5).take(28).any(|&p| p == 255));
    assert_eq!(first.iter().map(|&p| u32::from(p)).sum::<u32>(), 27_525);

    // `--data` pointing at the folder that holds mnist/ finds the same data.
    let again = load_mnist(Some(&root)).expect("real MNIST via --data");
    assert!(again == mnist, "the two lookups disagree");
}

#[test]
fn hard_coded_checksums_match_the_canonical_files() {
    let dir = data_root().join("mnist");
    for (name, expected) in MNIST_FILES {
        let bytes = std::fs::read(dir.join(name)).expect("canonical file");
        let found = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(found, expected, "{name}");
    }
}

/// A dataset of `n` samples of 2x3 whose pixel `p` of sample `i` is `10 i + p`.
fn small(n: usize) -> Dataset {
    let images = Array2::from_shape_fn((n, 6), |(i, p)| (10 * i + p) as u8);
    let labels = Array1::from_shape_fn(n, |i| (i % 10) as u8);
    Dataset::from_u8(images, vec![2, 3], labels, 10).expect("consistent dataset")
}

#[test]
fn gather_batch_writes_only_its_rows_as_raw_values() {
    let set = small(12);
    let indices = [11, 0, 5, 5];
    let mut out = vec![f32::NAN; 4 * 6 + 3];
    set.gather_batch(&indices, &mut out);
    let expected: Vec<f32> = indices
        .iter()
        .flat_map(|&i| (0..6).map(move |p| (10 * i + p) as f32))
        .collect();
    assert_eq!(out[..24], expected[..]);
    assert!(out[24..].iter().all(|v| v.is_nan()), "wrote past the batch");
    // Room for 6 targets; the batch fills the first 4 and only those are returned.
    let mut targets = TargetBuffer::new(&set, 6);
    let y = set.gather_targets(&indices, &mut targets);
    assert_eq!(y, Targets::Classes(&[1, 0, 5, 5]));
    // An empty batch writes nothing.
    let mut untouched = vec![f32::NAN; 6];
    set.gather_batch(&[], &mut untouched);
    assert!(untouched.iter().all(|v| v.is_nan()));
}

#[test]
fn gather_batch_reads_non_standard_layouts() {
    let mut set = small(3);
    // The same values stored column by column.
    set.features = Features::U8(Array2::from_shape_fn((3, 6).f(), |(i, p)| {
        (10 * i + p) as u8
    }));
    assert!(set
        .images()
        .expect("u8 features")
        .row(0)
        .as_slice()
        .is_none());
    let mut out = vec![0.0; 6];
    set.gather_batch(&[2], &mut out);
    assert_eq!(out, [20.0, 21.0, 22.0, 23.0, 24.0, 25.0]);
}

#[test]
fn split_last_takes_the_tail_as_keras_does() {
    // Keras: split_at = floor(10 * (1 - 0.25)) = 7.
    let set = small(10);
    let (train, validation) = set.split_last(0.25).expect("valid split");
    assert_eq!((train.len(), validation.len()), (7, 3));
    assert_eq!(
        train.labels().expect("class targets").to_vec(),
        [0, 1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        validation.labels().expect("class targets").to_vec(),
        [7, 8, 9]
    );
    assert_eq!(validation.images().expect("u8 features")[[0, 0]], 70);
    assert_eq!(validation.sample_shape, vec![2, 3]);
    // floor(60000 * 0.8) = 48000 (0.8 is not exact in binary; floor must still give this).
    let big = Dataset::from_u8(
        Array2::zeros((60_000, 1)),
        vec![1],
        Array1::zeros(60_000),
        10,
    )
    .expect("zeros");
    let (train, validation) = big.split_last(0.2).expect("valid split");
    assert_eq!((train.len(), validation.len()), (48_000, 12_000));
    // floor(3 * (1 - 0.1)) = floor(2.7) = 2.
    let (train, validation) = small(3).split_last(0.1).expect("valid split");
    assert_eq!((train.len(), validation.len()), (2, 1));
    for (n, fraction) in [
        (10, 0.0),
        (10, 1.0),
        (10, -0.5),
        (10, 1.5),
        (10, f64::NAN),
        (1, 0.5),
        (10, 1e-17),
    ] {
        let error = small(n).split_last(fraction).expect_err("empty side");
        assert!(
            matches!(error, DataError::BadSplit { samples, .. } if samples == n),
            "{n} samples, fraction {fraction}: {error:?}"
        );
    }
}

#[test]
fn dataset_new_checks_its_invariants() {
    let images = Array2::<u8>::zeros((3, 6));
    for (shape, labels, classes, expected) in [
        (
            vec![2, 2],
            vec![0, 1, 2],
            10,
            "the features have 6 columns but the sample shape [2, 2] holds 4",
        ),
        (vec![2, 3], vec![0, 1], 10, "3 feature rows but 2 targets"),
        (
            vec![2, 3],
            vec![0, 1, 3],
            3,
            "label 3 of sample 2 is not a class (expected 0..=2)",
        ),
        (vec![2, 3], vec![0, 0, 0], 0, "0 classes"),
    ] {
        let error = Dataset::from_u8(images.clone(), shape, Array1::from_vec(labels), classes)
            .expect_err("inconsistent");
        assert!(error.to_string().contains(expected), "{error}");
    }
    let set = small(4);
    assert_eq!(
        set.slice(1..3).labels().expect("class targets").to_vec(),
        [1, 2]
    );
    assert_eq!(set.slice(3..100).len(), 1);
    assert!(set.slice(7..9).is_empty());
}
