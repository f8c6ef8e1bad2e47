//! The GEMM kernels allocate nothing per call: a counting global allocator (its own test
//! binary, since the global allocator is per binary) sees no allocation in any product
//! once the calling thread's packing buffer exists, on one thread and on two.

use mlp_runtime::kernels::gemm::{
    matmul_at_on, matmul_bt_on, matmul_on, reserve_packing_buffer, Isa,
};
use mlp_runtime::kernels::parallel;
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
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
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

/// Every form on every path at a blocked size, a small size and batch 1 (the GEMV).
fn all_products(a: &[f32], b: &[f32], c: &mut [f32]) {
    let shapes = [(300, 300, 300), (32, 64, 32), (1, 300, 300), (300, 64, 1)];
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for (m, k, n) in shapes {
            for accumulate in [false, true] {
                matmul_on(isa, m, k, n, a, b, c, accumulate);
                matmul_at_on(isa, m, k, n, a, b, c, accumulate);
                matmul_bt_on(isa, m, k, n, a, b, c, accumulate);
            }
        }
    }
}

/// One test, so nothing else in this binary allocates while it counts.
#[test]
fn products_allocate_nothing_after_each_threads_first_large_one() {
    the_first_large_product_of_a_thread_allocates_its_buffer_once();
    products_do_not_allocate_after_the_packing_buffer_exists();
}

fn products_do_not_allocate_after_the_packing_buffer_exists() {
    let a = vec![0.5f32; 300 * 300];
    let b = vec![0.25f32; 300 * 300];
    let mut c = vec![0.0f32; 300 * 300];
    reserve_packing_buffer();
    for threads in [1, 2] {
        // Starting the kernel threads allocates (their stacks and packing buffers, which
        // a worker reserves as it starts, maybe after `set_threads` returns): warm-up
        // rounds until one allocates nothing (a kernel allocating per call never gets
        // there), then three more that must not allocate either.
        parallel::set_threads(threads);
        let quiet = (0..10).any(|_| {
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            all_products(&a, &b, &mut c);
            ALLOCATIONS.load(Ordering::SeqCst) == before
        });
        assert!(quiet, "{threads} thread(s): every round allocated");
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..3 {
            all_products(&a, &b, &mut c);
        }
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(
            after - before,
            0,
            "{threads} thread(s): {} allocations",
            after - before
        );
    }
    parallel::set_threads(1);
}

fn the_first_large_product_of_a_thread_allocates_its_buffer_once() {
    // A fresh thread with no buffer: its first blocked product allocates it, later ones
    // nothing.
    std::thread::spawn(|| {
        let a = vec![0.5f32; 300 * 300];
        let b = vec![0.25f32; 300 * 300];
        let mut c = vec![0.0f32; 300 * 300];
        let isa = Isa::detected();
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        matmul_on(isa, 300, 300, 300, &a, &b, &mut c, false);
        let first = ALLOCATIONS.load(Ordering::SeqCst) - before;
        for _ in 0..3 {
            matmul_on(isa, 300, 300, 300, &a, &b, &mut c, false);
            matmul_bt_on(isa, 300, 300, 300, &a, &b, &mut c, true);
        }
        let later = ALLOCATIONS.load(Ordering::SeqCst) - before - first;
        assert!(first >= 1, "the first blocked product allocated nothing");
        assert_eq!(later, 0, "{later} allocations after the first product");
    })
    .join()
    .unwrap();
}
