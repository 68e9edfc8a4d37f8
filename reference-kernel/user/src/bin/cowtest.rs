//! cowtest: the copy-on-write lab's own tests.
//!
//! - `simple`: a process that holds two thirds of the machine's memory
//!   forks, twice over: only a kernel that shares pages at fork can.
//! - `three`: three generations share a region and each writes its own
//!   values into it; none may see another's.
//! - `file`: after fork, `read` from a pipe into shared pages (the kernel's
//!   copyout into a copy-on-write page), across a page boundary; the other
//!   process's pages must not change.
//! - `copyout`: the parent, whose pages are copy-on-write too after a fork,
//!   `read`s into them; the read must succeed and the child must not see it.
//! - `free`: children that exit at once must not take shared pages with
//!   them: the parent's data survives the memory being used again.
//! - `full`: a process that holds all free memory but a little forks: only
//!   a sharing kernel can, and it shares every page, down to the last one
//!   the allocator gives out (the first page of free RAM, where an
//!   off-by-one bound on the reference counts shows).
//! - `readonly`: a store to a page that was read-only before the fork
//!   (program text) still kills the process.
//! - `oom`: children that each need a third of memory for their copies run
//!   the machine out of memory in copy-on-write faults: they are killed,
//!   the kernel is not, and all memory comes back.
//! - `leak`: forks whose children write to some of the shared pages and
//!   exit, then free pages counted again: none lost.
//!
//! Usage and output as for every lab test program (see `user::suite`):
//! `cowtest [-k TOKEN] [-t] [-l] [TEST ...]`. A kernel whose fork copies
//! eagerly fails `simple` and passes the rest.

#![no_std]
#![no_main]

use core::arch::asm;

use user::harness::{self, PGSIZE, run_in_child, wait_for};
use user::suite::{self, Test};
use user::{Args, fail, sys};

user::entry!(main);

/// The RAM the kernel manages (KERNBASE to PHYSTOP), of which the tests take
/// fractions.
const MEMORY: usize = 128 * 1024 * 1024;

const TESTS: [Test; 9] = [
    Test::new("simple", "simple", simple),
    Test::new("three", "three", three),
    Test::new("file", "file", file),
    Test::new("copyout", "copyout", copyout),
    Test::new("free", "free", free),
    Test::new("full", "all memory in use", full),
    Test::new("readonly", "readonly", readonly),
    Test::new("oom", "out of memory", out_of_memory),
    Test::new("leak", "no lost pages", leak),
];

fn main(args: Args) -> i32 {
    suite::run("cowtest", &TESTS, args)
}

/// Grows the heap by `bytes` (page-aligned from a page boundary) and returns
/// its start, or fails the test with `why`.
fn region(bytes: usize, why: &str) -> usize {
    // SAFETY: sbrk(0) changes nothing.
    let top = unsafe { sys::sbrk(0) } as usize;
    if !top.is_multiple_of(PGSIZE) {
        // SAFETY: growing the heap takes nothing away.
        let old = unsafe { sys::sbrk((PGSIZE - top % PGSIZE) as i32) };
        if old as isize == -1 {
            fail!("sbrk failed to align the break");
        }
    }
    // SAFETY: growing the heap takes nothing away.
    let start = unsafe { sys::sbrk(bytes as i32) } as usize;
    if start == usize::MAX {
        fail!("sbrk({bytes}) failed: {why}");
    }
    start
}

/// Gives back the last `bytes` of the heap.
fn shrink(bytes: usize) {
    // SAFETY: the caller no longer uses the top `bytes` of its heap.
    if unsafe { sys::sbrk(-(bytes as i32)) } as isize == -1 {
        fail!("sbrk(-{bytes}) failed");
    }
}

/// Writes `v ^ page address` to the first word of every page of
/// `[start, start + bytes)`.
fn fill(start: usize, bytes: usize, v: u64) {
    for a in (start..start + bytes).step_by(PGSIZE) {
        // SAFETY: heap this process grew; a store may be the copy-on-write
        // fault the test is about.
        unsafe { (a as *mut u64).write_volatile(v ^ a as u64) };
    }
}

