//! Safe wrappers for the file and file-system calls, and the kernel's file
//! ABI: open flags, `struct stat`, `struct dirent` and the console's device
//! number.
//!
//! File descriptors are plain `i32`s as in xv6. Buffers are slices; a length
//! beyond `i32::MAX` is clamped, since the kernel takes `int` lengths.

use core::ffi::CStr;

use crate::{SysResult, check, sys};

pub const O_RDONLY: i32 = 0x000;
pub const O_WRONLY: i32 = 0x001;
pub const O_RDWR: i32 = 0x002;
pub const O_CREATE: i32 = 0x200;
pub const O_TRUNC: i32 = 0x400;

/// `Stat::kind` of a directory.
pub const T_DIR: i16 = 1;
/// `Stat::kind` of a regular file.
pub const T_FILE: i16 = 2;
/// `Stat::kind` of a device node.
pub const T_DEVICE: i16 = 3;

/// The console's device major number (for `mknod`).
pub const CONSOLE: i16 = 1;

/// Longest name of a directory entry, in bytes.
pub const DIRSIZ: usize = 14;

/// xv6's `struct stat`, as `fstat` fills it in (24 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// File system's disk device.
    pub dev: i32,
    /// Inode number.
    pub ino: u32,
    /// `T_DIR`, `T_FILE` or `T_DEVICE` (C's `type`).
    pub kind: i16,
    /// Number of links to the file.
    pub nlink: i16,
    /// Size of the file in bytes.
    pub size: u64,
}

const _: () = assert!(size_of::<Stat>() == 24);

/// One entry of a directory, as `read` on a directory returns them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent {
    /// Inode number; 0 marks an empty slot.
    pub inum: u16,
    /// The name, NUL-padded, without a NUL when it is `DIRSIZ` long.
    pub name: [u8; DIRSIZ],
}

impl Dirent {
    /// Size of an entry on disk and in `read`'s output.
    pub const SIZE: usize = 2 + DIRSIZ;

    /// Decodes an entry from the bytes `read` returned (little-endian inum).
    pub fn from_bytes(bytes: &[u8; Self::SIZE]) -> Dirent {
        let mut name = [0; DIRSIZ];
        name.copy_from_slice(&bytes[2..]);
        Dirent {
            inum: u16::from_le_bytes([bytes[0], bytes[1]]),
            name,
        }
    }

    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        let len = self.name.iter().position(|&b| b == 0).unwrap_or(DIRSIZ);
        &self.name[..len]
    }
}

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
