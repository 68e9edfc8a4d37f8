//! The kernel's limits that user programs can run into, from xv6's
//! `param.h`. The kernel's other parameters (CPUs, the system-wide file
//! table, devices, the buffer cache) stay in the kernel.

/// Maximum number of processes.
pub const NPROC: usize = 64;
/// Open files per process.
pub const NOFILE: usize = 16;
/// Maximum number of active in-memory inodes.
pub const NINODE: usize = 50;
/// Maximum exec arguments, not counting the terminating null pointer.
pub const MAXARG: usize = 32;
/// Maximum file path name, including the terminating NUL.
pub const MAXPATH: usize = 128;
