//! Small datasets made on the fly for the data tests: IDX files (plain or gzipped, through
//! `mlp_test_support::idx`), `.npy` arrays and `.npz` archives, written by hand from the
//! format descriptions so the readers are tested against an independent writer.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::Write;
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;
use mlp_test_support::idx;

/// Pixel `p` of image `i`: a pattern that differs between images and pixels.
pub fn pixel(i: usize, p: usize) -> u8 {
    ((i * 31 + p * 7) % 256) as u8
}

/// Label of sample `i` among ten classes.
pub fn label(i: usize) -> u8 {
    ((i * 3 + 1) % 10) as u8
}

/// An IDX image file of `count` images of `rows`x`cols` with the [`pixel`] pattern.
pub fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let size = (rows * cols) as usize;
    let pixels = (0..count as usize).flat_map(|i| (0..size).map(move |p| pixel(i, p)));
    idx::images(count, rows, cols, pixels)
}

/// An IDX label file of `labels`.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    idx::labels(labels.len() as u32, labels)
}

/// An IDX header: the big-endian magic, then each dimension as a big-endian u32.
pub fn idx_header(magic: u32, dims: &[u32]) -> Vec<u8> {
    idx::header(magic, dims)
}

/// The labels of samples `0..count`.
pub fn labels(count: usize) -> Vec<u8> {
    (0..count).map(label).collect()
}

/// The labels of samples `0..count` as a [`mlp_runtime::data::Dataset`] holds them (u32
/// class indices).
pub fn class_labels(count: usize) -> Vec<u32> {
    (0..count).map(|i| u32::from(label(i))).collect()
}

/// `bytes` gzipped.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// Writes `bytes` to `dir/name`.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

/// The four MNIST file names, in train images, train labels, test images, test labels order.
pub const IDX_NAMES: [&str; 4] = idx::NAMES;

/// The four files of a small MNIST-shaped set, (name, bytes): `train` and `test` samples of
/// `rows`x`cols`, gzipped (with `.gz` names) if `gz`.
pub fn idx_set(train: u32, test: u32, rows: u32, cols: u32, gz: bool) -> Vec<(String, Vec<u8>)> {
    let files = [
        idx_images(train, rows, cols),
        idx_labels(&labels(train as usize)),
        idx_images(test, rows, cols),
        idx_labels(&labels(test as usize)),
    ];
    IDX_NAMES
        .iter()
        .zip(files)
        .map(|(name, bytes)| {
            if gz {
                (format!("{name}.gz"), gzip(&bytes))
            } else {
                ((*name).to_owned(), bytes)
            }
        })
        .collect()
}

/// Writes a small MNIST-shaped IDX set into `dir`.
pub fn write_idx_set(dir: &Path, train: u32, test: u32, gz: bool) {
    std::fs::create_dir_all(dir).expect("create fixture dir");
    for (name, bytes) in idx_set(train, test, 28, 28, gz) {
        write(dir, &name, &bytes);
    }
}

/// An `.npy` (format 1.0) array: magic, version, header length, the header dict padded
/// with spaces and a newline to a multiple of 64 bytes, then `data`.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The four members of a small `mnist.npz`: `train` and `test` images of 28x28.
pub fn mnist_npz_members(train: usize, test: usize) -> Vec<(String, Vec<u8>)> {
    let images = |count: usize| -> Vec<u8> {
        (0..count)
            .flat_map(|i| (0..784).map(move |p| pixel(i, p)))
            .collect()
    };
    vec![
        (
            "x_train.npy".to_owned(),
            npy("|u1", &[train, 28, 28], &images(train)),
        ),
        (
            "y_train.npy".to_owned(),
            npy("|u1", &[train], &labels(train)),
        ),
        (
            "x_test.npy".to_owned(),
            npy("|u1", &[test, 28, 28], &images(test)),
        ),
        ("y_test.npy".to_owned(), npy("|u1", &[test], &labels(test))),
    ]
}

/// Writes a zip archive (deflated members) at `path`.
pub fn write_npz(path: &Path, members: &[(String, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("create npz");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in members {
        zip.start_file(name.as_str(), options).expect("zip member");
        zip.write_all(bytes).expect("zip member");
    }
    zip.finish().expect("finish npz");
}
