//! Keras's `mnist.npz`: a zip archive of four `.npy` arrays, `x_train` `(60000, 28, 28)`,
//! `y_train` `(60000,)`, `x_test` `(10000, 28, 28)` and `y_test` `(10000,)`, all `uint8`.
//!
//! The `.npy` format is small enough to read here: the magic `\x93NUMPY`, a version
//! (1.0: 2-byte header length; 2.0 and 3.0: 4-byte), then a Python dict literal such as
//! `{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }`, then the data.
//!
//! Invariant: as for IDX files, a member is accepted only with dtype `u1`, C order (or one
//! dimension), and exactly the bytes its shape claims, checked against [`Limits`] before
//! the body is allocated; the header itself is bounded by [`MAX_NPY_HEADER`].

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array3};

use super::input::{open_file, Input, Length};
use super::{DataError, Dataset, Limits, Mnist, MNIST_CLASSES};

/// The members of Keras's `mnist.npz`, in the order they are read.
pub const MNIST_NPZ_MEMBERS: [&str; 4] = ["x_train.npy", "y_train.npy", "x_test.npy", "y_test.npy"];

/// The longest `.npy` header accepted, in bytes (numpy writes about 128).
pub const MAX_NPY_HEADER: u32 = 64 * 1024;

/// The six bytes every `.npy` file starts with.
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

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
    let (images_path, images) = member(archive, name, images_member, limits)?;
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
    let (labels_path, labels) = member(archive, name, labels_member, limits)?;
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

/// An `.npy` array of bytes.
struct Npy {
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// Reads one member; returns the path used to name it (`archive.npz/member.npy`) too.
fn member<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &Path,
    member: &str,
    limits: Limits,
) -> Result<(PathBuf, Npy), DataError> {
    let path = name.join(member);
    let file = match archive.by_name(member) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(DataError::MissingMember {
                path: name.to_owned(),
                member: member.to_owned(),
            })
        }
        Err(source) => return Err(DataError::Zip { path, source }),
    };
    let bound = file
        .compressed_size()
        .saturating_mul(super::input::MAX_DEFLATE_RATIO);
    let mut input = Input::member(file, path.clone(), Length::AtMost(bound));
    let npy = read_npy(&mut input, limits)?;
    Ok((path, npy))
}

/// Reads an `.npy` array of `uint8`.
fn read_npy(input: &mut Input<'_>, limits: Limits) -> Result<Npy, DataError> {
    let mut prefix = [0; 8];
    input.header(&mut prefix, 10)?;
    if &prefix[..6] != NPY_MAGIC {
        return Err(bad_header(
            input,
            "not an .npy array: it does not start with \\x93NUMPY".to_owned(),
        ));
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let header_len = match major {
        1 => {
            let mut len = [0; 2];
            input.header(&mut len, 10)?;
            u32::from(u16::from_le_bytes(len))
        }
        2 | 3 => {
            let mut len = [0; 4];
            input.header(&mut len, 12)?;
            u32::from_le_bytes(len)
        }
        _ => {
            return Err(bad_header(
                input,
                format!(
                    ".npy format version {major}.{minor} is not supported (only 1.0, 2.0 and 3.0)"
                ),
            ))
        }
    };
    if header_len > MAX_NPY_HEADER {
        return Err(bad_header(
            input,
            format!(
                ".npy header claims {header_len} bytes, more than the {MAX_NPY_HEADER} accepted"
            ),
        ));
    }
    let mut text = vec![0; header_len as usize];
    let total = input.consumed() + u64::from(header_len);
    input.header(&mut text, total)?;
    let Ok(text) = std::str::from_utf8(&text) else {
        return Err(bad_header(input, ".npy header is not text".to_owned()));
    };
    let header = parse_header(text).map_err(|problem| bad_header(input, problem))?;
    if !UINT8_DTYPES.contains(&header.descr.as_str()) {
        return Err(DataError::WrongDtype {
            path: input.path().to_owned(),
            found: format!("'{}'", header.descr),
        });
    }
    if header.fortran_order && header.shape.len() > 1 {
        return Err(bad_header(
            input,
            "array is in Fortran order; only C order is supported".to_owned(),
        ));
    }
    let claimed = header
        .shape
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
        .unwrap_or(u128::MAX);
    let claim = format!("shape {}", python_tuple(&header.shape));
    let data = input.body(&claim, claimed, limits)?;
    // The body fits in memory, so every dimension of a non-empty array fits in usize; an
    // empty array may still have a huge dimension next to a zero.
    let shape = header
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| bad_header(input, format!("{claim} has a dimension too large")))?;
    Ok(Npy { shape, data })
}

fn bad_header(input: &Input<'_>, problem: String) -> DataError {
    DataError::BadHeader {
        path: input.path().to_owned(),
        problem,
    }
}

/// Formats a shape as Python prints a tuple: `(60000, 28, 28)`, `(60000,)`, `()`.
fn python_tuple<T: std::fmt::Display>(shape: &[T]) -> String {
    if let [one] = shape {
        return format!("({one},)");
    }
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    format!("({})", dims.join(", "))
}