/// The first page of `[start, start + bytes)` whose first word is not what
/// [`fill`] with `v` wrote, if any.
fn differs(start: usize, bytes: usize, v: u64) -> Option<usize> {
    // SAFETY: heap this process grew.
    (start..start + bytes)
        .step_by(PGSIZE)
        .find(|&a| unsafe { (a as *const u64).read_volatile() } != v ^ a as u64)
}

/// Fails unless `[start, start + bytes)` holds what [`fill`] with `v` wrote.
fn check(start: usize, bytes: usize, v: u64, who: &str) {
    if let Some(a) = differs(start, bytes, v) {
        fail!("{who}: the page at {a:#x} changed");
    }
}

/// Forks a child that runs `body` and exits 0 (or with what `body` passes
/// to exit); its pid, or `None` if fork failed.
fn spawn(body: impl FnOnce()) -> Option<i32> {
    match user::fork() {
        Ok(0) => {
            body();
            sys::exit(0);
        }
        Ok(pid) => Some(pid),
        Err(_) => None,
    }
}

/// The exit status of the child `pid`.
fn status(pid: i32) -> i32 {
    match wait_for(pid) {
        Ok(w) => w.status,
        Err(_) => fail!("wait for child {pid} failed"),
    }
}

/// `simple`: hold two thirds of memory and fork a child that writes to all
/// of it; twice, so that the first child's pages must have come back.
fn simple() {
    let bytes = MEMORY / 3 * 2;
    let start = region(bytes, "not enough memory to start");
    fill(start, bytes, 0x5157);
    for round in 0..2 {
        let Some(pid) = spawn(|| fill(start, bytes / 64, 0x77)) else {
            fail!(
                "fork with two thirds of memory in use failed (round {round}): fork copies eagerly?"
            );
        };
        let s = status(pid);
        if s != 0 {
            fail!("the child that wrote to shared memory exited with {s}");
        }
        check(start, bytes, 0x5157, "after the child wrote to its copy");
    }
    shrink(bytes);
}

/// `three`: parent, child and grandchild share a fifth of memory; each
/// writes its own values to every page, waits a little, and checks it still
/// sees its own; three times.
fn three() {
    let bytes = MEMORY / 5;
    for round in 0..3u64 {
        let start = region(bytes, "not enough memory");
        fill(start, bytes, round);
        let Some(child) = spawn(|| {
            let Some(grandchild) = spawn(|| {
                fill(start, bytes, 0x3000 + round);
                let _ = user::sleep(1);
                if differs(start, bytes, 0x3000 + round).is_some() {
                    sys::exit(3);
                }
            }) else {
                sys::exit(4);
            };
            fill(start, bytes, 0x2000 + round);
            let _ = user::sleep(1);
            if differs(start, bytes, 0x2000 + round).is_some() {
                sys::exit(2);
            }
            sys::exit(status(grandchild));
        }) else {
            fail!("fork failed");
        };
        let _ = user::sleep(1);
        check(start, bytes, round, "the parent");
        match status(child) {
            0 => {}
            2 => fail!("the child saw another process's writes"),
            3 => fail!("the grandchild saw another process's writes"),
            4 => fail!("the child could not fork"),
            s => fail!("child or grandchild exited with {s}"),
        }
        fill(start, bytes, 0x1000 + round);
        check(
            start,
            bytes,
            0x1000 + round,
            "the parent after its children",
        );
        shrink(bytes);
    }
}

/// Bytes each `file` child reads; they start `OVERLAP` bytes before a page
/// boundary, so the copyout spans two copy-on-write pages. Less than a pipe
/// holds (512), so that `copyout` can write them all before reading.
const PIECE: usize = 400;
const OVERLAP: usize = 200;

