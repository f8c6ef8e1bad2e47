//! The IDX format of the original MNIST release: a big-endian magic number
//! `0x0000_08NN` (`08` = unsigned bytes, `NN` = number of dimensions), one big-endian `u32`
//! per dimension, then the elements in row-major order. Files may be gzipped; that is
//! detected from their first bytes, not their names.
//!
//! Invariant: a file is accepted only if its magic number is the expected one, every
//! dimension of a sample is non-zero, and the bytes after the header are exactly what the
//! header claims, all of it checked against [`Limits`] before the body is allocated.

use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array3};

use super::input::Input;
use super::{DataError, Limits};

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
