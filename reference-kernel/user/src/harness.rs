//! Support for the programs that test the kernel (`usertests`, `lazytests`):
//! the verdict lines a grader reads ([`Reporter`]), running one test in a
//! child process ([`run_in_child`]), a test's own failure report
//! ([`fail!`](crate::fail)), and the two measurements that tell whether a run
//! left the kernel poorer: free physical pages ([`countfree`]) and free
//! process slots ([`spare_processes`], [`settle`]).
//!
//! Verdict lines are the contract with the grader, which matches whole lines.
//! Each leaves in one `write`: the console interleaves concurrent writers
//! byte by byte, so a line written in pieces could be split by another
//! process's output. With `-k TOKEN` every verdict line ends in ` [TOKEN]`; a
//! grader that makes up a fresh token for each run accepts only lines that
//! carry it, so a kernel that prints canned success lines gains nothing.
//!
//! Nothing here allocates: a test runner must keep working when the heap is
//! exactly what the kernel under test breaks.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::process::Waited;
use crate::{SysResult, sys};

/// Size of a page of memory.
pub const PGSIZE: usize = 4096;

/// Most process slots the kernel has (xv6's `NPROC`).
pub const NPROC: usize = 64;

/// Longest token `-k` accepts; verdict lines must stay short enough for one
/// buffer.
pub const MAX_TOKEN_LEN: usize = 64;

/// Capacity of one output line, newline and token included.
const LINE_CAP: usize = 256;

/// Whether `token` may be used as a per-run token: 1 to [`MAX_TOKEN_LEN`]
/// printable, non-blank ASCII bytes, so that it cannot break a line apart or
/// be confused with the brackets around it.
pub fn valid_token(token: &[u8]) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'[' && b != b']')
}

/// One line of output built in a fixed buffer, so that it can leave in a
/// single `write`. Text beyond `limit` bytes is dropped rather than flushed
/// early: a truncated line is better than one split in two.
struct Line {
    len: usize,
    limit: usize,
    buf: [u8; LINE_CAP],
}

impl Line {
    fn new(limit: usize) -> Line {
        Line {
            len: 0,
            limit: limit.min(LINE_CAP),
            buf: [0; LINE_CAP],
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.limit - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    /// Writes the line to `fd` with exactly one `write` call.
    fn emit(&self, fd: i32) {
        // A short or failed write cannot be repaired by writing the rest
        // separately (that is what would let other output in between).
        let _ = crate::fs::write(fd, &self.buf[..self.len]);
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Prints `args` and a newline to `fd` in one `write` (at most 255 bytes).
pub fn say(fd: i32, args: fmt::Arguments<'_>) {
    let mut line = Line::new(LINE_CAP - 1);
    let _ = line.write_fmt(args);
    line.limit = LINE_CAP;
    line.push(b"\n");
    line.emit(fd);
}

/// Prints verdict lines, each with the run's token if there is one.
#[derive(Clone, Copy)]
pub struct Reporter {
    token: Option<&'static [u8]>,
}

impl Reporter {
    /// A reporter that appends ` [TOKEN]` to every verdict when `token` is
    /// given. The token must pass [`valid_token`].
    pub fn new(token: Option<&'static [u8]>) -> Reporter {
        Reporter { token }
    }

    /// Prints one verdict line on standard output: `args`, the token
    /// suffix, a newline, all in one `write`.
    pub fn verdict(&self, args: fmt::Arguments<'_>) {
        let suffix = self.token.map_or(0, |t| t.len() + 3);
        let mut line = Line::new(LINE_CAP - 1 - suffix);
        let _ = line.write_fmt(args);
        line.limit = LINE_CAP;
        if let Some(token) = self.token {
            line.push(b" [");
            line.push(token);
            line.push(b"]");
        }
        line.push(b"\n");
        line.emit(1);
    }

    /// `test NAME: OK` or `test NAME: FAILED`.
    pub fn test(&self, name: &str, ok: bool) {
        let word = if ok { "OK" } else { "FAILED" };
        self.verdict(format_args!("test {name}: {word}"));
    }

    /// The last line of a run: `ALL TESTS PASSED` or `SOME TESTS FAILED`.
    pub fn summary(&self, all_ok: bool) {
        if all_ok {
            self.verdict(format_args!("ALL TESTS PASSED"));
        } else {
            self.verdict(format_args!("SOME TESTS FAILED"));
        }
    }
}

/// Name of the test this process runs, for [`fail!`](crate::fail) messages
/// (pointer and length of a `&'static str`; null before the first test).
static TEST_NAME_PTR: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());
static TEST_NAME_LEN: AtomicUsize = AtomicUsize::new(0);

/// Records which test this process (and its future children) is running.
pub fn set_test_name(name: &'static str) {
    TEST_NAME_LEN.store(name.len(), Ordering::Relaxed);
    TEST_NAME_PTR.store(name.as_ptr().cast_mut(), Ordering::Relaxed);
}

/// The name [`set_test_name`] recorded, or `?`.
pub fn test_name() -> &'static str {
    let p = TEST_NAME_PTR.load(Ordering::Relaxed);
    if p.is_null() {
        return "?";
    }
    let len = TEST_NAME_LEN.load(Ordering::Relaxed);
    // SAFETY: set_test_name stored the pointer and length of a `&'static
    // str`; the process is single-threaded, so both halves belong together.
    unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(p, len)) }
}

