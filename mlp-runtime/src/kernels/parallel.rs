//! Opt-in use of several cores inside the kernels: a process-wide pool of persistent worker
//! threads, created once by [`set_threads`], that the large GEMMs and the Adam pass split
//! their work across.
//!
//! Invariants:
//! - Results do not depend on the thread count. Work is only ever split into independent
//!   pieces (rows or columns of a GEMM's output, ranges of an element-wise pass); every
//!   output element is computed by exactly the code, in exactly the order, one thread
//!   would use. `--threads 1` and `--threads 2` train bit-identical models.
//! - Nothing allocates after [`set_threads`]: a job is a borrowed closure published through
//!   an atomic generation counter; workers spin briefly (a training step issues a job every
//!   few microseconds) and then park, so an idle process burns no CPU.
//! - Parts run in the floating-point mode of the thread that called (denormals flushed or
//!   not, see [`super::fp`]): a worker switches to it before running a part.
//! - The pool serves one caller at a time. A call made while another thread holds it (two
//!   models training in parallel threads) or from inside a job simply runs all its pieces
//!   itself, which gives the same results.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::hint::spin_loop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How long a worker spins without yielding its core while waiting for a job.
const SPIN_HOT: Duration = Duration::from_micros(200);
/// How long a worker waits (spinning, then yielding) for the next job before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// The threads computing a kernel call (1 = only the caller, the default).
static ACTIVE: AtomicUsize = AtomicUsize::new(1);

/// The worker pool, created by the first [`set_threads`] asking for more than one thread.
static POOL: OnceLock<Pool> = OnceLock::new();

/// Bits of [`Pool::state`] holding the next unclaimed part, and (above them) the job's
/// part count; the job's generation is in the high 32 bits.
const PART_BITS: u32 = 16;
const PART_MASK: u64 = (1 << PART_BITS) - 1;

/// Splits a state word into (generation, parts, next part).
fn unpack(state: u64) -> (u64, u64, u64) {
    (
        state >> 32,
        (state >> PART_BITS) & PART_MASK,
        state & PART_MASK,
    )
}

/// State shared between the caller holding the pool and the workers.
///
/// Protocol: the holder writes `job`, then publishes `state = (generation, parts, next =
/// 0)` (`Release`). Every thread, the holder included, claims parts by a compare-exchange
/// that increments `next` (`AcqRel`), reads `job` only after a successful claim, runs the
/// part and increments `done`. The holder returns when `done == parts`: by then no thread
/// will read `job` again (a later claim needs a later generation), so the closure may die
/// and the slot may be rewritten. A worker that is descheduled simply claims nothing: the
/// holder runs the remaining parts itself, so a loaded machine costs no waiting.
struct Pool {
    /// Helper threads (the caller is the other participant).
    workers: Vec<Thread>,
    /// `generation << 32 | parts << 16 | next unclaimed part`. Read in the workers' spin
    /// loop, so it has a cache line to itself: the writes to `done` while a job runs do
    /// not disturb it.
    state: CacheLine<AtomicU64>,
    /// Parts of the current job finished (the caller's spin loop reads it).
    done: CacheLine<AtomicUsize>,
    /// Workers parked (or about to park) waiting for a job.
    sleepers: AtomicUsize,
    /// Held by the one caller using the pool.
    busy: AtomicBool,
    /// A worker's part panicked during the current job.
    panicked: AtomicBool,
    /// The caller's floating-point control word for the current job (see [`super::fp`]).
    fp_mode: AtomicU32,
    /// The current job's closure, its lifetime erased (see the protocol above).
    job: UnsafeCell<*const (dyn Fn(usize) + Sync)>,
}

// SAFETY: `job` is written only by the holder of `busy` while no part of a published job is
// unclaimed or running (see the protocol), and read only after a claim that synchronises
// with its publication. The closure it points to is `Sync`.
unsafe impl Sync for Pool {}
// SAFETY: as above; the raw closure pointer is only dereferenced under that protocol.
unsafe impl Send for Pool {}

