//! `.npy` files (`NumPy`'s format 1.0) written from the format's description, independently
//! of the runtime's reader: the magic `\x93NUMPY`, the version `1 0`, the header's length
//! as a little-endian `u16`, the header (a Python dict literal padded with spaces and ended
//! by a newline, so that the data starts at a multiple of 64 bytes), then the data.
//!
//! The header and the data are given separately, so a test can make them disagree.

/// A `.npy` file whose header is the dict literal `dict`, followed by `data`.
///
/// # Panics
/// When the header is longer than format 1.0 allows (65 535 bytes).
#[must_use]
pub fn with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_owned();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let length = u16::try_from(header.len()).expect("a header of format 1.0");
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// The header dict of a C-order array of `descr` (`'<f4'`, `'<i8'`, `'|u1'`) and `shape`.
#[must_use]
pub fn dict(descr: &str, shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
}

/// A C-order array of little-endian `f32` values.
#[must_use]
pub fn f32s(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    with_header(&dict("<f4", shape), &data)
}

/// A C-order array of little-endian `i64` values.
#[must_use]
pub fn i64s(shape: &[usize], values: &[i64]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    with_header(&dict("<i8", shape), &data)
}
