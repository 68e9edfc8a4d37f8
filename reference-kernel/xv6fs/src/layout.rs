//! Where everything lives on an xv6 disk: the block size, the default image
//! parameters, the [`Layout`] that mkfs derives from them, and the address
//! arithmetic the kernel uses to find an inode or a bitmap bit
//! ([`iblock`], [`inode_offset`], [`bblock`], [`bitmap_bit`]).
//!
//! The disk is an array of `BSIZE`-byte blocks:
//!
//! ```text
//! [ boot | superblock | log ... | inodes ... | bitmap ... | data ... ]
//!   0      1            2
//! ```

use core::fmt;

use crate::dinode::Dinode;
use crate::superblock::Superblock;

/// Size of a disk block in bytes (one virtio sector pair).
pub const BSIZE: usize = 1024;

/// The superblock's `magic` value for an xv6 file system.
pub const FSMAGIC: u32 = 0x1020_3040;

/// Inode number of the root directory. Inode 0 is never allocated.
pub const ROOTINO: u32 = 1;

/// On-disk inodes per block.
pub const IPB: usize = BSIZE / Dinode::SIZE;

/// Bitmap bits per block: one bit per disk block.
pub const BPB: usize = BSIZE * 8;

/// Default size of the file-system image, in blocks.
pub const FSSIZE: u32 = 2000;

/// Default number of on-disk inodes (including the unused inode 0).
pub const NINODES: u32 = 200;

/// Most blocks that one file-system operation may write.
pub const MAXOPBLOCKS: usize = 10;

/// Default number of log blocks (header included), and the capacity of the
/// log header.
pub const LOGSIZE: usize = MAXOPBLOCKS * 3;

/// Number of inodes a directory entry can address (its `inum` is a `u16`).
const MAX_INODES: u32 = u16::MAX as u32 + 1;

/// The block that holds inode `inum` (xv6's `IBLOCK`).
pub const fn iblock(inum: u32, sb: &Superblock) -> u32 {
    inum / IPB as u32 + sb.inodestart
}

/// Byte offset of inode `inum` inside the block [`iblock`] returns.
pub const fn inode_offset(inum: u32) -> usize {
    (inum as usize % IPB) * Dinode::SIZE
}

/// The bitmap block that holds the bit for block `b` (xv6's `BBLOCK`).
pub const fn bblock(b: u32, sb: &Superblock) -> u32 {
    b / BPB as u32 + sb.bmapstart
}

/// Where the bit for block `b` sits inside its bitmap block ([`bblock`]):
/// the byte index and the mask within that byte. A set bit means "in use".
pub const fn bitmap_bit(b: u32) -> (usize, u8) {
    let bit = b as usize % BPB;
    (bit / 8, 1 << (bit % 8))
}

/// The block layout of an image, computed from its size, inode count and log
/// size exactly as xv6's mkfs does. Construct it with [`Layout::new`], which
/// guarantees room for the metadata and the root directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    size: u32,
    ninodes: u32,
    nlog: u32,
    ninodeblocks: u32,
    nbitmap: u32,
    nmeta: u32,
    nblocks: u32,
}

impl Layout {
    /// xv6's image: [`FSSIZE`] blocks, [`NINODES`] inodes, [`LOGSIZE`] log
    /// blocks.
    pub const DEFAULT: Layout = match Layout::new(FSSIZE, NINODES, LOGSIZE as u32) {
        Ok(layout) => layout,
        Err(_) => panic!("the default layout is invalid"),
    };

    /// Lays out an image of `size` blocks with `ninodes` inodes and a log of
    /// `nlog` blocks (header included).
    ///
    /// Like mkfs, it reserves `size / BPB + 1` bitmap blocks and
    /// `ninodes / IPB + 1` inode blocks. Fails if the metadata and one data
    /// block (for the root directory) do not fit, if there are fewer than two
    /// inodes (inode 0 is unused, inode 1 is the root) or more than a
    /// directory entry can name, or if the log has no room after its header.
    pub const fn new(size: u32, ninodes: u32, nlog: u32) -> Result<Layout, LayoutError> {
        if ninodes <= ROOTINO {
            return Err(LayoutError::TooFewInodes { ninodes });
        }
        if ninodes > MAX_INODES {
            return Err(LayoutError::TooManyInodes { ninodes });
        }
        if nlog < 2 {
            return Err(LayoutError::LogTooSmall { nlog });
        }
        let nbitmap = size / BPB as u32 + 1;
        let ninodeblocks = ninodes / IPB as u32 + 1;
        // Saturating: an absurd `nlog` must report "too small", not wrap.
        let nmeta = 2u32
            .saturating_add(nlog)
            .saturating_add(ninodeblocks)
            .saturating_add(nbitmap);
        let min = nmeta.saturating_add(1);
        if size < min {
            return Err(LayoutError::TooSmall { size, min });
        }
        Ok(Layout {
            size,
            ninodes,
            nlog,
            ninodeblocks,
            nbitmap,
            nmeta,
            nblocks: size - nmeta,
        })
    }