/// Reports why the current test failed, as `NAME: message` on standard
/// error in one write, and exits with status 1.
pub fn fail_with(args: fmt::Arguments<'_>) -> ! {
    say(2, format_args!("{}: {}", test_name(), args));
    sys::exit(1)
}

/// Ends the current test as failed: `fail!("read returned {}", n)` prints
/// `NAME: read returned 3` and exits with status 1.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { $crate::harness::fail_with(format_args!($($arg)*)) };
}

/// Runs `body` in a child process and returns the child's exit status: what
/// `body` passed to `exit`, 0 if it returned, -1 if the kernel killed it.
/// Fails only if `fork` or `wait` does.
pub fn run_in_child(body: impl FnOnce()) -> SysResult<i32> {
    let pid = crate::fork()?;
    if pid == 0 {
        body();
        sys::exit(0);
    }
    wait_for(pid).map(|w| w.status)
}

/// Waits until the child `pid` exits, reaping (and ignoring) any other child
/// that exits first.
pub fn wait_for(pid: i32) -> SysResult<Waited> {
    loop {
        let w = crate::wait()?;
        if w.pid == pid {
            return Ok(w);
        }
    }
}

/// Counts the free physical pages, as xv6's usertests does: processes take
/// memory until the kernel has none left, and report what they got. The
/// result is exact up to a constant (what the counting processes themselves
/// cost), so two counts compare like with like.
///
/// A run counts twice, so the count must be cheap, on lazy kernels too. A
/// lazy kernel allocates a page when it is first used, so counting page by
/// page costs a page fault and, to report it, a system call per page (the
/// process is killed without warning by the fault that finds no memory, so
/// every page must be reported before the next is touched): seconds for
/// 128 MiB under emulation. Instead, most of the memory is taken in big
/// steps that fail gracefully, by `fork`: a holder process touches
/// `HOLD_PAGES` pages, and copies of it are forked until fork fails. Only
/// what is left, less than one copy, is counted page by page (by
/// [`count_pages`]): once with one copy released (so that there is surely
/// room to fork the counting child) and once with two, which also measures
/// exactly how many pages a copy holds.
///
/// Returns `None` if a pipe or a process could not be created.
pub fn countfree() -> Option<usize> {
    // Holder -> us: the number of copies (4 bytes), then acknowledgements.
    let (from_r, from_w) = crate::pipe().ok()?;
    // Us -> holder: a byte per copy to release; end of file releases all.
    let (to_r, to_w) = match crate::pipe() {
        Ok(fds) => fds,
        Err(_) => {
            let _ = crate::close(from_r);
            let _ = crate::close(from_w);
            return None;
        }
    };
    let holder = match crate::fork() {
        Ok(0) => {
            let _ = crate::close(from_r);
            let _ = crate::close(to_w);
            hold_memory(to_r, from_w);
            sys::exit(0);
        }
        Ok(pid) => Some(pid),
        Err(_) => None,
    };
    let _ = crate::close(from_w);
    let _ = crate::close(to_r);

    let count = holder.and_then(|_| {
        let mut n = [0u8; 4];
        if crate::read(from_r, &mut n) != Ok(4) {
            return None;
        }
        let copies = u32::from_le_bytes(n) as usize;
        // Release a copy so that what is left (less than a copy when fork
        // failed) is surely enough to fork the counting child (and its
        // watchdog); then count it.
        let release = || {
            let mut ack = [0u8];
            crate::fs::write(to_w, b"r") == Ok(1) && crate::read(from_r, &mut ack) == Ok(1)
        };
        if copies == 0 || !release() {
            return None;
        }
        let rest = count_pages()?;
        if copies == 1 {
            return Some(rest);
        }
        // Release another: what is left grows by exactly what a copy held.
        if !release() {
            return None;
        }
        let more = count_pages()?;
        let per_copy = more.checked_sub(rest)?;
        Some((copies - 1) * per_copy + rest)
    });

    // End of file on `to_r` tells the holder to release everything.
    let _ = crate::close(to_w);
    let _ = crate::close(from_r);
    if let Some(pid) = holder {
        let _ = wait_for(pid);
    }
    count
}

