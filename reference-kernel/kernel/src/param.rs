//! Kernel-wide limits and sizes. This is xv6's `param.h`; the limits user
//! programs can run into come from the `abi` crate, which the user library
//! shares, and the file-system sizes from the shared on-disk format crate so
//! that the kernel and the image writer agree.

/// Maximum number of CPUs (harts).
pub const NCPU: usize = 8;
/// Open files per system.
pub const NFILE: usize = 100;
/// Maximum major device number.
pub const NDEV: usize = 10;
/// Device number of the file-system root disk.
pub const ROOTDEV: u32 = 1;

pub use abi::param::{MAXARG, MAXPATH, NINODE, NOFILE, NPROC};
pub use xv6fs::{LOGSIZE, MAXOPBLOCKS};

/// Size of the disk block cache.
pub const NBUF: usize = MAXOPBLOCKS * 3;
