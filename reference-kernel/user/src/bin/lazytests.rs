//! lazytests: the lazy-allocation lab's own tests.
//!
//! - `lazy alloc`: sbrk a region far larger than physical memory (1 GiB) and
//!   use a sparse set of its pages: only a lazy kernel can give it.
//! - `lazy unmap`: after using such a region, children that sbrk it away and
//!   then touch it must be killed: shrinking must really unmap.
//! - `out of memory`: children that run the machine out of memory, through
//!   page faults and through system calls, must end cleanly (refused, or
//!   killed); then the kernel must still work and have all its memory back.
//!
//! Usage: `lazytests [-k TOKEN] [-t] [-l] [alloc|unmap|oom ...]` (all three
//! by default; `-l` lists the names to select them by, one per line, the
//! way the grader runs each test in a VM of its own; see `user::suite`). Output: `test NAME: OK` or `test NAME: FAILED` (the reason on
//! the line before), then `ALL TESTS PASSED` or `SOME TESTS FAILED`; with
//! `-k TOKEN` every one of these lines ends in ` [TOKEN]` (see
//! `user::harness`). `-t` also prints each test's duration in clock ticks.
//! An eager kernel fails the first two tests and passes the third.

#![no_std]
#![no_main]

use core::arch::asm;

use user::harness::{self, PGSIZE, run_in_child};
use user::suite::{self, Test};
use user::{Args, fail, sys};

user::entry!(main);

/// The region `lazy alloc` and `lazy unmap` sbrk: 1 GiB, eight times the
/// machine's memory.
const REGION: usize = 1024 * 1024 * 1024;

const TESTS: [Test; 3] = [
    Test::new("alloc", "lazy alloc", sparse_memory),
    Test::new("unmap", "lazy unmap", sparse_memory_unmap),
    Test::new("oom", "out of memory", out_of_memory),
];

fn main(args: Args) -> i32 {
    suite::run("lazytests", &TESTS, args)
}

/// Grows the heap by `REGION` from a page boundary and returns its start.
fn big_region() -> usize {
    let top = brk();
    if !top.is_multiple_of(PGSIZE) {
        grow((PGSIZE - top % PGSIZE) as i32);
    }
    let start = grow(REGION as i32);
    if start == usize::MAX {
        fail!("sbrk(1 GiB) failed: the kernel allocates eagerly?");
    }
    start
}

/// The break.
fn brk() -> usize {
    // SAFETY: sbrk(0) changes nothing.
    unsafe { sys::sbrk(0) as usize }
}

/// Grows the heap by `n` bytes; returns the old break or `usize::MAX`.
fn grow(n: i32) -> usize {
    // SAFETY: growing takes nothing away.
    unsafe { sys::sbrk(n) as usize }
}

/// Stores the word `v` at `addr` (8-aligned heap this process grew).
///
/// # Safety
///
/// Nothing else may use the word, or the process must be a disposable child
/// that expects the store to fault.
unsafe fn store(addr: usize, v: u64) {
    // SAFETY: the caller vouches for the word; a store the kernel refuses
    // kills the process, as the test may intend.
    unsafe { asm!("sd {v}, 0({a})", v = in(reg) v, a = in(reg) addr, options(nostack)) };
}

/// Loads the word at `addr` (8-aligned).
fn load(addr: usize) -> u64 {
    let v: u64;
    // SAFETY: a load changes no memory; a fault is the kernel's to handle.
    unsafe { asm!("ld {v}, 0({a})", v = out(reg) v, a = in(reg) addr, options(nostack, readonly)) };
    v
}

/// `lazy alloc`: write and read back a value on every 64th page of a 1 GiB
/// region (16 MiB of it in all); the pages in between read as zero.
fn sparse_memory() {
    let start = big_region();
    let end = start + REGION;
    let stride = 64 * PGSIZE;
    for a in (start + PGSIZE..end).step_by(stride) {
        // SAFETY: heap this process grew.
        unsafe { store(a, a as u64) };
    }
    for a in (start + PGSIZE..end).step_by(stride) {
        if load(a) != a as u64 {
            fail!("failed to read back the value stored at {a:#x}");
        }
        // A page nobody wrote to, between two that were written.
        let between = a + stride / 2 + 8;
        if between < end && load(between) != 0 {
            fail!("an untouched page at {between:#x} is not zero");
        }
    }
}

