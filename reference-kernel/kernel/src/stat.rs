//! `struct stat`, as fstat() returns it to user space. This is xv6's
//! `stat.h`; the layout (i32 dev, u32 ino, i16 type, i16 nlink, 4 bytes of
//! padding, u64 size) is defined once, in the `abi` crate, which the user
//! library shares. The file types are the on-disk inode types.

pub use abi::stat::{Stat, T_DEVICE, T_DIR, T_FILE};
