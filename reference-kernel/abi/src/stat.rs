//! `struct stat`, as `fstat` writes it to user space, and the file types,
//! as in xv6's `stat.h`. The layout is xv6's: i32 dev, u32 ino, i16 type,
//! i16 nlink, 4 bytes of padding, u64 size (24 bytes, little-endian).
//!
//! The file types are the inode types of the on-disk format, which defines
//! them.

pub use xv6fs::{T_DEVICE, T_DIR, T_FILE};

/// xv6's `struct stat`. `repr(C)`, so a user program can hand the kernel a
/// pointer to one; the kernel writes [`Stat::to_bytes`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// File system's disk device.
    pub dev: i32,
    /// Inode number.
    pub ino: u32,
    /// Type of file: [`T_DIR`], [`T_FILE`] or [`T_DEVICE`] (C's `type`).
    pub typ: i16,
    /// Number of links to file.
    pub nlink: i16,
    /// Size of file in bytes.
    pub size: u64,
}

const _: () = assert!(size_of::<Stat>() == Stat::SIZE);

impl Stat {
    /// Size of the C struct, padding included.
    pub const SIZE: usize = 24;

    /// The bytes of the C struct, as a user program sees them.
    pub fn to_bytes(self) -> [u8; Stat::SIZE] {
        let mut b = [0u8; Stat::SIZE];
        b[0..4].copy_from_slice(&self.dev.to_le_bytes());
        b[4..8].copy_from_slice(&self.ino.to_le_bytes());
        b[8..10].copy_from_slice(&self.typ.to_le_bytes());
        b[10..12].copy_from_slice(&self.nlink.to_le_bytes());
        b[16..24].copy_from_slice(&self.size.to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_xv6_struct_stat() {
        let st = Stat {
            dev: 1,
            ino: 0x0203,
            typ: T_FILE,
            nlink: 3,
            size: 0x0102_0304_0506,
        };
        let b = st.to_bytes();
        assert_eq!(&b[0..4], &[1, 0, 0, 0]);
        assert_eq!(&b[4..8], &[3, 2, 0, 0]);
        assert_eq!(&b[8..10], &[2, 0]);
        assert_eq!(&b[10..12], &[3, 0]);
        assert_eq!(&b[12..16], &[0; 4]);
        assert_eq!(&b[16..24], &[6, 5, 4, 3, 2, 1, 0, 0]);
        assert_eq!((T_DIR, T_FILE, T_DEVICE), (1, 2, 3));
    }

    #[test]
    fn repr_c_fields_sit_where_to_bytes_puts_them() {
        assert_eq!(core::mem::offset_of!(Stat, dev), 0);
        assert_eq!(core::mem::offset_of!(Stat, ino), 4);
        assert_eq!(core::mem::offset_of!(Stat, typ), 8);
        assert_eq!(core::mem::offset_of!(Stat, nlink), 10);
        assert_eq!(core::mem::offset_of!(Stat, size), 16);
    }
}
