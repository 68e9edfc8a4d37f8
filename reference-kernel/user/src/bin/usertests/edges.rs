//! Tests of the lazy lab's edges, where a solution that passes the lab's
//! main tests can still be wrong: memory running out outside the fault
//! handler, buffers that cross the break, breaks above 2 and 4 GiB, and a
//! stack that is not where the kernel put it. Like the tests in `lazy`, each
//! passes on xv6's eager kernel too: they only check what any correct
//! kernel does.
//!
//! - `oomfork`: fork of a parent whose heap has holes, when memory runs out
//!   half-way through the copy. fork fails, the parent goes on with its
//!   memory intact and can fork again once it has given some back, and no
//!   page is lost: uvmcopy freed what it had copied, holes and all.
//! - `oomread`: system calls that need a fresh heap page while they hold a
//!   lock (a pipe's `read` and `write`, a file's `read`) when no memory is
//!   left. The kernel may fail the call or kill the process, but must not
//!   panic, and must let go of the lock: the pipe and the file work
//!   afterwards (a watchdog turns a sleeplock left held into a failure), and
//!   no page is lost.
//! - `crossbrk`: `read`, `write`, `fstat` and `pipe` with buffers that start
//!   below the break (in touched or untouched pages) and end above it: file
//!   calls fail with -1, pipe calls move no byte above the break, and
//!   nothing is written or mapped above the break.
//! - `sbrkhigh`: a break past 2 GiB and past 4 GiB, grown with repeated
//!   `sbrk` calls (it takes an `i32`): each returns the old break exactly,
//!   pages there hold what is stored (and do not alias low pages), system
//!   calls and fork use them, and the break comes back down. An eager kernel
//!   cannot grow the heap beyond physical memory; when the first probe past
//!   it fails, the test checks only that the failure changed nothing.
//! - `heapstack`: a program that moves its stack pointer into the heap and
//!   touches untouched pages just below, far below and above it, calls
//!   functions, makes system calls and forks there: the kernel's guard-page
//!   check must be about the guard page, not about the stack pointer. The
//!   real guard page still kills afterwards.

use core::arch::asm;
use core::ffi::CStr;

use user::harness::{self, PGSIZE, run_in_child, wait_for};
use user::{O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, StaticCell, fail, sys};

use crate::probe::{
    self, SBRK_FAILED, brk, expect_killed, expect_success, free_at_start, fresh_pages, load,
    load_word, make_file, open, sbrk, store, store_word,
};

/// Static (eagerly mapped) memory for patterns and reading results back.
static BUF: StaticCell<[u8; 4 * PGSIZE]> = StaticCell::new([0; 4 * PGSIZE]);

/// Byte `i` of a test pattern: never zero, different on every page.
fn pattern(i: usize) -> u8 {
    ((i * 11 + i / PGSIZE) % 253 + 1) as u8
}

/// Runs `body` in a child (itself in a child, so that a body stuck in the
/// kernel cannot hold up the verdict) and fails the test unless it exits
/// with status 0 within `ticks` clock ticks.
fn within(ticks: i32, what: &str, body: impl FnOnce()) {
    let Ok((done_r, done_w)) = user::pipe() else {
        fail!("pipe() failed");
    };
    let worker = match user::fork() {
        Ok(0) => {
            let _ = user::close(done_r);
            let ok = run_in_child(body) == Ok(0);
            let _ = user::write(done_w, &[if ok { b'y' } else { b'n' }]);
            sys::exit(0);
        }
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    };
    let watchdog = match user::fork() {
        Ok(0) => {
            let _ = user::close(done_r);
            let _ = user::sleep(ticks);
            let _ = user::write(done_w, b"t");
            sys::exit(0);
        }
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    };
    let _ = user::close(done_w);
    let mut verdict = [0u8];
    let _ = user::read(done_r, &mut verdict);
    let _ = user::close(done_r);
    match verdict[0] {
        b'y' => {}
        b't' => {
            let _ = user::kill(worker);
            fail!("{what}: not done after {ticks} ticks (a lock left held?)");
        }
        _ => fail!("{what}: failed"),
    }
    let _ = user::kill(watchdog);
    let _ = wait_for(worker);
    let _ = wait_for(watchdog);
}

