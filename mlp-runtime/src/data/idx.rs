//! The IDX format of the original MNIST release: a big-endian magic number
//! `0x0000_08NN` (`08` = unsigned bytes, `NN` = number of dimensions), one big-endian `u32`
//! per dimension, then the elements in row-major order. Files may be gzipped; that is
//! detected from their first bytes, not their names.
//!
//! The MNIST readers ([`read_idx_images_with`], [`read_idx_labels_with`]) take unsigned
//! bytes of 3 and 1 dimensions; [`read_idx`] takes any rank and element type of the format:
//! magic `0x0000_TTNN` with `TT` one of `0x08` (u8), `0x09` (i8), `0x0B` (i16), `0x0C`
//! (i32), `0x0D` (f32), `0x0E` (f64), all big-endian, and `NN` dimensions.
//!
//! Invariant: a file is accepted only if its magic number is the expected one, every
//! dimension of an MNIST sample is non-zero, and the bytes after the header are exactly
//! what the header claims, all of it checked against [`Limits`] before the body is
//! allocated.

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array3};

use super::input::Input;
use super::npy::{self, python_tuple, Element, Kind};
use super::{DataError, Limits, NpyArray};

/// Magic number of an IDX file of unsigned-byte images: 3 dimensions (count, rows, columns).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic number of an IDX file of unsigned-byte labels: 1 dimension (count).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Header length of an image file: magic and three dimensions.
const IMAGES_HEADER: usize = 16;

/// Header length of a label file: magic and one dimension.
const LABELS_HEADER: usize = 8;

/// Reads an IDX image file (`*-idx3-ubyte`, plain or gzipped) under the default
/// [`Limits`]; the array is `(images, rows, columns)`.
///
/// # Errors
/// See [`read_idx_images_with`].
pub fn read_idx_images(path: &Path) -> Result<Array3<u8>, DataError> {
    read_idx_images_with(path, Limits::default())
}

/// Reads an IDX image file (`*-idx3-ubyte`, plain or gzipped); the array is
/// `(images, rows, columns)`.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, [`DataError::Empty`],
/// [`DataError::TruncatedHeader`], [`DataError::BadMagic`] unless the magic number is
/// [`IDX_IMAGES_MAGIC`], [`DataError::BadHeader`] for images with no pixels,
/// [`DataError::OverLimit`] if the header claims more than `limits` allow,
/// [`DataError::SizeMismatch`] if the file does not hold exactly what the header claims,
/// [`DataError::Gzip`] or [`DataError::DecompressedOverLimit`] for a bad gzip stream.
pub fn read_idx_images_with(path: &Path, limits: Limits) -> Result<Array3<u8>, DataError> {
    images(Input::open(path)?, limits)
}

/// Reads IDX images from any reader (gzipped or not); `name` stands for the data in error
/// messages. For fuzzing and for data that is not in a file.
///
/// # Errors
/// As [`read_idx_images_with`].
pub fn read_idx_images_from<R: Read>(
    reader: R,
    name: &Path,
    limits: Limits,
) -> Result<Array3<u8>, DataError> {
    images(Input::from_reader(reader, name, None)?, limits)
}

/// Reads an IDX label file (`*-idx1-ubyte`, plain or gzipped) under the default
/// [`Limits`]. Label values are not checked here; [`Dataset::from_idx`] checks them
/// against the number of classes.
///
/// [`Dataset::from_idx`]: super::Dataset::from_idx
///
/// # Errors
/// See [`read_idx_labels_with`].
pub fn read_idx_labels(path: &Path) -> Result<Array1<u8>, DataError> {
    read_idx_labels_with(path, Limits::default())
}

/// Reads an IDX label file (`*-idx1-ubyte`, plain or gzipped).
///
/// # Errors
/// As [`read_idx_images_with`], with [`IDX_LABELS_MAGIC`] as the expected magic number.
pub fn read_idx_labels_with(path: &Path, limits: Limits) -> Result<Array1<u8>, DataError> {
    labels(Input::open(path)?, limits)
}

/// Reads IDX labels from any reader (gzipped or not); `name` stands for the data in error
/// messages.
///
/// # Errors
/// As [`read_idx_labels_with`].
pub fn read_idx_labels_from<R: Read>(
    reader: R,
    name: &Path,
    limits: Limits,
) -> Result<Array1<u8>, DataError> {
    labels(Input::from_reader(reader, name, None)?, limits)
}

/// Reads an IDX file of any rank and element type (plain or gzipped) into an array:
/// unsigned bytes as [`NpyData::U8`](super::NpyData::U8), the other integers as
/// [`NpyData::Int`](super::NpyData::Int), floats as [`NpyData::F32`](super::NpyData::F32)
/// (`f64` rounded to the nearest `f32`; every value must be finite).
///
/// ```no_run
/// use mlp_runtime::data::{read_idx, Limits};
///
/// let images = read_idx("train-images-idx3-ubyte".as_ref(), Limits::default())?;
/// assert_eq!(images.shape, [60000, 28, 28]);
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, [`DataError::Empty`],
/// [`DataError::TruncatedHeader`], [`DataError::BadHeader`] for a magic number that is not
/// IDX's or an unknown element type, [`DataError::OverLimit`] if the header claims more
/// than `limits` allow, [`DataError::SizeMismatch`] if the file does not hold exactly what
/// the header claims, [`DataError::BadElement`] for a NaN, an infinity or an `f64` beyond
/// `f32`'s range, [`DataError::Gzip`] or [`DataError::DecompressedOverLimit`] for a bad gzip
/// stream.
pub fn read_idx(path: &Path, limits: Limits) -> Result<NpyArray, DataError> {
    any(Input::open(path)?, limits)
}