/// `file`: a zeroed three-page buffer; four children, one after another,
/// each read `PIECE` bytes of their own value from a pipe into it across a
/// page boundary and check them; the parent's buffer stays zero.
fn file() {
    let buf = region(3 * PGSIZE, "no memory");
    // SAFETY: a fresh heap buffer of three pages.
    unsafe { core::ptr::write_bytes(buf as *mut u8, 0, 3 * PGSIZE) };
    let Ok((rfd, wfd)) = user::pipe() else {
        fail!("pipe failed");
    };
    let at = buf + PGSIZE - OVERLAP;
    for i in 1..=4u8 {
        let Some(pid) = spawn(|| {
            // SAFETY: the child's own view of the buffer; the kernel writes
            // into it.
            let dst = unsafe { core::slice::from_raw_parts_mut(at as *mut u8, PIECE) };
            let mut got = 0;
            while got < PIECE {
                match user::read(rfd, &mut dst[got..]) {
                    Ok(n @ 1..) => got += n,
                    _ => sys::exit(2),
                }
            }
            if dst.iter().any(|&b| b != i) {
                sys::exit(3);
            }
        }) else {
            fail!("fork failed");
        };
        if user::write_all(wfd, &[i; PIECE]).is_err() {
            fail!("write to the pipe failed");
        }
        match status(pid) {
            0 => {}
            2 => fail!("read into a copy-on-write page failed"),
            3 => fail!("read into a copy-on-write page did not deliver the data"),
            s => fail!("the reading child exited with {s}"),
        }
    }
    // SAFETY: the parent's buffer.
    let mine = unsafe { core::slice::from_raw_parts(buf as *const u8, 3 * PGSIZE) };
    if let Some(off) = mine.iter().position(|&b| b != 0) {
        fail!("a child's read changed the parent's buffer at offset {off}");
    }
}

/// `copyout`: the parent forks a child that waits; then the parent, whose
/// pages are shared copy-on-write now, reads from a pipe into its buffer;
/// the child checks that its buffer did not change.
fn copyout() {
    let buf = region(2 * PGSIZE, "no memory");
    // SAFETY: a fresh heap buffer of two pages.
    unsafe { core::ptr::write_bytes(buf as *mut u8, 0x11, 2 * PGSIZE) };
    let (Ok((go_r, go_w)), Ok((rfd, wfd))) = (user::pipe(), user::pipe()) else {
        fail!("pipe failed");
    };
    let Some(pid) = spawn(|| {
        let mut byte = [0u8];
        if user::read(go_r, &mut byte) != Ok(1) {
            sys::exit(2);
        }
        // SAFETY: the child's own view of the buffer.
        let mine = unsafe { core::slice::from_raw_parts(buf as *const u8, 2 * PGSIZE) };
        if mine.iter().any(|&b| b != 0x11) {
            sys::exit(3);
        }
    }) else {
        fail!("fork failed");
    };
    if user::write_all(wfd, &[0x22; PIECE]).is_err() {
        fail!("write to the pipe failed");
    }
    // SAFETY: the parent's buffer, into which the kernel reads.
    let dst =
        unsafe { core::slice::from_raw_parts_mut((buf + PGSIZE - OVERLAP) as *mut u8, PIECE) };
    let mut got = 0;
    while got < PIECE {
        match user::read(rfd, &mut dst[got..]) {
            Ok(n @ 1..) => got += n,
            _ => {
                let _ = user::kill(pid);
                fail!("read into the parent's copy-on-write page failed");
            }
        }
    }
    if dst.iter().any(|&b| b != 0x22) {
        fail!("read into a copy-on-write page did not deliver the data");
    }
    if user::write_all(go_w, b"g").is_err() {
        fail!("write to the pipe failed");
    }
    match status(pid) {
        0 => {}
        3 => fail!("the parent's read changed the child's copy of the buffer"),
        s => fail!("the child exited with {s}"),
    }
}

/// `free`: the parent fills 64 pages; eight children exit at once, without
/// touching them; then the parent and a child fill 512 fresh pages each
/// (using memory again, so pages freed too early get reused): the 64 pages
/// must still hold the parent's data.
fn free() {
    let bytes = 64 * PGSIZE;
    let start = region(bytes, "no memory");
    fill(start, bytes, 0xf7ee);
    for _ in 0..8 {
        let Some(pid) = spawn(|| {}) else {
            fail!("fork failed");
        };
        if status(pid) != 0 {
            fail!("a child that did nothing failed");
        }
    }
    check(start, bytes, 0xf7ee, "after its children exited");
    let more = 512 * PGSIZE;
    let fresh = region(more, "no memory");
    fill(fresh, more, 0xabcd);
    let Some(pid) = spawn(|| {
        fill(fresh, more, 0xdcba);
        check(start, bytes, 0xf7ee, "the child");
    }) else {
        fail!("fork failed");
    };
    if status(pid) != 0 {
        fail!("the child saw the parent's data change");
    }
    check(start, bytes, 0xf7ee, "after memory was used again");
    check(fresh, more, 0xabcd, "the parent's fresh pages");
}