/// A value alone on its cache line (128 bytes: two lines, as adjacent-line prefetchers
/// fetch pairs).
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// No-op closure used to initialise the job slot.
fn nothing(_: usize) {}

/// Uses `threads` threads (the caller plus `threads - 1` persistent workers) for the
/// kernels from now on; returns the count in effect. `1` (the default) turns splitting
/// off. The workers are created on the first call asking for more than one thread, at most
/// one per available core minus the caller; a later call can lower the count in use but
/// not raise it above the workers created.
///
/// Changing the count never changes results (see the module docs).
pub fn set_threads(threads: usize) -> usize {
    let cores = thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let wanted = threads.clamp(1, cores.max(1));
    if wanted > 1 {
        let pool = POOL.get_or_init(|| Pool::start(wanted - 1));
        let effective = wanted.min(pool.workers.len() + 1);
        ACTIVE.store(effective, Ordering::Relaxed);
        effective
    } else {
        ACTIVE.store(1, Ordering::Relaxed);
        1
    }
}

/// The number of threads the kernels split their work across.
#[must_use]
pub fn threads() -> usize {
    ACTIVE.load(Ordering::Relaxed)
}

impl Pool {
    /// Spawns `workers` helper threads. If the system refuses a thread, the pool runs with
    /// the ones it got.
    fn start(workers: usize) -> Pool {
        let mut pool = Pool {
            workers: Vec::with_capacity(workers),
            state: CacheLine(AtomicU64::new(0)),
            done: CacheLine(AtomicUsize::new(0)),
            sleepers: AtomicUsize::new(0),
            busy: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            fp_mode: AtomicU32::new(super::fp::mode()),
            job: UnsafeCell::new(&nothing as &(dyn Fn(usize) + Sync)),
        };
        for index in 0..workers {
            let spawned = thread::Builder::new()
                .name(format!("mlp-kernel-{}", index + 1))
                .spawn(|| {
                    // The packing buffer of large GEMM pieces, reserved now so that no
                    // training step ever allocates it (untouched pages cost no memory).
                    super::gemm::reserve_packing_buffer();
                    // The pool is in its static as soon as `start` returns.
                    let pool = loop {
                        if let Some(pool) = POOL.get() {
                            break pool;
                        }
                        thread::park_timeout(Duration::from_micros(50));
                    };
                    pool.work();
                });
            match spawned {
                Ok(handle) => pool.workers.push(handle.thread().clone()),
                Err(_) => break,
            }
        }
        pool
    }

    /// Claims and runs parts of the current job until none is left. A worker passes its
    /// floating-point mode in `fp_mode` and adopts the caller's before running a part; the
    /// caller passes `None`.
    fn help(&self, mut fp_mode: Option<&mut u32>) {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let (_, parts, next) = unpack(state);
            if next >= parts {
                return;
            }
            match self.state.compare_exchange_weak(
                state,
                state + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if let Some(current) = fp_mode.as_deref_mut() {
                        // Published before `state` (which the claim synchronised with).
                        let wanted = self.fp_mode.load(Ordering::Relaxed);
                        if *current != wanted {
                            super::fp::set_mode(wanted);
                            *current = wanted;
                        }
                    }
                    // SAFETY: the claim synchronised with the job's publication, and the
                    // holder keeps the closure alive until this part is counted done.
                    let f = unsafe { &**self.job.get() };
                    if catch_unwind(AssertUnwindSafe(|| f(next as usize))).is_err() {
                        self.panicked.store(true, Ordering::Relaxed);
                    }
                    self.done.fetch_add(1, Ordering::AcqRel);
                    state = self.state.load(Ordering::Acquire);
                }
                Err(now) => state = now,
            }
        }
    }

    /// A worker's loop: wait for a new generation, help with it, repeat.
    fn work(&self) {
        let mut seen = 0;
        let mut fp_mode = super::fp::mode();
        loop {
            seen = self.wait_for_job(seen);
            self.help(Some(&mut fp_mode));
        }
    }

    /// Spins, then parks, until the generation differs from `seen`; returns the new one.
    fn wait_for_job(&self, seen: u64) -> u64 {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let (now, _, _) = unpack(self.state.load(Ordering::Acquire));
            if now != seen {
                return now;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(64) {
                spin_loop();
                continue;
            }
            let waited = start.elapsed();
            if waited < SPIN_HOT {
                continue;
            }
            if waited < SPIN {
                // Still likely to get a job soon, but let a thread that needs this core
                // (on a loaded machine, often the caller itself) run first.
                thread::yield_now();
                continue;
            }
            // Announce the nap, re-check (a job published before the announcement is seen
            // here; one published after it finds the announcement and unparks us).
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            if unpack(self.state.load(Ordering::SeqCst)).0 == seen {
                thread::park();
            }
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
            return self.wait_for_job(seen);
        }
    }
}

