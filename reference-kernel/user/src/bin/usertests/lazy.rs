//! Tests aimed at the lazy-allocation lab: each one catches a mistake
//! students really make (DESIGN.md §4), and each passes on xv6's eager
//! kernel too, since they only check what any correct kernel does.
//!
//! - `lazyrw`, `lazypipe`: system calls that read or write heap nobody has
//!   touched yet, across several pages. A kernel whose copyin/copyout do not
//!   fault pages in fails them, and so does one that allocates only the
//!   first page (eagerly in sbrk, or when fetching the pointer argument) —
//!   the trick that lets xv6's one-page `sbrkarg` pass.
//! - `lazystr`, `lazyexec`: strings and exec argument vectors whose end (the
//!   NUL, the null pointer) lies in an untouched page.
//! - `lazyzero`: every page a process sees for the first time is zero,
//!   whether a load, a store or the kernel touched it first.
//! - `lazybounds`, `lazyguard`: faults at and above the break, and in the
//!   stack's guard page, kill the process rather than map a page (or panic
//!   the kernel by mapping over one that exists).
//! - `lazyfork`: fork of a heap with holes, then both sides use the holes.
//! - `lazyalign`: faults at addresses in the middle of pages.
//! - `sbrktop`: sbrk beyond the top of the address space and below zero
//!   fails with -1, and the process goes on; at the top, fork copies the
//!   heap and not the trapframe above it.
//!
//! Regions come from [`probe::fresh_pages`]: page-aligned, never touched by
//! this process, so on a lazy kernel not allocated until something faults
//! them in.

use core::ffi::c_char;

use user::harness::{PGSIZE, run_in_child, wait_for};
use user::{O_CREATE, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, StaticCell, fail, sys};

use crate::probe::{
    self, SBRK_FAILED, TRAMPOLINE, TRAPFRAME, brk, expect_killed, expect_success, fresh_pages,
    load, load_word, make_file, open, sbrk, store, store_word,
};

/// Three pages of static (eagerly mapped) memory, for patterns and for
/// reading results back; each test takes it once.
static BUF: StaticCell<[u8; 3 * PGSIZE]> = StaticCell::new([0; 3 * PGSIZE]);

/// Byte `i` of the test pattern: never zero, and different on every page.
fn pattern(i: usize) -> u8 {
    ((i * 7 + i / PGSIZE) % 255 + 1) as u8
}

/// Fails the test unless bytes `[from, to)` of memory are all zero.
fn expect_zero(from: usize, to: usize, what: &str) {
    if let Some(a) = (from..to).find(|&a| load(a) != 0) {
        fail!("{what}: byte at {a:#x} is {:#x}, not 0", load(a));
    }
}

