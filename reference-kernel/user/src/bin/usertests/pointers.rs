//! Bad pointers, strings and lengths handed to system calls. The kernel must
//! refuse them (return -1, or copy nothing) and never crash on them; on a
//! lazy kernel it must also refuse to allocate memory for an address the
//! process does not own.

use core::ffi::{CStr, c_char};

use user::{O_CREATE, O_RDONLY, O_WRONLY, StaticCell, fail, sys};

use crate::probe::{self, KERNBASE, MAXVA, PGSIZE, TRAMPOLINE, TRAPFRAME, make_file};

// The kernel's buffer for a path (xv6's `MAXPATH`).
use abi::MAXPATH;

/// Addresses no system call may read or write for this process: kernel
/// memory, the top of the 64-bit space, the first addresses past the end of
/// the heap (page-aligned, so a whole page is out of bounds), the trapframe
/// and trampoline (mapped, but not for user code), the stack's guard page,
/// and the first address beyond `MAXVA`.
fn bad_addresses() -> [usize; 8] {
    let top = probe::align_brk();
    let guard = (probe::sp() & !(PGSIZE - 1)) - PGSIZE;
    [
        KERNBASE,
        usize::MAX,
        top,
        top + PGSIZE + 17,
        TRAPFRAME,
        TRAMPOLINE,
        guard,
        MAXVA,
    ]
}

/// A pipe, or the test fails.
fn pipe() -> (i32, i32) {
    match user::pipe() {
        Ok(fds) => fds,
        Err(_) => fail!("pipe() failed"),
    }
}

/// write() from addresses the process cannot read must fail, for a file, the
/// console and a pipe.
pub fn copyin() {
    for addr in bad_addresses() {
        let Ok(fd) = user::open(c"copyin1", O_CREATE | O_WRONLY) else {
            fail!("open(copyin1) failed");
        };
        // SAFETY: the kernel only reads from the buffer; the address is bad
        // on purpose.
        let n = unsafe { sys::write(fd, addr as *const u8, 8192) };
        if n >= 0 {
            fail!("write(file, {addr:#x}, 8192) returned {n}, not -1");
        }
        let _ = user::close(fd);
        let _ = user::unlink(c"copyin1");

        // SAFETY: as above.
        let n = unsafe { sys::write(1, addr as *const u8, 8192) };
        if n > 0 {
            fail!("write(console, {addr:#x}, 8192) returned {n}, not -1 or 0");
        }

        let (rfd, wfd) = pipe();
        // At most a pipe's capacity: a kernel that wrongly accepts the
        // address must not block this test forever.
        // SAFETY: as above.
        let n = unsafe { sys::write(wfd, addr as *const u8, 512) };
        if n > 0 {
            fail!("write(pipe, {addr:#x}, 512) returned {n}, not -1 or 0");
        }
        let _ = user::close(rfd);
        let _ = user::close(wfd);
    }
}

/// read() into addresses the process cannot write must fail, for a file and
/// a pipe; that includes its own program text and read-only data.
pub fn copyout() {
    make_file(c"copyout1", &[b'z'; 100]);
    let text = copyout as fn() as usize;
    let rodata = c"read-only data".as_ptr() as usize;
    let bad = bad_addresses();
    for addr in bad.into_iter().chain([text, rodata]) {
        let Ok(fd) = user::open(c"copyout1", O_RDONLY) else {
            fail!("open(copyout1) failed");
        };
        // SAFETY: the address is bad on purpose; if a broken kernel writes
        // there anyway, this process is a disposable test child.
        let n = unsafe { sys::read(fd, addr as *mut u8, 8192) };
        if n > 0 {
            fail!("read(file, {addr:#x}, 8192) returned {n}, not -1 or 0");
        }
        let _ = user::close(fd);

        let (rfd, wfd) = pipe();
        if user::write(wfd, b"x") != Ok(1) {
            fail!("pipe write failed");
        }
        // SAFETY: as above.
        let n = unsafe { sys::read(rfd, addr as *mut u8, 8192) };
        if n > 0 {
            fail!("read(pipe, {addr:#x}, 8192) returned {n}, not -1 or 0");
        }
        let _ = user::close(rfd);
        let _ = user::close(wfd);
    }
    let _ = user::unlink(c"copyout1");
}

/// open() of a path at an address the process cannot read must fail.
pub fn copyinstr1() {
    for addr in bad_addresses() {
        // SAFETY: the kernel only reads the path; the address is bad on
        // purpose.
        let fd = unsafe { sys::open(addr as *const c_char, O_CREATE | O_WRONLY) };
        if fd >= 0 {
            fail!("open({addr:#x}) returned {fd}, not -1");
        }
    }
}