/// Runs `f(part)` for every `part < parts`, on the calling thread and the idle workers,
/// and returns when all are done. Runs them all on the caller when the pool is off or
/// busy. Which thread runs a part never changes what it computes.
///
/// # Panics
/// If a part panicked (after every part has finished).
pub(crate) fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) {
    let pool = match POOL.get() {
        Some(pool) if (2..=PART_MASK as usize).contains(&parts) => pool,
        _ => return (0..parts).for_each(f),
    };
    if pool
        .busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return (0..parts).for_each(f);
    }
    // SAFETY: lifetime erasure only. The closure is dereferenced only by claimed parts, all
    // of which finish before this function returns (it waits for `done == parts`).
    // (A pointer cast cannot extend a trait object's lifetime bound; a transmute can.)
    #[allow(clippy::transmute_ptr_to_ptr)]
    let erased = unsafe {
        core::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const (dyn Fn(usize) + Sync)>(f)
    };
    // SAFETY: we hold `busy` and every part of the previous job is done, so nobody reads
    // the slot until the new state is published below.
    unsafe { *pool.job.get() = erased };
    pool.done.store(0, Ordering::Relaxed);
    pool.fp_mode.store(super::fp::mode(), Ordering::Relaxed);
    let (generation, _, _) = unpack(pool.state.load(Ordering::Relaxed));
    let next_generation = (generation + 1) & u64::from(u32::MAX);
    pool.state.store(
        (next_generation << 32) | ((parts as u64) << PART_BITS),
        Ordering::SeqCst,
    );
    if pool.sleepers.load(Ordering::SeqCst) > 0 {
        for worker in &pool.workers {
            worker.unpark();
        }
    }
    pool.help(None);
    let mut spins = 0u32;
    while pool.done.load(Ordering::Acquire) != parts {
        spins = spins.wrapping_add(1);
        if spins < 1 << 11 {
            spin_loop();
        } else {
            // A worker was descheduled mid-part: stop burning the core it needs.
            thread::yield_now();
        }
    }
    let panicked = pool.panicked.swap(false, Ordering::Relaxed);
    pool.busy.store(false, Ordering::Release);
    assert!(!panicked, "a kernel part panicked");
}

/// Splits `0..len` into `parts` contiguous ranges whose boundaries are multiples of
/// `align` (the last range takes the rest); returns range `part`, possibly empty.
#[must_use]
pub(crate) fn piece(len: usize, parts: usize, align: usize, part: usize) -> (usize, usize) {
    let chunk = len.div_ceil(parts).div_ceil(align) * align;
    let start = (chunk * part).min(len);
    let end = (chunk * (part + 1)).min(len);
    (start, end)
}

/// Raw parts of a mutable slice shared with the workers.
struct RawMut(*mut f32);

// SAFETY: each worker turns it into a slice over its own disjoint range only.
unsafe impl Sync for RawMut {}

impl RawMut {
    /// The pointer (a method, so closures capture the `Sync` wrapper).
    fn ptr(&self) -> *mut f32 {
        self.0
    }
}

