//! `NumPy`'s `.npy` format in general: the magic `\x93NUMPY`, a version (1.0: 2-byte header
//! length; 2.0 and 3.0: 4-byte), then a Python dict literal such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (150, 4), }`, then the elements.
//!
//! Read here: booleans, integers of 1, 2, 4 and 8 bytes (signed or not) and floats of 2, 4
//! and 8 bytes, in either byte order, in C or Fortran order, of any rank including 0-d
//! (one element). Bytes come back as [`NpyData::U8`], other integers as
//! [`NpyData::Int`], floats as [`NpyData::F32`], always in C (row-major) order.
//!
//! Invariants: the header is bounded by [`MAX_NPY_HEADER`]; the data must be exactly what
//! the shape and the element size claim, which is checked against [`Limits`] (and, for a
//! plain file, against the file's length) before anything is allocated; the elements are
//! converted as they are read, 64 KiB at a time, so the raw bytes are never held next to
//! the converted array (a Fortran-order array is then copied once into C order, so it peaks
//! at twice its converted size). Every float is finite and every integer fits in `i64`, or
//! the read fails naming the first element that is not. The converted array takes up to 8
//! times the file's bytes (`int8` → `i64`).
//!
//! The same element decoding serves the IDX reader ([`read_idx`](super::read_idx)).

use std::io::Read;
use std::path::Path;

use super::input::Input;
use super::{DataError, Limits};

/// The longest `.npy` header accepted, in bytes (numpy writes about 128).
pub const MAX_NPY_HEADER: u32 = 64 * 1024;

/// The six bytes every `.npy` file starts with.
const NPY_MAGIC: &[u8; 6] = b"\x93NUMPY";

/// An n-dimensional array read from a binary file (an `.npy` file, a member of an `.npz`
/// archive, or an IDX file): its shape and its elements in C (row-major) order.
///
/// Invariant: `data.len()` is the product of `shape` (1 for a 0-d array, whose shape is
/// empty).
///
/// ```
/// use mlp_runtime::data::{NpyArray, NpyData};
///
/// let array = NpyArray { shape: vec![2, 3], data: NpyData::F32(vec![0.0; 6]) };
/// assert_eq!(array.len(), 6);
/// assert_eq!(array.data.element_type(), "f32");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The length of each dimension, outermost first; empty for a 0-d array.
    pub shape: Vec<usize>,
    /// The elements, in C order.
    pub data: NpyData,
}

impl NpyArray {
    /// Number of elements (the product of the shape).
    #[must_use]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the array holds no element (a dimension is 0).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// The elements of an [`NpyArray`], by the kind of element the file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// Unsigned bytes (numpy `uint8`, IDX `0x08`) as stored, and booleans as 0 or 1.
    U8(Vec<u8>),
    /// Every other integer type: numpy `int8` to `int64`, `uint16`, `uint32` and `uint64`
    /// up to `i64::MAX`; IDX `0x09`, `0x0B`, `0x0C`.
    Int(Vec<i64>),
    /// Floats: numpy `float16`, `float32` and `float64` (rounded to the nearest `f32`;
    /// every value finite), IDX `0x0D` and `0x0E`.
    F32(Vec<f32>),
}

impl NpyData {
    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::U8(v) => v.len(),
            Self::Int(v) => v.len(),
            Self::F32(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's name: `u8`, `i64` or `f32`.
    #[must_use]
    pub fn element_type(&self) -> &'static str {
        match self {
            Self::U8(_) => "u8",
            Self::Int(_) => "i64",
            Self::F32(_) => "f32",
        }
    }
}

