//! Keras `mnist.npz` reader on arbitrary bytes under a 1 MiB limit: errors, never a panic,
//! never an allocation past the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_runtime::data::{read_mnist_npz_from, Limits};
use std::io::Cursor;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bytes: 1 << 20 };
    if let Ok(mnist) = read_mnist_npz_from(Cursor::new(data), Path::new("fuzz.npz"), limits) {
        assert_eq!(
            mnist.train.images().expect("u8 features").nrows(),
            mnist.train.labels().expect("class targets").len()
        );
        assert_eq!(
            mnist.test.images().expect("u8 features").nrows(),
            mnist.test.labels().expect("class targets").len()
        );
    }
});
