//! The general `.npy`, `.npz` and IDX readers on files written here from the formats'
//! descriptions (no numpy at test time): every dtype in both byte orders, C and Fortran
//! order, 0-d and empty arrays; and every kind of bad file (lying or absurd headers, object
//! and structured dtypes, truncated data, non-finite values) refused with its exact
//! message, without allocating from the claim (an allocation tracker checks that).

// The allocation tracker is a `GlobalAlloc`, which is an unsafe trait.
#![allow(unsafe_code)]

mod alloc_tracker;
mod data_fixtures;

use std::path::{Path, PathBuf};

use data_fixtures::{gzip, mnist_npz_members, write, write_npz};
use mlp_runtime::data::{
    read_idx, read_idx_from, read_mnist_npz, read_npy, read_npy_from, read_npz_arrays, DataError,
    Limits, NpyArray, NpyData,
};

#[global_allocator]
static ALLOCATOR: alloc_tracker::Tracker = alloc_tracker::Tracker;

/// Python's repr of a shape tuple.
fn tuple(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An `.npy` file as numpy writes it: format `major`.0, the dict padded with spaces and a
/// newline so that the data starts at a multiple of 64 bytes.
fn npy_version(major: u8, descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {}, }}",
        tuple(shape)
    );
    let prefix = if major == 1 { 10 } else { 12 };
    while (prefix + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend([major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A format 1.0 `.npy` file.
fn npy(descr: &str, fortran: bool, shape: &[usize], data: &[u8]) -> Vec<u8> {
    npy_version(1, descr, fortran, shape, data)
}

/// The header's length in bytes of [`npy`]'s files (the data's offset).
fn header_len(descr: &str, fortran: bool, shape: &[usize]) -> usize {
    npy(descr, fortran, shape, &[]).len()
}

/// Writes `bytes` as `name` in a fresh folder and reads it back.
fn read(name: &str, bytes: &[u8]) -> (Result<NpyArray, DataError>, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = write(dir.path(), name, bytes);
    (read_npy(&path, Limits::default()), path, dir)
}

/// Reads `bytes` as an `.npy` file that must be well-formed.
fn read_ok(bytes: &[u8]) -> NpyArray {
    let (array, path, _dir) = read("a.npy", bytes);
    array.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads `bytes`, which must be refused with exactly `message` after the path and `": "`.
fn refused(bytes: &[u8], message: &str) -> DataError {
    let (array, path, _dir) = read("bad.npy", bytes);
    let error = array.expect_err("a malformed file must be refused");
    assert_eq!(error.to_string(), format!("{}: {message}", path.display()));
    error
}

/// A dtype case: the type code without its byte order, the data little-endian and
/// big-endian, and the values expected.
type Case<T> = (&'static str, Vec<u8>, Vec<u8>, Vec<T>);

/// Each value's bytes, concatenated.
fn bytes_of<T, const N: usize>(values: &[T], to_bytes: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(to_bytes).collect()
}

#[test]
fn every_integer_dtype_reads_in_both_byte_orders() {
    let shape = [2, 2];
    let i8s = [i8::MIN, -1, 0, i8::MAX];
    let u16s = [0, 1, 256, u16::MAX];
    let i16s = [i16::MIN, -2, 3, i16::MAX];
    let u32s = [0, 7, 1 << 31, u32::MAX];
    let i32s = [i32::MIN, -300, 70_000, i32::MAX];
    let i64s = [i64::MIN, -1, 1 << 40, i64::MAX];
    let u64s = [0, 1, 1 << 62, i64::MAX as u64];
    let cases: Vec<Case<i64>> = vec![
        (
            "i1",
            bytes_of(&i8s, |v| v.to_le_bytes()),
            bytes_of(&i8s, |v| v.to_be_bytes()),
            i8s.iter().map(|&v| i64::from(v)).collect(),
        ),
        (
            "u2",
            bytes_of(&u16s, |v| v.to_le_bytes()),
            bytes_of(&u16s, |v| v.to_be_bytes()),
            u16s.iter().map(|&v| i64::from(v)).collect(),
        ),
        (
            "i2",
            bytes_of(&i16s, |v| v.to_le_bytes()),
            bytes_of(&i16s, |v| v.to_be_bytes()),
            i16s.iter().map(|&v| i64::from(v)).collect(),
        ),
        (
            "u4",
            bytes_of(&u32s, |v| v.to_le_bytes()),
            bytes_of(&u32s, |v| v.to_be_bytes()),
            u32s.iter().map(|&v| i64::from(v)).collect(),
        ),
        (
            "i4",
            bytes_of(&i32s, |v| v.to_le_bytes()),
            bytes_of(&i32s, |v| v.to_be_bytes()),
            i32s.iter().map(|&v| i64::from(v)).collect(),
        ),
        (
            "i8",
            bytes_of(&i64s, |v| v.to_le_bytes()),
            bytes_of(&i64s, |v| v.to_be_bytes()),
            i64s.to_vec(),
        ),
        (
            "u8",
            bytes_of(&u64s, |v| v.to_le_bytes()),
            bytes_of(&u64s, |v| v.to_be_bytes()),
            u64s.iter().map(|&v| v as i64).collect(),
        ),
    ];
    for (code, little, big, expected) in cases {
        for (descr, data) in [
            (format!("<{code}"), &little),
            (format!(">{code}"), &big),
            (format!("={code}"), &little),
        ] {
            let array = read_ok(&npy(&descr, false, &shape, data));
            assert_eq!(array.shape, shape, "{descr}");
            assert_eq!(array.data, NpyData::Int(expected.clone()), "{descr}");
        }
    }
    // One byte: `|`, `<` and `>` all mean the same.
    for descr in ["|i1", "<i1", ">i1"] {
        let array = read_ok(&npy(descr, false, &[3], &[0x80, 0xff, 0x7f]));
        assert_eq!(array.data, NpyData::Int(vec![-128, -1, 127]), "{descr}");
    }
}

#[test]
fn bytes_and_booleans_read_as_u8() {
    for descr in ["|u1", "<u1", ">u1"] {
        let array = read_ok(&npy(descr, false, &[4], &[0, 1, 128, 255]));
        assert_eq!(array.data, NpyData::U8(vec![0, 1, 128, 255]), "{descr}");
    }
    let array = read_ok(&npy("|b1", false, &[3], &[1, 0, 1]));
    assert_eq!(array.data, NpyData::U8(vec![1, 0, 1]));
    assert_eq!(array.data.element_type(), "u8");
}

#[test]
fn every_float_dtype_reads_in_both_byte_orders() {
    // float16: 1.0, -2.0, 65504 (the largest), 2^-24 (the smallest subnormal).
    let halves: [u16; 4] = [0x3c00, 0xc000, 0x7bff, 0x0001];
    let expected16 = vec![1.0, -2.0, 65504.0, 2f32.powi(-24)];
    let f32s = [0.5f32, -1.25, f32::MAX, f32::MIN_POSITIVE];
    let f64s = [0.1f64, -3.5, 1e30, -1e-40];
    let cases: Vec<Case<f32>> = vec![
        (
            "f2",
            bytes_of(&halves, |v| v.to_le_bytes()),
            bytes_of(&halves, |v| v.to_be_bytes()),
            expected16,
        ),
        (
            "f4",
            bytes_of(&f32s, |v| v.to_le_bytes()),
            bytes_of(&f32s, |v| v.to_be_bytes()),
            f32s.to_vec(),
        ),
        (
            "f8",
            bytes_of(&f64s, |v| v.to_le_bytes()),
            bytes_of(&f64s, |v| v.to_be_bytes()),
            f64s.iter().map(|&v| v as f32).collect(),
        ),
    ];
    for (code, little, big, expected) in cases {
        for (descr, data) in [(format!("<{code}"), &little), (format!(">{code}"), &big)] {
            let array = read_ok(&npy(&descr, false, &[4], data));
            assert_eq!(array.data, NpyData::F32(expected.clone()), "{descr}");
        }
    }
}

#[test]
fn fortran_order_is_turned_into_c_order() {
    // The 2x3 array [[0, 1, 2], [3, 4, 5]] stored column by column.
    let array = read_ok(&npy("|u1", true, &[2, 3], &[0, 3, 1, 4, 2, 5]));
    assert_eq!(array.shape, [2, 3]);
    assert_eq!(array.data, NpyData::U8(vec![0, 1, 2, 3, 4, 5]));
    // A 2x3x4 array of little-endian i4 whose element [i, j, k] is 100i + 10j + k.
    let shape = [2, 3, 4];
    let mut stored = Vec::new();
    for k in 0..4 {
        for j in 0..3 {
            for i in 0..2 {
                stored.push(100 * i + 10 * j + k);
            }
        }
    }
    let data = bytes_of(&stored, |v: &i32| v.to_le_bytes());
    let array = read_ok(&npy("<i4", true, &shape, &data));
    let mut expected = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                expected.push(i64::from(100 * i + 10 * j + k));
            }
        }
    }
    assert_eq!(array.shape, shape);
    assert_eq!(array.data, NpyData::Int(expected));
    // Floats too, and one dimension is the same in either order.
    let data = bytes_of(&[1.0f32, 2.0, 3.0, 4.0], |v| v.to_be_bytes());
    let array = read_ok(&npy(">f4", true, &[2, 2], &data));
    assert_eq!(array.data, NpyData::F32(vec![1.0, 3.0, 2.0, 4.0]));
    let array = read_ok(&npy("|u1", true, &[3], &[7, 8, 9]));
    assert_eq!(array.data, NpyData::U8(vec![7, 8, 9]));
}

#[test]
fn zero_dimensional_and_empty_arrays_read() {
    let array = read_ok(&npy("<f8", false, &[], &2.5f64.to_le_bytes()));
    assert!(array.shape.is_empty());
    assert_eq!(array.data, NpyData::F32(vec![2.5]));
    assert_eq!(array.len(), 1);
    let array = read_ok(&npy("<i4", false, &[0, 3], &[]));
    assert_eq!(array.shape, [0, 3]);
    assert!(array.is_empty());
    assert_eq!(array.data, NpyData::Int(Vec::new()));
    let array = read_ok(&npy("|u1", true, &[3, 0], &[]));
    assert_eq!(array.shape, [3, 0]);
    assert_eq!(array.data, NpyData::U8(Vec::new()));
}

#[test]
fn format_versions_two_and_three_and_gzip_read() {
    let data = bytes_of(&[1i16, -1], |v| v.to_le_bytes());
    for major in [2, 3] {
        let array = read_ok(&npy_version(major, "<i2", false, &[2], &data));
        assert_eq!(array.data, NpyData::Int(vec![1, -1]));
    }
    let array = read_ok(&gzip(&npy("<i2", false, &[2], &data)));
    assert_eq!(array.data, NpyData::Int(vec![1, -1]));
}

#[test]
fn a_reader_works_like_a_file() {
    let bytes = npy("<u2", false, &[2], &[1, 0, 2, 0]);
    let name = Path::new("stream.npy");
    for size in [None, Some(bytes.len() as u64)] {
        let array = read_npy_from(&bytes[..], name, size, Limits::default()).expect("reads");
        assert_eq!(array.data, NpyData::Int(vec![1, 2]));
    }
    // A size that disagrees with the stream is the header's lie as far as the reader knows.
    let error = read_npy_from(
        &bytes[..],
        name,
        Some(bytes.len() as u64 + 2),
        Limits::default(),
    )
    .expect_err("wrong size");
    assert_eq!(
        error.to_string(),
        "stream.npy: header says shape (2,) of uint16 (4 bytes) but the file holds 6 bytes after its 128-byte header"
    );
}

#[test]
fn lying_headers_are_refused() {
    let len = header_len("<f4", false, &[2, 5]);
    refused(
        &npy("<f4", false, &[2, 5], &[0; 36]),
        &format!("header says shape (2, 5) of float32 (40 bytes) but the file holds 36 bytes after its {len}-byte header"),
    );
    let error = refused(
        &npy("<f4", false, &[2, 5], &[0; 44]),
        &format!("header says shape (2, 5) of float32 (40 bytes) but the file holds 44 bytes after its {len}-byte header"),
    );
    assert!(matches!(
        error,
        DataError::SizeMismatch {
            claimed: 40,
            found: 44,
            ..
        }
    ));
    // A stream of unknown length that ends early (truncated data), and one that goes on.
    let short = npy("<i8", false, &[3], &[0; 20]);
    let error = read_npy_from(&short[..], Path::new("cut.npy"), None, Limits::default())
        .expect_err("truncated");
    assert_eq!(
        error.to_string(),
        "cut.npy: header says shape (3,) of int64 (24 bytes) but the file holds 20 bytes after its 128-byte header"
    );
    let long = npy("<i8", false, &[3], &[0; 30]);
    let error = read_npy_from(&long[..], Path::new("long.npy"), None, Limits::default())
        .expect_err("trailing bytes");
    assert_eq!(
        error.to_string(),
        "long.npy: header says shape (3,) of int64 (24 bytes) but the file holds 30 bytes after its 128-byte header"
    );
}

#[test]
fn truncated_headers_are_refused() {
    let whole = npy("<f4", false, &[1], &[0; 4]);
    refused(
        &whole[..7],
        "the file ends after 7 bytes, inside its 10-byte header",
    );
    refused(
        &whole[..40],
        "the file ends after 40 bytes, inside its 128-byte header",
    );
    refused(&[], "the file is empty");
}

#[test]
fn a_claim_of_ten_gigabytes_is_refused_before_allocating() {
    let bytes = npy("<f4", false, &[50_000, 50_000], &[0; 16]);
    let ((error, path), usage) = alloc_tracker::track(|| {
        let (array, path, _dir) = read("huge.npy", &bytes);
        (array.expect_err("10 GB claim"), path)
    });
    assert_eq!(
        error.to_string(),
        format!(
            "{}: header says shape (50000, 50000) of float32 (10000000000 bytes), more than the limit of 1073741824 bytes",
            path.display()
        )
    );
    assert!(matches!(error, DataError::OverLimit { .. }));
    assert!(usage.largest < 1 << 20, "allocated {usage:?}");
    // Within the limit but not in the file: refused before allocating too, for a file; a
    // stream of unknown length grows its buffer only as data arrives.
    let bytes = npy("<f8", false, &[10_000_000], &[0; 80]);
    let (result, usage) = alloc_tracker::track(|| read("lie.npy", &bytes).0);
    assert!(matches!(result, Err(DataError::SizeMismatch { .. })));
    assert!(usage.largest < 1 << 20, "allocated {usage:?}");
    let (result, usage) =
        alloc_tracker::track(|| read_npy_from(&bytes[..], Path::new("s"), None, Limits::default()));
    assert!(matches!(result, Err(DataError::SizeMismatch { .. })));
    assert!(usage.largest < 1 << 20, "allocated {usage:?}");
    // A shape whose product overflows is over any limit.
    let bytes = npy("<f4", false, &[1 << 62, 1 << 62, 1 << 62], &[]);
    let (result, _, _dir) = read("overflow.npy", &bytes);
    assert!(matches!(
        result,
        Err(DataError::OverLimit {
            claimed: u128::MAX,
            ..
        })
    ));
    // A custom limit applies to honest headers.
    let bytes = npy("|u1", false, &[10], &[0; 10]);
    let error = read_npy_from(
        &bytes[..],
        Path::new("ten.npy"),
        None,
        Limits { max_bytes: 9 },
    )
    .expect_err("over the limit");
    assert_eq!(
        error.to_string(),
        "ten.npy: header says shape (10,) of uint8 (10 bytes), more than the limit of 9 bytes"
    );
}

#[test]
fn empty_arrays_with_huge_dimensions_are_refused() {
    // Found by the `npy` fuzz target: an empty IDX array of f64 whose non-zero dimensions
    // multiply past usize::MAX, so that computing its size in another order overflows.
    let mut bytes = vec![0, 0, 0x0E, 8];
    for d in [
        32_769u32,
        343_756_819,
        2_359_296,
        0,
        102_987,
        84_279_296,
        536_871_424,
        117_440_512,
    ] {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    let error = read_idx_from(&bytes[..], Path::new("t.idx"), Limits::default())
        .expect_err("dimensions too large");
    assert_eq!(
        error.to_string(),
        "t.idx: shape (32769, 343756819, 2359296, 0, 102987, 84279296, 536871424, 117440512) of float64 has a dimension too large"
    );
    // The same in .npy, and the limit is the product of the non-zero dimensions.
    refused(
        &npy("<f4", false, &[0, 1 << 62, 4], &[]),
        "shape (0, 4611686018427387904, 4) of float32 has a dimension too large",
    );
    let array = read_ok(&npy("<f4", false, &[0, 1 << 61, 3], &[]));
    assert_eq!(array.shape, [0, 1 << 61, 3]);
    assert!(array.is_empty());
}

#[test]
fn object_structured_and_other_dtypes_are_refused() {
    let error = refused(
        &npy("|O", false, &[2], b"\x80\x04pickle"),
        "element type '|O' is not read: it holds Python objects (numpy dtype=object), and \
         pickled object arrays are not read; save the array with a numeric dtype, e.g. \
         np.save(path, x.astype('float32'))",
    );
    assert!(matches!(error, DataError::UnsupportedDtype { found, .. } if found == "'|O'"));
    refused(
        &npy("<U3", false, &[1], &[0; 12]),
        "element type '<U3' is not read: it holds strings; save labels as integer class indices",
    );
    refused(
        &npy("<c16", false, &[1], &[0; 16]),
        "element type '<c16' is not read: it holds complex numbers",
    );
    refused(
        &npy("<f16", false, &[1], &[0; 16]),
        "element type '<f16' is not read: 16-byte elements of this kind are not read (integers \
         of 1, 2, 4 or 8 bytes, floats of 2, 4 or 8, bool)",
    );
    // A structured dtype is a list in the header.
    let mut header =
        "{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,), }"
            .to_owned();
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 8]);
    refused(
        &bytes,
        ".npy header does not parse: unsupported value `[('x', '<f4'), (` (structured dtypes are not supported)",
    );
    refused(
        b"not an npy file at all",
        "not an .npy array: it does not start with \\x93NUMPY",
    );
    let mut future = npy("<f4", false, &[1], &[0; 4]);
    future[6] = 4;
    refused(
        &future,
        ".npy format version 4.0 is not supported (only 1.0, 2.0 and 3.0)",
    );
}

#[test]
fn values_that_cannot_be_held_are_refused_naming_the_element() {
    let data = bytes_of(&[1.0f32, 2.0, f32::NAN, 4.0], |v| v.to_le_bytes());
    refused(
        &npy("<f4", false, &[2, 2], &data),
        "element [1, 0] is NaN; only finite numbers are read",
    );
    // The same bytes in Fortran order: the third stored element is [0, 1].
    refused(
        &npy("<f4", true, &[2, 2], &data),
        "element [0, 1] is NaN; only finite numbers are read",
    );
    let data = bytes_of(&[f64::NEG_INFINITY], |v| v.to_be_bytes());
    refused(
        &npy(">f8", false, &[1], &data),
        "element [0] is infinite; only finite numbers are read",
    );
    let data = bytes_of(&[1.0, 1e300f64], |v| v.to_le_bytes());
    refused(
        &npy("<f8", false, &[2], &data),
        "element [1] is 1e300, outside float32's range",
    );
    refused(
        &npy("<f2", false, &[], &0x7c00u16.to_le_bytes()),
        "element [] is infinite; only finite numbers are read",
    );
    let data = bytes_of(&[5u64, 1 << 63], |v| v.to_le_bytes());
    refused(
        &npy("<u8", false, &[2], &data),
        "element [1] is 9223372036854775808, more than i64::MAX",
    );
}

#[test]
fn npz_members_are_read_by_name_with_or_without_the_suffix() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("data.npz");
    let x = npy(
        "<f4",
        false,
        &[2, 2],
        &bytes_of(&[1.0f32, 2.0, 3.0, 4.0], |v| v.to_le_bytes()),
    );
    let y = npy(
        "<i8",
        false,
        &[2],
        &bytes_of(&[0i64, 1], |v| v.to_le_bytes()),
    );
    write_npz(
        &path,
        &[("x.npy".to_owned(), x), ("labels.npy".to_owned(), y)],
    );
    let arrays = read_npz_arrays(&path, &["labels", "x.npy"], Limits::default()).expect("reads");
    assert_eq!(arrays[0].data, NpyData::Int(vec![0, 1]));
    assert_eq!(arrays[1].shape, [2, 2]);
    assert_eq!(arrays[1].data, NpyData::F32(vec![1.0, 2.0, 3.0, 4.0]));
    let error = read_npz_arrays(&path, &["x", "y_train"], Limits::default()).expect_err("no y");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: has no member `y_train` (it holds `labels.npy`, `x.npy`)",
            path.display()
        )
    );
    assert!(
        matches!(&error, DataError::MissingMember { member, present, .. } if member == "y_train" && present.len() == 2)
    );
    // A bad member is named inside the archive.
    write_npz(&path, &[("x.npy".to_owned(), npy("|O", false, &[1], &[0]))]);
    let error = read_npz_arrays(&path, &["x"], Limits::default()).expect_err("object array");
    assert!(
        error.to_string().starts_with(&format!(
            "{}: element type '|O'",
            path.join("x.npy").display()
        )),
        "{error}"
    );
}

