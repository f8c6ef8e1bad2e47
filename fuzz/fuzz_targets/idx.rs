//! IDX readers (plain and gzipped) on arbitrary bytes under a 1 MiB limit: errors, never a
//! panic, never an allocation past the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_runtime::data::{read_idx_images_from, read_idx_labels_from, Limits};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bytes: 1 << 20 };
    let name = Path::new("fuzz-idx");
    if let Ok(images) = read_idx_images_from(data, name, limits) {
        assert!(images.len() as u64 <= limits.max_bytes);
    }
    if let Ok(labels) = read_idx_labels_from(data, name, limits) {
        assert!(labels.len() as u64 <= limits.max_bytes);
    }
});