/// Reads an IDX file of any rank and element type from any reader (gzipped or not);
/// `name` stands for the data in error messages. For fuzzing and for data that is not in a
/// file.
///
/// ```
/// use mlp_runtime::data::{read_idx_from, Limits, NpyData};
///
/// // Two big-endian i16 values: magic 0x00000B01, one dimension of 2.
/// let bytes = [0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x00, 0xff, 0xfe];
/// let array = read_idx_from(&bytes[..], "tiny.idx".as_ref(), Limits::default())?;
/// assert_eq!(array.shape, [2]);
/// assert_eq!(array.data, NpyData::Int(vec![256, -2]));
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// As [`read_idx`].
pub fn read_idx_from<R: Read>(
    reader: R,
    name: &Path,
    limits: Limits,
) -> Result<NpyArray, DataError> {
    any(Input::from_reader(reader, name, None)?, limits)
}

fn any(mut input: Input<'_>, limits: Limits) -> Result<NpyArray, DataError> {
    let mut magic = [0; 4];
    input.header(&mut magic, 4)?;
    let found = u32_at(&magic, 0);
    let bad = |input: &Input<'_>, problem: String| DataError::BadHeader {
        path: input.path().to_owned(),
        problem,
    };
    if magic[..2] != [0, 0] {
        return Err(bad(
            &input,
            format!(
                "magic number {found:#010x} is not an IDX one (0x0000TTNN: element type TT, \
                 NN dimensions)"
            ),
        ));
    }
    let (kind, size) = match magic[2] {
        0x08 => (Kind::Unsigned, 1),
        0x09 => (Kind::Signed, 1),
        0x0B => (Kind::Signed, 2),
        0x0C => (Kind::Signed, 4),
        0x0D => (Kind::Float, 4),
        0x0E => (Kind::Float, 8),
        other => {
            return Err(bad(
                &input,
                format!(
                    "magic number {found:#010x} names element type {other:#04x}, not an IDX \
                     one (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64)"
                ),
            ))
        }
    };
    let element = Element {
        kind,
        size,
        big_endian: true,
    };
    let rank = usize::from(magic[3]);
    let header_len = 4 + 4 * rank as u64;
    let mut dims = vec![0; 4 * rank];
    input.header(&mut dims, header_len)?;
    let shape: Vec<u64> = (0..rank).map(|i| u64::from(u32_at(&dims, 4 * i))).collect();
    let claim = format!("shape {} of {}", python_tuple(&shape), element.name());
    npy::read_elements(&mut input, &claim, &shape, element, false, limits)
}

fn images(mut input: Input<'_>, limits: Limits) -> Result<Array3<u8>, DataError> {
    let mut header = [0; IMAGES_HEADER];
    read_magic(&mut input, &mut header, IDX_IMAGES_MAGIC)?;
    let [count, rows, cols] = [u32_at(&header, 4), u32_at(&header, 8), u32_at(&header, 12)];
    if rows == 0 || cols == 0 {
        return Err(DataError::BadHeader {
            path: input.path().to_owned(),
            problem: format!("header says images of {rows}x{cols} pixels, which hold no pixel"),
        });
    }
    let claim = format!("{count} images of {rows}x{cols}");
    let claimed = u128::from(count) * u128::from(rows) * u128::from(cols);
    let body = input.body(&claim, claimed, limits)?;
    let shape = (count as usize, rows as usize, cols as usize);
    Array3::from_shape_vec(shape, body).map_err(|e| DataError::InvalidDataset {
        reason: format!("{}: {e}", input.path().display()),
    })
}

fn labels(mut input: Input<'_>, limits: Limits) -> Result<Array1<u8>, DataError> {
    let mut header = [0; LABELS_HEADER];
    read_magic(&mut input, &mut header, IDX_LABELS_MAGIC)?;
    let count = u32_at(&header, 4);
    let claim = format!("{count} labels");
    let body = input.body(&claim, u128::from(count), limits)?;
    Ok(Array1::from_vec(body))
}

/// Reads the whole header into `header`, checking the magic number as soon as its four
/// bytes are in, so a file of another kind is named as such even if it is short.
fn read_magic(input: &mut Input<'_>, header: &mut [u8], expected: u32) -> Result<(), DataError> {
    let header_len = header.len() as u64;
    let (magic, dims) = header.split_at_mut(4);
    input.header(magic, header_len)?;
    let found = u32_at(magic, 0);
    if found != expected {
        return Err(DataError::BadMagic {
            path: input.path().to_owned(),
            found,
            expected,
        });
    }
    input.header(dims, header_len)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
