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
//! When the grader has written a key into this program's copy on the disk
//! image (over [`SEAL_REGION`]), the start line and every verdict line also
//! end in a seal (` ~<16 hex>`, see the `seal` crate): a MAC the kernel
//! cannot compute, binding the line's text to this start of the program and
//! its place among the program's lines. Without a key the lines are as
//! above.
//!
//! Nothing here allocates: a test runner must keep working when the heap is
//! exactly what the kernel under test breaks.

use core::cell::Cell;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

use crate::process::Waited;
use crate::{SysResult, sys};

/// The page size and the kernel's process-table size, from the `abi` crate
/// (the kernel's own values).
pub use abi::{NPROC, PGSIZE};

// Most open files a process has (xv6's `NOFILE`).
use abi::NOFILE;

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

/// Where the grader writes the run's key: the `seal` crate's marker until
/// then. It must occur once in the program, so it is only ever read through
/// [`seal_key`], never copied into a constant the compiler could fold.
static SEAL_REGION: [u8; seal::KEY_LEN] = seal::MARKER;

/// The key the grader injected into this program, if any.
fn seal_key() -> Option<seal::Key> {
    // SAFETY: SEAL_REGION is a valid, aligned static that nothing writes
    // (the grader changes the bytes in the file, before the program runs).
    // The volatile read keeps the compiler from using the marker it was
    // initialised with: the value on disk is what counts.
    let region = unsafe { core::ptr::read_volatile(&raw const SEAL_REGION) };
    seal::Key::from_region(&region)
}

/// Seals for one run of a program: the key, the run's nonce and the
/// position of the next sealed line.
struct Sealer {
    key: seal::Key,
    nonce: u64,
    seq: Cell<u32>,
}

impl Sealer {
    /// Appends ` ~<seal>` of the text in `line` at the next position.
    fn seal(&self, line: &mut Line) {
        let seq = self.seq.get();
        self.seq.set(seq.wrapping_add(1));
        let mac = self.key.seal(self.nonce, seq, &line.buf[..line.len]);
        line.push(seal::SEPARATOR.as_bytes());
        line.push(&seal::hex(mac));
    }
}

/// Bytes a seal adds to a line: ` ~` and its hex digits.
const SEAL_SUFFIX: usize = seal::SEPARATOR.len() + seal::HEX_LEN;

/// Prints a program's start line and its verdict lines, each with the run's
/// token if there is one, sealed if the program carries a key.
pub struct Reporter {
    token: Option<&'static [u8]>,
    sealer: Option<Sealer>,
}

impl Reporter {
    /// Prints the start line of the program `name` (`NAME starting`, or
    /// `NAME starting ~<nonce> ~<seal>` with a key) and returns the
    /// reporter for its verdicts, which appends ` [TOKEN]` to every verdict
    /// when `token` is given. The token must pass [`valid_token`].
    pub fn start(name: &str, token: Option<&'static [u8]>) -> Reporter {
        let sealer = seal_key().map(|key| Sealer {
            key,
            nonce: key.nonce(crate::getpid(), crate::uptime()),
            seq: Cell::new(0),
        });
        let mut line = Line::new(LINE_CAP - 1 - SEAL_SUFFIX);
        let _ = write!(line, "{name}{}", seal::STARTING);
        line.limit = LINE_CAP;
        if let Some(s) = &sealer {
            line.push(seal::SEPARATOR.as_bytes());
            line.push(&seal::hex(s.nonce));
            s.seal(&mut line);
        }
        line.push(b"\n");
        line.emit(1);
        Reporter { token, sealer }
    }