/// Reads an `.npy` file (plain, or gzipped: detected from its first bytes).
///
/// ```no_run
/// use mlp_runtime::data::{read_npy, Limits, NpyData};
///
/// let array = read_npy("features.npy".as_ref(), Limits::default())?;
/// if let NpyData::F32(values) = &array.data {
///     println!("{:?}: {} floats", array.shape, values.len());
/// }
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// [`DataError::Io`] or [`DataError::Empty`] for the file; [`DataError::TruncatedHeader`];
/// [`DataError::BadHeader`] for a file that is not `.npy`, an unknown format version, a
/// header longer than [`MAX_NPY_HEADER`] or one that does not parse (structured dtypes
/// among them); [`DataError::UnsupportedDtype`] for object arrays, strings, complex
/// numbers, dates and other element types not listed in the module docs;
/// [`DataError::OverLimit`] when the shape claims more bytes than `limits` allow (nothing
/// is allocated); [`DataError::SizeMismatch`] when the data is shorter or longer than the
/// shape claims; [`DataError::BadElement`] for a NaN or infinite float, a `float64` outside
/// `f32`'s range or a `uint64` above `i64::MAX`; [`DataError::Gzip`] or
/// [`DataError::DecompressedOverLimit`] for a bad gzip stream.
pub fn read_npy(path: &Path, limits: Limits) -> Result<NpyArray, DataError> {
    read_array(&mut Input::open(path)?, limits)
}

/// Reads an `.npy` array from any reader (gzipped or not); `name` stands for the data in
/// error messages; `size` is the stream's length if known (then data that disagrees with
/// the header is refused before anything is allocated). For fuzzing and for data that is
/// not in a file.
///
/// ```
/// use mlp_runtime::data::{read_npy_from, Limits, NpyData};
///
/// let dict = b"{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
/// let mut file = b"\x93NUMPY\x01\x00".to_vec();
/// file.extend_from_slice(&(dict.len() as u16).to_le_bytes());
/// file.extend_from_slice(dict);
/// file.extend_from_slice(&[1, 0, 0xff, 0xff]);
/// let array = read_npy_from(&file[..], "two.npy".as_ref(), None, Limits::default())?;
/// assert_eq!(array.shape, [2]);
/// assert_eq!(array.data, NpyData::Int(vec![1, -1]));
/// # Ok::<(), mlp_runtime::data::DataError>(())
/// ```
///
/// # Errors
/// As [`read_npy`].
pub fn read_npy_from<R: Read>(
    reader: R,
    name: &Path,
    size: Option<u64>,
    limits: Limits,
) -> Result<NpyArray, DataError> {
    read_array(&mut Input::from_reader(reader, name, size)?, limits)
}

/// Reads one `.npy` array from `input`: header, element type, then the data.
pub(crate) fn read_array(input: &mut Input<'_>, limits: Limits) -> Result<NpyArray, DataError> {
    let header = read_header(input)?;
    let element = parse_dtype(&header.descr).map_err(|reason| DataError::UnsupportedDtype {
        path: input.path().to_owned(),
        found: format!("'{}'", header.descr),
        reason,
    })?;
    let claim = format!(
        "shape {} of {}",
        python_tuple(&header.shape),
        element.name()
    );
    read_elements(
        input,
        &claim,
        &header.shape,
        element,
        header.fortran_order,
        limits,
    )
}

/// The three keys of an `.npy` header.
#[derive(Debug, PartialEq)]
pub(crate) struct NpyHeader {
    /// The dtype as written (`<f4`).
    pub(crate) descr: String,
    /// Whether the elements are stored in Fortran (column-major) order.
    pub(crate) fortran_order: bool,
    /// The shape as written.
    pub(crate) shape: Vec<u64>,
}

/// Reads and parses the header of an `.npy` array, leaving `input` at its data.
///
/// # Errors
/// [`DataError::Empty`], [`DataError::TruncatedHeader`], or [`DataError::BadHeader`] for a
/// stream that is not `.npy`, an unknown version, a header over [`MAX_NPY_HEADER`] bytes or
/// one that does not parse.
pub(crate) fn read_header(input: &mut Input<'_>) -> Result<NpyHeader, DataError> {
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
    parse_header(text).map_err(|problem| bad_header(input, problem))
}

/// What one element is, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// numpy `bool`: one byte, 0 or 1.
    Bool,
    /// Unsigned integer.
    Unsigned,
    /// Signed (two's complement) integer.
    Signed,
    /// IEEE 754 float.
    Float,
}

/// One stored element's type: its kind, size and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Element {
    /// Integer, float or bool.
    pub(crate) kind: Kind,
    /// Bytes per element: 1, 2, 4 or 8.
    pub(crate) size: usize,
    /// Most significant byte first.
    pub(crate) big_endian: bool,
}

