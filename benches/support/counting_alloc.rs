//! A global allocator that counts live heap bytes, so that the benches
//! measure the size of what they build instead of estimating it. It
//! allocates with mimalloc, as the binary does, so that times are the ones
//! the bot sees. Each bench includes this file with `#[path]`; the
//! allocator becomes its global one.
//!
//! The count is per thread, in a thread-local: a shared atomic counter put
//! a locked instruction on every allocation and free, which the binary does
//! not have, and which made the benches' many small allocations (one
//! explanation's terms and snippet) slower than in the bot. The benches
//! build and measure on one thread.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;

use mimalloc::MiMalloc;

thread_local! {
    /// Bytes this thread allocated and has not freed (negative when it
    /// frees what another thread allocated).
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

/// Bytes live on the heap now, of those this thread allocated.
pub fn live_bytes() -> usize {
    LIVE_BYTES.with(|live| usize::try_from(live.get()).unwrap_or(0))
}

fn count(bytes: usize, sign: isize) {
    let bytes = isize::try_from(bytes).unwrap_or(isize::MAX);
    // `try_with`: nothing is counted while the thread is being torn down.
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get() + sign * bytes));
}

/// Forwards to [`MiMalloc`], the `wirewatch` binary's allocator, counting.
struct CountingAlloc;

// SAFETY: every method forwards to `MiMalloc` with the caller's arguments and
// only adds bookkeeping on a thread-local counter (which never allocates).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { MiMalloc.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), 1);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { MiMalloc.dealloc(ptr, layout) };
        count(layout.size(), -1);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(layout.size(), -1);
            count(new_size, 1);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;