/// fork() of a parent with holes in its heap that holds more than half of
/// the memory left free: the copy runs out of memory half-way.
pub fn oomfork() {
    // A 16 MiB heap, three quarters of it touched. All memory but what the
    // parent touches and half as much again is held in bulk: what is left
    // when the parent forks cannot hold a copy.
    const PAGES: usize = 4096;
    let Some(hold) = harness::hold_pages(free_at_start().saturating_sub(PAGES * 3 / 4 * 3 / 2))
    else {
        fail!("cannot start the processes that hold memory");
    };
    let pages = PAGES;
    let touched = |page: usize| page % 4 != 3;
    let stamp = |page: usize| 0x5ca1_0000_0000 + page as u64;
    expect_success(format_args!("sparse parent"), || {
        let r = fresh_pages(pages);
        for page in (0..pages).filter(|&p| touched(p)) {
            // SAFETY: heap this process grew.
            unsafe { store_word(r + page * PGSIZE, stamp(page)) };
        }
        match user::fork() {
            // More memory than expected (say, copy-on-write): nothing to
            // check on this side.
            Ok(0) => sys::exit(0),
            Ok(pid) => {
                let _ = wait_for(pid);
            }
            Err(_) => {}
        }
        // The parent survives with its memory as it was.
        for page in (0..pages).filter(|&p| touched(p) || p % 64 == 3) {
            let want = if touched(page) { stamp(page) } else { 0 };
            let got = load_word(r + page * PGSIZE);
            if got != want {
                fail!("after the fork: page {page} holds {got:#x}, expected {want:#x}");
            }
        }
        // Given most of it back, it can fork again.
        let keep = 64;
        // SAFETY: nothing lives in the pages given back.
        if unsafe { sbrk(-(((pages - keep) * PGSIZE) as i32)) } == SBRK_FAILED {
            fail!("sbrk could not give the heap back");
        }
        expect_success(format_args!("fork after the failed one"), || {
            for page in (0..keep).filter(|&p| touched(p)) {
                if load_word(r + page * PGSIZE) != stamp(page) {
                    fail!("child of the second fork: page {page} is wrong");
                }
            }
        });
    });
    hold.release();
}

/// About how many pages [`oomread`] leaves free for [`exhaust`] to take
/// through read(): the rest is held in bulk.
const EXHAUST_MARGIN: usize = 512;

/// Takes all free memory (at most about [`EXHAUST_MARGIN`] pages are left)
/// into this process's heap without being killed on a correct kernel: by
/// read()s of `file` (`chunk` bytes long) into fresh heap, which fail when
/// the kernel finds no page for them (a lazy kernel), or sbrk failing (an
/// eager one).
fn exhaust(file: &CStr, chunk: usize) {
    let mut step = chunk;
    for _ in 0..4 * EXHAUST_MARGIN {
        // SAFETY: growing takes nothing away.
        let a = unsafe { sbrk(step as i32) };
        if a == SBRK_FAILED {
            if step == PGSIZE {
                return;
            }
            step = PGSIZE;
            continue;
        }
        let fd = open(file, O_RDONLY);
        // SAFETY: the kernel writes into heap this process just grew.
        let n = unsafe { sys::read(fd, a as *mut u8, step as i32) };
        let _ = user::close(fd);
        if n < 0 {
            return;
        }
        if n as usize != step {
            fail!("read of {step} bytes into fresh heap returned {n}");
        }
    }
    fail!("memory did not run out");
}