#[test]
fn mnist_npz_still_names_what_is_missing() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("mnist.npz");
    let mut members = mnist_npz_members(2, 2);
    members.retain(|(name, _)| name != "y_test.npy");
    write_npz(&path, &members);
    let error = read_mnist_npz(&path).expect_err("no y_test");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: has no member `y_test.npy` (it holds `x_test.npy`, `x_train.npy`, `y_train.npy`; \
             Keras's mnist.npz holds x_train.npy, y_train.npy, x_test.npy and y_test.npy)",
            path.display()
        )
    );
}

/// An IDX file: magic `0x0000TTNN`, the dimensions big-endian, then `data`.
fn idx(code: u8, shape: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, code, shape.len() as u8];
    for d in shape {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[test]
fn idx_of_every_element_type_and_rank_reads() {
    let read = |bytes: &[u8]| {
        read_idx_from(bytes, Path::new("t.idx"), Limits::default()).expect("well-formed IDX")
    };
    let array = read(&idx(0x08, &[2, 3], &[0, 1, 2, 3, 4, 255]));
    assert_eq!(array.shape, [2, 3]);
    assert_eq!(array.data, NpyData::U8(vec![0, 1, 2, 3, 4, 255]));
    let array = read(&idx(0x09, &[2], &[0x80, 0x7f]));
    assert_eq!(array.data, NpyData::Int(vec![-128, 127]));
    let data = bytes_of(&[-2i16, 300], |v| v.to_be_bytes());
    assert_eq!(
        read(&idx(0x0B, &[1, 2], &data)).data,
        NpyData::Int(vec![-2, 300])
    );
    let data = bytes_of(&[i32::MIN, 5], |v| v.to_be_bytes());
    assert_eq!(
        read(&idx(0x0C, &[2], &data)).data,
        NpyData::Int(vec![i64::from(i32::MIN), 5])
    );
    let data = bytes_of(&[0.5f32, -8.0], |v| v.to_be_bytes());
    let array = read(&idx(0x0D, &[1, 1, 2, 1], &data));
    assert_eq!(array.shape, [1, 1, 2, 1]);
    assert_eq!(array.data, NpyData::F32(vec![0.5, -8.0]));
    let data = bytes_of(&[0.25f64], |v| v.to_be_bytes());
    let array = read(&idx(0x0E, &[], &data));
    assert!(array.shape.is_empty());
    assert_eq!(array.data, NpyData::F32(vec![0.25]));
    // MNIST's own files read as plain arrays too, plain or gzipped, from a file.
    let dir = tempfile::tempdir().expect("temporary folder");
    let images = data_fixtures::idx_images(3, 4, 5);
    let path = write(dir.path(), "images.gz", &gzip(&images));
    let array = read_idx(&path, Limits::default()).expect("reads");
    assert_eq!(array.shape, [3, 4, 5]);
    assert_eq!(array.data, NpyData::U8(images[16..].to_vec()));
}

#[test]
fn bad_idx_files_are_refused() {
    let error = |bytes: &[u8]| {
        read_idx_from(bytes, Path::new("t.idx"), Limits::default())
            .expect_err("malformed IDX")
            .to_string()
    };
    assert_eq!(
        error(&[0, 0, 0x0A, 1, 0, 0, 0, 1, 0]),
        "t.idx: magic number 0x00000a01 names element type 0x0a, not an IDX one (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)"
    );
    assert_eq!(
        error(b"PK\x03\x04rest"),
        "t.idx: magic number 0x504b0304 is not an IDX one (0x0000TTNN: element type TT, NN dimensions)"
    );
    assert_eq!(
        error(&[0, 0, 0x0C, 2, 0, 0, 0, 1]),
        "t.idx: the file ends after 8 bytes, inside its 12-byte header"
    );
    assert_eq!(
        error(&idx(0x0C, &[2, 3], &[0; 20])),
        "t.idx: header says shape (2, 3) of int32 (24 bytes) but the file holds 20 bytes after its 12-byte header"
    );
    assert_eq!(
        error(&idx(0x0D, &[u32::MAX, u32::MAX], &[])),
        "t.idx: header says shape (4294967295, 4294967295) of float32 (73786976260478468100 bytes), more than the limit of 1073741824 bytes"
    );
    let data = bytes_of(&[1.0f64, f64::NAN], |v| v.to_be_bytes());
    assert_eq!(
        error(&idx(0x0E, &[1, 2], &data)),
        "t.idx: element [0, 1] is NaN; only finite numbers are read"
    );
}
