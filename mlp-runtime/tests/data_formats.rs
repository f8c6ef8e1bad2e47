//! IDX and `.npz` readers: well-formed files read back exactly, and every kind of malformed
//! file gives the right error, naming the file, without panicking and without allocating
//! from an unchecked header (a per-thread allocation tracker proves the last point).

// The allocation tracker below is a `GlobalAlloc`, which is an unsafe trait.
#![allow(unsafe_code)]

mod data_fixtures;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use data_fixtures::{
    class_labels, gzip, idx_header, idx_images, idx_labels, label, labels, mnist_npz_members, npy,
    pixel, write, write_npz,
};
use mlp_runtime::data::{
    read_idx_images, read_idx_images_from, read_idx_images_with, read_idx_labels, read_mnist_npz,
    read_mnist_npz_with, DataError, Dataset, Limits, MNIST_CLASSES,
};

/// Records, per thread, the largest single allocation made while tracking is on.
struct PeakAlloc;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(size)));
        }
    });
}

// SAFETY: every method forwards to `System` unchanged; `note` only touches
// destructor-free thread-locals and never allocates.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Runs `f` and returns its result with the largest single allocation it made.
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    PEAK.with(|peak| peak.set(0));
    TRACKING.with(|tracking| tracking.set(true));
    let result = f();
    TRACKING.with(|tracking| tracking.set(false));
    (result, PEAK.with(Cell::get))
}

/// A fresh temporary folder.
fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// Writes `bytes` as `name` and reads it as IDX images; the error's message must start with
/// the file's path and contain `expected`.
fn images_error(name: &str, bytes: &[u8], expected: &str) -> DataError {
    let dir = tempdir();
    let path = write(dir.path(), name, bytes);
    let error = read_idx_images(&path).expect_err("malformed file must be refused");
    check_message(&error, &path, expected);
    error
}

fn check_message(error: &DataError, path: &Path, expected: &str) {
    let message = error.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "message should start with the path {}: {message}",
        path.display()
    );
    assert!(
        message.contains(expected),
        "message should contain {expected:?}: {message}"
    );
}

#[test]
fn plain_and_gzipped_idx_files_read_back_exactly() {
    let dir = tempdir();
    let plain = write(dir.path(), "train-images-idx3-ubyte", &idx_images(5, 3, 4));
    let gz = write(
        dir.path(),
        "train-images-idx3-ubyte.gz",
        &gzip(&idx_images(5, 3, 4)),
    );
    for path in [plain, gz] {
        let images = read_idx_images(&path).expect("well-formed file");
        assert_eq!(images.dim(), (5, 3, 4));
        for ((i, r, c), &value) in images.indexed_iter() {
            assert_eq!(value, pixel(i, r * 4 + c), "pixel ({i}, {r}, {c})");
        }
    }
    let labels_path = write(dir.path(), "l.gz", &gzip(&idx_labels(&labels(7))));
    let read = read_idx_labels(&labels_path).expect("well-formed labels");
    assert_eq!(read.to_vec(), labels(7));
}

#[test]
fn dataset_from_idx_flattens_samples() {
    let dir = tempdir();
    let images = write(dir.path(), "i", &idx_images(6, 28, 28));
    let labels_path = write(dir.path(), "l", &idx_labels(&labels(6)));
    let set = Dataset::from_idx(&images, &labels_path, MNIST_CLASSES, Limits::default())
        .expect("well-formed pair");
    assert_eq!(set.len(), 6);
    assert_eq!(set.sample_shape, vec![28, 28]);
    assert_eq!(set.features(), 784);
    assert_eq!(set.images().expect("u8 features")[[4, 100]], pixel(4, 100));
    assert_eq!(set.labels().expect("class targets")[5], u32::from(label(5)));
}