/// Pages each copy in [`countfree`] touches (besides its program): 4 MiB,
/// so that the copies fill 128 MiB long before the process table is full.
const HOLD_PAGES: usize = 1024;

/// countfree's holder: touches `HOLD_PAGES` pages, forks copies of itself
/// until fork fails, reports how many on `report`, then releases one copy
/// for each byte read from `control` (acknowledging each once the copy's
/// memory is free) and all of them at end of file.
fn hold_memory(control: i32, report: i32) {
    // SAFETY: growing the heap takes nothing away from anyone.
    let start = unsafe { sys::sbrk((HOLD_PAGES * PGSIZE) as i32) };
    let mut copies: u32 = 0;
    if start as isize != -1 {
        for page in 0..HOLD_PAGES {
            // SAFETY: heap this process just grew, used by nothing else; on
            // a lazy kernel this allocates the page.
            unsafe { start.wrapping_add(page * PGSIZE).write_volatile(1) };
        }
        if let Ok((hold_r, hold_w)) = crate::pipe() {
            while (copies as usize) < NPROC {
                match crate::fork() {
                    Ok(0) => {
                        let _ = crate::close(hold_w);
                        let _ = crate::close(control);
                        let _ = crate::close(report);
                        let mut byte = [0u8];
                        // Returns when released: a byte, or end of file.
                        let _ = crate::read(hold_r, &mut byte);
                        sys::exit(0);
                    }
                    Ok(_) => copies += 1,
                    Err(_) => break,
                }
            }
            let _ = crate::close(hold_r);
            let _ = crate::fs::write(report, &copies.to_le_bytes());
            let mut byte = [0u8];
            while crate::read(control, &mut byte) == Ok(1) {
                // Exactly one copy reads the byte and exits; once it is
                // reaped its memory is free.
                if crate::fs::write(hold_w, b"r") != Ok(1) || crate::wait().is_err() {
                    break;
                }
                copies -= 1;
                let _ = crate::fs::write(report, b"a");
            }
            let _ = crate::close(hold_w);
            for _ in 0..copies {
                let _ = crate::wait();
            }
            return;
        }
    }
    let _ = crate::fs::write(report, &copies.to_le_bytes());
}

/// Counts, page by page, the pages a child can get: it grows its heap and
/// writes to every page (so that a lazy kernel allocates it), reporting each
/// page on a pipe before it touches the next, until sbrk fails (eager
/// kernel) or the kernel kills it for want of memory (lazy kernel).
///
/// A broken kernel may instead fault on the same page forever when memory
/// runs out; a watchdog kills the child after `COUNT_TICKS`, and the count
/// fails (`None`) rather than the whole run hanging.
fn count_pages() -> Option<usize> {
    let (rfd, wfd) = crate::pipe().ok()?;
    let pid = match crate::fork() {
        Ok(pid) => pid,
        Err(_) => {
            let _ = crate::close(rfd);
            let _ = crate::close(wfd);
            return None;
        }
    };
    if pid == 0 {
        let _ = crate::close(rfd);
        grab_all_pages(wfd);
        sys::exit(0);
    }
    let _ = crate::close(wfd);
    let watchdog = Watchdog::start(pid, COUNT_TICKS);
    let mut count = 0;
    let mut buf = [0u8; 512];
    while let Ok(n @ 1..) = crate::read(rfd, &mut buf) {
        count += n;
    }
    let _ = crate::close(rfd);
    let fired = watchdog.map(|w| w.stop(pid));
    match fired {
        Some(Ok(false)) => Some(count),
        _ => None,
    }
}