/// The three keys of an `.npy` header.
#[derive(Debug, PartialEq)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A value in an `.npy` header dict.
enum Value {
    Str(String),
    Bool(bool),
    Tuple(Vec<u64>),
}

/// Parses the header dict; the error says what is wrong, in words.
fn parse_header(text: &str) -> Result<NpyHeader, String> {
    let mut parser = Parser {
        rest: text.trim_end_matches(['\n', ' ', '\0']),
    };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    parser.expect('{')?;
    loop {
        if parser.eat('}') {
            break;
        }
        let key = parser.string()?;
        parser.expect(':')?;
        let value = parser.value()?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("fortran_order", Value::Bool(b)) => fortran_order = Some(b),
            ("shape", Value::Tuple(t)) => shape = Some(t),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(format!(".npy header has a '{key}' of the wrong kind"))
            }
            _ => {}
        }
        if !parser.eat(',') {
            parser.expect('}')?;
            break;
        }
    }
    if !parser.rest.trim().is_empty() {
        return Err(".npy header has text after its dict".to_owned());
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(NpyHeader {
            descr,
            fortran_order,
            shape,
        }),
        _ => Err(".npy header lacks one of 'descr', 'fortran_order' and 'shape'".to_owned()),
    }
}

/// A cursor over the header text.
struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if let Some(rest) = self.rest.strip_prefix(c) {
            self.rest = rest;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                ".npy header does not parse: expected `{c}` before `{}`",
                self.rest.chars().take(16).collect::<String>()
            ))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.skip_space();
        let Some(quote @ ('\'' | '"')) = self.rest.chars().next() else {
            return Err(".npy header does not parse: expected a quoted string".to_owned());
        };
        let body = &self.rest[1..];
        let Some(end) = body.find(quote) else {
            return Err(".npy header does not parse: a string is not closed".to_owned());
        };
        self.rest = &body[end + 1..];
        Ok(body[..end].to_owned())
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_space();
        if self.rest.starts_with(['\'', '"']) {
            return self.string().map(Value::Str);
        }
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(Value::Bool(value));
            }
        }
        if self.eat('(') {
            let mut dims = Vec::new();
            loop {
                if self.eat(')') {
                    break;
                }
                dims.push(self.integer()?);
                if !self.eat(',') {
                    self.expect(')')?;
                    break;
                }
            }
            return Ok(Value::Tuple(dims));
        }
        Err(format!(
            ".npy header does not parse: unsupported value `{}` (structured dtypes are not supported)",
            self.rest.chars().take(16).collect::<String>()
        ))
    }

    fn integer(&mut self) -> Result<u64, String> {
        self.skip_space();
        let digits = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        let value = self.rest[..digits]
            .parse()
            .map_err(|_| ".npy header does not parse: expected a dimension".to_owned())?;
        self.rest = &self.rest[digits..];
        // Python 2's numpy wrote long integers with an `L` suffix.
        self.rest = self.rest.strip_prefix('L').unwrap_or(self.rest);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_header, NpyHeader};

    fn check(text: &str, expected: Result<(&str, bool, &[u64]), &str>) {
        let parsed = parse_header(text);
        let expected = expected.map(|(descr, fortran_order, shape)| NpyHeader {
            descr: descr.to_owned(),
            fortran_order,
            shape: shape.to_vec(),
        });
        match (&parsed, &expected) {
            (Ok(p), Ok(e)) => assert_eq!(p, e, "{text}"),
            (Err(p), Err(e)) => assert!(p.contains(e), "{text}: {p:?} should contain {e:?}"),
            _ => panic!("{text}: got {parsed:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn parses_headers_numpy_writes() {
        check(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }          \n",
            Ok(("|u1", false, &[60000, 28, 28])),
        );
        check(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (10000,), }\n",
            Ok(("<f4", true, &[10000])),
        );
        check(
            "{'shape': (), 'descr': \"|u1\", 'fortran_order': False}",
            Ok(("|u1", false, &[])),
        );
        check(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (3L, 4L)}",
            Ok(("|u1", false, &[3, 4])),
        );
    }

    #[test]
    fn refuses_malformed_headers() {
        check("", Err("expected `{`"));
        check("{'descr': '|u1', 'shape': (1,)}", Err("lacks one of"));
        check(
            "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,)}",
            Err("structured"),
        );
        check(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (-1,)}",
            Err("expected a dimension"),
        );
        check(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            Err("expected a dimension"),
        );
        check(
            "{'descr': '|u1, 'fortran_order': False}",
            Err("expected `}` before `fortran_order"),
        );
        check("{'descr': 1}", Err("unsupported value"));
        check(
            "{'shape': 'x', 'descr': '|u1', 'fortran_order': False}",
            Err("wrong kind"),
        );
        check(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1,)} extra",
            Err("after its dict"),
        );
    }
}
