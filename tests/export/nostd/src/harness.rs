//! Runs the exported model over `rows` samples: reads `INPUTS` little-endian f32 per row
//! from the file named by the first argument, writes `OUTPUTS` per row to the second, and
//! prints how many heap allocations the predictions made (a counting global allocator):
//! the export promises none.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use mlp_export_nostd::model::{predict, predict_batch, INPUTS, OUTPUTS, SCRATCH};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&args[1]).expect("the input file is readable");
    let x: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let rows = x.len() / INPUTS;
    let mut out = vec![0.0f32; rows * OUTPUTS];
    let mut batched = vec![0.0f32; rows * OUTPUTS];
    let mut scratch = [0.0f32; SCRATCH];
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for (xr, yr) in x.chunks_exact(INPUTS).zip(out.chunks_exact_mut(OUTPUTS)) {
        let xr: &[f32; INPUTS] = xr.try_into().expect("a row");
        let yr: &mut [f32; OUTPUTS] = yr.try_into().expect("a row");
        predict(xr, &mut scratch, yr);
    }
    let done = predict_batch(&x, &mut scratch, &mut batched);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(done, rows);
    assert_eq!(
        out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        batched.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        "predict_batch computes what predict does"
    );
    let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&args[2], bytes).expect("the output file is writable");
    println!("allocations {allocations}");
}
