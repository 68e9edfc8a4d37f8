//! Kernel-wide limits and sizes. This is xv6's `param.h`; the file-system
//! sizes come from the shared on-disk format crate so that the kernel and the
//! image writer agree.

/// Maximum number of processes.
pub const NPROC: usize = 64;
/// Maximum number of CPUs (harts).
pub const NCPU: usize = 8;
/// Open files per process.
pub const NOFILE: usize = 16;
/// Open files per system.
pub const NFILE: usize = 100;
/// Maximum number of active in-memory inodes.
pub const NINODE: usize = 50;
/// Maximum major device number.
pub const NDEV: usize = 10;
/// Device number of the file-system root disk.
pub const ROOTDEV: u32 = 1;
/// Maximum exec arguments.
pub const MAXARG: usize = 32;
/// Maximum file path name, including the terminating NUL.
pub const MAXPATH: usize = 128;

pub use xv6fs::{LOGSIZE, MAXOPBLOCKS};

/// Size of the disk block cache.
pub const NBUF: usize = MAXOPBLOCKS * 3;