/// read() and write() with buffers in untouched heap that span four pages.
pub fn lazyrw() {
    let buf = BUF.take();
    let len = 3 * PGSIZE;
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(i);
    }
    make_file(c"lazyrw.f", &buf[..]);

    // read() into untouched memory: copyout must fault in all four pages.
    let r = fresh_pages(5);
    let dst = r + 100;
    let fd = open(c"lazyrw.f", O_RDONLY);
    // SAFETY: the kernel writes `len` bytes into heap this test grew.
    let n = unsafe { sys::read(fd, dst as *mut u8, len as i32) };
    let _ = user::close(fd);
    if n != len as i32 {
        fail!("read of {len} bytes into untouched heap returned {n}");
    }
    if let Some(i) = (0..len).find(|&i| load(dst + i) != pattern(i)) {
        fail!("read into untouched heap: byte {i} is wrong");
    }
    expect_zero(r, dst, "around a read");
    expect_zero(dst + len, r + 5 * PGSIZE, "around a read");

    // write() from untouched memory: copyin must fault in all four pages,
    // and what they hold is zeros.
    let r = fresh_pages(5);
    let fd = open(c"lazyrw.f", O_WRONLY | O_TRUNC);
    // SAFETY: the kernel only reads heap this test grew.
    let n = unsafe { sys::write(fd, (r + 300) as *const u8, len as i32) };
    let _ = user::close(fd);
    if n != len as i32 {
        fail!("write of {len} bytes from untouched heap returned {n}");
    }
    let fd = open(c"lazyrw.f", O_RDONLY);
    let n = user::read(fd, &mut buf[..]);
    let _ = user::close(fd);
    if n != Ok(len) {
        fail!("reading back the file returned {n:?}");
    }
    if let Some(i) = buf.iter().position(|&b| b != 0) {
        fail!(
            "untouched heap read as {:#x} at byte {i} by write()",
            buf[i]
        );
    }

    // The first page touched, the next three not: a kernel that only makes
    // sure of the page the pointer argument points into fails here.
    let r = fresh_pages(4);
    // SAFETY: heap this test grew.
    unsafe { store(r, 0x42) };
    let fd = open(c"lazyrw.f", O_WRONLY | O_TRUNC);
    // SAFETY: the kernel only reads heap this test grew.
    let n = unsafe { sys::write(fd, r as *const u8, (4 * PGSIZE) as i32) };
    let _ = user::close(fd);
    if n != (4 * PGSIZE) as i32 {
        fail!("write of 4 pages, only the first touched, returned {n}");
    }

    // fstat() filling a struct that straddles two untouched pages.
    let r = fresh_pages(2);
    let st = r + PGSIZE - 8;
    let fd = open(c"lazyrw.f", O_RDONLY);
    // SAFETY: the kernel writes a 24-byte, 8-aligned struct stat into heap
    // this test grew.
    let ret = unsafe { sys::fstat(fd, st as *mut user::Stat) };
    let _ = user::close(fd);
    if ret != 0 {
        fail!("fstat into untouched heap failed");
    }
    // SAFETY: fstat filled it in.
    let size = unsafe { (st as *const user::Stat).read().size };
    if size != (4 * PGSIZE) as u64 {
        fail!("fstat into untouched heap says the size is {size}");
    }
    let _ = user::unlink(c"lazyrw.f");
}

