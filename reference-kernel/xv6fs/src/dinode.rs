//! On-disk inodes: the [`Dinode`] type and its 64-byte encoding, the file
//! types, the block-map geometry (direct blocks plus one indirect block) and
//! access to the entries of an indirect block.

use crate::field::{get_i16, get_u32, put_i16, put_u32};
use crate::layout::BSIZE;

/// Directory (also the user ABI's `T_DIR` in `struct stat`).
pub const T_DIR: i16 = 1;
/// Regular file.
pub const T_FILE: i16 = 2;
/// Device; `major` selects the driver.
pub const T_DEVICE: i16 = 3;

/// Block addresses held directly in the inode.
pub const NDIRECT: usize = 12;
/// Block addresses held in the indirect block.
pub const NINDIRECT: usize = BSIZE / 4;
/// Largest file, in blocks.
pub const MAXFILE: usize = NDIRECT + NINDIRECT;

/// xv6's `struct dinode`. A `typ` of 0 marks a free inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dinode {
    /// File type: 0 (free), [`T_DIR`], [`T_FILE`] or [`T_DEVICE`].
    pub typ: i16,
    /// Major device number (devices only).
    pub major: i16,
    /// Minor device number (devices only).
    pub minor: i16,
    /// Number of directory entries that name this inode.
    pub nlink: i16,
    /// File size in bytes.
    pub size: u32,
    /// Data block addresses: [`NDIRECT`] direct ones, then the indirect
    /// block. 0 means "not allocated".
    pub addrs: [u32; NDIRECT + 1],
}

impl Dinode {
    /// Encoded size in bytes.
    pub const SIZE: usize = 64;

    /// Decodes an inode from the start of `buf`; pass the inode block sliced
    /// at [`crate::inode_offset`].
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Dinode::SIZE`].
    pub fn decode(buf: &[u8]) -> Self {
        let mut addrs = [0; NDIRECT + 1];
        for (i, addr) in addrs.iter_mut().enumerate() {
            *addr = get_u32(buf, 12 + 4 * i);
        }
        Dinode {
            typ: get_i16(buf, 0),
            major: get_i16(buf, 2),
            minor: get_i16(buf, 4),
            nlink: get_i16(buf, 6),
            size: get_u32(buf, 8),
            addrs,
        }
    }

    /// Encodes the inode into the first [`Dinode::SIZE`] bytes of `buf`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Dinode::SIZE`].
    pub fn encode(&self, buf: &mut [u8]) {
        put_i16(buf, 0, self.typ);
        put_i16(buf, 2, self.major);
        put_i16(buf, 4, self.minor);
        put_i16(buf, 6, self.nlink);
        put_u32(buf, 8, self.size);
        for (i, &addr) in self.addrs.iter().enumerate() {
            put_u32(buf, 12 + 4 * i, addr);
        }
    }

    /// Whether the inode is free (`typ == 0`).
    pub const fn is_free(&self) -> bool {
        self.typ == 0
    }
}

/// Entry `n` (a block address, 0 if unallocated) of an indirect block.
///
/// # Panics
///
/// If the entry lies outside `block` (`n >= NINDIRECT` for a whole block).
pub fn indirect_addr(block: &[u8], n: usize) -> u32 {
    get_u32(block, 4 * n)
}

/// Sets entry `n` of an indirect block to `addr`.
///
/// # Panics
///
/// If the entry lies outside `block`.
pub fn set_indirect_addr(block: &mut [u8], n: usize, addr: u32) {
    put_u32(block, 4 * n, addr);
}

// The kernel relies on inodes tiling blocks exactly.
const _: () = assert!(BSIZE.is_multiple_of(Dinode::SIZE));
const _: () = assert!(Dinode::SIZE == 4 * 2 + 4 + 4 * (NDIRECT + 1));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_xv6() {
        assert_eq!(NDIRECT, 12);
        assert_eq!(NINDIRECT, 256);
        assert_eq!(MAXFILE, 268);
        assert_eq!((T_DIR, T_FILE, T_DEVICE), (1, 2, 3));
    }

    #[test]
    fn fields_sit_at_xv6_offsets() {
        let mut addrs = [0; NDIRECT + 1];
        for (i, a) in addrs.iter_mut().enumerate() {
            *a = 0x0100 + i as u32;
        }
        let din = Dinode {
            typ: T_DEVICE,
            major: -2,
            minor: 0x0304,
            nlink: 5,
            size: 0x0a0b_0c0d,
            addrs,
        };
        let mut buf = [0xffu8; 70];
        din.encode(&mut buf);
        assert_eq!(&buf[0..2], &[3, 0]);
        assert_eq!(&buf[2..4], &[0xfe, 0xff]);
        assert_eq!(&buf[4..6], &[0x04, 0x03]);
        assert_eq!(&buf[6..8], &[5, 0]);
        assert_eq!(&buf[8..12], &[0x0d, 0x0c, 0x0b, 0x0a]);
        assert_eq!(&buf[12..16], &[0x00, 0x01, 0, 0]);
        assert_eq!(&buf[60..64], &[0x0c, 0x01, 0, 0]);
        assert_eq!(&buf[64..], &[0xff; 6]);
        assert_eq!(Dinode::decode(&buf), din);
    }

    #[test]
    fn zero_bytes_decode_to_a_free_inode() {
        let din = Dinode::decode(&[0u8; Dinode::SIZE]);
        assert!(din.is_free());
        assert_eq!(din, Dinode::default());
        assert!(!Dinode { typ: T_FILE, ..din }.is_free());
    }

    #[test]
    fn indirect_entries_are_little_endian_u32s() {
        let mut block = [0u8; BSIZE];
        set_indirect_addr(&mut block, 0, 0x1234);
        set_indirect_addr(&mut block, NINDIRECT - 1, 1999);
        assert_eq!(&block[0..4], &[0x34, 0x12, 0, 0]);
        assert_eq!(&block[1020..1024], &[0xcf, 0x07, 0, 0]);
        assert_eq!(indirect_addr(&block, 0), 0x1234);
        assert_eq!(indirect_addr(&block, 1), 0);
        assert_eq!(indirect_addr(&block, NINDIRECT - 1), 1999);
    }

    #[test]
    #[should_panic]
    fn indirect_entry_past_the_block_panics() {
        indirect_addr(&[0u8; BSIZE], NINDIRECT);
    }
}
