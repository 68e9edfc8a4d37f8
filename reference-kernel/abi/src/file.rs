//! Device numbers, as in xv6's `file.h`.

/// The console's major device number (for `mknod`).
pub const CONSOLE: i16 = 1;
