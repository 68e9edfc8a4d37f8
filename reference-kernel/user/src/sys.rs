//! The raw system-call layer: xv6's call numbers (from the `abi` crate, which
//! the kernel shares), one `ecall` stub, and one function per system call with
//! exactly the C prototype's argument and result types (`int` is `i32`,
//! `char *` is `*const c_char`, `void *` is `*mut u8`).
//!
//! Nothing here checks anything: results are returned as the kernel gave them
//! (-1 on error) and pointers and lengths go to the kernel untouched, which is
//! what tests of the kernel's own checks need. A function is `unsafe` when it
//! hands the kernel a pointer (the kernel may write through it, or read a path
//! from it) or, for `sbrk`, may take memory away; the ones that pass only
//! integers are safe. [`syscall`] reaches any call with any register values,
//! including ones no prototype below allows (e.g. 64-bit lengths).

use core::arch::asm;
use core::ffi::c_char;

use crate::fs::Stat;

pub use abi::syscall::*;

/// Makes system call `num` with `args` in a0..a5 and returns a0.
///
/// The result is the full 64-bit register, as a signed value.
///
/// # Safety
///
/// The kernel may write to any memory the arguments point at (for `read`,
/// `pipe`, `fstat`, `wait`) or unmap memory (negative `sbrk`); the caller must
/// make sure that cannot break anything Rust code relies on.
#[inline(always)]
pub unsafe fn syscall(num: usize, args: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: ecall traps into the kernel, which saves and restores every
    // register except a0 (the result). The asm block is not marked `nomem`, so
    // the compiler assumes the kernel may read or write memory; the caller
    // vouches for what the arguments let the kernel touch.
    unsafe {
        asm!(
            "ecall",
            inlateout("a0") args[0] => ret,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a5") args[5],
            in("a7") num,
            options(nostack),
        );
    }
    ret
}

/// Passes a C `int` the way the C calling convention does: sign-extended to
/// the full register. The kernel reads only the low 32 bits.
#[inline(always)]
fn int(v: i32) -> usize {
    v as isize as usize
}

/// Makes a call whose arguments are all integers: the kernel cannot touch
/// this process's memory through them.
#[inline(always)]
fn call_ints(num: usize, args: [usize; 6]) -> isize {
    // SAFETY: every argument of the calls routed here (fork, exit, kill, dup,
    // getpid, sleep, uptime, close) is an integer, not an address, so the
    // kernel has no memory of ours to read or write.
    unsafe { syscall(num, args) }
}

/// `int fork(void)`: 0 in the child, the child's pid in the parent, -1 on error.
pub fn fork() -> i32 {
    call_ints(SYS_FORK, [0; 6]) as i32
}

/// `void exit(int status)`: never returns.
pub fn exit(status: i32) -> ! {
    call_ints(SYS_EXIT, [int(status), 0, 0, 0, 0, 0]);
    // xv6's exit cannot return; if a broken kernel lets it, do not run on.
    loop {
        core::hint::spin_loop();
    }
}

/// `int wait(int *status)`: `status` may be null.
///
/// # Safety
///
/// `status` must be null or valid for a 4-byte write.
pub unsafe fn wait(status: *mut i32) -> i32 {
    // SAFETY: the caller guarantees `status`.
    unsafe { syscall(SYS_WAIT, [status as usize, 0, 0, 0, 0, 0]) as i32 }
}

/// `int pipe(int fds[2])`.
///
/// # Safety
///
/// `fds` must be valid for writing two `i32`s.
pub unsafe fn pipe(fds: *mut i32) -> i32 {
    // SAFETY: the caller guarantees `fds`.
    unsafe { syscall(SYS_PIPE, [fds as usize, 0, 0, 0, 0, 0]) as i32 }
}

/// `int read(int fd, void *buf, int n)`.
///
/// # Safety
///
/// `buf` must be valid for writing `n` bytes (or the caller must accept
/// whatever the kernel writes there).
pub unsafe fn read(fd: i32, buf: *mut u8, n: i32) -> i32 {
    // SAFETY: the caller guarantees `buf`.
    unsafe { syscall(SYS_READ, [int(fd), buf as usize, int(n), 0, 0, 0]) as i32 }
}

/// `int write(int fd, const void *buf, int n)`.
///
/// # Safety
///
/// `buf` should be valid for reading `n` bytes; the kernel only reads it.
pub unsafe fn write(fd: i32, buf: *const u8, n: i32) -> i32 {
    // SAFETY: the kernel only reads from `buf`.
    unsafe { syscall(SYS_WRITE, [int(fd), buf as usize, int(n), 0, 0, 0]) as i32 }
}

/// `int close(int fd)`.
pub fn close(fd: i32) -> i32 {
    call_ints(SYS_CLOSE, [int(fd), 0, 0, 0, 0, 0]) as i32
}

