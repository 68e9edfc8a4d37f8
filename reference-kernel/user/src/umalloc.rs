//! The heap: xv6's umalloc, the K&R allocator from "The C Programming
//! Language" §8.7, on top of `sbrk`, and the `#[global_allocator]` that lets
//! programs use `alloc` (`Box`, `Vec`, `String`) through it.
//!
//! Free blocks form a circular list sorted by address, starting from a
//! zero-sized `base` block. Every block begins with a 16-byte `Header` and is
//! measured in 16-byte units, so every block is 16-byte aligned. `malloc` takes
//! the first block that fits (splitting off its tail); when none does,
//! `morecore` asks `sbrk` for at least 4096 units (64 KiB) and frees the new
//! memory into the list. `free` puts a block back in address order and merges
//! it with free neighbours.
//!
//! The lazy-allocation lab depends on this shape: once `sbrk` stops mapping
//! memory, the first touch of a header `morecore` writes faults, which is why
//! the shell breaks until page faults are handled.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::{Cell, UnsafeCell};
use core::ptr::{self, null_mut};

use crate::sys;

/// The bookkeeping in front of every block, free or allocated.
#[repr(C, align(16))]
struct Header {
    /// The next free block (meaningful only while this block is free).
    next: *mut Header,
    /// Size of the block in units, this header included.
    units: usize,
}

/// The allocation unit: one header's size.
const UNIT: usize = size_of::<Header>();
const _: () = assert!(UNIT == 16);

/// The least `morecore` asks `sbrk` for, in units, so that small allocations
/// do not each cost a system call.
const MIN_MORECORE_UNITS: usize = 4096;

/// The free list.
struct FreeList {
    /// A zero-sized block that anchors the circular list.
    base: UnsafeCell<Header>,
    /// Where the last search ended (and the next one starts); null until the
    /// first `malloc` links `base` to itself.
    freep: Cell<*mut Header>,
}

// SAFETY: an xv6 process has one thread and no signal handlers, so the free
// list is never touched by two executions at once.
unsafe impl Sync for FreeList {}

static FREE_LIST: FreeList = FreeList {
    base: UnsafeCell::new(Header {
        next: null_mut(),
        units: 0,
    }),
    freep: Cell::new(null_mut()),
};

/// Allocates `nbytes` bytes, 16-byte aligned and uninitialised; returns null
/// when `sbrk` cannot provide the memory.
pub fn malloc(nbytes: usize) -> *mut u8 {
    // One unit more than the payload needs, for the header.
    let Some(units) = nbytes.checked_add(UNIT - 1).map(|n| n / UNIT + 1) else {
        return null_mut();
    };
    // SAFETY: single-threaded (see `FreeList`), and the list only ever holds
    // blocks this allocator built.
    unsafe { FREE_LIST.alloc(units) }
}

/// Returns a block to the heap. Null is ignored.
///
/// # Safety
///
/// `ptr` must be null or a pointer `malloc` returned that has not been freed.
pub unsafe fn free(ptr: *mut u8) {
    if !ptr.is_null() {
        // SAFETY: the caller guarantees `ptr` came from `malloc`.
        unsafe { FREE_LIST.free(ptr.cast::<Header>().sub(1)) }
    }
}

impl FreeList {
    /// First fit for a block of `units` units (header included).
    ///
    /// # Safety
    ///
    /// No other access to the list may be in progress.
    unsafe fn alloc(&self, units: usize) -> *mut u8 {
        let mut prev = self.freep.get();
        if prev.is_null() {
            let base = self.base.get();
            // SAFETY: `base` is our own static header; an empty list is `base`
            // pointing at itself with size 0, so it never satisfies a request.
            unsafe {
                (*base).next = base;
                (*base).units = 0;
            }
            self.freep.set(base);
            prev = base;
        }
        // SAFETY: every pointer reachable from `freep` is `base` or a header
        // that `free` linked in, inside memory obtained from `sbrk`; a block
        // being split is at least `units` long, so its tail is inside it.
        unsafe {
            let mut p = (*prev).next;
            loop {
                if (*p).units >= units {
                    if (*p).units == units {
                        (*prev).next = (*p).next;
                    } else {
                        // Hand out the tail, so the free block keeps its place
                        // in the list and only shrinks.
                        (*p).units -= units;
                        p = p.add((*p).units);
                        (*p).units = units;
                    }
                    self.freep.set(prev);
                    return p.add(1).cast();
                }
                if p == self.freep.get() {
                    // Went all the way round without a fit.
                    p = self.morecore(units);
                    if p.is_null() {
                        return null_mut();
                    }
                }
                prev = p;
                p = (*p).next;
            }
        }
    }

