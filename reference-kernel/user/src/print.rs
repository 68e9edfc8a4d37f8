//! Formatted output without allocation: [`FdWriter`], a small buffer in front
//! of a file descriptor, and the `print!` family of macros built on it.
//!
//! A whole `print!` is formatted into one buffer and written with one `write`
//! (more only when it overflows the buffer), so lines from concurrent
//! processes rarely interleave mid-line. Output errors are ignored, as C's
//! `printf` callers do.

use core::fmt;

use crate::fs::write_all;

/// Bytes buffered before a flush. Small, because it lives on the 4 KiB stack.
const BUF_SIZE: usize = 256;

/// A buffered writer to a file descriptor. Write with `write!`,
/// [`write_bytes`](FdWriter::write_bytes), then [`flush`](FdWriter::flush);
/// dropping it flushes too, but `exit` does not run destructors.
pub struct FdWriter {
    fd: i32,
    len: usize,
    buf: [u8; BUF_SIZE],
}

impl FdWriter {
    /// An empty writer to `fd`.
    pub const fn new(fd: i32) -> FdWriter {
        FdWriter {
            fd,
            len: 0,
            buf: [0; BUF_SIZE],
        }
    }

    /// Appends raw bytes (which need not be UTF-8).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > BUF_SIZE {
            self.flush();
            // Too big to buffer at all: one direct write beats several.
            if bytes.len() > BUF_SIZE {
                let _ = write_all(self.fd, bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `count` copies of `byte` (for padding columns).
    pub fn write_repeated(&mut self, byte: u8, count: usize) {
        for _ in 0..count {
            self.write_bytes(&[byte]);
        }
    }

    /// Writes out whatever is buffered.
    pub fn flush(&mut self) {
        if self.len > 0 {
            let _ = write_all(self.fd, &self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl fmt::Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Formats `args` (and a newline if `newline`) to `fd` in as few writes as
/// possible. The macros call this.
pub fn print_to(fd: i32, args: fmt::Arguments<'_>, newline: bool) {
    let mut out = FdWriter::new(fd);
    // A literal needs no formatting machinery.
    match args.as_str() {
        Some(s) => out.write_bytes(s.as_bytes()),
        None => {
            let _ = fmt::write(&mut out, args);
        }
    }
    if newline {
        out.write_bytes(b"\n");
    }
    out.flush();
}

/// Prints to fd 1 (standard output).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::print::print_to(1, format_args!($($arg)*), false) };
}

/// Prints a line to fd 1 (standard output).
#[macro_export]
macro_rules! println {
    () => { $crate::print::print_to(1, format_args!(""), true) };
    ($($arg:tt)*) => { $crate::print::print_to(1, format_args!($($arg)*), true) };
}

/// Prints to fd 2 (standard error).
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::print::print_to(2, format_args!($($arg)*), false) };
}

/// Prints a line to fd 2 (standard error).
#[macro_export]
macro_rules! eprintln {
    () => { $crate::print::print_to(2, format_args!(""), true) };
    ($($arg:tt)*) => { $crate::print::print_to(2, format_args!($($arg)*), true) };
}

/// Prints to the file descriptor given first: `fprint!(fd, "x = {}", x)`.
#[macro_export]
macro_rules! fprint {
    ($fd:expr, $($arg:tt)*) => { $crate::print::print_to($fd, format_args!($($arg)*), false) };
}

/// Prints a line to the file descriptor given first.
#[macro_export]
macro_rules! fprintln {
    ($fd:expr) => { $crate::print::print_to($fd, format_args!(""), true) };
    ($fd:expr, $($arg:tt)*) => { $crate::print::print_to($fd, format_args!($($arg)*), true) };
}
