//! The user-space runtime shared by every program on the xv6 file system.
//!
//! It owns five things:
//! - [`sys`]: the raw system-call layer. Every xv6 system call with C's
//!   argument and return types, plus [`sys::syscall`], which puts any values in
//!   any argument registers. Nothing is checked; tests use it to hand the
//!   kernel bad pointers and absurd lengths on purpose.
//! - safe wrappers over those calls ([`fs`] and [`process`], re-exported
//!   here), which take slices and `&CStr` and return [`SysResult`]: `Ok` with
//!   the useful part of the result, or `Err(SysError)` when the kernel
//!   returned a negative value (xv6 has no error codes, so the error only
//!   records what the kernel returned, normally -1).
//! - the process runtime: the [`entry!`] macro that declares a program's
//!   `fn main(args: Args) -> i32`, the argument view [`Args`], and a panic
//!   handler that reports on fd 2 and exits with status 1.
//! - memory and output: xv6's K&R [`malloc`]/[`free`] on top of `sbrk`
//!   (also the `#[global_allocator]`, so programs may use `alloc`), and
//!   `print!`-style macros that format into a small stack buffer and write it
//!   out in as few `write` calls as possible.
//! - support for the programs that test the kernel ([`harness`]): verdict
//!   lines that carry a grader's per-run token and leave in one `write`,
//!   running a test in a child process, and counting free memory and
//!   process slots to catch a kernel that loses them; and the command line
//!   and main loop of the lab test programs ([`suite`]).
//!
//! Every process is single-threaded (xv6 has no threads and no signal
//! handlers); the global state in this crate relies on that.

#![no_std]

extern crate alloc;

pub mod args;
pub mod cstr;
pub mod fs;
pub mod harness;
pub mod print;
pub mod process;
pub mod runtime;
pub mod static_cell;
pub mod suite;
pub mod sys;
pub mod text;
pub mod umalloc;

use core::fmt;

pub use args::Args;
pub use cstr::CStrBuf;
pub use fs::*;
pub use print::FdWriter;
pub use process::*;
pub use static_cell::StaticCell;
pub use text::{ByteStr, atoi};
pub use umalloc::{free, malloc};

/// A system call failed: the kernel returned a negative value in a0.
///
/// xv6 reports every failure as -1 without a reason; the value is kept so a
/// misbehaving kernel's odd return values stay visible in messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysError(pub isize);

/// The result of a safe system-call wrapper.
pub type SysResult<T> = Result<T, SysError>;

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "system call failed (returned {})", self.0)
    }
}

/// Turns a raw `int` result into `Ok(value)` or `Err` when it is negative.
pub(crate) fn check(ret: i32) -> SysResult<i32> {
    if ret < 0 {
        Err(SysError(ret as isize))
    } else {
        Ok(ret)
    }
}
