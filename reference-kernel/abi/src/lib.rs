//! The interface between the kernel and user space, defined once: what xv6
//! shares by having user programs include the kernel's `syscall.h`,
//! `fcntl.h` and `stat.h` (and, in `usertests`, `param.h`, `memlayout.h` and
//! `fs.h`).
//!
//! The kernel and the user library both depend on this crate, so a system
//! call's number, an open flag, the layout of `struct stat` or a limit the
//! test programs count on cannot differ between the two sides. It holds
//! only values and layouts, no code that runs a system call; each module is
//! named for the xv6 header it stands for:
//!
//! - [`syscall`]: the call numbers (`SYS_fork` is [`SYS_FORK`]).
//! - [`fcntl`]: the flags of `open` (`O_RDONLY` … `O_TRUNC`).
//! - [`stat`]: `struct stat` as `fstat` writes it, and the file types.
//! - [`fs`]: what a `read` of a directory returns (`struct dirent`) and the
//!   file-system sizes a program can run into.
//! - [`file`]: the console's device number, for `mknod`.
//! - [`param`]: the kernel's limits a program can run into (processes,
//!   open files, `exec` arguments, path length, in-memory inodes).
//! - [`memlayout`]: the page size and the top of a user address space.
//!
//! File types, directory entries and file-system sizes are xv6's on-disk
//! format and are defined by the `xv6fs` crate (which the host's image
//! writer shares); they are re-exported here because user programs see
//! them through system calls. Everything is also re-exported at the crate
//! root.
//!
//! The values are xv6-riscv's, so a program built for xv6's ABI finds the
//! same numbers, flags and layouts here. This crate belongs to the grader:
//! a lab's submission changes the kernel, never this.

#![cfg_attr(not(test), no_std)]

pub mod fcntl;
pub mod file;
pub mod fs;
pub mod memlayout;
pub mod param;
pub mod stat;
pub mod syscall;

pub use fcntl::*;
pub use file::*;
pub use fs::*;
pub use memlayout::*;
pub use param::*;
pub use stat::*;
pub use syscall::*;
