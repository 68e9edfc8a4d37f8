//! Safe wrappers for the file and file-system calls, and the kernel's file
//! ABI they use: open flags, `struct stat`, `struct dirent` and the
//! console's device number, re-exported from the `abi` crate that the
//! kernel shares.
//!
//! File descriptors are plain `i32`s as in xv6. Buffers are slices; a length
//! beyond `i32::MAX` is clamped, since the kernel takes `int` lengths.

use core::ffi::CStr;

use crate::{SysResult, check, sys};

pub use abi::fcntl::*;
pub use abi::file::CONSOLE;
pub use abi::fs::{DIRSIZ, Dirent};
pub use abi::stat::{Stat, T_DEVICE, T_DIR, T_FILE};

/// Opens `path` with `O_*` flags; returns the new descriptor.
pub fn open(path: &CStr, flags: i32) -> SysResult<i32> {
    // SAFETY: `path` is NUL-terminated and the kernel only reads it.
    check(unsafe { sys::open(path.as_ptr(), flags) })
}

/// Reads up to `buf.len()` bytes; `Ok(0)` means end of file.
pub fn read(fd: i32, buf: &mut [u8]) -> SysResult<usize> {
    let n = clamp_len(buf.len());
    // SAFETY: `buf` is valid for writing `n <= buf.len()` bytes.
    check(unsafe { sys::read(fd, buf.as_mut_ptr(), n) }).map(|n| n as usize)
}

/// Writes up to `buf.len()` bytes; returns how many the kernel took.
pub fn write(fd: i32, buf: &[u8]) -> SysResult<usize> {
    // SAFETY: `buf` is valid for reading its length, and the kernel only reads.
    check(unsafe { sys::write(fd, buf.as_ptr(), clamp_len(buf.len())) }).map(|n| n as usize)
}

/// Writes all of `buf`, calling `write` again after a short write; a write
/// that takes nothing counts as an error (the reader went away).
pub fn write_all(fd: i32, mut buf: &[u8]) -> SysResult<()> {
    while !buf.is_empty() {
        match write(fd, buf)? {
            0 => return Err(crate::SysError(0)),
            n => buf = &buf[n.min(buf.len())..],
        }
    }
    Ok(())
}

/// Closes `fd`.
pub fn close(fd: i32) -> SysResult<()> {
    check(sys::close(fd)).map(drop)
}

/// Duplicates `fd` onto the lowest free descriptor and returns it.
pub fn dup(fd: i32) -> SysResult<i32> {
    check(sys::dup(fd))
}

/// Creates a pipe; returns `(read_end, write_end)`.
pub fn pipe() -> SysResult<(i32, i32)> {
    let mut fds = [-1i32; 2];
    // SAFETY: `fds` has room for the two descriptors the kernel writes.
    check(unsafe { sys::pipe(fds.as_mut_ptr()) })?;
    Ok((fds[0], fds[1]))
}

/// Describes the open file `fd`.
pub fn fstat(fd: i32) -> SysResult<Stat> {
    let mut st = Stat::default();
    // SAFETY: `st` is a valid, writable `struct stat`.
    check(unsafe { sys::fstat(fd, &mut st) })?;
    Ok(st)
}

/// Describes the file at `path` (open, fstat, close, as xv6's ulib does).
pub fn stat(path: &CStr) -> SysResult<Stat> {
    let fd = open(path, O_RDONLY)?;
    let st = fstat(fd);
    // The descriptor was only needed for fstat; its close cannot fail usefully.
    let _ = close(fd);
    st
}

/// Creates a device node.
pub fn mknod(path: &CStr, major: i16, minor: i16) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated and the kernel only reads it.
    check(unsafe { sys::mknod(path.as_ptr(), major, minor) }).map(drop)
}

/// Removes the directory entry `path`.
pub fn unlink(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated and the kernel only reads it.
    check(unsafe { sys::unlink(path.as_ptr()) }).map(drop)
}

/// Makes `new` another name for the file `old`.
pub fn link(old: &CStr, new: &CStr) -> SysResult<()> {
    // SAFETY: both paths are NUL-terminated and the kernel only reads them.
    check(unsafe { sys::link(old.as_ptr(), new.as_ptr()) }).map(drop)
}

/// Creates the directory `path`.
pub fn mkdir(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated and the kernel only reads it.
    check(unsafe { sys::mkdir(path.as_ptr()) }).map(drop)
}

/// Changes the current directory.
pub fn chdir(path: &CStr) -> SysResult<()> {
    // SAFETY: `path` is NUL-terminated and the kernel only reads it.
    check(unsafe { sys::chdir(path.as_ptr()) }).map(drop)
}

/// Clamps a buffer length to the kernel's `int` length argument.
fn clamp_len(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}
