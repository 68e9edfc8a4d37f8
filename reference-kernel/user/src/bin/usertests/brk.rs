//! Tests of a program break that is not page-aligned, and of a page fault
//! that finds memory nearly exhausted. Like the tests in `lazy`, each aims
//! at mistakes made in the lazy-allocation lab, and each passes on xv6's
//! eager kernel too, since they only check what any correct kernel does.
//!
//! A break in the middle of a page leaves that page partly used: the bytes
//! below the break are the process's, so the page stays mapped, is copied by
//! fork, and is freed only when the break goes below its start.
//!
//! - `brkshrink`: shrinking to a break in the middle of a page keeps the
//!   bytes below the break (a kernel that frees the page the break falls
//!   in loses them), and frees the whole pages above it: grown again they
//!   read zero, and no page is lost.
//! - `brkexit`: a touched, partly used top page shrunk away is gone (a
//!   load there kills the process), and a process that exits after
//!   shrinking leaves the kernel well (one that leaves the page mapped above
//!   the break panics `freewalk: leaf`) and loses no page.
//! - `brkfork`: fork of a process whose touched last page is partly used,
//!   with the break just past a page boundary, in the middle, just below
//!   one, and past a hole: the child sees every byte below the break (a
//!   uvmcopy that copies `sz / PGSIZE` pages drops that page).
//! - `brkoom`: a page fault, with exactly zero, one or two pages of memory
//!   free, at an address whose page-table pages do not exist yet: the
//!   kernel cannot map the page, kills the process and loses no page (a
//!   fault handler that does not free its fresh page when `mappages` fails
//!   leaks it).
//!
//! The runner counts free pages around each of these tests (they are
//! `counted` in its table): a test that leaves the kernel with fewer free
//! pages fails.

use user::harness::{self, PGSIZE, wait_for};
use user::{fail, sys};

use crate::probe::{
    SBRK_FAILED, align_brk, brk, expect_killed, expect_success, free_at_start, grow, load, sbrk,
    store,
};

/// Byte `i` of a test region's pattern: never zero, different on every
/// page.
fn pattern(i: usize) -> u8 {
    ((i * 13 + i / PGSIZE * 5) % 251 + 1) as u8
}

/// Writes the pattern into bytes `[r, r + len)` (heap the caller grew).
fn fill(r: usize, len: usize) {
    for i in 0..len {
        // SAFETY: heap the caller grew for this.
        unsafe { store(r + i, pattern(i)) };
    }
}

/// Fails the test unless bytes `[r, r + len)` hold the pattern.
fn expect_pattern(r: usize, len: usize, what: core::fmt::Arguments<'_>) {
    if let Some(i) = (0..len).find(|&i| load(r + i) != pattern(i)) {
        fail!(
            "{what}: byte {i} (at {:#x}) is {:#x}, expected {:#x}",
            r + i,
            load(r + i),
            pattern(i)
        );
    }
}

/// Moves the break by `n` bytes (either way), or fails the test.
fn move_brk(n: isize) {
    let Ok(n32) = i32::try_from(n) else {
        fail!("sbrk({n}) is out of range");
    };
    // SAFETY: callers only give back heap they grew and no longer use.
    if unsafe { sbrk(n32) } == SBRK_FAILED {
        fail!("sbrk({n}) failed at break {:#x}", brk());
    }
}

/// Shrinks (break offsets from a page-aligned start, before and after):
/// just past a page boundary, just below one, in the middle of a page, by
/// less than a page across a boundary, within one page, and from an
/// unaligned break to an aligned one.
const SHRINKS: [(usize, usize); 8] = [
    (4 * PGSIZE, 2 * PGSIZE + 1),
    (4 * PGSIZE, 2 * PGSIZE + 8),
    (4 * PGSIZE, 3 * PGSIZE - 1),
    (4 * PGSIZE, PGSIZE + PGSIZE / 2),
    (2 * PGSIZE + 100, 2 * PGSIZE - 100),
    (3 * PGSIZE + 50, PGSIZE + 7),
    (PGSIZE + 3000, PGSIZE + 100),
    (3 * PGSIZE + 1, 2 * PGSIZE),
];

/// Shrinking to a break in the middle of a page keeps the bytes below the
/// break and frees the whole pages above it: grown again, they read zero;
/// and no page is lost.
pub fn brkshrink() {
    expect_success(format_args!("shrinking child"), || {
        let r = align_brk();
        for (from, to) in SHRINKS {
            grow(from);
            fill(r, from);
            move_brk(to as isize - from as isize);
            if brk() != r + to {
                fail!("sbrk to {:#x} left the break at {:#x}", r + to, brk());
            }
            expect_pattern(
                r,
                to,
                format_args!("after shrinking from +{from:#x} to +{to:#x}"),
            );
            // The whole pages above the new break were freed: grown again,
            // they are fresh. (The rest of the page the break is in is the
            // process's own memory still, whatever it holds.)
            let top = from.next_multiple_of(PGSIZE);
            grow(top - to);
            let kept = to.next_multiple_of(PGSIZE);
            if let Some(a) = (r + kept..r + top).find(|&a| load(a) != 0) {
                fail!(
                    "after shrinking from +{from:#x} to +{to:#x} and growing again: \
                     byte at {a:#x} is {:#x}, not 0",
                    load(a)
                );
            }
            expect_pattern(
                r,
                to,
                format_args!("after shrinking from +{from:#x} to +{to:#x} and growing again"),
            );
            move_brk(-(top as isize));
        }
    });
}