impl Element {
    /// numpy's name for it (`float32`, `uint8`, …).
    pub(crate) fn name(self) -> String {
        match self.kind {
            Kind::Bool => "bool".to_owned(),
            Kind::Unsigned => format!("uint{}", self.size * 8),
            Kind::Signed => format!("int{}", self.size * 8),
            Kind::Float => format!("float{}", self.size * 8),
        }
    }
}

/// Parses a simple dtype string (`<f4`, `|u1`, `>i8`, `=f2`, `|b1`); the error is the
/// reason it is not read, in words.
fn parse_dtype(descr: &str) -> Result<Element, String> {
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr),
    };
    let Some(letter) = rest.chars().next() else {
        return Err("an empty type code".to_owned());
    };
    let digits = &rest[letter.len_utf8()..];
    let kind = match letter {
        'b' => Kind::Bool,
        'u' => Kind::Unsigned,
        'i' => Kind::Signed,
        'f' => Kind::Float,
        'O' => {
            return Err(
                "it holds Python objects (numpy dtype=object), and pickled object \
                 arrays are not read; save the array with a numeric dtype, e.g. \
                 np.save(path, x.astype('float32'))"
                    .to_owned(),
            )
        }
        'U' | 'S' | 'a' => {
            return Err("it holds strings; save labels as integer class indices".to_owned())
        }
        'V' => return Err("it holds raw or structured records".to_owned()),
        'c' => return Err("it holds complex numbers".to_owned()),
        'M' | 'm' => return Err("it holds dates or time spans".to_owned()),
        _ => return Err("it is not a numpy type code this reader knows".to_owned()),
    };
    let size: usize = digits
        .parse()
        .map_err(|_| "its size is not a number of bytes".to_owned())?;
    let supported = match kind {
        Kind::Bool => size == 1,
        Kind::Unsigned | Kind::Signed => matches!(size, 1 | 2 | 4 | 8),
        Kind::Float => matches!(size, 2 | 4 | 8),
    };
    if !supported {
        return Err(format!(
            "{size}-byte elements of this kind are not read (integers of 1, 2, 4 or 8 bytes, \
             floats of 2, 4 or 8, bool)"
        ));
    }
    if order == '|' && size > 1 {
        return Err(
            "byte order '|' (not applicable) given for elements of more than one byte".to_owned(),
        );
    }
    let big_endian = match order {
        '>' => true,
        '<' | '|' => false,
        _ => cfg!(target_endian = "big"),
    };
    Ok(Element {
        kind,
        size,
        big_endian,
    })
}