/// Pages a reserve process holds for `full`, given back just before its
/// fork: enough for the child's process and page tables.
const RESERVE_PAGES: usize = 256;

/// `full`: a reserve child takes a little memory; the process grows its
/// heap until the kernel has no page left (on this kernel `sbrk` allocates
/// at once), so it holds the last pages the allocator gives out; the
/// reserve exits, and the process forks: the child, sharing every page,
/// checks them; then all of it is given back.
fn full() {
    let (Ok((hold_r, hold_w)), Ok((ready_r, ready_w))) = (user::pipe(), user::pipe()) else {
        fail!("pipe failed");
    };
    let Some(reserve) = spawn(|| {
        let _ = user::close(hold_w);
        let _ = user::close(ready_r);
        let bytes = RESERVE_PAGES * PGSIZE;
        let start = region(bytes, "no memory for the reserve");
        fill(start, bytes, 0x5e5e);
        let _ = user::write(ready_w, b"r");
        let mut byte = [0u8];
        let _ = user::read(hold_r, &mut byte);
    }) else {
        fail!("fork of the reserve failed");
    };
    let _ = user::close(hold_r);
    let _ = user::close(ready_w);
    // Memory runs out only once the reserve holds its pages and has made
    // its copies of the pages it writes (its stack): from then on, until
    // it exits, neither process writes a page the other still maps.
    let mut byte = [0u8];
    if user::read(ready_r, &mut byte) != Ok(1) {
        fail!("the reserve process did not start");
    }
    let _ = user::close(ready_r);
    // Take every page there is: big steps first, then one page at a time.
    let start = region(0, "sbrk(0) failed");
    let mut bytes = 0;
    for step in [256 * PGSIZE, PGSIZE] {
        // SAFETY: growing the heap takes nothing away from anyone.
        while unsafe { sys::sbrk(step as i32) } as isize != -1 {
            bytes += step;
        }
    }
    if bytes < MEMORY / 2 {
        fail!("only {bytes} bytes of memory could be taken");
    }
    fill(start, bytes, 0xf011);
    let _ = user::close(hold_w);
    if status(reserve) != 0 {
        fail!("the reserve process failed");
    }
    let Some(pid) = spawn(|| check(start, bytes, 0xf011, "the child")) else {
        fail!("fork with all memory in use but {RESERVE_PAGES} pages failed: fork copies eagerly?");
    };
    match status(pid) {
        0 => {}
        s => fail!("the child of a process holding all memory exited with {s}"),
    }
    check(start, bytes, 0xf011, "after its child exited");
    shrink(bytes);
}

/// The address of this program's code: a page that is read-only before any
/// fork.
fn text_address() -> usize {
    text_address as *const () as usize & !7
}

/// Stores to the program's text: the kernel must kill the process.
fn store_to_text() {
    let a = text_address();
    // SAFETY: meant to fault; run only in a disposable child.
    unsafe { asm!("sd zero, 0({a})", a = in(reg) a, options(nostack)) };
}

/// `readonly`: a child stores to the program text (shared with its parent
/// since the fork): it must be killed; so must a child that forked a child
/// of its own first; and the text must not have changed.
fn readonly() {
    let a = text_address();
    // SAFETY: reading the program's own code.
    let before = unsafe { (a as *const u64).read_volatile() };
    let Some(pid) = spawn(|| {
        store_to_text();
        sys::exit(5);
    }) else {
        fail!("fork failed");
    };
    match status(pid) {
        -1 => {}
        5 => fail!("a store to read-only text after fork succeeded"),
        s => fail!("the child storing to text exited with {s}"),
    }
    let Some(pid) = spawn(|| {
        let Some(grandchild) = spawn(|| {
            let _ = user::sleep(2);
        }) else {
            sys::exit(4);
        };
        store_to_text();
        let _ = wait_for(grandchild);
        sys::exit(5);
    }) else {
        fail!("fork failed");
    };
    match status(pid) {
        -1 => {}
        4 => fail!("fork failed in the child"),
        5 => fail!("a store to read-only text after a second fork succeeded"),
        s => fail!("the child storing to text exited with {s}"),
    }
    // SAFETY: reading the program's own code.
    if unsafe { (a as *const u64).read_volatile() } != before {
        fail!("the program's text changed");
    }
}