    /// Prints one verdict line on standard output: `args`, the token
    /// suffix, the seal, a newline, all in one `write`.
    pub fn verdict(&self, args: fmt::Arguments<'_>) {
        let token = self.token.map_or(0, |t| t.len() + 3);
        let seal = if self.sealer.is_some() {
            SEAL_SUFFIX
        } else {
            0
        };
        let mut line = Line::new(LINE_CAP - 1 - token - seal);
        let _ = line.write_fmt(args);
        line.limit = LINE_CAP;
        if let Some(token) = self.token {
            line.push(b" [");
            line.push(token);
            line.push(b"]");
        }
        if let Some(s) = &self.sealer {
            s.seal(&mut line);
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
    sys::exit(FAILED_STATUS)
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

/// Runs the test `name` (its body in a child process, as
/// [`run_in_child`]) and says whether it passed (the child exited with
/// status 0). A failure is always explained in words before the verdict:
/// the body explains its own (status 1, from [`fail!`](crate::fail) or the
/// panic handler); for anything else (the kernel killed the child, an
/// unexplained status, `fork` or `wait` failing) this prints
/// `NAME: why` on standard output.
pub fn run_test(name: &str, body: impl FnOnce()) -> bool {
    match run_in_child(body) {
        Ok(0) => true,
        Ok(FAILED_STATUS) => false,
        Ok(KILLED_STATUS) => {
            crate::println!(
                "{name}: the test process was killed (exit status -1; a fault the kernel did not handle, or a kill)"
            );
            false
        }
        Ok(status) => {
            crate::println!(
                "{name}: the test process exited with status {status} without saying why"
            );
            false
        }
        Err(e) => {
            crate::println!("{name}: could not run the test process: fork or wait: {e}");
            false
        }
    }
}

/// The status a test body exits with after saying why it failed
/// ([`fail_with`], the panic handler).
pub const FAILED_STATUS: i32 = 1;

/// The status of a process the kernel killed.
pub const KILLED_STATUS: i32 = -1;

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

/// Free physical memory as [`countfree`] measures it: how many copies of a
/// big holder process could be forked, then how many copies of a small one,
/// then how many pages were left over (counted one by one). Counts compare
/// exactly: one page less anywhere makes the count smaller.
/// [`pages`](Self::pages) turns it into an approximate number of pages, for
/// messages and sizing.
#[derive(Clone, Copy, Debug)]
pub struct FreePages {
    /// Copies forked of each holder, the big one first.
    copies: [usize; 2],
    rest: usize,
    /// What a copy of each holder holds (an estimate).
    copy_pages: [usize; 2],
}

impl FreePages {
    /// About how many pages were free: what the copies held plus the rest.
    /// What a copy holds is computed from the holder's size and xv6's
    /// page-table layout, so it may be off by a few pages; comparisons of
    /// two counts do not rely on it.
    pub fn pages(&self) -> usize {
        self.copies[0] * self.copy_pages[0] + self.copies[1] * self.copy_pages[1] + self.rest
    }

    fn key(&self) -> (usize, usize, usize) {
        (self.copies[0], self.copies[1], self.rest)
    }
}

// Fewer big copies means less memory whatever follows; with as many, fewer
// small copies; with as many of both, the rest (exact, and less than a small
// copy) decides.
impl PartialEq for FreePages {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for FreePages {}

impl PartialOrd for FreePages {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FreePages {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for FreePages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pages())
    }
}

/// Memory lost between two counts, for the failure line that says so:
/// `leaked about N pages (B free before, A after)`. Counts compare exactly
/// but their page numbers are estimates, so N is too, and at least 1.
#[derive(Clone, Copy, Debug)]
pub struct Leak {
    pub before: FreePages,
    pub after: FreePages,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lost = self
            .before
            .pages()
            .saturating_sub(self.after.pages())
            .max(1);
        write!(
            f,
            "leaked about {lost} pages ({} free before, {} after)",
            self.before, self.after
        )
    }
}

/// Counts the free physical pages, as xv6's usertests does: processes take
/// memory until the kernel has none left, and report what they got. The
/// count is exact up to a constant (what the counting processes themselves
/// cost), so two counts compare like with like.
///
/// A run counts twice, so the count must be cheap, on lazy kernels too. A
/// lazy kernel allocates a page when it is first used, so counting page by
/// page costs a page fault and, to report it, a system call per page (the
/// process is killed without warning by the fault that finds no memory, so
/// every page must be reported before the next is touched): seconds for
/// 128 MiB under emulation. Instead, most of the memory is taken in steps
/// that fail gracefully, by `fork`: a big [`Holder`] (`BIG_HOLD` pages)
/// forks copies of itself until fork fails, then a small one (`SMALL_HOLD`
/// pages) does the same with what is left, and only the rest, less than a
/// small copy, is counted page by page, by a [`Counter`]. The holders and
/// the counter are forked beforehand, so that they need no memory by then.
/// The numbers of copies and the rest make the count ([`FreePages`]): as
/// many copies fit in the same memory every time, so the three compare
/// exactly without knowing what a copy holds.
///
/// Returns `None` if a pipe or a process could not be created, or the
/// counting child had to be killed.
pub fn countfree() -> Option<FreePages> {
    // Said once per process, before the first count: whoever reads the
    // console sees the kill lines a lazy kernel prints while counting as
    // expected, not as a failure.
    if !COUNT_NOTED.swap(true, Ordering::Relaxed) {
        crate::println!("{COUNT_NOTE}");
    }
    let counter = Counter::start()?;
    let Some([big, small]) = start_holders() else {
        counter.cancel();
        return None;
    };
    let count = match (big.fill(NPROC), small.fill(NPROC)) {
        (Some(b), Some(s)) => counter.run().map(|rest| FreePages {
            copies: [b.0, s.0],
            rest,
            copy_pages: [b.1, s.1],
        }),
        _ => {
            counter.cancel();
            None
        }
    };
    small.release();
    big.release();
    count
}

/// What [`countfree`] says before its first count. Lines starting
/// `note: ` are the runner's commentary, never a test's reason.
/// It fits an 80-column console.
pub const COUNT_NOTE: &str =
    "note: counting free pages uses up memory; usertrap() kills are expected";

static COUNT_NOTED: AtomicBool = AtomicBool::new(false);

/// Memory taken from the kernel in bulk by [`hold_pages`], held until
/// [`release`](MemoryHold::release)d: the two holders, each by its pid and
/// the control pipe whose end of file lets it go.
pub struct MemoryHold {
    holders: [(i32, i32); 2],
    pages: usize,
}

impl MemoryHold {
    /// About how many pages are held (the estimate [`FreePages::pages`]
    /// makes: off by a few pages per copy).
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Gives the memory back, and waits until every process that held it
    /// has exited, so that the pages are free again on return.
    pub fn release(self) {
        let_go(&self.holders);
    }
}

/// Lets holders (pid, control pipe) go and waits until they are gone.
fn let_go(holders: &[(i32, i32)]) {
    for &(pid, control) in holders {
        let _ = crate::close(control);
        let _ = wait_for(pid);
    }
}

/// Takes about `pages` pages of memory, never more, and holds them until
/// released: for tests that need memory nearly exhausted, and cheaply, the
/// way [`countfree`] fills memory. Touching the pages one by one would cost
/// a page fault each on a lazy kernel (more than a second for 128 MiB under
/// emulation); forked copies of a process that has touched its pages cost
/// the kernel a page copy each instead. What is left to take (up to about
/// a small holder's copy, 70 pages, more if `pages` is more than the
/// kernel has) the test takes itself, as precisely as it needs.
///
/// The holders are children of the calling process, which must release
/// them before it exits (or they would hold the memory on); they exit only
/// when released, so waiting for other children meanwhile is fine. The
/// hold keeps two descriptors open (four while it fills). Returns `None`
/// if the holders could not be started.
pub fn hold_pages(pages: usize) -> Option<MemoryHold> {
    // SAFETY: sbrk(0) changes nothing.
    let base = unsafe { sys::sbrk(0) } as usize;
    let copy_pages = [
        fork_pages(base + BIG_HOLD * PGSIZE),
        fork_pages(base + SMALL_HOLD * PGSIZE),
    ];
    let [big, small] = start_holders()?;
    // Each holder holds as much as one of its copies.
    let mut held = copy_pages[0] + copy_pages[1];
    let mut filled = true;
    for (holder, copy) in [&big, &small].into_iter().zip(copy_pages) {
        match holder.fill(pages.saturating_sub(held) / copy) {
            Some((copies, _)) if filled => held += copies * copy,
            _ => filled = false,
        }
        // The report has been read: the descriptor is not kept.
        let _ = crate::close(holder.report);
    }
    let holders = [(small.pid, small.control), (big.pid, big.control)];
    if !filled {
        let_go(&holders);
        return None;
    }
    Some(MemoryHold {
        holders,
        pages: held,
    })
}

/// Starts the big and the small holder, or neither.
fn start_holders() -> Option<[Holder; 2]> {
    let big = Holder::start(BIG_HOLD)?;
    let Some(small) = Holder::start(SMALL_HOLD) else {
        big.release();
        return None;
    };
    Some([big, small])
}

/// Reads exactly `buf.len()` bytes from `fd` (a pipe may deliver them in
/// pieces); `None` at end of file or on an error.
fn read_exactly(fd: i32, buf: &mut [u8]) -> Option<()> {
    let mut got = 0;
    while got < buf.len() {
        match crate::read(fd, &mut buf[got..]) {
            Ok(n @ 1..) => got += n,
            _ => return None,
        }
    }
    Some(())
}

/// Pages the big holder in [`countfree`] touches (besides its program):
/// 4 MiB, so that its copies fill 128 MiB long before the process table is
/// full.
const BIG_HOLD: usize = 1024;

/// Pages the small holder touches: with its program, about a tenth of a big
/// copy, so that a handful of its copies fill what the big ones left and
/// little is left to count page by page.
const SMALL_HOLD: usize = 64;

/// Physical pages a fork of a process of `size` bytes takes, on xv6's
/// layout: the pages below `size`, the trapframe, the root page table, the
/// middle and leaf tables for the low addresses, and the middle and leaf
/// tables for the trampoline and trapframe at the top.
fn fork_pages(size: usize) -> usize {
    const LEAF_SPAN: usize = 512 * PGSIZE;
    size.div_ceil(PGSIZE) + 1 + 1 + 1 + size.div_ceil(LEAF_SPAN) + 2
}

/// Two pipes, or none (nothing left open) if either cannot be made.
fn two_pipes() -> Option<[(i32, i32); 2]> {
    let first = crate::pipe().ok()?;
    match crate::pipe() {
        Ok(second) => Some([first, second]),
        Err(_) => {
            close_all(&[first.0, first.1]);
            None
        }
    }
}

/// Closes every descriptor in `fds`, ignoring errors.
fn close_all(fds: &[i32]) {
    for &fd in fds {
        let _ = crate::close(fd);
    }
}

/// One of countfree's holders: a child that touches its pages, then, when
/// told to ([`fill`](Holder::fill)), forks copies of itself until fork
/// fails and reports how many and what each holds; all of them exit when
/// told to ([`release`](Holder::release)).
struct Holder {
    pid: i32,
    /// Us -> holder: a byte starts the filling; end of file releases all.
    control: i32,
    /// Holder -> us: the number of copies and the pages a copy holds.
    report: i32,
}

impl Holder {
    /// Forks a holder of `pages` pages. It closes every descriptor but its
    /// own two: it and its copies must not keep the end of someone else's
    /// pipe open.
    fn start(pages: usize) -> Option<Holder> {
        let [(control_r, control_w), (report_r, report_w)] = two_pipes()?;
        let pid = crate::fork();
        if pid == Ok(0) {
            for fd in (0..NOFILE as i32).filter(|&fd| fd != control_r && fd != report_w) {
                let _ = crate::close(fd);
            }
            hold_memory(pages, control_r, report_w);
            sys::exit(0);
        }
        close_all(&[control_r, report_w]);
        match pid {
            Ok(pid) => Some(Holder {
                pid,
                control: control_w,
                report: report_r,
            }),
            Err(_) => {
                close_all(&[control_w, report_r]);
                None
            }
        }
    }

    /// Has the holder fork up to `limit` copies (fewer if fork fails);
    /// returns how many it forked and the pages each holds.
    fn fill(&self, limit: usize) -> Option<(usize, usize)> {
        let mut order = [b'f', 0, 0, 0, 0];
        order[1..].copy_from_slice(&(limit.min(NPROC) as u32).to_le_bytes());
        if crate::fs::write(self.control, &order) != Ok(order.len()) {
            return None;
        }
        let mut report = [0u8; 8];
        read_exactly(self.report, &mut report)?;
        let copies = u32::from_le_bytes([report[0], report[1], report[2], report[3]]);
        let pages = u32::from_le_bytes([report[4], report[5], report[6], report[7]]);
        Some((copies as usize, pages as usize))
    }

    /// Lets the holder and its copies go, and waits until they are gone.
    fn release(self) {
        // End of file on its control pipe tells the holder to let go.
        let _ = crate::close(self.control);
        let _ = crate::close(self.report);
        let _ = wait_for(self.pid);
    }
}

/// A [`Holder`]'s body: touches `pages` pages, waits for the order to fill
/// (`f` and the most copies to fork, a little-endian `u32`), forks copies of
/// itself until it has that many or fork fails, reports how many and what
/// each holds on `report`, and releases them all at end of file on
/// `control`.
fn hold_memory(pages: usize, control: i32, report: i32) {
    let send = |copies: usize, pages: usize| {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(copies as u32).to_le_bytes());
        bytes[4..].copy_from_slice(&(pages as u32).to_le_bytes());
        let _ = crate::fs::write(report, &bytes);
    };
    // SAFETY: growing the heap takes nothing away from anyone.
    let start = unsafe { sys::sbrk((pages * PGSIZE) as i32) };
    let ready = start as isize != -1;
    if ready {
        for page in 0..pages {
            // SAFETY: heap this process just grew, used by nothing else; on
            // a lazy kernel this allocates the page.
            unsafe { start.wrapping_add(page * PGSIZE).write_volatile(1) };
        }
    }
    let mut order = [0u8; 5];
    if read_exactly(control, &mut order).is_none() || order[0] != b'f' {
        return;
    }
    let limit = u32::from_le_bytes([order[1], order[2], order[3], order[4]]) as usize;
    let pipe = if ready { crate::pipe().ok() } else { None };
    let Some((hold_r, hold_w)) = pipe else {
        send(0, 0);
        return;
    };
    let copies = fork_waiting(limit, hold_r, &[hold_w, control, report]);
    let _ = crate::close(hold_r);
    send(copies, fork_pages(start as usize + pages * PGSIZE));
    let mut byte = [0u8];
    while crate::read(control, &mut byte) == Ok(1) {}
    let _ = crate::close(hold_w);
    for _ in 0..copies {
        let _ = crate::wait();
    }
}

/// A child that counts, page by page, the pages it can get, once told to:
/// it grows its heap and writes to every page (so that a lazy kernel
/// allocates it), reporting each page on a pipe before it touches the next,
/// until sbrk fails (eager kernel) or the kernel kills it for want of memory
/// (lazy kernel). It is forked, with its watchdog, before memory runs low,
/// and waits for [`run`](Counter::run).
///
/// A broken kernel may instead fault on the same page forever when memory
/// runs out; the watchdog kills the child `COUNT_TICKS` after the start,
/// and the count fails (`None`) rather than the whole run hanging.
struct Counter {
    pid: i32,
    /// Where the child reports its pages.
    pages: i32,
    /// A byte each starts the child and its watchdog.
    go: i32,
    watchdog: Watchdog,
}

impl Counter {
    fn start() -> Option<Counter> {
        let [(pages_r, pages_w), (go_r, go_w)] = two_pipes()?;
        let pid = match crate::fork() {
            Ok(0) => {
                close_all(&[pages_r, go_w]);
                let mut byte = [0u8];
                if crate::read(go_r, &mut byte) == Ok(1) {
                    let _ = crate::close(go_r);
                    grab_all_pages(pages_w);
                }
                sys::exit(0);
            }
            Ok(pid) => pid,
            Err(_) => {
                close_all(&[pages_r, pages_w, go_r, go_w]);
                return None;
            }
        };
        let _ = crate::close(pages_w);
        let Some(watchdog) = Watchdog::start(pid, COUNT_TICKS, go_r) else {
            close_all(&[pages_r, go_r, go_w]);
            let _ = crate::kill(pid);
            let _ = wait_for(pid);
            return None;
        };
        let _ = crate::close(go_r);
        Some(Counter {
            pid,
            pages: pages_r,
            go: go_w,
            watchdog,
        })
    }

