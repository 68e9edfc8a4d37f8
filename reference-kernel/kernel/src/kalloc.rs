//! Physical memory allocator, for user processes, kernel stacks, page-table
//! pages, and pipe buffers. Allocates whole 4096-byte pages. This is xv6's
//! `kalloc.c`.
//!
//! Freed pages are filled with 1s and newly allocated pages with 5s, so code
//! that uses a page without initialising it (or after freeing it) sees
//! garbage rather than zeros that happen to work.

use crate::memlayout::PHYSTOP;
use crate::riscv::{PGSIZE, PhysAddr, pgroundup};
use crate::spinlock::Spinlock;

unsafe extern "C" {
    /// First address after the kernel, defined by kernel.ld.
    static end: u8;
}

/// A free page holds the link to the next one.
struct Run {
    next: *mut Run,
}

struct Kmem {
    freelist: *mut Run,
}

// SAFETY: the free list's pages belong to the allocator; the spin lock
// serialises all access.
unsafe impl Send for Kmem {}

static KMEM: Spinlock<Kmem> = Spinlock::new(
    Kmem {
        freelist: core::ptr::null_mut(),
    },
    "kmem",
);

/// The first byte of allocatable memory.
fn end_addr() -> usize {
    // `end` is a linker symbol; only its address is used.
    &raw const end as usize
}

pub fn kinit() {
    // Pages fresh from QEMU are zero and never used, so there is no need to
    // fill them with junk the way kfree() does.
    let mut p = pgroundup(end_addr());
    while p + PGSIZE <= PHYSTOP {
        push(PhysAddr(p));
        p += PGSIZE;
    }
}

fn push(pa: PhysAddr) {
    let r = pa.as_mut_ptr::<Run>();
    let mut kmem = KMEM.lock();
    // SAFETY: pa is a free, page-aligned page of RAM owned by the allocator.
    unsafe { (*r).next = kmem.freelist };
    kmem.freelist = r;
}

/// Free the page of physical memory pointed at by pa, which normally should
/// have been returned by a call to kalloc(). (The exception is when
/// initializing the allocator; see kinit above.)
pub fn kfree(pa: PhysAddr) {
    if !pa.0.is_multiple_of(PGSIZE) || pa.0 < end_addr() || pa.0 >= PHYSTOP {
        panic!("kfree");
    }

    // Fill with junk to catch dangling refs.
    // SAFETY: the page is being returned to the allocator; no one else may
    // use it any more.
    unsafe { fill_page(pa.as_mut_ptr::<u64>(), 1) };

    push(pa);
}

/// Allocate one 4096-byte page of physical memory. Returns a page that the
/// kernel can use (it is identity-mapped), or None if the memory cannot be
/// allocated. The page's contents are junk: clear it before relying on it.
pub fn kalloc() -> Option<PhysAddr> {
    let r = {
        let mut kmem = KMEM.lock();
        let r = kmem.freelist;
        if !r.is_null() {
            // SAFETY: r is the head of the free list, a page we own.
            kmem.freelist = unsafe { (*r).next };
        }
        r
    };

    if r.is_null() {
        return None;
    }
    // Fill with junk.
    // SAFETY: the page was just taken off the free list; it is ours.
    unsafe { fill_page(r.cast::<u64>(), 5) };
    Some(PhysAddr(r as usize))
}

/// Fill the page at `page` with `byte`, eight words per step. The junk
/// fills are most of what a page costs the allocator under QEMU, and so of
/// what the test programs' free-page counts cost (every free page is
/// allocated and freed once per count): a loop of single words spends as
/// much on its branch as on its store.
///
/// # Safety
/// `page` is a page-aligned page of RAM that the caller owns.
unsafe fn fill_page(page: *mut u64, byte: u8) {
    const WORDS: usize = PGSIZE / 8;
    let word = u64::from_ne_bytes([byte; 8]);
    let mut i = 0;
    while i < WORDS {
        // SAFETY: i + 7 < WORDS: within the caller's page.
        unsafe {
            page.add(i).write_volatile(word);
            page.add(i + 1).write_volatile(word);
            page.add(i + 2).write_volatile(word);
            page.add(i + 3).write_volatile(word);
            page.add(i + 4).write_volatile(word);
            page.add(i + 5).write_volatile(word);
            page.add(i + 6).write_volatile(word);
            page.add(i + 7).write_volatile(word);
        }
        i += 8;
    }
}