/// Pipe and file system calls into (and from) untouched heap when no memory
/// is left, then the same pipe and file afterwards.
pub fn oomread() {
    const FILE: &CStr = c"oomread.f";
    const FILE_LEN: usize = 4 * PGSIZE;
    const PIPED: usize = 200;
    let buf = BUF.take();
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(i);
    }
    make_file(FILE, &buf[..FILE_LEN]);
    let Ok((pr, pw)) = user::pipe() else {
        fail!("pipe() failed");
    };
    if user::write(pw, &buf[..PIPED]) != Ok(PIPED) {
        fail!("write into a pipe failed");
    }
    let Some(hold) = harness::hold_pages(free_at_start().saturating_sub(EXHAUST_MARGIN)) else {
        fail!("cannot start the processes that hold memory");
    };

    let status = run_in_child(|| {
        // Untouched heap for the calls below, grown before memory runs out.
        let pipe_dst = fresh_pages(2) + PGSIZE - 100;
        let pipe_src = fresh_pages(2) + PGSIZE - 50;
        let file_dst = fresh_pages(5) + 100;
        exhaust(FILE, FILE_LEN);

        // read() from a pipe: piperead holds the pipe's lock.
        // SAFETY: the kernel writes into heap this process grew.
        let n = unsafe { sys::read(pr, pipe_dst as *mut u8, PIPED as i32) };
        if n > PIPED as i32 {
            fail!("read of {PIPED} bytes from a pipe returned {n}");
        }
        if let Some(i) = (0..n.max(0) as usize).find(|&i| load(pipe_dst + i) != pattern(i)) {
            fail!("read from a pipe with no memory left: byte {i} is wrong");
        }
        // write() into a pipe from untouched heap: pipewrite holds the lock.
        // SAFETY: the kernel only reads heap this process grew.
        let n = unsafe { sys::write(pw, pipe_src as *const u8, 100) };
        if n > 100 {
            fail!("write of 100 bytes into a pipe returned {n}");
        }
        // read() from a file: readi holds the inode's and a buffer's locks.
        let fd = open(FILE, O_RDONLY);
        let len = FILE_LEN - 200;
        // SAFETY: the kernel writes into heap this process grew.
        let n = unsafe { sys::read(fd, file_dst as *mut u8, len as i32) };
        let _ = user::close(fd);
        if n >= 0 && n as usize != len {
            fail!("read of {len} bytes from a file with no memory left returned {n}");
        }
        if n >= 0 && (0..len).any(|i| load(file_dst + i) != pattern(i)) {
            fail!("read from a file with no memory left: wrong bytes");
        }
    });
    hold.release();
    // Failing the calls (0) and killing the process (-1) are both fine.
    if !matches!(status, Ok(0) | Ok(-1)) {
        fail!("the child that ran out of memory exited with {status:?}");
    }

    within(50, "the pipe and the file after running out", || {
        // The pipe still works: what was written last comes out last.
        if user::write(pw, b"after") != Ok(5) {
            fail!("write into the pipe after running out of memory failed");
        }
        let mut got = [0u8; 512];
        match user::read(pr, &mut got) {
            Ok(n) if n >= 5 && &got[n - 5..n] == b"after" => {}
            r => fail!("read from the pipe after running out of memory: {r:?}"),
        }
        // The file still reads.
        let fd = open(FILE, O_RDONLY);
        let whole = &mut buf[..2 * PGSIZE];
        for half in 0..2 {
            if user::read(fd, whole) != Ok(2 * PGSIZE) {
                fail!("read of the file after running out of memory failed");
            }
            if let Some(i) = (0..2 * PGSIZE).find(|&i| whole[i] != pattern(half * 2 * PGSIZE + i)) {
                fail!("file read after running out of memory: byte {i} is wrong");
            }
        }
        let _ = user::close(fd);
    });
    let _ = user::close(pr);
    let _ = user::close(pw);
    let _ = user::unlink(FILE);
}