    /// Starts the count and waits for it: the pages the child got, or
    /// `None` if the watchdog had to kill it.
    fn run(self) -> Option<usize> {
        let started = crate::fs::write(self.go, b"gg") == Ok(2);
        let _ = crate::close(self.go);
        if !started {
            let _ = crate::kill(self.pid);
        }
        let mut count = 0;
        let mut buf = [0u8; 512];
        while let Ok(n @ 1..) = crate::read(self.pages, &mut buf) {
            count += n;
        }
        let _ = crate::close(self.pages);
        match self.watchdog.stop(self.pid) {
            Ok(false) if started => Some(count),
            _ => None,
        }
    }

    /// Stops the child and its watchdog without counting.
    fn cancel(self) {
        let _ = crate::kill(self.pid);
        let _ = crate::close(self.go);
        let _ = crate::close(self.pages);
        let _ = self.watchdog.stop(self.pid);
    }
}

/// How long (clock ticks) the counting child may take once started; it
/// needs well under a second, even on a lazy kernel under emulation.
const COUNT_TICKS: i32 = 100;

/// A process that kills `target` if it is still running a while after it
/// was started.
struct Watchdog {
    pid: i32,
}

impl Watchdog {
    /// Forks a watchdog that waits for a byte on `go`, then kills `target`
    /// after `ticks` clock ticks.
    fn start(target: i32, ticks: i32, go: i32) -> Option<Watchdog> {
        match crate::fork() {
            Ok(0) => {
                let mut byte = [0u8];
                if crate::read(go, &mut byte) == Ok(1) {
                    // Killed while asleep (the normal end), it never gets
                    // here.
                    let _ = crate::sleep(ticks);
                }
                let _ = crate::kill(target);
                sys::exit(1);
            }
            Ok(pid) => Some(Watchdog { pid }),
            Err(_) => None,
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
    let n = fork_waiting(limit, rfd, &[wfd]);
    let _ = crate::close(rfd);
    let _ = crate::close(wfd);
    for _ in 0..n {
        if crate::wait().is_err() {
            break;
        }
    }
    n
}

/// Forks up to `limit` children, until fork fails, that close `others` and
/// wait for end of file on the pipe `rfd` (when every write end is closed),
/// then exit; returns how many were forked.
fn fork_waiting(limit: usize, rfd: i32, others: &[i32]) -> usize {
    let mut n = 0;
    while n < limit {
        match crate::fork() {
            Ok(0) => {
                close_all(others);
                let mut byte = [0u8];
                // Returns at end of file: the pipe's writers have let go.
                let _ = crate::read(rfd, &mut byte);
                sys::exit(0);
            }
            Ok(_) => n += 1,
            Err(_) => break,
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