/// An element-wise pass over matching ranges of three mutable slices and one shared one.
pub(crate) type RangeFn<'a> = dyn Fn(&mut [f32], &mut [f32], &mut [f32], &[f32]) + Sync + 'a;

/// Smallest element-wise pass split across threads.
const PAR_MIN_ELEMS: usize = 1 << 14;

/// Calls `f(w, m, v, g)` on matching ranges of four equally long slices, the ranges split
/// across the kernel threads (at multiples of 64 elements) when there are at least 16 384
/// elements, else once on the whole slices. For element-wise passes (each output element
/// depends only on the same index of the inputs), whose results are then identical to a
/// single call.
///
/// # Panics
/// If the slices differ in length.
pub(crate) fn for_ranges3(w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], f: &RangeFn<'_>) {
    let n = w.len();
    assert!(
        m.len() == n && v.len() == n && g.len() == n,
        "slices differ in length"
    );
    let parts = threads();
    if parts < 2 || n < PAR_MIN_ELEMS {
        f(w, m, v, g);
        return;
    }
    let (pw, pm, pv) = (
        RawMut(w.as_mut_ptr()),
        RawMut(m.as_mut_ptr()),
        RawMut(v.as_mut_ptr()),
    );
    run(parts, &|part| {
        let (s, e) = piece(n, parts, 64, part);
        if s < e {
            // SAFETY: `s..e` lies within the `n` elements of each slice, and the ranges of
            // different parts are disjoint, so no element is reachable from two threads;
            // the original borrows are held (unused) until `run` returns.
            let (w, m, v) = unsafe {
                (
                    std::slice::from_raw_parts_mut(pw.ptr().add(s), e - s),
                    std::slice::from_raw_parts_mut(pm.ptr().add(s), e - s),
                    std::slice::from_raw_parts_mut(pv.ptr().add(s), e - s),
                )
            };
            f(w, m, v, &g[s..e]);
        }
    });
}

/// Smallest number of rows [`for_row_blocks`] splits across threads.
const PAR_MIN_ROWS: usize = 16;

/// Calls `f(first_row, block)` on contiguous blocks of whole rows of `out` (`rows` rows of
/// `row_len` elements), one block per kernel thread when there are at least 16 rows, else
/// once on all of them. For row-wise passes (each output row depends only on its own
/// inputs), whose results are then identical to a single call.
///
/// # Panics
/// If `out` is shorter than `rows · row_len`.
pub(crate) fn for_row_blocks(
    out: &mut [f32],
    rows: usize,
    row_len: usize,
    f: &(dyn Fn(usize, &mut [f32]) + Sync),
) {
    let out = &mut out[..rows * row_len];
    let parts = threads();
    if parts < 2 || rows < PAR_MIN_ROWS || row_len == 0 {
        f(0, out);
        return;
    }
    let base = RawMut(out.as_mut_ptr());
    run(parts, &|part| {
        let (r0, r1) = piece(rows, parts, 1, part);
        if r0 < r1 {
            // SAFETY: rows `r0..r1` lie within `out`, and the row blocks of different parts
            // are disjoint; the borrow of `out` is held (unused) until `run` returns.
            let block = unsafe {
                std::slice::from_raw_parts_mut(base.ptr().add(r0 * row_len), (r1 - r0) * row_len)
            };
            f(r0, block);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::piece;

    #[test]
    fn pieces_cover_the_range_once_with_aligned_boundaries() {
        for len in [0, 1, 15, 16, 17, 100, 784, 1000] {
            for parts in 1..=4 {
                for align in [1, 8, 16] {
                    let mut next = 0;
                    for part in 0..parts {
                        let (s, e) = piece(len, parts, align, part);
                        assert_eq!(s, next, "len {len} parts {parts} align {align}");
                        assert!(s <= e);
                        if e < len {
                            assert_eq!(e % align, 0);
                        }
                        next = e;
                    }
                    assert_eq!(next, len, "len {len} parts {parts} align {align}");
                }
            }
        }
    }
}