#[test]
fn reader_source_works_like_a_file() {
    let bytes = gzip(&idx_images(2, 2, 2));
    let images = read_idx_images_from(&bytes[..], Path::new("<memory>"), Limits::default())
        .expect("well-formed stream");
    assert_eq!(images.dim(), (2, 2, 2));
    let error = read_idx_images_from(&bytes[..5], Path::new("<memory>"), Limits::default())
        .expect_err("cut gzip stream");
    assert!(matches!(error, DataError::Gzip { .. }), "{error:?}");
}

#[test]
fn wrong_magic_is_refused() {
    // A label file where images are expected: the message says what each magic means.
    let error = images_error(
        "train-images-idx3-ubyte",
        &idx_labels(&[1, 2, 3]),
        "magic number is 0x00000801 (IDX labels: unsigned bytes, 1 dimension), expected 0x00000803",
    );
    assert!(matches!(
        error,
        DataError::BadMagic {
            found: 0x801,
            expected: 0x803,
            ..
        }
    ));
    // Text, gzipped: decompressed first, then refused for its magic.
    let error = images_error("x.gz", &gzip(b"hello world, not idx"), "not an IDX file");
    assert!(matches!(error, DataError::BadMagic { .. }));
    // Too short to hold even a magic number, but its first bytes are already wrong.
    let error = images_error("x", b"PK\x03\x04", "a zip archive");
    assert!(matches!(error, DataError::BadMagic { .. }));
}

#[test]
fn truncated_header_is_refused() {
    let header = idx_header(0x0803, &[3, 2, 2]);
    let error = images_error(
        "t",
        &header[..10],
        "the file ends after 10 bytes, inside its 16-byte header",
    );
    assert!(matches!(
        error,
        DataError::TruncatedHeader {
            needed: 16,
            found: 10,
            ..
        }
    ));
    let error = images_error("t.gz", &gzip(&header[..2]), "ends after 2 bytes");
    assert!(matches!(error, DataError::TruncatedHeader { .. }));
}

#[test]
fn truncated_body_is_refused() {
    let bytes = idx_images(3, 2, 2);
    let message =
        "header says 3 images of 2x2 (12 bytes) but the file holds 7 bytes after its 16-byte header";
    let error = images_error("t", &bytes[..16 + 7], message);
    assert!(matches!(
        error,
        DataError::SizeMismatch {
            claimed: 12,
            found: 7,
            ..
        }
    ));
    let error = images_error("t.gz", &gzip(&bytes[..16 + 7]), message);
    assert!(matches!(error, DataError::SizeMismatch { found: 7, .. }));
}

#[test]
fn dims_that_disagree_with_the_file_size_are_refused() {
    // One byte too many after the pixels.
    let mut bytes = idx_images(3, 2, 2);
    bytes.push(0);
    let error = images_error("t", &bytes, "(12 bytes) but the file holds 13 bytes");
    assert!(matches!(error, DataError::SizeMismatch { found: 13, .. }));
    let error = images_error("t.gz", &gzip(&bytes), "holds 13 bytes");
    assert!(matches!(error, DataError::SizeMismatch { found: 13, .. }));
    // Rows and columns swapped with the count: same byte total is fine for IDX, but a
    // zero-sized image is not.
    let mut bytes = idx_header(0x0803, &[3, 0, 4]);
    bytes.extend([0; 12]);
    let error = images_error("t", &bytes, "images of 0x4 pixels");
    assert!(matches!(error, DataError::BadHeader { .. }));
    // Labels: the count disagrees with the bytes.
    let dir = tempdir();
    let mut bytes = idx_header(0x0801, &[5]);
    bytes.extend([1, 2, 3]);
    let path = write(dir.path(), "train-labels-idx1-ubyte", &bytes);
    let error = read_idx_labels(&path).expect_err("short label file");
    check_message(
        &error,
        &path,
        "header says 5 labels (5 bytes) but the file holds 3 bytes",
    );
}

