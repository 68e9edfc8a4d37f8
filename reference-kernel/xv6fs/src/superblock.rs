//! The superblock (block 1): the [`Superblock`] type, its 32-byte on-disk
//! encoding, and nothing else. Where the regions it names come from is
//! [`crate::Layout`]'s business.

use crate::field::{get_u32, put_u32};
use crate::layout::FSMAGIC;

/// xv6's `struct superblock`: eight little-endian `u32`s describing the
/// disk layout. Sizes are in blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Superblock {
    /// Must be [`FSMAGIC`].
    pub magic: u32,
    /// Size of the file-system image in blocks.
    pub size: u32,
    /// Number of data blocks.
    pub nblocks: u32,
    /// Number of inodes.
    pub ninodes: u32,
    /// Number of log blocks, header included.
    pub nlog: u32,
    /// Block number of the first log block (the log header).
    pub logstart: u32,
    /// Block number of the first inode block.
    pub inodestart: u32,
    /// Block number of the first free-bitmap block.
    pub bmapstart: u32,
}

impl Superblock {
    /// Encoded size in bytes.
    pub const SIZE: usize = 32;

    /// Decodes the superblock from the start of `buf` (normally block 1).
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Superblock::SIZE`].
    pub fn decode(buf: &[u8]) -> Self {
        Superblock {
            magic: get_u32(buf, 0),
            size: get_u32(buf, 4),
            nblocks: get_u32(buf, 8),
            ninodes: get_u32(buf, 12),
            nlog: get_u32(buf, 16),
            logstart: get_u32(buf, 20),
            inodestart: get_u32(buf, 24),
            bmapstart: get_u32(buf, 28),
        }
    }

    /// Encodes the superblock into the first [`Superblock::SIZE`] bytes of
    /// `buf`, leaving the rest untouched.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`Superblock::SIZE`].
    pub fn encode(&self, buf: &mut [u8]) {
        put_u32(buf, 0, self.magic);
        put_u32(buf, 4, self.size);
        put_u32(buf, 8, self.nblocks);
        put_u32(buf, 12, self.ninodes);
        put_u32(buf, 16, self.nlog);
        put_u32(buf, 20, self.logstart);
        put_u32(buf, 24, self.inodestart);
        put_u32(buf, 28, self.bmapstart);
    }

    /// Whether `magic` says this is an xv6 file system (the kernel's
    /// `fsinit` panics otherwise).
    pub const fn has_magic(&self) -> bool {
        self.magic == FSMAGIC
    }

    /// First data block: everything below it is metadata.
    pub const fn datastart(&self) -> u32 {
        self.size.saturating_sub(self.nblocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{BSIZE, Layout};

    fn sample() -> Superblock {
        Superblock {
            magic: FSMAGIC,
            size: 0x0102_0304,
            nblocks: 5,
            ninodes: 6,
            nlog: 7,
            logstart: 8,
            inodestart: 9,
            bmapstart: 10,
        }
    }

    #[test]
    fn fields_sit_at_xv6_offsets() {
        let mut buf = [0xaau8; 40];
        sample().encode(&mut buf);
        assert_eq!(&buf[0..4], &[0x40, 0x30, 0x20, 0x10]);
        assert_eq!(&buf[4..8], &[0x04, 0x03, 0x02, 0x01]);
        let rest: Vec<u32> = (2..8)
            .map(|i| u32::from_le_bytes(buf[i * 4..i * 4 + 4].try_into().unwrap()))
            .collect();
        assert_eq!(rest, [5, 6, 7, 8, 9, 10]);
        // Bytes past the superblock are left alone.
        assert_eq!(&buf[32..], &[0xaa; 8]);
    }

    #[test]
    fn decode_inverts_encode() {
        let mut block = [0u8; BSIZE];
        let sb = Layout::DEFAULT.superblock();
        sb.encode(&mut block);
        assert_eq!(Superblock::decode(&block), sb);
        assert_eq!(Superblock::decode(&block[..Superblock::SIZE]), sb);
        sample().encode(&mut block);
        assert_eq!(Superblock::decode(&block), sample());
    }

    #[test]
    fn magic_and_datastart() {
        let sb = Layout::DEFAULT.superblock();
        assert!(sb.has_magic());
        assert_eq!(sb.datastart(), 46);
        assert!(!Superblock::default().has_magic());
    }

    #[test]
    #[should_panic]
    fn decoding_a_short_buffer_panics() {
        Superblock::decode(&[0u8; 31]);
    }
}