/// Buffers that start below the break and end above it, passed to read(),
/// write(), fstat() and pipe(): the file calls fail, the pipe calls move
/// nothing above the break, and the kernel neither writes nor maps anything
/// there.
pub fn crossbrk() {
    const FILE: &CStr = c"crossbrk.f";
    let buf = BUF.take();
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(i);
    }
    make_file(FILE, &buf[..]);

    // Four pages below a page-aligned break: the first touched, the others
    // not (a lazy kernel has not allocated them).
    let r = fresh_pages(4);
    let top = brk();
    // SAFETY: heap this test grew.
    unsafe { store(r + 8, 0x11) };
    // (start, length): each buffer ends above the break.
    let buffers = [
        (top - 100, 300),
        (top - PGSIZE, PGSIZE + 1),
        (r + 16, 4 * PGSIZE),
        (r + PGSIZE + 5, 3 * PGSIZE + 2000),
    ];
    for (start, len) in buffers {
        let valid = top - start;
        let fd = open(FILE, O_RDONLY);
        // SAFETY: the kernel may write only into heap this test grew.
        let n = unsafe { sys::read(fd, start as *mut u8, len as i32) };
        let _ = user::close(fd);
        if n != -1 {
            fail!(
                "file read into a buffer of {len} bytes at {start:#x} (break {top:#x}) returned {n}, not -1"
            );
        }
        let fd = open(FILE, O_RDWR);
        // SAFETY: the kernel only reads.
        let n = unsafe { sys::write(fd, start as *const u8, len as i32) };
        let _ = user::close(fd);
        if n != -1 {
            fail!(
                "file write from a buffer of {len} bytes at {start:#x} (break {top:#x}) returned {n}, not -1"
            );
        }
        let Ok((pr, pw)) = user::pipe() else {
            fail!("pipe() failed");
        };
        // SAFETY: the kernel only reads.
        let n = unsafe { sys::write(pw, start as *const u8, len.min(512) as i32) };
        if n > valid as i32 {
            fail!(
                "pipe write from a buffer of {len} bytes at {start:#x} (break {top:#x}) took {n} bytes, more than lie below the break"
            );
        }
        // Fill the pipe, then read it into the buffer.
        let _ = user::close(pw);
        let Ok((pr2, pw2)) = user::pipe() else {
            fail!("pipe() failed");
        };
        let _ = user::close(pr);
        if user::write(pw2, &buf[..512]) != Ok(512) {
            fail!("write into a pipe failed");
        }
        // SAFETY: the kernel may write only into heap this test grew.
        let n = unsafe { sys::read(pr2, start as *mut u8, len.min(512) as i32) };
        if n > valid as i32 {
            fail!(
                "pipe read into a buffer of {len} bytes at {start:#x} (break {top:#x}) stored {n} bytes, more than lie below the break"
            );
        }
        let _ = user::close(pr2);
        let _ = user::close(pw2);
    }
    // fstat() and pipe() storing across the break.
    let fd = open(FILE, O_RDONLY);
    // SAFETY: the kernel may write only into heap this test grew.
    if unsafe { sys::fstat(fd, (top - 8) as *mut user::Stat) } != -1 {
        fail!("fstat() into a struct crossing the break did not fail");
    }
    let _ = user::close(fd);
    // SAFETY: as above.
    if unsafe { sys::pipe((top - 4) as *mut i32) } != -1 {
        fail!("pipe() storing its second descriptor above the break did not fail");
    }
    let _ = user::unlink(FILE);

    // Nothing above the break: not mapped, and zeros once grown.
    for addr in [top, top + 100, top + PGSIZE, top + 2 * PGSIZE] {
        expect_killed(format_args!("load at {addr:#x} above the break"), || {
            load(addr);
        });
    }
    let above = probe::grow(3 * PGSIZE);
    if let Some(a) = (above..above + 3 * PGSIZE).find(|&a| load(a) != 0) {
        fail!(
            "the kernel wrote above the break: byte at {a:#x} is {:#x}",
            load(a)
        );
    }
}

/// One step of `sbrkhigh`'s growth: the largest page multiple an i32 holds.
const STEP: i32 = 0x7fff_f000;

/// The break past 2 GiB and 4 GiB: sbrk's results, pages there, system
/// calls and fork with them, and the way back down.
pub fn sbrkhigh() {
    expect_success(format_args!("high break"), || high_break(free_at_start()));
}