/// A path of exactly MAXPATH bytes has its NUL just beyond the kernel's
/// buffer: every call taking a path must refuse it. Arguments longer than a
/// page must make exec fail.
pub fn copyinstr2() {
    let mut b = [b'x'; MAXPATH + 1];
    b[MAXPATH] = 0;
    let p = b.as_ptr().cast::<c_char>();

    // SAFETY: `p` is a NUL-terminated string on our stack; the kernel only
    // reads it.
    let ret = unsafe { sys::unlink(p) };
    if ret != -1 {
        fail!("unlink(long path) returned {ret}, not -1");
    }
    // SAFETY: as above.
    let fd = unsafe { sys::open(p, O_CREATE | O_WRONLY) };
    if fd != -1 {
        fail!("open(long path) returned {fd}, not -1");
    }
    // SAFETY: as above.
    let ret = unsafe { sys::link(p, p) };
    if ret != -1 {
        fail!("link(long path, long path) returned {ret}, not -1");
    }
    let argv: [*const c_char; 2] = [c"xx".as_ptr(), core::ptr::null()];
    // SAFETY: as above; `argv` is a null-terminated vector of strings.
    let ret = unsafe { sys::exec(p, argv.as_ptr()) };
    if ret != -1 {
        fail!("exec(long path) returned {ret}, not -1");
    }

    // exec in a child: if it wrongly succeeds, echo replaces the child and
    // exits 0 instead of the 747 that says exec failed.
    static BIG: StaticCell<[u8; PGSIZE + 1]> = StaticCell::new([0; PGSIZE + 1]);
    let status = user::harness::run_in_child(|| {
        let big = BIG.take();
        big[..PGSIZE].fill(b'x');
        big[PGSIZE] = 0;
        let Ok(arg) = CStr::from_bytes_with_nul(&big[..]) else {
            sys::exit(1);
        };
        // Standard output closed: a wrongly successful echo prints nothing.
        let _ = user::close(1);
        let _ = user::exec(c"/echo", &[arg, arg, arg]);
        sys::exit(747);
    });
    if status != Ok(747) {
        fail!("exec(echo, three {}-byte arguments) did not fail", PGSIZE);
    }
}

/// A path that starts on the last byte of the process's memory runs off its
/// end: every call taking a path must refuse it (and a lazy kernel must not
/// allocate the page beyond the break to find a NUL).
pub fn copyinstr3() {
    probe::grow(8192);
    let top = probe::align_brk();
    let b = top - 1;
    // SAFETY: the last byte of our own heap.
    unsafe { probe::store(b, b'x') };
    let p = b as *const c_char;

    // SAFETY: the kernel only reads the path, which is meant to be bad.
    let ret = unsafe { sys::unlink(p) };
    if ret != -1 {
        fail!("unlink(path at end of memory) returned {ret}, not -1");
    }
    // SAFETY: as above.
    let fd = unsafe { sys::open(p, O_CREATE | O_WRONLY) };
    if fd != -1 {
        // A broken kernel created a file named "x": do not leave it around.
        let _ = user::unlink(c"x");
        fail!("open(path at end of memory) returned {fd}, not -1");
    }
    // SAFETY: as above.
    let ret = unsafe { sys::link(p, p) };
    if ret != -1 {
        fail!("link(path at end of memory) returned {ret}, not -1");
    }
    let argv: [*const c_char; 2] = [c"xx".as_ptr(), core::ptr::null()];
    // SAFETY: as above.
    let ret = unsafe { sys::exec(p, argv.as_ptr()) };
    if ret != -1 {
        fail!("exec(path at end of memory) returned {ret}, not -1");
    }
}