/// Reads `shape`'s elements of type `element` from `input`, converting them as they
/// arrive, and returns them in C order. `claim` says what the header claims, in words, for
/// the size errors.
///
/// # Errors
/// The size errors of [`Input::body_chunks`]; [`DataError::BadElement`] for a value that
/// cannot be held (see [`read_npy`]); [`DataError::BadHeader`] for a dimension too large for
/// this machine in an empty array.
pub(crate) fn read_elements(
    input: &mut Input<'_>,
    claim: &str,
    shape: &[u64],
    element: Element,
    fortran_order: bool,
    limits: Limits,
) -> Result<NpyArray, DataError> {
    let count = shape
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
        .unwrap_or(u128::MAX);
    let claimed = count.saturating_mul(element.size as u128);
    let path = input.path().to_owned();
    let bad_element = |at: usize, problem: String| DataError::BadElement {
        path: path.clone(),
        index: element_index(at, shape, fortran_order),
        problem,
    };
    let size = element.size;
    let big = element.big_endian;
    let data = match (element.kind, size) {
        (Kind::Bool | Kind::Unsigned, 1) => {
            let bool = element.kind == Kind::Bool;
            let out = input.body_chunks(
                claim,
                claimed,
                limits,
                |bytes| Vec::with_capacity(bytes as usize),
                |out: &mut Vec<u8>, chunk| {
                    if bool {
                        out.extend(chunk.iter().map(|&b| u8::from(b != 0)));
                    } else {
                        out.extend_from_slice(chunk);
                    }
                    Ok(())
                },
            )?;
            NpyData::U8(out)
        }
        (Kind::Float, _) => {
            let out = input.body_chunks(
                claim,
                claimed,
                limits,
                |bytes| Vec::with_capacity(bytes as usize / size),
                |out: &mut Vec<f32>, chunk| {
                    for raw in chunk.chunks_exact(size) {
                        let bits = unsigned(raw, big);
                        let value = match size {
                            2 => f16_to_f32(bits as u16),
                            4 => f32::from_bits(bits as u32),
                            _ => {
                                let wide = f64::from_bits(bits);
                                let value = wide as f32;
                                if wide.is_finite() && !value.is_finite() {
                                    return Err(bad_element(
                                        out.len(),
                                        format!("{wide:e}, outside float32's range"),
                                    ));
                                }
                                value
                            }
                        };
                        if !value.is_finite() {
                            let what = if value.is_nan() { "NaN" } else { "infinite" };
                            return Err(bad_element(
                                out.len(),
                                format!("{what}; only finite numbers are read"),
                            ));
                        }
                        out.push(value);
                    }
                    Ok(())
                },
            )?;
            NpyData::F32(out)
        }
        (kind, _) => {
            let signed = kind == Kind::Signed;
            let out = input.body_chunks(
                claim,
                claimed,
                limits,
                |bytes| Vec::with_capacity(bytes as usize / size),
                |out: &mut Vec<i64>, chunk| {
                    for raw in chunk.chunks_exact(size) {
                        let bits = unsigned(raw, big);
                        let value = if signed {
                            // Sign-extend from `size` bytes.
                            let shift = 64 - 8 * size as u32;
                            ((bits << shift) as i64) >> shift
                        } else {
                            i64::try_from(bits).map_err(|_| {
                                bad_element(out.len(), format!("{bits}, more than i64::MAX"))
                            })?
                        };
                        out.push(value);
                    }
                    Ok(())
                },
            )?;
            NpyData::Int(out)
        }
    };
    // The data fits in memory, so every dimension of a non-empty array fits in usize; an
    // empty array may still have huge dimensions next to a zero. Those are refused as numpy
    // and ndarray refuse them: the product of the non-zero dimensions must fit in an isize,
    // so that no one computing the array's size in another order overflows.
    let nonzero = shape
        .iter()
        .filter(|&&d| d > 0)
        .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)))
        .filter(|&n| n <= isize::MAX as u128);
    let shape = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .ok()
        .filter(|_| nonzero.is_some())
        .ok_or_else(|| bad_header(input, format!("{claim} has a dimension too large")))?;
    let data = if fortran_order && shape.len() > 1 {
        match data {
            NpyData::U8(v) => NpyData::U8(fortran_to_c(v, &shape)),
            NpyData::Int(v) => NpyData::Int(fortran_to_c(v, &shape)),
            NpyData::F32(v) => NpyData::F32(fortran_to_c(v, &shape)),
        }
    } else {
        data
    };
    Ok(NpyArray { shape, data })
}

/// The unsigned integer of `raw`'s 1 to 8 bytes in the given byte order.
fn unsigned(raw: &[u8], big_endian: bool) -> u64 {
    let fold = |acc: u64, &b: &u8| (acc << 8) | u64::from(b);
    if big_endian {
        raw.iter().fold(0, fold)
    } else {
        raw.iter().rev().fold(0, fold)
    }
}

/// IEEE 754 half precision to single, exactly (every `f16` is an `f32`).
pub(crate) fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half >> 15) << 31;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x3ff);
    let bits = match exponent {
        0 => {
            // Zero or subnormal: mantissa * 2^-24, exact in f32.
            let magnitude = mantissa as f32 / 16_777_216.0;
            return if sign == 0 { magnitude } else { -magnitude };
        }
        0x1f => sign | 0x7f80_0000 | (mantissa << 13),
        _ => sign | ((exponent + 127 - 15) << 23) | (mantissa << 13),
    };
    f32::from_bits(bits)
}