    /// Lays out an image of `size` blocks with the default inode count and
    /// log size.
    pub const fn with_size(size: u32) -> Result<Layout, LayoutError> {
        Layout::new(size, NINODES, LOGSIZE as u32)
    }

    /// Blocks in the whole image.
    pub const fn size(&self) -> u32 {
        self.size
    }

    /// Number of on-disk inodes, inode 0 included.
    pub const fn ninodes(&self) -> u32 {
        self.ninodes
    }

    /// Log blocks, header included.
    pub const fn nlog(&self) -> u32 {
        self.nlog
    }

    /// First log block (the log header); always 2.
    pub const fn logstart(&self) -> u32 {
        2
    }

    /// First inode block.
    pub const fn inodestart(&self) -> u32 {
        self.logstart() + self.nlog
    }

    /// First bitmap block.
    pub const fn bmapstart(&self) -> u32 {
        self.inodestart() + self.ninodeblocks
    }

    /// Blocks holding inodes.
    pub const fn ninodeblocks(&self) -> u32 {
        self.ninodeblocks
    }

    /// Blocks holding the free bitmap.
    pub const fn nbitmap(&self) -> u32 {
        self.nbitmap
    }

    /// Metadata blocks (boot, superblock, log, inodes, bitmap); also the
    /// first data block.
    pub const fn nmeta(&self) -> u32 {
        self.nmeta
    }

    /// Data blocks.
    pub const fn nblocks(&self) -> u32 {
        self.nblocks
    }

    /// The superblock describing this layout.
    pub const fn superblock(&self) -> Superblock {
        Superblock {
            magic: FSMAGIC,
            size: self.size,
            nblocks: self.nblocks,
            ninodes: self.ninodes,
            nlog: self.nlog,
            logstart: self.logstart(),
            inodestart: self.inodestart(),
            bmapstart: self.bmapstart(),
        }
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout::DEFAULT
    }
}

/// Why a [`Layout`] cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The metadata and the root directory's block need `min` blocks.
    TooSmall {
        /// Requested image size in blocks.
        size: u32,
        /// Smallest workable image size in blocks.
        min: u32,
    },
    /// There must be at least two inodes: the unused inode 0 and the root.
    TooFewInodes {
        /// Requested inode count.
        ninodes: u32,
    },
    /// Directory entries store inode numbers in 16 bits.
    TooManyInodes {
        /// Requested inode count.
        ninodes: u32,
    },
    /// The log needs its header block plus at least one log block.
    LogTooSmall {
        /// Requested log size in blocks.
        nlog: u32,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayoutError::TooSmall { size, min } => write!(
                f,
                "an image of {size} blocks is too small: its metadata and root directory need {min}"
            ),
            LayoutError::TooFewInodes { ninodes } => write!(
                f,
                "{ninodes} inodes are too few: inode 0 is unused and inode 1 is the root directory"
            ),
            LayoutError::TooManyInodes { ninodes } => write!(
                f,
                "{ninodes} inodes are too many: directory entries name at most {MAX_INODES}"
            ),
            LayoutError::LogTooSmall { nlog } => write!(
                f,
                "a log of {nlog} blocks is too small: it needs a header and at least one log block"
            ),
        }
    }
}

