//! Safe wrappers for the process calls: fork, exit, wait, kill, exec, getpid,
//! sleep, uptime and sbrk.

use core::convert::Infallible;
use core::ffi::{CStr, c_char};
use core::ptr;

use crate::{SysError, SysResult, check, sys};

/// Most arguments `exec` accepts (xv6's `MAXARG`), not counting the final
/// null; the kernel's own value, from the `abi` crate.
pub use abi::MAXARG;

/// A child's exit as `wait` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waited {
    /// The child's process id.
    pub pid: i32,
    /// The value it passed to `exit`, or -1 if the kernel killed it.
    pub status: i32,
}

/// Creates a child process: `Ok(0)` in the child, `Ok(child_pid)` in the parent.
pub fn fork() -> SysResult<i32> {
    check(sys::fork())
}

/// Ends the process with `status`, which the parent's `wait` receives.
pub fn exit(status: i32) -> ! {
    sys::exit(status)
}

/// Waits for a child to exit; fails when there are no children.
pub fn wait() -> SysResult<Waited> {
    let mut status = 0;
    // SAFETY: `status` is a valid, writable i32.
    let pid = check(unsafe { sys::wait(&mut status) })?;
    Ok(Waited { pid, status })
}

/// Asks the kernel to kill process `pid`.
pub fn kill(pid: i32) -> SysResult<()> {
    check(sys::kill(pid)).map(drop)
}

/// Replaces this process's image with the program at `path`, passing `argv`
/// (by convention `argv[0]` is the program's name).
///
/// Returns only if it failed, so the `Ok` type is uninhabited. More than
/// [`MAXARG`] arguments fail here without asking the kernel.
pub fn exec(path: &CStr, argv: &[&CStr]) -> SysResult<Infallible> {
    if argv.len() > MAXARG {
        return Err(SysError(-1));
    }
    // The pointer vector lives on the stack (264 bytes): the heap may be the
    // very thing that is broken when the shell runs a program.
    let mut ptrs: [*const c_char; MAXARG + 1] = [ptr::null(); MAXARG + 1];
    for (slot, arg) in ptrs.iter_mut().zip(argv) {
        *slot = arg.as_ptr();
    }
    // SAFETY: `path` and every argument are NUL-terminated, `ptrs` ends with a
    // null pointer, and the kernel only reads them.
    let ret = unsafe { sys::exec(path.as_ptr(), ptrs.as_ptr()) };
    Err(SysError(ret as isize))
}

/// This process's id.
pub fn getpid() -> i32 {
    sys::getpid()
}

/// Sleeps for `ticks` clock ticks; fails if the process is killed meanwhile.
pub fn sleep(ticks: i32) -> SysResult<()> {
    check(sys::sleep(ticks)).map(drop)
}

/// Clock ticks since boot.
pub fn uptime() -> i32 {
    sys::uptime()
}

/// Grows the heap by `n` bytes (shrinks it if `n` is negative) and returns the
/// old break, i.e. the start of the new memory when growing.
///
/// # Safety
///
/// When shrinking, nothing still in use may lie in the released range; in
/// particular not memory that [`malloc`](crate::malloc) handed out or keeps on
/// its free list.
pub unsafe fn sbrk(n: i32) -> SysResult<*mut u8> {
    // SAFETY: the caller guarantees that shrinking releases nothing in use.
    let old = unsafe { sys::sbrk(n) };
    // User addresses are far below 2^63, so a negative value can only be the
    // kernel's (char *)-1.
    if (old as isize) < 0 {
        Err(SysError(old as isize))
    } else {
        Ok(old)
    }
}
