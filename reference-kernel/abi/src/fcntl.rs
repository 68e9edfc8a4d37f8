//! `open` flags, as in xv6's `fcntl.h`. The access mode is the low bits
//! (`O_RDONLY`, `O_WRONLY` or `O_RDWR`); `O_CREATE` and `O_TRUNC` are or-ed
//! in.

pub const O_RDONLY: i32 = 0x000;
pub const O_WRONLY: i32 = 0x001;
pub const O_RDWR: i32 = 0x002;
pub const O_CREATE: i32 = 0x200;
pub const O_TRUNC: i32 = 0x400;
