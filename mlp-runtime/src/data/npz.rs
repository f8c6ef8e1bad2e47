//! `.npz` archives: zip archives of `.npy` arrays (read by `npy.rs`). Any named members
//! ([`read_npz_arrays`]), or Keras's `mnist.npz`: `x_train` `(60000, 28, 28)`, `y_train`
//! `(60000,)`, `x_test` `(10000, 28, 28)` and `y_test` `(10000,)`, all `uint8`.
//!
//! Invariant: each member is read as an `.npy` file is, with exactly the bytes its shape
//! claims, checked against [`Limits`] before the body is allocated (a member's length is
//! bounded by its compressed size times deflate's largest ratio); the header is bounded by
//! [`MAX_NPY_HEADER`]. For MNIST, a member is accepted only with dtype `u1` and C order (or
//! one dimension).

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3};

use super::input::{open_file, Input, Length};
use super::npy::{self, python_tuple, Element, Kind};
use super::{DataError, Dataset, Limits, Mnist, NpyArray, NpyData, MNIST_CLASSES};

pub use super::npy::MAX_NPY_HEADER;

/// The members of Keras's `mnist.npz`, in the order they are read.
pub const MNIST_NPZ_MEMBERS: [&str; 4] = ["x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"];

/// The dtypes accepted: one unsigned byte (byte order is meaningless for one byte).
const UINT8_DTYPES: [&str; 3] = ["|u1", "<u1", ">u1"];

/// Reads Keras's `mnist.npz` under the default [`Limits`].
///
/// # Errors
/// See [`read_mnist_npz_with`].
pub fn read_mnist_npz(path: &Path) -> Result<Mnist, DataError> {
    read_mnist_npz_with(path, Limits::default())
}

/// Reads Keras's `mnist.npz` (or any `.npz` with the same four members of the same kind).
///
/// # Errors
/// [`DataError::Io`] or [`DataError::Empty`] for the file, [`DataError::Zip`] if it is not
/// a readable zip archive, [`DataError::MissingMember`], [`DataError::BadHeader`] or
/// [`DataError::WrongDtype`] for a member that is not a `uint8` `.npy` array of the right
/// rank, the size errors of [`read_idx_images_with`](super::read_idx_images_with) for each
/// member, [`DataError::CountMismatch`] and [`DataError::LabelOutOfRange`].
pub fn read_mnist_npz_with(path: &Path, limits: Limits) -> Result<Mnist, DataError> {
    let (file, size) = open_file(path)?;
    if size == 0 {
        return Err(DataError::Empty {
            path: path.to_owned(),
        });
    }
    read_mnist_npz_from(file, path, limits)
}

/// Reads an `mnist.npz` from any seekable reader; `name` stands for the archive in error
/// messages. For fuzzing and for data that is not in a file.
///
/// # Errors
/// As [`read_mnist_npz_with`].
pub fn read_mnist_npz_from<R: Read + Seek>(
    reader: R,
    name: &Path,
    limits: Limits,
) -> Result<Mnist, DataError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|source| DataError::Zip {
        path: name.to_owned(),
        source,
    })?;
    let [x_train, y_train, x_test, y_test] = MNIST_NPZ_MEMBERS;
    let train = dataset(&mut archive, name, x_train, y_train, limits)?;
    let test = dataset(&mut archive, name, x_test, y_test, limits)?;
    Ok(Mnist { train, test })
}

fn dataset<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &Path,
    images_member: &str,
    labels_member: &str,
    limits: Limits,
) -> Result<Dataset, DataError> {
    let (images_path, images) = mnist_member(archive, name, images_member, limits)?;
    let images = match images.shape[..] {
        [count, rows, cols] if rows > 0 && cols > 0 => {
            Array3::from_shape_vec((count, rows, cols), images.data)
        }
        _ => {
            return Err(DataError::BadHeader {
                path: images_path,
                problem: format!(
                    "shape is {}, expected (images, rows, columns) with rows and columns > 0",
                    python_tuple(&images.shape)
                ),
            })
        }
    }
    .map_err(|e| DataError::InvalidDataset {
        reason: format!("{}: {e}", images_path.display()),
    })?;
    let (labels_path, labels) = mnist_member(archive, name, labels_member, limits)?;
    let labels = match labels.shape[..] {
        [_] => Array1::from_vec(labels.data),
        _ => {
            return Err(DataError::BadHeader {
                path: labels_path,
                problem: format!(
                    "shape is {}, expected (labels,)",
                    python_tuple(&labels.shape)
                ),
            })
        }
    };
    Dataset::from_images(images, labels, MNIST_CLASSES, &images_path, &labels_path)
}