/// `sbrkhigh`'s body; `free` is about how many pages are free.
fn high_break(free: usize) {
    fresh_pages(1);
    let orig = brk();
    // More than physical memory: only a lazy kernel can.
    let beyond = 2 * free * PGSIZE;
    // SAFETY: growing takes nothing away.
    let r = unsafe { sbrk(beyond as i32) };
    if r == SBRK_FAILED {
        if brk() != orig {
            fail!("a failed sbrk moved the break");
        }
        return;
    }
    if r != orig {
        fail!("sbrk({beyond:#x}) returned {r:#x}, the break was {orig:#x}");
    }
    // SAFETY: nothing lives in what was just grown.
    unsafe { sbrk(-(beyond as i32)) };

    // Up to above 6 GiB, checking what each sbrk returns.
    while brk() < 0x1_8000_0000 {
        let before = brk();
        // SAFETY: growing takes nothing away.
        let r = unsafe { sbrk(STEP) };
        if r != before {
            fail!("sbrk({STEP:#x}) with the break at {before:#x} returned {r:#x}");
        }
        if brk() != before + STEP as usize {
            fail!(
                "sbrk({STEP:#x}) moved the break from {before:#x} to {:#x}",
                brk()
            );
        }
    }
    let top = brk();
    let spots = [
        0x7fff_f000,
        0x8000_0000,
        0x8000_0ff8,
        0xffff_f000,
        0x1_0000_0000,
        0x1_0000_1008,
        0x1_7fff_0000,
        top - 8,
    ];
    let stamp = |a: usize| (a as u64) ^ 0x0123_4567_89ab_cdef;
    for a in spots {
        // SAFETY: heap this process grew (all spots lie between orig and top).
        unsafe { store_word(a, stamp(a)) };
    }
    for a in spots {
        if load_word(a) != stamp(a) {
            fail!("word at {a:#x} holds {:#x}", load_word(a));
        }
        // A page stored at a truncated address would show up 4 GiB lower.
        if a >= 0x1_0000_0000 && a - 0x1_0000_0000 >= orig && load_word(a - 0x1_0000_0000) != 0 {
            fail!("the store at {a:#x} shows up at {:#x}", a - 0x1_0000_0000);
        }
    }

    // System calls with buffers up there: write from one, read into another.
    const FILE: &CStr = c"sbrkhigh.f";
    let src = 0x1_2000_0000 - 100;
    for i in 0..300 {
        // SAFETY: heap this process grew.
        unsafe { store(src + i, pattern(i)) };
    }
    let fd = open(FILE, O_CREATE | O_WRONLY | O_TRUNC);
    // SAFETY: the kernel only reads.
    let n = unsafe { sys::write(fd, src as *const u8, 300) };
    let _ = user::close(fd);
    if n != 300 {
        fail!("write of 300 bytes from {src:#x} returned {n}");
    }
    let dst = 0x1_6000_0000 - 150;
    let fd = open(FILE, O_RDONLY);
    // SAFETY: the kernel writes into heap this process grew.
    let n = unsafe { sys::read(fd, dst as *mut u8, 300) };
    let _ = user::close(fd);
    let _ = user::unlink(FILE);
    if n != 300 || (0..300).any(|i| load(dst + i) != pattern(i)) {
        fail!("read of 300 bytes into {dst:#x} returned {n} or wrong bytes");
    }

    // fork copies the pages up there, and only those.
    expect_success(format_args!("child of a parent with a 6 GiB break"), || {
        if brk() != top {
            fail!("the child's break is {:#x}, not {top:#x}", brk());
        }
        for a in spots {
            if load_word(a) != stamp(a) {
                fail!("child: word at {a:#x} holds {:#x}", load_word(a));
            }
            // SAFETY: the child's own copy.
            unsafe { store_word(a, 0) };
        }
    });
    for a in spots {
        if load_word(a) != stamp(a) {
            fail!("after the child: word at {a:#x} holds {:#x}", load_word(a));
        }
    }

    // Back down, STEP at a time: each sbrk returns the break it found.
    while brk() > orig {
        let before = brk();
        let n = (before - orig).min(STEP as usize) as i32;
        // SAFETY: everything above orig is heap this test grew and is done
        // with.
        let r = unsafe { sbrk(-n) };
        if r != before || brk() != before - n as usize {
            fail!(
                "sbrk(-{n:#x}) at {before:#x} returned {r:#x}, left the break at {:#x}",
                brk()
            );
        }
    }
    for a in [0x8000_0000, 0x1_0000_0000] {
        expect_killed(format_args!("load at {a:#x} after shrinking"), || {
            load(a);
        });
    }
}

/// Size of the heap region `heapstack` puts its stack in.
const HEAP_STACK_PAGES: usize = 24;

/// Runs `f(arg)` with the stack pointer at `top`, and returns its result.
///
/// # Safety
///
/// `[top - stack, top)` must be memory this process owns and nothing else
/// uses, for whatever stack `f` needs; `top` must be 16-byte aligned.
unsafe fn on_stack(top: usize, f: extern "C" fn(usize) -> usize, arg: usize) -> usize {
    let ret: usize;
    // SAFETY: s2 (callee-saved, so f preserves it) keeps the old stack
    // pointer across the call; the caller guarantees the new stack. Every
    // register the C calling convention lets f change is declared clobbered.
    unsafe {
        asm!(
            "mv s2, sp",
            "mv sp, {top}",
            "jalr {f}",
            "mv sp, s2",
            top = in(reg) top,
            f = in(reg) f,
            inout("a0") arg => ret,
            out("s2") _,
            clobber_abi("C"),
        )
    };
    ret
}

