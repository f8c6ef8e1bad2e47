//! Zero heap allocations in `train_step`, `compute_gradients`, `evaluate_batch` and
//! `forward` after construction, proven with a counting global allocator (its own test
//! binary, since the global allocator is per binary).

mod common;

use mlp_runtime::Targets;
use mlp_runtime::{Model, Network};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn hot_paths_do_not_allocate() {
    let batch = 32;
    let x = common::values(batch * 784, 1, 0.0, 255.0);
    let labels: Vec<u32> = (0..batch).map(|i| (i % 10) as u32).collect();
    for (stem, model) in common::notebook(&[28, 28], 64, 32) {
        let mut net = Network::new(&model, 3, batch).unwrap();
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for step in 0..3 {
            net.train_step(&x, Targets::Classes(&labels), batch);
            net.train_step(&x[..7 * 784], Targets::Classes(&labels[..7]), 7); // a last partial batch
            net.compute_gradients(&x, Targets::Classes(&labels), batch);
            net.evaluate_batch(&x, Targets::Classes(&labels), batch);
            let y = net.forward(&x, batch);
            assert!(y[step].is_finite());
        }
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(
            after - before,
            0,
            "{stem}: {} allocations on the hot path",
            after - before
        );
    }
}