    /// Grows the heap by at least `units` units and frees the new memory into
    /// the list; returns `freep` (from where the search resumes), or null.
    ///
    /// # Safety
    ///
    /// No other access to the list may be in progress.
    unsafe fn morecore(&self, units: usize) -> *mut Header {
        let units = units.max(MIN_MORECORE_UNITS);
        let Some(bytes) = units.checked_mul(UNIT).and_then(|b| i32::try_from(b).ok()) else {
            return null_mut();
        };
        // SAFETY: growing the heap takes nothing away from anyone.
        let mut start = unsafe { sys::sbrk(bytes) };
        if (start as isize) < 0 {
            return null_mut();
        }
        // The break is page-aligned unless the program called sbrk with an odd
        // amount itself; then extend the region so an aligned one fits.
        let misalign = start as usize % UNIT;
        if misalign != 0 {
            let pad = (UNIT - misalign) as i32;
            // SAFETY: as above, growing only.
            if (unsafe { sys::sbrk(pad) } as isize) < 0 {
                return null_mut();
            }
            start = start.wrapping_add(UNIT - misalign);
        }
        let block = start.cast::<Header>();
        // SAFETY: `block` is the 16-byte-aligned start of `units` units of
        // fresh heap that nobody else uses; writing its header may fault it in
        // (lazy allocation) but is a valid access.
        unsafe {
            (*block).units = units;
            self.free(block);
        }
        self.freep.get()
    }

    /// Inserts the block at `bp` into the list in address order, merging it
    /// with the free blocks right above and below it.
    ///
    /// # Safety
    ///
    /// `bp` must head a block this allocator handed out (or `morecore`'s new
    /// block) that is not on the list; no other list access in progress.
    unsafe fn free(&self, bp: *mut Header) {
        // SAFETY: all headers reached are on the list (see `alloc`), and `bp`
        // heads a valid block by the caller's guarantee. Block ends are
        // computed with wrapping arithmetic because they may lie just past the
        // end of the heap.
        unsafe {
            let mut p = self.freep.get();
            // Find p with p < bp < p.next; at the list's wrap-around point
            // (p >= p.next), bp may instead lie beyond either end.
            while !(bp > p && bp < (*p).next) {
                if p >= (*p).next && (bp > p || bp < (*p).next) {
                    break;
                }
                p = (*p).next;
            }
            let upper = (*p).next;
            if bp.wrapping_add((*bp).units) == upper {
                (*bp).units += (*upper).units;
                (*bp).next = (*upper).next;
            } else {
                (*bp).next = upper;
            }
            if p.wrapping_add((*p).units) == bp {
                (*p).units += (*bp).units;
                (*p).next = (*bp).next;
            } else {
                (*p).next = bp;
            }
            self.freep.set(p);
        }
    }
}

/// The `#[global_allocator]`: `alloc`'s requests served by `malloc`/`free`.
pub struct Umalloc;

#[global_allocator]
static ALLOCATOR: Umalloc = Umalloc;

// SAFETY: blocks come from `malloc`, are at least `size` bytes, aligned as
// asked (16 bytes by construction, more by the over-allocation below), and
// stay reserved until `dealloc` frees exactly what `alloc` got from `malloc`.
unsafe impl GlobalAlloc for Umalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= UNIT {
            return malloc(layout.size());
        }
        // Stricter alignment: over-allocate, align inside the block, and keep
        // malloc's pointer in the word just below the aligned one.
        let Some(total) = layout.size().checked_add(layout.align()) else {
            return null_mut();
        };
        let raw = malloc(total);
        if raw.is_null() {
            return raw;
        }
        // `raw` is 16-aligned and `align` a larger power of two, so the offset
        // is a non-zero multiple of 16 (at most `align`): room for the word.
        let offset = layout.align() - (raw as usize & (layout.align() - 1));
        // SAFETY: `offset <= align`, so `aligned .. aligned + size` and the
        // word below `aligned` lie inside the `size + align` bytes of `raw`.
        unsafe {
            let aligned = raw.add(offset);
            ptr::write(aligned.cast::<*mut u8>().sub(1), raw);
            aligned
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= UNIT {
            // SAFETY: `alloc` returned `ptr` straight from `malloc`.
            unsafe { free(ptr) }
        } else {
            // SAFETY: `alloc` stored malloc's pointer just below `ptr`.
            unsafe { free(ptr::read(ptr.cast::<*mut u8>().sub(1))) }
        }
    }
}