/// What `heapstack` runs on its heap stack: touches untouched pages just
/// below the stack pointer's page, at the bottom and the top of the region,
/// recurses, makes system calls and forks. `region` is the region's start;
/// returns a checksum the caller knows.
extern "C" fn on_heap_stack(region: usize) -> usize {
    let end = region + HEAP_STACK_PAGES * PGSIZE;
    let sp = probe::sp();
    if sp < region || sp >= end {
        fail!("the stack pointer {sp:#x} is not in the heap at {region:#x}");
    }
    // The page below the stack pointer's page is heap, not a guard page.
    let below = (sp & !(PGSIZE - 1)) - PGSIZE;
    for a in [below + PGSIZE - 8, below, region, end - 8] {
        if load_word(a) != 0 {
            fail!("untouched heap at {a:#x} (stack at {sp:#x}) is not zero");
        }
        // SAFETY: heap this process grew, below or above the stack in use.
        unsafe { store_word(a, a as u64) };
        if load_word(a) != a as u64 {
            fail!("store at {a:#x} (stack at {sp:#x}) did not stick");
        }
    }
    // Grow the stack down through untouched pages, a call at a time.
    let sum = deep(24);
    if sum != 24 * 25 / 2 {
        fail!("recursion on the heap stack computed {sum}");
    }
    // A system call writing into a buffer on this stack.
    let mut fds = [0i32; 2];
    // SAFETY: fds is a local array of two ints.
    if unsafe { sys::pipe(fds.as_mut_ptr()) } != 0 {
        fail!("pipe() into the heap stack failed");
    }
    let _ = user::write(fds[1], b"stack");
    let mut got = [0u8; 5];
    if user::read(fds[0], &mut got) != Ok(5) || &got != b"stack" {
        fail!("read into the heap stack failed");
    }
    let _ = user::close(fds[0]);
    let _ = user::close(fds[1]);
    // fork with the stack in the heap: the child returns on its copy.
    match user::fork() {
        Ok(0) => {
            if deep(10) != 55 || load_word(region) != region as u64 {
                sys::exit(3);
            }
            sys::exit(0);
        }
        Ok(pid) => match wait_for(pid) {
            Ok(w) if w.status == 0 => {}
            w => fail!("child forked on the heap stack: {w:?}"),
        },
        Err(_) => fail!("fork on the heap stack failed"),
    }
    sum
}

/// Sums 1..=n recursively, with a frame of about 1 KiB that it writes, so
/// that each level may fault in a new stack page.
#[inline(never)]
fn deep(n: usize) -> usize {
    let mut frame = [0u8; 1000];
    frame[n % 1000] = n as u8;
    let frame = core::hint::black_box(frame);
    if n == 0 {
        return 0;
    }
    n + deep(n - 1) + usize::from(frame[(n + 1) % 1000])
}

/// A stack in the heap, then the real guard page.
pub fn heapstack() {
    let region = fresh_pages(HEAP_STACK_PAGES);
    let status = run_in_child(|| {
        let top = region + (HEAP_STACK_PAGES - 8) * PGSIZE;
        // SAFETY: the region is heap this process grew and uses for nothing
        // else; the recursion needs about 25 KiB, there are 64 KiB below
        // top.
        let sum = unsafe { on_stack(top, on_heap_stack, region) };
        if sum != 24 * 25 / 2 {
            fail!("the function on the heap stack returned {sum}");
        }
    });
    match status {
        Ok(0) => {}
        Ok(-1) => fail!(
            "killed with its stack in the heap at {region:#x}: a fault in heap below the stack pointer?"
        ),
        other => fail!("the process with its stack in the heap exited with {other:?}"),
    }
    let guard = (probe::sp() & !(PGSIZE - 1)) - PGSIZE;
    expect_killed(format_args!("load in the guard page at {guard:#x}"), || {
        load(guard + 16);
    });
    expect_killed(
        format_args!("store in the guard page at {guard:#x}"),
        || {
            // SAFETY: meant to fault; this is a disposable child.
            unsafe { store(guard + PGSIZE - 8, 1) };
        },
    );
}