/// A touched, partly used top page shrunk away: a load there kills the
/// process, and a process that exits after shrinking leaves the kernel well
/// and loses no page.
pub fn brkexit() {
    for (from, to) in SHRINKS {
        // Only shrinks that give a page back.
        if to.next_multiple_of(PGSIZE) >= from.next_multiple_of(PGSIZE) {
            continue;
        }
        let gone = to.next_multiple_of(PGSIZE);
        expect_killed(
            format_args!("load at +{gone:#x} after shrinking from +{from:#x} to +{to:#x}"),
            || {
                let r = align_brk();
                grow(from);
                fill(r, from);
                move_brk(to as isize - from as isize);
                let v = load(r + gone);
                fail!(
                    "page at {:#x} still mapped (it holds {v:#x}) after shrinking \
                     the break from {:#x} to {:#x}",
                    r + gone,
                    r + from,
                    r + to
                );
            },
        );
        expect_success(
            format_args!("exit after shrinking from +{from:#x} to +{to:#x}"),
            || {
                let r = align_brk();
                grow(from);
                fill(r, from);
                move_brk(to as isize - from as isize);
                expect_pattern(r, to, format_args!("after shrinking"));
            },
        );
    }
}

/// fork() of a process whose last page is touched and partly used: the
/// child (and its child) see every byte below the break, and their writes
/// stay their own. Breaks just past a page boundary, in the middle of a
/// page, just below a boundary, and a partly used page after an untouched
/// one.
pub fn brkfork() {
    // (bytes grown from a page boundary, where the touched part starts)
    let cases = [
        (PGSIZE + 1, 0),
        (PGSIZE + 8, 0),
        (PGSIZE / 2, 0),
        (PGSIZE - 1, 0),
        (3 * PGSIZE - 1, 0),
        (2 * PGSIZE + 100, 2 * PGSIZE),
        (PGSIZE + PGSIZE - 8, PGSIZE),
    ];
    for (len, from) in cases {
        let r = align_brk();
        grow(len);
        fill(r + from, len - from);
        let check = |who: &str| {
            expect_pattern(
                r + from,
                len - from,
                format_args!("{who}, break {:#x}", r + len),
            );
            if let Some(a) = (r..r + from).find(|&a| load(a) != 0) {
                fail!("{who}: untouched byte at {a:#x} is {:#x}, not 0", load(a));
            }
        };
        expect_success(format_args!("child, break {:#x}", r + len), || {
            check("child");
            // SAFETY: the last byte below the break, this child's own.
            unsafe { store(r + len - 1, 0) };
            expect_success(format_args!("grandchild, break {:#x}", r + len), || {
                if load(r + len - 1) != 0 {
                    fail!("grandchild: the child's last byte did not reach it");
                }
                // SAFETY: as above, now the grandchild's.
                unsafe { store(r + len - 1, pattern(len - from - 1)) };
                check("grandchild");
            });
            if load(r + len - 1) != 0 {
                fail!("child: the grandchild's store changed the child's page");
            }
        });
        check("parent after the child");
        move_brk(-(len as isize));
    }
}

/// Pages the memory-exhausting process holds in pipes (one page each), to
/// give back so that exactly the pages a case wants are free.
const RESERVE: usize = 2;

/// A page of kernel memory held by one descriptor: a pipe whose write end
/// is closed at once (the page is freed when the read end is closed too).
/// `None` when no pipe can be made.
fn page_in_pipe() -> Option<i32> {
    let (r, w) = user::pipe().ok()?;
    let _ = user::close(w);
    Some(r)
}

/// Whether two more pages could be allocated now: makes two pipes (a page
/// each) and closes them again.
fn two_pages_free() -> bool {
    let Some(first) = page_in_pipe() else {
        return false;
    };
    let second = page_in_pipe();
    let _ = user::close(first);
    match second {
        Some(fd) => {
            let _ = user::close(fd);
            true
        }
        None => false,
    }
}

/// Takes every free page but `keep`, which must be at most [`RESERVE`]:
/// first page by page while two pages are left for the next page and its
/// page table, then the last page in a pipe, then gives back `keep` pages
/// of the reserve. Returns the pipes that hold pages (by their one open
/// descriptor), to close when they are no longer needed.
fn exhaust(keep: usize) -> [Option<i32>; RESERVE + 1] {
    let mut held = [None; RESERVE + 1];
    for slot in held.iter_mut().take(RESERVE) {
        match page_in_pipe() {
            Some(fd) => *slot = Some(fd),
            None => fail!("cannot make a pipe"),
        }
    }
    while two_pages_free() {
        // SAFETY: growing the heap takes nothing away from anyone.
        let a = unsafe { sbrk(PGSIZE as i32) };
        if a == SBRK_FAILED {
            break;
        }
        // SAFETY: heap this process just grew.
        unsafe { store(a, 1) };
    }
    // Zero or one page is free now: a pipe takes it if there is one.
    if let Some(fd) = page_in_pipe() {
        held[RESERVE] = Some(fd);
        if let Some(fd) = page_in_pipe() {
            let _ = user::close(fd);
            fail!("memory did not run out: two pages free after filling it");
        }
    }
    for slot in held.iter_mut().take(keep) {
        if let Some(fd) = slot.take() {
            let _ = user::close(fd);
        }
    }
    held
}

