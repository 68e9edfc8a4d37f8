//! open() flags, with xv6's values.

#[expect(
    dead_code,
    reason = "zero: the kernel tests for the other flags; listed for readers"
)]
pub const O_RDONLY: i32 = 0x000;
pub const O_WRONLY: i32 = 0x001;
pub const O_RDWR: i32 = 0x002;
pub const O_CREATE: i32 = 0x200;
pub const O_TRUNC: i32 = 0x400;
