//! xv6's on-disk file-system format, shared by the reference kernel and the
//! host tools: one definition of the layout, so the image the host writes is
//! the image the kernel reads.
//!
//! The core (always available, `no_std`, no allocation) holds the constants,
//! the on-disk structures ([`Superblock`], [`Dinode`], [`Dirent`],
//! [`LogHeader`]) with `decode`/`encode` over byte buffers, and the address
//! arithmetic ([`iblock`], [`inode_offset`], [`bblock`], [`bitmap_bit`],
//! [`indirect_addr`]). Everything is little-endian and byte-compatible with
//! xv6-riscv's `fs.h` and `mkfs`.
//!
//! With the `std` feature, [`ImageBuilder`] writes whole images (like mkfs)
//! and [`Image`] reads them back and checks them ([`Image::fsck`]).
//!
//! The kernel keeps its own in-memory inode and decodes from its buffer
//! cache:
//!
//! ```
//! use xv6fs::{BSIZE, Dinode, Dirent, Layout, Superblock, T_FILE, iblock, inode_offset};
//!
//! // Block 1 as the kernel's `readsb` would see it.
//! let mut block = [0u8; BSIZE];
//! Layout::DEFAULT.superblock().encode(&mut block);
//! let sb = Superblock::decode(&block);
//! assert!(sb.has_magic());
//!
//! // `iupdate`: write inode 2 into its slot of the inode block.
//! let inum = 2;
//! assert_eq!(iblock(inum, &sb), 32);
//! let mut inode_block = [0u8; BSIZE];
//! let din = Dinode { typ: T_FILE, nlink: 1, ..Dinode::default() };
//! din.encode(&mut inode_block[inode_offset(inum)..]);
//! assert_eq!(Dinode::decode(&inode_block[inode_offset(inum)..]), din);
//!
//! // `dirlookup`: compare names like `namecmp`.
//! let de = Dirent::new(inum as u16, b"README");
//! assert!(de.name_eq(b"README"));
//! ```

#![cfg_attr(not(any(feature = "std", test)), no_std)]

mod dinode;
mod dirent;
mod field;
mod layout;
mod log;
mod superblock;

#[cfg(any(feature = "std", test))]
mod builder;
#[cfg(any(feature = "std", test))]
mod error;
#[cfg(any(feature = "std", test))]
mod fsck;
#[cfg(any(feature = "std", test))]
mod image;

pub use dinode::{
    Dinode, MAXFILE, NDIRECT, NINDIRECT, T_DEVICE, T_DIR, T_FILE, indirect_addr, set_indirect_addr,
};
pub use dirent::{DIRSIZ, Dirent, names_equal};
pub use layout::{
    BPB, BSIZE, FSMAGIC, FSSIZE, IPB, LOGSIZE, Layout, LayoutError, MAXOPBLOCKS, NINODES, ROOTINO,
    bblock, bitmap_bit, iblock, inode_offset,
};
pub use log::LogHeader;
pub use superblock::Superblock;

#[cfg(any(feature = "std", test))]
pub use builder::ImageBuilder;
#[cfg(any(feature = "std", test))]
pub use error::{Corruption, Error};
#[cfg(any(feature = "std", test))]
pub use fsck::Usage;
#[cfg(any(feature = "std", test))]
pub use image::Image;