/// After sbrk gives memory back, read() and write() must refuse it: first
/// for pages never touched, then for pages that were touched (so that a
/// kernel that only moved the break, leaving the pages mapped, is caught).
pub fn rwsbrk() {
    make_file(c"rwsbrk.in", b"0123456789abcdef");
    for touch in [false, true] {
        let a = probe::fresh_pages(2);
        if touch {
            // SAFETY: the two pages are the heap just grown.
            unsafe {
                probe::store(a, 1);
                probe::store(a + PGSIZE, 1);
            }
        }
        // SAFETY: nothing uses the two pages being given back.
        if unsafe { probe::sbrk(-8192) } == probe::SBRK_FAILED {
            fail!("sbrk(-8192) failed");
        }

        let Ok(fd) = user::open(c"rwsbrk", O_CREATE | O_WRONLY) else {
            fail!("open(rwsbrk) failed");
        };
        // SAFETY: the kernel only reads; the memory is no longer ours, on
        // purpose.
        let n = unsafe { sys::write(fd, (a + PGSIZE) as *const u8, 1024) };
        if n >= 0 {
            fail!(
                "write(fd, {:#x}, 1024) returned {n}, not -1 (touched: {touch})",
                a + PGSIZE
            );
        }
        let _ = user::close(fd);
        let _ = user::unlink(c"rwsbrk");

        let Ok(fd) = user::open(c"rwsbrk.in", O_RDONLY) else {
            fail!("open(rwsbrk.in) failed");
        };
        // SAFETY: as above; a broken kernel's write lands in memory this
        // process no longer uses.
        let n = unsafe { sys::read(fd, (a + PGSIZE) as *mut u8, 10) };
        if n >= 0 {
            fail!(
                "read(fd, {:#x}, 10) returned {n}, not -1 (touched: {touch})",
                a + PGSIZE
            );
        }
        let _ = user::close(fd);
    }
    let _ = user::unlink(c"rwsbrk.in");
}

/// Regression test from xv6: wild pointers whose page number does not fit in
/// 32 bits used to make copyin and friends fault in the kernel.
pub fn pgbug() {
    let big = 0xeaeb_0b5b_0000_2f5e_usize;
    let argv: [*const c_char; 1] = [core::ptr::null()];
    // SAFETY: the kernel only reads the path; it is bad on purpose.
    let ret = unsafe { sys::exec(big as *const c_char, argv.as_ptr()) };
    if ret != -1 {
        fail!("exec({big:#x}) returned {ret}, not -1");
    }
    // SAFETY: the kernel must refuse to write there.
    let ret = unsafe { sys::pipe(big as *mut i32) };
    if ret != -1 {
        fail!("pipe({big:#x}) returned {ret}, not -1");
    }
}

/// link() with a new name at every page of the first 1100 KiB: whatever the
/// address holds (program, guard page, nothing), the kernel must not crash,
/// and the link fails because the old name does not exist.
pub fn validatetest() {
    let hi = 1100 * 1024;
    for p in (0..=hi).step_by(PGSIZE) {
        // SAFETY: the kernel only reads the strings.
        let ret = unsafe { sys::link(c"nosuchfile".as_ptr(), p as *const c_char) };
        if ret != -1 {
            fail!("link(nosuchfile, {p:#x}) returned {ret}, not -1");
        }
    }
}

/// read() with a length of -1 into the last byte of memory: the kernel must
/// not crash, and it must not copy more than that one byte.
pub fn argptest() {
    let Ok(fd) = user::open(c"/init", O_RDONLY) else {
        fail!("open(/init) failed");
    };
    let dst = probe::brk() - 1;
    // SAFETY: only the last byte of our memory is ours; the kernel must not
    // write beyond it, and if it does this process is a disposable child.
    let n = unsafe { sys::read(fd, dst as *mut u8, -1) };
    if n > 1 {
        fail!("read(fd, end of memory - 1, -1) returned {n}");
    }
    let _ = user::close(fd);
}

/// exec with an argument the kernel cannot read, many times: each failed
/// exec must free what it allocated (the leak check at the end of the run
/// sees if it did not), and a kernel that wrongly runs echo is caught by the
/// exit status.
pub fn badarg() {
    let status = user::harness::run_in_child(|| {
        let argv: [*const c_char; 2] = [0xffff_ffff as *const c_char, core::ptr::null()];
        for _ in 0..20000 {
            // SAFETY: the kernel only reads the path and the vector; the
            // argument pointer is bad on purpose.
            let ret = unsafe { sys::exec(c"/echo".as_ptr(), argv.as_ptr()) };
            if ret != -1 {
                sys::exit(1);
            }
        }
        sys::exit(77);
    });
    if status != Ok(77) {
        fail!("exec with a bad argument did not fail every time (status {status:?})");
    }
}

/// exec must fail, not overflow the one-page stack, when the arguments do not
/// fit in a page (31 arguments of 400 bytes).
pub fn bigargtest() {
    static ARG: StaticCell<[u8; 401]> = StaticCell::new([0; 401]);
    let status = user::harness::run_in_child(|| {
        let arg = ARG.take();
        arg[..400].fill(b' ');
        arg[..20].copy_from_slice(b"bigargtest: failed  ");
        let Ok(arg) = CStr::from_bytes_with_nul(&arg[..]) else {
            sys::exit(1);
        };
        let argv = [arg; 31];
        let _ = user::close(1);
        let _ = user::exec(c"/echo", &argv);
        sys::exit(57);
    });
    if status != Ok(57) {
        fail!("exec with 12 KiB of arguments did not fail (status {status:?})");
    }
}