/// How long (clock ticks) count_pages's child may take; it needs well under
/// a second, even on a lazy kernel under emulation.
const COUNT_TICKS: i32 = 100;

/// A process that kills `target` if it is still running after a while.
struct Watchdog {
    pid: i32,
}

impl Watchdog {
    /// Forks a watchdog that kills `target` after `ticks` clock ticks.
    fn start(target: i32, ticks: i32) -> Option<Watchdog> {
        match crate::fork() {
            Ok(0) => {
                // Killed while asleep (the normal end), it never gets here.
                let _ = crate::sleep(ticks);
                let _ = crate::kill(target);
                sys::exit(1);
            }
            Ok(pid) => Some(Watchdog { pid }),
            Err(_) => {
                let _ = crate::kill(target);
                None
            }
        }
    }

    /// Stops the watchdog and reaps it and `target` (a sibling it watched);
    /// returns whether it fired, i.e. killed `target`.
    fn stop(self, target: i32) -> SysResult<bool> {
        let _ = crate::kill(self.pid);
        let mut fired = false;
        let mut reaped = 0;
        while reaped < 2 {
            let w = crate::wait()?;
            if w.pid == self.pid {
                fired = w.status == 1;
                reaped += 1;
            } else if w.pid == target {
                reaped += 1;
            }
        }
        Ok(fired)
    }
}

/// count_pages's child: takes pages until none are left, writing one byte
/// on `wfd` for each page once it has written to it.
fn grab_all_pages(wfd: i32) {
    // Asking for many pages at a time keeps the system calls down on an
    // eager kernel, whose sbrk fails cleanly when memory runs out; smaller
    // requests then pick up what is left.
    let mut chunk = 64;
    loop {
        // SAFETY: growing the heap takes nothing away from anyone.
        let start = unsafe { sys::sbrk((chunk * PGSIZE) as i32) };
        if start as isize == -1 {
            if chunk == 1 {
                return;
            }
            chunk /= 2;
            continue;
        }
        for page in 0..chunk {
            let last = start.wrapping_add((page + 1) * PGSIZE - 1);
            // SAFETY: the byte lies in the heap this process just grew and
            // nothing else uses; a lazy kernel allocates its page here, or
            // kills the process when it has no memory left.
            unsafe { last.write_volatile(1) };
            if crate::fs::write(wfd, b"p") != Ok(1) {
                return;
            }
        }
    }
}

/// How many more processes could exist right now, counting up to `limit`:
/// forks children that block on a pipe until all have been created, then
/// releases and reaps them.
pub fn spare_processes(limit: usize) -> usize {
    let Ok((rfd, wfd)) = crate::pipe() else {
        return 0;
    };
    let mut n = 0;
    while n < limit {
        match crate::fork() {
            Ok(0) => {
                let _ = crate::close(wfd);
                let mut byte = [0u8];
                // Returns at end of file, when the parent closes its end.
                let _ = crate::read(rfd, &mut byte);
                sys::exit(0);
            }
            Ok(_) => n += 1,
            Err(_) => break,
        }
    }
    let _ = crate::close(rfd);
    let _ = crate::close(wfd);
    for _ in 0..n {
        if crate::wait().is_err() {
            break;
        }
    }
    n
}

/// Waits until at least `want` processes could be created again, i.e. until
/// the processes an earlier test left behind (orphans handed to init) have
/// exited and been reaped, so that they hold no memory when free pages are
/// counted. Gives up after about `ticks` clock ticks; returns whether the
/// slots came back.
pub fn settle(want: usize, ticks: i32) -> bool {
    let deadline = sys::uptime().saturating_add(ticks);
    loop {
        if spare_processes(want) >= want {
            return true;
        }
        if sys::uptime() >= deadline {
            return false;
        }
        let _ = crate::sleep(1);
    }
}
