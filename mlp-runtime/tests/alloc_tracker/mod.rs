//! A per-thread allocation tracker for the reader tests: the largest single allocation and
//! the most bytes live at once while a closure runs. A test binary installs it with
//! `#[global_allocator] static ALLOCATOR: alloc_tracker::Tracker = alloc_tracker::Tracker;`
//! (it must then `#![allow(unsafe_code)]`: `GlobalAlloc` is an unsafe trait).

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Forwards to [`System`], noting sizes on the allocating thread while tracking is on.
pub struct Tracker;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK_LIVE: Cell<isize> = const { Cell::new(0) };
}

/// Notes an allocation of `size` bytes that frees `freed` bytes (a realloc's old size).
fn note(size: usize, freed: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
            let _ = LIVE.try_with(|live| {
                let now = live.get() + size as isize - freed as isize;
                live.set(now);
                let _ = PEAK_LIVE.try_with(|peak| peak.set(peak.get().max(now)));
            });
        }
    });
}

fn freed(size: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = LIVE.try_with(|live| live.set(live.get() - size as isize));
        }
    });
}

// SAFETY: every method forwards to `System` unchanged; `note` and `freed` only touch
// destructor-free thread-locals and never allocate.
unsafe impl GlobalAlloc for Tracker {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size, layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        freed(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// What [`track`] measured.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// The largest single allocation (or reallocation's new size), in bytes.
    pub largest: usize,
    /// The most bytes allocated on this thread at once, counted from the start of the run
    /// (a realloc counted as its new size only: it moves or grows one block).
    pub peak_live: usize,
}

/// Runs `f` on this thread and returns its result with the allocations it made.
pub fn track<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    LARGEST.with(|c| c.set(0));
    LIVE.with(|c| c.set(0));
    PEAK_LIVE.with(|c| c.set(0));
    TRACKING.with(|tracking| tracking.set(true));
    let result = f();
    TRACKING.with(|tracking| tracking.set(false));
    let usage = Usage {
        largest: LARGEST.with(Cell::get),
        peak_live: PEAK_LIVE.with(Cell::get).max(0) as usize,
    };
    (result, usage)
}
