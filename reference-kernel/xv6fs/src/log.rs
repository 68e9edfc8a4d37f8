//! The log header (the first log block): the [`LogHeader`] type and its
//! encoding. The header lists the home blocks of the committed blocks that
//! follow it in the log; `n == 0` means there is nothing to install.

use crate::field::{get_u32, put_u32};
use crate::layout::{BSIZE, LOGSIZE};

/// xv6's `struct logheader`: a count and [`LOGSIZE`] home-block numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogHeader {
    /// Number of committed blocks in the log.
    pub n: u32,
    /// Home block of each logged block; only the first `n` are meaningful.
    pub block: [u32; LOGSIZE],
}

impl LogHeader {
    /// Encoded size in bytes.
    pub const SIZE: usize = 4 + 4 * LOGSIZE;

    /// Decodes the header from the start of `buf` (the block at `logstart`).
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`LogHeader::SIZE`].
    pub fn decode(buf: &[u8]) -> Self {
        let mut block = [0; LOGSIZE];
        for (i, b) in block.iter_mut().enumerate() {
            *b = get_u32(buf, 4 + 4 * i);
        }
        LogHeader {
            n: get_u32(buf, 0),
            block,
        }
    }

    /// Encodes the header into the first [`LogHeader::SIZE`] bytes of `buf`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`LogHeader::SIZE`].
    pub fn encode(&self, buf: &mut [u8]) {
        put_u32(buf, 0, self.n);
        for (i, &b) in self.block.iter().enumerate() {
            put_u32(buf, 4 + 4 * i, b);
        }
    }
}

// xv6's initlog panics unless the header fits in one block.
const _: () = assert!(LogHeader::SIZE < BSIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_sit_at_xv6_offsets() {
        let mut header = LogHeader {
            n: 2,
            ..LogHeader::default()
        };
        header.block[0] = 46;
        header.block[LOGSIZE - 1] = 0x0102;
        let mut buf = [0xffu8; BSIZE];
        header.encode(&mut buf);
        assert_eq!(&buf[0..4], &[2, 0, 0, 0]);
        assert_eq!(&buf[4..8], &[46, 0, 0, 0]);
        assert_eq!(&buf[8..12], &[0; 4]);
        assert_eq!(&buf[120..124], &[0x02, 0x01, 0, 0]);
        assert_eq!(buf[124], 0xff);
        assert_eq!(LogHeader::SIZE, 124);
        assert_eq!(LogHeader::decode(&buf), header);
    }

    #[test]
    fn zeroed_block_is_an_empty_log() {
        assert_eq!(LogHeader::decode(&[0u8; BSIZE]).n, 0);
    }
}