#[test]
fn lying_headers_are_refused_before_allocating() {
    // Claims (2^32-1)^3 bytes: over any limit, refused outright.
    let bytes = idx_header(0x0803, &[u32::MAX, u32::MAX, u32::MAX]);
    let (error, peak) = peak_allocation(|| {
        let dir = tempdir();
        let path = write(dir.path(), "huge", &bytes);
        read_idx_images(&path).expect_err("absurd claim")
    });
    assert!(
        matches!(error, DataError::OverLimit { limit, .. } if limit == 1 << 30),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("more than the limit of 1073741824 bytes"));
    assert!(peak < 1 << 20, "allocated {peak} bytes for a lying header");

    // Claims 60000 images of 28x28, within the default limit, in a tiny file: plain files
    // are checked against their length, gzipped ones grow their buffer only as data
    // arrives, so neither allocates the claimed 47 MB.
    let mut bytes = idx_header(0x0803, &[60_000, 28, 28]);
    bytes.extend([7; 100]);
    for (name, content) in [("lie", bytes.clone()), ("lie.gz", gzip(&bytes))] {
        let (error, peak) = peak_allocation(|| {
            let dir = tempdir();
            let path = write(dir.path(), name, &content);
            read_idx_images(&path).expect_err("lying header")
        });
        assert!(
            error.to_string().contains(
                "header says 60000 images of 28x28 (47040000 bytes) but the file holds 100 bytes"
            ),
            "{error}"
        );
        assert!(
            peak < 1 << 20,
            "{name}: allocated {peak} bytes for a lying header"
        );
    }

    // A custom limit applies to honest headers too.
    let dir = tempdir();
    let path = write(dir.path(), "t", &idx_images(10, 10, 10));
    let error = read_idx_images_with(&path, Limits { max_bytes: 999 }).expect_err("over limit");
    check_message(
        &error,
        &path,
        "header says 10 images of 10x10 (1000 bytes), more than the limit of 999 bytes",
    );
}