/// `lazy unmap`: touch a page every 16 MiB of a 1 GiB region; then for each
/// of them a child gives the whole region back and touches the page again
/// (or, every other time, a page of the region nobody touched), with a
/// store or a load: the kernel must kill it.
fn sparse_memory_unmap() {
    let start = big_region();
    let end = start + REGION;
    let stride = PGSIZE * PGSIZE;
    for a in (start + PGSIZE..end).step_by(stride) {
        // SAFETY: heap this process grew.
        unsafe { store(a, a as u64) };
    }
    for (i, a) in (start + PGSIZE..end).step_by(stride).enumerate() {
        // Odd children try a page in the middle of the gap instead.
        let target = if i % 2 == 0 { a } else { a + stride / 2 };
        let status = run_in_child(|| {
            // SAFETY: the region holds nothing this child still needs; it
            // is about to die.
            if unsafe { sys::sbrk(-(REGION as i32)) } as isize == -1 {
                sys::exit(2);
            }
            if i % 4 < 2 {
                // SAFETY: meant to fault; this is a disposable child.
                unsafe { store(target, 1) };
            } else {
                load(target);
            }
            sys::exit(0);
        });
        match status {
            Ok(-1) => {}
            Ok(0) => fail!("memory at {target:#x} was not unmapped by sbrk(-1 GiB)"),
            Ok(2) => fail!("sbrk(-1 GiB) failed"),
            other => fail!("child touching {target:#x}: {other:?}"),
        }
    }
}

/// `out of memory`: with nearly all memory held by another process, a
/// child mallocs 1 MiB blocks and writes to every page of each until malloc
/// fails, and another has a system call fault pages in until it fails. Each
/// must end by itself (sbrk or the system call refused) or be killed, and
/// not bring the kernel down. Afterwards the kernel must have all its free
/// pages back and still give a new process 8 MiB.
fn out_of_memory() {
    let Some(free0) = harness::countfree() else {
        fail!("cannot count free pages");
    };
    // Most of the memory is held in bulk (cheaply, by forked copies of
    // processes that hold it), leaving about 512 pages for the children that
    // run out.
    let Some(hold) = harness::hold_pages(free0.pages().saturating_sub(512)) else {
        fail!("cannot start the processes that hold memory");
    };

    let status = run_in_child(|| {
        loop {
            let m = user::malloc(1024 * 1024);
            if m.is_null() {
                sys::exit(0);
            }
            for off in (0..1024 * 1024).step_by(PGSIZE) {
                // SAFETY: `m` is a fresh 1 MiB block; the store may be the
                // page fault that finds no free memory.
                unsafe { m.add(off).write_volatile(1) };
            }
        }
    });
    if !matches!(status, Ok(0) | Ok(-1)) {
        fail!("the child that ran out of memory exited with {status:?}");
    }

    let status = run_in_child(|| {
        let Ok(fd) = user::open(c"/", user::O_RDONLY) else {
            sys::exit(3);
        };
        take_pages(usize::MAX, |page| {
            // SAFETY: the kernel writes a struct stat into a page just
            // grown.
            unsafe { sys::fstat(fd, page as *mut user::Stat) == 0 }
        });
    });
    if !matches!(status, Ok(0) | Ok(-1)) {
        fail!("the child whose system calls ran out of memory exited with {status:?}");
    }

    hold.release();
    match harness::countfree() {
        Some(free1) if free1 >= free0 => {}
        Some(free1) => fail!(
            "{} over running out of memory",
            harness::Leak {
                before: free0,
                after: free1
            }
        ),
        None => fail!("cannot count free pages after running out of memory"),
    }
    let status = run_in_child(|| {
        let size = 8 * 1024 * 1024;
        let m = user::malloc(size);
        if m.is_null() {
            sys::exit(1);
        }
        for off in (0..size).step_by(PGSIZE) {
            // SAFETY: `m` is a fresh 8 MiB block.
            unsafe { m.add(off).write_volatile(7) };
        }
    });
    if status != Ok(0) {
        fail!("after running out of memory, a new process cannot use 8 MiB ({status:?})");
    }
}

/// Grows the heap page by page (asking sbrk for many at a time, fewer when
/// it refuses) and calls `use_page` on each new page, until `pages` pages,
/// until sbrk refuses even one, or until `use_page` returns false.
fn take_pages(pages: usize, mut use_page: impl FnMut(usize) -> bool) {
    let mut got = 0;
    let mut chunk = 64;
    while got < pages {
        let start = grow((chunk * PGSIZE) as i32);
        if start == usize::MAX {
            if chunk == 1 {
                return;
            }
            chunk /= 2;
            continue;
        }
        for page in (start..start + chunk * PGSIZE).step_by(PGSIZE) {
            if !use_page(page) {
                return;
            }
            got += 1;
        }
    }
}