/// `out of memory`: the parent holds a third of memory; four children, held
/// at once, each write every page of it (needing a third of memory more
/// each). Some must be killed for want of memory in a copy-on-write fault
/// (or fork must fail on an eager kernel); the kernel must survive, the
/// parent's data must be intact, and afterwards a new process must get two
/// thirds of memory.
fn out_of_memory() {
    let bytes = MEMORY / 3;
    let start = region(bytes, "not enough memory to start");
    fill(start, bytes, 0x0f0f);
    let (Ok((done_r, done_w)), Ok((hold_r, hold_w))) = (user::pipe(), user::pipe()) else {
        fail!("pipe failed");
    };
    let mut pids = [0i32; 4];
    let mut forked = 0;
    for (i, slot) in pids.iter_mut().enumerate() {
        let Some(pid) = spawn(|| {
            let _ = user::close(done_r);
            let _ = user::close(hold_w);
            fill(start, bytes, 0x100 + i as u64);
            let _ = user::write(done_w, b"d");
            let _ = user::close(done_w);
            let mut byte = [0u8];
            let _ = user::read(hold_r, &mut byte);
            if differs(start, bytes, 0x100 + i as u64).is_some() {
                sys::exit(3);
            }
        }) else {
            break;
        };
        *slot = pid;
        forked += 1;
    }
    let _ = user::close(done_w);
    let _ = user::close(hold_r);
    // End of file once every child has either filled its copy or died.
    let mut finished = 0;
    let mut byte = [0u8];
    while user::read(done_r, &mut byte) == Ok(1) {
        finished += 1;
    }
    let _ = user::close(done_r);
    let _ = user::close(hold_w);
    // Reap the children in the order they exit: waiting for one by pid
    // would reap, and lose, any other that exits first.
    let mut killed = 0;
    for _ in 0..forked {
        let Ok(w) = user::wait() else {
            fail!("wait for the children failed");
        };
        if !pids[..forked].contains(&w.pid) {
            fail!(
                "wait returned a process that is not one of the children ({})",
                w.pid
            );
        }
        match w.status {
            0 => {}
            -1 => killed += 1,
            3 => fail!("a child's copy changed while memory ran out"),
            s => fail!("a child that ran out of memory exited with {s}"),
        }
    }
    if forked == 4 && killed == 0 {
        fail!(
            "four copies of a third of memory each all fit ({finished} finished): copies not made?"
        );
    }
    check(
        start,
        bytes,
        0x0f0f,
        "the parent after its children ran out of memory",
    );
    shrink(bytes);
    let status = run_in_child(|| {
        let big = MEMORY / 3 * 2;
        let start = region(big, "no memory after running out");
        fill(start, big, 9);
    });
    if status != Ok(0) {
        fail!(
            "after running out of memory, a new process cannot use two thirds of memory ({status:?})"
        );
    }
}

/// `no lost pages`: count free pages; fork children that share 256 pages,
/// write to every other page (or to none) and exit, some after forking a
/// child of their own; count again: not one page may be missing.
fn leak() {
    let Some(free0) = harness::countfree() else {
        fail!("cannot count free pages");
    };
    let bytes = 256 * PGSIZE;
    let start = region(bytes, "no memory");
    fill(start, bytes, 1);
    for i in 0..8 {
        let status = run_in_child(|| {
            if i % 2 == 0 {
                for a in (start..start + bytes).step_by(2 * PGSIZE) {
                    // SAFETY: this child's copy of the region.
                    unsafe { (a as *mut u64).write_volatile(2) };
                }
            }
            if i % 4 == 1 && run_in_child(|| fill(start, bytes / 2, 3)) != Ok(0) {
                sys::exit(2);
            }
        });
        if status != Ok(0) {
            fail!("a child writing to shared pages exited with {status:?}");
        }
    }
    check(start, bytes, 1, "the parent");
    shrink(bytes);
    match harness::countfree() {
        Some(free1) if free1 >= free0 => {}
        Some(free1) => fail!(
            "{} over the forks",
            harness::Leak {
                before: free0,
                after: free1
            }
        ),
        None => fail!("cannot count free pages after the forks"),
    }
}
