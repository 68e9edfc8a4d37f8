//! What the tests use to poke at the address space: the user layout's
//! constants, the program break (`sbrk` returning plain addresses), memory
//! probes that may fault, and children that the kernel is expected to kill;
//! and the small helpers several test modules share (files that must open,
//! the free-page count the test started with).
//!
//! Probes are single load or store instructions in inline assembly, so the
//! compiler can neither drop them nor move them, and a load from an address
//! Rust would consider invalid is not undefined behaviour: it is just an
//! instruction whose outcome the kernel decides.

use core::arch::asm;
use core::ffi::CStr;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

use user::{O_CREATE, O_TRUNC, O_WRONLY, fail, sys};

/// The shape of an address space, from the `abi` crate: the page size, one
/// beyond the highest user virtual address, the trampoline and trapframe
/// pages (mapped in every address space without user access; the heap may
/// grow up to the trapframe and no further), and where the kernel's memory
/// starts (not mapped for user code).
pub use abi::{KERNBASE, MAXVA, PGSIZE, TRAMPOLINE, TRAPFRAME};
/// What `sbrk` returns when it fails: `(char *)-1`.
pub const SBRK_FAILED: usize = usize::MAX;

/// The current break: the end of the process's memory.
pub fn brk() -> usize {
    // SAFETY: sbrk(0) changes nothing.
    unsafe { sys::sbrk(0) as usize }
}

/// Grows (or, for negative `n`, shrinks) the heap by `n` bytes; returns the
/// old break, or [`SBRK_FAILED`].
///
/// # Safety
///
/// When shrinking, nothing still in use may lie in the released range: not
/// the stack, not code that runs later, not `malloc`'s blocks.
pub unsafe fn sbrk(n: i32) -> usize {
    // SAFETY: the caller guarantees that shrinking releases nothing in use.
    unsafe { sys::sbrk(n) as usize }
}

/// Grows the heap by `n` bytes and returns the start of the new memory, or
/// fails the test.
pub fn grow(n: usize) -> usize {
    let Ok(n32) = i32::try_from(n) else {
        fail!("grow: {n} bytes is more than sbrk takes at once");
    };
    // SAFETY: growing takes nothing away from anyone.
    let a = unsafe { sbrk(n32) };
    if a == SBRK_FAILED {
        fail!("sbrk({n}) failed");
    }
    a
}

/// Grows the heap to the next page boundary and returns the (now aligned)
/// break.
pub fn align_brk() -> usize {
    let top = brk();
    if !top.is_multiple_of(PGSIZE) {
        grow(PGSIZE - top % PGSIZE);
    }
    brk()
}

/// Grows the heap to a page boundary and then by `pages` pages; returns the
/// start of the new pages. The pages are not touched: on a lazy kernel they
/// are not allocated yet.
pub fn fresh_pages(pages: usize) -> usize {
    align_brk();
    grow(pages * PGSIZE)
}

/// The stack pointer.
pub fn sp() -> usize {
    let sp: usize;
    // SAFETY: copies a register; touches no memory.
    unsafe { asm!("mv {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Loads the byte at `addr`. If the address is not readable the kernel
/// kills the process (or, lazily allocating, maps a page first).
pub fn load(addr: usize) -> u8 {
    let v: u8;
    // SAFETY: a load changes no memory; a fault is the kernel's to handle.
    unsafe {
        asm!("lbu {v}, 0({a})", v = out(reg) v, a = in(reg) addr, options(nostack, readonly))
    };
    v
}

/// Stores `v` at `addr`.
///
/// # Safety
///
/// Either nothing else uses the byte at `addr` (it is heap the test grew
/// itself), or the process is a disposable child that expects the store to
/// fault and be killed for it.
pub unsafe fn store(addr: usize, v: u8) {
    // SAFETY: the caller guarantees that the byte is ours to change or that
    // the store is meant to fault.
    unsafe { asm!("sb {v}, 0({a})", v = in(reg) v, a = in(reg) addr, options(nostack)) };
}

/// Reads the 8-byte word at `addr` (8-byte aligned, readable heap).
pub fn load_word(addr: usize) -> u64 {
    // SAFETY: callers pass aligned addresses in heap they grew; an access
    // that faults is the kernel's to handle, as with `load`.
    unsafe { (addr as *const u64).read_volatile() }
}

/// Writes the 8-byte word at `addr`.
///
/// # Safety
///
/// As [`store`], and `addr` must be 8-byte aligned.
pub unsafe fn store_word(addr: usize, v: u64) {
    // SAFETY: the caller guarantees the word is ours to change.
    unsafe { (addr as *mut u64).write_volatile(v) }
}

/// Runs `probe` in a child and fails the test unless the kernel killed the
/// child (exit status -1). `what` says what the probe did, for the message.
pub fn expect_killed(what: fmt::Arguments<'_>, probe: impl FnOnce()) {
    match user::harness::run_in_child(probe) {
        Ok(-1) => {}
        Ok(status) => fail!("{what}: child was not killed (exit status {status})"),
        Err(_) => fail!("{what}: fork or wait failed"),
    }
}

/// Runs `body` in a child and fails the test unless it exits with status 0;
/// `what` names the child for the message.
pub fn expect_success(what: fmt::Arguments<'_>, body: impl FnOnce()) {
    match user::harness::run_in_child(body) {
        Ok(0) => {}
        Ok(status) => fail!("{what}: child exited with status {status}"),
        Err(_) => fail!("{what}: fork or wait failed"),
    }
}

/// Creates (truncating) `path` and writes `data` into it, or fails the
/// test.
pub fn make_file(path: &CStr, data: &[u8]) {
    let Ok(fd) = user::open(path, O_CREATE | O_WRONLY | O_TRUNC) else {
        fail!("cannot create {:?}", path);
    };
    if user::write(fd, data) != Ok(data.len()) {
        fail!("cannot write {:?}", path);
    }
    let _ = user::close(fd);
}

/// Opens `path`, or fails the test.
pub fn open(path: &CStr, flags: i32) -> i32 {
    match user::open(path, flags) {
        Ok(fd) => fd,
        Err(_) => fail!("open({:?}, {flags:#x}) failed", path),
    }
}

/// About how many pages were free when the test started, as the runner
/// counted them (0 if it did not): for sizing a test's work, the way
/// [`harness::countfree`](user::harness::countfree) measures it.
pub fn free_at_start() -> usize {
    FREE_AT_START.load(Ordering::Relaxed)
}

/// Records what [`free_at_start`] returns in the tests forked from now on.
pub fn set_free_at_start(pages: usize) {
    FREE_AT_START.store(pages, Ordering::Relaxed);
}

static FREE_AT_START: AtomicUsize = AtomicUsize::new(0);