/// `int kill(int pid)`.
pub fn kill(pid: i32) -> i32 {
    call_ints(SYS_KILL, [int(pid), 0, 0, 0, 0, 0]) as i32
}

/// `int exec(const char *path, char **argv)`: returns only on failure.
///
/// # Safety
///
/// `path` should be a NUL-terminated string and `argv` a null-terminated array
/// of them; the kernel only reads them.
pub unsafe fn exec(path: *const c_char, argv: *const *const c_char) -> i32 {
    // SAFETY: the kernel only reads the path and the argument vector.
    unsafe { syscall(SYS_EXEC, [path as usize, argv as usize, 0, 0, 0, 0]) as i32 }
}

/// `int open(const char *path, int flags)`.
///
/// # Safety
///
/// `path` should be a NUL-terminated string; the kernel only reads it.
pub unsafe fn open(path: *const c_char, flags: i32) -> i32 {
    // SAFETY: the kernel only reads the path.
    unsafe { syscall(SYS_OPEN, [path as usize, int(flags), 0, 0, 0, 0]) as i32 }
}

/// `int mknod(const char *path, short major, short minor)`.
///
/// # Safety
///
/// `path` should be a NUL-terminated string; the kernel only reads it.
pub unsafe fn mknod(path: *const c_char, major: i16, minor: i16) -> i32 {
    let (major, minor) = (int(major.into()), int(minor.into()));
    // SAFETY: the kernel only reads the path.
    unsafe { syscall(SYS_MKNOD, [path as usize, major, minor, 0, 0, 0]) as i32 }
}

/// `int unlink(const char *path)`.
///
/// # Safety
///
/// `path` should be a NUL-terminated string; the kernel only reads it.
pub unsafe fn unlink(path: *const c_char) -> i32 {
    // SAFETY: the kernel only reads the path.
    unsafe { syscall(SYS_UNLINK, [path as usize, 0, 0, 0, 0, 0]) as i32 }
}

/// `int fstat(int fd, struct stat *st)`.
///
/// # Safety
///
/// `st` must be valid for writing a [`Stat`] (24 bytes).
pub unsafe fn fstat(fd: i32, st: *mut Stat) -> i32 {
    // SAFETY: the caller guarantees `st`.
    unsafe { syscall(SYS_FSTAT, [int(fd), st as usize, 0, 0, 0, 0]) as i32 }
}

/// `int link(const char *old, const char *new)`.
///
/// # Safety
///
/// Both should be NUL-terminated strings; the kernel only reads them.
pub unsafe fn link(old: *const c_char, new: *const c_char) -> i32 {
    // SAFETY: the kernel only reads the paths.
    unsafe { syscall(SYS_LINK, [old as usize, new as usize, 0, 0, 0, 0]) as i32 }
}

/// `int mkdir(const char *path)`.
///
/// # Safety
///
/// `path` should be a NUL-terminated string; the kernel only reads it.
pub unsafe fn mkdir(path: *const c_char) -> i32 {
    // SAFETY: the kernel only reads the path.
    unsafe { syscall(SYS_MKDIR, [path as usize, 0, 0, 0, 0, 0]) as i32 }
}

/// `int chdir(const char *path)`.
///
/// # Safety
///
/// `path` should be a NUL-terminated string; the kernel only reads it.
pub unsafe fn chdir(path: *const c_char) -> i32 {
    // SAFETY: the kernel only reads the path.
    unsafe { syscall(SYS_CHDIR, [path as usize, 0, 0, 0, 0, 0]) as i32 }
}

/// `int dup(int fd)`.
pub fn dup(fd: i32) -> i32 {
    call_ints(SYS_DUP, [int(fd), 0, 0, 0, 0, 0]) as i32
}

/// `int getpid(void)`.
pub fn getpid() -> i32 {
    call_ints(SYS_GETPID, [0; 6]) as i32
}

/// `char *sbrk(int n)`: grows (or, for negative `n`, shrinks) the heap by `n`
/// bytes and returns the old break, or `(char *)-1` on failure.
///
/// # Safety
///
/// A negative `n` unmaps memory: nothing still in use (including blocks
/// [`malloc`](crate::malloc) handed out) may lie in the released range.
pub unsafe fn sbrk(n: i32) -> *mut u8 {
    // SAFETY: the caller guarantees that shrinking releases nothing in use.
    unsafe { syscall(SYS_SBRK, [int(n), 0, 0, 0, 0, 0]) as *mut u8 }
}

/// `int sleep(int ticks)`.
pub fn sleep(ticks: i32) -> i32 {
    call_ints(SYS_SLEEP, [int(ticks), 0, 0, 0, 0, 0]) as i32
}

/// `int uptime(void)`: clock ticks since boot.
pub fn uptime() -> i32 {
    call_ints(SYS_UPTIME, [0; 6]) as i32
}