/// Pipes and wait() with untouched memory: pipe() storing its descriptors
/// across two untouched pages, write() of three untouched pages into a pipe,
/// read()s from a pipe into untouched pages, wait() storing the status into
/// an untouched page.
pub fn lazypipe() {
    let buf = BUF.take();
    let len = 3 * PGSIZE;

    let r = fresh_pages(3);
    let fds = r + 2 * PGSIZE - 4;
    // SAFETY: the kernel writes two ints into heap this test grew (one on
    // each side of a page boundary: 4-byte alignment is all an int needs).
    if unsafe { sys::pipe(fds as *mut i32) } != 0 {
        fail!("pipe() into untouched heap failed");
    }
    // SAFETY: pipe() stored the two descriptors there.
    let (rfd, wfd) = unsafe { ((fds as *const i32).read(), ((fds + 4) as *const i32).read()) };

    // A child reads what the parent writes from untouched heap: zeros.
    let reader = match user::fork() {
        Ok(0) => {
            let _ = user::close(wfd);
            let mut total = 0;
            loop {
                match user::read(rfd, &mut buf[total..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => total += n,
                }
                if total == buf.len() {
                    break;
                }
            }
            if total != len || buf.iter().any(|&b| b != 0) {
                fail!("pipe carried {total} bytes, or not zeros");
            }
            sys::exit(0);
        }
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    };
    let _ = user::close(rfd);
    let src = fresh_pages(4) + 200;
    // SAFETY: the kernel only reads heap this test grew.
    let n = unsafe { sys::write(wfd, src as *const u8, len as i32) };
    let _ = user::close(wfd);
    if n != len as i32 {
        fail!("write of {len} untouched bytes into a pipe returned {n}");
    }
    // wait() storing the status into an untouched page.
    let status_at = fresh_pages(2) + PGSIZE + 12;
    // SAFETY: the kernel writes an int into heap this test grew.
    let pid = unsafe { sys::wait(status_at as *mut i32) };
    // SAFETY: wait() stored it.
    let status = unsafe { (status_at as *const i32).read() };
    if pid != reader || status != 0 {
        fail!("wait into untouched heap: pid {pid} (expected {reader}), status {status}");
    }

    // The other way: a child writes a pattern, the parent reads it into
    // untouched heap, a pipeful at a time.
    let (rfd, wfd) = match user::pipe() {
        Ok(fds) => fds,
        Err(_) => fail!("pipe() failed"),
    };
    let writer = match user::fork() {
        Ok(0) => {
            let _ = user::close(rfd);
            for (i, b) in buf.iter_mut().enumerate() {
                *b = pattern(i);
            }
            if user::write_all(wfd, &buf[..]).is_err() {
                fail!("writer: write failed");
            }
            sys::exit(0);
        }
        Ok(pid) => pid,
        Err(_) => fail!("fork failed"),
    };
    let _ = user::close(wfd);
    let dst = fresh_pages(4) + 1000;
    let mut total = 0;
    while total < len {
        // SAFETY: the kernel writes into heap this test grew.
        let n = unsafe { sys::read(rfd, (dst + total) as *mut u8, (len - total) as i32) };
        if n <= 0 {
            break;
        }
        total += n as usize;
    }
    let _ = user::close(rfd);
    if total != len {
        fail!("read {total} bytes from a pipe into untouched heap, expected {len}");
    }
    if let Some(i) = (0..len).find(|&i| load(dst + i) != pattern(i)) {
        fail!("pipe read into untouched heap: byte {i} is wrong");
    }
    if wait_for(writer).map(|w| w.status) != Ok(0) {
        fail!("writer failed");
    }
}

/// Writes `s` so that it ends exactly at `end` (its NUL is at `end`, which
/// is left untouched); returns where it starts.
fn place_string_before(end: usize, s: &[u8]) -> usize {
    let start = end - s.len();
    for (i, &b) in s.iter().enumerate() {
        // SAFETY: heap the caller grew for this.
        unsafe { store(start + i, b) };
    }
    start
}

/// Path arguments whose NUL is the first byte of an untouched page: the
/// kernel must fault that page in to find the end of the string.
pub fn lazystr() {
    let r = fresh_pages(8);
    let name = b"lazystr.f";
    let _ = user::unlink(c"lazystr.f");

    // open() creates the file through a string ending at a page boundary.
    let p = place_string_before(r + PGSIZE, name);
    // SAFETY: the kernel only reads the path, in heap this test grew.
    let fd = unsafe { sys::open(p as *const c_char, O_CREATE | O_RDWR) };
    if fd < 0 {
        fail!("open() of a path whose NUL is in an untouched page failed");
    }
    let _ = user::close(fd);
    if user::open(c"lazystr.f", O_RDONLY).map(user::close).is_err() {
        fail!("open() with the path in untouched heap did not create lazystr.f");
    }

    // link(), mkdir(), chdir() and unlink() the same way, each string at
    // the end of its own page with the next page untouched.
    let old = place_string_before(r + 3 * PGSIZE, name);
    let new = place_string_before(r + 5 * PGSIZE, b"lazystr.g");
    // SAFETY: as above.
    if unsafe { sys::link(old as *const c_char, new as *const c_char) } != 0 {
        fail!("link() with paths in untouched heap failed");
    }
    let dir = place_string_before(r + 7 * PGSIZE, b"lazystr.d");
    // SAFETY: as above.
    if unsafe { sys::mkdir(dir as *const c_char) } != 0 {
        fail!("mkdir() with the path in untouched heap failed");
    }
    // SAFETY: as above; the string (and the page after it) is now mapped.
    if unsafe { sys::chdir(dir as *const c_char) } != 0 {
        fail!("chdir() with the path in untouched heap failed");
    }
    let _ = user::chdir(c"/");
    // SAFETY: as above.
    if unsafe { sys::unlink(new as *const c_char) } != 0 {
        fail!("unlink() with the path in untouched heap failed");
    }
    let _ = user::unlink(c"lazystr.d");
    let _ = user::unlink(c"lazystr.f");
    if user::open(c"lazystr.g", O_RDONLY).is_ok() {
        fail!("unlink() with the path in untouched heap removed the wrong file");
    }
    // The pages the kernel faulted in to find the NULs read as zero.
    for page in [1, 3, 5, 7] {
        expect_zero(
            r + page * PGSIZE,
            r + page * PGSIZE + 64,
            "page after a path",
        );
    }
}

/// exec() whose path, arguments and argument vector end in untouched pages:
/// the path's and an argument's NULs, and the vector's null pointer, are the
/// first bytes of pages nobody has touched.
pub fn lazyexec() {
    let _ = user::unlink(c"lazyexec.out");
    let status = run_in_child(|| {
        let r = fresh_pages(6);
        // Page 0 ends with "lazyexec" (NUL in page 1); page 2 ends with the
        // path (NUL in page 3); page 4 holds "echo" and "second" at its
        // start and the vector at its end, whose null entry is page 5's
        // first word.
        let arg1 = place_string_before(r + PGSIZE, b"lazyexec");
        let path = place_string_before(r + 3 * PGSIZE, b"/echo");
        let argv0 = place_string_before(r + 4 * PGSIZE + 5, b"echo");
        // SAFETY: heap this child grew.
        unsafe { store(argv0 + 4, 0) };
        let arg2 = place_string_before(r + 4 * PGSIZE + 16, b"second");
        // SAFETY: as above.
        unsafe { store(arg2 + 6, 0) };
        let vec = r + 5 * PGSIZE - 3 * 8;
        for (i, p) in [argv0, arg1, arg2].into_iter().enumerate() {
            // SAFETY: as above; 8-aligned words at the end of page 4.
            unsafe { store_word(vec + 8 * i, p as u64) };
        }
        let _ = user::close(1);
        match user::open(c"lazyexec.out", O_CREATE | O_WRONLY | O_TRUNC) {
            Ok(1) => {}
            _ => fail!("cannot make lazyexec.out standard output"),
        }
        // SAFETY: the kernel only reads the path and the vector.
        unsafe { sys::exec(path as *const c_char, vec as *const *const c_char) };
        fail!("exec() with its arguments in untouched heap failed");
    });
    if status != Ok(0) {
        fail!("exec'd echo did not succeed ({status:?})");
    }
    let mut out = [0u8; 32];
    let fd = open(c"lazyexec.out", O_RDONLY);
    let n = user::read(fd, &mut out).unwrap_or(0);
    let _ = user::close(fd);
    let _ = user::unlink(c"lazyexec.out");
    if &out[..n] != b"lazyexec second\n" {
        fail!("echo printed {:?}", user::ByteStr(&out[..n]));
    }
}

/// Memory a process gets is zero: after another process dirtied and freed
/// memory, every fresh page reads zero whether its first touch is a load, a
/// store, or the kernel's; so does a page given back and grown again.
pub fn lazyzero() {
    const PAGES: usize = 2048;
    expect_success(format_args!("dirtying memory"), || {
        let r = fresh_pages(PAGES);
        for a in (r..r + PAGES * PGSIZE).step_by(8) {
            // SAFETY: heap this child grew.
            unsafe { store_word(a, 0xa5a5_a5a5_a5a5_a5a5) };
        }
    });

    let r = fresh_pages(PAGES);
    for page in 0..PAGES {
        let base = r + page * PGSIZE;
        if page % 2 == 1 {
            // First touch a store, in the middle of the page.
            let at = base + (page * 13) % PGSIZE;
            // SAFETY: heap this test grew.
            unsafe { store(at, 0x5a) };
            if load(at) != 0x5a {
                fail!("a store to a fresh page did not stick");
            }
            // SAFETY: as above; undo it so that the check below sees zeros.
            unsafe { store(at, 0) };
        }
        if let Some(a) = (base..base + PGSIZE)
            .step_by(8)
            .find(|&a| load_word(a) != 0)
        {
            fail!("fresh page {page}: word at {a:#x} is {:#x}", load_word(a));
        }
    }

    // Pages the kernel touches first: read() fills 10 bytes in the middle
    // of an untouched page; the rest of the page must be zero.
    make_file(c"lazyzero.f", &[0xff; 10]);
    let r = fresh_pages(2);
    let fd = open(c"lazyzero.f", O_RDONLY);
    // SAFETY: the kernel writes 10 bytes into heap this test grew.
    let n = unsafe { sys::read(fd, (r + 2000) as *mut u8, 10) };
    let _ = user::close(fd);
    let _ = user::unlink(c"lazyzero.f");
    if n != 10 {
        fail!("read into untouched heap returned {n}");
    }
    expect_zero(r, r + 2000, "page the kernel faulted in");
    expect_zero(r + 2010, r + 2 * PGSIZE, "page the kernel faulted in");

    // Given back and grown again: zeros, not the old contents.
    let r = fresh_pages(4);
    for a in (r..r + 4 * PGSIZE).step_by(8) {
        // SAFETY: heap this test grew.
        unsafe { store_word(a, u64::MAX) };
    }
    // SAFETY: nothing lives in the four pages.
    unsafe { sbrk(-((4 * PGSIZE) as i32)) };
    let again = probe::grow(4 * PGSIZE);
    if again != r {
        fail!("the break moved: {r:#x} then {again:#x}");
    }
    if let Some(a) = (r..r + 4 * PGSIZE).step_by(8).find(|&a| load_word(a) != 0) {
        fail!("page given back and grown again: word at {a:#x} is not 0");
    }
}

/// Loads and stores at and beyond the break kill the process: at the break
/// itself (page-aligned), a byte, a page and 16 MiB above it, just below the
/// trapframe, on the trapframe and trampoline (mapped, but not for user
/// code), past a break that is not page-aligned, and in pages given back to
/// the kernel after they were used.
pub fn lazybounds() {
    let top = probe::align_brk();
    let targets = [
        top,
        top + 1,
        top + PGSIZE - 1,
        top + PGSIZE,
        top + 16 * 1024 * 1024,
        TRAPFRAME - PGSIZE,
        TRAPFRAME,
        TRAMPOLINE,
    ];
    for addr in targets {
        expect_killed(format_args!("load at {addr:#x}, break {top:#x}"), || {
            load(addr);
        });
        expect_killed(format_args!("store at {addr:#x}, break {top:#x}"), || {
            // SAFETY: meant to fault; this is a disposable child.
            unsafe { store(addr, 1) };
        });
    }

    // A break in the middle of a page: the rest of that page may be mapped
    // (an eager kernel maps whole pages), the next page must not be.
    probe::grow(100);
    let next = brk().next_multiple_of(PGSIZE);
    expect_killed(
        format_args!("load at {next:#x}, break {:#x}", brk()),
        || {
            load(next);
        },
    );
    expect_killed(
        format_args!("store at {next:#x}, break {:#x}", brk()),
        || {
            // SAFETY: meant to fault; this is a disposable child.
            unsafe { store(next, 1) };
        },
    );

    // Used, then given back: a kernel that only moves the break leaves
    // these pages mapped.
    let r = fresh_pages(3);
    for page in 0..3 {
        // SAFETY: heap this test grew.
        unsafe { store(r + page * PGSIZE, 7) };
    }
    // SAFETY: nothing lives in the three pages.
    unsafe { sbrk(-((3 * PGSIZE) as i32)) };
    for page in 0..3 {
        let addr = r + page * PGSIZE;
        expect_killed(format_args!("load at {addr:#x}, given back"), || {
            load(addr);
        });
    }
}

/// The stack's guard page: loads and stores anywhere in it, and a stack that
/// overflows into it by recursion, kill the process. A kernel that maps a
/// page there (or panics trying to, because it is mapped already) fails.
pub fn lazyguard() {
    let guard = (probe::sp() & !(PGSIZE - 1)) - PGSIZE;
    for addr in [guard, guard + 8, guard + PGSIZE / 2, guard + PGSIZE - 1] {
        expect_killed(format_args!("load in the guard page at {addr:#x}"), || {
            load(addr);
        });
        expect_killed(format_args!("store in the guard page at {addr:#x}"), || {
            // SAFETY: meant to fault; this is a disposable child.
            unsafe { store(addr, 1) };
        });
    }
    expect_killed(format_args!("stack overflow by recursion"), || {
        let depth = recurse(0);
        fail!("recursed {depth} levels on a one-page stack");
    });
    // The guard is still there for this process too.
    expect_killed(format_args!("load in the guard page afterwards"), || {
        load(guard + 100);
    });
}

/// Recurses with a 256-byte frame until the stack overflows (or, on a broken
/// kernel, until 1000 levels have run on a one-page stack).
#[inline(never)]
fn recurse(depth: usize) -> usize {
    let mut frame = [0u8; 256];
    frame[depth % 256] = depth as u8;
    let frame = core::hint::black_box(frame);
    if depth >= 1000 {
        return depth;
    }
    recurse(depth + 1) + usize::from(frame[0] & 1)
}

/// fork() of a parent whose heap has holes: some pages touched, others not,
/// including a stretch of more than 4 MiB without a single page table page.
/// Parent, child and grandchild then use the holes; each sees its own data
/// and zeros elsewhere.
pub fn lazyfork() {
    const PAGES: usize = 1600;
    let r = fresh_pages(PAGES);
    let touched = |page: usize| (page < 512 && page.is_multiple_of(5)) || page == PAGES - 1;
    let stamp = |page: usize| 0x1000 + page as u64;
    for page in (0..PAGES).filter(|&p| touched(p)) {
        // SAFETY: heap this test grew.
        unsafe { store_word(r + page * PGSIZE, stamp(page)) };
    }

    // Checks this process's view: the touched pages hold `stamp ^ mark` at
    // their start, the holes hold `hole_value` there (0: untouched).
    let verify = |who: &str, mark: u64, hole_value: u64| {
        for page in (0..PAGES).step_by(3).chain([PAGES - 2, PAGES - 1]) {
            let a = r + page * PGSIZE;
            let want = if touched(page) {
                stamp(page) ^ mark
            } else {
                hole_value
            };
            let got = load_word(a);
            if got != want {
                fail!("{who}: page {page} holds {got:#x}, expected {want:#x}");
            }
            if load_word(a + PGSIZE - 8) != 0 {
                fail!("{who}: page {page} does not end in zeros");
            }
        }
    };
    // Marks the touched pages with `mark` and writes `value` into the holes
    // that `verify` looks at.
    let scribble = |mark: u64, value: u64| {
        for page in (0..PAGES).step_by(3).chain([PAGES - 2, PAGES - 1]) {
            let a = r + page * PGSIZE;
            let v = if touched(page) {
                stamp(page) ^ mark
            } else {
                value
            };
            // SAFETY: heap this test grew.
            unsafe { store_word(a, v) };
        }
    };

    expect_success(format_args!("child of a parent with holes"), || {
        verify("child", 0, 0);
        scribble(0xc0, 0xc1);
        verify("child after writing", 0xc0, 0xc1);
        expect_success(format_args!("grandchild"), || {
            verify("grandchild", 0xc0, 0xc1);
            scribble(0xd0, 0xd1);
            verify("grandchild after writing", 0xd0, 0xd1);
        });
        verify("child after the grandchild", 0xc0, 0xc1);
    });
    verify("parent after the child", 0, 0);
    scribble(0xe0, 0xe1);
    verify("parent after writing", 0xe0, 0xe1);
}

/// Faults at addresses in the middle of pages (and at their last bytes),
/// in an order that would make overlapping mappings collide: each page must
/// end up with exactly what was stored in it.
pub fn lazyalign() {
    const PAGES: usize = 16;
    let r = fresh_pages(PAGES);
    let offset = |page: usize| ((17 + 37 * page) * 8) % (PGSIZE - 8) + 8;
    let stamp = |page: usize| 0xabc0_0000 + page as u64;
    let order = (0..PAGES / 2)
        .rev()
        .map(|p| p * 2 + 1)
        .chain((0..PAGES / 2).map(|p| p * 2));
    for page in order {
        // SAFETY: heap this test grew.
        unsafe { store_word(r + page * PGSIZE + offset(page), stamp(page)) };
    }
    for page in 0..PAGES {
        let base = r + page * PGSIZE;
        for a in (base..base + PGSIZE).step_by(8) {
            let want = if a == base + offset(page) {
                stamp(page)
            } else {
                0
            };
            if load_word(a) != want {
                fail!(
                    "page {page}: word at {:#x} is {:#x}, expected {want:#x}",
                    a - base,
                    load_word(a)
                );
            }
        }
    }
    // The last byte of an untouched page is a fault in the middle of nowhere
    // too.
    let r = fresh_pages(2);
    // SAFETY: heap this test grew.
    unsafe { store(r + 2 * PGSIZE - 1, 9) };
    expect_zero(
        r + PGSIZE,
        r + 2 * PGSIZE - 1,
        "page faulted at its last byte",
    );
    if load(r + 2 * PGSIZE - 1) != 9 || load(r) != 0 {
        fail!("page faulted at its last byte lost the store");
    }
}

/// sbrk() must fail with -1, changing nothing, when the break would go below
/// zero or above the top of user memory (the trapframe); the process goes
/// on working. On a lazy kernel the break really gets to the top, and a
/// fork there copies the heap (not the trapframe above it).
pub fn sbrktop() {
    // Start from a heap page of our own, so that the byte below the break
    // written later is not the top of the stack page.
    fresh_pages(1);
    let orig = brk();

    // Huge negative: below zero.
    for n in [i32::MIN, -(orig as i32) - PGSIZE as i32] {
        // SAFETY: must fail; if it does not, this test fails anyway.
        let r = unsafe { sbrk(n) };
        if r != SBRK_FAILED {
            fail!("sbrk({n}) with a break of {orig:#x} returned {r:#x}, not -1");
        }
        if brk() != orig {
            fail!("failed sbrk({n}) moved the break");
        }
    }

    // Up as far as the kernel lets us, 2 GiB at a time.
    const STEP: i32 = 0x7fff_f000;
    let mut steps = 0;
    loop {
        let before = brk();
        // SAFETY: growing takes nothing away.
        let r = unsafe { sbrk(STEP) };
        if r == SBRK_FAILED {
            if brk() != before {
                fail!(
                    "failed sbrk moved the break from {before:#x} to {:#x}",
                    brk()
                );
            }
            break;
        }
        steps += 1;
        if steps > 200 {
            fail!("sbrk let the break grow past {:#x}", brk());
        }
    }
    let top = brk();
    if top > TRAPFRAME {
        fail!("the break went to {top:#x}, beyond the trapframe at {TRAPFRAME:#x}");
    }
    // Exactly up to the trapframe (if memory allows: eager kernels fail).
    if let Ok(rest) = i32::try_from(TRAPFRAME - top) {
        // SAFETY: growing takes nothing away.
        unsafe { sbrk(rest) };
    }
    let top = brk();
    // SAFETY: must fail at the top, and growing takes nothing away anyway.
    let r = unsafe { sbrk(PGSIZE as i32) };
    if top == TRAPFRAME && r != SBRK_FAILED {
        fail!("sbrk grew the break beyond the trapframe");
    }
    if r != SBRK_FAILED {
        // An eager kernel with a small break: give the page back.
        // SAFETY: the page just grown holds nothing.
        unsafe { sbrk(-(PGSIZE as i32)) };
    }
    if brk() != top {
        fail!("the break moved from {top:#x} to {:#x}", brk());
    }

    // The highest page is usable.
    // SAFETY: the last byte of our memory.
    unsafe { store(top - 1, 0x77) };
    if load(top - 1) != 0x77 {
        fail!("the byte below the break does not hold what was stored");
    }
    if user::getpid() <= 0 {
        fail!("getpid failed at the top");
    }
    // fork copies all of it, up to the trapframe and not including it.
    expect_success(
        format_args!("a child forked with the break at {top:#x}"),
        || {
            if load(top - 1) != 0x77 {
                fail!("the child does not see the byte below the break");
            }
        },
    );

    // Back down, 2 GiB at a time.
    while brk() > orig {
        let n = (brk() - orig).min(STEP as usize) as i32;
        // SAFETY: everything above `orig` is heap this test grew.
        if unsafe { sbrk(-n) } == SBRK_FAILED {
            fail!("sbrk(-{n}) failed at {:#x}", brk());
        }
    }
    if brk() != orig {
        fail!("did not get back to the original break");
    }
    // And the heap still grows and works.
    let a = probe::grow(PGSIZE);
    // SAFETY: heap this test grew.
    unsafe { store(a, 1) };
    if load(a) != 1 {
        fail!("heap does not work after the round trip");
    }
}