impl core::error::Error for LayoutError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_constants_match_xv6() {
        assert_eq!(IPB, 16);
        assert_eq!(BPB, 8192);
        assert_eq!(LOGSIZE, 30);
    }

    #[test]
    fn default_layout_matches_xv6_mkfs() {
        // mkfs: nbitmap = 2000/8192 + 1 = 1, ninodeblocks = 200/16 + 1 = 13,
        // nlog = 30, nmeta = 2 + 30 + 13 + 1 = 46, nblocks = 2000 - 46.
        let l = Layout::DEFAULT;
        assert_eq!(l.size(), 2000);
        assert_eq!(l.ninodes(), 200);
        assert_eq!(l.nlog(), 30);
        assert_eq!(l.nbitmap(), 1);
        assert_eq!(l.ninodeblocks(), 13);
        assert_eq!(l.nmeta(), 46);
        assert_eq!(l.nblocks(), 1954);
        assert_eq!(l.logstart(), 2);
        assert_eq!(l.inodestart(), 32);
        assert_eq!(l.bmapstart(), 45);
        assert_eq!(Layout::default(), l);
        assert_eq!(Layout::with_size(FSSIZE), Ok(l));
    }

    #[test]
    fn default_superblock_matches_xv6_mkfs() {
        let sb = Layout::DEFAULT.superblock();
        assert_eq!(
            sb,
            Superblock {
                magic: 0x1020_3040,
                size: 2000,
                nblocks: 1954,
                ninodes: 200,
                nlog: 30,
                logstart: 2,
                inodestart: 32,
                bmapstart: 45,
            }
        );
    }

    #[test]
    fn bitmap_grows_with_the_image_like_mkfs() {
        // mkfs reserves size / BPB + 1 blocks, one too many at exact multiples.
        let l = Layout::with_size(16384).unwrap();
        assert_eq!(l.nbitmap(), 3);
        assert_eq!(l.nmeta(), 2 + 30 + 13 + 3);
        assert_eq!(l.bmapstart(), 45);
        assert_eq!(l.nblocks(), 16384 - 48);
        assert_eq!(Layout::with_size(8191).unwrap().nbitmap(), 1);
    }

    #[test]
    fn inode_count_sets_the_inode_blocks() {
        let l = Layout::new(2000, 16, 30).unwrap();
        assert_eq!(l.ninodeblocks(), 2);
        let l = Layout::new(2000, 15, 30).unwrap();
        assert_eq!(l.ninodeblocks(), 1);
        assert_eq!(l.bmapstart(), 33);
    }

    #[test]
    fn iblock_and_inode_offset_follow_ipb() {
        let sb = Layout::DEFAULT.superblock();
        assert_eq!(iblock(0, &sb), 32);
        assert_eq!(iblock(ROOTINO, &sb), 32);
        assert_eq!(iblock(15, &sb), 32);
        assert_eq!(iblock(16, &sb), 33);
        assert_eq!(iblock(199, &sb), 44);
        assert_eq!(inode_offset(0), 0);
        assert_eq!(inode_offset(1), 64);
        assert_eq!(inode_offset(15), 960);
        assert_eq!(inode_offset(17), 64);
    }

    #[test]
    fn bblock_and_bitmap_bit_follow_bpb() {
        let sb = Layout::DEFAULT.superblock();
        assert_eq!(bblock(0, &sb), 45);
        assert_eq!(bblock(8191, &sb), 45);
        assert_eq!(bblock(8192, &sb), 46);
        assert_eq!(bitmap_bit(0), (0, 0x01));
        assert_eq!(bitmap_bit(7), (0, 0x80));
        assert_eq!(bitmap_bit(9), (1, 0x02));
        assert_eq!(bitmap_bit(8191), (1023, 0x80));
        assert_eq!(bitmap_bit(8193), (0, 0x02));
    }

    #[test]
    fn smallest_image_has_one_data_block() {
        let l = Layout::with_size(47).unwrap();
        assert_eq!(l.nblocks(), 1);
        assert_eq!(
            Layout::with_size(46),
            Err(LayoutError::TooSmall { size: 46, min: 47 })
        );
        assert_eq!(
            Layout::with_size(0),
            Err(LayoutError::TooSmall { size: 0, min: 47 })
        );
    }

    #[test]
    fn huge_log_reports_too_small_instead_of_overflowing() {
        assert_eq!(
            Layout::new(2000, 200, u32::MAX),
            Err(LayoutError::TooSmall {
                size: 2000,
                min: u32::MAX
            })
        );
    }

    #[test]
    fn inode_count_limits() {
        assert_eq!(
            Layout::new(2000, 1, 30),
            Err(LayoutError::TooFewInodes { ninodes: 1 })
        );
        assert!(Layout::new(2000, 2, 30).is_ok());
        assert!(Layout::new(10_000, 65_536, 30).is_ok());
        assert_eq!(
            Layout::new(10_000, 65_537, 30),
            Err(LayoutError::TooManyInodes { ninodes: 65_537 })
        );
    }

    #[test]
    fn log_needs_a_header_and_a_block() {
        assert_eq!(
            Layout::new(2000, 200, 1),
            Err(LayoutError::LogTooSmall { nlog: 1 })
        );
        assert_eq!(Layout::new(2000, 200, 2).unwrap().inodestart(), 4);
    }

    #[test]
    fn errors_read_as_fragments() {
        assert_eq!(
            LayoutError::TooSmall { size: 40, min: 47 }.to_string(),
            "an image of 40 blocks is too small: its metadata and root directory need 47"
        );
        assert_eq!(
            LayoutError::TooFewInodes { ninodes: 1 }.to_string(),
            "1 inodes are too few: inode 0 is unused and inode 1 is the root directory"
        );
        assert_eq!(
            LayoutError::TooManyInodes { ninodes: 70_000 }.to_string(),
            "70000 inodes are too many: directory entries name at most 65536"
        );
        assert_eq!(
            LayoutError::LogTooSmall { nlog: 0 }.to_string(),
            "a log of 0 blocks is too small: it needs a header and at least one log block"
        );
    }
}