/// Reads the members `names` of an `.npz` archive, each as [`read_npy`](super::read_npy)
/// reads a file; a name may leave out the `.npy` suffix (`x_train` or `x_train.npy`).
/// Returns the arrays in the order of `names`.
///
/// ```no_run
/// use mlp_runtime::data::{read_npz_arrays, Limits};
///
/// let [x, y]: [_; 2] = read_npz_arrays("data.npz".as_ref(), &["x", "y"], Limits::default())?
///     .try_into()
///     .expect("two names, two arrays");
/// println!("x {:?}, y {:?}", x.shape, y.shape);
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// [`DataError::Io`] or [`DataError::Empty`] for the file, [`DataError::Zip`] if it is not
/// a readable zip archive, [`DataError::MissingMember`] (listing the members it holds) for a
/// name it lacks, and any error of [`read_npy`](super::read_npy) for a member, its path
/// written `archive.npz/member.npy`.
pub fn read_npz_arrays(
    path: &Path,
    names: &[&str],
    limits: Limits,
) -> Result<Vec<NpyArray>, DataError> {
    let (file, size) = open_file(path)?;
    if size == 0 {
        return Err(DataError::Empty {
            path: path.to_owned(),
        });
    }
    read_npz_arrays_from(file, path, names, limits)
}

/// [`read_npz_arrays`] from any seekable reader; `name` stands for the archive in error
/// messages. For fuzzing and for data that is not in a file.
///
/// # Errors
/// As [`read_npz_arrays`].
pub fn read_npz_arrays_from<R: Read + Seek>(
    reader: R,
    name: &Path,
    names: &[&str],
    limits: Limits,
) -> Result<Vec<NpyArray>, DataError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|source| DataError::Zip {
        path: name.to_owned(),
        source,
    })?;
    names
        .iter()
        .map(|&wanted| {
            let suffixed = format!("{wanted}.npy");
            let member = if archive.index_for_name(wanted).is_none()
                && archive.index_for_name(&suffixed).is_some()
            {
                suffixed
            } else {
                wanted.to_owned()
            };
            let mut input = open_member(&mut archive, name, &member)?;
            npy::read_array(&mut input, limits)
        })
        .collect()
}

/// Opens one member as an [`Input`] named `archive.npz/member.npy`.
fn open_member<'a, R: Read + Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    name: &Path,
    member: &str,
) -> Result<Input<'a>, DataError> {
    let path = name.join(member);
    if archive.index_for_name(member).is_none() {
        let mut present: Vec<String> = archive
            .file_names_raw()
            .map(|raw| String::from_utf8_lossy(raw).into_owned())
            .collect();
        present.sort();
        return Err(DataError::MissingMember {
            path: name.to_owned(),
            member: member.to_owned(),
            present,
        });
    }
    let file = archive.by_name(member).map_err(|source| DataError::Zip {
        path: path.clone(),
        source,
    })?;
    let bound = file
        .compressed_size()
        .saturating_mul(super::input::MAX_DEFLATE_RATIO);
    Ok(Input::member(file, path, Length::AtMost(bound)))
}

/// An `.npy` array of bytes.
struct Npy {
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// Reads one MNIST member, which must be `uint8` in C order; returns the path used to name
/// it (`archive.npz/member.npy`) too.
fn mnist_member<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &Path,
    member: &str,
    limits: Limits,
) -> Result<(PathBuf, Npy), DataError> {
    let mut input = open_member(archive, name, member)?;
    let path = input.path().to_owned();
    let header = npy::read_header(&mut input)?;
    if !UINT8_DTYPES.contains(&header.descr.as_str()) {
        return Err(DataError::WrongDtype {
            path,
            found: format!("'{}'", header.descr),
        });
    }
    if header.fortran_order && header.shape.len() > 1 {
        return Err(npy::bad_header(
            &input,
            "array is in Fortran order; only C order is supported".to_owned(),
        ));
    }
    let claim = format!("shape {}", python_tuple(&header.shape));
    let element = Element {
        kind: Kind::Unsigned,
        size: 1,
        big_endian: false,
    };
    let array = npy::read_elements(&mut input, &claim, &header.shape, element, false, limits)?;
    match array.data {
        NpyData::U8(data) => Ok((
            path,
            Npy {
                shape: array.shape,
                data,
            },
        )),
        // Unreachable: one-byte unsigned elements decode to bytes.
        other => Err(DataError::WrongDtype {
            path,
            found: other.element_type().to_owned(),
        }),
    }
}