/// Elements stored in Fortran (column-major) order for `shape`, rearranged into C order.
fn fortran_to_c<T: Copy>(data: Vec<T>, shape: &[usize]) -> Vec<T> {
    // Column-major data of `shape` is row-major data of the reversed shape; reversing its
    // axes back gives the logical array, which is copied out in row-major order.
    let reversed: Vec<usize> = shape.iter().rev().copied().collect();
    match ndarray::ArrayD::from_shape_vec(reversed, data) {
        Ok(array) => array.reversed_axes().iter().copied().collect(),
        // Unreachable: `data` holds product(shape) elements (the body was checked).
        Err(error) => {
            debug_assert!(false, "{error}");
            Vec::new()
        }
    }
}

/// The multi-index of the `at`-th stored element, as `[i, j, k]`.
fn element_index(at: usize, shape: &[u64], fortran_order: bool) -> String {
    let mut index = vec![0u64; shape.len()];
    let mut rest = at as u64;
    let mut place = |i: usize| {
        let d = shape[i].max(1);
        index[i] = rest % d;
        rest /= d;
    };
    if fortran_order {
        (0..shape.len()).for_each(&mut place);
    } else {
        (0..shape.len()).rev().for_each(&mut place);
    }
    let parts: Vec<String> = index.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

pub(crate) fn bad_header(input: &Input<'_>, problem: String) -> DataError {
    DataError::BadHeader {
        path: input.path().to_owned(),
        problem,
    }
}

/// Formats a shape as Python prints a tuple: `(60000, 28, 28)`, `(60000,)`, `()`.
pub(crate) fn python_tuple<T: std::fmt::Display>(shape: &[T]) -> String {
    if let [one] = shape {
        return format!("({one},)");
    }
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    format!("({})", dims.join(", "))
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
    use super::{element_index, f16_to_f32, parse_dtype, parse_header, Element, Kind, NpyHeader};

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

    #[test]
    fn dtypes_parse_or_say_why_not() {
        let e = |kind, size, big_endian| {
            Ok(Element {
                kind,
                size,
                big_endian,
            })
        };
        assert_eq!(parse_dtype("<f4"), e(Kind::Float, 4, false));
        assert_eq!(parse_dtype(">i8"), e(Kind::Signed, 8, true));
        assert_eq!(parse_dtype("|u1"), e(Kind::Unsigned, 1, false));
        assert_eq!(parse_dtype("|b1"), e(Kind::Bool, 1, false));
        assert_eq!(
            parse_dtype("=f2"),
            e(Kind::Float, 2, cfg!(target_endian = "big"))
        );
        assert_eq!(
            parse_dtype("u2"),
            e(Kind::Unsigned, 2, cfg!(target_endian = "big"))
        );
        let why = |descr: &str| parse_dtype(descr).expect_err(descr);
        assert!(why("|O").contains("pickled object arrays are not read"));
        assert!(why("<U5").contains("strings"));
        assert!(why("|V8").contains("structured"));
        assert!(why("<c8").contains("complex"));
        assert!(why("<M8[ns]").contains("dates"));
        assert!(why("<f16").contains("16-byte elements"));
        assert!(why("<i3").contains("3-byte elements"));
        assert!(why("|i4").contains("byte order '|'"));
        assert!(why("<fx").contains("not a number of bytes"));
        assert!(why("<").contains("empty type code"));
        assert!(why("<q8").contains("not a numpy type code"));
    }

    #[test]
    #[allow(clippy::float_cmp)] // Every f16 is an f32: the conversion must be exact.
    fn half_floats_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert!(f16_to_f32(0x8000).is_sign_negative() && f16_to_f32(0x8000) == 0.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn element_indices_follow_the_storage_order() {
        assert_eq!(element_index(5, &[2, 3], false), "[1, 2]");
        assert_eq!(element_index(5, &[2, 3], true), "[1, 2]");
        assert_eq!(element_index(1, &[2, 3], false), "[0, 1]");
        assert_eq!(element_index(1, &[2, 3], true), "[1, 0]");
        assert_eq!(element_index(0, &[], false), "[]");
        assert_eq!(element_index(7, &[10], false), "[7]");
    }
}
