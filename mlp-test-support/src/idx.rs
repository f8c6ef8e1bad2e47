//! IDX files (MNIST's format) written from the format's description, independently of the
//! runtime's reader: a big-endian magic (`0x0803` for `u8` images of three dimensions,
//! `0x0801` for labels), one big-endian `u32` per dimension, then the bytes.
//!
//! The header and the data are given separately, so a test can make them disagree.

use std::fs;
use std::path::Path;

/// Magic of an image file: `u8` data, three dimensions (count, rows, columns).
pub const IMAGES: u32 = 0x0803;
/// Magic of a label file: `u8` data, one dimension (count).
pub const LABELS: u32 = 0x0801;

/// MNIST's four file names: train images, train labels, test images, test labels.
pub const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// An IDX header: `magic`, then each dimension, all big-endian `u32`.
#[must_use]
pub fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

/// An image file claiming `count` images of `rows`×`cols`, holding `pixels`.
#[must_use]
pub fn images(count: u32, rows: u32, cols: u32, pixels: impl IntoIterator<Item = u8>) -> Vec<u8> {
    let mut out = header(IMAGES, &[count, rows, cols]);
    out.extend(pixels);
    out
}

/// A label file claiming `count` labels, holding `labels`.
#[must_use]
pub fn labels(count: u32, labels: &[u8]) -> Vec<u8> {
    let mut out = header(LABELS, &[count]);
    out.extend_from_slice(labels);
    out
}

/// `len` pixels of a simple pattern (`i·7 mod 256` at flat index `i`), so images differ.
pub fn pattern(len: usize) -> impl Iterator<Item = u8> {
    (0..len).map(|i| (i * 7 % 256) as u8)
}

/// `count` labels cycling through the ten classes.
#[must_use]
pub fn cycling_labels(count: u32) -> Vec<u8> {
    (0..count).map(|i| (i % 10) as u8).collect()
}

/// A valid tiny MNIST in `dir` (created if missing): `train` and `test` images of 28×28
/// (the [`pattern`]) with [`cycling_labels`], under MNIST's [`NAMES`], uncompressed.
///
/// # Panics
/// When a file cannot be written.
pub fn write_mnist(dir: &Path, train: u32, test: u32) {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let files = [
        images(train, 28, 28, pattern(train as usize * 784)),
        labels(train, &cycling_labels(train)),
        images(test, 28, 28, pattern(test as usize * 784)),
        labels(test, &cycling_labels(test)),
    ];
    for (name, bytes) in NAMES.iter().zip(files) {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
