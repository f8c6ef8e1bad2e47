//! The general binary readers on arbitrary bytes under a 1 MiB limit: `.npy`
//! (`read_npy_from`, with the length unknown and known), `.npz` (`read_npz_arrays_from`,
//! two members) and IDX of any type (`read_idx_from`). Errors, never a panic, never an
//! allocation past the limit; an array that is read has as many elements as its shape
//! says, no more than the limit's bytes of them, and only finite floats; knowing the
//! stream's length never changes what is read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_runtime::data::{
    read_idx_from, read_npy_from, read_npz_arrays_from, Limits, NpyArray, NpyData,
};
use std::io::Cursor;
use std::path::Path;

fn check(array: &NpyArray, limits: Limits) {
    let elements = array
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d));
    assert_eq!(elements, Some(array.len()), "{:?}", array.shape);
    assert!(array.len() as u64 <= limits.max_bytes);
    if let NpyData::F32(values) = &array.data {
        assert!(values.iter().all(|v| v.is_finite()));
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bytes: 1 << 20 };
    let name = Path::new("fuzz.npy");
    let unknown = read_npy_from(data, name, None, limits);
    let known = read_npy_from(data, name, Some(data.len() as u64), limits);
    match (&unknown, &known) {
        (Ok(a), Ok(b)) => {
            check(a, limits);
            assert_eq!(a, b);
        }
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => panic!("the length changed the result: {e}"),
        (Err(a), Err(b)) => {
            let _ = (a.to_string(), b.to_string());
        }
    }
    match read_npz_arrays_from(
        Cursor::new(data),
        Path::new("fuzz.npz"),
        &["x", "y.npy"],
        limits,
    ) {
        Ok(arrays) => {
            assert_eq!(arrays.len(), 2);
            arrays.iter().for_each(|a| check(a, limits));
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    match read_idx_from(data, Path::new("fuzz.idx"), limits) {
        Ok(array) => check(&array, limits),
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