/// A page fault at an address whose page-table pages do not exist, with
/// exactly zero, one or two pages free: the kernel kills the process and
/// loses no page, not even the page it allocated before mapping it failed.
///
/// A child of the test takes all memory (most of it held in bulk by
/// processes it forks for that, the rest with a lazy kernel's page faults
/// or an eager kernel's sbrk, which both fail only when memory is gone);
/// for each case it leaves the pages the case wants free and lets one of
/// its children, forked before memory ran low and waiting on a pipe, grow
/// its break into a region without page tables and store there. That
/// child must be killed (a lazy kernel), or its sbrk must fail (an eager
/// one, which allocates).
pub fn brkoom() {
    const LEAF: usize = 512 * PGSIZE;
    const MIDDLE: usize = 512 * LEAF;
    // (pages left free, the region the fault lands in): a fresh 2 MiB
    // region needs a leaf page table; a fresh 1 GiB region a middle one too.
    const CASES: [(usize, usize); 4] = [(0, LEAF), (1, LEAF), (1, MIDDLE), (2, MIDDLE)];
    let free = free_at_start();
    expect_success(format_args!("memory-exhausting child"), || {
        // Descriptors (16 at most): one to each faulting child, two for the
        // memory hold (four while it fills), one for each page `exhaust`
        // holds in a pipe and two for `two_pages_free`; standard input is
        // not needed.
        let _ = user::close(0);
        let mut go = [0; CASES.len()];
        let mut pids = [0; CASES.len()];
        for (i, &(keep, align)) in CASES.iter().enumerate() {
            let Ok((r, w)) = user::pipe() else {
                fail!("cannot make a pipe");
            };
            match user::fork() {
                Ok(0) => {
                    for &fd in go[..i].iter().chain([&w]) {
                        let _ = user::close(fd);
                    }
                    let mut byte = [0u8];
                    if user::read(r, &mut byte) != Ok(1) {
                        // The test gave up.
                        sys::exit(0);
                    }
                    fault_beyond(keep, align);
                }
                Ok(pid) => pids[i] = pid,
                Err(_) => fail!("fork failed"),
            }
            let _ = user::close(r);
            go[i] = w;
        }
        // Most of the memory at once, held by processes forked for it,
        // leaving a margin for the estimate's error, this process's
        // children and page tables.
        let Some(hold) = harness::hold_pages(
            free.saturating_sub(brk() / PGSIZE * (CASES.len() + 1) + free / 256),
        ) else {
            fail!("cannot start the processes that hold memory");
        };
        for (i, &(keep, align)) in CASES.iter().enumerate() {
            let held = exhaust(keep);
            if user::write(go[i], b"g") != Ok(1) {
                fail!("cannot start the faulting child");
            }
            let _ = user::close(go[i]);
            match wait_for(pids[i]).map(|w| w.status) {
                // Killed at the fault (lazy), or sbrk refused (eager).
                Ok(-1) | Ok(0) => {}
                status => fail!(
                    "fault with {keep} pages free in a fresh {align:#x}-byte region: \
                     child ended with {status:?}"
                ),
            }
            for fd in held.into_iter().flatten() {
                let _ = user::close(fd);
            }
        }
        hold.release();
    });
    // The kernel still works: a child can use fresh memory.
    expect_success(format_args!("child after the faults"), || {
        let a = grow(PGSIZE);
        // SAFETY: heap this child grew.
        unsafe { store(a, 3) };
        if load(a) != 3 {
            fail!("a fresh page does not hold what was stored");
        }
    });
}

/// A faulting child of [`brkoom`], with `keep` pages free: grows the break
/// to `align` beyond the next multiple of `align` (so that an eager sbrk
/// needs far more than `keep` pages) and stores there, which needs a new
/// page-table page at every level `align` covers, and the page itself.
fn fault_beyond(keep: usize, align: usize) -> ! {
    let target = brk().next_multiple_of(align) + align;
    let Ok(n) = i32::try_from(target + PGSIZE - brk()) else {
        fail!("cannot grow the break to {target:#x}");
    };
    // SAFETY: growing the heap takes nothing away from anyone.
    if unsafe { sbrk(n) } == SBRK_FAILED {
        // An eager kernel: sbrk could not allocate, which is right.
        sys::exit(0);
    }
    // SAFETY: heap this process just grew; with no memory for the page
    // tables the kernel must kill the process here.
    unsafe { store(target + 8, 1) };
    fail!(
        "a store at {target:#x} with {keep} pages free, which needs page-table pages, \
         did not kill the process"
    );
}