#[test]
fn gzip_bomb_is_cut_at_the_limit() {
    // The header honestly claims 100 bytes but the stream goes on for 50 MB of zeros.
    let mut bytes = idx_header(0x0803, &[1, 10, 10]);
    bytes.resize(16 + 50_000_000, 0);
    let bomb = gzip(&bytes);
    let limits = Limits {
        max_bytes: 1_000_000,
    };
    let (error, peak) = peak_allocation(|| {
        let dir = tempdir();
        let path = write(dir.path(), "bomb.gz", &bomb);
        read_idx_images_with(&path, limits).expect_err("gzip bomb")
    });
    assert!(
        matches!(
            error,
            DataError::DecompressedOverLimit {
                limit: 1_000_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(peak < 1 << 20, "allocated {peak} bytes for a gzip bomb");
    // Within the limit, the true size is reported.
    let small = gzip(&bytes[..16 + 5000]);
    let dir = tempdir();
    let path = write(dir.path(), "small.gz", &small);
    let error = read_idx_images_with(&path, limits).expect_err("too long");
    assert!(
        matches!(error, DataError::SizeMismatch { found: 5000, .. }),
        "{error:?}"
    );
}

#[test]
fn image_label_count_mismatch_is_refused() {
    let dir = tempdir();
    let images = write(dir.path(), "train-images-idx3-ubyte", &idx_images(4, 2, 2));
    let labels_path = write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels(&labels(3)),
    );
    let error = Dataset::from_idx(&images, &labels_path, 10, Limits::default())
        .expect_err("4 images, 3 labels");
    assert!(matches!(
        error,
        DataError::CountMismatch {
            images: 4,
            labels: 3,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "{} holds 4 images but {} holds 3 labels",
            images.display(),
            labels_path.display()
        )
    );
}

#[test]
fn label_out_of_range_is_refused() {
    let dir = tempdir();
    let images = write(dir.path(), "i", &idx_images(4, 2, 2));
    let labels_path = write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels(&[0, 9, 10, 3]),
    );
    let error =
        Dataset::from_idx(&images, &labels_path, 10, Limits::default()).expect_err("label 10");
    assert!(matches!(
        error,
        DataError::LabelOutOfRange {
            index: 2,
            label: 10,
            classes: 10,
            ..
        }
    ));
    check_message(
        &error,
        &labels_path,
        "label 10 of sample 2 is not a class (expected 0..=9)",
    );
}

#[test]
fn empty_files_are_refused() {
    let error = images_error("train-images-idx3-ubyte", b"", "the file is empty");
    assert!(matches!(error, DataError::Empty { .. }));
    let error = images_error("e.gz", &gzip(b""), "the file is empty");
    assert!(matches!(error, DataError::Empty { .. }));
    let dir = tempdir();
    let path = write(dir.path(), "mnist.npz", b"");
    let error = read_mnist_npz(&path).expect_err("empty npz");
    assert!(matches!(error, DataError::Empty { .. }));
}

#[test]
fn corrupt_gzip_is_refused() {
    let good = gzip(&idx_images(20, 28, 28));
    // Cut short.
    let error = images_error(
        "c.gz",
        &good[..good.len() / 2],
        "corrupt or truncated gzip data",
    );
    assert!(matches!(error, DataError::Gzip { .. }));
    // Bytes flipped inside the deflate stream (or its checksum catches it).
    let mut flipped = good.clone();
    for byte in &mut flipped[20..40] {
        *byte ^= 0x5a;
    }
    let error = images_error("c.gz", &flipped, "gzip");
    assert!(
        matches!(
            error,
            DataError::Gzip { .. } | DataError::SizeMismatch { .. }
        ),
        "{error:?}"
    );
    // Garbage after a valid stream is not silently ignored.
    let mut trailing = good;
    trailing.extend_from_slice(b"\x1f\x8bgarbage");
    let error = images_error("c.gz", &trailing, "gzip");
    assert!(matches!(error, DataError::Gzip { .. }), "{error:?}");
}

#[test]
fn a_folder_where_a_file_is_expected_is_refused() {
    let dir = tempdir();
    let error = read_idx_images(dir.path()).expect_err("a folder");
    check_message(&error, dir.path(), "is a folder, not a file");
    let error = read_mnist_npz(dir.path()).expect_err("a folder");
    check_message(&error, dir.path(), "is a folder, not a file");
}

#[test]
fn a_missing_file_names_its_path() {
    let dir = tempdir();
    let path = dir.path().join("nope-idx3-ubyte");
    let error = read_idx_images(&path).expect_err("no such file");
    assert!(matches!(error, DataError::Io { .. }));
    check_message(&error, &path, "No such file");
}

/// Writes an npz of `members` and reads it as MNIST.
fn read_npz(
    members: &[(String, Vec<u8>)],
) -> (
    Result<mlp_runtime::data::Mnist, DataError>,
    PathBuf,
    tempfile::TempDir,
) {
    let dir = tempdir();
    let path = dir.path().join("mnist.npz");
    write_npz(&path, members);
    (read_mnist_npz(&path), path, dir)
}

#[test]
fn npz_reads_back_exactly() {
    let (mnist, _, _dir) = read_npz(&mnist_npz_members(5, 3));
    let mnist = mnist.expect("well-formed npz");
    assert_eq!((mnist.train.len(), mnist.test.len()), (5, 3));
    assert_eq!(mnist.train.sample_shape, vec![28, 28]);
    for i in 0..5 {
        assert_eq!(
            mnist.train.labels().expect("class targets")[i],
            u32::from(label(i))
        );
        for p in [0, 1, 400, 783] {
            assert_eq!(
                mnist.train.images().expect("u8 features")[[i, p]],
                pixel(i, p)
            );
        }
    }
    assert_eq!(
        mnist.test.labels().expect("class targets").to_vec(),
        class_labels(3)
    );
}

#[test]
fn npz_missing_a_member_is_refused() {
    let mut members = mnist_npz_members(2, 2);
    members.retain(|(name, _)| name != "y_test.npy");
    let (error, path, _dir) = read_npz(&members);
    let error = error.expect_err("no y_test.npy");
    assert!(matches!(&error, DataError::MissingMember { member, .. } if member == "y_test.npy"));
    check_message(&error, &path, "has no member `y_test.npy`");
}

#[test]
fn npz_with_wrong_dtype_is_refused() {
    let mut members = mnist_npz_members(2, 2);
    members[1].1 = npy("<f4", &[2], &[0; 8]);
    let (error, path, _dir) = read_npz(&members);
    let error = error.expect_err("float labels");
    assert!(matches!(&error, DataError::WrongDtype { found, .. } if found == "'<f4'"));
    check_message(
        &error,
        &path.join("y_train.npy"),
        "element type is '<f4', expected unsigned bytes",
    );
}

#[test]
fn npz_with_wrong_shapes_or_sizes_is_refused() {
    // Labels of two dimensions.
    let mut members = mnist_npz_members(2, 2);
    members[1].1 = npy("|u1", &[2, 1], &[0, 1]);
    let (error, _, _dir) = read_npz(&members);
    let error = error.expect_err("2-D labels");
    assert!(
        error
            .to_string()
            .contains("shape is (2, 1), expected (labels,)"),
        "{error}"
    );
    // Images whose data is shorter than the shape claims.
    let mut members = mnist_npz_members(2, 2);
    members[0].1 = npy("|u1", &[3, 28, 28], &[0; 2 * 784]);
    let (error, path, _dir) = read_npz(&members);
    let error = error.expect_err("short data");
    assert!(
        matches!(
            error,
            DataError::SizeMismatch {
                claimed: 2352,
                found: 1568,
                ..
            }
        ),
        "{error:?}"
    );
    check_message(
        &error,
        &path.join("x_train.npy"),
        "header says shape (3, 28, 28) (2352 bytes)",
    );
    // A shape claiming far more than the limit.
    let mut members = mnist_npz_members(2, 2);
    members[2].1 = npy("|u1", &[1 << 40, 28, 28], &[]);
    let (error, _, _dir) = read_npz(&members);
    assert!(
        matches!(error, Err(DataError::OverLimit { .. })),
        "{error:?}"
    );
    // Counts that disagree between x and y.
    let mut members = mnist_npz_members(2, 2);
    members[3].1 = npy("|u1", &[3], &[1, 2, 3]);
    let (error, _, _dir) = read_npz(&members);
    assert!(
        matches!(
            error,
            Err(DataError::CountMismatch {
                images: 2,
                labels: 3,
                ..
            })
        ),
        "{error:?}"
    );
    // A member that is not an .npy array at all.
    let mut members = mnist_npz_members(2, 2);
    members[0].1 = b"just some text, long enough".to_vec();
    let (error, _, _dir) = read_npz(&members);
    let error = error.expect_err("not npy");
    assert!(error.to_string().contains("not an .npy array"), "{error}");
    // Label 10.
    let mut members = mnist_npz_members(2, 2);
    members[1].1 = npy("|u1", &[2], &[3, 10]);
    let (error, _, _dir) = read_npz(&members);
    assert!(
        matches!(
            error,
            Err(DataError::LabelOutOfRange {
                index: 1,
                label: 10,
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn npz_that_is_not_a_zip_is_refused() {
    let dir = tempdir();
    let path = write(dir.path(), "mnist.npz", b"this is not a zip archive at all");
    let error = read_mnist_npz(&path).expect_err("not a zip");
    assert!(matches!(error, DataError::Zip { .. }), "{error:?}");
    check_message(&error, &path, "not a readable zip archive");
    // A real archive cut in half.
    let full = dir.path().join("full.npz");
    write_npz(&full, &mnist_npz_members(3, 3));
    let bytes = std::fs::read(&full).expect("read back");
    let cut = write(dir.path(), "cut.npz", &bytes[..bytes.len() / 2]);
    let error = read_mnist_npz_with(&cut, Limits::default()).expect_err("cut archive");
    assert!(matches!(error, DataError::Zip { .. }), "{error:?}");
}
